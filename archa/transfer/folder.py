"""`archa transfer folder`: a BagIt bag made from a folder, without changing the folder.

The source may be read-only or a network share: it is only read, each file once (hashed
while copied), never moved. Symbolic links are not followed (links pointing outside SRC
are reported as such), special files are not read, system clutter (policy
`transfer.exclude`) is left out; all of it is listed in the bag's `transfer-report.txt`.
A file that cannot be read, or that changes size while it is copied (still being written
by someone), stops the transfer with its name: a bag silently missing a record, or holding
half of one, would be worse than no bag. Original modification times are kept on the copies
and recorded in `source-files.tsv` (path, size, mtime UTC) beside the manifests.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from archa.errors import Finding, SipRejected, UsageError, name_problem, printable, utf8_text
from archa.ingest.bag import ORIGINAL_NAMES
from archa.policies.model import TransferPolicy
from archa.repository.catalog.draft import DraftTables, ScannedFile
from archa.repository.catalog.scratch import BATCH
from archa.repository.copying import SMALL, CopyJob, ProgressFn
from archa.repository.durable import check_target
from archa.transfer.bagwriter import BagDraft, partial_dir

FOLDER_HINT = ("make every file readable (or move the unreadable ones out) and run the transfer again; "
               "nothing was written and the folder was not changed")
NAME_HINT = ("rename the files named above at the source (\\xNN stands for a byte of a name that is neither UTF-8 "
             "nor Windows-1250) and run the transfer again; nothing was written and the folder was not changed")


@dataclass
class TransferResult:
    """A bag made by a transfer; `findings` lists what was left out or worth a look."""

    kind: str
    source: str
    out: str
    files: int = 0
    bytes: int = 0
    findings: list[Finding] = field(default_factory=list)
    info: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "out": self.out, "files": self.files,
                "bytes": self.bytes, "findings": [f.as_dict() for f in self.findings],
                "bag_info": [list(kv) for kv in self.info]}


def parse_meta(items: Sequence[str], meta_file: Path | None = None) -> list[tuple[str, str]]:
    """bag-info pairs from `KEY=VALUE` items and a file of `Key: value` lines (file first)."""
    pairs: list[tuple[str, str]] = []
    if meta_file is not None:
        try:
            lines = meta_file.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"{meta_file}: cannot be read as UTF-8 text: {e}") from e
        for n, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition(":")
            if not sep or not key.strip():
                raise UsageError(f"{meta_file}:{n}: not a 'Label: value' line: {line!r}")
            pairs.append((key.strip(), value.strip()))
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--meta {item!r}: use KEY=VALUE, e.g. --meta Source-Organization='City Archive'")
        pairs.append((key.strip(), value.strip()))
    for key, _v in pairs:
        if any(c in key for c in ":\r\n") or key != key.strip():
            raise UsageError(f"bag-info label {key!r} may not contain ':' or line breaks")
    return pairs


def with_field(pairs: Sequence[tuple[str, str]], label: str, value: str) -> list[tuple[str, str]]:
    """`pairs` with the bag-info field `label` set to `value` alone (an option such as --title
    or --originator wins over a --meta of the same label). UsageError for an empty value or
    one with a line break."""
    if not value.strip() or any(c in value for c in "\r\n"):
        raise UsageError(f"{label} {value!r}: give one line of text")
    return [(k, v) for k, v in pairs if k.lower() != label.lower()] + [(label, value.strip())]


class Shaper(Protocol):
    """What makes a folder's bag more than a bag of its files (archa/transfer/images.py: an
    image record). `plan` runs after the scan, before anything is copied: `files` are the bag
    paths, `source(rel)` the source file of one; it returns warnings or raises SipRejected.
    `finish` runs once the payload is in `draft` (and checked): it may read the copies, add
    `draft.tag_files`, raise SipRejected, and returns the bag-info to write from `meta` (the
    caller's fields, which should win over anything it adds)."""

    kind: str

    def plan(self, files: Sequence[str], source: Callable[[str], Path]) -> list[Finding]: ...

    def finish(self, draft: BagDraft, meta: Sequence[tuple[str, str]],
               progress: ProgressFn | None = None) -> list[tuple[str, str]]: ...


def _excluded(name: str, patterns: Sequence[str]) -> bool:
    low = name.lower()
    return any(fnmatch.fnmatchcase(low, p.lower()) for p in patterns)


@dataclass
class _Scan:
    """What `scan` found: the files to copy are the draft's scanned files (catalog/draft.py:
    bag path, source path as bytes, size, mtime in ns, the original name %-encoded when it
    was not UTF-8)."""

    findings: list[Finding] = field(default_factory=list)
    files: int = 0


def readable_name(name: str) -> str | None:
    """A file name as archa bags it: as it is when it is UTF-8; read as Windows-1250 (the
    code page of Czech Windows file shares) when its bytes are not UTF-8; None when even
    that gives no usable name."""
    if not any(0xDC80 <= ord(c) <= 0xDCFF for c in name):
        return name
    fixed = os.fsencode(name).decode("cp1250", errors="replace")
    return None if "\ufffd" in fixed else fixed


def scan(src: Path, policy: TransferPolicy, db: DraftTables) -> _Scan:
    """Every regular file to copy, into the scanned files of `db` (nothing per file kept in
    memory), and findings for what is not copied (no link followed)."""
    out = _Scan()
    db.start_scan()
    rows: list[ScannedFile] = []
    for row in _walk(src, policy, out.findings):
        rows.append(row)
        if len(rows) >= BATCH:
            _add_scanned(db, rows, out)
    _add_scanned(db, rows, out)
    return out


def _add_scanned(db: DraftTables, rows: list[ScannedFile], out: _Scan) -> None:
    """Record scanned files; two names that read the same (one of them not UTF-8) are a finding."""
    added = db.add_scanned(rows)
    out.files += added
    if added < len(rows):
        for rel, path, *_rest in rows:
            if db.scanned_source(rel) != path:
                out.findings.append(Finding("TRF011", "two files have this name once a name that is not UTF-8 is "
                                            "read as Windows-1250: rename one of them at the source", rel,
                                            found=printable(os.fsdecode(path))))
    rows.clear()


def _walk(src: Path, policy: TransferPolicy, findings: list[Finding]) -> Iterator[tuple[str, bytes, int, int,
                                                                                      str | None]]:
    """(bag path, source path, size, mtime ns, original name or None) of every file to copy."""
    real_src = os.path.realpath(src)
    stack = [(src, "")]
    while stack:
        d, rel_d = stack.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as err:
            findings.append(Finding("TRF001", f"folder cannot be read: {err.strerror}", rel_d or "."))
            continue
        for e in entries:
            shown = readable_name(e.name)
            if shown is None or name_problem(shown):
                findings.append(Finding("TRF009", f"{name_problem(e.name)}; rename it at the source",
                                        f"{rel_d}/{e.name}" if rel_d else e.name))
                continue
            rel = f"{rel_d}/{shown}" if rel_d else shown
            if shown != e.name:
                findings.append(Finding("TRF010", "the name is not valid UTF-8: transferred as read in "
                                        "Windows-1250, the original bytes recorded (original-names.tsv, PREMIS "
                                        "originalName)", rel, found=printable(e.name), severity="warning"))
            try:
                st = e.stat(follow_symlinks=False)
            except OSError as err:
                findings.append(Finding("TRF001", f"cannot be read: {err.strerror}", rel))
                continue
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(e.path)
                inside = os.path.commonpath([real_src, target]) == real_src
                findings.append(Finding(
                    "TRF003" if inside else "TRF002",
                    f"symbolic link to {os.readlink(e.path)!r} not followed"
                    + ("" if inside else ": it points outside the source folder"), rel, severity="warning"))
            elif stat.S_ISDIR(st.st_mode):
                stack.append((Path(e.path), rel))
            elif not stat.S_ISREG(st.st_mode):
                findings.append(Finding("TRF004", "special file (device, FIFO or socket) not read", rel,
                                        severity="warning"))
            elif _excluded(e.name, policy.exclude):
                findings.append(Finding("TRF005", "system clutter left out (policy transfer.exclude)", rel,
                                        severity="warning"))
            elif not os.access(e.path, os.R_OK):
                findings.append(Finding("TRF001", "file cannot be read (permission denied)", rel))
            else:
                original = os.path.relpath(e.path, src)
                yield (rel, os.fsencode(e.path), st.st_size, st.st_mtime_ns,
                       quote(os.fsencode(original), safe="/") if original != rel else None)


def report_text(title: str, findings: Sequence[Finding]) -> str:
    lines = [f"{title}\n"]
    if not findings:
        lines.append("Nothing was left out.\n")
    for f in findings:
        lines.append(f"{f.code}\t{f.path}\t{f.message}\n")
    return "".join(lines)


def transfer_folder(src: Path, out: Path, meta: Sequence[tuple[str, str]], policy: TransferPolicy,
                    jobs: int = 4, progress: ProgressFn | None = None,
                    shaper: Shaper | None = None, *, shown: str | None = None) -> TransferResult:
    """Bag the folder `src` as `out` (see the module docstring); with `shaper`, shaped by it
    (`Shaper`: an image record). `shown`: how the source is named in the bag's tag files and
    the result (default: its path); the drop folder gives the path a claimed folder was
    dropped at.

    Raises UsageError (SRC not a folder, OUT exists) or SipRejected (files that cannot be
    read, SRC empty, what `shaper` refuses); nothing is written then."""
    src = src.absolute()
    out = out.absolute()
    if not src.is_dir():
        raise UsageError(f"{src}: " + ("not a folder" if src.exists() else "no such folder"),
                         hint="archa transfer folder takes a folder; a bag (a folder holding bagit.txt, or a .zip "
                              "of one) goes in with `archa ingest`")
    check_target(out)
    if out == src or src in out.parents:
        raise UsageError(f"{out}: inside the source folder {src}; the source must stay as it is",
                         hint="write the bag somewhere else")
    draft = BagDraft(partial_dir(out))
    try:
        db = draft.tables
        found = scan(src, policy, db)
        errors = [f for f in found.findings if f.is_error]
        if errors:
            raise SipRejected(str(src), found.findings, hint=NAME_HINT if {f.code for f in errors} <= {"TRF009", "TRF011"}
                              else FOLDER_HINT)
        if not found.files:
            raise SipRejected(str(src), [Finding("TRF006", "no file to transfer in the folder", ".")], hint=FOLDER_HINT)
        if shaper is not None:
            found.findings += shaper.plan([rel for rel, _size, _ns in db.scanned_times()],
                                          lambda rel: Path(os.fsdecode(db.scanned_source(rel))))

        def scanned(files: Iterator[tuple[str, bytes, int]]) -> Iterator[CopyJob]:
            for rel, path, size in files:
                yield CopyJob(rel, Path(os.fsdecode(path)), Path(), size, ())

        total = db.scanned_bytes()
        bad = draft.stream_in(scanned(db.large_scanned(SMALL)), scanned(db.small_scanned(SMALL)), jobs, progress,
                              total)
        failed = sorted((Finding("TRF001", o.error, j.key) if o.error else
                         Finding("TRF008", "file changed size while it was copied: it is still being written",
                                 j.key, str(j.size), str(o.size)) for j, o in bad), key=lambda f: (f.code, f.path))
        if failed:
            raise SipRejected(str(src), failed, hint=FOLDER_HINT)

        def listing() -> Iterator[str]:  # the original modification times, kept on the copies too
            yield "path\tsize\tmtime\n"
            for rel, size, ns in db.scanned_times():
                os.utime(draft.data / rel, ns=(ns, ns))
                when = datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                yield f"{rel}\t{size}\t{when}\n"

        draft.write_tag("source-files.tsv", listing())
        if db.has_original_names():
            draft.write_tag(ORIGINAL_NAMES, chain(["path\toriginal (bytes, percent-encoded)\n"], (
                f"{rel}\t{orig}\n" for rel, orig in db.original_names())))
        shown = shown or utf8_text(str(src))  # a folder whose name is not UTF-8: \xNN for its bytes in the tag files
        draft.tag_files["transfer-report.txt"] = report_text(f"archa transfer folder {shown}", found.findings)
        info = list(meta) if shaper is None else shaper.finish(draft, meta, progress)
        if shaper is None and not any(k.lower() == "external-description" for k, _v in info):
            info.append(("External-Description", f"folder {shown}"))  # an image record's summary is its own
        draft.info = info
        draft.finish(out)
    except BaseException:
        draft.abort()
        raise
    return TransferResult("folder" if shaper is None else shaper.kind, shown, str(out), draft.payload_files,
                          draft.payload_bytes, found.findings, draft.info)
