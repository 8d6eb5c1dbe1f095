"""Shared fixtures: estates copied to a temp dir so tests can break them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PANYU = ROOT / "estate" / "panyu"
CONGHUA = ROOT / "tests" / "data" / "estates" / "conghua"


class EstateDir:
    """A writable copy of an estate with helpers to edit one file as data."""

    def __init__(self, path: Path):
        self.path = path

    def load(self, file: str) -> dict:
        return yaml.safe_load((self.path / file).read_text(encoding="utf-8"))

    def save(self, file: str, data: dict) -> None:
        (self.path / file).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def edit(self, file: str, fn) -> None:
        data = self.load(file)
        fn(data)
        self.save(file, data)


@pytest.fixture
def panyu(tmp_path) -> EstateDir:
    dst = tmp_path / "panyu"
    shutil.copytree(PANYU, dst)
    return EstateDir(dst)


@pytest.fixture
def state(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "state"
    monkeypatch.setenv("EGOV_STATE_DIR", str(d))
    return d
