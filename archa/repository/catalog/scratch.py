"""Scratch SQLite databases for per-file state that must not live in memory.

An ingest of a million files keeps the bag's listing, its expected checksums, what was
copied and identified, and the OCFL manifest in one database in its work area, read back
in path order as it is needed: peak memory does not grow with the number of files. The
data is scratch: no rollback journal, no fsync (a crash leaves the work area, which the
next command sweeps; nothing in it is the only copy of anything).
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


_COLUMNS = ("logical_path", "content_path", "role", "original_name", "size", "digest", "puid", "format_name",
            "format_version", "mime", "basis", "engine", "engine_version", "signature_version", "warning")
FORMAT_COLUMNS = _COLUMNS[6:]


class StagedFiles:
    """The files of one version being built, in table `staged` of a scratch database: a row
    per file (catalog fields, plus every digest taken while copying), read back in `key`
    order (the bag path), a chunk at a time. Iterating it runs the query again each time."""

    def __init__(self, db: sqlite3.Connection, aip_id: str, version: str) -> None:
        self.db, self.aip_id, self.version = db, aip_id, version
        columns = ", ".join(f"{c} INTEGER" if c == "size" else f"{c} TEXT DEFAULT ''" for c in _COLUMNS)
        db.execute(f"CREATE TABLE staged (key TEXT PRIMARY KEY, digests TEXT NOT NULL, {columns}) WITHOUT ROWID")
        db.execute("CREATE INDEX staged_logical ON staged (logical_path)")

    def add(self, rows: Iterable[tuple[str, FileRow, dict[str, str]]]) -> None:
        """Record (key, row, digests by algorithm) for each file."""
        marks = ", ".join("?" * (len(_COLUMNS) + 2))
        self.db.executemany(f"INSERT INTO staged (key, digests, {', '.join(_COLUMNS)}) VALUES ({marks})",
                            ((k, json.dumps(d, separators=(",", ":"), sort_keys=True),
                              *(getattr(r, c) for c in _COLUMNS)) for k, r, d in rows))

    def _row(self, values: Sequence[Any]) -> FileRow:
        return FileRow(self.aip_id, self.version, *values)

    def chunks(self, size: int = BATCH, where: str = "", digests: bool = True
               ) -> Iterator[list[tuple[str, FileRow, dict[str, str]]]]:
        """(key, row, digests) in key order, `size` at a time; `where`: an SQL condition;
        without `digests`, the digests dict is empty (not decoded)."""
        last = ""
        cond = f" AND ({where})" if where else ""
        while True:
            got = self.db.execute(f"SELECT key, digests, {', '.join(_COLUMNS)} FROM staged WHERE key > ?{cond} "
                                  "ORDER BY key LIMIT ?", (last, size)).fetchall()
            if not got:
                return
            last = got[-1][0]
            yield [(k, self._row(rest), json.loads(d) if digests else {}) for k, d, *rest in got]

    def __iter__(self) -> Iterator[tuple[FileRow, dict[str, str]]]:
        for chunk in self.chunks():
            for _k, row, digests in chunk:
                yield row, digests

    def rows(self, where: str = "") -> Iterator[FileRow]:
        for chunk in self.chunks(where=where, digests=False):
            for _k, row, _d in chunk:
                yield row

    def count(self, where: str = "1") -> tuple[int, int]:
        """(files, bytes) of the rows matching the SQL condition `where`."""
        n, size = self.db.execute(f"SELECT COUNT(*), COALESCE(SUM(size), 0) FROM staged WHERE {where}").fetchone()
        return int(n), int(size)

    def set(self, key: str, **values: Any) -> None:
        self.db.execute(f"UPDATE staged SET {', '.join(f'{c} = ?' for c in values)} WHERE key = ?",
                        (*values.values(), key))

    def set_formats(self, updates: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Record the identification (FORMAT_COLUMNS' values) of each key."""
        self.db.executemany(f"UPDATE staged SET {', '.join(f'{c} = ?' for c in FORMAT_COLUMNS)} "
                            "WHERE key = ?", ((*values, key) for key, values in updates))

    def take_original_names(self) -> None:
        """The original name of each file the bag's table `originals` names (bag.py)."""
        self.db.execute("UPDATE staged SET original_name = (SELECT original FROM originals o WHERE o.path = "
                        "staged.key) WHERE key IN (SELECT path FROM originals)")

    def content_path(self, logical_path: str) -> str | None:
        row = self.db.execute("SELECT content_path FROM staged WHERE logical_path = ?", (logical_path,)).fetchone()
        return None if row is None else str(row[0])


class Requery(Generic[T]):
    """An iterable that runs `make` again each time it is iterated (a query read several
    times, e.g. once per METS file group), so nothing is held between passes."""

    def __init__(self, make: Callable[[], Iterator[T]]) -> None:
        self.make = make

    def __iter__(self) -> Iterator[T]:
        return self.make()
