"""Device config backups: one directory per backup set, kept (never pruned by egov).

    <state>/net/backups/<estate>/<set id>/meta.json     {id, created, reason}
                                          <device>.cfg   the running config as the device printed it (0600)
                                          <device>.json  {device, platform, sha256, taken}

Set ids are UTC timestamps (20261128T061500Z, with -2, -3 ... if taken). `egov net backup`
makes a set of all devices; every `egov net push` makes one holding what it changed, before
it changed it, so `egov net rollback --all --to <push's set>` undoes a whole push.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from egov.core import paths
from egov.core.errors import EgovError


class BackupError(EgovError):
    pass


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


@dataclass
class BackupSet:
    id: str
    dir: Path

    def write(self, device: str, platform: str, text: str) -> Path:
        if not text.strip():
            raise BackupError(f"{device}: the device returned an empty running config; not backed up")
        p = self.dir / f"{device}.cfg"
        _write(p, text)
        _write(self.dir / f"{device}.json", json.dumps({
            "device": device, "platform": platform, "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "taken": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
        return p

    def devices(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.cfg"))

    def read(self, device: str) -> tuple[str, str]:
        """(platform, text) of one device's backup, checked against its recorded digest."""
        cfg, meta = self.dir / f"{device}.cfg", self.dir / f"{device}.json"
        if not cfg.exists() or not meta.exists():
            raise BackupError(f"backup {self.id} has no config for {device}")
        text = cfg.read_text()
        m = json.loads(meta.read_text())
        if hashlib.sha256(text.encode()).hexdigest() != m["sha256"]:
            raise BackupError(f"backup {self.id}/{device}.cfg does not match its recorded sha256 (edited or damaged)")
        return m["platform"], text

    def meta(self) -> dict:
        return json.loads((self.dir / "meta.json").read_text())


class BackupStore:
    def __init__(self, state_dir: Path, estate_name: str):
        self.root = paths.at(state_dir).net_backups(estate_name)

    def new(self, reason: str) -> BackupSet:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        base = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        n = 1
        while True:
            sid = base if n == 1 else f"{base}-{n}"
            d = self.root / sid
            try:
                d.mkdir()
                break
            except FileExistsError:
                n += 1
        _write(d / "meta.json", json.dumps({"id": sid, "created": time.time(), "reason": reason}))
        return BackupSet(sid, d)

    def get(self, sid: str) -> BackupSet:
        if sid == "latest":
            sets = self.list()
            if not sets:
                raise BackupError(f"no backups yet in {self.root}")
            return sets[-1]
        d = self.root / sid
        if not (d / "meta.json").exists():
            known = ", ".join(s.id for s in self.list()[-5:]) or "none"
            raise BackupError(f"no backup {sid!r} (recent: {known})")
        return BackupSet(sid, d)

    def list(self) -> list[BackupSet]:
        if not self.root.is_dir():
            return []
        return [BackupSet(d.name, d) for d in sorted(self.root.iterdir()) if (d / "meta.json").exists()]
