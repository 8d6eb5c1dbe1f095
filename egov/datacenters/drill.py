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
import math
import platform
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from egov import __version__
from egov.apps.deploy import front_tls, health
from egov.core import paths
from egov.core.errors import EgovError
from egov.core.journal import Journal
from egov.core.model import Estate
from egov.datacenters import scenario as scenario_file
from egov.datacenters.dr import DR, DrFailed, DrRefused, Timeline, port_open
from egov.datacenters.scenario import Entry, Scenario, ScenarioInvalid, Step
from egov.lab import Lab


def scenarios() -> dict[str, dict]:
    """The built-in drill scenarios, `datacenters/drills/*.yaml`: drill files `egov drill run` runs
    like any other (`load_scenario` validates them)."""
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


def _drill_refs(run_sql, drill_id: str) -> set[str]:
    found: set[str] = set()
    for db, table in (("app_hotline_12345", "tickets"), ("app_one_stop_approval", "applications")):
        found |= set(run_sql(f"SELECT client_ref FROM {table} WHERE client_ref LIKE '{drill_id}-%'", db).split())
    return found


# ----------------------------------------------------------------------------- the drill's context
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
    refs: dict = field(default_factory=dict)  # primary, standby, primary-site ... as at the drill's start
    marks: dict = field(default_factory=dict)  # named moments (epoch seconds): fault, declared, healthy ...
    measure: dict = field(default_factory=dict)  # the report's measurements (probes' `as:`)
    rpo: dict | None = None  # the RPO count, taken by count-writes as soon as the new primary serves

    def ref(self, name: str) -> str:
        """A host or site named in a drill file: a role of the drill's start (primary, standby,
        primary-site, standby-site, home-site, app-host) or an id of the estate."""
        return self.refs.get(name, name)

    def mark(self, name: str) -> float:
        if name not in self.marks:
            raise DrillError(f"no moment {name!r} marked yet (a step's `mark:` sets it)")
        return self.marks[name]


def _refs(estate: Estate, dr: DR) -> dict:
    cl = dr.cluster()
    primary = cl["primary"]
    standby = next(m for m in cl["members"] if m != primary)
    psite = dr.site_of[primary]
    site = next(s for s in estate.sites if s.id == psite)
    apps = [h.id for h in site.hosts if h.role.value == "app"]
    return {"primary": primary, "standby": standby, "primary-site": psite, "standby-site": dr.site_of[standby],
            "home-site": estate.primary_site.id, **({"app-host": apps[0]} if apps else {})}


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



# ----------------------------------------------------------------------------- the library
class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NoArgs(_Args):
    pass


class LoadArgs(_Args):
    seconds: float = Field(gt=0, le=600)
    label: str = "load"


class TargetArgs(_Args):
    target: str


class LinkArgs(_Args):
    between: tuple[str, str] = ("primary-site", "standby-site")


class SiteArgs(_Args):
    site: str
    timeout: float = Field(60, gt=0, le=900)


class ToArgs(_Args):
    to: str


class UnreachableArgs(_Args):
    target: str = "primary"
    port: int = Field(5432, gt=0, lt=65536)
    misses: int = Field(2, ge=1, le=20)


class SyncArgs(_Args):
    timeout: float = Field(30, gt=0, le=600)


class NoteArgs(_Args):
    step: str
    text: str = ""


class AfterArgs(_Args):
    after: str
    site: str | None = None
    before: str | None = None  # only writes started before this moment


class IntervalArgs(_Args):
    start: str = Field(alias="from")
    to: str


class GapArgs(_Args):
    start: str = Field(alias="from")
    to: str
    pad_before: float = Field(0, ge=0)
    pad_after: float = Field(0, ge=0)


class WritesArgs(_Args):
    start: str = Field(alias="from")
    to: str
    acknowledged: bool = False


class MeasurementArgs(_Args):
    measurement: str


class StatusArgs(_Args):
    field: Literal["steady", "degraded", "rpo_zero", "primaries", "primary-count", "split_brain"]


def a_load(c: Ctx, a: LoadArgs, s: Step):
    _steady(c, a.seconds, a.label)


