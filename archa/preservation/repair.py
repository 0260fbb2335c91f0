"""Repair: rewrite what is damaged or missing in a copy from another copy that verifies now.

Only copies the last audit marked damaged or missing are repaired. The source is found as
for `archa storage sync` (the hot object, else another copy fetched into staging), and is
re-verified first: archa never repairs from an unverified source. Each replaced file is
written beside the damaged one, checked, and renamed over it (on S3, which cannot rename,
the damaged object is deleted and the good one uploaded and read back). Then the copy is
audited again and a PREMIS "recovery" event is recorded. With no good copy, nothing changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archa.errors import StorageError
from archa.preservation.fixity import record_audit
from archa.repository.catalog.expected import ExpectedTable
from archa.repository.config import Location
from archa.repository.copies import iter_packed, sweep_temporaries, write_packed_copy
from archa.repository.copyaudit import CopyAudit, Throttle, audit_copy, audit_ocfl
from archa.repository.events import ARCHA_AGENT, Event
from archa.repository.hashing import file_chunks
from archa.repository.ocfl import INVENTORY, StorageRoot, expected_files, object_relpath, source_path
from archa.repository.placement import verified_source, versions_up_to
from archa.repository.repo import Repository, writes_beside

REPAIR_WAIT = 600.0  # seconds a repair waits for the command auditing or writing that AIP
from archa.repository.store import Store


@dataclass
class RepairResult:
    """What repairing one copy did: its source, the files written anew or removed, an
    error, and the copy's state after."""

    aip_id: str
    version: str
    location: str
    repaired: bool = False
    source: str = ""
    rewritten: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    error: str = ""
    state_after: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _source_key(version: str, rel: str) -> str:
    """Where an OCFL copy holds `rel` as of `version` (root inventories: the version's own)."""
    return f"{version}/{rel}" if rel.startswith(INVENTORY) else rel


def assemble_verified(repo: Repository, aip_id: str, version: str, exclude: str, work: Path) -> StorageRoot:
    """Build the version's object under `work` file by file, each file taken from any copy
    (other than `exclude`) whose bytes for it match the catalog digest now. So two copies
    damaged in different files still repair each other. StorageError names the files no
    copy holds intact; nothing is written outside `work`."""
    alg, expected = expected_files(repo, aip_id, version)
    root = StorageRoot(work / "assembled")
    dest = root.object_path(aip_id)
    needed = dict(expected)
    prefix = object_relpath(aip_id)
    copies = [c["location"] for c in repo.catalog.copies(aip_id) if c["version"] == version]
    locations = [repo.config.location(n) for n in sorted(copies, key=lambda n: n != repo.hot_location)
                 if n != exclude]

    def take(rel: str, data: bytes) -> None:
        if hashlib.new(alg, data).hexdigest() == needed[rel].digest:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            del needed[rel]

    for loc in locations:
        if not needed:
            break
        try:
            store = repo.store(loc)
            if loc.kind == "ocfl":
                for rel in sorted(needed):
                    if store.exists(f"{prefix}/{_source_key(version, rel)}"):
                        take(rel, store.read_bytes(f"{prefix}/{_source_key(version, rel)}"))
            else:
                for v in versions_up_to(repo, aip_id, version):
                    for ti, f in iter_packed(store, aip_id, v):
                        if ti.name in needed:
                            take(ti.name, f.read())
        except StorageError:
            continue  # an unreadable copy is simply no source; others may be
    if needed:
        raise StorageError(f"{aip_id} {version}: no copy holds these files intact: "
                           + ", ".join(sorted(needed)[:10]), hint="the content is lost unless a copy "
                           "outside archa (a backup, the producer) holds it")
    return root


