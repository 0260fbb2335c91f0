"""The catalog's SQL on PostgreSQL: one text of each query, written as the SQLite catalog
runs it, and the few rewrites that make the same text run on PostgreSQL.

The catalog's queries keep to what both dialects share (standard joins, CASE, COALESCE,
`||`, `substr`, `ON CONFLICT ... DO UPDATE`); `translate` rewrites what they do not:

- `?` parameters become `%s` (and a literal `%` becomes `%%`, as psycopg then wants);
- `INSERT OR IGNORE INTO t ...` becomes `INSERT INTO t ... ON CONFLICT DO NOTHING`;
- `INSERT OR REPLACE INTO t (cols) ...` becomes an upsert on `t`'s primary key (the key is
  looked up once per table: `PgConnection.primary_key`);
- `instr(a, b)` becomes `strpos(a, b)`; `lower(hex(x))` and `hex(x)` on a BLOB become
  `encode(x, 'hex')` (lower and upper case);
- `a IS ?` / `a IS NOT ?` (SQLite's null-safe comparison with a parameter) become
  `a IS NOT DISTINCT FROM %s` / `a IS DISTINCT FROM %s`;
- `ORDER BY rowid` / `rowid` are not translated: the catalog's tables have keys of their own
  and queries name them.

What the query text itself must do to run on both (the catalog's queries do it; there is
no rewrite for it): `"user"` quoted (a keyword on PostgreSQL), `NULLS FIRST` where a column
that may be NULL is sorted (SQLite puts NULLs first, PostgreSQL last), `CASE WHEN ... THEN 1
ELSE 0 END` instead of summing a comparison, `CAST(x AS TEXT)` where an integer meets text
(COALESCE(n, '')), every selected column either grouped or aggregated (or the table's key
grouped: PostgreSQL knows a key decides the rest of its row).

`PgConnection` wraps a psycopg connection with the sqlite3 connection's small surface the
catalog uses (`execute`, `executemany`, `fetchone`/`fetchall`/`fetchmany` on the cursor,
`description`), in autocommit; `transaction()` belongs to the Catalog. Values come back as
sqlite3 gives them (`sqlite_values`). `execute` fetches the whole result into memory when
it runs (psycopg's client-side cursor): `stream` runs a query on a server-side cursor
instead, a thousand rows at a time, for results of any size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\s+", re.IGNORECASE)
_OR_REPLACE = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)
_INSTR = re.compile(r"\binstr\(", re.IGNORECASE)
_LOWER_HEX = re.compile(r"\blower\(hex\(([^()]+)\)\)", re.IGNORECASE)
_HEX = re.compile(r"\bhex\(([^()]+)\)", re.IGNORECASE)
_IS_NOT_PARAM = re.compile(r"\bIS\s+NOT\s+\?", re.IGNORECASE)
_IS_PARAM = re.compile(r"\bIS\s+\?", re.IGNORECASE)


def placeholders(sql: str) -> str:
    """`?` parameters as psycopg's `%s` (a literal `%` doubled). Assumes no `?` inside a
    string literal (the catalog's queries have none)."""
    return sql.replace("%", "%%").replace("?", "%s")


def translate(sql: str, primary_key: Any = None, params: bool = True) -> str:
    """The PostgreSQL text of a query written for the SQLite catalog (see the module
    docstring). `primary_key(table) -> list[str]` answers for INSERT OR REPLACE."""
    out = sql
    if _OR_IGNORE.match(out):
        out = _OR_IGNORE.sub("INSERT INTO ", out, count=1).rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    m = _OR_REPLACE.match(out)
    if m:
        table, cols = m.group(1), [c.strip() for c in m.group(2).split(",")]
        keys = primary_key(table) if primary_key is not None else []
        rest = [c for c in cols if c not in keys]
        out = _OR_REPLACE.sub(f"INSERT INTO {table} ({m.group(2)})", out, count=1).rstrip().rstrip(";")
        out += f" ON CONFLICT ({', '.join(keys)}) " + (
            f"DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in rest)}" if rest else "DO NOTHING")
    out = _INSTR.sub("strpos(", out)
    out = _LOWER_HEX.sub(r"encode(\1, 'hex')", out)
    out = _HEX.sub(r"upper(encode(\1, 'hex'))", out)
    out = _IS_NOT_PARAM.sub("IS DISTINCT FROM ?", out)
    out = _IS_PARAM.sub("IS NOT DISTINCT FROM ?", out)
    return placeholders(out) if params else out


class PgCursor:
    """A psycopg cursor with the sqlite3 cursor's reading surface. A server-side cursor
    (`PgConnection.stream`) is closed on the server once it has been read to its end."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur

    @property
    def description(self) -> Any:
        return self._cur.description

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)

    def _readable(self) -> bool:
        return not self._cur.closed and self._cur.description is not None

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self._cur.fetchone() if self._readable() else None
        if row is None:
            self.close()
        return row  # type: ignore[no-any-return]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = list(self._cur.fetchall()) if self._readable() else []
        self.close()
        return rows

    def fetchmany(self, n: int) -> list[tuple[Any, ...]]:
        rows = list(self._cur.fetchmany(n)) if self._readable() else []
        if len(rows) < n:
            self.close()
        return rows

    def __iter__(self) -> Any:
        while batch := self.fetchmany(1000):
            yield from batch

    def close(self) -> None:
        if not self._cur.closed:
            import psycopg

            try:
                self._cur.close()
            except psycopg.Error:  # a server-side cursor its transaction's rollback took already
                pass


def sqlite_values(conn: Any) -> None:
    """Make `conn` (a psycopg connection) return values as sqlite3 does: a `numeric` (what
    SUM of a bigint gives) as an int when it is whole, else a float; a boolean (what a
    comparison in a select list gives) as 1 or 0. bytea comes back as bytes already."""
    from psycopg.adapt import Loader

    class NumericLoader(Loader):
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            try:
                return int(text)
            except ValueError:
                return float(text)

    class BoolLoader(Loader):
        def load(self, data: Any) -> int:
            return 1 if bytes(data) == b"t" else 0

    conn.adapters.register_loader("numeric", NumericLoader)
    conn.adapters.register_loader("bool", BoolLoader)


class PgConnection:
    """A psycopg connection (autocommit) speaking the catalog's SQLite-flavoured SQL, its
    values loaded as sqlite3 gives them (`sqlite_values`)."""

    def __init__(self, conn: Any) -> None:
        self.raw = conn
        self._keys: dict[str, list[str]] = {}
        self._streams = 0
        sqlite_values(conn)

    def primary_key(self, table: str) -> list[str]:
        if table not in self._keys:
            rows = self.raw.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
                "a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary "
                "ORDER BY array_position(i.indkey, a.attnum)", [table]).fetchall()
            self._keys[table] = [r[0] for r in rows]
        return self._keys[table]

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        text = translate(sql, self.primary_key, params is not None)
        cur = self.raw.cursor()
        cur.execute(text, list(params) if params is not None else None)
        return PgCursor(cur)

    def stream(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        """`execute` on a server-side cursor (WITH HOLD: it outlives the transaction it was
        opened in, and needs none): the rows come a batch at a time, however many there
        are, and other queries may run on the connection meanwhile."""
        self._streams += 1
        cur = self.raw.cursor(name=f"archa_stream_{self._streams}", withhold=True)
        cur.itersize = 1000
        cur.execute(translate(sql, self.primary_key, params is not None),
                    list(params) if params is not None else None)
        return PgCursor(cur)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        text = translate(sql, self.primary_key, True)
        cur = self.raw.cursor()
        cur.executemany(text, (list(r) for r in rows))
        return PgCursor(cur)

    def close(self) -> None:
        self.raw.close()
