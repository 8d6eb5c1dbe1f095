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
    """The built-in drill scenarios (files under datacenters/drills/)."""
    from egov.datacenters.drill import SCENARIOS

    t = Table(title="drill scenarios", title_justify="left")
    t.add_column("scenario")
    t.add_column("what it proves")
    for k, v in SCENARIOS.items():
        t.add_row(k, v)
    out.print(t)


@drill_app.command("library")
def library_(ctx: typer.Context):
    """The probes and actions a drill file's steps may name."""
    from egov.datacenters.drill import LIBRARY

    t = Table(title="drill library", title_justify="left")
    for col in ("name", "kind", "arguments", "what it does"):
        t.add_column(col)
    for k, e in LIBRARY.items():
        args = ", ".join(f.alias or n for n, f in e.args.model_fields.items())
        t.add_row(k, e.kind + (f" ({e.unit})" if e.unit else ""), args, e.doc)
    out.print(t)


@drill_app.command("run")
def run_(
    ctx: typer.Context,
    scenario: str = typer.Argument(..., help="A built-in scenario's name (egov drill list) or a drill file's path."),
    as_json: bool = typer.Option(False, "--json", help="The report on stdout."),
    control: str = typer.Option(None, "--control", help="async: a negative control (site-loss with asynchronous "
                                "replication and a lagging standby: the checker must report lost writes)."),
    repeat: int = typer.Option(1, "--repeat", min=1, max=50, help="Run it N times, the fault at a random phase "
                               "each time (0-3 s later); report N, median, p95 and max of every figure."),
):
    """Run one scenario (a built-in one or any drill file) end to end on the lab under load; write the
    report (HTML + JSON)."""
    import random

    from egov.datacenters import drill

    c: Ctx = ctx.obj
    reports: list[dict] = []
    try:
        e = c.estate()
        sc = drill.load_scenario(scenario)
        if control is not None and control not in sc.controls:
            raise DrRefused(f"--control {control}: {sc.name} declares "
                            + (f"only: {', '.join(sc.controls)}" if sc.controls else "no control")
                            + " (the one negative control is `site-loss --control async`)")
        dr = _dr(c)
        name = f"drill run {scenario}" + (f" --control {control}" if control else "")
        for i in range(repeat):
            phase = random.uniform(0, 3) if repeat > 1 else None
            with c.change(name + (f" (run {i + 1} of {repeat})" if repeat > 1 else "")) as rec, \
                    err.status(f"drill {sc.name}" + (f" {i + 1}/{repeat}" if repeat > 1 else "")) as st:
                if i:
                    rec.changes += drill.wait_steady(dr, progress=lambda m: st.update(f"drill: {m}"))
                report = drill.run(e, dr.target.lab, dr, sc, c.state_dir, control=control, phase=phase,
                                   progress=lambda m: st.update(f"drill: {m}"))
                where = drill.save(report, c.state_dir)
                rec.changes.append(f"drill {report['id']} {sc.name}: {report['result']} (report {where}/report.html)")
                rec.details |= {"drill": report["id"], "result": report["result"],
                                "rpo_lost": report["rpo"].get("lost"),
                                "evidence_sha256": report["evidence"]["sha256"],
                                "evidence": report["evidence"]["bundle"]}
                rec.changes.append(f"evidence {report['evidence']['bundle']} sha256 {report['evidence']['sha256']}")
            reports.append(report | {"_where": where})
            stt = dr.state()
            stt["last_drill"] = {"id": report["id"], "scenario": sc.name, "result": report["result"],
                                 "rpo_lost": report["rpo"].get("lost"), "report": str(where / "report.html")}
            dr.save(stt)
    except EgovError as refused:
        # refused or failed before a drill started: still one document on stdout for machines
        if as_json:
            emit_json({"scenario": scenario, "result": "refused", "error": str(refused), "checks": [],
                       "exit_code": refused.exit_code}
                      | ({"runs": [r["id"] for r in reports]} if reports else {}))
        raise
    scenario = sc.name
    if repeat > 1:
        _repeat_summary(scenario, reports, as_json)
        return
    report = reports[0]
    where = report.pop("_where")
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
        g = report["gbt20988"]
        out.print(f"{g['standard']}: RTO/RPO imply level {g['implied_by_rto_rpo']}; claimed: "
                  + (str(g["claimed"]) if g["claimed"] else "none (" + "; ".join(g["not_claimed_because"]) + ")"),
                  highlight=False)
        out.print(f"report: {where}/report.html")
    if report["result"] != "pass":
        raise EgovError(f"drill {scenario} failed: " + (report.get("error") or
                        "; ".join(ch["name"] for ch in report["checks"] if not ch["pass"])))


