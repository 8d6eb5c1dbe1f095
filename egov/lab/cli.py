"""`egov lab ...`: bring the embedded lab up and down, break it for drills, reach its hosts."""

from __future__ import annotations

import os
import sys
import time
from typing import List

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from egov.clikit import Ctx, emit_json, err, out
from egov.lab import mirror as mirror_mod
from egov.lab.lab import CTL, Lab

lab_app = typer.Typer(no_args_is_help=True, help="The embedded lab: both data centres as real hosts on this machine.")
mirror_app = typer.Typer(no_args_is_help=True, help="The estate's package mirror, as the lab builds it.")
lab_app.add_typer(mirror_app, name="mirror")


def _lab(ctx: typer.Context) -> Lab:
    c: Ctx = ctx.obj
    return Lab.of(c.estate(), c.state_dir)


def summarise(changes: list[str], nothing: str) -> None:
    if changes:
        out.print(f"{len(changes)} change{'s' if len(changes) != 1 else ''}: " + "; ".join(changes[:8])
                  + (f"; … (+{len(changes) - 8}, see `egov journal show`)" if len(changes) > 8 else ""),
                  highlight=False)
    else:
        out.print(nothing)


def _status_table(data: dict) -> Table:
    t = Table(
        title=f"lab {'up' if data['up'] else 'down'} — {data['estate']} ({data['lab_dir']})", title_justify="left"
    )
    for col in ("host", "site", "address", "state", "uptime", "pid"):
        t.add_column(col)
    for h in data["hosts"]:
        state = h["state"] if h["state"] == "running" else f"[red]{h['state']}[/]"
        up = f"{h['uptime_s']:.0f}s" if h["uptime_s"] is not None else "-"
        t.add_row(h["id"], h["site"], h["address"], state, up, str(h["pid"] or "-"))
    for link in data["links"]:
        state = link["state"] if link["state"] == "up" else f"[red]{link['state']}[/]"
        t.add_row(f"link {link['a']} ↔ {link['b']}", "", "", state, "", "")
    net = data.get("network")
    if net:
        bad = [r for r in net["routers"] if r["state"] != "running"]
        t.add_row(f"routers' FRR ×{len(net['routers'])}", "network", "", "running" if not bad else
                  f"[red]{len(bad)} not running: {', '.join(r['id'] for r in bad[:3])}[/]", "", "")
        l3 = [r for r in net["routers"] if "l3" in r]
        if l3:
            behind = [r["id"] for r in l3 if not r["l3"]["in_sync"]]
            t.add_row(f"routers' config carried out by FRR ×{len(l3)}", "network", "",
                      "in sync" if not behind else f"[red]behind: {', '.join(behind[:3])}[/]", "",
                      f"{sum(len(r['l3']['unrealised']) for r in l3)} lines not realised (--json)")
        sw = net["switches"]
        t.add_row(f"village switches ×{sw['count']}", "network", "",
                  sw["state"] if sw["state"] == "running" else f"[red]{sw['state']}[/]", "", "")
        t.add_row(f"town clients ×{len(net['clients'])}", "network", "", "present", "", "")
    return t


@lab_app.command()
def up(ctx: typer.Context):
    """Create every host of every site (idempotent; repairs a half-made lab)."""
    up_stage(ctx.obj)


def _may_go_up(lab: Lab) -> bool:
    """Whether `lab up` would pass its refusals (root, kernel, another state dir's lab): the mirror is
    built only then; otherwise `lab up` itself refuses, with its one line and its journal record."""
    from egov.lab.lab import preflight
    from egov.lab.netns import LabError

    try:
        preflight()
        lab.network.preflight()
        lab._owner_check()
    except LabError:
        return False
    return True


def up_stage(c: Ctx, *, hosts: bool = True) -> None:
    """`egov lab up` (also the first stage of `egov up`). With `hosts=False` only the lab's network,
    routers and bridges: a cloud makes the sites' hosts."""
    lab = Lab.of(c.estate(), c.state_dir)
    t0 = time.monotonic()
    mirrors = c.estate().meta.mirrors
    if mirrors is not None and mirrors.served_by is not None and _may_go_up(lab):
        mirror_stage(c)  # its host serves it from its first boot (a lab host or a cloud-made one; cached)
    with c.change("lab up") as rec, Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                                             TimeElapsedColumn(), console=err, transient=True) as bar:
        current = {}

        def progress(kind, name=None, total=None, host=None):
            if kind == "phase":
                current["task"] = bar.add_task(name, total=total)
            elif kind == "advance" and "task" in current:
                bar.advance(current["task"])

        rec.changes += lab.up(progress, hosts=hosts)
        rec.details["seconds"] = round(time.monotonic() - t0, 2)
    if not hosts:
        summarise(rec.changes, "lab network is up; nothing changed")
        return
    status = lab.status()
    running = sum(h["state"] == "running" for h in status["hosts"])
    summarise(rec.changes, "lab is up; nothing changed")
    out.print(f"lab up: {running}/{len(status['hosts'])} hosts running, SSH verified ({time.monotonic() - t0:.1f}s)")


