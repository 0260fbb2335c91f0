"""Safe extraction of serialized bags (.zip, .tar, .tar.gz/.tgz, .tar.zst) into staging, and
the name checks it shares with bag reading, transfers and AIP updates (`unsafe_name`).

Every member is checked before anything is written: no absolute paths, no `..`, no drive
or UNC forms, no links, no device files or FIFOs. The number of files and the bytes
actually decompressed are limited (against archive bombs). All problems are collected and
reported at once; on any problem the partial extraction is removed by the caller.
"""

from __future__ import annotations

import re
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from archa.errors import Finding

CHUNK = 1 << 20
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.zstd")
_DRIVE = re.compile(r"^[A-Za-z]:")


def archive_kind(path: Path) -> str | None:
    """'zip', 'tar', 'tgz' or 'tzst' from the file name; None when not a serialized bag."""
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar.gz", ".tgz")):
        return "tgz"
    if name.endswith((".tar.zst", ".tar.zstd")):
        return "tzst"
    if name.endswith(".tar"):
        return "tar"
    return None


def unsafe_name(name: str) -> str | None:
    """Why a member or manifest path is unsafe, or None. Paths use '/' separators."""
    if not name:
        return "empty path"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute path"
    if "\\" in name:
        return "backslash in path"
    if name.startswith("~"):
        return "home-directory expansion"
    parts = PurePosixPath(name).parts
    if any(p == ".." for p in name.split("/")):
        return "'..' segment"
    if "\x00" in name:
        return "NUL byte in path"
    from archa.errors import name_problem

    problem = name_problem(name)
    if problem:
        return problem
    if not parts:
        return "empty path"
    return None


RATIO_FLOOR = 10 << 20  # below this many unpacked bytes no ratio is too high


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_bytes: int
    max_ratio: int = 200  # unpacked bytes per byte of the archive (an archive bomb beyond it)


class _Budget:
    def __init__(self, limits: Limits, archive_bytes: int = 0) -> None:
        self.limits = limits
        self.files = 0
        self.bytes = 0
        # what the archive may unpack to by the ratio limit
        self.ratio_cap = max(RATIO_FLOOR, archive_bytes * limits.max_ratio)

    def add_file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise _LimitExceeded(f"more than {self.limits.max_files} files")

    def add_bytes(self, n: int) -> None:
        self.bytes += n
        if self.bytes > self.limits.max_bytes:
            raise _LimitExceeded(f"more than {self.limits.max_bytes} bytes when unpacked")
        if self.bytes > self.ratio_cap:
            raise _LimitExceeded(f"it unpacks to more than {self.limits.max_ratio} times its own size "
                                 "(policy ingest.max_ratio): an archive bomb?", "SIP007")


class _LimitExceeded(Exception):
    def __init__(self, message: str, code: str = "SIP005") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class _Member:
    name: str
    kind: str  # "file", "dir", "link", "special"
    size: int


def _copy(src: IO[bytes], dest: Path, budget: _Budget) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "xb") as out:
        while chunk := src.read(CHUNK):
            budget.add_bytes(len(chunk))
            out.write(chunk)


def _check(members: list[_Member], budget: _Budget, sip: str) -> list[Finding]:
    findings = []
    for m in members:
        name = m.name.rstrip("/")
        why = unsafe_name(name)
        if why:
            findings.append(Finding("SIP002", f"unsafe member name ({why})", f"{sip}!{m.name}"))
        elif m.kind == "link":
            findings.append(Finding("SIP003", "links are not allowed in a SIP", f"{sip}!{m.name}"))
        elif m.kind == "special":
            findings.append(Finding("SIP004", "device files, FIFOs and sockets are not allowed "
                                              "in a SIP", f"{sip}!{m.name}"))
    n_files = sum(1 for m in members if m.kind == "file")
    declared = sum(m.size for m in members if m.kind == "file")
    if n_files > budget.limits.max_files:
        findings.append(Finding("SIP005", f"the archive holds {n_files} files, more than the policy "
                                          f"limit ingest.max_files", sip,
                                expected=f"<= {budget.limits.max_files}", found=str(n_files)))
    if declared > budget.limits.max_bytes:
        findings.append(Finding("SIP005", "the archive unpacks to more than the policy limit "
                                          "ingest.max_bytes", sip,
                                expected=f"<= {budget.limits.max_bytes}", found=str(declared)))
    elif declared > budget.ratio_cap:
        findings.append(Finding("SIP007", f"the archive says it unpacks to more than {budget.limits.max_ratio} "
                                          "times its own size (policy ingest.max_ratio): an archive bomb?", sip,
                                expected=f"<= {budget.ratio_cap}", found=str(declared)))
    return findings


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.is_dir():
        return "dir"
    if stat.S_ISLNK(mode):
        return "link"
    kind = stat.S_IFMT(mode)  # 0 when the archiver recorded no file type
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        return "special"
    return "file"


