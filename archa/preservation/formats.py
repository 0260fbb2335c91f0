"""The repository's format profile, and re-identification when engines or signatures change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from archa.preservation.identify import UNKNOWN, get_identifier, identify_many
from archa.repository.events import Event
from archa.repository.repo import Repository

ProgressFn = Callable[[str, int, int], None]


@dataclass
class FormatRow:
    puid: str
    format_name: str
    files: int
    bytes: int
    at_risk: bool
    pathway: str = ""  # the migration pathway the policy sends this format to ("" none)


@dataclass
class FormatReport:
    formats: list[FormatRow]
    files: int
    bytes: int
    unidentified_files: int
    at_risk_files: int
    at_risk_without_pathway: int = 0  # files in formats at risk that no pathway takes
    with_pathway: int = 0  # files in a format a pathway takes (the preservation copies' own formats aside)
    migrated: int = 0  # successful migrations recorded (files given a preservation copy)
    migrations_failed: int = 0  # files whose last migration failed
    at_risk_listed: bool = True  # the policy marks some format at risk (formats.at_risk)

    def as_dict(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": self.bytes, "unidentified_files": self.unidentified_files,
                "at_risk_files": self.at_risk_files, "at_risk_without_pathway": self.at_risk_without_pathway,
                "with_pathway": self.with_pathway, "migrated": self.migrated,
                "migrations_failed": self.migrations_failed, "formats": [f.__dict__ for f in self.formats]}


def format_report(repo: Repository) -> FormatReport:
    """Files and bytes per PUID over the head version of every AIP (payload files only,
    preservation copies included), each format with the pathway the policy sends it to;
    with the files at risk that no pathway takes, and what migrations did and failed."""
    from archa.preservation.overview import migrations
    from archa.preservation.pathway_policy import pathway_table

    at_risk = repo.policy.formats.at_risk
    table = pathway_table(repo.policy.migration)
    rows = [FormatRow(r["puid"], r["format_name"] or "", r["files"], r["bytes"] or 0, r["puid"] in at_risk,
                      table.get(r["puid"], "")) for r in repo.catalog.format_profile()]
    done = migrations(repo)
    return FormatReport(
        formats=rows, files=sum(r.files for r in rows), bytes=sum(r.bytes for r in rows),
        unidentified_files=sum(r.files for r in rows if r.puid == UNKNOWN),
        at_risk_files=sum(r.files for r in rows if r.at_risk),
        at_risk_without_pathway=sum(r.files for r in rows if r.at_risk and not r.pathway),
        with_pathway=sum(r.files for r in rows if r.pathway),
        migrated=done.migrated, migrations_failed=len(done.failed), at_risk_listed=bool(at_risk))


@dataclass
class Reidentified:
    engine: str
    engine_version: str
    signature_version: str
    checked: int = 0
    changed: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def reidentify(repo: Repository, engine: str | None = None, jobs: int = 2, batch: int = 2000,
               progress: ProgressFn | None = None) -> Reidentified:
    """Identify again every stored file last identified by another engine, engine version or
    signature version (read from the hot copy; no AIP is rewritten).

    The catalog's format columns are updated, and a PREMIS "format identification" event is
    recorded for each file whose PUID changed, in one transaction per batch.
    """
    eng = engine or repo.policy.engine
    ident = get_identifier(eng)
    out = Reidentified(eng, ident.engine_version, ident.signature_version)
    agent = f"{ident.name}/{ident.engine_version}"
    with repo.writing():
        cat = repo.catalog
        total = cat.count_stale_identifications(eng, ident.engine_version, ident.signature_version)
        after = 0
        while True:
            rows = cat.stale_identifications(eng, ident.engine_version, ident.signature_version, after, batch)
            if not rows:
                break
            after = rows[-1]["rowid"]
            paths = [repo.hot.object_path(r["aip_id"]) / r["content_path"] for r in rows]
            results = identify_many(paths, eng, jobs)
            events = []
            for r, fmt in zip(rows, results, strict=True):
                if fmt.puid != r["puid"]:
                    change = {"aip_id": r["aip_id"], "version": r["version"], "path": r["logical_path"],
                              "old": r["puid"] or "", "new": fmt.puid}
                    out.changed.append(change)
                    events.append(Event("format identification", "success",
                                        f"{r['logical_path']}: {change['old'] or '(none)'} -> {fmt.puid} "
                                        f"({fmt.name}) by {ident.name} {ident.engine_version} "
                                        f"({ident.signature_version}); was {r['engine']} "
                                        f"{r['engine_version']} ({r['signature_version']})",
                                        agent, r["aip_id"], r["version"]))
            cat.update_formats([(r["rowid"], fmt) for r, fmt in zip(rows, results, strict=True)], events)
            out.checked += len(rows)
            if progress:
                progress("identify", out.checked, total)
    return out