# `egov lab down` is defined in egov/up.py: it takes down what runs on the lab (the embedded
# cloud) before the lab itself, and the lab depends on nothing that runs on it.


@lab_app.command()
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")):
    """Every host's state, address and uptime; the inter-site links; the network's routers and switches."""
    data = _lab(ctx).status()
    if as_json:
        emit_json(data)
    else:
        out.print(_status_table(data))


def _simple(ctx: typer.Context, verb: str, *args: str) -> None:
    c: Ctx = ctx.obj
    lab = _lab(ctx)
    with c.change(f"lab {verb} {' '.join(args)}") as rec:
        rec.changes += getattr(lab, verb)(*args)
    summarise(rec.changes, f"nothing to {verb}: already in that state")


@lab_app.command()
def crash(ctx: typer.Context, target: str = typer.Argument(..., help="A host id or a site id.")):
    """Power-cut a host or a whole site: every process killed at once, disks kept."""
    _simple(ctx, "crash", target)


@lab_app.command()
def start(ctx: typer.Context, target: str = typer.Argument(..., help="A host id or a site id.")):
    """Boot a crashed host or site again, with its disk as it was."""
    _simple(ctx, "start", target)


@lab_app.command()
def cut(ctx: typer.Context, site_a: str, site_b: str):
    """Break the link between two sites (each site keeps working on its own)."""
    _simple(ctx, "cut", site_a, site_b)


@lab_app.command()
def heal(ctx: typer.Context, site_a: str, site_b: str):
    """Restore the link between two sites."""
    _simple(ctx, "heal", site_a, site_b)


@lab_app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ssh(ctx: typer.Context, host: str, command: List[str] = typer.Argument(None)):
    """Log in to a lab host (or run COMMAND there) with the lab's key and known_hosts."""
    lab = _lab(ctx)
    if host not in lab.hosts:
        raise typer.BadParameter(f"no host {host!r} in the estate", param_hint="HOST")
    argv = lab.ssh_argv(host, *(command or []))
    if sys.stdin.isatty() and not command:
        argv.insert(argv.index("-F"), "-t")
    os.execvp(argv[0], argv)


@lab_app.command("open")
def open_(ctx: typer.Context, app: str = typer.Argument(..., help="An application id (egov show lists them)."),
          site: str = typer.Option(None, "--site", help="Whose front (default: the site serving now)."),
          port: int = typer.Option(None, "--port", help="Local port (default: the app's HTTPS port at the front).")):
    """Forward 127.0.0.1:PORT on this machine to APP's front in the lab, until Ctrl-C."""
    from egov.core import secrets
    from egov.core.state import RuntimeState
    from egov.lab import forward, netns

    c: Ctx = ctx.obj
    estate = c.estate()
    apps = {a.id: a for a in estate.applications}
    if app not in apps:
        raise typer.BadParameter(f"no application {app!r} in the estate (has: {', '.join(sorted(apps))})",
                                 param_hint="APP")
    sites = {s.id: s for s in estate.sites if s.service_address and apps[app].runs_on.get(s.id)}
    if site is None:
        site = RuntimeState(c.state_dir, estate).serving_address()[0]
    if site not in sites:
        raise typer.BadParameter(f"{app} has no front at site {site!r} (has: {', '.join(sorted(sites))})",
                                 param_hint="--site")
    lab = _lab(ctx)
    if not lab.is_up():
        err.print("egov: error: the lab is not up: run `egov lab up` first")
        raise typer.Exit(1)
    port = port or apps[app].tls_port
    ca = secrets.ca_file(c.state_dir, estate)  # before entering the controller: the state dir is the machine's
    try:
        listener = forward.listen(port)
    except OSError as e:
        err.print(f"egov: error: cannot listen on 127.0.0.1:{port}: {e.strerror} (choose another with --port)")
        raise typer.Exit(1) from None
    netns.enter(CTL)  # the listener stays in this machine's namespace; connections to the front leave from here
    target = (str(sites[site].service_address), apps[app].tls_port)
    out.print(f"{app} ({apps[app].name}) at {site}: open https://127.0.0.1:{port}/ (-> {target[0]}:{target[1]}, "
              f"HTTPS to the front; trust the estate's CA {ca} in the browser); Ctrl-C to stop", highlight=False)
    try:
        forward.serve(listener, target, on_error=lambda m: err.print(f"egov: {m}"))
    except KeyboardInterrupt:
        pass


@lab_app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(ctx: typer.Context, command: List[str] = typer.Argument(..., help="Command to run in the controller.")):
    """Run any command inside the lab's controller namespace, where estate addresses are reachable.

    EGOV_LAB_SSH_CONFIG points at the lab's ssh_config, e.g.
    `egov lab exec -- sh -c 'ssh -F $EGOV_LAB_SSH_CONFIG dfs-db1 uptime'`.
    """
    lab = _lab(ctx)
    if not lab.is_up():
        err.print("egov: error: the lab is not up: run `egov lab up` first")
        raise typer.Exit(1)
    os.environ["EGOV_LAB_SSH_CONFIG"] = str(lab.ssh_config)
    argv = ["ip", "netns", "exec", CTL, *command]
    os.execvp(argv[0], argv)


