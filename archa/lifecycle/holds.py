"""Legal holds: an AIP under a hold can be neither destroyed nor transferred away, whatever
a disposal decision says. An AIP may be under several holds at once (a court case, an
inspection), each with its own id (`holds.id`: kept by the journal of the catalog-only
tables, so a `catalog rebuild` gives every hold its id back) and its history (who placed
and released it, when and why). Each change is a `policy assignment` event naming the hold:
`legal hold placed (hold N) by WHO: REASON`, `legal hold released (hold N) by WHO: REASON
(placed DATE for 'REASON')`. Logs written before holds had ids hold `legal hold placed by
WHO: …` and `legal hold released by WHO: …`, which released every hold of the AIP."""

from __future__ import annotations

import getpass
import re
import shlex
from typing import TYPE_CHECKING, Any

from archa.errors import UsageError, printable, utf8_text
from archa.repository.aipid import answering, resolve_aip_id
from archa.repository.events import ARCHA_AGENT, Event, now_iso
from archa.repository.repo import Repository, writes_beside

if TYPE_CHECKING:
    from archa.repository.catalog import Catalog

# how a hold's placing and release read in the event log (hold_problems reads them back)
HOLD_PLACED = "legal hold placed"  # "... (hold N) by WHO: REASON"; before hold ids "... by WHO: REASON"
HOLD_RELEASED_ONE = "legal hold released (hold "  # one hold released: "... N) by WHO: REASON (placed ...)"
HOLD_RELEASED_ALL = "legal hold released by "  # before hold ids: every hold of the AIP released
_HOLD_NAMED = re.compile(r"hold\s*(\d+)", re.IGNORECASE)  # a hold id as `archa hold list` shows it


@writes_beside
def add_hold(repo: Repository, aip_id: str, reason: str, user: str | None = None) -> dict[str, Any]:
    """Place a hold on an AIP (its whole id; takes the repository lock itself); returns the
    hold's row, its `id` the hold's id."""
    cat = repo.catalog
    cat.live_aip(aip_id)  # NotFoundError, AipRemoved
    reason = utf8_text(reason)  # typed in another encoding: recorded with \xNN for its bytes
    if not reason.strip():
        raise UsageError("a hold needs a reason", hint="give --reason TEXT (e.g. the court case or request)")
    who = user or getpass.getuser()
    hold_id = cat.lifecycle.record_hold(
        aip_id, reason.strip(), now_iso(), who,
        lambda n: Event("policy assignment", "success", f"{HOLD_PLACED} (hold {n}) by {who}: {reason.strip()}",
                        ARCHA_AGENT, aip_id))
    row = cat.lifecycle.hold(hold_id)
    assert row is not None
    return row


def hold_to_release(cat: Catalog, given: str) -> int:
    """The id of the hold `given` names: `hold N` (as `archa hold list` prints it) or a hold
    id (digits, when there is such a hold), else an AIP (as people type it, `resolve_aip_id`)
    under exactly one hold in force. UsageError when the AIP is under no hold, or under
    several (listed with their ids and reasons: give the one to release), for digits that
    name a hold and also another AIP (an External-Identifier "2": neither is guessed; `hold
    2` or the AIP's whole id tells them apart), and for digits too few for an AIP prefix
    that name no hold; else what `resolve_aip_id` raises for a text that names no AIP, or
    several."""
    text = given.strip()
    named = _HOLD_NAMED.fullmatch(text)  # "hold 3", as `archa hold list` prints it: a hold id only
    if named:
        row = cat.lifecycle.hold(int(named.group(1)))
        if row is None:
            raise UsageError(f"no hold {int(named.group(1))}", hint="see the hold ids with `archa hold list`")
        return int(row["id"])
    if text.isdigit():
        row = cat.lifecycle.hold(int(text))
        if row is not None:
            others = [a for a in answering(cat, text)[0] if a != row["aip_id"]]
            if others:  # "2": hold 2, or the record whose External-Identifier is "2"? never guessed
                as_hold = shlex.quote(f"hold {row['id']}")
                raise UsageError(f"{text!r} names hold {row['id']} (on {row['aip_id']}) and the AIP "
                                 f"{', '.join(others)}; nothing was released",
                                 hint=f"for the hold give {as_hold} (`archa hold remove {as_hold} --reason TEXT`), "
                                      "for the record its whole id")
            return int(row["id"])
        if len(text) < 8:  # too short to be an AIP id's prefix
            raise UsageError(f"no hold {text}", hint="see the hold ids with `archa hold list`")
    aip_id = resolve_aip_id(cat, text)
    held = cat.lifecycle.holds(aip_id)
    if not held:
        raise UsageError(f"{aip_id} is under no hold", hint="see `archa hold list`")
    if len(held) > 1:
        listed = "\n".join(f"  hold {h['id']}: {printable(h['reason'])} (placed {h['placed'][:10]} by "
                           f"{printable(h['placed_by'])})" for h in held)
        raise UsageError(f"{aip_id} is under {len(held)} holds: say which one to release",
                         hint=f"give its hold id, e.g. `archa hold remove {held[0]['id']} --reason TEXT`:\n{listed}")
    return int(held[0]["id"])


