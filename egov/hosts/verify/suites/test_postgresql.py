"""PostgreSQL: running, streaming, synchronous (RPO = 0), checksummed, locked down, seeded."""

import expect

testinfra_hosts = expect.hosts("db")

PSQL = "runuser -u postgres -- psql -X -At -h /run/postgresql -d {db} -c \"{sql}\""


def q(host, sql, db="postgres"):
    r = host.run(PSQL.format(db=db, sql=sql))
    assert r.rc == 0, r.stderr
    return r.stdout.strip()


def test_running_and_listening(host):
    hv = expect.hostvars(expect.host_id(host))
    assert host.socket(f"tcp://0.0.0.0:{hv['pg_port']}").is_listening
    assert q(host, "SELECT 1") == "1"


def test_role_matches_the_estate(host):
    hv = expect.hostvars(expect.host_id(host))
    in_recovery = q(host, "SELECT pg_is_in_recovery()")
    assert in_recovery == ("f" if hv["pg_intended_role"] == "primary" else "t")


def test_replication_synchronous_on_the_primary(host):
    hv = expect.hostvars(expect.host_id(host))
    if hv["pg_intended_role"] != "primary":
        state = q(host, "SELECT status FROM pg_stat_wal_receiver")
        assert state == "streaming"
        return
    assert q(host, "SHOW synchronous_commit") == "on"
    assert q(host, "SHOW synchronous_standby_names").startswith("FIRST 1")
    rows = q(host, "SELECT application_name || ':' || state || ':' || sync_state FROM pg_stat_replication").splitlines()
    assert any(r.endswith(":streaming:sync") for r in rows), rows
    assert q(host, "SELECT count(*) FROM pg_replication_slots WHERE active") != "0"


def test_checksums_utf8_and_no_open_access(host):
    assert q(host, "SHOW data_checksums") == "on"
    assert (
        q(
            host,
            "SELECT count(*) FROM pg_database "
            "WHERE datname NOT LIKE 'template%' AND pg_encoding_to_char(encoding) <> 'UTF8'",
        )
        == "0"
    )
    hba = host.file("/var/lib/postgresql/15/egov/pg_hba.conf").content_string
    lines = [ln.split() for ln in hba.splitlines() if ln.strip() and not ln.startswith("#")]
    assert not [ln for ln in lines if "trust" in ln or "0.0.0.0/0" in ln or "password" in ln or "md5" in ln]


def test_base_databases_seeded_with_valid_identifiers(host):
    assert int(q(host, "SELECT count(*) FROM persons", "population")) >= 100_000
    assert q(host, "SELECT count(*) FROM persons WHERE NOT citizen_id_valid(citizen_id)", "population") == "0"
    assert int(q(host, "SELECT count(*) FROM entities", "legal_entities")) >= 10_000
    assert q(host, "SELECT count(*) FROM entities WHERE NOT uscc_valid(uscc)", "legal_entities") == "0"
    assert int(q(host, "SELECT count(*) FROM parcels", "spatial_geo")) > 0
    assert int(q(host, "SELECT count(DISTINCT town_id) FROM indicators", "macro_economy")) > 0
