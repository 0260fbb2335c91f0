"""The journal of the catalog-only tables (`changes`, see catalog.JOURNALED), checked
against what it journals: the one place that knows how a journal is replayed.

Someone with write access to the catalog file alone can drop the journal triggers and then
change a table (delete a hold, edit a decision) without a trace in the journal, or edit the
journal itself. `journal_problems` finds each of these:

- a journal trigger missing or not the one archa creates;
- the journal not matching the seals the event chain holds (`journal sealed at change N:
  HASH`, see logscan.change_hash): a change edited, cut or slipped in after it was sealed;
- the live tables not being what replaying the journal gives: a row changed, added or
  deleted behind the triggers' back.

`replay` is also how `catalog rebuild` brings the tables back from storage (catalog/rebuilder.py).

Part of the catalog package: the journal is tables, triggers and SQL through and through.
`journal_problems(cat)` is what the rest of archa asks (`events verify`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from archa.repository.catalog.log import SEAL_TYPE
from archa.repository.catalog.schema import JOURNALED, journal_trigger_sql
from archa.repository.events import GENESIS
from archa.repository.logscan import JOURNAL_SEAL, change_hash

if TYPE_CHECKING:
    from archa.repository.catalog.sqlite import Catalog


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, int]]:
    """(name, declared type, primary-key position) of every column of `table`."""
    return [(r[1], (r[2] or "").upper(), r[5]) for r in conn.execute(f"PRAGMA table_info({table})")]


def replay(conn: sqlite3.Connection, changes: Iterable[tuple[str, str, Any]],
           columns_from: sqlite3.Connection | None = None,
           refused: Callable[[str, str, str], None] | None = None) -> None:
    """Apply journal changes (table, op, row as JSON text or value) to the tables in `conn`
    (their columns read from `columns_from`, default `conn`): an upsert replaces the row
    with its key, a delete removes it. BLOB columns arrive hex-encoded. A change the
    database refuses (a retention row of an AIP that is not there) goes to `refused`
    (table, op, why), or raises without it."""
    source = columns_from if columns_from is not None else conn
    columns: dict[str, list[tuple[str, str, int]]] = {}
    for table, op, raw in changes:
        if table not in JOURNALED:
            continue
        if table not in columns:
            columns[table] = _columns(source, table)
        cols = columns[table]
        value = json.loads(raw) if isinstance(raw, str) else raw
        row = {n: (bytes.fromhex(value[n]) if "BLOB" in t and value.get(n) is not None else value.get(n))
               for n, t, _pk in cols}
        try:
            if op == "delete":
                keys = [n for n, _t, pk in cols if pk]
                conn.execute(f"DELETE FROM {table} WHERE " + " AND ".join(f"{k} IS ?" for k in keys),
                             [row[k] for k in keys])
            else:
                conn.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(row)}) VALUES "
                             f"({', '.join('?' * len(row))})", list(row.values()))
        except sqlite3.IntegrityError as e:
            if refused is None:
                raise
            refused(table, op, str(e))


def trigger_problems(conn: sqlite3.Connection) -> list[str]:
    """Every journal trigger that is missing or differs from the one archa creates."""
    have = {name: " ".join((sql or "").split()) for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")}
    out = []
    for table in JOURNALED:
        for name, sql in journal_trigger_sql(conn, table).items():
            if name not in have:
                out.append(f"the journal trigger {name} is missing: changes to {table} are not journaled (someone "
                           "dropped it)")
            elif have[name] != " ".join(sql.split()):
                out.append(f"the journal trigger {name} is not the one archa creates: changes to {table} may not be "
                           "journaled as they happen")
    return out


def seal_problems(conn: sqlite3.Connection) -> list[str]:
    """The catalog's journal against every journal seal in the catalog's event chain."""
    seals = []
    for seq, detail in conn.execute("SELECT seq, detail FROM events WHERE type = ? AND detail LIKE "
                                    "'journal sealed at change %' ORDER BY seq", [SEAL_TYPE]):
        m = JOURNAL_SEAL.match(detail)
        if m:
            seals.append((int(m.group(1)), m.group(2), seq))
    if not seals:
        return []
    want = iter(sorted(seals))
    n, h_want, event = next(want)
    h, last = GENESIS, 0
    out = []
    for seq, tbl, op, row in conn.execute("SELECT seq, tbl, op, row FROM changes ORDER BY seq"):
        if seq != last + 1:
            out.append(f"the journal has no change {last + 1} (it goes on at {seq}): changes were cut from the catalog")
            return out
        h, last = change_hash(h, seq, tbl, op, row), seq
        while last == n:
            if h != h_want:
                out.append(f"the journal up to change {n} is not what event {event} sealed: changes were edited or "
                           "cut in the catalog")
                return out
            try:
                n, h_want, event = next(want)
            except StopIteration:
                return out
    out.append(f"event {event} sealed the journal up to change {n}, but the catalog's journal ends at change {last}: "
               "changes were cut from the catalog")
    return out


def _key(cols: list[tuple[str, str, int]], row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[n] for n, _t, pk in sorted(cols, key=lambda c: c[2]) if pk)


def table_problems(conn: sqlite3.Connection, limit: int = 20) -> list[str]:
    """The live journaled tables against what replaying the catalog's journal gives: each
    row added, changed or deleted behind the journal's back (at most `limit` per table)."""
    mem = sqlite3.connect(":memory:")
    try:
        for table in JOURNALED:
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone()
            if sql:
                mem.execute(sql[0])
        replay(mem, conn.execute("SELECT tbl, op, row FROM changes ORDER BY seq"), columns_from=conn)
        out = []
        for table in JOURNALED:
            cols = _columns(conn, table)
            names = [n for n, _t, _pk in cols]
            live = {_key(cols, r): r for r in _rows(conn, table, names)}
            journaled = {_key(cols, r): r for r in _rows(mem, table, names)}
            found = []
            for k in sorted(set(live) | set(journaled), key=repr):
                a, b = live.get(k), journaled.get(k)
                if a == b:
                    continue
                what = "/".join(map(str, k))
                if b is None:
                    found.append(f"{table} {what}: in the table but never journaled: added behind the journal's back")
                elif a is None:
                    found.append(f"{table} {what}: journaled but not in the table: deleted behind the journal's back")
                else:
                    changed = [n for n in names if a[n] != b[n]]
                    found.append(f"{table} {what}: {', '.join(changed)} differ from the journal: changed behind the "
                                 "journal's back")
            out += found[:limit] + ([f"{table}: … and {len(found) - limit} more"] if len(found) > limit else [])
        return out
    finally:
        mem.close()


def _rows(conn: sqlite3.Connection, table: str, names: list[str]) -> Iterable[dict[str, Any]]:
    for values in conn.execute(f"SELECT {', '.join(names)} FROM {table}"):
        yield dict(zip(names, values, strict=True))


def journal_problems(cat: Catalog) -> list[str]:
    """Every way the catalog's journal and the tables it journals disagree (see the module
    docstring); empty when they agree. Reads the journal and the journaled tables whole."""
    conn = cat.conn
    return trigger_problems(conn) + seal_problems(conn) + table_problems(conn)
