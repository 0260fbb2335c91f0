"""The event log anchored in storage: every location keeps the hash-chained events too.

After each writing command (when `Repository.writing()` ends, the lock still held) the
events the catalog has that a location does not yet hold are written there as one sealed
segment, `extensions/archa-events/<first seq>-<last seq>.jsonl` (12 digits each): one JSON
object per event row (every column: seq, id, type, ..., prev_hash, hash, sorted keys) and
a last line `{"seal": {"first", "last", "hash", "written"}}`. Segments are never rewritten.
The catalog's table `event_anchors` says how far each location holds the log; a location
that cannot be reached is tried again after the next command.

`verify_anchors` checks the catalog against every location's segments: each segment's own
chain and seal, the segments joining up, and every anchored row present in the catalog
with the same hash. Rows cut from the catalog, or edited and re-hashed there, are found
and named by their sequence number. `catalog rebuild` restores the log from the location
holding the longest intact chain, row for row.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archa.errors import StorageError
from archa.repository.events import GENESIS, HASHED_FIELDS, now_iso, row_hash
from archa.repository.store import Store

PREFIX = "extensions/archa-events"
SEGMENT = re.compile(r"^extensions/archa-events/(\d{12})-(\d{12})\.jsonl$")
COLUMNS = ("seq", *HASHED_FIELDS, "hash")


def segment_key(first: int, last: int) -> str:
    return f"{PREFIX}/{first:012d}-{last:012d}.jsonl"


def _lines(rows: Iterator[tuple[Any, ...]], seal: dict[str, Any]) -> Iterator[bytes]:
    for r in rows:
        yield (json.dumps(dict(zip(COLUMNS, r, strict=True)), sort_keys=True, ensure_ascii=False) + "\n").encode(
            "utf-8", "surrogateescape")
    yield (json.dumps({"seal": seal}, sort_keys=True) + "\n").encode()


def anchor(repo: Any) -> dict[str, str]:
    """Write every location the events it does not hold yet, as one sealed segment each.
    Call with the repository lock held. Returns {location: why not} for those that failed
    (they are tried again next time); never raises for a location."""
    cat = repo.catalog
    conn = cat.conn
    top, top_hash = conn.execute("SELECT COALESCE(MAX(seq), 0), (SELECT hash FROM events ORDER BY seq DESC LIMIT 1) "
                                 "FROM events").fetchone()
    top_change = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]
    held = {r[0]: (r[1] or 0, r[2] or 0) for r in conn.execute(
        "SELECT location, last_seq, last_change FROM event_anchors")}
    failed: dict[str, str] = {}
    for loc in repo.config.locations:
        start, start_change = (n + 1 for n in held.get(loc.name, (0, 0)))
        if start > top and start_change > top_change:
            continue
        try:
            store: Store = repo.store(loc)
            if start <= top:
                key = segment_key(start, top)
                if not store.exists(key):
                    store.put(key, _lines(conn.execute(f"SELECT {', '.join(COLUMNS)} FROM events WHERE seq BETWEEN "
                                                       "? AND ? ORDER BY seq", [start, top]),
                                          {"first": start, "last": top, "hash": top_hash, "written": now_iso()}))
            if start_change <= top_change:
                key = f"{PREFIX}/changes-{start_change:012d}-{top_change:012d}.jsonl"
                if not store.exists(key):
                    rows = conn.execute("SELECT seq, tbl, op, row FROM changes WHERE seq BETWEEN ? AND ? ORDER BY seq",
                                        [start_change, top_change])
                    store.put(key, ((json.dumps({"seq": q, "tbl": t, "op": o, "row": json.loads(r)},
                                                sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape")
                                    for q, t, o, r in rows))
            compact(store)
        except StorageError as e:
            failed[loc.name] = e.message
            continue
        with cat.transaction():
            conn.execute("INSERT INTO event_anchors (location, last_seq, last_hash, last_change) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT(location) DO UPDATE SET last_seq = excluded.last_seq, "
                         "last_hash = excluded.last_hash, last_change = excluded.last_change",
                         [loc.name, top, top_hash, top_change])
    return failed


CHANGES = re.compile(r"^extensions/archa-events/changes-(\d{12})-(\d{12})\.jsonl$")


def read_changes(store: Store) -> list[dict[str, Any]]:
    """The journal of the catalog-only tables a location holds, in order, as far as it is
    contiguous from the first change."""
    keys = sorted((int(m.group(1)), int(m.group(2)), k) for k, _s in store.list(PREFIX, sizes=False)
                  if (m := CHANGES.match(k)))
    out: list[dict[str, Any]] = []
    for first, last, key in keys:
        if last <= len(out):
            continue
        if first > len(out) + 1:
            break
        for line in store.read_bytes(key).decode("utf-8", "surrogateescape").splitlines():
            change = json.loads(line)
            if change["seq"] == len(out) + 1:
                out.append(change)
    return out


@dataclass
class AnchoredLog:
    """What one location holds of the log."""

    location: str
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> row
    problems: list[tuple[int, str]] = field(default_factory=list)  # (seq, what is wrong)

    @property
    def last(self) -> int:
        return max(self.rows, default=0)


def read_anchored(store: Store) -> AnchoredLog:
    """Every segment at `store`, checked: rows re-hashed, chained, contiguous, sealed."""
    log = AnchoredLog(store.name)
    keys = sorted((int(m.group(1)), int(m.group(2)), k) for k, _s in store.list(PREFIX, sizes=False)
                  if (m := SEGMENT.match(k)))
    prev_hash, expected = GENESIS, 1
    for first, last, key in keys:
        if last < expected:
            continue  # held already by a segment before it (compaction merged them; a rerun)
        if first > expected:
            log.problems.append((expected, (f"{store.name}: events {expected}-{first - 1} are missing "
                                           f"from the log there ({key} follows)")))
        lines = store.read_bytes(key).decode("utf-8", "surrogateescape").splitlines()
        try:
            rows = [json.loads(x) for x in lines[:-1]]
            seal = json.loads(lines[-1])["seal"]
        except (ValueError, KeyError, IndexError):
            log.problems.append((first, f"{store.name}: {key} is damaged (not the JSON lines archa writes)"))
            break
        if not rows or seal.get("hash") != rows[-1]["hash"] or seal.get("last") != rows[-1]["seq"]:
            log.problems.append((first, f"{store.name}: {key} does not match its seal"))
        for r in rows:
            if r["seq"] < expected:
                continue
            if row_hash(r) != r["hash"] or (r["seq"] == expected and r["prev_hash"] != prev_hash):
                log.problems.append((r["seq"], f"{store.name}: {key} holds event {r['seq']} altered"))
                break
            log.rows[r["seq"]] = r
            prev_hash, expected = r["hash"], r["seq"] + 1
    return log


COMPACT_AT = 64  # segments of one kind at a location before they are merged into one


def compact(store: Store) -> int:
    """Merge a location's small segments into one sealed segment once there are COMPACT_AT
    of a kind: the merged one is written and read back first, then the small ones are
    deleted, so a crash leaves rows twice at worst (readers take the first copy). Returns
    how many segments were merged."""
    merged = 0
    for pattern, prefix in ((SEGMENT, ""), (CHANGES, "changes-")):
        keys = sorted((int(m.group(1)), int(m.group(2)), k) for k, _s in store.list(PREFIX, sizes=False)
                      if (m := pattern.match(k)))
        if len(keys) < COMPACT_AT or any(b[0] != a[1] + 1 for a, b in itertools.pairwise(keys)):
            continue  # few, or not contiguous (a gap, an overlap): left as they are
        first, last = keys[0][0], keys[-1][1]
        lines = [x for _f, _l, k in keys for x in store.read_bytes(k).decode("utf-8", "surrogateescape").splitlines()
                 if not x.startswith('{"seal"')]
        if prefix == "":  # one seal for the whole range
            seal = {"first": first, "last": last, "hash": json.loads(lines[-1])["hash"], "written": now_iso(),
                    "merged": len(keys)}
            lines.append(json.dumps({"seal": seal}, sort_keys=True))
        body = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
        key = f"{PREFIX}/{prefix}{first:012d}-{last:012d}.jsonl"
        if not store.exists(key):
            store.put_bytes(key, body)
        if store.read_bytes(key) != body:
            continue
        for _f, _l, k in keys:
            if k != key:
                store.delete(k)
        merged += len(keys)
    return merged


@dataclass(frozen=True)
class AnchorProblem:
    seq: int
    location: str
    problem: str


def verify_anchors(repo: Any) -> tuple[list[AnchorProblem], dict[str, int]]:
    """Problems between the catalog's log and each location's (empty when they agree), and
    {location: events the catalog has that the location does not hold yet}."""
    conn = repo.catalog.conn
    catalog = {seq: h for seq, h in conn.execute("SELECT seq, hash FROM events")}
    top = max(catalog, default=0)
    problems: list[AnchorProblem] = []
    behind: dict[str, int] = {}
    for loc in repo.config.locations:
        try:
            log = read_anchored(repo.store(loc))
        except StorageError as e:
            problems.append(AnchorProblem(0, loc.name, f"{loc.name}: the log there cannot be read: {e.message}"))
            continue
        problems += [AnchorProblem(s, loc.name, p) for s, p in log.problems]
        cut = sorted(s for s in log.rows if s not in catalog)
        if cut:
            problems.append(AnchorProblem(cut[0], loc.name, f"events {cut[0]}-{cut[-1]} are in the log at {loc.name} "
                                                            "but not in the catalog: rows were cut"))
        changed = sorted(s for s, r in log.rows.items() if s in catalog and catalog[s] != r["hash"])
        if changed:
            problems.append(AnchorProblem(changed[0], loc.name, f"event {changed[0]} differs from the log at "
                                                                f"{loc.name} ({len(changed)} rows differ): edited "
                                                                "or re-hashed in the catalog"))
        if top > log.last:
            behind[loc.name] = top - log.last
        problems += _changes_problems(repo, loc)
    return sorted(problems, key=lambda p: (p.seq, p.location)), behind


def _changes_problems(repo: Any, loc: Any) -> list[AnchorProblem]:
    """The journal of catalog-only tables at `loc` against the catalog's: a change the
    location holds that the catalog lacks, or holds otherwise."""
    try:
        stored = read_changes(repo.store(loc))
    except StorageError as e:
        return [AnchorProblem(0, loc.name, f"{loc.name}: the journal there cannot be read: {e.message}")]
    catalog = {seq: (t, o, json.loads(r)) for seq, t, o, r in repo.catalog.conn.execute(
        "SELECT seq, tbl, op, row FROM changes")}
    for c in stored:
        mine = catalog.get(c["seq"])
        if mine is None:
            return [AnchorProblem(c["seq"], loc.name, f"change {c['seq']} ({c['tbl']}) is in the journal at "
                                                      f"{loc.name} but not in the catalog: rows were cut")]
        if mine != (c["tbl"], c["op"], c["row"]):
            return [AnchorProblem(c["seq"], loc.name, f"change {c['seq']} ({c['tbl']}) differs from the journal "
                                                      f"at {loc.name}: edited in the catalog")]
    return []


def export_events(repo: Any, out: Path, fmt: str = "premis", aip_id: str | None = None,
                  since: str | None = None) -> int:
    """Write the events (of one AIP, from a time) to the new file `out` durably: a PREMIS 3
    document, or JSON lines with every column (the chain can be re-checked from the file
    alone). Returns how many were written."""
    from archa.errors import UsageError
    from archa.metadata.premis import events_document
    from archa.repository.durable import check_target, write_durable

    out = out.absolute()
    check_target(out)
    if aip_id:
        repo.catalog.aip(aip_id)  # NotFoundError
    rows = repo.catalog.events(aip_id, since)
    if fmt == "premis":
        data = events_document(rows, repo.config.repository_id)
    elif fmt == "jsonl":
        data = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows).encode(
            "utf-8", "surrogateescape")
    else:
        raise UsageError(f"no export format {fmt!r}", hint="use premis or jsonl")
    write_durable(out, data)
    return len(rows)
