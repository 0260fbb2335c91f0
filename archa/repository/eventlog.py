"""The event log anchored in storage: every location keeps the hash-chained events too.

After each writing command (when `Repository.writing()` ends, the lock still held) the
events the catalog has that a location does not yet hold are written there as one sealed
segment, `extensions/archa-events/<first seq>-<last seq>.jsonl` (12 digits each): one JSON
object per event row (every column: seq, id, type, ..., prev_hash, hash, sorted keys) and
a last line `{"seal": {"first", "last", "hash", "written"[, "hmac"]}}` (the HMAC-SHA256 of
the seal under the repository's seal key, when archa.toml names one). Segments are never
rewritten. The journal of the catalog-only tables goes beside them
(`changes-<first>-<last>.jsonl`) and is bound to the chain: before writing, `anchor`
appends a `journal sealed at change N: HASH` event (logscan.change_hash) whenever the
journal has grown. The catalog's table `event_anchors` says how far each location holds the
log and the journal; a location that cannot be reached is tried again after the next command.

`verify_anchors` checks the catalog against every location (see logscan.py for how a
location's log is read and judged): rows cut from the catalog, or edited and re-hashed
there; a location holding less than the catalog recorded as written there (a log deleted
or truncated); a journal edited, cut or truncated; seals that do not verify.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archa.errors import StorageError
from archa.repository.catalog.log import SEAL_TYPE
from archa.repository.events import ARCHA_AGENT, GENESIS, Event, now_iso, row_hash
from archa.repository.logscan import (
    CHANGES,
    COLUMNS,
    PREFIX,
    SEGMENT,
    change_hash,
    iter_changes,
    iter_lines,
    repo_seal_key,
    scan_journal,
    scan_log,
    segment_keys,
    sign,
    signed_by,
)
from archa.repository.store import Store

if TYPE_CHECKING:
    from archa.repository.catalog.log import EventLog
    from archa.repository.catalog.logtables import HashTables

__all__ = ["CHANGES", "COLUMNS", "PREFIX", "SEAL_TYPE", "SEGMENT", "anchor", "compact", "export_events",
           "log_ahead", "log_gaps", "read_changes", "repair_log_gaps", "segment_key", "unsigned", "verify_anchors"]


def segment_key(first: int, last: int) -> str:
    return f"{PREFIX}/{first:012d}-{last:012d}.jsonl"


def _lines(rows: Iterator[tuple[Any, ...]], seal: dict[str, Any]) -> Iterator[bytes]:
    for r in rows:
        yield (json.dumps(dict(zip(COLUMNS, r, strict=True)), sort_keys=True, ensure_ascii=False) + "\n").encode(
            "utf-8", "surrogateescape")
    yield (json.dumps({"seal": seal}, sort_keys=True) + "\n").encode()


def seal_journal(cat: Any) -> int | None:
    """Append `journal sealed at change N: HASH` when the journal has grown since the last
    seal (in one transaction with reading it); returns N, or None when nothing was new."""
    log: EventLog = cat.log
    with cat.transaction():
        n, h = log.last_journal_seal()
        top = log.last_change()
        if top <= n:
            return None
        for seq, tbl, op, row in log.iter_changes(after=n):
            h = change_hash(h, seq, tbl, op, row)
        log.append([Event(SEAL_TYPE, "success", f"journal sealed at change {top}: {h}", ARCHA_AGENT)])
    return int(top)


def log_ahead(repo: Any) -> dict[str, str]:
    """{location: why} for each location whose copy of the event log or journal is ahead of
    the catalog: it holds events or changes the catalog lacks, or its newest event with
    another hash. What a catalog restored from an older copy (or cut) looks like: every
    location is ahead of it. Writing then would fork the history at the locations, and a
    rebuild could no longer agree on one. Cheap (a listing and one segment's tail per
    location); a location that cannot be read is left to the audit and `events verify`.
    The locations are read before the catalog, so a command anchoring meanwhile (its rows
    committed before they are written out) is never taken for one ahead."""
    key = repo_seal_key(repo)
    held: dict[str, tuple[int, dict[str, Any] | None, int]] = {}
    for loc in repo.config.locations:
        try:
            store: Store = repo.store(loc)
            keys = segment_keys(store)
            if key is not None and (signed := _signed_last(store, keys, key)) is not None:
                keys = [k for k in keys if k[1] <= signed]  # a file there that no signed seal vouches for is no log
            newest = max(keys, key=lambda k: (k[1], k[0])) if keys else None
            held[loc.name] = (newest[1] if newest else 0, _seal_of(store, newest[2]) if newest else None,
                              _contiguous_last(segment_keys(store, CHANGES)))
        except StorageError:
            continue
    log: EventLog = repo.catalog.log
    top, _hash = log.head()
    top_change = log.last_change()
    sealed_change = log.last_journal_seal()[0]
    out: dict[str, str] = {}
    for name, (last, seal, last_change) in held.items():
        why = []
        if last > top:
            why.append(f"it holds the event log up to event {last}, the catalog only up to {top}")
        elif last and seal is not None and seal.get("last") == last and log.hash_at(last) != seal.get("hash"):
            why.append(f"its event {last} is not the catalog's (hash {str(seal.get('hash'))[:12]}…, the catalog "
                       f"{str(log.hash_at(last))[:12]}…)")
        # changes beyond the catalog's count only where the chain vouches for them: the catalog's own newest
        # journal seal (its journal was cut), or events beyond the catalog's (said above). A segment no seal
        # vouches for is no journal: an empty `changes-<next>-<far>.jsonl` planted at one location made every
        # writing command refuse, `repair` too, while `events verify` and `catalog rebuild --check` saw nothing
        if last_change > top_change and sealed_change > top_change:
            why.append(f"it holds the journal up to change {min(last_change, sealed_change)}, the catalog only up to "
                       f"{top_change}")
        if why:
            out[name] = "; ".join(why)
    return out


def _signed_last(store: Store, keys: list[tuple[int, int, str]], key: bytes) -> int | None:
    """The last event of the newest segment at `store` whose seal is signed with `key` (a
    file planted there, with no seal or another, does not count); None when there is none."""
    for _first, last, k in sorted(keys, key=lambda x: (x[1], x[0]), reverse=True):
        seal = _seal_of(store, k)
        if seal is not None and seal.get("last") == last and signed_by(key, seal):
            return last
    return None


def vouched(repo: Any, key: bytes) -> int:
    """How far the event log is vouched for by a seal signed with the seal key at some
    location (archa checked every row up to it before it signed): the newest such seal's last
    event. With no signed seal anywhere yet (the key was just set), what every reachable
    location holds."""
    best: int | None = None
    held = []
    for loc in repo.config.locations:
        try:
            store: Store = repo.store(loc)
            keys = segment_keys(store)
            signed = _signed_last(store, keys, key)
        except StorageError:
            continue
        held.append(max((last for _f, last, _k in keys), default=0))
        if signed is not None:
            best = signed if best is None else max(best, signed)
    return best if best is not None else (min(held) if held else 0)


def other_key(repo: Any, key: bytes) -> list[str]:
    """The locations whose newest seal is signed, but not with `key`: the repository's other
    nodes sign with another key (a node given a key of its own would sign events they refuse).
    Locations that cannot be read are left out."""
    out = []
    stores, listed = _listed_segments(repo)
    for name, keys in listed.items():
        newest = max(keys, key=lambda x: (x[1], x[0]), default=None)
        try:
            seal = _seal_of(stores[name], newest[2]) if newest is not None else None
        except StorageError:
            continue
        if seal is not None and "hmac" in seal and not signed_by(key, seal):
            out.append(name)
    return out


def seal_key_problem(repo: Any, record: bool = False) -> str:
    """What is wrong with this node's seal key for the repository ("" when nothing): the
    catalog records that the repository signs with a key (`logscan.KEY_ID_SETTING`) and this
    node has none, or another (a key file swapped, a node given its own); or, where no key is
    recorded yet, the locations' newest seals are signed with another key. With `record`
    (a writing command), a key not recorded yet is recorded then (a key just named in
    archa.toml by hand), so that from then on a swapped key file is told."""
    from archa.repository.logscan import KEY_ID_SETTING, key_id

    key = repo_seal_key(repo)
    recorded = repo.catalog.setting(KEY_ID_SETTING)
    if key is None:
        if recorded is None:
            return ""
        return ("the repository signs its event log with a seal key, and this node's archa.toml names none (or its "
                "seal_key line was removed): what it wrote would not be signed, and the other nodes and the next "
                "command with the key would refuse it")
    mine = key_id(key)
    if recorded is None:
        others = other_key(repo, key)
        if others:
            return (f"{repo.config.seal_key} is not the key the seals at {', '.join(others)} are signed with "
                    "(the key file was replaced, or this node was given another)")
        held = repo.catalog.claim_setting(KEY_ID_SETTING, mine) if record else None
        recorded = held or mine
    if recorded != mine:
        return (f"{repo.config.seal_key} is not the seal key the repository signs with (the catalog records "
                "another): the key file was replaced, or this node was given another")
    return ""


def unsigned(repo: Any) -> list[int]:
    """With a seal key: the events beyond what a signed seal vouches for (`vouched`) that
    archa did not write as they are (at most 20; catalog/log.py `row_ok`): unsigned, signed for
    another content (a hash and mac copied from another row), or off the chain. Written into
    the catalog alone, or by a node whose archa.toml names no key; anchoring them would make
    them history. Empty without a key (nothing can be told then)."""
    key = repo_seal_key(repo)
    return _unsigned_beyond(repo, key, vouched(repo, key)) if key is not None else []


def _unsigned_beyond(repo: Any, key: bytes, signed_from: int) -> list[int]:
    log: EventLog = repo.catalog.log
    return log.unsigned_after(signed_from, key)


class _NotArchas(Exception):
    """An event row to be anchored is not archa's as it stands (see `_checked`)."""


