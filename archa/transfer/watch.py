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

import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archa.errors import ArchaError, Finding, RepositoryError, SipRejected, json_utf8, printable
from archa.ingest.ingest import IngestOptions, ingest, record_rejection, source_text
from archa.repository.durable import fsync_dir, write_durable
from archa.repository.lock import try_lock
from archa.repository.repo import Repository
from archa.transfer.kinds import detect_kind, run_transfer

WORK = ".archa-work"
DONE, FAILED = "done", "failed"


@dataclass
class WatchItem:
    name: str
    kind: str = ""
    status: str = ""  # "ingested" | "failed" | "waiting"
    aip_id: str = ""
    report: str = ""
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class WatchResult:
    items: list[WatchItem] = field(default_factory=list)

    @property
    def failed(self) -> list[WatchItem]:
        return [i for i in self.items if i.status == "failed"]

    def as_dict(self) -> dict[str, Any]:
        return {"items": [i.as_dict() for i in self.items],
                "ingested": sum(i.status == "ingested" for i in self.items),
                "failed": len(self.failed), "waiting": sum(i.status == "waiting" for i in self.items)}


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for d, dirs, files in os.walk(path):
            for n in dirs + files:
                try:
                    newest = max(newest, os.lstat(os.path.join(d, n)).st_mtime)
                except OSError:
                    continue
    return newest


def candidates(drop: Path, settle: float, now: float) -> tuple[list[Path], list[Path]]:
    """(complete transfers, ones still arriving) in the drop folder, by name."""
    ready, waiting = [], []
    for p in sorted(drop.iterdir()):
        if p.name in (DONE, FAILED) or p.name.startswith(".") or p.name.endswith(".ready"):
            continue
        if (drop / f"{p.name}.ready").exists() or now - _newest_mtime(p) >= settle:
            ready.append(p)
        else:
            waiting.append(p)
    return ready, waiting


def _file_away(drop: Path, item: Path, name: str, outcome: str, report: dict[str, Any]) -> Path:
    """Move the item to done/ or failed/ under its own name (suffixed if taken) with its report."""
    dest_dir = drop / outcome
    dest_dir.mkdir(exist_ok=True)
    dest = dest_dir / name
    if dest.exists() or (dest_dir / f"{name}.report.json").exists():
        dest = dest_dir / f"{name}.{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    report_path = dest_dir / f"{dest.name}.report.json"
    write_durable(report_path, json_utf8(report, indent=2).encode("utf-8"))  # a name not UTF-8 too
    os.rename(item, dest)
    fsync_dir(dest_dir)
    return report_path


def _already_ingested(repo: Repository, sources: list[Path]) -> str:
    wanted = {source_text(p) for p in sources}  # as the catalog records them
    for t in repo.catalog.transfers():
        if t["status"] == "accepted" and t["source"] in wanted:
            return str(t["aip_id"])
    return ""


