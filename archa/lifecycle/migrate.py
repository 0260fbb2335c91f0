"""Preservation actions: `archa migrate`.

For each payload file of an AIP's newest version whose format has a pathway (the policy's
`[migration]`, or `pathways` for one run), the pathway's tool runs in a work folder on a
verified copy of the file, and its output is verified (preservation/pathways.py). The
verified outputs become the AIP's next version (lifecycle/versions.py):

- the originals untouched; each copy at `representations/preservation/data/<the
  original's path><extension>` (METS fileGrp `preservation`);
- a PREMIS `migration` event per file, its tool (and version) the executing program, the
  original and the copy its objects; the copy's PREMIS object has a `derivation` / `has
  source` relationship to the original;
- `metadata/preservation/migrations.json`: what was derived from what (the original's path
  and digest, the pathway, the tool and its version, the event), carried into every later
  version.

A file whose path, digest and pathway are in that record is not migrated again: a re-run
makes no version. A tool that fails, or an output that does not verify, is a `migration`
event with outcome `failure` (in the version made for the others, else in the log alone),
the original stays the only copy, and the result lists it. Nothing half-made is stored:
outputs stay in the work folder until the version is committed, and are removed with it.

A copy of the new version that cannot be written (a location out of reach) is listed in the
result (`copy_failures`, `stored`) and makes it not ok, as for `aip update`. A run killed after
its version reached storage is rolled forward by the next command; the next `migrate` of that
AIP then finds nothing to migrate and writes the copies the version still lacks (`finished`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from archa.errors import NotFoundError, RepositoryError, UsageError
from archa.lifecycle.versions import MIGRATIONS, UpdateOptions, parse_migrations, update_aip, verified_bytes
from archa.metadata.premis import Agent
from archa.metadata.records import PRESERVATION, preservation_target
from archa.preservation.pathway_policy import NONE, list_pathways, pathway_table
from archa.preservation.pathways import PATHWAYS, Outcome, run_pathway
from archa.repository.copying import CopyJob, copy_one
from archa.repository.events import Event, now_iso
from archa.repository.placement import SyncResult, complete_copies
from archa.repository.repo import Repository

__all__ = ["NONE", "BatchResult", "MigrateOptions", "MigrateResult", "list_pathways", "migrate_aip", "migrate_all",
           "pathway_table", "read_record"]


@dataclass(frozen=True)
class MigrateOptions:
    aip_id: str
    pathways: Mapping[str, str] = field(default_factory=dict)  # PUID -> pathway (or "none"), for this run
    version: str | None = None  # the version whose files to migrate (default: the newest)
    dry_run: bool = False
    user: str | None = None
    engine: str | None = None
    reason: str = ""  # the version message (default: says which pathways ran)


@dataclass
class MigrateResult:
    aip_id: str
    from_version: str
    version: str = ""  # the version made ("" when none was)
    planned: list[dict[str, str]] = field(default_factory=list)  # source, puid, pathway, target
    migrated: list[dict[str, str]] = field(default_factory=list)  # + puid_out, tool, detail
    failed: list[dict[str, str]] = field(default_factory=list)  # source, pathway, problem
    already: int = 0  # files migrated by the same pathway before (unchanged since)
    dry_run: bool = False
    stored: bool = True  # the version made (or finished) meets the placement policy
    copies: list[str] = field(default_factory=list)  # the locations holding the version made
    copy_failures: list[dict[str, str]] = field(default_factory=list)  # location, error, hint
    finished: list[str] = field(default_factory=list)  # copies of a migrated head an earlier run left unwritten

    @property
    def ok(self) -> bool:
        return not self.failed and not self.copy_failures and self.stored

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


def read_record(repo: Repository, aip_id: str, version: str) -> dict[str, Any]:
    """The version's record of migrations (empty when it has none), read verified:
    RepositoryError when the hot copy does not match the catalog or is not such a record."""
    row = repo.catalog.file(aip_id, version, MIGRATIONS)
    if row is None:
        return {"migrations": []}
    obj = repo.hot.object_path(aip_id)
    data = verified_bytes(obj, row, _algorithm(repo, aip_id), aip_id)
    return parse_migrations(data, obj / row["content_path"], aip_id)


def _algorithm(repo: Repository, aip_id: str) -> str:
    """The AIP's digest algorithm (one for every version of an OCFL object)."""
    return str(repo.catalog.versions(aip_id)[0]["digest_algorithm"])


def migrate_aip(repo: Repository, options: MigrateOptions,
                progress: Callable[[str, int, int], None] | None = None) -> MigrateResult:
    """Migrate what the pathways take in the AIP's newest version (see the module
    docstring). NotFoundError for an unknown or removed AIP; UsageError for an unknown
    pathway; RepositoryError when a stored original does not match the catalog. Under the
    AIP's lock (beside other work on other AIPs), so two runs on one AIP never race."""
    if options.dry_run:
        return _migrate(repo, options, progress)
    with repo.writing(shared=True), repo.aip_lock(options.aip_id):
        repo.sweep_staging()  # a run of this AIP killed while we waited for its lock: its commit first
        return _migrate(repo, options, progress)


