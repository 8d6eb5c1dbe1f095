"""Backups of the base databases with pgBackRest: run, list, verify, restore into a scratch cluster.

The playbooks (role `pgbackrest`) set up one stanza per PostgreSQL cluster: every database host
archives its WAL to the repository host the estate names (`databases.yaml` `backup:`, at another
site), whose repository is encrypted with a key generated into the secrets file. This module only
drives that repository host over SSH (the target's ssh_config, as `egov dr` does): nothing here
copies data itself, and nothing here touches a running primary.

Restores go to a scratch cluster on the repository host (`<scratch dir>/<stanza>`, a Unix socket
only, `archive_mode=off`, so it can never push WAL into the stanza it came from). The key for a
restore is read from the secrets file and handed to pgBackRest on stdin/environment, never on a
command line; the scratch configuration on the host holds none.

Refusals and failures are one line naming what and where (`BackupError`): no backups declared, a
time before the oldest backup or in the future, an unknown backup label, a repository that the key
cannot decrypt, a file that `verify` finds corrupt (named), a repository host that cannot write.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from datetime import datetime, timezone
from pathlib import Path

from egov.core import secrets
from egov.core.errors import EgovError
from egov.core.model import Estate
from egov.core.state import clusters, stanza
from egov.datacenters.dr import PG_BIN, DrFailed, Remote
from egov.target import Target

SCRATCH_DIR = "/var/lib/egov-scratch"
SCRATCH_CONF = "/etc/pgbackrest/scratch.conf"
PGBR = "runuser -u postgres -- pgbackrest"
KINDS = ("full", "diff", "incr")


class BackupError(EgovError):
    exit_code = 5


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without a zone it is the estate's (Asia/Shanghai, UTC+8)."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BackupError(f"--to-time {text!r}: not a time like 2026-12-02T10:15:00+08:00") from None
    if t.tzinfo is None:
        from datetime import timedelta
        t = t.replace(tzinfo=timezone(timedelta(hours=8)))
    return t


def backups_of(info: dict) -> list[dict]:
    """The backups of one stanza's `pgbackrest info --output=json` entry, oldest first, as rows."""
    rows = []
    for b in info.get("backup", []):
        rows.append({
            "stanza": info.get("name"), "label": b["label"], "type": b["type"],
            "start": datetime.fromtimestamp(b["timestamp"]["start"], timezone.utc).isoformat(),
            "stop": datetime.fromtimestamp(b["timestamp"]["stop"], timezone.utc).isoformat(),
            "stop_epoch": b["timestamp"]["stop"], "size": b["info"]["size"],
            "repo_size": b["info"]["repository"]["size"], "wal_start": b["archive"]["start"],
            "wal_stop": b["archive"]["stop"], "prior": b.get("prior"), "error": bool(b.get("error")),
        })
    return sorted(rows, key=lambda r: r["stop_epoch"])


def choose_backup(rows: list[dict], *, to_time: datetime | None = None, label: str | None = None) -> dict:
    """The backup a restore starts from: the named one, or the newest that ended before `to_time`."""
    good = [r for r in rows if not r["error"]]
    if not good:
        raise BackupError("restore: the repository holds no backup yet (`egov backup run` takes one)")
    if label is not None:
        for r in good:
            if r["label"] == label:
                return r
        have = ", ".join(r["label"] for r in good)
        raise BackupError(f"restore: no backup {label!r} in the repository (have: {have})")
    assert to_time is not None
    if to_time.timestamp() > time.time():
        raise BackupError(f"restore: {to_time.isoformat()} is in the future")
    before = [r for r in good if r["stop_epoch"] <= to_time.timestamp()]
    if not before:
        o = good[0]
        raise BackupError(f"restore: {to_time.isoformat()} is before the oldest backup ({o['label']}, ended "
                          f"{o['stop']}): no backup to recover from")
    return before[-1]


_INVALID = re.compile(r"invalid (checksum|size|result)[^']*'([^']+)'")


def verify_findings(text: str) -> dict:
    """`pgbackrest verify` output (console at info) → status and the files it found bad.

    pgBackRest 2.45 exits 0 even when it finds corruption; the verdict is in its text."""
    bad = [{"problem": m.group(1), "file": m.group(2)} for m in _INVALID.finditer(text)]
    status = "error" if bad or re.search(r"status: error", text) else "ok"
    return {"status": status, "invalid": bad}


def _tail(r) -> str:
    lines = [x.strip() for x in (r.stderr + "\n" + r.stdout).splitlines() if x.strip()]
    err = [x for x in lines if "ERROR" in x]
    return (err or lines or [f"exit {r.returncode}"])[-1]