@writes_beside
def remove_hold(repo: Repository, hold_id: int, reason: str, user: str | None = None) -> dict[str, Any]:
    """Release the one hold `hold_id` (takes the repository lock itself): the AIP's other
    holds stay in force. Returns the released row with `still_in_force`, the ids of the AIP's
    holds left. UsageError for a hold released already or a missing reason."""
    cat = repo.catalog
    row = cat.lifecycle.hold(hold_id)
    if row is None:
        raise UsageError(f"no hold {hold_id}", hint="see the hold ids with `archa hold list`")
    if row["released"]:
        raise UsageError(f"hold {hold_id} on {row['aip_id']} was released on {row['released'][:10]} already",
                         hint="see the holds in force with `archa hold list`")
    reason = utf8_text(reason)  # typed in another encoding: recorded with \xNN for its bytes
    if not reason.strip():
        raise UsageError("releasing a hold needs a reason", hint="give --reason TEXT")
    who, when = user or getpass.getuser(), now_iso()
    done = cat.lifecycle.release_hold(hold_id, when, who, reason.strip(),
                                      Event("policy assignment", "success",
                                            f"{HOLD_RELEASED_ONE}{hold_id}) by {who}: {reason.strip()} (placed "
                                            f"{row['placed'][:10]} for {row['reason']!r})", ARCHA_AGENT, row["aip_id"]))
    released = cat.lifecycle.hold(hold_id)
    if not done or released is None:  # released (or deleted) by someone else since it was read
        when_done = (released or {}).get("released") or ""
        raise UsageError(f"hold {hold_id} on {row['aip_id']} was released on {when_done[:10] or '?'} already, "
                         "by another command at the same time", hint="see the holds in force with `archa hold list`")
    return {**released, "still_in_force": [h["id"] for h in cat.lifecycle.holds(row["aip_id"])]}


def _replay(held: dict[str, int], row: dict[str, Any]) -> None:
    """One event's effect on `held` (AIP id -> holds in force), for the AIPs it holds keys of."""
    if row.get("type") != "policy assignment" or row.get("aip_id") not in held:
        return
    detail = row.get("detail") or ""
    aip = row["aip_id"]
    if detail.startswith(HOLD_PLACED):
        held[aip] += 1
    elif detail.startswith(HOLD_RELEASED_ONE):
        held[aip] = max(0, held[aip] - 1)
    elif detail.startswith(HOLD_RELEASED_ALL):
        held[aip] = 0


PLAIN_HOLD = "under a legal hold (archa hold list)"  # hold_problems' reason for a hold all agree on


def _holds(n: int) -> str:
    return "not held" if n == 0 else "held (1 hold)" if n == 1 else f"held ({n} holds)"


def table_against_log(repo: Repository) -> dict[str, str]:
    """For each AIP on which the holds table and the catalog's event log disagree (how many
    holds are in force), what each says: a hold row deleted or added behind archa's back
    (`hold list` warns; `hold_problems` refuses such a record to every step that removes it).
    Reads the catalog only (the locations' logs are `hold_problems`' and `events verify`'s)."""
    cat = repo.catalog
    wanted = sorted(set(cat.lifecycle.hold_event_aips()) | {h["aip_id"] for h in cat.lifecycle.holds()})
    table, _rows, by_log = _table_and_log(cat, wanted)
    return {a: _disagreement(table[a], by_log[a]) for a in wanted if table[a] != by_log[a]}


