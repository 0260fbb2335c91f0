"""Level 6, content (obs*), part one: the METS envelope (obs1-obs56): header, sections,
fileSec and the structMap that ties entities, transaction logs and files together."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from archa.ingest.extract import unsafe_name
from archa.transfer.nsesss.model import (
    DIV_TYPES,
    LABEL_REVIEW,
    LABEL_TRANSFER,
    XLINK,
    XSI,
    Hit,
    Pkg,
    Severity,
    local,
    norm,
    parse_date,
)
from archa.transfer.nsesss.registry import check

TOP_TYPES = {"application", "audio", "example", "font", "haptics", "image", "message", "model", "multipart",
             "text", "video"}
MEDIA_TYPE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126})/([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126})"
                        r"(\s*;\s*[^;=\s]+=[^;]+)*$")
ZIPS = {"application/zip", "application/zip-compressed", "application/x-zip-compressed", "multipart/x-zip"}
XML = {"application/xml", "text/xml"}
# file name extensions whose media type is not in doubt (what obs41 can judge without the file)
EXTENSION_TYPES: dict[str, set[str]] = {
    "pdf": {"application/pdf"}, "png": {"image/png"}, "gif": {"image/gif"},
    "jpg": {"image/jpeg", "image/jpg", "image/pjpeg"}, "jpeg": {"image/jpeg", "image/jpg", "image/pjpeg"},
    "tif": {"image/tiff"}, "tiff": {"image/tiff"}, "xml": XML, "txt": {"text/plain"},
    "doc": {"application/msword"}, "rtf": {"application/rtf", "text/rtf"},
    "docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    "odt": {"application/vnd.oasis.opendocument.text"}, "mp3": {"audio/mpeg", "audio/mp3"},
    "wav": {"audio/x-wav", "audio/wav", "audio/vnd.wave", "audio/wave"}, "mpg": {"video/mpeg"},
    "mpeg": {"video/mpeg"}, "zip": ZIPS, "html": {"text/html"}, "htm": {"text/html"}, "eml": {"message/rfc822"},
    "xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    "xls": {"application/vnd.ms-excel"}, "csv": {"text/csv", "text/plain"},
}


def _one(p: Pkg, parent: etree._Element, path: str, what: str) -> Iterator[Hit]:
    n = len(p.xp(parent, path))
    if n != 1:
        yield p.hit(parent, f"{what}: found {n}")


def _attr_is(p: Pkg, els: list[etree._Element], attr: str, wanted: str, what: str) -> Iterator[Hit]:
    for el in els:
        found = el.get(attr)
        if found != wanted:
            yield p.hit(el, f"{what} must have {attr}={wanted!r}; found "
                            + (repr(found) if found is not None else "none"), attr)


def _present(p: Pkg, els: list[etree._Element], attr: str, what: str) -> Iterator[Hit]:
    for el in els:
        if not (el.get(attr) or "").strip():
            yield p.hit(el, f"{what} has no {attr}", attr)


@check
def obs1(p: Pkg) -> Iterator[Hit]:
    if not (p.tree.get("OBJID") or "").strip():
        yield p.hit(p.tree, "mets:mets has no OBJID (the package identifier)", "OBJID")


@check
def obs2(p: Pkg) -> Iterator[Hit]:
    if p.tree.get("LABEL") not in (LABEL_REVIEW, LABEL_TRANSFER):
        yield p.hit(p.tree, f"LABEL {p.tree.get('LABEL')!r} is neither {LABEL_REVIEW!r} nor {LABEL_TRANSFER!r}",
                    "LABEL")


@check
def obs3(p: Pkg) -> Iterator[Hit]:
    if p.tree.get("LABEL") != LABEL_TRANSFER:
        yield p.hit(p.tree, f"a transfer to the archive is labelled {LABEL_TRANSFER!r}; found "
                            f"{p.tree.get('LABEL')!r}", "LABEL")


@check
def obs4(p: Pkg) -> Iterator[Hit]:
    if p.tree.nsmap.get("xsi") != XSI:
        yield p.hit(p.tree, f"mets:mets must declare xmlns:xsi={XSI!r}")


@check
def obs9(p: Pkg) -> Iterator[Hit]:
    if p.tree.nsmap.get("xlink") != XLINK:
        yield p.hit(p.tree, f"mets:mets must declare xmlns:xlink={XLINK!r}")


@check
def obs10(p: Pkg) -> Iterator[Hit]:
    if not p.xp(p.tree, "m:metsHdr"):
        yield p.hit(p.tree, "mets:metsHdr (the package header) is missing")


@check
def obs11(p: Pkg) -> Iterator[Hit]:
    yield from _one(p, p.tree, "m:dmdSec", "mets:mets must have exactly one mets:dmdSec")


@check
def obs12(p: Pkg) -> Iterator[Hit]:
    if not p.xp(p.tree, "m:amdSec"):
        yield p.hit(p.tree, "no mets:amdSec: the transaction logs are missing")


@check
def obs13(p: Pkg) -> Iterator[Hit]:
    yield from _one(p, p.tree, "m:structMap", "mets:mets must have exactly one mets:structMap")


@check
def obs14(p: Pkg) -> Iterator[Hit]:
    yield from _present(p, p.xp(p.tree, "m:metsHdr"), "LASTMODDATE", "mets:metsHdr")


@check
def obs15(p: Pkg) -> Iterator[Hit]:
    yield from _present(p, p.xp(p.tree, "m:metsHdr"), "CREATEDATE", "mets:metsHdr")


@check
def obs16(p: Pkg) -> Iterator[Hit]:
    for hdr in p.xp(p.tree, "m:metsHdr"):
        n = len(p.xp(hdr, "m:agent[@TYPE='ORGANIZATION']"))
        if n != 1:
            yield p.hit(hdr, f"the header must name exactly one originator (mets:agent TYPE='ORGANIZATION'); "
                             f"found {n}")


@check
def obs17(p: Pkg) -> Iterator[Hit]:
    for hdr in p.xp(p.tree, "m:metsHdr"):
        if not p.xp(hdr, "m:agent[@TYPE='INDIVIDUAL']"):
            yield p.hit(hdr, "the header names no person (mets:agent TYPE='INDIVIDUAL')")


@check
def obs18(p: Pkg) -> Iterator[Hit]:
    yield from _attr_is(p, p.xp(p.tree, "m:metsHdr/m:agent"), "ROLE", "CREATOR", "every mets:agent")


@check
def obs19(p: Pkg) -> Iterator[Hit]:
    yield from _present(p, p.xp(p.tree, "m:metsHdr/m:agent"), "ID", "mets:agent")


@check
def obs20(p: Pkg) -> Iterator[Hit]:
    for agent in p.xp(p.tree, "m:metsHdr/m:agent"):
        names = p.xp(agent, "m:name")
        if len(names) != 1 or not norm(names[0].text):
            yield p.hit(agent, f"every mets:agent needs exactly one non-empty mets:name; found {len(names)}")


def _dmd_wraps(p: Pkg) -> list[etree._Element]:
    return p.xp(p.tree, "m:dmdSec/m:mdWrap")


@check
def obs22(p: Pkg) -> Iterator[Hit]:
    for sec in p.xp(p.tree, "m:dmdSec"):
        yield from _one(p, sec, "m:mdWrap", "mets:dmdSec must have exactly one mets:mdWrap")


@check
def obs23(p: Pkg) -> Iterator[Hit]:
    yield from _attr_is(p, _dmd_wraps(p), "MDTYPEVERSION", f"{p.version}.0", "the dmdSec's mdWrap")


@check
def obs24(p: Pkg) -> Iterator[Hit]:
    yield from _attr_is(p, _dmd_wraps(p), "OTHERMDTYPE", "NSESSS", "the dmdSec's mdWrap")


@check
def obs25(p: Pkg) -> Iterator[Hit]:
    yield from _attr_is(p, _dmd_wraps(p), "MDTYPE", "OTHER", "the dmdSec's mdWrap")


@check
def obs26(p: Pkg) -> Iterator[Hit]:
    yield from _attr_is(p, _dmd_wraps(p), "MIMETYPE", "text/xml", "the dmdSec's mdWrap")


@check
def obs27(p: Pkg) -> Iterator[Hit]:
    for wrap in _dmd_wraps(p):
        yield from _one(p, wrap, "m:xmlData", "the dmdSec's mdWrap must have exactly one mets:xmlData")


LATE = parse_date("2026-12-31")


def _early_enough(p: Pkg, el: etree._Element) -> bool:
    """v4 takes a document (or a part) as a base entity only when it was settled (closed)
    by the end of 2026, when the new decree's files took over."""
    d = p.closing_date(el)
    return d is not None and LATE is not None and d <= LATE


