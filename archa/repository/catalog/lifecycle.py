"""LifecycleTables: the lifecycle's tables: holds, originators, disposal proposals and their items, the archive's documents, tombstones, retention (what archa/lifecycle asks and records).

One component of the catalog (`catalog.lifecycle`): the only place its SQL is written. The
disposal procedure's half is the mixin `DisposalTables` (disposal_tables.py).

Methods that say "call inside `cat.transaction()`" are one step of a change the caller
makes atomic; the others that write are a whole change and open their own transaction.
Originators with their counts (`originators`, `originator`), tombstones and retention rows
are read through `Catalog` itself (commands beyond the lifecycle read them too)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from archa.repository.catalog.disposal_tables import DisposalTables

if TYPE_CHECKING:
    from archa.repository.catalog.sqlite import Catalog
    from archa.repository.events import Event


class LifecycleTables(DisposalTables):
    def __init__(self, cat: Catalog) -> None:
        self.cat = cat

    # --- legal holds ----------------------------------------------------------------------

    def holds(self, aip_id: str | None = None, active: bool = True) -> list[dict[str, Any]]:
        """Hold rows (of one AIP; with `active` only those not released), each with its AIP's
        `label` and `originator_id`, in the order they were placed."""
        where = ["1 = 1"] + (["h.aip_id = ?"] if aip_id else []) + (["h.released IS NULL"] if active else [])
        return self.cat.rows(f"""
            SELECT h.*, a.label, a.originator_id FROM holds h JOIN aips a ON a.id = h.aip_id
            WHERE {" AND ".join(where)} ORDER BY h.placed, h.id""", [aip_id] if aip_id else [])

    def hold(self, hold_id: int) -> dict[str, Any] | None:
        """The hold row with the id (released or not), with its AIP's `label` and
        `originator_id`; None when there is none."""
        found = self.cat.rows("SELECT h.*, a.label, a.originator_id FROM holds h JOIN aips a ON a.id = h.aip_id "
                              "WHERE h.id = ?", [hold_id])
        return found[0] if found else None

    def held(self, aip_id: str) -> bool:
        """Whether the holds table has a hold in force on the AIP."""
        return bool(self.cat.conn.execute("SELECT 1 FROM holds WHERE aip_id = ? AND released IS NULL",
                                          [aip_id]).fetchone())

    def in_force(self, aip_ids: Sequence[str]) -> dict[str, int]:
        """How many holds the holds table has in force on each of `aip_ids` (0 for none)."""
        counts = dict.fromkeys(aip_ids, 0)
        if aip_ids:
            marks = ", ".join("?" * len(aip_ids))
            for aip, n in self.cat.conn.execute(f"SELECT aip_id, COUNT(*) FROM holds WHERE released IS NULL AND "
                                                f"aip_id IN ({marks}) GROUP BY aip_id", list(aip_ids)):
                counts[str(aip)] = int(n)
        return counts

    def record_hold(self, aip_id: str, reason: str, placed: str, placed_by: str,
                    event: Callable[[int], Event]) -> int:
        """Insert a hold in force on the AIP and append `event(its id)`, in one transaction
        (opened here: under the write lock, so the largest id is the one just given);
        returns the hold's id."""
        with self.cat.transaction():
            self.cat.insert("holds", {"aip_id": aip_id, "reason": reason, "placed": placed, "placed_by": placed_by})
            hold_id = int(self.cat.conn.execute("SELECT MAX(id) FROM holds").fetchone()[0])
            self.cat.log.append([event(hold_id)])
        return hold_id

    def release_hold(self, hold_id: int, released: str, released_by: str, reason: str, event: Event) -> bool:
        """Release the hold `hold_id` (when, by whom, why) and append `event`, in one
        transaction (opened here); the AIP's other holds stay in force. False, and nothing
        written, when the hold is not in force (released meanwhile by another process: the
        log gets one release per hold, or it would count a hold too few)."""
        with self.cat.transaction():
            cur = self.cat.conn.execute("UPDATE holds SET released = ?, released_by = ?, release_reason = ? "
                                        "WHERE id = ? AND released IS NULL", [released, released_by, reason, hold_id])
            if cur.rowcount != 1:
                return False
            self.cat.log.append([event])
        return True

    def hold_event_aips(self) -> list[str]:
        """The AIPs whose `policy assignment` events speak of a legal hold (placed or
        released): every AIP the log says was ever held. A scan of the event log."""
        return [str(r[0]) for r in self.cat.conn.execute(
            "SELECT DISTINCT aip_id FROM events WHERE type = 'policy assignment' AND detail LIKE 'legal hold %' "
            "AND aip_id IS NOT NULL")]

    def policy_events(self, aip_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The `policy assignment` events of the AIPs (seq, type, aip_id, detail), oldest
        first: the catalog's log of their holds placed and released."""
        if not aip_ids:
            return []
        marks = ", ".join("?" * len(aip_ids))
        return self.cat.rows(f"SELECT seq, type, aip_id, detail FROM events WHERE type = 'policy assignment' AND "
                             f"aip_id IN ({marks}) ORDER BY seq", list(aip_ids))

    # --- originators ----------------------------------------------------------------------

    def has_originator(self, originator_id: str) -> bool:
        """Whether an originator has the id."""
        return bool(self.cat.conn.execute("SELECT 1 FROM originators WHERE id = ?", [originator_id]).fetchone())

    def ico_taken(self, ico: str) -> bool:
        """Whether an originator has the IČO."""
        return bool(self.cat.conn.execute("SELECT 1 FROM originators WHERE ico = ?", [ico]).fetchone())

    def originator_row(self, originator_id: str) -> dict[str, Any] | None:
        """The originator's own row (id, name, ico, seat, quota_bytes, created), without the
        counts `Catalog.originator` adds; None when there is none."""
        found = self.cat.rows("SELECT * FROM originators WHERE id = ?", [originator_id])
        return found[0] if found else None

    def record_originator(self, row: dict[str, Any], event: Event) -> None:
        """Insert an originator's row and append `event`, in one transaction (opened here)."""
        with self.cat.transaction():
            self.cat.insert("originators", row)
            self.cat.log.append([event])

    def set_quota(self, originator_id: str, quota: int | None, event: Event) -> None:
        """Set (None: remove) the originator's quota in bytes and append `event`, in one
        transaction (opened here)."""
        with self.cat.transaction():
            self.cat.conn.execute("UPDATE originators SET quota_bytes = ? WHERE id = ?", [quota, originator_id])
            self.cat.log.append([event])

    # --- records that arrive again ----------------------------------------------------------

    def active_aips_holding(self, keys: Sequence[tuple[str, str]]) -> list[str]:
        """The ids of the active AIPs whose retention rows hold an entity `(entity_id,
        entity_source)` of `keys`: one per row found, key by key (an AIP may repeat)."""
        return [str(aip) for k in keys for (aip,) in self.cat.conn.execute(
            """SELECT r.aip_id FROM retention r JOIN aips a ON a.id = r.aip_id
               WHERE r.entity_id = ? AND r.entity_source = ? AND COALESCE(a.state, 'active') = 'active'""",
            list(k)).fetchall()]