def a_power_cut(c: Ctx, a: TargetArgs, s: Step):
    what = c.ref(a.target)
    kind = "the whole " + what + " site" if what in c.dr.site_of.values() else "host " + what
    t = c.tl.step("fault", f"power cut: {kind}", mark=s.mark)
    c.lab.crash(what)
    return t


def a_power_on(c: Ctx, a: TargetArgs, s: Step):
    what = c.ref(a.target)
    t = c.tl.step("powered on", f"{what} boots", mark=s.mark)
    c.lab.start(what)
    return t


def a_cut_link(c: Ctx, a: LinkArgs, s: Step):
    x, y = (c.ref(v) for v in a.between)
    t = c.tl.step("fault" if s.mark == "fault" else "cut", f"inter-site link cut: {x} <-> {y}", mark=s.mark)
    c.lab.cut(x, y)
    return t


def a_heal_link(c: Ctx, a: LinkArgs, s: Step):
    x, y = (c.ref(v) for v in a.between)
    t = c.tl.step("heal", f"link {x} <-> {y} restored", mark=s.mark)
    c.lab.heal(x, y)
    return t


def a_wait_unreachable(c: Ctx, a: UnreachableArgs, s: Step):
    """Detection: the target stops answering on its port (`misses` probes in a row)."""
    host = c.ref(a.target)
    addr = c.dr.addr[host]
    misses = 0
    while misses < a.misses:
        misses = misses + 1 if not port_open(addr, a.port, 0.3) else 0
        time.sleep(0.1)
    return c.tl.step("detected", f"{host} does not answer: declaring it lost", mark=s.mark)


def a_note(c: Ctx, a: NoteArgs, s: Step):
    return c.tl.step(a.step, a.text.format(**c.refs), mark=s.mark)


def a_failover(c: Ctx, a: ToArgs, s: Step):
    with c.guard_lock:
        c.dr.failover(c.ref(a.to), tl=c.tl)


def a_switchover(c: Ctx, a: ToArgs, s: Step):
    with c.guard_lock:
        c.dr.switchover(c.ref(a.to), tl=c.tl)


def a_primary_at(c: Ctx, a: SiteArgs, s: Step):
    """Setup: the primary is moved to `site` first (a planned switchover) unless it is there."""
    site = c.ref(a.site)
    if c.dr.site_of[c.dr.cluster()["primary"]] != site:
        c.tl.step("setup", f"move the primary to {site} first")
        with c.guard_lock:
            c.dr.switchover(site, tl=c.tl)
        _steady(c, 3, "setup")


def a_failback(c: Ctx, a: NoArgs, s: Step):
    with c.guard_lock:
        c.dr.failback(tl=c.tl)


def a_wait_healthy(c: Ctx, a: SiteArgs, s: Step):
    site = c.ref(a.site)
    t = _wait_all_healthy(c, site, a.timeout)
    c.tl.step("all apps healthy" if t else "not healthy",
              f"every application answers through the {site} front" if t else
              f"not every application answered through the {site} front within {a.timeout:g}s")
    return t if t else False


def a_wait_synchronous(c: Ctx, a: SyncArgs, s: Step):
    c.dr._wait("the standby to stream and be synchronous again",
               lambda: any(x["sync_state"] == "sync" for m in c.dr.status()["clusters"][0]["members"]
                           for x in m.get("standbys", [])), a.timeout, 0.5)
    return c.tl.step("synchronous again", "a standby confirms every commit: RPO = 0 again", mark=s.mark)


def a_count_writes(c: Ctx, a: NoArgs, s: Step):
    """The RPO count, taken now on the primary that serves now (the first count is the drill's RPO:
    a later step that fails cannot take it away)."""
    cnt = count_lost(c.dr, list(c.load.records), c.drill_id)
    if c.rpo is None:
        c.rpo = cnt | {"counted_at": "step " + (s.name or "count-writes") + " (before any later step)"}
    return c.tl.step("counted", f"RPO on {cnt['checked_on']}: {cnt['lost']} of {cnt['acknowledged']} acknowledged "
                     "writes lost", mark=s.mark)


