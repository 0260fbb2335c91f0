"""LifecycleTables: the lifecycle's tables: holds, originators, disposal proposals and their items, the archive's documents, tombstones, retention (what archa/lifecycle asks and records).

One component of the catalog (`catalog.lifecycle`): the only place its SQL is written."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archa.repository.catalog.sqlite import Catalog


class LifecycleTables:
    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
