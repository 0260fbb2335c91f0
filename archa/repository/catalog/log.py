"""EventLog: the event log and its anchoring: appending events, the chain and its head, anchors, journal seals (what archa/repository/events.py, eventlog.py and the CLI ask).

One component of the catalog (`catalog.log`): the only place its SQL is written."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archa.repository.catalog.sqlite import Catalog


class EventLog:
    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
