"""The stages of `egov up` and the `egov apps` verbs, as the CLI shows them (progress, tables, journal)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .clikit import Ctx, emit_json, err, out
from .errors import EgovError
from .target import resolve

apps_app = typer.Typer(no_args_is_help=True, help="The government-service applications: deploy, roll back, status.")


def _status_line(label: str):
    return err.status(label, spinner="dots")


def configure_stage(c: Ctx, *, limit: str | None = None):
    from .build import configure

    e = c.estate()
    target = resolve(e, c.state_dir)
    _finish_dr(c, target)
    with c.change("build" + (f" --limit {limit}" if limit else "")) as rec, _status_line("playbooks") as st:
        res = configure(e, target, c.state_dir, limit=limit, progress=lambda task: st.update(f"playbooks: {task}"))
        rec.changes += res.changed_tasks
        rec.details |= {"seconds": round(res.seconds, 1), "changed": res.total_changed, "hosts": len(res.ok)}
    out.print(f"playbooks: {len(res.ok)} hosts, {sum(res.ok.values())} tasks ok, {res.total_changed} changed "
              f"({res.seconds:.0f}s)")
    return res


def _finish_dr(c: Ctx, target) -> None:
    """A DR action left halfway (a failback that failed) is finished before the playbooks run, or
    the build stops naming the command that repairs it; the playbooks never see a stranded cluster."""
    from .dr import DR

    dr = DR(c.estate(), target, c.state_dir)
    pending = dr.pending()
    if not pending:
        return
    dr.refuse_stranded(pending)
    with c.change("dr failback --stay (finishing an interrupted failback before the build)") as rec, \
            _status_line("dr") as st:
        for tl in dr.finish_failbacks(pending, progress=lambda m: st.update(f"dr: {m}")):
            rec.changes += [f"{s['offset_s']:.3f}s {s['step']}: {s['detail']}" for s in tl.steps]
    for ch in rec.changes:
        out.print(f"  {ch}", highlight=False)
    for p in pending:
        if p["host"] == p["cluster"]:
            out.print(f"dr: {p['host']} is a synchronous standby again; the primary stays where it is "
                      f"(`egov dr switchover --to {dr.site_of[p['host']]}` moves it back)", highlight=False)


def apps_deploy_stage(c: Ctx, apps: list[str] | None = None, version: str | None = None, source: Path | None = None):
    from . import apps as appsmod

    e = c.estate()
    target = resolve(e, c.state_dir)
    t0 = time.monotonic()
    with c.change("apps deploy" + (f" {' '.join(apps)}" if apps else "") + (f" --version {version}" if version else "")) as rec, \
            _status_line("apps") as st:
        rec.changes += appsmod.deploy(e, target, state_dir=c.state_dir, apps=apps, version=version, source=source,
                                      progress=lambda m: st.update(f"apps: {m}"))
    n = len(rec.changes)
    out.print(f"apps: {'nothing to change' if not n else f'{n} change' + ('s' if n != 1 else '')} "
              f"({time.monotonic() - t0:.0f}s)")
    for ch in rec.changes[:20]:
        out.print(f"  {ch}", highlight=False)


def verify_stage(c: Ctx, *, as_json: bool = False):
    from .verify import run as run_verify

    e = c.estate()
    target = resolve(e, c.state_dir)
    with _status_line("verify") as st:
        report = run_verify(e, target, c.state_dir, progress=lambda m: st.update(f"verify: {m}"))
    if as_json:
        emit_json(report)
    elif report["failed"]:
        t = Table(title=f"verify: {report['passed']} passed, {report['failed']} failed ({report['seconds']:.0f}s)",
                  title_justify="left")
        for col in ("host", "check", "result", "detail"):
            t.add_column(col, overflow="fold")
        for r in report["results"]:
            if r["outcome"] != "passed":  # on failure, show the failures
                t.add_row(r["host"], r["check"], f"[red]{r['outcome']}[/]", r["detail"])
        out.print(t)
    else:
        out.print(_verify_summary(report))
    if report["failed"]:
        raise EgovError(f"verify: {report['failed']} check(s) failed on "
                        f"{', '.join(sorted({r['host'] for r in report['results'] if r['outcome'] != 'passed'}))}")
    return report


def _verify_summary(report: dict) -> Table:
    per_host: dict[str, list[int]] = {}
    for r in report["results"]:
        per_host.setdefault(r["host"], [0, 0])[0 if r["outcome"] == "passed" else 1] += 1
    t = Table(title=f"verify: {report['passed']} passed, {report['failed']} failed ({report['seconds']:.0f}s)",
              title_justify="left")
    for col in ("host", "checks passed", "failed"):
        t.add_column(col)
    for h, (p, f) in sorted(per_host.items()):
        t.add_row(h, str(p), str(f))
    return t


def endpoints(c: Ctx) -> Table:
    e = c.estate()
    t = Table(title="endpoints", title_justify="left")
    for col in ("application", "name", "site", "front"):
        t.add_column(col)
    for a in e.applications:
        for s in e.sites:
            if s.service_address and a.runs_on.get(s.id):
                t.add_row(a.id, a.name, s.id + (" (primary)" if s.role.value == "primary" else ""),
                          f"http://{s.service_address}:{a.port}/")
    return t


@apps_app.command("deploy")
def deploy_cmd(ctx: typer.Context, app: Optional[str] = typer.Argument(None, help="One application id (default: all)."),
               version: Optional[str] = typer.Option(None, "--version", help="Release label (default: apps_deploy/VERSION)."),
               source: Optional[Path] = typer.Option(None, "--source", help="Build from another apps_deploy tree.")):
    """Ship a release: upload, own venv, migrate, atomic switch, restart, health check, auto-rollback."""
    apps_deploy_stage(ctx.obj, [app] if app else None, version, source)


@apps_app.command("rollback")
def rollback_cmd(ctx: typer.Context, app: str):
    """Switch an application back to its previous release on every host."""
    from . import apps as appsmod

    c: Ctx = ctx.obj
    e = c.estate()
    with c.change(f"apps rollback {app}") as rec, _status_line("rollback") as st:
        rec.changes += appsmod.rollback(e, resolve(e, c.state_dir), app, progress=lambda m: st.update(m))
    for ch in rec.changes:
        out.print(ch, highlight=False)


@apps_app.command("status")
def status_cmd(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")):
    """Which release each host runs, the previous one, and whether it is healthy."""
    from . import apps as appsmod

    c: Ctx = ctx.obj
    e = c.estate()
    rows = appsmod.status(e, resolve(e, c.state_dir))
    if as_json:
        emit_json(rows)
        return
    t = Table(title="applications", title_justify="left")
    for col in ("app", "host", "current", "previous", "health"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(r["app"], r["host"], r.get("current") or "-", r.get("previous") or "-",
                  "[green]healthy[/]" if r["healthy"] else f"[red]unhealthy[/] {r['detail']}")
    out.print(t)
    if not all(r["healthy"] for r in rows):
        raise typer.Exit(1)