def _process(repo: Repository, drop: Path, claim: Path) -> WatchItem:
    """Transfer and ingest the one entry of the claim directory `claim`, then file it away."""
    (work_item,) = list(claim.iterdir())
    name = work_item.name
    item = WatchItem(printable(name))  # shown; a name that is not UTF-8 with \xNN for its bytes
    bag_out = claim.with_suffix(".bag")
    for leftover in claim.parent.glob(f".{bag_out.name}.archa-partial-*"):  # of a run that died
        shutil.rmtree(leftover, ignore_errors=True)
    report: dict[str, Any] = {"transfer": name, "started": datetime.now(UTC).isoformat()}
    try:
        done_before = _already_ingested(repo, [work_item, bag_out])
        if done_before:  # a run died after ingesting it: only filing it away was left
            item.kind, item.aip_id = "recovered", done_before
            report.update(status="ingested", aip_id=done_before, note="ingested by an earlier run that stopped "
                                                                      "before filing it under done/")
        else:
            item.kind = detect_kind(work_item)
            if not item.kind:
                raise SipRejected(name, [Finding("TRF007", "neither a bag, an NSESSS or E-ARK package, a ZIP nor a "
                                                           "folder", name)],
                                  hint="drop bags, NSESSS or E-ARK packages, ZIPs or folders")
            sip = work_item
            images = item.kind == "folder" and _marked_images(drop, name)
            if item.kind != "bag":
                shutil.rmtree(bag_out, ignore_errors=True)
                kind, item.kind = item.kind, "images" if images else item.kind
                t = run_transfer(kind, work_item, bag_out, [], repo.policy, images=images)
                report["transfer_result"] = t.as_dict()
                sip = bag_out
            r = ingest(repo, sip, IngestOptions(message=f"Ingest from the drop folder ({item.kind})"))
            item.aip_id = r.aip_id
            report.update(status="ingested", aip_id=r.aip_id, stored=r.stored, copies=r.copies,
                          warnings=[w.as_dict() for w in r.warnings])
        item.status = "ingested"
    except RepositoryError as e:  # e.g. the repository is busy: not the transfer's fault, try again later
        shutil.rmtree(bag_out, ignore_errors=True)
        if not (drop / name).exists():
            os.rename(work_item, drop / name)
            claim.rmdir()
        item.status, item.error = "waiting", printable(e.message)
        return item
    except ArchaError as e:
        if isinstance(e, SipRejected) and not e.transfer_id:  # ingest records its own; this one never got there
            e.transfer_id = record_rejection(repo, drop / FAILED / name, e)
        item.status, item.error = "failed", _error_text(e)
        report.update(status="failed", error=e.as_dict())
    except OSError as e:  # unreadable transfer, disk trouble: filed with the error, not retried forever
        item.status, item.error = "failed", printable(str(e))
        report.update(status="failed", error={"error": type(e).__name__, "message": str(e)})
    shutil.rmtree(bag_out, ignore_errors=True)
    report["finished"] = datetime.now(UTC).isoformat()
    item.report = printable(str(_file_away(drop, work_item, name, DONE if item.status == "ingested" else FAILED, report)))
    claim.rmdir()
    _drop_marker(drop, name)
    return item


def _error_text(e: ArchaError) -> str:
    """What a failed item's line says: the error, and for a rejection its first problems (each
    naming its file, a name that is not UTF-8 with \\xNN for its bytes; all are in the report)."""
    text = e.message
    if isinstance(e, SipRejected):
        errors = [f for f in e.findings if f.is_error]
        text += "".join(f"; {f}" for f in errors[:3]) + (f"; and {len(errors) - 3} more" if len(errors) > 3 else "")
    return printable(text)


def watch_once(repo: Repository, drop: Path, now: float | None = None) -> WatchResult:
    """One pass over the drop folder `drop` (see the module docstring)."""
    result = WatchResult()
    work = drop / WORK
    work.mkdir(exist_ok=True)
    # items a dead run left behind: their lock is free now
    for lock in sorted(work.glob("*.lock")):
        claim = lock.with_suffix("")
        with try_lock(lock) as mine:
            if mine and claim.is_dir() and any(claim.iterdir()):
                result.items.append(_process(repo, drop, claim))
            elif mine and claim.is_dir():
                claim.rmdir()
            if mine:
                lock.unlink(missing_ok=True)
    ready, waiting = candidates(drop, repo.policy.transfer.settle_seconds, time.time() if now is None else now)
    result.items += [WatchItem(printable(p.name), status="waiting") for p in waiting]
    for path in ready:
        claim = work / uuid.uuid4().hex[:12]
        lock = claim.with_suffix(".lock")
        with try_lock(lock) as mine:
            if not mine:
                continue
            claim.mkdir()
            try:
                os.rename(path, claim / path.name)  # atomic: another run that renamed it first wins
            except FileNotFoundError:
                claim.rmdir()
                lock.unlink(missing_ok=True)
                continue
            result.items.append(_process(repo, drop, claim))
            lock.unlink(missing_ok=True)
    return result


def _marked_images(drop: Path, name: str) -> bool:
    """Whether the item's `.ready` marker asks for an image record (its first word `images`)."""
    try:
        with open(drop / f"{name}.ready", "rb") as f:
            words = f.read(256).decode("utf-8", errors="replace").split()
    except OSError:
        return False
    return words[:1] == ["images"]


def _drop_marker(drop: Path, name: str) -> None:
    (drop / f"{name}.ready").unlink(missing_ok=True)
