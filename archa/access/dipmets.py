"""The DIP's `METS.xml` and `index.html`.

METS (1.12, TYPE="DIP") points back to the AIP (altRecordID "AIP" and "AIP version"),
lists every file with size and checksum (OWNERID: the file's path in the AIP), and for
each access copy carries PREMIS (in a digiprovMD): the derivative object with a
derivation relationship to its source and the creation event that made it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO
from urllib.parse import quote

from archa.metadata.mets import CHECKSUM_TYPES, METS_NS, METS_SCHEMA, XLINK_NS, XSI_NS, M, href
from archa.metadata.premis import ALG_NAMES, PREMIS_NS, PREMIS_SCHEMA, XSI_TYPE, P
from archa.metadata.xmlstream import Node, open_node, write_node, xml_file
from archa.units import human_bytes


@dataclass(frozen=True)
class DipFile:
    """One file in the DIP: `path` inside it; `source` the AIP logical path it comes from."""

    path: str
    size: int
    digest: str
    mime: str
    format_name: str
    puid: str
    source: str
    use: str  # "original" | "access"
    tool: str = ""
    detail: str = ""
    event_id: str = ""
    event_time: str = ""
    note: str = ""
    title: str = ""  # the record system's name for the file (NSESSS component title), if any


@dataclass(frozen=True)
class DipInfo:
    dip_id: str
    aip_id: str
    version: str
    label: str
    created: str
    agent: str
    alg: str
    dc_path: str = ""  # the AIP's descriptive DC, copied into the DIP, if any


def _premis_for(f: DipFile, alg: str) -> Node:
    """PREMIS of an access copy: the object (with its source) and the event that made it."""
    obj = P.object(
        P.objectIdentifier(P.objectIdentifierType("local"), P.objectIdentifierValue(f.path)),
        P.objectCharacteristics(
            P.compositionLevel("0"),
            P.fixity(P.messageDigestAlgorithm(ALG_NAMES[alg]), P.messageDigest(f.digest)),
            P.size(str(f.size)),
            P.format(P.formatDesignation(P.formatName(f.format_name)),
                     *([P.formatRegistry(P.formatRegistryName("PRONOM"), P.formatRegistryKey(f.puid))]
                       if f.puid else []))),
        P.relationship(P.relationshipType("derivation"), P.relationshipSubType("has source"),
                       P.relatedObjectIdentifier(P.relatedObjectIdentifierType("local"),
                                                 P.relatedObjectIdentifierValue(f.source))),
        P.linkingEventIdentifier(P.linkingEventIdentifierType("urn"), P.linkingEventIdentifierValue(f.event_id)))
    obj.set(XSI_TYPE, "premis:file")
    event = P.event(
        P.eventIdentifier(P.eventIdentifierType("urn"), P.eventIdentifierValue(f.event_id)),
        P.eventType("creation"),
        P.eventDateTime(f.event_time),
        P.eventDetailInformation(P.eventDetail(f"access copy made with {f.tool}: {f.detail}")),
        P.eventOutcomeInformation(P.eventOutcome("success")),
        P.linkingAgentIdentifier(P.linkingAgentIdentifierType("software"), P.linkingAgentIdentifierValue(f.tool),
                                 P.linkingAgentRole("executing program")),
        P.linkingObjectIdentifier(P.linkingObjectIdentifierType("local"), P.linkingObjectIdentifierValue(f.source),
                                  P.linkingObjectRole("source")),
        P.linkingObjectIdentifier(P.linkingObjectIdentifierType("local"), P.linkingObjectIdentifierValue(f.path),
                                  P.linkingObjectRole("outcome")))
    return P.premis({"version": "3.0", f"{{{XSI_NS}}}schemaLocation": f"{PREMIS_NS} {PREMIS_SCHEMA}"}, obj, event)


def write_dip_mets(out: IO[bytes], info: DipInfo, files: Sequence[DipFile]) -> None:
    """Write METS.xml of the DIP to `out` (streamed: one file element in memory at a time)."""
    ids = {f.path: f"file-{i:06d}" for i, f in enumerate(files, 1)}
    derived = [f for f in files if f.use == "access"]
    with xml_file(out) as xf:
        xf.write_declaration()
        with open_node(xf, f"{{{METS_NS}}}mets", {"OBJID": info.dip_id, "TYPE": "DIP", "LABEL": info.label,
                       f"{{{XSI_NS}}}schemaLocation": f"{METS_NS} {METS_SCHEMA}"},
                       nsmap={"mets": METS_NS, "xlink": XLINK_NS, "xsi": XSI_NS, "premis": PREMIS_NS}):
            write_node(xf, M.metsHdr({"CREATEDATE": info.created, "RECORDSTATUS": "NEW"},
                                     M.agent({"ROLE": "CREATOR", "TYPE": "OTHER", "OTHERTYPE": "SOFTWARE"},
                                             M.name(info.agent)),
                                     M.altRecordID({"TYPE": "AIP"}, info.aip_id),
                                     M.altRecordID({"TYPE": "AIP version"}, info.version)), 1)
            if info.dc_path:
                write_node(xf, M.dmdSec({"ID": "dmd-dc"}, M.mdRef({
                    "LOCTYPE": "URL", f"{{{XLINK_NS}}}type": "simple", f"{{{XLINK_NS}}}href": href(info.dc_path),
                    "MDTYPE": "DC", "MIMETYPE": "text/xml"})), 1)
            if derived:
                with open_node(xf, f"{{{METS_NS}}}amdSec", {"ID": "amd-access"}, 1):
                    for f in derived:
                        write_node(xf, M.digiprovMD({"ID": f"prov-{ids[f.path]}"},
                                                    M.mdWrap({"MDTYPE": "PREMIS"}, M.xmlData(_premis_for(f, info.alg)))), 2)
            with open_node(xf, f"{{{METS_NS}}}fileSec", depth=1):
                for use in ("original", "access"):
                    members = [f for f in files if f.use == use]
                    if not members:
                        continue
                    with open_node(xf, f"{{{METS_NS}}}fileGrp", {"USE": use, "ID": f"grp-{use}"}, 2):
                        for f in members:
                            attrs = {"ID": ids[f.path], "MIMETYPE": f.mime, "SIZE": str(f.size),
                                     "CHECKSUM": f.digest, "CHECKSUMTYPE": CHECKSUM_TYPES[info.alg],
                                     "OWNERID": f.source}
                            if not f.mime:
                                del attrs["MIMETYPE"]
                            if f.use == "access":
                                attrs["ADMID"] = f"prov-{ids[f.path]}"
                            write_node(xf, M.file(attrs, M.FLocat({
                                "LOCTYPE": "URL", f"{{{XLINK_NS}}}type": "simple",
                                f"{{{XLINK_NS}}}href": href(f.path)})), 3)
            attrs = {"TYPE": "DIP", "LABEL": info.label}
            if info.dc_path:
                attrs["DMDID"] = "dmd-dc"
            with (open_node(xf, f"{{{METS_NS}}}structMap", {"TYPE": "physical", "LABEL": "archa DIP"}, 1),
                  open_node(xf, f"{{{METS_NS}}}div", attrs, 2)):
                for f in files:
                    write_node(xf, M.div({"TYPE": "file", "LABEL": f.title or f.source},
                                         M.fptr({"FILEID": ids[f.path]})), 3)


def write_index(out: IO[bytes], info: DipInfo, files: Sequence[DipFile]) -> None:
    """A plain HTML page: the record's title, then every file with format, size and a link."""
    e = html.escape
    rows = []
    for f in files:
        fmt = f"{e(f.format_name or 'unknown format')}" + (f" <small>({e(f.puid)})</small>" if f.puid else "")
        about = f"access copy of {e(f.source.rsplit('/', 1)[-1])}" if f.use == "access" else "original"
        if f.note:
            about += f"; {e(f.note)}"
        name = e(f.path.split("/", 1)[-1])
        link = f'<a href="{e(quote(f.path, safe="/"))}">{e(f.title) if f.title else name}</a>'
        if f.title:
            link += f"<br><small>{name}</small>"
        rows.append(f"<tr><td>{link}</td><td>{fmt}</td><td class=n>{human_bytes(f.size)}</td><td>{about}</td></tr>")
    page = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{e(info.label)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}}.n{{text-align:right}}</style></head>
<body>
<h1>{e(info.label)}</h1>
<p>Record {e(info.aip_id)}, version {e(info.version)}. Exported {e(info.created[:19])}Z as {e(info.dip_id)};
checksums ({e(CHECKSUM_TYPES[info.alg])}) are in <a href="METS.xml">METS.xml</a>.</p>
<table>
<tr><th>Title / file</th><th>Format</th><th class=n>Size</th><th>About</th></tr>
{chr(10).join(rows)}
</table>
</body>
</html>
"""
    out.write(page.encode("utf-8"))
