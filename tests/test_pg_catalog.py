"""PgCatalog on a real server: what differs from SQLite is made the same (values as sqlite3
gives them, code-point order, null-safe comparison with a parameter, results streamed from
a server-side cursor, column listing, identity keys after rows written with their keys)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from archa.repository.catalog import Catalog
from archa.repository.catalog.pgsql import translate
from archa.repository.catalog.postgres import PgCatalog
from tests.pgserver import PgServer


@pytest.fixture
def cats(pg: PgServer, tmp_path: Path) -> Iterator[tuple[Catalog, Catalog]]:
    lite, server = Catalog.create(tmp_path / "catalog.sqlite"), PgCatalog.create(pg.database())
    yield lite, server
    lite.close()
    server.close()


def test_is_a_parameter_is_null_safe() -> None:
    assert translate("DELETE FROM t WHERE a IS ? AND b IS NOT ?") == \
        "DELETE FROM t WHERE a IS NOT DISTINCT FROM %s AND b IS DISTINCT FROM %s"
    assert translate("SELECT 1 WHERE a IS NULL AND b IS NOT NULL", params=False) == \
        "SELECT 1 WHERE a IS NULL AND b IS NOT NULL"


def test_the_same_values_and_order_on_both(cats: tuple[Catalog, Catalog]) -> None:
    ids = ["urn:b", "urn:B", "urn:á", "urn:a", "urn:Z", "urn:ž", "urn:a b", "urn:a-b"]
    for cat in cats:
        with cat.transaction():
            cat.insert("aips", [{"id": i, "created": "2026", "label": i, "head": "v1"} for i in ids])
            cat.insert("versions", [{"aip_id": i, "version": "v1", "files": 2, "bytes": 3_000_000_000 + n,
                                     "stored": 1} for n, i in enumerate(ids)])
            cat.insert("documents", {"sha256": "ab", "kind": "decision", "name": "x", "content": b"\x00\xff"})
    lite, server = cats
    for sql in ("SELECT id FROM aips ORDER BY id",  # code-point order, whatever the database's locale
                "SELECT SUM(bytes), SUM(files), COUNT(*), MAX(bytes) FROM versions",  # ints, not Decimal
                "SELECT id, bytes > 3000000003, stored = 1 FROM aips JOIN versions ON aip_id = id ORDER BY id",
                "SELECT content, lower(hex(content)) FROM documents"):
        got = [tuple(r) for r in server.conn.execute(sql).fetchall()]
        assert got == [tuple(r) for r in lite.conn.execute(sql).fetchall()], sql
    assert [r[0] for r in server.conn.execute("SELECT id FROM aips ORDER BY id").fetchall()] == sorted(ids)
    assert type(server.conn.execute("SELECT content FROM documents").fetchone()[0]) is bytes
    assert server.table_columns("holds") == lite.table_columns("holds")
    assert [c[:2] for c in server.table_columns("files")] == [(n, "TEXT" if t == "" else t)
                                                            for n, t, _pk in lite.table_columns("files")]


def test_a_big_result_comes_a_batch_at_a_time(cats: tuple[Catalog, Catalog]) -> None:
    _lite, server = cats
    with server.transaction():
        server.insert("aips", [{"id": f"urn:{n:05d}", "created": "2026", "label": "", "head": "v1"}
                               for n in range(2500)])
    seen = []
    for row in server.iter_rows("SELECT id FROM aips ORDER BY id"):  # other queries run meanwhile
        seen.append(row["id"])
        assert server.has_aip(row["id"])
    assert seen == [f"urn:{n:05d}" for n in range(2500)]
    open_cursors = server.conn.execute("SELECT count(*) FROM pg_cursors").fetchone()[0]
    assert open_cursors == 0  # closed on the server once read to the end
    cur = server.stream("SELECT id FROM aips")
    assert len(cur.fetchmany(2000)) == 2000 and len(cur.fetchmany(2000)) == 500
    assert cur.fetchmany(2000) == [] and cur.fetchone() is None  # read past the end: nothing, no error


def test_keys_follow_rows_restored_with_their_keys(cats: tuple[Catalog, Catalog]) -> None:
    for cat in cats:
        with cat.transaction():
            cat.conn.execute("INSERT INTO holds (id, aip_id, reason) VALUES (?, ?, ?)", [41, "urn:a", "x"])
            cat.sync_keys()
            cat.insert("holds", {"aip_id": "urn:a", "reason": "y"})
        assert cat.conn.execute("SELECT MAX(id) FROM holds").fetchone()[0] == 42
