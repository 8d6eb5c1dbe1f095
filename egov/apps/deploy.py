"""Ship the government-service applications as versioned releases, with fabric.

A release of APP at VERSION is a tarball built here: the `egov_apps` Django project (all
four applications; the host's EGOV_APP_ID picks one), its migrations, templates and static
files, `ENTRYPOINT`, `VERSION`, and the dependency wheels from the local wheelhouse (Django,
django-otp, django-axes, whitenoise, gunicorn, psycopg: hosts download nothing). `deploy`
does, for every host the estate names:

  1. upload + unpack into releases/VERSION and install into that release's own venv
     (all hosts in parallel: nothing serving changes yet);
  2. run the schema migration once (one transaction: a failure leaves the schema as it was
     and stops the deploy before any host switches);
  3. host by host: drain the host from its site's front (HAProxy's runtime API: no new requests,
     the ones in flight finish), switch `current` atomically (symlink + rename), restart,
     health-check, put it back and wait until the front sees it up, then the next host;
     a failed health check switches that host back to its previous release and stops.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import ssl
import tarfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from egov.core import paths
from egov.core.errors import EgovError
from egov.core.model import Estate
from egov.target import Target

APPS_ROOT = "/opt/egov-apps"
ENV_DIR = "/etc/egov-apps"


class DeployFailed(EgovError):
    pass


@dataclass(frozen=True)
class Release:
    app: str
    version: str
    path: Path
    digest: str


def default_version() -> str:
    return (paths.apps_source() / "VERSION").read_text().strip()


def build_release(app_id: str, version: str, out_dir: Path, *, source: Path | None = None,
                  wheelhouse: Path | None = None) -> Release:
    """Build (or reuse, when identical) the release tarball of one application."""
    apps_dir = Path(source) if source else paths.apps_source()
    wheelhouse = wheelhouse or paths.wheelhouse()
    src = apps_dir / "src" / "egov_apps"
    entry = _entrypoints(src).get(app_id)
    if entry is None:
        raise DeployFailed(f"no application {app_id!r} in {src} (has: {', '.join(_entrypoints(src))})")
    wheels = sorted(wheelhouse.glob("*.whl")) if wheelhouse.is_dir() else []
    if not any(w.name.startswith("pip-") for w in wheels) or len(wheels) < 2:
        raise DeployFailed(
            f"no wheels (or no pip wheel) in {wheelhouse}: run scripts/install-deps (it fills the wheelhouse)"
        )
    files: list[tuple[str, bytes]] = [("VERSION", f"{version}\n".encode()), ("ENTRYPOINT", f"{entry}\n".encode()),
                                      ("requirements.txt", (paths.apps_source() / "requirements.txt").read_bytes())]
    for p in sorted(src.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            files.append((f"src/egov_apps/{p.relative_to(src)}", p.read_bytes()))
    for w in wheels:
        files.append((f"wheels/{w.name}", w.read_bytes()))
    h = hashlib.sha256()
    for name, data in files:
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    digest = h.hexdigest()
    meta = {"app": app_id, "version": version, "digest": digest, "entrypoint": entry}
    files.append(("RELEASE.json", json.dumps(meta, indent=1).encode()))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{app_id}-{version}-{digest[:12]}.tar.gz"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        # gzip's header carries a timestamp and a file name: pin both, so the same release is
        # the same bytes whenever it is built
        with open(tmp, "wb") as f, gzip.GzipFile(filename="", fileobj=f, mode="wb", compresslevel=6, mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w") as tar:
            for name, data in files:
                info = tarfile.TarInfo(f"{app_id}-{version}/{name}")
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, path)
    return Release(app_id, version, path, digest)


def _entrypoints(src: Path) -> dict[str, str]:
    ns: dict = {}
    exec((src / "__init__.py").read_text(), ns)
    return ns["ENTRYPOINTS"]


# ----------------------------------------------------------------------------- connections
def connect(target: Target, host_id: str):
    """A fabric Connection that checks the host key against the target's known_hosts (no auto-add)."""
    import paramiko
    from fabric import Config, Connection

    target.enter()
    cfg = Config(runtime_ssh_path=str(target.ssh_config))
    c = Connection(host_id, config=cfg, connect_timeout=10)
    known = _known_hosts(target.ssh_config)
    c.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    if known:
        c.client.load_host_keys(known)
    return c