def a_make_async(c: Ctx, a: NoArgs, s: Step):
    """The negative control: replication made asynchronous and the standby cut off for a few seconds
    while the primary keeps acknowledging writes only it has; losing its site then loses them, and
    the checker must say so (a checker that reports 0 here is broken)."""
    primary, site, other = c.ref("primary"), c.ref("primary-site"), c.ref("standby-site")
    with c.guard_lock:
        c.dr.remote.psql(primary, "ALTER SYSTEM SET synchronous_standby_names = ''; SELECT pg_reload_conf();")
        c.tl.step("control", f"negative control: {primary} commits asynchronously (synchronous_standby_names '')")
        c.lab.cut(site, other)
        c.tl.step("control", f"link {site} <-> {other} cut: the standby stops receiving; the primary still acks")
    _steady(c, 3, "async, standby cut off")


def a_restore_latest(c: Ctx, a: NoArgs, s: Step):
    """The latest backup restored into a scratch cluster on the repository host and every table of
    the four base databases compared with the primary (row count + md5); marks restore, restored."""
    b = c.backups
    if b is None:
        raise DrillError("restore: the estate declares no backups (databases.yaml: backup)")
    rows = [r for r in b.list()["backups"] if not r["error"]]
    if not rows:
        raise DrillError("restore: the repository holds no backup (`egov backup run` takes one)")
    last = rows[-1]
    t0 = c.marks["restore"] = c.tl.step("restore", f"latest backup {last['label']} ({last['type']}, ended "
                                        f"{last['stop']}) into a scratch cluster on {b.repo}", mark="fault")
    res = b.restore_scratch(label=last["label"])
    c.marks["restored"] = c.tl.step("restored", f"scratch cluster ready after {res['total_seconds']}s")
    try:
        primary = c.dr.cluster()["primary"]
        want = _base_checksums(lambda q, db: c.dr.remote.psql(primary, q, db, timeout=120), c.estate)
        got = _base_checksums(lambda q, db: b.scratch_sql(q, db), c.estate)
        c.tl.step("compared", f"{len(want)} tables of the base databases, primary {primary} vs scratch")
    finally:
        b.drop_scratch()
    differ = sorted(k for k in want if got.get(k) != want[k]) + sorted(k for k in got if k not in want)
    c.measure |= {"backup": {k: last[k] for k in ("stanza", "label", "type", "stop", "size", "repo_size")},
                  "backup_age_s": round(t0 - last["stop_epoch"]), "restore_s": res["total_seconds"],
                  "tables": len(want), "tables_differing": len(differ),
                  "rows": sum(v["rows"] for v in want.values()), "differ": differ,
                  "compare": {k: {"primary": want[k], "scratch": got.get(k)} for k in want}}


def a_delete_and_restore(c: Ctx, a: NoArgs, s: Step):
    """The operator error and its repair: every row of this drill's load deleted on the primary
    (committed, replicated), the WAL with the delete archived, a point-in-time restore into a scratch
    cluster to just before it, and every write accounted there (the drill's RPO); marks fault, restored."""
    from datetime import datetime, timezone

    b = c.backups
    if b is None:
        raise DrillError("data-loss: the estate declares no backups (databases.yaml: backup)")
    if not [r for r in b.list()["backups"] if not r["error"]]:
        raise DrillError("data-loss: the repository holds no backup (`egov backup run` takes one)")
    primary, standby = c.dr.cluster()["primary"], c.ref("standby")
    out = c.dr.remote.psql(primary, f"""SELECT extract(epoch FROM clock_timestamp());
        DELETE FROM tickets WHERE client_ref LIKE '{c.drill_id}-%';""", "app_hotline_12345")
    t_event = c.marks["fault"] = float(out.split()[0])
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
    t_ready = c.marks["restored"] = c.tl.step(
        "restored", f"scratch cluster on {b.repo} recovered to just before the delete ({res['total_seconds']}s)")
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
    c.rpo = {"acknowledged": len(before), "found": len(before) - len(lost), "lost": len(lost),
             "lost_refs": [r["ref"] for r in lost][:20], "resurrected": len(resurrected),
             "never_written": len(unexpected), "checked_on": f"scratch cluster on {b.repo} (point-in-time restore)"}
    c.measure |= {"event_epoch": t_event, "standby_rows_left": on_standby, "restore_s": res["total_seconds"],
                  "time_to_restore_s": _r(t_ready - t_event), "data_window_s": _r(window),
                  "backup": res["backup"]["label"], "resurrected": len(resurrected), "never_written": len(unexpected)}


