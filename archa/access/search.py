"""Finding records: the search index over every record's descriptive metadata
(catalog/recordindex.py) and the full-text index of digitised pages' OCR (catalog/pages.py),
asked as one.

Without a field, the records whose metadata holds every word come first (best first), then
the pages whose text holds them; `field="text"` (or an AIP) asks the pages alone, any other
field the records alone. Words are matched case- and diacritics-insensitively (`stavebni
povoleni` finds `Stavební povolení`), `word*` is a prefix, a quoted group of words is a
phrase (FTS5 reads each word of the query as a phrase of its tokens, so `KU-2025-0042` is
found as written).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archa.errors import UsageError
from archa.repository.catalog.recordindex import SEARCH_FIELDS, Query, RecordHit, date_bounds, words
from archa.repository.pages import Found, search
from archa.repository.repo import Repository

PAGE_BATCH = 200  # page hits read at a time when a date or originator filter thins them


@dataclass(frozen=True)
class SearchResult:
    """The hits of a search (`limit` of them after `offset`), `total` the records and pages
    matching (each part counted up to its cap: `more` when there are more), `ranked` False
    when the hits of a very common query come in catalog order (newest first for records)."""

    query: str
    total: int
    more: bool
    ranked: bool
    hits: list[RecordHit] = field(default_factory=list)


def find(repo: Repository, text: str, field_name: str | None = None, date_from: str = "", date_to: str = "",
         originator: str = "", limit: int = 20, offset: int = 0, include_removed: bool = False,
         aip_id: str | None = None) -> SearchResult:
    """Records and pages holding every word of `text` (see the module docstring), filtered by
    the record's dates (`date_from`..`date_to`: YYYY, YYYY-MM or YYYY-MM-DD, inclusive, a
    record counting when any of its dates falls within), its originator id, and (with
    `include_removed`) destroyed records too, by what their tombstones name. With `aip_id`,
    the pages of that AIP alone.
    UsageError for no words, a field not in SEARCH_FIELDS, a date that is not one, a prefix
    of one letter, an originator or AIP archa does not know."""
    if not words(text):
        raise UsageError("give at least one word to search for", hint='e.g. archa search "stavební povolení"')
    if field_name is not None and field_name not in SEARCH_FIELDS:
        raise UsageError(f"no field {field_name!r}", hint=f"use one of {', '.join(SEARCH_FIELDS)}")
    for d, high in ((date_from, False), (date_to, True)):
        if d:
            date_bounds(d, high)  # UsageError naming it
    cat = repo.catalog
    if originator and not cat.lifecycle.has_originator(originator):
        raise UsageError(f"no originator {originator!r}", hint="archa originator list shows them")
    if aip_id is not None:
        cat.aip(aip_id)  # NotFoundError names it
    q = Query(text, field_name, date_from, date_to, originator, include_removed)
    index = cat.record_index
    if field_name != "text" and aip_id is None:
        found = index.search(q, limit, offset)
        if field_name is not None or len(found.hits) == limit:
            # are there pages too? one hit asked, the matches not counted
            more_pages = field_name is None and bool(cat.pages_index.search(text, None, 1, 0, rank_limit=0,
                                                                            count_cap=0).hits)
            return SearchResult(text, found.total, found.more or more_pages, found.ranked, found.hits)
        page_offset, records_total, more, ranked = max(0, offset - found.total), found.total, found.more, found.ranked
        hits = list(found.hits)
    else:
        page_offset, records_total, more, ranked, hits = offset, 0, False, True, []
    pages = _page_hits(repo, q, aip_id, limit - len(hits), page_offset)
    return SearchResult(text, records_total + pages.total, more or pages.more, ranked and pages.ranked,
                        hits + pages.hits)


def _page_hits(repo: Repository, q: Query, aip_id: str | None, limit: int, offset: int) -> SearchResult:
    """Page hits as RecordHits (field `text`, `page` its order), filtered by the query's
    dates and originator through their records."""
    index = repo.catalog.record_index
    filtered = bool(q.date_from or q.date_to or q.originator)
    lo = date_bounds(q.date_from, False) if q.date_from else ""
    hi = date_bounds(q.date_to, True) if q.date_to else ""
    out: list[RecordHit] = []
    skip, at = (offset if filtered else 0), 0
    first: Found | None = None
    while len(out) < limit:
        batch = search(repo.catalog, q.text, aip_id, PAGE_BATCH if filtered else limit - len(out),
                       at if filtered else offset)
        first = first or batch
        summaries = index.summaries([h.aip_id for h in batch.hits])
        for h in batch.hits:
            s = summaries.get(h.aip_id, {})
            if filtered and not ((not q.originator or s.get("originator_id") == q.originator)
                                 and (not lo or (s.get("date_to") or "") >= lo)
                                 and (not hi or "" < (s.get("date_from") or "") <= hi)):
                continue
            if skip:
                skip -= 1
                continue
            if len(out) < limit:
                out.append(RecordHit(h.aip_id, s.get("title") or h.title, s.get("originator") or "",
                                     s.get("date") or "", "text", " ".join(h.snippet.split()), s.get("access") or "",
                                     "active", h.seq, h.version))
        at += len(batch.hits)
        if not filtered or len(batch.hits) < PAGE_BATCH:
            break
    if first is None:
        return SearchResult(q.text, 0, False, True, [])
    return SearchResult(q.text, first.total, first.more, first.ranked, out)
