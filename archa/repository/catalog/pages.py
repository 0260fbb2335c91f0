"""PageIndex: the pages of digitised volumes and the full-text index of their OCR (what
archa/repository/pages.py describes), the catalog's tables `pages` and `page_text` (on
SQLite an FTS5 table: unicode61 tokens, diacritics folded; on PostgreSQL a table with a
`tsvector` of the unaccented text, searched by pgpages.py with the same contract).

One component of the catalog (`catalog.pages_index`): the only place their SQL is written.
Both tables are derived from what the AIPs hold (not journaled; a rebuild makes them again).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from archa.repository.catalog.pgpages import _TOKEN, fold, split_words
from archa.repository.catalog.sqlite import Catalog

EXPAND_MAX = 500  # words a long prefix is spelled out as, at most


@dataclass(frozen=True)
class Hit:
    """A page found by a search: where it is, its label and section, the AIP's label and
    the matching words in context (marked with [ ])."""

    aip_id: str
    version: str
    seq: int
    label: str
    section: str
    title: str
    snippet: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Found:
    total: int  # pages matching (every version, before the head filter), counted up to `count_cap`
    ranked: bool  # best first (bm25); else in catalog order
    hits: list[Hit]
    more: bool = False  # more than `total` pages match


def fts_phrase(words: str, prefix: bool = False) -> str:
    """`words` as one FTS5 phrase (quoted: nothing in it read as FTS5 syntax), its last token
    a prefix with `prefix`."""
    return '"' + words.replace('"', '""') + '"' + ("*" if prefix else "")


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query: every word must occur (each quoted, so no word
    is read as FTS5 syntax; a group in double quotes is one phrase: pgpages.split_words); a
    trailing `*` keeps its prefix meaning."""
    return " ".join(fts_phrase(core, prefix) for core, prefix in split_words(text))


