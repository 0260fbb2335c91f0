"""Access conditions of records (archa/repository/access.py holds the state and its events):
setting them (`set_access`, `archa access set`), reading them with their history
(`access_report`, `archa access show`), and the guard every export to the public asks first
(`access_problems`), with the exports that ask it (`export_for`, `export_several`).

A record goes to the public only when its effective status is public (an embargo whose
end date has passed is public) and the catalog's `access` table, the catalog's event log and
the log anchored at every reachable location agree on its state: someone with write access
to the catalog alone (an UPDATE of the table) cannot open a restricted record. A record
ingested before access conditions were recorded (no row, no event anywhere) is judged by
what its stored head version states (`describe`, read and verified like every export),
else by the policy's default for its kind.

An export for staff (the default) hands out everything; every export records its audience
and who asked in its `dissemination` event.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archa.errors import UsageError, printable, utf8_text
from archa.repository.access import (
    EVENT_TYPE,
    PUBLIC,
    RESTRICTED,
    AccessState,
    access_event,
    event_detail,
    initial_state,
    parse_date,
    parse_detail,
    replay,
)
from archa.repository.copying import ProgressFn
from archa.repository.repo import Repository, writes_beside

if TYPE_CHECKING:
    from archa.access.export import ExportOptions, ExportResult
    from archa.metadata.description import Description

__all__ = ["AUDIENCES", "AccessReport", "NotPublic", "SeveralResult", "access_problems", "access_report",
           "dip_name_of", "export_for", "export_iiif_for", "export_several", "refused_for",
           "set_access", "stated_access"]

AUDIENCES = ("staff", "public")
BAG_INFO = "metadata/submission/bag-info.txt"
_SOURCES = {"package": "as its package states", "policy": "the policy's default for its kind of record",
            "set": "set by an archivist"}


class NotPublic(UsageError):
    """An export to the public asked for records that may not go to the public; `refused`:
    AIP id -> why. Nothing was written."""

    def __init__(self, refused: dict[str, str]) -> None:
        listed = "; ".join(f"{a}: {why}" for a, why in sorted(refused.items()))
        one = next(iter(refused)) if len(refused) == 1 else ""
        super().__init__(f"not exported to the public: {listed}; nothing was written",
                         hint=(f"export it for staff (--audience staff), or make it public with "
                               f"`archa access set {one or 'ID'} --public --reason TEXT`"))
        self.refused = dict(sorted(refused.items()))

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "refused": [{"aip_id": a, "why": w} for a, w in self.refused.items()]}


def _who(agent: str | None) -> str:
    return utf8_text(agent or getpass.getuser())


# --- setting ----------------------------------------------------------------------------------

@writes_beside
def set_access(repo: Repository, aip_id: str, public: bool, reason: str, until: str | None = None,
               agent: str | None = None) -> AccessState:
    """Make the AIP (its whole id) public, or restricted (with `until`, an ISO date: embargoed
    until that day, public after it); records the row and a `policy assignment` event (detail
    `event_detail(state)`, source `set`, agent `user:WHO`, WHO `agent` or the OS user) at
    once, and anchors it in every location (takes the repository lock itself).

    UsageError: no reason, `until` with `public`, `until` not a date or in the past (an
    embargo that has ended: make it public); NotFoundError for an unknown id, AipRemoved
    for a destroyed or transferred record."""
    cat = repo.catalog
    head = cat.live_aip(aip_id)["head"]  # NotFoundError, AipRemoved
    reason = " ".join("".join(c if ord(c) >= 32 else " " for c in utf8_text(reason)).split())  # no NUL
    if not reason:
        raise UsageError("a change of access needs a reason", hint="give --reason TEXT (e.g. the decision or law)")
    end = ""
    if until:
        if public:
            raise UsageError("--until is the end of a restriction (an embargo): it goes with --restricted",
                             hint="a public record has no end date; leave --until out")
        try:
            end = parse_date(until)
        except ValueError as e:
            raise UsageError(f"--until {until}: {e}", hint="give the last day of the embargo, e.g. 2031-12-31") from None
        if end < dt.datetime.now(dt.UTC).date().isoformat():
            raise UsageError(f"--until {end} is in the past: an embargo that has ended leaves the record public",
                             hint=f"make it public: `archa access set {aip_id} --public --reason TEXT`")
    state = AccessState(PUBLIC if public else RESTRICTED, reason, end, "set")
    cat.record_index.set_access(aip_id, state, [access_event(state, aip_id, head, f"user:{_who(agent)}")])
    return state


# --- reading ----------------------------------------------------------------------------------

def stored_description(repo: Repository, aip_id: str, head: str) -> Description:
    """What version `head` of the AIP says of its record (`describe`), from its bag-info and
    metadata files read and verified against the catalog like every export (from the
    cheapest healthy copy)."""
    from archa.access.fetch import Wanted, fetch_small
    from archa.metadata.description import MAX_XML, describe
    from archa.repository.retention import parse_bag_info

    cat = repo.catalog
    alg = next(str(v["digest_algorithm"]) for v in cat.versions(aip_id) if v["version"] == head)
    rows = {r["logical_path"]: r for r in cat.files(aip_id, head)}

    def read(path: str) -> bytes | None:
        r = rows.get(path)
        if r is None or r["size"] > MAX_XML:
            return None
        data, _report = fetch_small(repo, aip_id, alg, [Wanted(path, r["content_path"], r["digest"], r["size"])])
        return data.get(path)

    raw = read(BAG_INFO)
    info = parse_bag_info(raw.decode("utf-8", "replace")) if raw is not None else []
    return describe(info, read, list(rows))


def stated_access(repo: Repository, aip_id: str) -> AccessState:
    """What the AIP's stored head version states of its access (source `package`, read by
    `stored_description`), else the policy's default for its kind (source `policy`): the
    state of a record ingested before access conditions were recorded."""
    d = stored_description(repo, aip_id, repo.catalog.aip(aip_id)["head"])
    return initial_state(d.access, d.kind, repo.policy.access.default_for)


@dataclass
class AccessReport:
    """An AIP's access conditions as `archa access show` prints them: the state, its
    effective status today and the words for it, whether the catalog records it (False: an
    AIP ingested before access conditions were recorded, its state read from its stored
    version), its history (the access events, oldest first: time, agent, status, until,
    reason, source) and why a public export refuses it today (`access_problems`: a table
    that disagrees with the logs shows here, not only as the table's state)."""

    aip_id: str
    status: str
    effective: str
    shown: str
    reason: str
    until: str
    source: str
    recorded: bool
    history: list[dict[str, str]] = field(default_factory=list)
    refused: str = ""  # why `dip export --audience public` refuses it today ("" when it would go out)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def access_report(repo: Repository, aip_id: str) -> AccessReport:
    """The access conditions of the AIP (its whole id) and their history (see AccessReport).
    NotFoundError for an unknown id; a removed record is reported too (its events stay)."""
    cat = repo.catalog
    cat.aip(aip_id)  # NotFoundError
    history = []
    for e in cat.events(aip_id):
        s = parse_detail(str(e.get("detail") or "")) if e.get("type") == EVENT_TYPE else None
        if s is not None:
            history.append({"time": str(e["time"]), "agent": str(e["agent"]), "status": s.status,
                            "until": s.until, "reason": s.reason, "source": s.source})
    rows = cat.record_index.access_rows([aip_id])
    if aip_id in rows:
        state, recorded = rows[aip_id], True
    else:  # ingested before access conditions were recorded: what its stored version states
        cat.live_aip(aip_id)  # AipRemoved: nothing is left to read
        state, recorded = stated_access(repo, aip_id), False
    refused = access_problems(repo, [aip_id]).get(aip_id, "")  # the guard's word, not the table's alone
    return AccessReport(aip_id, state.status, state.effective(), state.describe(), state.reason, state.until,
                        state.source, recorded, history, refused)


# --- the guard --------------------------------------------------------------------------------

def _words(s: AccessState | None) -> str:
    return "nothing" if s is None else f"{event_detail(s).removeprefix('access ')}"


def access_problems(repo: Repository, aip_ids: Sequence[str], today: dt.date | None = None) -> dict[str, str]:
    """For each of `aip_ids` that must not be handed to the public, why (absent when it may).
    A record may go to the public only when (a) the `access` table, the catalog's event log
    and the log anchored at every reachable location (compared as far as the location holds
    it) agree on its access state, and (b) that state is public on `today` (an embargo whose
    end date has passed is). A disagreement refuses: the catalog was changed behind archa's
    back (a row UPDATEd, deleted or inserted outside archa). A record with no row and no
    access event anywhere is judged by what its stored version states (`stated_access`)."""
    from archa.repository.logscan import repo_seal_key, scan_log

    cat = repo.catalog
    wanted = sorted(set(aip_ids))
    if not wanted:
        return {}
    asked = set(wanted)
    table = cat.record_index.access_rows(wanted)
    catalog_rows = cat.lifecycle.policy_events(wanted)
    by_log = replay(catalog_rows)
    reasons: dict[str, list[str]] = {a: [] for a in wanted}
    for a in wanted:
        if table.get(a) != by_log.get(a):
            reasons[a].append(f"the access table says {_words(table.get(a))}, the catalog's event log "
                              f"{_words(by_log.get(a))}")
    key = repo_seal_key(repo)
    latest = {r["aip_id"]: int(r["seq"]) for r in catalog_rows
              if r.get("type") == EVENT_TYPE and parse_detail(str(r.get("detail") or "")) is not None}
    anchored = 0  # how far the best reachable location holds the log
    for loc in repo.config.locations:
        seen: list[dict[str, Any]] = []

        def keep(row: dict[str, Any], seen: list[dict[str, Any]] = seen) -> None:
            if row.get("type") == EVENT_TYPE and row.get("aip_id") in asked:
                seen.append(row)

        scan = scan_log(repo.store(loc), key, keep)
        if not scan.reachable:
            continue  # nothing to compare there now; the next export that reaches it asks again
        anchored = max(anchored, scan.last)
        at_loc = replay(seen)
        upto = replay(r for r in catalog_rows if r["seq"] <= scan.last)
        for a in wanted:
            if at_loc.get(a) != upto.get(a):
                reasons[a].append(f"the log at {loc.name} says {_words(at_loc.get(a))}, the catalog's "
                                  f"{_words(upto.get(a))} at that point")
    out: dict[str, str] = {}
    for a, seq in latest.items():
        if seq > anchored and a in reasons and not reasons[a]:  # archa anchors what it records as the command ends
            out[a] = (f"its access was last set by event {seq}, which no storage location holds: a command killed "
                      "before it anchored the log leaves such an event, and so does one written into the catalog "
                      f"alone; check who set it (`archa access show {a}`), then anchor the log (`archa storage "
                      "sync`); refused until then")
    for a in wanted:
        if a in out:
            continue
        if reasons[a]:
            out[a] = ("the catalog and the anchored log disagree on its access conditions (" + "; ".join(reasons[a])
                      + "): the catalog was changed behind archa's back; refused (run archa events verify)")
            continue
        state = table.get(a)
        if state is None:  # no row, and (they agree) no event in any log: ingested before access was recorded
            state = stated_access(repo, a)
            if state.source == "policy" and state.status == PUBLIC:
                # the policy is settings a catalog on a server holds: it opens no record by itself
                out[a] = ("its package says nothing of its access and it was stored before access conditions "
                          f"were recorded: make it public with `archa access set {a} --public --reason TEXT`")
                continue
        if state.effective(today) != PUBLIC:
            said = "" if state.source == "policy" and state.reason else \
                f" ({_SOURCES.get(state.source, state.source)})"  # the policy's reason says so already
            out[a] = printable(state.describe(today)) + said
    return out


# --- exports ---------------------------------------------------------------------------------

def _audience(audience: str) -> str:
    if audience not in AUDIENCES:
        raise UsageError(f"--audience {audience!r}: use one of {', '.join(AUDIENCES)}")
    return audience


def refused_for(repo: Repository, aip_ids: Sequence[str], audience: str) -> dict[str, str]:
    """The records of `aip_ids` that may not go to `audience` (AIP id -> why): for the
    public those `access_problems` names; none for staff. UsageError for another audience."""
    return access_problems(repo, aip_ids) if _audience(audience) == "public" else {}


def export_for(repo: Repository, opts: ExportOptions, progress: ProgressFn | None = None) -> ExportResult:
    """`export_dip` of one AIP for `opts.audience`, recorded in its dissemination event with
    who asked (`opts.requested_by`, default the OS user). For the public, NotPublic (exit
    2, nothing written) when `access_problems` refuses the record."""
    from archa.access.export import export_dip

    refused = refused_for(repo, [opts.aip_id], opts.audience)
    if refused:
        raise NotPublic(refused)
    return export_dip(repo, dataclasses.replace(opts, requested_by=_who(opts.requested_by)), progress)


def export_iiif_for(repo: Repository, opts: ExportOptions, base_url: str | None = None,
                    progress: ProgressFn | None = None) -> dict[str, Any]:
    """`export_iiif` of one digitised volume (`opts.aip_id`, `out`, `version`, `force`,
    `location`) for `opts.audience`, checked and recorded as `export_for` does."""
    from archa.access.iiif import export_iiif

    refused = refused_for(repo, [opts.aip_id], opts.audience)
    if refused:
        raise NotPublic(refused)
    return export_iiif(repo, opts.aip_id, opts.out, opts.version, opts.force, opts.location, base_url,
                       progress=progress, audience=opts.audience, requested_by=_who(opts.requested_by))


@dataclass
class SeveralResult:
    """An export of several AIPs into the folder `out`: what each export returned
    (`exported`, as dicts), and the records left out of an export to the public (`left_out`:
    AIP id -> why)."""

    out: str
    audience: str
    requested_by: str
    exported: list[dict[str, Any]] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"out": self.out, "audience": self.audience, "requested_by": self.requested_by,
                "exported": self.exported, "left_out": [{"aip_id": a, "why": w} for a, w in self.left_out.items()]}


