"""ExpectedTable: what a copy of a version must hold, for the audit of a copy
(archa/repository/copyaudit.py: fixity audits, repairs), in a scratch database rather than a dict: an audit of a
million-file version holds one chunk at a time.

Tables: `expected` (rel, digest, size: what the catalog says the copy holds), `present`
(rel, size: the copy's listing; size -1 when the listing gives none) and `seen` (the
members read from a packed copy). Every query streams its rows a batch at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from archa.repository.catalog.scratch import BATCH, scratch_db

# what needs hashing: expected and present, its size not already known to be wrong
_TO_HASH = ("FROM expected e JOIN present p ON p.rel = e.rel WHERE NOT (e.size IS NOT NULL AND p.size >= 0 "
            "AND p.size != e.size)")
_SIZE = "(CASE WHEN p.size >= 0 THEN p.size ELSE COALESCE(e.size, 0) END)"  # the listing's, else the catalog's


class Wanted(Protocol):
    """What the catalog says of one file (archa.repository.ocfl.Expected)."""

    @property
    def digest(self) -> str: ...

    @property
    def size(self) -> int | None: ...


class ExpectedTable:
    """The tables above in a new scratch database at `path`, `expected` filled from
    (relative path, what is expected of it) pairs, read one at a time."""

    def __init__(self, path: Path, expected: Iterable[tuple[str, Wanted]]) -> None:
        self.conn = scratch_db(path)
        self.conn.executescript(
            "CREATE TABLE expected (rel TEXT PRIMARY KEY, digest TEXT NOT NULL, size INTEGER) WITHOUT ROWID;"
            "CREATE TABLE present (rel TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE seen (rel TEXT PRIMARY KEY) WITHOUT ROWID;")
        self.conn.executemany("INSERT OR REPLACE INTO expected VALUES (?, ?, ?)",
                            ((rel, e.digest, e.size) for rel, e in expected))  # read one at a time

    def get(self, rel: str) -> tuple[str, int | None] | None:
        """(digest, size or None) expected of `rel`; None: the copy must not hold it."""
        row = self.conn.execute("SELECT digest, size FROM expected WHERE rel = ?", (rel,)).fetchone()
        return None if row is None else (str(row[0]), row[1])

    def __contains__(self, rel: str) -> bool:
        return self.get(rel) is not None

    def _query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of `sql`, fetched a batch at a time (the cursor is read to its end first when
        the caller writes meanwhile: fetchall of one batch keeps that safe)."""
        cur = self.conn.execute(sql, params)
        while batch := cur.fetchmany(BATCH):
            yield from batch

    def close(self) -> None:
        self.conn.close()

    def all(self) -> Iterator[tuple[str, str, int | None]]:
        """(rel, digest, size) of every expected file, in path order."""
        return self._query("SELECT rel, digest, size FROM expected ORDER BY rel")

    # --- an OCFL copy: its listing against what is expected ---------------------------------

    def record_listing(self, files: Iterable[tuple[str, int]]) -> None:
        """Record the copy's listing as (rel, size; -1: not listed), read one at a time."""
        self.conn.executemany("INSERT OR REPLACE INTO present VALUES (?, ?)", files)

    def listing_empty(self) -> bool:
        """Whether the copy's listing holds nothing at all."""
        return self.conn.execute("SELECT 1 FROM present LIMIT 1").fetchone() is None

    def not_listed(self) -> Iterator[tuple[str, str]]:
        """(rel, digest) of the expected files the listing lacks, in path order."""
        return self._query("SELECT rel, digest FROM expected e WHERE NOT EXISTS "
                           "(SELECT 1 FROM present p WHERE p.rel = e.rel) ORDER BY rel")

    def wrong_sizes(self) -> Iterator[tuple[str, int, int]]:
        """(rel, expected size, listed size) where both are known and differ, in path order."""
        return self._query("SELECT e.rel, e.size, p.size FROM expected e JOIN present p ON p.rel = e.rel "
                           "WHERE e.size IS NOT NULL AND p.size >= 0 AND p.size != e.size ORDER BY e.rel")

    def unexpected(self, version: str) -> Iterator[tuple[str, int]]:
        """(rel, listed size) of the listed files not expected that are in `version`'s
        directory or at the object's top, in path order."""
        return self._query("SELECT rel, size FROM present p WHERE NOT EXISTS (SELECT 1 FROM expected e WHERE "
                           "e.rel = p.rel) AND (substr(rel, 1, ?) = ? OR instr(rel, '/') = 0) ORDER BY rel",
                           (len(version) + 1, f"{version}/"))

    def large_to_hash(self, threshold: int) -> Iterator[tuple[str, str, int | None]]:
        """(rel, digest, expected size) of the listed, expected files of `threshold` bytes or
        more whose size is not already known to be wrong, biggest first."""
        return self._query(f"SELECT e.rel, e.digest, e.size {_TO_HASH} AND {_SIZE} >= ? ORDER BY {_SIZE} DESC",
                           (threshold,))

    def count_small_to_hash(self, threshold: int) -> int:
        """How many rows `small_to_hash(threshold)` gives."""
        return int(self.conn.execute(f"SELECT COUNT(*) {_TO_HASH} AND {_SIZE} < ?", (threshold,)).fetchone()[0])

    def small_to_hash(self, threshold: int) -> Iterator[tuple[str, str, int | None]]:
        """As `large_to_hash` for the files under `threshold` bytes, in path order."""
        return self._query(f"SELECT e.rel, e.digest, e.size {_TO_HASH} AND {_SIZE} < ? ORDER BY e.rel",
                           (threshold,))

    # --- a packed copy: the members read against what is expected ------------------------------

    def record_seen(self, names: Iterable[str]) -> None:
        """Record members read from the archive (a name twice is once)."""
        self.conn.executemany("INSERT OR IGNORE INTO seen VALUES (?)", ((n,) for n in names))

    def not_seen(self) -> Iterator[tuple[str, str]]:
        """(rel, digest) of the expected files no member was read for, in path order."""
        return self._query("SELECT rel, digest FROM expected e WHERE NOT EXISTS "
                           "(SELECT 1 FROM seen s WHERE s.rel = e.rel) ORDER BY rel")
