"""EventLog: the event log and its anchoring: appending events, the chain and its head, anchors, journal seals (what archa/repository/events.py, eventlog.py and the CLI ask).

One component of the catalog (`catalog.log`): the only place its SQL is written.

The module-level functions (`append_events`, `verify_chain`, `chain_head`, `recorded_heads`)
do the same over a bare connection: the component's methods are them on the catalog's
connection; archa.repository.events re-exports them for callers that hold a connection of
their own (the tests reading a catalog file directly).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from archa.repository.events import _HEAD, GENESIS, HASHED_FIELDS, ChainProblem, Event, row_hash

if TYPE_CHECKING:
    from archa.repository.catalog.sqlite import Catalog

COLUMNS = ("seq", *HASHED_FIELDS, "hash")  # an event row's columns, as a location's log holds them
SEAL_TYPE = "message digest calculation"  # the event type of a journal seal (LoC vocabulary)

_INSERT = (f"INSERT INTO events ({', '.join(('seq', *HASHED_FIELDS, 'hash', 'mac'))}) "
           f"VALUES ({', '.join('?' * (len(HASHED_FIELDS) + 3))})")


def event_mac(key: bytes, row_hash_hex: str) -> str:
    """An event row's `mac`: HMAC-SHA256 of its hash under the seal key (the hash covers the
    row and, through prev_hash, the chain before it)."""
    return hmac.new(key, b"archa event " + row_hash_hex.encode(), hashlib.sha256).hexdigest()


def signed_by(key: bytes, row_hash_hex: str, mac: str | None) -> bool:
    return mac is not None and hmac.compare_digest(event_mac(key, row_hash_hex), mac)


def row_ok(row: dict[str, Any], prev: str | None, key: bytes | None) -> bool:
    """Whether an event row (every column, `mac` too) is archa's as it stands: its content
    matches its hash, it follows `prev` (the hash of the row before), and with `key` its mac
    is the key's for that hash (a copied hash and mac do not fit changed content)."""
    return (row["prev_hash"] == prev and row_hash(row) == row["hash"]
            and (key is None or signed_by(key, str(row["hash"]), row.get("mac"))))


# --- over a connection ----------------------------------------------------------------------

def append_events(conn: Any, events: list[Event], key: bytes | None = None) -> None:
    """Append events to the chain, each signed (`event_mac`) when `key` (the repository's seal
    key) is given, each numbered after the newest row (not by the database: PostgreSQL's
    identity uses up the numbers of a transaction rolled back, and the log would have a gap
    there). Call inside the transaction that records the change (its write lock keeps the
    numbers one line)."""
    last = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (int(last[0]), last[1]) if last else (0, GENESIS)
    for ev in events:
        row = asdict(ev)
        row["prev_hash"] = prev
        row["hash"] = row_hash(row)
        seq += 1
        conn.execute(_INSERT, [seq, *(row[k] for k in (*HASHED_FIELDS, "hash")),
                               event_mac(key, row["hash"]) if key is not None else None])
        prev = row["hash"]


def verify_chain(conn: Any) -> list[ChainProblem]:
    """Every place the chain is broken (empty when intact)."""
    problems = []
    prev = GENESIS
    cur = getattr(conn, "stream", conn.execute)("SELECT * FROM events ORDER BY seq")  # batches, on a server too
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


def _head(conn: Any) -> tuple[int, str | None]:
    row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, None)


def chain_head(conn: Any) -> str:
    """`event chain at N: HASH`, the newest row when a version is made: written into the
    version's PREMIS (its ingestion or modification event), so that a chain re-hashed in the
    catalog later no longer matches what the AIPs recorded (`events verify`)."""
    seq, h = _head(conn)
    return f"event chain at {seq}: {h}" if h is not None else "event chain at 0: " + GENESIS


def recorded_heads(conn: Any) -> list[ChainProblem]:
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


# --- the component --------------------------------------------------------------------------

