"""The journal is append-only and hash-chained: any edit, reorder or deletion is caught."""

import json

import pytest

from egov.core import journal
from egov.core.journal import Journal, JournalCorrupt


def fill(d, n=5):
    j = Journal(d)
    for i in range(n):
        j.append({"user": "tester", "command": f"step {i}", "result": "ok", "changes": [f"c{i}"]})
    return j


def lines(j):
    return j.path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_records_chain_and_verify(tmp_path):
    j = fill(tmp_path)
    recs = list(j.records())
    assert [r["seq"] for r in recs] == [1, 2, 3, 4, 5]
    assert recs[0]["prev"] == journal.GENESIS
    assert all(b["prev"] == a["hash"] for a, b in zip(recs, recs[1:]))
    assert j.verify() == 5


def test_edited_record_is_named(tmp_path):
    j = fill(tmp_path)
    ls = lines(j)
    ls[2] = ls[2].replace('"result": "ok"', '"result": "failed"')
    j.path.write_text("".join(ls), encoding="utf-8")
    with pytest.raises(JournalCorrupt, match=r"journal.jsonl:3: record 3 was edited"):
        j.verify()


def test_edited_record_with_recomputed_hash_breaks_the_chain(tmp_path):
    j = fill(tmp_path)
    ls = lines(j)
    rec = json.loads(ls[1])
    rec["command"] = "innocent"
    rec["hash"] = journal.record_hash(rec)
    ls[1] = json.dumps(rec, ensure_ascii=False) + "\n"
    j.path.write_text("".join(ls), encoding="utf-8")
    with pytest.raises(JournalCorrupt, match=r":3: record 3 does not follow record 2"):
        j.verify()


def test_reordered_records_are_caught(tmp_path):
    j = fill(tmp_path)
    ls = lines(j)
    ls[1], ls[2] = ls[2], ls[1]
    j.path.write_text("".join(ls), encoding="utf-8")
    with pytest.raises(JournalCorrupt, match=r":2: record 3 is out of order"):
        j.verify()


def test_deleted_middle_record_is_caught(tmp_path):
    j = fill(tmp_path)
    ls = lines(j)
    del ls[3]
    j.path.write_text("".join(ls), encoding="utf-8")
    with pytest.raises(JournalCorrupt, match=r":4: record 5 is out of order or a record before it was deleted"):
        j.verify()


def test_deleted_last_record_is_caught_by_the_head(tmp_path):
    j = fill(tmp_path)
    j.path.write_text("".join(lines(j)[:-1]), encoding="utf-8")
    with pytest.raises(JournalCorrupt, match="records at the end were removed"):
        j.verify()


def test_change_context_records_success_and_failure(tmp_path):
    with journal.change(tmp_path, command="lab up", argv=["lab", "up"]) as ch:
        ch.changes.append("started dfs-db1")
    with pytest.raises(RuntimeError):
        with journal.change(tmp_path, command="lab crash", argv=["lab", "crash", "x"]):
            raise RuntimeError("host x is not in the estate")
    ok, bad = Journal(tmp_path).records()
    assert ok["result"] == "ok" and ok["changes"] == ["started dfs-db1"] and ok["user"]
    assert bad["result"] == "failed" and "host x is not in the estate" in bad["error"]
    assert Journal(tmp_path).verify() == 2
