"""`egov net ...`: the network engineers' verbs (render, backup, plan, diff, push, rollback, verify)."""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import SimpleNamespace
from typing import List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from egov.clikit import Ctx, emit_json, err, out
from egov.core import paths
from egov.core.errors import EgovError
from egov.target import kind as target_kind
from egov.target import resolve

net_app = typer.Typer(no_args_is_help=True,
                      help="The four-level network: render, plan, push in waves, back up, roll back, verify.")

LIMIT = typer.Option(None, "--limit", "-l", help="Device id, town id, role or tier (core/towns/villages); repeatable.")
WORKERS = typer.Option(20, "--workers", "-w", min=1, max=200, help="Parallel device sessions.")
JSON = typer.Option(False, "--json", help="Machine-readable output.")


class NetFailed(EgovError):
    exit_code = 1


def _bar():
    return Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[last]}"), console=err, transient=True, disable=not err.is_terminal)


@contextmanager
def _progress(label: str, total: int):
    with _bar() as bar:
        task = bar.add_task(label, total=total, last="")
        state = {"task": task}

        def cb(kind, name=None, total=None, device=None, **kw):
            if kind == "wave":
                state["task"] = bar.add_task(f"wave {name}", total=total, last="")
            elif kind == "advance":
                bar.update(state["task"], advance=1, last=f"{device} {kw.get('status', '')}".strip())

        yield cb


def _fleet(c: Ctx, limits):
    from egov.network import fleet

    e = c.estate()
    target = resolve(e, c.state_dir)
    devs = fleet.devices(e, c.state_dir, target)
    sel = fleet.select(devs, limits)
    target.enter()  # before any thread starts: the sessions run from the lab's controller
    return e, target, devs, sel


def _run_dir(c: Ctx, kind: str) -> tuple[str, Path]:
    rid = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{kind}-{os.getpid()}"
    d = paths.at(c.state_dir).net_runs / rid
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d.parent, 0o700)
    return rid, d


def _read(sel, workers, run_dir, label="reading"):
    from egov.network.push import read_all

    with _progress(label, len(sel)) as cb:
        return read_all(sel, workers=workers, run_dir=run_dir, progress=cb)


@net_app.command()
def render(
    ctx: typer.Context,
    devices: Optional[List[str]] = typer.Argument(None, help="Device ids (default: all)."),
    production: bool = typer.Option(False, "--production", help="Render the estate's own platforms even on the lab."),
    platform: Optional[str] = typer.Option(
        None, "--platform", help="Render for this platform (huawei_vrp, hp_comware, cisco_ios, frr)."
    ),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Write one <device>.cfg per device here."),
    as_json: bool = JSON,
):
    """Print (or write) each device's intended configuration."""
    from egov.network import render as rmod
    from egov.network.platforms import PLATFORMS

    if platform is not None and platform not in PLATFORMS:
        raise typer.BadParameter(f"unknown platform {platform!r} (known: {', '.join(PLATFORMS)})",
                                 param_hint="--platform")
    if out_dir is not None:
        for q in (out_dir, *out_dir.parents):
            if q.exists():
                if not q.is_dir():
                    raise typer.BadParameter(f"{q} is a file, not a directory", param_hint="--out")
                break
    c: Ctx = ctx.obj
    lab = not production and target_kind() == "lab"
    res = rmod.render_all(c.estate(), lab=lab, devices=devices, platform=platform)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        for d, r in res.items():
            (out_dir / f"{d}.cfg").write_text(r.text)
    if as_json:
        emit_json(
            [{"device": r.device, "platform": r.platform, "role": r.role, "config": r.text} for r in res.values()]
        )
    elif out_dir:
        out.print(f"rendered {len(res)} device configs into {out_dir}")
    else:
        for r in res.values():
            out.print(f"[bold]# {r.device} ({r.platform}, {r.role})[/]")
            out.print(r.text, markup=False, highlight=False, end="")