def _checked(log: EventLog, first: int, last: int, key: bytes | None, signed_from: int) -> Iterator[tuple[Any, ...]]:
    """Rows `first`..`last` as a segment holds them, each checked as it is written out (the
    rows written are the rows checked): on the chain from the row before, its content its
    hash, and with `key` signed when beyond `signed_from`. _NotArchas otherwise, which stops
    the segment before it is stored."""
    from archa.repository.catalog.log import row_ok

    prev = log.hash_at(first - 1) if first > 1 else GENESIS
    for values in log.rows_between(first, last, with_mac=True):
        row = dict(zip((*COLUMNS, "mac"), values, strict=True))
        if not row_ok(row, prev, key if key is not None and row["seq"] > signed_from else None):
            raise _NotArchas(f"event {row['seq']} in the catalog is not archa's as it stands (changed there, or "
                             "written there without the seal key): not anchored")
        prev = row["hash"]
        yield values[:-1]


def _already_there(store: Store, log: EventLog, start: int, start_change: int,
                   key: bytes | None) -> tuple[int, int]:
    """Where to start writing the log and the journal at `store`: after what it holds
    already when that is beyond what the catalog recorded and the newest segment ends on the
    catalog's own row (same hash; with `key`, under a seal signed with it); otherwise where
    the catalog says."""
    keys = segment_keys(store)
    if keys:
        _first, last, k = max(keys, key=lambda x: (x[1], x[0]))
        seal = _seal_of(store, k) if last >= start else None
        if seal is not None and seal.get("last") == last and log.hash_at(last) == seal.get("hash") \
                and (key is None or signed_by(key, seal)):
            start = last + 1
    return start, _changes_there(store, log, start_change - 1) + 1


