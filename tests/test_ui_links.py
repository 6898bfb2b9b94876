"""A link tfexp prints opens MLflow's model-training view in a real browser (issue 18):
headless Chromium with a fresh profile, driven by docs/screenshot.py's functions."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def screenshot_script():
    path = Path(__file__).resolve().parents[1] / "docs" / "screenshot.py"
    spec = importlib.util.spec_from_file_location("docs_screenshot", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_printed_run_link_opens_the_model_training_view(tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium on PATH: `apt-get install -y chromium` to check printed links in a real browser")
    shot = screenshot_script()
    with shot.mlflow_server(tmp_path) as url:  # the script's server waits longer for a busy machine
        link = shot.run_tfexp(tmp_path, ["debug=fast", "tracking.log_model=false", f"tracking.uri={url}"])
        name = shot.run_name(url, link)

        async def views() -> tuple[str, str]:
            async with shot.browser_page(chromium, tmp_path / "chromium-profile") as page:
                return await shot.open_link(page, link, name), await shot.open_link(page, link.partition("?")[0], name)

        printed, without_view = asyncio.run(views())
    assert printed == "model training"
    every_link = re.findall(r"https?://\S+/#/\S*", (tmp_path / "tfexp.log").read_text())
    assert every_link and all(link.endswith("?workflowType=machine_learning") for link in every_link), every_link
    assert without_view == "GenAI"  # MLflow's default, which the printed link's ?workflowType= avoids
