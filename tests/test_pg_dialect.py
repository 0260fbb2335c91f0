"""The catalog's SQLite-flavoured query text, rewritten for PostgreSQL (catalog/pgsql.py),
run on a real PostgreSQL server: upserts on the primary key, ignored duplicates,
parameters, literal percent signs, strpos and hex of bytes."""

from __future__ import annotations

import pytest

from archa.repository.catalog.pgsql import PgConnection, placeholders, translate
from tests.pgserver import PgServer


def test_translate_rewrites_only_what_the_dialects_do_not_share() -> None:
    assert placeholders("SELECT * FROM t WHERE a = ? AND b LIKE 'x%'") == \
        "SELECT * FROM t WHERE a = %s AND b LIKE 'x%%'"
    assert translate("INSERT OR IGNORE INTO t (a) VALUES (?)") == "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING"
    assert translate("INSERT OR REPLACE INTO t (k, a, b) VALUES (?, ?, ?)", lambda t: ["k"]) == \
        "INSERT INTO t (k, a, b) VALUES (%s, %s, %s) ON CONFLICT (k) DO UPDATE SET a = EXCLUDED.a, b = EXCLUDED.b"
    assert translate("SELECT instr(detail, ?) FROM e") == "SELECT strpos(detail, %s) FROM e"
    assert translate("SELECT lower(hex(r.digest)) FROM r", params=False) == "SELECT encode(r.digest, 'hex') FROM r"
    plain = "SELECT a.id, COALESCE(b.x, '') || ' ' || c.y FROM a JOIN b ON b.id = a.id LEFT JOIN c ON c.a = a.id"
    assert translate(plain, params=False) == plain


@pytest.fixture
def conn(pg: PgServer) -> PgConnection:
    import psycopg

    return PgConnection(psycopg.connect(pg.database(), autocommit=True))


def test_the_rewritten_text_runs_on_postgresql(conn: PgConnection) -> None:
    conn.execute("CREATE TABLE holds (id INTEGER PRIMARY KEY, aip_id TEXT, reason TEXT, digest BYTEA)")
    conn.executemany("INSERT INTO holds (id, aip_id, reason, digest) VALUES (?, ?, ?, ?)",
                     [(1, "urn:a", "soud 12 C 34/2026 (100%)", b"\xab\xcd"), (2, "urn:b", "žádost", b"\x01")])
    conn.execute("INSERT OR IGNORE INTO holds (id, aip_id, reason, digest) VALUES (?, ?, ?, ?)", [1, "x", "y", b""])
    conn.execute("INSERT OR REPLACE INTO holds (id, aip_id, reason, digest) VALUES (?, ?, ?, ?)",
                 [2, "urn:b", "žádost (upřesněná)", b"\x02"])
    rows = conn.execute("SELECT id, reason, lower(hex(digest)), instr(reason, ?) FROM holds WHERE reason LIKE '%(%' "
                        "ORDER BY id", ["("]).fetchall()
    assert rows == [(1, "soud 12 C 34/2026 (100%)", "abcd", 19), (2, "žádost (upřesněná)", "02", 8)]
    assert conn.primary_key("holds") == ["id"]


def test_the_schema_is_made_and_journals_as_sqlite_does(pg: PgServer) -> None:
    import json

    import psycopg

    from archa.repository.catalog.pgschema import create_schema
    from archa.repository.catalog.schema import JOURNALED, SCHEMA_VERSION

    with psycopg.connect(pg.database()) as raw:
        create_schema(raw)
        conn = PgConnection(raw)
        assert conn.execute("SELECT version FROM archa_schema").fetchone() == (SCHEMA_VERSION,)
        conn.execute("INSERT INTO documents (sha256, kind, name, content) VALUES (?, ?, ?, ?)",
                     ["ab", "decision", "seznam.xml", b"\x01\xfe"])
        conn.execute("INSERT INTO holds (aip_id, reason, placed) VALUES (?, ?, ?)", ["urn:a", "soud", "2026"])
        conn.execute("UPDATE holds SET released = ? WHERE aip_id = ?", ["2027", "urn:a"])
        conn.execute("DELETE FROM holds")
        changes = conn.execute("SELECT seq, tbl, op, row FROM changes ORDER BY seq").fetchall()
        assert [(t, o) for _s, t, o, _r in changes] == [("documents", "upsert"), ("holds", "upsert"),
                                                        ("holds", "upsert"), ("holds", "delete")]
        assert json.loads(changes[0][3])["content"] == "01FE"  # as SQLite's hex() writes a BLOB
        assert json.loads(changes[2][3]) == {"id": 1, "aip_id": "urn:a", "reason": "soud", "placed": "2026",
                                             "placed_by": None, "released": "2027", "released_by": None,
                                             "release_reason": None}
        triggers = {r[0] for r in conn.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall()}
        assert triggers == {f"journal_{t}" for t in JOURNALED}
        conn.execute("INSERT INTO page_text (aip_id, version, seq, text) VALUES (?, ?, ?, ?)",
                     ["urn:a", "v1", 1, "Pamětní deska padlým v Brtnici"])
        hits = conn.execute("SELECT seq FROM page_text WHERE tsv @@ plainto_tsquery('simple', archa_unaccent(?))",
                            ["pametni DESKA"]).fetchall()
        assert hits == [(1,)]


