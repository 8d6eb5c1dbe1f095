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
from egov.apps.deploy import front_tls, health
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
        ports = {a.id: a.tls_port for a in dr.estate.applications}
        self.ports = {HOTLINE: ports[HOTLINE], APPROVAL: ports[APPROVAL]}
        self.tls = front_tls(dr.state_dir, dr.estate)  # through the front, as citizens reach it: HTTPS
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
            f"https://{addr}:{self.ports[kind]}/{'tickets' if kind == HOTLINE else 'applications'}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=2, context=self.tls) as r:
                rec["status"] = r.status
        except urllib.error.HTTPError as e:
            rec["status"] = e.code
        except OSError as e:
            rec["status"], rec["error"] = 0, type(getattr(e, "reason", e)).__name__
        rec["t_end"] = time.time()
        rec["ok"] = rec["status"] == 201
        rec["outcome"] = outcome(rec["status"], rec.get("error"))
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


# ----------------------------------------------------------------------------- accounting
# Jepsen's model: a write the client saw refused never happened (failed); one whose answer was lost
# after it was sent may or may not have (indeterminate). Only acknowledged writes must be found.
_NEVER_SENT = {"ConnectionRefusedError", "gaierror"}  # nothing reached the server


def outcome(status: int, error: str | None) -> str:
    """ok | failed | indeterminate for one write attempt."""
    if status == 201:
        return "ok"
    if status == 0:
        return "failed" if error in _NEVER_SENT else "indeterminate"  # timeout, reset, EOF after sending
    # a 4xx is the app refusing the request; a 5xx may come after a commit whose answer was lost
    # (the apps answer 503 on any database error, commit included)
    return "failed" if 400 <= status < 500 else "indeterminate"


def account(records: list[dict], found: set[str]) -> dict:
    """Every attempt against what was found afterwards: lost = acknowledged but not found;
    recovered-indeterminate = indeterminate and found; unexpected = found though it definitely failed."""
    by = {"ok": [], "failed": [], "indeterminate": []}
    for r in records:
        by[r.get("outcome") or ("ok" if r["ok"] else "failed")].append(r["ref"])
    ok, failed, indet = set(by["ok"]), set(by["failed"]), set(by["indeterminate"])
    lost = sorted(ok - found)
    return {"attempted": len(records), "acknowledged": len(ok), "failed": len(failed),
            "indeterminate": len(indet), "found": len(ok & found), "lost": len(lost), "lost_refs": lost[:20],
            "recovered_indeterminate": len(indet & found), "unexpected": len(failed & found),
            "unexpected_refs": sorted(failed & found)[:20]}


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


def count_lost(dr: DR, records: list[dict], drill_id: str) -> dict:
    """Every write attempt accounted for on the current primary: counted, not assumed."""
    primary = dr.cluster()["primary"]
    found = set()
    for db, table in (("app_hotline_12345", "tickets"), ("app_one_stop_approval", "applications")):
        out = dr.remote.psql(
            primary, f"SELECT client_ref FROM {table} WHERE client_ref LIKE '{drill_id}-%'", db, timeout=30
        )
        found |= set(out.split())
    return account(records, found) | {"checked_on": primary}


def _count_after(dr: DR, records: list[dict], drill_id: str, error: str | None) -> dict:
    """The RPO count, also after a drill that stopped halfway: whatever primary serves now is asked
    (the figure that matters most is not dropped because a later step failed)."""
    try:
        return count_lost(dr, records, drill_id)
    except EgovError as e:
        if not error:
            raise
        return {"lost": None, "acknowledged": len({r["ref"] for r in records if r["ok"]}), "not_counted": str(e)}


STANDARD = "GB/T 20988-2025 (in force 2026-01-01; replaces GB/T 20988-2007 and GB/T 30285-2013)"
# the elements of a capability level egov cannot measure: they are attested by the operator
ATTESTED_ONLY = ["运维管理能力 staffing and on-call", "灾难恢复预案 plans and procedures",
                 "技术支持能力 technical support", "备用基础设施 facilities (power, cooling, access)",
                 "灾难恢复审计与评估 DR audit and test evaluation (2025 edition)"]