def _changes_there(store: Store, log: EventLog, recorded: int) -> int:
    """The last change of the journal `store` holds as the catalog does, read on from
    change `recorded` (what the catalog recorded as written there): the changes a command
    killed after writing them there, before recording it, left. Read, not taken from the
    segments' names: an empty `changes-<next>-<far>.jsonl` planted there made every later
    change look written and none was (the location's journal silently stopped)."""
    keys = [k for k in segment_keys(store, CHANGES) if k[1] > recorded]
    if not keys:
        return recorded
    done = recorded
    mine = log.iter_changes(after=recorded, upto=max(last for _f, last, _k in keys))
    want = next(mine, None)
    for first, _last, key in keys:
        if first > done + 1:
            break
        for line in iter_lines(store, key):  # a segment that stops agreeing is left for the next one
            try:
                change = json.loads(line)
            except ValueError:
                break
            seq = change.get("seq") if isinstance(change, dict) else None
            if not isinstance(seq, int) or isinstance(seq, bool):  # a line planted there may be any JSON
                break
            if seq <= done:
                continue
            if want is None or change != {"seq": want[0], "tbl": want[1], "op": want[2], "row": json.loads(want[3])}:
                break
            done, want = want[0], next(mine, None)
    return done


def _contiguous_last(keys: list[tuple[int, int, str]]) -> int:
    """The last number of a run of segments contiguous from 1 (a file planted far beyond is
    not a journal a location holds)."""
    gaps = _missing(keys, 0)
    return gaps[0][0] - 1 if gaps else max((last for _f, last, _k in keys), default=0)


def _missing(keys: list[tuple[int, int, str]], recorded: int) -> list[tuple[int, int]]:
    """The ranges of numbers a run of segments lacks, up to `recorded` (what was written there)."""
    expected, out = 1, []
    for first, last, _k in keys:
        if first > expected:
            out.append((expected, first - 1))
        expected = max(expected, last + 1)
    if recorded >= expected:
        out.append((expected, recorded))
    return out


def _lines_overlapping(store: Store, keys: list[tuple[int, int, str]], first: int, last: int) -> Iterator[str]:
    """The lines of the segments in `keys` whose range meets `first`..`last`, in order."""
    for f, l, k in keys:
        if l >= first and f <= last:
            yield from iter_lines(store, k)


def _gaps(keys: list[tuple[int, int, str]], recorded: int) -> list[tuple[int, int]]:
    """`_missing` judged by the segments archa could have written at a location that holds up
    to `recorded`: none starts beyond `recorded + 1` (a file planted far beyond, `…100-…100`,
    is no sign that 6-99 were deleted there) or has no valid range (`…0-…0`)."""
    return _missing([k for k in keys if 1 <= k[0] <= min(k[1], recorded + 1)], recorded)


def _holds_as_catalog(store: Store, keys: list[tuple[int, int, str]], log: EventLog, first: int, last: int) -> bool:
    """Whether `store` holds every event `first`..`last` as the catalog does: each row's
    content hashing to the catalog's hash for it (a row edited there, its hash kept, does
    not count). False when a segment there cannot be read or parsed."""
    seen: set[int] = set()
    try:
        for line in _lines_overlapping(store, keys, first, last):
            row = json.loads(line)
            if not isinstance(row, dict) or "seal" in row or not first <= int(row["seq"]) <= last:
                continue
            if row.get("hash") != log.hash_at(int(row["seq"])) or row_hash(row) != row["hash"]:
                return False
            seen.add(int(row["seq"]))
    except (StorageError, ValueError, TypeError, KeyError):
        return False
    return len(seen) == last - first + 1


