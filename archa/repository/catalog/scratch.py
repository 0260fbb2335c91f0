"""Scratch SQLite databases for per-file state that must not live in memory.

An ingest of a million files keeps the bag's listing, its expected checksums, what was
copied and identified, and the OCFL manifest in one database in its work area, read back
in path order as it is needed: peak memory does not grow with the number of files. The
data is scratch: no rollback journal, no fsync (a crash leaves the work area, which the
next command sweeps; nothing in it is the only copy of anything).

Outside this package a scratch database is a `ScratchDb` handle: made, handed to the
scratch tables that share it (here `StagedFiles` and `VersionTables`; `BagListing` in
baglisting.py) and closed. The other scratch tables: `ExpectedTable` (expected.py, fixity
audits) and `DraftTables` (draft.py, bags being made by transfers).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from archa.repository.catalog.rows import FileRow

CACHE_KIB = 4 << 10  # page cache of one scratch database (bigger only costs memory: files are read in order)
BATCH = 5000  # rows per executemany
T = TypeVar("T")


def scratch_db(path: Path | None = None) -> sqlite3.Connection:
    """A new scratch database at `path` (in memory when None); autocommit off, no journal."""
    conn = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
    conn.executescript(f"PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -{CACHE_KIB};"
                       "PRAGMA temp_store = FILE;")
    return conn


def each(cursor: sqlite3.Cursor) -> Iterator[Any]:
    """The rows of `cursor`, one at a time, for a generator to `yield from`: one that stops
    early is closed, and `yield from cursor` would then close the cursor, which fails once
    its database is closed."""
    for row in cursor:  # noqa: UP028 (the point of this function)
        yield row


class ScratchDb:
    """One scratch database (`scratch_db`) at `path`, in memory when None: the handle the
    scratch tables of one piece of work share (an ingest's bag listing, staged files and
    OCFL manifest are tables of one database in its work area)."""

    def __init__(self, path: Path | None = None) -> None:
        self.conn = scratch_db(path)

    def close(self) -> None:
        """Close the database (its file stays until the work area is removed)."""
        self.conn.close()


_COLUMNS = ("logical_path", "content_path", "role", "original_name", "size", "digest", "puid", "format_name",
            "format_version", "mime", "basis", "engine", "engine_version", "signature_version", "warning")
FORMAT_COLUMNS = _COLUMNS[6:]


class StagedFiles:
    """The files of one version being built, in table `staged` of the scratch database `db`:
    a row per file (catalog fields, plus every digest taken while copying), read back in
    `key` order (the bag path), a chunk at a time. Iterating it runs the query again each
    time."""

    def __init__(self, db: ScratchDb, aip_id: str, version: str) -> None:
        self.db, self.aip_id, self.version = db.conn, aip_id, version
        columns = ", ".join(f"{c} INTEGER" if c == "size" else f"{c} TEXT DEFAULT ''" for c in _COLUMNS)
        self.db.execute(f"CREATE TABLE staged (key TEXT PRIMARY KEY, digests TEXT NOT NULL, {columns}) WITHOUT ROWID")
        self.db.execute("CREATE INDEX staged_logical ON staged (logical_path)")

    def add(self, rows: Iterable[tuple[str, FileRow, dict[str, str]]]) -> None:
        """Record (key, row, digests by algorithm) for each file."""
        marks = ", ".join("?" * (len(_COLUMNS) + 2))
        self.db.executemany(f"INSERT INTO staged (key, digests, {', '.join(_COLUMNS)}) VALUES ({marks})",
                            ((k, json.dumps(d, separators=(",", ":"), sort_keys=True),
                              *(getattr(r, c) for c in _COLUMNS)) for k, r, d in rows))

    def _row(self, values: Sequence[Any]) -> FileRow:
        return FileRow(self.aip_id, self.version, *values)

    def chunks(self, size: int = BATCH, role: str | None = None, digests: bool = True
               ) -> Iterator[list[tuple[str, FileRow, dict[str, str]]]]:
        """(key, row, digests) in key order, `size` at a time (of the files of `role` when
        given); without `digests`, the digests dict is empty (not decoded)."""
        last = ""
        cond, params = (" AND role = ?", (role,)) if role is not None else ("", ())
        while True:
            got = self.db.execute(f"SELECT key, digests, {', '.join(_COLUMNS)} FROM staged WHERE key > ?{cond} "
                                  "ORDER BY key LIMIT ?", (last, *params, size)).fetchall()
            if not got:
                return
            last = got[-1][0]
            yield [(k, self._row(rest), json.loads(d) if digests else {}) for k, d, *rest in got]

    def __iter__(self) -> Iterator[tuple[FileRow, dict[str, str]]]:
        for chunk in self.chunks():
            for _k, row, digests in chunk:
                yield row, digests

    def file_rows(self, role: str | None = None) -> Iterator[FileRow]:
        """The rows in key order (of the files of `role` when given), streamed."""
        for chunk in self.chunks(role=role, digests=False):
            for _k, row, _d in chunk:
                yield row

    def count(self, role: str | None = None, puid: str | None = None) -> tuple[int, int]:
        """(files, bytes) of the rows (of `role`, identified as `puid`, when given)."""
        conds = [(c, v) for c, v in (("role = ?", role), ("puid = ?", puid)) if v is not None]
        where = " AND ".join(c for c, _v in conds) or "1 = 1"
        n, size = self.db.execute(f"SELECT COUNT(*), COALESCE(SUM(size), 0) FROM staged WHERE {where}",
                                  [v for _c, v in conds]).fetchone()
        return int(n), int(size)

    def set_content_path(self, key: str, content_path: str) -> None:
        """Where the object keeps the content of `key` (deduplicated: an earlier file's path)."""
        self.db.execute("UPDATE staged SET content_path = ? WHERE key = ?", (content_path, key))

    def set_formats(self, updates: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Record the identification (FORMAT_COLUMNS' values) of each key."""
        self.db.executemany(f"UPDATE staged SET {', '.join(f'{c} = ?' for c in FORMAT_COLUMNS)} "
                            "WHERE key = ?", ((*values, key) for key, values in updates))

    def take_original_names(self) -> None:
        """The original name of each file the bag's listing names (baglisting.py: its table
        `originals` is in the same database)."""
        self.db.execute("UPDATE staged SET original_name = (SELECT original FROM originals o WHERE o.path = "
                        "staged.key) WHERE key IN (SELECT path FROM originals)")

    def content_path(self, logical_path: str) -> str | None:
        row = self.db.execute("SELECT content_path FROM staged WHERE logical_path = ?", (logical_path,)).fetchone()
        return None if row is None else str(row[0])


class VersionTables:
    """The manifest (digest, content path) of an OCFL object and the state (digest, logical
    path) of the version being built (ocfl.VersionBuilder), in tables `vb_manifest` and
    `vb_state` of `db` (a plain in-memory database when None), read back grouped by digest
    as the inventory is written: a version of millions of files takes no more memory than
    one of ten."""

    def __init__(self, db: ScratchDb | None = None) -> None:
        self.conn = db.conn if db is not None else sqlite3.connect(":memory:")
        self.conn.executescript(
            "CREATE TABLE vb_manifest (digest TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (digest, path))"
            " WITHOUT ROWID;"
            "CREATE TABLE vb_state (digest TEXT NOT NULL, logical TEXT NOT NULL, PRIMARY KEY (digest, logical))"
            " WITHOUT ROWID;")

    def add_manifest(self, entries: Iterable[tuple[str, str]]) -> None:
        """Record (digest, content path) pairs in the manifest (read one at a time)."""
        self.conn.executemany("INSERT INTO vb_manifest VALUES (?, ?)", entries)

    def add_state(self, digest: str, logical: str) -> None:
        """Record that the new version holds `logical` with `digest`."""
        self.conn.execute("INSERT INTO vb_state VALUES (?, ?)", (digest, logical))

    def holds(self, digest: str) -> bool:
        """Whether the manifest has content with `digest`."""
        return self.conn.execute("SELECT 1 FROM vb_manifest WHERE digest = ? LIMIT 1",
                                 (digest,)).fetchone() is not None

    def first_path(self, digest: str) -> str | None:
        """The first (least) content path of `digest` in the manifest; None: not there."""
        row = self.conn.execute("SELECT MIN(path) FROM vb_manifest WHERE digest = ?", (digest,)).fetchone()
        return None if row[0] is None else str(row[0])

    def manifest(self) -> Iterator[tuple[str, list[str]]]:
        """(digest, its content paths) in digest and path order, streamed."""
        return self._grouped("SELECT digest, path FROM vb_manifest ORDER BY digest, path")

    def state(self) -> Iterator[tuple[str, list[str]]]:
        """(digest, the new version's logical paths of it) in digest and path order, streamed."""
        return self._grouped("SELECT digest, logical FROM vb_state ORDER BY digest, logical")

    def _grouped(self, sql: str) -> Iterator[tuple[str, list[str]]]:
        digest: str | None = None
        paths: list[str] = []
        for d, p in self.conn.execute(sql):
            if d != digest:
                if digest is not None:
                    yield digest, paths
                digest, paths = d, []
            paths.append(p)
        if digest is not None:
            yield digest, paths


class Requery(Generic[T]):
    """An iterable that runs `make` again each time it is iterated (a query read several
    times, e.g. once per METS file group), so nothing is held between passes."""

    def __init__(self, make: Callable[[], Iterator[T]]) -> None:
        self.make = make

    def __iter__(self) -> Iterator[T]:
        return self.make()
