"""What the database under the catalog raises, told apart for code outside the package: a
file it cannot read (damaged), a write lock another process holds, and the rest.

Code outside the catalog catches `DATABASE_ERRORS` (never sqlite3's classes) and asks
`is_busy` / `as_archa_error` what it caught.
"""

from __future__ import annotations

import sqlite3
import sys

from archa.errors import ArchaError, CatalogDamaged, CatalogUnavailable

# what the SQLite catalog raises (the base class): catch it, then ask the predicates below
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)


def is_busy(e: BaseException) -> bool:
    """Whether `e` says another process holds the database locked (SQLite: `database is
    locked`): nothing is wrong with the file; try again later."""
    return isinstance(e, sqlite3.OperationalError) and "locked" in str(e)


def as_archa_error(e: BaseException) -> ArchaError | None:
    """`e` as the ArchaError to raise: CatalogDamaged when it says the SQLite file cannot be
    read (a damaged page, not a database at all), naming the catalog opened last;
    CatalogUnavailable when the connection to a PostgreSQL catalog failed or was lost; None
    for any other error (a lock, a constraint, a query the schema refuses), to be raised as
    it is."""
    psycopg = sys.modules.get("psycopg")  # loaded only when a catalog is on a server
    if psycopg is not None and isinstance(e, psycopg.OperationalError):
        return CatalogUnavailable(f"the connection to the catalog database was lost: {str(e).strip()}",
                                  hint="check that the PostgreSQL server runs and this node reaches it, then run "
                                       "the command again (the server rolled back what it had not committed)")
    if not isinstance(e, sqlite3.DatabaseError) or isinstance(e, sqlite3.OperationalError | sqlite3.IntegrityError):
        return None
    from archa.repository.catalog.sqlite import Catalog

    return CatalogDamaged(str(Catalog.last_opened or "catalog.sqlite"), str(e))