def _known_hosts(ssh_config: Path) -> str | None:
    for line in Path(ssh_config).read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].lower() == "userknownhostsfile":
            return os.path.expanduser(parts[1])
    return None


def _on_host(host: str, step: str, fn, *args, **kw):
    """Run one host's step; any failure becomes one line naming the host and the step."""
    try:
        return fn(*args, **kw)
    except EgovError:
        raise
    except Exception as e:  # paramiko/socket/invoke errors
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise DeployFailed(f"{host}: {step}: cannot reach the host or run there ({msg})") from None


def _run(c, cmd: str, *, what: str, host: str, timeout: int = 120) -> str:
    r = c.run(cmd, hide=True, warn=True, timeout=timeout, in_stream=False)
    if r.exited != 0:
        lines = (r.stderr.strip() or r.stdout.strip() or f"exit {r.exited}").splitlines()
        raise DeployFailed(f"{host}: {what} failed: {lines[-1]}")
    return r.stdout


def front_tls(state_dir: Path, estate: Estate) -> ssl.SSLContext:
    """A client context that trusts exactly the estate's CA (the fronts' certificates)."""
    from egov.core import secrets

    return ssl.create_default_context(cafile=str(secrets.ca_file(state_dir, estate)))


def health(address: str, port: int, path: str = "/healthz", timeout: float = 3,
           tls: ssl.SSLContext | None = None) -> tuple[bool, dict]:
    """GET a health path: plain HTTP on a back end, or HTTPS (`tls`) through a site's front."""
    scheme = "https" if tls is not None else "http"
    try:
        with urllib.request.urlopen(f"{scheme}://{address}:{port}{path}", timeout=timeout, context=tls) as r:
            return r.status == 200, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            body = json.loads(e.read() or b"{}")
        except ValueError:
            body = {}
        return False, {"http": e.code, **body}
    except (OSError, ValueError) as e:
        return False, {"error": str(e)}


def wait_healthy(
    address: str, port: int, version: str, *, path: str = "/healthz", timeout: float = 20
) -> tuple[bool, dict]:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        ok, body = health(address, port, path)
        if ok and body.get("version") == version:
            return True, body
        time.sleep(0.3)
    return False, body


# ----------------------------------------------------------------------------- deploy
@dataclass
class HostApp:
    host: str
    address: str
    app: str
    port: int
    health_path: str
    fronts: tuple[str, ...] = ()  # the lb hosts of this host's site, whose HAProxy backend lists it


# ----------------------------------------------------------------------------- the fronts' runtime API
HAPROXY_SOCKET = "/run/haproxy.sock"  # playbooks/roles/lb/templates/haproxy.cfg.j2: stats socket ... level admin
# run on the front by its own python3 (every managed host has it; no socat needed)
_RUNTIME = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "s.settimeout(5)\n"
    "try:\n"
    "    s.connect(sys.argv[1])\n"
    "except (FileNotFoundError, ConnectionRefusedError):\n"
    "    sys.exit(3)\n"
    "s.sendall(sys.argv[2].encode() + b'\\n')\n"
    "out = b''\n"
    "while True:\n"
    "    d = s.recv(65536)\n"
    "    if not d:\n"
    "        break\n"
    "    out += d\n"
    "sys.stdout.write(out.decode())\n"
)
NO_FRONT = 3


