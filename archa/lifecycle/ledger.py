"""The disposal procedure's records in the catalog: proposals, their items (one per record:
an AIP's base entity), the documents the archive sent, tombstones. Small helpers over the
catalog's connection; every change goes with its events in one transaction."""

from __future__ import annotations

import hashlib
from typing import Any

from archa.errors import NotFoundError
from archa.repository.catalog import Catalog
from archa.repository.events import Event, append_events, now_iso

# the archive's operations (nsesss:Operace) and what archa does with the record
OPERATIONS = {"vybrat za archiválii": "keep", "zničit": "destroy", "předložit k výběru": "appraise",
              "vyřadit z výběru": "exclude"}
DECISIONS = {"keep": "selected as archival: transfer to the archive", "destroy": "to be destroyed",
             "appraise": "the archive asks for the full package first", "exclude": "taken out of this procedure"}


def proposal(cat: Catalog, proposal_id: str) -> dict[str, Any]:
    found = cat.rows("SELECT * FROM proposals WHERE id = ?", [proposal_id])
    if not found:
        raise NotFoundError(f"no disposal proposal {proposal_id!r}", hint="see `archa disposal list`")
    return found[0]


def proposals(cat: Catalog) -> list[dict[str, Any]]:
    return cat.rows("""SELECT p.*, COUNT(i.aip_id) AS items FROM proposals p
                        LEFT JOIN proposal_items i ON i.proposal_id = p.id GROUP BY p.id ORDER BY p.created""")


def items(cat: Catalog, proposal_id: str) -> list[dict[str, Any]]:
    return cat.rows("""SELECT i.*, a.label, a.originator_id, COALESCE(a.state, 'active') AS aip_state
                        FROM proposal_items i JOIN aips a ON a.id = i.aip_id
                        WHERE i.proposal_id = ? ORDER BY i.aip_id, i.entity""", [proposal_id])


def open_items(cat: Catalog) -> dict[str, str]:
    """AIP id -> the proposal it is open in (not destroyed, excluded or confirmed yet)."""
    return {r["aip_id"]: r["proposal_id"] for r in cat.rows("""
        SELECT aip_id, proposal_id FROM proposal_items
        WHERE destroyed IS NULL AND confirmed IS NULL AND COALESCE(decision, '') != 'exclude'""")}


def store_document(cat: Catalog, kind: str, name: str, data: bytes) -> str:
    """Keep a document the archive sent (idempotent); returns its sha256. Call in a transaction."""
    digest = hashlib.sha256(data).hexdigest()
    cat.db.table("documents").insert({"sha256": digest, "kind": kind, "received": now_iso(), "name": name,
                                      "content": data}, ignore=True)
    return digest


def update_items(cat: Catalog, proposal_id: str, changes: list[tuple[dict[str, Any], dict[str, Any]]],
                 events: list[Event], state: str | None = None) -> None:
    """Set columns of items (each `(item, {column: value})`), the proposal's state, and append
    `events`, at once. Call inside `cat.transaction()`."""
    for item, values in changes:
        cols = ", ".join(f"{k} = ?" for k in values)
        cat.conn.execute(f"UPDATE proposal_items SET {cols} WHERE proposal_id = ? AND aip_id = ? AND entity = ?",
                         [*values.values(), proposal_id, item["aip_id"], item["entity"]])
    if state is not None:
        cat.conn.execute("UPDATE proposals SET state = ? WHERE id = ?", [state, proposal_id])
    append_events(cat.conn, events)


def document(cat: Catalog, sha256: str) -> dict[str, Any] | None:
    found = cat.rows("SELECT * FROM documents WHERE sha256 = ?", [sha256])
    return found[0] if found else None
