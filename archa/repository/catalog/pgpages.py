"""Page search on PostgreSQL: what catalog/pages.py's `PageIndex.search` does with SQLite's
FTS5, with the same contract, over the `page_text.tsv` column of pgschema.py (the page's
text unaccented and its punctuation made spaces by `archa_words`, parsed by the `simple`
configuration: lower case, no stemming, diacritics-insensitive, words split where FTS5's
`unicode61 remove_diacritics 2` tokenizer splits them).

- every word of the query must occur: a word is a phrase of its tokens
  (`phraseto_tsquery('simple', archa_words(word))`, as FTS5 reads a quoted word), and a
  word ending in `*` matches its last token as a prefix (`:*`); the words are joined with `&&`;
- best first is `ts_rank(tsv, query, 1)` (term frequency, divided by the log of the page's
  length, as bm25 favours a short page saying it often), ties in catalog order; past
  `rank_limit` matches, catalog order, which here is (AIP, version, page): the table has no
  insertion order (SQLite's FTS5 gives its rowid order);
- the snippet (up to 12 tokens around the best cluster of matches, matches in `[ ]`, `…`
  where the text goes on) is cut in Python from the page's text, so that it keeps the text's
  diacritics (PostgreSQL's `ts_headline` would highlight nothing in the accented text for
  an unaccented query, or show the text unaccented).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_TOKEN = re.compile(r"[^\W_]+")  # letters and digits, as FTS5's unicode61 tokenizer splits text
_FOLD = str.maketrans({"ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ß": "ss", "æ": "ae",
                       "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i"})
SNIPPET_TOKENS = 12


def fold(word: str) -> str:
    """A token without diacritics, in lower case (how both indexes compare words)."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_PHRASE = re.compile(r'"([^"]*)"(\*?)|(\S+)')


def split_words(text: str) -> list[tuple[str, bool]]:
    """(word, prefix) of each word of a query: a group in double quotes is one word (its
    tokens a phrase, in order), any other run of non-space characters another; a trailing
    `*` keeps its prefix meaning (on the phrase's last token). Both indexes read a query so."""
    out = []
    for m in _PHRASE.finditer(text):
        if m.group(3) is not None:
            word = m.group(3).replace('"', " ")
            prefix = word.endswith("*") and len(word) > 1
            core = word.rstrip("*") if prefix else word
        else:
            core, prefix = m.group(1), bool(m.group(2))
        if core.strip():
            out.append((" ".join(core.split()), prefix))
    return out


def _query(words: list[tuple[str, bool]]) -> tuple[str, list[str]]:
    """The tsquery expression of the words and its parameters (None: no word has a token)."""
    parts, params = [], []
    for core, prefix in words:
        tokens = _TOKEN.findall(core.lower())
        if not tokens:
            continue
        if prefix:
            parts.append("to_tsquery('simple', archa_unaccent(?))")
            params.append(" <-> ".join(f"'{t}'" for t in tokens) + ":*")
        else:
            parts.append("phraseto_tsquery('simple', archa_words(?))")
            params.append(core)
    return " && ".join(parts), params


def _instances(tokens: list[str], words: list[tuple[str, bool]]) -> list[tuple[int, int, int]]:
    """(position, phrase, length in tokens) of each match of each query word in `tokens`
    (folded), in position order: a word's tokens in a row, its last one a prefix with `*`."""
    found = []
    for phrase, (core, prefix) in enumerate(words):
        want = [fold(t) for t in _TOKEN.findall(core)]
        if not want:
            continue
        for at in range(len(tokens) - len(want) + 1):
            if all(tokens[at + k] == w or (prefix and k == len(want) - 1 and tokens[at + k].startswith(w))
                   for k, w in enumerate(want)):
                found.append((at, phrase, len(want)))
    return sorted(found)


def snippet(text: str, words: list[tuple[str, bool]], size: int = SNIPPET_TOKENS) -> str:
    """Up to `size` tokens of `text` around the query's words, each match in `[ ]`, `…` where
    the text goes on: the fragment FTS5's `snippet()` chooses (fts5_aux.c: a window scores
    1000 for each distinct word in it and 1 for each repeat, centred on its matches, a window
    starting a sentence scoring 100 more), so that both backends show the same."""
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    if not spans:
        return text
    tokens = [fold(text[s:e]) for s, e in spans]
    found = _instances(tokens, words)
    n = len(tokens)
    firsts = [0]  # the tokens that start a sentence: after a `.` or `:` and a space, as FTS5 finds them
    for i in range(1, n):
        gap = text[spans[i - 1][1]:spans[i][0]]
        kept = gap.rstrip(" \t\n\r")
        if kept != gap and kept[-1:] in (".", ":"):
            firsts.append(i)

    def score(start: int) -> tuple[int, int]:
        seen: set[int] = set()
        total, first, last = 0, -1, -1
        for at, phrase, length in found:
            if start <= at < start + size:
                total += 1 if phrase in seen else 1000
                seen.add(phrase)
                if first < 0:
                    first = at
                last = at + length
        adjusted = first - (size - (last - first)) // 2
        return total, max(0, min(adjusted, n - size))

    best, begin = 0, 0
    for at, _phrase, _length in found:
        points, adjusted = score(at)
        if points > best:
            best, begin = points, adjusted
        sentence = max((f for f in firsts if f <= at), default=0)
        if n > size and sentence < at:
            points = score(sentence)[0] + (120 if sentence == 0 else 100)
            if points > best:
                best, begin = points, sentence
    end = min(n, begin + size)
    ranges: list[list[int]] = []  # each match's first and last token, overlapping ones as one
    for at, _phrase, length in found:
        if ranges and at <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], at + length - 1)
        else:
            ranges.append([at, at + length - 1])
    where = {i: (a, z) for a, z in ranges for i in range(a, z + 1)}
    out = ["…" if begin > 0 else text[:spans[0][0]]]
    for i in range(begin, end):
        s, e = spans[i]
        a, z = where.get(i, (-1, -1))  # a match begun before the fragment is not marked (as in FTS5)
        opens = a >= begin and i == a
        closes = a >= begin and (i == z or i == end - 1)
        out.append(("[" if opens else "") + text[s:e] + ("]" if closes else ""))
        if i + 1 < end:
            out.append(text[e:spans[i + 1][0]])
    out.append("…" if end < n else text[spans[-1][1]:])
    return "".join(out)