def _repeat_summary(scenario: str, reports: list[dict], as_json: bool) -> None:
    from egov.datacenters import drill

    s = drill.summarize(reports)
    failed = [r["id"] for r in reports if r["result"] != "pass"]
    if as_json:
        emit_json({"scenario": scenario, "repeat": len(reports), "result": "fail" if failed else "pass",
                   "runs": [{"id": r["id"], "result": r["result"], "error": r["error"],
                             "fault_phase_s": r["measurements"].get("fault_phase_s"),
                             "report": str(r["_where"] / "report.html")} for r in reports]} | s)
    else:
        t = Table(title=f"drill {scenario} x{len(reports)}: {s['passed']} of {s['runs']} passed", title_justify="left")
        for col in ("figure", "N", "median", "p95", "max"):
            t.add_column(col)
        fmt = lambda v: "never" if v is None else f"{v:g}"
        for k, f in s["figures"].items():
            t.add_row(k, f"{f['measured']}/{f['n']}", fmt(f["median"]), fmt(f["p95"]), fmt(f["max"]))
        out.print(t)
        for r in reports:
            out.print(f"{r['id']}: {r['result']} (phase {r['measurements'].get('fault_phase_s')}s) "
                      f"{r['_where']}/report.html", highlight=False)
    if failed:
        raise EgovError(f"drill {scenario}: {len(failed)} of {len(reports)} runs failed ({', '.join(failed)})")


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


# ----------------------------------------------------------------------------- backups
backup_app = typer.Typer(no_args_is_help=True,
                         help="Backups of the base databases (pgBackRest, repository at the other site).")


def _backups(c: Ctx):
    from egov.datacenters.backup import Backups

    e = c.estate()
    return Backups(e, resolve(e, c.state_dir), c.state_dir)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


@backup_app.command("run")
def backup_run(ctx: typer.Context, kind: str = typer.Option("full", "--type", help="full, diff or incr."),
               as_json: bool = typer.Option(False, "--json")):
    """Take a backup of every database cluster now (the estate's schedule also takes them)."""
    from egov.datacenters.backup import KINDS, BackupError

    c: Ctx = ctx.obj
    if kind not in KINDS:
        raise BackupError(f"backup type {kind!r}: use one of {', '.join(KINDS)}")
    b = _backups(c)
    with c.change(f"backup run --type {kind}") as rec, err.status(f"backup: {kind} to {b.repo}"):
        made = b.run(kind)
        rec.changes += [f"{m['stanza']}: {m['type']} backup {m['label']} ({_size(m['size'])}, "
                        f"{_size(m['repo_size'])} in the repository, {m['seconds']}s)" for m in made]
        rec.details |= {"backups": [{k: m[k] for k in ("stanza", "label", "type", "stop", "size", "repo_size",
                                                       "seconds")} for m in made]}
    if as_json:
        emit_json({"ok": True, "repository_host": b.repo, "backups": made})
        return
    for line in rec.changes:
        out.print(f"backup: {line}", highlight=False)


