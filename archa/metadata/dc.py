"""Dublin Core (`metadata/descriptive/dc.xml`) from bag-info fields."""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree
from lxml.builder import ElementMaker

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
D = ElementMaker(namespace=DC_NS, nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS})

# bag-info label -> DC element, in the order DC elements are written
BAG_INFO_TO_DC = (
    ("Title", "title"),
    ("External-Description", "description"),
    ("Internal-Sender-Description", "description"),
    ("Source-Organization", "publisher"),
    ("Contact-Name", "contributor"),
    ("External-Identifier", "identifier"),
    ("Internal-Sender-Identifier", "identifier"),
    ("Bag-Group-Identifier", "relation"),
    ("Originator", "creator"),
    ("Filing-Code", "subject"),
    ("Date-Closed", "date"),
    ("Package-Purpose", "description"),
    ("Bagging-Date", "date"),
    # a folder's own description (archa/transfer/images.py writes its Dublin Core terms by name)
    ("Creator", "creator"),
    ("Date", "date"),
    ("Access-Rights", "rights"),
    ("Subject", "subject"),
    ("Contributor", "contributor"),
    ("Publisher", "publisher"),
    ("Type", "type"),
    ("Format", "format"),
    ("Source", "source"),
    ("Language", "language"),
    ("Relation", "relation"),
    ("Coverage", "coverage"),
)


def title_from(info: Sequence[tuple[str, str]], fallback: str) -> str:
    for label in ("Title", "External-Description", "Internal-Sender-Description",
                  "External-Identifier"):
        for k, v in info:
            if k.lower() == label.lower() and v:
                return v
    return fallback


def build_dc(aip_id: str, info: Sequence[tuple[str, str]], title: str) -> bytes:
    """The DC record: the AIP id, a title, and every mapped bag-info field in bag order."""
    root = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS})
    root.append(D.title(title))
    root.append(D.identifier(aip_id))
    mapping = {label.lower(): el for label, el in BAG_INFO_TO_DC}
    for k, v in info:
        el = mapping.get(k.lower())
        if el and v and not (el == "title" and v == title):
            root.append(getattr(D, el)(v))
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return data