def p_interval(c: Ctx, a: IntervalArgs, s: Step):
    if a.start not in c.marks or a.to not in c.marks:
        return None
    return c.marks[a.to] - c.marks[a.start]


def p_first_write(c: Ctx, a: AfterArgs, s: Step):
    """Seconds from a moment to the first acknowledged write started after it (at `site`)."""
    if a.after not in c.marks or (a.before and a.before not in c.marks):
        return None
    t = c.marks[a.after]
    recs = [r for r in c.load.records if not a.before or r["t_start"] < c.marks[a.before]]
    first = first_ok_after(recs, t + 0.01 if a.site is None else t, c.ref(a.site) if a.site else None)
    return (first - t) if first else None


def p_longest_gap(c: Ctx, a: GapArgs, s: Step):
    if a.start not in c.marks or a.to not in c.marks:
        return None
    return longest_gap(c.load.records, c.marks[a.start] - a.pad_before, c.marks[a.to] + a.pad_after)


def p_writes(c: Ctx, a: WritesArgs, s: Step):
    lo, hi = c.mark(a.start), c.mark(a.to)
    return sum(1 for r in c.load.records if lo <= r["t_start"] < hi and (r["ok"] or not a.acknowledged))


def p_measurement(c: Ctx, a: MeasurementArgs, s: Step):
    if a.measurement not in c.measure:
        raise DrillError(f"no measurement {a.measurement!r} (a method probe's `as:` records one)")
    return c.measure[a.measurement]


def p_role(c: Ctx, a: TargetArgs, s: Step):
    host = c.ref(a.target)
    role = c.dr.member(host).get("role") or "not running"
    c.tl.step("role", f"{host}: {role}")
    return role


def p_split_brain(c: Ctx, a: TargetArgs, s: Step):
    """Whether a host that must stay fenced runs as a primary."""
    host = c.ref(a.target)
    split = c.dr.member(host).get("role") == "primary"
    c.tl.step("split-brain check", f"{host}: {'RUNNING AS PRIMARY' if split else 'fenced, not running'}")
    return split


def p_status(c: Ctx, a: StatusArgs, s: Step):
    st = c.dr.status()["clusters"][0]
    primaries = [m["host"] for m in st["members"] if m["role"] == "primary"]
    v = {"primaries": primaries, "primary-count": len(primaries)}.get(a.field, st.get(a.field))
    if a.field in ("degraded", "rpo_zero", "primaries"):
        c.tl.step("status", f"primaries: {', '.join(primaries)}; degraded={st['degraded']} rpo_zero={st['rpo_zero']}")
    return v


def _e(kind: str, fn, args, unit: str | None = None) -> Entry:
    return Entry(kind, fn, args, unit, (fn.__doc__ or "").strip().split("\n")[0])


