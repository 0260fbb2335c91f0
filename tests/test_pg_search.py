"""Page search gives the same pages, in the same order where the ranking cannot differ, and
the same snippets on both backends: SQLite's FTS5 (catalog/pages.py) and PostgreSQL's
tsvector (catalog/pgpages.py, its snippet cut in Python by FTS5's rules)."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from archa.repository.catalog import Catalog
from archa.repository.catalog.pages import fts_query
from archa.repository.catalog.pgpages import snippet, split_words
from archa.repository.catalog.postgres import PgCatalog
from tests.pgserver import PgServer

WORDS = ["obec", "kronika", "povodeň", "mlýn", "řeky", "Bystřice", "most", "škola", "kostel", "hasiči", "rok", "roku", "slovo", "den", "noc", "Žďár"]
SEPARATORS = [" ", " ", " ", ". ", ", ", ": ", ".", " - ", "\n", ":\n"]
QUERIES = ["povoden bystrice", "obec", "kronika most", "hasič*", "škola", "rok*", "obec slovo", "mlyn reky",
           "kost*", "obec obec", "rok roku", "k*", "ZDAR", "zďár den"]


def _texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out = ["Povodeň zaplavila mlýn u řeky Bystřice", "obec " * 3 + "slovo " * 7,
           ("Na počátku bylo slovo. Obecní kronika 1921 zaznamenává povodeň, která zaplavila mlýn u řeky "
           "Bystřice v roce 1921 a zničila most.")]
    for _ in range(n):
        text = rng.choice(["", " ", "(", "1. "])
        for _w in range(rng.randint(1, 60)):
            text += rng.choice(WORDS) + rng.choice(SEPARATORS)
        out.append(text)
    return out


def test_snippets_are_the_ones_fts5_cuts() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(text, tokenize = 'unicode61 remove_diacritics 2')")
    compared = 0
    for text in _texts(300):
        db.execute("DELETE FROM t")
        db.execute("INSERT INTO t VALUES (?)", [text])
        for q in QUERIES:
            row = db.execute("SELECT snippet(t, 0, '[', ']', '…', 12) FROM t WHERE t MATCH ?", [fts_query(q)]).fetchone()
            if row is not None:
                assert snippet(text, split_words(q)) == row[0], (q, text)
                compared += 1
    assert compared > 1000


def _fill(cat: Catalog, texts: list[str]) -> None:
    with cat.transaction():
        for a in range(3):
            aip = f"urn:uuid:0000000{a}"
            cat.insert("aips", {"id": aip, "created": "2026-01-01", "label": f"Svazek {a}", "head": "v1",
                                "state": "active"})
            cat.pages_index.record({"aip_id": aip, "version": "v1", "seq": i + 1, "label": f"[{i + 1}]",
                                    "section": "", "master": "", "user": "", "alto": "", "txt": "", "text": text}
                                   for i, text in enumerate(texts[a::3]))


def test_the_same_pages_are_found_on_both_backends(pg: PgServer, tmp_path: Path) -> None:
    texts = _texts(60, seed=7)
    lite, server = Catalog.create(tmp_path / "catalog.sqlite"), PgCatalog.create(pg.database())
    try:
        for cat in (lite, server):
            _fill(cat, texts)
        for q in QUERIES:
            a, b = lite.pages_index.search(q, limit=1000), server.pages_index.search(q, limit=1000)
            assert a.total == b.total and a.ranked == b.ranked, q
            assert sorted(a.hits, key=lambda h: (h.aip_id, h.seq)) == sorted(b.hits, key=lambda h: (h.aip_id, h.seq)), q
            one = lite.pages_index.search(q, aip_id="urn:uuid:00000001", limit=1000)
            assert one.hits == [h for h in one.hits if h.aip_id == "urn:uuid:00000001"]
            assert {(h.aip_id, h.seq) for h in one.hits} == {(h.aip_id, h.seq) for h in server.pages_index.search(
                q, aip_id="urn:uuid:00000001", limit=1000).hits}
            # past the ranking limit both give catalog order: (AIP, version, page) here, as inserted
            a, b = (cat.pages_index.search(q, limit=1000, rank_limit=0) for cat in (lite, server))
            assert not a.ranked and not b.ranked and a.hits == b.hits, q
    finally:
        lite.close()
        server.close()