class Backups:
    def __init__(self, estate: Estate, target: Target, state_dir: Path):
        if estate.backup is None:
            raise BackupError("the estate declares no backups (databases.yaml: backup: repository_host ...)")
        self.estate = estate
        self.state_dir = Path(state_dir)
        self.conf = estate.backup
        self.repo = estate.backup.repository_host
        self.remote = Remote(target, state_dir)
        self.clusters = clusters(estate, state_dir)
        self.stanzas = [stanza(c["id"]) for c in self.clusters]

    # -- pgBackRest on the repository host ------------------------------------------------------
    def _pgbr(self, args: str, *, timeout: float = 60, check: bool = True, key: bool = False,
              what: str | None = None):
        cmd = f"{PGBR} {args}"
        stdin = None
        if key:  # the key on stdin into pgBackRest's environment: never on a command line
            cmd = f"IFS= read -r PGBACKREST_REPO1_CIPHER_PASS; export PGBACKREST_REPO1_CIPHER_PASS; {cmd}"
            stdin = self.key() + "\n"
        try:
            r = self.remote.run(self.repo, cmd, timeout=timeout, check=False, input=stdin)
        except DrFailed as e:
            raise BackupError(str(e)) from None
        if check and r.returncode != 0:
            raise BackupError(f"{self.repo}: {what or 'pgbackrest ' + args.split()[-1]} failed: {_tail(r)}")
        return r

    def key(self) -> str:
        k = secrets.load(self.state_dir, self.estate).get("pgbackrest_cipher_pass")
        if not k:
            raise BackupError(f"no pgbackrest_cipher_pass in {secrets.path(self.state_dir, self.estate)}")
        return k

    def info(self) -> list[dict]:
        r = self._pgbr("--log-level-console=error info --output=json", what="pgbackrest info")
        try:
            return json.loads(r.stdout)
        except json.JSONDecodeError:
            raise BackupError(f"{self.repo}: pgbackrest info printed no JSON: {_tail(r)}") from None

    def list(self) -> dict:
        infos = self.info()
        rows = [row for i in infos for row in backups_of(i)]
        archive = {i["name"]: {"min": (i.get("archive") or [{}])[-1].get("min"),
                               "max": (i.get("archive") or [{}])[-1].get("max"),
                               "status": i.get("status", {}).get("message")} for i in infos}
        return {"repository_host": self.repo, "repository_path": self.conf.repository_path,
                "backups": rows, "archive": archive}

    # -- backup / verify ------------------------------------------------------------------------
    def run(self, kind: str = "full") -> list[dict]:
        if kind not in KINDS:
            raise BackupError(f"backup type {kind!r}: use one of {', '.join(KINDS)}")
        made = []
        for c, s in zip(self.clusters, self.stanzas):
            t0 = time.monotonic()
            # a primary promoted since its last checkpoint still has the old timeline in pg_control,
            # which pgBackRest refuses ("WAL timeline N does not match pg_control timeline M")
            try:
                self.remote.psql(c["primary"], "CHECKPOINT;", timeout=120, what="checkpoint before the backup")
            except DrFailed as e:
                raise BackupError(str(e)) from None
            before = {r["label"] for r in self.list()["backups"] if r["stanza"] == s}
            self._pgbr(f"--stanza={s} --type={kind} --log-level-console=error backup", timeout=3600,
                       what=f"{kind} backup of stanza {s}")
            rows = [r for r in self.list()["backups"] if r["stanza"] == s and r["label"] not in before]
            if not rows:
                raise BackupError(f"{self.repo}: the {kind} backup of stanza {s} finished but is not in the repository")
            made.append(rows[-1] | {"seconds": round(time.monotonic() - t0, 1)})
        return made

    def verify(self) -> list[dict]:
        """`pgbackrest check` (WAL reaches the repository) and `verify` (every file's checksum) per stanza."""
        out = []
        for s in self.stanzas:
            chk = self._pgbr(f"--stanza={s} --log-level-console=error check", check=False, timeout=120)
            r = self._pgbr(f"--stanza={s} --log-level-console=info verify", check=False, timeout=1800)
            f = verify_findings(r.stdout + r.stderr)
            if r.returncode != 0:
                f["status"] = "error"
            out.append({"stanza": s, "check": "ok" if chk.returncode == 0 else _tail(chk), **f,
                        "error": None if r.returncode == 0 else _tail(r)})
        return out

    # -- restore into a scratch cluster ---------------------------------------------------------
    def restore_scratch(self, *, to_time: datetime | None = None, label: str | None = None,
                        cluster: str | None = None, wait: float = 600) -> dict:
        if (to_time is None) == (label is None):
            raise BackupError("restore: give exactly one of --to-time or --to-backup")
        c = self._cluster(cluster)
        s = stanza(c["id"])
        info = next((i for i in self.info() if i.get("name") == s), {})
        chosen = choose_backup(backups_of(info), to_time=to_time, label=label)
        d = f"{SCRATCH_DIR}/{s}"
        port = self.conf.scratch_port
        if to_time is not None:
            target = (f"--type=time --target={shlex.quote(to_time.isoformat(sep=' '))} "
                      "--target-action=promote --target-exclusive")
        else:
            target = "--type=immediate --target-action=promote"
        t0 = time.monotonic()
        self._stop_scratch(s)
        r = self._pgbr(f"--config={SCRATCH_CONF} --stanza={s} --log-level-console=warn restore "
                       f"--set={chosen['label']} {target}", key=True, check=False, timeout=3600)
        if r.returncode != 0:
            self._stop_scratch(s)
            text = r.stdout + r.stderr
            if "FormatError" in text or "unable to load info file" in text or "CryptoError" in text:
                raise BackupError(f"restore: the repository on {self.repo} cannot be read with the key in "
                                  f"{secrets.path(self.state_dir, self.estate)} (wrong pgbackrest_cipher_pass?)")
            raise BackupError(f"{self.repo}: restore of {chosen['label']} failed: {_tail(r)}")
        restored = time.monotonic()
        opts = (f"-c port={port} -c listen_addresses='' -c unix_socket_directories={SCRATCH_DIR} "
                f"-c archive_mode=off -c synchronous_standby_names='' -c cluster_name=scratch_{s}")
        start = (f"IFS= read -r PGBACKREST_REPO1_CIPHER_PASS; export PGBACKREST_REPO1_CIPHER_PASS; "
                 f"runuser -u postgres -- {PG_BIN}/pg_ctl -D {d} -l /var/log/pgbackrest/scratch-{s}.log -w -t 60 "
                 f"-o {shlex.quote(opts)} start >/dev/null")
        try:
            self._run(start, input=self.key() + "\n", timeout=90, what="start the scratch cluster")
        except BackupError:
            log = self.remote.run(self.repo, f"grep -E 'FATAL|PANIC' /var/log/pgbackrest/scratch-{s}.log | tail -n 1",
                                  check=False).stdout.strip()
            self._stop_scratch(s)
            if "recovery target was reached" in log:
                raise BackupError(f"restore: {to_time.isoformat() if to_time else chosen['label']} is later than the "
                                  "WAL archived in the repository so far (a segment is archived when full or after "
                                  "archive_timeout); nothing was changed") from None
            raise BackupError(f"{self.repo}: the scratch cluster {s} did not start: {log or 'see its log'}") from None
        psql = f"runuser -u postgres -- psql -X -At -h {SCRATCH_DIR} -p {port}"
        deadline = time.monotonic() + wait
        while True:
            r = self.remote.run(self.repo, f"{psql} -d postgres -c 'SELECT pg_is_in_recovery()'", check=False,
                                timeout=15)
            if r.stdout.strip() == "f":
                break
            dead = self.remote.run(self.repo, f"runuser -u postgres -- {PG_BIN}/pg_ctl -D {d} status >/dev/null",
                                   check=False, timeout=15).returncode == 3
            if dead or time.monotonic() > deadline:
                lf = f"/var/log/pgbackrest/scratch-{s}.log"
                log = self.remote.run(self.repo, f"grep -E 'FATAL|PANIC' {lf} | tail -n 1 | grep . || tail -n 1 {lf}",
                                      check=False)
                if "recovery target was reached" in log.stdout:
                    self._stop_scratch(s)
                    raise BackupError(f"restore: {to_time.isoformat() if to_time else chosen['label']} is later than "
                                      "the last commit in the WAL archived so far; nothing was changed")
                why = "stopped during recovery" if dead else f"did not finish recovery in {wait:g}s"
                self._stop_scratch(s)
                raise BackupError(f"{self.repo}: the scratch cluster {s} {why}: "
                                  f"{log.stdout.strip().splitlines()[-1] if log.stdout.strip() else r.stderr.strip()}")
            time.sleep(0.5)
        done = time.monotonic()
        return {"stanza": s, "host": self.repo, "backup": chosen, "to_time": to_time.isoformat() if to_time else None,
                "scratch": {"path": d, "socket": SCRATCH_DIR, "port": port},
                "restore_seconds": round(restored - t0, 1), "recovery_seconds": round(done - restored, 1),
                "total_seconds": round(done - t0, 1)}

    def scratch_sql(self, sql: str, db: str, cluster: str | None = None) -> str:
        """Run SQL in the scratch cluster (read it back after a restore)."""
        psql = f"runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -h {SCRATCH_DIR} -p {self.conf.scratch_port}"
        return self._run(f"{psql} -d {db}", input=sql, timeout=120, what="psql on the scratch cluster").stdout.strip()

    def drop_scratch(self, cluster: str | None = None) -> None:
        self._stop_scratch(stanza(self._cluster(cluster)["id"]))

    def _stop_scratch(self, s: str) -> None:
        d = f"{SCRATCH_DIR}/{s}"
        self._run(f"if [ -f {d}/postmaster.pid ]; then runuser -u postgres -- {PG_BIN}/pg_ctl -D {d} -m immediate "
                  f"-w stop >/dev/null || true; fi; rm -rf {d}", timeout=60, what="remove the scratch cluster")

    def _run(self, cmd: str, *, input: str | None = None, timeout: float = 60, what: str):
        try:
            return self.remote.run(self.repo, cmd, input=input, timeout=timeout, what=what)
        except DrFailed as e:
            raise BackupError(str(e)) from None

    def _cluster(self, cid: str | None) -> dict:
        if cid is None:
            if len(self.clusters) != 1:
                raise BackupError(f"the estate has {len(self.clusters)} database clusters: name one (--cluster)")
            return self.clusters[0]
        for c in self.clusters:
            if c["id"] == cid:
                return c
        raise BackupError(f"no database cluster {cid!r}")