LIBRARY: dict[str, Entry] = {
    "load": _e("action", a_load, LoadArgs),
    "power-cut": _e("action", a_power_cut, TargetArgs),
    "power-on": _e("action", a_power_on, TargetArgs),
    "cut-link": _e("action", a_cut_link, LinkArgs),
    "heal-link": _e("action", a_heal_link, LinkArgs),
    "wait-unreachable": _e("action", a_wait_unreachable, UnreachableArgs),
    "note": _e("action", a_note, NoteArgs),
    "primary-at": _e("action", a_primary_at, SiteArgs),
    "failover": _e("action", a_failover, ToArgs),
    "switchover": _e("action", a_switchover, ToArgs),
    "failback": _e("action", a_failback, NoArgs),
    "wait-healthy": _e("action", a_wait_healthy, SiteArgs),
    "wait-synchronous": _e("action", a_wait_synchronous, SyncArgs),
    "count-writes": _e("action", a_count_writes, NoArgs),
    "make-async": _e("action", a_make_async, NoArgs),
    "restore-latest-backup": _e("action", a_restore_latest, NoArgs),
    "delete-and-restore": _e("action", a_delete_and_restore, NoArgs),
    "interval": _e("probe", p_interval, IntervalArgs, "s"),
    "first-write": _e("probe", p_first_write, AfterArgs, "s"),
    "longest-gap": _e("probe", p_longest_gap, GapArgs, "s"),
    "writes": _e("probe", p_writes, WritesArgs),
    "measurement": _e("probe", p_measurement, MeasurementArgs),
    "role": _e("probe", p_role, TargetArgs),
    "split-brain": _e("probe", p_split_brain, TargetArgs),
    "status": _e("probe", p_status, StatusArgs),
}


def load_scenario(name_or_file: str) -> Scenario:
    """A built-in scenario by name, or any drill file by path (validated: `file:line: what`)."""
    p = Path(name_or_file)
    builtin = paths.drill_scenarios() / f"{name_or_file}.yaml"
    if "/" not in name_or_file and not name_or_file.endswith((".yaml", ".yml")):
        if not builtin.is_file():
            raise DrRefused(f"no scenario {name_or_file!r} (have: {', '.join(SCENARIOS)}; or give a drill file)")
        p = builtin
    elif not p.is_file():
        raise ScenarioInvalid(f"{name_or_file}: no such drill file")
    return scenario_file.load(p, LIBRARY)


# ----------------------------------------------------------------------------- the runner
def _targets(c: Ctx, ref) -> float | None:
    """A tolerance's bound: a number, a target of the estate, or the time between two marks."""
    if isinstance(ref, (int, float)):
        return float(ref)
    if isinstance(ref, dict):
        return (c.marks[ref["to"]] - c.marks[ref["from"]]) if ref["from"] in c.marks and ref["to"] in c.marks else None
    tg = c.estate.primary_site.dr
    known = {"targets.first_write_rto": tg.first_write_rto, "targets.rto": tg.rto,
             "targets.switchover_interruption": tg.switchover_interruption,
             "targets.restore_rto": c.estate.backup.restore_rto if c.estate.backup else None}
    if ref not in known:
        raise DrillError(f"unknown bound {ref!r} (have: {', '.join(known)}, a number or {{from: MARK, to: MARK}})")
    v = known[ref]
    return v.total_seconds() if hasattr(v, "total_seconds") else v


def _probe(c: Ctx, s: Step):
    v = LIBRARY[s.entry].fn(c, s.args, s)
    if s.store_as:
        c.measure[s.store_as] = _r(v) if isinstance(v, float) else v
    return v


def _do(c: Ctx, s: Step) -> None:
    if s.kind == "probe":
        _probe(c, s)
        return
    t = LIBRARY[s.entry].fn(c, s.args, s)
    if s.mark and t is not False:
        c.marks[s.mark] = t if isinstance(t, float) else time.time()


def _evaluate(c: Ctx, s: Step) -> dict:
    """One check: the probe's value against its tolerance, as a line of the report."""
    try:
        v = _probe(c, s)
    except (EgovError, DrFailed) as e:
        return {"name": s.name, "target": str(s.tolerance), "measured": f"not measured: {e}", "pass": False}
    ok, shown = scenario_file.within(v, s.tolerance, lambda ref: _targets(c, ref))
    if LIBRARY[s.entry].unit == "s":
        tol = s.tolerance
        limit = (_targets(c, tol["max"]) if isinstance(tol, dict) and "max" in tol else
                 float(tol[1]) if isinstance(tol, list) else None)
        return {"name": s.name, "target": f"{shown} s", "measured": f"{v:.2f} s" if v is not None else "never",
                "pass": ok, "timed": True, "seconds": _r(v), "limit_s": limit}
    return {"name": s.name, "target": shown, "measured": str(v), "pass": ok}


