"""Fixity audits: every copy re-read and checked against the catalog, rot found with the
exact file and digest.

This module chooses the copies to audit (due by the policy's intervals, within the budgets
of time and bytes), records each audit (an event and the copy's state) and names the copies
the placement policy lacks (shortfalls.py). Auditing one copy is the repository's
mechanism (archa/repository/copyaudit.py: `audit_copy`, `CopyAudit`, `Throttle`), shared
with repair, DIP export and placement.

Finding codes are stable (docs/design.md lists them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from archa.errors import UsageError
from archa.preservation.shortfalls import Shortfall, shortfalls
from archa.repository.copyaudit import CopyAudit, Throttle, audit_copy
from archa.repository.events import ARCHA_AGENT, Event
from archa.repository.repo import Repository, writes_beside

ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class AuditOptions:
    """Which copies an audit reads (due only, or all, by AIP and location), its budgets
    (seconds, bytes, bytes/s) and threads."""

    due: bool = True  # False: every copy selected by the filters
    aip: str | None = None
    location: str | None = None
    max_time: float | None = None  # seconds
    max_bytes: int | None = None
    rate: float | None = None  # bytes/s
    jobs: int = 4


@dataclass(frozen=True)
class NextDue:
    """When the first copy on a tier falls due for its next audit (its last audit plus the
    tier's `fixity.interval_days`), and how many copies fall due that same day."""

    tier: str
    due: str  # ISO 8601 time, UTC
    copies: int
    interval_days: int

    def as_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "due": self.due, "copies": self.copies, "interval_days": self.interval_days}


@dataclass
class AuditSummary:
    """What an audit found: each copy's result, copies and versions missing, copies left
    for the next run, and the event log's copies."""

    audits: list[CopyAudit] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)  # copies missing, versions not stored
    not_reached: int = 0  # selected copies left for the next run by a budget
    busy: int = 0  # selected copies another command was writing: left for the next run
    seconds: float = 0.0
    nothing_due: bool = False  # --due selected no copy: every copy the filters select was audited in time
    next_due: list[NextDue] = field(default_factory=list)  # with nothing_due: what falls due next, per tier
    # the locations' copies of the event log: segments missing (every audit, from the listing) and,
    # with --all, every copy read and checked against the catalog ("LOCATION: what", as events verify says)
    log_problems: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[CopyAudit]:
        return [a for a in self.audits if a.state != "ok"]

    @property
    def missing_copies(self) -> list[Shortfall]:
        return [s for s in self.shortfalls if s.location]

    @property
    def not_stored(self) -> list[Shortfall]:
        return [s for s in self.shortfalls if not s.location]

    @property
    def ok(self) -> bool:
        """Every audited copy is sound and every copy the placement policy requires is there."""
        return not self.failures and not self.shortfalls and not self.log_problems

    def as_dict(self) -> dict[str, Any]:
        nbytes = sum(a.bytes for a in self.audits)
        return {"ok": self.ok, "copies": len(self.audits), "files": sum(a.files for a in self.audits),
                "bytes": nbytes, "seconds": round(self.seconds, 3),
                "mb_per_s": round(nbytes / self.seconds / 1e6, 1) if self.seconds else 0.0,
                "failures": len(self.failures), "missing_copies": len(self.missing_copies),
                "not_stored": len(self.not_stored), "not_reached": self.not_reached, "busy": self.busy,
                "nothing_due": self.nothing_due, "next_due": [n.as_dict() for n in self.next_due],
                "audits": [a.as_dict() for a in self.audits],
                "shortfalls": [s.as_dict() for s in self.shortfalls], "log_problems": self.log_problems}


def _interval(repo: Repository, tier: str) -> timedelta:
    return timedelta(days=repo.policy.fixity.interval_days[tier])


def select(repo: Repository, opts: AuditOptions) -> list[dict[str, Any]]:
    """The copies to audit, most urgent first: failed, never audited, then oldest audit."""
    names = {loc.name: loc for loc in repo.config.locations}
    if opts.location and opts.location not in names:
        raise UsageError(f"no storage location named {opts.location!r}", hint="see `archa storage list`")
    rows = [c for c in repo.catalog.all_copies()
            if (opts.aip is None or c["aip_id"] == opts.aip) and (opts.location is None or c["location"] == opts.location)]
    if opts.aip and not rows:
        repo.catalog.live_aip(opts.aip)  # NotFoundError for an unknown id, AipRemoved
    now = datetime.now(UTC)

    def due(c: dict[str, Any]) -> bool:
        if c["state"] != "ok" or not c["last_audit"]:
            return True
        last = datetime.fromisoformat(c["last_audit"])
        return now - last >= _interval(repo, names[c["location"]].tier)

    if opts.due:
        rows = [c for c in rows if due(c)]
    rows.sort(key=lambda c: (c["state"] == "ok", c["last_audit"] is not None, c["last_audit"] or ""))
    return rows


