"""Managing storage locations: add (after a write/read/delete probe), list, status, and
rebuilding the catalog into place; sharing a node's policy with the other nodes."""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archa.errors import CatalogDamaged, UsageError
from archa.policies import load_policy
from archa.repository.catalog import CATALOG_NAME, Catalog
from archa.repository.catalog.errors import DATABASE_ERRORS, is_busy
from archa.repository.config import CONFIG_NAME, LOCATION_KINDS, TIERS, Location, load_config, render_config
from archa.repository.copies import init_ocfl_store, init_packed_store
from archa.repository.durable import fsync_dir
from archa.repository.placement import failure_domain
from archa.repository.rebuild import RebuildConflict, RebuildReport, compare_catalogs, rebuild_catalog
from archa.repository.repo import Repository, writes


@writes
def add_location(repo: Repository, loc: Location) -> Location:
    """Check `loc` can be written, read and deleted, lay it out, then save it in archa.toml.

    Nothing is saved when any step fails. Copies are made by `archa storage sync`."""
    repo.refresh_shared()  # under the lock: another node may have added one since this one started
    if loc.kind not in LOCATION_KINDS or loc.tier not in TIERS:
        raise UsageError(f"location {loc.name!r}: kind must be one of {', '.join(LOCATION_KINDS)} and tier one "
                         f"of {', '.join(TIERS)}")
    if any(existing.name == loc.name for existing in repo.config.locations):
        raise UsageError(f"a location named {loc.name!r} exists already", hint="choose another NAME")
    if not loc.name.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"location name {loc.name!r}: use letters, digits, '-' and '_'")
    # on a server catalog the nodes read their locations from it, not from archa.toml: a block of this
    # name there is one a `storage add` killed before it saved the shared settings left (added again
    # with the same settings, it is taken as written; with others, refused rather than written twice)
    left = next((x for x in load_config(repo.root).locations if x.name == loc.name), None) \
        if repo.config.catalog else None
    if left is not None and left != loc:
        raise UsageError(f"{repo.root / CONFIG_NAME} has a location {loc.name!r} no node uses (a `storage add` "
                         "stopped before it finished?), with other settings than these",
                         hint="remove that [[locations]] block from archa.toml, or add it with its own settings")
    if not loc.uri.startswith("s3://"):
        path = Path(loc.uri) if Path(loc.uri).is_absolute() else repo.root / loc.uri
        for other in repo.config.locations:
            if not other.uri.startswith("s3://") and repo.location_path(other).resolve() == path.resolve():
                raise UsageError(f"{path} is location {other.name!r} already")
        path.mkdir(parents=True, exist_ok=True)
    store = repo.store(loc)
    store.probe()
    if loc.kind == "ocfl":
        init_ocfl_store(store)
    else:
        init_packed_store(store)
    if any(x.holds_secrets for x in (*repo.config.locations, loc)):
        os.chmod(repo.root / CONFIG_NAME, 0o600)  # secrets: readable by the owner only, before they are written
    if left is None:
        with open(repo.root / CONFIG_NAME, "a", encoding="utf-8") as f:
            block = render_config(repo.config.__class__(repo.config.repository_id, repo.config.created, (loc,)))
            table = block[block.index("[[locations]]"):block.index("# Overrides")]
            f.write("\n" + table)
            f.flush()
            os.fsync(f.fileno())
    repo.config = load_config(repo.root) if not repo.config.catalog else \
        dataclasses.replace(repo.config, locations=(*repo.config.locations, loc))
    repo.save_shared_config()  # every node of a repository on a server reads its locations from the catalog
    return loc


@writes
def share_policy(repo: Repository) -> dict[str, Any]:
    """Make the [policy] table of this node's archa.toml the policy every node of the
    repository uses (the catalog's shared settings), after checking it loads; returns it.

    UsageError on a repository whose catalog is the embedded SQLite file (there archa.toml is
    the policy already)."""
    if not repo.config.catalog:
        raise UsageError("this repository's catalog is its own SQLite file: archa.toml's [policy] is the policy "
                         "in force already", hint="edit archa.toml; nothing to share")
    mine = repo.node_policy()
    load_policy(mine)  # a policy that does not load is refused here, not on every node later
    repo.refresh_shared()
    repo.config = dataclasses.replace(repo.config, policy=mine)
    repo.policy = load_policy(mine)
    repo.save_shared_config()
    return mine


@dataclass
class LocationStatus:
    name: str
    kind: str
    tier: str
    uri: str
    versions_held: int
    bytes: int
    missing: int
    damaged: int
    domain: str = ""  # the failure domain (device or endpoint); see placement.failure_domain

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def status(repo: Repository, originator: str | None = None) -> list[LocationStatus]:
    """Per location: AIP versions held (a verified copy), bytes, copies missing (never made,
    or found missing by an audit) or damaged;
    of one originator's AIPs only with `originator`."""
    repo.check_locations()
    mine_aips = {a["id"] for a in repo.catalog.aips(originator)} if originator else None
    copies = [c for c in repo.catalog.all_copies() if mine_aips is None or c["aip_id"] in mine_aips]
    versions = {(v["aip_id"], v["version"]) for v in repo.catalog.all_versions()
                if mine_aips is None or v["aip_id"] in mine_aips}
    out = []
    for loc in repo.config.locations:
        mine = {(c["aip_id"], c["version"]): c for c in copies if c["location"] == loc.name}
        ok = [c for c in mine.values() if c["state"] == "ok"]
        out.append(LocationStatus(loc.name, loc.kind, loc.tier, loc.uri, len(ok),
                                  sum(c["bytes"] or 0 for c in ok),
                                  len(versions - mine.keys()) + sum(1 for c in mine.values() if c["state"] == "missing"),
                                  sum(1 for c in mine.values() if c["state"] == "damaged"),
                                  failure_domain(repo, loc)))
    return out