def _repair_ocfl(store: Store, source: StorageRoot, aip_id: str, version: str, repo: Repository,
                 result: RepairResult) -> None:
    alg, expected = expected_files(repo, aip_id, version)
    check = CopyAudit(aip_id, version, store.name, "ocfl")
    work = repo.new_work_dir()
    table = ExpectedTable(work / "expected.sqlite", expected.items())
    try:
        audit_ocfl(store, aip_id, version, alg, table, check, 4, Throttle(None))
    finally:
        table.close()
        repo.release_work_dir(work)
    prefix = object_relpath(aip_id)
    for f in check.findings:
        key = f"{prefix}/{f.path}"
        if f.code == "FIX004":
            store.delete(key)
            result.removed.append(f.path)
            continue
        if f.code == "FIX011":  # nothing there at all: every file
            paths = sorted(expected)
        elif f.code in ("FIX001", "FIX002", "FIX003", "FIX005"):
            paths = [f.path]
        else:
            continue
        for rel in paths:
            with open(source_path(source, aip_id, version, rel), "rb") as src, \
                    store.writer(f"{prefix}/{rel}", replace=True) as w:
                for chunk in file_chunks(src):
                    w.write(chunk)
            got = store.digest(f"{prefix}/{rel}", alg)
            if got != expected[rel].digest:
                raise StorageError(f"location {store.name!r}: {rel} read back with {alg} {got} after repair",
                                   location=store.name, path=rel, hint="the location corrupts writes")
            result.rewritten.append(rel)


@writes_beside
def repair(repo: Repository, aip_id: str | None = None, location: str | None = None) -> list[RepairResult]:
    """Repair every copy (of `aip_id`, at `location`) the last audit found damaged or missing.

    Takes the repository lock itself (shared), and each AIP's lock while repairing it,
    waiting up to REPAIR_WAIT seconds for a command writing or auditing it."""
    names = {loc.name: loc for loc in repo.config.locations}
    if aip_id:
        repo.catalog.live_aip(aip_id)
    rows = [c for c in repo.catalog.all_copies() if c["state"] != "ok"
            and (aip_id is None or c["aip_id"] == aip_id) and (location is None or c["location"] == location)]
    results = []
    for row in rows:
        with repo.aip_lock(row["aip_id"], timeout=REPAIR_WAIT):
            now = repo.catalog.copy(row["aip_id"], row["version"], row["location"])
            if now is None or now["state"] == "ok":
                continue  # repaired (or gone) while this waited
            results.append(_repair_one(repo, now, names[row["location"]]))
    return results


def _repair_one(repo: Repository, row: dict[str, Any], loc: Location) -> RepairResult:
    aip_id, version = row["aip_id"], row["version"]
    result = RepairResult(aip_id, version, loc.name)
    good = {c["location"] for c in repo.catalog.copies(aip_id) if c["version"] == version and c["state"] == "ok"}
    candidates = [repo.config.location(n) for n in sorted(good) if n != repo.hot_location]
    work = repo.new_work_dir()
    try:
        try:
            source, result.source, _seen = verified_source(repo, aip_id, version, candidates, work,
                                                           use_hot=loc.name != repo.hot_location
                                                           and repo.hot_location in good)
        except StorageError:
            try:  # no whole copy verifies: take each file from whichever copy holds it intact
                source, result.source = assemble_verified(repo, aip_id, version, loc.name, work), \
                    "the intact files of the other copies"
            except StorageError as e:
                result.error = f"no good copy left to repair from; nothing was changed: {e.message}"
                return result
        store = repo.store(loc)
        sweep_temporaries(store, aip_id)  # what an interrupted write left
        if loc.kind == "ocfl":
            _repair_ocfl(store, source, aip_id, version, repo, result)
        else:
            pol = repo.policy.packing
            info = write_packed_copy(source, aip_id, version, store, pol.level, pol.threads, replace=True)
            result.rewritten.append(f"{version}.tar.zst")
            if info.archive_sha256 != row["archive_sha256"]:
                repo.catalog.set_copy_archive(aip_id, version, loc.name, info.archive_sha256, info.bytes)
                row = {**row, "archive_sha256": info.archive_sha256}
        after = audit_copy(repo, row, loc, 4, Throttle(None))
        record_audit(repo, after)
        result.state_after = after.state
        result.repaired = after.state == "ok"
        detail = (f"{loc.name}: {len(result.rewritten)} file(s) rewritten and {len(result.removed)} removed "
                  f"from the verified copy at {result.source}; re-audit {after.state}: "
                  + ", ".join(result.rewritten[:20] + [f"removed {r}" for r in result.removed[:20]]))
        repo.catalog.record_events([Event("recovery", "success" if result.repaired else "failure", detail,
                                          ARCHA_AGENT, aip_id, version, loc.name)])
    except StorageError as e:
        result.error = e.message
    finally:
        repo.release_work_dir(work)
    return result


