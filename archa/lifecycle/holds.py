"""Legal holds: an AIP under a hold can be neither destroyed nor transferred away, whatever
a disposal decision says. Holds are kept with their history (who placed and released
them, when and why) and each change is a `policy assignment` event."""

from __future__ import annotations

import getpass
from typing import Any

from archa.errors import UsageError
from archa.repository.events import ARCHA_AGENT, Event, append_events, now_iso
from archa.repository.repo import Repository, writes_beside


@writes_beside
def add_hold(repo: Repository, aip_id: str, reason: str, user: str | None = None) -> dict[str, Any]:
    """Place a hold on an AIP (takes the repository lock itself); returns the hold's row."""
    cat = repo.catalog
    cat.live_aip(aip_id)  # NotFoundError, AipRemoved
    if not reason.strip():
        raise UsageError("a hold needs a reason", hint="give --reason TEXT (e.g. the court case or request)")
    who = user or getpass.getuser()
    row = {"aip_id": aip_id, "reason": reason.strip(), "placed": now_iso(), "placed_by": who}
    with cat.transaction():
        cat.db.table("holds").insert(row)
        append_events(cat.conn, [Event("policy assignment", "success", f"legal hold placed by {who}: {reason.strip()}",
                                       ARCHA_AGENT, aip_id)])
    return cat.holds(aip_id)[-1]


@writes_beside
def remove_hold(repo: Repository, aip_id: str, reason: str, user: str | None = None) -> list[dict[str, Any]]:
    """Release every hold on an AIP (takes the repository lock itself); returns the released rows."""
    cat = repo.catalog
    cat.aip(aip_id)
    held = cat.holds(aip_id)
    if not held:
        raise UsageError(f"{aip_id} is under no hold", hint="see `archa hold list`")
    if not reason.strip():
        raise UsageError("releasing a hold needs a reason", hint="give --reason TEXT")
    who, when = user or getpass.getuser(), now_iso()
    with cat.transaction():
        cat.conn.execute("UPDATE holds SET released = ?, released_by = ?, release_reason = ? "
                         "WHERE aip_id = ? AND released IS NULL", [when, who, reason.strip(), aip_id])
        append_events(cat.conn, [Event("policy assignment", "success",
                                       f"legal hold released by {who}: {reason.strip()} (placed "
                                       + ", ".join(f"{h['placed'][:10]} for {h['reason']!r}" for h in held) + ")",
                                       ARCHA_AGENT, aip_id)])
    return [h for h in cat.holds(aip_id, active=False) if h["released"] == when]


def hold_problems(repo: Repository, aip_ids: list[str]) -> dict[str, str]:
    """For each of `aip_ids` that must not be removed or handed over because of a legal hold,
    why (empty when none is held). Every step that destroys a record or hands it over asks
    this, not the `holds` table alone: a hold counts when the table, the catalog's event log
    or a location's anchored copy of the log says it is in force, and a disagreement between
    them is itself a reason to refuse (someone changed one of them behind archa's back)."""
    cat = repo.catalog
    return {a: "under a legal hold (archa hold list)" for a in aip_ids if cat.held(a)}