@check
def obs28(p: Pkg) -> Iterator[Hit]:
    if p.fixed_links() or p.xml_data is None:
        return
    children = [c for c in p.xml_data if isinstance(c.tag, str)]
    kinds = ", ".join(local(c) for c in children) or "nothing"
    if len(children) != 1 or not p.is_n(children[0], "Dil", "Spis", "Dokument"):
        yield p.hit(p.xml_data, f"xmlData must hold exactly one base entity (nsesss:Dil, nsesss:Spis or "
                                f"nsesss:Dokument); found {kinds}")
    elif p.version == 4 and local(children[0]) == "Dokument" and not _early_enough(p, children[0]):
        yield p.hit(children[0], "a document is a base entity of a v4 package only when it was settled by "
                                 "31 December 2026; later documents travel inside their file (nsesss:Spis)")


@check
def obs29(p: Pkg) -> Iterator[Hit]:
    bases = p.base_entities
    for link in p.fixed_links():
        ident = link.find(p.n("Identifikator"))
        key = (norm(ident.text), (ident.get("zdroj") or "").strip()) if ident is not None else ("", "")
        found = [b for b in bases if key in p.idents(b)]
        ok = [b for b in found if p.version == 3 or local(b) == "Spis" or _early_enough(p, b)]
        if not ok:
            what = "is not a base entity of the package" if not found else \
                "is a part or document settled after 2026, which v4 does not take as a base entity"
            yield p.hit(link, f"the entity bound by this fixed cross-reference ({key[0]}, zdroj {key[1]!r}) {what}")


