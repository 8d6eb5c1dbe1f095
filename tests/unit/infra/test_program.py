"""The Pulumi program (infra/program.py) under Pulumi's mocks: the graph it registers and its policy."""

import sys

import pulumi
import pytest

from egov.cloud.graph import derive
from egov.core.loader import load_estate
from tests.conftest import ROOT

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOperatorKeyForTests egov@test"


class Mocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.registered = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.registered.append((args.typ, args.name, dict(args.inputs)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "openstack:images/getImage:getImage":
            return {"id": "image-id", "name": args.args.get("name")}
        return {}


def settle() -> None:
    """Registration is asynchronous: wait until every outstanding registration has finished, as
    Pulumi's own runtime does before a program ends (a fixed sleep lost resources on a loaded machine)."""
    import asyncio

    from pulumi.runtime.stack import wait_for_rpcs

    asyncio.get_event_loop().run_until_complete(asyncio.wait_for(wait_for_rpcs(), timeout=120))


@pytest.fixture(scope="module")
def registered():
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    sys.path.insert(0, str(ROOT / "infra"))
    try:
        from program import declare

        graph = derive(load_estate(ROOT / "estate" / "panyu"), KEY)
        declare(graph, cloud="test")
    finally:
        sys.path.remove(str(ROOT / "infra"))
    settle()
    return graph, mocks.registered


def _of(registered, typ):
    return [(name, inputs) for t, name, inputs in registered if t == typ]


def test_every_graph_node_becomes_one_resource(registered):
    graph, reg = registered
    counts = {k: len(graph.of(k)) for k in ("project", "network", "subnet", "port", "server", "volume")}
    assert counts == {"project": 4, "network": 6, "subnet": 6, "port": 10, "server": 8, "volume": 2}
    assert len(_of(reg, "openstack:identity/project:Project")) == counts["project"]
    assert len(_of(reg, "openstack:networking/network:Network")) == counts["network"]
    assert len(_of(reg, "openstack:networking/subnet:Subnet")) == counts["subnet"]
    assert len(_of(reg, "openstack:networking/port:Port")) == counts["port"]
    assert len(_of(reg, "openstack:compute/instance:Instance")) == counts["server"]
    assert len(_of(reg, "openstack:blockstorage/volume:Volume")) == counts["volume"]
    assert len(_of(reg, "openstack:compute/volumeAttach:VolumeAttach")) == 2
    # one scoped provider per project that holds servers or volumes
    assert {n for n, _ in _of(reg, "pulumi:providers:openstack")} == {
        "project-dafushan-zwfw", "project-dafushan-sjzx", "project-legacy-room-zwfw", "project-legacy-room-sjzx"}


def test_servers_carry_estate_addresses_and_the_keypair(registered):
    _, reg = registered
    ports = dict(_of(reg, "openstack:networking/port:Port"))
    assert ports["dfs-db1-eth0"]["fixedIps"][0]["ipAddress"] == "10.20.3.31"
    assert ports["dafushan-service"]["fixedIps"][0]["ipAddress"] == "10.20.1.10"
    assert [p["ipAddress"] for p in ports["dfs-lb1-eth0"]["allowedAddressPairs"]] == ["10.20.1.10"]
    servers = dict(_of(reg, "openstack:compute/instance:Instance"))
    assert servers["dfs-db1"]["flavorName"] == "m1-large" and servers["dfs-db1"]["keyPair"] == "egov-panyu"
    assert servers["lr-app2"]["metadata"] == {"egov": "panyu", "site": "legacy-room", "role": "app",
                                              "name": "现中心机房应用服务器2"}


def test_security_policy_in_registered_rules(registered):
    _, reg = registered
    rules = _of(reg, "openstack:networking/secGroupRule:SecGroupRule")
    assert rules
    for name, r in rules:
        group = name.rsplit("-", 1)[0]
        if r["remoteIpPrefix"] == "0.0.0.0/0":
            assert group.endswith("-lb"), f"{name} opens {r['portRangeMin']} to the world"
            assert r["portRangeMin"] in (8101, 8102, 8103, 8104, 9101, 9102, 9103, 9104)  # redirect, HTTPS
        if r.get("portRangeMin") == 22:
            assert r["remoteIpPrefix"] == "10.30.0.0/16", name
        if r.get("portRangeMin") == 5432:
            assert group.endswith("-db") and r["remoteIpPrefix"] in (
                "10.20.2.0/24", "10.21.2.0/24", "10.20.3.0/24", "10.21.3.0/24"), name
    db_sources = {
        r["remoteIpPrefix"] for n, r in rules if n.startswith("dafushan-db-") and r.get("portRangeMin") == 5432
    }
    assert db_sources == {"10.20.2.0/24", "10.21.2.0/24", "10.20.3.0/24", "10.21.3.0/24"}


def test_the_pulumi_entry_point_loads_the_estate_and_exports_every_server(tmp_path):
    """infra/__main__.py as `pulumi up` would run it (config from the stack), under the mocks."""
    import runpy

    key = tmp_path / "id.pub"
    key.write_text(KEY + "\n")
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    pulumi.runtime.set_all_config({"egov:estate": str(ROOT / "estate" / "panyu"), "egov:publicKeyFile": str(key),
                                   "egov:cloud": "district"})
    exported = {}
    real_export = pulumi.export
    pulumi.export = lambda name, value: exported.__setitem__(name, value)
    try:
        runpy.run_path(str(ROOT / "infra" / "__main__.py"), run_name="__main__")
    finally:
        pulumi.export = real_export
        sys.path[:] = [p for p in sys.path if p != str(ROOT / "infra")]
    settle()
    keypairs = [i for t, _, i in mocks.registered if t == "openstack:compute/keypair:Keypair"]
    assert [k["publicKey"] for k in keypairs] == [KEY]
    providers = [i for t, _, i in mocks.registered if t == "pulumi:providers:openstack"]
    assert providers and all(p["cloud"] == "district" for p in providers)
    assert sorted(exported["servers"]) == ["dfs-app1", "dfs-app2", "dfs-db1", "dfs-lb1",
                                           "lr-app1", "lr-app2", "lr-db1", "lr-lb1"]
