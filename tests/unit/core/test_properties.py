"""Property: whatever `egov validate` accepts builds and renders correctly; whatever it refuses
is refused with problems that name a file (issue 17).

Estates are generated within the schema: the scaffold's shape, then towns, villages, sites,
platforms, pool and subnet sizes, uplinks, banners, health paths, databases and apps' databases
drawn at random, many of them outside what egov supports. For an accepted estate: every device
renders on its own platform and on the lab's, every config plans cleanly with hier_config, the
inventory and the cloud graph build, and every address a config uses lies in a subnet the device
is on. Runs 100 examples, the same ones every run (~10 s; inside a minute on CI).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from egov.core import scaffold
from egov.core.errors import EstateInvalid
from egov.core.loader import load_estate
from egov.core.model import FILES, OPTIONAL_FILES, Platform
from egov.core.topology import intents, service_client

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOperatorKeyForTests egov@test"
PLATFORMS = [p.value for p in Platform]
DELIMITED = {"huawei_vrp": 'header login information "%s"', "hp_comware": "header login %%%s%%"}
PRODUCTION = ["huawei_vrp", "hp_comware"]  # frr and cisco_ios stand in for them on the lab
SAFE_BANNER = st.text(alphabet=st.sampled_from(list("授权人员使用 abcXYZ09.,:;!-")), max_size=40)
BANNER = st.text(alphabet=st.sampled_from(list('授权人员使用 abcXYZ09.,:;!-"%\n')), min_size=0, max_size=40)


FAULTS = ["platform", "transit", "banner", "service-size", "village-uplink", "second-mgmt", "health", "unknown-db",
          "db-port", "db-mode", "db-primary", "single-site"]


@st.composite
def estates(draw) -> dict[str, dict]:
    """About half the examples carry one or two faults; the rest vary only within what egov supports."""
    faults = set(draw(st.lists(st.sampled_from(FAULTS), max_size=2, unique=True)) if draw(st.booleans()) else [])
    towns = [scaffold.TownSpec(f"t{i}", f"第{i}镇", draw(st.sampled_from(["street", "town"])),
                               draw(st.integers(0, 4))) for i in range(1, draw(st.integers(1, 5)) + 1)]
    sites = [scaffold.SiteSpec("main", "主中心", "primary", "m")]
    for k in range(0 if "single-site" in faults else draw(st.integers(1, 2))):
        sites.append(scaffold.SiteSpec(f"bak{k}", f"备份{k}", "backup", f"b{k}", "main"))
    files = scaffold.build(scaffold.EstateSpec("prop", "性质区", "测试市", towns, sites))
    est, net, dbs, apps = (files[f] for f in ("estate.yaml", "network.yaml", "databases.yaml", "apps.yaml"))
    transit = next(p for p in est["pools"] if p["purpose"] == "transit")
    transit["cidr"] = f"10.31.0.0/{draw(st.sampled_from([20, 24])) if 'transit' in faults else 16}"
    est["login_banner"] = draw(BANNER if "banner" in faults else SAFE_BANNER) or None
    for dev in [net["city"], net["core"]] + [t["router"] for t in net["towns"]] + \
            [v for t in net["towns"] for v in t["villages"]]:
        dev["platform"] = draw(st.sampled_from(PLATFORMS if "platform" in faults else PRODUCTION))
    for i, t in enumerate(net["towns"], start=1):
        svc = t["subnets"][1]
        sizes = [24, 26, 29, 30, 31] if "service-size" in faults else [24, 26, 29]
        svc["cidr"] = f"10.40.{i}.0/{draw(st.sampled_from(sizes))}"
        if "village-uplink" in faults and len(t["villages"]) >= 2:
            t["villages"][-1]["uplink"] = t["villages"][0]["id"]
        if "second-mgmt" in faults and i == 1:
            t["subnets"].append({"id": f"{t['id']}-mgmt2", "cidr": f"10.30.{100 + i}.0/24", "pool": "net-mgmt",
                                 "purpose": "mgmt", "vlan": 10, "gateway": f"10.30.{100 + i}.1"})
            if t["villages"]:
                t["villages"][0]["mgmt_ip"] = f"10.30.{100 + i}.10"
    ids = [d["id"] for d in dbs["databases"]]
    for a in apps["applications"]:
        if "health" in faults:
            a["health_path"] = draw(st.sampled_from(["/status", "/health", "/healthz/"]))
        a["databases"] = draw(st.lists(st.sampled_from(ids + (["census"] if "unknown-db" in faults else [])),
                                       max_size=3, unique=True))
    d = dbs["databases"][draw(st.integers(0, len(ids) - 1))]
    if "db-port" in faults:
        d["port"] = 5433
    if "db-mode" in faults:
        d["replication"]["mode"] = draw(st.sampled_from(["asynchronous", "none"]))
    if "db-primary" in faults and d["replication"]["standby_hosts"]:
        d["primary_host"], d["replication"]["standby_hosts"] = d["replication"]["standby_hosts"][0], [d["primary_host"]]
    return files


def _addresses_fit(estate) -> None:
    for dev, it in intents(estate).items():
        for lk in it.links:
            assert lk.peer_address in lk.address.network and lk.peer_address != lk.address.ip, (dev, lk)
        nets = [lk.address.network for lk in it.links]
        for r in it.routes:
            assert any(r.next_hop in n for n in nets), (dev, r)
        if it.mgmt_address is not None:
            assert it.mgmt_gateway in it.mgmt_address.network and it.mgmt_gateway != it.mgmt_address.ip, dev
    for t in estate.network.towns:
        for sn in t.subnets:
            if sn.purpose.value == "service":
                c = service_client(sn)
                gw = sn.gateway or next(sn.cidr.hosts())
                assert c is not None and c.ip in sn.cidr and c.ip != gw and c.ip not in (
                    sn.cidr.network_address, sn.cidr.broadcast_address), (t.id, sn.cidr)


def _builds(estate, tmp: Path) -> None:
    from egov.cloud.graph import derive
    from egov.hosts import inventory
    from egov.network import plan, render

    banner = estate.meta.login_banner
    for lab in (False, True):
        for r in render.render_all(estate, lab=lab).values():
            p = plan.plan(r.device, r.platform, r.role, "", r.text)
            assert p.changed, r.device  # from nothing, every intended config is something to send
            if banner and r.platform in DELIMITED:  # the banner is one line, whole, inside its delimiters
                lines = [ln for ln in r.text.splitlines() if ln.startswith("header login")]
                assert lines == [DELIMITED[r.platform] % banner], (r.device, lines)
    inv = inventory.generate(estate, secrets_file=tmp / "secrets.yml", admin_cidrs=(), target="lab")
    assert set(inv["all"]["hosts"]) == {h.id for _, h in estate.hosts()}
    assert derive(estate, KEY).of("server")
    _addresses_fit(estate)


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(estates())
def test_validate_accepts_only_what_builds(files):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for name, data in files.items():
            (root / name).write_text(scaffold.dump(data), encoding="utf-8")
        try:
            estate = load_estate(root)
        except EstateInvalid as bad:
            assert bad.problems
            known = set(FILES) | set(OPTIONAL_FILES)
            for p in bad.problems:
                assert p.file in known and str(p).startswith(p.file + ":"), str(p)
                event(f"refused: {p.message[:40]}")
            return
        event("accepted")
        _builds(estate, root)
