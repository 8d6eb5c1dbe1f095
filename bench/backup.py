"""Backups (issue 18): PITR of the four base databases (seeded size) into a scratch cluster, against a
plain `pg_basebackup` of the same cluster to the other site (the standby's host), same run.

Target: the restore (files + WAL replay, to a point after the backup) within 3x the basebackup's time
(the restore reads an encrypted, compressed repository and replays WAL; the basebackup only streams).
Named baseline: `pg_basebackup -X stream` from the primary to lr-db1 (replication login there).
Needs root; brings a lab up under a temporary state dir (`egov up`), takes one full backup, and takes
the lab down at the end (also on failure). Run it under /run/egov-lab.lock like any lab command.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timezone

from common import egov

TARGET_RATIO = 3.0


def lab_ssh(state: str, host: str, cmd: str) -> str:
    r = subprocess.run(["ip", "netns", "exec", "egov-ctl", "ssh", "-F", f"{state}/lab/ssh/config", host, cmd],
                       capture_output=True, text=True, timeout=900)
    if r.returncode:
        raise SystemExit(f"{host}: {cmd[:60]} failed: {r.stderr.strip()}")
    return r.stdout


def main() -> None:
    state = tempfile.mkdtemp(prefix="egov-bench-backup-", dir="/var/lib")
    try:
        egov(state, "up")
        egov(state, "backup", "run", "--type", "full")
        time.sleep(2)
        now = datetime.now(timezone.utc).isoformat()
        time.sleep(1)
        lab_ssh(state, "dfs-db1", "runuser -u postgres -- psql -X -At -h /run/postgresql -d postgres "
                "-c 'CREATE TABLE bench_mark (); DROP TABLE bench_mark' -c 'SELECT pg_switch_wal()'")
        # a commit after `now` (recovery stops there) and the WAL up to it in the repository
        time.sleep(3)
        t_restore, out = egov(state, "restore", "--to-time", now, "--json")
        res = json.loads(out)
        lab_ssh(state, "lr-app2", "runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "
                "/var/lib/egov-scratch/dfs_db1 -m immediate stop; rm -rf /var/lib/egov-scratch/dfs_db1")
        t0 = time.perf_counter()
        # from the standby's host (it has the replication login and pg_hba admits it), also at the other site
        lab_ssh(state, "lr-db1", "rm -rf /tmp/bb && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_basebackup "
                "-h 10.20.3.31 -U replicator -D /tmp/bb -X stream --checkpoint=fast && rm -rf /tmp/bb")
        t_bb = time.perf_counter() - t0
        ratio = res["total_seconds"] / t_bb
        print(f"PITR restore into scratch: {res['total_seconds']:.1f} s (files {res['restore_seconds']} s, WAL replay "
              f"{res['recovery_seconds']} s; CLI {t_restore:.1f} s)")
        print(f"pg_basebackup of the same cluster: {t_bb:.1f} s")
        print(f"ratio {ratio:.2f} (target <= {TARGET_RATIO:g}): {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
    finally:
        egov(state, "lab", "down", check=False)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