def front_runtime(c, command: str, *, front: str) -> str | None:
    """One HAProxy runtime-API command on a front; None if HAProxy is not running there."""
    import shlex

    r = c.run(f"python3 -c {shlex.quote(_RUNTIME)} {HAPROXY_SOCKET} {shlex.quote(command)}",
              hide=True, warn=True, in_stream=False, timeout=15)
    if r.exited == NO_FRONT:
        return None
    out = r.stdout.strip()
    if r.exited != 0 or out.startswith(("Unknown", "No such", "Require", "Permission")):
        raise DeployFailed(f"front {front}: HAProxy refused {command!r}: {(out or r.stderr.strip() or r.exited)}")
    return out


def server_state(c, p: HostApp, *, front: str) -> tuple[str, int] | None:
    """(status as the front sees it, e.g. UP / DOWN / DRAIN / MAINT, current sessions) of p on `front`."""
    out = front_runtime(c, "show stat", front=front)
    if out is None:
        return None
    lines = out.lstrip("# ").splitlines()
    cols = lines[0].split(",")
    for line in lines[1:]:
        f = dict(zip(cols, line.split(",")))
        if f.get("pxname") == p.app and f.get("svname") == p.host:
            return f.get("status", ""), int(f.get("scur") or 0)
    raise DeployFailed(f"front {front}: backend {p.app} has no server {p.host} (is the front's configuration current? "
                       "run `egov build --limit lb`)")


class Drained:
    """`with Drained(target, p):` p takes no new requests from its site's fronts and the ones in flight
    have finished; on leaving, it is put back, and (on success) the fronts see it UP again."""

    def __init__(self, target: Target, p: HostApp, progress: Callable[[str], None], *, timeout: float = 30):
        self.target, self.p, self.progress, self.timeout = target, p, progress, timeout
        self.conns: dict[str, object] = {}

    def __enter__(self):
        for f in self.p.fronts:
            c = _on_host(f, f"drain {self.p.host}", connect, self.target, f)
            if _on_host(f, f"drain {self.p.host}", front_runtime, c,
                        f"set server {self.p.app}/{self.p.host} state drain", front=f) is None:
                continue  # HAProxy is not running on this front: nothing routes to the host through it
            self.conns[f] = c
        deadline = time.monotonic() + self.timeout
        for f, c in self.conns.items():
            self.progress(f"draining {self.p.app} on {self.p.host} from {f}")
            while True:
                st = server_state(c, self.p, front=f)
                if st is None or st[1] == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        return self

    def __exit__(self, exc_type, exc, tb):
        for f, c in self.conns.items():
            try:
                front_runtime(c, f"set server {self.p.app}/{self.p.host} state ready", front=f)
            except Exception:  # noqa: BLE001 - never hide the deploy's own error behind this one
                if exc_type is None:
                    raise
        if exc_type is None:
            deadline = time.monotonic() + self.timeout
            for f, c in self.conns.items():
                self.progress(f"waiting for {f} to see {self.p.app} on {self.p.host} up")
                while (st := server_state(c, self.p, front=f)) is not None and not st[0].startswith("UP"):
                    if time.monotonic() > deadline:
                        raise DeployFailed(f"front {f}: {self.p.app} on {self.p.host} is healthy but the front still "
                                           f"says {st[0]} after {self.timeout:.0f}s; later hosts were not touched")
                    time.sleep(0.2)
        for c in self.conns.values():
            c.close()
        return False


def placements(estate: Estate, app_ids: list[str] | None = None) -> list[HostApp]:
    from egov.core.model import HostRole

    addr = {h.id: str(h.address) for _, h in estate.hosts()}
    fronts = {s.id: tuple(h.id for h in s.hosts if h.role == HostRole.lb) for s in estate.sites}
    out = []
    for a in estate.applications:
        if app_ids and a.id not in app_ids:
            continue
        for site in sorted(a.runs_on, key=lambda s: s != estate.primary_site.id):
            for h in a.runs_on[site]:
                out.append(HostApp(h, addr[h], a.id, a.port, a.health_path, fronts.get(site, ())))
    return out


def _rel_dir(rel: Release) -> str:
    return f"{rel.version}-{rel.digest[:12]}"


