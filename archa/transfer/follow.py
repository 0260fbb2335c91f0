"""The resident drop-folder watcher: `archa ingest --watch-dir DIR --follow`.

One process keeps watching the drop folder (inotify where the kernel and the file system
give it, a rescan every `poll` seconds in any case: a package copied into a folder, a
network share) and hands every complete transfer (watch.py: a `NAME.ready` marker, or
settled) to a pool of worker processes, one more than the cores by default (a worker
waiting on a flush leaves its core to the spare one). Each worker opens the
repository once, so Python, archa's modules, Siegfried's signatures and the schemas are
loaded once, not per package; it takes up to `batch` transfers at a time and processes them
under one hold of the repository lock (watch.take: claimed by an atomic rename, transferred,
ingested with every copy the placement wants, filed under done/ or failed/), so the event
log is written to the locations once per batch. Nothing about a package's durability
changes: each is stored, flushed and recorded as a single `archa ingest` stores it.

Stopping (SIGTERM, SIGINT, `stop` set): no more transfers are taken; a worker finishes the
package in hand, or gives it back to the drop folder at its next step when nothing of it is
stored yet (IngestOptions.cancel); one still busy after `grace` seconds is killed, which the
ingest's crash rules make harmless (its claim is finished by the next run, watch.recover).
A worker whose leading process is gone (killed with SIGKILL) stops the same way by itself.
A repository lock held by a command that needs the repository to itself makes the workers
wait and retry; a full disk gives the package back and backs off (30 s, doubling up to
10 min), said in the heartbeat. Events a batch could not write to a location's copy of the
event log are said in the heartbeat too (`log_behind`, kept when it stops) and make the
summary not clean, as a one-off command exits 1 for them. The heartbeat
(archa/repository/watchers.py) says, every `heartbeat` seconds, what the watcher is doing,
its backlog and its failures; `archa status` shows it.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import select
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

from archa.errors import ArchaError, LogNotWritten, RepositoryError, StorageError, printable
from archa.repository.watchers import Heartbeat, take_over
from archa.transfer.watch import (
    WORK,
    WatchItem,
    candidates,
    check_drop,
    complete_copies_of,
    disk_full,
    flush_filed,
    recover,
    take,
)

BACKOFF_FIRST, BACKOFF_MAX = 2.0, 60.0  # seconds a worker waits after a package was given back
DISK_FIRST, DISK_MAX = 30.0, 600.0  # ... after a full disk
NOT_TAKEN = "not taken"  # a name handed back untouched (the worker stops or backs off)
IDLE = 2.0  # seconds a worker waits for a name before it looks at kept claims again
LOCK_WAIT = 2.0  # seconds a worker waits for the repository lock before it says it waits


@dataclass(frozen=True)
class FollowOptions:
    workers: int = 0  # worker processes; 0: one more than the cores
    batch: int = 16  # transfers a worker takes under one hold of the repository lock
    poll: float = 2.0  # seconds between rescans of the drop folder (inotify wakes it sooner)
    grace: float = 12.0  # seconds a stopping worker gets to finish before it is killed
    heartbeat: float = 5.0  # seconds between heartbeats
    backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_MAX)  # after a package could not be taken in
    disk_backoff: tuple[float, float] = (DISK_FIRST, DISK_MAX)  # after a full disk

    @property
    def pool(self) -> int:
        # one more than the cores: a worker waits for its flushes (~10 a package), and the
        # spare one takes the core meanwhile. 300 NSESSS packages on 2 cores, runs in turn:
        # 3 workers 23.5-28.1 packages/s against 2 workers 21.1-23.7 (cores 90 % busy, not 80 %)
        return self.workers or min(64, usable_cores() + 1)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: `taskset`, a cgroup's cpuset), not
    all the machine has."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # no sched_getaffinity (macOS)
        return os.cpu_count() or 1


@dataclass
class FollowSummary:
    ingested: int = 0
    failed: int = 0
    given_back: int = 0  # packages put back in the drop folder (busy, full disk, stopping)
    killed: int = 0  # workers that did not stop within the grace period
    unstored: int = 0  # AIP versions left short of a copy the placement wants (archa storage sync)
    log_behind: str = ""  # why the event log is not at every location, as the last batch wrote it ("": it is)

    @property
    def clean(self) -> bool:
        """Stopped with every worker finished, every required copy there and the event log
        written to every location."""
        return not (self.killed or self.unstored or self.log_behind)
    items: list[WatchItem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ingested": self.ingested, "failed": self.failed, "given_back": self.given_back,
                "killed": self.killed, "unstored": self.unstored, "log_behind": self.log_behind}


class DirWatch:
    """Wakes when something is created or moved into a directory (inotify, through libc), or
    after a timeout; without inotify only the timeout. Not recursive: files written inside a
    folder being copied in are seen by the rescan."""

    IN_ATTRIB, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x4, 0x8, 0x80, 0x100

    def __init__(self, path: Path) -> None:
        self.fd = -1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            if fd < 0:
                return
            mask = self.IN_ATTRIB | self.IN_CLOSE_WRITE | self.IN_MOVED_TO | self.IN_CREATE
            if libc.inotify_add_watch(fd, os.fsencode(path), mask) < 0:
                os.close(fd)
                return
            self.fd = fd
        except (OSError, AttributeError):  # no libc inotify (not Linux)
            self.fd = -1

    @property
    def kind(self) -> str:
        return "inotify" if self.fd >= 0 else "polling"

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True when the directory changed meanwhile."""
        if self.fd < 0:
            time.sleep(max(0.0, timeout))
            return False
        ready, _w, _x = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return False
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass
        return True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def follow(repo_root: Path, drop: Path, options: FollowOptions = FollowOptions(),
           stop: threading.Event | None = None,
           on_item: Callable[[WatchItem], None] | None = None,
           on_state: Callable[[str], None] | None = None) -> FollowSummary:
    """Watch `drop` and take in every transfer that completes there into the repository at
    `repo_root`, until `stop` is set (see the module docstring). `on_item` hears of every
    package ingested, failed or given back; `on_state` of what the watcher is doing.
    RepositoryError when the repository cannot be opened (nothing is taken then)."""
    from archa.repository.repo import Repository

    stop = stop or threading.Event()
    drop = drop.absolute()  # as the heartbeat names it, whatever the working directory of `archa status`
    with Repository.open(repo_root) as repo:  # refuses a wrong path before any worker starts
        settle = repo.policy.transfer.settle_seconds
        repo_root = repo.root
    check_drop(drop)
    (drop / WORK).mkdir(exist_ok=True)
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or handles of this one
    tasks: multiprocessing.Queue[str | None] = ctx.Queue()
    results: multiprocessing.Queue[dict[str, Any]] = ctx.Queue()
    stopping = ctx.Event()
    watch = DirWatch(drop)
    beat = Heartbeat(repo_root, drop, watch.kind, options.pool)
    take_over(repo_root, drop, beat.pid)  # dead watchers of this folder: their claims are finished here
    summary = FollowSummary()
    queued: set[str] = set()
    changed = False  # news for the heartbeat

    def start_worker(n: int) -> multiprocessing.process.BaseProcess:
        p = ctx.Process(target=_worker, name=f"archa-intake-{n}", daemon=False,  # may fork its own pool (NDK)
                        args=(str(repo_root), str(drop), tasks, results, stopping, options.batch,
                              options.backoff, options.disk_backoff, options.pool))
        p.start()
        return p

    def state(text: str) -> None:
        if text != beat.state:
            beat.state = text
            beat.write()
            if on_state:
                on_state(text)

    log_at = [0.0]  # when the batch that last said how far the log is written ended (time.monotonic)

    def drain(block: float = 0.0) -> None:
        nonlocal changed
        deadline = time.monotonic() + block
        while True:
            try:
                msg = results.get(timeout=max(0.0, deadline - time.monotonic())) if block else results.get_nowait()
            except queue.Empty:
                return
            if "state" in msg:
                state(msg["state"])
                continue
            if "log" in msg:  # after each batch: whether its events reached every location's log;
                # the latest batch of any worker decides (its anchoring wrote every row before it)
                if msg["at"] >= log_at[0]:
                    log_at[0], summary.log_behind = msg["at"], msg["log"]
                    if beat.log_behind != summary.log_behind:
                        beat.log_behind = summary.log_behind
                        changed = True
                continue
            if "unstored" in msg:  # a worker's last word
                summary.unstored += int(msg["unstored"])
                continue
            item = WatchItem(**msg["item"])
            queued.discard(msg["taken"])
            beat.in_hand = len(queued)  # as each is done, not only at the next scan
            beat.backlog = min(beat.backlog, len(queued))
            if item.status == "gone" or item.error == NOT_TAKEN:  # taken by another run; or queued again later
                continue
            summary.items.append(item)
            del summary.items[:-1000]  # bounded: the reports are under done/ and failed/
            if item.status == "ingested":
                summary.ingested += 1
            elif item.status == "failed":
                summary.failed += 1
                beat.failed(item)
            else:
                summary.given_back += 1
                if not stopping.is_set():
                    state(f"waiting: {item.error}" if not item.disk_full else f"disk full, backing off: {item.error}")
            if item.status == "ingested" and beat.state.startswith(("waiting", "disk full")):
                state("running")
            beat.ingested, beat.failures = summary.ingested, summary.failed
            changed = True
            if on_item:
                on_item(item)

    workers = [start_worker(n) for n in range(options.pool)]
    state("running")
    next_scan = next_beat = last_beat = 0.0
    try:
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_scan:
                ready, arriving = candidates(drop, settle, time.time())
                for p in ready:
                    if p.name not in queued:
                        queued.add(p.name)
                        tasks.put(p.name)
                beat.backlog, beat.arriving, beat.in_hand = len(ready), len(arriving), len(queued)
                next_scan = now + options.poll
            if now >= next_beat or (changed and now >= last_beat + 0.5):  # news shown within half a second
                beat.write()
                last_beat, changed = now, False
                next_beat = now + options.heartbeat
            for n, w in enumerate(workers):  # one that died (killed, crashed) is replaced
                if not w.is_alive() and not stop.is_set():
                    state(f"worker {w.name} ended (exit {w.exitcode}); started again")
                    queued.clear()  # what it held is recovered from its claim, the rest queued again
                    workers[n] = start_worker(n)
            if watch.wait(min(0.2, max(0.0, next_scan - time.monotonic()))):
                next_scan = 0.0
            drain()
    finally:
        state("stopping")
        stopping.set()
        for _w in workers:
            tasks.put(None)
        deadline = time.monotonic() + options.grace
        while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
            drain(0.1)
        for w in workers:
            if w.is_alive():
                summary.killed += 1
                w.kill()
            w.join(5)
        drain()
        watch.close()
        beat.in_hand = 0
        try:  # what is left for the next run, as the last heartbeat says it (not the last scan's)
            ready, arriving = candidates(drop, settle, time.time())
            beat.backlog, beat.arriving = len(ready), len(arriving)
        except OSError:
            pass
        state("stopped")
    return summary


