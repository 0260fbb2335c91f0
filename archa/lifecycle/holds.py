"""Legal holds: an AIP under a hold can be neither destroyed nor transferred away, whatever
a disposal decision says. Holds are kept with their history (who placed and released
them, when and why) and each change is a `policy assignment` event."""

from __future__ import annotations

import getpass
from typing import Any

from archa.errors import UsageError
from archa.repository.events import ARCHA_AGENT, Event, now_iso
from archa.repository.repo import Repository, writes_beside

# how a hold's placing and release read in the event log (hold_problems reads them back)
HOLD_PLACED = "legal hold placed by "
HOLD_RELEASED = "legal hold released by "


@writes_beside
def add_hold(repo: Repository, aip_id: str, reason: str, user: str | None = None) -> dict[str, Any]:
    """Place a hold on an AIP (takes the repository lock itself); returns the hold's row."""
    cat = repo.catalog
    cat.live_aip(aip_id)  # NotFoundError, AipRemoved
    if not reason.strip():
        raise UsageError("a hold needs a reason", hint="give --reason TEXT (e.g. the court case or request)")
    who = user or getpass.getuser()
    cat.lifecycle.record_hold(aip_id, reason.strip(), now_iso(), who,
                              Event("policy assignment", "success", f"{HOLD_PLACED}{who}: {reason.strip()}",
                                    ARCHA_AGENT, aip_id))
    return cat.lifecycle.holds(aip_id)[-1]


@writes_beside
def remove_hold(repo: Repository, aip_id: str, reason: str, user: str | None = None) -> list[dict[str, Any]]:
    """Release every hold on an AIP (takes the repository lock itself); returns the released rows."""
    cat = repo.catalog
    cat.aip(aip_id)
    held = cat.lifecycle.holds(aip_id)
    if not held:
        raise UsageError(f"{aip_id} is under no hold", hint="see `archa hold list`")
    if not reason.strip():
        raise UsageError("releasing a hold needs a reason", hint="give --reason TEXT")
    who, when = user or getpass.getuser(), now_iso()
    cat.lifecycle.release_holds(aip_id, when, who, reason.strip(),
                                Event("policy assignment", "success",
                                      f"{HOLD_RELEASED}{who}: {reason.strip()} (placed "
                                      + ", ".join(f"{h['placed'][:10]} for {h['reason']!r}" for h in held) + ")",
                                      ARCHA_AGENT, aip_id))
    return [h for h in cat.lifecycle.holds(aip_id, active=False) if h["released"] == when]


def _replay(held: dict[str, bool], row: dict[str, Any]) -> None:
    """One event's effect on `held` (AIP id -> under a hold), for the AIPs it holds keys of."""
    if row.get("type") != "policy assignment" or row.get("aip_id") not in held:
        return
    detail = row.get("detail") or ""
    if detail.startswith(HOLD_PLACED):
        held[row["aip_id"]] = True
    elif detail.startswith(HOLD_RELEASED):
        held[row["aip_id"]] = False


def hold_problems(repo: Repository, aip_ids: list[str]) -> dict[str, str]:
    """For each of `aip_ids` that must not be removed or handed over because of a legal hold,
    why (empty when none is held). Every step that destroys a record or hands it over asks
    this, not the `holds` table alone: a hold counts when the table, the catalog's event log
    or a location's anchored copy of the log (read as far as it is intact) says it is in
    force, and a disagreement between them is itself a reason to refuse (someone changed the
    catalog behind archa's back: a hold row deleted with the journal triggers dropped, an
    event edited). A location's log is compared with the catalog's as far as the location
    holds it (the newest events may not be there yet)."""
    from archa.repository.logscan import repo_seal_key, scan_log

    cat = repo.catalog
    wanted = sorted(set(aip_ids))
    if not wanted:
        return {}
    table = {a: cat.lifecycle.held(a) for a in wanted}
    catalog_rows = cat.lifecycle.policy_events(wanted)
    by_log = dict.fromkeys(wanted, False)
    for r in catalog_rows:
        _replay(by_log, r)
    reasons: dict[str, list[str]] = {a: [] for a in wanted}
    for a in wanted:
        if table[a] != by_log[a]:
            reasons[a].append(f"the holds table says it is {'held' if table[a] else 'not held'}, the catalog's event "
                              f"log that it is {'held' if by_log[a] else 'not held'}")
    key = repo_seal_key(repo)
    for loc in repo.config.locations:
        at_loc = dict.fromkeys(wanted, False)
        scan = scan_log(repo.store(loc), key, lambda row, h=at_loc: _replay(h, row))  # type: ignore[misc]
        if not scan.reachable:
            continue  # nothing to compare there now; the next step that reaches it asks again
        upto = dict.fromkeys(wanted, False)
        for r in catalog_rows:
            if r["seq"] <= scan.last:
                _replay(upto, r)
        for a in wanted:
            if at_loc[a] != upto[a]:
                reasons[a].append(f"the log at {loc.name} says it is {'held' if at_loc[a] else 'not held'}, the "
                                  f"catalog's that it was {'held' if upto[a] else 'not held'} at that point")
            elif at_loc[a] and not table[a]:
                reasons[a].append(f"the log at {loc.name} records a hold in force that the holds table lacks")
    out = {}
    for a in wanted:
        if reasons[a]:
            out[a] = ("the catalog and the anchored log disagree on its legal hold (" + "; ".join(reasons[a])
                      + "): the catalog was changed behind archa's back; refused (run archa events verify)")
        elif table[a]:
            out[a] = "under a legal hold (archa hold list)"
    return out
