"""Level 6, content (obs*), part one: the METS envelope (obs1-obs56): header, sections,
fileSec and the structMap that ties entities, transaction logs and files together.

Each rule decides as the national validator's code does (validatorzaf/zaf,
`nsesss2024/pravidla06` for v4, `nsesss2017/pravidla06` for v3), not as its published text
reads where the two differ (see docs/nsesss.md): which elements it walks (zaf reads the
first mets:dmdSec, mets:mdWrap and mets:metsHdr; it collects mets:agent, mets:amdSec,
mets:digiprovMD, mets:div, mets:file, mets:FLocat and mets:fptr anywhere in the document),
attribute values taken as written (not trimmed), "blank" as Java's `StringUtils.isBlank`.
zaf stops a rule at its first error; archa reports every one it finds, so a rule fails on
exactly the packages zaf fails it on, with all the reasons at once.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from lxml import etree

from archa.metadata.nsesss import LABEL_REVIEW, LABEL_TRANSFER
from archa.transfer.nsesss.model import (
    DIV_TYPES,
    XLINK,
    XSI,
    Hit,
    Pkg,
    local,
)
from archa.transfer.nsesss.registry import check

# the top-level media types zaf's obs41 accepts (its list: no 'haptics')
MEDIA_TOP_TYPES = frozenset({"application", "audio", "font", "example", "image", "message", "model", "multipart",
                             "text", "video"})
LATE = date(2026, 12, 31)  # v4 obs28: a base document settled after this is refused
_JAVA_SPACE = frozenset("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f")
_HREF = f"{{{XLINK}}}href"


# --- reading the tree as zaf does ------------------------------------------------------------

def blank(value: str | None) -> bool:
    """Java's `StringUtils.isBlank`: None, empty, or only `Character.isWhitespace` characters
    (which are not the no-break spaces U+00A0, U+2007, U+202F)."""
    if value is None:
        return True
    return all(c in _JAVA_SPACE or (unicodedata.category(c) in ("Zs", "Zl", "Zp") and c not in "\u00a0\u2007\u202f")
               for c in value)


def text_content(el: etree._Element) -> str:
    """DOM `getTextContent`: every descendant text, untrimmed."""
    return str(el.xpath("string()"))


def kids(el: etree._Element | None, tag: str) -> list[etree._Element]:
    """The element children of `el` named `tag` (a Clark name)."""
    return [] if el is None else [c for c in el if c.tag == tag]


def first(el: etree._Element | None, *tags: str) -> etree._Element | None:
    """zaf's `getXChild`: the first child named tags[0], its first child named tags[1], ..."""
    for tag in tags:
        if el is None:
            return None
        el = next((c for c in el if c.tag == tag), None)
    return el


def _all(p: Pkg, tag: str) -> list[etree._Element]:
    return list(p.tree.iter(tag))


def _root_child(p: Pkg, name: str) -> etree._Element | None:
    return first(p.tree, p.m(name))


def _dmd_wrap(p: Pkg) -> etree._Element | None:
    """The mdWrap zaf's parser keeps: the first one of the first dmdSec."""
    return first(p.tree, p.m("dmdSec"), p.m("mdWrap"))


def _xml_data(p: Pkg) -> etree._Element | None:
    return first(p.tree, p.m("dmdSec"), p.m("mdWrap"), p.m("xmlData"))


def _fixed_links(p: Pkg) -> list[etree._Element]:
    """KrizovyOdkaz with pevny exactly 'ano' (zaf compares the value as written)."""
    return [k for k in p.tree.iter(p.n("KrizovyOdkaz")) if k.get("pevny") == "ano"]


def _no_xml_data(p: Pkg) -> list[Hit]:
    """zaf's parser collects nsesss elements only when the first dmdSec has mdWrap/xmlData;
    a rule asking for them without it fails (its getNodes throws)."""
    if _xml_data(p) is None:
        return [p.hit(None, "there is no dmdSec mdWrap/xmlData to read the entities from")]
    return []


def _value_is(p: Pkg, el: etree._Element | None, attr: str, wanted: str, what: str) -> Iterator[Hit]:
    """zaf's pattern for a required attribute value: the element exists, the attribute is
    there, not blank, and exactly `wanted`."""
    if el is None:
        yield p.hit(None, f"{what} is missing")
        return
    found = el.get(attr)
    if found is None:
        yield p.hit(el, f"{what} has no {attr}", attr)
    elif blank(found) or found != wanted:
        yield p.hit(el, f"{what} must have {attr}={wanted!r}; found {found!r}", attr)


def _count(p: Pkg, parent: etree._Element, name: str, what: str) -> Iterator[Hit]:
    n = len(kids(parent, p.m(name)))
    if n != 1:
        yield p.hit(parent, f"{what} must have exactly one mets:{name}; found {n}")


# --- the mets:mets element -------------------------------------------------------------------

@check
def obs1(p: Pkg) -> Iterator[Hit]:
    """mets:mets has an OBJID that is not blank."""
    if blank(p.tree.get("OBJID")):
        yield p.hit(p.tree, "mets:mets has no OBJID (the package identifier), or it is blank", "OBJID")


def _label(p: Pkg, allowed: tuple[str, ...]) -> Iterator[Hit]:
    found = p.tree.get("LABEL")
    if found is None or blank(found) or found not in allowed:
        yield p.hit(p.tree, f"mets:mets LABEL must be {' or '.join(map(repr, allowed))}; found {found!r}", "LABEL")


@check
def obs2(p: Pkg) -> Iterator[Hit]:
    """mets:mets LABEL is one of the two package labels, exactly as written."""
    yield from _label(p, (LABEL_REVIEW, LABEL_TRANSFER))


