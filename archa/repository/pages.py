"""Pages of digitised volumes in the catalog, and the full-text index of their OCR.

An AIP made from an NDK package (archa/transfer/ndk) keeps the package's page order in its
submission tag file `ndk-structure.json`. Ingest (and `catalog rebuild`, from the stored
copies) turns it into one `pages` row per page of the version (its label, section and the
logical paths of its master copy, user copy, ALTO and text) and puts each page's ALTO text
into the SQLite FTS5 table `page_text` (unicode61 tokens, diacritics folded: `skola` finds
`škola`). Both are derived from what the AIP holds: they are not journaled, and a rebuild
makes them again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from lxml import etree

from archa.metadata.mets import MetsPage, MetsSection, PageStructure

STRUCTURE = "metadata/submission/ndk-structure.json"


@dataclass(frozen=True)
class PageRow:
    aip_id: str
    version: str
    seq: int
    label: str
    section: str
    master: str  # logical paths in the AIP
    user: str
    alto: str
    txt: str
    text: str = ""  # the ALTO text (goes to page_text, not to pages)

    def row(self) -> dict[str, Any]:
        d = asdict(self)
        del d["text"]
        return d


def page_rows(aip_id: str, version: str, structure: dict[str, Any], payload_prefix: str) -> list[PageRow]:
    """The pages an `ndk-structure.json` names, with logical paths under `payload_prefix`
    (e.g. "representations/original/data/"); text not read yet."""
    rows = []
    for p in structure.get("pages", []):
        rows.append(PageRow(aip_id, version, int(p["order"]), str(p.get("label", "")), str(p.get("section", "")),
                            *(payload_prefix + p[k] if p.get(k) else "" for k in ("master", "user", "alto", "txt"))))
    return rows


def version_pages(aip_id: str, version: str, structure: dict[str, Any], present: Callable[[str], bool],
                  payload_prefix: str = "representations/original/data/") -> list[PageRow]:
    """The pages of `structure` that a version holds: those whose master copy it has
    (`present(logical path)`), each file it lacks left empty; text not read yet."""
    out = []
    for r in page_rows(aip_id, version, structure, payload_prefix):
        if present(r.master):
            out.append(PageRow(aip_id, version, r.seq, r.label, r.section, r.master,
                               *(p if p and present(p) else "" for p in (r.user, r.alto, r.txt))))
    return out


def page_structure(structure: dict[str, Any], rows: Iterable[PageRow], label: str,
                   payload_prefix: str = "representations/original/data/") -> PageStructure:
    """What the AIP's METS shows of a volume: its pages in order (each with its files, the
    technical METS from `structure` included, and its NDK page type as the div TYPE: `page`
    for a structure that names none) and its logical sections."""
    amd = {int(p["order"]): payload_prefix + p["amd"] for p in structure.get("pages", []) if p.get("amd")}
    types = {int(p["order"]): str(p.get("type") or "page") for p in structure.get("pages", [])}
    return PageStructure(
        str(structure.get("kind", "")), str(structure.get("title", "")) or label,
        tuple(MetsPage(r.seq, r.label, tuple(x for x in (r.master, r.user, r.alto, r.txt, amd.get(r.seq, "")) if x),
                       types.get(r.seq, "page"))
              for r in rows),
        tuple(MetsSection(str(s.get("id", "")), str(s.get("type", "")), str(s.get("label", "")),
                          str(s.get("parent", "")), tuple(int(n) for n in s.get("pages", [])))
              for s in structure.get("sections", [])))


def page_groups(rows: Iterable[PageRow]) -> dict[str, str]:
    """logical path -> METS fileGrp: master copies are the preservation representation;
    user copies, ALTO and text the access representation."""
    groups: dict[str, str] = {}
    for r in rows:
        groups[r.master] = "preservation"
        for p in (r.user, r.alto, r.txt):
            groups[p] = "access"
    groups.pop("", None)
    return groups


def alto_text(data: bytes) -> str:
    """The words of an ALTO file (any ALTO version), one line per TextLine. Hyphenated line
    ends (HYP) are dropped; a file that is not XML gives ''. (A page's ALTO is small: one
    tree parse is faster than iterparse, measured in bench/ndk.py.)"""
    try:
        root = etree.fromstring(data, _ALTO_PARSER)
    except etree.XMLSyntaxError:
        return ""
    lines = []
    for line in root.iter("{*}TextLine"):
        words = [w for s in line.iter("{*}String") if (w := s.get("CONTENT"))]
        if words:
            lines.append(" ".join(words))
    return "\n".join(lines)


_ALTO_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def read_structure(data: bytes) -> dict[str, Any] | None:
    """The parsed tag file, or None when it is not an NDK structure archa wrote."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) and doc.get("standard") == "NDK" and isinstance(doc.get("pages"), list) \
        else None


