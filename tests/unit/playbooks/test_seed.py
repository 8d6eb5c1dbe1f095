"""The base databases' seed generator (playbooks/roles/base_databases/files/seed.py): valid identifiers."""

import importlib.util
import random

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("seed", ROOT / "playbooks/roles/base_databases/files/seed.py")
seed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seed)
entities, id_check, persons, uscc_check = seed.entities, seed.id_check, seed.persons, seed.uscc_check
valid_citizen_id, valid_uscc = seed.valid_citizen_id, seed.valid_uscc


def test_check_digits_match_published_examples():
    assert valid_citizen_id("11010519491231002X") and not valid_citizen_id("110105194912310021")
    assert valid_uscc("91350100M000100Y43") and valid_uscc("914403001922038216")
    assert not valid_uscc("914403001922038217")


def test_seed_is_deterministic_and_valid():
    towns = [
        {"id": "shawan", "name": "沙湾镇", "villages": ["三善村"]},
        {"id": "dashi", "name": "大石街", "villages": []},
    ]
    a = list(persons(towns, 2000, random.Random("x")))
    assert a == list(persons(towns, 2000, random.Random("x")))
    assert len({p[0] for p in a}) == 2000 and all(valid_citizen_id(p[0]) for p in a)
    assert all(p[0][:6] == "440113" for p in a) and {p[6] for p in a} == {"shawan", "dashi"}
    e = list(entities(towns, 500, random.Random("y")))
    assert all(valid_uscc(x[0]) for x in e) and len({x[1] for x in e}) == 500
    assert id_check("11010519491231002") == "X" and uscc_check("91350100M000100Y4") == "3"
