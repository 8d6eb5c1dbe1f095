"""The lab hosts' minimal image: what a Debian cloud image has, built once with mmdebstrap.

    img = image.ensure(state_dir, progress)   # cached, or built (and a corrupt one rebuilt)
    img.rootfs                                # the read-only lower layer of every host

The cache is content-addressed: the key is the hash of everything that decides the image's content
(suite, variant, package list, the apt sources written into it, the mmdebstrap options). A build
goes to a temporary directory next to the cache and is renamed into place only once complete, with
its manifest written last; an image whose manifest is missing or wrong, or whose essential files
are gone, is named in one line and built again.

The image's apt sources point at the estate's internal mirror when one is given: a host never
installs from the internet (the mirror itself is built from the Debian registry, see the mirror
part of issue 13). The build itself fetches from the machine's apt sources' registry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from egov.core import paths
from egov.lab.netns import LabError

SUITE = "bookworm"
VARIANT = "minbase"
# what a Debian cloud image has, no more: the service manager, the SSH server the operator logs in
# with, the interpreter Ansible needs, TLS roots, the network tool, the package manager
PACKAGES = ("systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "ca-certificates", "iproute2",
            "apt", "sudo")
REGISTRY = "http://deb.debian.org/debian"
# files without which the image cannot be a host: a build that lacks one is corrupt
ESSENTIAL = ("usr/lib/systemd/systemd", "usr/sbin/sshd", "usr/bin/python3", "usr/bin/apt-get", "etc/os-release")
# no host keys or machine id in the image: each host gets its own (egov's prepare(), systemd's first boot)
CUSTOMIZE = ('rm -f "$1"/etc/ssh/ssh_host_*_key "$1"/etc/ssh/ssh_host_*_key.pub',
             'truncate -s 0 "$1"/etc/machine-id', 'rm -f "$1"/var/lib/dbus/machine-id')


@dataclass(frozen=True)
class Image:
    key: str
    dir: Path

    @property
    def rootfs(self) -> Path:
        return self.dir / "rootfs"

    @property
    def manifest(self) -> Path:
        return self.dir / "manifest.json"


def recipe(apt_source: str | None = None, packages: tuple[str, ...] = PACKAGES) -> dict:
    """Everything that decides the image's content (its cache key is this recipe's hash)."""
    sources = f"deb {apt_source} {SUITE} main\n" if apt_source else f"deb {REGISTRY} {SUITE} main\n"
    return {"suite": SUITE, "variant": VARIANT, "packages": sorted(set(packages)), "registry": REGISTRY,
            "sources.list": sources, "customize": list(CUSTOMIZE), "format": 1}


def key_of(r: dict) -> str:
    return hashlib.sha256(json.dumps(r, sort_keys=True).encode()).hexdigest()[:16]


def images_dir(state: Path) -> Path:
    return paths.at(state).root / "images"


def problem(img: Image) -> str | None:
    """Why a cached image cannot be used, or None if it can."""
    if not img.dir.exists():
        return "not built"
    try:
        m = json.loads(img.manifest.read_text())
    except FileNotFoundError:
        return "its manifest is missing (an interrupted build?)"
    except (OSError, ValueError) as e:
        return f"its manifest is unreadable ({e})"
    if m.get("key") != img.key:
        return f"its manifest names key {m.get('key')!r}"
    missing = [f for f in ESSENTIAL if not (img.rootfs / f).exists()]
    if missing:
        return f"{', '.join('/' + f for f in missing)} missing"
    return None


def build(img: Image, r: dict, log=None) -> dict:
    """Build the image into a temporary directory, then move it into place; returns its manifest."""
    if shutil.which("mmdebstrap") is None:
        raise LabError("mmdebstrap is not installed (scripts/install-deps installs it)")
    tmp = img.dir.with_name(f".{img.key}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sources = tmp / "sources.list"
    sources.write_text(r["sources.list"])
    argv = ["mmdebstrap", f"--variant={r['variant']}", "--mode=root", "--format=directory",
            "--include=" + ",".join(r["packages"]),
            *[f"--customize-hook={h}" for h in r["customize"]],
            f'--customize-hook=cp {sources} "$1"/etc/apt/sources.list',
            '--customize-hook=rm -f "$1"/etc/apt/sources.list.d/*.sources',
            r["suite"], str(tmp / "rootfs"), r["registry"]]
    t0 = time.monotonic()
    with open(tmp / "build.log", "w") as logf:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        tail = (tmp / "build.log").read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        shutil.rmtree(tmp, ignore_errors=True)
        raise LabError(f"image build failed (mmdebstrap exit {p.returncode}): {tail[0]}")
    installed = subprocess.run(["chroot", str(tmp / "rootfs"), "dpkg-query", "-W", "-f=${Package}\n"],
                               capture_output=True, text=True, check=True).stdout.split()
    manifest = {"key": img.key, "recipe": r, "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "seconds": round(time.monotonic() - t0, 1), "installed": sorted(installed),
                "mmdebstrap": _version()}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    if img.dir.exists():
        shutil.rmtree(img.dir)
    os.replace(tmp, img.dir)
    return manifest


def _version() -> str:
    r = subprocess.run(["mmdebstrap", "--version"], capture_output=True, text=True)
    return r.stdout.strip()


def ensure(state: Path, apt_source: str | None = None, *, rebuild: bool = False, note=None) -> tuple[Image, bool]:
    """The cached image for this recipe, built if missing or corrupt; (image, built now?)."""
    r = recipe(apt_source)
    img = Image(key_of(r), images_dir(state) / key_of(r))
    why = "rebuild asked for" if rebuild else problem(img)
    if why is None:
        return img, False
    if note and why != "not built":
        note(f"image {img.key}: {why}; rebuilding")
    img.dir.parent.mkdir(parents=True, exist_ok=True)
    build(img, r)
    return img, True