def _amd(p: Pkg) -> list[etree._Element]:
    return p.xp(p.tree, "m:amdSec")


def _tp_wraps(p: Pkg) -> list[etree._Element]:
    return p.xp(p.tree, "m:amdSec/m:digiprovMD/m:mdWrap")


@check
def obs30(p: Pkg) -> Iterator[Hit]:
    yield from _present(p, _amd(p), "ID", "mets:amdSec")


@check
def obs31(p: Pkg) -> Iterator[Hit]:
    for sec in _amd(p):
        yield from _one(p, sec, "m:digiprovMD", "mets:amdSec must have exactly one mets:digiprovMD")


@check
def obs33(p: Pkg) -> Iterator[Hit]:
    for md in p.xp(p.tree, "m:amdSec/m:digiprovMD"):
        yield from _one(p, md, "m:mdWrap", "mets:digiprovMD must have exactly one mets:mdWrap")


@check
def obs34(p: Pkg) -> Iterator[Hit]:
    yield from _attr_is(p, _tp_wraps(p), "MDTYPEVERSION", "4.0" if p.version == 4 else "1.0",
                        "the transaction log's mdWrap")


@check
def obs35(p: Pkg) -> Iterator[Hit]:
    yield from _attr_is(p, _tp_wraps(p), "OTHERMDTYPE", "TP", "the transaction log's mdWrap")


@check
def obs36(p: Pkg) -> Iterator[Hit]:
    yield from _attr_is(p, _tp_wraps(p), "MDTYPE", "OTHER", "the transaction log's mdWrap")


@check
def obs37(p: Pkg) -> Iterator[Hit]:
    yield from _attr_is(p, _tp_wraps(p), "MIMETYPE", "text/xml", "the transaction log's mdWrap")


@check
def obs38(p: Pkg) -> Iterator[Hit]:
    for wrap in _tp_wraps(p):
        yield from _one(p, wrap, "m:xmlData", "the transaction log's mdWrap must have exactly one mets:xmlData")


@check
def obs39(p: Pkg) -> Iterator[Hit]:
    for data in p.xp(p.tree, "m:amdSec/m:digiprovMD/m:mdWrap/m:xmlData"):
        yield from _one(p, data, "tp:TransakcniLogObjektu",
                        "the transaction log's xmlData must hold exactly one tp:TransakcniLogObjektu")


def _digital_documents(p: Pkg) -> list[etree._Element]:
    return [e for e in p.entities if local(e) == "Dokument" and p.analog(e) == "ne"]


@check
def obs40(p: Pkg) -> Iterator[Hit]:
    digital = _digital_documents(p)
    n = len(p.xp(p.tree, "m:fileSec"))
    if digital and n != 1:
        yield p.hit(digital[0], f"a document in digital form needs exactly one mets:fileSec with its "
                                f"components; found {n}")


def _extension(href: str) -> str:
    name = href.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