def _tar_kind(ti: tarfile.TarInfo) -> str:
    if ti.isreg():
        return "file"
    if ti.isdir():
        return "dir"
    if ti.issym() or ti.islnk():
        return "link"
    return "special"


@contextmanager
def _open_tar(path: Path, kind: str) -> Iterator[tarfile.TarFile]:
    if kind == "tzst":
        import zstandard

        with open(path, "rb") as raw:
            reader = zstandard.ZstdDecompressor().stream_reader(raw)
            with tarfile.open(fileobj=reader, mode="r|") as tf:
                yield tf
    else:
        with tarfile.open(path, mode="r:gz" if kind == "tgz" else "r:") as tf:
            yield tf


def extract(path: Path, dest: Path, limits: Limits) -> list[Finding]:
    """Extract the serialized bag `path` into the empty directory `dest`.

    Returns findings (empty on success). Nothing outside `dest` is ever written; the
    source archive is only read.
    """
    kind = archive_kind(path)
    sip = path.name
    budget = _Budget(limits, path.stat().st_size)
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
                members = [_Member(i.filename, _zip_kind(i), i.file_size) for i in infos]
                findings = _check(members, budget, sip)
                if findings:
                    return findings
                for info, m in zip(infos, members):
                    target = dest / m.name.rstrip("/")
                    if m.kind == "dir":
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    budget.add_file()
                    with zf.open(info) as src:
                        _copy(src, target, budget)
        elif kind in ("tar", "tgz"):
            with _open_tar(path, kind) as tf:
                tinfos = tf.getmembers()
                members = [_Member(t.name, _tar_kind(t), t.size) for t in tinfos]
                findings = _check(members, budget, sip)
                if findings:
                    return findings
                for ti in tinfos:
                    _extract_tar_member(tf, ti, dest, budget)
        elif kind == "tzst":
            # A zstd stream cannot seek: check each member as it comes, stop at the first bad.
            with _open_tar(path, kind) as tf:
                for ti in tf:
                    findings = _check([_Member(ti.name, _tar_kind(ti), ti.size)], budget, sip)
                    if findings:
                        return findings
                    _extract_tar_member(tf, ti, dest, budget)
        else:
            return [Finding("SIP001", "not a bag directory or a serialized bag "
                                      f"({', '.join(ARCHIVE_SUFFIXES)})", str(path))]
    except _LimitExceeded as e:
        return [Finding(e.code, f"the archive exceeds the policy limit: {e}", sip)]
    except UnicodeDecodeError as e:  # zipfile: a member name flagged UTF-8 that is not
        name = bytes(e.object).decode("utf-8", "surrogateescape")
        return [Finding("SIP002", "unsafe member name (the ZIP says its names are UTF-8, but this one is not; "
                                  "zipfile stops at the first such name): rename it and pack the bag again",
                        f"{sip}!{name}")]
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as e:
        return [Finding("SIP006", f"the archive is corrupt or unreadable: {e}", sip)]
    return []


def _extract_tar_member(tf: tarfile.TarFile, ti: tarfile.TarInfo, dest: Path, budget: _Budget) -> None:
    target = dest / ti.name.rstrip("/")
    if ti.isdir():
        target.mkdir(parents=True, exist_ok=True)
        return
    budget.add_file()
    src = tf.extractfile(ti)
    assert src is not None
    with src:
        _copy(src, target, budget)


def find_bag_root(extracted: Path, sip: str) -> tuple[Path | None, list[Finding]]:
    """The bag inside an extracted archive: its top level, or its single top-level folder."""
    if (extracted / "bagit.txt").is_file():
        return extracted, []
    tops = [p for p in extracted.iterdir()]
    if len(tops) == 1 and tops[0].is_dir() and (tops[0] / "bagit.txt").is_file():
        return tops[0], []
    names = ", ".join(sorted(p.name for p in tops)[:5]) or "nothing"
    return None, [Finding("SIP007", "the archive must hold one bag: bagit.txt at its top, or one "
                                    f"top-level folder holding bagit.txt (found {names})", sip)]


__all__ = ["Limits", "archive_kind", "extract", "find_bag_root", "unsafe_name"]
