"""The rows of the catalog's compact file table (schema 11) and how they are written:
`FileRow` (what a file row says, as readers see it through the `files` view; the data type
is archa/metadata/records.py's, re-exported here) and `FileWriter` (the compact insert, with
its lookup tables)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from archa.metadata.records import FILE_COLUMNS, FileRow

__all__ = ["FILES_VIEW", "FILE_COLUMNS", "FORMAT_COLUMNS", "ROLES", "ROLE_PREFIX", "FileRow", "FileWriter",
           "default_original_name"]

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
            "ON CONFLICT (aip, version, format, role) DO UPDATE SET files = version_formats.files + excluded.files, "
            "bytes = version_formats.bytes + excluded.bytes",
            [(*k, v[0], v[1]) for k, v in counts.items()])
        self.conn.executemany("DELETE FROM version_formats WHERE aip = ? AND version = ? AND format = ? AND role = ? "
                              "AND files = 0", [k for k, v in counts.items() if v[0] < 0])

    def _flush(self, batch: list[tuple[Any, ...]]) -> int:
        self.conn.executemany("INSERT INTO file_rows (aip, version, dir, name, role, size, digest, format, "
                              "content_path, original_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        n = len(batch)
        batch.clear()
        return n


