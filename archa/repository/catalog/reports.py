"""Reports: the figures of the whole catalog that `archa status` (preservation/overview.py)
and `archa report` (preservation/report.py) show, and the tables as `archa catalog export`
(repository/tables.py) dumps them.

One component of the catalog (`catalog.reports`): the only place their SQL is written.
Every method reads (no transaction needed). The figures come from the per-AIP, per-version
and per-copy rows and the per-version format counts, never from the file rows, so they
answer in well under a second for hundreds of thousands of files. `originator`, where a
method takes it, limits the figures to that originator's AIPs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

# the type of the event that acknowledges a rejected transfer (its transfer_id names it)
from archa.repository.catalog.intake import ACKNOWLEDGEMENT

if TYPE_CHECKING:
    from archa.repository.catalog.sqlite import Catalog

_ACTIVE = "COALESCE(a.state, 'active') = 'active'"


class Reports:
    def __init__(self, cat: Catalog) -> None:
        self.cat = cat

    def _tuples(self, sql: str, params: list[Any]) -> list[Any]:
        return [tuple(r) for r in self.cat.conn.execute(sql, params)]

    @staticmethod
    def _mine(originator: str | None) -> tuple[str, list[Any]]:
        return ("AND a.originator_id = ?", [originator]) if originator else ("", [])

    # --- archa status -----------------------------------------------------------------------

    def head_totals(self) -> tuple[int, int, int]:
        """(AIPs, files, bytes) of the active AIPs, files and bytes counted in their heads."""
        n, files, size = self.cat.conn.execute(f"""
            SELECT COUNT(*), COALESCE(SUM(v.files), 0), COALESCE(SUM(v.bytes), 0)
            FROM aips a JOIN versions v ON v.aip_id = a.id AND v.version = a.head WHERE {_ACTIVE}""").fetchone()
        return int(n), int(files), int(size)

    def payload_totals(self, originator: str | None = None) -> tuple[int, int]:
        """(files, bytes) of the payload of the active AIPs' heads: the records' files as
        submitted (and any preservation copies made of them), without the bag's tag files and
        the metadata archa adds (from the per-version format counts)."""
        where, params = self._mine(originator)
        files, size = self.cat.conn.execute(f"""
            SELECT COALESCE(SUM(vf.files), 0), COALESCE(SUM(vf.bytes), 0) FROM version_formats vf
            JOIN aip_keys k ON k.n = vf.aip JOIN aips a ON a.id = k.id AND a.head = vf.version
            WHERE vf.role = 0 AND {_ACTIVE} {where}""", params).fetchone()
        return int(files), int(size)

    def payload_per_aip(self, originator: str | None = None) -> dict[str, tuple[int, int]]:
        """{AIP id: (files, bytes)} of the payload of each AIP's head (`payload_totals`, per AIP;
        an AIP removed by disposal has none, and is absent)."""
        where, params = self._mine(originator)
        return {str(r[0]): (int(r[1]), int(r[2])) for r in self.cat.conn.execute(f"""
            SELECT a.id, SUM(vf.files), SUM(vf.bytes) FROM version_formats vf
            JOIN aip_keys k ON k.n = vf.aip JOIN aips a ON a.id = k.id AND a.head = vf.version
            WHERE vf.role = 0 {where} GROUP BY a.id""", params)}

    def stored_total(self, location: str) -> int:
        """Stored bytes: the copies at `location` (the hot one) of every version of the active
        AIPs, as stored there: what each version added (its new content, archa's metadata,
        the OCFL inventories), whatever the copies' state."""
        return int(self.cat.conn.execute(f"""SELECT COALESCE(SUM(c.bytes), 0) FROM copies c
                                             JOIN aips a ON a.id = c.aip_id
                                             WHERE c.location = ? AND {_ACTIVE}""", [location]).fetchone()[0])

    def rejections_not_acknowledged(self) -> list[dict[str, Any]]:
        """The rejected transfers that no acknowledgement names (an event of type
        "acknowledgement" whose transfer_id is the transfer's id: `archa transfer ack`), oldest
        first: id, source, received, `reason` (the first error finding as text, "" when none
        was recorded) and `findings` (how many)."""
        out = []
        for r in self.cat.rows("""SELECT t.id, t.source, t.received, t.findings FROM transfers t
                                  WHERE t.status = 'rejected' AND t.id NOT IN (
                                      SELECT e.transfer_id FROM events e
                                      WHERE e.type = ? AND e.transfer_id IS NOT NULL)
                                  ORDER BY t.received, t.id""", [ACKNOWLEDGEMENT]):
            findings = json.loads(r.pop("findings") or "[]")
            first = next((f for f in findings if f.get("severity") == "error"), findings[0] if findings else None)
            r["reason"] = _finding_text(first) if first else ""
            r["findings"] = len(findings)
            out.append(r)
        return out

    def removed(self) -> int:
        """How many AIPs were destroyed or transferred to an archive."""
        return int(self.cat.conn.execute(
            "SELECT COUNT(*) FROM aips WHERE state IN ('destroyed', 'transferred')").fetchone()[0])

    def destroying(self) -> list[str]:
        """The AIPs whose destruction began and did not finish, by id."""
        return [str(r[0]) for r in self.cat.conn.execute("SELECT id FROM aips WHERE state = 'destroying' ORDER BY id")]

    def versions_not_stored(self) -> int:
        """Versions of active AIPs short of the copies the placement policy wants."""
        return int(self.cat.conn.execute(f"""SELECT COUNT(*) FROM versions v JOIN aips a ON a.id = v.aip_id
                                             WHERE v.stored = 0 AND {_ACTIVE}""").fetchone()[0])

    def aips_held(self) -> int:
        """How many AIPs a legal hold in force keeps."""
        return int(self.cat.conn.execute(
            "SELECT COUNT(DISTINCT aip_id) FROM holds WHERE released IS NULL").fetchone()[0])

    def open_proposals(self) -> int:
        """Disposal proposals not closed."""
        return int(self.cat.conn.execute("SELECT COUNT(*) FROM proposals WHERE state != 'closed'").fetchone()[0])

    def last_failures(self, limit: int = 5) -> list[dict[str, Any]]:
        """The newest `limit` failure events, newest first: time, type, aip_id, location, detail
        (a rejected transfer's once someone acknowledged it left out: `archa events list` keeps it)."""
        cols = ("time", "type", "aip_id", "location", "detail")
        return [dict(zip(cols, r, strict=True)) for r in self.cat.conn.execute(
            f"""SELECT {', '.join(cols)} FROM events WHERE outcome = 'failure'
                AND (transfer_id IS NULL OR transfer_id NOT IN (
                    SELECT a.transfer_id FROM events a WHERE a.type = ? AND a.transfer_id IS NOT NULL))
                ORDER BY seq DESC LIMIT ?""", [ACKNOWLEDGEMENT, limit])]

    def heads_holding(self, puids: list[str], originator: str | None = None) -> list[str]:
        """The active AIPs whose newest version holds a payload file of one of `puids`, by id
        (from the per-version format counts: no scan of the file rows)."""
        if not puids:
            return []
        where, params = self._mine(originator)
        return [str(r[0]) for r in self.cat.conn.execute(f"""
            SELECT DISTINCT a.id FROM version_formats vf JOIN aip_keys k ON k.n = vf.aip
            JOIN aips a ON a.id = k.id AND a.head = vf.version JOIN formats f ON f.id = vf.format
            WHERE vf.role = 0 AND {_ACTIVE} AND f.puid IN ({', '.join('?' * len(puids))}) {where}
            ORDER BY a.id""", [*puids, *params])]

    def migration_events(self, originator: str | None = None) -> list[dict[str, Any]]:
        """Every `migration` event of the active AIPs, oldest first: aip_id, outcome, detail."""
        cols = ("aip_id", "outcome", "detail")
        where, params = self._mine(originator)
        return [dict(zip(cols, r, strict=True)) for r in self.cat.conn.execute(f"""
            SELECT e.aip_id, e.outcome, e.detail FROM events e JOIN aips a ON a.id = e.aip_id
            WHERE e.type = 'migration' AND {_ACTIVE} {where} ORDER BY e.seq""", params)]

    # --- archa report -----------------------------------------------------------------------

    def stored_bytes(self, originator: str | None = None) -> list[tuple[str, str, int | None]]:
        """(originator or '-', location, bytes of every copy there) of the active AIPs."""
        where, params = self._mine(originator)
        return self._tuples(f"""SELECT COALESCE(a.originator_id, '-'), c.location, SUM(c.bytes)
                                FROM copies c JOIN aips a ON a.id = c.aip_id
                                WHERE {_ACTIVE} {where}
                                GROUP BY 1, 2 ORDER BY 1, 2""", params)

    def growth(self, location: str, originator: str | None = None) -> list[tuple[str, int | None, int]]:
        """(month YYYY-MM, stored bytes, AIPs) of the versions of the active AIPs made each
        month, by month: the bytes their copies at `location` (the hot one) take, which is what
        each version added (an update counts its new files, not the files it keeps)."""
        where, params = self._mine(originator)
        return self._tuples(f"""SELECT substr(v.created, 1, 7), SUM(c.bytes), COUNT(DISTINCT v.aip_id)
                                FROM versions v JOIN aips a ON a.id = v.aip_id
                                JOIN copies c ON c.aip_id = v.aip_id AND c.version = v.version AND c.location = ?
                                WHERE {_ACTIVE} {where}
                                GROUP BY 1 ORDER BY 1""", [location, *params])

    def head_formats(self, originator: str | None = None) -> list[tuple[str, str | None, int, int]]:
        """(PUID, a format name, files, bytes) of the payload of the active AIPs' heads, most
        files first (from the per-version counts)."""
        where, params = self._mine(originator)
        return self._tuples(f"""SELECT f.puid, MIN(f.format_name), SUM(vf.files), SUM(vf.bytes) FROM version_formats vf
                                JOIN aip_keys k ON k.n = vf.aip JOIN aips a ON a.id = k.id AND a.head = vf.version
                                JOIN formats f ON f.id = vf.format
                                WHERE vf.role = 0 AND {_ACTIVE} {where}
                                GROUP BY 1 ORDER BY 3 DESC, 1""", params)

    def last_audits(self, originator: str | None = None) -> list[tuple[str, str | None, str]]:
        """(location, time of the last audit or None, state) of every copy of the active AIPs."""
        where, params = self._mine(originator)
        return self._tuples(f"""SELECT c.location, c.last_audit, c.state FROM copies c JOIN aips a ON a.id = c.aip_id
                                WHERE {_ACTIVE} {where} ORDER BY c.aip_id, c.version, c.location""", params)

    def fixity_months(self, originator: str | None = None) -> list[tuple[str, int | None, int | None]]:
        """(month YYYY-MM, fixity failures, recoveries) of each month with either, by month."""
        where, params = self._mine(originator)
        return self._tuples(f"""SELECT substr(e.time, 1, 7), SUM(CASE WHEN e.type = 'fixity check' AND e.outcome = 'failure'
                                           THEN 1 ELSE 0 END),
                                       SUM(CASE WHEN e.type = 'recovery' THEN 1 ELSE 0 END) FROM events e
                                {"JOIN aips a ON a.id = e.aip_id WHERE 1 = 1 " + where if where else "WHERE 1 = 1"}
                                AND (e.type = 'recovery' OR (e.type = 'fixity check' AND e.outcome = 'failure'))
                                GROUP BY 1 ORDER BY 1""", params)

    def retention_ends(self, originator: str | None = None) -> list[tuple[int, str, int]]:
        """(year, sign, records) of the retention of active AIPs not yet through a disposal
        procedure, by the year it ends."""
        where, params = self._mine(originator)
        return self._tuples(f"""SELECT r.until_year, r.sign, COUNT(*) FROM retention r JOIN aips a ON a.id = r.aip_id
                                WHERE {_ACTIVE} AND COALESCE(r.disposal_date, '') = ''
                                AND r.until_year IS NOT NULL {where} GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST""", params)

    def proposal_progress(self, originator: str | None = None
                          ) -> list[tuple[str, str, int, int, int | None, int | None]]:
        """(proposal, state, due year, records, destroyed, taken over by the archive) of each
        disposal proposal (the originator's and those of no originator), oldest first."""
        return self._tuples(f"""SELECT p.id, p.state, p.as_of_year, COUNT(i.aip_id),
                                       SUM(CASE WHEN i.destroyed IS NOT NULL AND i.decision = 'destroy'
                                           THEN 1 ELSE 0 END),
                                       SUM(CASE WHEN i.confirmed IS NOT NULL THEN 1 ELSE 0 END) FROM proposals p
                                LEFT JOIN proposal_items i ON i.proposal_id = p.id
                                {"WHERE p.originator_id = ? OR p.originator_id IS NULL" if originator else ""}
                                GROUP BY p.id ORDER BY p.created, p.id""", [originator] if originator else [])

    # --- archa catalog export ---------------------------------------------------------------

    def columns(self, table: str) -> list[tuple[str, str]]:
        """(name, declared type) of each column of the catalog table `table` (a name archa
        gives, not one a user typed), in table order."""
        return [(name, declared) for name, declared, _pk in self.cat.table_columns(table)]

    def table_batches(self, table: str, columns: list[str], size: int) -> Iterator[list[tuple[Any, ...]]]:
        """Every row of `table` as tuples of `columns`, `size` rows at a time (streamed: one
        batch in memory whatever the table's size)."""
        quoted = ", ".join(f'"{c}"' for c in columns)  # "user" is a keyword on PostgreSQL
        cur = self.cat.stream(f"SELECT {quoted} FROM {table}")
        while batch := cur.fetchmany(size):
            yield [tuple(r) for r in batch]


def _finding_text(f: dict[str, Any]) -> str:
    """A recorded finding (code, path, message) as one line: "BAG003 data/: the payload ..."."""
    head = " ".join(x for x in (str(f.get("code") or ""), f"{f['path']}:" if f.get("path") else "") if x)
    return f"{head} {f.get('message') or ''}".strip()
