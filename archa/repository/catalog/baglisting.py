"""BagListing: the listing of a bag being read (archa/ingest/bag.py), in a scratch database.

Tables: `disk` (every payload file on disk: path, NFC form when it differs, size),
`listed` (the lines of the manifest being read, emptied for each manifest), `expected`
(path, algorithm, digest: what the payload manifests expect of a file on disk) and
`originals` (bag path -> the original name's bytes, percent-encoded, from
original-names.tsv). A bag of a million files is read without its listing in memory: the
methods stream their rows or return only what a finding needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from archa.repository.catalog.scratch import ScratchDb, each

SCHEMA = """
CREATE TABLE disk (path TEXT PRIMARY KEY, nfc TEXT, size INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX disk_nfc ON disk (nfc) WHERE nfc IS NOT NULL;
CREATE TABLE listed (path TEXT NOT NULL, digest TEXT NOT NULL, nfc TEXT);
CREATE INDEX listed_path ON listed (path);
CREATE TABLE expected (path TEXT NOT NULL, alg TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (path, alg))
    WITHOUT ROWID;
CREATE TABLE originals (path TEXT PRIMARY KEY, original TEXT NOT NULL) WITHOUT ROWID;
"""


class BagListing:
    """The tables above in `db` (a new in-memory scratch database when None: a small bag
    read outside an ingest). An ingest gives its work area's database, which the staged
    files (scratch.StagedFiles) share: they take the original names from `originals`."""

    def __init__(self, db: ScratchDb | None = None) -> None:
        self.scratch = db if db is not None else ScratchDb()
        self.conn = self.scratch.conn
        self.conn.executescript(SCHEMA)

    def commit(self) -> None:
        """End the write transaction the reading of the bag opened (the bag is read)."""
        self.conn.commit()

    # --- the payload on disk --------------------------------------------------------------

    def add_on_disk(self, files: Iterable[tuple[str, str | None, int]]) -> None:
        """Record each payload file on disk as (path, NFC form when it differs, size); the
        rows are read one at a time."""
        self.conn.executemany("INSERT INTO disk VALUES (?, ?, ?)", files)

    def disk_totals(self) -> tuple[int, int]:
        """(bytes, files) of everything on disk under data/ (what Payload-Oxum states)."""
        size, count = self.conn.execute("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM disk").fetchone()
        return int(size), int(count)

    def disk_size(self, path: str) -> int | None:
        """The size of the file on disk at `path` (None: there is none)."""
        row = self.conn.execute("SELECT size FROM disk WHERE path = ?", (path,)).fetchone()
        return None if row is None else int(row[0])

    # --- the manifest being read ----------------------------------------------------------

    def load_manifest(self, lines: Iterable[tuple[str, str, str | None]]) -> None:
        """Empty `listed` and fill it with a manifest's lines as (path, digest, NFC form when
        it differs), in the order given (read one at a time)."""
        self.conn.execute("DELETE FROM listed")
        self.conn.executemany("INSERT INTO listed (path, digest, nfc) VALUES (?, ?, ?)", lines)

    def drop_repeated(self) -> list[tuple[str, str, str]]:
        """Remove every line of `listed` that repeats a path listed before it; returns each
        removed line as (path, its digest, the digest of the path's first line), in the
        manifest's order."""
        twice = self.conn.execute(
            "SELECT l.rowid, l.path, l.digest, f.digest FROM listed l JOIN (SELECT path, MIN(rowid) "
            "AS first, digest FROM listed GROUP BY path HAVING COUNT(*) > 1) f ON f.path = l.path "
            "AND l.rowid != f.first ORDER BY l.rowid").fetchall()
        for rowid, *_rest in twice:
            self.conn.execute("DELETE FROM listed WHERE rowid = ?", (rowid,))
        return [(path, digest, first) for _rowid, path, digest, first in twice]

    def normalisation_clashes(self) -> Iterator[tuple[str, str]]:
        """(NFC form, path) of the listed paths that share their NFC form with another, by
        NFC form and then in the manifest's order (only the names that clash)."""
        yield from each(self.conn.execute(
            "SELECT COALESCE(nfc, path) AS k, path FROM listed WHERE COALESCE(nfc, path) IN "
            "(SELECT COALESCE(nfc, path) FROM listed GROUP BY 1 HAVING COUNT(*) > 1) ORDER BY k, rowid"))

    def listed(self) -> list[tuple[str, str]]:
        """(path, digest) of every line of the manifest read (a tag manifest: a few lines)."""
        return [(str(p), str(d)) for p, d in self.conn.execute("SELECT path, digest FROM listed ORDER BY rowid")]

    def listed_not_on_disk(self) -> list[tuple[str, str, str | None]]:
        """(path, digest, NFC form) of the manifest's lines whose path is not on disk as
        written, in the manifest's order."""
        return self.conn.execute("SELECT l.path, l.digest, l.nfc FROM listed l WHERE NOT EXISTS "
                                 "(SELECT 1 FROM disk d WHERE d.path = l.path) ORDER BY l.rowid").fetchall()

    def unlisted_matching(self, key: str) -> list[str]:
        """The paths on disk that the manifest does not list and that are `key` or whose NFC
        form is `key`, in path order."""
        return [c for (c,) in self.conn.execute(
            "SELECT path FROM disk WHERE (path = ? OR nfc = ?) AND NOT EXISTS "
            "(SELECT 1 FROM listed l WHERE l.path = disk.path) ORDER BY path", (key, key))]

    # --- what the payload manifests expect --------------------------------------------------

    def expect_listed(self, alg: str) -> None:
        """Each line of the manifest read whose path is on disk becomes what `alg` expects
        of that file."""
        self.conn.execute("INSERT INTO expected SELECT l.path, ?, l.digest FROM listed l JOIN disk d "
                          "ON d.path = l.path", (alg,))

    def expect(self, path: str, alg: str, digest: str) -> None:
        """Expect `digest` (`alg`) of the file on disk at `path` (replacing what was expected)."""
        self.conn.execute("INSERT OR REPLACE INTO expected VALUES (?, ?, ?)", (path, alg, digest))

    def unexpected_on_disk(self, alg: str) -> Iterator[str]:
        """The paths on disk of which no `alg` digest is expected (not in that manifest),
        in path order, streamed."""
        for (path,) in self.conn.execute("SELECT path FROM disk d WHERE NOT EXISTS (SELECT 1 FROM expected e "
                                         "WHERE e.path = d.path AND e.alg = ?) ORDER BY path", (alg,)):
            yield path

    def payload_files(self) -> int:
        """How many files on disk a payload manifest lists."""
        return int(self.conn.execute("SELECT COUNT(DISTINCT path) FROM expected").fetchone()[0])

    def payload_bytes(self) -> int:
        """The bytes of the files on disk a payload manifest lists."""
        return int(self.conn.execute("SELECT COALESCE(SUM(size), 0) FROM disk d WHERE EXISTS "
                                     "(SELECT 1 FROM expected e WHERE e.path = d.path)").fetchone()[0])

    def is_payload(self, path: str) -> bool:
        """Whether a payload manifest lists the file on disk at `path`."""
        return self.conn.execute("SELECT 1 FROM expected WHERE path = ? LIMIT 1", (path,)).fetchone() is not None

    def expected_payload(self, min_size: int = 0, below: int | None = None,
                         largest_first: bool = False) -> Iterator[tuple[str, int, str, str]]:
        """(path, size, algorithm, digest) of the payload files of `min_size` bytes or more
        (and under `below`), a row per expected digest, in path order (or largest first),
        each file's rows together in algorithm order; streamed."""
        order = "d.size DESC, d.path" if largest_first else "d.path"
        yield from each(self.conn.execute(
            "SELECT d.path, d.size, e.alg, e.digest FROM disk d JOIN expected e ON e.path = d.path "
            f"WHERE d.size >= ? AND d.size < ? ORDER BY {order}, e.alg",
            (min_size, below if below is not None else 1 << 62)))

    # --- original names -------------------------------------------------------------------

    def add_original_names(self, names: Iterable[tuple[str, str]]) -> None:
        """Record (bag path, original name percent-encoded) pairs, a later one replacing an
        earlier one of the same path."""
        self.conn.executemany("INSERT OR REPLACE INTO originals VALUES (?, ?)", names)
