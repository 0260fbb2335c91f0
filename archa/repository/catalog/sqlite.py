"""The catalog on SQLite: one file (WAL mode) indexing AIPs, versions, files, copies,
transfers, retention and the hash-chained event log.

Reads and the event chain go through the sqlite3 connection directly; sqlite-utils (table
creation, migrations, bulk inserts) is imported the first time `db` is used, so commands
that only read and record events (a nightly audit) start without it.

The catalog is an index: every row can be rebuilt from the storage locations. Rows for a
change are written in one transaction, after the storage step they describe.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archa.errors import AipRemoved, NotFoundError, RepositoryError
from archa.repository.access import AccessState
from archa.repository.catalog.log import append_events
from archa.repository.catalog.rows import FileRow, FileWriter
from archa.repository.catalog.schema import (
    ACTIVE,
    MIGRATIONS,
    PAYLOAD,
    SCHEMA_VERSION,
    journal_triggers,
    payload_fingerprint,
)
from archa.repository.events import Event

if TYPE_CHECKING:
    import sqlite_utils

    from archa.repository.catalog.intake import Intake
    from archa.repository.catalog.lifecycle import LifecycleTables
    from archa.repository.catalog.log import EventLog
    from archa.repository.catalog.lookup import AipLookup
    from archa.repository.catalog.pages import PageIndex
    from archa.repository.catalog.rebuilder import RebuildWriter
    from archa.repository.catalog.recordindex import RecordIndex
    from archa.repository.catalog.reports import Reports


class Catalog:
    """Access to the catalog database. Open with `Catalog.open(path)`."""

    last_opened: Path | None = None
    dialect = "sqlite"  # the SQL the database speaks where the backends differ ("postgresql": postgres.py)
    mac_key: bytes | None = None  # the repository's seal key: every event appended is signed with it (log.event_mac)

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._db: sqlite_utils.Database | None = None

    @property
    def db(self) -> sqlite_utils.Database:
        """The connection wrapped by sqlite-utils (imported on first use)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The result of a query as dicts (column -> value)."""
        cur = self.conn.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """A cursor over the result of a query, to read with fetchmany a batch at a time:
        memory stays flat whatever the result's size (on PostgreSQL a server-side cursor)."""
        return self.conn.execute(sql, params)

    def iter_rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """`rows`, streamed: a thousand rows in memory at a time, whatever the result's size."""
        cur = self.stream(sql, params)
        cols = [d[0] for d in cur.description]
        while batch := cur.fetchmany(1000):
            for r in batch:
                yield dict(zip(cols, r, strict=True))

    def insert(self, table: str, rows: dict[str, Any] | Iterable[dict[str, Any]], *, replace: bool = False,
               ignore: bool = False, upsert: Sequence[str] = ()) -> int:
        """Insert one row (a dict) or many into `table` (columns by the dicts' keys; rows with
        other keys go in their own statement); returns how many. `replace`: a row with the
        same key replaces the old one; `ignore`: it is skipped; `upsert` (key columns): the
        old row's other columns are updated. The same text runs on both backends (pgsql.py)."""
        items = [rows] if isinstance(rows, dict) else rows
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE" if ignore else "INSERT"
        n = 0
        groups: dict[tuple[str, ...], list[list[Any]]] = {}
        for r in items:
            groups.setdefault(tuple(r), []).append(list(r.values()))
            n += 1
        for cols, values in groups.items():
            sql = f"{verb} INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            if upsert:
                rest = [c for c in cols if c not in upsert]
                sql += f" ON CONFLICT ({', '.join(upsert)}) " + (
                    f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in rest)}" if rest else "DO NOTHING")
            self.conn.executemany(sql, values)
        return n

    def setting(self, key: str) -> str | None:
        """A shared setting (see schema._m15), or None."""
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else None

    def set_setting(self, key: str, value: str) -> None:
        """Set a shared setting (its own transaction)."""
        with self.transaction():
            self.insert("settings", {"key": key, "value": value}, upsert=("key",))

    def claim_setting(self, key: str, value: str) -> str | None:
        """Set `key` to `value` unless it is set already (one transaction, so of two nodes
        claiming one key only one wins): None when this call set it, else the value it has."""
        with self.transaction():
            held = self.setting(key)
            if held is None:
                self.insert("settings", {"key": key, "value": value})
        return held

    @classmethod
    def create(cls, path: Path) -> Catalog:
        if path.exists():
            raise RepositoryError(f"{path}: a catalog exists already", path=str(path))
        return cls.open(path, create=True)

    @classmethod
    def open(cls, path: Path, *, create: bool = False) -> Catalog:
        if not create and not path.is_file():
            raise RepositoryError(f"{path}: catalog missing", path=str(path),
                                  hint="the repository is damaged; the catalog can be rebuilt "
                                       "from storage (archa catalog rebuild)")
        Catalog.last_opened = path  # what a damaged-catalog message names
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode=wal")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        cat = cls(conn, path)
        cat.migrate()
        return cat

    # --- components: one per concern, each the only home of its SQL ---------------------

    @cached_property
    def lifecycle(self) -> LifecycleTables:
        from archa.repository.catalog.lifecycle import LifecycleTables

        return LifecycleTables(self)

    @cached_property
    def log(self) -> EventLog:
        from archa.repository.catalog.log import EventLog

        return EventLog(self)

    @cached_property
    def rebuilder(self) -> RebuildWriter:
        from archa.repository.catalog.rebuilder import RebuildWriter

        return RebuildWriter(self)

    @cached_property
    def pages_index(self) -> PageIndex:
        from archa.repository.catalog.pages import PageIndex

        return PageIndex(self)

    @cached_property
    def record_index(self) -> RecordIndex:
        """The search index over the records' metadata and their access (catalog/recordindex.py)."""
        from archa.repository.catalog.recordindex import RecordIndex

        return RecordIndex(self)

    @cached_property
    def reports(self) -> Reports:
        from archa.repository.catalog.reports import Reports

        return Reports(self)

    @cached_property
    def intake(self) -> Intake:
        """What ingest asks before it stores a SIP, and rejected transfers (catalog/intake.py)."""
        from archa.repository.catalog.intake import Intake

        return Intake(self)

    @cached_property
    def lookup(self) -> AipLookup:
        """AIPs by what people type for them: id prefix, External-Identifier, entity id (catalog/lookup.py)."""
        from archa.repository.catalog.lookup import AipLookup

        return AipLookup(self)

    def close(self) -> None:
        self.conn.close()

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def integrity_problems(self, limit: int = 100) -> list[str]:
        """What SQLite's full integrity check of the catalog file finds wrong (`PRAGMA
        integrity_check`: every page of every b-tree, every index entry against its table, the
        constraints), at most `limit` messages; [] when it is sound. A file SQLite cannot read
        that far is one problem. Reads the whole file: seconds for a large catalog."""
        found: list[str] = []
        try:
            for (line,) in self.conn.execute(f"PRAGMA integrity_check({int(limit)})"):
                found.append(str(line))  # one at a time: what it said before it failed is kept
        except sqlite3.DatabaseError as e:
            found.append(str(e))
        return [] if found == ["ok"] else found

    def table_columns(self, table: str) -> list[tuple[str, str, int]]:
        """(name, declared type in upper case, primary-key position or 0) of each column of the
        table or view `table`, in order."""
        return [(str(r[1]), str(r[2] or "").upper(), int(r[5]))
                for r in self.conn.execute(f"PRAGMA table_info({table})")]

    def sync_keys(self) -> None:
        """Nothing on SQLite: a rowid key follows the largest one a table holds by itself
        (postgres.py moves its sequences)."""

    def journal_triggers(self, create: bool = True) -> None:
        """(Re)create, or with `create` False drop, the journal triggers (schema.journal_triggers)."""
        journal_triggers(self.conn, create)

    def migrate(self) -> None:
        """Apply every pending migration, each in its own transaction."""
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise RepositoryError(
                f"{self.path}: catalog schema {current} is newer than this archa ({SCHEMA_VERSION})",
                path=str(self.path), hint="upgrade archa")
        for i in range(current, SCHEMA_VERSION):
            with self.transaction():
                MIGRATIONS[i](self.db)
                self.conn.execute(f"PRAGMA user_version={i + 1}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on error, a COMMIT
        that fails - a full disk - included: the connection is never left inside it)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    # --- writes -------------------------------------------------------------------------

    def record_aip(self, aip: dict[str, Any], version: dict[str, Any], files: Iterable[FileRow],
                   copies: Iterable[dict[str, Any]], transfer: dict[str, Any],
                   events: list[Event], retention: Iterable[dict[str, Any]] = (),
                   originators: Iterable[dict[str, Any]] = (), pages: Iterable[dict[str, Any]] = (),
                   record: dict[str, Any] | None = None, access: dict[str, Any] | None = None) -> None:
        """Insert a new AIP with its first version, files, copies, transfer, retention, pages
        (with their OCR text) and events at once, with the originator it brings when that is
        new (`originators`), its description indexed (`record`: recordindex.description_dict)
        and its access row (`access`: AccessState fields; its event is one of `events`)."""
        with self.transaction():
            for o in originators:
                self.insert("originators", o, ignore=True)
                append_events(self.conn, [Event("policy assignment", "success",
                                                f"originator {o['id']} registered from an incoming SIP: {o['name']}",
                                                events[0].agent if events else "archa")], self.mac_key)
            self.insert("aips", aip)
            self.insert("versions", version)
            FileWriter(self.conn).insert(files)
            self.insert("copies", copies)
            self.insert("transfers", transfer)
            self.insert("retention", retention)
            self.pages_index.record(pages)
            self.record_index.record_dict(aip["id"], version["version"], record, aip.get("originator_id") or "")
            if access is not None:
                self.record_index.set_access_row(aip["id"], AccessState(**access), events[0].time if events else "")
            self.set_payload_digest(aip["id"], version["version"])
            append_events(self.conn, events, self.mac_key)

    def set_payload_digest(self, aip_id: str, version: str) -> None:
        """Record the fingerprint of `version`'s payload as the version's, and as the AIP's
        when it is the AIP's head (call in a transaction)."""
        digest = payload_fingerprint(self.conn.execute(f"{PAYLOAD} ORDER BY logical_path", [aip_id, version]),
                                     ordered=True)
        self.conn.execute("UPDATE versions SET payload_digest = ? WHERE aip_id = ? AND version = ?",
                          [digest, aip_id, version])
        self.conn.execute("UPDATE aips SET payload_digest = ? WHERE id = ? AND head = ?", [digest, aip_id, version])

    def record_version(self, aip: dict[str, Any], version: dict[str, Any], files: Iterable[FileRow],
                       copies: Iterable[dict[str, Any]], events: list[Event],
                       retention: list[dict[str, Any]] | None = None, transfer: dict[str, Any] | None = None,
                       pages: Iterable[dict[str, Any]] = (), record: dict[str, Any] | None = None,
                       access: dict[str, Any] | None = None) -> None:
        """A new version of a stored AIP: its row, files, first copies and events, the AIP's
        head and label moved to it, at once; with `retention` its retention rows replaced, with
        `transfer` the transfer it came from recorded, with `pages` the version's pages and text,
        with `record` its description indexed anew, with `access` its access row replaced."""
        with self.transaction():
            self.conn.execute("UPDATE aips SET head = ?, label = ? WHERE id = ?",
                              [aip["head"], aip["label"], aip["id"]])
            if retention is not None:
                self.conn.execute("DELETE FROM retention WHERE aip_id = ?", [aip["id"]])
                self.insert("retention", retention)
            if transfer is not None:
                self.insert("transfers", transfer)
            self.insert("versions", version)
            FileWriter(self.conn).insert(files)
            self.pages_index.record(pages)
            if record is not None:
                originator = self.conn.execute("SELECT originator_id FROM aips WHERE id = ?", [aip["id"]]).fetchone()
                self.record_index.record_dict(aip["id"], version["version"], record,
                                              (originator[0] if originator else "") or "")
            if access is not None:
                self.record_index.set_access_row(aip["id"], AccessState(**access), events[0].time if events else "")
            self.set_payload_digest(aip["id"], version["version"])
            self.insert("copies", copies)
            append_events(self.conn, events, self.mac_key)

    def record_copy(self, copy: dict[str, Any], stored: bool, events: list[Event]) -> None:
        """Insert or replace one copy row, set the version's stored flag, append events."""
        with self.transaction():
            self.insert("copies", copy, upsert=("aip_id", "version", "location"))
            self.conn.execute("UPDATE versions SET stored = ? WHERE aip_id = ? AND version = ?",
                            [int(stored), copy["aip_id"], copy["version"]])
            append_events(self.conn, events, self.mac_key)

    def set_copy_archive(self, aip_id: str, version: str, location: str, archive_sha256: str, size: int) -> None:
        """Record a packed copy's new archive (its sha256 and bytes), rewritten by a repair.
        One statement: atomic on its own, or part of the caller's transaction."""
        self.conn.execute("UPDATE copies SET archive_sha256 = ?, bytes = ? WHERE aip_id = ? AND version = ? "
                          "AND location = ?", [archive_sha256, size, aip_id, version, location])

    def record_events(self, events: list[Event]) -> None:
        with self.transaction():
            append_events(self.conn, events, self.mac_key)

    def record_audit(self, aip_id: str, version: str, location: str, state: str, when: str,
                     event: Event) -> None:
        """Set a copy's state and last audit time and append the fixity event, at once."""
        with self.transaction():
            self.conn.execute("UPDATE copies SET state = ?, last_audit = ? WHERE aip_id = ? AND version = ? "
                            "AND location = ?", [state, when, aip_id, version, location])
            append_events(self.conn, [event], self.mac_key)

    def all_copies(self, every: bool = False) -> list[dict[str, Any]]:
        """Copies of active AIPs (audits, sync and repair leave destroyed ones alone); of every
        AIP with `every`."""
        return self.rows(f"""SELECT c.* FROM copies c {"" if every else ACTIVE.format(t="c")}
                              ORDER BY c.aip_id, c.version, c.location""")

    def all_versions(self, every: bool = False) -> list[dict[str, Any]]:
        """Versions of active AIPs; of every AIP with `every`."""
        return self.rows(f"""SELECT v.* FROM versions v {"" if every else ACTIVE.format(t="v")}
                              ORDER BY v.aip_id, v.version""")

    def record_rejected_transfer(self, transfer: dict[str, Any], events: list[Event]) -> None:
        with self.transaction():
            self.insert("transfers", transfer)
            append_events(self.conn, events, self.mac_key)

    # --- reads --------------------------------------------------------------------------

    def active_aip_with_payload(self, fingerprint: str) -> tuple[str, str] | None:
        """(id, head) of an active AIP whose payload fingerprint is `fingerprint` (one of
        them), or None."""
        row = self.conn.execute("SELECT id, head FROM aips WHERE payload_digest = ? AND COALESCE(state, 'active') "
                                "= 'active' LIMIT 1", [fingerprint]).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def active_aip_with_external_id(self, external_id: str) -> str | None:
        """The id of an active AIP with this External-Identifier (one of them), or None."""
        row = self.conn.execute("SELECT id FROM aips WHERE external_id = ? AND COALESCE(state, 'active') = "
                                "'active' LIMIT 1", [external_id]).fetchone()
        return None if row is None else str(row[0])

    def has_aip(self, aip_id: str) -> bool:
        return bool(self.conn.execute("SELECT 1 FROM aips WHERE id = ?", [aip_id]).fetchone())

    def aip(self, aip_id: str) -> dict[str, Any]:
        rows = self.rows("SELECT * FROM aips WHERE id = ?", [aip_id])
        if not rows:
            raise NotFoundError(f"no AIP {aip_id!r} in the catalog",
                                hint="list AIPs with `archa aip list`")
        return rows[0]

    def live_aip(self, aip_id: str) -> dict[str, Any]:
        """The AIP's row; AipRemoved when it was destroyed or handed over (or is being)."""
        row = self.aip(aip_id)
        if (row.get("state") or "active") != "active":
            raise AipRemoved(aip_id, row["state"])
        return row

    def tombstone(self, aip_id: str) -> dict[str, Any] | None:
        """What is left of a removed AIP: state, proposal, the certificate (parsed) and the
        locations still to clear; None for an AIP that was not removed."""
        rows = self.rows("SELECT * FROM tombstones WHERE aip_id = ?", [aip_id])
        if not rows:
            return None
        row = rows[0]
        row["certificate"] = json.loads(row["certificate"])
        row["locations_left"] = json.loads(row["locations_left"] or "[]")
        return row

    def aips(self, originator: str | None = None) -> list[dict[str, Any]]:
        return self.rows(f"""
            SELECT a.id, a.created, a.label, a.external_id, a.head, v.files, v.bytes, v.stored,
                   a.originator_id, COALESCE(a.state, 'active') AS state
            FROM aips a JOIN versions v ON v.aip_id = a.id AND v.version = a.head
            {"WHERE a.originator_id = ?" if originator else ""}
            ORDER BY a.created, a.id""", [originator] if originator else [])

    # --- originators and holds ------------------------------------------------------------

    def originators(self, location: str) -> list[dict[str, Any]]:
        """Every originator with its active AIPs and the bytes of their copies at `location`
        (one copy: what a quota counts)."""
        return self.rows("""
            SELECT o.*, COUNT(DISTINCT a.id) AS aips, COALESCE(SUM(c.bytes), 0) AS bytes
            FROM originators o LEFT JOIN aips a ON a.originator_id = o.id AND COALESCE(a.state, 'active') = 'active'
            LEFT JOIN copies c ON c.aip_id = a.id AND c.location = ?
            GROUP BY o.id ORDER BY o.id""", [location])

    def originator(self, originator_id: str, location: str) -> dict[str, Any]:
        rows = [o for o in self.originators(location) if o["id"] == originator_id]
        if not rows:
            raise NotFoundError(f"no originator {originator_id!r}", hint="list them with `archa originator list`")
        return rows[0]

    def versions(self, aip_id: str) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM versions WHERE aip_id = ? ORDER BY version",
                                  [aip_id])

    def files(self, aip_id: str, version: str) -> list[dict[str, Any]]:
        return self.rows(
            "SELECT * FROM files WHERE aip_id = ? AND version = ? ORDER BY logical_path",
            [aip_id, version])

    def iter_files(self, aip_id: str, version: str, limit: int | None = None, offset: int = 0
                   ) -> Iterator[dict[str, Any]]:
        """A version's files in logical-path order, streamed from the catalog (at most `limit`
        after skipping `offset`)."""
        return self.iter_rows("SELECT * FROM files WHERE aip_id = ? AND version = ? ORDER BY logical_path "
                              "LIMIT ? OFFSET ?", [aip_id, version, 1 << 62 if limit is None else limit, offset])

    def file(self, aip_id: str, version: str, logical_path: str) -> dict[str, Any] | None:
        folder, sep, name = logical_path.rpartition("/")
        rows = self.rows("SELECT * FROM files WHERE file_id = (SELECT r.id FROM file_rows r JOIN aip_keys k ON "
                         "k.n = r.aip JOIN dirs d ON d.id = r.dir WHERE k.id = ? AND r.version = ? AND d.path = ? "
                         "AND r.name = ?)", [aip_id, version, folder + sep, name])
        return rows[0] if rows else None

    def iter_content_digests(self, aip_id: str, version: str) -> Iterator[tuple[str, str, int]]:
        """(content path, digest, size) of a version's files: lean, streamed a batch of rows at a
        time, for audits of millions."""
        cur = self.stream("SELECT content_path, digest, size FROM files WHERE aip_id = ? AND version = ?",
                          [aip_id, version])
        while batch := cur.fetchmany(5000):
            yield from batch

    def pages(self, aip_id: str, version: str) -> list[dict[str, Any]]:
        """The pages of a digitised volume's version, in order (archa/repository/pages.py)."""
        return self.rows("SELECT * FROM pages WHERE aip_id = ? AND version = ? ORDER BY seq", [aip_id, version])

    def retention(self, aip_id: str) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM retention WHERE aip_id = ? ORDER BY entity", [aip_id])

    def retention_due(self, year: int, originator: str | None = None) -> list[dict[str, Any]]:
        """Retention rows of active AIPs that ended in or before `year` and have not been
        through a disposal procedure, with the AIP's label, external id and originator."""
        return self.rows(f"""
            SELECT r.*, a.label, a.external_id, a.originator_id FROM retention r JOIN aips a ON a.id = r.aip_id
            WHERE r.until_year <= ? AND COALESCE(r.disposal_date, '') = '' AND COALESCE(a.state, 'active') = 'active'
            {"AND a.originator_id = ?" if originator else ""}
            ORDER BY r.sign NULLS FIRST, r.until_year, r.aip_id""", [year, originator] if originator else [year])

    def retention_disposed(self) -> list[dict[str, Any]]:
        """Retention rows of records that have been through a disposal procedure already."""
        return self.rows("""
            SELECT r.*, a.label, a.external_id FROM retention r JOIN aips a ON a.id = r.aip_id
            WHERE COALESCE(r.disposal_date, '') != '' ORDER BY r.disposal_date, r.aip_id""")

    def copies(self, aip_id: str) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM copies WHERE aip_id = ? ORDER BY version, location",
                                  [aip_id])

    def copy(self, aip_id: str, version: str, location: str) -> dict[str, Any] | None:
        """One copy's row as it is now (None: not recorded)."""
        rows = self.rows("SELECT * FROM copies WHERE aip_id = ? AND version = ? AND location = ?",
                         [aip_id, version, location])
        return rows[0] if rows else None

    def transfer(self, transfer_id: str) -> dict[str, Any]:
        rows = self.rows("SELECT * FROM transfers WHERE id = ?", [transfer_id])
        if not rows:
            raise NotFoundError(f"no transfer {transfer_id!r} in the catalog")
        row = rows[0]
        row["findings"] = json.loads(row["findings"] or "[]")
        return row

    def transfers(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM transfers ORDER BY received, id")

    def events(self, aip_id: str | None = None, since: str | None = None) -> list[dict[str, Any]]:
        """Events oldest first (of one AIP; at or after `since`, an ISO 8601 date or time)."""
        return list(self.iter_events(aip_id, since))

    def iter_events(self, aip_id: str | None = None, since: str | None = None) -> Iterator[dict[str, Any]]:
        """`events`, streamed from the catalog; `since` is answered by the time index."""
        where = [c for c, v in (("aip_id = ?", aip_id), ("time >= ?", since)) if v]
        return self.iter_rows(f"SELECT * FROM events {'WHERE ' + ' AND '.join(where) if where else ''} "
                              "ORDER BY seq", [v for v in (aip_id, since) if v])

    def format_profile(self) -> list[dict[str, Any]]:
        """Files and bytes per PUID over the head version of every AIP (payload only), from
        the per-version counts (`version_formats`): no scan of the file rows."""
        return self.rows("""
            SELECT f.puid, MIN(f.format_name) AS format_name, SUM(vf.files) AS files, SUM(vf.bytes) AS bytes
            FROM version_formats vf JOIN aip_keys k ON k.n = vf.aip
            JOIN aips a ON a.id = k.id AND a.head = vf.version JOIN formats f ON f.id = vf.format
            WHERE vf.role = 0 GROUP BY f.puid ORDER BY files DESC, f.puid""")

    _STALE = """FROM files WHERE role != 'metadata'
                AND NOT (engine = ? AND engine_version = ? AND signature_version = ?)"""

    def count_stale_identifications(self, engine: str, engine_version: str, signature_version: str) -> int:
        """Files (not metadata) identified by something else, from the per-version counts."""
        row = self.conn.execute("""SELECT COALESCE(SUM(vf.files), 0) FROM version_formats vf
                                   JOIN formats f ON f.id = vf.format WHERE vf.role != 2
                                   AND NOT (f.engine = ? AND f.engine_version = ? AND f.signature_version = ?)""",
                                [engine, engine_version, signature_version]).fetchone()
        return int(row[0])

    def stale_identifications(self, engine: str, engine_version: str, signature_version: str,
                              after_rowid: int, limit: int) -> list[dict[str, Any]]:
        """Files identified by something else, in file id order after `after_rowid` (keyset
        paging; the id is returned as `rowid`)."""
        return self.rows(
            f"SELECT file_id AS rowid, * {self._STALE} AND file_id > ? ORDER BY file_id LIMIT ?",
            [engine, engine_version, signature_version, after_rowid, limit])

    def update_formats(self, updates: Sequence[tuple[int, Any]], events: list[Event]) -> None:
        """Set the format of files (by file id, `rowid` of `stale_identifications`) and append
        `events`, in one transaction."""
        with self.transaction():
            w = FileWriter(self.conn)
            counts: dict[tuple[int, str, int, int], list[int]] = {}
            changes = []
            for rowid, f in updates:
                aip, version, old, role, size = self.conn.execute(
                    "SELECT aip, version, format, role, size FROM file_rows WHERE id = ?", [rowid]).fetchone()
                new = w.format_key((f.puid, f.name, f.version, f.mime, f.basis, f.engine, f.engine_version,
                                    f.signature_version, f.warning))
                for fmt, sign in ((old, -1), (new, 1)):
                    c = counts.setdefault((aip, version, fmt, role), [0, 0])
                    c[0] += sign
                    c[1] += sign * size
                changes.append((new, rowid))
            self.conn.executemany("UPDATE file_rows SET format = ? WHERE id = ?", changes)
            w.count(counts)
            append_events(self.conn, events, self.mac_key)

    def format_summary(self, aip_id: str, version: str) -> list[dict[str, Any]]:
        return self.rows("""
            SELECT f.puid, f.format_name, SUM(vf.files) AS files, SUM(vf.bytes) AS bytes FROM version_formats vf
            JOIN aip_keys k ON k.n = vf.aip JOIN formats f ON f.id = vf.format
            WHERE k.id = ? AND vf.version = ? AND vf.role = 0
            GROUP BY f.puid, f.format_name ORDER BY files DESC, f.puid""", [aip_id, version])