def dip_name_of(aip_id: str, fmt: str) -> str:
    """The name of an AIP's DIP in the folder of an export of several: its UUID, with `.zip`
    or `.bag.zip` for those formats (a folder for dir, bag and iiif)."""
    return aip_id.removeprefix("urn:uuid:") + {"zip": ".zip", "bag-zip": ".bag.zip"}.get(fmt, "")


def export_several(repo: Repository, aip_ids: Sequence[str], opts: ExportOptions, base_url: str | None = None,
                   progress: ProgressFn | None = None) -> SeveralResult:
    """Export each of `aip_ids` (whole ids, each once) into the folder `opts.out`, one DIP
    per AIP named `dip_name_of(id, opts.format)` (`opts.format` dir, zip, bag, bag-zip or
    iiif; `opts.version` must be None: each AIP's head is exported). For the public the
    records `access_problems` refuses are left out and listed in `left_out`; NotPublic
    (nothing written) when that leaves none. Before anything is written each record is
    checked as a single export would be (an unknown or removed record, --include matching
    nothing, a record with no pages for iiif: the error raised, nothing written). OUT must
    not exist (with `opts.force` an existing folder is used and the DIPs in it replaced).
    Each DIP is complete or absent; when one fails (no copy holds a file intact) the error
    is raised and those written before it stay, each recorded by its event."""
    from archa.access.export import export_dip, select_files
    from archa.access.iiif import iiif_source
    from archa.repository.durable import check_target

    if opts.version is not None:
        raise UsageError("--version is for one AIP: an export of several takes each one's newest version",
                         hint="export that version of it alone")
    who = _who(opts.requested_by)
    ids = list(dict.fromkeys(aip_ids))
    out = opts.out.absolute()
    check_target(out, opts.force)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: not a folder; an export of several records writes a folder of DIPs",
                         hint="choose another OUT")
    left_out = refused_for(repo, ids, opts.audience)
    chosen = [a for a in ids if a not in left_out]
    if not chosen:
        raise NotPublic(left_out)
    for a in chosen:  # what a single export refuses as bad input, before anything is written
        select_files(repo, dataclasses.replace(opts, aip_id=a))
        if opts.format == "iiif" and not iiif_source(repo, a):
            raise UsageError(f"AIP {a} has no pages or images: --format iiif shows those; nothing was written",
                             hint="leave it out, or export them as --format dir, zip or bag")
    out.mkdir(exist_ok=True)
    result = SeveralResult(str(out), opts.audience, who, left_out=left_out)
    for a in chosen:
        one = dataclasses.replace(opts, aip_id=a, out=out / dip_name_of(a, opts.format), requested_by=who)
        if opts.format == "iiif":
            from archa.access.iiif import export_iiif

            result.exported.append(export_iiif(repo, a, one.out, None, one.force, one.location, base_url,
                                               progress=progress, audience=one.audience, requested_by=who))
        else:
            result.exported.append(export_dip(repo, one, progress).as_dict())
    return result
