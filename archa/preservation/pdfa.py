"""What can be checked of a PDF/A file in Python (pypdf for the structure, lxml for XMP).

Checked: the header and its binary comment; that the file parses and is not encrypted;
the trailer's file identifier; the XMP metadata stream with the PDF/A identification
(`pdfaid:part`, `pdfaid:conformance`); an output intent `GTS_PDFA1` with its ICC profile;
that every font but Type 3 is embedded; no JavaScript, launch, sound, movie or form-reset
actions and no additional-actions dictionaries; no embedded files in PDF/A-1; the mark
information and structure tree that conformance level A asks for; no transparency groups
on the pages of a PDF/A-1 file. Not checked (it needs a full PDF/A validator such as
veraPDF): `NOT_CHECKED`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# PRONOM PUIDs of PDF/A, with (part, conformance)
PDFA_PUIDS = {"fmt/95": ("1", "A"), "fmt/354": ("1", "B"), "fmt/476": ("2", "A"), "fmt/477": ("2", "B"),
              "fmt/478": ("2", "U"), "fmt/479": ("3", "A"), "fmt/480": ("3", "B"), "fmt/481": ("3", "U")}
PDFAID = "http://www.aiim.org/pdfa/ns/id/"
FORBIDDEN_ACTIONS = {"/JavaScript", "/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData"}
NOT_CHECKED = ("colour spaces against the output intent", "font programs (widths, encodings, glyphs)",
               "XMP against the document information dictionary", "annotation appearance streams",
               "transparency inside content streams", "LZW-compressed streams",
               "the PDF/A conformance of files embedded in PDF/A-2", "the meaning of the structure tree (A, U)")


@dataclass
class PdfAReport:
    part: str = ""  # declared in XMP: "1", "2", "3", "4"; "" when not declared
    conformance: str = ""  # "A", "B", "U" ("" when not declared)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.part) and not self.problems

    @property
    def label(self) -> str:
        return f"PDF/A-{self.part}{self.conformance.lower()}" if self.part else "not PDF/A"


def _obj(value: Any) -> Any:
    return value.get_object() if hasattr(value, "get_object") else value


def _xmp_ids(data: bytes) -> tuple[str, str]:
    from lxml import etree

    from archa.metadata.xmlsafe import UnsafeXml, parse_untrusted

    start = data.find(b"<x:xmpmeta")
    if start < 0:
        start = data.find(b"<rdf:RDF")
    try:
        root = parse_untrusted(data[start:data.rfind(b">") + 1] if start >= 0 else data)
    except (etree.XMLSyntaxError, UnsafeXml, ValueError):
        return "", ""
    values = {}
    for key in ("part", "conformance"):
        el = root.find(f".//{{{PDFAID}}}{key}")
        attr = next((d.get(f"{{{PDFAID}}}{key}") for d in root.iter() if d.get(f"{{{PDFAID}}}{key}")), None)
        values[key] = " ".join(((el.text if el is not None else None) or attr or "").split())
    return values["part"], values["conformance"].upper()


def _fonts(resources: Any, seen: set[int], depth: int = 0) -> list[tuple[str, Any]]:
    """(name, font dictionary) of every font reachable from a resources dictionary."""
    resources = _obj(resources)
    if not resources or id(resources) in seen or depth > 8:
        return []
    seen.add(id(resources))
    out = [(str(name), _obj(font)) for name, font in (_obj(resources.get("/Font")) or {}).items()]
    for xobj in (_obj(resources.get("/XObject")) or {}).values():
        xobj = _obj(xobj)
        if xobj.get("/Subtype") == "/Form" and "/Resources" in xobj:
            out += _fonts(xobj["/Resources"], seen, depth + 1)
    return out


def _font_embedded(font: Any) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True
    if font.get("/Subtype") == "/Type0":
        descendants = _obj(font.get("/DescendantFonts")) or []
        return all(_font_embedded(_obj(d)) for d in descendants) and bool(descendants)
    desc = _obj(font.get("/FontDescriptor"))
    return bool(desc) and any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def _actions(dictionary: Any) -> list[str]:
    found = []
    for key in ("/A", "/OpenAction"):
        action = _obj(dictionary.get(key))
        if hasattr(action, "get") and action.get("/S") in FORBIDDEN_ACTIONS:
            found.append(str(action.get("/S")))
    return found


def check_pdfa(path: Path) -> PdfAReport:
    """Check `path` as far as `NOT_CHECKED` allows (see the module docstring)."""
    report = PdfAReport()
    try:
        with path.open("rb") as f:
            head = f.read(1024)
    except OSError as e:
        report.problems.append(f"cannot be read: {e}")
        return report
    lines = head.split(b"\n", 2)
    if not head.startswith(b"%PDF-"):
        report.problems.append("the file does not start with the %PDF- header")
    elif len(lines) < 2 or not (lines[1].startswith(b"%") and sum(b > 127 for b in lines[1][1:5]) >= 4):
        report.problems.append("no comment with four binary bytes right after the header")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            report.problems.append("the file is encrypted")
            return report
        _structure(reader, report)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as e:
        report.problems.append(f"the PDF structure cannot be read: {e}")
    return report


def _structure(reader: Any, report: PdfAReport) -> None:
    trailer = reader.trailer
    catalog = _obj(trailer["/Root"])
    if "/ID" not in trailer:
        report.problems.append("the trailer has no file identifier (/ID)")
    meta = _obj(catalog.get("/Metadata"))
    if meta is None:
        report.problems.append("no XMP metadata stream, so no PDF/A identification")
    else:
        report.part, report.conformance = _xmp_ids(meta.get_data())
        if report.part not in ("1", "2", "3", "4"):
            report.problems.append("the XMP metadata has no PDF/A identification (pdfaid:part)")
    intents = [_obj(i) for i in (_obj(catalog.get("/OutputIntents")) or [])]
    if not any(i.get("/S") == "/GTS_PDFA1" and "/DestOutputProfile" in i for i in intents):
        report.problems.append("no PDF/A output intent (GTS_PDFA1 with an ICC profile)")
    if "/AA" in catalog:
        report.problems.append("the document has additional actions (/AA)")
    names = _obj(catalog.get("/Names")) or {}
    if "/JavaScript" in names:
        report.problems.append("the document holds JavaScript")
    if "/EmbeddedFiles" in names and report.part == "1":
        report.problems.append("PDF/A-1 allows no embedded files")
    report.problems += [f"forbidden action {a}" for a in _actions(catalog)]
    if report.conformance == "A":
        mark = _obj(catalog.get("/MarkInfo")) or {}
        if not mark.get("/Marked") or "/StructTreeRoot" not in catalog:
            report.problems.append("conformance level A needs a tagged PDF (/MarkInfo /Marked and a structure tree)")
    unembedded: set[str] = set()
    seen: set[int] = set()
    for n, page in enumerate(reader.pages, 1):
        if "/AA" in page:
            report.problems.append(f"page {n} has additional actions (/AA)")
        if report.part == "1" and (_obj(page.get("/Group")) or {}).get("/S") == "/Transparency":
            report.problems.append(f"page {n} uses a transparency group, which PDF/A-1 forbids")
        for annot in _obj(page.get("/Annots")) or []:
            report.problems += [f"page {n}: forbidden action {a}" for a in _actions(_obj(annot))]
        for _name, font in _fonts(page.get("/Resources"), seen):
            if not _font_embedded(font):
                unembedded.add(str(font.get("/BaseFont", "?")).lstrip("/"))
    if unembedded:
        report.problems.append(f"fonts not embedded: {', '.join(sorted(unembedded))}")
