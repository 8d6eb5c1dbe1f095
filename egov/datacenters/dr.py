"""Disaster recovery between the sites: status, switchover, failover (fenced), failback, guard.

Every action works on the estate's PostgreSQL clusters through SSH to the database hosts
(the target's ssh_config, multiplexed), records the new state in `<state dir>/dr/<estate>.json`
(current primary, service endpoint, degraded, fenced hosts) and returns a timeline of
timestamped steps, which the CLI journals and the drills put into their reports.

Safety rules (each refusal is one line naming why):
- switchover needs a streaming, synchronous standby with nothing left to replay;
- failover fences the old primary first; it refuses while the old primary still answers
  as a primary (use switchover), and it never promotes by itself;
- failback rewinds the old primary (pg_rewind) into a standby before anything moves back.
"""

from __future__ import annotations

import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from egov.core import secrets
from egov.core.errors import EgovError
from egov.core.model import Estate
from egov.core.state import RuntimeState, clusters, slot_name
from egov.target import Target

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_DATA = "/var/lib/postgresql/15/egov"
FENCE = "/var/lib/postgresql/15/egov.fenced"
PSQL = "runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -h /run/postgresql"
PG_CTL = f"runuser -u postgres -- {PG_BIN}/pg_ctl -D {PG_DATA}"


class DrRefused(EgovError):
    """A DR request that would be unsafe; nothing was changed."""

    exit_code = 4


class DrFailed(EgovError):
    pass


# ----------------------------------------------------------------------------- remote access
class Remote:
    def __init__(self, target: Target, state_dir: Path):
        self.target = target
        self.cfg = target.mux_config(state_dir)
        target.enter()

    def run(self, host: str, cmd: str, *, timeout: float = 20, check: bool = True, input: str | None = None,
            what: str | None = None) -> subprocess.CompletedProcess:
        argv = ["ssh", "-F", str(self.cfg), "-o", "ConnectTimeout=3", "-o", "ServerAliveInterval=2",
                "-o", "ServerAliveCountMax=2", host, cmd]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout, input=input)
        except subprocess.TimeoutExpired:
            if check:
                raise DrFailed(f"{host}: {what or cmd[:60]} timed out after {timeout:g}s") from None
            return subprocess.CompletedProcess(argv, 124, "", "timeout")
        if check and r.returncode != 0:
            tail = (r.stderr.strip() or r.stdout.strip() or f"exit {r.returncode}").splitlines()[-1]
            raise DrFailed(f"{host}: {what or cmd[:60]} failed: {tail}")
        return r

    def psql(self, host: str, sql: str, db: str = "postgres", *, timeout: float = 10, what: str | None = None) -> str:
        return self.run(host, f"{PSQL} -d {db}", input=sql, timeout=timeout, what=what or "psql").stdout.strip()