def _migrate(repo: Repository, options: MigrateOptions,
             progress: Callable[[str, int, int], None] | None) -> MigrateResult:
    cat = repo.catalog
    aip = cat.live_aip(options.aip_id)
    head = aip["head"]
    source_version = options.version or head
    if source_version not in {v["version"] for v in cat.versions(options.aip_id)}:
        raise NotFoundError(f"{options.aip_id} has no version {source_version}",
                            hint=f"see `archa aip show {options.aip_id}` for its versions")
    result = MigrateResult(options.aip_id, source_version, dry_run=options.dry_run)
    table = pathway_table(repo.policy.migration, options.pathways)
    record = read_record(repo, options.aip_id, head)
    done = {(m["source"], m["source_digest"], m["pathway"]) for m in record.get("migrations", [])}
    todo: list[dict[str, Any]] = []
    for f in cat.files(options.aip_id, source_version):
        if f["role"] != "payload" or f["logical_path"].startswith(f"{PRESERVATION}/"):
            continue
        name = table.get(f["puid"])
        if name is None:
            continue
        if (f["logical_path"], f["digest"], name) in done:
            result.already += 1
            continue
        todo.append({**f, "pathway": name})
        result.planned.append({"source": f["logical_path"], "puid": f["puid"], "pathway": name,
                               "target": preservation_target(f["logical_path"], PATHWAYS[name].extension or ".*")})
    if options.dry_run:
        return result
    if not todo:
        _finish(repo, options.aip_id, head, result)
        return result
    work = repo.new_work_dir()
    try:
        adds, events, agents, entries = _run(repo, options, todo, work, result, progress)
        engine = options.engine or repo.policy.engine
        if adds:
            entries = [m for m in record.get("migrations", [])
                       if m["target"] not in {e["target"] for e in entries}] + entries
            data = json.dumps({"aip_id": options.aip_id, "migrations": entries}, indent=1, ensure_ascii=False,
                              sort_keys=True).encode("utf-8") + b"\n"
            names = sorted({e["pathway"] for e in result.migrated})
            reason = options.reason or f"preservation copies made by {', '.join(names)} ({len(adds)} files)"
            updated = update_aip(repo, UpdateOptions(
                options.aip_id, reason, add=tuple(adds), user=options.user, engine=engine,
                metadata_files=((MIGRATIONS, data),), events=tuple(events), agents=tuple(agents)))
            result.version = updated.version
            result.stored, result.copies, result.copy_failures = \
                updated.stored, updated.copies, updated.copy_failures
        elif events:  # every file failed: the failures are recorded, no version is made
            cat.record_events([replace(e, aip_id=options.aip_id, version=head) for e in events])
    finally:
        repo.release_work_dir(work)
    return result


def _finish(repo: Repository, aip_id: str, head: str, result: MigrateResult) -> None:
    """Nothing to migrate: when the head is a version migrate made (its record of migrations
    new in it) and a location lacks its copy (the run that made it was killed, or a location
    was out of reach), write those copies now (the hot copy re-read first)."""
    cat = repo.catalog
    row = cat.file(aip_id, head, MIGRATIONS)
    if row is None or head == "v1":
        return
    before = cat.file(aip_id, f"v{int(head[1:]) - 1}", MIGRATIONS)
    if before is not None and before["digest"] == row["digest"]:
        return  # the record was carried: another command made this version
    have = {c["location"] for c in cat.copies(aip_id) if c["version"] == head and c["state"] == "ok"}
    if all(loc.name in have for loc in repo.config.locations):
        return
    copies = SyncResult()
    complete_copies(repo, aip_id, head, copies)
    result.finished = [w["location"] for w in copies.written]
    result.copy_failures = copies.failed
    (v,) = [v for v in cat.versions(aip_id) if v["version"] == head]
    result.stored = bool(v["stored"])
    result.copies = sorted(c["location"] for c in cat.copies(aip_id) if c["version"] == head and c["state"] == "ok")


