"""The estate's OpenStack graph: dependency order and the least-privilege policy."""

import pytest

from egov.cloud.graph import derive, policy_violations
from egov.core.loader import load_estate
from tests.conftest import PANYU

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOperatorKeyForTests egov@test"


@pytest.fixture(scope="module")
def graph():
    return derive(load_estate(PANYU), KEY)


def test_graph_is_in_dependency_order_and_policy_clean(graph):
    seen = set()
    for r in graph.resources:
        assert all(a in seen for a in r.after), f"{r.key} needs {r.after} first"
        seen.add(r.key)
    assert policy_violations(graph) == []


def test_policy_catches_a_world_open_database(graph):
    sg = next(r for r in graph.of("security_group") if r.name == "dafushan-db")
    sg.props["rules"].append({"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_min": 5432,
                              "port_max": 5432, "remote_ip_prefix": "0.0.0.0/0", "description": "oops"})
    try:
        assert policy_violations(graph) == ["dafushan-db: tcp 5432 open to the world"]
    finally:
        sg.props["rules"].pop()