def _current(c, app: str) -> tuple[str | None, str | None]:
    """(release dir name, version) that `current` points to on this host."""
    out = c.run(f"readlink {APPS_ROOT}/{app}/current && cat {APPS_ROOT}/{app}/current/VERSION",
                hide=True, warn=True, in_stream=False).stdout.strip().splitlines()
    if len(out) < 2:
        return None, None
    return out[0].strip().rsplit("/", 1)[-1], out[1].strip()


def _install(target: Target, p: HostApp, rel: Release) -> str:
    """Upload and install a release on one host (idempotent); returns 'installed' or 'present'.

    Installed straight into its final directory (a venv cannot move), marked complete last;
    a half-installed directory from an interrupted deploy is removed and redone."""
    c = connect(target, p.host)
    with c:
        d = f"{APPS_ROOT}/{p.app}/releases/{_rel_dir(rel)}"
        if c.run(f"test -e {d}/.installed", warn=True, hide=True, in_stream=False).ok:
            return "present"
        # uploaded into root's own directory, never a predictable name in sticky /tmp (which
        # fs.protected_regular / protected_symlinks make fail, or unsafe, for root)
        incoming = f"{APPS_ROOT}/{p.app}/incoming"
        _run(c, f"install -d -m 0700 {incoming}", what="prepare upload", host=p.host)
        tmp = f"{incoming}/{rel.path.name}"
        c.put(str(rel.path), tmp)
        _run(c, f"set -e; rm -rf {d}; mkdir -p {d}; tar -xzf {tmp} -C {d} --strip-components=1; rm -f {tmp}",
             what="unpack", host=p.host)
        # a venv without ensurepip (seconds saved per release), filled by pip run from its own wheel
        _run(
            c,
            f"set -e; cd {d}; /usr/bin/python3 -m venv --without-pip venv; "
            f"venv/bin/python $(ls wheels/pip-*.whl)/pip install -q --no-index --no-compile "
            f"--disable-pip-version-check "
            f"--find-links wheels -r requirements.txt; "
            f"echo {d}/src > $(venv/bin/python -c 'import sysconfig; "
            f"print(sysconfig.get_paths()[\"purelib\"])')/egov_apps.pth; "
            f"venv/bin/python -c 'import egov_apps, gunicorn, psycopg, django, django_otp, axes, whitenoise'; "
            f"touch .installed",
            what=f"install {p.app} {rel.version} into its venv",
            host=p.host,
            timeout=300,
        )
        return "installed"


def _migrate(target: Target, p: HostApp, rel: Release, phase: str = "expand") -> str:
    """The release's migrations, one transaction: `expand` before any host switches (the previous
    release keeps serving against the result), `contract` once every host runs the new release."""
    c = connect(target, p.host)
    with c:
        d = f"{APPS_ROOT}/{p.app}/releases/{_rel_dir(rel)}"
        out = c.run(f"set -a; . {ENV_DIR}/{p.app}.env; set +a; cd {d}; "
                    f"runuser -u egovapp -- {d}/venv/bin/python -m egov_apps.migrate {p.app} --phase {phase}",
                    hide=True, warn=True, in_stream=False, timeout=120)
        if out.exited != 0:
            msg = (out.stderr.strip() or out.stdout.strip()).splitlines()[-1:]
            after = ("no host was switched, the previous release keeps serving" if phase == "expand" else
                     "every host runs the new release; the schema keeps what the contract step would remove")
            raise DeployFailed(f"{p.app}: schema migration failed on {p.host} ({phase} phase): "
                               f"{msg[0] if msg else out.exited}; {after}")
        return out.stdout.strip()


def _switch(c, app: str, rel_dir: str) -> None:
    _run(c, f"set -e; cd {APPS_ROOT}/{app}; test -e releases/{rel_dir}/.installed; "
            f"ln -sfn releases/{rel_dir} current.new; mv -T current.new current",
         what=f"switch {app} to {rel_dir}", host=c.host)