def _run(repo: Repository, options: MigrateOptions, todo: list[dict[str, Any]], work: Path, result: MigrateResult,
         progress: Callable[[str, int, int], None] | None
         ) -> tuple[list[tuple[Path, str]], list[Event], list[Agent], list[dict[str, Any]]]:
    """Run each file's pathway on a verified copy; (files to add, events, agents, record entries)."""
    engine = options.engine or repo.policy.engine
    alg = _algorithm(repo, options.aip_id)
    adds: list[tuple[Path, str]] = []
    events: list[Event] = []
    agents: dict[str, Agent] = {}
    entries: list[dict[str, Any]] = []
    for i, f in enumerate(todo):
        if progress:
            progress("migrate", i, len(todo))
        source, name = f["logical_path"], f["pathway"]
        folder = work / f"m{i:06d}"
        (folder / "in").mkdir(parents=True)
        (folder / "out").mkdir()
        src = folder / "in" / PurePosixPath(source).name
        _copy_verified(repo, options.aip_id, f, src, alg)
        outcome = run_pathway(name, src, folder / "out", source_puid=f["puid"], engine=engine,
                              timeout=repo.policy.migration.timeout)
        agent = Agent("urn", f"{outcome.tool}/{outcome.tool_version or 'not installed'}", outcome.tool, "software",
                      outcome.tool_version)
        if not outcome.ok or outcome.output is None:
            result.failed.append({"source": source, "pathway": name, "problem": outcome.problem})
            events.append(Event("migration", "failure", f"{source}: pathway {name} failed: {outcome.problem}",
                                agent.id_value, objects=(source,)))
            agents.setdefault(agent.id_value, agent)
            continue
        target = preservation_target(source, outcome.output.suffix)
        event = Event("migration", "success", f"{source} -> {target}: pathway {name}; {outcome.detail}",
                      agent.id_value, objects=(source, target))
        events.append(event)
        agents.setdefault(agent.id_value, agent)
        adds.append((outcome.output, target))
        entries.append(_entry(f, name, target, outcome, event))
        result.migrated.append({"source": source, "pathway": name, "target": target, "puid": outcome.puid,
                                "tool": f"{outcome.tool} {outcome.tool_version}", "detail": outcome.detail})
    if progress:
        progress("migrate", len(todo), len(todo))
    return adds, events, list(agents.values()), entries


def _entry(f: dict[str, Any], name: str, target: str, outcome: Outcome, event: Event) -> dict[str, Any]:
    return {"source": f["logical_path"], "source_digest": f["digest"], "source_puid": f["puid"],
            "source_version": f["version"],
            "pathway": name, "target": target, "target_puid": outcome.puid, "tool": outcome.tool,
            "tool_version": outcome.tool_version, "event": event.id, "time": now_iso()}


def _copy_verified(repo: Repository, aip_id: str, f: dict[str, Any], dest: Path, alg: str) -> None:
    """Copy the stored original to `dest`, hashing it on the way (the copy pipeline's
    `copy_one`): a copy that does not match the catalog is never migrated (the copy's rot
    would be carried into the new version)."""
    path = repo.hot.object_path(aip_id) / f["content_path"]
    copied = copy_one(CopyJob(f["logical_path"], path, dest, int(f["size"]), (alg,), durable=False))
    if copied.error:
        raise RepositoryError(f"{path}: the hot copy {copied.error}", path=str(path),
                              hint=f"repair the AIP first: archa repair {aip_id}")
    if copied.digests[alg] != f["digest"]:
        raise RepositoryError(f"{path}: does not match the catalog ({f['logical_path']})", path=str(path),
                              hint=f"audit and repair the AIP first: archa fixity audit --aip {aip_id} --all; "
                                   f"archa repair {aip_id}")


@dataclass
class BatchResult:
    results: list[MigrateResult] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)  # aip_id, error (an AIP that could not be done)

    @property
    def ok(self) -> bool:
        return not self.errors and all(r.ok for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "aips": [r.as_dict() for r in self.results], "errors": self.errors,
                "versions_made": sum(1 for r in self.results if r.version),
                "migrated": sum(len(r.migrated) for r in self.results),
                "failed": sum(len(r.failed) for r in self.results)}


def migrate_all(repo: Repository, *, puid: str | None = None, originator: str | None = None,
                pathways: Mapping[str, str] = {}, dry_run: bool = False, user: str | None = None,
                progress: Callable[[str, int, int], None] | None = None) -> BatchResult:
    """`migrate_aip` on every active AIP whose newest version holds a format a pathway takes
    (only `puid` with it; only `originator`'s AIPs with it), one AIP at a time, each its own
    version: a run killed part-way is resumed by running it again (what is done is skipped).
    An AIP that cannot be done (damaged, locked) is listed and the run goes on."""
    table = pathway_table(repo.policy.migration, pathways)
    puids = [p for p in table if puid is None or p == puid]
    if puid is not None and puid not in table:
        raise UsageError(f"no pathway takes {puid}", hint="give one with --pathway PUID=NAME, or see "
                                                          "`archa migrate --list-pathways`")
    if originator:
        repo.catalog.originator(originator, repo.hot_location)  # NotFoundError
    aips = repo.catalog.reports.heads_holding(puids, originator)
    out = BatchResult()
    # a run limited to one format sends only that format to its pathway
    over = {p: table[p] if p == puid else NONE for p in table} if puid else pathways
    for n, aip_id in enumerate(aips):
        if progress:
            progress("aips", n, len(aips))
        try:
            out.results.append(migrate_aip(repo, MigrateOptions(aip_id, over, dry_run=dry_run, user=user)))
        except (NotFoundError, RepositoryError) as e:
            out.errors.append({"aip_id": aip_id, "error": e.message})
    if progress:
        progress("aips", len(aips), len(aips))
    return out