# --------------------------------------------------------------------------- egov lab mirror
def mirror_of(c: Ctx) -> mirror_mod.Mirror:
    """The lab mirror for the estate's `mirrors:` (suite and component from it; bookworm/main without)."""
    m = c.estate().meta.mirrors
    if m is None or m.served_by is None:
        raise mirror_mod.MirrorError("mirror: the estate names no mirror the lab serves "
                                     "(estate.yaml mirrors.served_by)")
    return mirror_mod.Mirror(c.state_dir, suite=m.apt.suite, component=m.apt.components[0])


def mirror_stage(c: Ctx, *, force: bool = False) -> mirror_mod.Built:
    """Build the lab mirror when missing or stale (also a stage of `lab up` / `egov up`); journalled."""
    mirror = mirror_of(c)
    why = "forced" if force else mirror.stale()
    if why is None:
        return mirror_mod.Built(**{**mirror.manifest(), "cached": True})
    with c.change("lab mirror build") as rec, err.status("mirror: starting") as status:
        try:
            built = mirror.build(force=True, progress=lambda msg: status.update(f"mirror: {msg}"))
        finally:
            mirror.stop_agent()
        rec.changes.append(f"mirror built ({why}): {built.packages} packages, {built.debs} .debs, "
                           f"{built.bytes / 1e6:.0f} MB, {built.wheels} wheels")
        rec.details.update(seconds=built.seconds, downloaded=built.downloaded, fingerprint=built.fingerprint)
    return built


@mirror_app.command("build")
def mirror_build(ctx: typer.Context, force: bool = typer.Option(False, "--force", help="Rebuild even when current."),
                 as_json: bool = typer.Option(False, "--json")):
    """Build the estate's apt mirror (the roles' packages and their dependencies, signed) and PyPI index."""
    built = mirror_stage(ctx.obj, force=force)
    data = {"ok": True, **{k: v for k, v in vars(built).items() if k != "inputs"}}
    if as_json:
        emit_json(data)
        return
    state = "current (cached)" if built.cached else f"built in {built.seconds:.1f}s ({built.downloaded} downloaded)"
    out.print(f"mirror {state}: {built.packages} packages ({built.debs} .debs, {built.bytes / 1e6:.0f} MB), "
              f"{built.wheels} wheels, key {built.fingerprint}", highlight=False)
    if built.not_in_registry:
        out.print(f"installed here at a version the registry no longer has: {', '.join(built.not_in_registry)}",
                  highlight=False)


@mirror_app.command("status")
def mirror_status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")):
    """Whether the lab mirror is built and current, and what it holds."""
    mirror = mirror_of(ctx.obj)
    m, why = mirror.manifest(), mirror.stale()
    data = {"built": m is not None, "current": why is None, "stale": why,
            **({k: m[k] for k in ("packages", "debs", "bytes", "wheels", "fingerprint", "suite")} if m else {})}
    if as_json:
        emit_json(data)
    elif m is None:
        out.print("mirror not built (egov lab mirror build)")
    else:
        out.print(f"mirror {'current' if why is None else 'stale: ' + why}: {m['packages']} packages, "
                  f"{m['bytes'] / 1e6:.0f} MB, {m['wheels']} wheels, key {m['fingerprint']}", highlight=False)


image_app = typer.Typer(no_args_is_help=True, help="The lab hosts' minimal Debian image (mmdebstrap, cached).")
lab_app.add_typer(image_app, name="image")


@image_app.command("build")
def image_build(ctx: typer.Context,
                rebuild: bool = typer.Option(False, "--rebuild", help="Build again even if the cache is sound."),
                as_json: bool = typer.Option(False, "--json")):
    """Build the hosts' image unless a sound one is cached (a corrupt one is named and rebuilt)."""
    import json

    from egov.lab import image

    c: Ctx = ctx.obj
    t0 = time.monotonic()
    with c.change("lab image build") as rec:
        with err.status("building the hosts' image (mmdebstrap minbase + a cloud image's packages)"):
            img, built = image.ensure(c.state_dir, rebuild=rebuild, note=lambda m: err.print(f"egov: {m}"))
        if built:
            rec.changes.append(f"image {img.key} built")
        rec.details["image"] = img.key
    m = json.loads(img.manifest.read_text())
    took = time.monotonic() - t0
    if as_json:
        emit_json({"ok": True, "key": img.key, "rootfs": str(img.rootfs), "built": built, "seconds": round(took, 1),
                   "packages": m["recipe"]["packages"], "installed": len(m["installed"])})
        return
    what = f"built in {took:.1f}s" if built else f"cached (built {m['built_at']} in {m['seconds']}s)"
    out.print(f"image {img.key}: {what}; {len(m['installed'])} packages installed; {img.rootfs}", highlight=False)
