"""Shared fixtures: fake-but-real plugin distributions on ``sys.path``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def write_plugin_dist(root: Path, dist: str, module: str, source: str, entry_name: str | None = None) -> Path:
    """A minimal installed distribution: ``<dist>-1.0.dist-info`` with a ``tfexp`` entry
    point, plus ``<module>.py`` — what pip would leave in site-packages."""
    root.mkdir(parents=True, exist_ok=True)
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[tfexp]\n{entry_name or module} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    return root


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch):
    """``plugin_dist(dist, module, source)`` installs a plugin for this test only."""
    site = tmp_path / "site"

    def install(dist: str, module: str, source: str, entry_name: str | None = None) -> Path:
        write_plugin_dist(site, dist, module, source, entry_name)
        monkeypatch.syspath_prepend(str(site))
        return site

    return install
