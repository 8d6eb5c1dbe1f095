"""Backups: choosing the backup a restore starts from, reading pgBackRest's verdicts, refusals."""

from datetime import datetime, timedelta, timezone

import pytest

from egov.core.loader import load_estate
from egov.datacenters.backup import BackupError, Backups, backups_of, choose_backup, parse_time, verify_findings
from tests.conftest import PANYU

INFO = {"name": "dfs_db1", "backup": [
    {"label": "20261202-014603F", "type": "full", "timestamp": {"start": 1796175963, "stop": 1796175969},
     "info": {"size": 26621606, "repository": {"size": 3500560}}, "archive": {"start": "A3", "stop": "A3"},
     "prior": None, "error": False},
    {"label": "20261202-014603F_20261202-014630D", "type": "diff", "timestamp": {"start": 1796175990,
     "stop": 1796175995}, "info": {"size": 26621606, "repository": {"size": 100}},
     "archive": {"start": "A5", "stop": "A5"}, "prior": "20261202-014603F", "error": False},
]}


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def test_backups_are_rows_oldest_first():
    rows = backups_of({"name": "s", "backup": list(reversed(INFO["backup"]))})
    assert [r["type"] for r in rows] == ["full", "diff"]
    assert rows[0]["stop"] == "2026-12-02T01:46:09+00:00" and rows[0]["repo_size"] == 3500560


def test_restore_starts_from_the_newest_backup_ended_before_the_time():
    rows = backups_of(INFO)
    assert choose_backup(rows, to_time=at(1796175980))["label"] == "20261202-014603F"
    assert choose_backup(rows, to_time=at(1796176000))["type"] == "diff"
    assert choose_backup(rows, label="20261202-014603F")["type"] == "full"


def test_restore_refuses_a_time_before_the_oldest_backup_the_future_and_unknown_labels():
    rows = backups_of(INFO)
    with pytest.raises(BackupError, match=r"before the oldest backup \(20261202-014603F, ended 2026-12-02T01:46:09"):
        choose_backup(rows, to_time=at(1796175000))
    with pytest.raises(BackupError, match="in the future"):
        choose_backup(rows, to_time=datetime.now(timezone.utc) + timedelta(hours=1))
    with pytest.raises(BackupError, match="no backup 'nope'.*have: 20261202-014603F"):
        choose_backup(rows, label="nope")
    with pytest.raises(BackupError, match="holds no backup yet"):
        choose_backup([], label="x")


def test_times_without_a_zone_are_the_estates_and_nonsense_is_one_line():
    assert parse_time("2026-12-02 10:00").utcoffset() == timedelta(hours=8)
    assert parse_time("2026-12-02T02:00:00Z") == parse_time("2026-12-02T10:00:00+08:00")
    with pytest.raises(BackupError, match="--to-time 'yesterday': not a time"):
        parse_time("yesterday")


def test_verify_names_the_corrupt_file_although_pgbackrest_exits_0():
    text = ("2026-12-02 01:47:06.356 P01   INFO: invalid checksum '20261202-014603F/pg_data/base/5/3456.gz'\n"
            "P00   INFO: stanza: t\n  status: error\n    backup: 20261202-014603F, status: invalid\n")
    assert verify_findings(text) == {"status": "error", "invalid": [
        {"problem": "checksum", "file": "20261202-014603F/pg_data/base/5/3456.gz"}]}
    assert verify_findings("P00   INFO: stanza: t\n  status: ok\n") == {"status": "ok", "invalid": []}


def test_an_estate_without_backups_says_so(tmp_path):
    e = load_estate(PANYU).model_copy(update={"backup": None})
    with pytest.raises(BackupError, match="declares no backups"):
        Backups(e, None, tmp_path)
