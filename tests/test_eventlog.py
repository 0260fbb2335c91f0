"""The event log anchored in storage: every location holds sealed segments of it; rows cut
from the catalog or edited and re-hashed there are found; a catalog rebuilt from storage
has the log row for row (replication and fixity events included); a location that was
down gets the events it missed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from archa.cli.main import cli
from archa.ingest.ingest import ingest
from archa.repository.eventlog import PREFIX, SEGMENT
from archa.repository.events import GENESIS, row_hash
from archa.repository.repo import Repository
from tests.bagmaker import write_bag
from tests.catalogs import lose_catalog


def _verify(repo: Repository) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["events", "verify", "--repo", str(repo.root)])
    return r.exit_code, r.output


def _busy(repo: Repository, bags: Path) -> None:
    from archa.preservation.fixity import AuditOptions, audit

    for i in range(3):
        ingest(repo, write_bag(bags / f"b{i}", {f"f{i}.txt": bytes([65 + i]) * 100}))
    with repo.writing():
        audit(repo, AuditOptions(due=False))


def test_every_location_holds_the_log_in_sealed_segments(repo: Repository, bags: Path) -> None:
    _busy(repo, bags)
    n = repo.catalog.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    for loc in repo.config.locations:
        store = repo.store(loc)
        keys = sorted(k for k, _s in store.list(PREFIX) if SEGMENT.match(k))
        assert len(keys) >= 4  # one per writing command
        rows = [json.loads(line) for k in keys for line in store.read_bytes(k).decode().splitlines()]
        events = [r for r in rows if "seal" not in r]
        assert [r["seq"] for r in events] == list(range(1, n + 1))
        assert events[0]["prev_hash"] == GENESIS and all(row_hash(r) == r["hash"] for r in events)
    code, out = _verify(repo)
    assert code == 0 and "matching the log in 2 storage locations" in out, out


def test_cut_or_rehashed_rows_are_found(repo: Repository, bags: Path) -> None:
    _busy(repo, bags)
    conn = repo.catalog.conn
    n = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    # edit row 3 and re-hash the whole chain from there: the catalog alone would verify clean
    conn.execute("UPDATE events SET detail = 'nothing to see' WHERE seq = 3")
    prev = conn.execute("SELECT hash FROM events WHERE seq = 2").fetchone()[0]
    cols = [d[0] for d in conn.execute("SELECT * FROM events LIMIT 0").description]
    for values in conn.execute("SELECT * FROM events WHERE seq >= 3 ORDER BY seq").fetchall():
        row = dict(zip(cols, values, strict=True))
        row["prev_hash"] = prev
        row["hash"] = prev = row_hash(row)
        conn.execute("UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?", [row["prev_hash"], row["hash"],
                                                                                 row["seq"]])
    code, out = _verify(repo)
    assert code == 1 and "BROKEN at event 3" in out and "edited or re-hashed" in out, out
    # the AIPs ingested after row 3 recorded the chain as it was: that alone finds it too
    assert "recorded the chain at" in out and "the catalog's row differs" in out
    # cut the newest rows
    conn.execute(f"DELETE FROM events WHERE seq > {n - 4}")
    code, out = _verify(repo)
    assert code == 1 and f"events {n - 3}-{n} are in the log" in out and "rows were cut" in out, out


def test_a_rebuilt_catalog_has_the_log_row_for_row(repo: Repository, bags: Path, tmp_path: Path) -> None:
    from archa.repository.catalog import Catalog
    from archa.repository.rebuild import rebuild_catalog

    _busy(repo, bags)
    rebuild_catalog(repo, tmp_path / "r.sqlite")
    rebuilt = Catalog.open(tmp_path / "r.sqlite")
    try:
        query = "SELECT seq, id, type, hash FROM events ORDER BY seq"
        assert rebuilt.conn.execute(query).fetchall() == repo.catalog.conn.execute(query).fetchall()
        types = {r[2] for r in rebuilt.conn.execute(query)}
        assert {"replication", "fixity check", "ingestion"} <= types  # not only what PREMIS holds
    finally:
        rebuilt.close()
    lose_catalog(repo)
    r = CliRunner().invoke(cli, ["catalog", "rebuild", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    code, out = _verify(repo)
    assert code == 0 and "matching the log" in out, out


def test_a_location_that_was_down_gets_what_it_missed(repo: Repository, bags: Path, tmp_path: Path) -> None:
    ingest(repo, write_bag(bags / "a", {"a.txt": b"a"}))
    cold = repo.root / "storage" / "cold"
    cold.rename(tmp_path / "cold-away")
    r = CliRunner().invoke(cli, ["hold", "add", repo.catalog.aips()[0]["id"], "--reason", "x", "--repo",
                                 str(repo.root)])
    # the hold is placed, and the command says that cold did not get its events (it exited 0 without a word)
    assert r.exit_code == 1 and " placed on " in r.output, r.output
    assert "error: the event log could not be written to cold (cold: " in r.output, r.output
    assert "the next writing command" in r.output and "hot" not in r.output.split("(cold: ")[0], r.output
    (tmp_path / "cold-away").rename(cold)
    code, out = _verify(repo)
    # the hold's event, and the seal of the journal the hold's row went into
    assert code == 0 and "cold does not hold the newest 2 events yet" in out, out
    with repo.writing():
        pass
    code, out = _verify(repo)
    assert code == 0 and "does not hold" not in out, out


def test_catalog_only_tables_come_back_from_storage(repo: Repository, bags: Path) -> None:
    """Transfers (accepted and rejected), originators with their quotas, holds with their
    history: journaled into every location with the events, replayed by a rebuild from
    storage alone."""
    import pytest

    from archa.errors import SipRejected

    def run(*args: str) -> str:
        r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
        assert r.exit_code == 0, r.output
        return r.output

    run("originator", "add", "brtnice", "--name", "Obec Brtnice", "--quota", "5GB")
    a = ingest(repo, write_bag(bags / "a", {"a.txt": b"a"}, info={"Source-Organization": "Obec Brtnice"})).aip_id
    ingest(repo, write_bag(bags / "b", {"b.txt": b"b"}))
    broken = write_bag(bags / "c", {"c.txt": b"c"})
    (broken / "data" / "c.txt").write_bytes(b"x")
    with pytest.raises(SipRejected):
        ingest(repo, broken)
    run("hold", "add", a, "--reason", "court case 1")
    run("hold", "remove", a, "--reason", "over")
    run("hold", "add", a, "--reason", "court case 2")
    queries = {"transfers": "SELECT id, status, aip_id, findings FROM transfers ORDER BY id",
               "holds": "SELECT * FROM holds ORDER BY id",
               "originators": "SELECT id, name, quota_bytes FROM originators ORDER BY id"}
    before = {k: repo.catalog.conn.execute(q).fetchall() for k, q in queries.items()}
    assert len(before["transfers"]) == 3 and len(before["holds"]) == 2
    lose_catalog(repo)
    run("catalog", "rebuild")
    after = {k: repo.catalog.conn.execute(q).fetchall() for k, q in queries.items()}
    assert after == before
    assert repo.catalog.lifecycle.held(a)
    code, out = _verify(repo)
    assert code == 0, out
    run("hold", "remove", a, "--reason", "case 2 over")  # the journal goes on after a rebuild
    lose_catalog(repo)
    run("catalog", "rebuild")
    assert not repo.catalog.lifecycle.held(a)


def test_storage_alone_is_enough(repo: Repository, bags: Path, tmp_path: Path) -> None:
    """Several AIPs, a new version, a rejected transfer, audits, a damaged copy repaired, a
    hold: `catalog rebuild --check` finds no difference field by field; after the catalog is
    deleted, the rebuilt one audits clean, verifies against the log, and has it all."""
    import pytest

    from archa.errors import SipRejected
    from archa.lifecycle.versions import UpdateOptions, update_aip
    from archa.preservation.fixity import AuditOptions, audit
    from archa.preservation.repair import repair

    def run(*args: str, code: int = 0) -> str:
        r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
        assert r.exit_code == code, r.output
        return r.output

    aips = [ingest(repo, write_bag(bags / f"b{i}", {f"p{i}.txt": bytes([70 + i]) * 500})).aip_id for i in range(3)]
    (tmp_path / "new.txt").write_bytes(b"second page\n")
    update_aip(repo, UpdateOptions(aips[0], "a page added", add=((tmp_path / "new.txt", "p-new.txt"),)))
    broken = write_bag(bags / "bad", {"x.txt": b"x"})
    (broken / "data" / "x.txt").write_bytes(b"y")
    with pytest.raises(SipRejected):
        ingest(repo, broken)
    page = next((repo.hot.object_path(aips[1]) / "v1/content/representations/original/data").iterdir())
    page.chmod(0o644)
    page.write_bytes(b"rot")
    with repo.writing():
        audit(repo, AuditOptions(due=False))
        repair(repo, aips[1], "hot")
    run("hold", "add", aips[2], "--reason", "inspection")
    assert "the same as the live catalog, field by field" in run("catalog", "rebuild", "--check")
    conn = repo.catalog.conn
    conn.execute("UPDATE copies SET state = 'damaged' WHERE aip_id = ? AND location = 'cold'", [aips[2]])
    out = run("catalog", "rebuild", "--check", code=1)  # the catalog says what storage does not
    assert f"copy {aips[2]} v1 cold: current damaged" in out and "rebuilt ok" in out, out
    conn.execute("UPDATE copies SET state = 'ok' WHERE aip_id = ? AND location = 'cold'", [aips[2]])
    before = {q: repo.catalog.conn.execute(q).fetchall() for q in (
        "SELECT id, status FROM transfers ORDER BY id", ("SELECT aip_id, version, location, state, last_audit "
        "FROM copies ORDER BY 1, 2, 3"), "SELECT seq, hash FROM events ORDER BY seq")}
    lose_catalog(repo)
    run("catalog", "rebuild")
    after = {q: repo.catalog.conn.execute(q).fetchall() for q in before}
    assert after == before
    assert repo.catalog.lifecycle.held(aips[2]) and repo.catalog.aip(aips[0])["head"] == "v2"
    assert "0 failed" in run("fixity", "audit", "--all")
    assert "matching the log" in run("events", "verify")


def test_small_segments_are_compacted_and_the_log_still_verifies(repo: Repository, bags: Path, tmp_path: Path,
                                                                 monkeypatch: object) -> None:
    from archa.repository import eventlog
    from archa.repository.catalog import Catalog
    from archa.repository.rebuild import rebuild_catalog

    monkeypatch.setattr(eventlog, "COMPACT_AT", 4)  # type: ignore[attr-defined]
    aip = ingest(repo, write_bag(bags / "a", {"a.txt": b"a"})).aip_id
    for i in range(6):  # one segment per command
        r = CliRunner().invoke(cli, ["hold", "add" if i % 2 == 0 else "remove", aip, "--reason", f"r{i}",
                                     "--repo", str(repo.root)])
        assert r.exit_code == 0, r.output
    for loc in repo.config.locations:
        keys = [k for k, _s in repo.store(loc).list(PREFIX)]
        assert len([k for k in keys if SEGMENT.match(k)]) < 4, keys  # merged
        assert len([k for k in keys if "changes-" in k]) < 4, keys
    code, out = _verify(repo)
    assert code == 0 and "matching the log" in out, out
    rebuild_catalog(repo, tmp_path / "r.sqlite")
    rebuilt = Catalog.open(tmp_path / "r.sqlite")
    try:
        q = "SELECT seq, hash FROM events ORDER BY seq"
        assert rebuilt.conn.execute(q).fetchall() == repo.catalog.conn.execute(q).fetchall()
        assert rebuilt.conn.execute("SELECT COUNT(*) FROM holds").fetchone()[0] == 3
    finally:
        rebuilt.close()


def test_events_export_for_an_auditor(repo: Repository, bags: Path, tmp_path: Path) -> None:
    """PREMIS (valid against the XSD) or JSON lines from which the chain re-verifies alone."""
    from lxml import etree

    from tests.conftest import schema

    _busy(repo, bags)
    r = CliRunner().invoke(cli, ["events", "export", str(tmp_path / "log.xml"), "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    doc = etree.parse(str(tmp_path / "log.xml"))
    assert schema("premis.xsd").validate(doc)
    n = repo.catalog.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert len(doc.findall("{http://www.loc.gov/premis/v3}event")) == n
    r = CliRunner().invoke(cli, ["events", "export", str(tmp_path / "log.jsonl"), "--format", "jsonl",
                                 "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    prev = GENESIS
    for row in rows:  # an auditor's own check, with nothing but the file
        assert row["prev_hash"] == prev and row_hash(row) == row["hash"]
        prev = row["hash"]
    assert len(rows) == n
    r = CliRunner().invoke(cli, ["events", "export", str(tmp_path / "log.jsonl"), "--repo", str(repo.root)])
    assert r.exit_code == 2 and "exists already" in r.output


def test_the_journal_of_catalog_only_tables_is_verified_too(repo: Repository, bags: Path) -> None:
    aip = ingest(repo, write_bag(bags / "a", {"a.txt": b"a"})).aip_id
    r = CliRunner().invoke(cli, ["hold", "add", aip, "--reason", "court", "--repo", str(repo.root)])
    assert r.exit_code == 0
    conn = repo.catalog.conn
    seq, row = conn.execute("SELECT seq, row FROM changes WHERE tbl = 'holds' ORDER BY seq DESC LIMIT 1").fetchone()
    conn.execute("UPDATE changes SET row = ? WHERE seq = ?", [json.dumps({**json.loads(row), "reason": "nothing"}),
                                                              seq])
    code, out = _verify(repo)
    assert code == 1 and f"change {seq} (holds) differs from the journal" in out, out
    conn.execute("DELETE FROM changes WHERE seq >= ?", [seq])
    code, out = _verify(repo)
    assert code == 1 and "rows were cut" in out, out


def test_compaction_merges_only_the_catalogs_rows(repo: Repository, bags: Path, monkeypatch: object) -> None:
    """A forged change under a far name at cold, and a line of junk in an event segment
    there: compaction read every line and merged the forged change in (the real one then
    deleted), or crashed every writing command on the junk. Now only segments within the
    catalog's range whose rows are the catalog's are merged; the rest waits for `repair`."""
    from archa.repository import eventlog

    monkeypatch.setattr(eventlog, "COMPACT_AT", 4)  # type: ignore[attr-defined]
    aip = ingest(repo, write_bag(bags / "a", {"a.txt": b"a"})).aip_id
    cold = repo.root / "storage" / "cold" / PREFIX
    n = repo.catalog.log.last_change()
    forged = cold / f"changes-{n:012d}-{1000:012d}.jsonl"
    forged.write_text(json.dumps({"op": "delete", "row": {"id": 1}, "seq": n + 1, "tbl": "holds"}) + "\n")
    for i in range(6):
        r = CliRunner().invoke(cli, ["hold", "add" if i % 2 == 0 else "remove", aip, "--reason", f"r{i}",
                                     "--repo", str(repo.root)])
        assert r.exit_code == 0, r.output
        assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert forged.exists()  # not merged (and so not deleted with the merged ones)
    assert any(p.name.startswith("changes-000000000001-") for p in cold.glob("changes-*.jsonl"))  # the rest was
    assert all(json.loads(line)["row"] != {"id": 1} for p in cold.glob("changes-*.jsonl") if p != forged
               for line in p.read_text().splitlines())
    r = CliRunner().invoke(cli, ["repair", "--repo", str(repo.root)])
    assert r.exit_code == 0 and not forged.exists(), r.output
    code, out = _verify(repo)
    assert code == 0, out


def test_a_segment_another_node_wrote_meanwhile_is_taken_as_written(repo: Repository, bags: Path) -> None:
    """Two nodes anchoring the same rows at a shared location: the second found the first's
    segment under the name it was about to write (after it had looked for one) and, since the
    check for planted files, refused it and exited 1. A segment there holding exactly those
    rows is archa's; anything else under that name is refused."""
    from archa.repository import eventlog

    ingest(repo, write_bag(bags / "a", {"a.txt": b"a"}))
    store = repo.store(repo.config.location("cold"))
    log = repo.catalog.log
    first, last, seg = eventlog.segment_keys(store)[-1]
    assert eventlog._occupied(store, seg, first, last, log, None)  # type: ignore[attr-defined]
    cfirst, clast, cseg = eventlog.segment_keys(store, eventlog.CHANGES)[-1]
    assert eventlog._occupied(store, cseg, cfirst, clast, log, None, changes=True)  # type: ignore[attr-defined]
    assert not eventlog._occupied(store, eventlog.segment_key(last + 1, last + 1), last + 1, last + 1, log, None)  # type: ignore[attr-defined]
    planted = eventlog.segment_key(last + 1, last + 2)
    store.put_bytes(planted, b"{}\n")
    try:
        eventlog._occupied(store, planted, last + 1, last + 2, log, None)  # type: ignore[attr-defined]
    except eventlog._NotArchas as e:  # type: ignore[attr-defined]
        assert "is there already" in str(e)
    else:
        raise AssertionError("a planted file was taken for the rows")


