"""The audit of one copy of an AIP version against the catalog (`audit_copy`): every file
re-read and checked, rot found with the exact file and digest. The mechanism of fixity
audits (archa/preservation/fixity.py), repair, DIP export (a copy found damaged on the way
out) and placement (a complete copy the catalog does not know is adopted only once it
audits sound), so it lives here, below all of them.

What a copy must hold is derived from the catalog alone (the files of the version with
their digests and sizes, the inventory digest recorded at ingest), so a copy is never
checked against itself. OCFL copies (local or S3): every expected file is listed, sized
and re-hashed; files that should not be there are reported. Packed copies: the archive is
streamed once through sha256, zstd and tar; every member is hashed; nothing is extracted.

Finding codes are stable (docs/design.md lists them).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from archa.errors import Finding, StorageError
from archa.repository.catalog.expected import ExpectedTable
from archa.repository.catalog.scratch import BATCH
from archa.repository.config import Location
from archa.repository.copies import TEMPORARY, forget_members, packed_keys, temporaries
from archa.repository.hashing import CHUNK, HashingReader, thread_buffer
from archa.repository.leftovers import stored_content
from archa.repository.ocfl import INVENTORY, Expected, expected_rows, object_relpath
from archa.repository.repo import Repository
from archa.repository.store import KeyMissing, Store

LARGE_FILE = 1 << 20
READ_AHEAD = 128  # small files opened (and hinted to the kernel) before they are read
WILLNEED = getattr(os, "POSIX_FADV_WILLNEED", 0)  # a small file: read it all now
SEQUENTIAL = getattr(os, "POSIX_FADV_SEQUENTIAL", 0)  # a large one: read ahead twice as far
MANY_SMALL = 4000  # below this a worker process costs more than it saves
SMALL_CHUNK = 8000  # small files hashed per round (half by the worker process)


@dataclass
class CopyAudit:
    """The result of auditing one copy of one version at one location: its state
    (ok, damaged, missing), what was read, and each finding."""

    aip_id: str
    version: str
    location: str
    kind: str
    state: str = "ok"  # ok | damaged | missing
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    def add(self, code: str, message: str, path: str, expected: str | None = None,
            found: str | None = None, severity: str = "error") -> None:
        self.findings.append(Finding(code, message, path, expected, found, severity))

    @property
    def repair_command(self) -> str:
        return f"archa repair {self.aip_id} --location {self.location}"

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "findings"}
        d["findings"] = [f.as_dict() for f in self.findings]
        if self.state != "ok":
            d["repair"] = self.repair_command
        return d


class Throttle:
    """Limits the read rate to `rate` bytes/s across threads (None: no limit)."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.start = time.monotonic()
        self.done = 0
        self.lock = threading.Lock()

    def consumed(self, n: int) -> None:
        if not self.rate:
            return
        with self.lock:
            self.done += n
            ahead = self.done / self.rate - (time.monotonic() - self.start)
        if ahead > 0:
            time.sleep(ahead)


def _hash_stream(f: IO[bytes], alg: str, throttle: Throttle) -> tuple[str, int]:
    h = hashlib.new(alg)
    n = 0
    view = thread_buffer()
    readinto = getattr(f, "readinto", None)
    while True:
        if readinto is not None:
            k = readinto(view)
            if not k:
                break
            h.update(view[:k])
        else:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            k = len(chunk)
            h.update(chunk)
        n += k
        throttle.consumed(k)
    return h.hexdigest(), n


