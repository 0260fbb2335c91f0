"""What a IIIF package of an AIP that is not an NDK volume shows: its images and its DC.

An AIP without pages whose payload holds images (TIFF, JPEG, JPEG 2000, PNG: by the MIME
type identified at ingest, by the file's suffix when none was identified) shows them in
name order (natural: `scan2.tif` before `scan10.tif`), every page of a multi-page TIFF as a
canvas of its own. Its title, summary and metadata come from its Dublin Core
(`metadata/descriptive/dc.xml`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from lxml import etree

from archa.metadata.xmlsafe import UnsafeXml, parse_untrusted

IMAGE_MIMES = frozenset({"image/tiff", "image/tiff-fx", "image/jpeg", "image/jp2", "image/jpx", "image/jpm",
                         "image/png"})
IMAGE_SUFFIXES = frozenset({".tif", ".tiff", ".jpg", ".jpeg", ".jpe", ".jp2", ".jpx", ".j2k", ".jpf", ".png"})
DC_XML = "metadata/descriptive/dc.xml"
DC_NS = "http://purl.org/dc/elements/1.1/"
# DC element -> the label a IIIF viewer shows, in the order shown (title and description
# become the manifest's label and summary)
DC_LABELS = (("creator", "Creator"), ("contributor", "Contributor"), ("date", "Date"), ("subject", "Subject"),
             ("coverage", "Coverage"), ("type", "Type"), ("format", "Format"), ("identifier", "Identifier"),
             ("source", "Source"), ("relation", "Relation"), ("language", "Language"), ("publisher", "Publisher"),
             ("rights", "Rights"))


def is_image(row: dict[str, Any]) -> bool:
    """Whether a catalog file row is an image a IIIF package shows."""
    mime = str(row.get("mime") or "").split(";")[0].strip().lower()
    if mime:
        return mime in IMAGE_MIMES
    return PurePosixPath(str(row["logical_path"])).suffix.lower() in IMAGE_SUFFIXES


def name_key(path: str) -> list[Any]:
    """Natural name order: digit runs compare as numbers, letters without regard to case."""
    parts = re.split(r"(\d+)", path)
    return [(0, int(t), t) if i % 2 else (1, t.casefold(), t) for i, t in enumerate(parts)]


def image_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The image files among payload rows, in name order."""
    return sorted((r for r in rows if is_image(r)), key=lambda r: name_key(str(r["logical_path"])))


@dataclass(frozen=True)
class DcDescription:
    """What a DC record says for a viewer: its first title, its descriptions joined, the rest
    as (label, value) pairs in DC_LABELS order."""

    title: str = ""
    summary: str = ""
    metadata: tuple[tuple[str, str], ...] = ()


def read_dc(data: bytes | None, aip_id: str = "") -> DcDescription:
    """The DC record `data` as a viewer shows it (an identifier equal to `aip_id` left out:
    archa writes it into every DC). Unreadable or unsafe XML gives an empty description."""
    if not data:
        return DcDescription()
    try:
        root = parse_untrusted(data)
    except (UnsafeXml, etree.XMLSyntaxError):
        return DcDescription()
    values: dict[str, list[str]] = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != DC_NS:
            continue
        text = " ".join((el.text or "").split())
        name = etree.QName(el).localname
        if text and text not in values.setdefault(name, []) and not (name == "identifier" and text == aip_id):
            values[name].append(text)
    metadata = tuple((label, v) for name, label in DC_LABELS for v in values.get(name, []))
    return DcDescription(next(iter(values.get("title", [])), ""), "\n".join(values.get("description", [])), metadata)