@check
def obs3(p: Pkg) -> Iterator[Hit]:
    """mets:mets LABEL is the transfer label, exactly as written."""
    yield from _label(p, (LABEL_TRANSFER,))


def _declared(p: Pkg, prefix: str, uri: str) -> Iterator[Hit]:
    found = p.tree.nsmap.get(prefix)  # the root's own declarations
    if found != uri:
        yield p.hit(p.tree, f"mets:mets must declare xmlns:{prefix}={uri!r}; found {found!r}")


@check
def obs4(p: Pkg) -> Iterator[Hit]:
    """(v3) mets:mets declares xmlns:xsi as the XML Schema instance namespace."""
    yield from _declared(p, "xsi", XSI)


@check
def obs9(p: Pkg) -> Iterator[Hit]:
    """(v3) mets:mets declares xmlns:xlink as the XLink namespace."""
    yield from _declared(p, "xlink", XLINK)


@check
def obs10(p: Pkg) -> Iterator[Hit]:
    """mets:mets has a mets:metsHdr; zaf's code also fails a second one (its Validate.isTrue)."""
    n = len(kids(p.tree, p.m("metsHdr")))
    if n != 1:
        yield p.hit(p.tree, f"mets:mets must have one mets:metsHdr (the package header); found {n}")


@check
def obs11(p: Pkg) -> Iterator[Hit]:
    """mets:mets has exactly one mets:dmdSec."""
    yield from _count(p, p.tree, "dmdSec", "mets:mets")


@check
def obs12(p: Pkg) -> Iterator[Hit]:
    """mets:mets has at least one mets:amdSec."""
    if not kids(p.tree, p.m("amdSec")):
        yield p.hit(p.tree, "mets:mets has no mets:amdSec: the transaction logs are missing")


@check
def obs13(p: Pkg) -> Iterator[Hit]:
    """mets:mets has exactly one mets:structMap."""
    yield from _count(p, p.tree, "structMap", "mets:mets")


# --- the header --------------------------------------------------------------------------------

def _header_attr(p: Pkg, attr: str) -> Iterator[Hit]:
    hdr = _root_child(p, "metsHdr")
    if hdr is None or hdr.get(attr) is None:
        yield p.hit(hdr if hdr is not None else p.tree, f"mets:metsHdr has no {attr}", attr)


@check
def obs14(p: Pkg) -> Iterator[Hit]:
    """The (first) mets:metsHdr has the attribute LASTMODDATE."""
    yield from _header_attr(p, "LASTMODDATE")


@check
def obs15(p: Pkg) -> Iterator[Hit]:
    """The (first) mets:metsHdr has the attribute CREATEDATE."""
    yield from _header_attr(p, "CREATEDATE")


def _agents(p: Pkg) -> tuple[list[etree._Element], list[Hit]]:
    """Every mets:agent of the document, or a hit when there is none (zaf fails its agent
    rules then)."""
    agents = _all(p, p.m("agent"))
    hdr = _root_child(p, "metsHdr")
    return agents, ([] if agents else [p.hit(hdr if hdr is not None else p.tree, "there is no mets:agent")])


@check
def obs16(p: Pkg) -> Iterator[Hit]:
    """Exactly one mets:agent has TYPE ORGANIZATION (the originator)."""
    agents, none = _agents(p)
    yield from none
    n = sum(a.get("TYPE") == "ORGANIZATION" for a in agents)
    if agents and n != 1:
        yield p.hit(agents[0].getparent(), f"exactly one mets:agent must have TYPE='ORGANIZATION'; found {n}")


@check
def obs17(p: Pkg) -> Iterator[Hit]:
    """At least one mets:agent has TYPE INDIVIDUAL."""
    agents, none = _agents(p)
    yield from none
    if agents and not any(a.get("TYPE") == "INDIVIDUAL" for a in agents):
        yield p.hit(agents[0].getparent(), "no mets:agent has TYPE='INDIVIDUAL' (a person)")


@check
def obs18(p: Pkg) -> Iterator[Hit]:
    """Every mets:agent has ROLE CREATOR."""
    agents, none = _agents(p)
    yield from none
    for a in agents:
        if a.get("ROLE") != "CREATOR":
            yield p.hit(a, f"mets:agent must have ROLE='CREATOR'; found {a.get('ROLE')!r}", "ROLE")


@check
def obs19(p: Pkg) -> Iterator[Hit]:
    """Every mets:agent has the attribute ID."""
    agents, none = _agents(p)
    yield from none
    for a in agents:
        if a.get("ID") is None:
            yield p.hit(a, "mets:agent has no ID", "ID")


@check
def obs20(p: Pkg) -> Iterator[Hit]:
    """Every mets:agent has exactly one mets:name, and its text (zaf reads the whole
    agent's text) is not blank."""
    agents, none = _agents(p)
    yield from none
    for a in agents:
        n = len(kids(a, p.m("name")))
        if n != 1:
            yield p.hit(a, f"mets:agent must have exactly one mets:name; found {n}")
        if blank(text_content(a)):
            yield p.hit(a, "mets:agent has no name text (its mets:name is blank)")


# --- the dmdSec ----------------------------------------------------------------------------------

@check
def obs22(p: Pkg) -> Iterator[Hit]:
    """The (first) mets:dmdSec has exactly one mets:mdWrap."""
    sec = _root_child(p, "dmdSec")
    if sec is None:
        yield p.hit(p.tree, "there is no mets:dmdSec")
    else:
        yield from _count(p, sec, "mdWrap", "mets:dmdSec")


