"""The append-only, hash-chained event log (PREMIS events) inside the catalog.

Each row carries `prev_hash` (the `hash` of the row before it, or 64 zeros for the first)
and `hash` = sha256 over the row's canonical JSON including `prev_hash`. Editing,
deleting or reordering any row breaks the chain at that row (`verify_chain`).

This module holds what the log's rows are (Event, how a row is hashed); the SQL that appends
and reads them is the catalog's (archa/repository/catalog/log.py, `cat.log`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import archa

GENESIS = "0" * 64
ARCHA_AGENT = f"archa/{archa.__version__}"  # the executing program of every event archa makes
HASHED_FIELDS = ("id", "type", "time", "outcome", "detail", "agent", "aip_id", "version",
                 "location", "transfer_id", "prev_hash")


def now_iso() -> str:
    """Current UTC time, ISO 8601 with microseconds and a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Event:
    """A PREMIS event as the catalog keeps it. `type` uses the LoC event-type vocabulary."""

    type: str
    outcome: str  # "success", "failure" or "warning"
    detail: str
    agent: str
    aip_id: str | None = None
    version: str | None = None
    location: str | None = None
    transfer_id: str | None = None
    time: str = field(default_factory=now_iso)
    id: str = field(default_factory=lambda: f"urn:uuid:{uuid.uuid4()}")
    # logical paths of the files the event touched, linked from it in PREMIS (not a catalog
    # column and not hashed: the log's rows are what HASHED_FIELDS name)
    objects: tuple[str, ...] = ()


def row_hash(row: dict[str, Any]) -> str:
    canon = json.dumps({k: row.get(k) for k in HASHED_FIELDS}, sort_keys=True,
                       separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    """One place the chain is broken: the row's number and id, and what is wrong."""

    seq: int
    event_id: str
    problem: str


_HEAD = re.compile(r"event chain at (\d+): ([0-9a-f]{64})")  # a chain head as `chain_head` words it

# Appending to the chain and checking it are the catalog's (catalog/log.py: `cat.log.append`,
# `cat.log.verify_chain`, ...); these names are kept here for code holding a connection.
_MOVED = ("append_events", "verify_chain", "chain_head", "recorded_heads")


def __getattr__(name: str) -> Any:
    """append_events, verify_chain, chain_head and recorded_heads over a bare connection, from
    archa.repository.catalog.log (imported when first asked for: the catalog imports this module)."""
    if name in _MOVED:
        from archa.repository.catalog import log

        return getattr(log, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
