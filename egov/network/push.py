"""Read, plan and push across the fleet: bounded parallel sessions, waves, canaries, automatic
per-device restore.

push = plan every selected device (read its running config) -> keep those whose plan is not
empty -> waves: canary (the first `canary` changed devices of each tier, in tier order),
then core, towns, villages. Per device: connect, back up (no backup, no push), re-plan from
that backup, apply, post-check (the running config must now plan to nothing), save. Any error
or failed post-check restores that device from its backup and checks the restore.
Safe commit where the device has one: VRPv8 applies the change as `commit trial <TRIAL_SECONDS>`
and Comware 7 arms `configuration commit delay` before it; the post-check then logs in again (the
device must still be reachable) and reads the running config; only then is the change confirmed
(`commit` / `configuration commit`). A failure takes the trial back (`abort trial`) before the
restore; if egov dies in between, the device reverts by itself. VRP5 has backup and restore only. A wave
stops taking new devices once its failures exceed `max_failures`; later waves do not start.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from egov.network import drivers
from egov.network.backups import BackupError, BackupSet
from egov.network.drivers import DeviceError
from egov.network.fleet import TIER_ORDER, NetDevice
from egov.network.plan import DevicePlan, plan

Connect = Callable[..., drivers.Driver]
TRIAL_SECONDS = 300  # how long an unconfirmed change lives on a safe-commit device (Comware: 5 min)
Progress = Callable[..., None]


def _quiet(*_a, **_k) -> None:
    pass


@dataclass
class Outcome:
    device: str
    tier: str
    status: str  # unchanged | pushed | failed | restored | restore-failed | not-started | planned
    wave: str = ""
    commands: int = 0
    error: str | None = None
    error_kind: str | None = None
    restore: str | None = None
    backup: str | None = None
    seconds: float = 0.0
    steps: list[str] = field(default_factory=list)  # the safe-commit steps taken, in order

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "restored", "restore-failed")


@dataclass
class ReadResult:
    device: str
    running: str | None = None
    plan: DevicePlan | None = None
    error: DeviceError | None = None
    seconds: float = 0.0


def _session_log(run_dir: Path | None, device: str) -> Path | None:
    return run_dir / "sessions" / f"{device}.log" if run_dir else None


def _read_threads(devs: dict[str, NetDevice], *, workers: int, connect: Connect, run_dir: Path | None,
                  progress: Progress) -> dict[str, ReadResult]:
    def one(d: NetDevice) -> ReadResult:
        t0 = time.monotonic()
        res = ReadResult(d.id)
        drv = None
        try:
            drv = connect(d.conn, _session_log(run_dir, d.id))
            res.running = drv.running()
            res.plan = plan(d.id, d.platform, d.role, res.running, d.intended)
        except DeviceError as e:
            res.error = e
        finally:
            if drv is not None:
                drv.close()
            res.seconds = time.monotonic() - t0
        progress("advance", device=d.id, ok=res.error is None)
        return res

    out: dict[str, ReadResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(devs) or 1))) as pool:
        for r in pool.map(one, devs.values()):
            out[r.device] = r
    return {k: out[k] for k in devs}


_ERRORS = {"unreachable": drivers.Unreachable, "auth": drivers.AuthFailed}


def _to_wire(r: ReadResult) -> dict:
    return {"device": r.device, "running": r.running, "seconds": r.seconds,
            "plan": None if r.plan is None else r.plan.as_dict(),
            "error": None if r.error is None else [r.error.kind, r.error.reason]}


def _from_wire(m: dict) -> ReadResult:
    r = ReadResult(m["device"], m["running"], seconds=m["seconds"])
    if m["plan"] is not None:
        pd = m["plan"]
        r.plan = DevicePlan(pd["device"], pd["platform"], pd["role"], pd["commands"], pd["rollback"])
    if m["error"] is not None:
        kind, reason = m["error"]
        err = _ERRORS.get(kind, DeviceError)(m["device"], reason)
        err.kind = kind
        r.error = err
    return r


def _reader_process(chunk, workers, run_dir, q) -> None:
    try:
        res = _read_threads(chunk, workers=workers, connect=drivers.connect, run_dir=run_dir,
                            progress=lambda kind, device=None, ok=True, **_: q.put(("p", device, ok)))
        for r in res.values():
            q.put(("r", _to_wire(r)))
    finally:
        q.put(("done", None))


def read_all(devs: dict[str, NetDevice], *, workers: int, connect: Connect = drivers.connect,
             run_dir: Path | None = None, progress: Progress = _quiet,
             processes: int | None = None) -> dict[str, ReadResult]:
    """Connect to every device in parallel, read its running config and plan it against intent.

    SSH sessions cost CPU in Python (paramiko), so a big read is split across one process per
    core, each with its share of the `workers` sessions (the process must already be where the
    devices are reachable: processes are forked)."""
    procs = processes if processes is not None else min(os.cpu_count() or 1, 4)
    if procs <= 1 or len(devs) < 40 or connect is not drivers.connect:
        return _read_threads(devs, workers=workers, connect=connect, run_dir=run_dir, progress=progress)
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    items = list(devs.values())
    chunks = [dict((d.id, d) for d in items[i::procs]) for i in range(procs)]
    per = max(1, -(-workers // procs))
    children = [ctx.Process(target=_reader_process, args=(c, per, run_dir, q), daemon=True) for c in chunks if c]
    for ch in children:
        ch.start()
    out: dict[str, ReadResult] = {}
    finished = 0
    import queue as queue_mod

    while finished < len(children):
        try:
            kind, payload, *rest = q.get(timeout=1)
        except queue_mod.Empty:
            if not any(ch.is_alive() for ch in children):
                break
            continue
        if kind == "p":
            progress("advance", device=payload, ok=rest[0] if rest else True)
        elif kind == "r":
            r = _from_wire(payload)
            out[r.device] = r
        else:
            finished += 1
    for ch in children:
        ch.join(timeout=5)
    for did in devs:
        if did not in out:
            out[did] = ReadResult(did, error=DeviceError(did, "not read: its reader process died"))
    return {k: out[k] for k in devs}


def waves(changed: list[NetDevice], canary: int) -> list[tuple[str, list[NetDevice]]]:
    by_tier = {t: [d for d in changed if d.tier == t] for t in TIER_ORDER}
    out = []
    if canary > 0:
        can = [d for t in TIER_ORDER for d in by_tier[t][:canary]]
        if can:
            out.append(("canary", can))
            ids = {d.id for d in can}
            by_tier = {t: [d for d in ds if d.id not in ids] for t, ds in by_tier.items()}
    out += [(t, by_tier[t]) for t in TIER_ORDER if by_tier[t]]
    return out


@dataclass
class PushResult:
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    waves: list[dict] = field(default_factory=list)
    stopped: str | None = None
    backup: str | None = None
    plans: dict[str, DevicePlan] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.stopped is None and not any(o.failed for o in self.outcomes.values())

    def counts(self) -> dict[str, int]:
        c: dict[str, int] = {}
        for o in self.outcomes.values():
            c[o.status] = c.get(o.status, 0) + 1
        return c

    def journal_lines(self) -> list[str]:
        """One line per device the push touched: status, lines, safe-commit steps, error."""
        return [f"{o.device}: {o.status}" + (f" ({o.commands} lines)" if o.commands else "")
                + (f" [{' -> '.join(o.steps)}]" if o.steps else "") + (f": {o.error}" if o.error else "")
                for o in self.outcomes.values() if o.status != "unchanged"]

    def as_dict(self) -> dict:
        return {"ok": self.ok, "stopped": self.stopped, "backup": self.backup, "counts": self.counts(),
                "waves": self.waves, "devices": [asdict(o) for o in self.outcomes.values()]}


def _converged(drv: drivers.Driver, d: NetDevice, target: str) -> tuple[str, DevicePlan]:
    running = drv.running()
    return running, plan(d.id, d.platform, d.role, running, target)


def restore(drv_factory: Callable[[], drivers.Driver], d: NetDevice, backup_text: str,
            drv: drivers.Driver | None = None) -> tuple[drivers.Driver | None, str]:
    """Bring a device back to `backup_text`; returns (driver, "restored" | "restore-failed: why")."""
    try:
        if drv is None:
            drv = drv_factory()
        _, back = _converged(drv, d, backup_text)
        if back.changed:
            drv.apply(back.commands)
        _, left = _converged(drv, d, backup_text)
        if not left.changed and getattr(drv, "pending", ""):
            drv.confirm()  # Comware: the backup is back; stop the delay timer
        if left.changed:
            return (
                drv,
                f"restore-failed: still differs from its backup by {len(left.commands)} line(s): "
                f"{left.commands[0].strip()}",
            )
        drv.save()
        return drv, "restored"
    except DeviceError as e:
        return drv, f"restore-failed: {e.reason}"


def push_device(d: NetDevice, *, backup: BackupSet, connect: Connect, run_dir: Path | None) -> Outcome:
    t0 = time.monotonic()
    o = Outcome(d.id, d.tier, "failed")
    log = _session_log(run_dir, d.id)
    drv = None
    try:
        try:
            drv = connect(d.conn, log)
            running = drv.running()
            backup.write(d.id, d.platform, running)
            o.backup = backup.id
        except (DeviceError, BackupError, OSError) as e:
            o.error = f"not pushed: {getattr(e, 'reason', None) or e}"
            o.error_kind = getattr(e, "kind", "backup")
            return o
        try:
            todo = plan(d.id, d.platform, d.role, running, d.intended)
        except DeviceError as e:
            o.error, o.error_kind = f"not pushed: {e.reason}", e.kind
            return o
        if not todo.changed:
            o.status = "unchanged"
            return o
        o.commands = len(todo.commands)
        trial = TRIAL_SECONDS if d.conn.commit else 0
        try:
            drv.apply(todo.commands, trial=trial)
            if getattr(drv, "pending", ""):
                o.steps.append(f"commit trial {trial} s" if d.conn.commit == "trial"
                               else f"configuration commit delay {-(-trial // 60)} min")
                check = connect(d.conn, log)  # still reachable: a new login works after the change
                try:
                    _, left = _converged(check, d, d.intended)
                finally:
                    check.close()
                o.steps.append("post-check: reachable, running config as intended" if not left.changed
                               else "post-check failed")
            else:
                _, left = _converged(drv, d, d.intended)
            if left.changed:
                raise DeviceError(
                    d.id,
                    f"post-check failed: {len(left.commands)} line(s) still differ after the change, "
                    f"first `{left.commands[0].strip()}`",
                )
            if getattr(drv, "pending", ""):
                o.steps.append(drv.confirm())
            drv.save()
            o.status = "pushed"
            return o
        except DeviceError as e:
            o.error, o.error_kind = e.reason, e.kind
            if getattr(drv, "pending", "") and not isinstance(e, drivers.Unreachable):
                try:
                    step = drv.cancel()
                    if step:
                        o.steps.append(step)
                except DeviceError:
                    o.steps.append(f"trial left to revert by itself within {trial} s")
            if isinstance(e, drivers.Unreachable) or "session broke" in e.reason:
                if drv is not None:
                    drv.close()
                drv = None
            drv, result = restore(lambda: connect(d.conn, log), d, running, drv)
            o.status = "restored" if result == "restored" else "restore-failed"
            o.restore = result
            return o
    finally:
        if drv is not None:
            drv.close()
        o.seconds = round(time.monotonic() - t0, 3)


def push(devs: dict[str, NetDevice], reads: dict[str, ReadResult], *, backup: BackupSet | None, workers: int,
         max_failures: int, canary: int, dry_run: bool, connect: Connect = drivers.connect,
         run_dir: Path | None = None, progress: Progress = _quiet) -> PushResult:
    res = PushResult(backup=backup.id if backup else None)
    changed: list[NetDevice] = []
    unreadable: dict[str, list[str]] = {}
    for did, d in devs.items():
        r = reads[did]
        if r.error is not None:
            res.outcomes[did] = Outcome(did, d.tier, "failed", error=f"not pushed: {r.error.reason}",
                                        error_kind=r.error.kind)
            unreadable.setdefault(d.tier, []).append(did)
        elif r.plan is not None and r.plan.changed:
            res.plans[did] = r.plan
            changed.append(d)
        else:
            res.outcomes[did] = Outcome(did, d.tier, "unchanged")
    plan_waves = waves(changed, canary)
    # a device that could not even be read counts against the first wave of its tier
    for name, members in plan_waves:
        res.waves.append({"name": name, "devices": [d.id for d in members], "failures": 0, "state": "pending"})
    for tier, ids in unreadable.items():
        w = next((w for w in res.waves if w["name"] == tier), None) or next(
            (w for w in res.waves if any(devs[x].tier == tier for x in w["devices"])), None)
        if w is not None:
            w["failures"] += len(ids)
        elif len(ids) > max_failures:
            res.stopped = (
                res.stopped or f"{len(ids)} {tier} device(s) could not be read (--max-failures {max_failures})"
            )
    if dry_run:
        for name, members in plan_waves:
            for d in members:
                res.outcomes[d.id] = Outcome(d.id, d.tier, "planned", wave=name, commands=len(res.plans[d.id].commands))
        for w in res.waves:
            w["state"] = "dry-run"
        return res
    assert backup is not None or not plan_waves
    for (name, members), w in zip(plan_waves, res.waves):
        if not res.stopped and w["failures"] > max_failures:
            res.stopped = f"wave {name}: {w['failures']} device(s) could not be read (--max-failures {max_failures})"
        if res.stopped:
            for d in members:
                res.outcomes[d.id] = Outcome(d.id, d.tier, "not-started", wave=name)
            w["state"] = "not-started"
            continue
        progress("wave", name=name, total=len(members))
        w["state"] = "running"
        queue = list(members)
        running: dict = {}
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(members)))) as pool:
            while queue or running:
                while queue and len(running) < workers and w["failures"] <= max_failures:
                    d = queue.pop(0)
                    running[pool.submit(push_device, d, backup=backup, connect=connect, run_dir=run_dir)] = d
                if not running:
                    break
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for f in done:
                    d = running.pop(f)
                    o = f.result()  # results are gathered here, in one thread: no lock needed
                    o.wave = name
                    res.outcomes[d.id] = o
                    if o.failed:
                        w["failures"] += 1
                    progress("advance", device=d.id, status=o.status)
        for d in queue:
            res.outcomes[d.id] = Outcome(d.id, d.tier, "not-started", wave=name)
        if w["failures"] > max_failures:
            w["state"] = "stopped"
            res.stopped = f"wave {name}: {w['failures']} failure(s), more than --max-failures {max_failures}"
        else:
            w["state"] = "done"
    res.outcomes = {k: res.outcomes[k] for k in devs if k in res.outcomes}
    return res
