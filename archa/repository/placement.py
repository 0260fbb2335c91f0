"""Placement: which copies an AIP version has, which it needs, and writing the missing ones.

Every location in archa.toml receives a copy of every AIP version. A version counts as
*stored* once verified copies cover the policy: at least `placement.copies` copies, on
every tier in `placement.tiers`. Copies are written from the hot OCFL object, and only
after that object's files for the version verify against its inventory now.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archa.errors import StorageError
from archa.repository.config import Location
from archa.repository.copies import (
    CopyInfo,
    read_packed_index,
    restore_packed,
    sweep_temporaries,
    write_ocfl_copy,
    write_packed_copy,
)
from archa.repository.events import ARCHA_AGENT, Event
from archa.repository.hashing import file_digest
from archa.repository.ocfl import (
    INVENTORY,
    StorageRoot,
    expected_files,
    object_relpath,
    source_path,
)
from archa.repository.repo import Repository, writes_beside
from archa.repository.store import KeyExists

ProgressFn = Callable[[str, int, int], None]


def failure_domain(repo: Repository, loc: Location) -> str:
    """What a location fails with: an S3 endpoint (host and port), or the device holding a
    local location's directory (its nearest existing parent when it is gone)."""
    if loc.uri.startswith("s3://"):
        return f"endpoint {loc.endpoint.split('://')[-1].rstrip('/')}"
    path = repo.location_path(loc)
    while not path.exists() and path != path.parent:
        path = path.parent
    return f"device {os.stat(path).st_dev}"


def shared_domains(repo: Repository) -> dict[str, list[str]]:
    """Failure domains holding more than one location: {domain: [location, ...]}."""
    by: dict[str, list[str]] = {}
    for loc in repo.config.locations:
        by.setdefault(failure_domain(repo, loc), []).append(loc.name)
    return {d: names for d, names in by.items() if len(names) > 1}


def placement_satisfied(repo: Repository, ok_locations: set[str]) -> bool:
    """Enough copies, on the tiers the policy wants; with `independent`, copies on one
    failure domain count as one."""
    tiers = {loc.tier for loc in repo.config.locations if loc.name in ok_locations}
    pol = repo.policy.placement
    copies = len(ok_locations)
    if pol.independent:
        copies = len({failure_domain(repo, loc) for loc in repo.config.locations if loc.name in ok_locations})
    return copies >= pol.copies and set(pol.tiers) <= tiers


def verify_version(repo: Repository, root: StorageRoot, aip_id: str, version: str) -> list[str]:
    """Problems of an OCFL object's files for `version`, re-hashed now against the catalog
    (not against the object's own inventory, which could have been altered with the file)."""
    alg, expected = expected_files(repo, aip_id, version)
    problems = []
    for rel, exp in sorted(expected.items()):
        path = source_path(root, aip_id, version, rel)
        try:
            got = file_digest(path, alg)
        except OSError as e:
            problems.append(f"{rel}: {e.strerror}")
            continue
        if got != exp.digest:
            problems.append(f"{rel}: {alg} {got}, expected {exp.digest}")
    return problems


def stage_from_copy(repo: Repository, aip_id: str, version: str, loc: Location, work: Path) -> StorageRoot:
    """Fetch `version` of the object from the copy at `loc` into an OCFL root under `work`
    (an OCFL copy: every file of the version's state, by key; a packed copy: its archives of
    v1..`version`, streamed in order)."""
    root = StorageRoot(work / "root")
    dest = root.object_path(aip_id)
    store = repo.store(loc)
    if loc.kind == "packed":
        restore_packed([(store, v) for v in versions_up_to(repo, aip_id, version)], aip_id, dest)
        return root
    prefix = object_relpath(aip_id)
    _alg, expected = expected_files(repo, aip_id, version)
    for rel in sorted(expected):
        if rel.startswith(INVENTORY):
            continue  # the root inventory as of `version` is the version's own (copied below)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with store.open(f"{prefix}/{rel}") as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 22)
    for name in (INVENTORY, *(p.name for p in (dest / version).glob(f"{INVENTORY}.*"))):
        shutil.copyfile(dest / version / name, dest / name)
    return root


def versions_up_to(repo: Repository, aip_id: str, version: str) -> list[str]:
    """v1 .. `version` of an AIP, in order."""
    last = int(version[1:])
    return [v["version"] for v in repo.catalog.versions(aip_id) if int(v["version"][1:]) <= last]


def verified_source(repo: Repository, aip_id: str, version: str, candidates: list[Location],
                    work: Path, use_hot: bool = True) -> tuple[StorageRoot, str, list[str]]:
    """The first copy that verifies now: the hot object, else another copy fetched into
    `work` and verified there. Returns (root, location name, problems seen on the way);
    raises StorageError, listing them, when no copy verifies."""
    seen = [f"{repo.hot_location}: {p}" for p in verify_version(repo, repo.hot, aip_id, version)[:5]] \
        if use_hot else []
    if use_hot and not seen:
        return repo.hot, repo.hot_location, []
    for loc in candidates:
        sub = work / loc.name
        try:
            root = stage_from_copy(repo, aip_id, version, loc, sub)
        except (StorageError, OSError, ValueError) as e:
            seen.append(f"{loc.name}: {e}")
            continue
        problems = verify_version(repo, root, aip_id, version)
        if not problems:
            return root, loc.name, seen
        seen += [f"{loc.name}: {p}" for p in problems[:5]]
    raise StorageError(f"{aip_id} {version}: no copy verifies, so no copy is made from any: " + "; ".join(seen),
                       hint="audit the copies and repair from a good one")


