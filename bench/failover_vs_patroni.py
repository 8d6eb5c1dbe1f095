"""Unplanned failover, egov vs the standard way (Patroni + an etcd witness), side by side (issue 6).

One lab, both clusters on the same two database hosts: egov's (port 5432, built by `egov up`)
and a Patroni cluster (port 5433, synchronous_mode, Patroni's documented defaults ttl 30 /
loop_wait 10 / retry_timeout 10) with etcd as the third-site witness in the lab's controller.
A writer per cluster inserts a row every 50 ms and records every acknowledged commit. Then the
primary host is power-cut once, taking both primaries down at the same instant:
- egov: the drill's detection (two missed probes), fence, promote, as `egov dr failover` does;
- Patroni: on its own, once the leader key expires.
Printed: RTO (fault -> first acknowledged write on the new primary) and RPO (acknowledged writes
missing afterwards, counted) for both, and the ratio. Needs root; installs etcd-server (Debian)
and Patroni (PyPI, into /opt/egov-bench-patroni) before the lab boots; leaves no lab behind.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, egov

sys.path.insert(0, str(ROOT))

VENV = Path("/opt/egov-bench-patroni")
PATRONI_PORT = 5433


def sh(*argv, check=True, **kw):
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, **kw)


def install() -> None:
    if not shutil.which("etcd"):
        Path("/usr/sbin/policy-rc.d").write_text("#!/bin/sh\nexit 101\n")
        os.chmod("/usr/sbin/policy-rc.d", 0o755)
        try:
            sh("apt-get", "install", "-y", "-qq", "--no-install-recommends", "etcd-server",
               env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        finally:
            os.unlink("/usr/sbin/policy-rc.d")
    if not (VENV / "bin" / "patroni").exists():
        sh("/usr/bin/python3", "-m", "venv", str(VENV))
        sh(str(VENV / "bin" / "pip"), "install", "-q", "patroni[psycopg3,etcd3]==4.1.5")


class Writer(threading.Thread):
    def __init__(self, name: str, dsn: str):
        super().__init__(daemon=True)
        self.name_, self.dsn = name, dsn
        self.acked: list[tuple[str, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        conn, n = None, 0
        while not self.stop.is_set():
            n += 1
            ref = f"{self.name_}-{n}"
            try:
                if conn is None or conn.closed or conn.broken:
                    conn = psycopg.connect(self.dsn, autocommit=True)
                conn.execute("INSERT INTO bench_writes (ref) VALUES (%s)", (ref,))
                self.acked.append((ref, time.time()))
            except Exception:
                conn = None
                time.sleep(0.05)
            time.sleep(0.05)


def patroni_config(name: str, addr: str, etcd: str, pw: dict) -> str:
    cfg = {
        "scope": "bench", "name": name,
        "restapi": {"listen": f"{addr}:8008", "connect_address": f"{addr}:8008"},
        "etcd3": {"hosts": [etcd], "use_proxies": True},
        "bootstrap": {
            "dcs": {"ttl": 30, "loop_wait": 10, "retry_timeout": 10, "synchronous_mode": True,
                    "postgresql": {"use_pg_rewind": True,
                                   "parameters": {"wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on",
                                                  "synchronous_commit": "on"}}},
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
            "pg_hba": ["local all all peer", "host replication replicator 10.0.0.0/8 scram-sha-256",
                       "host all all 10.0.0.0/8 scram-sha-256", "host all all 169.254.0.0/16 scram-sha-256"],
        },
        "postgresql": {
            "listen": f"0.0.0.0:{PATRONI_PORT}", "connect_address": f"{addr}:{PATRONI_PORT}",
            "data_dir": "/var/lib/postgresql/15/patroni", "bin_dir": "/usr/lib/postgresql/15/bin",
            "pgpass": "/var/lib/postgresql/.pgpass-patroni",
            "authentication": {"superuser": {"username": "postgres", "password": pw["su"]},
                               "replication": {"username": "replicator", "password": pw["rep"]}},
            "parameters": {"unix_socket_directories": "/tmp"},
        },
    }
    return json.dumps(cfg)


def main() -> int:
    if os.geteuid() != 0:
        print("bench/failover_vs_patroni.py needs root")
        return 2
    install()  # before any host boots: the hosts' lower layer must not change under them
    from egov.core import secrets
    from egov.core.loader import load_estate
    from egov.datacenters.dr import DR, port_open
    from egov.lab import CTL, Lab
    from egov.target import resolve

    state = tempfile.mkdtemp(prefix="egov-bench-dr-")
    etcd_proc = None
    try:
        egov(state, "up")
        e = load_estate(ROOT / "estate/panyu")
        lab = Lab(e, Path(state))
        target = resolve(e, Path(state))
        dr = DR(
            e, target, Path(state), fencer=lambda h, reason: lab.fence(h, "/var/lib/postgresql/15/egov.fenced", reason)
        )
        pw = {"su": "bench-" + os.urandom(8).hex(), "rep": "bench-" + os.urandom(8).hex()}
        etcd_dir = Path(state) / "etcd"
        etcd_proc = subprocess.Popen(
            ["ip", "netns", "exec", CTL, "etcd", "--data-dir", str(etcd_dir), "--name", "witness",
             "--listen-client-urls", "http://169.254.1.1:2379,http://169.254.2.1:2379",
             "--advertise-client-urls", "http://169.254.1.1:2379,http://169.254.2.1:2379",
             "--listen-peer-urls", "http://127.0.0.1:2380"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        nodes = [
            ("dfs-db1", "dfs_db1", "10.20.3.31", "169.254.1.1:2379"),
            ("lr-db1", "lr_db1", "10.21.3.31", "169.254.2.1:2379"),
        ]
        for host, name, addr, etcd in nodes:
            b64 = base64.b64encode(patroni_config(name, addr, etcd, pw).encode()).decode()
            dr.remote.run(host, f"set -e; umask 077; echo {b64} | base64 -d > /etc/patroni-bench.yml; "
                                "chown postgres /etc/patroni-bench.yml; "
                                f"setsid -f runuser -u postgres -- {VENV}/bin/patroni /etc/patroni-bench.yml "
                                "> /var/log/postgresql/patroni-bench.log 2>&1 < /dev/null", timeout=30)
            time.sleep(8 if name == "dfs_db1" else 1)
        target.enter()
        import psycopg

        def pg(dsn, sql):
            with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as c:
                return c.execute(sql).fetchall() if sql.lstrip().upper().startswith("SELECT") else c.execute(sql)

        egov_pw = secrets.load(Path(state), e)["pg_superuser_password"]
        dsn_egov = (f"host=10.20.3.31,10.21.3.31 port=5432 user=postgres password={egov_pw} dbname=postgres "
                    "target_session_attrs=read-write connect_timeout=2 keepalives_idle=2 keepalives_interval=1 "
                    "keepalives_count=2 tcp_user_timeout=3000")
        dsn_pat = dsn_egov.replace("port=5432", f"port={PATRONI_PORT}").replace(egov_pw, pw["su"])
        deadline = time.time() + 90
        while time.time() < deadline:  # Patroni: replica up and synchronous
            try:
                rows = pg(dsn_pat, "SELECT sync_state FROM pg_stat_replication")
                if rows and rows[0][0] == "sync":
                    break
            except Exception:
                pass
            time.sleep(1)
        else:
            for host, *_ in nodes:
                log = dr.remote.run(host, "tail -5 /var/log/postgresql/patroni-bench.log", check=False).stdout
                print(f"--- {host} patroni log ---\n{log}")
            raise SystemExit("the Patroni cluster did not become synchronous in 90 s")
        for dsn in (dsn_egov, dsn_pat):
            for attempt in range(20):  # the Patroni leader may be reloading as its replica turns synchronous
                try:
                    pg(
                        dsn,
                        "CREATE TABLE IF NOT EXISTS bench_writes (ref text PRIMARY KEY, at timestamptz DEFAULT now())",
                    )
                    break
                except psycopg.OperationalError:
                    time.sleep(1)
            else:
                raise SystemExit("could not create the benchmark table")
        writers = {"egov": Writer("egov", dsn_egov), "patroni": Writer("patroni", dsn_pat)}
        for w in writers.values():
            w.start()
        time.sleep(5)
        t_fault = time.time()
        lab.crash("dfs-db1")  # both primaries lose power at the same instant
        misses = 0
        while misses < 2:  # egov: the drill's detection, then the failover as `egov dr failover`
            misses = misses + 1 if not port_open("10.20.3.31", 5432, 0.3) else 0
            time.sleep(0.1)
        dr.failover("legacy-room")
        deadline = time.time() + 120
        while time.time() < deadline and not all(any(t > t_fault for _, t in w.acked) for w in writers.values()):
            time.sleep(0.2)
        time.sleep(2)
        for w in writers.values():
            w.stop.set()
            w.join(timeout=5)
        out = {}
        for name, w in writers.items():
            dsn = dsn_egov if name == "egov" else dsn_pat
            first = min((t for _, t in w.acked if t > t_fault), default=None)
            found = {r[0] for r in pg(dsn, "SELECT ref FROM bench_writes")}
            lost = [ref for ref, _ in w.acked if ref not in found]
            out[name] = {"rto": (first - t_fault) if first else None, "acked": len(w.acked), "lost": len(lost)}
        print("unplanned failover: power cut of the primary database host (dfs-db1), both clusters at once")
        for name, label in (("egov", "egov (detect, fence, promote)"),
                            ("patroni", "Patroni 4.1.5 + etcd witness (ttl 30, loop_wait 10)")):
            r = out[name]
            rto = f"{r['rto']:.2f} s" if r["rto"] is not None else "no write within 120 s"
            print(f"  {label:55s} RTO {rto:>22s}   RPO {r['lost']} of {r['acked']} acknowledged writes lost")
        if out["egov"]["rto"] and out["patroni"]["rto"]:
            print(f"  ratio Patroni RTO / egov RTO: {out['patroni']['rto'] / out['egov']['rto']:.1f}x")
        return 0 if out["egov"]["lost"] == 0 and out["egov"]["rto"] is not None else 1
    finally:
        if etcd_proc:
            etcd_proc.kill()
        egov(state, "lab", "down", check=False)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