def next_due(repo: Repository, opts: AuditOptions) -> list[NextDue]:
    """Per tier (hot, warm, cold, then any other), when the first of the copies the filters
    select (`opts.aip`, `opts.location`) that are not due yet falls due for its audit, and how
    many fall due that day. Copies due now (failed, never audited, older than the interval)
    are `select`'s, not counted here; a tier without copies is absent."""
    tiers = {loc.name: loc.tier for loc in repo.config.locations}
    first: dict[str, tuple[datetime, int]] = {}
    now = datetime.now(UTC)
    for c in select(repo, AuditOptions(due=False, aip=opts.aip, location=opts.location)):
        if c["state"] != "ok" or not c["last_audit"]:
            continue
        tier = tiers[c["location"]]
        due = datetime.fromisoformat(c["last_audit"]) + _interval(repo, tier)
        if due <= now:
            continue
        earliest, n = first.get(tier, (due, 0))
        if due.date() < earliest.date():
            first[tier] = (due, 1)
        elif due.date() == earliest.date():
            first[tier] = (min(due, earliest), n + 1)
    order = ("hot", "warm", "cold")
    return [NextDue(t, first[t][0].isoformat(timespec="seconds").replace("+00:00", "Z"), first[t][1],
                    repo.policy.fixity.interval_days[t])
            for t in sorted(first, key=lambda t: (order.index(t) if t in order else len(order), t))]


def record_audit(repo: Repository, a: CopyAudit) -> None:
    if a.state == "ok":
        detail = f"{a.files} files, {a.bytes} bytes verified at {a.location}" + "".join(
            f"; warning: {f}" for f in a.findings[:20])
    else:
        detail = f"{a.location}: {len(a.findings)} problem(s): " + "; ".join(str(f) for f in a.findings[:50])
    event = Event("fixity check", "success" if a.state == "ok" else "failure", detail, ARCHA_AGENT, a.aip_id,
                  a.version, a.location)
    repo.catalog.record_audit(a.aip_id, a.version, a.location, a.state, event.time, event)  # one time: rebuildable


@writes_beside
def audit(repo: Repository, opts: AuditOptions, progress: ProgressFn | None = None) -> AuditSummary:
    """Audit the selected copies within the budgets; record an event and the state of each.
    Whatever the budgets, `summary.shortfalls` names every copy the placement policy requires
    that the catalog does not record and every version not stored (shortfalls.py). When
    `opts.due` selects no copy, `summary.nothing_due` is set and `summary.next_due` says, per
    tier, when the next copies fall due.

    Takes the repository lock itself, shared: ingests, updates, syncs and repairs of other
    AIPs go on meanwhile. Each copy is audited holding its AIP's lock; a copy whose AIP
    another command is writing is left for the next audit (`busy`). StorageError (a
    location that cannot be reached) propagates after what was audited has been recorded."""
    t0 = time.monotonic()
    rows = select(repo, opts)
    names = {loc.name: loc for loc in repo.config.locations}
    summary = AuditSummary()
    summary.shortfalls, summary.busy = shortfalls(repo, opts.aip, opts.location)  # whatever the budgets
    if opts.due and not rows:
        summary.nothing_due, summary.next_due = True, next_due(repo, opts)
    throttle = Throttle(opts.rate)
    done_bytes = 0
    for i, row in enumerate(rows):
        if (opts.max_time is not None and time.monotonic() - t0 >= opts.max_time) or \
                (opts.max_bytes is not None and done_bytes >= opts.max_bytes):
            summary.not_reached = len(rows) - i
            break
        with repo.aip_lock_if_free(row["aip_id"]) as free:
            now = repo.catalog.copy(row["aip_id"], row["version"], row["location"]) if free else None
            if now is None:  # being written by another command (or gone meanwhile): the next audit
                summary.busy += int(not free)
                continue
            a = audit_copy(repo, now, names[row["location"]], opts.jobs, throttle)
            record_audit(repo, a)
        summary.audits.append(a)
        done_bytes += a.bytes
        if progress:
            progress("audit", i + 1, len(rows))
    summary.log_problems = _log_problems(repo, opts)
    summary.seconds = time.monotonic() - t0
    return summary


def _log_problems(repo: Repository, opts: AuditOptions) -> list[str]:
    """What is wrong with the locations' copies of the event log (of `opts.location`'s, when
    given): segments missing, from the listing, on every audit; with `--all` (and no AIP
    named) every copy read through and compared with the catalog, as `events verify` does:
    an edited or truncated segment too. Said, never repaired here: a rebuild takes the
    history the locations agree on."""
    from archa.repository.eventlog import log_gaps, verify_anchors

    wanted = (lambda name: name == opts.location) if opts.location else (lambda _name: True)
    out = [f"{name}: {why}" for name, why in sorted(log_gaps(repo).items()) if wanted(name)]
    if not opts.due and opts.aip is None:
        problems, _behind = verify_anchors(repo)
        seen = set(out)
        for p in problems:
            line = f"{p.location}: event {p.seq}: {p.problem}"
            if wanted(p.location) and line not in seen:
                out.append(line)
                seen.add(line)
    return out