BACKUP_MAX_AGE_S = 8 * 86400  # a full or differential backup at least weekly (every level's data-backup element)
RESTORE_TEST_MAX_AGE_S = 31 * 86400


def gbt20988_level(rto_s: float | None, lost: int) -> int:
    """Disaster-recovery capability level implied by measured RTO/RPO alone (GB/T 20988's annex:
    level 6 = RPO 0 and RTO in minutes; 5 = RPO within 0-30 min and RTO from minutes to 2 days;
    4 = RPO hours to a day, RTO hours to 2 days; ...). Not a claim: see `gbt20988`."""
    if rto_s is None:
        return 1
    if lost == 0 and rto_s <= 30 * 60:
        return 6
    if rto_s <= 2 * 86400:
        return 5  # lost writes in a drill span seconds: within the 0-30 min RPO of level 5
    return 3


def gbt20988(rto_s: float | None, lost: int | None, evidence: dict, now: float | None = None) -> dict:
    """What the drill may claim: the level the RTO/RPO figures imply, only if the data-backup
    element every level requires is measured too (a backup in the off-site repository recent enough
    and a passing restore test); otherwise no level is claimed, and the report says why."""
    now = time.time() if now is None else now
    implied = gbt20988_level(rto_s, lost) if lost is not None and rto_s is not None else None
    missing = []
    b = evidence.get("last_backup")
    if not b:
        missing.append("no backup in an off-site repository")
    elif now - b["stop_epoch"] > BACKUP_MAX_AGE_S:
        missing.append(f"the last backup ({b['label']}) is older than {BACKUP_MAX_AGE_S // 86400} days")
    t = evidence.get("last_restore_test")
    if not t:
        missing.append("no passing restore test recorded")
    elif now - t["epoch"] > RESTORE_TEST_MAX_AGE_S:
        days = RESTORE_TEST_MAX_AGE_S // 86400
        missing.append(f"the last passing restore test ({t['id']}) is older than {days} days")
    if lost is None:
        missing.append("RTO/RPO not measured (the drill did not finish)")
    elif rto_s is None:
        missing.append("no failover RTO measured (no passing site-loss drill recorded)")
    claimed = implied if not missing else None
    return {"standard": STANDARD, "rto_s": rto_s, "lost": lost, "implied_by_rto_rpo": implied, "claimed": claimed,
            "not_claimed_because": missing,
            "measured": ["RTO (this drill)", "RPO: acknowledged writes lost (counted)",
                         "data backup: last backup in the off-site repository",
                         "restore test: last passing restore-test drill"],
            "attested_only": ATTESTED_ONLY, "evidence": evidence}


def backup_evidence(estate: Estate, dr: DR, state_dir: Path) -> dict:
    """The latest backup in the repository and the latest passing restore-test drill (or None each)."""
    ev: dict = {"last_backup": None, "last_restore_test": None}
    if estate.backup is not None:
        from egov.datacenters.backup import Backups

        try:
            rows = [r for r in Backups(estate, dr.target, state_dir).list()["backups"] if not r["error"]]
            if rows:
                last = rows[-1]
                ev["last_backup"] = {k: last[k] for k in ("stanza", "label", "type", "stop", "stop_epoch", "size")}
                ev["last_backup"]["age_s"] = round(time.time() - last["stop_epoch"])
        except EgovError as e:
            ev["backup_error"] = str(e)
    for r in reversed(past(state_dir)):
        if r["scenario"] == "restore-test" and r["result"] == "pass":
            ev["last_restore_test"] = {"id": r["id"], "started": r["started"], "epoch": r.get("epoch") or 0}
            break
    return ev


# ----------------------------------------------------------------------------- restore drills
def _base_checksums(run_sql, estate: Estate) -> dict:
    """Row count and md5 of every table of the four base databases, through `run_sql(sql, db)`."""
    out = {}
    for d in estate.databases:
        db = d.id.replace("-", "_")  # the database's name on the cluster (as the inventory names it)
        tables = run_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", db).split()
        for t in tables:
            row = run_sql(f"SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) "
                          f"FROM public.{t} x", db)
            n, md5 = row.split()
            out[f"{db}.{t}"] = {"rows": int(n), "md5": md5}
    return out


