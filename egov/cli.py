"""The `egov` command line: verbs named after what the operator wants done.

Every command that acts on the estate loads it through `load_estate`, so a
broken estate stops here with every problem listed (exit 2). Operational
errors print one line and exit non-zero; `--json` prints machine output.

This module is the root: `validate`, `show`, `journal`, and the registration of
every sub-package's own `cli.py` (lab, network as `net`, hosts' `build`/`verify`/
`inventory`, apps, datacenters' `dr`/`drill`, cloud) and of `up` (egov/up.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from typer._click import exceptions as click  # typer >= 0.24 carries its own click

from egov import up as up_mod
from egov.apps.cli import apps_app
from egov.clikit import USAGE_EXIT, Ctx, crash_log, emit_json, err, json_emitted, out
from egov.cloud.cli import cloud_app
from egov.core import journal as journal_mod
from egov.core import paths
from egov.core.errors import EgovError, EstateInvalid
from egov.core.loader import default_estate_dir
from egov.core.summary import render, summarize
from egov.datacenters.cli import backup_app, dr_app, drill_app, restore
from egov.hosts import cli as hosts_cli
from egov.lab.cli import lab_app
from egov.network.cli import net_app

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="egov: build and run a district e-government estate from one source of truth.")
journal_app = typer.Typer(no_args_is_help=True, help="The hash-chained record of every change egov made.")
app.add_typer(journal_app, name="journal")
app.add_typer(lab_app, name="lab")
app.add_typer(apps_app, name="apps")
app.add_typer(dr_app, name="dr")
app.add_typer(drill_app, name="drill")
app.add_typer(backup_app, name="backup")
app.add_typer(net_app, name="net")
app.add_typer(cloud_app, name="cloud")


def _estate_option(value: Optional[str]) -> Optional[Path]:
    """--estate as given: refused (a usage error) when empty or not a directory, before any command runs."""
    if value is None:
        return None
    if not value.strip():
        raise typer.BadParameter("is empty; name an estate directory (a folder holding estate.yaml ...)",
                                 param_hint="--estate")
    p = Path(value)
    if p.exists() and not p.is_dir():
        raise typer.BadParameter(f"{value} is a file, not an estate directory", param_hint="--estate")
    if not p.exists():
        raise typer.BadParameter(f"{value}: no such directory", param_hint="--estate")
    return p


def _state_dir_option(value: Optional[str]) -> Optional[Path]:
    """--state-dir as given: refused when empty, or when it (or a folder above it) is a file."""
    if value is None:
        return None
    if not value.strip():
        raise typer.BadParameter("is empty; name a directory", param_hint="--state-dir")
    p = Path(value)
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                raise typer.BadParameter(f"{q} is a file, not a directory", param_hint="--state-dir")
            break
    return p


@app.callback()
def _root(ctx: typer.Context,
          estate: Optional[str] = typer.Option(None, "--estate", "-e", envvar="EGOV_ESTATE",
                                               help="Estate directory (default: estate/panyu); "
                                                    "also accepted after the verb."),
          state_dir: Optional[str] = typer.Option(None, "--state-dir", envvar="EGOV_STATE_DIR",
                                                  help="Where the journal and state live; "
                                                       "also accepted after the verb.")):
    estate_dir = _estate_option(estate)
    ctx.obj = Ctx(estate_dir or default_estate_dir(), _state_dir_option(state_dir) or paths.state_dir())


@app.command()
def validate(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Check the estate against every rule; list all problems (exit 2 if any)."""
    c: Ctx = ctx.obj
    try:
        e = c.estate()
    except EstateInvalid as bad:
        if as_json:
            emit_json({"valid": False, "estate": bad.source, "problems": [p.as_dict() for p in bad.problems]})
        raise
    devices = sum(1 for _ in e.devices())
    hosts = sum(1 for _ in e.hosts())
    if as_json:
        emit_json({"valid": True, "estate": e.meta.name, "digest": e.digest, "sites": len(e.sites),
                    "hosts": hosts, "devices": devices})
    else:
        out.print(f"[green]valid[/]: {e.meta.display_name} ({e.meta.name}): {len(e.sites)} sites, {hosts} hosts, "
                  f"{devices} network devices, {len(e.databases)} databases, {len(e.applications)} applications")


@app.command()
def show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Summarise the estate: sites, hosts, network tiers, databases, applications."""
    data = summarize(ctx.obj.estate())
    if as_json:
        emit_json(data)
    else:
        render(data, out)


app.command("up")(up_mod.up_command)
app.command()(hosts_cli.build)
app.command()(hosts_cli.inventory)
app.command()(hosts_cli.verify)
app.command()(restore)


@journal_app.command("show")
def journal_show(ctx: typer.Context,
                 last: int = typer.Option(0, "--last", "-n", min=0, help="Only the last N records."),
                 as_json: bool = typer.Option(False, "--json")):
    """List the journal's records."""
    j = journal_mod.Journal(ctx.obj.state_dir)
    recs = list(j.records())
    if last:
        recs = recs[-last:]
    if as_json:
        emit_json(recs)
        return
    from rich.table import Table

    t = Table(title=f"journal {j.path}", title_justify="left")
    for col in ("seq", "when (UTC)", "user", "command", "estate", "result", "changes"):
        t.add_column(col, overflow="fold")
    for r in recs:
        ch = r.get("changes") or []
        t.add_row(
            str(r.get("seq")),
            str(r.get("ts", ""))[:23],
            str(r.get("user")),
            str(r.get("command")),
            str(r.get("estate") or "-"),
            r.get("result", "?") if r.get("result") == "ok" else f"[red]{r.get('result')}[/]",
            f"{len(ch)}" + (f": {ch[0]}" + (" …" if len(ch) > 1 else "") if ch else ""),
        )
    out.print(t)


