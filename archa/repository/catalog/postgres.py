"""The catalog on a PostgreSQL server, for a repository several archa nodes share.

`PgCatalog` is the same `Catalog` (every use-case method, the same query text, rewritten
for PostgreSQL by pgsql.py) over a psycopg connection:

- a write transaction (`transaction()`) first takes one transaction-scoped advisory lock
  (`pg_advisory_xact_lock(WRITE_LOCK)`), as SQLite's `BEGIN IMMEDIATE` takes its write lock:
  writers on every node are one line, so the event chain's sequence numbers and its head
  are assigned by the database and never fork;
- the schema is made at once at the current version (pgschema.py) and its version kept in
  `archa_schema`;
- locks that must hold across machines (the repository's and each AIP's) are session
  advisory locks (`advisory_lock`), held while the command runs and released by the server
  when its connection ends (a node that dies releases them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from archa.errors import CatalogUnavailable, RepositoryError
from archa.repository.catalog.pgschema import WRITE_LOCK
from archa.repository.catalog.pgsql import PgConnection
from archa.repository.catalog.schema import SCHEMA_VERSION
from archa.repository.catalog.sqlite import Catalog


def lock_key(name: str) -> int:
    """A 64-bit advisory-lock key for a lock's name (a repository lock, an AIP's stripe)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def is_url(value: str) -> bool:
    return value.startswith(("postgresql://", "postgres://"))


# the catalog's keys PostgreSQL assigns (identity columns): what `sync_keys` moves past the rows
IDENTITY = (("events", "seq"), ("changes", "seq"), ("holds", "id"), ("aip_keys", "n"), ("dirs", "id"),
            ("formats", "id"), ("file_rows", "id"), ("records", "n"))
# a column's data type on PostgreSQL as SQLite declares it (what `table_columns` reports)
_DECLARED = {"bigint": "INTEGER", "integer": "INTEGER", "smallint": "INTEGER", "bytea": "BLOB", "text": "TEXT",
             "character varying": "TEXT", "double precision": "REAL", "real": "REAL", "numeric": "REAL"}


