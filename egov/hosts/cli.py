"""`egov build`, `egov verify`, `egov inventory`: the estate's hosts, configured and checked.

Their commands are top-level verbs (registered on the root app by egov/cli.py); the stage
functions (`build_stage`, `verify_stage`) are also the host stages of `egov up`.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer
from rich.table import Table

from egov.clikit import Ctx, emit_json, err, out
from egov.core.errors import EgovError
from egov.target import resolve


def _status_line(label: str):
    return err.status(label, spinner="dots")


def build_stage(c: Ctx, *, limit: str | None = None):
    """`egov build` (also a stage of `egov up`): run the playbooks against every host."""
    from egov.hosts.build import configure

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
    from egov.datacenters.dr import DR

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


def verify_stage(c: Ctx, *, as_json: bool = False):
    """`egov verify` (also a stage of `egov up`): the testinfra suites on every host."""
    from egov.hosts.verify import run as run_verify

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



def build(ctx: typer.Context, limit: Optional[str] = typer.Option(None, "--limit", help="Ansible host pattern.")):
    """Configure every host with the playbooks (baseline, PostgreSQL, base databases, app hosts, fronts)."""
    build_stage(ctx.obj, limit=limit)



def inventory(ctx: typer.Context, fmt: str = typer.Option("ansible", "--format", help="ansible (YAML) or json.")):
    """Print the inventory generated from the estate (no secrets in it)."""
    import yaml

    from egov.hosts.build import make_inventory

    if fmt not in ("ansible", "json"):  # before anything is made (the inventory makes the secrets file)
        raise typer.BadParameter(f"{fmt!r}: use ansible or json", param_hint="--format")
    c: Ctx = ctx.obj
    e = c.estate()
    inv = make_inventory(e, resolve(e, c.state_dir, require_up=False), c.state_dir)
    if fmt == "json":
        emit_json(inv)
    else:
        sys.stdout.write(yaml.safe_dump(inv, allow_unicode=True, sort_keys=False))



def verify(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")):
    """Check every host with pytest-testinfra: services, replication, baseline, apps. Exit 1 on any failure."""
    verify_stage(ctx.obj, as_json=as_json)
