"""Record search on PostgreSQL: what recordindex.py's `RecordIndex._matches` does with
SQLite's FTS5, with the same contract, over `records.tsv` (every field's text unaccented and
its punctuation made spaces by `archa_words`, parsed by the `simple` configuration; the
title weighted A, identifier and reference number B, filing code C, originator, authors and
the hidden facet tokens D) and its GIN index.

- every word must occur: a word is the phrase of its tokens (`<->`), `word*` ends in a
  prefix (`:*`); with a field, each token must carry the field's weight (`:A`), and where two
  fields share a weight the field's own text is checked too (`to_tsvector` of that column,
  on the rows the index found); a code (`recordindex.CODE`) is its facet token, as the
  filters of originator and years are (recordindex.facets);
- counted up to `cap`; best first by `ts_rank(tsv, q)` among the newest `window` matches,
  then newest first.
"""

from __future__ import annotations

from typing import Any

from archa.metadata.description import FIELDS
from archa.repository.catalog.pgpages import _TOKEN, _query
from archa.repository.catalog.recordindex import CODE, code_tokens

WEIGHT = {"title": "A", "identifier": "B", "ref": "B", "sign": "C", "originator": "D", "author": "D"}
SHARED = ("identifier", "ref", "originator", "author")  # a weight two fields share: their text is checked too


def _tsquery(ws: list[tuple[str, bool]], field: str | None, extra: list[tuple[list[str], bool]]
             ) -> tuple[str, list[str]]:
    """The tsquery expression (SQL) of the words, codes and facet alternatives, and its parameters."""
    parts, params = [], []
    weight = WEIGHT[field] if field else ""
    alternatives = list(extra)
    for core, prefix in ws:
        if CODE.fullmatch(core):
            alternatives.append(([code_tokens(f, core)[-1] for f in ([field] if field else FIELDS)], prefix))
            continue
        tokens = _TOKEN.findall(core.lower())
        if not tokens:
            continue
        last = len(tokens) - 1
        parts.append("to_tsquery('simple', archa_unaccent(?))")
        params.append(" <-> ".join(f"'{t}':" + ("*" if prefix and i == last else "") + weight
                                   if weight or (prefix and i == last) else f"'{t}'" for i, t in enumerate(tokens)))
    for tokens, prefix in alternatives:
        parts.append("to_tsquery('simple', ?)")
        params.append("(" + " | ".join(f"'{t}'" + (":*" if prefix else "") for t in tokens) + ")")
    return " && ".join(parts), params


def matches(conn: Any, ws: list[tuple[str, bool]], field: str | None, filters: list[str], args: list[Any],
            limit: int, offset: int, cap: int, window: int, extra: list[tuple[list[str], bool]] | None = None
            ) -> tuple[int, bool, bool, list[int]]:
    """(total up to `cap`, more, ranked, the `n` of the hits) of a record search on the
    catalog's PostgreSQL connection `conn` (pgsql.PgConnection); `filters` are SQL over the
    alias `r` with `?` parameters `args`, `extra` facet alternatives (recordindex.filter_facets)."""
    expr, params = _tsquery(ws, field, extra or [])
    if not expr:
        return 0, False, True, []
    conds = ["r.tsv @@ q.q", *filters]
    if field in SHARED:
        own, own_params = _query([w for w in ws if not CODE.fullmatch(w[0])])
        if own:
            conds.append(f"to_tsvector('simple', archa_words(coalesce(r.f_{field}, ''))) @@ ({own})")
            args = [*own_params, *args]
    with_q = f"WITH q AS (SELECT {expr} AS q) "
    base = f"FROM records r, q WHERE {' AND '.join(conds)}"
    total = int(conn.execute(f"{with_q}SELECT count(*) FROM (SELECT 1 {base} LIMIT {cap + 1}) c",
                             [*params, *args]).fetchone()[0])
    rows = conn.execute(f"{with_q}SELECT n FROM (SELECT r.n, ts_rank(r.tsv, q.q) AS score {base} "
                        f"ORDER BY r.n DESC LIMIT {window}) w ORDER BY score DESC, n DESC LIMIT ? OFFSET ?",
                        [*params, *args, limit, offset]).fetchall()
    if len(rows) < limit and total > window:  # past the window: newest first
        rows += conn.execute(f"{with_q}SELECT r.n {base} ORDER BY r.n DESC LIMIT ? OFFSET ?",
                             [*params, *args, limit - len(rows), max(offset, window)]).fetchall()
    return min(total, cap), total > cap, total <= window, [int(r[0]) for r in rows]