class PgCatalog(Catalog):
    """The catalog in a PostgreSQL database. Open with `PgCatalog.open(url)`."""

    dialect = "postgresql"
    conn: Any  # a pgsql.PgConnection, with sqlite3's surface

    def __init__(self, conn: Any, url: str) -> None:
        super().__init__(conn, Path(redact(url)))  # what messages name: the URL without its password
        self.url = url

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """A server-side cursor over the result (pgsql.PgConnection.stream)."""
        return self.conn.stream(sql, params)

    def table_columns(self, table: str) -> list[tuple[str, str, int]]:
        """(name, type as SQLite declares it: INTEGER, TEXT, BLOB, REAL, primary-key position
        or 0) of each column of the table or view `table`, in order (information_schema)."""
        keys = self.conn.primary_key(table)
        return [(str(name), _DECLARED.get(str(kind), str(kind).upper()), keys.index(name) + 1 if name in keys else 0)
                for name, kind in self.conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
                    "current_schema() AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()]

    def sync_keys(self) -> None:
        """Move each identity column's sequence past the largest key its table holds (rows
        written with their keys, as a rebuild restores them, do not move it)."""
        for table, column in IDENTITY:
            self.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                              f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)")

    def journal_triggers(self, create: bool = True) -> None:
        """(Re)create, or with `create` False drop, the journal triggers (pgschema.py: a
        PL/pgSQL function and a trigger per JOURNALED table)."""
        from archa.repository.catalog.pgschema import journal_function_sql, table_columns
        from archa.repository.catalog.schema import JOURNALED

        for table in JOURNALED:
            if create:
                self.conn.raw.execute(journal_function_sql(table_columns(self.conn.raw, table), table))
            else:
                self.conn.execute(f"DROP TRIGGER IF EXISTS journal_{table} ON {table}")

    @classmethod
    def _connect(cls, url: str) -> PgConnection:
        try:
            import psycopg
        except ImportError as e:
            raise RepositoryError("the catalog is on PostgreSQL but psycopg is not installed",
                                  hint="pip install 'archa[postgresql]'") from e
        try:
            return PgConnection(psycopg.connect(url, autocommit=True, connect_timeout=15))
        except psycopg.Error as e:
            raise CatalogUnavailable(f"the catalog database {redact(url)} cannot be reached: {e}".strip(),
                                  hint="check that the PostgreSQL server runs and the URL (host, database, user) "
                                       "is right") from e

    @classmethod
    def create(cls, url: str) -> PgCatalog:  # type: ignore[override]
        """Make the schema in the empty database `url`; RepositoryError when it holds one."""
        from archa.repository.catalog.pgschema import create_schema

        conn = cls._connect(url)
        if conn.execute("SELECT to_regclass('archa_schema')").fetchone() not in (None, (None,)):
            conn.close()
            raise RepositoryError(f"{redact(url)} holds an archa catalog already",
                                  hint="to make another node of that repository, run `archa init DIR --catalog URL` "
                                       "(it joins the repository the database holds)")
        cat = cls(conn, url)
        with cat.transaction():
            create_schema(conn.raw)
        return cat

    @classmethod
    def open(cls, url: str, *, create: bool = False) -> PgCatalog:  # type: ignore[override]
        if create:
            return cls.create(url)
        conn = cls._connect(url)
        if conn.execute("SELECT to_regclass('archa_schema')").fetchone() in (None, (None,)):
            conn.close()
            raise RepositoryError(f"{redact(url)} holds no archa catalog",
                                  hint="make one with `archa init DIR --catalog URL`, or rebuild it from storage "
                                       "(archa catalog rebuild)")
        cat = cls(conn, url)
        cat.migrate()
        return cat

    def close(self) -> None:
        self.conn.close()

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("SELECT version FROM archa_schema").fetchone()[0])

    def migrate(self) -> None:
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise RepositoryError(f"{redact(self.url)}: catalog schema {current} is newer than this archa "
                                  f"({SCHEMA_VERSION})", hint="upgrade archa on this node")
        from archa.repository.catalog.pgschema import PG_MIGRATIONS

        for i in range(current, SCHEMA_VERSION):  # each in its own transaction, under the write lock
            if i not in PG_MIGRATIONS:
                raise RepositoryError(f"{redact(self.url)}: catalog schema {i} has no migration to {i + 1} on "
                                      "PostgreSQL", hint="report this as a bug")
            with self.transaction():
                if self.schema_version > i:
                    continue  # another node migrated it meanwhile
                step = PG_MIGRATIONS[i]
                if callable(step):
                    step(self.conn)
                else:
                    self.conn.execute(step)
                self.conn.execute("UPDATE archa_schema SET version = ?", [i + 1])

    def integrity_problems(self, limit: int = 100) -> list[str]:
        """What amcheck finds wrong in the catalog's B-tree indexes (`bt_index_check` with
        the heap check: every index entry against its table), at most `limit` messages; []
        when it finds nothing, and when the database has no amcheck extension (PostgreSQL
        checks its own pages as it reads them: data checksums, when the cluster has them)."""
        import psycopg

        if self.conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'").fetchone() is None:
            return []
        found: list[str] = []
        for (index,) in self.conn.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON "
                "a.oid = c.relam WHERE a.amname = 'btree' AND c.relnamespace = current_schema()::regnamespace "
                "ORDER BY c.relname").fetchall():
            try:
                self.conn.execute("SELECT bt_index_check(?::regclass, true)", [index])
            except psycopg.Error as e:  # what amcheck says is wrong
                found.append(f"index {index}: {str(e).strip()}")
            if len(found) >= limit:
                break
        return found

    @property
    def db(self) -> Any:
        raise RepositoryError("internal error: sqlite-utils used on a PostgreSQL catalog",
                              hint="report this as a bug (the catalog's writes go through Catalog.insert)")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction, behind the catalog's write lock (see the module docstring)."""
        self.conn.execute("BEGIN")
        try:
            self.conn.execute("SELECT pg_advisory_xact_lock(?)", [WRITE_LOCK])
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def advisory_lock(self, name: str, timeout: float | None, shared: bool = False) -> bool:
        """Take the session advisory lock `name` (shared or exclusive), waiting up to `timeout`
        seconds (None: not at all); False when it could not be had."""
        key = lock_key(name)
        kind = "_shared" if shared else ""
        if timeout is None:
            return bool(self.conn.execute(f"SELECT pg_try_advisory_lock{kind}(?)", [key]).fetchone()[0])
        self.conn.execute(f"SET lock_timeout = '{int(timeout * 1000)}ms'")
        try:
            self.conn.execute(f"SELECT pg_advisory_lock{kind}(?)", [key])
            return True
        except Exception as e:  # psycopg.errors.LockNotAvailable
            if type(e).__name__ == "LockNotAvailable":
                return False
            raise
        finally:
            self.conn.execute("SET lock_timeout = 0")

    def advisory_unlock(self, name: str, shared: bool = False) -> None:
        self.conn.execute(f"SELECT pg_advisory_unlock{'_shared' if shared else ''}(?)", [lock_key(name)])


def holds_catalog(url: str) -> bool:
    """Whether the database `url` holds an archa catalog (RepositoryError: unreachable)."""
    conn = PgCatalog._connect(url)
    try:
        return conn.execute("SELECT to_regclass('archa_schema')").fetchone() not in (None, (None,))
    finally:
        conn.close()


def discard(url: str) -> None:
    """Remove from the database `url` every table, view and function the catalog's schema
    makes (pgschema.py), nothing else: what a rebuild wrote there when it must not stay."""
    from archa.repository.catalog.pgschema import created_objects

    conn = PgCatalog._connect(url)
    try:
        tables, views, functions = created_objects()
        conn.execute("BEGIN")
        for view in views:
            conn.execute(f"DROP VIEW IF EXISTS {view} CASCADE")
        for table in tables:
            conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        for function in functions:
            conn.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")
        conn.execute("COMMIT")
    finally:
        conn.close()


def redact(url: str) -> str:
    """`url` without its password (for messages)."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    auth, host = rest.rsplit("@", 1)
    return f"{scheme}://{auth.split(':', 1)[0]}@{host}"
