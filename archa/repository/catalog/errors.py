"""What the database under the catalog raises, told apart for code outside the package: a
file it cannot read (damaged), a write lock another process holds, and the rest.

Code outside the catalog catches `DATABASE_ERRORS` (never sqlite3's classes) and asks
`is_busy` / `as_damage` what it caught.
"""

from __future__ import annotations

import sqlite3

from archa.errors import CatalogDamaged

# what a catalog's database raises (the base classes): catch these, then ask the predicates below
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)


def is_busy(e: BaseException) -> bool:
    """Whether `e` says another process holds the database locked (SQLite: `database is
    locked`): nothing is wrong with the file; try again later."""
    return isinstance(e, sqlite3.OperationalError) and "locked" in str(e)


def as_damage(e: BaseException) -> CatalogDamaged | None:
    """`e` as the CatalogDamaged to raise when it says the database file cannot be read (a
    damaged page, not a database at all), naming the catalog opened last; None for any
    other error (a lock, a constraint, a query the schema refuses), to be raised as it is."""
    if not isinstance(e, sqlite3.DatabaseError) or isinstance(e, sqlite3.OperationalError | sqlite3.IntegrityError):
        return None
    from archa.repository.catalog.sqlite import Catalog

    return CatalogDamaged(str(Catalog.last_opened or "catalog.sqlite"), str(e))
