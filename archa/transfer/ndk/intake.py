"""Taking a PSP's files into its bag: one read per file, the checks spread over the cores.

Each file is read once. Its bytes feed the bag's hashers and MD5, are written into the bag's
data/ (or only hashed, when the package was unpacked there already) and, when a page of the
main METS names the file, are judged as they are: a JPEG 2000 by jpylyzer's box validator
(`jp2.check_jp2`), an ALTO file against ALTO 2.0, a page METS against METS + MIX + PREMIS and
the edition's page METS rules (`psp.check_amd`). A file of `INLINE_MAX` bytes or more is
streamed into the bag instead (`copying.copy_one`, memory stays flat) and judged from its copy.

The work runs on a process pool of `os.cpu_count()` workers forked once per transfer, after
the schemas are compiled and jpylyzer is loaded, so that every worker has them from its
parent (parsed once, not once per file or per worker), with the parent's objects frozen
(`gc.freeze`) while it forks, so that no worker copies the parent's heap; a package of fewer than `POOL_FROM`
files, or a process that may not fork (a daemon, or one running other threads), does the
same work in the calling process. The result does not depend on which: the copy outcomes by
key, and every check's findings in the order of the work (page by page, role by role).
"""

from __future__ import annotations

import gc
import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from archa.errors import Finding
from archa.metadata.xmlsafe import UnsafeXml, parse_untrusted
from archa.repository import copying
from archa.repository.copying import CopyJob, CopyOutcome, ProgressFn, copy_one, write_failed
from archa.transfer.ndk import rules as R
from archa.transfer.ndk.jp2 import check_jp2, load_jpylyzer
from archa.transfer.ndk.psp import ROLE_NAMES, Psp, check_amd, flag, validate
from archa.transfer.ndk.schemas import alto_schema, mets_schema
from archa.transfer.package import Check

INLINE_MAX = 64 << 20  # a file this large or larger is streamed, not held in memory
POOL_FROM = 400  # files; below this the pool costs more than it saves (measured on 2 idle cores)
CHUNK_FILES = 40  # files per task sent to a worker: a few pages, so the workers stay evenly busy


