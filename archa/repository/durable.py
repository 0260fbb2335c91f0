"""Durable file writes: temp file in the same directory, fsync, rename, fsync the directory.

Nothing here overwrites an existing file: callers that need a fresh name get an error
instead of a silent replacement.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def fsync_dir(path: Path) -> None:
    """Flush a directory entry table (makes creates/renames inside it durable)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes, *, read_only: bool = False, overwrite: bool = False,
                  mode: int = 0o644) -> None:
    """Write `data` to `path` atomically and durably.

    The bytes go to a temporary file beside `path` (created with `mode`, so a secret is
    never readable by others, not even for an instant), which is fsynced and renamed over;
    then the directory is fsynced. Refuses to replace an existing file unless `overwrite`.
    """
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists; stored files are never overwritten")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    if read_only:
        os.chmod(tmp, READ_ONLY)
    if overwrite:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)  # fails if `path` appeared meanwhile: no silent replacement
        finally:
            tmp.unlink()
    fsync_dir(path.parent)


def write_new(path: Path, data: bytes) -> None:
    """Create the new file `path` with `data` (never replacing one), NOT flushed: for files of
    a tree that one `sync_filesystem` makes durable before anything refers to it."""
    with open(path, "xb") as f:
        f.write(data)


@contextmanager
def open_durable(path: Path) -> Iterator[BinaryIO]:
    """Stream a new file into place durably: write to a temp name beside `path`, fsync,
    link to `path` (refusing to replace an existing file), fsync the directory.
    On an exception nothing appears at `path`."""
    if path.exists():
        raise FileExistsError(f"{path} exists; stored files are never overwritten")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "xb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def tree_bytes(root: Path) -> int:
    """The bytes of every regular file below `root` (os.walk: nothing per file is kept,
    where Path.rglob remembers every path it yielded)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


class BackgroundSync:
    """`sync_filesystem(path)` on a thread (syncfs releases the GIL): the data written so far
    reaches the device while the caller goes on (identifying, say); `join` waits and raises
    what the flush raised. The caller still flushes at its commit point: this only makes
    that last flush short."""

    def __init__(self, path: Path) -> None:
        import threading

        self.error: OSError | None = None
        self.thread = threading.Thread(target=self._run, args=(path,), name="archa-preflush", daemon=True)
        self.thread.start()

    def _run(self, path: Path) -> None:
        try:
            sync_filesystem(path)
        except OSError as e:
            self.error = e

    def join(self, quiet: bool = False) -> None:
        """Wait for the flush; raise its error unless `quiet`."""
        self.thread.join()
        if self.error is not None and not quiet:
            raise self.error


def seal_tree(root: Path, prune: Path | None = None) -> int:
    """Make every regular file below `root` read-only (directories stay writable), remove
    every directory at or below `prune` (a directory inside `root`) that holds no file, and
    return the bytes of the regular files left: one walk of the tree where three were."""
    total = 0
    below = os.fspath(prune) if prune is not None else None

    def walk(path: str, pruning: bool) -> bool:
        """Whether `path` was removed (empty, where pruning)."""
        nonlocal total
        empty = True
        with os.scandir(path) as it:
            entries = list(it)
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                if not walk(e.path, pruning or e.path == below):
                    empty = False
                continue
            empty = False
            st = e.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode):
                os.chmod(e.path, READ_ONLY)
                total += st.st_size
        if pruning and empty:
            os.rmdir(path)
            return True
        return False

    walk(os.fspath(root), below == os.fspath(root))
    return total


def sync_filesystem(path: Path) -> None:
    """Flush every dirty page of the file system holding `path` (Linux syncfs(2)).

    One call makes a whole staged tree durable, far cheaper than an fsync per small file.
    Falls back to os.sync() where syncfs is not available.
    """
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs failed: {os.strerror(err)}", str(path))
    finally:
        os.close(fd)


def check_target(out: Path, force: bool | None = None) -> None:
    """`out` may be created: its parent exists, and it does not (or `force` is True). With
    `force` None the command offers no --force. UsageError names the path otherwise."""
    from archa.errors import UsageError

    if (out.exists() or out.is_symlink()) and not force:
        raise UsageError(f"{out}: exists already; archa does not overwrite it",
                         hint="choose another OUT" + (", or pass --force to replace it" if force is not None else ""))
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent}: no such directory", hint="create it first, or choose another OUT")


def partial_sibling(out: Path) -> Path:
    """A hidden, unique name beside `out` for building it before a rename makes it appear
    (`.OUT.archa-partial-<pid>-<random>`); nothing is created."""
    import uuid

    return out.parent / f".{out.name}.archa-partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
