"""RebuildWriter: what a catalog rebuild writes and how two catalogs are compared (archa/repository/rebuild.py).

One component of the catalog (`catalog.rebuilder`): the only place its SQL is written.

A rebuild writes a new, empty catalog from what the storage locations hold: rows as they
were (event rows with their sequence numbers and hashes, the journal's changes with theirs),
with the journal triggers suspended meanwhile (what it writes is no new change). Every
`record_*` / `restore_*` method writes inside the caller's `cat.transaction()`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from archa.repository.catalog.log import COLUMNS
from archa.repository.catalog.rows import FileRow, FileWriter

if TYPE_CHECKING:
    from archa.repository.catalog.sqlite import Catalog


class RebuildWriter:
    """The writes of `catalog rebuild` into the new catalog `cat`."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat

    # the journal triggers

    def suspend_journal(self) -> None:
        """Drop the journal triggers: rows written from now on are not journaled (they are
        what the journal held already, or not journaled at all). A whole unit (no transaction
        needed)."""
        self.cat.journal_triggers(create=False)

    def resume_journal(self) -> None:
        """Create the journal triggers again, for the tables' columns as they are now."""
        self.cat.journal_triggers()

    # the event log and the journal, row for row

    def restore_events(self, rows: Iterable[Sequence[Any]]) -> None:
        """Insert event rows as a location's log holds them (every column, in
        log.COLUMNS order: seq, ..., prev_hash, hash), their sequence numbers kept."""
        self.cat.conn.executemany(f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES "
                                  f"({', '.join('?' * len(COLUMNS))})", rows)
        self.cat.sync_keys()  # the next event appended follows them

    def record_event_anchor(self, location: str, last_seq: int, last_hash: str) -> None:
        """Record that `location` holds the log up to `last_seq` (hash `last_hash`)."""
        self.cat.conn.execute("INSERT INTO event_anchors (location, last_seq, last_hash) VALUES (?, ?, ?)",
                              [location, last_seq, last_hash])

    def restore_journal(self, changes: Sequence[dict[str, Any]],
                        refused: Callable[[str, str, str], None]) -> None:
        """Replay journal changes ({seq, tbl, op, row}, in order) into the journaled tables
        and keep them as the new catalog's journal, row for row. A change the tables refuse
        (it names what the catalog lacks) goes to `refused(table, op, why)` and is kept in
        the journal all the same."""
        from archa.repository.catalog.journal import replay

        replay(self.cat.conn, ((c["tbl"], c["op"], c["row"]) for c in changes), self.cat.table_columns,
               refused=refused, savepoints=self.cat.dialect == "postgresql")
        self.cat.conn.executemany("INSERT INTO changes (seq, tbl, op, row) VALUES (?, ?, ?, ?)",
                                  ((c["seq"], c["tbl"], c["op"], json.dumps(c["row"], ensure_ascii=False))
                                   for c in changes))
        self.cat.sync_keys()  # the next change journaled (and hold placed) follows them

    def record_journal_anchor(self, location: str, last_change: int) -> None:
        """Record that `location` holds the journal up to `last_change` (its log's anchor,
        when recorded already, kept)."""
        self.cat.conn.execute("INSERT INTO event_anchors (location, last_seq, last_change) VALUES (?, 0, ?) "
                              "ON CONFLICT(location) DO UPDATE SET last_change = excluded.last_change",
                              [location, last_change])

    # an AIP, a version, its copies; a removed AIP's tombstone

    def record_originator(self, row: dict[str, Any]) -> None:
        """An originator row, unless one with its id is recorded already."""
        self.cat.insert("originators", row, ignore=True)

    def record_aip(self, aip: dict[str, Any]) -> None:
        """An AIP row (its versions, retention and copies follow)."""
        self.cat.insert("aips", aip)

    def record_retention(self, rows: Iterable[dict[str, Any]]) -> None:
        """Retention rows of AIPs recorded already."""
        self.cat.insert("retention", rows)

    def record_versions(self, rows: Iterable[dict[str, Any]]) -> None:
        """Version rows without files (a removed AIP's, from its tombstone)."""
        self.cat.insert("versions", rows)

    def record_version(self, version: dict[str, Any], files: Iterable[FileRow]) -> int:
        """A version row and its files (streamed); returns how many files."""
        self.cat.insert("versions", version)
        return FileWriter(self.cat.conn).insert(files)

    def record_pages(self, rows: Iterable[dict[str, Any]]) -> None:
        """A version's page rows with their OCR text (`text`), as ingest records them."""
        from archa.repository.catalog.pages import PageIndex

        PageIndex(self.cat).record(rows)

    def record_copies(self, rows: Iterable[dict[str, Any]]) -> None:
        """Copy rows, as found at the locations."""
        self.cat.insert("copies", rows)

    def record_tombstone(self, row: dict[str, Any]) -> None:
        """A removed AIP's tombstone row (its certificate as JSON text)."""
        self.cat.insert("tombstones", row)

    # copy states from the history

    def copy_audited(self, aip_id: str, version: str, location: str, state: str, when: str) -> None:
        """Set a copy's state and last audit as its last fixity check found them."""
        self.cat.conn.execute("UPDATE copies SET state = ?, last_audit = ? WHERE aip_id = ? AND version = ? AND "
                              "location = ?", [state, when, aip_id, version, location])

    def copy_rewritten(self, aip_id: str, version: str, location: str, when: str) -> None:
        """A copy (re)written at `when` by a replication: ok, never audited since."""
        self.cat.conn.execute("UPDATE copies SET state = ?, last_audit = ?, written = ? WHERE aip_id = ? AND "
                              "version = ? AND location = ?", ["ok", None, when, aip_id, version, location])

    def mark_damaged(self, aip_id: str, version: str, location: str) -> None:
        """A copy found changed at its location: damaged, whatever an older audit said."""
        self.cat.conn.execute("UPDATE copies SET state = 'damaged' WHERE aip_id = ? AND version = ? AND "
                              "location = ?", [aip_id, version, location])