def test_a_write_rolled_back_leaves_no_gap_in_the_log_or_the_journal(repo: Repository, bags: Path) -> None:
    """A command killed inside its transaction (or one that fails there) leaves nothing of
    it; on PostgreSQL an identity column would still have used up the numbers its rows took,
    and a location's journal, read only as far as it runs on from change 1, looked cut at
    the first number missing (`fixity audit` failed after a killed watcher). Each row takes
    the next number after the newest, on both backends."""
    from archa.metadata.records import Event

    ingest(repo, write_bag(bags / "b0", {"a.txt": b"A" * 100}))
    cat = repo.catalog
    for i in range(2):  # two in a row: a number used up twice over would be a gap of two
        try:
            with cat.transaction():
                cat.insert("originators", {"id": f"gone-{i}", "name": "Never", "ico": None, "seat": None,
                                           "quota_bytes": None, "created": "2026-12-06T00:00:00Z"})
                cat.log.append([Event("registration", "success", "never committed", "archa")])
                raise OSError("killed here")
        except OSError:
            pass
    r = CliRunner().invoke(cli, ["originator", "add", "brtnice", "--name", "Obec Brtnice", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    ingest(repo, write_bag(bags / "b1", {"b.txt": b"B" * 100}))
    conn = repo.catalog.conn
    for table in ("events", "changes"):
        seqs = [s for (s,) in conn.execute(f"SELECT seq FROM {table} ORDER BY seq").fetchall()]
        assert seqs == list(range(1, len(seqs) + 1)), (table, seqs)
    code, out = _verify(repo)
    assert code == 0 and "matching the log in 2 storage locations" in out, out
    a = CliRunner().invoke(cli, ["fixity", "audit", "--all", "--repo", str(repo.root)])
    assert a.exit_code == 0, a.output