def share_of(queued: int, batch: int, pool: int) -> int:
    """How many transfers a worker takes under one hold of the lock, counting the one it has
    just taken: at most `batch`, and no more than its share among the `pool` workers of the
    `queued` names still waiting, so that a burst of a few packages goes to every worker
    instead of the first one to wake (never less than the one in hand)."""
    return max(1, min(batch, 1 + queued // max(1, pool)))


def _worker(repo_root: str, drop_s: str, tasks: multiprocessing.Queue[str | None],
            results: multiprocessing.Queue[dict[str, Any]], stopping: MpEvent, batch: int,
            backoff: tuple[float, float], disk_backoff: tuple[float, float], pool: int = 1) -> None:
    """A worker process: take names off `tasks` (None: stop), up to `batch` at a time (and
    no more than its share of what is queued among the `pool` workers), and
    process them under one hold of the repository lock, claims left by dead runs (or kept
    for a later try) first; report each on `results`. It ignores SIGTERM and SIGINT (the
    leading process decides when to stop) and stops as it does on `stopping` when the
    leading process is gone (killed with SIGKILL, say): finishing or giving back the
    package in hand, taking no more (names still queued are the next watcher's), within
    IDLE seconds when idle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    leader = os.getppid()
    from archa.preservation.identify import get_identifier, resident_heap
    from archa.repository.repo import Repository

    resident_heap()  # before Siegfried loads: this process identifies for hours

    orphaned = False

    def stopped() -> bool:
        nonlocal orphaned
        if not orphaned and os.getppid() != leader:  # adopted by init or a subreaper: the leader is gone
            orphaned = True
            results.cancel_join_thread()  # nobody reads them now: do not wait to hand them over at exit
        return orphaned or stopping.is_set()

    def rest(seconds: float) -> bool:
        """Wait `seconds` (a back-off) or until stopped; True when stopped."""
        deadline = time.monotonic() + seconds
        while not stopped():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            stopping.wait(min(left, IDLE))
        return True

    drop = Path(drop_s)
    repo = Repository.open(Path(repo_root))
    get_identifier(repo.policy.engine)  # signatures loaded once, before the first package
    cancel = stopped
    pause = 0.0
    unstored: list[tuple[str, str]] = []  # (AIP, version) ingested short of a copy, written again later

    def report(taken: str, item: WatchItem) -> None:
        results.put({"taken": taken, "item": item.as_dict()})

    try:
        while not stopped():
            if pause and rest(pause):
                break
            names: list[str] = []
            try:
                name = tasks.get(timeout=IDLE)
            except queue.Empty:  # nothing new: a claim kept for a later try is tried again
                name = ""
            if name is None:
                break
            if name:
                names.append(name)
            try:
                share = share_of(tasks.qsize(), batch, pool)
            except NotImplementedError:  # no qsize (macOS)
                share = batch
            while names and len(names) < share:
                try:
                    more = tasks.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    tasks.put(None)  # for the next get
                    break
                names.append(more)
            if not names and not unstored and not any((drop / WORK).glob("*.lock")):
                continue
            reported: set[str] = set()
            waiting: WatchItem | None = None
            try:
                with repo.writing(shared=True, timeout=LOCK_WAIT):
                    if unstored:  # copies a location could not take before (a full disk): again
                        unstored[:], why = complete_copies_of(repo, unstored)
                        if unstored:
                            raise StorageError(f"{len(unstored)} AIP version(s) still short of a copy the placement "
                                               f"wants: {'; '.join(why[:2])}", hint="archa status; archa storage sync")
                    for old in recover(repo, drop, cancel):
                        report("", old)
                        waiting = waiting or (old if old.status == "waiting" else None)
                    for n in names:
                        reported.add(n)
                        item = None if stopped() or waiting else take(repo, drop, drop / n, cancel)
                        if item is None:  # another run took it, or we stop / back off: it stays in DIR
                            report(n, WatchItem(printable(n), status="waiting", error=NOT_TAKEN)
                                   if stopped() or waiting else WatchItem(printable(n), status="gone"))
                            continue
                        report(n, item)
                        if item.status == "waiting":
                            waiting = item
                        elif item.status == "ingested" and not item.stored:  # taken in; a copy to write later
                            unstored.append((item.aip_id, item.version))
                            waiting = item
                    flush_filed(drop)
                text = printable(LogNotWritten(repo.log_behind).message) if repo.log_behind else ""
                results.put({"log": text, "at": time.monotonic()})
                if text:  # the batch is stored; its events did not reach every location's log
                    results.put({"state": f"disk full, backing off: {text}" if _full_text(text) else
                                 f"error, trying again: {text}"})
            except Exception as e:  # noqa: BLE001 - the lock (held by a command that needs the repository to
                # itself), a full disk, copies still missing, a bug: said in the heartbeat, tried again after a pause
                full = disk_full(e) or (isinstance(e, StorageError) and _full_text(e.message))
                text = printable(e.message if isinstance(e, ArchaError) else f"{type(e).__name__}: {e}")
                results.put({"state": f"disk full, backing off: {text}" if full else
                             f"waiting for the repository: {text}" if isinstance(e, RepositoryError) else
                             f"error, trying again: {text}"})
                for n in names:
                    if n not in reported:
                        report(n, WatchItem(printable(n), status="waiting", error=NOT_TAKEN))
                first, most = disk_backoff if full else backoff
                pause = min(max(pause * 2, first), most)
                continue
            full = waiting is not None and (waiting.disk_full or _full_text(waiting.copy_error))
            first, most = disk_backoff if full else backoff
            pause = 0.0 if waiting is None else min(max(pause * 2, first), most)
    finally:
        results.put({"unstored": len(unstored)})
        repo.close()


def _full_text(error: str) -> bool:
    """Whether a copy's error message (StorageError text) says a disk or quota is full."""
    return "No space left on device" in error or "Disk quota exceeded" in error
