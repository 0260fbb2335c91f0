"""The insider attacks of test_insider_log.py on a catalog on a PostgreSQL server: the
insider has write access to the catalog's database (psql: here psycopg on the test server)
and nothing of archa, and the defences hold as they do for the SQLite file.

- a hold deleted with the journal trigger dropped (or disabled) still holds, and `events
  verify` names the trigger and the row;
- a retention row shortened is refused by `disposal propose`; shortened with the trigger
  dropped, `events verify` names the trigger and the row too;
- events cut from the catalog (and from every location) fail `events verify`.

These tests make their repository on the server whatever --catalog says (the `repo`
fixture below), so a plain `pytest` run shows the defences on both backends.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from archa.repository.repo import Repository
from tests.test_disposal import DUE, _propose, _take_in, records  # noqa: F401  (a fixture)
from tests.test_insider_log import destroy_refuses_the_held, log_dir, read_log, run, write_log


@pytest.fixture
def repo(pg_repo: Repository) -> Repository:
    return pg_repo


def psql(repo: Repository) -> psycopg.Connection[tuple[object, ...]]:
    """The insider's session on the catalog database (autocommit: each statement at once)."""
    repo.close()
    return psycopg.connect(repo.config.catalog, autocommit=True)


@pytest.mark.parametrize("how", ["DROP TRIGGER journal_holds ON holds",
                                 "ALTER TABLE holds DISABLE TRIGGER journal_holds"])
def test_a_hold_deleted_in_the_database_alone_still_holds(repo: Repository, tmp_path: Path,
                                                          records: dict[str, str], how: str) -> None:  # noqa: F811
    pid = str(_propose(repo, tmp_path)["proposal"])
    assert run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A", "--keep", "KU-SIP_H")[0] == 0
    gone = records["gone"]
    assert run(repo, "hold", "add", gone, "--reason", "court case 12 C 34/2026")[0] == 0
    with psql(repo) as db:  # the insider
        db.execute(how)
        db.execute("DELETE FROM holds WHERE aip_id = %s", [gone])
        assert db.execute("SELECT count(*) FROM holds").fetchone() == (0,)
    out = destroy_refuses_the_held(repo, pid, gone)
    said = "is missing" if how.startswith("DROP") else "is disabled"
    assert f"journal trigger journal_holds {said}" in out, out
    assert "holds 1: journaled but not in the table: deleted behind the journal's back" in out, out


def test_a_trigger_of_the_insiders_own_on_the_journal_is_named(repo: Repository, tmp_path: Path) -> None:
    """A trigger that throws journal rows away before they are written: named by verify."""
    with psql(repo) as db:
        db.execute("CREATE FUNCTION forget() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$")
        db.execute("CREATE TRIGGER forget BEFORE INSERT ON changes FOR EACH ROW EXECUTE FUNCTION forget()")
    code, out = run(repo, "events", "verify")
    assert code == 1 and "the trigger forget on changes is not one archa creates" in out, out


def test_a_retention_shortened_in_the_database_does_not_make_a_record_due(
        repo: Repository, tmp_path: Path, records: dict[str, str]) -> None:  # noqa: F811
    fresh = _take_in(repo, tmp_path, "SIP_F", closed="2025-06-30", period=10)  # due in 2036
    with psql(repo) as db:  # the insider: due in 2020 instead
        db.execute("UPDATE retention SET until_year = 2020, period = 4, trigger_year = 2015 WHERE aip_id = %s",
                   [fresh])
    code, out = run(repo, "disposal", "propose", "--as-of", DUE, str(tmp_path / "navrh"), "--json")
    assert code == 1, out
    result = json.loads(out)
    assert fresh not in [i["aip_id"] for i in result["items"]] and records["gone"] in out
    assert "changed in the catalog" in result["retention_changed"][fresh]
    # the same edit with the journal trigger dropped first: events verify names the row too
    with psql(repo) as db:
        db.execute("DROP TRIGGER journal_retention ON retention")
        db.execute("UPDATE retention SET until_year = 2019 WHERE aip_id = %s", [fresh])
    code, out = run(repo, "events", "verify")
    assert code == 1 and "journal_retention is missing" in out, out
    assert f"retention {fresh}" in out and "changed behind the journal's back" in out, out


def test_events_cut_from_the_database_and_every_location_fail_verify(repo: Repository, tmp_path: Path) -> None:
    from tests.test_insider_log import ingest_bag

    ingest_bag(repo, tmp_path, "a")
    b = ingest_bag(repo, tmp_path, "b")
    with psql(repo) as db:
        (first_b,) = db.execute("SELECT MIN(seq) FROM events WHERE aip_id = %s", [b]).fetchone() or (0,)
        db.execute("DELETE FROM events WHERE seq >= %s", [first_b])
        top, top_hash = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone() or (0, "")
        db.execute("UPDATE event_anchors SET last_seq = %s, last_hash = %s", [top, top_hash])
    for loc in ("hot", "cold"):
        folder = log_dir(repo, loc)
        write_log(folder, [r for r in read_log(folder) if int(str(r["seq"])) < int(str(first_b))])
    code, out = run(repo, "events", "verify")
    assert code == 1 and "BROKEN history" in out and b in out and "the log lacks" in out, out


def test_a_release_forged_in_the_database_is_never_made_history(repo: Repository, tmp_path: Path) -> None:
    """test_insider_log's forged `legal hold released`, written with psql: with a seal key the
    row is not signed, so no command anchors it and writing commands refuse."""
    import hashlib

    from tests.test_insider_log import HASHED, _with_seal_key, ingest_bag

    _with_seal_key(repo, tmp_path)
    aip = ingest_bag(repo, tmp_path, "a")
    assert run(repo, "hold", "add", aip, "--reason", "court case 12 C 34/2026")[0] == 0
    logs = sorted(p.name for p in log_dir(repo, "hot").iterdir())
    with psql(repo) as db:  # the insider
        hold_id, placed = db.execute("SELECT id, placed FROM holds WHERE aip_id = %s", [aip]).fetchone()  # type: ignore[misc]
        seq, prev = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()  # type: ignore[misc]
        row: dict[str, object] = {"id": "urn:uuid:00000000-0000-4000-8000-000000000002", "type": "policy assignment",
                                  "time": "2026-12-04T10:00:00.000000Z", "outcome": "success",
                                  "detail": f"legal hold released (hold {hold_id}) by root: settled (placed "
                                            f"{str(placed)[:10]})", "agent": "archa/0.1.0", "aip_id": aip,
                                  "version": None, "location": None, "transfer_id": None, "prev_hash": prev}
        canon = json.dumps({k: row[k] for k in HASHED}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        row["hash"] = hashlib.sha256(canon.encode()).hexdigest()
        # the next number, as archa numbers its rows (the identity's own would be taken: archa does not use it)
        db.execute(f"INSERT INTO events (seq, {', '.join((*HASHED, 'hash'))}) VALUES ({', '.join(['%s'] * 13)})",
                   [seq + 1, *(row[k] for k in (*HASHED, "hash"))])
        db.execute("UPDATE holds SET released = '2026-12-04T10:00:00Z', released_by = 'root' WHERE id = %s", [hold_id])
    code, out = run(repo, "fixity", "audit", "--all")
    assert code == 1 and "not signed with the repository's seal key" in out, out
    assert sorted(p.name for p in log_dir(repo, "hot").iterdir()) == logs
    assert all("legal hold released" not in json.dumps(r) for r in read_log(log_dir(repo, "hot")))
    code, out = run(repo, "status")
    assert code == 1 and "not signed with the seal key" in out, out