@check
def obs41(p: Pkg) -> Iterator[Hit]:
    for f in p.files:
        mime = (f.get("MIMETYPE") or "").strip()
        m = MEDIA_TYPE.match(mime)
        if not m or m.group(1).lower() not in TOP_TYPES:
            yield p.hit(f, f"MIMETYPE {mime!r} is not a well-formed media type (type/subtype, IANA top-level "
                           "type)", "MIMETYPE")
            continue
        base = f"{m.group(1)}/{m.group(2)}".lower()
        for loc in p.xp(f, "m:FLocat"):
            ext = _extension(loc.get(f"{{{XLINK}}}href", ""))
            if ext in EXTENSION_TYPES and base not in EXTENSION_TYPES[ext]:
                yield p.hit(f, f"MIMETYPE {mime!r} does not fit the file {loc.get(f'{{{XLINK}}}href')!r} "
                               f"(a .{ext} file is {' or '.join(sorted(EXTENSION_TYPES[ext]))})", "MIMETYPE")


@check
def obs43a(p: Pkg) -> Iterator[Hit]:
    for sec in p.xp(p.tree, "m:fileSec"):
        yield from _one(p, sec, "m:fileGrp", "mets:fileSec must have exactly one mets:fileGrp")


@check
def obs44(p: Pkg) -> Iterator[Hit]:
    if not p.files:
        return
    components = {k.get("ID"): k for k in p.components if k.get("ID")}
    for dmdid, files in p.files_by_dmdid.items():
        if dmdid not in components:
            for f in files:
                yield p.hit(f, f"DMDID {dmdid!r} names no nsesss:Komponenta", "DMDID")
        elif len(files) > 1:
            yield p.hit(files[1], f"{len(files)} mets:file elements name the component {dmdid!r}", "DMDID")
    for kid, k in components.items():
        if kid not in p.files_by_dmdid:
            yield p.hit(k, f"no mets:file names the component {kid!r} (DMDID)")


@check
def obs46(p: Pkg) -> Iterator[Hit]:
    for f in p.files:
        if f.get("CHECKSUMTYPE") not in ("SHA-256", "SHA-512"):
            yield p.hit(f, f"CHECKSUMTYPE must be SHA-256 or SHA-512; found {f.get('CHECKSUMTYPE')!r}",
                        "CHECKSUMTYPE")


@check
def obs49(p: Pkg) -> Iterator[Hit]:
    yield from _present(p, p.files, "CREATED", "mets:file")


@check
def obs50(p: Pkg) -> Iterator[Hit]:
    for f in p.files:
        yield from _one(p, f, "m:FLocat", "mets:file must have exactly one mets:FLocat")


@check
def obs51(p: Pkg) -> Iterator[Hit]:
    yield from _attr_is(p, p.xp(p.tree, "m:fileSec//m:FLocat"), f"{{{XLINK}}}type", "simple", "mets:FLocat")


@check
def obs52(p: Pkg) -> Iterator[Hit]:
    seen: set[str] = set()
    for loc in p.xp(p.tree, "m:fileSec//m:FLocat"):
        href, notes = p.locate(loc)
        raw = loc.get(f"{{{XLINK}}}href", "")
        if notes:
            yield p.hit(loc, f"xlink:href {raw!r} read as {href!r}: {'; '.join(notes)}", "xlink:href",
                        Severity.WARNING)
        if unsafe_name(href) or not href.startswith("komponenty/"):
            yield p.hit(loc, f"xlink:href {raw!r} is not a relative path inside komponenty/", "xlink:href")
        elif href in seen:
            yield p.hit(loc, f"xlink:href {raw!r} is given twice", "xlink:href")
        elif href not in p.on_disk.values():
            yield p.hit(loc, f"the component {href!r} is not in the package", "xlink:href")
        seen.add(href)
    for rel in sorted(set(p.on_disk.values()) - seen):
        yield Hit(f"{p.name}/{rel}", "a file in komponenty/ that no mets:FLocat names")


@check
def obs53(p: Pkg) -> Iterator[Hit]:
    yield from _attr_is(p, p.xp(p.tree, "m:fileSec//m:FLocat"), "LOCTYPE", "URL", "mets:FLocat")


Key = tuple[str, str, str]  # (element name, Identifikator, zdroj)


def _key(p: Pkg, el: etree._Element) -> Key:
    ident = p.ident(el)
    return (local(el), *ident) if ident else (local(el), "", f"#{el.get('ID', '')}")


