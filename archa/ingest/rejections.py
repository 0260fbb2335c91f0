"""Rejected transfers and their acknowledgement (`archa transfer ack`).

A SIP that fails validation is recorded as a rejected transfer (ingest.record_rejection),
and `archa status` shows it as needing a person until someone acknowledges it: the producer
was told, a new package asked for. An acknowledgement is an event appended to the event log
(type "acknowledgement", outcome "success", the transfer's id, the detail "rejection of ID
acknowledged by USER: REASON"), so it is anchored in storage with the rest of the log and
`catalog rebuild` restores it; the transfer's row is not changed. Acknowledging one that is
acknowledged already appends nothing (two commands acknowledging it at once append one).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from typing import Any

from archa.errors import NotFoundError, UsageError, utf8_text
from archa.repository.catalog.intake import ACKNOWLEDGEMENT
from archa.repository.events import ARCHA_AGENT, Event
from archa.repository.repo import Repository, writes_beside

PREFIX = "urn:uuid:"
SHORTEST = 8  # characters of a transfer's UUID that may stand for it


@dataclass
class AckResult:
    """What `acknowledge` did: the rejected transfers it acknowledged now, and the one named
    by its id when it was acknowledged already (each a transfer row with `acknowledged`, the
    time); a date window leaves out those acknowledged before."""

    acknowledged: list[dict[str, Any]] = field(default_factory=list)
    already: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def brief(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{k: r[k] for k in ("id", "source", "received", "acknowledged")} for r in rows]

        return {"acknowledged": brief(self.acknowledged), "already": brief(self.already)}


def acknowledgement(transfer_id: str, user: str, reason: str) -> Event:
    """The event that acknowledges the rejection of `transfer_id` (the shape `archa status` reads)."""
    return Event(type=ACKNOWLEDGEMENT, outcome="success",
                 detail=f"rejection of {transfer_id} acknowledged by {user}: {reason}", agent=ARCHA_AGENT,
                 transfer_id=transfer_id)


def find_rejected(rows: list[dict[str, Any]], typed: str) -> dict[str, Any] | None:
    """The rejected transfer among `rows` that `typed` names: its id, the bare UUID, or at
    least 8 leading characters of it naming one; None when none does. UsageError when the
    characters fit several."""
    text = utf8_text(typed.strip())  # bytes that are not UTF-8: as \xNN (no id has them)
    uuid_part = text.removeprefix(PREFIX).lower()
    for r in rows:
        if r["id"] == text or r["id"].lower() == PREFIX + uuid_part:
            return r
    if len(uuid_part) < SHORTEST:
        return None
    fits = [r for r in rows if r["id"].lower().removeprefix(PREFIX).startswith(uuid_part)]
    if len(fits) > 1:
        raise UsageError(f"{typed!r} fits {len(fits)} rejected transfers: " + ", ".join(r["id"] for r in fits[:10]),
                         hint="give more characters of the id")
    return fits[0] if fits else None


@writes_beside
def acknowledge(repo: Repository, transfer_id: str | None = None, before: str | None = None, reason: str = "",
                user: str | None = None) -> AckResult:
    """Acknowledge the rejection of `transfer_id` (its id, bare UUID or a unique prefix of 8
    or more characters), or of every rejected transfer received before `before` (an ISO 8601
    date or time, UTC) not acknowledged yet; one of the two. Takes the repository lock
    itself. UsageError for neither or both, for a transfer that was not rejected;
    NotFoundError for an unknown one."""
    if (transfer_id is None) == (before is None):
        raise UsageError("give a TRANSFER_ID or --before DATE (not both)",
                         hint="archa transfer ack urn:uuid:..., or archa transfer ack --before 2026-03-01")
    cat = repo.catalog
    who = user or getpass.getuser()
    result = AckResult()
    if transfer_id is not None:
        row = find_rejected(cat.intake.rejected_transfers(), transfer_id)
        if row is None:
            _not_rejected(repo, transfer_id)
        assert row is not None
        chosen = [row]
        why = utf8_text(reason).strip() or "no reason given"
    else:
        assert before is not None
        chosen = cat.intake.rejected_transfers(before)
        why = utf8_text(reason).strip() or f"every rejection received before {before} acknowledged at once"
    result.already = [r for r in chosen if r["acknowledged"]] if transfer_id is not None else []
    result.acknowledged = [r for r in chosen if not r["acknowledged"]]
    events = [acknowledgement(r["id"], who, why) for r in result.acknowledged]
    if events:
        appended = {e.transfer_id: e.time for e in cat.intake.record_acknowledgements(events)}
        meanwhile = [r for r in result.acknowledged if r["id"] not in appended]  # by another command just now
        result.acknowledged = [r for r in result.acknowledged if r["id"] in appended]
        for r in result.acknowledged:
            r["acknowledged"] = appended[r["id"]]
        if transfer_id is not None:
            fresh = {t["id"]: t["acknowledged"] for t in cat.intake.rejected_transfers()} if meanwhile else {}
            result.already += [{**r, "acknowledged": fresh.get(r["id"]) or ""} for r in meanwhile]
    return result


def _not_rejected(repo: Repository, typed: str) -> None:
    """Raise the error for a transfer id that names no rejected transfer."""
    text = utf8_text(typed.strip())
    full = text if text.startswith(PREFIX) else PREFIX + text
    try:
        row = repo.catalog.transfer(full)
    except NotFoundError:
        raise NotFoundError(f"no rejected transfer {typed!r} in the catalog",
                            hint="`archa status` lists the rejected transfers not acknowledged yet, with their "
                                 "ids") from None
    raise UsageError(f"transfer {row['id']} was {row['status']}" + (f" as {row['aip_id']}" if row["aip_id"] else "")
                     + ", not rejected: there is nothing to acknowledge")
