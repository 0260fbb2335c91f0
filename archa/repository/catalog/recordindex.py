"""RecordIndex: the search index over every AIP's descriptive metadata (what
archa/metadata/description.py reads from its head version), and the table of access
conditions (archa/repository/access.py). One component of the catalog
(`catalog.record_index`): the only place their SQL is written.

Tables (schema 18): `records` (one row per AIP: its head version, kind, title, originator,
dates, and `state` active or removed: a destroyed record keeps its row, found only with
`include_removed`), the text of its values by field (SQLite: the FTS5 table `record_text`,
one row per AIP with a column per field of `FIELDS`, rowid = `records.n`, unicode61 tokens
with diacritics folded, prefix indexes of 2 and 3 characters; PostgreSQL: the columns `f_*`
of `records` and their `tsvector`, searched by pgrecords.py with the same contract), and
`access`. All three are derived: `records` and the text from what the AIPs hold, `access`
from the event log (a rebuild makes them again).

A search is bounded whatever the number of records: the matches are counted up to
`COUNT_CAP` (beyond it `more` is set) and the best first are chosen by bm25 (title weighs
most, then identifier and reference number, filing code, originator and authors) among the
newest `RANK_WINDOW` matches (every match when there are fewer: `ranked` says so); hits
past the window follow newest first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from archa.errors import UsageError
from archa.metadata.description import FIELDS, Description
from archa.repository.access import AccessState
from archa.repository.catalog.pages import fts_phrase
from archa.repository.catalog.pgpages import _TOKEN, fold, snippet, split_words

if TYPE_CHECKING:
    from archa.metadata.records import Event
    from archa.repository.catalog.sqlite import Catalog

COUNT_CAP = 1_000
RANK_WINDOW = 1_000
WEIGHTS = {"title": 10.0, "identifier": 6.0, "ref": 6.0, "sign": 4.0, "originator": 2.0, "author": 3.0}
SEARCH_FIELDS = (*FIELDS, "text")  # `text`: the OCR of pages (catalog/pages.py)


@dataclass(frozen=True)
class RecordHit:
    """A record found: its id, title, originator, main date, the field that matched and the
    matching words in context (marked with [ ]), its access status (`public`, `restricted`,
    `embargoed until DATE`, or `` when not known) and state (active or removed); `page` the
    page's order for a hit in the text of a page (None for the record's metadata)."""

    aip_id: str
    title: str
    originator: str
    date: str
    field: str
    snippet: str
    access: str
    state: str
    page: int | None = None
    version: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RecordsFound:
    total: int  # records matching (counted up to COUNT_CAP)
    more: bool  # more than `total` match
    ranked: bool  # best first among every match (else among the newest RANK_WINDOW)
    hits: list[RecordHit]


@dataclass(frozen=True)
class Query:
    """What to look for: `text` (every word must occur; `word*` a prefix of 2+ characters),
    in one `field` of SEARCH_FIELDS or any (None), records dated within `date_from`..`date_to`
    (ISO dates, or years / months: inclusive), of one originator id, removed ones too."""

    text: str
    field: str | None = None
    date_from: str = ""
    date_to: str = ""
    originator: str = ""
    include_removed: bool = False


def words(text: str) -> list[tuple[str, bool]]:
    """(word, prefix) of each word of `text` that has a letter or digit (a group in double
    quotes one word, its tokens a phrase: pgpages.split_words); UsageError for a
    prefix shorter than two characters (it would match nearly everything) or a control
    character (a NUL a program passed)."""
    if any(ord(c) < 32 for c in text.replace("\t", " ").replace("\n", " ")):
        raise UsageError("the words to search for hold a control character", hint="type the words alone")
    out = []
    for core, prefix in split_words(text):
        tokens = _TOKEN.findall(core)
        if not tokens:
            continue
        if prefix and len(tokens[-1]) < 2:
            raise UsageError(f"{core}*: a prefix needs at least two letters", hint='e.g. "stav*"')
        out.append((core, prefix))
    return out


# a filing code, a reference number's digits, a date: 1.2.3, 12345/2011; not a piece of a UUID
CODE = re.compile(r"(?<![^\W_])\d+(?:[./-]\d+)+(?![^\W_])")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
LETTER = {"title": "t", "identifier": "i", "sign": "s", "ref": "r", "originator": "o", "author": "a"}
MAX_YEARS = 200  # a record spanning more years is found by a date filter through its row alone


def org_token(originator_id: str) -> str:
    """The token naming an originator in a record's facets."""
    return "o" + hashlib.sha256(originator_id.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def code_tokens(field: str, code: str) -> list[str]:
    """The facet tokens of a code found in `field`: its first two parts, three, ... all
    (`1.2.3` in sign: ks1x2, ks1x2x3), so that a code is found whole or by its leading parts."""
    parts = re.split(r"[./-]", code)
    return [f"k{LETTER[field]}" + "x".join(parts[:k]) for k in range(2, len(parts) + 1)]


def facets(texts: dict[str, str], row: dict[str, Any]) -> str:
    """The hidden tokens of a record that let the full-text index answer what would
    otherwise be read row by row: its originator (`org_token`), every year its dates cover
    (`y2011`), and the codes in its values (`code_tokens`): a filter or a code is then one
    more term of the index's query, not a scan of every record holding a common word."""
    toks = [org_token(row["originator_id"])] if row.get("originator_id") else []
    if row.get("date_from") and row.get("date_to"):
        first, last = int(row["date_from"][:4]), int(row["date_to"][:4])
        if last - first <= MAX_YEARS:
            toks += [f"y{y}" for y in range(first, last + 1)]
    for f, text in texts.items():
        for m in CODE.finditer(UUID.sub(" ", text)):
            toks += code_tokens(f, m.group())
    return " ".join(dict.fromkeys(toks))


def _alternatives(tokens: list[str], prefix: bool = False) -> str:
    return "facets : (" + " OR ".join(f'"{t}"' + ("*" if prefix else "") for t in tokens) + ")"


def fts_match(ws: list[tuple[str, bool]], field: str | None, extra: list[tuple[list[str], bool]] | None = None
              ) -> str:
    """The FTS5 expression of the words: each quoted (a prefix with `*`) and looked for in
    the fields (in `field` alone when given); a code (`CODE`) as its facet token in the
    field(s); and each of `extra` (alternative facet tokens, prefix or not) ANDed."""
    cols = "{" + " ".join([field] if field else FIELDS) + "}"
    terms = []
    for core, prefix in ws:
        if CODE.fullmatch(core):
            terms.append(_alternatives([code_tokens(f, core)[-1] for f in ([field] if field else FIELDS)], prefix))
        else:
            terms.append(f"{cols} : {fts_phrase(core, prefix)}")
    terms += [_alternatives(tokens, prefix) for tokens, prefix in extra or []]
    return " AND ".join(terms)


def filter_facets(q: Query) -> list[tuple[list[str], bool]]:
    """The facet terms a query's filters add (its originator; the years of its date span,
    when there are no more than MAX_YEARS)."""
    out: list[tuple[list[str], bool]] = []
    if q.originator:
        out.append(([org_token(q.originator)], False))
    if q.date_from or q.date_to:
        first = int(date_bounds(q.date_from, False)[:4]) if q.date_from else None
        last = int(date_bounds(q.date_to, True)[:4]) if q.date_to else None
        if first is not None and last is not None and 0 <= last - first <= MAX_YEARS:
            out.append(([f"y{y}" for y in range(first, last + 1)], False))
    return out


def date_bounds(text: str, high: bool) -> str:
    """An ISO date, month or year as the first (`high` False) or last day it covers;
    UsageError for anything else."""
    t = text.strip()
    try:
        if len(t) == 4 and t.isdigit():
            return f"{t}-12-31" if high else f"{t}-01-01"
        if len(t) == 7 and t[4] == "-":
            first = dt.date(int(t[:4]), int(t[5:7]), 1)
            if not high:
                return first.isoformat()
            nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return (nxt - dt.timedelta(days=1)).isoformat()
        return dt.date.fromisoformat(t).isoformat()
    except ValueError:
        raise UsageError(f"{text!r} is not a date", hint="give YYYY, YYYY-MM or YYYY-MM-DD") from None


def record_row(aip_id: str, version: str, desc: Description, originator_id: str) -> dict[str, Any]:
    """The `records` row of a description (dates spread to the days they cover)."""
    dates = [d for d in desc.dates if d] or ([desc.date] if desc.date else [])
    return {"aip_id": aip_id, "version": version, "kind": desc.kind, "title": desc.title,
            "originator": desc.originator, "originator_id": originator_id or "", "date": desc.date,
            "date_from": date_bounds(min(dates), False) if dates else "",
            "date_to": date_bounds(max(dates), True) if dates else "", "state": "active", "removed": ""}


def field_texts(desc: Description) -> dict[str, str]:
    """Each field's values, one per line."""
    out: dict[str, list[str]] = {f: [] for f in FIELDS}
    for f, v in desc.values:
        if f in out and v not in out[f]:
            out[f].append(v)
    return {f: "\n".join(vs) for f, vs in out.items()}


def best_field(texts: dict[str, str], ws: list[tuple[str, bool]], field: str | None) -> tuple[str, str]:
    """(field, snippet) of the value that holds the most of the words (the first, fields in
    FIELDS order, among equals), its matches marked."""
    wanted = [(fold(w), p) for core, p in ws for w in _TOKEN.findall(core)]
    best, best_line, best_n = field or "", "", -1
    for f in ([field] if field else FIELDS):
        for line in (texts.get(f) or "").split("\n"):
            folded = {fold(t) for t in _TOKEN.findall(line)}
            n = sum(any(tok == w or (p and tok.startswith(w)) for tok in folded) for w, p in wanted)
            if n > best_n:
                best, best_line, best_n = f, line, n
    return best, " ".join(snippet(best_line, ws).split())


def description_dict(desc: Description) -> dict[str, Any]:
    """`desc` as JSON-able data (what an ingest journal carries; `description_from` reads it)."""
    d = asdict(desc)
    d["access"] = asdict(desc.access) if desc.access is not None else None
    return d


def description_from(d: dict[str, Any]) -> Description:
    from archa.metadata.description import Access

    a = d.get("access")
    return Description(str(d.get("kind") or "bag"), str(d.get("title") or ""), str(d.get("originator") or ""),
                       str(d.get("date") or ""), tuple(d.get("dates") or ()),
                       tuple((str(f), str(v)) for f, v in d.get("values") or ()), Access(**a) if a else None)


class RecordIndex:
    """The record index and the access table. `record`, `mark_removed` and `forget` run
    inside the caller's `cat.transaction()`; `set_access` is its own; reads need none."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat

    # --- writes -------------------------------------------------------------------------

    def record(self, aip_id: str, version: str, desc: Description, originator_id: str = "") -> None:
        """Index `desc` as what the AIP's head `version` says (replacing what was indexed)."""
        self.forget(aip_id)
        row = record_row(aip_id, version, desc, originator_id)
        texts = field_texts(desc)
        conn = self.cat.conn
        hidden = facets(texts, row)
        if self.cat.dialect == "postgresql":
            cols = [*row, *(f"f_{f}" for f in FIELDS), "f_facets"]
            conn.execute(f"INSERT INTO records ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                         [*row.values(), *(texts[f] for f in FIELDS), hidden])
            return
        cur = conn.execute(f"INSERT INTO records ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                           list(row.values()))
        conn.execute(f"INSERT INTO record_text (rowid, {', '.join(FIELDS)}, facets) "
                     f"VALUES (?, {', '.join('?' * len(FIELDS))}, ?)", [cur.lastrowid, *(texts[f] for f in FIELDS), hidden])

    def record_dict(self, aip_id: str, version: str, record: dict[str, Any] | None, originator_id: str) -> None:
        """`record` with a description_dict: as `record`; None: nothing."""
        if record is not None:
            self.record(aip_id, version, description_from(record), originator_id)

    def forget(self, aip_id: str) -> None:
        """Remove the AIP from the index altogether."""
        conn = self.cat.conn
        if self.cat.dialect != "postgresql":
            conn.execute("DELETE FROM record_text WHERE rowid IN (SELECT n FROM records WHERE aip_id = ?)", [aip_id])
        conn.execute("DELETE FROM records WHERE aip_id = ?", [aip_id])

    def mark_removed(self, aip_id: str, when: str) -> None:
        """The AIP was destroyed (or handed over): no search finds it but one that includes
        removed records, and then by what its tombstone names (title, identifiers, filing
        code, reference number, originator), not by the people its records named."""
        conn = self.cat.conn
        conn.execute("UPDATE records SET state = 'removed', removed = ? WHERE aip_id = ?", [when, aip_id])
        if self.cat.dialect == "postgresql":
            conn.execute("UPDATE records SET f_author = '' WHERE aip_id = ?", [aip_id])
        else:
            conn.execute("UPDATE record_text SET author = '' WHERE rowid IN (SELECT n FROM records WHERE aip_id = ?)",
                         [aip_id])

    def fill_from_catalog(self) -> int:
        """Index every AIP the index lacks from what the catalog itself knows of it (its
        label, External-Identifier and originator; its retention rows' titles, entity
        identifiers and signs): what a catalog made before the index holds until a
        `catalog rebuild` reads the AIPs' own metadata. Returns how many; call in a transaction."""
        n = 0
        for a in self.cat.rows("SELECT a.id, a.label, a.external_id, a.head, a.originator_id, a.state, a.created, "
                               "o.name FROM aips a LEFT JOIN originators o ON o.id = a.originator_id "
                               "WHERE a.id NOT IN (SELECT aip_id FROM records) ORDER BY a.created, a.id"):
            values: list[tuple[str, str]] = [("title", a["label"] or "")]
            if a["external_id"]:
                values.append(("identifier", a["external_id"]))
            if a["name"]:
                values.append(("originator", a["name"]))
            for r in self.cat.rows("SELECT title, entity_id, sign, period FROM retention WHERE aip_id = ? "
                                   "ORDER BY entity", [a["id"]]):
                values += [("title", r["title"] or ""), ("identifier", r["entity_id"] or ""),
                           ("sign", f"{r['sign']} {r['period']}" if r["period"] is not None else r["sign"] or "")]
            created = (a["created"] or "")[:10]
            desc = Description("bag", a["label"] or "", a["name"] or "", created, (created,) if created else (),
                               tuple((f, v) for f, v in dict.fromkeys(values) if v), None)
            self.record(a["id"], a["head"] or "", desc, a["originator_id"] or "")
            if (a["state"] or "active") != "active":
                self.mark_removed(a["id"], "")
            n += 1
        return n

    def set_access_row(self, aip_id: str, state: AccessState, changed: str) -> None:
        """Insert or replace the AIP's access row (in the caller's transaction)."""
        self.cat.conn.execute("DELETE FROM access WHERE aip_id = ?", [aip_id])
        row = state.row(aip_id, changed)
        self.cat.conn.execute(f"INSERT INTO access ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                              list(row.values()))

    def set_access(self, aip_id: str, state: AccessState, events: list[Event]) -> None:
        """Record an access change: the row and its events, at once."""
        from archa.repository.catalog.log import append_events

        with self.cat.transaction():
            self.set_access_row(aip_id, state, events[0].time if events else "")
            append_events(self.cat.conn, events, self.cat.mac_key)

    def restore_access(self) -> int:
        """Make the access table again from the event log (the last access event of each AIP
        the catalog holds: access.replay); returns how many rows. Call in a transaction."""
        from archa.repository.access import EVENT_TYPE, PREFIX, replay

        rows = self.cat.rows("SELECT e.seq, e.type, e.aip_id, e.detail, e.time FROM events e JOIN aips a ON a.id = "
                             "e.aip_id WHERE e.type = ? AND e.detail LIKE ? ORDER BY e.seq", [EVENT_TYPE, PREFIX + "%"])
        when = {r["aip_id"]: r["time"] for r in rows}
        states = replay(rows)
        for aip_id, state in states.items():
            self.set_access_row(aip_id, state, when.get(aip_id, ""))
        return len(states)

    def renumber_by_age(self) -> None:
        """Give the indexed records numbers in the order the AIPs were made (`aips.created`,
        then their first event), as ingest gave them: a rebuild indexes them in the order it finds them, and the
        newest matches of a common query are the highest numbers. Call in a transaction."""
        conn = self.cat.conn
        top = int(conn.execute("SELECT COALESCE(max(n), 0) FROM records").fetchone()[0])
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS renumber (old INTEGER PRIMARY KEY, new INTEGER)")
        conn.execute("DELETE FROM renumber")
        conn.execute("INSERT INTO renumber (old, new) SELECT r.n, ? + ROW_NUMBER() OVER (ORDER BY a.created, "
                     "(SELECT min(e.seq) FROM events e WHERE e.aip_id = a.id), a.id) "
                     "FROM records r JOIN aips a ON a.id = r.aip_id", [top])
        if self.cat.dialect != "postgresql":
            cols = ", ".join([*FIELDS, "facets"])
            conn.execute(f"INSERT INTO record_text (rowid, {cols}) SELECT m.new, {cols} FROM record_text t "
                         "JOIN renumber m ON m.old = t.rowid")
            conn.execute("DELETE FROM record_text WHERE rowid IN (SELECT old FROM renumber)")
        conn.execute("UPDATE records SET n = (SELECT new FROM renumber WHERE old = records.n) "
                     "WHERE n IN (SELECT old FROM renumber)")
        conn.execute("DROP TABLE renumber")
        self.cat.sync_keys()

    # --- reads --------------------------------------------------------------------------

    def access_rows(self, aip_ids: Sequence[str]) -> dict[str, AccessState]:
        """The access rows of those of `aip_ids` that have one."""
        out: dict[str, AccessState] = {}
        ids = list(dict.fromkeys(aip_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for r in self.cat.rows(f"SELECT aip_id, status, reason, until, source FROM access WHERE aip_id IN "
                                   f"({', '.join('?' * len(chunk))})", chunk):
                out[r["aip_id"]] = AccessState(r["status"], r["reason"] or "", r["until"] or "", r["source"] or "")
        return out

    def described(self, aip_id: str) -> dict[str, Any] | None:
        """The AIP's `records` row (None when it is not indexed)."""
        rows = self.cat.rows("SELECT * FROM records WHERE aip_id = ?", [aip_id])
        return rows[0] if rows else None

    def summaries(self, aip_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """aip id -> its `records` row (title, originator, originator_id, date, date_from,
        date_to, state, ...) with `access` (AccessState.describe() or ""), for those indexed."""
        ids = list(dict.fromkeys(aip_ids))
        if not ids:
            return {}
        rows = {r["aip_id"]: r for r in self.cat.rows(
            f"SELECT * FROM records WHERE aip_id IN ({', '.join('?' * len(ids))})", ids)}
        access = self.access_rows(ids)
        for a, r in rows.items():
            r["access"] = access[a].describe() if a in access else ""
        return rows

    def count(self) -> int:
        return int(self.cat.conn.execute("SELECT count(*) FROM records").fetchone()[0])

    def search(self, q: Query, limit: int = 20, offset: int = 0) -> RecordsFound:
        """Records whose values hold every word of `q.text` (in `q.field` when given, not
        `text`: pages are catalog/pages.py's), filtered by date, originator and state, best
        first (see the module docstring); `limit` hits after `offset`."""
        ws = words(q.text)
        if not ws:
            return RecordsFound(0, False, True, [])
        filters, args = ["r.state = 'active'"] if not q.include_removed else [], []
        if q.date_from:
            filters.append("r.date_to >= ?")
            args.append(date_bounds(q.date_from, False))
        if q.date_to:
            filters.append("r.date_from <> '' AND r.date_from <= ?")
            args.append(date_bounds(q.date_to, True))
        if q.originator:
            filters.append("r.originator_id = ?")
            args.append(q.originator)
        if self.cat.dialect == "postgresql":
            from archa.repository.catalog.pgrecords import matches

            total, more, ranked, found = matches(self.cat.conn, ws, q.field, filters, args, limit, offset,
                                                 COUNT_CAP, RANK_WINDOW, filter_facets(q))
        else:
            total, more, ranked, found = self._matches(ws, q.field, filters, args, limit, offset, filter_facets(q))
        return RecordsFound(total, more, ranked, self._hits(found, ws, q.field))

    def _matches(self, ws: list[tuple[str, bool]], field: str | None, filters: list[str], args: list[Any],
                 limit: int, offset: int, extra: list[tuple[list[str], bool]]) -> tuple[int, bool, bool, list[int]]:
        conn = self.cat.conn
        where = " AND ".join(["record_text MATCH ?", *filters])
        params = [fts_match(ws, field, extra), *args]
        # the index first (CROSS JOIN): a filter on `records` is a check of the rows it found
        base = f"FROM record_text CROSS JOIN records r ON r.n = record_text.rowid WHERE {where}"
        total = int(conn.execute(f"SELECT count(*) FROM (SELECT 1 {base} LIMIT {COUNT_CAP + 1})", params).fetchone()[0])
        more = total > COUNT_CAP
        weights = ", ".join([*(str(WEIGHTS[f]) for f in FIELDS), "0"])
        rows = conn.execute(f"SELECT n FROM (SELECT record_text.rowid AS n, bm25(record_text, {weights}) AS score "
                            f"{base} ORDER BY record_text.rowid DESC LIMIT {RANK_WINDOW}) "
                            "ORDER BY score, n DESC LIMIT ? OFFSET ?", [*params, limit, offset]).fetchall()
        if len(rows) < limit and total > RANK_WINDOW:  # past the window: newest first
            rows += conn.execute(f"SELECT record_text.rowid {base} ORDER BY record_text.rowid DESC LIMIT ? OFFSET ?",
                                 [*params, limit - len(rows), max(offset, RANK_WINDOW)]).fetchall()
        return min(total, COUNT_CAP), more, total <= RANK_WINDOW, [int(r[0]) for r in rows]

    def _hits(self, ns: list[int], ws: list[tuple[str, bool]], field: str | None) -> list[RecordHit]:
        if not ns:
            return []
        marks = ", ".join("?" * len(ns))
        if self.cat.dialect == "postgresql":
            text_sql = f"SELECT n, {', '.join(f'f_{f} AS {f}' for f in FIELDS)} FROM records WHERE n IN ({marks})"
        else:
            text_sql = f"SELECT rowid AS n, {', '.join(FIELDS)} FROM record_text WHERE rowid IN ({marks})"
        texts = {int(r["n"]): r for r in self.cat.rows(text_sql, ns)}
        rows = {int(r["n"]): r for r in self.cat.rows(
            f"SELECT r.n, r.aip_id, r.version, COALESCE(NULLIF(r.title, ''), a.label, '') AS title, r.originator, "
            f"r.date, r.state FROM records r LEFT JOIN aips a ON a.id = r.aip_id WHERE r.n IN ({marks})", ns)}
        access = self.access_rows([rows[n]["aip_id"] for n in ns if n in rows])
        hits = []
        for n in ns:
            r = rows.get(n)
            if r is None:
                continue
            f, snip = best_field(texts.get(n, {}), ws, field)
            a = access.get(r["aip_id"])
            hits.append(RecordHit(r["aip_id"], r["title"] or "", r["originator"] or "", r["date"] or "", f, snip,
                                  a.describe() if a else "", r["state"], None, r["version"] or ""))
        return hits
