"""PREMIS 3.0 for an AIP version (`metadata/preservation/premis.xml`), written as a stream,
and read back.

One `file` object per stored file (fixity for every algorithm computed, size, format with
its PRONOM registry key, original name), one `representation` object (with the versions it
derives from), the events of the AIP's history (linked to the representation and their
agents) and the agents.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from archa.metadata.records import Event, FileRow
from archa.metadata.xmlstream import Node, NodeMaker, open_node, write_node, xml_file

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PREMIS_SCHEMA = "http://www.loc.gov/standards/premis/v3/premis.xsd"
P = NodeMaker(PREMIS_NS)
XSI_TYPE = f"{{{XSI_NS}}}type"
ALG_NAMES = {"md5": "MD5", "sha1": "SHA-1", "sha224": "SHA-224", "sha256": "SHA-256", "sha384": "SHA-384",
             "sha512": "SHA-512", "sha3_224": "SHA3-224", "sha3_256": "SHA3-256", "sha3_384": "SHA3-384",
             "sha3_512": "SHA3-512", "blake2b": "BLAKE2b-512", "blake2s": "BLAKE2s-256"}
HASHLIB_NAMES = {v: k for k, v in ALG_NAMES.items()}
ARCHA_NS = "urn:archa:premis:1"  # archa's own PREMIS extension elements (format identification)
ORIGINATOR_AGENT = "archa-originator"  # agentIdentifierType of the agent the AIP belongs to


@dataclass(frozen=True)
class Agent:
    id_type: str
    id_value: str
    name: str
    type: str  # "software", "organization", "person"
    version: str = ""
    note: str = ""


def representation_of(logical: str, default: str) -> str:
    """The representation a file belongs to: `representations/NAME` of its path, else `default`."""
    parts = logical.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 and parts[0] == "representations" else default


def _file_object(f: FileRow, fixity: dict[str, str], representation: str = "", source: str = "") -> Node:
    chars = [P.compositionLevel("0")]
    for alg in sorted(fixity):
        chars.append(P.fixity(P.messageDigestAlgorithm(ALG_NAMES.get(alg, alg)),
                              P.messageDigest(fixity[alg]), P.messageDigestOriginator("archa")))
    chars.append(P.size(str(f.size)))
    if f.puid and f.puid != "UNKNOWN":
        designation = [P.formatName(f.format_name or f.puid)]
        if f.format_version:
            designation.append(P.formatVersion(f.format_version))
        fmt = P.format(P.formatDesignation(*designation),
                       P.formatRegistry(P.formatRegistryName("PRONOM"), P.formatRegistryKey(f.puid),
                                        P.formatRegistryRole("specification")))
    else:
        fmt = P.format(P.formatDesignation(P.formatName("Unknown")),
                       P.formatNote(f"not identified by {f.engine} {f.engine_version}"))
    if f.basis:
        fmt.append(P.formatNote(f"identified by {f.engine} {f.engine_version} "
                                f"({f.signature_version}), basis: {f.basis}"))
    ext = []
    if f.engine:  # the identification as fields (the note above is for people)
        ident = Node(f"{{{ARCHA_NS}}}identification", {a: v for a, v in (
            ("engine", f.engine), ("engineVersion", f.engine_version), ("signatures", f.signature_version),
            ("basis", f.basis), ("warning", f.warning)) if v})
        ext.append(P.objectCharacteristicsExtension(ident))
    part_of = [P.relationship(P.relationshipType("structural"), P.relationshipSubType("is included in"),
                              P.relatedObjectIdentifier(P.relatedObjectIdentifierType("local"),
                                                        P.relatedObjectIdentifierValue(representation)))] \
        if representation else []
    if source:  # a preservation copy: the file it was migrated from
        part_of.append(P.relationship(P.relationshipType("derivation"), P.relationshipSubType("has source"),
                                      P.relatedObjectIdentifier(P.relatedObjectIdentifierType("local"),
                                                                P.relatedObjectIdentifierValue(source))))
    obj = P.object(
        P.objectIdentifier(P.objectIdentifierType("local"), P.objectIdentifierValue(f.logical_path)),
        P.objectCharacteristics(*chars, fmt, *ext),
        P.originalName(f.original_name),
        *part_of,
    )
    obj.set(XSI_TYPE, "premis:file")
    return obj


def write_premis(path: Path, aip_id: str, representation: str,
                 files: Iterable[tuple[FileRow, dict[str, str]]],
                 events: Sequence[Event], agents: Sequence[Agent], derived_from: str = "",
                 rights: Sequence[str] = (), sources: Mapping[str, str] | None = None) -> None:
    """Write premis.xml for `files` (each with its fixity by algorithm; read once, as a stream),
    `events`, `agents`;
    `derived_from`: the identifier of the version this one was made from (`ID vN`);
    `sources`: preservation copies (logical paths under `representations/preservation/`)
    -> the file each was migrated from (a `derivation` / `has source` relationship; the
    copies belong to that representation, described after the first)."""
    sources = sources or {}
    others = sorted({representation_of(t, representation) for t in sources} - {representation})
    with xml_file(str(path)) as xf:
        xf.write_declaration()
        with open_node(xf, f"{{{PREMIS_NS}}}premis", {"version": "3.0",
                       f"{{{XSI_NS}}}schemaLocation": f"{PREMIS_NS} {PREMIS_SCHEMA}"},
                       nsmap={"premis": PREMIS_NS, "xsi": XSI_NS, "archa": ARCHA_NS}):
            rep = P.object(
                P.objectIdentifier(P.objectIdentifierType("local"),
                                   P.objectIdentifierValue(representation)),
                *[P.relationship(P.relationshipType("structural"), P.relationshipSubType("is included in"),
                                 P.relatedObjectIdentifier(P.relatedObjectIdentifierType("urn"),
                                                           P.relatedObjectIdentifierValue(aip_id)))],
                *([P.relationship(P.relationshipType("derivation"), P.relationshipSubType("has source"),
                                  P.relatedObjectIdentifier(P.relatedObjectIdentifierType("local"),
                                                            P.relatedObjectIdentifierValue(derived_from)))]
                  if derived_from else []),
                *[P.linkingEventIdentifier(P.linkingEventIdentifierType("urn"),
                                           P.linkingEventIdentifierValue(e.id)) for e in events])
            rep.set(XSI_TYPE, "premis:representation")
            if representation != aip_id:  # the AIP itself, the intellectual entity it keeps
                ie = P.object(
                    P.objectIdentifier(P.objectIdentifierType("urn"), P.objectIdentifierValue(aip_id)),
                    *[P.relationship(P.relationshipType("structural"), P.relationshipSubType("includes"),
                                     P.relatedObjectIdentifier(P.relatedObjectIdentifierType("local"),
                                                               P.relatedObjectIdentifierValue(r)))
                      for r in [representation, *others]])
                ie.set(XSI_TYPE, "premis:intellectualEntity")
                write_node(xf, ie, 1)
            write_node(xf, rep, 1)
            for other in others:
                extra = P.object(
                    P.objectIdentifier(P.objectIdentifierType("local"), P.objectIdentifierValue(other)),
                    P.relationship(P.relationshipType("structural"), P.relationshipSubType("is included in"),
                                   P.relatedObjectIdentifier(P.relatedObjectIdentifierType("urn"),
                                                             P.relatedObjectIdentifierValue(aip_id))),
                    P.relationship(P.relationshipType("derivation"), P.relationshipSubType("has source"),
                                   P.relatedObjectIdentifier(P.relatedObjectIdentifierType("local"),
                                                             P.relatedObjectIdentifierValue(representation))))
                extra.set(XSI_TYPE, "premis:representation")
                write_node(xf, extra, 1)
            for f, fixity in files:
                write_node(xf, _file_object(f, fixity, representation_of(f.logical_path, representation)
                                            if f.logical_path in sources else representation,
                                            sources.get(f.logical_path, "")), 1)
            for e in events:
                write_node(xf, _event(e, representation, agents), 1)
            for a in agents:
                parts = [P.agentIdentifier(P.agentIdentifierType(a.id_type), P.agentIdentifierValue(a.id_value)),
                         P.agentName(a.name), P.agentType(a.type)]
                if a.version:
                    parts.append(P.agentVersion(a.version))
                if a.note:
                    parts.append(P.agentNote(a.note))
                write_node(xf, P.agent(*parts), 1)
            for n, text in enumerate(rights, 1):
                write_node(xf, _rights(aip_id, n, text), 1)


RIGHTS_BASIS = "access restriction declared by the producer (NSESSS Pristupnost)"


def _rights(aip_id: str, n: int, text: str) -> Node:
    """A rights statement of an access restriction the package declared, on the AIP."""
    return P.rights(P.rightsStatement(
        P.rightsStatementIdentifier(P.rightsStatementIdentifierType("local"),
                                    P.rightsStatementIdentifierValue(f"access-{n}")),
        P.rightsBasis("Other"),
        P.otherRightsInformation(P.otherRightsBasis(RIGHTS_BASIS), P.otherRightsNote(text)),
        P.linkingObjectIdentifier(P.linkingObjectIdentifierType("urn"), P.linkingObjectIdentifierValue(aip_id))))


def _event(e: Event, representation: str, agents: Sequence[Agent]) -> Node:
    """An event linked to its executing program and, for ingestion, the submitting organisation."""
    links = [(a, "executing program") for a in agents if a.id_value == e.agent]
    if e.type == "ingestion":
        links += [(a, "originator" if a.id_type == ORIGINATOR_AGENT else "submitter") for a in agents
                  if a.type == "organization"]
    if e.type in ("ingestion", "modification", "metadata modification"):
        links += [(a, "implementer") for a in agents if a.type == "person"]  # who ran it
    return P.event(
        P.eventIdentifier(P.eventIdentifierType("urn"), P.eventIdentifierValue(e.id)),
        P.eventType(e.type),
        P.eventDateTime(e.time),
        P.eventDetailInformation(P.eventDetail(e.detail)),
        P.eventOutcomeInformation(P.eventOutcome(e.outcome)),
        *[P.linkingAgentIdentifier(P.linkingAgentIdentifierType(a.id_type),
                                   P.linkingAgentIdentifierValue(a.id_value), P.linkingAgentRole(role))
          for a, role in links],
        P.linkingObjectIdentifier(P.linkingObjectIdentifierType("local"),
                                  P.linkingObjectIdentifierValue(representation)),
        *[P.linkingObjectIdentifier(P.linkingObjectIdentifierType("local"), P.linkingObjectIdentifierValue(o))
          for o in e.objects],
    )


# --- reading ------------------------------------------------------------------------------

@dataclass
class PremisFile:
    """What premis.xml says of one file."""

    fixity: dict[str, str]  # hashlib name -> digest
    size: int
    puid: str
    format_name: str
    format_version: str
    note: str  # "identified by ENGINE VERSION (SIGNATURES), basis: ..."
    original_name: str
    identification: dict[str, str] = field(default_factory=dict)  # engine, engineVersion, signatures, basis, warning


@dataclass
class PremisRecord:
    files: dict[str, PremisFile]  # by logical path
    events: list[Event]
    agents: list[Agent]
    rights: list[str] = field(default_factory=list)  # access restrictions, as declared


def read_premis(data: bytes | Path, aip_id: str, version: str,
                on_file: Callable[[str, PremisFile], None] | None = None) -> PremisRecord:
    """Parse a premis.xml archa wrote (bytes, or a file; network off, no entities). Events
    get `aip_id` and `version` unless they name none of their own. Streamed: each top-level
    object, event, agent and rights statement is read and dropped in turn, so a PREMIS of a
    million files needs the memory of its records, not of its XML tree; with `on_file`, each
    file object goes to it (logical path, file) instead of into the record."""
    ns = {"p": PREMIS_NS}
    files: dict[str, PremisFile] = {}
    events: list[Event] = []
    agents: list[Agent] = []
    rights: list[str] = []
    top = {f"{{{PREMIS_NS}}}{t}" for t in ("object", "event", "agent", "rights")}
    source = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    for _event, el in etree.iterparse(source, events=("end",), tag=tuple(top), no_network=True,
                                      resolve_entities=False, huge_tree=True):
        parent = el.getparent()
        if parent is None or parent.getparent() is not None:
            continue  # not a top-level record
        if el.tag.endswith("}object") and el.get(XSI_TYPE) == "premis:file":
            logical = el.findtext("p:objectIdentifier/p:objectIdentifierValue", namespaces=ns) or ""
            fixity = {HASHLIB_NAMES.get(f.findtext("p:messageDigestAlgorithm", namespaces=ns) or "", ""):
                      f.findtext("p:messageDigest", namespaces=ns) or "" for f in el.iterfind(".//p:fixity", ns)}
            notes = [n.text or "" for n in el.iterfind(".//p:formatNote", ns)]
            record = PremisFile(
                {k: v for k, v in fixity.items() if k}, int(el.findtext(".//p:size", namespaces=ns) or 0),
                el.findtext(".//p:formatRegistryKey", namespaces=ns) or "UNKNOWN",
                el.findtext(".//p:formatName", namespaces=ns) or "",
                el.findtext(".//p:formatVersion", namespaces=ns) or "",
                next((n for n in notes if n.startswith("identified by ")), ""),
                el.findtext("p:originalName", namespaces=ns) or "",
                dict(ext.attrib) if (ext := el.find(f".//{{{ARCHA_NS}}}identification")) is not None else {})
            if on_file is not None:
                on_file(logical, record)
            else:
                files[logical] = record
        elif el.tag.endswith("}event"):
            executing = [a.findtext("p:linkingAgentIdentifierValue", namespaces=ns)
                         for a in el.iterfind("p:linkingAgentIdentifier", ns)
                         if a.findtext("p:linkingAgentRole", namespaces=ns) == "executing program"]
            events.append(Event(el.findtext("p:eventType", namespaces=ns) or "",
                                el.findtext(".//p:eventOutcome", namespaces=ns) or "",
                                el.findtext(".//p:eventDetail", namespaces=ns) or "",
                                executing[0] if executing else "",
                                aip_id, version, time=el.findtext("p:eventDateTime", namespaces=ns) or "",
                                id=el.findtext("p:eventIdentifier/p:eventIdentifierValue", namespaces=ns) or "",
                                objects=tuple(v for v in el.xpath(
                                    "p:linkingObjectIdentifier[p:linkingObjectIdentifierType='local']/"
                                    "p:linkingObjectIdentifierValue/text()", namespaces=ns)[1:])))
        elif el.tag.endswith("}agent"):
            agents.append(Agent(el.findtext("p:agentIdentifier/p:agentIdentifierType", namespaces=ns) or "",
                                el.findtext("p:agentIdentifier/p:agentIdentifierValue", namespaces=ns) or "",
                                el.findtext("p:agentName", namespaces=ns) or "",
                                el.findtext("p:agentType", namespaces=ns) or "",
                                el.findtext("p:agentVersion", namespaces=ns) or "",
                                el.findtext("p:agentNote", namespaces=ns) or ""))
        elif el.tag.endswith("}rights"):
            rights += [r.findtext("p:otherRightsInformation/p:otherRightsNote", namespaces=ns) or ""
                       for r in el.iterfind("p:rightsStatement", ns)
                       if r.findtext("p:otherRightsInformation/p:otherRightsBasis", namespaces=ns) == RIGHTS_BASIS]
        el.clear()
        while el.getprevious() is not None:  # what was read before it, gone too
            del parent[0]
    return PremisRecord(files, events, agents, rights)


def events_document(rows: Sequence[dict[str, Any]], repository_id: str) -> bytes:
    """A PREMIS 3 document of catalog event rows: one intellectual-entity object per AIP they
    concern (the repository when none), each event linked to its agent and AIP."""
    xsi = XSI_NS
    root = etree.Element(f"{{{PREMIS_NS}}}premis", nsmap={"premis": PREMIS_NS, "xsi": xsi}, version="3.0")
    for ident_value in sorted({r["aip_id"] for r in rows if r["aip_id"]}) or [repository_id]:
        obj = etree.SubElement(root, f"{{{PREMIS_NS}}}object")
        obj.set(f"{{{xsi}}}type", "premis:intellectualEntity")
        oid = etree.SubElement(obj, f"{{{PREMIS_NS}}}objectIdentifier")
        etree.SubElement(oid, f"{{{PREMIS_NS}}}objectIdentifierType").text = "urn"
        etree.SubElement(oid, f"{{{PREMIS_NS}}}objectIdentifierValue").text = ident_value
    for r in rows:
        ev = etree.SubElement(root, f"{{{PREMIS_NS}}}event")
        ident = etree.SubElement(ev, f"{{{PREMIS_NS}}}eventIdentifier")
        etree.SubElement(ident, f"{{{PREMIS_NS}}}eventIdentifierType").text = "urn"
        etree.SubElement(ident, f"{{{PREMIS_NS}}}eventIdentifierValue").text = r["id"]
        etree.SubElement(ev, f"{{{PREMIS_NS}}}eventType").text = r["type"]
        etree.SubElement(ev, f"{{{PREMIS_NS}}}eventDateTime").text = r["time"]
        det = etree.SubElement(ev, f"{{{PREMIS_NS}}}eventDetailInformation")
        etree.SubElement(det, f"{{{PREMIS_NS}}}eventDetail").text = r["detail"]
        out = etree.SubElement(ev, f"{{{PREMIS_NS}}}eventOutcomeInformation")
        etree.SubElement(out, f"{{{PREMIS_NS}}}eventOutcome").text = r["outcome"]
        ag = etree.SubElement(ev, f"{{{PREMIS_NS}}}linkingAgentIdentifier")
        etree.SubElement(ag, f"{{{PREMIS_NS}}}linkingAgentIdentifierType").text = "urn"
        etree.SubElement(ag, f"{{{PREMIS_NS}}}linkingAgentIdentifierValue").text = r["agent"]
        if r["aip_id"]:
            ob = etree.SubElement(ev, f"{{{PREMIS_NS}}}linkingObjectIdentifier")
            etree.SubElement(ob, f"{{{PREMIS_NS}}}linkingObjectIdentifierType").text = "urn"
            etree.SubElement(ob, f"{{{PREMIS_NS}}}linkingObjectIdentifierValue").text = r["aip_id"]
    return bytes(etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="utf-8"))


def operator_agent(user: str) -> Agent:
    """The person who ran a command (the implementer of its ingestion or modification)."""
    return Agent("local", f"user:{user}", user, "person")
