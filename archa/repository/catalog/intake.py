"""Intake: what ingest asks of the catalog before it stores a SIP (is its content, or its
External-Identifier, held already, in any version?) and the rejected transfers awaiting
acknowledgement (`archa transfer ack`).

One component of the catalog (`catalog.intake`): the only place their SQL is written. Every
method reads (no transaction needed) but `record_acknowledgements`, which opens its own. The
fingerprint of every version's payload is `versions.payload_digest` (schema 17, indexed; the
head's is also `aips.payload_digest`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archa.repository.catalog.sqlite import Catalog
    from archa.repository.events import Event

_ACTIVE = "COALESCE(a.state, 'active') = 'active'"
# how an acknowledgement of a rejected transfer reads in the event log (archa/ingest/rejections.py)
ACKNOWLEDGEMENT = "acknowledgement"


class Intake:
    def __init__(self, cat: Catalog) -> None:
        self.cat = cat

    def versions_with_payload(self, fingerprint: str, files: int, size: int, algorithm: str,
                              aip_id: str | None = None) -> list[dict[str, Any]]:
        """Every version of an active AIP (of `aip_id` only, when given) whose payload has the
        fingerprint `fingerprint` (schema.payload_fingerprint: every path and digest, digests
        in `algorithm`; `files` payload files and `size` bytes, checked too): dicts of
        `aip_id`, `version` and the AIP's `head`, by AIP and version (v2 before v10). From the
        index of `versions.payload_digest` (schema 17): a few rows read at any size."""
        mine, params = ("AND v.aip_id = ?", [aip_id]) if aip_id is not None else ("", [])
        found = self.cat.rows(f"""
            SELECT v.aip_id AS aip_id, v.version AS version, a.head AS head FROM versions v
            JOIN aips a ON a.id = v.aip_id AND {_ACTIVE}
            WHERE v.payload_digest = ? AND v.digest_algorithm = ? AND v.files >= ? {mine}""",
                              [fingerprint, algorithm, files, *params])
        return sorted(found, key=lambda c: (c["aip_id"], int(c["version"].lstrip("v") or 0)))

    def active_aips_with_external_id(self, external_id: str) -> list[dict[str, Any]]:
        """The active AIPs whose External-Identifier is `external_id`: dicts of `id` and `head`,
        oldest first."""
        return self.cat.rows(f"SELECT a.id, a.head FROM aips a WHERE a.external_id = ? AND {_ACTIVE} "
                             "ORDER BY a.created, a.id", [external_id])

    def rejected_transfers(self, before: str | None = None) -> list[dict[str, Any]]:
        """The rejected transfers (received before `before`, an ISO 8601 date or time, when
        given), oldest first, each with its `findings` parsed and `acknowledged`: the time of
        the first acknowledgement event naming it (type "acknowledgement", its transfer_id),
        or None. The events are read once, whatever the number of transfers."""
        rows = self.cat.rows(f"""
            SELECT t.*, ack.acknowledged FROM transfers t
            LEFT JOIN (SELECT transfer_id, MIN(time) AS acknowledged FROM events
                       WHERE type = ? AND transfer_id IS NOT NULL GROUP BY transfer_id) ack
              ON ack.transfer_id = t.id
            WHERE t.status = 'rejected' {"AND t.received < ?" if before else ""}
            ORDER BY t.received, t.id""", [ACKNOWLEDGEMENT, *([before] if before else [])])
        for r in rows:
            r["findings"] = json.loads(r["findings"] or "[]")
        return rows

    def record_acknowledgements(self, events: list[Event]) -> list[Event]:
        """Append those of `events` (acknowledgements, each naming its transfer_id) whose
        transfer has none yet, in one transaction (opened here, under the write lock: two
        commands acknowledging the same rejection at once append one); returns those appended."""
        with self.cat.transaction():
            ids = [e.transfer_id for e in events]
            marks = ", ".join("?" * len(ids))
            done = {str(r[0]) for r in self.cat.conn.execute(
                f"SELECT DISTINCT transfer_id FROM events WHERE type = ? AND transfer_id IN ({marks})",
                [ACKNOWLEDGEMENT, *ids])} if ids else set()
            new = [e for e in events if e.transfer_id not in done]
            if new:
                self.cat.log.append(new)
        return new
