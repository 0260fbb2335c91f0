"""The catalog's schema: the ordered migrations (index i takes schema i to i+1; a released
migration is never edited), the journaled tables and their triggers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from archa.repository.catalog.rows import FILE_COLUMNS, FILES_VIEW, FORMAT_COLUMNS, FileRow, FileWriter

if TYPE_CHECKING:
    import sqlite_utils

CATALOG_NAME = "catalog.sqlite"


def _m1(db: sqlite_utils.Database) -> None:
    db.table("aips").create({"id": str, "created": str, "label": str, "external_id": str,
                       "head": str, "transfer_id": str}, pk="id")
    db.table("versions").create({"aip_id": str, "version": str, "created": str, "message": str,
                           "files": int, "bytes": int, "inventory_digest": str,
                           "digest_algorithm": str, "stored": int},
                          pk=("aip_id", "version"), foreign_keys=[("aip_id", "aips", "id")])
    db.table("files").create({"aip_id": str, "version": str, "logical_path": str, "content_path": str,
                        "role": str, "original_name": str, "size": int, "digest": str,
                        "puid": str, "format_name": str, "format_version": str, "mime": str,
                        "basis": str, "engine": str, "engine_version": str,
                        "signature_version": str, "warning": str},
                       pk=("aip_id", "version", "logical_path"),
                       foreign_keys=[("aip_id", "aips", "id")])
    db.table("files").create_index(["digest"])
    db.table("files").create_index(["puid"])
    db.table("copies").create({"aip_id": str, "version": str, "location": str, "state": str,
                         "written": str, "last_audit": str},
                        pk=("aip_id", "version", "location"))
    db.table("transfers").create({"id": str, "source": str, "received": str, "status": str,
                            "aip_id": str, "files": int, "bytes": int, "findings": str}, pk="id")
    db.execute("""CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, time TEXT NOT NULL, outcome TEXT NOT NULL,
        detail TEXT NOT NULL, agent TEXT NOT NULL, aip_id TEXT, version TEXT, location TEXT,
        transfer_id TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""")
    db.table("events").create_index(["aip_id"])


def _m2(db: sqlite_utils.Database) -> None:
    """Copies in several locations: their size and, for packed copies, the archive digest."""
    db.table("copies").add_column("bytes", int)
    db.table("copies").add_column("archive_sha256", str)


def _m3(db: sqlite_utils.Database) -> None:
    """Retention per AIP and entity (sign A/S/V, period, trigger year, year it ends)."""
    db.table("retention").create({"aip_id": str, "entity": str, "sign": str, "period": int,
                                  "trigger_year": int, "until_year": int},
                                 pk=("aip_id", "entity"), foreign_keys=[("aip_id", "aips", "id")])
    db.table("retention").create_index(["until_year"])


def _m4(db: sqlite_utils.Database) -> None:
    """Retention the package declared (not computed), and a disposal procedure already held."""
    db.table("retention").add_column("until_declared", int)
    db.table("retention").add_column("disposal_date", str)
    db.table("retention").add_column("disposal_operation", str)
    db.table("retention").add_column("disposal_by", str)


def _m5(db: sqlite_utils.Database) -> None:
    """Originators and the AIP's originator; the AIP's state (active, destroyed, transferred);
    legal holds; the identifier, source system and title of each retention row's entity."""
    db.table("originators").create({"id": str, "name": str, "ico": str, "seat": str, "quota_bytes": int,
                                    "created": str}, pk="id")
    db.table("aips").add_column("originator_id", str)
    db.table("aips").add_column("state", str)
    db.table("aips").create_index(["originator_id"])
    db.table("holds").create({"id": int, "aip_id": str, "reason": str, "placed": str, "placed_by": str,
                              "released": str, "released_by": str, "release_reason": str}, pk="id")
    db.table("holds").create_index(["aip_id"])
    db.table("retention").add_column("entity_id", str)
    db.table("retention").add_column("entity_source", str)
    db.table("retention").add_column("title", str)
    db.table("retention").create_index(["entity_id", "entity_source"])


