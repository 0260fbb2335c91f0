"""The copy pipeline: one read per file, the same chunks feed every hasher and the write
into staging. Ingest, transfers (their bag writing) and AIP updates copy with it.

Large files are copied by a pool of threads (hashlib and file I/O release the GIL, so
hashing one file overlaps reading and writing others) and fsynced by their worker as soon
as they are written, so the disk flushes while other files are hashed. Small files are
copied in the calling thread meanwhile: for them the per-file Python work dominates, and
threads only fight over the GIL (measured on 20,000 files of 1-8 KiB: twice the CPU time
on four threads). Small files are made durable together by the caller's `sync_filesystem`.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import TypeVar

from archa.errors import StorageError
from archa.repository.hashing import CHUNK
from archa.units import human_bytes

FSYNC_EACH_ABOVE = 4 << 20
SMALL = 1 << 20  # copied in the calling thread

ProgressFn = Callable[[str, int, int], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CopyJob:
    """Copy `src` to the new file `dest`, computing every algorithm in `algorithms`;
    `durable`: a large file is fsynced as it is closed (False for a scratch copy a tool
    reads and that is thrown away)."""

    key: str
    src: Path
    dest: Path
    size: int
    algorithms: tuple[str, ...]
    durable: bool = True


@dataclass(slots=True)
class CopyOutcome:
    key: str
    size: int
    digests: dict[str, str] = field(default_factory=dict)
    error: str = ""


def copy_one(job: CopyJob, buf: bytearray | None = None, made: set[Path] | None = None) -> CopyOutcome:
    """Stream `job.src` into `job.dest` (which must not exist), hashing as it goes.
    `made`: folders known to exist already (saves a mkdir per file). A source that cannot be
    read is the outcome's `error`; a destination that cannot be written (a full disk, a
    read-only file system) raises StorageError: that is the repository's fault, not the SIP's."""
    hashers = [hashlib.new(a) for a in job.algorithms]
    buf = buf if buf is not None else bytearray(min(CHUNK, max(job.size, 1)))
    view = memoryview(buf)
    total = 0
    try:
        if made is None or job.dest.parent not in made:
            job.dest.parent.mkdir(parents=True, exist_ok=True)
            if made is not None:
                made.add(job.dest.parent)
    except OSError as e:
        raise write_failed(job.dest, e, job.size) from e
    try:
        src = os.open(job.src, os.O_RDONLY)
    except OSError as e:
        return CopyOutcome(job.key, 0, error=f"cannot be read: {e.strerror}")
    try:
        try:
            dst = os.open(job.dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as e:
            raise write_failed(job.dest, e, job.size) from e
        try:
            while True:
                try:
                    n = os.readv(src, [view])
                except OSError as e:
                    return CopyOutcome(job.key, total, error=f"cannot be read: {e.strerror}")
                if n == 0:
                    break
                chunk = view[:n]
                for h in hashers:
                    h.update(chunk)
                try:
                    while chunk:
                        w = _write(dst, chunk)
                        chunk = chunk[w:]
                except OSError as e:
                    raise write_failed(job.dest, e, job.size - total) from e
                total += n
            if job.durable and total >= FSYNC_EACH_ABOVE:
                try:
                    os.fsync(dst)
                except OSError as e:
                    raise write_failed(job.dest, e, 0) from e
        finally:
            os.close(dst)
    finally:
        os.close(src)
    return CopyOutcome(job.key, total, {a: h.hexdigest() for a, h in zip(job.algorithms, hashers)})


_write = os.write  # the one write call of the copy (a seam for fault-injection tests)


def write_failed(dest: Path, e: OSError, needed: int) -> StorageError:
    """The error for a destination that cannot be written, naming the free space left."""
    import shutil

    where = dest.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError:
        free = -1
    room = f"; {human_bytes(free)} free there" if free >= 0 else ""
    full = e.errno in (errno.ENOSPC, errno.EDQUOT)
    return StorageError(f"{where}: cannot write {dest.name}: {e.strerror}{room}", path=str(dest),
                        hint=("make room on that file system (this file alone needs "
                              f"{human_bytes(needed)} more), then run the command again; nothing was stored")
                        if full else "check that the file system is mounted and writable, then run the command "
                                     "again; nothing was stored")


def copy_all(jobs: Sequence[CopyJob], threads: int, progress: ProgressFn | None = None,
             stage: str = "copy") -> dict[str, CopyOutcome]:
    """Run every job on `threads` threads; returns outcomes by key. Never raises for one
    file's I/O error (it is in the outcome's `error`)."""
    total = sum(j.size for j in jobs)
    large = sorted((j for j in jobs if j.size >= SMALL), key=lambda j: -j.size)
    small = [j for j in jobs if j.size < SMALL]
    stream = copy_stream(((j, None) for j in large), ((j, None) for j in small), threads, progress, total, stage)
    return {out.key: out for _job, _tag, out in stream}


def copy_stream(large: Iterable[tuple[CopyJob, T]], small: Iterable[tuple[CopyJob, T]], threads: int,
                progress: ProgressFn | None = None, total: int = 0,
                stage: str = "copy") -> Iterator[tuple[CopyJob, T, CopyOutcome]]:
    """Copy every job, yielding (job, its tag, outcome) as each finishes, in no set order.

    `large` (best biggest first, so one does not run alone at the end) go to `threads`
    threads, at most a few per thread in flight; `small` are copied here meanwhile. Both
    are read lazily: a million-file bag is never a million jobs in memory. `total`: the
    bytes of all jobs, for `progress`. Never raises for one file's I/O error."""
    done = 0
    made: set[Path] = set()
    buf = bytearray(CHUNK)
    if threads <= 1:
        for i, (j, tag) in enumerate(chain(large, small)):
            yield j, tag, copy_one(j, buf, made)
            done += j.size
            if progress and (i % 256 == 0 or j.size >= SMALL):
                progress(stage, done, total)
        if progress:
            progress(stage, done, total)
        return
    queue = iter(large)
    window = threads * 4
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="archa-copy") as pool:
        pending = {pool.submit(copy_one, j): (j, tag) for j, tag in islice(queue, window)}

        def finished(block: bool) -> Iterator[tuple[CopyJob, T, CopyOutcome]]:
            ready = wait(pending, return_when=FIRST_COMPLETED)[0] if block else \
                [f for f in pending if f.done()]
            for fut in ready:
                j, tag = pending.pop(fut)
                yield j, tag, fut.result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending[pool.submit(copy_one, nxt[0])] = nxt

        for i, (j, tag) in enumerate(small):  # meanwhile, here
            yield j, tag, copy_one(j, buf, made)
            done += j.size
            if i % 256 == 0:
                for item in finished(block=False):
                    done += item[0].size
                    yield item
                if progress:
                    progress(stage, done, total)
        while pending:
            for item in finished(block=True):
                done += item[0].size
                yield item
            if progress:
                progress(stage, done, total)
    if progress:
        progress(stage, done, total)
