"""Placement: which copies an AIP version has, which it needs, and writing the missing ones.

Every location in archa.toml receives a copy of every AIP version. A version counts as
*stored* once verified copies cover the policy: at least `placement.copies` copies, on
every tier in `placement.tiers`. Copies are written from the hot OCFL object, and only
after that object's files for the version verify against its inventory now.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import archa
from archa.errors import StorageError
from archa.repository.config import Location
from archa.repository.copies import CopyInfo, source_path, version_files, write_ocfl_copy, write_packed_copy
from archa.repository.events import Event, now_iso
from archa.repository.ocfl import INVENTORY
from archa.repository.repo import Repository

ARCHA_AGENT = f"archa/{archa.__version__}"
ProgressFn = Callable[[str, int, int], None]


def placement_satisfied(repo: Repository, ok_locations: set[str]) -> bool:
    tiers = {loc.tier for loc in repo.config.locations if loc.name in ok_locations}
    pol = repo.policy.placement
    return len(ok_locations) >= pol.copies and set(pol.tiers) <= tiers


def verify_hot_version(repo: Repository, aip_id: str, version: str) -> list[str]:
    """Problems of the hot object's files for `version` (re-hashed now against its inventory)."""
    obj = repo.hot.object_path(aip_id)
    try:
        inv = json.loads((obj / version / INVENTORY).read_bytes())
    except (OSError, ValueError) as e:
        return [f"{version}/{INVENTORY}: {e}"]
    alg = inv["digestAlgorithm"]
    problems = []
    for rel, digest in version_files(repo.hot, aip_id, version):
        path = source_path(repo.hot, aip_id, version, rel)
        try:
            with open(path, "rb") as f:
                got = hashlib.file_digest(f, alg).hexdigest()
        except OSError as e:
            problems.append(f"{rel}: {e.strerror}")
            continue
        if digest and got != digest:
            problems.append(f"{rel}: {alg} {got}, expected {digest}")
    return problems


def write_copy(repo: Repository, aip_id: str, version: str, loc: Location) -> CopyInfo:
    store = repo.store(loc)
    if loc.kind == "ocfl":
        return write_ocfl_copy(repo.hot, aip_id, version, store)
    pol = repo.policy.packing
    return write_packed_copy(repo.hot, aip_id, version, store, pol.level, pol.threads)


@dataclass
class SyncResult:
    written: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    versions_checked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"versions_checked": self.versions_checked, "written": self.written, "failed": self.failed}


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
    problems = verify_hot_version(repo, aip_id, version) if verify_source else []
    if problems:
        for loc in missing:
            result.failed.append({"aip_id": aip_id, "version": version, "location": loc.name,
                                  "error": "the hot copy does not verify, so no copy is made from it: "
                                           + "; ".join(problems[:5])})
        return
    for loc in missing:
        try:
            info = write_copy(repo, aip_id, version, loc)
        except StorageError as e:
            result.failed.append({"aip_id": aip_id, "version": version, "location": loc.name,
                                  "error": e.message, "hint": e.hint})
            continue
        have.add(loc.name)
        written = now_iso()
        detail = f"{aip_id} {version} copied to {loc.name} ({loc.kind}, tier {loc.tier}); " \
                 f"{info.bytes} bytes verified as read back"
        if info.archive_sha256:
            detail += f"; archive sha256 {info.archive_sha256}"
        cat.record_copy({"aip_id": aip_id, "version": version, "location": loc.name, "state": "ok",
                         "written": written, "last_audit": None, "bytes": info.bytes,
                         "archive_sha256": info.archive_sha256},
                        placement_satisfied(repo, have),
                        [Event("replication", "success", detail, ARCHA_AGENT, aip_id, version, loc.name)])
        result.written.append({"aip_id": aip_id, "version": version, "location": loc.name,
                               "bytes": info.bytes})


def sync(repo: Repository, progress: ProgressFn | None = None) -> SyncResult:
    """Create every copy the policy lacks (idempotent; resumes an interrupted copy).

    Call with the repository lock held (`repo.writing()`)."""
    result = SyncResult()
    versions = repo.catalog.all_versions()
    for i, v in enumerate(versions, 1):
        complete_copies(repo, v["aip_id"], v["version"], result)
        result.versions_checked += 1
        if progress:
            progress("sync", i, len(versions))
    return result
