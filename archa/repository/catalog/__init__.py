"""The catalog: the one interface through which archa reads and writes its index of AIPs,
versions, files, copies, events and the tables only the catalog holds. Nothing outside this
package speaks SQL or holds a database connection.

- `sqlite.py`: `Catalog` on the embedded SQLite file (the default);
- `schema.py`: the ordered migrations and the journaled tables' triggers;
- `rows.py`: file rows and their compact writer;
- `postgres.py`, `pgsql.py`, `pgschema.py`, `pgpages.py`: `PgCatalog`, the same Catalog on a
  PostgreSQL server (the query text rewritten, the schema, page search), for a repository
  several nodes share.
"""

from pathlib import Path

from archa.repository.catalog.rows import (
    FILE_COLUMNS,
    FILES_VIEW,
    FORMAT_COLUMNS,
    ROLE_PREFIX,
    ROLES,
    FileRow,
    FileWriter,
    default_original_name,
)
from archa.repository.catalog.schema import (
    CATALOG_NAME,
    JOURNALED,
    MIGRATIONS,
    SCHEMA_VERSION,
    journal_trigger_sql,
    journal_triggers,
    payload_fingerprint,
)
from archa.repository.catalog.sqlite import Catalog


def create_catalog(target: Path | str) -> Catalog:
    """A new empty catalog: the SQLite file `target` (which must not exist), or in the
    empty PostgreSQL database `target` (a postgresql:// URL; postgres.py)."""
    from archa.repository.catalog.postgres import PgCatalog, is_url

    if isinstance(target, str) and is_url(target):
        return PgCatalog.create(target)
    return Catalog.create(Path(target))

__all__ = [
    "CATALOG_NAME",
    "FILES_VIEW",
    "FILE_COLUMNS",
    "FORMAT_COLUMNS",
    "JOURNALED",
    "MIGRATIONS",
    "ROLES",
    "ROLE_PREFIX",
    "SCHEMA_VERSION",
    "Catalog",
    "FileRow",
    "FileWriter",
    "create_catalog",
    "default_original_name",
    "journal_trigger_sql",
    "journal_triggers",
    "payload_fingerprint",
]
