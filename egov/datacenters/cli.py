"""`egov dr ...` and `egov drill ...`: disaster recovery actions and drills, as the CLI shows them."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from egov.clikit import Ctx, emit_json, err, out
from egov.core.errors import EgovError
from egov.datacenters.dr import DR, FENCE, DrRefused, Timeline
from egov.target import resolve

dr_app = typer.Typer(no_args_is_help=True, help="Disaster recovery: status, switchover, failover, failback, guard.")
drill_app = typer.Typer(
    no_args_is_help=True, help="Failover drills on the lab with measured RTO/RPO and audit reports."
)


def _dr(c: Ctx) -> DR:
    e = c.estate()
    target = resolve(e, c.state_dir)
    return DR(e, target, c.state_dir, fencer=target.fencer(FENCE))


def _steps(tl: Timeline) -> None:
    for s in tl.steps:
        out.print(f"  {s['offset_s']:7.3f}s  {s['step']}: {s['detail']}", highlight=False)


def _act(c: Ctx, name: str, fn) -> Timeline:
    tl = Timeline()
    with c.change(name) as rec, err.status(name) as st:
        tl.on_step = lambda m: st.update(f"{name}: {m}")
        try:
            fn(tl)
        finally:
            rec.changes += [f"{s['offset_s']:.3f}s {s['step']}: {s['detail']}" for s in tl.steps]
    _steps(tl)
    return tl


@dr_app.command()
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")):
    """Which site is primary, replication state and lag, the endpoint, the last drill."""
    data = _dr(ctx.obj).status()
    if as_json:
        emit_json(data)
        return
    for c in data["clusters"]:
        state = (
            "[red]SPLIT BRAIN[/]"
            if c["split_brain"]
            else ("[yellow]degraded: RPO = 0 not guaranteed[/]" if c["degraded"] else "[green]synchronous: RPO = 0[/]")
        )
        t = Table(
            title=f"cluster {c['id']} — primary {c['primary']} at {c['primary_site']} — {state}", title_justify="left"
        )
        for col in ("host", "site", "role", "lsn", "replication", "fenced"):
            t.add_column(col)
        for m in c["members"]:
            rep = "; ".join(
                f"{s['name']} {s['state']}/{s['sync_state']} lag {s['lag_bytes']}B" for s in m.get("standbys", [])
            ) or (m.get("receiver") or "-")
            role = m["role"] or ("unreachable" if not m["reachable"] else "stopped")
            t.add_row(m["host"], m["site"], role, m.get("lsn") or "-", rep, "yes" if m.get("fenced") else "")
        out.print(t)
        for problem in c["problems"]:
            out.print(f"[yellow]![/] {problem}", highlight=False)
    out.print(f"service endpoint: {data['endpoint']} ({data['endpoint_address']})")
    if data.get("last_drill"):
        d = data["last_drill"]
        out.print(f"last drill: {d['id']} {d['scenario']} {d['result']} (RPO lost {d.get('rpo_lost')})")


@dr_app.command()
def switchover(ctx: typer.Context, to: str = typer.Option(..., "--to", help="Site to move the primary to.")):
    """Planned: stop writes, let the standby catch up, promote it, reverse replication, move the endpoint."""
    dr = _dr(ctx.obj)
    _act(ctx.obj, f"dr switchover --to {to}", lambda tl: dr.switchover(to, tl=tl))


@dr_app.command()
def failover(ctx: typer.Context, to: str = typer.Option(..., "--to", help="Site whose standby takes over."),
             fenced_manually: bool = typer.Option(False, "--fenced-manually",
                                                  help="Real estates: you powered the old primary off yourself.")):
    """Unplanned: fence the lost primary, promote the standby, move the endpoint. RPO = 0 stops holding."""
    dr = _dr(ctx.obj)
    _act(ctx.obj, f"dr failover --to {to}", lambda tl: dr.failover(to, tl=tl, fenced_manually=fenced_manually))
    err.print("egov: warning: RPO = 0 no longer holds until a standby rejoins (egov dr failback)")


@dr_app.command()
def failback(
    ctx: typer.Context,
    stay: bool = typer.Option(False, "--stay", help="Rejoin as standby but do not switch back."),
    reseed: bool = typer.Option(
        False,
        "--reseed",
        help="Copy the node afresh from the primary (pg_basebackup) "
        "instead of rewinding it; its old data directory is kept beside.",
    ),
):
    """Rejoin the old primary as a standby (pg_rewind), then switch back to it (planned). Run it again to
    finish a failback that stopped halfway."""
    dr = _dr(ctx.obj)
    name = "dr failback" + (" --stay" if stay else "") + (" --reseed" if reseed else "")
    _act(ctx.obj, name, lambda tl: dr.failback(tl=tl, switch_back=not stay, reseed=reseed))


@dr_app.command()
def guard(
    ctx: typer.Context,
    seconds: float = typer.Option(0, "--seconds", min=0, help="Run this long (0: until interrupted)."),
    grace: float = typer.Option(2.0, "--grace", min=0),
):
    """Keep the primary serving when its standby is lost (relax, then restore synchronous commit)."""
    c: Ctx = ctx.obj
    dr = _dr(c)
    missing: dict = {}
    end = time.monotonic() + seconds if seconds else None
    while end is None or time.monotonic() < end:
        for action in dr.guard_once(missing, grace):
            with c.change("dr guard") as rec:
                rec.changes.append(action)
            out.print(action, highlight=False)
        time.sleep(0.5)


@drill_app.command("list")
def list_(ctx: typer.Context):
    """The drill scenarios."""
    from egov.datacenters.drill import SCENARIOS

    t = Table(title="drill scenarios", title_justify="left")
    t.add_column("scenario")
    t.add_column("what it proves")
    for k, v in SCENARIOS.items():
        t.add_row(k, v)
    out.print(t)


@drill_app.command("run")
def run_(
    ctx: typer.Context, scenario: str, as_json: bool = typer.Option(False, "--json", help="The report on stdout.")
):
    """Run one scenario end to end on the lab under load; write the report (HTML + JSON)."""
    from egov.datacenters import drill

    c: Ctx = ctx.obj
    try:
        e = c.estate()
        if scenario not in drill.SCENARIOS:
            raise DrRefused(f"no scenario {scenario!r} (have: {', '.join(drill.SCENARIOS)})")
        dr = _dr(c)
        with c.change(f"drill run {scenario}") as rec, err.status(f"drill {scenario}") as st:
            report = drill.run(e, dr.target.lab, dr, scenario, c.state_dir,
                               progress=lambda m: st.update(f"drill: {m}"))
            where = drill.save(report, c.state_dir)
            rec.changes.append(f"drill {report['id']} {scenario}: {report['result']} (report {where}/report.html)")
            rec.details |= {"drill": report["id"], "result": report["result"], "rpo_lost": report["rpo"].get("lost")}
    except EgovError as refused:
        # refused or failed before the drill started: still one document on stdout for machines
        if as_json:
            emit_json({"scenario": scenario, "result": "refused", "error": str(refused), "checks": [],
                       "exit_code": refused.exit_code})
        raise
    stt = dr.state()
    stt["last_drill"] = {"id": report["id"], "scenario": scenario, "result": report["result"],
                         "rpo_lost": report["rpo"].get("lost"), "report": str(where / "report.html")}
    dr.save(stt)
    if as_json:
        emit_json(report)
    else:
        t = Table(title=f"drill {report['id']} {scenario}: {report['result'].upper()}", title_justify="left")
        for col in ("check", "target", "measured", "result"):
            t.add_column(col)
        for ch in report["checks"]:
            t.add_row(
                ch["name"], str(ch["target"]), str(ch["measured"]), "[green]pass[/]" if ch["pass"] else "[red]FAIL[/]"
            )
        out.print(t)
        out.print(f"GB/T 20988 level implied by the measured figures: {report['gbt20988_level']}")
        out.print(f"report: {where}/report.html")
    if report["result"] != "pass":
        raise EgovError(f"drill {scenario} failed: " + (report.get("error") or
                        "; ".join(ch["name"] for ch in report["checks"] if not ch["pass"])))


@drill_app.command("report")
def report_(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")):
    """Past drills and their reports."""
    from egov.datacenters.drill import past

    rows = past(ctx.obj.state_dir)
    if as_json:
        emit_json(rows)
        return
    t = Table(title="drills", title_justify="left")
    for col in ("id", "scenario", "started", "result", "RPO lost", "GB/T 20988", "report"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(
            r["id"], r["scenario"], r["started"], r["result"], str(r["rpo_lost"]), str(r["gbt20988_level"]), r["html"]
        )
    out.print(t)