def adopt_copy(repo: Repository, aip_id: str, version: str, loc: Location) -> CopyInfo:
    """A complete copy the catalog does not know (its writer was killed before recording
    it): audited in full; CopyInfo when sound, else StorageError (repair rewrites it then)."""
    from archa.repository.copyaudit import Throttle, audit_copy

    row: dict[str, Any] = {"aip_id": aip_id, "version": version, "archive_sha256": ""}
    if loc.kind == "packed":
        row["archive_sha256"] = read_packed_index(repo.store(loc), aip_id, version).get("archive_sha256", "")
    a = audit_copy(repo, row, loc, 2, Throttle(None))
    if a.state != "ok":
        raise StorageError(f"location {loc.name!r}: {aip_id} {version} is there but not sound: "
                           + "; ".join(str(f) for f in a.findings[:5]), location=loc.name,
                           hint=f"archa repair {aip_id} --location {loc.name} rewrites it from a good copy")
    return CopyInfo(loc.name, version, a.bytes, row["archive_sha256"])


def write_copy(repo: Repository, source: StorageRoot, aip_id: str, version: str, loc: Location) -> CopyInfo:
    store = repo.store(loc)
    from archa.repository.leftovers import stored_content

    # what a killed copy left (in an OCFL object's content only names no version holds)
    sweep_temporaries(store, aip_id, stored_content(repo, aip_id) if loc.kind == "ocfl" else None)
    if loc.kind == "ocfl":
        return write_ocfl_copy(source, aip_id, version, store)
    pol = repo.policy.packing
    return write_packed_copy(source, aip_id, version, store, pol.level, pol.threads)


@dataclass
class SyncResult:
    """What a sync of copies did: the copies written, the ones that failed, the versions
    checked, and those left because another command held them."""

    written: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    versions_checked: int = 0
    busy: list[str] = field(default_factory=list)  # "AIP vN" another command was writing or auditing

    def as_dict(self) -> dict[str, Any]:
        return {"versions_checked": self.versions_checked, "written": self.written, "failed": self.failed,
                "busy": self.busy}


def complete_copies(repo: Repository, aip_id: str, version: str, result: SyncResult,
                    verify_source: bool = True) -> None:
    """Write every copy `aip_id` `version` lacks, recording each in the catalog as it
    completes; failures go to `result.failed`. The hot source is re-hashed first unless
    `verify_source` is False (ingest: its bytes were hashed as they were written, moments ago)."""
    cat = repo.catalog
    have = {c["location"] for c in cat.copies(aip_id) if c["version"] == version and c["state"] == "ok"}
    missing = [loc for loc in repo.config.locations
               if loc.name not in have and loc.name != repo.hot_location]
    if not missing:
        return
    if not verify_source:
        _write_missing(repo, aip_id, version, missing, have, repo.hot, repo.hot_location, result)
        return
    work = repo.new_work_dir()  # where a source is assembled from verified copies, if need be
    try:
        others = [loc for loc in repo.config.locations if loc.name in have and loc.name != repo.hot_location]
        try:
            source, source_name, _seen = verified_source(repo, aip_id, version, others, work)
        except StorageError as e:
            for loc in missing:
                result.failed.append({"aip_id": aip_id, "version": version, "location": loc.name,
                                      "error": e.message, "hint": e.hint})
            return
        _write_missing(repo, aip_id, version, missing, have, source, source_name, result)
    finally:
        repo.release_work_dir(work)


def _write_missing(repo: Repository, aip_id: str, version: str, missing: list[Location], have: set[str],
                   source: StorageRoot, source_name: str, result: SyncResult) -> None:
    cat = repo.catalog
    for loc in missing:
        try:
            try:
                info = write_copy(repo, source, aip_id, version, loc)
            except KeyExists:  # written before, not recorded (a kill in between): adopt it if it is sound
                info = adopt_copy(repo, aip_id, version, loc)
        except StorageError as e:
            result.failed.append({"aip_id": aip_id, "version": version, "location": loc.name,
                                  "error": e.message, "hint": e.hint})
            continue
        have.add(loc.name)
        how = "flushed, sha256 taken as written" if loc.kind == "packed" and repo.store(loc).local \
            else "verified as read back"
        detail = f"{aip_id} {version} copied from {source_name} to {loc.name} ({loc.kind}, tier {loc.tier}); " \
                 f"{info.bytes} bytes {how}"
        if info.archive_sha256:
            detail += f"; archive sha256 {info.archive_sha256}"
        event = Event("replication", "success", detail, ARCHA_AGENT, aip_id, version, loc.name)
        cat.record_copy({"aip_id": aip_id, "version": version, "location": loc.name, "state": "ok",
                         "written": event.time, "last_audit": None, "bytes": info.bytes,
                         "archive_sha256": info.archive_sha256},
                        placement_satisfied(repo, have), [event])
        result.written.append({"aip_id": aip_id, "version": version, "location": loc.name,
                               "bytes": info.bytes})


@writes_beside
def sync(repo: Repository, progress: ProgressFn | None = None) -> SyncResult:
    """Create every copy the policy lacks (idempotent; resumes an interrupted copy).

    Takes the repository lock itself (shared: ingests and audits go on meanwhile); an AIP
    that another command is writing or auditing is left for the next sync (`busy`)."""
    result = SyncResult()
    versions = repo.catalog.all_versions()
    for i, v in enumerate(versions, 1):
        with repo.aip_lock_if_free(v["aip_id"]) as free:
            if free:
                complete_copies(repo, v["aip_id"], v["version"], result)
            else:
                result.busy.append(f"{v['aip_id']} {v['version']}")
        result.versions_checked += 1
        if progress:
            progress("sync", i, len(versions))
    return result