class PageIndex:
    """The pages and their text. `record` and `forget` run inside the caller's
    `cat.transaction()` (the one recording or removing the version); `search` needs none."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat

    @classmethod
    def of(cls, source: Catalog | Any) -> PageIndex:
        """The index of `source`: a Catalog, or a bare connection to a catalog (what tests
        and benchmarks that open the file themselves hold)."""
        if isinstance(source, Catalog):
            return source.pages_index
        from archa.repository.catalog.pgsql import PgConnection

        if isinstance(source, PgConnection):
            from archa.repository.catalog.postgres import PgCatalog

            return cls(PgCatalog(source, ""))
        return cls(Catalog(source, Path("")))

    def record(self, rows: Iterable[dict[str, Any]]) -> int:
        """Insert page rows (dicts of PageRow fields, `text` included: the page's ALTO text,
        indexed when not empty); returns how many. Call inside the catalog transaction that
        records their version."""
        conn = self.cat.conn
        n = 0
        raw: set[str] = set()  # the tokens as written (lower case), folded once each at the end
        for r in rows:
            conn.execute("INSERT INTO pages (aip_id, version, seq, label, section, master, \"user\", alto, txt) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         [r["aip_id"], r["version"], r["seq"], r["label"], r["section"], r["master"], r["user"],
                          r["alto"], r["txt"]])
            if r.get("text"):
                conn.execute("INSERT INTO page_text (text, aip_id, version, seq) VALUES (?, ?, ?, ?)",
                             [r["text"], r["aip_id"], r["version"], r["seq"]])
                if self.cat.dialect != "postgresql":
                    raw.update(_TOKEN.findall(r["text"].lower()))
            n += 1
        terms = {fold(t) for t in raw}
        if terms:
            conn.executemany("INSERT OR IGNORE INTO page_terms (term) VALUES (?)", [[t] for t in sorted(terms)])
        return n

    def expand(self, text: str) -> str | None:
        """`fts_query(text)` with each prefix longer than the prefix indexes (2-4 characters)
        spelled out as the words the pages hold that begin with it (`page_terms`), an OR of
        them: FTS5 reads such a prefix by merging every page list of every word it begins
        before the first hit (0.2 s for one beginning most words of a million pages), an OR of
        words lazily. None when a prefix begins no word at all (nothing can match); the prefix
        itself when it begins more than EXPAND_MAX words."""
        parts = []
        for core, prefix in split_words(text):
            tokens = _TOKEN.findall(core)
            if not tokens:
                continue
            last = fold(tokens[-1])
            if not prefix or len(last) <= 4:
                parts.append(fts_phrase(core, prefix))
                continue
            words = [str(r[0]) for r in self.cat.conn.execute(
                "SELECT term FROM page_terms WHERE term >= ? AND term < ? ORDER BY term LIMIT ?",
                [last, last + "\U0010ffff", EXPAND_MAX + 1])]
            if not words:
                return None
            if len(words) > EXPAND_MAX:
                parts.append(fts_phrase(core, True))
                continue
            head = " ".join(tokens[:-1])
            parts.append("(" + " OR ".join(fts_phrase(f"{head} {w}".strip()) for w in words) + ")")
        return " AND ".join(parts)

    def forget(self, aip_id: str) -> None:
        """Remove every page of the AIP and its text (no search finds it any more). Call
        inside the transaction that removes the AIP's content."""
        self.cat.conn.execute("DELETE FROM pages WHERE aip_id = ?", [aip_id])
        self.cat.conn.execute("DELETE FROM page_text WHERE aip_id = ?", [aip_id])

    def search(self, text: str, aip_id: str | None = None, limit: int = 20, offset: int = 0,
               rank_limit: int = 20_000, count_cap: int = 100_000) -> Found:
        """Pages of the active AIPs' head versions (of `aip_id` alone when given) whose text
        holds every word of `text` (`fts_query`), best first (bm25); in catalog order when
        more than `rank_limit` pages match (ranking scores every match). `limit` hits after
        skipping `offset`; `total` counts the matches in every version, up to `count_cap`
        (`more` when there are more): the time a search takes is bounded by the two limits,
        not by how many pages a common word is on."""
        query = fts_query(text)
        if query and self.cat.dialect != "postgresql":
            expanded = self.expand(text)
            if expanded is None:
                return Found(0, True, [])
            query = expanded
        if not query:
            return Found(0, True, [])
        if self.cat.dialect == "postgresql":
            from archa.repository.catalog.pgpages import search

            hits = search(self.cat.conn, text, aip_id, limit, offset, rank_limit, count_cap)
            return Found(min(hits[0], count_cap), hits[1], [Hit(*h) for h in hits[2]], hits[0] > count_cap)
        conn = self.cat.conn
        scope = " AND aip_id = ?" if aip_id else ""
        args: list[Any] = [query, *([aip_id] if aip_id else [])]
        total = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM page_text WHERE page_text MATCH ?{scope} "
                             f"LIMIT {int(count_cap) + 1})", args).fetchone()[0]
        ranked = total <= rank_limit
        sql = ("SELECT t.aip_id, t.version, t.seq, COALESCE(p.label, ''), COALESCE(p.section, ''), a.label, "
               "snippet(page_text, 0, '[', ']', '…', 12) FROM page_text t "
               "JOIN aips a ON a.id = t.aip_id AND a.head = t.version AND COALESCE(a.state, 'active') = 'active' "
               "LEFT JOIN pages p ON p.aip_id = t.aip_id AND p.version = t.version AND p.seq = t.seq "
               f"WHERE page_text MATCH ?{scope.replace('aip_id', 't.aip_id')} "
               f"ORDER BY {'t.rank' if ranked else 't.rowid'} LIMIT ? OFFSET ?")
        return Found(min(total, count_cap), ranked, [Hit(*row) for row in conn.execute(sql, [*args, limit, offset])],
                     total > count_cap)