@backup_app.command("list")
def backup_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")):
    """The backups in the repository and the WAL archive's range."""
    data = _backups(ctx.obj).list()
    if as_json:
        emit_json(data)
        return
    t = Table(title=f"backups in {data['repository_host']}:{data['repository_path']} (encrypted)",
              title_justify="left")
    for col in ("stanza", "label", "type", "started (UTC)", "ended (UTC)", "size", "in repository", "WAL"):
        t.add_column(col)
    for r in data["backups"]:
        t.add_row(r["stanza"], r["label"], r["type"], r["start"][:19], r["stop"][:19], _size(r["size"]),
                  _size(r["repo_size"]), f"{r['wal_start']}..{r['wal_stop']}")
    out.print(t)
    for s, a in data["archive"].items():
        out.print(f"{s}: WAL archive {a['min']} .. {a['max']} ({a['status']})", highlight=False)


@backup_app.command("verify")
def backup_verify(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")):
    """Check WAL reaches the repository and every backed-up file's checksum; names each bad file."""
    from egov.datacenters.backup import BackupError

    c: Ctx = ctx.obj
    b = _backups(c)
    with c.change("backup verify") as rec, err.status(f"backup: verify on {b.repo}"):
        res = b.verify()
        rec.details |= {"verify": res}
        bad = [r for r in res if r["status"] != "ok" or r["check"] != "ok"]
        if bad:
            first = bad[0]
            what = (f"{first['invalid'][0]['problem']} in {first['invalid'][0]['file']}" if first["invalid"]
                    else first["error"] or first["check"])
            more = sum(len(r["invalid"]) for r in bad) - 1
            msg = f"backup verify: stanza {first['stanza']}: {what}" + (f" (and {more} more)" if more > 0 else "")
            if as_json:
                emit_json({"ok": False, "error": msg, "exit_code": BackupError.exit_code, "verify": res})
            raise BackupError(msg)
    if as_json:
        emit_json({"ok": True, "verify": res})
        return
    t = Table(title=f"backup verify on {b.repo}", title_justify="left")
    for col in ("stanza", "check (WAL archive)", "verify (checksums)"):
        t.add_column(col)
    for r in res:
        t.add_row(r["stanza"], r["check"], r["status"])
    out.print(t)


def restore(ctx: typer.Context,
            to_time: str = typer.Option(None, "--to-time", help="Recover to this time (ISO 8601; +08:00 if no zone)."),
            to_backup: str = typer.Option(None, "--to-backup", help="Recover to the end of this backup (its label)."),
            target: str = typer.Option("scratch", "--target", help="scratch: a new cluster on the repository host."),
            cluster: str = typer.Option(None, "--cluster", help="The database cluster (needed with several)."),
            as_json: bool = typer.Option(False, "--json")):
    """Point-in-time restore of a database cluster from its backups, into a scratch cluster."""
    from egov.datacenters.backup import BackupError, parse_time

    c: Ctx = ctx.obj
    if (to_time is None) == (to_backup is None):
        raise BackupError("restore: give exactly one of --to-time T or --to-backup ID")
    if target != "scratch":
        raise BackupError(f"restore --target {target}: only scratch is supported (in-place restore is not built yet; "
                          "nothing was changed)")
    when = parse_time(to_time) if to_time else None
    b = _backups(c)
    what = f"--to-time {when.isoformat()}" if when else f"--to-backup {to_backup}"
    with c.change(f"restore {what} --target scratch") as rec, err.status(f"restore: {what} on {b.repo}"):
        res = b.restore_scratch(to_time=when, label=to_backup, cluster=cluster)
        rec.changes.append(f"{res['stanza']}: backup {res['backup']['label']} restored into a scratch cluster on "
                           f"{res['host']} ({res['scratch']['path']}), recovered {what} in {res['total_seconds']}s")
        rec.details |= {k: res[k] for k in ("stanza", "host", "to_time", "restore_seconds", "recovery_seconds",
                                            "total_seconds")} | {"backup": res["backup"]["label"]}
    if as_json:
        emit_json({"ok": True} | res)
        return
    out.print(f"restore: {rec.changes[0]}", highlight=False)
    out.print(f"  files {res['restore_seconds']}s, WAL replay {res['recovery_seconds']}s; the scratch cluster listens "
              f"on {res['scratch']['socket']} port {res['scratch']['port']} (the primary was not touched)",
              highlight=False)
