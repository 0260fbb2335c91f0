"""The catalog: schema version, transactions, and the hash-chained event log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.errors import RepositoryError, SipRejected
from archa.ingest.ingest import ingest
from archa.repository.catalog import SCHEMA_VERSION, Catalog
from archa.repository.events import Event, append_events, verify_chain
from archa.repository.repo import Repository
from tests.bagmaker import write_bag


def _catalog_with_events(tmp_path: Path, n: int = 5) -> Catalog:
    cat = Catalog.create(tmp_path / "c.sqlite")
    with cat.transaction():
        append_events(cat.conn, [Event("fixity check", "success", f"audit {i}", "archa/test") for i in range(n)])
    return cat


def test_chain_is_intact_after_appends(tmp_path: Path) -> None:
    cat = _catalog_with_events(tmp_path)
    rows = cat.events()
    assert rows[0]["prev_hash"] == "0" * 64
    assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, len(rows)))
    assert verify_chain(cat.conn) == []


def test_edited_row_is_detected(tmp_path: Path) -> None:
    cat = _catalog_with_events(tmp_path)
    cat.db.execute("UPDATE events SET outcome = 'failure' WHERE seq = 3")
    (p,) = verify_chain(cat.conn)
    assert p.seq == 3 and "edited" in p.problem


def test_deleted_row_is_detected(tmp_path: Path) -> None:
    cat = _catalog_with_events(tmp_path)
    cat.db.execute("DELETE FROM events WHERE seq = 2")
    (p,) = verify_chain(cat.conn)
    assert p.seq == 3 and "deleted" in p.problem


def test_reordered_rows_are_detected(tmp_path: Path) -> None:
    cat = _catalog_with_events(tmp_path)
    a, b = cat.events()[1], cat.events()[2]  # seq 2 and 3
    cols = [c for c in a if c != "seq"]

    def put(seq: int, row: dict[str, object]) -> None:
        cat.db.execute(f"UPDATE events SET {', '.join(c + ' = ?' for c in cols)} WHERE seq = ?",
                       [row[c] for c in cols] + [seq])

    cat.db.execute("UPDATE events SET id = 'tmp' WHERE seq = 2")
    put(3, a)
    put(2, b)
    problems = verify_chain(cat.conn)
    assert problems and problems[0].seq == 2 and "reordered" in problems[0].problem


def test_failed_transaction_leaves_no_rows(tmp_path: Path) -> None:
    cat = _catalog_with_events(tmp_path, 1)
    with pytest.raises(ZeroDivisionError), cat.transaction():
        append_events(cat.conn, [Event("validation", "success", "x", "a")])
        raise ZeroDivisionError
    assert len(cat.events()) == 1


def test_schema_version_and_refusal_of_newer(tmp_path: Path) -> None:
    cat = Catalog.create(tmp_path / "c.sqlite")
    assert cat.schema_version == SCHEMA_VERSION
    cat.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    cat.close()
    with pytest.raises(RepositoryError, match="newer than this archa"):
        Catalog.open(tmp_path / "c.sqlite")


def test_ingest_events_join_the_chain(repo: Repository, bags: Path) -> None:
    ingest(repo, write_bag(bags / "a", {"x.txt": b"x"}))
    (bags / "b").mkdir()  # a bag with no manifest and no payload
    (bags / "b" / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    with pytest.raises(SipRejected):
        ingest(repo, bags / "b")  # rejected: also an event
    ingest(repo, write_bag(bags / "c", {"y.txt": b"y"}))
    # per AIP: 4 ingest events + its access + 1 replication; the rejection; the originator of the bags registered
    # once; and after each of the three commands the journal of the transfers it recorded, sealed
    seals = [e for e in repo.catalog.events() if e["detail"].startswith("journal sealed at change")]
    assert len(seals) == 3
    assert len(repo.catalog.events()) == 2 * 6 + 1 + 1 + 3
    assert verify_chain(repo.catalog.conn) == []


def test_compact_file_rows_migrate_from_schema_10(repo: Repository, tmp_path: Path) -> None:
    """A catalog of schema 10 (one wide `files` table) becomes the compact table with the same
    rows read through the `files` view; a row takes under 250 bytes."""
    import sqlite_utils

    from archa.ingest.ingest import ingest
    from archa.repository.catalog import MIGRATIONS, Catalog
    from tests.bagmaker import write_bag

    aip = ingest(repo, write_bag(tmp_path / "b", {f"d/{i}.txt": f"{i}\n".encode() for i in range(300)})).aip_id
    cols = "aip_id, version, logical_path, content_path, role, original_name, size, digest, puid, format_name, " \
           "format_version, mime, basis, engine, engine_version, signature_version, warning"
    before = repo.catalog.conn.execute(f"SELECT {cols} FROM files ORDER BY logical_path").fetchall()
    aips = repo.catalog.rows("SELECT * FROM aips")
    old = tmp_path / "old.sqlite"
    db = sqlite_utils.Database(old)
    for m in MIGRATIONS[:10]:
        m(db)
    db.execute("PRAGMA user_version = 10")
    db.table("aips").insert_all(aips)
    db.conn.executemany(f"INSERT INTO files ({cols}) VALUES ({', '.join('?' * 17)})", before)
    db.conn.commit()
    db.close()
    cat = Catalog.open(old)
    assert cat.conn.execute(f"SELECT {cols} FROM files ORDER BY logical_path").fetchall() == before
    assert len(before) > 300 and {r[0] for r in before} == {aip}
    size = sum(r[0] for r in cat.conn.execute(
        "SELECT pgsize FROM dbstat WHERE name IN ('file_rows', 'file_rows_path')"))
    assert size / len(before) < 250, size / len(before)
    cat.close()


def _counts_agree(cat: Any) -> None:
    kept = cat.conn.execute("SELECT aip, version, format, role, files, bytes FROM version_formats "
                            "ORDER BY 1, 2, 3, 4").fetchall()
    counted = cat.conn.execute("SELECT aip, version, format, role, COUNT(*), SUM(size) FROM file_rows "
                               "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4").fetchall()
    assert kept == counted


def test_format_counts_follow_the_file_rows(repo: Repository, tmp_path: Path) -> None:
    """The per-version format counts (what `formats report` reads instead of scanning every
    file) stay equal to the file rows through ingest, update, re-identification and rebuild."""
    from archa.ingest.ingest import ingest
    from tests.bagmaker import write_bag

    aip = ingest(repo, write_bag(tmp_path / "b", {"a.txt": b"plain\n", "b.pdf": b"%PDF-1.4\n%%EOF\n"})).aip_id
    _counts_agree(repo.catalog)
    (tmp_path / "c.txt").write_text("more\n")
    r = CliRunner().invoke(cli, ["aip", "update", aip, "--add", f"{tmp_path / 'c.txt'}=c.txt", "--remove", "a.txt",
                                 "--reason", "r", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    _counts_agree(repo.catalog)
    profile = {p["puid"]: p["files"] for p in repo.catalog.format_profile()}
    assert sum(profile.values()) == 2  # the head: b.pdf and c.txt
    r = CliRunner().invoke(cli, ["catalog", "rebuild", "--check", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    stale = repo.catalog.count_stale_identifications("fido", "x", "y")
    assert stale == repo.catalog.conn.execute("SELECT COUNT(*) FROM files WHERE role != 'metadata'").fetchone()[0]
    r = CliRunner().invoke(cli, ["formats", "reidentify", "--engine", "fido", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    _counts_agree(repo.catalog)
    assert repo.catalog.count_stale_identifications("fido", "x", "y") == stale  # fido's own versions differ
