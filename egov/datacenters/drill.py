"""Failover drills on the lab: inject a fault, let egov recover, measure RTO and RPO, keep evidence.

A drill runs a steady load of citizens' 12345 calls and approval applications through the
current service endpoint (following it when it moves), injects its fault through the lab
(`crash`, `cut`), drives the DR actions (`egov.dr`), and measures:
- RTO: from the fault (and from the declaration) to the first write accepted at the new site,
  and to every application healthy through the new front;
- RPO: acknowledged writes missing from the new primary afterwards (counted, never assumed);
- write interruption: the longest gap between acknowledged writes.
The report (JSON + self-contained HTML, `egov.report`) holds the timeline, the load's success
rate over time, targets vs measured, the environment, the estate digest and the journal records.
"""

from __future__ import annotations

import json
import platform
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from egov import __version__
from egov.apps.deploy import health
from egov.core import paths
from egov.core.errors import EgovError
from egov.core.journal import Journal
from egov.core.model import Estate
from egov.datacenters.dr import DR, DrFailed, Timeline, port_open
from egov.lab import Lab


def scenarios() -> dict[str, dict]:
    """The drill scenarios, read from `datacenters/drills/*.yaml` (data: description, fault, what
    each proves; `runner` names the built-in sequence that runs it)."""
    out = {}
    for f in sorted(paths.drill_scenarios().glob("*.yaml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        out[doc["name"]] = doc | {"file": str(f)}
    return out


SCENARIOS = {name: doc["description"] for name, doc in scenarios().items()}

HOTLINE, APPROVAL = "hotline-12345", "one-stop-approval"


class DrillError(EgovError):
    pass


# ----------------------------------------------------------------------------- load
class Load:
    """Writes at a steady rate through the service endpoint; records every attempt."""

    def __init__(self, dr: DR, drill_id: str, *, rate: float = 20.0, workers: int = 6):
        self.dr, self.id, self.rate, self.workers = dr, drill_id, rate, workers
        self.records: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._n = 0
        ports = {a.id: a.port for a in dr.estate.applications}
        self.ports = {HOTLINE: ports[HOTLINE], APPROVAL: ports[APPROVAL]}
        cid = dr.cluster()["primary"]
        self.citizens = dr.remote.psql(cid, "SELECT citizen_id FROM persons ORDER BY citizen_id LIMIT 64",
                                       "population").split()
        self.towns = [t.id for t in dr.estate.network.towns] or ["town"]

    def _next(self) -> int:
        with self._lock:
            self._n += 1
            return self._n

    def _one(self, n: int) -> dict:
        site = self.dr.state()["endpoint"]
        addr = self.dr.endpoint_address(site)
        kind = HOTLINE if n % 2 else APPROVAL
        ref = f"{self.id}-{n}"
        if kind == HOTLINE:
            body = {"caller_phone": f"138{n:08d}", "town_id": self.towns[n % len(self.towns)], "category": "咨询",
                    "content": f"drill {self.id} call {n}", "client_ref": ref}
        else:
            body = {"applicant_type": "person", "applicant_id": self.citizens[n % len(self.citizens)],
                    "item_code": "440113-0005", "client_ref": ref}
        t0 = time.time()
        rec = {"n": n, "ref": ref, "kind": kind, "site": site, "t_start": t0}
        req = urllib.request.Request(
            f"http://{addr}:{self.ports[kind]}/{'tickets' if kind == HOTLINE else 'applications'}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                rec["status"] = r.status
        except urllib.error.HTTPError as e:
            rec["status"] = e.code
        except OSError as e:
            rec["status"], rec["error"] = 0, type(e).__name__
        rec["t_end"] = time.time()
        rec["ok"] = rec["status"] == 201
        return rec

    def _worker(self) -> None:
        interval = self.workers / self.rate
        nxt = time.monotonic()
        while not self._stop.is_set():
            rec = self._one(self._next())
            with self._lock:
                self.records.append(rec)
            nxt += interval
            delay = nxt - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                nxt = time.monotonic()

    def start(self) -> None:
        for i in range(self.workers):
            t = threading.Thread(target=self._worker, daemon=True, name=f"load-{i}")
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)

    def acked(self) -> list[dict]:
        return [r for r in self.records if r["ok"]]


# ----------------------------------------------------------------------------- measurements
def first_ok_after(records: list[dict], t: float, site: str | None = None) -> float | None:
    oks = [r["t_end"] for r in records if r["ok"] and r["t_start"] >= t and (site is None or r["site"] == site)]
    return min(oks) if oks else None


def longest_gap(records: list[dict], start: float, end: float) -> float:
    """Longest time without an acknowledged write within [start, end]."""
    ts = sorted(r["t_end"] for r in records if r["ok"] and start <= r["t_end"] <= end)
    points = [start] + ts + [end]
    return max(b - a for a, b in zip(points, points[1:])) if len(points) > 1 else end - start


def success_series(records: list[dict], t0: float, bucket: float = 0.5) -> list[dict]:
    if not records:
        return []
    end = max(r["t_start"] for r in records)
    out = []
    b = 0
    while t0 + b * bucket <= end:
        lo, hi = t0 + b * bucket, t0 + (b + 1) * bucket
        inb = [r for r in records if lo <= r["t_start"] < hi]
        out.append({"t": round(b * bucket, 2), "attempts": len(inb), "ok": sum(r["ok"] for r in inb)})
        b += 1
    return out


def count_lost(dr: DR, acked: list[dict], drill_id: str) -> dict:
    """Acknowledged writes missing from the current primary: counted, not assumed."""
    primary = dr.cluster()["primary"]
    found = set()
    for db, table in (("app_hotline_12345", "tickets"), ("app_one_stop_approval", "applications")):
        out = dr.remote.psql(
            primary, f"SELECT client_ref FROM {table} WHERE client_ref LIKE '{drill_id}-%'", db, timeout=30
        )
        found |= set(out.split())
    acked_refs = {r["ref"] for r in acked}
    lost = sorted(acked_refs - found)
    return {
        "acknowledged": len(acked_refs),
        "found": len(acked_refs & found),
        "lost": len(lost),
        "lost_refs": lost[:20],
        "checked_on": primary,
    }


def _count_after(dr: DR, acked: list[dict], drill_id: str, error: str | None) -> dict:
    """The RPO count, also after a drill that stopped halfway: whatever primary serves now is asked
    (the figure that matters most is not dropped because a later step failed)."""
    try:
        return count_lost(dr, acked, drill_id)
    except EgovError as e:
        if not error:
            raise
        return {"lost": None, "acknowledged": len({r["ref"] for r in acked}), "not_counted": str(e)}


def gbt20988_level(rto_s: float | None, lost: int) -> int:
    """GB/T 20988-2007 disaster-recovery capability level implied by measured RTO/RPO
    (the standard's annex: level 6 = RPO 0 and RTO in minutes; 5 = RPO within 0-30 min and
    RTO from minutes to 2 days; 4 = RPO hours to a day, RTO hours to 2 days; ...)."""
    if rto_s is None:
        return 1
    if lost == 0 and rto_s <= 30 * 60:
        return 6
    if rto_s <= 2 * 86400:
        return 5  # lost writes in a drill span seconds: within the 0-30 min RPO of level 5
    return 3


# ----------------------------------------------------------------------------- the drill
@dataclass
class Ctx:
    estate: Estate
    lab: Lab
    dr: DR
    load: Load
    tl: Timeline
    guard_lock: threading.Lock
    progress: Callable[[str], None]


class Guard(threading.Thread):
    """egov's DR guard running during the drill, as it would in production (`egov dr guard`)."""

    def __init__(self, dr: DR, lock: threading.Lock, tl: Timeline):
        super().__init__(daemon=True, name="dr-guard")
        self.dr, self.lock, self.tl = dr, lock, tl
        self.stop_event = threading.Event()
        self.missing: dict = {}

    def run(self) -> None:
        while not self.stop_event.wait(0.5):
            if not self.lock.acquire(blocking=False):
                continue
            try:
                for action in self.dr.guard_once(self.missing, grace=2.0):
                    self.tl.step("guard", action)
            except EgovError:
                pass
            finally:
                self.lock.release()


def _wait_all_healthy(c: Ctx, site: str, timeout: float = 60) -> float | None:
    addr = c.dr.endpoint_address(site)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(health(addr, a.port, a.health_path, timeout=1)[0] for a in c.estate.applications):
            return time.time()
        time.sleep(0.2)
    return None


def _steady(c: Ctx, seconds: float, label: str) -> None:
    c.progress(f"{label}: {seconds:g}s of steady load")
    time.sleep(seconds)


def scenario_planned_migration(c: Ctx) -> dict:
    src, dst = "legacy-room", c.estate.primary_site.id
    cur_site = c.dr.site_of[c.dr.cluster()["primary"]]
    if cur_site != src:
        c.tl.step("setup", f"move the primary to {src} first (the migration starts from the old room)")
        with c.guard_lock:
            c.dr.switchover(src, tl=c.tl)
        _steady(c, 3, "setup")
    _steady(c, 4, "before")
    t_req = c.tl.step("fault/declaration", f"planned migration {src} -> {dst} requested", mark="declared")
    with c.guard_lock:
        c.dr.switchover(dst, tl=c.tl)
    t_done = time.time()
    _steady(c, 4, "after")
    healthy = _wait_all_healthy(c, dst)
    recs = c.load.records
    gap = longest_gap(recs, t_req - 1, t_done + 3)
    first = first_ok_after(recs, t_req, dst)
    tg = c.estate.primary_site.dr
    return {"write_interruption_s": round(gap, 3), "first_write_new_site_s": round(first - t_req, 3) if first else None,
            "all_apps_healthy_s": round(healthy - t_req, 3) if healthy else None,
            "checks": [_check("write interruption", gap, tg.switchover_interruption, "s"),
                       _check("all apps healthy at the new site", (healthy - t_req) if healthy else None, tg.rto, "s")],
            "rto_for_level": (healthy - t_req) if healthy else None}


def scenario_site_loss(c: Ctx) -> dict:
    c0 = c.dr.cluster()
    old_site = c.dr.site_of[c0["primary"]]
    new_site = next(c.dr.site_of[m] for m in c0["members"] if c.dr.site_of[m] != old_site)
    _steady(c, 4, "before")
    t_fault = c.tl.step("fault", f"power cut: the whole {old_site} site", mark="fault")
    c.lab.crash(old_site)
    # detection: the primary stops answering (two probes in a row)
    addr = c.dr.addr[c0["primary"]]
    misses = 0
    while misses < 2:
        misses = misses + 1 if not port_open(addr, 5432, 0.3) else 0
        time.sleep(0.1)
    t_decl = c.tl.step("detected", f"{c0['primary']} does not answer: declaring the site lost", mark="declared")
    with c.guard_lock:
        c.dr.failover(new_site, tl=c.tl)
    healthy = _wait_all_healthy(c, new_site)
    c.tl.step("all apps healthy", f"every application answers through the {new_site} front")
    first = first_ok_after(c.load.records, t_fault, new_site)
    # split brain check: the old site comes back, and its database must not start by itself
    _steady(c, 3, "degraded")
    c.tl.step("old site powered on", f"{old_site} boots; its fenced database must stay down")
    c.lab.start(old_site)
    time.sleep(2)
    old = c.dr.member(c0["primary"])
    split = old.get("role") == "primary"
    c.tl.step("split-brain check", f"{c0['primary']}: {'RUNNING AS PRIMARY' if split else 'fenced, not running'}")
    with c.guard_lock:
        c.dr.failback(tl=c.tl)
    _steady(c, 3, "after failback")
    tg = c.estate.primary_site.dr
    rto_first = (first - t_fault) if first else None
    rto_all = (healthy - t_fault) if healthy else None
    return {
        "rto_first_write_s": _r(rto_first),
        "rto_first_write_from_declaration_s": _r((first - t_decl) if first else None),
        "rto_all_apps_healthy_s": _r(rto_all),
        "detection_s": _r(t_decl - t_fault),
        "split_brain": split,
        "checks": [
            _check("RTO to first accepted write", rto_first, tg.first_write_rto, "s"),
            _check("RTO to all apps healthy", rto_all, tg.rto, "s"),
            {
                "name": "no split brain after the old site returned",
                "target": "old primary fenced",
                "measured": "running as primary" if split else "fenced",
                "pass": not split,
            },
        ],
        "rto_for_level": rto_all,
    }


def scenario_link_cut(c: Ctx) -> dict:
    sites = [s.id for s in c.estate.sites if any(h.role.value == "db" for h in s.hosts)]
    a, b = sites[0], sites[1]
    _steady(c, 4, "before")
    t_fault = c.tl.step("fault", f"inter-site link cut: {a} <-> {b}", mark="fault")
    c.lab.cut(a, b)
    _steady(c, 10, "cut")
    st = c.dr.status()["clusters"][0]
    primaries = [m["host"] for m in st["members"] if m["role"] == "primary"]
    c.tl.step("during the cut", f"primaries: {', '.join(primaries)}; degraded: {st['degraded']}")
    t_heal = c.tl.step("heal", f"link {a} <-> {b} restored")
    c.lab.heal(a, b)
    c.dr._wait("the standby to stream and be synchronous again",
               lambda: any(s["sync_state"] == "sync" for m in c.dr.status()["clusters"][0]["members"]
                           for s in m.get("standbys", [])), 30, 0.5)
    c.tl.step("synchronous again", "the standby caught up; RPO = 0 again")
    _steady(c, 3, "after")
    during = [r for r in c.load.records if t_fault <= r["t_start"] < t_heal]
    resumed = first_ok_after(during, t_fault)
    return {"primaries_during_cut": primaries, "writes_during_cut": len(during),
            "acknowledged_during_cut": sum(r["ok"] for r in during),
            "writes_resumed_after_s": _r((resumed - t_fault) if resumed else None),
            "checks": [{"name": "nothing promoted by itself (one primary)", "target": "1 primary",
                        "measured": f"{len(primaries)} ({', '.join(primaries)})", "pass": len(primaries) == 1},
                       _check("writes resume at the primary during the cut (guard relaxes sync)",
                              (resumed - t_fault) if resumed else None, t_heal - t_fault, "s")],
            "rto_for_level": (resumed - t_fault) if resumed else None}


def scenario_standby_loss(c: Ctx) -> dict:
    cl = c.dr.cluster()
    standby = next(m for m in cl["members"] if m != cl["primary"])
    _steady(c, 4, "before")
    t_fault = c.tl.step("fault", f"power cut: standby host {standby}", mark="fault")
    c.lab.crash(standby)
    _steady(c, 6, "standby down")
    st = c.dr.status()["clusters"][0]
    c.tl.step("status", f"degraded={st['degraded']} rpo_zero={st['rpo_zero']}")
    resumed = first_ok_after(c.load.records, t_fault + 0.01)
    c.tl.step("standby powered on", f"{standby} boots and rejoins as a standby")
    c.lab.start(standby)
    c.dr._wait("the standby to be synchronous again",
               lambda: any(s["sync_state"] == "sync" for m in c.dr.status()["clusters"][0]["members"]
                           for s in m.get("standbys", [])), 40, 0.5)
    c.tl.step("synchronous again", f"{standby} confirms commits: RPO = 0 again")
    _steady(c, 3, "after")
    return {"degraded_reported": st["degraded"], "rpo_zero_reported": st["rpo_zero"],
            "writes_resumed_after_s": _r((resumed - t_fault) if resumed else None),
            "checks": [{"name": "status says degraded while the standby is down", "target": "degraded",
                        "measured": "degraded" if st["degraded"] and not st["rpo_zero"] else "not degraded",
                        "pass": st["degraded"] and not st["rpo_zero"]},
                       _check("the primary keeps serving (writes resume)", (resumed - t_fault) if resumed else None,
                              c.estate.primary_site.dr.rto, "s")],
            "rto_for_level": (resumed - t_fault) if resumed else None}


_BUILT_IN = {"planned_migration": scenario_planned_migration, "site_loss": scenario_site_loss,
             "link_cut": scenario_link_cut, "standby_loss": scenario_standby_loss}
RUNNERS = {name: _BUILT_IN[doc["runner"]] for name, doc in scenarios().items() if doc.get("runner") in _BUILT_IN}


def _r(v):
    return None if v is None else round(v, 3)


def _check(name: str, measured: float | None, target, unit: str) -> dict:
    limit = target.total_seconds() if hasattr(target, "total_seconds") else target
    ok = measured is not None and limit is not None and measured <= limit
    return {"name": name, "target": f"<= {round(limit, 1):g} {unit}" if limit is not None else "-",
            "measured": f"{measured:.2f} {unit}" if measured is not None else "never", "pass": ok, "timed": True,
            "seconds": None if measured is None else round(measured, 3), "limit_s": limit}


def run(estate: Estate, lab: Lab | None, dr: DR, scenario: str, state_dir: Path, *,
        progress: Callable[[str], None] = lambda m: None) -> dict:
    if scenario not in RUNNERS:
        raise DrillError(f"no scenario {scenario!r} (have: {', '.join(SCENARIOS)})")
    if lab is None or not lab.is_up():
        raise DrillError("drills run on the lab (they power hosts off): run `egov up` on the lab first")
    pre = dr.status()["clusters"][0]
    if not pre["steady"]:
        raise DrillError("the estate is not in its steady state, so a drill would measure the wrong thing: "
                         + "; ".join(pre["problems"]))
    drill_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:4]
    journal_from = sum(1 for _ in Journal(state_dir).records())
    tl = Timeline(on_step=progress)
    tl.step("drill start", f"{scenario}: {SCENARIOS[scenario]}")
    load = Load(dr, drill_id)
    lock = threading.Lock()
    guard = Guard(dr, lock, tl)
    c = Ctx(estate, lab, dr, load, tl, lock, progress)
    load.start()
    guard.start()
    error = None
    result: dict = {}
    try:
        result = RUNNERS[scenario](c)
    except (EgovError, DrFailed) as e:
        error = str(e)
        tl.step("drill aborted", error)
    finally:
        load.stop()
        guard.stop_event.set()
        guard.join(timeout=5)
    tl.step("load stopped", f"{len(load.records)} writes attempted, {len(load.acked())} acknowledged")
    rpo = _count_after(dr, load.acked(), drill_id, error)
    checks = list(result.get("checks", []))
    checks.insert(0, {"name": "RPO: acknowledged writes lost", "target": "0",
                      "measured": str(rpo.get("lost")), "pass": rpo.get("lost") == 0})
    level = gbt20988_level(result.get("rto_for_level"), rpo.get("lost") or 0) if not error else None
    report = {
        "id": drill_id,
        "scenario": scenario,
        "description": SCENARIOS[scenario],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(tl.t0)),
        "duration_s": round(time.time() - tl.t0, 1),
        "result": "pass" if not error and all(ch["pass"] for ch in checks) else "fail",
        "error": error,
        "estate": {"name": estate.meta.name, "display_name": estate.meta.display_name, "digest": estate.digest},
        "environment": {
            "target": "lab",
            "host": platform.node(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "egov": __version__,
            "postgresql": dr.remote.run(
                dr.cluster()["primary"], "/usr/lib/postgresql/15/bin/postgres -V", check=False
            ).stdout.strip(),
        },
        "measurements": {k: v for k, v in result.items() if k not in ("checks", "rto_for_level")},
        "rpo": rpo,
        "checks": checks,
        "gbt20988_level": level,
        "load": {
            "attempted": len(load.records),
            "acknowledged": len(load.acked()),
            "rate_per_s": load.rate,
            "series": success_series(load.records, tl.t0),
        },
        "timeline": [{k: v for k, v in s.items() if k != "t"} for s in tl.steps],
        "journal": list(Journal(state_dir).records())[journal_from:],
    }
    return report


def save(report: dict, state_dir: Path) -> Path:
    from egov.datacenters.report import html

    d = paths.at(state_dir).drill(report["id"])
    d.mkdir(parents=True, exist_ok=True)
    (d / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    (d / "report.html").write_text(html(report), encoding="utf-8")
    return d


def past(state_dir: Path) -> list[dict]:
    out = []
    for f in sorted(paths.at(state_dir).drills.glob("*/report.json")):
        r = json.loads(f.read_text())
        out.append(
            {
                "id": r["id"],
                "scenario": r["scenario"],
                "started": r["started"],
                "result": r["result"],
                "rpo_lost": r["rpo"].get("lost"),
                "gbt20988_level": r["gbt20988_level"],
                "html": str(f.with_suffix(".html")),
            }
        )
    return out
