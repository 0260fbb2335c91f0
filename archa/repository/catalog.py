"""The catalog: one SQLite file (WAL mode) indexing AIPs, versions, files, copies,
transfers, retention and the hash-chained event log.

Reads and the event chain go through the sqlite3 connection directly; sqlite-utils (table
creation, migrations, bulk inserts) is imported the first time `db` is used, so commands
that only read and record events (a nightly audit) start without it.

The catalog is an index: every row can be rebuilt from the storage locations. Rows for a
change are written in one transaction, after the storage step they describe.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archa.errors import AipRemoved, NotFoundError, RepositoryError
from archa.repository.events import Event, append_events

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
                   [payload_fingerprint(db.execute(_PAYLOAD, [aip_id, head])), aip_id])


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


def journal_triggers(db: sqlite_utils.Database, create: bool = True) -> None:
    """(Re)create, or with `create` False drop, the triggers journaling JOURNALED tables.
    A migration that changes one of those tables' columns must call this again."""
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


_PAYLOAD = "SELECT logical_path, digest FROM files WHERE aip_id = ? AND version = ? AND role = 'payload'"


def payload_fingerprint(rows: Iterable[tuple[str, str]], ordered: bool = False) -> str:
    """sha256 over the sorted `path<TAB>digest` lines of a version's payload: equal for two
    versions holding the same files under the same names (with one digest algorithm).
    `ordered`: the rows come sorted already (streamed, never held)."""
    h = hashlib.sha256()
    for path, digest in rows if ordered else sorted(rows):
        h.update(f"{path}\t{digest}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


# joins a table `t` with an aip_id column to the AIPs still held (not destroyed or transferred)
_ACTIVE = "JOIN aips a ON a.id = {t}.aip_id AND COALESCE(a.state, 'active') = 'active'"

# Ordered migrations: index i takes schema version i to i + 1. Never edit a released one.
def _m10(db: sqlite_utils.Database) -> None:
    """Pages of digitised volumes and the full-text index of their OCR (archa/repository/pages.py)."""
    db.execute("""CREATE TABLE pages (aip_id TEXT NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL,
                  label TEXT, section TEXT, master TEXT, user TEXT, alto TEXT, txt TEXT,
                  PRIMARY KEY (aip_id, version, seq))""")
    db.execute("""CREATE VIRTUAL TABLE page_text USING fts5(text, aip_id UNINDEXED, version UNINDEXED,
                  seq UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')""")


# --- the compact file table (schema 11) -------------------------------------------------------

ROLES = ("payload", "submission", "metadata")
ROLE_PREFIX = {"payload": "representations/original/", "submission": "metadata/submission/"}
FORMAT_COLUMNS = ("puid", "format_name", "format_version", "mime", "basis", "engine", "engine_version",
                  "signature_version", "warning")
# what reads see: every column of the old `files` table, derived from the compact rows
FILES_VIEW = """CREATE VIEW files AS SELECT
    k.id AS aip_id, r.version AS version, d.path || r.name AS logical_path,
    COALESCE(r.content_path, r.version || '/content/' || d.path || r.name) AS content_path,
    CASE r.role WHEN 0 THEN 'payload' WHEN 1 THEN 'submission' ELSE 'metadata' END AS role,
    COALESCE(r.original_name, CASE r.role WHEN 0 THEN substr(d.path || r.name, 26)
                                          WHEN 1 THEN substr(d.path || r.name, 21) ELSE '' END) AS original_name,
    r.size AS size, lower(hex(r.digest)) AS digest,
    f.puid AS puid, f.format_name AS format_name, f.format_version AS format_version, f.mime AS mime,
    f.basis AS basis, f.engine AS engine, f.engine_version AS engine_version,
    f.signature_version AS signature_version, f.warning AS warning, r.id AS file_id
    FROM file_rows r JOIN aip_keys k ON k.n = r.aip JOIN dirs d ON d.id = r.dir JOIN formats f ON f.id = r.format"""


def default_original_name(role: str, logical_path: str) -> str:
    """The original name a file row holds unless told otherwise (what FILES_VIEW derives)."""
    prefix = ROLE_PREFIX.get(role)
    return logical_path[len(prefix):] if prefix else ""


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


class FileWriter:
    """Inserts file rows into the compact table (ids of AIPs and formats cached)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.aips: dict[Any, int] = {}  # (value,) -> id, for each lookup table
        self.formats: dict[Any, int] = {}
        self.dirs: dict[Any, int] = {}

    def _intern(self, cache: dict[Any, int], table: str, columns: Sequence[str], values: tuple[Any, ...],
                key: str = "id") -> int:
        """The id of the `table` row holding `values` in `columns`, added when new (cached;
        a cache past 100,000 entries starts again, so millions of folders keep memory flat)."""
        n = cache.get(values)
        if n is None:
            self.conn.execute(f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES "
                              f"({', '.join('?' * len(columns))})", values)
            n = int(self.conn.execute(f"SELECT {key} FROM {table} WHERE {' AND '.join(f'{c} = ?' for c in columns)}",
                                      values).fetchone()[0])
            if len(cache) > 100_000:
                cache.clear()
            cache[values] = n
        return n

    def aip_key(self, aip_id: str) -> int:
        return self._intern(self.aips, "aip_keys", ("id",), (aip_id,), key="n")

    def dir_key(self, path: str) -> int:
        return self._intern(self.dirs, "dirs", ("path",), (path,))

    def format_key(self, values: tuple[str, ...]) -> int:
        return self._intern(self.formats, "formats", FORMAT_COLUMNS, values)

    def insert(self, files: Iterable[FileRow]) -> int:
        """Insert `files`, counting them into `version_formats`; returns how many."""
        batch = []
        counts: dict[tuple[int, str, int, int], list[int]] = {}
        n = 0
        for f in files:
            derived = f"{f.version}/content/{f.logical_path}"
            folder, _sep, name = f.logical_path.rpartition("/")
            batch.append((self.aip_key(f.aip_id), f.version, self.dir_key(folder + _sep), name, ROLES.index(f.role),
                          f.size,
                          bytes.fromhex(f.digest), self.format_key(tuple(getattr(f, c) or "" for c in FORMAT_COLUMNS)),
                          None if f.content_path == derived else f.content_path,
                          None if f.original_name == default_original_name(f.role, f.logical_path)
                          else f.original_name))
            c = counts.setdefault(batch[-1][0:2] + (batch[-1][7], batch[-1][4]), [0, 0])  # aip, version, format, role
            c[0] += 1
            c[1] += f.size
            if len(batch) >= 2000:
                n += self._flush(batch)
        n += self._flush(batch)
        self.count(counts)
        return n

    def count(self, counts: dict[tuple[int, str, int, int], list[int]]) -> None:
        """Add (files, bytes) to `version_formats` per (aip, version, format, role); negative to take away."""
        self.conn.executemany(
            "INSERT INTO version_formats (aip, version, format, role, files, bytes) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET files = files + excluded.files, bytes = bytes + excluded.bytes",
            [(*k, v[0], v[1]) for k, v in counts.items()])
        self.conn.executemany("DELETE FROM version_formats WHERE aip = ? AND version = ? AND format = ? AND role = ? "
                              "AND files = 0", [k for k, v in counts.items() if v[0] < 0])

    def _flush(self, batch: list[tuple[Any, ...]]) -> int:
        self.conn.executemany("INSERT INTO file_rows (aip, version, dir, name, role, size, digest, format, "
                              "content_path, original_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        n = len(batch)
        batch.clear()
        return n


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


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_m1, _m2, _m3, _m4, _m5, _m6, _m7, _m8, _m9, _m10,
                                                              _m11, _m12, _m13, _m14]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, slots=True)
class FileRow:
    aip_id: str
    version: str
    logical_path: str
    content_path: str
    role: str  # "payload", "submission", "metadata"
    original_name: str
    size: int
    digest: str
    puid: str = ""
    format_name: str = ""
    format_version: str = ""
    mime: str = ""
    basis: str = ""
    engine: str = ""
    engine_version: str = ""
    signature_version: str = ""
    warning: str = ""

    def as_row(self) -> dict[str, Any]:
        """The catalog row (cheaper than dataclasses.asdict, which deep-copies)."""
        return {f: getattr(self, f) for f in FILE_COLUMNS}


FILE_COLUMNS = tuple(f.name for f in fields(FileRow))


class Catalog:
    """Access to the catalog database. Open with `Catalog.open(path)`."""

    last_opened: Path | None = None

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
        return list(self.iter_rows(sql, params))

    def iter_rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """`rows`, streamed: a thousand rows in memory at a time, whatever the result's size."""
        cur = self.conn.execute(sql, params)
        cols = [d[0] for d in cur.description]
        while batch := cur.fetchmany(1000):
            for r in batch:
                yield dict(zip(cols, r, strict=True))

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
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on error)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- writes -------------------------------------------------------------------------

    def record_aip(self, aip: dict[str, Any], version: dict[str, Any], files: Iterable[FileRow],
                   copies: Iterable[dict[str, Any]], transfer: dict[str, Any],
                   events: list[Event], retention: Iterable[dict[str, Any]] = (),
                   originators: Iterable[dict[str, Any]] = (), pages: Iterable[dict[str, Any]] = ()) -> None:
        """Insert a new AIP with its first version, files, copies, transfer, retention, pages
        (with their OCR text) and events at once, with the originator it brings when that is
        new (`originators`)."""
        from archa.repository.pages import record_pages

        with self.transaction():
            for o in originators:
                self.db.table("originators").insert(o, ignore=True)
                append_events(self.conn, [Event("policy assignment", "success",
                                                f"originator {o['id']} registered from an incoming SIP: {o['name']}",
                                                events[0].agent if events else "archa")])
            self.db.table("aips").insert(aip)
            self.db.table("versions").insert(version)
            FileWriter(self.conn).insert(files)
            self.db.table("copies").insert_all(copies)
            self.db.table("transfers").insert(transfer)
            self.db.table("retention").insert_all(retention)
            record_pages(self.conn, pages)
            self.set_payload_digest(aip["id"], version["version"])
            append_events(self.conn, events)

    def set_payload_digest(self, aip_id: str, version: str) -> None:
        """Record the fingerprint of `version`'s payload as the AIP's (call in a transaction)."""
        self.conn.execute("UPDATE aips SET payload_digest = ? WHERE id = ?",
                          [payload_fingerprint(self.conn.execute(f"{_PAYLOAD} ORDER BY logical_path",
                                                                 [aip_id, version]), ordered=True), aip_id])

    def record_version(self, aip: dict[str, Any], version: dict[str, Any], files: Iterable[FileRow],
                       copies: Iterable[dict[str, Any]], events: list[Event],
                       retention: list[dict[str, Any]] | None = None, transfer: dict[str, Any] | None = None,
                       pages: Iterable[dict[str, Any]] = ()) -> None:
        """A new version of a stored AIP: its row, files, first copies and events, the AIP's
        head and label moved to it, at once; with `retention` its retention rows replaced, with
        `transfer` the transfer it came from recorded, with `pages` the version's pages and text."""
        from archa.repository.pages import record_pages

        with self.transaction():
            self.conn.execute("UPDATE aips SET head = ?, label = ? WHERE id = ?",
                              [aip["head"], aip["label"], aip["id"]])
            if retention is not None:
                self.conn.execute("DELETE FROM retention WHERE aip_id = ?", [aip["id"]])
                self.db.table("retention").insert_all(retention)
            if transfer is not None:
                self.db.table("transfers").insert(transfer)
            self.db.table("versions").insert(version)
            FileWriter(self.conn).insert(files)
            record_pages(self.conn, pages)
            self.set_payload_digest(aip["id"], version["version"])
            self.db.table("copies").insert_all(copies)
            append_events(self.conn, events)

    def record_copy(self, copy: dict[str, Any], stored: bool, events: list[Event]) -> None:
        """Insert or replace one copy row, set the version's stored flag, append events."""
        with self.transaction():
            self.db.table("copies").upsert(copy, pk=("aip_id", "version", "location"))
            self.conn.execute("UPDATE versions SET stored = ? WHERE aip_id = ? AND version = ?",
                            [int(stored), copy["aip_id"], copy["version"]])
            append_events(self.conn, events)

    def record_events(self, events: list[Event]) -> None:
        with self.transaction():
            append_events(self.conn, events)

    def record_audit(self, aip_id: str, version: str, location: str, state: str, when: str,
                     event: Event) -> None:
        """Set a copy's state and last audit time and append the fixity event, at once."""
        with self.transaction():
            self.conn.execute("UPDATE copies SET state = ?, last_audit = ? WHERE aip_id = ? AND version = ? "
                            "AND location = ?", [state, when, aip_id, version, location])
            append_events(self.conn, [event])

    def all_copies(self, every: bool = False) -> list[dict[str, Any]]:
        """Copies of active AIPs (audits, sync and repair leave destroyed ones alone); of every
        AIP with `every`."""
        return self.rows(f"""SELECT c.* FROM copies c {"" if every else _ACTIVE.format(t="c")}
                              ORDER BY c.aip_id, c.version, c.location""")

    def all_versions(self, every: bool = False) -> list[dict[str, Any]]:
        """Versions of active AIPs; of every AIP with `every`."""
        return self.rows(f"""SELECT v.* FROM versions v {"" if every else _ACTIVE.format(t="v")}
                              ORDER BY v.aip_id, v.version""")

    def record_rejected_transfer(self, transfer: dict[str, Any], events: list[Event]) -> None:
        with self.transaction():
            self.db.table("transfers").insert(transfer)
            append_events(self.conn, events)

    # --- reads --------------------------------------------------------------------------

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

    def holds(self, aip_id: str | None = None, active: bool = True) -> list[dict[str, Any]]:
        where = ["1 = 1"] + (["h.aip_id = ?"] if aip_id else []) + (["h.released IS NULL"] if active else [])
        return self.rows(f"""
            SELECT h.*, a.label, a.originator_id FROM holds h JOIN aips a ON a.id = h.aip_id
            WHERE {" AND ".join(where)} ORDER BY h.placed, h.id""", [aip_id] if aip_id else [])

    def held(self, aip_id: str) -> bool:
        return bool(self.conn.execute("SELECT 1 FROM holds WHERE aip_id = ? AND released IS NULL", [aip_id]).fetchone())

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
                              "LIMIT ? OFFSET ?", [aip_id, version, -1 if limit is None else limit, offset])

    def file(self, aip_id: str, version: str, logical_path: str) -> dict[str, Any] | None:
        folder, sep, name = logical_path.rpartition("/")
        rows = self.rows("SELECT * FROM files WHERE file_id = (SELECT r.id FROM file_rows r JOIN aip_keys k ON "
                         "k.n = r.aip JOIN dirs d ON d.id = r.dir WHERE k.id = ? AND r.version = ? AND d.path = ? "
                         "AND r.name = ?)", [aip_id, version, folder + sep, name])
        return rows[0] if rows else None

    def iter_content_digests(self, aip_id: str, version: str) -> Iterator[tuple[str, str, int]]:
        """(content path, digest, size) of a version's files: lean, streamed a batch of rows at a
        time, for audits of millions."""
        cur = self.conn.execute("SELECT content_path, digest, size FROM files WHERE aip_id = ? AND version = ?",
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
            ORDER BY r.sign, r.until_year, r.aip_id""", [year, originator] if originator else [year])

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
        return self.rows("SELECT * FROM transfers ORDER BY received")

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
            append_events(self.conn, events)

    def format_summary(self, aip_id: str, version: str) -> list[dict[str, Any]]:
        return self.rows("""
            SELECT f.puid, f.format_name, SUM(vf.files) AS files, SUM(vf.bytes) AS bytes FROM version_formats vf
            JOIN aip_keys k ON k.n = vf.aip JOIN formats f ON f.id = vf.format
            WHERE k.id = ? AND vf.version = ? AND vf.role = 0
            GROUP BY f.puid, f.format_name ORDER BY files DESC, f.puid""", [aip_id, version])