def with_text(rows: Iterable[PageRow], read: Callable[[str], bytes | None]) -> list[PageRow]:
    """`rows` with the text of each page's ALTO (`read(logical path)`; None: no text)."""
    out = []
    for r in rows:
        data = read(r.alto) if r.alto else None
        out.append(PageRow(**{**asdict(r), "text": alto_text(data) if data else ""}))
    return out


def record_pages(conn: sqlite3.Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Insert page rows (dicts of PageRow fields, `text` included) and index their text; call
    inside the catalog transaction that records their version."""
    n = 0
    for r in rows:
        conn.execute("INSERT INTO pages (aip_id, version, seq, label, section, master, user, alto, txt) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [r["aip_id"], r["version"], r["seq"], r["label"], r["section"], r["master"], r["user"],
                      r["alto"], r["txt"]])
        if r.get("text"):
            conn.execute("INSERT INTO page_text (text, aip_id, version, seq) VALUES (?, ?, ?, ?)",
                         [r["text"], r["aip_id"], r["version"], r["seq"]])
        n += 1
    return n


def forget_pages(conn: sqlite3.Connection, aip_id: str) -> None:
    conn.execute("DELETE FROM pages WHERE aip_id = ?", [aip_id])
    conn.execute("DELETE FROM page_text WHERE aip_id = ?", [aip_id])


@dataclass(frozen=True)
class Hit:
    aip_id: str
    version: str
    seq: int
    label: str
    section: str
    title: str
    snippet: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query: every word must occur (each quoted, so no word
    is read as FTS5 syntax); a trailing `*` keeps its prefix meaning."""
    terms = []
    for word in text.split():
        prefix = word.endswith("*") and len(word) > 1
        core = word.rstrip("*") if prefix else word
        terms.append('"' + core.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " ".join(terms)


# Ranking (bm25) scores every matching page: past this many matches the hits come in
# catalog order instead, so that a word on nearly every page still answers at once.
RANK_LIMIT = 100_000


@dataclass(frozen=True)
class Found:
    total: int  # pages matching (every version, before the head filter)
    ranked: bool  # best first (bm25); else in catalog order
    hits: list[Hit]


def search(conn: sqlite3.Connection, text: str, aip_id: str | None = None, limit: int = 20,
           offset: int = 0) -> Found:
    """Pages of the AIPs' head versions whose OCR text holds every word of `text`, best first
    (in catalog order when more than RANK_LIMIT pages match)."""
    query = fts_query(text)
    if not query:
        return Found(0, True, [])
    scope = " AND aip_id = ?" if aip_id else ""
    args: list[Any] = [query, *([aip_id] if aip_id else [])]
    total = conn.execute(f"SELECT count(*) FROM page_text WHERE page_text MATCH ?{scope}", args).fetchone()[0]
    ranked = total <= RANK_LIMIT
    sql = ("SELECT t.aip_id, t.version, t.seq, COALESCE(p.label, ''), COALESCE(p.section, ''), a.label, "
           "snippet(page_text, 0, '[', ']', '…', 12) FROM page_text t "
           "JOIN aips a ON a.id = t.aip_id AND a.head = t.version AND COALESCE(a.state, 'active') = 'active' "
           "LEFT JOIN pages p ON p.aip_id = t.aip_id AND p.version = t.version AND p.seq = t.seq "
           f"WHERE page_text MATCH ?{scope.replace('aip_id', 't.aip_id')} "
           f"ORDER BY {'t.rank' if ranked else 't.rowid'} LIMIT ? OFFSET ?")
    return Found(total, ranked, [Hit(*row) for row in conn.execute(sql, [*args, limit, offset])])