@dataclass
class RebuildOutcome:
    report: RebuildReport
    replaced: bool
    backup: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {**self.report.as_dict(), "replaced": self.replaced, "backup": self.backup}


def check_catalog(repo: Repository) -> None:
    """SQLite's full integrity check of the live catalog (`Catalog.integrity_problems`):
    CatalogDamaged naming the file and what the check found, when it finds anything. Run
    before a comparison reads the catalog: a damaged index page can hide rows from a query
    instead of failing it."""
    problems = repo.catalog.integrity_problems()
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        check = "amcheck" if repo.catalog.dialect == "postgresql" else "SQLite's integrity check"
        raise CatalogDamaged(str(repo.catalog.path), f"{check}: " + "; ".join(problems[:3]) + more,
                             problems)


def check_rebuild(repo: Repository, trust: str | None = None) -> RebuildReport:
    """Rebuild the catalog from the locations into a temporary file, compare it with the
    live one field by field (`report.differences`), and remove it: what `catalog rebuild`
    would restore, and what it would lose, without changing anything. What the locations
    do not agree on is in `report.conflicts`."""
    dest = repo.root / f"catalog.check-{uuid.uuid4().hex[:8]}.sqlite"
    try:
        report = rebuild_catalog(repo, dest, trust)
        new = Catalog.open(dest)
        Catalog.last_opened = repo.catalog.path  # what a damaged-catalog error names: the live one, not this
        try:
            report.differences = compare_catalogs(repo.catalog, new)
        finally:
            new.close()
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{dest}{suffix}").unlink(missing_ok=True)
    report.path = ""
    return report


def rebuild(repo: Repository, replace: bool = False, trust: str | None = None, into: str | None = None
            ) -> RebuildOutcome:
    """Rebuild the catalog from the locations. With no catalog, the result becomes the
    catalog; otherwise it is written beside it and compared, and put in place (the old one
    kept as a backup) only with `replace`. Raises RebuildConflict (nothing written) when the
    locations do not agree on something the rebuild would take and `trust` does not settle it.
    A catalog on a server is rebuilt into a database (`into`: serverrebuild.py)."""
    if repo.config.catalog:
        from archa.repository.serverrebuild import rebuild_on_server

        report, replaced, kept = rebuild_on_server(repo, replace, trust, into)
        return RebuildOutcome(report, replaced=replaced, backup=kept)
    if into is not None:
        raise UsageError("--into names a PostgreSQL database to rebuild a catalog on a server into; this "
                         "repository's catalog is the SQLite file catalog.sqlite",
                         hint="leave --into out: the rebuilt catalog is written beside catalog.sqlite")
    current = repo.root / CATALOG_NAME
    stamp = time.strftime("%Y%m%dT%H%M%S")
    dest = repo.root / f"catalog.rebuilt-{stamp}-{uuid.uuid4().hex[:6]}.sqlite"
    report = rebuild_catalog(repo, dest, trust)
    if report.conflicts:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{dest}{suffix}").unlink(missing_ok=True)
        raise RebuildConflict(report)
    if not current.exists():
        # a write-ahead log (or rollback journal) the lost catalog left beside it would be
        # replayed into the rebuilt one at its first open, corrupting it: moved aside, kept
        moved = []
        for suffix in ("-wal", "-shm", "-journal"):
            stale = Path(f"{current}{suffix}")
            if stale.exists():
                os.rename(stale, repo.root / f"{CATALOG_NAME}.orphaned-{stamp}{suffix}")
                moved.append(f"{stale.name} -> {CATALOG_NAME}.orphaned-{stamp}{suffix}")
        if moved:
            report.notes.append("the log of a catalog no longer there, which SQLite would have replayed into the "
                                "rebuilt one, was moved aside: " + ", ".join(moved))
        os.rename(dest, current)
        fsync_dir(repo.root)
        report.path = str(current)
        return RebuildOutcome(report, replaced=True)
    try:
        old = Catalog.open(current)
        try:
            new = Catalog.open(dest)
            try:
                report.differences = compare_catalogs(old, new)
            finally:
                new.close()
        finally:
            old.close()
    except DATABASE_ERRORS as e:  # a damaged catalog: rebuilt without reading it
        if is_busy(e):
            raise
        report.differences = [(f"the current catalog cannot be read ({e}): not compared; "
                              "put the rebuilt one in place with --replace")]
    if not replace:
        return RebuildOutcome(report, replaced=False)
    repo.close()
    backup = repo.root / f"catalog.sqlite.bak-{stamp}"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{current}{suffix}").exists():
            os.rename(f"{current}{suffix}", f"{backup}{suffix}")
    os.rename(dest, current)
    fsync_dir(repo.root)
    report.path = str(current)
    return RebuildOutcome(report, replaced=True, backup=str(backup))
