"""Reading AIP files out of storage, verified, from the cheapest copy that holds them intact.

Copies are tried hot, then warm, then cold (OCFL before packed within a tier; copies the
catalog marks damaged or missing only after every sound one). A location that cannot be
reached (an object store down) is skipped and reported as unavailable, not as damaged. From an OCFL copy each file
is read by key; from a packed copy the archive is streamed once and only the wanted
members are passed on. Every byte goes through the digest of the catalog on its way to
the receiver; a file whose digest or size does not match is rolled back at the receiver,
its copy is reported damaged, and the file is tried at the next copy. Files no copy
holds intact are returned as `failed`.
"""

from __future__ import annotations

import queue
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from archa.errors import Finding, StorageError
from archa.repository.config import Location
from archa.repository.copies import PackedCorrupt, iter_packed, open_packed_member, read_packed_index
from archa.repository.hashing import CHUNK, thread_buffer
from archa.repository.ocfl import object_relpath
from archa.repository.repo import Repository
from archa.repository.store import KeyMissing, Store

TIER_ORDER = {"hot": 0, "warm": 1, "cold": 2}


@dataclass(frozen=True)
class Wanted:
    """One file to read: where the object holds it, and what it must hash to."""

    logical_path: str
    content_path: str  # object-relative, e.g. v1/content/representations/original/data/a.tif
    digest: str
    size: int

    @property
    def version(self) -> str:
        return self.content_path.split("/", 1)[0]


class Writer(Protocol):
    size: int

    def write(self, b: bytes | memoryview) -> int: ...

    @property
    def digest(self) -> str: ...


class Receiver(Protocol):
    """Where verified files go: `begin` opens one, then exactly one of `accept` / `reject`."""

    def begin(self, w: Wanted) -> Writer: ...

    def accept(self, w: Wanted, writer: Writer, location: str) -> None: ...

    def reject(self, w: Wanted, writer: Writer) -> None: ...


@dataclass
class FetchReport:
    sources: dict[str, int] = field(default_factory=dict)  # location -> files delivered
    damage: dict[tuple[str, str], list[Finding]] = field(default_factory=dict)  # (location, version) -> findings
    unavailable: dict[str, str] = field(default_factory=dict)  # location -> why it could not be read
    failed: list[Wanted] = field(default_factory=list)
    bytes: int = 0

    def damaged(self, loc: str, version: str, finding: Finding) -> None:
        self.damage.setdefault((loc, version), []).append(finding)


def copy_order(repo: Repository, aip_id: str, first: str | None = None) -> list[tuple[Location, dict[str, str]]]:
    """Every location holding copies of the AIP, cheapest first (the location named
    `first` before all), with {version: state}."""
    states: dict[str, dict[str, str]] = {}
    for c in repo.catalog.copies(aip_id):
        states.setdefault(c["location"], {})[c["version"]] = c["state"]
    locs = [repo.config.location(name) for name in states]

    def rank(loc: Location) -> tuple[bool, int, int, int, str]:
        sound = all(s == "ok" for s in states[loc.name].values())
        return (loc.name != first, 0 if sound else 1, TIER_ORDER.get(loc.tier, 3), 0 if loc.kind == "ocfl" else 1,
                loc.name)

    return [(loc, states[loc.name]) for loc in sorted(locs, key=rank)]


def fetch(repo: Repository, aip_id: str, alg: str, wanted: Iterable[Wanted], receiver: Receiver,
          progress: Callable[[int], None] | None = None, first: str | None = None, threads: int = 1) -> FetchReport:
    """Deliver every wanted file to `receiver`, verified, each from the first copy (in
    `copy_order`) whose bytes for it match the catalog. See the module docstring. With
    `threads` > 1, files of an OCFL copy are read that many at a time (the receiver must
    then accept concurrent entries). Logical paths that share one content file (OCFL keeps
    content held twice once) are each delivered: the content is read again for the next
    path once the first has it (a receiver takes one entry at a time)."""
    report = FetchReport()
    groups: dict[str, list[Wanted]] = {}
    for w in wanted:
        groups.setdefault(w.content_path, []).append(w)
    failed: list[Wanted] = []
    again = False
    while groups:
        pending = {k: ws[0] for k, ws in groups.items()}
        # read again, the copies tried before are tried first again: the damage they showed is known
        delivered = _deliver(repo, aip_id, alg, pending, receiver, report, progress, first, threads, quiet=again)
        again = True
        for k, ws in groups.items():
            if k not in delivered:
                failed += ws  # no copy holds that content intact: none of its paths
        groups = {k: ws[1:] for k, ws in groups.items() if k in delivered and len(ws) > 1}
    report.failed = sorted(failed, key=lambda w: w.logical_path)
    return report


