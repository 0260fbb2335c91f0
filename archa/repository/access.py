"""Access conditions of records: public, or restricted with a reason, and an optional embargo
end date after which a restricted record is public.

The state of each AIP lives in the catalog's table `access` (a cache) and, as the record of
every change, in the hash-chained event log: a `policy assignment` event whose detail is
`event_detail(state)` (`access public (package)`, `access restricted until 2031-12-31 (set):
personal data`). Ingest writes the first one (what the package states, else the policy's
default for its kind); `archa access set` writes the next ones. The table is rebuilt by
replaying those events (`replay`); a public export compares the table with the catalog's log
and the logs anchored at every location before it hands anything out (lifecycle/access.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from archa.metadata.records import Event

if TYPE_CHECKING:  # a type only: the catalog imports this module, and every command the catalog
    from archa.metadata.description import Access  # (lxml and the describers stay out of start-up)

PUBLIC, RESTRICTED = "public", "restricted"
STATUSES = (PUBLIC, RESTRICTED)
SOURCES = ("package", "policy", "set")  # what the package states; the policy's default; an archivist's decision
EVENT_TYPE = "policy assignment"
PREFIX = "access "
_DETAIL = re.compile(r"access (public|restricted)(?: until (\d{4}-\d{2}-\d{2}))? \((package|policy|set)\)(?:: (.*))?\Z",
                     re.DOTALL)


@dataclass(frozen=True)
class AccessState:
    """An AIP's access condition: `status` public or restricted, `reason` (why restricted, or
    why made public), `until` the ISO date the restriction ends ("" none: it does not end by
    itself), `source` where it came from (SOURCES)."""

    status: str
    reason: str = ""
    until: str = ""
    source: str = "package"

    def __post_init__(self) -> None:
        # the reason with its whitespace made single spaces, as an event's detail words it: a
        # state read from the table equals the one replayed from the log
        object.__setattr__(self, "reason", " ".join(self.reason.split()))

    def effective(self, today: dt.date | None = None) -> str:
        """PUBLIC or RESTRICTED on `today` (default: today, UTC): a restriction with an end
        date is public after that day (an embargo that has ended)."""
        if self.status == PUBLIC:
            return PUBLIC
        if self.until and (today or dt.datetime.now(dt.UTC).date()).isoformat() > self.until:
            return PUBLIC
        return RESTRICTED

    def describe(self, today: dt.date | None = None) -> str:
        """For people: `public`, `restricted: reason`, `embargoed until DATE: reason`, `public
        (embargo ended DATE)`."""
        now = self.effective(today)
        if self.status == RESTRICTED and now == PUBLIC:
            return f"public (embargo ended {self.until})"
        if now == PUBLIC:
            return PUBLIC
        head = f"embargoed until {self.until}" if self.until else RESTRICTED
        return head + (f": {self.reason}" if self.reason else "")

    def row(self, aip_id: str, changed: str) -> dict[str, Any]:
        return {"aip_id": aip_id, "status": self.status, "reason": self.reason, "until": self.until,
                "source": self.source, "changed": changed}


def event_detail(state: AccessState) -> str:
    """The detail of the event recording `state` (parsed back by `parse_detail`)."""
    until = f" until {state.until}" if state.until else ""
    return f"{PREFIX}{state.status}{until} ({state.source})" + (f": {state.reason}" if state.reason else "")


def parse_detail(detail: str) -> AccessState | None:
    """The state an access event's detail records; None for any other detail."""
    m = _DETAIL.match(detail or "")
    if not m:
        return None
    return AccessState(m.group(1), m.group(4) or "", m.group(2) or "", m.group(3))


def replay(rows: Iterable[dict[str, Any]]) -> dict[str, AccessState]:
    """AIP id -> the last access state the event rows (dicts with type, aip_id, detail, in log
    order) record; AIPs with no access event are absent."""
    out: dict[str, AccessState] = {}
    for r in rows:
        if r.get("type") != EVENT_TYPE or not r.get("aip_id"):
            continue
        state = parse_detail(str(r.get("detail") or ""))
        if state is not None:
            out[str(r["aip_id"])] = state
    return out


def parse_date(text: str) -> str:
    """`text` as an ISO date (YYYY-MM-DD); ValueError naming it otherwise."""
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def initial_state(stated: Access | None, kind: str, default_for: Callable[[str], str]) -> AccessState:
    """A new AIP's access: what its package states (`stated`, source `package`), else the
    policy's default for its kind (`default_for(kind)`, source `policy`)."""
    if stated is not None:
        return AccessState(stated.status, stated.reason, stated.until, "package")
    status = default_for(kind)
    return AccessState(status, "" if status == PUBLIC else f"the policy's default for {kind} records "
                       "(access.default_status)", "", "policy")


def access_event(state: AccessState, aip_id: str, version: str, agent: str, time: str = "") -> Event:
    """The `policy assignment` event recording `state` of `aip_id`."""
    event = Event(EVENT_TYPE, "success", event_detail(state), agent, aip_id, version)
    return replace(event, time=time) if time else event
