"""The network checks' parsers, against output recorded from real sessions (FRR 8.4, the lab's
emulated 2960) and a VRP `display ospf peer brief` in its documented layout."""

from __future__ import annotations

from egov.core.loader import load_estate
from egov.network.verify import expected_neighbors, ospf_full_neighbors
from tests.conftest import PANYU, ROOT

REC = ROOT / "tests" / "data" / "net" / "recorded"


def test_frr_neighbors_count_only_full():
    assert ospf_full_neighbors("frr", (REC / "frr_ospf_neighbor.json").read_text()) == {"10.30.0.2"}
    assert ospf_full_neighbors("frr", "% Unknown command") == set()


def test_vrp_neighbors_count_only_full():
    got = ospf_full_neighbors("huawei_vrp", (REC / "vrp_ospf_peer_brief.txt").read_text())
    assert got == {"10.30.0.2", "10.30.2.2"}


def test_expected_adjacencies_follow_the_tree():
    want = expected_neighbors(load_estate(PANYU))
    assert want["city-uplink"] == {"10.30.0.3"}
    assert len(want["panyu-core"]) == 20 and "10.30.0.2" in want["panyu-core"]  # no adjacency towards the sites
    assert want["shiqiao-agg"] == {"10.30.0.3"}
    assert "shiqiao-v001" not in want


def test_comware_neighbors_count_only_full():
    out = ("          OSPF Process 1 with Router ID 10.30.0.3\n               Neighbor Brief Information\n\n"
           " Area: 0.0.0.0\n Router ID       Address         Pri Dead-Time  State             Interface\n"
           " 10.30.0.2       10.31.0.1       1   37         Full/ -           GE1/0/1\n"
           " 10.30.1.2       10.31.1.2       1   38         Init/ -           GE2/0/1\n")
    assert ospf_full_neighbors("hp_comware", out) == {"10.30.0.2"}