def _restart(c, p: HostApp) -> None:
    _run(c, f"{APPS_ROOT}/{p.app}/stop.sh && {APPS_ROOT}/{p.app}/start.sh", what=f"restart {p.app}", host=p.host)


def _activate(target: Target, p: HostApp, rel: Release, *, drain: bool = True,
              progress: Callable[[str], None] = lambda m: None) -> str:
    """Switch one host to the release, restart, health-check; on failure switch back and raise.
    With `drain`, the host is out of its site's fronts while it restarts."""
    c = connect(target, p.host)
    new = _rel_dir(rel)
    with c:
        prev, prev_version = _current(c, p.app)
        if prev == new:
            ok, body = health(p.address, p.port, p.health_path)
            if ok and body.get("version") == rel.version:
                return "unchanged"
        with Drained(target, p, progress) if drain else nullcontext():
            if prev == new:
                _restart(c, p)  # same release, not healthy: try a restart
                ok, body = wait_healthy(p.address, p.port, rel.version, path=p.health_path)
                if ok:
                    return "restarted"
                raise DeployFailed(f"{p.app} on {p.host}: not healthy after a restart: {_why(body)}")
            _switch(c, p.app, new)
            if prev:
                c.run(f"echo {prev} > {APPS_ROOT}/{p.app}/previous", hide=True, in_stream=False)
            _restart(c, p)
            ok, body = wait_healthy(p.address, p.port, rel.version, path=p.health_path)
            if ok:
                return f"{prev_version or 'none'} -> {rel.version}"
            why = _why(body)
            if prev:
                _switch(c, p.app, prev)
                _restart(c, p)
                back, _ = wait_healthy(p.address, p.port, prev_version, path=p.health_path)
                how = f"rolled back to {prev_version}" if back else f"rollback to {prev_version} is NOT healthy"
                raise DeployFailed(f"{p.app} {rel.version} failed its health check on {p.host} ({why}); {how}; "
                                   "later hosts were not touched")
            _run(c, f"rm -f {APPS_ROOT}/{p.app}/current; {APPS_ROOT}/{p.app}/stop.sh", what="stop", host=p.host)
            raise DeployFailed(f"{p.app} {rel.version} failed its health check on {p.host} ({why}); "
                               "it had no previous release, so it was stopped")


def _why(body: dict) -> str:
    if "error" in body:
        return str(body["error"])[:200]
    dbs = {k: v.get("error", "read-only") for k, v in body.get("db", {}).items() if not v.get("ok")}
    if dbs:
        return "database " + ", ".join(f"{k}: {v}" for k, v in dbs.items())
    if "http" in body:
        return f"HTTP {body['http']}"
    return f"version {body.get('version')!r} answering" if body else "no answer"


