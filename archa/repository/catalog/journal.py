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

On PostgreSQL the journal is written by one PL/pgSQL function and trigger per table
(pgschema.py), and the trigger check compares those: the trigger there, enabled, firing
after every insert, update and delete of each row, calling a function whose body is the one
archa makes (`pgschema.journal_function_sql`); any other trigger or rule on a journaled
table or on `changes` (one could drop or rewrite journal rows) is named too. The live
tables are compared with the journal replayed into an SQLite database in memory, on both.

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

Columns = list[tuple[str, str, int]]  # (name, declared type, primary-key position) of a table's columns


def _integrity_errors() -> tuple[type[Exception], ...]:
    """What a database raises for a row its constraints refuse (both backends)."""
    try:
        import psycopg
    except ImportError:
        return (sqlite3.IntegrityError,)
    return (sqlite3.IntegrityError, psycopg.errors.IntegrityError)


def replay(conn: Any, changes: Iterable[tuple[str, str, Any]], columns_of: Callable[[str], Columns],
           refused: Callable[[str, str, str], None] | None = None, savepoints: bool = False) -> None:
    """Apply journal changes (table, op, row as JSON text or value) to the tables in `conn`
    (a connection of either backend; each table's columns from `columns_of(table)`, e.g.
    `Catalog.table_columns`): an upsert replaces the row with its key, a delete removes
    it. BLOB columns arrive hex-encoded. A change the database refuses (a retention row of
    an AIP that is not there) goes to `refused` (table, op, why), or raises without it.
    `savepoints`: each change in a savepoint of its own, so that one refused leaves the
    transaction usable (PostgreSQL aborts a transaction at its first error)."""
    columns: dict[str, Columns] = {}
    errors = _integrity_errors()
    for table, op, raw in changes:
        if table not in JOURNALED:
            continue
        if table not in columns:
            columns[table] = columns_of(table)
        cols = columns[table]
        value = json.loads(raw) if isinstance(raw, str) else raw
        row = {n: (bytes.fromhex(value[n]) if "BLOB" in t and value.get(n) is not None else value.get(n))
               for n, t, _pk in cols}
        if savepoints:
            conn.execute("SAVEPOINT archa_replay")
        try:
            if op == "delete":
                keys = [n for n, _t, pk in sorted(cols, key=lambda c: c[2]) if pk]
                conn.execute(f"DELETE FROM {table} WHERE " + " AND ".join(f"{k} IS ?" for k in keys),
                             [row[k] for k in keys])
            else:
                conn.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(row)}) VALUES "
                             f"({', '.join('?' * len(row))})", list(row.values()))
        except errors as e:
            if savepoints:
                conn.execute("ROLLBACK TO SAVEPOINT archa_replay")
            if refused is None:
                raise
            refused(table, op, str(e).strip())
        if savepoints:
            conn.execute("RELEASE SAVEPOINT archa_replay")


def trigger_problems(cat: Catalog) -> list[str]:
    """Every journal trigger that is missing or differs from the one archa creates."""
    if cat.dialect == "postgresql":
        return _pg_trigger_problems(cat)
    conn = cat.conn
    triggers = conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    have = {name: " ".join((sql or "").split()) for name, _table, sql in triggers}
    tables = {name: table for name, table, _sql in triggers}
    out = []
    ours = set()
    for table in JOURNALED:
        for name, sql in journal_trigger_sql(conn, table).items():
            ours.add(name)
            if name not in have:
                out.append(f"the journal trigger {name} is missing: changes to {table} are not journaled (someone "
                           "dropped it)")
            elif have[name] != " ".join(sql.split()):
                out.append(f"the journal trigger {name} is not the one archa creates: changes to {table} may not be "
                           "journaled as they happen")
    watched = (*JOURNALED, "changes", "events", "event_anchors")
    for name in sorted(set(have) - ours):
        if tables.get(name) in watched:  # (archa makes no other trigger on them)
            out.append(f"the trigger {name} on {tables[name]} is not one archa creates: it may keep changes out of "
                       "the journal or the event log, or rewrite them")
    return out


_ROW_AFTER_ALL = 1 | 4 | 8 | 16  # pg_trigger.tgtype: FOR EACH ROW, AFTER, on INSERT, DELETE and UPDATE


