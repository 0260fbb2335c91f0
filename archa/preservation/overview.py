"""The repository at a glance: what `archa status` shows and `archa report` draws.

Everything comes from the catalog's per-AIP and per-copy rows (`cat.reports`; never per file,
except the format profile, which `archa report` alone asks for), so it answers in well under a second
for hundreds of thousands of files. `needs_person` lists what someone must act on: locations
this node cannot reach, rejected transfers nobody acknowledged, failed migrations, copies
damaged or missing, copies never audited or overdue, copies on fewer failure domains than
the placement wants, versions short of their copies, destructions left unfinished,
originators over quota.

Sizes have one name each, everywhere archa shows them: *payload* is the records' files as
submitted (the payload of the heads: no bag tag files, no metadata archa adds); *stored* is
one copy of every version as the hot location keeps it (what each version added, archa's
METS, PREMIS and inventories included); a location's bytes are what its copies take there
(a packed location's compressed archives).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from archa.metadata.records import PRESERVATION
from archa.repository.repo import Repository
from archa.repository.watchers import watchers


@dataclass
class Overview:
    aips: int = 0
    removed: int = 0  # destroyed or transferred to an archive
    payload_files: int = 0  # the payload of the active AIPs' heads (module docstring: sizes)
    payload_bytes: int = 0
    stored_bytes: int = 0  # one copy of every version of the active AIPs, at the hot location
    locations: list[dict[str, Any]] = field(default_factory=list)
    copies: dict[str, int] = field(default_factory=dict)  # ok / damaged / missing
    audits_overdue: int = 0
    never_audited: int = 0
    not_stored: int = 0  # versions short of the copies the placement policy wants
    destroying: list[str] = field(default_factory=list)
    retention_due: dict[str, int] = field(default_factory=dict)  # sign -> records due this year
    holds: int = 0
    proposals_open: int = 0
    originators: list[dict[str, Any]] = field(default_factory=list)
    over_quota: list[str] = field(default_factory=list)
    last_failures: list[dict[str, Any]] = field(default_factory=list)
    shared_domains: dict[str, list[str]] = field(default_factory=dict)  # one disk/endpoint, several locations
    failure_domains: int = 0  # distinct disks or endpoints the locations are on
    copies_wanted: int = 0  # copies the placement policy wants of each version
    rejected_transfers: list[dict[str, Any]] = field(default_factory=list)  # not acknowledged: id, source, ...
    pending: list[str] = field(default_factory=list)  # "AIP vN" in storage, not yet in the catalog
    unreachable: dict[str, str] = field(default_factory=dict)  # location -> why this node cannot reach it
    log_ahead: dict[str, str] = field(default_factory=dict)  # location -> what its event log holds that the catalog lacks
    log_gaps: dict[str, str] = field(default_factory=dict)  # location -> what its copy of the event log lacks
    journal_triggers: list[str] = field(default_factory=list)  # journal triggers missing or altered
    unsigned_events: list[int] = field(default_factory=list)  # with a seal key: events not signed with it
    seal_key: str = ""  # the key file archa.toml names ("": none, so forged catalog rows cannot be told)
    seal_key_problem: str = ""  # this node's key is not the repository's (eventlog.seal_key_problem)
    node: str = ""  # this node's name, when the catalog is shared by several
    migrations_failed: list[dict[str, str]] = field(default_factory=list)  # aip_id, source: last try failed
    policy_not_shared: bool = False  # this node's archa.toml [policy] differs from the shared one (unused)
    watchers: list[dict[str, Any]] = field(default_factory=list)  # drop-folder watchers' heartbeats (watchers.py)
    needs_person: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def overview(repo: Repository, year: int | None = None) -> Overview:
    """The figures above; `year` (default: this year) for what retention falls due."""
    from archa.preservation.fixity import AuditOptions, select
    from archa.repository.storage import status

    cat = repo.catalog
    figures = cat.reports
    o = Overview()
    o.aips = figures.head_totals()[0]
    o.payload_files, o.payload_bytes = figures.payload_totals()
    o.stored_bytes = figures.stored_total(repo.hot_location)
    o.removed = figures.removed()
    o.destroying = figures.destroying()
    o.locations = [s.as_dict() for s in status(repo)]
    o.copies = {"ok": sum(s["versions_held"] for s in o.locations),
                "damaged": sum(s["damaged"] for s in o.locations),
                "missing": sum(s["missing"] for s in o.locations)}
    due = select(repo, AuditOptions(due=True))
    o.audits_overdue = sum(1 for c in due if c["state"] == "ok" and c["last_audit"])
    o.never_audited = sum(1 for c in due if not c["last_audit"])
    o.not_stored = figures.versions_not_stored()
    this_year = year or datetime.now(UTC).year
    for r in cat.retention_due(this_year):
        o.retention_due[r["sign"]] = o.retention_due.get(r["sign"], 0) + 1
    o.holds = figures.aips_held()
    o.proposals_open = figures.open_proposals()
    o.originators = cat.originators(repo.hot_location)
    o.over_quota = [r["id"] for r in o.originators if r["quota_bytes"] and r["bytes"] > r["quota_bytes"]]
    o.last_failures = figures.last_failures(5)
    o.pending = repo.pending_commits()
    from archa.repository.placement import shared_domains

    o.shared_domains = shared_domains(repo)
    o.failure_domains = len(repo.config.locations) - sum(len(names) - 1 for names in o.shared_domains.values())
    o.copies_wanted = repo.policy.placement.copies
    o.rejected_transfers = figures.rejections_not_acknowledged()
    o.node = repo.config.node
    o.seal_key = repo.config.seal_key
    from archa.repository.eventlog import seal_key_problem

    o.seal_key_problem = seal_key_problem(repo)
    o.unreachable = unreachable(repo)
    o.migrations_failed = migrations(repo).failed
    o.policy_not_shared = repo.policy_not_shared()
    o.watchers = [w.as_dict() for w in watchers(repo.root)]
    from archa.repository.eventlog import log_ahead, log_gaps, unsigned

    o.log_ahead = log_ahead(repo)
    o.log_gaps = log_gaps(repo)
    o.unsigned_events = unsigned(repo)
    from archa.repository.catalog.journal import trigger_problems

    o.journal_triggers = trigger_problems(cat)  # cheap: what `events verify` checks first
    o.needs_person = _attention(o)
    return o


@dataclass
class Migrations:
    """What the `migration` events say: how many files were migrated, and the files whose
    last migration failed (aip_id, source; a later success of a file clears its failures)."""

    migrated: int
    failed: list[dict[str, str]]


def migrations(repo: Repository, originator: str | None = None) -> Migrations:
    """`Migrations` of the active AIPs (of `originator`'s, when given), from the event log.
    The source is the start of an event's detail, as lifecycle/migrate.py writes it:
    `SOURCE -> representations/preservation/...` for a success, `SOURCE: pathway ...` for
    a failure."""
    last: dict[tuple[str, str], str] = {}
    migrated = 0
    for e in repo.catalog.reports.migration_events(originator):
        detail = str(e["detail"])
        if e["outcome"] == "success":
            migrated += 1
            source = detail.split(f" -> {PRESERVATION}/", 1)[0]
        else:
            source = detail.split(": pathway ", 1)[0]
        last[(str(e["aip_id"]), source)] = str(e["outcome"])
    return Migrations(migrated, [{"aip_id": a, "source": s} for (a, s), outcome in sorted(last.items())
                                 if outcome == "failure"])


def unreachable(repo: Repository) -> dict[str, str]:
    """Each location this node cannot reach, and why (a location must be reachable at the same
    path or URL from every node of a repository)."""
    from archa.errors import StorageError

    out = {}
    for loc in repo.config.locations:
        try:
            repo.store(loc).check_reachable()
        except StorageError as e:
            out[loc.name] = e.message
    return out


REJECTIONS_LISTED = 5  # rejected transfers named one by one in `needs_person`; the rest counted


def _attention(o: Overview) -> list[str]:
    """What someone must act on, one line each, with what to run."""
    out = []
    if o.seal_key_problem:
        out.append(f"{o.seal_key_problem}; writing commands refuse to run; give this node the repository's key "
                   "(restore the file from its off-site copy)")
    if o.log_ahead:
        out.append("the catalog is behind the event log the locations keep ("
                   + "; ".join(f"{name}: {why}" for name, why in sorted(o.log_ahead.items()))
                   + "): restored from an older copy, or rows cut from it; writing commands refuse to run; "
                     "archa events verify, then archa catalog rebuild --check and --replace")
    if o.unsigned_events:
        out.append(f"events {', '.join(map(str, o.unsigned_events[:10]))} in the catalog are not signed with the "
                   "seal key (written into the catalog alone, or by a node without the key): writing commands refuse "
                   "to run; archa events verify, then archa catalog rebuild --check and --replace")
    for problem in o.journal_triggers:
        out.append(f"{problem}: the catalog was changed behind archa's back (holds, transfers, proposals may differ "
                   "from what the locations keep); archa events verify names what differs")
    for name, why in sorted(o.log_gaps.items()):
        out.append(f"the copy of the event log at {name} is incomplete ({why}): deleted there; archa events verify "
                   "checks every location's copy, and a rebuild takes the history the locations agree on")
    for name, why in sorted(o.unreachable.items()):
        out.append(f"location {name} cannot be reached from {'node ' + o.node if o.node else 'here'}: {why} "
                   "(mount it at the same path as on the other nodes, or fix its endpoint)")
    for t in o.rejected_transfers[:REJECTIONS_LISTED]:
        more = f" (and {t['findings'] - 1} more finding{'s' if t['findings'] > 2 else ''})" if t["findings"] > 1 else ""
        out.append(f"rejected transfer, not acknowledged: {t['source']} on {t['received'][:10]}: "
                   f"{t['reason'] or 'no finding recorded'}{more}; send it again corrected (or decide it "
                   f"is not needed), then archa transfer ack {t['id']}")
    if len(o.rejected_transfers) > REJECTIONS_LISTED:
        out.append(f"{len(o.rejected_transfers) - REJECTIONS_LISTED} more rejected transfers not acknowledged: "
                   "archa status --json lists them all (rejected_transfers)")
    if o.migrations_failed:
        out.append(f"{len(o.migrations_failed)} files whose migration failed (the originals are kept): "
                   "archa status --json lists them (migrations_failed), archa events list --aip ID says why; "
                   "fix the tool or the pathway, then archa migrate ID")
    if o.policy_not_shared:
        out.append(f"the [policy] in archa.toml of node {o.node} is not the repository's policy (the catalog holds that) "
                   "and is not used: make it every node's with `archa policy share`, or remove it")
    if o.copies["damaged"]:
        out.append(f"{o.copies['damaged']} damaged copies: archa repair")
    if o.copies["missing"]:
        out.append(f"{o.copies['missing']} missing copies: archa storage sync (archa repair for a hot copy)")
    if o.never_audited:
        out.append(f"{o.never_audited} copies never audited: archa fixity audit (it takes them first; "
                   "run it nightly from cron or a systemd timer, see docs/cli.md)")
    if o.audits_overdue:
        out.append(f"{o.audits_overdue} copies overdue for their fixity audit: archa fixity audit")
    if o.shared_domains and o.failure_domains < o.copies_wanted:
        shared = "; ".join(f"{', '.join(names)} share one failure domain ({domain})"
                           for domain, names in sorted(o.shared_domains.items()))
        out.append(f"{shared}: the {o.copies_wanted} copies each version needs are on {o.failure_domains} "
                   f"disk{'' if o.failure_domains == 1 else 's'} or endpoint{'' if o.failure_domains == 1 else 's'}, "
                   "and one failing loses them all; add a location on another disk or an S3 endpoint "
                   "(archa storage add), then archa storage sync")
    if o.not_stored:
        out.append(f"{o.not_stored} versions short of the copies the policy wants: archa storage sync")
    if o.destroying:
        out.append(f"{len(o.destroying)} destructions unfinished: archa disposal destroy PROPOSAL --yes")
    if o.pending:
        out.append(f"{len(o.pending)} AIP versions in storage not yet in the catalog: run a writing command "
                   "(archa storage sync) to record them")
    if o.over_quota:
        out.append(f"over quota: {', '.join(o.over_quota)}")
    for w in o.watchers:
        where = f"the drop-folder watcher of {w['drop']} on {w['host']} (pid {w['pid']})"
        if not w["alive"]:
            out.append(f"{where} stopped without a word: no heartbeat since {w['heartbeat']} (state then: "
                       f"{w['state']}, backlog {w['backlog']}); start it again (systemctl restart archa-intake); "
                       "the packages it had in hand are finished by the next run")
        elif w["state"].startswith("disk full"):
            out.append(f"{where} is backing off, a disk is full: {w['state']}; free space where the repository "
                       "and its staging area are; it goes on by itself")
        if w.get("log_behind"):
            out.append(f"{where}: {w['log_behind']}; the packages are stored, the next writing command writes "
                       "the events that location missed once it can be written (archa events verify shows it)")
    return out
