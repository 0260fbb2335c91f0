"""Record search on PostgreSQL: what recordindex.py's `RecordIndex._matches` does with
SQLite's FTS5, with the same contract, over `records.tsv` (every field's text unaccented and
its punctuation made spaces by `archa_words`, parsed by the `simple` configuration; the
title weighted A, identifier and reference number B, filing code C, originator and authors
D) and its GIN index.

- every word must occur (pgpages.py's query: a word is the phrase of its tokens, `word*` a
  prefix); with a field, the field's own text must hold them too (`to_tsvector` of that
  column, checked on the rows the index found);
- counted up to `cap`; best first by `ts_rank(tsv, q)` among the newest `window` matches,
  then newest first.
"""

from __future__ import annotations

from typing import Any

from archa.repository.catalog.pgpages import _query


def matches(conn: Any, ws: list[tuple[str, bool]], field: str | None, filters: list[str], args: list[Any],
            limit: int, offset: int, cap: int, window: int) -> tuple[int, bool, bool, list[int]]:
    """(total up to `cap`, more, ranked, the `n` of the hits) of a record search on the
    catalog's PostgreSQL connection `conn` (pgsql.PgConnection); `filters` are SQL over the
    alias `r` with `?` parameters `args`."""
    expr, params = _query(ws)
    if not expr:
        return 0, False, True, []
    conds = ["r.tsv @@ q.q", *filters]
    if field:
        conds.append(f"to_tsvector('simple', archa_words(coalesce(r.f_{field}, ''))) @@ q.q")
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
