"""Pages of digitised volumes in the catalog, and the full-text index of their OCR.

An AIP made from an NDK package (archa/transfer/ndk) keeps the package's page order in its
submission tag file `ndk-structure.json`; an image record (`archa transfer folder --images`,
archa/transfer/images.py) keeps its images' order in `image-structure.json` (the same shape,
`"standard": "images"`, each page's image as its `master`, a multi-page TIFF's pages with
their `frame`, per-image descriptions in `description`). Ingest (and `catalog rebuild`, from the stored
copies) turns it into one `pages` row per page of the version (its label, section and the
logical paths of its master copy, user copy, ALTO and text) and puts each page's ALTO text
into the SQLite FTS5 table `page_text` (unicode61 tokens, diacritics folded: `skola` finds
`škola`). Both are derived from what the AIP holds: they are not journaled, and a rebuild
makes them again. Their SQL is the catalog's (archa/repository/catalog/pages.py,
`cat.pages_index`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from archa.metadata.mets import MetsPage, MetsSection, PageStructure
from archa.repository.catalog.pages import Found, Hit, PageIndex, fts_query

if TYPE_CHECKING:
    from archa.repository.catalog import Catalog

__all__ = ["IMAGE_STRUCTURE", "RANK_LIMIT", "STRUCTURE", "STRUCTURES", "Found", "Hit", "PageRow", "alto_text", "forget_pages", "fts_query",
           "page_groups", "page_rows", "page_structure", "read_structure", "record_pages", "search",
           "version_pages", "with_text"]

STRUCTURE = "metadata/submission/ndk-structure.json"
IMAGE_STRUCTURE = "metadata/submission/image-structure.json"
STRUCTURES = (STRUCTURE, IMAGE_STRUCTURE)  # the page structures ingest reads, NDK first
STANDARDS = ("NDK", "images")


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
    technical METS from `structure` included, its NDK page type as the div TYPE: `page` for
    a structure that names none, and an image record's own description of the page: a
    dmdSec of its own) and its logical sections."""
    amd = {int(p["order"]): payload_prefix + p["amd"] for p in structure.get("pages", []) if p.get("amd")}
    types = {int(p["order"]): str(p.get("type") or "page") for p in structure.get("pages", [])}
    described = {int(p["order"]): tuple((str(k), str(v)) for k, v in p["description"].items() if v)
                 for p in structure.get("pages", []) if isinstance(p.get("description"), dict)}
    return PageStructure(
        str(structure.get("kind", "")), str(structure.get("title", "")) or label,
        tuple(MetsPage(r.seq, r.label, tuple(x for x in (r.master, r.user, r.alto, r.txt, amd.get(r.seq, "")) if x),
                       types.get(r.seq, "page"), described.get(r.seq, ()))
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
    """The parsed tag file, or None when it is not a page structure archa wrote (an NDK
    volume's, or an image record's: `"standard"` "NDK" or "images")."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) and doc.get("standard") in STANDARDS and isinstance(doc.get("pages"), list) \
        else None


def with_text(rows: Iterable[PageRow], read: Callable[[str], bytes | None]) -> list[PageRow]:
    """`rows` with the text of each page's ALTO (`read(logical path)`; None: no text)."""
    out = []
    for r in rows:
        data = read(r.alto) if r.alto else None
        out.append(PageRow(**{**asdict(r), "text": alto_text(data) if data else ""}))
    return out


def record_pages(catalog: Catalog | Any, rows: Iterable[dict[str, Any]]) -> int:
    """Insert page rows (dicts of PageRow fields, `text` included) and index their text; call
    inside the catalog transaction that records their version. (`cat.pages_index.record`;
    a bare connection to the catalog is taken too, as `PageIndex.of` takes it.)"""
    return PageIndex.of(catalog).record(rows)


def forget_pages(catalog: Catalog | Any, aip_id: str) -> None:
    """Remove the AIP's pages and their text (`cat.pages_index.forget`; a bare connection
    is taken too)."""
    PageIndex.of(catalog).forget(aip_id)


# Ranking (bm25) scores every matching page: past this many matches the hits come in
# catalog order instead, so that a word on nearly every page still answers at once (ranking
# 20,000 pages takes some 40 ms; the matches are counted up to COUNT_CAP).
RANK_LIMIT = 20_000
COUNT_CAP = 100_000


def search(catalog: Catalog | Any, text: str, aip_id: str | None = None, limit: int = 20,
           offset: int = 0) -> Found:
    """Pages of the AIPs' head versions whose OCR text holds every word of `text`, best first
    (in catalog order when more than RANK_LIMIT pages match). `catalog`: the Catalog, or a
    bare connection to one (tests and benchmarks that open the file themselves)."""
    return PageIndex.of(catalog).search(text, aip_id, limit, offset, rank_limit=RANK_LIMIT, count_cap=COUNT_CAP)
