"""HashTables: scratch tables of (seq, hash) pairs, one per storage location read, for
comparing logs and journals of millions of rows without holding them in memory
(archa/repository/logscan.py reads the locations into them; eventlog.py and rebuild.py
compare them).

A scratch SQLite database (catalog/scratch.py: no journal, no fsync): what it holds is
derived from the locations and thrown away with it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from pathlib import Path

from archa.repository.catalog.scratch import scratch_db

_ALL = 1 << 62  # above every sequence number


class HashTables:
    """Named tables of (seq, hash), seq the primary key, in one scratch database at `path`
    (in memory when None). Names are chosen by the caller (letters, digits, underscores).
    Close with `close()`."""

    def __init__(self, path: Path | None = None) -> None:
        self.db = scratch_db(path)

    def close(self) -> None:
        self.db.close()

    def create(self, table: str) -> None:
        """A new empty table `table`."""
        self.db.execute(f"CREATE TABLE {table} (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL)")

    def add(self, table: str, rows: Iterable[tuple[int, str]]) -> None:
        """Insert (seq, hash) rows into `table` (a seq held already is an error)."""
        self.db.executemany(f"INSERT INTO {table} VALUES (?, ?)", rows)

    def hash_at(self, table: str, seq: int) -> str | None:
        """The hash `table` holds for `seq` (None: none)."""
        row = self.db.execute(f"SELECT hash FROM {table} WHERE seq = ?", [seq]).fetchone()
        return None if row is None else str(row[0])

    def hashes(self, table: str, upto: int | None = None) -> Generator[tuple[int, str], None, None]:
        """(seq, hash) of `table` in seq order (up to `upto` when given), streamed; several
        may be read at once, interleaved; `close()` one left unfinished."""
        cur = self.db.execute(f"SELECT seq, hash FROM {table} WHERE seq <= ? ORDER BY seq",
                              [_ALL if upto is None else upto])
        try:
            while batch := cur.fetchmany(1000):
                yield from batch
        finally:
            cur.close()

    def same(self, table: str, other: str, upto: int) -> int:
        """How many rows up to `upto` the two tables hold alike (same seq, same hash)."""
        return int(self.db.execute(f"SELECT COUNT(*) FROM {table} a JOIN {other} b ON a.seq = b.seq AND "
                                   "a.hash = b.hash WHERE a.seq <= ?", [upto]).fetchone()[0])