def scenario_restore_test(c: Ctx) -> dict:
    b = c.backups
    if b is None:
        raise DrillError("restore-test: the estate declares no backups (databases.yaml: backup)")
    _steady(c, 2, "before")
    rows = [r for r in b.list()["backups"] if not r["error"]]
    if not rows:
        raise DrillError("restore-test: the repository holds no backup (`egov backup run` takes one)")
    last = rows[-1]
    t0 = c.tl.step("restore", f"latest backup {last['label']} ({last['type']}, ended {last['stop']}) into a scratch "
                   f"cluster on {b.repo}", mark="fault")
    res = b.restore_scratch(label=last["label"])
    t1 = c.tl.step("restored", f"scratch cluster ready after {res['total_seconds']}s")
    try:
        primary = c.dr.cluster()["primary"]
        want = _base_checksums(lambda q, db: c.dr.remote.psql(primary, q, db, timeout=120), c.estate)
        got = _base_checksums(lambda q, db: b.scratch_sql(q, db), c.estate)
        c.tl.step("compared", f"{len(want)} tables of the base databases, primary {primary} vs scratch")
    finally:
        b.drop_scratch()
    differ = sorted(k for k in want if got.get(k) != want[k]) + sorted(k for k in got if k not in want)
    return {"backup": {k: last[k] for k in ("stanza", "label", "type", "stop", "size", "repo_size")},
            "backup_age_s": round(t0 - last["stop_epoch"]),
            "restore_s": res["total_seconds"], "tables": len(want),
            "rows": sum(v["rows"] for v in want.values()), "differ": differ,
            "compare": {k: {"primary": want[k], "scratch": got.get(k)} for k in want},
            "checks": [{"name": "every base-database table identical in the restored backup (rows + md5)",
                        "target": f"{len(want)} tables equal", "measured": f"{len(want) - len(differ)} equal"
                        + (f"; differ: {', '.join(differ[:5])}" if differ else ""), "pass": not differ and bool(want)},
                       _check("time to restore the latest backup", t1 - t0, c.estate.backup.restore_rto, "s")],
            "rto_for_level": None}


def _drill_refs(run_sql, drill_id: str) -> set[str]:
    found: set[str] = set()
    for db, table in (("app_hotline_12345", "tickets"), ("app_one_stop_approval", "applications")):
        found |= set(run_sql(f"SELECT client_ref FROM {table} WHERE client_ref LIKE '{drill_id}-%'", db).split())
    return found


