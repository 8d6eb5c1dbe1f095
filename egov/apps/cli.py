"""`egov apps ...`: the government-service applications, deployed, rolled back and checked.

`deploy_stage` is also the applications' stage of `egov up`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from egov.apps import deploy as appsmod
from egov.clikit import Ctx, emit_json, err, out
from egov.target import resolve

apps_app = typer.Typer(no_args_is_help=True, help="The government-service applications: deploy, roll back, status.")


def _status_line(label: str):
    return err.status(label, spinner="dots")


def deploy_stage(c: Ctx, *, apps: list[str] | None = None, version: str | None = None,
                 source: Path | None = None, drain: bool = True) -> None:
    """`egov apps deploy` (also a stage of `egov up`): ship releases to every host that runs them."""
    e = c.estate()
    target = resolve(e, c.state_dir)
    t0 = time.monotonic()
    with (
        c.change(
            "apps deploy" + (f" {' '.join(apps)}" if apps else "") + (f" --version {version}" if version else "")
            + ("" if drain else " --no-drain")
        ) as rec,
        _status_line("apps") as st,
    ):
        rec.changes += appsmod.deploy(e, target, state_dir=c.state_dir, apps=apps, version=version, source=source,
                                      drain=drain, progress=lambda m: st.update(f"apps: {m}"))
    n = len(rec.changes)
    out.print(f"apps: {'nothing to change' if not n else f'{n} change' + ('s' if n != 1 else '')} "
              f"({time.monotonic() - t0:.0f}s)")
    for ch in rec.changes[:20]:
        out.print(f"  {ch}", highlight=False)


@apps_app.command("deploy")
def deploy_cmd(
    ctx: typer.Context,
    app: Optional[str] = typer.Argument(None, help="One application id (default: all)."),
    version: Optional[str] = typer.Option(None, "--version", help="Release label (default: apps_deploy/VERSION)."),
    source: Optional[Path] = typer.Option(None, "--source", help="Build from another apps_deploy tree."),
    drain: bool = typer.Option(True, "--drain/--no-drain",
                               help="Take each host out of its site's fronts while it switches (default); "
                                    "--no-drain is faster but fails the requests in flight."),
):
    """Ship a release host by host: upload, own venv, migrate, drain from the front, atomic switch, restart,
    health check, back into the front; a failed health check rolls that host back and stops."""
    deploy_stage(ctx.obj, apps=[app] if app else None, version=version, source=source, drain=drain)


@apps_app.command("rollback")
def rollback_cmd(ctx: typer.Context, app: str):
    """Switch an application back to its previous release on every host."""

    c: Ctx = ctx.obj
    e = c.estate()
    with c.change(f"apps rollback {app}") as rec, _status_line("rollback") as st:
        rec.changes += appsmod.rollback(e, resolve(e, c.state_dir), app, progress=lambda m: st.update(m))
    for ch in rec.changes:
        out.print(ch, highlight=False)


@apps_app.command("status")
def status_cmd(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")):
    """Which release each host runs, the previous one, and whether it is healthy."""

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