class EventLog:
    """The catalog's event log (`events`), its journal of the catalog-only tables (`changes`)
    and how far each storage location holds them (`event_anchors`). Writes (`append`,
    `record_anchor`) run inside the caller's `cat.transaction()`; reads need none."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat

    # the chain

    def append(self, events: list[Event]) -> None:
        """Append `events` to the chain, in order. Call inside the transaction that records
        the change they describe."""
        append_events(self.cat.conn, events, self.cat.mac_key)

    def verify_chain(self) -> list[ChainProblem]:
        """Every place the chain is broken: a row edited, deleted, inserted or reordered
        (empty when intact). Reads the whole log, streamed."""
        return verify_chain(self.cat.conn)

    def recorded_heads(self) -> list[ChainProblem]:
        """Every chain head recorded in an ingestion or modification event that the catalog's
        row of that number no longer has (edited or re-hashed since)."""
        return recorded_heads(self.cat.conn)

    def chain_head(self) -> str:
        """`event chain at N: HASH` of the newest row (`event chain at 0: 000…` when empty),
        for a new version's PREMIS; read inside the transaction that records the version."""
        return chain_head(self.cat.conn)

    def count(self) -> int:
        """How many events the log holds."""
        return int(self.cat.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def head(self) -> tuple[int, str | None]:
        """(seq, hash) of the newest event; (0, None) when the log is empty."""
        return _head(self.cat.conn)

    def last_time(self) -> tuple[int, str]:
        """(seq, time) of the newest event; (0, "") when the log is empty."""
        row = self.cat.conn.execute("SELECT seq, time FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, "")

    def hash_at(self, seq: int) -> str | None:
        """The hash of event `seq` (None: the log has no such row)."""
        row = self.cat.conn.execute("SELECT hash FROM events WHERE seq = ?", [seq]).fetchone()
        return None if row is None else str(row[0])

    def has_event(self, event_id: str) -> bool:
        """Whether the log holds the event with id `event_id`."""
        return self.cat.conn.execute("SELECT 1 FROM events WHERE id = ?", [event_id]).fetchone() is not None

    def event_ids(self) -> set[str]:
        """The id of every event in the log (held in memory: for a rebuild's dedup)."""
        return {str(r[0]) for r in self.cat.conn.execute("SELECT id FROM events")}

    def unsigned_after(self, seq: int, key: bytes | None, limit: int = 20) -> list[int]:
        """The events after `seq` that archa did not write as they are (at most `limit`), in
        order: a row whose content does not match its hash, whose prev_hash is not the hash
        of the row before, or (with `key`, the seal key) whose `mac` is not the key's for its
        hash. Rows written into the catalog alone, or changed there."""
        out = []
        prev = self.hash_at(seq) if seq else GENESIS
        cols = ("seq", *HASHED_FIELDS, "hash", "mac")
        for values in self.cat.conn.execute(f"SELECT {', '.join(cols)} FROM events WHERE seq > ? ORDER BY seq",
                                            [seq]):
            row = dict(zip(cols, values, strict=True))
            if not row_ok(row, prev, key):
                out.append(int(row["seq"]))
                if len(out) >= limit:
                    break
            prev = row["hash"]
        return out

    def rows_between(self, first: int, last: int, with_mac: bool = False) -> Iterator[tuple[Any, ...]]:
        """Events `first`..`last` in order, each a tuple of every column in COLUMNS order
        (what a location's log segment holds; with `with_mac`, the row's mac after them),
        streamed."""
        cols = (*COLUMNS, "mac") if with_mac else COLUMNS
        cur = self.cat.stream(f"SELECT {', '.join(cols)} FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq",
                              [first, last])
        while batch := cur.fetchmany(1000):
            yield from (tuple(r) for r in batch)

    # what the log says of copies and AIPs (a rebuild's questions)

    def copy_events(self) -> Iterator[tuple[str, str, str, str, str, str, str]]:
        """(aip_id, version, location, type, outcome, time, detail) of every fixity check
        and replication event naming a location, oldest first, streamed."""
        cur = self.cat.stream(
            "SELECT aip_id, version, location, type, outcome, time, detail FROM events "
            "WHERE type IN ('fixity check', 'replication') AND location IS NOT NULL ORDER BY seq")
        while batch := cur.fetchmany(1000):
            yield from batch

    def records_deletion(self, aip_id: str, event_id: str, text: str) -> bool:
        """Whether the log holds a deletion or deaccession of `aip_id` that is the event
        `event_id` or names `text` (a tombstone's sha256) in its detail."""
        return self.cat.conn.execute(
            "SELECT 1 FROM events WHERE aip_id = ? AND type IN ('deletion', 'deaccession') AND "
            "(id = ? OR instr(detail, ?) > 0) LIMIT 1", [aip_id, event_id, text]).fetchone() is not None

    def last_replication(self, aip_id: str, version: str, location: str) -> str | None:
        """The detail of the newest replication event of one copy (None: there is none)."""
        row = self.cat.conn.execute("SELECT detail FROM events WHERE aip_id = ? AND version = ? AND location = ? AND "
                                    "type = 'replication' ORDER BY seq DESC LIMIT 1",
                                    [aip_id, version, location]).fetchone()
        return None if row is None else str(row[0])

    def versions_to_check(self, since: str, newest: int) -> list[tuple[str, str, str]]:
        """(aip_id, version, created) of the active AIPs' versions made at or after `since`
        (an ISO time), and of the `newest` versions made last, oldest first."""
        return [(r[0], r[1], r[2]) for r in self.cat.conn.execute(
            "SELECT v.aip_id, v.version, v.created FROM versions v JOIN aips a ON a.id = v.aip_id "
            "WHERE COALESCE(a.state, 'active') = 'active' AND (v.created >= ? OR (v.aip_id, v.version) IN "
            "(SELECT aip_id, version FROM versions ORDER BY created DESC, aip_id DESC, version DESC LIMIT ?)) "
            "ORDER BY v.created, v.aip_id, v.version",
            [since, newest]).fetchall()]

    # the journal of the catalog-only tables and its seals

    def last_journal_seal(self) -> tuple[int, str]:
        """(N, HASH) of the newest `journal sealed at change N: HASH` event in the chain
        ((0, GENESIS) when there is none)."""
        from archa.repository.logscan import JOURNAL_SEAL

        row = self.cat.conn.execute("SELECT detail FROM events WHERE type = ? AND detail LIKE 'journal sealed at "
                                    "change %' ORDER BY seq DESC LIMIT 1", [SEAL_TYPE]).fetchone()
        m = JOURNAL_SEAL.match(row[0]) if row else None
        return (int(m.group(1)), m.group(2)) if m else (0, GENESIS)

    def last_change(self) -> int:
        """The sequence number of the journal's newest change (0: the journal is empty)."""
        return int(self.cat.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0])

    def iter_changes(self, after: int = 0, upto: int | None = None) -> Iterator[tuple[int, str, str, str]]:
        """(seq, table, op, row as JSON text) of the journal's changes after `after` (up to
        `upto` when given), in order, streamed."""
        cur = self.cat.stream(
            "SELECT seq, tbl, op, row FROM changes WHERE seq > ? AND seq <= ? ORDER BY seq",
            [after, (1 << 62) if upto is None else upto])
        while batch := cur.fetchmany(1000):
            yield from batch

    # how far each location holds the log and the journal

    def anchors(self) -> dict[str, tuple[int, int]]:
        """{location: (last event, last change) it holds, as recorded when written there}."""
        return {r[0]: (r[1] or 0, r[2] or 0) for r in self.cat.conn.execute(
            "SELECT location, last_seq, last_change FROM event_anchors")}

    def record_anchor(self, location: str, last_seq: int, last_hash: str | None, last_change: int) -> None:
        """Record that `location` holds the log up to `last_seq` (whose hash is `last_hash`)
        and the journal up to `last_change`. Call inside `cat.transaction()`."""
        self.cat.conn.execute("INSERT INTO event_anchors (location, last_seq, last_hash, last_change) VALUES "
                              "(?, ?, ?, ?) ON CONFLICT(location) DO UPDATE SET last_seq = excluded.last_seq, "
                              "last_hash = excluded.last_hash, last_change = excluded.last_change",
                              [location, last_seq, last_hash, last_change])
