"""DisposalTables: the disposal procedure's tables (proposals, their items, the archive's
documents) and the removal of an AIP (its tombstone, its state, its rows), the half of
`catalog.lifecycle` that archa/lifecycle/ledger.py, disposal.py and destruction.py ask.

A mixin of `LifecycleTables` (lifecycle.py): reached as `catalog.lifecycle`, never alone.
Methods that say "call inside `cat.transaction()`" are one step of a change the caller
makes atomic; the others that write are a whole change and open their own transaction."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archa.repository.catalog.sqlite import Catalog
    from archa.repository.events import Event

# an item still to be settled in its proposal: its AIP not removed yet, the item not taken out
_UNSETTLED = """SELECT COUNT(*) FROM proposal_items i JOIN aips a ON a.id = i.aip_id
                WHERE i.proposal_id = ? AND COALESCE(a.state, 'active') IN ('active', 'destroying')
                AND COALESCE(i.decision, '') != 'exclude'"""


class DisposalTables:
    cat: Catalog

    # --- proposals and their items ------------------------------------------------------

    def proposal(self, proposal_id: str) -> dict[str, Any] | None:
        """The proposal's row (id, created, as_of_year, originator_id, out, state); None when
        there is no such proposal."""
        found = self.cat.rows("SELECT * FROM proposals WHERE id = ?", [proposal_id])
        return found[0] if found else None

    def proposals(self) -> list[dict[str, Any]]:
        """Every proposal's row with `items` (how many items it has), oldest first."""
        return self.cat.rows("""SELECT p.*, COUNT(i.aip_id) AS items FROM proposals p
                                LEFT JOIN proposal_items i ON i.proposal_id = p.id GROUP BY p.id ORDER BY p.created, p.id""")

    def proposal_items(self, proposal_id: str) -> list[dict[str, Any]]:
        """The items of a proposal (by AIP id, then entity), each with its AIP's `label`,
        `originator_id` and `aip_state` (active, destroying, destroyed, transferred)."""
        return self.cat.rows("""SELECT i.*, a.label, a.originator_id, COALESCE(a.state, 'active') AS aip_state
                                FROM proposal_items i JOIN aips a ON a.id = i.aip_id
                                WHERE i.proposal_id = ? ORDER BY i.aip_id, i.entity""", [proposal_id])

    def open_items(self) -> dict[str, str]:
        """AIP id -> the proposal it is open in (an item not destroyed, confirmed or excluded)."""
        return {r["aip_id"]: r["proposal_id"] for r in self.cat.rows("""
            SELECT aip_id, proposal_id FROM proposal_items
            WHERE destroyed IS NULL AND confirmed IS NULL AND COALESCE(decision, '') != 'exclude'""")}

    def binding_items(self, aip_id: str) -> list[dict[str, Any]]:
        """The item rows of `aip_id` in proposals not closed, neither excluded nor destroyed
        yet, by proposal and entity."""
        return self.cat.rows("""SELECT i.* FROM proposal_items i JOIN proposals p ON p.id = i.proposal_id
                                WHERE i.aip_id = ? AND p.state != 'closed' AND i.destroyed IS NULL
                                AND COALESCE(i.decision, '') != 'exclude' ORDER BY i.proposal_id, i.entity""",
                             [aip_id])

    def record_proposal(self, proposal: dict[str, Any], items: list[dict[str, Any]]) -> None:
        """Insert a proposal's row and its items' rows (dicts of their columns). Call inside
        `cat.transaction()`, with the events that record it (`update_items`)."""
        self.cat.insert("proposals", proposal)
        self.cat.insert("proposal_items", items)

    def update_items(self, proposal_id: str, changes: list[tuple[dict[str, Any], dict[str, Any]]],
                     events: list[Event], state: str | None = None) -> None:
        """Set columns of the proposal's items (each `(item, {column: value})`, the item named
        by its `aip_id` and `entity`), with `state` the proposal's state, and append `events`.
        Call inside `cat.transaction()`."""
        for item, values in changes:
            cols = ", ".join(f"{k} = ?" for k in values)
            self.cat.conn.execute(f"UPDATE proposal_items SET {cols} WHERE proposal_id = ? AND aip_id = ? "
                                  "AND entity = ?", [*values.values(), proposal_id, item["aip_id"], item["entity"]])
        if state is not None:
            self.set_proposal_state(proposal_id, state)
        self.cat.log.append(events)

    def set_proposal_state(self, proposal_id: str, state: str) -> None:
        """Set the proposal's state (proposed, decided, transferred, closed). Call inside
        `cat.transaction()`."""
        self.cat.conn.execute("UPDATE proposals SET state = ? WHERE id = ?", [state, proposal_id])

    def unsettled_items(self, proposal_id: str) -> int:
        """How many items of the proposal are still to be settled: their AIP is active or
        being removed and they were not taken out (decision `exclude`)."""
        return int(self.cat.conn.execute(_UNSETTLED, [proposal_id]).fetchone()[0])

    # --- the archive's documents --------------------------------------------------------

    def store_document(self, sha256: str, kind: str, name: str, content: bytes, received: str) -> None:
        """Keep a document the archive sent under its sha256 (nothing when it is kept
        already). Call inside `cat.transaction()`."""
        self.cat.insert("documents", {"sha256": sha256, "kind": kind, "received": received, "name": name,
                                      "content": content}, ignore=True)

    def document(self, sha256: str) -> dict[str, Any] | None:
        """The kept document (sha256, kind, received, name, content); None when there is none."""
        found = self.cat.rows("SELECT * FROM documents WHERE sha256 = ?", [sha256])
        return found[0] if found else None

    # --- removing an AIP ----------------------------------------------------------------

    def record_removal_begun(self, aip_id: str, tombstone: dict[str, Any], event: Event) -> None:
        """The first step of removing an AIP, as one transaction (opened here): its state
        becomes `destroying` (no payload fingerprint), `tombstone` (the row: state, at,
        proposal_id, certificate JSON, locations_left JSON) replaces any it had, its file
        rows, format counts, pages and copies go, its versions are no longer stored, and
        `event` is appended."""
        conn = self.cat.conn
        with self.cat.transaction():
            conn.execute("UPDATE aips SET state = 'destroying', payload_digest = NULL WHERE id = ?", [aip_id])
            self.cat.insert("tombstones", {"aip_id": aip_id, **tombstone}, replace=True)
            conn.execute("DELETE FROM file_rows WHERE aip = (SELECT n FROM aip_keys WHERE id = ?)", [aip_id])
            conn.execute("DELETE FROM version_formats WHERE aip = (SELECT n FROM aip_keys WHERE id = ?)", [aip_id])
            self.cat.pages_index.forget(aip_id)  # no page of it is found by a search any more
            self.cat.record_index.mark_removed(aip_id, str(tombstone.get("at") or ""))
            conn.execute("DELETE FROM copies WHERE aip_id = ?", [aip_id])
            conn.execute("UPDATE versions SET stored = 0 WHERE aip_id = ?", [aip_id])
            self.cat.log.append([event])

    def removal_begun_seq(self, aip_id: str) -> int | None:
        """The sequence number of the AIP's newest `deletion` / `deaccession` event with the
        outcome `begun` (the first step of its removal); None when there is none."""
        begun = self.cat.conn.execute("SELECT seq FROM events WHERE aip_id = ? AND type IN ('deletion', 'deaccession') "
                                      "AND outcome = 'begun' ORDER BY seq DESC LIMIT 1", [aip_id]).fetchone()
        return int(begun[0]) if begun is not None else None

    def set_locations_left(self, aip_id: str, left: list[str]) -> None:
        """Record the locations a removal has still to clear in the AIP's tombstone (its own
        transaction)."""
        with self.cat.transaction():
            self.cat.conn.execute("UPDATE tombstones SET locations_left = ? WHERE aip_id = ?",
                                  [json.dumps(left), aip_id])

    def mark_removed(self, aip_id: str, state: str) -> None:
        """The AIP's and its tombstone's state becomes `state` (destroyed, transferred), no
        location left to clear. Call inside `cat.transaction()`."""
        self.cat.conn.execute("UPDATE aips SET state = ? WHERE id = ?", [state, aip_id])
        self.cat.conn.execute("UPDATE tombstones SET locations_left = '[]', state = ? WHERE aip_id = ?",
                              [state, aip_id])

    def record_disposal(self, aip_id: str, entity: str, date: str | None, operation: str, by: str) -> None:
        """Record in a retention row (the AIP's `entity`) that the record went through a
        disposal procedure: its date, operation and by what. Call inside `cat.transaction()`."""
        self.cat.conn.execute("UPDATE retention SET disposal_date = ?, disposal_operation = ?, disposal_by = ? "
                              "WHERE aip_id = ? AND entity = ?", [date, operation, by, aip_id, entity])