def _segment_sound(store: Store, seg: str, first: int, last: int, log: EventLog, key: bytes | None) -> bool:
    """Whether the segment `seg` (events `first`..`last`) at `store` is as archa wrote it:
    every row of the range there once, in order, its content hashing to the catalog's hash
    and linked to the row before; its seal closing the range with the catalog's hash; and,
    with `key`, a seal that carries a signature signed with it (one written before the key
    was set carries none)."""
    prev = log.hash_at(first - 1) if first > 1 else GENESIS
    expected, seal = first, None
    try:
        for line in iter_lines(store, seg):
            obj = json.loads(line)
            if not isinstance(obj, dict):
                return False
            if "seal" in obj:
                seal = obj["seal"]
                continue
            if obj.get("seq") != expected or row_hash(obj) != obj.get("hash") or obj.get("prev_hash") != prev \
                    or obj["hash"] != log.hash_at(expected):
                return False
            prev, expected = obj["hash"], expected + 1
    except (StorageError, ValueError, TypeError, KeyError):
        return False
    if expected != last + 1 or not isinstance(seal, dict) or seal.get("last") != last or seal.get("hash") != prev:
        return False
    return key is None or "hmac" not in seal or signed_by(key, seal)


def _listed_segments(repo: Any, pattern: re.Pattern[str] = SEGMENT
                     ) -> tuple[dict[str, Store], dict[str, list[tuple[int, int, str]]]]:
    """({location: store}, {location: its segments of `pattern`}) of the locations that can be read."""
    stores: dict[str, Store] = {}
    listed: dict[str, list[tuple[int, int, str]]] = {}
    for loc in repo.config.locations:
        try:
            stores[loc.name] = repo.store(loc)
            listed[loc.name] = segment_keys(stores[loc.name], pattern)
        except StorageError:
            continue
    return stores, listed


def changes_key(first: int, last: int) -> str:
    """The key of the journal segment holding changes `first`..`last`."""
    return f"{PREFIX}/changes-{first:012d}-{last:012d}.jsonl"


