"""Where a DIP's files go: a directory, or a zip written as a stream.

A sink takes one entry at a time: `begin(path, size)` returns a writer that hashes what
passes; `commit(writer)` keeps the entry, `rollback(writer)` removes every byte of it (a
file that failed verification on the way out never stays in the DIP). Entries are
written once, in order, with nothing held in memory but the current chunk, so a 10 GB
DIP costs what a 10 MB one does.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

PARALLEL_HASH_ABOVE = 1 << 20


@functools.cache
def _hasher() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="archa-hash")


class EntryWriter:
    """An open entry: `write` hashes (with the DIP's digest algorithm) and counts."""

    def __init__(self, path: str, out: IO[bytes], alg: str, state: Any = None, hash_beside: bool = True) -> None:
        self.path = path
        self.out = out
        self.hash = hashlib.new(alg)
        self.size = 0
        self.state = state
        self.hash_beside = hash_beside

    def write(self, b: bytes | memoryview) -> int:
        self.size += len(b)
        if len(b) < PARALLEL_HASH_ABOVE or not self.hash_beside:
            self.hash.update(b)
            return int(self.out.write(b))
        # hash on a helper thread while this one writes: both release the GIL
        pending = _hasher().submit(self.hash.update, b)
        n = self.out.write(b)
        pending.result()
        return int(n)

    @property
    def digest(self) -> str:
        return self.hash.hexdigest()


class DirSink:
    """Entries as files under `root` (a temporary directory the caller renames when done).
    Entries may be written by several threads at once; with `concurrent`, each hashes in
    its own thread (the threads already keep the cores busy)."""

    def __init__(self, root: Path, alg: str, concurrent: bool = False) -> None:
        self.root = root
        self.alg = alg
        self.concurrent = concurrent
        self.made: set[Path] = set()  # folders created already (a mkdir per file costs)
        root.mkdir(parents=True, exist_ok=True)

    def begin(self, path: str, size: int | None = None) -> EntryWriter:
        target = self.root / path
        if target.parent not in self.made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.made.add(target.parent)
        return EntryWriter(path, open(target, "wb"), self.alg, target, hash_beside=not self.concurrent)

    def commit(self, w: EntryWriter) -> None:
        w.out.close()

    def rollback(self, w: EntryWriter) -> None:
        w.out.close()
        Path(w.state).unlink(missing_ok=True)

    def close(self) -> None:
        """Nothing to finish: every entry is complete once committed."""

    def abort(self) -> None:
        """Remove everything written."""
        shutil.rmtree(self.root, ignore_errors=True)


class ZipSink:
    """Entries in a zip file (stored, not deflated: images, PDFs and most records are
    compressed already, and storing keeps the export at disk speed), each under `top/`.

    The zip is written front to back; a rolled-back entry is cut off by truncating the file
    to where the entry began, so the archive never holds an unverified byte."""

    def __init__(self, path: Path, alg: str, top: str) -> None:
        self.path = path
        self.alg = alg
        self.top = top.strip("/")
        self.fp = open(path, "w+b")  # noqa: SIM115 - closed by close() or abort()
        self.zf = zipfile.ZipFile(self.fp, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self.date_time = time.localtime()[:6]

    def begin(self, path: str, size: int | None = None) -> EntryWriter:
        info = zipfile.ZipInfo(f"{self.top}/{path}", self.date_time)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        if size is not None:
            info.file_size = size  # decides ZIP64 for entries over 4 GiB
        start = self.fp.tell()
        out = self.zf.open(info, "w", force_zip64=size is None)
        return EntryWriter(path, out, self.alg, (start, info.filename))

    def commit(self, w: EntryWriter) -> None:
        w.out.close()

    def rollback(self, w: EntryWriter) -> None:
        w.out.close()
        start, name = w.state
        # undo what ZipFile recorded for the entry, then cut its bytes off the file
        self.zf.filelist.pop()
        self.zf.NameToInfo.pop(name, None)
        self.fp.seek(start)
        self.fp.truncate()
        self.zf.start_dir = start

    def abort(self) -> None:
        self.zf.fp = None  # type: ignore[assignment]  # so ZipFile writes no directory into a dead file
        self.fp.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        self.zf.close()
        self.fp.flush()
        os.fsync(self.fp.fileno())
        self.fp.close()
