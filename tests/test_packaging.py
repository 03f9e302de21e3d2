"""What `make run` prints the first time it installs the project (issue 18: about 150 lines of setuptools warnings,
one block per data folder that Python could import but the package list left out)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_folder_inside_an_installed_package_is_itself_listed():
    """setuptools warns "Package would be ignored" for each folder of files under a listed package that is not
    listed itself (``domain/data`` holds only data, yet Python can import it): list them, with their data."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    unlisted = set()
    for package in listed:
        folder = ROOT.joinpath(*package.split("."))
        for child in folder.iterdir():
            importable = child.is_dir() and child.name.isidentifier() and not child.name.startswith("__")
            if importable and any(f.is_file() for f in child.iterdir()):
                name = f"{package}.{child.name}"
                if name not in listed:
                    unlisted.add(name)
    assert unlisted == set()
    for data in ("domain.data", "nlp.data", "bot.demo.data"):
        assert config["package-data"][data] == ["*"]