def _dmd_value(p: Pkg, attr: str, wanted: str) -> Iterator[Hit]:
    yield from _value_is(p, _dmd_wrap(p), attr, wanted, "the dmdSec's mets:mdWrap")


@check
def obs23(p: Pkg) -> Iterator[Hit]:
    """The dmdSec's mdWrap has MDTYPEVERSION 4.0 (v3: 3.0)."""
    yield from _dmd_value(p, "MDTYPEVERSION", f"{p.version}.0")


@check
def obs24(p: Pkg) -> Iterator[Hit]:
    """The dmdSec's mdWrap has OTHERMDTYPE NSESSS."""
    yield from _dmd_value(p, "OTHERMDTYPE", "NSESSS")


@check
def obs25(p: Pkg) -> Iterator[Hit]:
    """The dmdSec's mdWrap has MDTYPE OTHER."""
    yield from _dmd_value(p, "MDTYPE", "OTHER")


@check
def obs26(p: Pkg) -> Iterator[Hit]:
    """The dmdSec's mdWrap has MIMETYPE text/xml."""
    yield from _dmd_value(p, "MIMETYPE", "text/xml")


@check
def obs27(p: Pkg) -> Iterator[Hit]:
    """The dmdSec's mdWrap has exactly one mets:xmlData."""
    wrap = _dmd_wrap(p)
    if wrap is None or _xml_data(p) is None:
        yield p.hit(wrap, "the dmdSec's mets:mdWrap has no mets:xmlData")
    else:
        yield from _count(p, wrap, "xmlData", "the dmdSec's mets:mdWrap")


def _bases(p: Pkg, data: etree._Element) -> tuple[list[etree._Element], list[etree._Element]]:
    """xmlData's element children: the base entities (Dil, Spis, Dokument) and the others."""
    children = [c for c in data if isinstance(c.tag, str)]
    ok = [c for c in children if c.tag in (p.n("Dil"), p.n("Spis"), p.n("Dokument"))]
    return ok, [c for c in children if c not in ok]


def _base_hits(p: Pkg, data: etree._Element | None) -> tuple[list[etree._Element], list[Hit]]:
    if data is None:
        return [], [p.hit(None, "there is no dmdSec xmlData to read the base entities from")]
    bases, other = _bases(p, data)
    hits = [p.hit(o, f"xmlData may hold only nsesss:Dil, nsesss:Spis or nsesss:Dokument; found {local(o)}")
            for o in other]
    if not bases:
        hits.append(p.hit(data, "xmlData holds no base entity (nsesss:Dil, nsesss:Spis or nsesss:Dokument)"))
    return bases, hits