def _r(v):
    return None if v is None else round(v, 3)


def run(estate: Estate, lab: Lab | None, dr: DR, scenario: str | Scenario, state_dir: Path, *,
        control: str | None = None, phase: float | None = None,
        progress: Callable[[str], None] = lambda m: None) -> dict:
    """One drill end to end. `phase`: seconds of extra load just before the step marked `fault`
    (the fault then lands at a chosen point of the load and of the WAL stream; `--repeat` draws it)."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if control is not None and control not in sc.controls:
        raise DrRefused(f"--control {control}: {sc.name} declares "
                        + (f"only: {', '.join(sc.controls)}" if sc.controls else "no control"))
    if lab is None or not lab.is_up():
        raise DrillError("drills run on the lab (they power hosts off): run `egov up` on the lab first")
    pre = dr.status()["clusters"][0]
    if not pre["steady"]:
        raise DrillError("the estate is not in its steady state, so a drill would measure the wrong thing: "
                         + "; ".join(pre["problems"]))
    drill_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:4]
    journal_from = sum(1 for _ in Journal(state_dir).records())
    tl = Timeline(on_step=progress)
    load = Load(dr, drill_id)
    lock = threading.Lock()
    c = Ctx(estate, lab, dr, load, tl, lock, progress, drill_id, control, refs=_refs(estate, dr))
    for s in sc.steady_state:  # the hypothesis must hold before anything is done
        ch = _evaluate(c, s)
        if not ch["pass"]:
            raise DrillError(f"{sc.file}:{s.line}: steady-state hypothesis not met: {ch['name'] or s.entry} "
                             f"measured {ch['measured']}, tolerance {ch['target']}")
    tl.step("drill start", f"{sc.name}: {sc.description}")
    guard = Guard(dr, lock, tl)
    if estate.backup is not None:
        from egov.datacenters.backup import Backups

        c.backups = Backups(estate, dr.target, state_dir)
    pre_fault = snapshot(estate, dr, c.backups)
    load.start()
    guard.start()
    error = None
    try:
        for s in sc.method:
            if s.control is None or s.control == control:
                if phase and s.mark == "fault" and "fault" not in c.marks:
                    c.tl.step("phase", f"the fault comes {phase:.2f}s later than the file says (random phase)")
                    _steady(c, phase, "random phase")
                    c.measure["fault_phase_s"] = round(phase, 3)
                _do(c, s)
    except (EgovError, DrFailed) as e:  # BackupError is an EgovError
        error = str(e)
        tl.step("drill aborted", error)
    finally:
        for s in sc.rollbacks:  # always, in order; one failing does not stop the next
            if s.control is not None and s.control != control:
                continue
            try:
                _do(c, s)
            except (EgovError, DrFailed) as e:
                tl.step("rollback failed", f"{s.entry}: {e}")
                error = error or f"rollback {s.entry}: {e}"
        checks = [_evaluate(c, s) for s in sc.checks]
        load.stop()
        guard.stop_event.set()
        guard.join(timeout=5)
    tl.step("load stopped", f"{len(load.records)} writes attempted, {len(load.acked())} acknowledged")
    rpo = c.rpo or _count_after(dr, list(load.records), drill_id, error)
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
    if sc.name == "restore-test" and result_ok:
        evidence["last_restore_test"] = {"id": drill_id, "started": "this drill", "epoch": time.time()}
    rto = c.measure.get(sc.rto_for_level) if sc.rto_for_level and not control else None
    if rto is None and not error and not control:
        rto = _last_failover_rto(state_dir)
    level = gbt20988(rto, None if error else rpo.get("lost"), evidence)
    if control:
        level = gbt20988(None, None, evidence) | {"not_claimed_because": ["a negative control measures the "
                                                                          "checker, not the estate"]}
    after = []
    for s in sc.steady_state:
        ch = _evaluate(c, s)
        after.append({"probe": ch["name"] or s.entry, "measured": ch["measured"], "pass": ch["pass"]})
    report = {
        "id": drill_id,
        "scenario": sc.name,
        "file": sc.file,
        "control": control,
        "description": sc.description,
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
        "measurements": dict(c.measure),
        "rpo": rpo,
        "checks": checks,
        "steady_state_after": after,
        "pre_fault": pre_fault,
        "no_sync_window": no_sync_window(tl.steps),
        "findings": findings(checks, error),
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
        "_records": list(load.records),  # into the evidence bundle by `save`, not into report.json
    }
    return report


# ----------------------------------------------------------------------------- report evidence
def snapshot(estate: Estate, dr: DR, backups) -> dict:
    """The estate as the fault found it: replication state, synchronous settings, the last backup's
    age and manifest checksum, every database host's clock offset from this controller."""
    st = dr.status()["clusters"][0]
    snap: dict = {"taken": time.time(), "primary": st["primary"], "steady": st["steady"], "rpo_zero": st["rpo_zero"],
                  "degraded": st["degraded"], "members": [
                      {"host": m["host"], "role": m["role"],
                       "standbys": [{k: s.get(k) for k in ("name", "state", "sync_state", "lag_bytes")}
                                    for s in m.get("standbys", [])]} for m in st["members"]]}
    try:
        snap["synchronous"] = dict(zip(("synchronous_standby_names", "synchronous_commit"), dr.remote.psql(
            st["primary"], "SELECT current_setting('synchronous_standby_names') || '|' || "
            "current_setting('synchronous_commit')").split("|")))
    except EgovError as e:
        snap["synchronous"] = {"error": str(e)}
    offsets = {}
    for m in st["members"]:
        t0 = time.time()
        r = dr.remote.run(m["host"], "date +%s.%N", check=False, timeout=10)
        t1 = time.time()
        try:
            offsets[m["host"]] = round(float(r.stdout.strip()) - (t0 + t1) / 2, 4)
        except ValueError:
            offsets[m["host"]] = None
    snap["clock_offsets_s"] = offsets
    snap["last_backup"] = None
    if backups is not None:
        try:
            rows = [r for r in backups.list()["backups"] if not r["error"]]
            if rows:
                b = rows[-1]
                manifest = f"{backups.conf.repository_path}/backup/{b['stanza']}/{b['label']}/backup.manifest"
                r = dr.remote.run(backups.repo, f"sha256sum {manifest}", check=False, timeout=20)
                digest = r.stdout.split()[0] if r.returncode == 0 and r.stdout.strip() else None
                snap["last_backup"] = {"label": b["label"], "type": b["type"], "stop": b["stop"],
                                       "age_s": round(time.time() - b["stop_epoch"]),
                                       "errors_found_by_pgbackrest": b["error"], "manifest_sha256": digest}
        except EgovError as e:
            snap["last_backup"] = {"error": str(e)}
    return snap


