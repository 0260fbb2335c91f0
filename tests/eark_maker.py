"""Builds E-ARK CSIP/SIP packages in code for the transfer tests: a root METS.xml listing
the metadata and the representation METS, which lists the representation's data files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from lxml import etree
from lxml.builder import ElementMaker

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
CSIP_NS = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
M = ElementMaker(namespace=METS_NS, nsmap={"mets": METS_NS, "xlink": XLINK_NS, "csip": CSIP_NS})

DATA = {"data/report.pdf": b"%PDF-1.4\n%%EOF\n", "data/scans/page 1.txt": b"scan one\n"}
DC = b'<?xml version="1.0"?><dc xmlns="http://purl.org/dc/elements/1.1/"><title>Minutes</title></dc>\n'


def mets(objid: str, files: dict[str, bytes], label: str = "", checksum_type: str = "SHA-256") -> bytes:
    alg = checksum_type.lower().replace("-", "")
    entries = [M.file(M.FLocat({"LOCTYPE": "URL", f"{{{XLINK_NS}}}type": "simple",
                                f"{{{XLINK_NS}}}href": quote(rel)}),
                      ID=f"f{i}", MIMETYPE="application/octet-stream", SIZE=str(len(data)),
                      CREATED="2026-01-01T00:00:00", CHECKSUMTYPE=checksum_type,
                      CHECKSUM=hashlib.new(alg, data).hexdigest())
               for i, (rel, data) in enumerate(sorted(files.items()), 1)]
    root = M.mets(
        M.metsHdr(M.agent(M.name("City Archive"), ROLE="CREATOR", TYPE="ORGANIZATION"),
                  CREATEDATE="2026-01-01T00:00:00"),
        M.fileSec(M.fileGrp(*entries, USE="Data")),
        M.structMap(M.div(*[M.fptr(FILEID=f"f{i}") for i in range(1, len(entries) + 1)], LABEL="package"),
                    TYPE="PHYSICAL", LABEL="CSIP"),
        {f"{{{CSIP_NS}}}OAISPACKAGETYPE": "SIP", "OBJID": objid, "LABEL": label, "TYPE": "Mixed",
         "PROFILE": "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"})
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def write_eark(root: Path, name: str = "uuid-4e3c", data: dict[str, bytes] | None = None,
               rep_mets: bytes | None = None) -> Path:
    """Write the package folder `root/name/`; returns it."""
    top = root / name
    rep = top / "representations" / "rep1"
    data = dict(DATA if data is None else data)
    for rel, content in data.items():
        (rep / rel).parent.mkdir(parents=True, exist_ok=True)
        (rep / rel).write_bytes(content)
    rep_xml = rep_mets if rep_mets is not None else mets(f"{name}-rep1", data)
    (rep / "METS.xml").write_bytes(rep_xml)
    (top / "metadata" / "descriptive").mkdir(parents=True)
    (top / "metadata" / "descriptive" / "dc.xml").write_bytes(DC)
    (top / "METS.xml").write_bytes(mets(name, {"metadata/descriptive/dc.xml": DC,
                                               "representations/rep1/METS.xml": rep_xml}, label="Council minutes"))
    return top