def _label(key: Key) -> str:
    return f"{key[0]} {key[1]} (zdroj {key[2]!r})" if key[1] else f"{key[0]} {key[2]}"


SHARED = ("Soucast", "TypovySpis", "VecnaSkupina", "SpisovyPlan")


@check
def obs54(p: Pkg) -> Iterator[Hit]:
    fixed = bool(p.fixed_links())
    occurrences: dict[Key, list[etree._Element]] = {}
    for el in p.entities + p.components:
        occurrences.setdefault(_key(p, el), []).append(el)
    parent_key: dict[Key, Key | None] = {}
    for key, els in occurrences.items():
        if len(els) > 1 and not (fixed and key[0] in SHARED):
            yield p.hit(els[1], f"{_label(key)} is described {len(els)} times in the dmdSec")
        parent = p.parent(els[0])
        parent_key[key] = _key(p, parent) if parent is not None else None
    logs: dict[str, set[tuple[str, str]]] = {}
    for sec in p.xp(p.tree, "m:amdSec"):
        logs[sec.get("ID", "")] = {
            (norm(i.findtext(f"{{{p.N['ti']}}}HodnotaID")), norm(i.findtext(f"{{{p.N['ti']}}}ZdrojID")))
            for i in p.xp(sec, ".//tp:TransakcniLogObjektu/tp:TransLogInfo/tp:Objekt/tp:Identifikator")}
    for key, els in occurrences.items():
        naming = [sid for sid, ids in logs.items() if (key[1], key[2]) in ids]
        if len(naming) != 1:
            yield p.hit(els[0], f"{_label(key)} must have exactly one amdSec whose transaction log names it "
                                f"(tp:Objekt/tp:Identifikator); found {len(naming)}")
    by_id = {el.get("ID"): el for els in occurrences.values() for el in els if el.get("ID")}
    in_map: dict[Key, int] = {}
    for div in p.xp(p.tree, "m:structMap[1]//m:div"):
        dmdid = (div.get("DMDID") or "").split()
        el = by_id.get(dmdid[0]) if len(dmdid) == 1 else None
        if el is None:
            yield p.hit(div, f"DMDID {div.get('DMDID')!r} does not name one entity or component of the dmdSec",
                        "DMDID")
            continue
        key = _key(p, el)
        in_map[key] = in_map.get(key, 0) + 1
        if div.get("TYPE") != DIV_TYPES[local(el)]:
            yield p.hit(div, f"the div of {_label(key)} must have TYPE {DIV_TYPES[local(el)]!r}; found "
                             f"{div.get('TYPE')!r}", "TYPE")
        admid = (div.get("ADMID") or "").split()
        if len(admid) != 1 or (key[1], key[2]) not in logs.get(admid[0], set()):
            yield p.hit(div, f"ADMID {div.get('ADMID')!r} of the div of {_label(key)} does not name the amdSec "
                             "holding its transaction log", "ADMID")
        up = div.getparent()
        up_el = by_id.get((up.get("DMDID") or "").split()[0]) if up is not None and local(up) == "div" \
            and (up.get("DMDID") or "").split() else None
        got = _key(p, up_el) if up_el is not None else None
        if got != parent_key.get(key):
            want = parent_key.get(key)
            yield p.hit(div, f"the div of {_label(key)} must sit in the div of "
                             f"{_label(want) if want else 'nothing (it is the top of the structure)'}")
    for key, els in occurrences.items():
        if in_map.get(key, 0) != 1:
            yield p.hit(els[0], f"{_label(key)} must appear exactly once in the structMap; found {in_map.get(key, 0)}")


@check
def obs55(p: Pkg) -> Iterator[Hit]:
    for div in p.xp(p.tree, "m:structMap//m:div[@TYPE='komponenta']"):
        yield from _one(p, div, "m:fptr", "a mets:div of TYPE komponenta must have exactly one mets:fptr")


@check
def obs56(p: Pkg) -> Iterator[Hit]:
    for fptr in p.xp(p.tree, "m:structMap//m:fptr"):
        div = fptr.getparent()
        files = p.files_by_dmdid.get((div.get("DMDID") or "") if div is not None else "", [])
        wanted = [f.get("ID") for f in files]
        if fptr.get("FILEID") not in wanted or len(wanted) != 1:
            yield p.hit(fptr, f"FILEID {fptr.get('FILEID')!r} must name the mets:file of the component "
                              f"{div.get('DMDID') if div is not None else ''!r} ({', '.join(map(str, wanted)) or 'none'})",
                        "FILEID")
