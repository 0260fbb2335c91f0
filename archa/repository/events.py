"""The append-only, hash-chained event log (PREMIS events) inside the catalog.

Each row carries `prev_hash` (the `hash` of the row before it, or 64 zeros for the first)
and `hash` = sha256 over the row's canonical JSON including `prev_hash`. Editing,
deleting or reordering any row breaks the chain at that row (`verify_chain`).

This module holds what the log's rows are (Event, how a row is hashed); the SQL that appends
and reads them is the catalog's (archa/repository/catalog/log.py, `cat.log`). The data type
`Event` (and `now_iso`) is archa/metadata/records.py's, re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import archa
from archa.metadata.records import Event, now_iso

__all__ = ["ARCHA_AGENT", "GENESIS", "HASHED_FIELDS", "ChainProblem", "Event", "now_iso", "row_hash"]

GENESIS = "0" * 64
ARCHA_AGENT = f"archa/{archa.__version__}"  # the executing program of every event archa makes
HASHED_FIELDS = ("id", "type", "time", "outcome", "detail", "agent", "aip_id", "version",
                 "location", "transfer_id", "prev_hash")


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