def _pg_trigger_problems(cat: Catalog) -> list[str]:
    """trigger_problems on PostgreSQL (see the module docstring)."""
    from archa.repository.catalog.pgschema import journal_function_sql, table_columns

    conn: Any = cat.conn  # a pgsql.PgConnection
    watched = (*JOURNALED, "changes")
    have = {(table, name): (kind, enabled, function, " ".join(str(source).split()))
            for table, name, kind, enabled, function, source in conn.execute(
                "SELECT c.relname, t.tgname, t.tgtype, t.tgenabled, p.proname, p.prosrc FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal "
                "AND c.relnamespace = current_schema()::regnamespace").fetchall() if table in watched}
    out = []
    for table in JOURNALED:
        name = f"journal_{table}"
        want = journal_function_sql(table_columns(conn.raw, table), table)
        body = " ".join(want.split("$$")[1].split())
        found = have.pop((table, name), None)
        if found is None:
            out.append(f"the journal trigger {name} is missing: changes to {table} are not journaled (someone "
                       "dropped it)")
        elif found[1] not in ("O", "A"):
            out.append(f"the journal trigger {name} is disabled: changes to {table} are not journaled (someone "
                       "disabled it)")
        elif found[0] != _ROW_AFTER_ALL or found[2] != name or found[3] != body:
            out.append(f"the journal trigger {name} is not the one archa creates: changes to {table} may not be "
                       "journaled as they happen")
    for (table, name) in sorted(have):
        out.append(f"the trigger {name} on {table} is not one archa creates: it may keep changes to {table} out of "
                   "the journal or rewrite them")
    for table, rule in conn.execute("SELECT tablename, rulename FROM pg_rules WHERE schemaname = current_schema()"
                                    ).fetchall():
        if table in watched:
            out.append(f"the rule {rule} on {table} is not one archa creates: it may keep changes to {table} out of "
                       "the journal or rewrite them")
    return out


def seal_problems(cat: Catalog) -> list[str]:
    """The catalog's journal against every journal seal in the catalog's event chain."""
    seals = []
    for seq, detail in cat.conn.execute("SELECT seq, detail FROM events WHERE type = ? AND detail LIKE "
                                        "'journal sealed at change %' ORDER BY seq", [SEAL_TYPE]).fetchall():
        m = JOURNAL_SEAL.match(detail)
        if m:
            seals.append((int(m.group(1)), m.group(2), seq))
    if not seals:
        return []
    want = iter(sorted(seals))
    n, h_want, event = next(want)
    h, last = GENESIS, 0
    out = []
    cur = cat.stream("SELECT seq, tbl, op, row FROM changes ORDER BY seq")
    try:
        while batch := cur.fetchmany(1000):
            for seq, tbl, op, row in batch:
                if seq != last + 1:
                    out.append(f"the journal has no change {last + 1} (it goes on at {seq}): changes were cut from "
                               "the catalog")
                    return out
                h, last = change_hash(h, seq, tbl, op, row), seq
                while last == n:
                    if h != h_want:
                        out.append(f"the journal up to change {n} is not what event {event} sealed: changes were "
                                   "edited or cut in the catalog")
                        return out
                    try:
                        n, h_want, event = next(want)
                    except StopIteration:
                        return out
    finally:
        cur.close()
    out.append(f"event {event} sealed the journal up to change {n}, but the catalog's journal ends at change {last}: "
               "changes were cut from the catalog")
    return out


def _key(cols: Columns, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[n] for n, _t, pk in sorted(cols, key=lambda c: c[2]) if pk)


def _scratch_table(table: str, cols: Columns) -> str:
    """The CREATE TABLE of `table` in the in-memory database the journal is replayed into."""
    keys = [n for n, _t, pk in sorted(cols, key=lambda c: c[2]) if pk]
    return (f"CREATE TABLE {table} ({', '.join(f'{_q(n)} {t}' for n, t, _pk in cols)}"
            + (f", PRIMARY KEY ({', '.join(_q(k) for k in keys)})" if keys else "") + ")")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_problems(cat: Catalog, limit: int = 20) -> list[str]:
    """The live journaled tables against what replaying the catalog's journal gives: each
    row added, changed or deleted behind the journal's back (at most `limit` per table)."""
    mem = sqlite3.connect(":memory:")
    try:
        cols = {table: cat.table_columns(table) for table in JOURNALED}
        for table in JOURNALED:
            if cols[table]:
                mem.execute(_scratch_table(table, cols[table]))
        cur = cat.stream("SELECT tbl, op, row FROM changes ORDER BY seq")
        try:
            replay(mem, (c for batch in iter(lambda: cur.fetchmany(1000), []) for c in batch), cols.__getitem__)
        finally:
            cur.close()
        out = []
        for table in JOURNALED:
            names = [n for n, _t, _pk in cols[table]]
            live = {_key(cols[table], r): r for r in _rows(cat.stream, table, names)}
            journaled = {_key(cols[table], r): r for r in _rows(mem.execute, table, names)}
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


def _rows(execute: Callable[[str], Any], table: str, names: list[str]) -> Iterable[dict[str, Any]]:
    cur = execute(f"SELECT {', '.join(_q(n) for n in names)} FROM {table}")
    while batch := cur.fetchmany(1000):
        for values in batch:
            yield dict(zip(names, values, strict=True))


def journal_problems(cat: Catalog) -> list[str]:
    """Every way the catalog's journal and the tables it journals disagree (see the module
    docstring); empty when they agree. Reads the journal and the journaled tables whole."""
    return trigger_problems(cat) + seal_problems(cat) + table_problems(cat)