@net_app.command()
def backup(ctx: typer.Context, limit: Optional[List[str]] = LIMIT, workers: int = WORKERS, as_json: bool = JSON):
    """Save the running config of every (selected) device, in parallel, as one timestamped set."""
    from egov.network.backups import BackupStore

    c: Ctx = ctx.obj
    e, target, devs, sel = _fleet(c, limit)
    with c.change("net backup") as rec:
        _, run_dir = _run_dir(c, "backup")
        reads = _read(sel, workers, run_dir)
        bs = BackupStore(c.state_dir, e.meta.name).new("manual backup")
        rows, failed = [], []
        for did, r in reads.items():
            if r.error is not None:
                failed.append(r.error)
                rows.append({"device": did, "ok": False, "error": r.error.reason})
                continue
            bs.write(did, sel[did].platform, r.running)
            rows.append({"device": did, "ok": True, "lines": len(r.running.splitlines())})
        rec.changes.append(f"backup {bs.id}: {len(sel) - len(failed)}/{len(sel)} devices")
        rec.details = {"backup": bs.id, "failed": [f.device for f in failed]}
        if as_json:
            emit_json({"backup": bs.id, "dir": str(bs.dir), "devices": rows})
        else:
            out.print(f"backup [bold]{bs.id}[/]: {len(sel) - len(failed)}/{len(sel)} devices saved in {bs.dir}")
        if failed:
            raise NetFailed(f"{len(failed)} device(s) not backed up; first: {failed[0]}")


def _plan_table(plans, reads, title) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("device", "tier", "platform", "change", "first command"):
        t.add_column(col)
    for did, r in reads.items():
        if r.error is not None:
            t.add_row(did, "", "", f"[red]{r.error.kind}[/]", r.error.reason)
        elif r.plan.changed:
            first = next((x.strip() for x in r.plan.commands if x.strip()), "")
            t.add_row(did, plans[did].tier, r.plan.platform, f"{len(r.plan.commands)} lines", first)
    return t


@net_app.command()
def plan(ctx: typer.Context, limit: Optional[List[str]] = LIMIT, workers: int = WORKERS,
         show: bool = typer.Option(False, "--show", help="Print every device's commands and rollback."),
         as_json: bool = JSON):
    """Per device, the exact commands a push would send and their rollback (hier_config)."""
    c: Ctx = ctx.obj
    e, target, devs, sel = _fleet(c, limit)
    reads = _read(sel, workers, None)
    changed = [r for r in reads.values() if r.plan is not None and r.plan.changed]
    bad = [r for r in reads.values() if r.error is not None]
    if as_json:
        emit_json({"target": target.name, "devices": len(sel), "changed": len(changed), "unreachable": len(bad),
                   "plans": [r.plan.as_dict() for r in reads.values() if r.plan is not None],
                   "errors": [{"device": r.device, "kind": r.error.kind, "error": r.error.reason} for r in bad]})
    else:
        if show:
            for r in changed:
                out.print(f"[bold]# {r.device}[/] ({r.plan.platform}): {len(r.plan.commands)} lines")
                out.print("\n".join(r.plan.commands), markup=False, highlight=False)
                out.print("[dim]# rollback[/]")
                out.print("\n".join(r.plan.rollback), markup=False, highlight=False)
        if changed or bad:
            out.print(_plan_table(sel, reads, f"plan on {target.name}: {len(changed)} of {len(sel)} devices change"))
        out.print(f"{len(changed)} to change, {len(sel) - len(changed) - len(bad)} in sync, {len(bad)} unreadable "
                  f"({len(sel)} devices on {target.name})")
    if bad:
        raise NetFailed(f"{len(bad)} device(s) could not be read; first: {bad[0].error}")


@net_app.command()
def diff(ctx: typer.Context, devices: Optional[List[str]] = typer.Argument(None, help="Device ids (default: all)."),
         limit: Optional[List[str]] = LIMIT, workers: int = WORKERS, as_json: bool = JSON):
    """Intended vs running, as a unified diff per device that differs."""
    from egov.network.plan import unified

    c: Ctx = ctx.obj
    e, target, devs, sel = _fleet(c, (limit or []) + (devices or []))
    reads = _read(sel, workers, None)
    diffs = {}
    for did, r in reads.items():
        if r.error is None:
            text = unified(did, sel[did].platform, r.running, sel[did].intended)
            if text:
                diffs[did] = text
    bad = [r for r in reads.values() if r.error is not None]
    if as_json:
        emit_json({"differs": diffs, "errors": {r.device: r.error.reason for r in bad}})
    else:
        for text in diffs.values():
            out.print(text, markup=False, highlight=False)
        out.print(f"{len(diffs)} of {len(sel)} devices differ from the estate")
    if bad:
        raise NetFailed(f"{len(bad)} device(s) could not be read; first: {bad[0].error}")


