"""The append-only, hash-chained event log (PREMIS events) inside the catalog.

Each row carries `prev_hash` (the `hash` of the row before it, or 64 zeros for the first)
and `hash` = sha256 over the row's canonical JSON including `prev_hash`. Editing,
deleting or reordering any row breaks the chain at that row (`verify_chain`).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import uuid
from dataclasses import asdict, dataclass, field
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


_INSERT = (f"INSERT INTO events ({', '.join((*HASHED_FIELDS, 'hash'))}) "
           f"VALUES ({', '.join('?' * (len(HASHED_FIELDS) + 1))})")


def append_events(conn: sqlite3.Connection, events: list[Event]) -> None:
    """Append events to the chain. Call inside the transaction that records the change."""
    last = conn.execute("SELECT hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    prev = last[0] if last else GENESIS
    for ev in events:
        row = asdict(ev)
        row["prev_hash"] = prev
        row["hash"] = row_hash(row)
        conn.execute(_INSERT, [row[k] for k in (*HASHED_FIELDS, "hash")])
        prev = row["hash"]


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    event_id: str
    problem: str


def verify_chain(conn: sqlite3.Connection) -> list[ChainProblem]:
    """Every place the chain is broken (empty when intact)."""
    problems = []
    prev = GENESIS
    cur = conn.execute("SELECT * FROM events ORDER BY seq")
    cols = [d[0] for d in cur.description]
    for values in cur:
        row = dict(zip(cols, values, strict=True))
        if row["prev_hash"] != prev:
            problems.append(ChainProblem(row["seq"], row["id"],
                                         "prev_hash does not match the previous row: a row was "
                                         "deleted, inserted or reordered"))
        if row_hash(row) != row["hash"]:
            problems.append(ChainProblem(row["seq"], row["id"], "row content does not match its hash: "
                                                                "the row was edited"))
        prev = row["hash"]
    return problems


def chain_head(conn: sqlite3.Connection) -> str:
    """`event chain at N: HASH`, the newest row when a version is made: written into the
    version's PREMIS (its ingestion or modification event), so that a chain re-hashed in the
    catalog later no longer matches what the AIPs recorded (`events verify`)."""
    row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return f"event chain at {row[0]}: {row[1]}" if row else "event chain at 0: " + GENESIS


_HEAD = re.compile(r"event chain at (\d+): ([0-9a-f]{64})")


def recorded_heads(conn: sqlite3.Connection) -> list[ChainProblem]:
    """Every ingestion or modification event's recorded chain head that the catalog's row
    of that number no longer has (edited or re-hashed since)."""
    problems = []
    hashes = dict(conn.execute("SELECT seq, hash FROM events").fetchall())
    for seq, event_id, detail in conn.execute(
            "SELECT seq, id, detail FROM events WHERE type IN ('ingestion', 'modification', 'metadata modification')"):
        m = _HEAD.search(detail)
        if m and int(m.group(1)) and hashes.get(int(m.group(1))) != m.group(2):
            problems.append(ChainProblem(int(m.group(1)), event_id,
                                         f"event {seq} recorded the chain at {m.group(1)} as {m.group(2)[:16]}…, "
                                         "the catalog's row differs: edited or re-hashed since"))
    return problems