def _deliver(repo: Repository, aip_id: str, alg: str, wanted: dict[str, Wanted], receiver: Receiver,
             report: FetchReport, progress: Callable[[int], None] | None, first: str | None,
             threads: int, quiet: bool = False) -> set[str]:
    """One pass of `fetch` over the copies for `wanted` (by content path, each once); the
    content paths delivered. `quiet`: damage seen is not recorded (a pass reading again
    what an earlier one recorded)."""
    pending = dict(wanted)
    for loc, versions in copy_order(repo, aip_id, first):
        here = {k: w for k, w in pending.items() if w.version in versions}
        if not here:
            continue
        take = _Taker(receiver, alg, loc, report, progress, quiet)
        try:  # a location that cannot be reached is no source now, and not damaged either
            store = repo.store(loc)
            if loc.kind == "ocfl":
                _from_ocfl(store, aip_id, here, take, threads)
            else:
                _from_packed(store, aip_id, here, take)
        except StorageError as e:
            report.unavailable[loc.name] = e.message
        for k in take.delivered:
            del pending[k]
        if not pending:
            break
    return set(wanted) - set(pending)


class _Taker:
    """Streams one source file into the receiver and checks it."""

    def __init__(self, receiver: Receiver, alg: str, loc: Location, report: FetchReport,
                 progress: Callable[[int], None] | None, quiet: bool = False) -> None:
        self.receiver, self.alg, self.location, self.report = receiver, alg, loc.name, report
        self.quiet = quiet  # damage seen is not recorded
        self.packed = loc.kind == "packed"
        self.progress = progress
        self.delivered: list[str] = []
        self.lock = threading.Lock()  # the bookkeeping, when files are read on several threads

    def damaged(self, version: str, finding: Finding) -> None:
        if self.quiet:
            return
        with self.lock:
            self.report.damaged(self.location, version, finding)

    def __call__(self, w: Wanted, src: IO[bytes]) -> None:
        """Copy `src` to the receiver; accept it if it verifies, else reject it and record
        the damage. Read errors propagate after the entry is rejected."""
        out = self.receiver.begin(w)
        try:
            for chunk in (chunks(src) if w.size < PREFETCH_ABOVE else prefetched(src)):
                out.write(chunk)
                if self.progress:
                    self.progress(len(chunk))
        except BaseException:
            self.receiver.reject(w, out)
            raise
        if out.size != w.size or out.digest != w.digest:
            self.receiver.reject(w, out)
            code, what = ("FIX003", "file has the wrong size") if out.size != w.size else \
                ("FIX009" if self.packed else "FIX002", f"{self.alg} digest of the file does not match")
            self.damaged(w.version, Finding(
                code, f"{what} (found while exporting)", w.content_path,
                expected=w.digest if code == "FIX002" else str(w.size),
                found=out.digest if code == "FIX002" else str(out.size)))
            return
        self.receiver.accept(w, out, self.location)
        with self.lock:
            self.delivered.append(w.content_path)
            self.report.sources[self.location] = self.report.sources.get(self.location, 0) + 1
            self.report.bytes += out.size


PREFETCH_ABOVE = 2 * CHUNK
PARALLEL_ABOVE = 1 << 20  # files read on the export threads; smaller ones in the calling thread


def _read_into(src: IO[bytes], buf: bytearray | memoryview) -> int:
    """Fill `buf` from `src` as far as it goes (short reads are retried); 0 at the end."""
    view, n = memoryview(buf), 0
    while n < len(view):
        got = src.readinto(view[n:])  # type: ignore[attr-defined]
        if not got:
            break
        n += got
    return n


def chunks(src: IO[bytes]) -> Iterator[memoryview]:
    """The contents of `src` in READ_BUFFER pieces, read into the thread's reused buffer (see
    `thread_buffer`; 20,000 small files with a fresh buffer each took 4.3 s). Each piece is
    valid until the next."""
    view = thread_buffer()
    while n := _read_into(src, view):
        yield view[:n]


