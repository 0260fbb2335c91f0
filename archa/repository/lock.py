"""Locks (flock: they die with the process, so a killed command never leaves one held).

The repository lock (`<repo>/lock`) is taken shared by the commands that may run side by
side (ingest, update, audit, sync, repair, holds, originators) and exclusively by those
that need the repository quiet (disposal, catalog rebuild, adding a location). Per-AIP
locks (`<repo>/locks/aip-NNNN.lock`, striped) keep two commands from writing or auditing
the same AIP's storage at once; the catalog's own transactions (BEGIN IMMEDIATE) order
everything else, the event chain included; staging work areas carry an owner lock so a
sweep removes only those of dead commands.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archa.errors import RepositoryError


@contextmanager
def try_lock(path: Path, shared: bool = False) -> Iterator[bool]:
    """Yield whether the flock on `path` (created if needed) was free and is now held;
    never waits."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


BUSY = "the repository is busy (another archa command holds the lock)"


def acquire(path: Path, shared: bool = False, timeout: float = 30.0, busy: str = BUSY) -> int:
    """An open fd holding the flock on `path` (created if needed), waiting at most
    `timeout` seconds; RepositoryError `path: busy` when it stays taken. Close the fd to
    release it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise RepositoryError(f"{path}: {busy}", path=str(path),
                                      hint="wait for the other command to finish and retry") from None
            time.sleep(0.05)


@contextmanager
def exclusive_lock(path: Path, timeout: float = 30.0, shared: bool = False) -> Iterator[None]:
    """Hold the flock on `path` (exclusive, or `shared`); wait at most `timeout` seconds."""
    fd = acquire(path, shared, timeout)
    try:
        yield
    finally:
        os.close(fd)

