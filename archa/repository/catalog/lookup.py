"""AipLookup: finding AIPs by what people type for them — an id prefix, an External-Identifier,
the identifier of an entity its records carry (NSESSS `Identifikator`) — and the ids near a
text that names none (archa/repository/aipid.py asks).

One component of the catalog (`catalog.lookup`): the only place its SQL is written. Every
method reads (no transaction needed) and answers from an index at a million AIPs: the
`aips` primary key (ids in order), `aips_external_id` (schema 16) and the retention rows'
(`entity_id`, `entity_source`) index. Removed (destroyed, transferred) AIPs are found too:
their rows stay, and commands say what became of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archa.repository.catalog.sqlite import Catalog

# what `near` and `names` read, per kind of name: (value column, AIP id column, table)
_KINDS = {"id": ("id", "id", "aips"), "external_id": ("external_id", "id", "aips"),
          "entity_id": ("entity_id", "aip_id", "retention")}


class AipLookup:
    def __init__(self, cat: Catalog) -> None:
        self.cat = cat

    def ids_between(self, low: str, high: str, limit: int) -> list[str]:
        """The AIP ids `low` <= id < `high` (code-point order: an id prefix and the text just
        past it), at most `limit`, in order."""
        return [str(r[0]) for r in self.cat.conn.execute(
            "SELECT id FROM aips WHERE id >= ? AND id < ? ORDER BY id LIMIT ?", [low, high, limit])]

    def ids_with_external_id(self, value: str, limit: int) -> list[str]:
        """The ids of the AIPs (any state) whose External-Identifier is `value`, at most `limit`,
        by id."""
        return [str(r[0]) for r in self.cat.conn.execute(
            "SELECT id FROM aips WHERE external_id = ? ORDER BY id LIMIT ?", [value, limit])]

    def ids_with_entity_id(self, value: str, limit: int) -> list[str]:
        """The ids of the AIPs (any state) one of whose retention rows is of the entity with the
        identifier `value` (from any source system), at most `limit`, by id."""
        return [str(r[0]) for r in self.cat.conn.execute(
            "SELECT DISTINCT aip_id FROM retention WHERE entity_id = ? ORDER BY aip_id LIMIT ?", [value, limit])]

    def described(self, aip_ids: Sequence[str]) -> list[dict[str, Any]]:
        """`id`, `label`, `external_id` and `state` (active when none) of each of `aip_ids` the
        catalog holds, by id."""
        if not aip_ids:
            return []
        marks = ", ".join("?" * len(aip_ids))
        return self.cat.rows(f"SELECT id, label, external_id, COALESCE(state, 'active') AS state FROM aips "
                             f"WHERE id IN ({marks}) ORDER BY id", list(aip_ids))

    def count(self) -> int:
        """How many AIPs the catalog holds (any state)."""
        return int(self.cat.conn.execute("SELECT COUNT(*) FROM aips").fetchone()[0])

    def near(self, kind: str, key: str, n: int) -> list[tuple[str, str]]:
        """(value, AIP id) of the `n` names of `kind` ("id", "external_id" or "entity_id") just
        before `key` and the `n` from it on, in code-point order: where a mistyped name's
        neighbours sort. Empty names are left out."""
        value, aip, table = _KINDS[kind]
        out: list[tuple[str, str]] = []
        for cmp, order in (("<", "DESC"), (">=", "ASC")):
            out += [(str(v), str(a)) for v, a in self.cat.conn.execute(
                f"SELECT {value}, {aip} FROM {table} WHERE {value} {cmp} ? AND {value} > '' "
                f"ORDER BY {value} {order} LIMIT ?", [key, n])]
        return out

    def names(self) -> Iterator[tuple[str, str, str]]:
        """(kind, value, AIP id) of every id, External-Identifier and entity identifier, streamed
        (for a catalog small enough to compare a mistyped name with all of them)."""
        for kind, (value, aip, table) in _KINDS.items():
            for row in self.cat.iter_rows(f"SELECT DISTINCT {value} AS v, {aip} AS a FROM {table} "
                                          f"WHERE {value} > ''"):
                yield kind, str(row["v"]), str(row["a"])
