"""Writing BagIt 1.0 bags for transfers: payload copied (never moved) and hashed in one read.

A bag is built under a hidden sibling of OUT and renamed to OUT only when complete and
flushed to disk, so OUT is either a whole valid bag or absent. The source is only read.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from archa.repository.catalog.draft import DraftTables
from archa.repository.catalog.scratch import BATCH
from archa.repository.copying import CopyJob, CopyOutcome, ProgressFn, copy_all, copy_stream
from archa.repository.durable import fsync_dir, partial_sibling, sync_filesystem
from archa.repository.events import ARCHA_AGENT as AGENT
from archa.repository.hashing import file_digest

BAG_ALGORITHM = "sha256"
# the payload manifests a transfer's bag gets (BAG_ALGORITHM, and the repository's digest
# algorithm when the bag goes straight into a repository), and whether the bag flushes itself
_ALGORITHMS: ContextVar[tuple[str, ...]] = ContextVar("manifest_algorithms", default=(BAG_ALGORITHM,))
_FLUSH: ContextVar[bool] = ContextVar("bag_flush", default=True)


@contextmanager
def bagging_for_ingest(*extra: str) -> Iterator[None]:
    """Within this block bags are made in an ingest's work area, to be ingested at once: they
    get a payload manifest for each of `extra` too (hashed in the same read), so the ingest
    has every digest it needs without reading the files again, and they are not flushed on
    their own (the ingest's commit flushes the object they become)."""
    tokens = (_ALGORITHMS.set((BAG_ALGORITHM, *[a for a in extra if a != BAG_ALGORITHM])), _FLUSH.set(False))
    try:
        yield
    finally:
        _ALGORITHMS.reset(tokens[0])
        _FLUSH.reset(tokens[1])


def encode_path(path: str) -> str:
    """Manifest percent-encoding of '%', CR and LF (RFC 8493 section 2.1.3)."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def partial_dir(out: Path) -> Path:
    d = partial_sibling(out)
    d.mkdir()
    return d


@dataclass
class PayloadFile:
    rel: str  # under data/
    size: int
    digests: dict[str, str]  # by algorithm: each of the draft's `algorithms`


@dataclass
class BagDraft:
    """A bag being built at `root` (a partial directory). The payload list (path, size,
    digests) is kept in a scratch database inside it (`tables`, catalog/draft.py; removed
    before the bag is finished),
    not in memory, and the manifests are written from it as streams: a bag of a million
    files costs no more memory than one of ten."""

    root: Path
    info: list[tuple[str, str]] = field(default_factory=list)
    tag_files: dict[str, str] = field(default_factory=dict)  # extra tag files: name -> text
    algorithms: tuple[str, ...] = field(default_factory=_ALGORITHMS.get)  # of the payload manifests
    written_tags: list[str] = field(default_factory=list)  # tag files streamed into root (write_tag)
    flush: bool = field(default_factory=_FLUSH.get)  # make the bag durable before it appears as OUT

    def __post_init__(self) -> None:
        # inside the partial bag, so a dead run leaves one thing behind; removed before the bag is finished
        self.db_path = self.root / ".archa-payload.sqlite"
        self.tables = DraftTables(self.db_path)
        self.finished: tuple[int, int] | None = None  # (files, bytes) once the bag is finished

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _totals(self) -> tuple[int, int]:
        if self.finished is None:
            return self.tables.payload_totals()
        return self.finished

    @property
    def payload_files(self) -> int:
        return self._totals()[0]

    @property
    def payload_bytes(self) -> int:
        return self._totals()[1]

    def payload(self) -> Iterator[PayloadFile]:
        """The payload files so far, in path order."""
        for rel, size, digests in self.tables.payload():
            yield PayloadFile(rel, size, digests)

    def copy_in(self, jobs: Sequence[CopyJob], threads: int, progress: ProgressFn | None = None,
                extra_algorithms: tuple[str, ...] = ()) -> dict[str, CopyOutcome]:
        """Copy files into data/ (job.key: the path under data/), hashing each with the bag
        algorithm and `extra_algorithms` in the same read. Returns outcomes by key; the
        successful ones join the payload."""
        algs = self._algorithms(extra_algorithms)
        jobs = [CopyJob(j.key, j.src, self.data / j.key, j.size, algs) for j in jobs]
        outcomes = copy_all(jobs, threads, progress, stage="copy")
        self._take(outcomes.values())
        return outcomes

    def stream_in(self, large: Iterable[CopyJob], small: Iterable[CopyJob], threads: int,
                  progress: ProgressFn | None = None, total: int = 0) -> list[tuple[CopyJob, CopyOutcome]]:
        """Like `copy_in` for jobs read lazily (`large` best biggest first, see copy_stream),
        keeping no outcome in memory: returns only the failed ones and those whose size
        differs from the job's (a file still being written)."""
        algs = self._algorithms(())
        bad: list[tuple[CopyJob, CopyOutcome]] = []
        done: list[CopyOutcome] = []

        def jobs(source: Iterable[CopyJob]) -> Iterator[tuple[CopyJob, None]]:
            return ((CopyJob(j.key, j.src, self.data / j.key, j.size, algs), None) for j in source)

        for job, _tag, out in copy_stream(jobs(large), jobs(small), threads, progress, total):
            if out.error or out.size != job.size:
                bad.append((job, out))
            else:
                done.append(out)
            if len(done) >= BATCH:
                self._take(done)
                done.clear()
        self._take(done)
        return bad

    def _algorithms(self, extra: tuple[str, ...]) -> tuple[str, ...]:
        return (*self.algorithms, *[a for a in extra if a not in self.algorithms])

    def _take(self, outcomes: Iterable[CopyOutcome]) -> None:
        self.tables.add_payload((o.key, o.size, {a: o.digests[a] for a in self.algorithms})
                                for o in outcomes if not o.error)

    def hash_in(self, jobs: Sequence[CopyJob], threads: int, progress: ProgressFn | None = None,
                extra_algorithms: tuple[str, ...] = ()) -> dict[str, CopyOutcome]:
        """Like `copy_in` for files already in data/ (unpacked there): hash them in place."""
        outcomes = hash_all([(j.key, self.data / j.key) for j in jobs], self._algorithms(extra_algorithms), threads)
        self._take(outcomes.values())
        if progress:
            progress("hash", len(jobs), len(jobs))
        return outcomes

    def write_tag(self, name: str, lines: Iterable[str]) -> None:
        """Write the tag file `name` into the bag now, line by line (for one too long to hold)."""
        with open(self.root / name, "w", encoding="utf-8", newline="") as f:
            f.writelines(lines)
        self.written_tags.append(name)

    def finish(self, out: Path) -> None:
        """Write bagit.txt, bag-info.txt (with Payload-Oxum, Bagging-Date, Bag-Software-Agent
        unless given), the manifests and tag manifest; flush; rename to `out`."""

        root = self.root
        labels = {k.lower() for k, _v in self.info}
        info = list(self.info)
        if "bagging-date" not in labels:
            info.append(("Bagging-Date", date.today().isoformat()))
        if "bag-software-agent" not in labels:
            info.append(("Bag-Software-Agent", AGENT))
        info = [(k, v) for k, v in info if k.lower() != "payload-oxum"]
        info.append(("Payload-Oxum", f"{self.payload_bytes}.{self.payload_files}"))
        tags = {
            "bagit.txt": "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
            "bag-info.txt": "".join(f"{k}: {_one_line(v)}\n" for k, v in info),
        }
        tags.update(self.tag_files)
        for name, text in tags.items():
            (root / name).write_text(text, "utf-8")
        for alg in self.algorithms:
            self.write_tag(f"manifest-{alg.replace('_', '-')}.txt",
                           (f"{p.digests[alg]}  {encode_path('data/' + p.rel)}\n" for p in self.payload()))
        names = sorted({*tags, *self.written_tags})
        tagmanifest = "".join(f"{file_digest(root / name, BAG_ALGORITHM)}  {name}\n" for name in names)
        (root / f"tagmanifest-{BAG_ALGORITHM}.txt").write_text(tagmanifest, "utf-8")
        self.finished = self._totals()
        self._close()
        if self.flush:
            sync_filesystem(root)
        os.rename(root, out)
        if self.flush:
            fsync_dir(out.parent)

    def _close(self) -> None:
        self.tables.close()
        self.db_path.unlink(missing_ok=True)

    def abort(self) -> None:
        self._close()
        shutil.rmtree(self.root, ignore_errors=True)


SEQUENTIAL_BELOW = 64 << 20


def _total(files: Sequence[tuple[str, Path]]) -> int:
    total = 0
    for _key, path in files:
        try:
            total += path.stat().st_size
        except OSError:
            pass
    return total


def hash_all(files: Sequence[tuple[str, Path]], algs: tuple[str, ...], threads: int) -> dict[str, CopyOutcome]:
    """Each file hashed with every algorithm in one read, on `threads` threads."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    def one(item: tuple[str, Path]) -> CopyOutcome:
        key, path = item
        hashers = [hashlib.new(a) for a in algs]
        size = 0
        try:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 22):
                    size += len(chunk)
                    for h in hashers:
                        h.update(chunk)
        except OSError as e:
            return CopyOutcome(key, size, error=f"cannot be read: {e.strerror}")
        return CopyOutcome(key, size, {a: h.hexdigest() for a, h in zip(algs, hashers, strict=True)})

    if threads <= 1 or _total(files) < SEQUENTIAL_BELOW:  # a pool costs more than small files take
        return {o.key: o for o in map(one, files)}
    with ThreadPoolExecutor(threads, thread_name_prefix="archa-hash") as pool:
        return {o.key: o for o in pool.map(one, files)}


def _one_line(value: str) -> str:
    """A bag-info value on one line (BagIt allows folding, but one line reads everywhere)."""
    return " ".join(value.split())
