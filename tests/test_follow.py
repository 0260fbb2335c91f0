"""The resident drop-folder watcher (`archa ingest --watch-dir DIR --follow`), run as its user
runs it: packages arriving while it runs, SIGTERM with a package in hand, a kill -9 and the
next start, a command holding the repository to itself, a full disk."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archa.repository.repo import Repository
from archa.repository.watchers import watchers
from archa.transfer.follow import FollowOptions, follow, share_of
from archa.transfer.watch import WORK
from tests import nsesss_maker as mk

ARCHA = str(Path(sys.executable).parent / "archa")
SETTLE = "\n[policy.transfer]\nsettle_seconds = 1\n"


def package(root: Path, i: int, side: int = 120) -> Path:
    """An NSESSS package of a file with one document: a PDF/A and a photograph."""
    comps = (mk.Comp("odpoved.pdf", mk.pdf_bytes(f"Odpoved {i}"), "application/pdf", 1, 1, mk.ORIGINAL),
             mk.Comp("foto.png", mk.photo_png(i, side), "image/png", 2, 1, mk.ORIGINAL, "příloha"))
    pkg = mk.Package(name=f"SIP_{i:04d}", ident=f"KU-2015-{i:05d}",
                     documents=(mk.Doc("dok-1", "A", 5, components=comps),))
    return mk.write_package(root, pkg)


def drop_in(drop: Path, made: Path, marker: bool = True) -> None:
    """Move a complete package into the drop folder (one rename, as a producer should), then
    its `.ready` marker."""
    os.rename(made, drop / made.name)
    if marker:
        (drop / f"{made.name}.ready").touch()


def reports(drop: Path, outcome: str) -> list[str]:
    d = drop / outcome
    return sorted(p.name.removesuffix(".report.json") for p in d.glob("*.report.json")) if d.is_dir() else []


def wait_for(what: Callable[[], bool], timeout: float = 120, why: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, f"timed out waiting for {why}"
        time.sleep(0.1)


@pytest.fixture
def watcher() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Starts `archa ingest --watch-dir DROP --follow` in its own session; kills what is left."""
    started: list[subprocess.Popen[str]] = []

    def start(repo: Path, drop: Path, *more: str) -> subprocess.Popen[str]:
        p = subprocess.Popen([ARCHA, "ingest", "--repo", str(repo), "--watch-dir", str(drop), "--follow", "--json",
                              *more], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        started.append(p)
        return p

    yield start
    for p in started:  # the whole group: a worker may outlive its leader
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


def stop(p: subprocess.Popen[str]) -> tuple[int, float, list[dict[str, object]]]:
    """SIGTERM the watcher; (exit status, seconds it took to stop, its JSON lines)."""
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    took = time.monotonic() - t0
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert p.returncode == 0 or not err.strip(), err
    return p.returncode, took, lines


def audit_clean(repo: Path) -> None:
    r = subprocess.run([ARCHA, "fixity", "audit", "--all", "--repo", str(repo)], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_takes_packages_as_they_arrive_and_stops_on_sigterm(repo_with_policy, watcher, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop, made = tmp_path / "drop", tmp_path / "made"
    drop.mkdir()
    for i in range(3):  # waiting when it starts
        drop_in(drop, package(made, i))
    p = watcher(repo.root, drop)
    wait_for(lambda: len(reports(drop, "done")) == 3, why="the first three")
    drop_in(drop, package(made, 3))  # with a marker
    mk.zip_package(package(made, 4), drop / "SIP_0004.zip")  # a ZIP, no marker: taken once settled
    bad = package(made, 5)
    (bad / "komponenty" / "foto.png").write_bytes(b"tampered")  # its digest no longer matches mets.xml
    drop_in(drop, bad)
    wait_for(lambda: len(reports(drop, "done")) == 5 and len(reports(drop, "failed")) == 1, why="all six")
    # the heartbeat shows news within half a second of filing (not in the same instant)
    wait_for(lambda: [(w.heartbeat["ingested"], w.heartbeat["failures"]) for w in watchers(repo.root)] == [(5, 1)],
             timeout=5,
             why="the heartbeat to count them")
    status = json.loads(subprocess.run([ARCHA, "status", "--json", "--repo", str(repo.root)], capture_output=True,
                                       text=True, check=False).stdout)
    (w,) = status["watchers"]
    assert w["alive"] and w["state"] == "running" and w["watching"] == "inotify" and w["pid"] == p.pid
    assert w["ingested"] == 5 and w["failures"] == 1 and w["last_failures"][0]["name"] == "SIP_0005"
    assert w["age_seconds"] < 10 and w["drop"] == str(drop)
    code, took, lines = stop(p)
    assert code == 0 and took < 15
    items = [x for x in lines if "status" in x]
    assert sorted((x["name"], x["status"]) for x in items) == [
        *[(f"SIP_{i:04d}", "ingested") for i in range(4)], ("SIP_0004.zip", "ingested"), ("SIP_0005", "failed")]
    assert len(repo.catalog.aips()) == 5
    assert reports(drop, "done") == ["SIP_0000", "SIP_0001", "SIP_0002", "SIP_0003", "SIP_0004.zip"]
    assert not list((drop / WORK).iterdir()) and sorted(x.name for x in drop.iterdir()) == [WORK, "done", "failed"]
    (beat,) = watchers(repo.root)
    assert beat.stopped and beat.heartbeat["state"] == "stopped"
    audit_clean(repo.root)


def test_sigterm_with_a_package_in_hand_stops_in_time_and_loses_nothing(repo_with_policy, watcher,  # type: ignore[no-untyped-def]
                                                                         tmp_path: Path) -> None:
    """A large folder being taken in when SIGTERM comes: the watcher stops within 15 s, the
    folder is either stored (done/) or given back whole to the drop folder, and the next run
    stores it exactly once."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop = tmp_path / "drop"
    drop.mkdir()
    big = tmp_path / "made" / "Spisovna 2026 – předávka"
    for d in range(20):
        (big / f"složka {d}").mkdir(parents=True)
        for f in range(150):
            (big / f"složka {d}" / f"dokument {f}.txt").write_text(f"Dokument {d}/{f}\n" * 20, encoding="utf-8")
    drop_in(drop, big)
    p = watcher(repo.root, drop, "--workers", "1")
    wait_for(lambda: any((drop / WORK).glob("*/*")), why="the folder to be claimed")
    time.sleep(0.5)
    code, took, _lines = stop(p)
    assert code == 0 and took < 15
    stored = len(repo.catalog.aips())
    name = big.name
    if stored:  # finished before it stopped
        assert reports(drop, "done") == [name]
    else:  # given back as it came, nothing of it stored
        assert (drop / name / "složka 19" / "dokument 149.txt").is_file()
        assert not (drop / "done").exists() or not reports(drop, "done")
    assert not any((drop / WORK).iterdir())
    r = subprocess.run([ARCHA, "ingest", "--repo", str(repo.root), "--watch-dir", str(drop)], capture_output=True,
                       text=True, check=False)  # the next run (cron)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(repo.catalog.aips()) == 1 and reports(drop, "done") == [name] and not reports(drop, "failed")
    audit_clean(repo.root)


def busy_with_twelve(repo_with_policy, watcher, tmp_path: Path) -> tuple[Repository, Path, subprocess.Popen[str]]:  # type: ignore[no-untyped-def]
    """A repository, a drop folder of twelve packages, and a watcher that has filed two of them."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop, made = tmp_path / "drop", tmp_path / "made"
    drop.mkdir()
    for i in range(12):
        drop_in(drop, package(made, i, side=300))
    p = watcher(repo.root, drop)
    wait_for(lambda: len(reports(drop, "done")) >= 2, why="two packages")
    return repo, drop, p


def finish_the_twelve(repo: Repository, drop: Path, watcher) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    """A new watcher takes in the rest; each of the twelve stored once, nothing left, audited clean."""
    q = watcher(repo.root, drop)
    wait_for(lambda: len(reports(drop, "done")) == 12, why="all twelve after the restart")
    code, took, _lines = stop(q)
    assert code == 0 and took < 15
    assert len(repo.catalog.aips()) == 12 and not reports(drop, "failed")  # each exactly once
    assert not any((drop / WORK).iterdir())
    assert sorted(x.name for x in drop.iterdir()) == [WORK, "done"]
    audit_clean(repo.root)
    return q


def test_a_killed_watcher_is_named_by_status_and_finished_by_the_next(repo_with_policy, watcher,  # type: ignore[no-untyped-def]
                                                                      tmp_path: Path) -> None:
    repo, drop, p = busy_with_twelve(repo_with_policy, watcher, tmp_path)
    os.killpg(p.pid, signal.SIGKILL)  # the watcher and its workers, at any instruction
    p.wait()
    status = subprocess.run([ARCHA, "status", "--repo", str(repo.root)], capture_output=True, text=True, check=False)
    assert status.returncode == 1 and "stopped without a word" in status.stdout
    q = finish_the_twelve(repo, drop, watcher)
    now = subprocess.run([ARCHA, "status", "--json", "--repo", str(repo.root)], capture_output=True, text=True,
                         check=False)
    dead, alive = sorted(json.loads(now.stdout)["watchers"], key=lambda w: w["pid"] != p.pid)
    assert dead["pid"] == p.pid and f"taken over by pid {q.pid}" in dead["died"] and dead["alive"]
    assert alive["pid"] == q.pid and alive["state"] == "stopped"
    assert "stopped without a word" not in now.stdout  # the one that died was taken over: nobody is needed


def test_workers_of_a_killed_leader_stop_and_the_next_watcher_finishes(repo_with_policy, watcher,  # type: ignore[no-untyped-def]
                                                                        tmp_path: Path) -> None:
    """Only the leading process killed (the OOM killer, a `kill -9 PID`): its workers, which
    ignore SIGTERM, must not go on forever as orphans taking the names still queued; they
    finish or give back what they hold and exit, and the next watcher takes in the rest."""
    repo, drop, p = busy_with_twelve(repo_with_policy, watcher, tmp_path)
    os.kill(p.pid, signal.SIGKILL)  # the leader alone
    p.wait()
    killed_at = len(reports(drop, "done"))

    def group_gone() -> bool:
        try:
            os.killpg(p.pid, 0)  # its workers are in its process group
        except ProcessLookupError:
            return True
        return False

    wait_for(group_gone, timeout=60, why="the orphaned workers to exit")
    left = len(reports(drop, "done"))
    assert left - killed_at <= 2 * 2, (killed_at, left)  # at most what the two workers had in hand
    assert left < 12  # the names still queued were not taken by orphans
    finish_the_twelve(repo, drop, watcher)


def test_waits_while_a_command_holds_the_repository(repo_with_policy, watcher, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop, made = tmp_path / "drop", tmp_path / "made"
    drop.mkdir()
    fd = os.open(repo.root / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as `archa catalog rebuild` or a disposal holds it
    try:
        for i in range(2):
            drop_in(drop, package(made, i))
        p = watcher(repo.root, drop)

        def waiting() -> bool:
            beats = watchers(repo.root)
            return bool(beats) and beats[0].heartbeat["state"].startswith("waiting for the repository")

        wait_for(waiting, timeout=60, why="the watcher to say it waits")
        time.sleep(3)
        assert not reports(drop, "done") and not reports(drop, "failed")
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    wait_for(lambda: len(reports(drop, "done")) == 2, why="both, once the lock is free")
    code, _took, _lines = stop(p)
    assert code == 0 and not reports(drop, "failed") and len(repo.catalog.aips()) == 2


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs (root only: `mount`); unmounted at the end."""
    where = tmp_path / "small-disk"
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(where)], capture_output=True,
                       text=True, check=False)
    if r.returncode != 0:
        if os.environ.get("ARCHA_REQUIRE_TOOLS"):
            pytest.fail(f"cannot mount a small tmpfs for the full-disk test: {r.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_backs_off_and_goes_on_when_there_is_room(small_disk: Path, tmp_path: Path) -> None:
    """The repository on a disk too small for all the packages: the watcher gives nothing up as
    failed, says the disk is full, and takes the rest in once there is room."""
    root = small_disk / "archive"
    Repository.init(root).close()
    drop, made = tmp_path / "drop", tmp_path / "made"
    drop.mkdir()
    for i in range(14):
        drop_in(drop, package(made, i, side=300))  # ~0.27 MB a package, twice over (hot and cold)
    stop_event = threading.Event()
    states: list[str] = []
    options = FollowOptions(workers=1, poll=0.5, heartbeat=0.5, backoff=(0.5, 1.0), disk_backoff=(1.0, 2.0))
    done: list[object] = []
    t = threading.Thread(target=lambda: done.append(follow(root, drop, options, stop_event, on_state=states.append)))
    t.start()
    try:
        wait_for(lambda: any(s.startswith("disk full") for s in states), timeout=120, why="a full disk")
        (beat,) = watchers(root)
        assert beat.heartbeat["state"].startswith("disk full") or beat.heartbeat["state"] == "running"
        status = subprocess.run([ARCHA, "status", "--repo", str(root)], capture_output=True, text=True, check=False)
        assert "a disk is full" in status.stdout or "disk full" in status.stdout
        assert not reports(drop, "failed")
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        wait_for(lambda: len(reports(drop, "done")) == 14, timeout=180, why="all fourteen once there is room")

        def every_copy() -> bool:
            r = subprocess.run([ARCHA, "status", "--json", "--repo", str(root)], capture_output=True, text=True,
                               check=False)
            return r.returncode == 0 or json.loads(r.stdout)["not_stored"] == 0

        wait_for(every_copy, timeout=60, why="the copies the full disk could not take, written again")
    finally:
        stop_event.set()
        t.join(60)
    assert not t.is_alive() and not reports(drop, "failed")
    (summary,) = done
    assert summary.clean and summary.ingested == 14  # type: ignore[attr-defined]
    with Repository.open(root) as repo:
        assert len(repo.catalog.aips()) == 14
    audit_clean(root)


def test_the_last_heartbeat_says_what_is_left(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Stopped right after taking everything in, between two scans of the drop folder: the
    heartbeat `archa status` shows must say nothing is left, not the backlog of its last
    scan (a person would go looking for packages that are all under done/)."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop, made = tmp_path / "drop", tmp_path / "made"
    drop.mkdir()
    for i in range(3):
        drop_in(drop, package(made, i))
    stop_event = threading.Event()
    options = FollowOptions(workers=1, poll=600, heartbeat=600)  # one scan, at the start

    def on_item(_item: object) -> None:
        if len(reports(drop, "done")) == 3:
            stop_event.set()

    summary = follow(repo.root, drop, options, stop_event, on_item=on_item)
    assert summary.clean and summary.ingested == 3
    (beat,) = watchers(repo.root)
    assert beat.heartbeat["state"] == "stopped"
    assert (beat.heartbeat["backlog"], beat.heartbeat["arriving"], beat.heartbeat["in_hand"]) == (0, 0, 0)


def test_events_a_location_could_not_log_are_said_in_the_heartbeat(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The packages are stored (both copies), but cold's copy of the event log cannot be
    written (its folder replaced by a file): the watcher says so in its heartbeat's state, as
    a command says it on stderr with exit status 1, instead of reporting all well; once the
    folder is back, the next command writes what cold missed."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop, made = tmp_path / "drop", tmp_path / "made"
    drop.mkdir()
    drop_in(drop, package(made, 0))
    log = repo.root / "storage" / "cold" / "extensions" / "archa-events"
    away = tmp_path / "log-away"
    if log.exists():
        log.rename(away)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    stop_event, states = threading.Event(), []

    def on_state(text: str) -> None:
        states.append(text)
        if "could not be written" in text:
            stop_event.set()

    timer = threading.Timer(60, stop_event.set)  # never said: stop all the same, and fail below
    timer.start()
    try:
        summary = follow(repo.root, drop, FollowOptions(workers=1, poll=0.5, heartbeat=0.2), stop_event,
                         on_state=on_state)
    finally:
        timer.cancel()
    assert summary.ingested == 1 and reports(drop, "done") == ["SIP_0000"]
    said = [s for s in states if "could not be written" in s]
    assert said and said[0].startswith("error, trying again: the event log could not be written to cold"), states
    # stopped: not clean (the command exits 1), and the last heartbeat keeps why for `archa status`
    assert not summary.clean and summary.log_behind.startswith("the event log could not be written to cold")
    (beat,) = watchers(repo.root)
    assert beat.heartbeat["state"] == "stopped" and beat.heartbeat["log_behind"] == summary.log_behind
    r = subprocess.run([ARCHA, "status", "--repo", str(repo.root)], capture_output=True, text=True, check=False)
    assert r.returncode == 1 and "NEEDS A PERSON" in r.stdout and "could not be written to cold" in r.stdout, \
        r.stdout
    (aip,) = repo.catalog.aips()
    assert {c["location"] for c in repo.catalog.copies(aip["id"]) if c["state"] == "ok"} == {"hot", "cold"}
    log.unlink()
    if away.exists():
        away.rename(log)
    audit_clean(repo.root)


def test_a_watcher_stopping_with_a_location_log_unwritten_exits_1(repo_with_policy, watcher,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    """The command as a service manager runs it: SIGTERM after the packages are stored while
    cold's copy of the event log cannot be written: exit 1 with the reason in its summary
    (an independent review found it ending 0 with a heartbeat saying only "stopped")."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop, made = tmp_path / "drop", tmp_path / "made"
    drop.mkdir()
    log = repo.root / "storage" / "cold" / "extensions" / "archa-events"
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists():
        log.rename(tmp_path / "log-away")
    log.write_bytes(b"")
    for i in range(3):
        drop_in(drop, package(made, i))
    p = watcher(repo.root, drop)
    wait_for(lambda: len(reports(drop, "done")) == 3, why="the three")
    code, took, lines = stop(p)
    assert code == 1 and took < 15
    (last,) = [x for x in lines if "log_behind" in x]
    assert last["ingested"] == 3 and last["log_behind"].startswith("the event log could not be written to cold")


def test_a_location_log_written_again_by_a_later_batch_clears_the_alarm(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The location's log folder is back before the next batch: that batch writes what the
    location missed, and the watcher stops clean, its heartbeat no longer saying it."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop, made = tmp_path / "drop", tmp_path / "made"
    drop.mkdir()
    log = repo.root / "storage" / "cold" / "extensions" / "archa-events"
    log.parent.mkdir(parents=True, exist_ok=True)
    away = tmp_path / "log-away"
    if log.exists():
        log.rename(away)
    log.write_bytes(b"")
    drop_in(drop, package(made, 0))
    said, stop_event = threading.Event(), threading.Event()

    def on_state(text: str) -> None:
        if "could not be written" in text:
            said.set()

    box: list[object] = []
    t = threading.Thread(target=lambda: box.append(follow(repo.root, drop, FollowOptions(
        workers=1, poll=0.5, heartbeat=0.2), stop_event, on_state=on_state)))
    t.start()
    try:
        assert said.wait(60), "the watcher never said the log was not written"
        log.unlink()
        if away.exists():
            away.rename(log)
        drop_in(drop, package(made, 1))
        wait_for(lambda: len(reports(drop, "done")) == 2, why="the second package")
        wait_for(lambda: watchers(repo.root)[0].heartbeat["log_behind"] == "", timeout=10, why="the alarm to clear")
    finally:
        stop_event.set()
        t.join(60)
    (summary,) = box
    assert summary.clean and summary.log_behind == ""  # type: ignore[attr-defined]
    audit_clean(repo.root)


def _first_round(burst: int, pool: int, batch: int) -> list[int]:
    """How many of a burst of `burst` queued names each of `pool` workers takes as they wake
    in turn (the queue as _worker reads it: one name, then its share of what is left)."""
    queued, taken = burst, []
    for _w in range(pool):
        if not queued:
            taken.append(0)
            continue
        queued -= 1
        more = min(share_of(queued, batch, pool) - 1, queued)
        queued -= more
        taken.append(1 + more)
    return taken


def test_a_burst_goes_to_every_worker_and_a_backlog_in_full_batches() -> None:
    # a few packages: one each, not all to the worker that woke first (which then ingests them
    # one after another while the others idle)
    assert _first_round(3, 3, 16) == [1, 1, 1]
    assert _first_round(2, 3, 16) == [1, 1, 0]
    for burst in range(3, 40):
        taken = _first_round(burst, 3, 16)
        assert all(taken), (burst, taken)  # every worker has some of it
        assert max(taken) <= 1 + burst // 3, (burst, taken)
    # a backlog: full batches (one hold of the lock, one event-log write per batch)
    assert _first_round(300, 3, 16) == [16, 16, 16]
    assert share_of(0, 16, 3) == 1 and share_of(10**6, 16, 3) == 16
    assert share_of(5, 16, 0) == 6  # a pool of nought read as one: never a division by zero, never nothing
