"""ObjectScratch: the per-file state of one AIP while `catalog rebuild` reads it from a copy
(archa/repository/rebuild.py): the inventory's manifest and version states, the stored
files' sizes, the MIME types the METS gives and the formats the PREMIS gives, joined into
the catalog's file rows as they are read. A scratch SQLite database (catalog/scratch.py)
in the AIP's work folder: an object of a million files is never in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from archa.repository.catalog.scratch import scratch_db

_TABLES = """
CREATE TABLE manifest (digest TEXT PRIMARY KEY, path TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE state (version TEXT NOT NULL, logical TEXT NOT NULL, digest TEXT NOT NULL,
                    PRIMARY KEY (version, logical)) WITHOUT ROWID;
CREATE TABLE sizes (path TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE mimes (version TEXT NOT NULL, logical TEXT NOT NULL, mime TEXT NOT NULL,
                    PRIMARY KEY (version, logical)) WITHOUT ROWID;
CREATE TABLE premis (version TEXT NOT NULL, logical TEXT NOT NULL, puid TEXT, name TEXT, fver TEXT,
                     original TEXT, engine TEXT, ever TEXT, sver TEXT, basis TEXT, warning TEXT,
                     PRIMARY KEY (version, logical)) WITHOUT ROWID;
"""


class ObjectScratch:
    """The scratch tables of one AIP being rebuilt, in a new database at `path`. The `add_*`
    methods take their rows from iterables read one at a time (a stream being parsed).
    Close with `close()`."""

    def __init__(self, path: Path) -> None:
        self.db = scratch_db(path)
        self.db.executescript(_TABLES)

    def close(self) -> None:
        self.db.close()

    def add_manifest(self, rows: Iterable[tuple[str, str]]) -> None:
        """(digest, content path) of the inventory's manifest; the first path of a digest stays."""
        self.db.executemany("INSERT OR IGNORE INTO manifest VALUES (?, ?)", rows)

    def add_state(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """(version, logical path, digest) of a version's state."""
        self.db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?)", rows)

    def add_sizes(self, rows: Iterable[tuple[str, int]]) -> None:
        """(content path, size) of the stored files."""
        self.db.executemany("INSERT OR REPLACE INTO sizes VALUES (?, ?)", rows)

    def add_mimes(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """(version, logical path, MIME type) from a version's METS."""
        self.db.executemany("INSERT OR REPLACE INTO mimes VALUES (?, ?, ?)", rows)

    def add_premis(self, rows: Iterable[Sequence[str]]) -> None:
        """(version, logical path, puid, format name, format version, original name, engine,
        engine version, signature version, basis, warning) from a version's PREMIS."""
        self.db.executemany("INSERT OR REPLACE INTO premis VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def files_named(self, logical_paths: Sequence[str]) -> list[tuple[str, str, str]]:
        """(version, logical path, content path) of every version's files among `logical_paths`."""
        return [(r[0], r[1], r[2]) for r in self.db.execute(
            f"SELECT s.version, s.logical, m.path FROM state s JOIN manifest m ON m.digest = s.digest "
            f"WHERE s.logical IN ({', '.join('?' * len(logical_paths))})", list(logical_paths))]

    def content_path(self, version: str, logical: str) -> str | None:
        """The content path of one file of a version (None: the version has no such file)."""
        row = self.db.execute("SELECT m.path FROM state s JOIN manifest m ON m.digest = s.digest WHERE "
                              "s.version = ? AND s.logical = ?", (version, logical)).fetchone()
        return None if row is None else str(row[0])

    def version_totals(self, version: str) -> tuple[int, int]:
        """(files, bytes) of a version's state."""
        n, size = self.db.execute("SELECT COUNT(*), COALESCE(SUM(z.size), 0) FROM state s JOIN manifest m ON "
                                  "m.digest = s.digest LEFT JOIN sizes z ON z.path = m.path WHERE s.version = ?",
                                  (version,)).fetchone()
        return int(n), int(size)

    def version_files(self, version: str) -> Iterator[tuple[Any, ...]]:
        """(logical path, content path, digest, size, puid, format name, format version,
        original name, engine, engine version, signature version, basis, warning, MIME type)
        of each file of a version, joined from the tables as they are read (None where the
        METS or PREMIS said nothing)."""
        yield from self.db.execute(
            "SELECT s.logical, m.path, s.digest, COALESCE(z.size, 0), p.puid, p.name, p.fver, "
            "p.original, p.engine, p.ever, p.sver, p.basis, p.warning, t.mime FROM state s "
            "JOIN manifest m ON m.digest = s.digest LEFT JOIN sizes z ON z.path = m.path "
            "LEFT JOIN premis p ON p.version = s.version AND p.logical = s.logical "
            "LEFT JOIN mimes t ON t.version = s.version AND t.logical = s.logical "
            "WHERE s.version = ?", (version,))