@dataclass(frozen=True, slots=True)
class Take:
    """One file of the package: read `src`, write it to `dest` ("": hash it in place), and
    run each of `checks` (work index, page index, role) on its bytes."""

    key: str  # <package name>/<path>
    src: str
    dest: str
    size: int
    checks: tuple[tuple[int, int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Context:
    """What every take needs beyond its own file: the package as read, the digests to compute."""

    psp: Psp
    algorithms: tuple[str, ...]


@dataclass(slots=True)
class Taken:
    outcome: CopyOutcome
    findings: list[tuple[int, list[Finding]]]  # (work index, what its check found)


def plan(psp: Psp, folder: Path, data: Path | None) -> tuple[list[Take], int]:
    """Every file of the package as a `Take` (to `data`/<name>/..., or hashed in place when
    `data` is None), with the checks of the pages that name it; and how many checks. The
    checks are numbered page by page, role by role, as their findings are reported."""
    checks: dict[str, list[tuple[int, int, str]]] = {}
    n = 0
    for i, page in enumerate(psp.pages):
        for role, rel in sorted(page.files.items()):
            if role in ("master", "user", "alto", "amd"):
                checks.setdefault(rel, []).append((n, i, role))
            n += 1
    base, out = os.fspath(folder), os.fspath(data / psp.name) if data is not None else ""
    takes = [Take(f"{psp.name}/{rel}", f"{base}/{rel}", f"{out}/{rel}" if out else "", size,
                  tuple(checks.get(rel, ()))) for rel, size in psp.files.items()]
    return takes, n


def take_all(takes: Sequence[Take], context: Context, jobs: int, progress: ProgressFn | None = None,
             stage: str = "copy") -> Iterator[Taken]:
    """Every take done, in the order of `takes` (see the module docstring for where);
    `progress(stage, bytes done, bytes in all)` after every few files."""
    total = sum(t.size for t in takes)
    done = 0
    chunks = [list(takes[i:i + CHUNK_FILES]) for i in range(0, len(takes), CHUNK_FILES)]
    for part in _run(chunks, context, jobs):
        for taken in part:
            done += taken.outcome.size
            yield taken
        if progress:
            progress(stage, done, total)


def _run(chunks: list[list[Take]], context: Context, jobs: int) -> Iterator[list[Taken]]:
    workers = min(jobs, os.cpu_count() or 1, len(chunks))
    if workers < 2 or sum(map(len, chunks)) < POOL_FROM or not _may_fork():
        made: set[str] = set()
        for chunk in chunks:
            yield [_take(context, t, made) for t in chunk]
        return
    import multiprocessing

    _prepare(context)  # in the parent: every worker forked from it has them
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_worker_init,
                               initargs=(context,))
    try:
        # The first submit forks every worker. Frozen, the parent's objects are left out of
        # the workers' garbage collections, which would otherwise walk them all and so copy
        # every page of the parent's heap into each worker (measured: ~250 ms of CPU a
        # worker forked from a process holding 300,000 objects, 10 ms frozen).
        gc.freeze()
        try:
            futures: list[Future[list[Taken]]] = [pool.submit(_worker_take, chunk) for chunk in chunks]
        finally:
            gc.unfreeze()
        for f in futures:
            yield f.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _may_fork() -> bool:
    """A daemon process (a drop-folder worker) may not have children, and a child forked
    from a process running other threads could inherit a lock one of them held."""
    import multiprocessing

    return not multiprocessing.current_process().daemon and threading.active_count() == 1


def _prepare(context: Context) -> None:
    alto_schema()
    mets_schema(context.psp.edition)
    load_jpylyzer()


_WORKER: Context | None = None


def _worker_init(context: Context) -> None:
    global _WORKER
    _WORKER = context


def _worker_take(chunk: list[Take]) -> list[Taken]:
    assert _WORKER is not None
    made: set[str] = set()
    return [_take(_WORKER, t, made) for t in chunk]


def _take(context: Context, take: Take, made: set[str]) -> Taken:
    """Read, hash, write and check one file. A file that cannot be read is the outcome's
    error (and is not checked); one that cannot be written raises StorageError."""
    if take.size >= INLINE_MAX:
        return _take_large(context, take)
    try:
        with open(take.src, "rb") as f:
            data = f.read()
    except OSError as e:
        return Taken(CopyOutcome(take.key, 0, error=f"cannot be read: {e.strerror}"), [])
    outcome = CopyOutcome(take.key, len(data), {a: hashlib.new(a, data).hexdigest() for a in context.algorithms})
    if take.dest:
        _write(take.dest, data, made)
    return Taken(outcome, [(n, check(context.psp, data, page, role, take.key)) for n, page, role in take.checks])


def _take_large(context: Context, take: Take) -> Taken:
    path = take.dest or take.src
    if take.dest:
        outcome = copy_one(CopyJob(take.key, Path(take.src), Path(take.dest), take.size, context.algorithms))
    else:
        outcome = _hash(take, context.algorithms)
    if outcome.error:
        return Taken(outcome, [])
    return Taken(outcome, [(n, check(context.psp, Path(path), page, role, take.key))
                           for n, page, role in take.checks])


def _hash(take: Take, algorithms: tuple[str, ...]) -> CopyOutcome:
    hashers = [hashlib.new(a) for a in algorithms]
    size = 0
    try:
        with open(take.src, "rb") as f:
            while chunk := f.read(4 << 20):
                size += len(chunk)
                for h in hashers:
                    h.update(chunk)
    except OSError as e:
        return CopyOutcome(take.key, size, error=f"cannot be read: {e.strerror}")
    return CopyOutcome(take.key, size, {a: h.hexdigest() for a, h in zip(algorithms, hashers, strict=True)})


def _write(dest: str, data: bytes, made: set[str]) -> None:
    """`data` as the new file `dest` (as `copying.copy_one` writes: never over a file, its
    writes through `copying._write`, fsynced when large; StorageError when it cannot)."""
    parent = os.path.dirname(dest)
    try:
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as e:
        raise write_failed(Path(dest), e, len(data)) from e
    view = memoryview(data)
    try:
        while view:
            view = view[copying._write(fd, view):]
        if len(data) >= copying.FSYNC_EACH_ABOVE:
            os.fsync(fd)
    except OSError as e:
        raise write_failed(Path(dest), e, len(view)) from e
    finally:
        os.close(fd)


def check(psp: Psp, source: Path | bytes, page: int, role: str, key: str) -> list[Finding]:
    """What the check of `role` finds in the file `key` (its bytes, or its path when large)."""
    local = Check(key)
    if role in ("master", "user"):
        for f in check_jp2(source, role):
            flag(local, f.code, f.message, key, R.JP2_RULES[role], warning=f.warning)
        return local.findings
    code, what = ("NDK017", "ALTO 2.0") if role == "alto" else ("NDK013", "METS with MIX and PREMIS")
    try:
        root = parse_untrusted(source.read_bytes() if isinstance(source, Path) else source)
    except (etree.XMLSyntaxError, UnsafeXml) as e:
        flag(local, code, f"the {ROLE_NAMES[role]} is not well-formed XML: {e}", key,
             R.ALTO_XSD if role == "alto" else None)
        return local.findings
    validate(root, alto_schema() if role == "alto" else mets_schema(psp.edition), local, code, key, what,
             R.ALTO_XSD if role == "alto" else None)
    if role == "amd":
        local.findings += check_amd(root, psp, psp.pages[page], key)
    return local.findings