def _change_line(seq: int, tbl: str, op: str, row: str) -> bytes:
    """One change of the journal as a location holds it (`row`: the catalog's JSON text)."""
    return (json.dumps({"seq": seq, "tbl": tbl, "op": op, "row": json.loads(row)}, sort_keys=True,
                       ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape")


def _changes_sound(store: Store, seg: str, first: int, last: int, log: EventLog) -> bool:
    """Whether the journal segment `seg` (changes `first`..`last`) at `store` holds exactly
    the catalog's changes of that range, in order (the catalog's journal is itself bound to
    the chain by its `journal sealed` events, which `events verify` checks). Of a segment
    reaching beyond the catalog's journal (a catalog restored from an older copy), the part
    the catalog has."""
    upto = min(last, log.last_change())
    try:
        lines = iter_lines(store, seg)
        for want in log.iter_changes(after=first - 1, upto=upto):
            if next(lines, None) != _change_line(*want).decode("utf-8", "surrogateescape").rstrip("\n"):
                return False
        return upto < last or next(lines, None) is None
    except (StorageError, ValueError, TypeError):
        return False


def _changes_as_catalog(store: Store, keys: list[tuple[int, int, str]], log: EventLog, first: int, last: int) -> bool:
    """Whether `store` holds every change `first`..`last` as the catalog does, taking them as
    readers do (in segment order, each the first line with the next number), compared in step
    with the catalog's, streamed: a whole journal of millions of changes is never held. False
    when a segment there cannot be read or parsed."""
    mine = log.iter_changes(after=first - 1, upto=last)
    done = first - 1
    try:
        for line in _lines_overlapping(store, keys, first, last):
            if json.loads(line)["seq"] != done + 1:
                continue
            want = next(mine, None)
            if want is None or line.encode("utf-8", "surrogateescape") != _change_line(*want).rstrip(b"\n"):
                return False
            done += 1
            if done == last:
                return True
    except (StorageError, ValueError, TypeError, KeyError):
        return False
    return done == last


@dataclass(frozen=True)
class _Kind:
    """One kind of segment the log repairs mend: the event log's or the journal's."""

    noun: str  # what a segment holds: "events", "changes"
    pattern: re.Pattern[str]
    top: int  # the catalog's newest
    recorded: int  # index into EventLog.anchors()'s values: how far a location holds this kind
    sound: Callable[[Store, str, int, int], bool]  # a segment at a location as archa wrote it
    holds: Callable[[Store, list[tuple[int, int, str]], int, int], bool]  # a range there as the catalog has it
    write: Callable[[Store, int, int, str], None]  # a range written from the catalog (naming the witness)


def _kinds(repo: Any) -> list[_Kind]:
    log: EventLog = repo.catalog.log
    key = repo_seal_key(repo)

    def write_changes(store: Store, first: int, last: int, _witness: str) -> None:
        store.put(changes_key(first, last), (_change_line(*c) for c in log.iter_changes(after=first - 1, upto=last)))

    return [_Kind("events", SEGMENT, log.head()[0], 0,
                  lambda st, seg, f, la: _segment_sound(st, seg, f, la, log, key),
                  lambda st, keys, f, la: _holds_as_catalog(st, keys, log, f, la),
                  lambda st, f, la, w: _write_from_catalog(st, log, f, la, w, key)),
            _Kind("changes", CHANGES, log.last_change(), 1,
                  lambda st, seg, f, la: _changes_sound(st, seg, f, la, log),
                  lambda st, keys, f, la: _changes_as_catalog(st, keys, log, f, la),
                  write_changes)]


def _witness(name: str, stores: dict[str, Store], listed: dict[str, list[tuple[int, int, str]]], kind: _Kind,
             first: int, last: int) -> str | None:
    """Another location than `name` that holds `first`..`last` of `kind` as the catalog does."""
    return next((o for o in listed if o != name and kind.holds(stores[o], listed[o], first, last)), None)


def _write_from_catalog(store: Store, log: EventLog, first: int, last: int, witness: str, key: bytes | None) -> None:
    """Write events `first`..`last` from the catalog's rows to `store` as one sealed segment
    (signed with `key`), naming the location that witnessed them; StorageError, _NotArchas."""
    seal = {"first": first, "last": last, "hash": log.hash_at(last), "written": now_iso(), "repaired_from": witness}
    store.put(segment_key(first, last), _lines(_checked(log, first, last, None, last), sign(key, seal) if key else seal))


DAMAGED = f"{PREFIX}/damaged"  # segments replaced by `repair_log_segments`, kept as evidence


def repair_log_segments(repo: Any, only: str | None = None) -> tuple[list[str], list[str]]:
    """Replace each segment of the event log or of the journal a location holds that is not
    as archa wrote it (events: `_segment_sound`, a row edited or re-hashed there, a row added
    or cut, its seal changed or signed without the key; changes: `_changes_sound`, not the
    catalog's changes of its range; of location `only`, when given) by one written from the
    catalog's rows, when another location holds that range as the catalog does (the catalog
    alone is no witness). The segment replaced is kept, as evidence, under
    `DAMAGED`/<name>.<time> (first copied there, then deleted, then written anew: a crash in
    between leaves a gap that `repair_log_gaps` fills on the next run, never an edit
    believed). Returns (what was replaced, what could not be). Call under the lock."""
    done, left = [], []
    stamp = now_iso().replace(":", "").replace("-", "")[:15]
    for kind in _kinds(repo):
        stores, listed = _listed_segments(repo, kind.pattern)
        for name, keys in listed.items():
            if only is not None and name != only:
                continue
            store = stores[name]
            for first, last, seg in keys:
                # an event segment beyond the catalog's head is left to `anchor` and the audits (a location ahead of
                # a catalog restored from an older copy looks so); a journal segment is judged on what it holds of
                # the catalog's range (`_changes_sound`), so a forged change under a far name is not left to readers
                beyond = first > kind.top if kind.noun == "changes" else last > kind.top
                if beyond or first < 1 or first > last or kind.sound(store, seg, first, last):
                    continue
                what = f"{name}: {seg.rsplit('/', 1)[-1]} ({kind.noun} {first}-{last})"
                upto = min(last, kind.top)
                witness = _witness(name, stores, listed, kind, first, upto)
                if witness is None:
                    left.append(f"{what}: not as archa wrote it, and no other location holds those {kind.noun} as the "
                                "catalog does")
                    continue
                kept = f"{DAMAGED}/{seg.rsplit('/', 1)[-1]}.{stamp}"
                n = 1
                while store.exists(kept):  # a repair killed after keeping it, run again in the same second
                    kept, n = f"{DAMAGED}/{seg.rsplit('/', 1)[-1]}.{stamp}-{n}", n + 1
                try:
                    with store.open(seg) as f:
                        store.put(kept, iter(lambda: f.read(1 << 20), b""))
                    store.delete(seg)
                    if upto == last:  # else only removed: what it lacks there is written back as a gap
                        kind.write(store, first, last, witness)
                except (StorageError, _NotArchas) as e:
                    left.append(f"{what}: {e}")
                    continue
                done.append(f"{what}: not as archa wrote it; " + (f"written anew, as {witness} holds them" if upto == last
                            else "removed (it reaches beyond the catalog)") + f" (the old one kept as {kept})")
    return done, left


def repair_log_gaps(repo: Any, only: str | None = None) -> tuple[list[str], list[str]]:
    """Write back the events or journal changes a location's copy lacks (segments deleted
    there; of location `only`, when given), as one segment per missing range, from the
    catalog's rows, when another location holds the same range as the catalog does (the
    catalog alone is no witness). Returns (what was written, what could not be). Call under
    the lock."""
    anchored = repo.catalog.log.anchors()
    done, left = [], []
    for kind in _kinds(repo):
        stores, listed = _listed_segments(repo, kind.pattern)
        for name, keys in listed.items():
            if only is not None and name != only:
                continue
            for first, last in _gaps(keys, anchored.get(name, (0, 0))[kind.recorded]):
                what = f"{name}: {kind.noun} {first}-{last}"
                witness = _witness(name, stores, listed, kind, first, last)
                if witness is None:
                    left.append(f"{what}: no other location holds them as the catalog does")
                    continue
                try:
                    kind.write(stores[name], first, last, witness)
                except (StorageError, _NotArchas) as e:
                    left.append(f"{what}: {e}")
                    continue
                done.append(f"{what} written back, as {witness} holds them")
    return done, left


def log_gaps(repo: Any) -> dict[str, str]:
    """{location: why} for each location whose copy of the event log or journal lacks a part
    it was given: a gap between its segments, or less than the catalog recorded as written
    there (segments deleted). From the listing alone (what is in a segment is for `events
    verify`); a location that cannot be read is left to the audit."""
    anchored = repo.catalog.log.anchors()
    out: dict[str, str] = {}
    for loc in repo.config.locations:
        try:
            store: Store = repo.store(loc)
            listed = {"event": segment_keys(store), "journal change": segment_keys(store, CHANGES)}
        except StorageError:
            continue
        recorded = dict(zip(("event", "journal change"), anchored.get(loc.name, (0, 0)), strict=True))
        why = []
        for what, keys in listed.items():
            missing = [f"{a}-{b}" for a, b in _gaps(keys, recorded[what])]
            if missing:
                why.append(f"{what}s {', '.join(missing)} are not there")
        if why:
            out[loc.name] = "; ".join(why)
    return out


def _occupied(store: Store, seg: str, first: int, last: int, log: EventLog, key: bytes | None,
              changes: bool = False) -> bool:
    """Whether `seg` is at `store` already holding rows (or journal `changes`) `first`..`last`
    as the catalog has them (another node anchoring the same rows wrote it meanwhile);
    _NotArchas when it is there holding anything else (planted there: not written over, the
    location not recorded as holding the rows; see `anchor`)."""
    if not store.exists(seg):
        return False
    if _changes_sound(store, seg, first, last, log) if changes else _segment_sound(store, seg, first, last, log, key):
        return True
    raise _NotArchas(f"{seg} is there already and does not hold what the catalog has for it (planted there?): "
                     "not written; `archa repair` writes it anew from the catalog when another location agrees")


def _seal_of(store: Store, key: str) -> dict[str, Any] | None:
    """The seal line of the segment `key` (read from its tail); None when it has none."""
    size = store.size(key) or 0
    with store.open_at(key, max(0, size - 4096)) as f:
        tail = f.read().decode("utf-8", "surrogateescape").strip().splitlines()
    try:
        last = json.loads(tail[-1]) if tail else None
    except ValueError:
        return None
    seal = last.get("seal") if isinstance(last, dict) else None  # a line planted there may be any JSON
    return seal if isinstance(seal, dict) else None


def _sign_heads(repo: Any, key: bytes) -> None:
    """With a seal key, make sure every location's newest seal will be signed: when one is
    not (the key is new, or the location was written without it), append an event so that
    the next segment, signed, vouches for the whole chain before it. A location's newest
    seal is that of a segment ending where the catalog recorded its log as written there:
    an unsigned file planted beyond it made every writing command append that event again."""
    anchored = repo.catalog.log.anchors()
    for loc in repo.config.locations:
        last = anchored.get(loc.name, (0, 0))[0]
        if not last:
            continue
        try:
            store: Store = repo.store(loc)
            seals = [_seal_of(store, k) for _f, end, k in segment_keys(store) if end == last]
        except StorageError:
            continue
        if seals and not any(seal is not None and "hmac" in seal for seal in seals):
            cat = repo.catalog
            with cat.transaction():
                cat.log.append([Event(SEAL_TYPE, "success", "event log signed with the repository's seal key from "
                                                            "here on", ARCHA_AGENT)])
            return


def anchor(repo: Any) -> dict[str, str]:
    """Seal the journal into the chain when it has grown, then write every location the
    events and changes it does not hold yet, as one sealed segment each (signed with the
    seal key when there is one). Call with the repository lock held. Returns {location: why
    not} for those that failed (they are tried again next time); never raises for a location."""
    cat = repo.catalog
    log: EventLog = cat.log
    key = repo_seal_key(repo)
    signed_from = vouched(repo, key) if key is not None else 0
    forged = _unsigned_beyond(repo, key, signed_from) if key is not None else []
    if forged:  # written into the catalog meanwhile, without the key: never made history here
        why = (f"events {', '.join(map(str, forged[:5]))} in the catalog are not signed with the seal key: "
               "not anchored")
        return {loc.name: why for loc in repo.config.locations}
    seal_journal(cat)
    if key is not None:
        _sign_heads(repo, key)
    top, top_hash = log.head()
    top_change = log.last_change()
    held = log.anchors()
    failed: dict[str, str] = {}
    for loc in repo.config.locations:
        start, start_change = (n + 1 for n in held.get(loc.name, (0, 0)))
        if start > top and start_change > top_change:
            continue
        try:
            store: Store = repo.store(loc)
            # what a command killed after writing here, before recording it, left: not written twice
            start, start_change = _already_there(store, log, start, start_change, key)
            # a file already under the name to write, which `_already_there` did not take for these rows, is
            # not archa's (planted there): not written over, and the location not recorded as holding them
            # (one written meanwhile by another node anchoring the same rows is archa's: taken as written)
            if start <= top:
                seg = segment_key(start, top)
                if not _occupied(store, seg, start, top, log, key):
                    seal = {"first": start, "last": top, "hash": top_hash, "written": now_iso()}
                    store.put(seg, _lines(_checked(log, start, top, key, signed_from),
                                          sign(key, seal) if key is not None else seal))
            if start_change <= top_change:
                seg = changes_key(start_change, top_change)
                if not _occupied(store, seg, start_change, top_change, log, key, changes=True):
                    store.put(seg, (_change_line(*c) for c in log.iter_changes(after=start_change - 1,
                                                                              upto=top_change)))
            compact(store, log, key)
        except StorageError as e:
            failed[loc.name] = e.message
            continue
        except _NotArchas as e:
            failed[loc.name] = str(e)
            continue
        with cat.transaction():
            log.record_anchor(loc.name, top, top_hash, top_change)
    return failed


def read_changes(store: Store) -> list[dict[str, Any]]:
    """The journal of the catalog-only tables a location holds, in order, as far as it is
    contiguous from the first change."""
    return list(iter_changes(store))


COMPACT_AT = 64  # segments of one kind at a location before they are merged into one


_HASH_AT = COLUMNS.index("hash")  # in EventLog.rows_between's tuples


def _rows_as_catalog(store: Store, keys: list[tuple[int, int, str]], log: EventLog, changes: bool) -> list[str] | None:
    """The rows of contiguous segments `keys`, each once (overlapping segments: a crash
    between writing one and recording it), as their lines; None when a line there is not the
    catalog's row (an event whose content does not hash to the catalog's hash for it, a
    change other than the catalog's) or is no row at all."""
    lines, seen = [], 0
    last = max(la for _f, la, _k in keys)
    mine: Iterator[tuple[Any, ...]] = log.iter_changes(after=0, upto=last) if changes else \
        ((r[0], r[_HASH_AT]) for r in log.rows_between(1, last))  # the catalog's, in step with the rows read
    for _f, _l, k in keys:
        for x in iter_lines(store, k):
            try:
                row = json.loads(x)
            except ValueError:
                return None
            if not isinstance(row, dict):
                return None
            if "seal" in row and not changes:
                continue
            seq = row.get("seq")
            if not isinstance(seq, int) or isinstance(seq, bool):
                return None
            if seq <= seen:
                continue
            if seq != seen + 1:
                return None
            want = next(mine, None)
            if want is None or want[0] != seq:
                return None
            if changes:
                if x.encode("utf-8", "surrogateescape") != _change_line(*want).rstrip(b"\n"):
                    return None
            elif row.get("hash") != want[1] or row_hash(row) != row["hash"]:
                return None
            lines.append(x)
            seen = seq
    return lines


def compact(store: Store, log: EventLog, key: bytes | None = None) -> int:
    """Merge a location's small segments into one sealed segment once there are COMPACT_AT
    of a kind: the merged one is written and read back first, then the small ones are
    deleted, so a crash leaves rows twice at worst (readers take the first copy). The merged
    event segment's seal is signed with `key` when there is one. Only segments within the
    catalog's range whose every row is the catalog's are merged: a file planted there (a
    forged change under a far name, a line of junk) is left for `repair`, never folded into
    a merged segment or crashing the command. Returns how many segments were merged."""
    merged = 0
    for pattern, prefix, top in ((SEGMENT, "", log.head()[0]), (CHANGES, "changes-", log.last_change())):
        keys = [k for k in segment_keys(store, pattern) if 1 <= k[0] <= k[1] <= top]
        if len(keys) < COMPACT_AT or keys[0][0] != 1 or any(b[0] > a[1] + 1 for a, b in itertools.pairwise(keys)):
            continue  # few, or not contiguous (a gap): left as they are
        first, last = keys[0][0], max(k[1] for k in keys)
        lines = _rows_as_catalog(store, keys, log, prefix == "changes-")
        if lines is None:
            continue  # a row there is not the catalog's: left for `repair`
        if len(lines) != last - first + 1:
            continue
        if prefix == "":  # one seal for the whole range
            seal = {"first": first, "last": last, "hash": log.hash_at(last), "written": now_iso(),
                    "merged": len(keys)}
            lines.append(json.dumps({"seal": sign(key, seal) if key is not None else seal}, sort_keys=True))
        body = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
        seg = f"{PREFIX}/{prefix}{first:012d}-{last:012d}.jsonl"
        if not store.exists(seg):
            store.put_bytes(seg, body)
        if store.read_bytes(seg) != body:
            continue
        for _f, _l, k in keys:
            if k != seg:
                store.delete(k)
        merged += len(keys)
    return merged


@dataclass(frozen=True)
class AnchorProblem:
    seq: int
    location: str
    problem: str


def verify_anchors(repo: Any) -> tuple[list[AnchorProblem], dict[str, int]]:
    """Problems between the catalog's log and journal and each location's (empty when they
    agree), and {location: events the catalog has that the location does not hold yet}."""
    from archa.repository.catalog.logtables import HashTables

    cat = repo.catalog
    log: EventLog = cat.log
    key = repo_seal_key(repo)
    top = log.head()[0]
    anchored = log.anchors()
    problems: list[AnchorProblem] = []
    behind: dict[str, int] = {}
    db = HashTables()
    try:
        for i, loc in enumerate(repo.config.locations):
            store = repo.store(loc)
            compare = _Comparer(log, loc.name)
            scan = scan_log(store, key, compare.row)
            problems += [AnchorProblem(s, loc.name, p) for s, p in scan.problems] + compare.done()
            if not scan.reachable:
                continue
            recorded, recorded_change = anchored.get(loc.name, (0, 0))
            if scan.last < recorded:
                problems.append(AnchorProblem(scan.last + 1, loc.name,
                                              f"{loc.name} holds the log up to event {scan.last}, but the catalog "
                                              f"recorded events up to {recorded} as written there: the log there was "
                                              "deleted or truncated"))
            elif top > scan.last:
                behind[loc.name] = top - scan.last
            problems += _journal_problems(db, f"j{i}", store, log, recorded_change)
    finally:
        db.close()
    return sorted(problems, key=lambda p: (p.seq, p.location)), behind


class _Comparer:
    """Compares a location's rows, as they are read, with the catalog's; `done` gives the
    problems found (a range cut from the catalog, rows edited or re-hashed there)."""

    def __init__(self, log: EventLog, location: str) -> None:
        self.log, self.location = log, location
        self.cut: list[int] = []  # first and last
        self.changed: list[int] = []  # first, and how many

    def row(self, r: dict[str, Any]) -> None:
        mine = self.log.hash_at(r["seq"])
        if mine is None:
            self.cut[1:] = [r["seq"]] if self.cut else [r["seq"], r["seq"]]
        elif mine != r["hash"]:
            self.changed = [self.changed[0], self.changed[1] + 1] if self.changed else [r["seq"], 1]

    def done(self) -> list[AnchorProblem]:
        out = []
        if self.cut:
            out.append(AnchorProblem(self.cut[0], self.location,
                                     f"events {self.cut[0]}-{self.cut[-1]} are in the log at {self.location} but not "
                                     "in the catalog: rows were cut"))
        if self.changed:
            out.append(AnchorProblem(self.changed[0], self.location,
                                     f"event {self.changed[0]} differs from the log at {self.location} "
                                     f"({self.changed[1]} rows differ): edited or re-hashed in the catalog or "
                                     f"there (`archa repair` writes it anew at {self.location} when another location "
                                     "holds it as the catalog does)"))
        return out


def _journal_problems(db: HashTables, table: str, store: Store, log: EventLog, recorded: int
                      ) -> list[AnchorProblem]:
    """The journal at one location against the catalog's: truncated (less than the catalog
    recorded as written there), or holding a change the catalog lacks or holds otherwise."""
    loc = store.name
    scan = scan_journal(db, table, store)
    out = [AnchorProblem(0, loc, p) for _s, p in scan.problems]
    if not scan.reachable:
        return out
    if scan.last < recorded:
        out.append(AnchorProblem(0, loc, f"{loc} holds the journal up to change {scan.last}, but the catalog recorded "
                                         f"changes up to {recorded} as written there: the journal there was deleted "
                                         "or truncated"))
    h = GENESIS
    for mine, stored in itertools.zip_longest(log.iter_changes(), db.hashes(table)):
        if stored is None:
            break
        if mine is None or mine[0] != stored[0]:
            out.append(AnchorProblem(0, loc, f"change {stored[0]} is in the journal at {loc} but not in the catalog: "
                                             "rows were cut"))
            break
        seq, tbl, op, row = mine
        h = change_hash(h, seq, tbl, op, row)
        if h != stored[1]:
            out.append(AnchorProblem(0, loc, f"change {seq} ({tbl}) differs from the journal at {loc}: edited in "
                                             f"the catalog or there (`archa repair` writes it anew at {loc} when "
                                             "another location holds it as the catalog does)"))
            break
    return out


NEWEST = 3  # versions whose PREMIS `history_problems` reads besides those made after the log's last event


def history_problems(repo: Any) -> list[str]:
    """Events cut from the catalog and from every location at once, found by what the AIPs
    themselves recorded: the PREMIS of a version holds the events of its making (ingestion,
    validation, identification, ...) with their ids, and the chain head before them. Every
    version made at or after the time of the log's last event, and the newest few, are read
    (the catalog's `versions` rows say which; `catalog rebuild --check` is what finds those
    rows themselves cut): an event their PREMIS holds that the log lacks, or a chain head
    beyond the log's end, means history was deleted."""
    from archa.errors import ArchaError
    from archa.metadata.premis import read_premis
    from archa.repository.events import _HEAD

    log: EventLog = repo.catalog.log
    top, top_time = log.last_time()
    rows = log.versions_to_check(top_time, NEWEST)
    out: list[str] = []
    for aip_id, version, _created in rows:
        try:
            row = repo.catalog.file(aip_id, version, "metadata/preservation/premis.xml")
            path = repo.hot.object_path(aip_id) / (row["content_path"] if row else
                                                   f"{version}/content/metadata/preservation/premis.xml")
            record = read_premis(path, aip_id, version)
        except (OSError, ArchaError, ValueError) as e:
            out.append(f"{aip_id} {version}: its PREMIS cannot be read to compare with the log ({e})")
            continue
        missing = [ev for ev in record.events if ev.id and not log.has_event(ev.id)]
        if missing:
            first = missing[0]
            out.append(f"{aip_id} {version}: its PREMIS records {len(missing)} event(s) the log lacks (first: "
                       f"{first.type} {first.id} of {first.time}): events were cut from the catalog and the locations")
        for ev in record.events:
            m = _HEAD.search(ev.detail)
            if m and int(m.group(1)) > top:
                out.append(f"{aip_id} {version}: made when the log held {m.group(1)} events, but the log ends at {top}: "
                           "events were cut from the catalog and the locations")
                break
    return out


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
