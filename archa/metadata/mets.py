"""The root `METS.xml` (METS 1.12) of an AIP version, written as a stream.

dmdSec and amdSec point (mdRef) at dc.xml and premis.xml with size and checksum; the
fileSec lists every file with MIME type, size and checksum; the structMap ties them to
the representation and the submission documentation. An AIP of a digitised volume
(`PageStructure`) has its files in the groups `preservation` (master copies), `access` (user
copies, ALTO, text) and `original` (the package's own metadata), and two more structMaps:
the page order (TYPE PHYSICAL, a div per page with all its files) and the volume's logical
structure (TYPE LOGICAL: volume, issue, chapters, each holding its pages).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from archa.metadata.xmlstream import Node, NodeMaker, XmlWriter, open_node, write_node, xml_file

METS_NS = "http://www.loc.gov/METS/"
DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
METS_SCHEMA = "http://www.loc.gov/standards/mets/mets.xsd"
M = NodeMaker(METS_NS)
DC = NodeMaker(DC_NS)
OAI_DC = NodeMaker(OAI_DC_NS)
CHECKSUM_TYPES = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "sha512": "SHA-512"}


def href(path: str) -> str:
    return quote(path, safe="/")


@dataclass(frozen=True)
class MetsFile:
    logical_path: str
    size: int
    digest: str
    mime: str
    group: str  # fileGrp USE: "preservation", "access", "original" or "submission"


@dataclass(frozen=True)
class MdRef:
    logical_path: str
    mdtype: str  # "DC", "PREMIS"
    size: int
    digest: str


@dataclass(frozen=True)
class MetsPage:
    order: int
    label: str
    files: tuple[str, ...]  # logical paths: master copy first
    type: str = "page"  # the div TYPE: the NDK page type (titlePage, normalPage, ...) where the package gives one
    description: tuple[tuple[str, str], ...] = ()  # (Dublin Core term, value) of this page alone (an image record's)


@dataclass(frozen=True)
class MetsSection:
    id: str
    type: str
    label: str
    parent: str  # the id of the enclosing section, "" at the top
    pages: tuple[int, ...]


@dataclass(frozen=True)
class PageStructure:
    kind: str  # "monograph" or "periodical"
    label: str
    pages: tuple[MetsPage, ...]
    sections: tuple[MetsSection, ...]


GROUPS = (("preservation", "representation"), ("access", "representation"), ("original", "representation"),
          ("submission", "submission"))


def _page_dmd_id(page: MetsPage) -> str:
    return f"dmd-page-{page.order:06d}"


def _page_div(page: MetsPage, ids: dict[str, str], only_first: bool = False) -> Node:
    files = page.files[:1] if only_first else page.files
    attrs = {"TYPE": page.type or "page", "ORDER": str(page.order), "ORDERLABEL": page.label, "LABEL": page.label}
    if page.description and not only_first:
        attrs["DMDID"] = _page_dmd_id(page)
    return M.div(attrs, *[M.fptr({"FILEID": ids[f]}) for f in files if f in ids])


def _page_dmd(page: MetsPage, created: str) -> Node:
    """The dmdSec of one page's own description: Dublin Core inline (an image record's
    `metadata.csv` row or DC file for that image)."""
    dc = OAI_DC.dc(*[getattr(DC, name)(value) for term, value in page.description
                 if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name := term.split(":")[-1]) and value])
    return M.dmdSec({"ID": _page_dmd_id(page), "CREATED": created},
                    M.mdWrap({"MDTYPE": "DC", "MIMETYPE": "text/xml"}, M.xmlData(dc)))


def _section_div(section: MetsSection, children: dict[str, list[MetsSection]], pages: dict[int, MetsPage],
                 ids: dict[str, str]) -> Node:
    node = M.div({"TYPE": section.type or "section", "LABEL": section.label})
    for child in children.get(section.id, []):
        node.append(_section_div(child, children, pages, ids))
    for n in section.pages:
        if n in pages:
            node.append(_page_div(pages[n], ids, only_first=True))
    return node


def _page_maps(xf: XmlWriter, structure: PageStructure, ids: dict[str, str]) -> None:
    with (open_node(xf, f"{{{METS_NS}}}structMap", {"TYPE": "PHYSICAL", "LABEL": "page order"}, 1),
          open_node(xf, f"{{{METS_NS}}}div", {"TYPE": structure.kind, "LABEL": structure.label}, 2)):
        for page in structure.pages:
            write_node(xf, _page_div(page, ids), 3)
    if not structure.sections:
        return
    children: dict[str, list[MetsSection]] = {}
    for sec in structure.sections:
        children.setdefault(sec.parent, []).append(sec)
    pages = {p.order: p for p in structure.pages}
    with open_node(xf, f"{{{METS_NS}}}structMap", {"TYPE": "LOGICAL", "LABEL": "logical structure"}, 1):
        for top in children.get("", []):
            write_node(xf, _section_div(top, children, pages, ids), 2)


def _mdref(ref: MdRef, alg: str, created: str) -> Node:
    return M.mdRef({"LOCTYPE": "URL", f"{{{XLINK_NS}}}type": "simple",
                    f"{{{XLINK_NS}}}href": href(ref.logical_path), "MDTYPE": ref.mdtype,
                    "MIMETYPE": "text/xml", "SIZE": str(ref.size), "CREATED": created,
                    "CHECKSUM": ref.digest, "CHECKSUMTYPE": CHECKSUM_TYPES[alg]})


def _file_id(n: int) -> str:
    return f"file-{n:06d}"


def write_mets(path: Path, aip_id: str, label: str, created: str, agent: str, alg: str,
               dc: MdRef, premis: MdRef, files: Iterable[MetsFile], pages: PageStructure | None = None) -> None:
    """Write METS.xml for the AIP `aip_id`; `alg` is the digest algorithm of the checksums;
    `pages`: the page order and logical structure of a digitised volume. `files` is read
    once per file group and structMap (a list, or a query run again each time it is
    iterated): a version of a million files is never in memory at once."""
    on_pages = {f for p in pages.pages for f in p.files} if pages is not None else set()
    ids: dict[str, str] = {}
    present: set[str] = set()
    for i, f in enumerate(files, 1):
        present.add(f.group)
        if f.logical_path in on_pages:
            ids[f.logical_path] = _file_id(i)

    def members(group: str) -> Iterable[tuple[str, MetsFile]]:
        return ((_file_id(i), f) for i, f in enumerate(files, 1) if f.group == group)

    groups = [(g, kind) for g, kind in GROUPS if g in present]
    with xml_file(str(path)) as xf:
        xf.write_declaration()
        with open_node(xf, f"{{{METS_NS}}}mets", {"OBJID": aip_id, "TYPE": "AIP", "LABEL": label,
                       f"{{{XSI_NS}}}schemaLocation": f"{METS_NS} {METS_SCHEMA}"},
                       nsmap={"mets": METS_NS, "xlink": XLINK_NS, "xsi": XSI_NS, "dc": DC_NS,
                                                         "oai_dc": OAI_DC_NS}):
            write_node(xf, M.metsHdr({"CREATEDATE": created, "RECORDSTATUS": "NEW"},
                                     M.agent({"ROLE": "CREATOR", "TYPE": "OTHER", "OTHERTYPE": "SOFTWARE"},
                                             M.name(agent))), 1)
            write_node(xf, M.dmdSec({"ID": "dmd-dc", "CREATED": created}, _mdref(dc, alg, created)), 1)
            for page in pages.pages if pages is not None else ():
                if page.description:
                    write_node(xf, _page_dmd(page, created), 1)
            write_node(xf, M.amdSec({"ID": "amd-premis"},
                                    M.digiprovMD({"ID": "digiprov-premis", "CREATED": created},
                                                 _mdref(premis, alg, created))), 1)
            with open_node(xf, f"{{{METS_NS}}}fileSec", depth=1):
                for group, _kind in groups:
                    with open_node(xf, f"{{{METS_NS}}}fileGrp", {"USE": group, "ID": f"grp-{group}"}, 2):
                        for file_id, f in members(group):
                            attrs = {"ID": file_id, "MIMETYPE": f.mime, "SIZE": str(f.size),
                                     "CHECKSUM": f.digest, "CHECKSUMTYPE": CHECKSUM_TYPES[alg],
                                     "ADMID": "digiprov-premis"}
                            if not f.mime:  # METS makes MIMETYPE optional: none rather than a guess
                                del attrs["MIMETYPE"]
                            write_node(xf, M.file(attrs,
                                                  M.FLocat({"LOCTYPE": "URL", f"{{{XLINK_NS}}}type": "simple",
                                                            f"{{{XLINK_NS}}}href": href(f.logical_path)})), 3)
            with (open_node(xf, f"{{{METS_NS}}}structMap", {"TYPE": "physical", "LABEL": "archa AIP"}, 1),
                  open_node(xf, f"{{{METS_NS}}}div", {"TYPE": "AIP", "LABEL": label, "DMDID": "dmd-dc",
                                                       "ADMID": "digiprov-premis"}, 2)):
                for group, kind in groups:
                    with open_node(xf, f"{{{METS_NS}}}div", {"TYPE": kind, "LABEL": group}, 3):
                        for file_id, _f in members(group):
                            write_node(xf, M.fptr({"FILEID": file_id}), 4)
            if pages is not None:
                _page_maps(xf, pages, ids)