def audit_ocfl(store: Store, aip_id: str, version: str, alg: str, expected: ExpectedTable,
               result: CopyAudit, jobs: int, throttle: Throttle) -> None:
    prefix = object_relpath(aip_id)
    cut = len(prefix) + 1
    # local listings skip the stat per file (sizes: -1); the size is then checked on the bytes read
    expected.record_listing((key[cut:], size) for key, size in store.list(prefix, sizes=not store.local))
    if expected.listing_empty():
        result.add("FIX011", "the copy is missing: no object at this location", prefix)
        return
    for rel, digest in expected.not_listed():
        result.add("FIX001", "file missing from the copy", rel, expected=digest)
    for rel, size_wanted, size_listed in expected.wrong_sizes():
        result.add("FIX003", "file has the wrong size", rel, expected=str(size_wanted), found=str(size_listed))
    has_root_inventory = INVENTORY in expected
    for rel, size in expected.unexpected(version):
        if TEMPORARY.match(rel.rsplit("/", 1)[-1]):
            continue  # counted below, for every kind of copy
        if rel.startswith(INVENTORY) and not has_root_inventory:
            continue  # the root inventory of a later head is not this version's
        result.add("FIX004", "file in the copy that the version does not hold", rel,
                   found=f"{size} bytes" if size >= 0 else None)

    # Large files go to the threads, one per task, biggest first (hashlib and reads release
    # the GIL, so they hash on every core). Small files are hashed here meanwhile, a chunk
    # at a time: for a few KiB the Python work per file outweighs the hashing, and threads
    # only contend for the GIL (measured on 20,000 files of 1-8 KiB: 0.75 s on one thread,
    # 2.0 s on four). With many small files on a local disk, a forked worker process hashes
    # half of each chunk on the other core (forked before any thread starts; it only opens,
    # reads and hashes). It always has its next half queued: waiting for each half before
    # reading the next chunk left it idle while this thread checked results and read rows,
    # and this thread idle while it caught up (20,000 small files: 0.35 s -> 0.25 s).
    large = expected.large_to_hash(LARGE_FILE)
    n_small = expected.count_small_to_hash(LARGE_FILE)
    small = expected.small_to_hash(LARGE_FILE)

    def check(done: Iterable[tuple[str, str, int]], want: dict[str, tuple[str, int | None]]) -> None:
        for rel, digest, n in done:
            result.files += 1
            result.bytes += n
            exp_digest, exp_size = want[rel]
            if exp_size is not None and n != exp_size:
                result.add("FIX003", "file has the wrong size", rel, expected=str(exp_size), found=str(n))
            elif digest != exp_digest:
                code = "FIX005" if rel.split("/")[-1].startswith(INVENTORY) else "FIX002"
                what = "inventory or its sidecar does not match the catalog" if code == "FIX005" \
                    else f"{alg} digest does not match"
                result.add(code, what, rel, expected=exp_digest, found=digest)

    helper = None
    if store.local and jobs > 1 and n_small >= MANY_SMALL and throttle.rate is None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        helper = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        helper.submit(int).result()  # forked now, before any thread starts
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="archa-fixity") as pool:
            window = max(1, jobs) * 4
            pending: dict[Any, tuple[str, str, int | None]] = {}

            def collect(block: bool) -> None:
                ready = wait(pending, return_when=FIRST_COMPLETED)[0] if block else [f for f in pending if f.done()]
                for fut in ready:
                    rel, digest, esize = pending.pop(fut)
                    check(fut.result(), {rel: (digest, esize)})
                    nxt = next(large, None)
                    if nxt is not None:
                        pending[pool.submit(_hash_keys, store, prefix, [nxt[0]], alg, throttle, True)] = nxt

            for item in islice(large, window):
                pending[pool.submit(_hash_keys, store, prefix, [item[0]], alg, throttle, True)] = item
            theirs: deque[tuple[Any, dict[str, tuple[str, int | None]]]] = deque()  # the helper's, in flight
            while chunk := list(islice(small, SMALL_CHUNK)):
                want = {rel: (digest, esize) for rel, digest, esize in chunk}
                rels = [rel for rel, _d, _s in chunk]
                if helper is not None:
                    theirs.append((helper.submit(_hash_keys, store, prefix, rels[: len(rels) // 2], alg), want))
                    rels = rels[len(rels) // 2:]
                check(_hash_keys(store, prefix, rels, alg, throttle), want)
                while theirs and (len(theirs) > 1 or theirs[0][0].done()):  # the next one queued meanwhile
                    fut, their_want = theirs.popleft()
                    check(fut.result(), their_want)
                collect(block=False)
            for fut, their_want in theirs:
                check(fut.result(), their_want)
            while pending:
                collect(block=True)
    finally:
        if helper is not None:
            helper.shutdown()


def _hash_keys(store: Store, prefix: str, rels: list[str], alg: str,
               throttle: Throttle | None = None, large: bool = False) -> list[tuple[str, str, int]]:
    """(rel, digest, bytes) of each key; run by the threads and by the forked helper. `large`:
    the keys are large files (locally: read with a sequential hint, not each at once)."""
    if store.local and (throttle is None or throttle.rate is None):
        if large:
            return _hash_local(store.path(prefix), rels, alg, ahead=1, advice=SEQUENTIAL)
        return _hash_local(store.path(prefix), rels, alg)
    out = []
    for rel in rels:
        with store.open(f"{prefix}/{rel}") as f:
            digest, n = _hash_stream(f, alg, throttle or Throttle(None))
        out.append((rel, digest, n))
    return out


def _hash_local(base: str, rels: list[str], alg: str, ahead: int = READ_AHEAD,
                advice: int = WILLNEED) -> list[tuple[str, str, int]]:
    """The unthrottled local case with the least Python per file (20,000 small files are
    mostly per-file overhead): raw descriptors, one reused (page-aligned) buffer, no context
    managers. Files are opened `ahead` at a time before they are read, each with the hint
    `advice` to the kernel: WILLNEED for small files, so on a cold cache the disk has many
    reads queued instead of one; SEQUENTIAL for a large file (read ahead twice as far):
    WILLNEED would queue the whole file at once, which on a cold cache cost twice the
    system time of SEQUENTIAL (8 x 128 MiB: 0.43 s against 0.19 s) and took longer, and no
    hint at all cost more than either. A file that cannot be read raises StorageError
    naming it, as `Store.open` does."""
    view = thread_buffer()
    new, readv, close, out = hashlib.new, os.readv, os.close, []
    advise = getattr(os, "posix_fadvise", None)
    queue: deque[tuple[str, int]] = deque()
    it = iter(rels)

    def open_next() -> None:
        rel = next(it, None)
        if rel is None:
            return
        try:
            fd = os.open(f"{base}/{rel}", os.O_RDONLY)
        except OSError as e:
            kind = KeyMissing if isinstance(e, FileNotFoundError) else StorageError
            raise kind(f"{base}/{rel}: cannot be read: {e.strerror}", path=rel,
                       hint="audit the copy and repair it from another") from None
        if advise is not None:
            advise(fd, 0, 0, advice)
        queue.append((rel, fd))

    try:
        for _ in range(ahead):
            open_next()
        while queue:
            rel, fd = queue.popleft()
            try:
                h, n = new(alg), 0
                while k := readv(fd, [view]):
                    h.update(view[:k])
                    n += k
            finally:
                close(fd)
            out.append((rel, h.hexdigest(), n))
            open_next()
    finally:
        for _rel, fd in queue:
            close(fd)
    return out


class _SortedLookup:
    """Expected digests looked up by names that mostly come in sorted order: read along the
    sorted table (a merge), with a query for a name that comes out of order."""

    def __init__(self, expected: ExpectedTable) -> None:
        self.expected = expected
        self.rows = expected.all()
        self.current: tuple[str, str, int | None] | None = next(self.rows, None)

    def find(self, rel: str) -> Expected | None:
        while self.current is not None and self.current[0] < rel:
            self.current = next(self.rows, None)
        if self.current is not None and self.current[0] == rel:
            return Expected(self.current[1], self.current[2])
        out = self.expected.get(rel)
        return None if out is None else Expected(*out)


def audit_packed(store: Store, aip_id: str, version: str, alg: str, expected: ExpectedTable,
                 archive_sha256: str, result: CopyAudit, throttle: Throttle) -> None:
    import tarfile

    import zstandard

    archive_key, index_key = packed_keys(aip_id, version)
    if not store.exists(archive_key) or not store.exists(index_key):
        missing = archive_key if not store.exists(archive_key) else index_key
        result.add("FIX011", "the copy is missing: archive or index absent", missing)
        return
    seen: list[str] = []  # member names, recorded as seen a batch at a time
    in_order = _SortedLookup(expected)  # archa writes members sorted: a merge, not a query each
    with store.open(archive_key) as raw:
        counting = HashingReader(raw, hashlib.sha256(), throttle.consumed)
        try:
            reader = zstandard.ZstdDecompressor().stream_reader(counting, read_size=CHUNK)  # type: ignore[arg-type]
            with tarfile.open(fileobj=reader, mode="r|") as tf:
                for ti in tf:
                    if not ti.isreg():
                        continue
                    f = tf.extractfile(ti)
                    assert f is not None
                    digest, _n = _hash_stream(f, alg, Throttle(None))
                    result.files += 1
                    seen.append(ti.name)
                    if len(seen) >= BATCH:
                        expected.record_seen(seen)
                        seen.clear()
                    forget_members(tf)
                    exp = in_order.find(ti.name)
                    if exp is None:
                        result.add("FIX010", "member in the archive that the version does not hold", ti.name)
                    elif digest != exp.digest:
                        result.add("FIX009", f"{alg} digest of the member does not match", ti.name,
                                   expected=exp.digest, found=digest)
        except (zstandard.ZstdError, tarfile.TarError, EOFError) as e:
            result.add("FIX008", f"the archive cannot be read: {e}", archive_key)
        counting.drain()
        result.bytes = counting.n
    expected.record_seen(seen)
    if not any(f.code == "FIX008" for f in result.findings):
        for rel, digest in expected.not_seen():
            result.add("FIX010", "member missing from the archive", rel, expected=digest)
    found = counting.h.hexdigest()
    if found != archive_sha256:
        result.add("FIX007", "archive sha256 does not match the catalog", archive_key,
                   expected=archive_sha256, found=found)


def audit_copy(repo: Repository, row: dict[str, Any], loc: Location, jobs: int, throttle: Throttle) -> CopyAudit:
    t0 = time.perf_counter()
    result = CopyAudit(row["aip_id"], row["version"], loc.name, loc.kind)
    alg, wanted = expected_rows(repo, row["aip_id"], row["version"], packed=loc.kind == "packed")
    work = repo.new_work_dir()
    expected = ExpectedTable(work / "expected.sqlite", wanted)
    try:
        store = repo.store(loc)
        if loc.kind == "ocfl":
            audit_ocfl(store, row["aip_id"], row["version"], alg, expected, result, jobs, throttle)
        else:
            audit_packed(store, row["aip_id"], row["version"], alg, expected, row["archive_sha256"] or "",
                         result, throttle)
        stored = stored_content(repo, row["aip_id"]) if loc.kind == "ocfl" else None  # a record named like one stays
        for key in temporaries(store, object_relpath(row["aip_id"]), stored):  # the lock is held: no write runs
            store.delete(key)
            result.add("FIX012", "temporary file left by an interrupted write: removed", key, severity="warning")
    except KeyMissing as e:
        result.add("FIX001", e.message, e.path)
    finally:
        expected.close()
        repo.release_work_dir(work)
    result.seconds = time.perf_counter() - t0
    if any(f.is_error for f in result.findings):
        result.state = "missing" if any(f.code == "FIX011" for f in result.findings) else "damaged"
    return result