# --- comparing two catalogs --------------------------------------------------------------------

_QUERIES = {
    "AIP": "SELECT id, head || ' ' || COALESCE(originator_id, '') || ' ' || COALESCE(state, 'active') || ' ' "
           "|| label || ' ' || COALESCE(external_id, '') || ' ' || created || ' ' || COALESCE(payload_digest, '') "
           "FROM aips",
    "version detail": "SELECT aip_id, version, created || ' ' || message || ' ' || bytes || ' ' || stored || ' ' "
                      "|| inventory_digest || ' ' || digest_algorithm FROM versions",
    "file detail": "SELECT aip_id, version, logical_path, content_path || ' ' || role || ' ' || size || ' ' "
                   "|| COALESCE(format_name, '') || ' ' || COALESCE(format_version, '') || ' ' "
                   "|| COALESCE(mime, '') || ' ' || COALESCE(original_name, '') || ' ' || COALESCE(engine, '') "
                   "|| ' ' || COALESCE(engine_version, '') || ' ' || COALESCE(signature_version, '') || ' ' "
                   "|| COALESCE(basis, '') || ' ' || COALESCE(warning, '') FROM files",
    "event": "SELECT seq, id || ' ' || hash FROM events",
    "tombstone": "SELECT aip_id, state || ' ' || proposal_id || ' ' || locations_left FROM tombstones",
    "transfer": "SELECT id, status || ' ' || COALESCE(aip_id, '') || ' ' || files FROM transfers",
    "hold": "SELECT id, aip_id || ' ' || reason || ' ' || COALESCE(released, '') FROM holds",
    "originator": "SELECT id, name || ' ' || COALESCE(ico, '') || ' ' || COALESCE(CAST(quota_bytes AS TEXT), '') "
                  "FROM originators",
    "proposal item": "SELECT proposal_id, aip_id, entity, COALESCE(decision, '') || ' ' || COALESCE(da_id, '') "
                     "|| ' ' || COALESCE(destroyed, '') FROM proposal_items",
    "version": "SELECT aip_id, version, files FROM versions",
    # the payload fingerprint ingest's duplicate check finds every version by (schema 17); a
    # removed AIP's versions (not stored: the tombstone keeps no fingerprint) are not compared
    "version fingerprint": "SELECT aip_id, version, CASE WHEN stored = 0 THEN NULL ELSE payload_digest END "
                           "FROM versions",
    "page": "SELECT aip_id, version, seq, label || ' ' || section || ' ' || master || ' ' || \"user\" || ' ' || alto "
            "|| ' ' || txt FROM pages",
    "page text": "SELECT aip_id, version, seq, text FROM page_text",
    "indexed record": "SELECT aip_id, version || ' ' || state FROM records",
    "access": "SELECT aip_id, status || ' ' || COALESCE(reason, '') || ' ' || COALESCE(until, '') || ' ' || source "
              "FROM access",
    "file": "SELECT aip_id, version, logical_path, digest || ' ' || puid FROM files",
    "copy": "SELECT aip_id, version, location, state || ' ' || COALESCE(last_audit, 'never audited') "
            "|| ' ' || COALESCE(archive_sha256, '') FROM copies",
    "retention": "SELECT aip_id, entity, sign || ' ' || until_year || ' ' || COALESCE(until_declared, 0) || ' ' "
                 "|| COALESCE(disposal_date, '') || ' ' || COALESCE(disposal_operation, '') FROM retention",
}