def prefetched(src: IO[bytes], depth: int = 2) -> Iterator[memoryview]:
    """Like `chunks`, but read (and, from a packed copy, decompressed) by a helper thread up
    to `depth` buffers ahead, so reading overlaps the caller's hashing and writing."""
    free: queue.Queue[bytearray] = queue.Queue()
    for _ in range(depth + 2):
        free.put(bytearray(CHUNK))
    full: queue.Queue[tuple[bytearray, int] | BaseException | None] = queue.Queue()
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                buf = free.get()
                n = _read_into(src, buf)
                full.put((buf, n) if n else None)
                if not n:
                    return
        except Exception as e:  # noqa: BLE001 - handed to the caller and raised there
            full.put(e)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    held: bytearray | None = None
    try:
        while (item := full.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            if held is not None:
                free.put(held)  # the caller is done with the previous piece
            held, n = item
            yield memoryview(held)[:n]
    finally:
        stop.set()
        free.put(held if held is not None else bytearray(0))  # unblock a reader waiting for a buffer
        t.join()


def _from_ocfl(store: Store, aip_id: str, here: dict[str, Wanted], take: _Taker, threads: int = 1) -> None:
    prefix = object_relpath(aip_id)

    def one(key: str) -> None:
        w = here[key]
        try:
            with store.open(f"{prefix}/{key}") as src:
                take(w, src)
        except KeyMissing:
            take.damaged(w.version, Finding("FIX001", "file missing from the copy", key, expected=w.digest))
        except OSError as e:  # a local file that exists but cannot be read (StorageError: unreachable)
            take.damaged(w.version, Finding("FIX006", f"file cannot be read: {e}", key))

    # Large files go to the threads, biggest first (reads, hashing and writes release the
    # GIL); small ones are done here meanwhile: for them the Python work per file dominates
    # and threads would only contend for the GIL.
    large = sorted((k for k in here if here[k].size >= PARALLEL_ABOVE), key=lambda k: -here[k].size)
    small = sorted(k for k in here if here[k].size < PARALLEL_ABOVE)
    if threads <= 1 or len(large) <= 1:
        small, large = sorted(here), []
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="archa-export") as pool:
        futures = [pool.submit(one, k) for k in large]
        for key in small:
            one(key)
        for fut in futures:
            fut.result()  # re-raises the first error (StorageError: location unreachable)


# read members frame by frame (not the whole archive) when at most this share of it is wanted
SEEK_BELOW = 0.5


def _from_frames(store: Store, aip_id: str, version: str, index: dict[str, Any], members: dict[str, Wanted],
                 take: _Taker) -> set[str]:
    """Each wanted member read from its own zstd frame; the members taken."""
    seen: set[str] = set()
    for k, w in sorted(members.items()):
        if k not in index["members"]:
            continue
        with open_packed_member(store, aip_id, version, index, k) as f:
            take(w, f)
        seen.add(k)
    return seen


def _from_packed(store: Store, aip_id: str, here: dict[str, Wanted], take: _Taker) -> None:
    """Per needed version: the wanted members read from their own frames when the archive
    has them (a frame index) and they are a small part of it, else one pass through the
    archive passing on only the wanted members."""
    for version in sorted({w.version for w in here.values()}):
        members = {k: w for k, w in here.items() if w.version == version}
        seen: set[str] = set()
        try:
            index = read_packed_index(store, aip_id, version)
            wanted = sum(w.size for w in members.values())
            if index.get("frames") and wanted <= SEEK_BELOW * sum(m["size"] for m in index["members"].values()):
                seen = _from_frames(store, aip_id, version, index, members, take)
            else:
                seen = _stream_members(store, aip_id, version, members, take)
        except KeyMissing:
            take.damaged(version, Finding("FIX011", "the copy is missing: no archive", f"{version}.tar.zst"))
            continue
        except (PackedCorrupt, OSError, tarfile.TarError, ValueError) as e:
            message = e.message if isinstance(e, PackedCorrupt) else str(e)
            take.damaged(version, Finding("FIX008", f"the archive cannot be read: {message}", f"{version}.tar.zst"))
            continue
        for k in sorted(set(members) - seen):
            take.damaged(version, Finding("FIX010", "member missing from the archive", k, expected=members[k].digest))


def _stream_members(store: Store, aip_id: str, version: str, members: dict[str, Wanted], take: _Taker) -> set[str]:
    """One pass through the archive, passing on only the wanted members; the members taken."""
    seen: set[str] = set()
    for ti, f in iter_packed(store, aip_id, version):
        w = members.get(ti.name)
        if w is not None:
            seen.add(ti.name)
            take(w, f)
            if len(seen) == len(members):
                break  # the rest of the archive holds nothing wanted
    return seen


class _Memory:
    """A receiver keeping small files in memory (metadata read during an export)."""

    def __init__(self, alg: str) -> None:
        self.alg = alg
        self.data: dict[str, bytes] = {}

    def begin(self, w: Wanted) -> Writer:
        import io

        from archa.access.sinks import EntryWriter

        return EntryWriter(w.logical_path, io.BytesIO(), self.alg)

    def accept(self, w: Wanted, writer: Writer, location: str) -> None:
        self.data[w.logical_path] = writer.out.getvalue()  # type: ignore[attr-defined]

    def reject(self, w: Wanted, writer: Writer) -> None:
        """Nothing was kept."""


def fetch_small(repo: Repository, aip_id: str, alg: str, wanted: Iterable[Wanted]) -> tuple[dict[str, bytes],
                                                                                            FetchReport]:
    """Small files (metadata) read into memory, verified like every export: {logical path:
    bytes} of those some copy holds intact, and the report (damage seen on the way)."""
    memory = _Memory(alg)
    report = fetch(repo, aip_id, alg, wanted, memory)
    return memory.data, report


def describe(report: FetchReport) -> list[dict[str, Any]]:
    """The damage seen, per copy, for summaries."""
    return [{"location": loc, "version": v, "findings": [f.as_dict() for f in fs]}
            for (loc, v), fs in sorted(report.damage.items())]
