"""The scaffold writes a plugin that installs with pip and passes its own test."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tfexp.new_plugin import main


@pytest.mark.slow
def test_scaffold_installs_and_its_test_passes(tmp_path):
    assert main(["acme-nets", "--dir", str(tmp_path)]) == 0
    package = tmp_path / "tfexp-acme-nets"
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site), str(package)],
        check=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    listing = subprocess.run([sys.executable, "-m", "tfexp.plugins"], env=env, capture_output=True, text=True, check=True)
    assert "acme_nets (tfexp-acme-nets 0.1.0)" in listing.stdout and "model: acme_nets_net" in listing.stdout
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout


@pytest.mark.parametrize("name", ["", "!!!"])
def test_bad_names_are_refused(tmp_path, name, capsys):
    assert main([name, "--dir", str(tmp_path)]) == 1
    assert "valid package name" in capsys.readouterr().err


def test_existing_directory_is_not_overwritten(tmp_path, capsys):
    assert main(["twice", "--dir", str(tmp_path)]) == 0
    assert main(["twice", "--dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
