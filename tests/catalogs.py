"""The catalog of a test repository on either backend (--catalog): lost as a disk or a
server loses it, so that a test of `catalog rebuild` from storage alone runs on both.

On SQLite the file catalog.sqlite (with its -wal and -shm) is deleted; on PostgreSQL the
node's database is emptied (its schema dropped and made again: what a database restored
empty, or dropped and created again, holds). Done with psycopg, not through archa."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from archa.repository.config import load_config


def catalog_url(repo: Any) -> str:
    """The node's catalog database URL ("" for the SQLite file)."""
    root = repo if isinstance(repo, Path) else repo.root
    return load_config(root).catalog


def lose_catalog(repo: Any) -> None:
    """Delete the catalog of `repo` (a Repository, closed here, or its root)."""
    root = repo if isinstance(repo, Path) else repo.root
    if not isinstance(repo, Path):
        repo.close()
    url = catalog_url(root)
    if not url:
        for side in ("", "-wal", "-shm"):
            (root / f"catalog.sqlite{side}").unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def catalog_exists(repo: Any) -> bool:
    """Whether `repo` (a Repository or its root) has a catalog."""
    root = repo if isinstance(repo, Path) else repo.root
    url = catalog_url(root)
    if not url:
        return (root / "catalog.sqlite").exists()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT to_regclass('archa_schema')").fetchone() not in (None, (None,))


def insider_sql(repo: Any, statement: str, *params: object) -> list[tuple[Any, ...]]:
    """What an insider with a SQL shell to the catalog does (sqlite3 on the file, psql on the
    database): `statement` (with `?` parameters) run outside archa, committed at once."""
    root = repo if isinstance(repo, Path) else repo.root
    url = catalog_url(root)
    if not url:
        import sqlite3

        with sqlite3.connect(root / "catalog.sqlite") as db:
            return db.execute(statement, params).fetchall()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement.replace("?", "%s"), params)
        return cur.fetchall() if cur.description is not None else []


def empty_database(repo: Any) -> str:
    """The URL of a new empty database on the server of the node's catalog (what a DBA
    makes for `catalog rebuild --into`)."""
    import uuid

    import psycopg

    url = catalog_url(repo if isinstance(repo, Path) else repo.root)
    name = f"archa_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return re.sub(r"^(postgresql://[^/]*/)[^?]*", lambda m: m.group(1) + name, url)


def rebuild_replace(repo: Any) -> list[str]:
    """The arguments of `catalog rebuild --replace` on the node's backend: on a server the
    rebuilt catalog goes into a new empty database (--into)."""
    return ["--replace", *(["--into", empty_database(repo)] if catalog_url(repo.root) else [])]


def catalog_state(repo: Any) -> object:
    """Everything the catalog holds, to compare before and after (the file's bytes; every
    row of every table of the database, and the archa.toml naming it)."""
    root = repo if isinstance(repo, Path) else repo.root
    url = catalog_url(root)
    if not url:
        return (root / "catalog.sqlite").read_bytes()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                             "current_schema() AND table_type = 'BASE TABLE' ORDER BY 1")]
        rows = {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}
    return (root / "archa.toml").read_text(), rows  # and which database the node uses


def write_config(root: Path, text: str) -> None:
    """Write the node's archa.toml at `root`; on a catalog on a server also put what the nodes
    share (locations, policy) into the catalog, where every node reads it (as conftest's
    `repo_with_policy` does): an edit of a location's endpoint then takes effect on both."""
    from archa.repository.repo import Repository

    (root / "archa.toml").write_text(text)
    if not catalog_url(root):
        return
    again = Repository.open(root)
    try:
        again.config = again.config.with_shared(load_config(root).shared_json())
        again.save_shared_config()
    finally:
        again.close()


def set_aside_catalog(repo: Any, where: Path) -> Path | str:
    """Keep the node's catalog as it is now (the file moved to `where`; on a server, the
    database copied into a new one), then lose it (`lose_catalog`); returns what
    `open_catalog` opens the kept one from."""
    repo.close()
    url = catalog_url(repo.root)
    if not url:
        import os
        import sqlite3

        with sqlite3.connect(repo.root / "catalog.sqlite") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        os.rename(repo.root / "catalog.sqlite", where)
        lose_catalog(repo)
        return where
    import psycopg

    kept = empty_database(repo)
    name, source = _database(kept), _database(url)
    with psycopg.connect(re.sub(r"^(postgresql://[^/]*/)[^?]*", r"\1postgres", url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    lose_catalog(repo)
    return kept


def _database(url: str) -> str:
    """The database name in a postgresql:// URL."""
    found = re.match(r"^postgresql://[^/]*/([^?]*)", url)
    assert found, url
    return found.group(1)


def open_catalog(where: Path | str) -> Any:
    """The catalog kept by `set_aside_catalog`, or any catalog file or database URL."""
    if isinstance(where, Path):
        from archa.repository.catalog import Catalog

        return Catalog.open(where)
    from archa.repository.catalog.postgres import PgCatalog

    return PgCatalog.open(where)