def _table_and_log(cat: Any, wanted: list[str]) -> tuple[dict[str, int], list[dict[str, Any]], dict[str, int]]:
    """For `wanted` AIPs: the holds in force by the holds table, the catalog's policy events,
    and the holds in force by those events."""
    table = cat.lifecycle.in_force(wanted)
    rows = cat.lifecycle.policy_events(wanted)
    by_log = dict.fromkeys(wanted, 0)
    for r in rows:
        _replay(by_log, r)
    return table, rows, by_log


def _disagreement(in_table: int, in_log: int) -> str:
    return f"the holds table says it is {_holds(in_table)}, the catalog's event log that it is {_holds(in_log)}"


def hold_problems(repo: Repository, aip_ids: list[str]) -> dict[str, str]:
    """For each of `aip_ids` that must not be removed or handed over because of a legal hold,
    why (empty when none is held). Every step that destroys a record or hands it over asks
    this, not the `holds` table alone: a hold counts when the table, the catalog's event log
    or a location's anchored copy of the log (read as far as it is intact) says it is in
    force, and a disagreement between them (on how many holds are in force: releasing one of
    two leaves one in each) is itself a reason to refuse (someone changed the
    catalog behind archa's back: a hold row deleted with the journal triggers dropped, an
    event edited). A location's log is compared with the catalog's as far as the location
    holds it (the newest events may not be there yet). A release the catalog's log and table
    agree on that a location's log does not hold yet refuses too, but says so as it is: a
    command killed before it anchored the log leaves one, and so does an insider writing a
    release into the catalog alone; anchoring it (`storage sync`) after checking lifts it."""
    from archa.repository.logscan import repo_seal_key, scan_log

    cat = repo.catalog
    wanted = sorted(set(aip_ids))
    if not wanted:
        return {}
    table, catalog_rows, by_log = _table_and_log(cat, wanted)
    reasons: dict[str, list[str]] = {a: [] for a in wanted}
    for a in wanted:
        if table[a] != by_log[a]:
            reasons[a].append(_disagreement(table[a], by_log[a]))
    key = repo_seal_key(repo)
    unanchored: dict[str, int] = {}  # AIP -> the release in the catalog's log a location does not hold yet
    for loc in repo.config.locations:
        at_loc = dict.fromkeys(wanted, 0)
        scan = scan_log(repo.store(loc), key, lambda row, h=at_loc: _replay(h, row))  # type: ignore[misc]
        if not scan.reachable:
            continue  # nothing to compare there now; the next step that reaches it asks again
        upto = dict.fromkeys(wanted, 0)
        for r in catalog_rows:
            if r["seq"] <= scan.last:
                _replay(upto, r)
        for a in wanted:
            if at_loc[a] != upto[a]:
                reasons[a].append(f"the log at {loc.name} says it is {_holds(at_loc[a])}, the catalog's that it was "
                                  f"{_holds(upto[a])} at that point")
            elif at_loc[a] and not table[a]:  # the table and the catalog's log agree: released after scan.last
                unanchored[a] = max(unanchored.get(a, 0), _last_release(catalog_rows, a))
    out = {}
    for a in wanted:
        if reasons[a]:
            out[a] = ("the catalog and the anchored log disagree on its legal hold (" + "; ".join(reasons[a])
                      + "): the catalog was changed behind archa's back; refused (run archa events verify)")
        elif a in unanchored:
            out[a] = (f"its hold was released by event {unanchored[a]}, which a storage location does not hold yet: "
                      "a command killed before it anchored the log leaves such an event, and so does one written "
                      f"into the catalog alone; check who released it (`archa hold list --aip {a} --all`), then "
                      "anchor the log (`archa storage sync`); refused until then")
        elif table[a]:
            out[a] = PLAIN_HOLD
    return out


def _last_release(rows: list[dict[str, Any]], aip_id: str) -> int:
    """The number of the catalog's newest event that took `aip_id`'s holds in force down (0: none)."""
    count, last = {aip_id: 0}, 0
    for r in rows:
        before = count[aip_id]
        _replay(count, r)
        if count[aip_id] < before:
            last = int(r["seq"])
    return last
