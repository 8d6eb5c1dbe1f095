"""The house rules the tree states (README, Layout): one import root, a core that imports nothing else
of egov, no import cycles, one cli.py per verb group, one owner of paths and of the Lab."""

from __future__ import annotations

import importlib.util
import re

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("imports", ROOT / "scripts" / "imports.py")
imports = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(imports)

VERB_GROUPS = ("lab", "network", "hosts", "apps", "datacenters", "cloud")


def _sources():
    return {p: p.read_text(encoding="utf-8") for p in (ROOT / "egov").rglob("*.py")}


def test_no_import_cycles_and_a_core_that_stands_alone():
    r = imports.report(ROOT)
    assert r["module_cycles"] == [], r["module_cycles"]
    assert r["package_cycles"] == [], r["package_cycles"]
    assert r["core_imports"] == [], f"egov.core imports {r['core_imports']}"
    # the lab depends on nothing that depends on it
    assert set(r["package_edges"]["egov.lab"]) <= {"egov.core", "egov.clikit"}


def test_each_verb_group_has_its_cli_and_one_top_level_per_concept():
    pkgs = sorted(p.name for p in (ROOT / "egov").iterdir() if (p / "__init__.py").is_file())
    assert pkgs == sorted(("core",) + VERB_GROUPS)
    for g in VERB_GROUPS:
        assert (ROOT / "egov" / g / "cli.py").is_file(), f"egov/{g}/cli.py missing"
    modules = sorted(p.name for p in (ROOT / "egov").glob("*.py"))
    assert modules == ["__init__.py", "cli.py", "clikit.py", "target.py", "up.py"]
    for folder in ("playbooks", "network", "datacenters", "infra", "apps_deploy", "estate"):
        assert (ROOT / folder).is_dir() and any(
            f.is_file() and f.name != "README.md" for f in (ROOT / folder).rglob("*")
        )


def test_only_paths_reaches_the_repository_and_only_lab_of_makes_a_lab():
    for path, text in _sources().items():
        rel = path.relative_to(ROOT).as_posix()
        if rel != "egov/core/paths.py":
            assert not re.search(r"__file__\)?(\.resolve\(\))?\.parent\.parent|__file__.*parents\[", text), \
                f"{rel} finds files outside its package by __file__: use egov.core.paths"
        if rel != "egov/lab/lab.py":
            assert not re.search(r"(?<![\w.])Lab\(", text), f"{rel} constructs a Lab: use Lab.of (or the target's)"
        assert not re.search(r"^\s*from \.", text, re.M), f"{rel}: relative import (one import root: egov.)"


def test_state_dir_layout_has_one_owner():
    spelled = re.compile(r"""state_dir\)?\s*/\s*["'](secrets|dr|drills|lab|net|cloud|ansible|releases|ssh-mux)["']""")
    for path, text in _sources().items():
        rel = path.relative_to(ROOT).as_posix()
        if rel != "egov/core/paths.py":
            assert not spelled.search(text), f"{rel} spells out the state dir's layout: use egov.core.paths"
