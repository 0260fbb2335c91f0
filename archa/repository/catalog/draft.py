"""DraftTables: the scratch database of a bag being made by a transfer
(archa/transfer/bagwriter.py `BagDraft`; archa/transfer/folder.py scans into it too).

Tables: `payload` (rel under data/, size, digests by algorithm as JSON: the files copied so
far, from which the manifests are written as streams) and, for a folder transfer, `scan`
(rel, source path as bytes, size, mtime in ns, original name %-encoded when it was not
UTF-8: the files to copy). A bag of a million files costs no more memory than one of ten.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from archa.repository.catalog.scratch import each, scratch_db

ScannedFile = tuple[str, bytes, int, int, str | None]  # rel, source path, size, mtime ns, original name


class DraftTables:
    """The tables above in a new scratch database at `path` (the caller removes the file)."""

    def __init__(self, path: Path) -> None:
        self.conn = scratch_db(path)
        self.conn.execute("CREATE TABLE payload (rel TEXT PRIMARY KEY, size INTEGER NOT NULL, digests TEXT NOT NULL)"
                          " WITHOUT ROWID")

    def close(self) -> None:
        self.conn.close()

    # --- the payload copied into the bag ----------------------------------------------------

    def add_payload(self, files: Iterable[tuple[str, int, dict[str, str]]]) -> None:
        """Record files copied into data/ as (rel, size, digests by algorithm), read one at a
        time."""
        self.conn.executemany("INSERT INTO payload VALUES (?, ?, ?)",
                              ((rel, size, json.dumps(digests)) for rel, size, digests in files))

    def payload_totals(self) -> tuple[int, int]:
        """(files, bytes) of the payload so far."""
        n, size = self.conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM payload").fetchone()
        return int(n), int(size)

    def payload(self) -> Iterator[tuple[str, int, dict[str, str]]]:
        """(rel, size, digests) of the payload so far, in path order, streamed."""
        for rel, size, digests in self.conn.execute("SELECT rel, size, digests FROM payload ORDER BY rel"):
            yield rel, size, json.loads(digests)

    # --- a folder transfer's scan -----------------------------------------------------------

    def start_scan(self) -> None:
        """Make the (empty) table of the files a folder transfer will copy."""
        self.conn.execute("CREATE TABLE scan (rel TEXT PRIMARY KEY, src BLOB NOT NULL, size INTEGER NOT NULL, "
                          "mtime INTEGER NOT NULL, original TEXT) WITHOUT ROWID")

    def add_scanned(self, files: Sequence[ScannedFile]) -> int:
        """Record scanned files; a file whose rel is recorded already is left out. Returns
        how many were recorded."""
        before = self.conn.total_changes
        self.conn.executemany("INSERT OR IGNORE INTO scan VALUES (?, ?, ?, ?, ?)", files)
        return self.conn.total_changes - before

    def scanned_source(self, rel: str) -> bytes:
        """The source path recorded for `rel` (KeyError: none is)."""
        row = self.conn.execute("SELECT src FROM scan WHERE rel = ?", (rel,)).fetchone()
        if row is None:
            raise KeyError(rel)
        return bytes(row[0])

    def large_scanned(self, min_size: int) -> Iterator[tuple[str, bytes, int]]:
        """(rel, source path, size) of the scanned files of `min_size` bytes or more, biggest
        first, streamed."""
        yield from each(self.conn.execute("SELECT rel, src, size FROM scan WHERE size >= ? ORDER BY size DESC",
                                          (min_size,)))

    def small_scanned(self, below: int) -> Iterator[tuple[str, bytes, int]]:
        """(rel, source path, size) of the scanned files under `below` bytes, in path order,
        streamed."""
        yield from each(self.conn.execute("SELECT rel, src, size FROM scan WHERE size < ? ORDER BY rel", (below,)))

    def scanned_bytes(self) -> int:
        """The bytes of every scanned file."""
        return int(self.conn.execute("SELECT COALESCE(SUM(size), 0) FROM scan").fetchone()[0])

    def scanned_times(self) -> Iterator[tuple[str, int, int]]:
        """(rel, size, mtime ns) of every scanned file, in path order, streamed."""
        yield from each(self.conn.execute("SELECT rel, size, mtime FROM scan ORDER BY rel"))

    def has_original_names(self) -> bool:
        """Whether a scanned file had a name that was not UTF-8."""
        return self.conn.execute("SELECT 1 FROM scan WHERE original IS NOT NULL LIMIT 1").fetchone() is not None

    def original_names(self) -> Iterator[tuple[str, str]]:
        """(rel, original name %-encoded) of the files whose name was not UTF-8, in path
        order, streamed."""
        yield from each(self.conn.execute("SELECT rel, original FROM scan WHERE original IS NOT NULL ORDER BY rel"))