def no_sync_window(timeline: list[dict]) -> dict | None:
    """After a failover the new primary has no synchronous partner: RPO = 0 does not hold from its
    promotion until a standby confirms commits again (the old site rejoined). None: no failover."""
    decl = next((i for i, s in enumerate(timeline) if s["step"] == "failover declared"), None)
    if decl is None:
        return None
    start = next((s for s in timeline[decl:] if s["step"] == "promoted"), None)
    if start is None:
        return None
    after = timeline[timeline.index(start):]
    end = next((s for s in after if s["step"] in ("rejoined", "synchronous again")), None)
    last = timeline[-1]["offset_s"]
    return {"from_s": start["offset_s"], "until_s": end["offset_s"] if end else None,
            "seconds": round((end["offset_s"] if end else last) - start["offset_s"], 3),
            "closed": end is not None, "until": end["detail"] if end else "still open when the drill ended"}


def findings(checks: list[dict], error: str | None) -> list[dict]:
    """Every failed check (and an abort) as a finding to be owned and closed: owner and due date are
    the operator's to fill in (`egov drill report`), open until then."""
    out = [{"finding": ch["name"], "measured": ch["measured"], "target": ch["target"], "owner": None, "due": None,
            "status": "open"} for ch in checks if not ch["pass"]]
    if error:
        out.insert(0, {"finding": f"the drill stopped: {error}", "measured": "-", "target": "the drill completes",
                       "owner": None, "due": None, "status": "open"})
    return out