def _outcome_table(res, title) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("device", "wave", "status", "lines", "seconds", "detail"):
        t.add_column(col)
    for o in res.outcomes.values():
        if o.status == "unchanged":
            continue
        style = {"pushed": "green", "planned": "cyan", "restored": "yellow"}.get(o.status, "red")
        detail = o.error or ""
        if o.restore:
            detail += f" -> {o.restore}"
        t.add_row(
            o.device,
            o.wave,
            f"[{style}]{o.status}[/]",
            str(o.commands or ""),
            f"{o.seconds:.2f}" if o.seconds else "",
            detail,
        )
    return t


@net_app.command()
def push(
    ctx: typer.Context,
    limit: Optional[List[str]] = LIMIT,
    workers: int = WORKERS,
    max_failures: int = typer.Option(0, "--max-failures", min=0, help="Failures a wave tolerates before it stops."),
    canary: int = typer.Option(
        1, "--canary", min=0, help="Devices per tier pushed first as the canary wave (0: none)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan and show the waves; change nothing."),
    as_json: bool = JSON,
):
    """Push the estate's intent: only devices whose plan is not empty, canary then core -> towns -> villages."""
    push_stage(ctx.obj, limit=limit, workers=workers, max_failures=max_failures, canary=canary, dry_run=dry_run,
               as_json=as_json)