@journal_app.command("verify")
def journal_verify(ctx: typer.Context):
    """Check the hash chain; names the first edited, reordered or deleted record."""
    j = journal_mod.Journal(ctx.obj.state_dir)
    n = j.verify()
    out.print(f"[green]journal intact[/]: {n} records, chain verified ({j.path})")


GLOBAL_OPTIONS = ("--estate", "--state-dir")


def hoist_globals(args: list[str]) -> list[str]:
    """Move `--estate`/`--state-dir` typed after the verb to the front, as kubectl and ansible accept
    them anywhere. Stops at `--` (what follows belongs to a command run elsewhere, e.g. `lab ssh`)."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        name = a.split("=", 1)[0]
        if name in GLOBAL_OPTIONS and "=" in a:
            front.append(a)
            i += 1
        elif name in GLOBAL_OPTIONS:
            if i + 1 == len(args):
                raise click.UsageError(f"Option '{name}' requires an argument.")
            front += [a, args[i + 1]]
            i += 2
        else:
            rest.append(a)
            i += 1
    return front + rest


def _state_dir_hint(args: list[str]) -> Path | None:
    """The state dir the command ran with, for the crash log (never raises)."""
    try:
        for i, a in enumerate(args):
            if a == "--state-dir" and i + 1 < len(args):
                return _state_dir_option(args[i + 1])
            if a.startswith("--state-dir="):
                return _state_dir_option(a.split("=", 1)[1])
        return paths.state_dir()
    except Exception:
        return None


def _usage(e: click.UsageError, wants_json: bool) -> None:
    where = e.ctx.command_path if e.ctx is not None else "egov"
    msg = e.format_message().strip().replace("\n", " ")
    err.print(f"egov: usage: {msg} (see '{where} --help')", markup=False, highlight=False)
    if wants_json and not json_emitted():
        emit_json({"ok": False, "error": f"usage: {msg}", "exit_code": USAGE_EXIT})
    sys.exit(USAGE_EXIT)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; egov's own errors become one line on stderr and an exit code. With `--json`,
    stdout always carries one document, also on failure (the error in it). Usage errors (a bad
    flag, option value or path) exit 64; anything unexpected is one line naming a log with the
    traceback, exit 1: no traceback reaches the operator."""
    args = sys.argv[1:] if argv is None else list(argv)
    wants_json = "--json" in args
    try:
        args = hoist_globals(args)
        rv = app(args=args, prog_name="egov", standalone_mode=False)
        if isinstance(rv, int) and not isinstance(rv, bool) and rv:
            sys.exit(rv)  # typer.Exit(n) and Ctrl-C (130) come back as a return value here
    except click.NoArgsIsHelpError:
        sys.exit(USAGE_EXIT)  # typer has printed the help
    except click.UsageError as e:
        _usage(e, wants_json)
    except typer.Abort:
        err.print("egov: aborted", markup=False, highlight=False)
        sys.exit(130)
    except click.ClickException as e:
        err.print(f"egov: error: {e.format_message()}", markup=False, highlight=False)
        if wants_json and not json_emitted():
            emit_json({"ok": False, "error": e.format_message(), "exit_code": e.exit_code})
        sys.exit(e.exit_code)
    except EstateInvalid as bad:
        for p in bad.problems:
            err.print(str(p), markup=False, highlight=False)
        err.print(f"egov: {bad}", markup=False, highlight=False)
        if wants_json and not json_emitted():
            emit_json({"ok": False, "valid": False, "estate": bad.source, "error": str(bad),
                       "problems": [p.as_dict() for p in bad.problems], "exit_code": bad.exit_code})
        sys.exit(bad.exit_code)
    except EgovError as e:
        err.print(f"egov: error: {e}", markup=False, highlight=False)
        if wants_json and not json_emitted():
            emit_json({"ok": False, "error": str(e), "exit_code": e.exit_code})
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("egov: interrupted", markup=False, highlight=False)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr = open("/dev/null", "w")  # the reader went away (| head): nothing left to say
        sys.exit(1)
    except Exception as e:
        log = crash_log(e, _state_dir_hint(args))
        what = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        err.print(f"egov: unexpected error: {what} (traceback in {log})", markup=False, highlight=False)
        if wants_json and not json_emitted():
            emit_json({"ok": False, "error": f"unexpected error: {what}", "log": str(log), "exit_code": 1})
        sys.exit(1)


if __name__ == "__main__":
    main()