def compare_catalogs(current: Catalog, rebuilt: Catalog) -> list[str]:
    """Human-readable differences in AIPs, versions (their payload fingerprints too), files
    (path, digest, PUID), copies and the other rows `_QUERIES` reads.

    Compared in SQL in a scratch SQLite database (EXCEPT and a join on the keys), so two
    catalogs of millions of files are never in memory: only differences are. Each side's
    rows get there by the quickest way its backend has: an SQLite catalog file is attached
    and copied from in SQL; a catalog on PostgreSQL is read through a server-side cursor a
    batch at a time. The queries' text runs on both backends and gives the same text for
    the same rows, so a catalog on one backend compares with a catalog on the other."""
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA temp_store = FILE")  # the compared rows go to disk, not memory
    try:
        sides: list[tuple[str, Catalog | None]] = []
        for name, cat in (("cur", current), ("new", rebuilt)):
            if cat.dialect == "sqlite":
                conn.execute(f"ATTACH DATABASE ? AS {name}", (str(cat.path),))
                sides.append((name, None))
            else:
                sides.append((name, cat))
        return [line for what, sql in _QUERIES.items() for line in _differences(conn, what, sql, sides)]
    finally:
        conn.close()


def _differences(conn: sqlite3.Connection, what: str, sql: str, sides: list[tuple[str, Catalog | None]]
                 ) -> Iterator[str]:
    """The differences of one of compare_catalogs' queries: `sql` selects key columns then one
    value from one table or view (named after FROM), read from each side (an attached schema
    `cur` / `new`, or a catalog on a server streamed) into two indexed scratch tables (on
    disk), then compared by EXCEPT and a join on the keys."""
    select, table = sql.rsplit(" FROM ", 1)
    cols: list[str] = []
    for (schema, cat), side in zip(sides, ("a", "b"), strict=True):
        conn.execute(f"DROP TABLE IF EXISTS temp.{side}")
        if cat is None:
            if not cols:
                n = len(conn.execute(f"SELECT * FROM ({select} FROM {schema}.{table}) LIMIT 0").description or ())
                cols = [f"c{i}" for i in range(n)]
            conn.execute(f"CREATE TEMP TABLE {side} ({', '.join(cols)})")
            conn.execute(f"INSERT INTO temp.{side} SELECT * FROM ({select} FROM {schema}.{table})")
        else:
            cur = cat.stream(sql)
            if not cols:
                cols = [f"c{i}" for i in range(len(cur.description))]
            conn.execute(f"CREATE TEMP TABLE {side} ({', '.join(cols)})")
            while batch := cur.fetchmany(5000):
                conn.executemany(f"INSERT INTO temp.{side} VALUES ({', '.join('?' * len(cols))})", batch)
        conn.execute(f"CREATE INDEX temp.{side}_keys ON {side} ({', '.join(cols[:-1])})")
    keys = ", ".join(cols[:-1])
    for label, first, second in (("in the current catalog only", "a", "b"),
                                 ("found in storage, missing from the current catalog", "b", "a")):
        for row in conn.execute(f"SELECT {keys} FROM temp.{first} EXCEPT SELECT {keys} FROM temp.{second} "
                                f"ORDER BY {keys}"):
            yield f"{what} {' '.join(map(str, row))}: {label}"
    on = " AND ".join(f"a.{c} = b.{c}" for c in cols[:-1])
    last = cols[-1]
    for row in conn.execute(f"SELECT {', '.join('a.' + c for c in cols[:-1])}, a.{last}, b.{last} "
                            f"FROM temp.a AS a JOIN temp.b AS b ON {on} WHERE a.{last} IS NOT b.{last} "
                            f"ORDER BY {', '.join('a.' + c for c in cols[:-1])}"):
        yield f"{what} {' '.join(map(str, row[:-2]))}: current {row[-2]}, rebuilt {row[-1]}"
