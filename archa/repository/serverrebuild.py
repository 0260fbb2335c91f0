"""`archa catalog rebuild` for a repository whose catalog is on a PostgreSQL server.

A rebuild writes a new catalog from storage alone and compares it with the live one before
anything is put in place. On SQLite the new catalog is a file beside the old one and
`--replace` renames it into place. On a server it goes into a database:

- the configured database holds no catalog (lost, or dropped and made again, empty): the
  rebuild writes into it, and it is the catalog again, for every node (nothing to name);
- it holds one: the rebuild writes into an empty database the user names (`--into URL`,
  made by whoever administers the server: archa makes no databases) and reports how it
  differs from the live one; with `--replace` this node's archa.toml is pointed at it. The
  old database is left as it was (the backup); the other nodes keep using it until their
  archa.toml `catalog` is pointed at the new one too (the outcome's note says so).

The settings the nodes share (identity, locations, policy) go into the new catalog from
this node's configuration: the live catalog's when it is there, else this node's
archa.toml. A rebuild with conflicts leaves nothing in the database it wrote to.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from archa.errors import RepositoryError, UsageError
from archa.repository.catalog.postgres import PgCatalog, discard, holds_catalog, redact
from archa.repository.config import CONFIG_NAME, load_config
from archa.repository.durable import write_durable
from archa.repository.rebuild import RebuildConflict, RebuildReport, compare_catalogs, rebuild_catalog
from archa.repository.repo import Repository


def open_for_rebuild(path: Path) -> Repository:
    """The repository at `path`, opened as a rebuild needs it: like `Repository.open`, but
    a node whose catalog database holds no catalog (lost) opens on its archa.toml alone."""
    try:
        return Repository.open(path)
    except RepositoryError:
        cfg = load_config(path.absolute())
        if cfg.catalog and not holds_catalog(cfg.catalog):
            return Repository(path.absolute(), cfg)
        raise


def rebuild_on_server(repo: Repository, replace: bool, trust: str | None, into: str | None
                      ) -> tuple[RebuildReport, bool, str]:
    """Rebuild the catalog of a node whose catalog is on a server (see the module docstring);
    (report, replaced, backup: the old database's URL without its password, or "")."""
    current = repo.config.catalog
    live = holds_catalog(current)
    if live and into is None:
        raise UsageError("the catalog is on a PostgreSQL server and holds a catalog: a rebuild goes into another, "
                         "empty database",
                         hint="make an empty database and name it with --into URL (or compare only: --check)")
    dest = into or current
    if into is not None and holds_catalog(into):
        raise UsageError(f"{redact(into)} holds an archa catalog already: a rebuild goes into an empty database",
                         hint="make an empty database for it (CREATE DATABASE ...) and name that")
    report = rebuild_catalog(repo, dest, trust)
    if report.conflicts:
        discard(dest)
        raise RebuildConflict(report)
    if live:
        new = PgCatalog.open(dest)
        try:
            report.differences = compare_catalogs(repo.catalog, new)
        finally:
            new.close()
        if not replace:
            report.notes.append(f"the rebuilt catalog is in {redact(dest)}; the live one ({redact(current)}) is "
                                "unchanged")
            return report, False, ""
    report.path = redact(dest)
    if dest == current:
        return report, True, ""
    repo.close()
    point_node_at(repo.root, dest)
    report.notes.append(f"this node's archa.toml now names {redact(dest)}; point every other node's archa.toml "
                        "`catalog` at it too (they use the old database until then)")
    return report, True, redact(current) if live else ""


def point_node_at(root: Path, url: str) -> None:
    """Make the node's archa.toml at `root` name the catalog database `url` (its `catalog`
    line rewritten, the rest of the file as it was)."""
    path = root / CONFIG_NAME
    text = path.read_text(encoding="utf-8")
    line = f"catalog = {json.dumps(url, ensure_ascii=False)}"
    new, n = re.subn(r"(?m)^catalog\s*=.*$", lambda _m: line, text, count=1)
    if n == 0:
        raise UsageError(f"{path}: no `catalog` line to point at {redact(url)}")
    write_durable(path, new.encode("utf-8"), overwrite=True)