def test_a_catalog_on_postgresql_records_and_chains_events(pg: PgServer) -> None:
    from archa.repository.catalog.postgres import PgCatalog
    from archa.repository.events import ARCHA_AGENT, Event, append_events, verify_chain

    url = pg.database()
    cat = PgCatalog.create(url)
    with cat.transaction():
        cat.insert("originators", {"id": "kraj", "name": "Kraj Vysočina"})
        append_events(cat.conn, [Event("policy assignment", "success", "originator kraj", ARCHA_AGENT)])  # type: ignore[arg-type]
    with cat.transaction():
        cat.insert("originators", {"id": "kraj", "name": "Kraj Vysočina (KÚ)"}, upsert=("id",))
    cat.close()
    again = PgCatalog.open(url)
    assert again.rows("SELECT id, name FROM originators") == [{"id": "kraj", "name": "Kraj Vysočina (KÚ)"}]
    assert [r["tbl"] for r in again.rows("SELECT tbl FROM changes ORDER BY seq")] == ["originators", "originators"]
    assert verify_chain(again.conn) == []  # type: ignore[arg-type]
    assert again.advisory_lock("repository", timeout=None)
    other = PgCatalog.open(url)
    assert not other.advisory_lock("repository", timeout=None)  # another node, another session: refused
    assert other.advisory_lock("repository", timeout=None, shared=False) is False
    again.advisory_unlock("repository")
    assert other.advisory_lock("repository", timeout=1)


def test_a_catalog_of_schema_19_numbers_its_journal_without_gaps_after_migrating(pg: PgServer) -> None:
    """Schema 19's journal functions let PostgreSQL's identity number each change: a
    transaction rolled back (a command killed in it) used up its numbers, and the journal a
    location holds looked cut at the gap. Migrating to 20 makes the functions number each
    change after the newest, and the trigger check knows the new functions as archa's."""
    import psycopg

    from archa.repository.catalog.journal import journal_problems
    from archa.repository.catalog.pgschema import WRITE_LOCK, journal_function_sql, table_columns
    from archa.repository.catalog.postgres import PgCatalog
    from archa.repository.catalog.schema import JOURNALED, SCHEMA_VERSION

    url = pg.database()
    PgCatalog.create(url).close()
    with psycopg.connect(url, autocommit=True) as raw:  # as archa 19 left it
        for table in JOURNALED:
            new = journal_function_sql(table_columns(raw, table), table)
            old = new.replace(f"    PERFORM pg_advisory_xact_lock({WRITE_LOCK});\n", "").replace(
                "(seq, tbl, op, row) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM changes), ",
                "(tbl, op, row) VALUES (")
            assert old != new and "MAX(seq)" not in old
            raw.execute(old)  # type: ignore[arg-type]
        raw.execute("UPDATE archa_schema SET version = 19")
    cat = PgCatalog.open(url)  # migrates
    assert cat.schema_version == SCHEMA_VERSION == 20
    for name in ("a", "b", "c"):
        try:
            with cat.transaction():
                cat.insert("originators", {"id": name, "name": name.upper()})
                if name == "b":
                    raise OSError("killed here")
        except OSError:
            pass
    assert [s for (s,) in cat.conn.execute("SELECT seq FROM changes ORDER BY seq").fetchall()] == [1, 2]
    assert journal_problems(cat) == []
    cat.close()