def search(conn: Any, text: str, aip_id: str | None, limit: int, offset: int, rank_limit: int,
           count_cap: int = 100_000) -> tuple[int, bool, list[tuple[Any, ...]]]:
    """(total up to count_cap + 1, ranked, hits as pages.Hit's fields) of a search (see
    PageIndex.search) on the catalog's PostgreSQL connection `conn` (pgsql.PgConnection)."""
    words = split_words(text)
    expr, params = _query(words)
    if not expr:
        return 0, True, []
    scope = " AND t.aip_id = ?" if aip_id else ""
    args: list[Any] = [*params, *([aip_id] if aip_id else [])]
    with_q = f"WITH q AS (SELECT {expr} AS q) "
    total = int(conn.execute(f"{with_q}SELECT count(*) FROM (SELECT 1 FROM page_text t, q WHERE t.tsv @@ q.q{scope} "
                             f"LIMIT {int(count_cap) + 1}) c", args).fetchone()[0])
    ranked = total <= rank_limit
    order = "ts_rank(t.tsv, q.q, 1) DESC, t.aip_id, t.version, t.seq" if ranked else "t.aip_id, t.version, t.seq"
    rows = conn.execute(
        f"{with_q}SELECT t.aip_id, t.version, t.seq, COALESCE(p.label, ''), COALESCE(p.section, ''), a.label, "
        "t.text FROM page_text t CROSS JOIN q "
        "JOIN aips a ON a.id = t.aip_id AND a.head = t.version AND COALESCE(a.state, 'active') = 'active' "
        "LEFT JOIN pages p ON p.aip_id = t.aip_id AND p.version = t.version AND p.seq = t.seq "
        f"WHERE t.tsv @@ q.q{scope} ORDER BY {order} LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
    return total, ranked, [(*r[:6], snippet(r[6] or "", words)) for r in rows]