def java_date(value: str) -> date | None:
    """`DateUtils.parseDate(value, "yyyy-MM-dd")` as zaf calls it: the whole text, leniently
    (a month or day past its end rolls over), or None."""
    m = re.fullmatch(r"([0-9]{1,9})-([0-9]{1,9})-([0-9]{1,9})", value)
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    months = y * 12 + mo - 1
    try:
        return date(months // 12, months % 12 + 1, 1) + timedelta(days=d - 1)
    except (ValueError, OverflowError):
        return None


@check
def obs28(p: Pkg) -> Iterator[Hit]:
    """Without fixed cross-references (KrizovyOdkaz pevny='ano'), xmlData holds exactly one
    base entity and nothing else; in v4 a base nsesss:Dokument must have been settled
    (EvidencniUdaje/Vyrizeni/Datum) by 31 December 2026."""
    if _fixed_links(p):
        return
    data = _xml_data(p)
    bases, hits = _base_hits(p, data)
    yield from hits
    if len(bases) > 1:
        yield p.hit(data, f"xmlData must hold exactly one base entity; found {len(bases)}")
    if p.version != 4 or len(bases) != 1 or bases[0].tag != p.n("Dokument"):
        return
    found = first(bases[0], p.n("EvidencniUdaje"), p.n("Vyrizeni"), p.n("Datum"))
    if found is None:
        yield p.hit(bases[0], "the base document has no Vyrizeni/Datum (when it was settled)")
        return
    settled = java_date(text_content(found))
    if settled is None:
        yield p.hit(found, f"Vyrizeni/Datum {text_content(found)!r} is not a date (yyyy-MM-dd)")
    elif settled > LATE:
        yield p.hit(found, f"a document is a base entity of a v4 package only when settled by 31 December 2026; "
                           f"this one was settled {settled.isoformat()}")


def _ident_of(p: Pkg, holder: etree._Element | None, *path: str) -> etree._Element | None:
    return first(holder, *(p.n(t) for t in path))


@check
def obs29(p: Pkg) -> Iterator[Hit]:
    """Every fixed cross-reference (KrizovyOdkaz pevny='ano') sits in Souvislosti of an
    entity's EvidencniUdaje, names another entity than its own, and exactly one base entity
    of xmlData has its Identifikator and zdroj (both generations; first identifiers only)."""
    if _no_xml_data(p):
        yield from _no_xml_data(p)
        return
    links = _fixed_links(p)
    if not links:
        return
    bases, hits = _base_hits(p, _xml_data(p))
    yield from hits
    base_ids: list[tuple[etree._Element, tuple[str | None, str]]] = []
    for b in bases:
        ident = _ident_of(p, b, "EvidencniUdaje", "Identifikace", "Identifikator")
        if ident is None or ident.get("zdroj") is None:
            yield p.hit(b, "the base entity has no Identifikator with zdroj")
        else:
            base_ids.append((b, (ident.get("zdroj"), text_content(ident))))
    for link in links:
        up = link.getparent()
        eu = up.getparent() if up is not None and up.tag == p.n("Souvislosti") else None
        if eu is None or eu.tag != p.n("EvidencniUdaje"):
            yield p.hit(link, "a fixed KrizovyOdkaz must sit in EvidencniUdaje/Souvislosti of an entity")
            continue
        own = _ident_of(p, eu, "Identifikace", "Identifikator")
        target = _ident_of(p, link, "Identifikator")
        if own is None or own.get("zdroj") is None:
            yield p.hit(eu.getparent(), "the entity holding a fixed KrizovyOdkaz has no Identifikator with zdroj")
            continue
        if target is None or target.get("zdroj") is None:
            yield p.hit(link, "a fixed KrizovyOdkaz has no Identifikator with zdroj")
            continue
        key = (target.get("zdroj"), text_content(target))
        if key == (own.get("zdroj"), text_content(own)):
            yield p.hit(link, "a fixed KrizovyOdkaz names its own entity")
        n = sum(k == key for _b, k in base_ids)
        if n != 1:
            yield p.hit(link, f"exactly one base entity in xmlData must have the Identifikator {key[1]!r} "
                              f"(zdroj {key[0]!r}) this fixed KrizovyOdkaz names; found {n}")


# --- the amdSecs (transaction logs) --------------------------------------------------------------

@check
def obs30(p: Pkg) -> Iterator[Hit]:
    """There is a mets:amdSec, and every one has the attribute ID."""
    secs = _all(p, p.m("amdSec"))
    if not secs:
        yield p.hit(p.tree, "there is no mets:amdSec")
    for sec in secs:
        if sec.get("ID") is None:
            yield p.hit(sec, "mets:amdSec has no ID", "ID")


@check
def obs31(p: Pkg) -> Iterator[Hit]:
    """There is a mets:amdSec, and every one has exactly one mets:digiprovMD."""
    secs = _all(p, p.m("amdSec"))
    if not secs:
        yield p.hit(p.tree, "there is no mets:amdSec")
    for sec in secs:
        yield from _count(p, sec, "digiprovMD", "mets:amdSec")


def _digiprov(p: Pkg) -> tuple[list[etree._Element], list[Hit]]:
    mds = _all(p, p.m("digiprovMD"))
    return mds, ([] if mds else [p.hit(p.tree, "there is no mets:digiprovMD")])


@check
def obs33(p: Pkg) -> Iterator[Hit]:
    """There is a mets:digiprovMD, and every one has exactly one mets:mdWrap."""
    mds, none = _digiprov(p)
    yield from none
    for md in mds:
        yield from _count(p, md, "mdWrap", "mets:digiprovMD")


def _log_value(p: Pkg, attr: str, wanted: str) -> Iterator[Hit]:
    mds, none = _digiprov(p)
    yield from none
    for md in mds:
        wrap = first(md, p.m("mdWrap"))
        if wrap is None:
            yield p.hit(md, "mets:digiprovMD has no mets:mdWrap")
        elif blank(wrap.get(attr)) or wrap.get(attr) != wanted:
            yield p.hit(wrap, f"the transaction log's mdWrap must have {attr}={wanted!r}; found {wrap.get(attr)!r}",
                        attr)


@check
def obs34(p: Pkg) -> Iterator[Hit]:
    """Every digiprovMD's (first) mdWrap has MDTYPEVERSION 4.0 (v3: 1.0)."""
    yield from _log_value(p, "MDTYPEVERSION", "4.0" if p.version == 4 else "1.0")


@check
def obs35(p: Pkg) -> Iterator[Hit]:
    """Every digiprovMD's (first) mdWrap has OTHERMDTYPE TP."""
    yield from _log_value(p, "OTHERMDTYPE", "TP")


@check
def obs36(p: Pkg) -> Iterator[Hit]:
    """Every digiprovMD's (first) mdWrap has MDTYPE OTHER."""
    yield from _log_value(p, "MDTYPE", "OTHER")


@check
def obs37(p: Pkg) -> Iterator[Hit]:
    """Every digiprovMD's (first) mdWrap has MIMETYPE text/xml."""
    yield from _log_value(p, "MIMETYPE", "text/xml")


@check
def obs38(p: Pkg) -> Iterator[Hit]:
    """Every digiprovMD's (first) mdWrap has exactly one mets:xmlData."""
    mds, none = _digiprov(p)
    yield from none
    for md in mds:
        wrap = first(md, p.m("mdWrap"))
        if wrap is None:
            yield p.hit(md, "mets:digiprovMD has no mets:mdWrap")
        else:
            yield from _count(p, wrap, "xmlData", "the transaction log's mdWrap")


@check
def obs39(p: Pkg) -> Iterator[Hit]:
    """Every digiprovMD's (first) mdWrap/xmlData holds exactly one tp:TransakcniLogObjektu."""
    mds, none = _digiprov(p)
    yield from none
    tag = f"{{{p.N['tp']}}}TransakcniLogObjektu"
    for md in mds:
        data = first(md, p.m("mdWrap"), p.m("xmlData"))
        if data is None:
            yield p.hit(md, "mets:digiprovMD has no mets:mdWrap/mets:xmlData")
            continue
        n = len(kids(data, tag))
        if n != 1:
            yield p.hit(data, f"the transaction log's xmlData must hold exactly one tp:TransakcniLogObjektu; found {n}")


# --- the fileSec ---------------------------------------------------------------------------------

@check
def obs40(p: Pkg) -> Iterator[Hit]:
    """Where a document is digital (AnalogovyDokument 'ne', any case), mets:mets has exactly
    one mets:fileSec. As zaf walks it: documents in order, each must have AnalogovyDokument
    until the first digital one; that one decides."""
    if _no_xml_data(p):
        yield from _no_xml_data(p)
        return
    for doc in _all(p, p.n("Dokument")):
        analog = first(doc, p.n("EvidencniUdaje"), p.n("Manipulace"), p.n("AnalogovyDokument"))
        if analog is None:
            yield p.hit(doc, "nsesss:Dokument has no EvidencniUdaje/Manipulace/AnalogovyDokument")
            return
        if text_content(analog).lower() == "ne":
            n = len(kids(p.tree, p.m("fileSec")))
            if n != 1:
                yield p.hit(doc, f"a document in digital form needs exactly one mets:fileSec with its components; "
                                 f"found {n}")
            return


@check
def obs41(p: Pkg) -> Iterator[Hit]:
    """Every mets:file has a MIMETYPE 'type/subtype' whose type (before the first '/',
    any case) is application, audio, example, font, image, message, model, multipart, text
    or video, and whose subtype is not empty. zaf does not compare it with the file."""
    for f in _all(p, p.m("file")):
        mime = f.get("MIMETYPE") or ""
        if blank(mime):
            yield p.hit(f, "mets:file has no MIMETYPE", "MIMETYPE")
            continue
        top, slash, sub = mime.lower().partition("/")
        if not slash:
            yield p.hit(f, f"MIMETYPE {mime!r} has no '/' between type and subtype", "MIMETYPE")
        elif top not in MEDIA_TOP_TYPES:
            yield p.hit(f, f"MIMETYPE {mime!r}: {top!r} is not one of the types " + ", ".join(sorted(MEDIA_TOP_TYPES)),
                        "MIMETYPE")
        elif not sub:
            yield p.hit(f, f"MIMETYPE {mime!r} has no subtype", "MIMETYPE")


@check
def obs43a(p: Pkg) -> Iterator[Hit]:
    """The (first) mets:fileSec, if there is one, has exactly one mets:fileGrp."""
    sec = _root_child(p, "fileSec")
    if sec is not None:
        yield from _count(p, sec, "fileGrp", "mets:fileSec")


@check
def obs44(p: Pkg) -> Iterator[Hit]:
    """Where there is a mets:file: as many mets:file as nsesss:Komponenta, every file's
    DMDID (not empty, not repeated) is the ID of a component and every component's ID is
    some file's DMDID."""
    files = _all(p, p.m("file"))
    if not files:
        return
    if _no_xml_data(p):
        yield from _no_xml_data(p)
        return
    comps = _all(p, p.n("Komponenta"))
    if len(comps) != len(files):
        yield p.hit(files[0].getparent(), f"{len(files)} mets:file for {len(comps)} nsesss:Komponenta")
    dmdids: set[str] = set()
    for f in files:
        dmdid = f.get("DMDID") or ""
        if not dmdid:
            yield p.hit(f, "mets:file has no DMDID", "DMDID")
        elif dmdid in dmdids:
            yield p.hit(f, f"another mets:file has the DMDID {dmdid!r}", "DMDID")
        dmdids.add(dmdid)
    ids = set()
    for k in comps:
        kid = k.get("ID") or ""
        if not kid:
            yield p.hit(k, "nsesss:Komponenta has no ID", "ID")
        elif kid not in dmdids:
            yield p.hit(k, f"no mets:file names the component {kid!r} (DMDID)")
        ids.add(kid)
    for f in files:
        if (f.get("DMDID") or "") not in ids:
            yield p.hit(f, f"DMDID {f.get('DMDID')!r} names no nsesss:Komponenta", "DMDID")


@check
def obs46(p: Pkg) -> Iterator[Hit]:
    """Every mets:file has CHECKSUMTYPE SHA-256 or SHA-512."""
    for f in _all(p, p.m("file")):
        if f.get("CHECKSUMTYPE") not in ("SHA-256", "SHA-512"):
            yield p.hit(f, f"CHECKSUMTYPE must be SHA-256 or SHA-512; found {f.get('CHECKSUMTYPE')!r}",
                        "CHECKSUMTYPE")


@check
def obs49(p: Pkg) -> Iterator[Hit]:
    """Every mets:file has a CREATED that is not blank."""
    for f in _all(p, p.m("file")):
        if blank(f.get("CREATED")):
            yield p.hit(f, "mets:file has no CREATED", "CREATED")


@check
def obs50(p: Pkg) -> Iterator[Hit]:
    """Every mets:file has exactly one child element, a mets:FLocat."""
    for f in _all(p, p.m("file")):
        children = [c for c in f if isinstance(c.tag, str)]
        if len(children) != 1 or children[0].tag != p.m("FLocat"):
            names = ", ".join(local(c) for c in children) or "nothing"
            yield p.hit(f, f"mets:file must hold exactly one mets:FLocat and nothing else; found {names}")


@check
def obs51(p: Pkg) -> Iterator[Hit]:
    """Every mets:FLocat has xlink:type 'simple'."""
    for loc in _all(p, p.m("FLocat")):
        if loc.get(f"{{{XLINK}}}type") != "simple":
            yield p.hit(loc, f"mets:FLocat must have xlink:type='simple'; found {loc.get(f'{{{XLINK}}}type')!r}",
                        "xlink:type")


def _inside(resolved_folder: Path | None, target: Path) -> bool:
    """Whether `target` (links followed) lies in the folder `resolved_folder` (resolved;
    None: the folder could not be resolved, so nothing counts as inside)."""
    if resolved_folder is None:
        return False
    try:
        target.resolve().relative_to(resolved_folder)
    except (ValueError, OSError):
        return False
    return True


def _locate(folder: Path, resolved: Path | None, rel: str, modes: dict[str, int]) -> tuple[bool, int | None]:
    """Whether `folder`/`rel` lies in the package (as `_inside` answers), and its st_mode
    (0: not there), or None when that takes following a link. Without `..`, an absolute
    path or a link below `folder`, the answer needs only an lstat of each component below
    the folder (`modes` remembers them across the package's hrefs), not a resolve() of
    every folder from the root; otherwise `_inside` answers and the mode is None."""
    if resolved is None:
        return False, None
    parts = [part for part in rel.split("/") if part not in ("", ".")]
    if rel.startswith("/") or ".." in parts or not parts:
        return _inside(resolved, folder / rel), None
    path = os.fspath(folder)
    mode = 0
    for part in parts:
        path = f"{path}/{part}"
        mode = modes.get(path, -1)
        if mode < 0:
            try:
                mode = os.lstat(path).st_mode
            except (FileNotFoundError, NotADirectoryError):
                mode = 0
            except OSError:
                return _inside(resolved, folder / rel), None
            modes[path] = mode
        if mode == 0:
            return True, 0  # what follows a missing component is read as written: inside
        if stat.S_ISLNK(mode):
            return _inside(resolved, folder / rel), None
    return True, mode


@check
def obs52(p: Pkg) -> Iterator[Hit]:
    """Where there is a mets:FLocat: every xlink:href starts with 'komponenty' and names a
    file of the package, and every file in komponenty/ is named by one. v4 (as zaf): no
    backslash, the href exactly the file's relative path, komponenty/ walked recursively. v3
    (as zaf): backslashes read as '/', matched by file name, every entry directly in
    komponenty/ (folders too) named. Names are compared as written: no percent-decoding, no
    Unicode normalisation. An href leading out of the package is refused (archa's own)."""
    locs = _all(p, p.m("FLocat"))
    folder = p.folder
    if not locs or folder is None:
        return
    named: set[str] = set()
    modes: dict[str, int] = {}
    resolved: Path | None
    try:
        resolved = folder.resolve()  # once: it reads every folder of the path
    except OSError:
        resolved = None
    for loc in locs:
        href = loc.get(_HREF)
        if href is None:
            yield p.hit(loc, "mets:FLocat has no xlink:href", "xlink:href")
            continue
        if not href.startswith("komponenty"):
            yield p.hit(loc, f"xlink:href {href!r} is not a relative path in komponenty/", "xlink:href")
        if p.version == 4 and "\\" in href:
            yield p.hit(loc, f"xlink:href {href!r} has a backslash", "xlink:href")
        rel = href.replace("\\", "/")
        inside, mode = _locate(folder, resolved, rel, modes)
        if not inside:
            yield p.hit(loc, f"xlink:href {href!r} leads out of the package", "xlink:href")
            continue
        if mode is None:
            target = folder / rel
            there = target.is_file() if p.version == 4 else target.exists()
        else:
            there = stat.S_ISREG(mode) if p.version == 4 else mode != 0
        if not there:
            yield p.hit(loc, f"the component {href!r} is not in the package", "xlink:href")
        named.add(rel if p.version == 4 else Path(rel).name)
    comp = folder / "komponenty"
    if not comp.is_dir():
        yield p.hit(None, "the package has no folder komponenty")
        return
    if p.version == 4:
        on_disk = sorted(f.relative_to(folder).as_posix() for f in comp.rglob("*") if f.is_file())
        stray = [rel for rel in on_disk if rel not in named]
    else:
        stray = sorted(f"komponenty/{e.name}" for e in comp.iterdir() if e.name not in named)
    for rel in stray:
        yield Hit(f"{p.name}/{rel}", "an entry of komponenty/ that no mets:FLocat names")


@check
def obs53(p: Pkg) -> Iterator[Hit]:
    """Every mets:FLocat has LOCTYPE URL."""
    for loc in _all(p, p.m("FLocat")):
        if loc.get("LOCTYPE") != "URL":
            yield p.hit(loc, f"mets:FLocat must have LOCTYPE='URL'; found {loc.get('LOCTYPE')!r}", "LOCTYPE")


# --- the structMap (obs54) -------------------------------------------------------------------------

EntityKey = tuple[str | None, str]  # (zdroj, Identifikator) as written
# the entity elements in the order zaf collects them
OBS54_KINDS = ("SpisovyPlan", "VecnaSkupina", "Soucast", "TypovySpis", "Dil", "Spis", "Dokument", "Komponenta")


@dataclass
class _Occurrence:
    el: etree._Element
    xml_id: str
    kind: str
    key: EntityKey


@dataclass
class _Entity:
    """One entity (or component) as zaf's obs54 gathers it: by its identifier, its
    descriptions in dmdSec, the amdSecs logging it, the divs naming it."""

    dmd: list[_Occurrence] = field(default_factory=list)
    amd: list[etree._Element] = field(default_factory=list)
    divs: list[etree._Element] = field(default_factory=list)

    def occurrence(self, xml_id: str) -> _Occurrence | None:
        return next((o for o in self.dmd if o.xml_id == xml_id), None)


def entity_key(p: Pkg, el: etree._Element) -> EntityKey:
    """(zdroj, value) of an entity's first Identifikator; ('nenalezeno', 'nenalezeno')
    without one, as zaf has it."""
    ident = first(el, p.n("Identifikator")) if el.tag == p.n("SpisovyPlan") else \
        first(el, p.n("EvidencniUdaje"), p.n("Identifikace"), p.n("Identifikator"))
    if ident is None:
        return ("nenalezeno", "nenalezeno")
    return (ident.get("zdroj"), text_content(ident))


def _name(o: _Occurrence) -> str:
    return f"nsesss:{o.kind} {o.key[1]!r} (zdroj {o.key[0]!r})"


# where zaf's obs54 looks for the parent of each kind (see _expected_parent)
PARENT_PLACES = {
    "VecnaSkupina": "EvidencniUdaje/Trideni/SpisovyPlan or Trideni/MaterskaEntita/VecnaSkupina",
    "TypovySpis": "EvidencniUdaje/Trideni/MaterskaEntita/VecnaSkupina",
    "Soucast": "EvidencniUdaje/Trideni/MaterskaEntita/TypovySpis",
    "Spis": "EvidencniUdaje/Trideni/MaterskaEntita/VecnaSkupina",
    "Dil": "EvidencniUdaje/Trideni/MaterskaEntita/Soucast",
    "Dokument": "EvidencniUdaje/Trideni/MaterskeEntity/VecnaSkupina or the nsesss:Spis or nsesss:Dil whose "
                "Dokumenty hold it",
    "Komponenta": "the nsesss:Dokument whose Komponenty hold it",
}


def _xparent(p: Pkg, el: etree._Element, box: str, holder: str) -> etree._Element | None:
    """zaf's `getXParent(el, box, holder)`: el's parent is `box`, whose parent is `holder`."""
    up = el.getparent()
    top = up.getparent() if up is not None and up.tag == p.n(box) else None
    return top if top is not None and top.tag == p.n(holder) else None


def _expected_parent(p: Pkg, o: _Occurrence, parent_kind: str) -> etree._Element | None:
    """Where zaf looks for the entity the parent div stands for, by the child's kind (and
    the parent's): the filing-plan chain in Trideni, the container for documents and
    components. A file (Spis) is looked for only under Trideni/MaterskaEntita/VecnaSkupina,
    so zaf has no place for a file inside a part (nsesss:Dil/nsesss:Spisy)."""
    n = p.n
    tri = (n("EvidencniUdaje"), n("Trideni"))
    if o.kind == "VecnaSkupina":
        if parent_kind == "SpisovyPlan":
            return first(o.el, *tri, n("SpisovyPlan"))
        if parent_kind == "VecnaSkupina":
            return first(o.el, *tri, n("MaterskaEntita"), n("VecnaSkupina"))
        return None
    mother = {"TypovySpis": "VecnaSkupina", "Soucast": "TypovySpis", "Spis": "VecnaSkupina", "Dil": "Soucast"}
    if o.kind in mother:
        return first(o.el, *tri, n("MaterskaEntita"), n(mother[o.kind]))
    if o.kind == "Dokument":
        if parent_kind == "VecnaSkupina":
            return first(o.el, *tri, n("MaterskeEntity"), n("VecnaSkupina"))
        return _xparent(p, o.el, "Dokumenty", parent_kind) if parent_kind in ("Spis", "Dil") else None
    if o.kind == "Komponenta":
        return _xparent(p, o.el, "Komponenty", "Dokument")
    return None


@check
def obs54(p: Pkg) -> Iterator[Hit]:
    """The structMap mirrors the entities from the filing plan down to the components, as
    zaf's obs54 checks it. Entities (and components) are told apart by their first
    Identifikator and zdroj. Each needs a description in dmdSec (several only above the
    document: filing-plan entities, files and parts shared by several base entities), an
    amdSec whose transaction log (first tp:Objekt/tp:Identifikator) names it (not several
    when it is described once), and exactly one mets:div. Every div has TYPE, DMDID and
    ADMID; DMDID is the ID of one of its descriptions, ADMID an amdSec of the same entity,
    TYPE its kind (not checked for the filing plan); the filing plan's div sits in the
    structMap, every other div in the div of the entity that every description of it names
    as its parent (Trideni for the filing-plan chain, Dokumenty or Komponenty above documents
    and components)."""
    if _no_xml_data(p):
        yield from _no_xml_data(p)
        return
    by_key: dict[EntityKey, _Entity] = {}
    entities: list[_Entity] = []
    by_dmdid: dict[str, _Entity] = {}
    by_admid: dict[str, _Entity] = {}

    def entity(key: EntityKey | None) -> _Entity:
        if key is not None and key in by_key:
            return by_key[key]
        e = _Entity()
        entities.append(e)
        if key is not None:
            by_key[key] = e
        return e

    for kind in OBS54_KINDS:
        for el in _all(p, p.n(kind)):
            key = entity_key(p, el)
            xml_id = el.get("ID") or ""
            if blank(xml_id):
                yield p.hit(el, f"nsesss:{kind} has no ID", "ID")
            e = entity(key)
            e.dmd.append(_Occurrence(el, xml_id, kind, key))
            by_dmdid[xml_id] = e
    if not entities:
        yield p.hit(None, "the dmdSec describes no entity")
    secs = _all(p, p.m("amdSec"))
    if not secs:
        yield p.hit(p.tree, "there is no mets:amdSec")
    tp, ti = p.N["tp"], p.N["ti"]
    for sec in secs:
        ident = first(sec, p.m("digiprovMD"), p.m("mdWrap"), p.m("xmlData"), f"{{{tp}}}TransakcniLogObjektu",
                      f"{{{tp}}}TransLogInfo", f"{{{tp}}}Objekt", f"{{{tp}}}Identifikator")
        value, source = first(ident, f"{{{ti}}}HodnotaID"), first(ident, f"{{{ti}}}ZdrojID")
        if value is None or source is None:
            yield p.hit(sec, "the transaction log names no object (tp:Objekt/tp:Identifikator with HodnotaID and "
                             "ZdrojID)")
            continue
        if blank(sec.get("ID")):
            yield p.hit(sec, "mets:amdSec has no ID", "ID")
        e = entity((text_content(source), text_content(value)))
        e.amd.append(sec)
        by_admid[sec.get("ID") or ""] = e
    divs = _all(p, p.m("div"))
    if not divs:
        yield p.hit(p.tree, "there is no mets:div")
    for div in divs:
        for attr in ("TYPE", "ADMID", "DMDID"):
            if blank(div.get(attr)):
                yield p.hit(div, f"mets:div has no {attr}", attr)
        named = by_dmdid.get(div.get("DMDID") or "")
        if named is None:
            named = entity(None)
        elif by_admid.get(div.get("ADMID") or "") is not named:
            yield p.hit(div, f"ADMID {div.get('ADMID')!r} does not name an amdSec logging the entity DMDID "
                             f"{div.get('DMDID')!r} names", "ADMID")
        named.divs.append(div)
    for e in entities:
        yield from _check_entity(p, e, by_dmdid)


def _check_entity(p: Pkg, e: _Entity, by_dmdid: dict[str, _Entity]) -> Iterator[Hit]:
    if not e.dmd:
        where = e.divs[0] if e.divs else e.amd[0]
        yield p.hit(where, "no entity of the dmdSec has the identifier this "
                           + ("mets:div (DMDID)" if e.divs else "transaction log (amdSec)") + " names")
        return
    o = e.dmd[0]
    if not e.amd:
        yield p.hit(o.el, f"no amdSec's transaction log names {_name(o)}")
    if len(e.divs) != 1:
        yield p.hit(e.divs[1] if e.divs else o.el,
                    f"{_name(o)} must have exactly one mets:div in the structMap; found {len(e.divs)}")
    if len(e.dmd) == 1 and len(e.amd) > 1:
        yield p.hit(e.amd[1], f"{len(e.amd)} amdSecs log {_name(o)}")
    if any(d.kind != o.kind for d in e.dmd):
        yield p.hit(o.el, f"entities of different kinds share the identifier of {_name(o)}")
    if len(e.dmd) > 1 and o.kind in ("Dokument", "Komponenta"):
        yield p.hit(e.dmd[1].el, f"{_name(o)} is described {len(e.dmd)} times in the dmdSec")
    if not e.amd or len(e.divs) != 1:
        return
    div = e.divs[0]
    up = div.getparent()
    for d in e.dmd:
        if d.kind == "SpisovyPlan":
            if up is None or up.tag != p.m("structMap"):
                yield p.hit(div, "the div of the filing plan (nsesss:SpisovyPlan) must sit directly in the structMap")
            continue
        yield from _check_parent(p, d, div, by_dmdid)


def _check_parent(p: Pkg, d: _Occurrence, div: etree._Element, by_dmdid: dict[str, _Entity]) -> Iterator[Hit]:
    up = div.getparent()
    if up is None or blank(up.get("DMDID")):
        yield p.hit(div, f"the div of {_name(d)} must sit in the div of its parent entity")
        return
    parent = by_dmdid.get(up.get("DMDID") or "")
    pd = parent.occurrence(up.get("DMDID") or "") if parent is not None else None
    if pd is None:
        yield p.hit(up, f"DMDID {up.get('DMDID')!r} of the div holding {_name(d)} names no entity of the dmdSec")
        return
    if div.get("TYPE") != DIV_TYPES[d.kind]:
        yield p.hit(div, f"the div of {_name(d)} must have TYPE {DIV_TYPES[d.kind]!r}; found {div.get('TYPE')!r}",
                    "TYPE")
    found = _expected_parent(p, d, pd.kind)
    if found is None:
        yield p.hit(div, f"the div of {_name(d)} sits in the div of {_name(pd)}; zaf takes the parent of a "
                         f"nsesss:{d.kind} only from {PARENT_PLACES[d.kind]}, and finds no nsesss:{pd.kind} there")
    elif entity_key(p, found) != pd.key:
        yield p.hit(div, f"the div of {_name(d)} sits in the div of {_name(pd)}, but its description names "
                         f"{entity_key(p, found)[1]!r} (zdroj {entity_key(p, found)[0]!r}) as its parent")


@check
def obs55(p: Pkg) -> Iterator[Hit]:
    """Every mets:div of TYPE komponenta has exactly one mets:fptr."""
    for div in _all(p, p.m("div")):
        if div.get("TYPE") == "komponenta":
            yield from _count(p, div, "fptr", "a mets:div of TYPE komponenta")


@check
def obs56(p: Pkg) -> Iterator[Hit]:
    """Where there is a mets:fptr: every fptr has a FILEID, there is a mets:file, and the ID
    of every mets:file is the FILEID of some fptr (zaf does not compare DMDIDs)."""
    fptrs = _all(p, p.m("fptr"))
    if not fptrs:
        return
    fileids = set()
    for fptr in fptrs:
        if not fptr.get("FILEID"):
            yield p.hit(fptr, "mets:fptr has no FILEID", "FILEID")
        fileids.add(fptr.get("FILEID") or "")
    files = _all(p, p.m("file"))
    if not files:
        yield p.hit(fptrs[0], "mets:fptr points to files, but there is no mets:file")
    for f in files:
        fid = f.get("ID") or ""
        if not fid:
            yield p.hit(f, "mets:file has no ID", "ID")
        elif fid not in fileids:
            yield p.hit(f, f"no mets:fptr has FILEID {fid!r} (the structMap does not point to this file)")
