"""Heartbeats of the drop-folder watchers (`archa ingest --watch-dir DIR --follow`).

A watcher writes `<repo>/watchers/<host>-<pid>.json` when it starts, every few seconds and
whenever its state changes: what it watches, how (inotify or polling), its state
("running", "waiting for the repository: ...", "disk full, backing off: ...", "stopping",
"stopped"), its backlog (transfers complete and not yet taken, and still arriving), the
packages in hand, what it ingested and the failures since it started (the last ten with
their error), and whether the last batch's events reached every location's copy of the event
log (`log_behind`: why not; kept when it stops). `archa status` reads them: a watcher that
never said "stopped" and whose heartbeat is older than `STALE_AFTER` seconds (or, on this
host, whose process is gone) died without a word, and needs a person.
The file is status, not a record: overwritten in place at one size, not flushed.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from archa.errors import utf8_text

DIR = "watchers"
STALE_AFTER = 60.0  # seconds without a heartbeat before a running watcher counts as dead
KEEP_FAILURES = 10
SIZE = 16384  # bytes of a heartbeat file, always (see Heartbeat.write)


class _Item(Protocol):
    name: str
    error: str
    report: str


@dataclass
class Heartbeat:
    """The heartbeat one watcher writes (see the module docstring)."""

    repo_root: Path
    drop: Path
    watching: str  # "inotify" | "polling"
    workers: int
    state: str = "starting"
    backlog: int = 0
    arriving: int = 0
    in_hand: int = 0
    ingested: int = 0
    failures: int = 0
    last_failures: list[dict[str, str]] = field(default_factory=list)
    log_behind: str = ""  # the last batch's events did not reach every location's log: why ("": they did)
    started: str = field(default_factory=lambda: _now())
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    @property
    def path(self) -> Path:
        return self.repo_root / DIR / f"{self.host}-{self.pid}.json"

    def failed(self, item: _Item) -> None:
        self.last_failures.append({"time": _now(), "name": item.name[:300], "error": item.error[:600],
                                   "report": item.report[:400]})
        del self.last_failures[:-KEEP_FAILURES]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(repo_root=utf8_text(str(self.repo_root)), drop=utf8_text(str(self.drop)), heartbeat=_now(),
                 epoch=time.time())  # a path that is not UTF-8 (a cp1250 share): \xNN for its bytes
        return d

    def write(self) -> bool:
        """Write the heartbeat; False when it could not be written (never raises: a watcher
        goes on without its heartbeat). The file keeps one size (SIZE bytes, the JSON padded
        with spaces) and is overwritten in place, so a full disk does not silence it."""
        data = json.dumps(self.as_dict(), ensure_ascii=False).encode("utf-8")
        while len(data) > SIZE and self.last_failures:
            self.last_failures.pop(0)
            data = json.dumps(self.as_dict(), ensure_ascii=False).encode("utf-8")
        try:
            if not self.path.exists():
                self.path.parent.mkdir(exist_ok=True)
                tmp = self.path.with_name(f".{self.path.name}.tmp")
                tmp.write_bytes(b" " * SIZE)
                os.replace(tmp, self.path)
            fd = os.open(self.path, os.O_WRONLY)
            try:
                os.pwrite(fd, data.ljust(SIZE), 0)
            finally:
                os.close(fd)
        except OSError:
            return False
        return True


@dataclass(frozen=True)
class WatcherStatus:
    """What `archa status` says of one watcher: its last heartbeat, and whether it is alive."""

    file: str
    heartbeat: dict[str, Any]
    age: float  # seconds since the last heartbeat
    alive: bool  # stopped cleanly or beating
    stopped: bool

    def as_dict(self) -> dict[str, Any]:
        return {**self.heartbeat, "file": self.file, "age_seconds": round(self.age, 1), "alive": self.alive}


def watchers(repo_root: Path, now: float | None = None, keep_stopped: float = 86400.0) -> list[WatcherStatus]:
    """Every watcher's last heartbeat, the newest first; ones that stopped cleanly more
    than `keep_stopped` seconds ago are left out (their files stay)."""
    now = time.time() if now is None else now
    out = []
    d = repo_root / DIR
    for f in sorted(d.glob("*.json")) if d.is_dir() else []:
        for _try in range(3):  # read while it is overwritten: read again
            try:
                beat = json.loads(f.read_bytes().decode("utf-8"))
                age = now - float(beat["epoch"])
                break
            except (OSError, ValueError, KeyError, TypeError):
                time.sleep(0.01)
        else:
            continue
        stopped = beat.get("state") == "stopped"
        if stopped and age > keep_stopped:
            continue
        out.append(WatcherStatus(f.name, beat, age, stopped or (age <= STALE_AFTER and _running(beat)), stopped))
    return sorted(out, key=lambda w: w.age)


def take_over(repo_root: Path, drop: Path, by: int) -> list[str]:
    """Mark the heartbeats of watchers of `drop` on this host whose process is gone as taken
    over by the watcher `by` (pid): it finishes what they left, so they need no one any more;
    their files stay, saying so. Returns the files marked."""
    marked = []
    for w in watchers(repo_root, keep_stopped=0.0):
        beat = w.heartbeat
        if w.stopped or beat.get("drop") != utf8_text(str(drop)) or beat.get("host") != socket.gethostname() or _running(beat):
            continue
        beat.update(state="stopped", died=f"died in state {beat.get('state')!r} after its heartbeat of "
                                         f"{beat.get('heartbeat')}; taken over by pid {by} at {_now()}")
        data = json.dumps(beat, ensure_ascii=False).encode("utf-8")
        try:
            with open(repo_root / DIR / w.file, "r+b") as f:
                f.write(data.ljust(max(SIZE, len(data))))
        except OSError:
            continue
        marked.append(w.file)
    return marked


def _running(beat: dict[str, Any]) -> bool:
    """False when the watcher ran on this host and its process is gone; True otherwise (a
    watcher on another host is judged by its heartbeat's age alone)."""
    if beat.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(beat["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, KeyError, ValueError, TypeError):
        return True
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