def deploy(
    estate: Estate,
    target: Target,
    *,
    state_dir: Path,
    apps: list[str] | None = None,
    version: str | None = None,
    source: Path | None = None,
    drain: bool = True,
    progress: Callable[[str], None] = lambda m: None,
) -> list[str]:
    """Deploy releases of `apps` (default: all) everywhere the estate runs them; returns what changed.
    With `drain` (the default), each host leaves its site's fronts while it switches."""
    version = version or default_version()
    known = {a.id for a in estate.applications}
    for a in apps or []:
        if a not in known:
            raise DeployFailed(f"no application {a!r} in the estate (has: {', '.join(sorted(known))})")
    places = placements(estate, apps)
    releases = {
        a: build_release(a, version, paths.at(state_dir).releases, source=source) for a in {p.app for p in places}
    }
    changes: list[str] = []
    progress(f"installing {len(releases)} release(s) on {len({p.host for p in places})} hosts")
    by_host: dict[str, list[HostApp]] = {}
    for p in places:
        by_host.setdefault(p.host, []).append(p)

    def install_host(ps):
        return [(p, _on_host(p.host, f"install {p.app}", _install, target, p, releases[p.app])) for p in ps]

    with ThreadPoolExecutor(max_workers=8) as pool:
        for done in pool.map(install_host, by_host.values()):
            changes += [f"{p.host}: installed {p.app} {version}" for p, how in done if how == "installed"]
    contract = []
    for app, rel in releases.items():
        first = next(p for p in places if p.app == app)
        progress(f"migrating {app} (expand)")
        out = _on_host(first.host, f"migrate {app}", _migrate, target, first, rel)
        if "0 migration(s)" not in out:
            changes.append(out)
        if "held for the contract phase" in out:
            contract.append(app)

    def roll(app):
        done = []
        for p in (x for x in places if x.app == app):
            progress(f"switching {app} on {p.host}")
            how = _on_host(p.host, f"switch {app}", _activate, target, p, releases[app], drain=drain,
                           progress=progress)
            if how != "unchanged":
                done.append(f"{p.host}: {app} {how}")
        return done

    with ThreadPoolExecutor(max_workers=len(releases) or 1) as pool:
        futures = [pool.submit(roll, a) for a in releases]
        errors = []
        for f in futures:
            try:
                changes += f.result()
            except DeployFailed as e:
                errors.append(e)
        if errors:
            raise errors[0]
    for app in contract:  # every host of the app runs the new release now: what it no longer needs goes
        first = next(p for p in places if p.app == app)
        progress(f"migrating {app} (contract)")
        changes.append(_on_host(first.host, f"migrate {app} (contract)", _migrate, target, first, releases[app],
                                "contract"))
    return changes


def rollback(estate: Estate, target: Target, app: str, progress: Callable[[str], None] = lambda m: None) -> list[str]:
    """Switch every host of `app` back to its previous release (host by host, health-checked)."""
    if app not in {a.id for a in estate.applications}:
        raise DeployFailed(f"no application {app!r} in the estate")
    changes = []
    for p in placements(estate, [app]):
        c = connect(target, p.host)
        with c:
            cur, cur_version = _current(c, app)
            prev = c.run(
                f"cat {APPS_ROOT}/{app}/previous 2>/dev/null", hide=True, warn=True, in_stream=False
            ).stdout.strip()
            if not prev:
                raise DeployFailed(f"{app} on {p.host}: no previous release to roll back to")
            prev_version = _run(c, f"cat {APPS_ROOT}/{app}/releases/{prev}/VERSION", what="read previous release",
                                host=p.host).strip()
            progress(f"rolling {app} back on {p.host}: {cur_version} -> {prev_version}")
            with Drained(target, p, progress):
                _switch(c, app, prev)
                c.run(f"echo {cur} > {APPS_ROOT}/{app}/previous", hide=True, in_stream=False)
                _restart(c, p)
                ok, body = wait_healthy(p.address, p.port, prev_version, path=p.health_path)
                if not ok:
                    raise DeployFailed(
                        f"{app} on {p.host}: rolled back to {prev_version} but it is not healthy ({_why(body)})"
                    )
            changes.append(f"{p.host}: {app} {cur_version} -> {prev_version}")
    return changes


def status(estate: Estate, target: Target) -> list[dict]:
    def one(p: HostApp) -> dict:
        row = {"app": p.app, "host": p.host, "address": p.address, "port": p.port}
        try:
            c = connect(target, p.host)
            with c:
                cur, version = _current(c, p.app)
                prev = c.run(
                    f"cat {APPS_ROOT}/{p.app}/previous 2>/dev/null", hide=True, warn=True, in_stream=False
                ).stdout.strip()
            row |= {"current": version, "release": cur, "previous": prev or None}
        except Exception as e:  # an unreachable host is a row, not a crash
            row |= {"current": None, "previous": None, "error": str(e)[:200]}
        ok, body = health(p.address, p.port, p.health_path)
        row |= {"healthy": ok, "answering_version": body.get("version"), "detail": "" if ok else _why(body)}
        return row

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, placements(estate)))