def push_stage(c: Ctx, *, limit=None, workers: int = 20, max_failures: int = 0, canary: int = 1,
               dry_run: bool = False, as_json: bool = False, quiet: bool = False):
    """`egov net push` (also the network stage of `egov up`, with `quiet` for a one-line summary)."""
    from egov.network.backups import BackupStore
    from egov.network.push import push as do_push

    e, target, devs, sel = _fleet(c, limit)
    rid, run_dir = _run_dir(c, "push")

    def run():
        reads = _read(sel, workers, run_dir, "planning")
        changes = any(r.plan is not None and r.plan.changed for r in reads.values())
        bs = BackupStore(c.state_dir, e.meta.name).new(f"before push {rid}") if changes and not dry_run else None
        with _progress("push", 0) as cb:
            return do_push(sel, reads, backup=bs, workers=workers, max_failures=max_failures, canary=canary,
                           dry_run=dry_run, run_dir=run_dir, progress=cb)

    t0 = time.monotonic()
    journal = nullcontext(SimpleNamespace(changes=[], details={})) if dry_run else c.change("net push")
    with journal as rec:
        res = run()
        secs = time.monotonic() - t0
        cnt = res.counts()
        rec.changes += res.journal_lines()
        rec.details = {"run": rid, "backup": res.backup, "counts": cnt, "stopped": res.stopped,
                       "sessions": str(run_dir / "sessions")}
        report = res.as_dict() | {"run": rid, "target": target.name, "seconds": round(secs, 2),
                                  "sessions": str(run_dir / "sessions")}
        (run_dir / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
        if as_json:
            emit_json(report)
        else:
            if any(o.status != "unchanged" for o in res.outcomes.values()) and not (quiet and res.ok):
                out.print(_outcome_table(res, f"push {rid} on {target.name}" + (" (dry run)" if dry_run else "")))
            for w in ([] if quiet and res.ok else res.waves):
                out.print(f"wave {w['name']}: {len(w['devices'])} device(s), {w['failures']} failure(s), {w['state']}")
            summary = ", ".join(f"{v} {k}" for k, v in sorted(cnt.items()))
            out.print(f"{'network: ' if quiet else ''}{summary} ({len(sel)} devices, {secs:.1f}s); "
                      f"backup {res.backup or '-'}; sessions in {run_dir / 'sessions'}")
        failed = [o for o in res.outcomes.values() if o.failed]
        if failed or res.stopped:
            parts = [f"push stopped: {res.stopped}"] if res.stopped else []
            if failed:
                f = failed[0]
                parts.append(f"{len(failed)} device(s) failed; first: {f.device}: {f.error}"
                             + (f" ({f.restore})" if f.restore else ""))
            raise NetFailed("; ".join(parts))
    return res


@net_app.command()
def rollback(ctx: typer.Context, devices: Optional[List[str]] = typer.Argument(None, help="Device ids."),
             all_: bool = typer.Option(False, "--all", help="Every device in the backup set."),
             to: str = typer.Option(..., "--to", help="Backup set id (see `egov net backups`), or `latest`."),
             workers: int = WORKERS, as_json: bool = JSON):
    """Put devices back to the config saved in a backup set (computed like a push, then checked)."""
    from concurrent.futures import ThreadPoolExecutor

    from egov.network import drivers
    from egov.network.backups import BackupStore
    from egov.network.push import restore

    c: Ctx = ctx.obj
    if not devices and not all_:
        raise NetFailed("name the devices to roll back, or --all")
    e, target, devs, _ = _fleet(c, None)
    bs = BackupStore(c.state_dir, e.meta.name).get(to)
    names = bs.devices() if all_ else list(devices)
    for d in names:
        if d not in devs:
            raise NetFailed(f"no device {d!r} in the estate's network")
    texts = {d: bs.read(d) for d in names}  # every backup readable and intact before touching anything
    for d, (plat, _) in texts.items():
        if plat != devs[d].platform:
            raise NetFailed(f"backup {bs.id}/{d} is a {plat} config; the device is {devs[d].platform} on this target")
    rid, run_dir = _run_dir(c, "rollback")

    def one(d):
        nd = devs[d]
        log = run_dir / "sessions" / f"{d}.log"
        drv, result = restore(lambda: drivers.connect(nd.conn, log), nd, texts[d][1])
        if drv is not None:
            drv.close()
        return d, result

    with c.change(f"net rollback --to {bs.id}") as rec, _progress("rollback", len(names)) as cb:
        results = {}
        with ThreadPoolExecutor(max_workers=min(workers, len(names) or 1)) as pool:
            for d, result in pool.map(one, names):
                results[d] = result
                cb("advance", device=d, status=result.split(":")[0])
        rec.changes += [f"{d}: {r}" for d, r in results.items()]
        bad = {d: r for d, r in results.items() if r != "restored"}
        if as_json:
            emit_json({"backup": bs.id, "results": results})
        else:
            out.print(f"rolled back {len(results) - len(bad)}/{len(results)} device(s) to backup {bs.id}")
            for d, r in bad.items():
                out.print(f"[red]{d}[/]: {r}")
        if bad:
            d, r = next(iter(bad.items()))
            raise NetFailed(f"{len(bad)} device(s) not rolled back; first: {d}: {r}")


@net_app.command()
def backups(ctx: typer.Context, as_json: bool = JSON):
    """List the kept backup sets."""
    from egov.network.backups import BackupStore

    c: Ctx = ctx.obj
    sets = BackupStore(c.state_dir, c.estate().meta.name).list()
    rows = [{"id": s.id, "reason": s.meta().get("reason"), "devices": len(s.devices())} for s in sets]
    if as_json:
        emit_json(rows)
        return
    t = Table(title="network backups", title_justify="left")
    for col in ("id", "devices", "reason"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["id"], str(r["devices"]), r["reason"] or "")
    out.print(t)


@net_app.command()
def verify(ctx: typer.Context, workers: int = WORKERS,
           wait: float = typer.Option(0, "--wait", min=0, help="Seconds to keep re-checking while routing converges."),
           as_json: bool = JSON):
    """OSPF adjacencies up on every router; every town's client reaches the serving site's apps."""
    verify_stage(ctx.obj, workers=workers, wait=wait, as_json=as_json)


def verify_stage(c: Ctx, *, workers: int = 20, wait: float = 0, as_json: bool = False, quiet: bool = False):
    from egov.network import verify as vmod

    e, target, devs, _ = _fleet(c, None)
    t0 = time.monotonic()
    with _progress("verify", 0):
        while True:
            checks = vmod.run(e, c.state_dir, target, devs, workers=workers)
            failed = [x for x in checks if not x["ok"]]
            if not failed or time.monotonic() - t0 >= wait:
                break
            time.sleep(1)
    if quiet and not failed and not as_json:
        out.print(f"network verify: {len(checks)} checks passed ({time.monotonic() - t0:.0f}s)")
        return checks
    if as_json:
        emit_json({"ok": not failed, "checks": checks})
    else:
        t = Table(title=f"network verify on {target.name}", title_justify="left")
        for col in ("check", "where", "result", "detail"):
            t.add_column(col)
        for x in checks:
            if not x["ok"] or len(checks) <= 60:
                t.add_row(x["check"], x["where"], "[green]ok[/]" if x["ok"] else "[red]FAILED[/]", x["detail"])
        out.print(t)
        out.print(f"{len(checks) - len(failed)}/{len(checks)} checks passed")
    if failed:
        raise NetFailed(f"{len(failed)} network check(s) failed; first: {failed[0]['where']}: {failed[0]['check']}: "
                        f"{failed[0]['detail']}")
    return checks
