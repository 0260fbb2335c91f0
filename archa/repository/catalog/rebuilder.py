"""RebuildWriter: what a catalog rebuild writes and how two catalogs are compared (archa/repository/rebuild.py).

One component of the catalog (`catalog.rebuilder`): the only place its SQL is written."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archa.repository.catalog.sqlite import Catalog


class RebuildWriter:
    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