def wait_steady(dr: DR, timeout: float = 120, progress: Callable[[str], None] = lambda m: None) -> list[str]:
    """Between repeated drills: the guard's work (synchronous commit back once the standby streams)
    until the estate is in its steady state again, or the reason it is not. Returns what the guard
    did (for the journal)."""
    missing: dict = {}
    done: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        st = dr.status()["clusters"][0]
        if st["steady"]:
            return done
        if time.monotonic() > deadline:
            raise DrillError(f"not back in the steady state {timeout:g}s after the last run: "
                             + "; ".join(st["problems"]))
        progress("waiting for the steady state: " + "; ".join(st["problems"]))
        for action in dr.guard_once(missing, grace=2.0):
            progress(action)
            done.append(action)
        time.sleep(1)


def summarize(reports: list[dict]) -> dict:
    """N runs of one drill: for the RPO count and every timed check, N, median, p95 (nearest rank)
    and max over the runs that measured it; never-measured runs are counted, not dropped."""
    figures: dict[str, list] = {"RPO: acknowledged writes lost": [r["rpo"].get("lost") for r in reports]}
    for r in reports:
        for ch in r["checks"]:
            if ch.get("timed"):
                figures.setdefault(ch["name"] + " (s)", []).append(ch["seconds"])
    out = {}
    for name, vals in figures.items():
        got = sorted(v for v in vals if v is not None)
        n = len(got)
        out[name] = {"n": len(vals), "measured": n,
                     "median": statistics.median(got) if got else None,
                     "p95": got[max(0, math.ceil(0.95 * n) - 1)] if got else None,
                     "max": got[-1] if got else None}
    return {"runs": len(reports), "passed": sum(r["result"] == "pass" for r in reports), "figures": out}


def _last_failover_rto(state_dir: Path) -> float | None:
    """A restore drill measures no failover RTO: the latest passing site-loss drill's is used."""
    for r in reversed(past(state_dir)):
        if r["scenario"] == "site-loss" and r["result"] == "pass" and r.get("rto_for_level") is not None:
            return r["rto_for_level"]
    return None


def save(report: dict, state_dir: Path, records: list[dict] | None = None) -> Path:
    """The report (JSON + HTML) and the evidence bundle beside it: report, journal extract, session
    log (the timeline) and every write attempt, in `evidence.tar.gz`, whose SHA-256 goes into the
    report's `evidence` (and, through the CLI, into the journal)."""
    from egov.datacenters.report import html

    records = report.pop("_records", records)
    d = paths.at(state_dir).drill(report["id"])
    d.mkdir(parents=True, exist_ok=True)
    (d / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    (d / "report.html").write_text(html(report), encoding="utf-8")
    (d / "journal.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                                             for r in report["journal"]), encoding="utf-8")
    (d / "session.log").write_text("".join(f"{s['offset_s']:9.3f}  {s['step']}: {s['detail']}\n"
                                           for s in report["timeline"]), encoding="utf-8")
    (d / "writes.jsonl").write_text("".join(json.dumps(r, default=str) + "\n" for r in records or []))
    report["evidence"] = bundle(d, ["report.json", "report.html", "journal.jsonl", "session.log", "writes.jsonl"])
    return d


def bundle(d: Path, names: list[str]) -> dict:
    """`evidence.tar.gz` of `names` in `d` (fixed mtime, owner and order: the same files give the
    same bytes) and its SHA-256."""
    import gzip
    import hashlib
    import io
    import tarfile

    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for n in names:
            data = (d / n).read_bytes()
            info = tarfile.TarInfo(f"{d.name}/{n}")
            info.size, info.mtime, info.mode = len(data), 0, 0o600
            tar.addfile(info, io.BytesIO(data))
    out = d / "evidence.tar.gz"
    out.write_bytes(buf.getvalue())
    out.chmod(0o600)
    return {"bundle": str(out), "sha256": hashlib.sha256(buf.getvalue()).hexdigest(), "files": names}


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