def _m6(db: sqlite_utils.Database) -> None:
    """The disposal procedure: proposals and their items (one per record), the documents the
    archive sent (decision and confirmation lists), and tombstones of destroyed AIPs."""
    db.table("proposals").create({"id": str, "created": str, "as_of_year": int, "originator_id": str,
                                  "out": str, "state": str}, pk="id")
    db.table("proposal_items").create({
        "proposal_id": str, "aip_id": str, "entity": str, "entity_id": str, "entity_source": str, "title": str,
        "sign": str, "due_year": int, "sip": str, "decision": str, "decided": str, "decision_doc": str,
        "transferred": str, "transfer_sip": str, "da_id": str, "da_source": str, "confirmed": str,
        "destroyed": str}, pk=("proposal_id", "aip_id", "entity"))
    db.table("proposal_items").create_index(["aip_id"])
    db.table("documents").create({"sha256": str, "kind": str, "received": str, "name": str, "content": bytes},
                                 pk="sha256")
    db.table("tombstones").create({"aip_id": str, "state": str, "at": str, "proposal_id": str,
                                   "certificate": str, "locations_left": str}, pk="aip_id")


def _m7(db: sqlite_utils.Database) -> None:
    """The head version's payload fingerprint per AIP (a re-ingest of the same bag is found)."""
    db.table("aips").add_column("payload_digest", str)
    db.table("aips").create_index(["payload_digest"])
    for (aip_id, head) in db.execute("SELECT id, head FROM aips").fetchall():
        db.execute("UPDATE aips SET payload_digest = ? WHERE id = ?",
                   [payload_fingerprint(db.execute(PAYLOAD, [aip_id, head])), aip_id])


def _m8(db: sqlite_utils.Database) -> None:
    """How far each location holds the event log (archa/repository/eventlog.py)."""
    db.table("event_anchors").create({"location": str, "last_seq": int, "last_hash": str}, pk="location")


# Tables only the catalog holds (nothing in an AIP says them), and `retention` (what the AIPs
# say of their retention, with the disposal outcome; journaled since schema 14 so that a row
# changed behind archa's back is found): every change to them is journaled by triggers into
# `changes`, which eventlog.anchor writes to every location with the events, and `catalog
# rebuild` replays.
JOURNALED = ("transfers", "originators", "holds", "proposals", "proposal_items", "documents", "retention")


def journal_trigger_sql(db: Any, table: str) -> dict[str, str]:
    """The triggers that journal `table` ({name: CREATE TRIGGER text}), as `journal_triggers`
    creates them for its columns now (`events verify` compares them with the catalog's)."""
    cols = [(r[1], (r[2] or "").upper()) for r in db.execute(f"PRAGMA table_info({table})").fetchall()]

    def obj(alias: str) -> str:
        return "json_object(" + ", ".join(f"'{c}', " + (f"hex({alias}.{c})" if "BLOB" in t else f"{alias}.{c}")
                                           for c, t in cols) + ")"

    return {f"journal_{table}_{op}": f"""CREATE TRIGGER journal_{table}_{op} AFTER {event} ON {table} BEGIN
                           INSERT INTO changes (tbl, op, row) VALUES ('{table}', '{kind}', {obj(alias)}); END"""
            for op, event, alias, kind in (("ins", "INSERT", "NEW", "upsert"), ("upd", "UPDATE", "NEW", "upsert"),
                                           ("del", "DELETE", "OLD", "delete"))}


def journal_triggers(db: Any, create: bool = True) -> None:
    """(Re)create, or with `create` False drop, the triggers journaling JOURNALED tables
    (`db`: a sqlite3 connection, or sqlite-utils' Database in a migration). A migration that
    changes one of those tables' columns must call this again."""
    for table in JOURNALED:
        for op in ("ins", "upd", "del"):
            db.execute(f"DROP TRIGGER IF EXISTS journal_{table}_{op}")
        if not create:
            continue
        for sql in journal_trigger_sql(db, table).values():
            db.execute(sql)


