"""The drop folder: `archa ingest --watch-dir DIR` makes one pass over DIR (cron-friendly).

A transfer in DIR is any entry but `done/`, `failed/`, hidden names and `*.ready` markers:
a bag (folder or .zip/.tar/.tgz/.tar.zst), an NSESSS or E-ARK package (folder or ZIP), or
any other folder (bagged as it is). It is taken when complete: a `NAME.ready` marker is
there, or nothing in it has changed for `transfer.settle_seconds` (policy). A folder whose
marker says `images` (its first word: `echo images > NAME.ready`) becomes an image record,
as `archa transfer folder --images` makes one (archa/transfer/images.py).

Taking is an atomic rename into `DIR/.archa-work/<id>/NAME` (the name kept: an NSESSS
ZIP must be named like its folder), under an flock on `DIR/.archa-work/<id>.lock`: two runs never take the same transfer (the second rename fails), and a
run that dies leaves its lock free, so the next run finishes the item: if the catalog
already holds an accepted transfer from it, it only files it under done/; otherwise it
processes it again from the start (transfers and ingest write nothing visible until they
complete). Each item ends in `DIR/done/NAME` or `DIR/failed/NAME` with
`NAME.report.json` beside it.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archa.errors import (
    ArchaError,
    Finding,
    Interrupted,
    RepositoryError,
    SipRejected,
    UsageError,
    json_utf8,
    printable,
)
from archa.ingest.ingest import IngestOptions, ingest, record_rejection, source_text
from archa.repository.durable import fsync_dir, write_new
from archa.repository.lock import try_lock
from archa.repository.repo import Repository
from archa.transfer.direct import ingest_transfer
from archa.transfer.kinds import detect_kind, run_transfer

WORK = ".archa-work"
SQLITE_FULL, PG_DISK_FULL = 13, "53100"  # "database or disk is full"; SQLSTATE disk_full
DONE, FAILED = "done", "failed"


@dataclass
class WatchItem:
    name: str
    kind: str = ""
    status: str = ""  # "ingested" | "failed" | "waiting"
    aip_id: str = ""
    report: str = ""
    error: str = ""
    disk_full: bool = False  # "waiting" because a disk was full (the watcher backs off)
    claim: str = ""  # "waiting" in its claim folder, for the next run to finish (`recover`)
    version: str = ""  # the version ingested
    stored: bool = True  # "ingested" with every copy the placement wants (else `complete_copies_of` later)
    copy_error: str = ""  # why a copy is missing
    warning: str = ""  # "ingested", but a person should look (TRF013: it changed while it was taken in)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class WatchResult:
    items: list[WatchItem] = field(default_factory=list)

    @property
    def failed(self) -> list[WatchItem]:
        return [i for i in self.items if i.status == "failed"]

    @property
    def warned(self) -> list[WatchItem]:
        return [i for i in self.items if i.warning]

    def as_dict(self) -> dict[str, Any]:
        return {"items": [i.as_dict() for i in self.items],
                "ingested": sum(i.status == "ingested" for i in self.items),
                "failed": len(self.failed), "waiting": sum(i.status == "waiting" for i in self.items)}


def _fingerprint(path: Path) -> tuple[int, int, int]:
    """(files, bytes, newest modification in ns, of the item itself and of everything in it)
    of an item as it lies: what a producer still writing into it changes. OSError when the
    item itself cannot be looked at; entries inside that cannot be read count as nothing."""
    st = path.lstat()
    if not path.is_dir() or path.is_symlink():
        return (1, st.st_size, st.st_mtime_ns)
    files, size, newest = 0, 0, st.st_mtime_ns
    for d, dirs, names in os.walk(path):
        for n, is_file in [*((x, False) for x in dirs), *((x, True) for x in names)]:
            try:
                st = os.lstat(os.path.join(d, n))
            except OSError:
                continue
            newest = max(newest, st.st_mtime_ns)
            files, size = files + is_file, size + (st.st_size if is_file else 0)
    return (files, size, newest)


def _newest_mtime_ns(path: Path) -> int:
    """When the item or anything in it last changed (ns); OSError as `_fingerprint`."""
    return _fingerprint(path)[2]


def _marker_mtime_ns(drop: Path, name: str) -> int | None:
    """The modification time (ns) of the item's `NAME.ready` marker; None when there is none
    (or the name with `.ready` is too long to exist). Nanoseconds, as `_newest_mtime_ns`: a
    marker written in the same clock tick as the package is as new as it, which floats made
    of the two differently could deny."""
    try:
        st = os.stat(drop / f"{name}.ready")
    except OSError:
        return None
    return st.st_mtime_ns


def _is_marker(p: Path) -> bool:
    """A `NAME.ready` file (a folder so named is a transfer like any other)."""
    try:
        return p.name.endswith(".ready") and not p.is_dir()
    except OSError:
        return False


def _claimed(drop: Path) -> set[str]:
    """The names of the items in the claims of the work folder (being taken in now, or kept)."""
    out: set[str] = set()
    try:
        for claim in (drop / WORK).iterdir():
            if claim.is_dir():
                out.update(e.name for e in claim.iterdir())
    except OSError:
        pass
    return out


def candidates(drop: Path, settle: float, now: float) -> tuple[list[Path], list[Path]]:
    """(complete transfers, ones still arriving) in the drop folder, by name. An item is
    complete when its `NAME.ready` marker is at least as new as everything in it (a marker
    written before the package, or left from an earlier one, does not vouch for what came
    after it), or when nothing in it has changed for `settle` seconds. An entry that goes
    away while it is looked at (taken by another run, removed by its producer) is skipped. A
    marker with no item beside it for `settle` seconds is removed, so that it cannot vouch
    for a package of that name copied in later."""
    ready, waiting = [], []
    entries = sorted(drop.iterdir())
    names = {p.name for p in entries} | _claimed(drop)
    for p in entries:
        if p.name in (DONE, FAILED) or p.name.startswith("."):
            continue
        if _is_marker(p):
            if p.name.removesuffix(".ready") not in names:
                try:
                    if now - p.lstat().st_mtime >= settle:
                        p.unlink()
                except OSError:
                    pass
            continue
        try:
            newest = _newest_mtime_ns(p)
        except FileNotFoundError:
            continue
        except OSError:  # cannot be looked at (permissions): not taken, and counted as arriving
            waiting.append(p)
            continue
        marked = _marker_mtime_ns(drop, p.name)
        if (marked is not None and marked >= newest) or now - newest / 1e9 >= settle:
            ready.append(p)
        else:
            waiting.append(p)
    return ready, waiting


NAME_MAX = 255  # bytes of one name on the file systems a drop folder lives on
SUFFIX_ROOM = len(".report.json") + len(".20261204T120000-abcdef")  # what filing may add to a name


def filed_name(name: str) -> str:
    """`name` as it is filed under done/ or failed/: itself when it leaves room for the
    suffixes filing may add, else shortened (at a character) with a digest of the whole name,
    so that two long names never share one; the report keeps the name in full."""
    raw = os.fsencode(name)
    if len(raw) + SUFFIX_ROOM <= NAME_MAX:
        return name
    import hashlib

    digest = hashlib.sha256(raw).hexdigest()[:12]
    keep = raw[:NAME_MAX - SUFFIX_ROOM - len(digest) - 2]
    return os.fsdecode(keep.decode("utf-8", "ignore").encode("utf-8") if _utf8(raw) else keep) + "~-" + digest


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _destination(dest_dir: Path, name: str) -> Path:
    """Where an item named `name` is filed under `dest_dir`: its own name (`filed_name`),
    suffixed with the time and a random part when that or its report is taken (a package
    sent again)."""
    name = filed_name(name)
    dest = dest_dir / name
    if dest.exists() or (dest_dir / f"{name}.report.json").exists():
        dest = dest_dir / f"{name}.{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    return dest


def _file_away(drop: Path, item: Path, name: str, outcome: str, report: dict[str, Any],
               chosen: Path | None = None) -> Path:
    """Move the item to done/ or failed/ under its own name (suffixed if taken), then write its
    report beside it; `chosen`: the destination decided before (`_destination`), when it is
    still free. The item first: a crash between the two leaves the item where the catalog
    and `archa status` say it is, without its report, not a report beside a claim that the
    next run would take in (or reject) again under another name. Not flushed here:
    `flush_filed` flushes both folders once for a batch. A crash before that may bring the
    item back into its claim, where the next run finds it ingested already (`recover`) and
    files it away again."""
    dest_dir = drop / outcome
    dest_dir.mkdir(exist_ok=True)
    free = chosen is not None and chosen.parent == dest_dir and not chosen.exists() \
        and not (dest_dir / f"{chosen.name}.report.json").exists()
    dest = chosen if free and chosen is not None else _destination(dest_dir, name)
    report_path = dest_dir / f"{dest.name}.report.json"
    os.rename(item, dest)
    tmp = dest_dir / f".report.json.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"  # short, whatever the name
    write_new(tmp, json_utf8(report, indent=2).encode("utf-8"))  # a name not UTF-8 too
    os.rename(tmp, report_path)
    return report_path


def flush_filed(drop: Path) -> None:
    """Make what was filed under done/ and failed/ durable (one flush of each folder)."""
    for outcome in (DONE, FAILED):
        if (drop / outcome).is_dir():
            fsync_dir(drop / outcome)


def _already_ingested(repo: Repository, sources: list[Path]) -> str:
    wanted = {source_text(p) for p in sources}  # as the catalog records them
    for t in repo.catalog.transfers():
        if t["status"] == "accepted" and t["source"] in wanted:
            return str(t["aip_id"])
    return ""


def _process(repo: Repository, drop: Path, claim: Path, recovered: bool = False,
             cancel: Callable[[], bool] | None = None) -> WatchItem:
    """Transfer and ingest the one entry of the claim directory `claim`, then file it away.
    `recovered`: a claim a dead run left behind (it may be ingested already). Status
    "waiting" when it cannot be taken in now: given back to the drop folder when `cancel()`
    says stop (before anything is stored); left in its claim (`WatchItem.claim`, finished by
    the next run as one a dead run left: it may have reached storage) when the repository
    is busy or unavailable, or a disk is full."""
    (work_item,) = list(claim.iterdir())
    name = work_item.name
    item = WatchItem(printable(name))  # shown; a name that is not UTF-8 with \xNN for its bytes
    bag_out = claim.with_suffix(".bag")
    for leftover in claim.parent.glob(f".{bag_out.name}.archa-partial-*"):  # of a run that died
        shutil.rmtree(leftover, ignore_errors=True)
    report: dict[str, Any] = {"transfer": name, "started": datetime.now(UTC).isoformat()}
    # where it will lie if rejected: the rejected transfer is recorded with this path, so that
    # `archa status` sends a person to the package itself, not to the claim it has left
    if_failed = _destination(drop / FAILED, name)
    try:
        done_before = _already_ingested(repo, [work_item, bag_out]) if recovered else ""
        if done_before:  # a run died after ingesting it: its other copies, and filing it away, were left
            item.kind, item.aip_id = "recovered", done_before
            short = [(done_before, str(v["version"])) for v in repo.catalog.versions(done_before) if not v["stored"]]
            left, why = complete_copies_of(repo, short)
            item.stored, item.copy_error = not left, "; ".join(why)
            item.version = short[-1][1] if short else ""
            report.update(status="ingested", aip_id=done_before, stored=item.stored,
                          note="ingested by an earlier run that stopped before filing it under done/")
        elif work_item.is_symlink():  # followed, it would take in whatever it points at (/etc, say)
            raise SipRejected(name, [Finding("TRF012", f"a symbolic link (to {printable(os.readlink(work_item))!r}) "
                                                       "dropped in place of a package: not followed", name)],
                              hint="drop the package itself (copy it, or move it in with one rename), not a link")
        else:
            claimed = _fingerprint(work_item)
            item.kind = detect_kind(work_item)
            if not item.kind:
                raise SipRejected(name, [Finding("TRF007", "neither a bag, an NSESSS or E-ARK package, a ZIP nor a "
                                                           "folder", name)],
                                  hint="drop bags, NSESSS or E-ARK packages, ZIPs or folders")
            images = item.kind == "folder" and _marked_images(drop, name)
            if item.kind == "bag":
                r = ingest(repo, work_item, IngestOptions(message="Ingest from the drop folder (bag)", cancel=cancel,
                                                          rejected_source=if_failed))
            else:  # bagged in the ingest's own work area: the payload is moved into the AIP, not copied again
                kind, item.kind = item.kind, "images" if images else item.kind

                def make_bag(out: Path) -> Any:
                    made = run_transfer(kind, work_item, out, [], repo.policy, progress=_stopper(cancel),
                                        images=images, shown=source_text(drop / name))
                    if _fingerprint(work_item) != claimed:  # read while its producer was still writing
                        raise Interrupted(f"{printable(name)}: it changed while it was read (its producer is still "
                                          "writing); nothing of it was stored",
                                          hint="it is given back and taken in again once it has settled")
                    return made

                r, t = ingest_transfer(repo, work_item, make_bag,
                                       IngestOptions(message=f"Ingest from the drop folder ({item.kind})",
                                                     cancel=cancel, rejected_source=if_failed))
                report["transfer_result"] = {**t.as_dict(), "out": ""}
            item.aip_id, item.version, item.stored = r.aip_id, r.version, r.stored
            item.copy_error = "; ".join(f"{f.get('location', '')}: {f.get('error', '')}" for f in r.copy_failures)
            report.update(status="ingested", aip_id=r.aip_id, stored=r.stored, copies=r.copies,
                          warnings=[w.as_dict() for w in r.warnings])
            now = _fingerprint(work_item)
            if now != claimed:  # a producer still writing when the item looked complete (settled, marked)
                changed = Finding("TRF013", f"it changed while it was taken in ({claimed[0]} files, {claimed[1]} bytes "
                                            f"when claimed; {now[0]} files, {now[1]} bytes after): the AIP holds it as it "
                                            "was read; its producer was still writing: compare it with what is filed "
                                            "under done/, and send it again if that is the complete one", name,
                                  severity="warning")
                item.warning = printable(str(changed))
                report["warnings"].append(changed.as_dict())
        item.status = "ingested"
    except Interrupted as e:  # asked to stop before anything was stored
        if not _give_back(drop, claim, work_item, bag_out):  # its name taken again there: kept, with its lock
            return _keep(item, claim, e.message, False)
        item.status, item.error = "waiting", printable(e.message)
        return item
    except RepositoryError as e:  # busy, or the catalog unreachable: not the transfer's fault
        return _keep(item, claim, e.message, disk_full(e))
    except ArchaError as e:
        if disk_full(e):
            return _keep(item, claim, e.message, True)
        if isinstance(e, SipRejected):
            if not e.transfer_id:  # ingest records its own; this one never got there
                e.transfer_id = record_rejection(repo, if_failed, e)
            # named where it will lie, as the catalog has it: the claim it names is gone once filed
            e = SipRejected(str(if_failed), e.findings, transfer_id=e.transfer_id, hint=e.hint)
        item.status, item.error = "failed", _error_text(e)
        report.update(status="failed", error=e.as_dict())
    except OSError as e:  # a full disk: given back; an unreadable transfer: filed with the error
        if disk_full(e):
            return _keep(item, claim, str(e), True)
        item.status, item.error = "failed", printable(str(e))
        report.update(status="failed", error={"error": type(e).__name__, "message": str(e)})
    except Exception as e:  # a full disk can surface as any library's error (sqlite3's, say)
        if disk_full(e):
            return _keep(item, claim, str(e), True)
        raise  # a bug: the item stays in its claim, its lock file kept, for the next run
    shutil.rmtree(bag_out, ignore_errors=True)
    report["finished"] = datetime.now(UTC).isoformat()
    item.report = printable(str(_file_away(drop, work_item, name, DONE if item.status == "ingested" else FAILED, report,
                                           if_failed)))
    claim.rmdir()
    _drop_marker(drop, name)
    return item


def complete_copies_of(repo: Repository, versions: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """Write the copies the placement wants of these (AIP, version) pairs, ingested before a
    location could take them (a full disk, a location away); the hot source is re-read and
    checked first. Returns the pairs still short of a copy, and why. Call under the
    repository lock."""
    from archa.repository.placement import SyncResult, complete_copies

    left, why = [], []
    for aip_id, version in versions:
        result = SyncResult()
        with repo.aip_lock(aip_id):
            complete_copies(repo, aip_id, version, result)
        if not any(v["version"] == version and v["stored"] for v in repo.catalog.versions(aip_id)):
            left.append((aip_id, version))
            why += [f"{f.get('location', '')}: {f.get('error', '')}" for f in result.failed]
    return left, why


def _stopper(cancel: Callable[[], bool] | None) -> Callable[[str, int, int], None] | None:
    """A transfer's progress callback that raises Interrupted once `cancel()` says stop: a
    long transfer (a large folder or NDK package being read and bagged) is given back at its
    next file instead of holding a stopping watcher up."""
    if cancel is None:
        return None

    def progress(_stage: str, _done: int, _total: int) -> None:
        if cancel():
            raise Interrupted("stopped while the transfer was read, as asked; nothing of it was stored",
                              hint="it is taken in again from the start the next time")

    return progress


def _keep(item: WatchItem, claim: Path, error: str, full: bool) -> WatchItem:
    item.status, item.error, item.disk_full, item.claim = "waiting", printable(error), full, str(claim)
    return item


def _give_back(drop: Path, claim: Path, work_item: Path, bag_out: Path) -> bool:
    """Put a claimed item back into the drop folder, as it came, for a later pass; False when
    the drop folder has an item of that name again (a package sent anew meanwhile): then it
    stays in its claim, for the next run to finish (`recover`)."""
    shutil.rmtree(bag_out, ignore_errors=True)
    if os.path.lexists(drop / work_item.name):
        return False
    os.rename(work_item, drop / work_item.name)
    claim.rmdir()
    return True


def disk_full(e: BaseException) -> bool:
    """Whether `e`, or an error it was raised from, says a disk (or a quota) is full."""
    seen: BaseException | None = e
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(seen, "sqlite_errorcode", None) == SQLITE_FULL or getattr(seen, "sqlstate", None) == PG_DISK_FULL:
            return True  # the catalog's own word for it (SQLite, PostgreSQL)
        seen = seen.__cause__ or seen.__context__
    return False


def _error_text(e: ArchaError) -> str:
    """What a failed item's line says: the error, and for a rejection its first problems (each
    naming its file, a name that is not UTF-8 with \\xNN for its bytes; all are in the report)."""
    text = e.message
    if isinstance(e, SipRejected):
        errors = [f for f in e.findings if f.is_error]
        text += "".join(f"; {f}" for f in errors[:3]) + (f"; and {len(errors) - 3} more" if len(errors) > 3 else "")
    return printable(text)


def check_drop(drop: Path) -> None:
    """UsageError when `done`, `failed` or `.archa-work` is in the drop folder as something
    other than a folder (a file so named: a transfer would be stored, then not filed)."""
    for name in (DONE, FAILED, WORK):
        p = drop / name
        if os.path.lexists(p) and (p.is_symlink() or not p.is_dir()):
            raise UsageError(f"{printable(str(p))}: archa files what it takes in under {DONE}/ and {FAILED}/ and "
                             f"claims it in {WORK}/ of the drop folder, and this is not a folder",
                             hint=f"move it out of the drop folder (a transfer must not be named {name!r}), "
                                  "then run again")


def watch_once(repo: Repository, drop: Path, now: float | None = None) -> WatchResult:
    """One pass over the drop folder `drop` (see the module docstring); UsageError as
    `check_drop` says."""
    check_drop(drop)
    result = WatchResult()
    work = drop / WORK
    work.mkdir(exist_ok=True)
    result.items += recover(repo, drop)
    ready, waiting = candidates(drop, repo.policy.transfer.settle_seconds, time.time() if now is None else now)
    result.items += [WatchItem(printable(p.name), status="waiting") for p in waiting]
    for path in ready:
        item = take(repo, drop, path)
        if item is not None:
            result.items.append(item)
    flush_filed(drop)
    return result


def recover(repo: Repository, drop: Path, cancel: Callable[[], bool] | None = None) -> list[WatchItem]:
    """Finish the items dead runs left claimed in the work folder (their lock is free now)."""
    items = []
    work = drop / WORK
    work.mkdir(exist_ok=True)
    for lock in sorted(work.glob("*.lock")):
        claim = lock.with_suffix("")
        with try_lock(lock) as mine:
            item = None
            if mine and claim.is_dir() and any(claim.iterdir()):
                item = _process(repo, drop, claim, recovered=True, cancel=cancel)
                items.append(item)
            elif mine and claim.is_dir():
                claim.rmdir()
            if mine and not (item and item.claim):
                lock.unlink(missing_ok=True)
    return items


def take(repo: Repository, drop: Path, path: Path, cancel: Callable[[], bool] | None = None) -> WatchItem | None:
    """Claim the transfer `path` of the drop folder and process it; None when another run
    took it first (or it is gone)."""
    work = drop / WORK
    claim = work / uuid.uuid4().hex[:12]
    lock = claim.with_suffix(".lock")
    with try_lock(lock) as mine:
        if not mine:
            return None
        claim.mkdir()
        try:
            os.rename(path, claim / path.name)  # atomic: another run that renamed it first wins
        except FileNotFoundError:
            claim.rmdir()
            lock.unlink(missing_ok=True)
            return None
        item = _process(repo, drop, claim, cancel=cancel)
        if not item.claim:  # a claim kept keeps its lock file: `recover` finds it by it
            lock.unlink(missing_ok=True)
        return item


def _marked_images(drop: Path, name: str) -> bool:
    """Whether the item's `.ready` marker asks for an image record (its first word `images`)."""
    try:
        with open(drop / f"{name}.ready", "rb") as f:
            words = f.read(256).decode("utf-8", errors="replace").split()
    except OSError:
        return False
    return words[:1] == ["images"]


def _drop_marker(drop: Path, name: str) -> None:
    try:
        (drop / f"{name}.ready").unlink(missing_ok=True)
    except OSError as e:  # a name too long to have a marker
        if e.errno != errno.ENAMETOOLONG:
            raise
