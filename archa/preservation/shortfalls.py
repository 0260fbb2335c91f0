"""Shortfalls: what the placement policy requires and the catalog does not hold.

Every location of archa.toml receives a copy of every version of an active AIP, and a
version is *stored* once its verified copies meet `placement.copies` and `placement.tiers`
(placement.py). An audit reads the copies that are recorded; these are the ones that are not
there at all (FIX013) and the versions not stored (FIX014), read from the catalog alone, so
`archa fixity audit` names them whatever its budgets (docs/design.md, fixity finding codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archa.errors import Finding
from archa.repository.ocfl import object_relpath
from archa.repository.repo import Repository

SYNC = "archa storage sync"


@dataclass(frozen=True)
class Shortfall:
    """A copy of a version missing at a location (FIX013), or a version not stored (FIX014,
    `location` ""); `fix` is the command that makes it good."""

    aip_id: str
    version: str
    location: str
    finding: Finding
    fix: str = SYNC

    def as_dict(self) -> dict[str, Any]:
        return {"aip_id": self.aip_id, "version": self.version, "location": self.location,
                **self.finding.as_dict(), "fix": self.fix}


def shortfalls(repo: Repository, aip: str | None = None, location: str | None = None) -> tuple[list[Shortfall], int]:
    """(shortfalls, AIPs busy) of every active AIP (or `aip`), at every location (or only
    `location`: then no FIX014, which is about all of them). An AIP another command is
    writing right now (an ingest between its hot commit and its last copy) is counted busy and
    left for the next run, not reported; the others are read again under their lock."""
    versions = [v for v in repo.catalog.all_versions() if aip is None or v["aip_id"] == aip]
    copies = [c for c in repo.catalog.all_copies() if aip is None or c["aip_id"] == aip]
    found: list[Shortfall] = []
    busy = 0
    for aip_id in sorted({s.aip_id for s in _gaps(repo, versions, copies, location)}):
        with repo.aip_lock_if_free(aip_id) as free:
            if not free:
                busy += 1
            elif repo.catalog.aip(aip_id).get("state") in (None, "active"):  # a writer may have ended
                found += _gaps(repo, repo.catalog.versions(aip_id), repo.catalog.copies(aip_id), location)
    return found, busy


def _gaps(repo: Repository, versions: list[dict[str, Any]], copies: list[dict[str, Any]],
          location: str | None) -> list[Shortfall]:
    """The shortfalls of `versions` by the copy rows `copies`: a location without a copy
    (FIX013); a version whose stored flag is not set, or whose verified copies do not meet
    the policy as it is now (FIX014)."""
    from archa.repository.placement import placement_satisfied

    pol = repo.policy.placement
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for c in copies:
        rows.setdefault((c["aip_id"], c["version"]), {})[c["location"]] = c["state"]
    met: dict[frozenset[str], bool] = {}
    out: list[Shortfall] = []
    for v in versions:
        have = rows.get((v["aip_id"], v["version"]), {})
        lacking = [loc for loc in repo.config.locations if loc.name not in have]
        path = object_relpath(v["aip_id"])
        for loc in lacking:
            if location is None or loc.name == location:
                out.append(Shortfall(v["aip_id"], v["version"], loc.name, Finding(
                    "FIX013", f"no copy at location {loc.name!r} ({loc.kind}, tier {loc.tier}), which the placement "
                              "policy requires: the catalog records none", path)))
        ok = frozenset(name for name, state in have.items() if state == "ok")
        if ok not in met:
            met[ok] = placement_satisfied(repo, set(ok))
        if location is not None or (v["stored"] and met[ok]):
            continue
        policy = (f"{pol.copies} copies on tiers {', '.join(pol.tiers)}"
                  + (", on independent failure domains" if pol.independent else ""))
        held = ", ".join(sorted(ok)) or "none"
        if met[ok]:
            what = f"the catalog does not mark the version stored, though its verified copies ({held}) meet the " \
                   f"placement policy ({policy})"
        else:
            what = f"the version is not stored: its verified copies ({held}) do not meet the placement policy ({policy})"
        fix = SYNC if lacking or met[ok] else \
            "add a location that the policy's copies and tiers need (archa storage add), then run archa storage sync"
        out.append(Shortfall(v["aip_id"], v["version"], "", Finding("FIX014", what, path), fix))
    return out