def _m9(db: sqlite_utils.Database) -> None:
    """The journal of the catalog-only tables (see JOURNALED), anchored in storage."""
    db.execute("""CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL,
                  op TEXT NOT NULL, row TEXT NOT NULL)""")
    db.table("event_anchors").add_column("last_change", int)
    journal_triggers(db)
    for table in JOURNALED:  # what they hold already
        db.execute(f"UPDATE {table} SET rowid = rowid")


PAYLOAD = "SELECT logical_path, digest FROM files WHERE aip_id = ? AND version = ? AND role = 'payload'"


def payload_fingerprint(rows: Iterable[tuple[str, str]], ordered: bool = False) -> str:
    """sha256 over the sorted `path<TAB>digest` lines of a version's payload: equal for two
    versions holding the same files under the same names (with one digest algorithm).
    `ordered`: the rows come sorted already (streamed, never held)."""
    h = hashlib.sha256()
    for path, digest in rows if ordered else sorted(rows):
        h.update(f"{path}\t{digest}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


# joins a table `t` with an aip_id column to the AIPs still held (not destroyed or transferred)
ACTIVE = "JOIN aips a ON a.id = {t}.aip_id AND COALESCE(a.state, 'active') = 'active'"

# Ordered migrations: index i takes schema version i to i + 1. Never edit a released one.
def _m10(db: sqlite_utils.Database) -> None:
    """Pages of digitised volumes and the full-text index of their OCR (archa/repository/pages.py)."""
    db.execute("""CREATE TABLE pages (aip_id TEXT NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL,
                  label TEXT, section TEXT, master TEXT, user TEXT, alto TEXT, txt TEXT,
                  PRIMARY KEY (aip_id, version, seq))""")
    db.execute("""CREATE VIRTUAL TABLE page_text USING fts5(text, aip_id UNINDEXED, version UNINDEXED,
                  seq UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')""")


def _m11(db: sqlite_utils.Database) -> None:
    """Files compactly (under 250 bytes a row): AIP ids, folders and the nine format columns
    in lookup tables, digests as bytes, content paths and original names only where they
    differ from what they derive to; the old `files` becomes a view of the same columns."""
    db.execute("CREATE TABLE aip_keys (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE)")
    db.execute("CREATE TABLE dirs (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE)")  # with the trailing /
    db.execute(f"""CREATE TABLE formats (id INTEGER PRIMARY KEY, {', '.join(f"{c} TEXT NOT NULL DEFAULT ''"
                                                                           for c in FORMAT_COLUMNS)},
                   UNIQUE ({', '.join(FORMAT_COLUMNS)}))""")
    db.execute("""CREATE TABLE file_rows (id INTEGER PRIMARY KEY, aip INTEGER NOT NULL, version TEXT NOT NULL,
                  dir INTEGER NOT NULL, name TEXT NOT NULL, role INTEGER NOT NULL, size INTEGER NOT NULL,
                  digest BLOB NOT NULL, format INTEGER NOT NULL, content_path TEXT, original_name TEXT)""")
    db.execute("CREATE UNIQUE INDEX file_rows_path ON file_rows (aip, version, dir, name)")
    db.execute("""CREATE TABLE version_formats (aip INTEGER NOT NULL, version TEXT NOT NULL, format INTEGER NOT NULL,
                  role INTEGER NOT NULL, files INTEGER NOT NULL, bytes INTEGER NOT NULL,
                  PRIMARY KEY (aip, version, format, role)) WITHOUT ROWID""")
    db.execute("INSERT INTO aip_keys (id) SELECT id FROM aips ORDER BY created, id")
    writer = FileWriter(db.conn)
    cols = ", ".join(FILE_COLUMNS)
    rows = db.conn.execute(f"SELECT {cols} FROM files ORDER BY aip_id, version, logical_path")
    def row(values: Sequence[Any]) -> FileRow:
        d: dict[str, Any] = {c: "" if v is None else v for c, v in zip(FILE_COLUMNS, values, strict=True)}
        return FileRow(**d)

    while batch := rows.fetchmany(5000):
        writer.insert(row(r) for r in batch)
    db.execute("DROP TABLE files")
    db.execute(FILES_VIEW)


def _m12(db: sqlite_utils.Database) -> None:
    """Events by time (`events list --since`, `events export --since`)."""
    db.execute("CREATE INDEX events_time ON events (time)")


def _m13(db: sqlite_utils.Database) -> None:
    """What a disposal decision binds (issue #22): each proposal item's AIP version and that
    version's inventory digest as proposed (`version`, `inventory_digest`) and as handed over
    to the archive (`transferred_version`, `transferred_digest`), and when an item was
    withdrawn from its proposal for a new version (`withdrawn`). proposal_items is
    journaled: its triggers are made again for the new columns."""
    for column in ("version", "inventory_digest", "transferred_version", "transferred_digest", "withdrawn"):
        db.table("proposal_items").add_column(column, str)
    journal_triggers(db)


def _m14(db: sqlite_utils.Database) -> None:
    """`retention` journaled too (issue #22: a retention shortened in the catalog alone is
    found by `events verify`): its triggers, and the rows it holds put in the journal."""
    journal_triggers(db)
    db.execute("UPDATE retention SET rowid = rowid")


def _m15(db: sqlite_utils.Database) -> None:
    """Settings the nodes of a repository share (issue #23): the repository's configuration
    (identity, locations, policy) under the key `config`, as archa.toml's TOML text. A
    repository on SQLite has one node and keeps it in archa.toml; the table stays empty."""
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _m16(db: sqlite_utils.Database) -> None:
    """AIPs by External-Identifier (issue #28): a record found by the identifier people type
    for it (catalog/lookup.py), and a SIP's External-Identifier checked against the AIPs at
    ingest, from an index instead of a read of every AIP row. (pgschema.PG_MIGRATIONS[15])"""
    db.execute("CREATE INDEX IF NOT EXISTS aips_external_id ON aips (external_id)")


def _m17(db: sqlite_utils.Database) -> None:
    """Every version's payload fingerprint (issue #28): the same folder sent again after
    `aip update` is found as held by an older version, from an index at any size. The heads
    take the AIP's fingerprint; only older versions are computed. (pgschema.PG_MIGRATIONS[16])"""
    if "payload_digest" not in db.table("versions").columns_dict:
        db.execute("ALTER TABLE versions ADD COLUMN payload_digest TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS versions_payload_digest ON versions (payload_digest)")
    fill_version_payload_digests(db.conn)


RECORD_TABLES = """
CREATE TABLE IF NOT EXISTS records (n INTEGER PRIMARY KEY, aip_id TEXT NOT NULL UNIQUE, version TEXT, kind TEXT, title TEXT,
    originator TEXT, originator_id TEXT, date TEXT, date_from TEXT, date_to TEXT, state TEXT NOT NULL DEFAULT 'active',
    removed TEXT);
CREATE INDEX IF NOT EXISTS records_originator_id ON records (originator_id);
CREATE VIRTUAL TABLE IF NOT EXISTS record_text USING fts5(title, identifier, sign, ref, originator, author,
    facets, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4');
CREATE TABLE IF NOT EXISTS access (aip_id TEXT PRIMARY KEY, status TEXT NOT NULL, reason TEXT, until TEXT, source TEXT,
    changed TEXT);
"""


def _m18(db: sqlite_utils.Database) -> None:
    """The search index over every record's descriptive metadata and the access conditions
    (issue #25, catalog/recordindex.py), and prefix indexes for the page text. The AIPs held
    already are indexed from what the catalog knows of them (label, identifier, originator, the retention rows' titles,
    identifiers and signs); `catalog rebuild` indexes everything their metadata says.
    (pgschema.PG_MIGRATIONS[17])"""
    for stmt in RECORD_TABLES.split(";"):
        if stmt.strip():
            db.execute(stmt)
    page_text_with_prefixes(db.conn)
    page_terms(db.conn)
    from pathlib import Path

    from archa.repository.catalog.sqlite import Catalog

    index = Catalog(db.conn, Path("")).record_index
    index.fill_from_catalog()
    index.restore_access()


def _m19(db: sqlite_utils.Database) -> None:
    """Each event row's `mac`: HMAC-SHA256 of its hash under the repository's seal key, when
    archa.toml names one (NULL otherwise, and for rows from before): an event written into
    the catalog alone, without the key, is told from archa's before it is anchored
    (eventlog.unsigned). (pgschema.PG_MIGRATIONS[18])"""
    if "mac" not in {c.name for c in db["events"].columns}:  # (a migration run again leaves it as it is)
        db.execute("ALTER TABLE events ADD COLUMN mac TEXT")


def _m20(db: sqlite_utils.Database) -> None:
    """Nothing on SQLite, whose rowid numbers the journal's changes after the newest already;
    on PostgreSQL the journal functions are made to (pgschema.PG_MIGRATIONS[19]): no gap in
    the journal where a transaction was rolled back."""


PAGE_TEXT = """CREATE VIRTUAL TABLE page_text USING fts5(text, aip_id UNINDEXED, version UNINDEXED,
    seq UNINDEXED, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4')"""


def page_text_with_prefixes(conn: Any) -> None:
    """Give the page text index prefix indexes of 2, 3 and 4 characters (issue #25): a prefix
    query over a million pages (`kob*`) otherwise merges every word it begins before the
    first hit (0.2-5 s); with them it reads one list. The table is made anew from the old
    one (its rows and rowids kept) when it has none."""
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'page_text'").fetchone()
    if sql is not None and "prefix" in sql[0]:
        return
    conn.execute("ALTER TABLE page_text RENAME TO page_text_old")
    conn.execute(PAGE_TEXT)
    conn.execute("INSERT INTO page_text (rowid, text, aip_id, version, seq) "
                 "SELECT rowid, text, aip_id, version, seq FROM page_text_old")
    conn.execute("DROP TABLE page_text_old")


def page_terms(conn: Any) -> None:
    """The words the page text holds, each once, folded as the index folds them (lower case,
    no diacritics): a long prefix is looked up there and asked as an OR of its words
    (catalog/pages.py `PageIndex.expand`). Filled from the index when it is made."""
    conn.execute("CREATE TABLE IF NOT EXISTS page_terms (term TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.execute("CREATE VIRTUAL TABLE temp.page_vocab USING fts5vocab(main, page_text, 'row')")
    conn.execute("INSERT OR IGNORE INTO page_terms (term) SELECT term FROM temp.page_vocab")
    conn.execute("DROP TABLE temp.page_vocab")


def fill_version_payload_digests(conn: Any) -> None:
    """Set `versions.payload_digest` where it is not set: from the AIP's for its head, else
    from the version's file rows (a DB-API connection with `?` parameters)."""
    conn.execute("UPDATE versions SET payload_digest = (SELECT a.payload_digest FROM aips a WHERE a.id = "
                 "versions.aip_id AND a.head = versions.version) WHERE payload_digest IS NULL")
    for aip_id, version in conn.execute("SELECT aip_id, version FROM versions WHERE payload_digest IS NULL "
                                        "ORDER BY aip_id, version").fetchall():
        digest = payload_fingerprint(conn.execute(f"{PAYLOAD} ORDER BY logical_path", [aip_id, version]),
                                     ordered=True)
        conn.execute("UPDATE versions SET payload_digest = ? WHERE aip_id = ? AND version = ?",
                     [digest, aip_id, version])


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_m1, _m2, _m3, _m4, _m5, _m6, _m7, _m8, _m9, _m10,
                                                              _m11, _m12, _m13, _m14, _m15, _m16, _m17, _m18,
                                                              _m19, _m20]
SCHEMA_VERSION = len(MIGRATIONS)