def scenario_data_loss(c: Ctx) -> dict:
    from datetime import datetime, timezone

    b = c.backups
    if b is None:
        raise DrillError("data-loss: the estate declares no backups (databases.yaml: backup)")
    if not [r for r in b.list()["backups"] if not r["error"]]:
        raise DrillError("data-loss: the repository holds no backup (`egov backup run` takes one)")
    cl = c.dr.cluster()
    primary, standby = cl["primary"], next(m for m in cl["members"] if m != cl["primary"])
    _steady(c, 5, "before")
    # the operator error: every row this drill's load wrote, deleted on the primary (both apps)
    out = c.dr.remote.psql(primary, f"""SELECT extract(epoch FROM clock_timestamp());
        DELETE FROM tickets WHERE client_ref LIKE '{c.drill_id}-%';""", "app_hotline_12345")
    t_event = float(out.split()[0])
    c.dr.remote.psql(primary, f"DELETE FROM applications WHERE client_ref LIKE '{c.drill_id}-%';",
                     "app_one_stop_approval")
    c.tl.step("fault", f"operator error: DELETE of the drill's rows on {primary} (committed)", mark="fault")
    _steady(c, 2, "after the delete")
    # the rows acknowledged before the delete are gone from the standby too (the load goes on writing)
    deleted = {r["ref"] for r in c.load.records if r["ok"] and r["t_end"] < t_event}
    on_standby = len(deleted & _drill_refs(lambda q, db: c.dr.remote.psql(standby, q, db, timeout=30), c.drill_id))
    c.tl.step("standby", f"{standby} has the delete too: {on_standby} of the {len(deleted)} deleted rows left")
    # close the WAL segment holding the delete and wait until it is in the repository
    segment = c.dr.remote.psql(primary, "SELECT pg_walfile_name(pg_switch_wal());")
    deadline = time.monotonic() + 60
    while c.dr.remote.psql(primary, f"SELECT coalesce(last_archived_wal >= '{segment}', false) "
                           "FROM pg_stat_archiver") != "t":
        if time.monotonic() > deadline:
            raise DrillError("data-loss: the WAL with the delete did not reach the repository within 60 s")
        time.sleep(0.5)
    c.tl.step("archived", "the WAL up to the delete is in the off-site repository", mark="declared")
    res = b.restore_scratch(to_time=datetime.fromtimestamp(t_event, timezone.utc))
    t_ready = c.tl.step("restored", f"scratch cluster on {b.repo} recovered to just before the delete "
                        f"({res['total_seconds']}s)")
    try:
        found = _drill_refs(lambda q, db: b.scratch_sql(q, db), c.drill_id)
    finally:
        b.drop_scratch()
    recs = list(c.load.records)
    before = [r for r in recs if r["ok"] and r["t_end"] < t_event]
    after = [r for r in recs if r["t_start"] > t_event]
    lost = [r for r in before if r["ref"] not in found]
    resurrected = [r for r in after if r["ref"] in found]
    acked_refs = {r["ref"] for r in recs if r["ok"]}
    unexpected = sorted(found - acked_refs - {r["ref"] for r in recs if not r["ok"]})
    window = (t_event - min(r["t_end"] for r in lost)) if lost else 0.0
    rpo = {"acknowledged": len(before), "found": len(before) - len(lost), "lost": len(lost),
           "lost_refs": [r["ref"] for r in lost][:20], "resurrected": len(resurrected),
           "never_written": len(unexpected),
           "checked_on": f"scratch cluster on {b.repo} (point-in-time restore)"}
    return {"event_epoch": t_event, "standby_rows_left": on_standby, "restore_s": res["total_seconds"],
            "time_to_restore_s": _r(t_ready - t_event), "data_window_s": _r(window),
            "backup": res["backup"]["label"], "rpo_override": rpo,
            "checks": [{"name": "the standby has the delete too (replication is no backup)", "target": "0 rows left",
                        "measured": f"{on_standby} rows left", "pass": on_standby == 0},
                       {"name": "no write after the delete resurrected", "target": "0",
                        "measured": str(len(resurrected)), "pass": not resurrected},
                       {"name": "nothing found that the load never wrote", "target": "0",
                        "measured": str(len(unexpected)), "pass": not unexpected},
                       _check("time from the delete to the restored cluster", t_ready - t_event,
                              c.estate.backup.restore_rto, "s")],
            "rto_for_level": None}


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
    drill_id: str = ""
    control: str | None = None  # "async": the negative control (replication made asynchronous)
    backups: object = None  # egov.datacenters.backup.Backups when the estate declares backups


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
    tls = front_tls(c.dr.state_dir, c.estate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(health(addr, a.tls_port, a.health_path, timeout=1, tls=tls)[0] for a in c.estate.applications):
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
    if c.control == "async":
        _make_async(c, c0["primary"], old_site, new_site)
    t_fault = c.tl.step("fault", f"power cut: the whole {old_site} site", mark="fault")
    c.lab.crash(old_site)
    if c.control == "async":
        c.lab.heal(old_site, new_site)
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


def _make_async(c: Ctx, primary: str, site: str, other: str) -> None:
    """The negative control: replication made asynchronous and the standby cut off for a few seconds
    while the primary keeps acknowledging writes only it has; losing its site then loses them, and
    the checker must say so (a checker that reports 0 here is broken)."""
    with c.guard_lock:
        c.dr.remote.psql(primary, "ALTER SYSTEM SET synchronous_standby_names = ''; SELECT pg_reload_conf();")
        c.tl.step("control", f"negative control: {primary} commits asynchronously (synchronous_standby_names '')")
        c.lab.cut(site, other)
        c.tl.step("control", f"link {site} <-> {other} cut: the standby stops receiving; the primary still acks")
    _steady(c, 3, "async, standby cut off")


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
             "link_cut": scenario_link_cut, "standby_loss": scenario_standby_loss,
             "restore_test": scenario_restore_test, "data_loss": scenario_data_loss}
RUNNERS = {name: _BUILT_IN[doc["runner"]] for name, doc in scenarios().items() if doc.get("runner") in _BUILT_IN}