def port_open(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


# ----------------------------------------------------------------------------- state
@dataclass
class Timeline:
    t0: float = field(default_factory=time.time)
    steps: list[dict] = field(default_factory=list)
    on_step: Callable[[str], None] | None = None

    def step(self, name: str, detail: str = "", **extra) -> float:
        now = time.time()
        self.steps.append({"t": now, "offset_s": round(now - self.t0, 3), "step": name, "detail": detail, **extra})
        if self.on_step:
            self.on_step(f"{name}{': ' + detail if detail else ''}")
        return now


class DR:
    def __init__(self, estate: Estate, target: Target, state_dir: Path, *, fencer=None):
        self.estate = estate
        self.target = target
        self.state_dir = Path(state_dir)
        self.remote = Remote(target, state_dir)
        self.fencer = fencer
        self.addr = {h.id: str(h.address) for _, h in estate.hosts()}
        self.site_of = {h.id: s.id for s, h in estate.hosts()}
        self.runtime = RuntimeState(state_dir, estate)

    # -- runtime state (egov.core.state: DR is its only writer) ---------------------------
    def state(self) -> dict:
        return self.runtime.read()

    def save(self, data: dict) -> None:
        self.runtime.write(data)

    def cluster(self, cid: str | None = None) -> dict:
        cs = clusters(self.estate, self.state_dir)
        if cid is None:
            if len(cs) != 1:
                raise DrRefused(f"the estate has {len(cs)} database clusters: name one")
            return cs[0]
        for c in cs:
            if c["id"] == cid:
                return c
        raise DrRefused(f"no database cluster {cid!r}")

    def endpoint_address(self, site_id: str | None = None) -> str:
        site = self.estate.site(site_id or self.state()["endpoint"])
        return str(site.service_address)

    # -- status ----------------------------------------------------------------------------
    def member(self, host: str) -> dict:
        out = {"host": host, "site": self.site_of[host], "address": self.addr[host], "reachable": False,
               "running": False, "role": None}
        r = self.remote.run(host, f"{PSQL} -d postgres", check=False, timeout=8, input="""
            SELECT pg_is_in_recovery(),
                   CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                   current_setting('synchronous_standby_names'),
                   coalesce((SELECT status FROM pg_stat_wal_receiver), '');
            SELECT application_name || '|' || state || '|' || sync_state || '|' ||
                   coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), -1) || '|' ||
                   coalesce(round(extract(epoch FROM now() - reply_time)::numeric, 2), -1)
              FROM pg_stat_replication WHERE NOT pg_is_in_recovery();""")
        if r.returncode == 255 or r.returncode == 124:
            return out
        out["reachable"] = True
        fenced = self.remote.run(host, f"test -e {FENCE} && cat {FENCE}", check=False, timeout=5)
        out["fenced"] = fenced.returncode == 0
        if r.returncode != 0:
            return out
        lines = r.stdout.strip().splitlines()
        rec, lsn, sync_names, receiver = lines[0].split("|")
        out |= {"running": True, "role": "standby" if rec == "t" else "primary", "lsn": lsn,
                "synchronous_standby_names": sync_names, "receiver": receiver or None, "standbys": []}
        for line in lines[1:]:
            name, state, sync, lag, reply_age = line.split("|")
            out["standbys"].append({"name": name, "state": state, "sync_state": sync, "lag_bytes": int(float(lag)),
                                    "reply_age_s": float(reply_age)})
        return out

    def status(self) -> dict:
        st = self.state()
        out = {"estate": self.estate.meta.name, "endpoint": st["endpoint"],
               "endpoint_address": self.endpoint_address(st["endpoint"]), "clusters": [],
               "last_drill": st.get("last_drill")}
        for c in clusters(self.estate, self.state_dir):
            with ThreadPoolExecutor(max_workers=len(c["members"])) as pool:
                members = list(pool.map(self.member, c["members"]))
            primaries = [m["host"] for m in members if m["role"] == "primary"]
            p = next((m for m in members if m["host"] == c["primary"]), None)
            sync = [s for s in (p or {}).get("standbys", []) if s["sync_state"] == "sync" and s["state"] == "streaming"]
            degraded = bool(st.get("degraded", {}).get(c["id"])) or not sync
            entry = {
                "id": c["id"], "databases": c["databases"], "primary": c["primary"],
                "primary_site": self.site_of[c["primary"]], "members": members,
                "split_brain": len(primaries) > 1, "degraded": degraded,
                "rpo_zero": bool(sync) and not st.get("degraded", {}).get(c["id"]),
                "fenced": [m for m in st["fenced"] if m in c["members"]],
                "rejoining": st.get("rejoining", {}).get(c["id"]),
            }
            entry["problems"] = self._problems(entry, p)
            entry["steady"] = not entry["problems"]
            out["clusters"].append(entry)
        return out

    def _problems(self, c: dict, p: dict | None) -> list[str]:
        """What keeps a cluster from its steady state, each naming the host and the way back."""
        out = []
        primary = c["primary"]
        streaming = {s["name"]: s for s in (p or {}).get("standbys", []) if s["state"] == "streaming"}
        if c["split_brain"]:
            both = ", ".join(m["host"] for m in c["members"] if m["role"] == "primary")
            out.append(f"split brain: {both} all run as primary; fence the one that is not {primary}")
        if p is None or p["role"] != "primary":
            why = "unreachable" if not (p or {}).get("reachable") else (p or {}).get("role") or "stopped"
            out.append(f"{primary}, the recorded primary, is not running as a primary ({why}): "
                       f"start it, or `egov dr failover --to <site>` if its site is lost")
        rj = c.get("rejoining")
        for m in c["members"]:
            h = m["host"]
            if h == primary:
                continue
            if rj and rj.get("host") == h:
                out.append(f"{h}: a failback started {rj.get('since', '?')} did not finish "
                           f"({'stopped' if not m['running'] else m['role']}, not streaming): "
                           "finish it with `egov dr failback` (or `egov up`)")
            elif h in c["fenced"]:
                state = "not reachable" if not m["reachable"] else (
                    "stopped" if not m["running"] else f"running as {m['role']}")
                out.append(f"{h} is fenced since a failover to {primary} ({state}; neither rewound nor streaming): "
                           "rejoin it with `egov dr failback` (switches back) or `egov dr failback --stay`")
            elif not m["reachable"]:
                out.append(f"{h} is not reachable (power or network): start it; it rejoins by itself")
            elif not m["running"]:
                out.append(f"{h} does not run PostgreSQL: start it, or `egov build --limit {h}`")
            elif slot_name(h) not in streaming:
                out.append(f"{h} runs as {m['role']} but does not stream from {primary}: "
                           f"`egov dr failback --stay --reseed` rebuilds it from {primary}")
        if not out and c["degraded"]:
            out.append(f"degraded: {primary} has no synchronous standby confirming commits (RPO = 0 not guaranteed): "
                       "`egov dr guard` restores synchronous commit once a standby streams")
        return out

    # -- helpers ---------------------------------------------------------------------------
    def _set_sync(self, host: str, names: list[str]) -> None:
        value = f"FIRST 1 ({', '.join(chr(34) + n + chr(34) for n in names)})" if names else ""
        self.remote.psql(host, f"ALTER SYSTEM SET synchronous_standby_names = '{value}';\nSELECT pg_reload_conf();",
                         what="set synchronous_standby_names")

    def _promote(self, host: str) -> None:
        """Promote in one round trip; synchronous commit is relaxed first (no standby could confirm
        commits yet), so the new primary accepts writes the moment it is promoted."""
        out = self.remote.psql(host, "ALTER SYSTEM SET synchronous_standby_names = '';\nSELECT pg_reload_conf();\n"
                                     "SELECT pg_promote(true, 30);", what=f"promote {host}", timeout=40)
        if not out.strip().endswith("t"):
            raise DrFailed(f"{host}: promotion did not complete within 30s")

    def _wait(self, what: str, fn, timeout: float, interval: float = 0.1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(interval)
        raise DrFailed(f"timed out after {timeout:g}s waiting for {what}")

    def _streaming(self, primary: str, standby: str, sync: bool = False) -> bool:
        m = self.member(primary)
        return any(
            s["name"] == slot_name(standby) and s["state"] == "streaming" and (not sync or s["sync_state"] == "sync")
            for s in m.get("standbys", [])
        )

    def _make_standby(self, host: str, primary: str) -> None:
        """Configure a stopped cluster on `host` to stream from `primary` (with its own slot) and start it."""
        slot = slot_name(host)
        self.remote.psql(primary, f"SELECT pg_create_physical_replication_slot('{slot}') WHERE NOT EXISTS "
                                  f"(SELECT FROM pg_replication_slots WHERE slot_name = '{slot}');", what="create slot")
        conninfo = (f"host={self.addr[primary]} port=5432 user=replicator application_name={slot} "
                    "passfile=/var/lib/postgresql/.pgpass connect_timeout=3")
        self.remote.run(
            host,
            f"set -e; f={PG_DATA}/postgresql.auto.conf; "
            f"sed -i -E '/^(primary_conninfo|primary_slot_name|synchronous_standby_names)/d' $f; "
            f'printf "%s\\n" "primary_conninfo = \'{conninfo}\'" "primary_slot_name = \'{slot}\'" >> $f; '
            f"runuser -u postgres -- touch {PG_DATA}/standby.signal; rm -f {FENCE}; "
            f"/etc/egov/boot.d/20-postgresql.sh >/dev/null",
            what="start as standby",
            timeout=60,
        )

    def _fresh_peer_names(self, c: dict, primary: str) -> list[str]:
        return [slot_name(m) for m in c["members"] if m != primary]

    # -- switchover ------------------------------------------------------------------------
    def switchover(self, to_site: str, *, cluster: str | None = None, tl: Timeline | None = None) -> Timeline:
        tl = tl or Timeline()
        c = self.cluster(cluster)
        old = c["primary"]
        new = next((m for m in c["members"] if self.site_of[m] == to_site), None)
        if new is None:
            raise DrRefused(f"cluster {c['id']} has no member at site {to_site!r}")
        if new == old:
            raise DrRefused(f"{to_site} already holds the primary ({old})")
        st = self.state()
        p = self.member(old)
        if p["role"] != "primary":
            raise DrRefused(
                f"the primary {old} is not running as a primary "
                f"({'unreachable' if not p['reachable'] else p['role'] or 'stopped'}): "
                "a planned switchover needs it; for a lost site use `egov dr failover`"
            )
        sb = next((s for s in p["standbys"] if s["name"] == slot_name(new)), None)
        if sb is None or sb["state"] != "streaming":
            raise DrRefused(f"standby {new} is not streaming from {old}: switching over would lose data")
        if sb["sync_state"] != "sync" or st.get("degraded", {}).get(c["id"]):
            raise DrRefused(
                f"standby {new} is not synchronous (cluster degraded): restore synchronous replication first"
            )
        if sb["lag_bytes"] > 16 * 1024 * 1024:
            raise DrRefused(f"standby {new} lags {sb['lag_bytes']} bytes behind: wait until it has caught up")
        tl.step("switchover requested", f"{old} ({self.site_of[old]}) -> {new} ({to_site})")
        tl.step("stop writes", f"clean shutdown of {old}: its last WAL goes to {new}", mark="writes_stopped")
        # one round trip: a clean shutdown, then the shutdown checkpoint the standby must have
        ckpt = self.remote.run(old, f"{PG_CTL} stop -m fast -w -t 30 >/dev/null && "
                                    f"{PG_BIN}/pg_controldata {PG_DATA} | sed -n 's/^Latest checkpoint location: *//p'",
                               what=f"stop {old}", timeout=40).stdout.strip()
        self._wait(f"{new} to receive {old}'s shutdown checkpoint {ckpt}", lambda: self.remote.psql(
            new, f"SELECT pg_last_wal_receive_lsn() >= '{ckpt}'::pg_lsn") == "t", 10)
        tl.step("standby caught up", f"{new} has everything up to {ckpt}")
        self._promote(new)
        tl.step("promoted", f"{new} accepts writes", mark="writes_resumed")
        st["clusters"][c["id"]] = {"primary": new}
        st["endpoint"] = to_site
        st.setdefault("degraded", {})[c["id"]] = True
        self.save(st)
        tl.step("endpoint moved", f"service endpoint -> {to_site} ({self.endpoint_address(to_site)})")
        self._make_standby(old, new)
        self._wait(f"{old} to stream from {new}", lambda: self._streaming(new, old), 30, 0.2)
        tl.step("replication reversed", f"{old} streams from {new}")
        self._set_sync(new, self._fresh_peer_names(c, new))
        self._wait(f"{old} to become synchronous", lambda: self._streaming(new, old, sync=True), 30, 0.2)
        st["degraded"][c["id"]] = False
        self.save(st)
        tl.step("synchronous again", f"{old} confirms every commit: RPO = 0")
        return tl

    # -- failover --------------------------------------------------------------------------
    def failover(self, to_site: str, *, cluster: str | None = None, tl: Timeline | None = None,
                 fenced_manually: bool = False) -> Timeline:
        tl = tl or Timeline()
        c = self.cluster(cluster)
        old = c["primary"]
        new = next((m for m in c["members"] if self.site_of[m] == to_site), None)
        if new is None or new == old:
            raise DrRefused(f"no standby of cluster {c['id']} at site {to_site!r}")
        n = self.member(new)
        if n["role"] != "standby":
            raise DrRefused(
                f"{new} is not a running standby ({'unreachable' if not n['reachable'] else n['role'] or 'stopped'})"
            )
        tl.step("failover declared", f"{old} ({self.site_of[old]}) is lost; promoting {new} ({to_site})")
        if port_open(self.addr[old], 5432, 0.5) and self.member(old).get("role") == "primary":
            raise DrRefused(f"{old} still answers as a primary: use `egov dr switchover`, or fence it first")
        # fence first: the old primary must never accept writes again, even when it comes back
        if self.fencer is not None:
            self.fencer(old, reason=f"failover to {new} at {time.strftime('%Y-%m-%dT%H:%M:%S')}")
        elif not fenced_manually:
            raise DrRefused(f"cannot fence {old} on this target: power it off yourself, then pass --fenced-manually")
        st = self.state()
        st["fenced"] = sorted(set(st["fenced"]) | {old})
        self.save(st)
        tl.step("fenced", f"{old} powered off and marked: it will not start PostgreSQL by itself")
        self._promote(new)
        tl.step("promoted", f"{new} accepts writes; RPO = 0 no longer holds until a standby rejoins",
                mark="writes_resumed")
        st["clusters"][c["id"]] = {"primary": new}
        st["endpoint"] = to_site
        st.setdefault("degraded", {})[c["id"]] = True
        self.save(st)
        tl.step("endpoint moved", f"service endpoint -> {to_site} ({self.endpoint_address(to_site)})")
        return tl

    # -- failback ------------------------------------------------------------------------
    def failback(self, *, cluster: str | None = None, tl: Timeline | None = None, switch_back: bool = True,
                 reseed: bool = False) -> Timeline:
        """Rejoin the old primary as a synchronous standby, then (unless told to stay) switch back.

        Resumable: a failback that stopped halfway (a failed rewind, a standby that never became
        synchronous, a failed switch back) is finished by running it again; the DR state records
        it as `rejoining` until the old primary streams synchronously."""
        tl = tl or Timeline()
        c = self.cluster(cluster)
        cur = c["primary"]
        st = self.state()
        home = c["id"]  # a cluster is named after the estate's primary host
        if home == cur and home not in st["fenced"]:
            raise DrRefused(f"{home} already is the primary: nothing to fail back")
        m = self.member(home)
        if not m["reachable"]:
            raise DrRefused(f"{home} is not reachable: start it first (`egov lab start {home}` on the lab)")
        if m["role"] == "primary":
            raise DrRefused(f"{home} runs as a primary beside {cur}: split brain; fence {home} before failing back")
        tl.step("failback requested", f"rejoin {home} as a standby of {cur}" + (" (re-seeded)" if reseed else ""))
        st.setdefault("rejoining", {})[c["id"]] = {"host": home, "since": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                                  "switch_back": switch_back}
        self.save(st)
        if m["role"] == "standby" and self._streaming(cur, home) and not reseed:
            tl.step("already streaming", f"{home} streams from {cur}: no rewind needed")
        else:
            if m["running"]:
                self.remote.run(home, f"{PG_CTL} stop -m fast -w -t 30 >/dev/null", what=f"stop {home}", timeout=40)
            if reseed:
                self._reseed(home, cur, tl)
            else:
                self._rewind(home, cur, tl)
            self._make_standby(home, cur)
        self._wait(f"{home} to stream from {cur}", lambda: self._streaming(cur, home), 60, 0.2)
        self._set_sync(cur, self._fresh_peer_names(c, cur))
        self._wait(f"{home} to become synchronous", lambda: self._streaming(cur, home, sync=True), 30, 0.2)
        st = self.state()
        st["fenced"] = [f for f in st["fenced"] if f != home]
        st.setdefault("degraded", {})[c["id"]] = False
        st.get("rejoining", {}).pop(c["id"], None)
        self.save(st)
        tl.step("rejoined", f"{home} is a synchronous standby of {cur}: RPO = 0 again")
        if switch_back:
            self.switchover(self.site_of[home], cluster=c["id"], tl=tl)
        return tl

    def _rewind(self, home: str, cur: str, tl: Timeline) -> None:
        # or pg_rewind may wrongly see no divergence; a checkpoint after a failover under load may take
        # longer than psql's 10 s default on a loaded machine
        self.remote.psql(cur, "CHECKPOINT;", what="checkpoint", timeout=60)
        pw = secrets.load(self.state_dir, self.estate)["pg_superuser_password"]
        # pg_rewind copies the source's configuration files too: keep this node's own (in a private
        # root-owned directory) and put them back. The password reaches pg_rewind through its
        # environment (read from stdin by the shell, never argv, never a file): a file that root
        # makes in sticky /tmp and postgres then owns cannot be written by root where
        # fs.protected_regular >= 1, which systemd sets on every Debian/Ubuntu server.
        r = self.remote.run(home, "set -e; keep=$(mktemp -d); "
                                  f"cp -p {PG_DATA}/postgresql.conf {PG_DATA}/pg_hba.conf $keep/; "
                                  "IFS= read -r PGPASSWORD; export PGPASSWORD; set +e; "
                                  f"runuser -u postgres -- {PG_BIN}/pg_rewind -D {PG_DATA} "
                                  f"--source-server='host={self.addr[cur]} port=5432 user=postgres dbname=postgres "
                                  f"connect_timeout=5' 2>&1; rc=$?; unset PGPASSWORD; "
                                  f"cp -p $keep/* {PG_DATA}/; rm -rf $keep; exit $rc",
                            input=pw + "\n", what="pg_rewind", timeout=300)
        tl.step("rewound", r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "pg_rewind done")

    def _reseed(self, home: str, cur: str, tl: Timeline) -> None:
        """Replace the node's data with a fresh copy of the primary (pg_basebackup); the old data
        directory is kept beside it, never deleted."""
        aside = f"{PG_DATA}.before-reseed-{time.strftime('%Y%m%dT%H%M%S')}"
        self.remote.psql(cur, f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                              f"WHERE slot_name = '{slot_name(home)}' AND NOT active;", what="drop the stale slot")
        self.remote.run(
            home,
            f"set -e; keep=$(mktemp -d); cp -p {PG_DATA}/postgresql.conf {PG_DATA}/pg_hba.conf $keep/; "
            f"mv {PG_DATA} {aside}; install -d -o postgres -g postgres -m 0700 {PG_DATA}; "
            f"PGCONNECT_TIMEOUT=5 runuser -u postgres -- {PG_BIN}/pg_basebackup -h {self.addr[cur]} -p 5432 "
            f"-U replicator -D {PG_DATA} -X stream "
            f"--checkpoint=fast; cp -p $keep/* {PG_DATA}/; rm -rf $keep",
            what="pg_basebackup",
            timeout=600,
        )
        tl.step("re-seeded", f"{home} copied afresh from {cur}; its old data kept in {aside}")

    def pending(self) -> list[dict]:
        """Clusters a DR action left halfway, from the DR state alone (no host is contacted):
        each {cluster, host, kind: 'rejoining' | 'fenced', since}."""
        st = self.state()
        out = []
        for c in clusters(self.estate, self.state_dir):
            rj = st.get("rejoining", {}).get(c["id"])
            if rj:
                out.append({"cluster": c["id"], "host": rj["host"], "kind": "rejoining", "since": rj.get("since"),
                            "primary": c["primary"]})
            for f in st["fenced"]:
                if f in c["members"] and not (rj and rj["host"] == f):
                    out.append({"cluster": c["id"], "host": f, "kind": "fenced", "primary": c["primary"]})
        return out

    def refuse_stranded(self, pending: list[dict]) -> None:
        """A node fenced by a failover and never rejoined stops a build, naming the command that
        rejoins it (discarding its divergent history is the operator's decision, not a build's)."""
        for p in pending:
            if p["kind"] == "fenced":
                raise DrRefused(f"{p['host']} is fenced since a failover to {p['primary']}: rejoin it first with "
                                "`egov dr failback --stay` (or `egov dr failback` to move the primary back)")

    def finish_failbacks(self, pending: list[dict], progress: Callable[[str], None] = lambda m: None) -> list[Timeline]:
        """Finish every failback that stopped halfway: the node rejoins as a synchronous standby and
        the primary stays where it is."""
        done = []
        for p in pending:
            if p["kind"] != "rejoining":
                continue
            progress(f"finishing the failback of {p['host']} (started {p['since']})")
            tl = Timeline(on_step=progress)
            self.failback(cluster=p["cluster"], tl=tl, switch_back=False)
            done.append(tl)
        return done

    # -- guard -----------------------------------------------------------------------------
    def guard_once(self, missing_since: dict, grace: float = 2.0) -> list[str]:
        """One pass of the guard: relax synchronous commit on a primary whose standby is gone
        (after `grace` seconds), restore it when the standby streams again. Returns actions taken."""
        st = self.state()
        actions = []
        for c in clusters(self.estate, self.state_dir):
            if not port_open(self.addr[c["primary"]], 5432, 0.3):
                continue  # a lost primary is a failover decision, not the guard's
            p = self.member(c["primary"])
            if p["role"] != "primary":
                continue
            # a standby behind a cut link stays "streaming" until wal_sender_timeout: judge it by its replies
            streaming = [s for s in p["standbys"] if s["state"] == "streaming" and 0 <= s["reply_age_s"] < grace]
            degraded = st.get("degraded", {}).get(c["id"], False)
            if not streaming:
                since = missing_since.setdefault(c["id"], time.monotonic())
                if not degraded and time.monotonic() - since >= grace:
                    self._set_sync(c["primary"], [])
                    st.setdefault("degraded", {})[c["id"]] = True
                    self.save(st)
                    actions.append(
                        f"{c['primary']}: no standby for {grace:g}s: synchronous commit relaxed "
                        f"(degraded, RPO = 0 not guaranteed)"
                    )
            else:
                missing_since.pop(c["id"], None)
                if degraded and all(s["lag_bytes"] < 1024 * 1024 for s in streaming):
                    self._set_sync(c["primary"], [s["name"] for s in streaming])
                    st["degraded"][c["id"]] = False
                    self.save(st)
                    actions.append(
                        f"{c['primary']}: standby {streaming[0]['name']} streams again: synchronous commit restored"
                    )
        return actions
