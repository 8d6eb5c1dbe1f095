"""`egov net verify`: the network does its job, measured from the devices and from the towns.

* every router has a Full OSPF adjacency with each router the estate links it to
  (read from the device: FRR's JSON, or VRP/Comware `display ospf peer brief`);
* lab only: from each town's service-centre client namespace, the service address of the site
  currently serving (the DR endpoint, the primary site by default) answers ping, and every
  application's /healthz answers HTTP 200 through it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from egov.core import secrets, topology
from egov.core.model import Estate
from egov.core.state import RuntimeState
from egov.network import drivers
from egov.network.drivers import DeviceError

OSPF_CMD = {"frr": "show ip ospf neighbor json", "huawei_vrp": "display ospf peer brief",
            "hp_comware": "display ospf peer"}


def ospf_full_neighbors(platform: str, output: str) -> set[str]:
    """Router ids of neighbours in state Full, from the device's own output."""
    if platform == "frr":
        try:
            data = json.loads(output)
        except json.JSONDecodeError:
            return set()
        full = set()
        for rid, entries in (data.get("neighbors") or {}).items():
            for nb in entries if isinstance(entries, list) else [entries]:
                if str(nb.get("nbrState", nb.get("state", ""))).startswith("Full"):
                    full.add(rid)
        return full
    ip = r"\d+\.\d+\.\d+\.\d+"
    if platform == "hp_comware":  # Router ID  Address  Pri  Dead-Time  State  Interface
        return set(re.findall(rf"^\s*({ip})\s+{ip}\s+\d+\s+\d+\s+Full\b", output, flags=re.M))
    # VRP brief: Area Id  Interface  Neighbor id  State
    return set(re.findall(rf"^\s*{ip}\s+\S+\s+({ip})\s+Full\b", output, flags=re.M))


def expected_neighbors(estate: Estate) -> dict[str, set[str]]:
    its = topology.intents(estate)
    mgmt = {d.id: str(d.mgmt_ip) for _, d in estate.devices()}
    return {did: {mgmt[lk.peer] for lk in i.links if lk.peer in mgmt and lk.kind != "site"}
            for did, i in its.items() if i.is_router}


def _ospf(devs, estate, workers) -> list[dict]:
    want = expected_neighbors(estate)

    def one(did):
        d = devs[did]
        cmd = OSPF_CMD.get(d.platform)
        if cmd is None:
            return {"check": "ospf adjacencies", "where": did, "ok": False, "detail": f"no OSPF check for {d.platform}"}
        drv = None
        try:
            drv = drivers.connect(d.conn)
            got = ospf_full_neighbors(d.platform, drv.cli(cmd))
        except DeviceError as e:
            return {"check": "ospf adjacencies", "where": did, "ok": False, "detail": e.reason}
        finally:
            if drv is not None:
                drv.close()
        missing = sorted(want[did] - got)
        return {
            "check": "ospf adjacencies",
            "where": did,
            "ok": not missing,
            "detail": f"{len(want[did] & got)}/{len(want[did])} Full"
            + (f"; missing {', '.join(missing)}" if missing else ""),
        }

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(want)))) as pool:
        return list(pool.map(one, [d for d in want if d in devs]))


# run in a town's service-centre client: ping the front, then each app over HTTPS (verified against
# the estate's CA) and its plain-HTTP port, which must only redirect there
PROBE = r"""
import http.client, json, ssl, subprocess, sys, urllib.request
addr, ports, ca = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
tls = ssl.create_default_context(cafile=ca)
res = {"ping": subprocess.run(["ping", "-c1", "-W2", addr], capture_output=True).returncode == 0, "http": {}}
for app, (port, tls_port, path) in ports.items():
    try:
        with urllib.request.urlopen(f"https://{addr}:{tls_port}{path}", timeout=5, context=tls) as r:
            res["http"][app] = r.status
        c = http.client.HTTPConnection(addr, port, timeout=5)
        c.request("GET", path)
        r = c.getresponse()
        want = f"https://{addr}:{tls_port}{path}"
        if r.status != 301 or r.getheader("Location") != want:
            res["http"][app] = f"plain HTTP answered {r.status} {r.getheader('Location')}, not 301 to {want}"
    except Exception as e:
        res["http"][app] = str(getattr(e, "code", None) or getattr(e, "reason", None) or type(e).__name__)
print(json.dumps(res))
"""


def serving_address(estate: Estate, state_dir) -> tuple[str, str]:
    """The site serving the applications now (a DR action may have moved it) and its address."""
    return RuntimeState(state_dir, estate).serving_address()


def _clients(estate: Estate, state_dir, lab, workers) -> list[dict]:
    site, addr = serving_address(estate, state_dir)
    ports = {a.id: [a.port, a.tls_port, a.health_path] for a in estate.applications if a.runs_on.get(site)}
    ca = str(secrets.ca_file(Path(state_dir), estate))

    def one(town):
        argv = lab.network.client_argv(town, sys.executable, "-c", PROBE, addr, json.dumps(ports), ca)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        try:
            res = json.loads(r.stdout)
        except json.JSONDecodeError:
            return [{"check": "client reaches apps", "where": town, "ok": False,
                     "detail": (r.stderr or r.stdout).strip()[-200:]}]
        out = [{"check": f"ping {addr} ({site})", "where": town, "ok": res["ping"],
                "detail": "answers" if res["ping"] else "no reply"}]
        bad = {a: s for a, s in res["http"].items() if s != 200}
        out.append({"check": f"https {len(ports)} apps via {addr}", "where": town, "ok": not bad,
                    "detail": "all 200" if not bad else ", ".join(f"{a}: {s}" for a, s in bad.items())})
        return out

    towns = list(lab.network.clients)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(towns) or 1))) as pool:
        return [x for res in pool.map(one, towns) for x in res]


def run(estate: Estate, state_dir, target, devs, *, workers: int) -> list[dict]:
    checks = _ospf(devs, estate, workers)
    if target.is_lab:
        checks += _clients(estate, state_dir, target.lab, workers)
    return checks