def _r(v):
    return None if v is None else round(v, 3)


def _check(name: str, measured: float | None, target, unit: str) -> dict:
    limit = target.total_seconds() if hasattr(target, "total_seconds") else target
    ok = measured is not None and limit is not None and measured <= limit
    return {"name": name, "target": f"<= {round(limit, 1):g} {unit}" if limit is not None else "-",
            "measured": f"{measured:.2f} {unit}" if measured is not None else "never", "pass": ok, "timed": True,
            "seconds": None if measured is None else round(measured, 3), "limit_s": limit}


def run(estate: Estate, lab: Lab | None, dr: DR, scenario: str, state_dir: Path, *, control: str | None = None,
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
    c = Ctx(estate, lab, dr, load, tl, lock, progress, drill_id, control)
    if estate.backup is not None:
        from egov.datacenters.backup import Backups

        c.backups = Backups(estate, dr.target, state_dir)
    load.start()
    guard.start()
    error = None
    result: dict = {}
    try:
        result = RUNNERS[scenario](c)
    except (EgovError, DrFailed) as e:  # BackupError is an EgovError
        error = str(e)
        tl.step("drill aborted", error)
    finally:
        load.stop()
        guard.stop_event.set()
        guard.join(timeout=5)
    tl.step("load stopped", f"{len(load.records)} writes attempted, {len(load.acked())} acknowledged")
    rpo = result.pop("rpo_override", None) or _count_after(dr, list(load.records), drill_id, error)
    checks = list(result.get("checks", []))
    checks.insert(0, {"name": "RPO: acknowledged writes lost", "target": "0",
                      "measured": str(rpo.get("lost")), "pass": rpo.get("lost") == 0})
    if rpo.get("unexpected") is not None:
        checks.insert(1, {"name": "no write found that definitely failed (unexpected)", "target": "0",
                          "measured": str(rpo["unexpected"]), "pass": rpo["unexpected"] == 0})
    if control == "async":
        # the control passes when the checker finds the losses it was built to find
        checks = [{"name": "negative control: the checker reports acknowledged writes lost", "target": "> 0",
                   "measured": str(rpo.get("lost")), "pass": bool(rpo.get("lost"))}]
    result_ok = not error and all(ch["pass"] for ch in checks)
    evidence = backup_evidence(estate, dr, state_dir)
    if control:
        result["rto_for_level"] = None  # a control measures the checker, not the estate
    if scenario == "restore-test" and result_ok:
        evidence["last_restore_test"] = {"id": drill_id, "started": "this drill", "epoch": time.time()}
    rto = result.get("rto_for_level")
    if rto is None and not error:
        rto = _last_failover_rto(state_dir)
    level = gbt20988(rto, None if error else rpo.get("lost"), evidence)
    report = {
        "id": drill_id,
        "scenario": scenario,
        "control": control,
        "description": SCENARIOS[scenario],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(tl.t0)),
        "duration_s": round(time.time() - tl.t0, 1),
        "epoch": tl.t0,
        "result": "pass" if result_ok else "fail",
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
        "gbt20988_level": level["claimed"],
        "gbt20988": level,
        "load": {
            "attempted": len(load.records),
            "acknowledged": len(load.acked()),
            "failed": sum(r.get("outcome") == "failed" for r in load.records),
            "indeterminate": sum(r.get("outcome") == "indeterminate" for r in load.records),
            "rate_per_s": load.rate,
            "series": success_series(load.records, tl.t0),
        },
        "timeline": [{k: v for k, v in s.items() if k != "t"} for s in tl.steps],
        "journal": list(Journal(state_dir).records())[journal_from:],
    }
    return report


def _last_failover_rto(state_dir: Path) -> float | None:
    """A restore drill measures no failover RTO: the latest passing site-loss drill's is used."""
    for r in reversed(past(state_dir)):
        if r["scenario"] == "site-loss" and r["result"] == "pass" and r.get("rto_for_level") is not None:
            return r["rto_for_level"]
    return None


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
                "epoch": r.get("epoch"),
                "rto_for_level": r.get("gbt20988", {}).get("rto_s"),
                "html": str(f.with_suffix(".html")),
            }
        )
    return out
