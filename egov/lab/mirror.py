"""The estate's package mirror: what hosts install from, and (in the lab) egov building it.

A government network's hosts never reach the internet: they take Debian packages from the
estate's internal apt mirror and the applications' wheels from its PyPI index
(`estate.yaml` `mirrors:`, see egov.core.model.Mirrors). A real estate runs its own mirror and
gives its URL and signing key. The lab builds one (`egov lab mirror build`, this module):

- the exact package set, collected from the roles as data (every role's
  `<role>_packages` in its defaults) plus the minimal host image's base;
- that set resolved with all its dependencies by apt's own resolver against an empty
  dpkg status (a minimal host, not this machine), downloaded from the machine's apt sources
  with a separate apt state (the machine's apt state is untouched), indexed with
  apt-ftparchive and signed (InRelease + Release.gpg) with a key generated in the state dir's
  secrets; the apps' wheelhouse as a PEP 503 simple index beside it.

Built once and cached in the state dir; rebuilt only when its inputs change (the package set,
the machine's apt sources, the wheelhouse).

Layout under `<state dir>/mirror/`:

    apt/                  a private apt root: its own sources (copied from the machine's), lists,
                          empty dpkg status (a minimal host, not this machine) and .deb cache
    www/debian/           the apt repository: pool/main/*.deb, dists/<suite>/{Release,InRelease,
                          Release.gpg}, dists/<suite>/main/binary-<arch>/Packages(.gz), egov-mirror.asc
    www/pypi/             the wheels: simple/ (PEP 503) and files/
    manifest.json         what was built from what (inputs digest, counts, size, key fingerprint)

The machine's apt state (/var/lib/apt, /var/cache/apt, /var/lib/dpkg) is never written: every
apt call runs with APT_CONFIG pointing at `apt/apt.conf`, whose `Dir` is the private root.
Besides the candidate closure, the pool also carries the version installed on this machine of
every closure package where the registry still has it: today's lab hosts see the machine's `/`
as their lower layer, so apt on them sees the mirror as the source of what is installed.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from egov.core import paths
from egov.core.errors import EgovError
from egov.lab.host import write_if_changed

# what a minimal host image has before any role runs (the cloud-image base of issue 13:
# systemd, openssh-server, python3, apt, ca-certificates, iproute2); the mirror carries it so a
# host built from nothing resolves against it
IMAGE_BASE = ("systemd", "openssh-server", "python3", "apt", "ca-certificates", "iproute2")


def role_packages(playbooks: Path | None = None) -> dict[str, list[str]]:
    """{role: [package, ...]} for every role that declares `<role>_packages` in its defaults."""
    roles = (playbooks or paths.playbooks()) / "roles"
    out: dict[str, list[str]] = {}
    for defaults in sorted(roles.glob("*/defaults/main.yml")):
        role = defaults.parent.parent.name
        data = yaml.safe_load(defaults.read_text()) or {}
        pkgs = data.get(f"{role}_packages")
        if pkgs is None:
            continue
        if not isinstance(pkgs, list) or not all(isinstance(p, str) and p for p in pkgs):
            raise ValueError(f"{defaults}: {role}_packages: a list of Debian package names is required")
        out[role] = list(pkgs)
    return out


# which hosts run which role (playbooks/site.yml): inventory groups per role, baseline everywhere
ROLE_GROUPS = {"postgresql": ("pg_primary", "pg_standby"),
               "pgbackrest": ("pg_primary", "pg_standby", "pgbackrest_repo"),
               "app_host": ("app",), "lb": ("lb",)}


def host_packages(host_id: str, hostvars: dict, groups: dict, playbooks: Path | None = None) -> list[str]:
    """The packages the roles of one host install (`groups`: the inventory's children)."""
    members = {g: set(v.get("hosts", {})) for g, v in groups.items()}
    out: list[str] = []
    for role, pkgs in role_packages(playbooks).items():
        gs = ROLE_GROUPS.get(role)
        runs = gs is None or any(host_id in members.get(g, ()) for g in gs)
        if role == "pgbackrest" and not hostvars.get("pgbr"):
            runs = False
        if runs:
            out += [p for p in pkgs if p not in out]
    return out


def wanted(playbooks: Path | None = None) -> list[str]:
    """The mirror's top-level set: the image base and every role's packages (sorted, once each)."""
    names = set(IMAGE_BASE)
    for pkgs in role_packages(playbooks).values():
        names.update(pkgs)
    return sorted(names)


FORMAT = 1
SERVED = "/srv/egov-mirror"  # where the mirror host sees `www/` (a read-only bind; egov.lab.host)
PATHS = {"apt": "/debian", "pypi": "/pypi"}  # the URL path of each on its host (egov.core.rules)
NGINX_CONF = """# egov lab: the estate's package mirror (nginx from Debian), written by egov lab up
user www-data;
worker_processes 1;
pid /run/egov-mirror-nginx.pid;
error_log /var/log/egov-mirror/error.log;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /var/log/egov-mirror/access.log;
    sendfile on;
    server {
        listen 80 default_server;
        server_name _;
        root %(root)s;
        location /debian/ { autoindex on; }
        location /pypi/ { autoindex on; index index.html; }
        location / { return 404; }
    }
}
"""
BOOT = """#!/bin/sh
# egov lab: serve the estate's package mirror (nginx; the lab's stand-in init runs boot.d at boot)
mkdir -p /var/log/egov-mirror
[ -f /run/egov-mirror-nginx.pid ] && kill -0 "$(cat /run/egov-mirror-nginx.pid)" 2>/dev/null && exit 0
exec nginx -c /etc/egov/mirror/nginx.conf
"""
APT_SOURCES = Path("/etc/apt")
KEY_NAME = "egov-mirror.asc"
_INST = re.compile(r"^Inst (\S+) (?:\[\S+\] )?\((\S+) .*\[(\S+)\]\)")


class MirrorError(EgovError):
    """The mirror could not be built (a package the roles need is not in the registry, apt failed)."""

    exit_code = 1


@dataclass
class Built:
    """What `build` did (also manifest.json)."""

    suite: str
    arch: str
    wanted: list[str]
    packages: int = 0  # distinct package names in the pool
    debs: int = 0  # .deb files in the pool (a package may have two versions: candidate + installed here)
    bytes: int = 0
    wheels: int = 0
    fingerprint: str = ""
    inputs: str = ""
    seconds: float = 0.0
    downloaded: int = 0  # .debs fetched from the registry in this run (0 when the apt cache was warm)
    not_in_registry: list[str] = field(default_factory=list)  # installed here at a version the registry lost
    cached: bool = False


Progress = Callable[[str], None]


def _run(cmd: list[str], *, env: dict | None = None, cwd: Path | None = None, what: str) -> str:
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise MirrorError(f"mirror: {what}: {cmd[0]} is not installed (scripts/install-deps installs it)") from None
    if p.returncode != 0:
        lines = [ln for ln in (p.stderr + p.stdout).splitlines() if ln.startswith("E:")] or \
                (p.stderr or p.stdout).strip().splitlines()[-1:] or ["no output"]
        raise MirrorError(f"mirror: {what}: {lines[0].removeprefix('E: ')}")
    return p.stdout


class Mirror:
    """The lab mirror of one state dir."""

    def __init__(self, state_dir: Path, *, suite: str = "bookworm", component: str = "main",
                 playbooks: Path | None = None, wheelhouse: Path | None = None, sources: Path = APT_SOURCES):
        self.root = paths.at(state_dir).mirror
        self.gnupg = paths.at(state_dir).mirror_gnupg
        self.suite, self.component = suite, component
        self.playbooks = playbooks
        self.wheelhouse = wheelhouse if wheelhouse is not None else paths.wheelhouse()
        self.sources = sources
        self.apt = self.root / "apt"
        self.www = paths.at(state_dir).mirror_www
        self.arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                                   check=True).stdout.strip()

    # ------------------------------------------------------------------ inputs and staleness
    def _source_files(self) -> list[Path]:
        out = [self.sources / "sources.list"] if (self.sources / "sources.list").is_file() else []
        d = self.sources / "sources.list.d"
        if d.is_dir():
            out += sorted(p for p in d.iterdir() if p.suffix in (".list", ".sources") and p.is_file())
        return out

    def _wheels(self) -> list[Path]:
        if not self.wheelhouse.is_dir():
            return []
        return sorted(p for p in self.wheelhouse.iterdir()
                      if p.is_file() and (p.suffix == ".whl" or p.name.endswith(".tar.gz")))

    def inputs_digest(self) -> str:
        h = hashlib.sha256(f"format {FORMAT} {self.suite} {self.component} {self.arch}\n".encode())
        for p in wanted(self.playbooks):
            h.update(f"pkg {p}\n".encode())
        for f in self._source_files():
            h.update(f"src {f.name}\n".encode() + f.read_bytes())
        for w in self._wheels():
            h.update(f"whl {w.name} {w.stat().st_size}\n".encode())
        return "sha256:" + h.hexdigest()

    def manifest(self) -> dict | None:
        try:
            return json.loads((self.root / "manifest.json").read_text())
        except (OSError, ValueError):
            return None

    def stale(self) -> str | None:
        """Why the mirror must be (re)built, or None when it is current."""
        m = self.manifest()
        if m is None:
            return "not built"
        if m.get("inputs") != self.inputs_digest():
            return "inputs changed (role packages, apt sources or wheelhouse)"
        if not (self.www / "debian" / "dists" / self.suite / "InRelease").is_file():
            return "repository incomplete"
        return None

    # ------------------------------------------------------------------ apt, with a private state
    def _apt_root(self) -> dict:
        a = self.apt
        for d in ("etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d",
                  "var/lib/apt/lists/partial", "var/lib/dpkg", "archives/partial", "var/cache/apt", "log"):
            (a / d).mkdir(parents=True, exist_ok=True)
        (a / "var/lib/dpkg/status").write_text("")  # resolve against an empty system: a minimal host
        for old in (a / "etc/apt/sources.list.d").iterdir():
            old.unlink()
        for f in self._source_files():
            dst = a / "etc/apt" / f.name if f.name == "sources.list" else a / "etc/apt/sources.list.d" / f.name
            shutil.copyfile(f, dst)
        conf = f'''Dir "{a}/";
Dir::State::status "{a}/var/lib/dpkg/status";
Dir::Etc::Trusted "/etc/apt/trusted.gpg";
Dir::Etc::TrustedParts "/etc/apt/trusted.gpg.d/";
Dir::Cache::archives "{a}/archives/";
Dir::Bin::dpkg "/usr/bin/dpkg";
Dir::Bin::methods "/usr/lib/apt/methods/";
Dir::Log "{a}/log";
APT::Architecture "{self.arch}";
APT::Architectures {{ "{self.arch}"; }};
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Debug::NoLocking "true";
Acquire::Languages "none";
APT::Sandbox::User "root";
'''
        (a / "apt.conf").write_text(conf)
        return {**os.environ, "APT_CONFIG": str(a / "apt.conf"), "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}

    def _essential(self) -> set[str]:
        """Essential and required packages: what every Debian system has (the resolver adds none of them
        itself when the dpkg status is empty)."""
        out: set[str] = set()
        for f in (self.apt / "var/lib/apt/lists").glob("*_Packages"):
            pkg = None
            with f.open(errors="replace") as fh:
                for line in fh:
                    if line.startswith("Package: "):
                        pkg = line[9:].strip()
                    elif pkg and (line.startswith("Essential: yes") or line.startswith("Priority: required")):
                        out.add(pkg)
        return out

    def _closure(self, env: dict, names: list[str]) -> list[tuple[str, str, str]]:
        """apt's own resolution of `names` on an empty system: [(package, version, arch)]."""
        try:
            text = _run(["apt-get", "-s", "-q", "install", *names], env=env, what="resolving the role packages")
        except MirrorError as e:
            m = re.search(r"Unable to locate package (\S+)", str(e))
            if m:
                raise MirrorError(f"mirror: package {m.group(1)} is not in the registry "
                                  f"(a role's <role>_packages names it)") from None
            raise
        return [(m.group(1), m.group(2), m.group(3)) for m in map(_INST.match, text.splitlines()) if m]

    @staticmethod
    def _installed_here() -> dict[str, str]:
        text = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Abbrev}\n"],
                              capture_output=True, text=True).stdout
        return {p: v for p, v, s in (ln.split("\t") for ln in text.splitlines() if ln.count("\t") == 2)
                if s.startswith("ii")}

    @staticmethod
    def deb_name(pkg: str, version: str, arch: str) -> str:
        return f"{pkg}_{version.replace(':', '%3a')}_{arch}.deb"

    # ------------------------------------------------------------------ the build
    def build(self, *, force: bool = False, progress: Progress | None = None) -> Built:
        say = progress or (lambda _msg: None)
        t0 = time.monotonic()
        inputs = self.inputs_digest()
        if not force and self.stale() is None:
            m = self.manifest()
            return Built(**{**m, "cached": True})
        top = wanted(self.playbooks)
        built = Built(suite=self.suite, arch=self.arch, wanted=top, inputs=inputs)
        env = self._apt_root()
        say("apt update (the machine's sources, private state)")
        _run(["apt-get", "-q", "update"], env=env, what="apt-get update")
        names = sorted(set(top) | self._essential())
        closure = self._closure(env, names)
        archives = self.apt / "archives"
        before = {p.name for p in archives.glob("*.deb")}
        say(f"download {len(closure)} packages")
        _run(["apt-get", "-q", "-y", "--download-only", "install", *names], env=env, what="downloading")
        files = {self.deb_name(p, v, a) for p, v, a in closure}
        here = self._installed_here()
        extra = [(p, here[p], a) for p, v, a in closure if p in here and here[p] != v]
        if extra:  # the machine's installed version too, where the registry still has it (one madison call)
            listed = _run(["apt-cache", "madison", *sorted({p for p, _, _ in extra})], env=env,
                          what="apt-cache madison")
            rows = (ln.split("|") for ln in listed.splitlines())
            offered = {(c[0].strip(), c[1].strip()) for c in rows if len(c) >= 2}
            fetch = []
            for p, v, a in extra:
                if (p, v) not in offered:
                    built.not_in_registry.append(f"{p}={v}")
                    continue
                files.add(self.deb_name(p, v, a))
                if not (archives / self.deb_name(p, v, a)).exists():
                    fetch.append(f"{p}={v}")
            if fetch:
                _run(["apt-get", "-q", "download", *fetch], env=env, cwd=archives,
                     what="downloading installed versions")
        missing = sorted(f for f in files if not (archives / f).exists())
        if missing:
            raise MirrorError(f"mirror: apt did not download {missing[0]} ({len(missing)} missing)")
        built.downloaded = len({p.name for p in archives.glob("*.deb")} - before)
        say("index and sign")
        self._repository(archives, sorted(files), built)
        say("PyPI simple index")
        built.wheels = self._pypi()
        built.seconds = round(time.monotonic() - t0, 2)
        (self.root / "manifest.json").write_text(json.dumps(asdict(built), indent=1) + "\n")
        return built

    def _repository(self, archives: Path, files: list[str], built: Built) -> None:
        new = self.www / "debian.new"
        shutil.rmtree(new, ignore_errors=True)
        pool = new / "pool" / self.component
        pool.mkdir(parents=True)
        for f in files:
            os.link(archives / f, pool / f)
        built.debs = len(files)
        built.packages = len({f.split("_", 1)[0] for f in files})
        built.bytes = sum((pool / f).stat().st_size for f in files)
        dist = new / "dists" / self.suite
        bindir = dist / self.component / f"binary-{self.arch}"
        bindir.mkdir(parents=True)
        index = _run(["apt-ftparchive", "packages", f"pool/{self.component}"], cwd=new, what="apt-ftparchive packages")
        (bindir / "Packages").write_text(index)
        with gzip.open(bindir / "Packages.gz", "wt") as g:
            g.write(index)
        opts = [f"-oAPT::FTPArchive::Release::{k}={v}" for k, v in (
            ("Origin", "egov"), ("Label", "egov estate mirror"), ("Suite", self.suite), ("Codename", self.suite),
            ("Architectures", self.arch), ("Components", self.component),
            ("Description", "the estate's internal Debian mirror, built by egov lab mirror build"))]
        release = _run(["apt-ftparchive", *opts, "release", f"dists/{self.suite}"], cwd=new,
                       what="apt-ftparchive release")
        (dist / "Release").write_text(release)
        built.fingerprint = self._key()
        gpg = ["gpg", "--batch", "--quiet", "--homedir", str(self.gnupg), "--local-user", built.fingerprint]
        _run(gpg + ["--clearsign", "-o", str(dist / "InRelease"), str(dist / "Release")], what="signing InRelease")
        _run(gpg + ["-abs", "-o", str(dist / "Release.gpg"), str(dist / "Release")], what="signing Release.gpg")
        subprocess.run(["gpg", "--batch", "--homedir", str(self.gnupg), "--armor", "--output", str(new / KEY_NAME),
                        "--export", built.fingerprint], check=True, capture_output=True)
        old = self.www / "debian"
        if old.exists():
            shutil.rmtree(old)
        new.rename(old)

    def _key(self) -> str:
        """The mirror's signing key (generated once, kept in the state dir's secrets): its fingerprint."""
        self.gnupg.mkdir(parents=True, exist_ok=True)
        os.chmod(self.gnupg.parent, 0o700)
        os.chmod(self.gnupg, 0o700)
        base = ["gpg", "--batch", "--homedir", str(self.gnupg), "--with-colons"]
        fp = self._fingerprint(base)
        if fp is None:
            subprocess.run(["gpg", "--batch", "--homedir", str(self.gnupg), "--pinentry-mode", "loopback",
                            "--passphrase", "", "--quick-gen-key", "egov lab mirror <mirror@egov.invalid>",
                            "ed25519", "sign", "never"], check=True, capture_output=True)
            fp = self._fingerprint(base)
        if fp is None:
            raise MirrorError("mirror: gpg made no signing key")
        return fp

    @staticmethod
    def _fingerprint(base: list[str]) -> str | None:
        text = subprocess.run(base + ["--list-secret-keys"], capture_output=True, text=True).stdout
        fprs = [ln.split(":")[9] for ln in text.splitlines() if ln.startswith("fpr:")]
        return fprs[0] if fprs else None

    def stop_agent(self) -> None:
        """gpg starts an agent in the key's home; it must not outlive the build."""
        if self.gnupg.is_dir():
            subprocess.run(["gpgconf", "--homedir", str(self.gnupg), "--kill", "gpg-agent"], capture_output=True)

    def _pypi(self) -> int:
        """The wheelhouse as a PEP 503 simple repository: simple/<normalised name>/ lists the files,
        each link with its sha256 fragment."""
        from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

        new = self.www / "pypi.new"
        shutil.rmtree(new, ignore_errors=True)
        (new / "files").mkdir(parents=True)
        projects: dict[str, list[tuple[str, str]]] = {}
        for w in self._wheels():
            name = parse_wheel_filename(w.name)[0] if w.suffix == ".whl" else parse_sdist_filename(w.name)[0]
            os.link(w, new / "files" / w.name)
            digest = hashlib.sha256(w.read_bytes()).hexdigest()
            projects.setdefault(canonicalize_name(name), []).append((w.name, digest))
        simple = new / "simple"
        simple.mkdir()
        links = "".join(f'<a href="{html.escape(p)}/">{html.escape(p)}</a><br/>\n' for p in sorted(projects))
        (simple / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")
        for p, fs in projects.items():
            (simple / p).mkdir()
            body = "".join(f'<a href="../../files/{html.escape(f)}#sha256={d}">{html.escape(f)}</a><br/>\n'
                           for f, d in sorted(fs))
            (simple / p / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{body}</body></html>\n")
        old = self.www / "pypi"
        if old.exists():
            shutil.rmtree(old)
        new.rename(old)
        return sum(len(fs) for fs in projects.values())


def serve(host_id: str, upper: Path) -> list[str]:
    """Make the mirror host serve the mirror from its next boot: nginx's config and its boot.d script,
    written into the host's disk (upper layer) like its host keys. Returns what changed."""
    changed = []
    if write_if_changed(upper / "etc/egov/mirror/nginx.conf", NGINX_CONF % {"root": SERVED}):
        changed.append(f"{host_id}: mirror nginx config")
    if write_if_changed(upper / "etc/egov/boot.d/01-egov-mirror.sh", BOOT, mode=0o755):
        changed.append(f"{host_id}: mirror boot script")
    return changed


def build(state_dir: Path, *, force: bool = False, progress: Progress | None = None, **kw) -> Built:
    """Build (or reuse) the lab mirror of `state_dir`; the gpg agent is stopped afterwards."""
    m = Mirror(state_dir, **kw)
    try:
        return m.build(force=force, progress=progress)
    finally:
        m.stop_agent()
