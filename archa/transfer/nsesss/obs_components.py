"""Level 6, content (obs*), part four: the components of a document (obs98a-obs111): their
numbers, versions and forms of keeping, output formats and containers; and obs108 (dates).

As in the national validator, attribute values and element texts are compared as written
(`forma_uchovani="originál"`, `AnalogovyDokument` "ne", MIMETYPE exactly), numbers are read as
Java reads them (leading zeros ignored), and components are grouped by the document holding
them and their number (poradi) whatever their order in mets.xml."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date

from lxml import etree

from archa.transfer.nsesss.model import Hit, Pkg, local
from archa.transfer.nsesss.obs_filing import blank, child, everywhere, raw
from archa.transfer.nsesss.registry import check

ORIGINAL = "originál"
OUTPUT = "originál ve výstupním datovém formátu"
CONTAINER = "kontejner"
DIGITISED = "digitalizát"
OFFICE = frozenset({"application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "application/rtf", "application/vnd.oasis.opendocument.text", "application/vnd.apple.pages"})
OUTPUT_TYPES = frozenset({"application/pdf", "image/png", "image/tiff", "image/jpeg", "video/mpeg", "image/gif",
                          "audio/mpeg", "audio/x-wav", "application/xml", "application/xml-dtd"})
CONTAINER_FILES = frozenset({"application/zip", "application/zip-compressed", "application/x-zip-compressed",
                             "multipart/x-zip", "application/vnd.etsi.asic-e+zip", "application/vnd.etsi.asic-s+zip"})
CONTAINER_TYPES = CONTAINER_FILES | {"application/vnd.software602.filler.form+xml",
                                     "application/vnd.software602.filler.form-xml-zip", "message/rfc822",
                                     "application/vnd.isac.fcs.isdocx", "application/pdf"}
NOT_CHECKED_BEFORE = date(2012, 7, 31)  # § 23(2) output formats: base entities settled by then are exempt
CLOSING = {"Dil": ("EvidencniUdaje", "Uzavreni", "Datum"), "Spis": ("EvidencniUdaje", "VyrizeniUzavreni", "Datum"),
           "Dokument": ("EvidencniUdaje", "Vyrizeni", "Datum")}
_JAVA_INT = re.compile(r"[+-]?[0-9]+")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_XSD_DATE = re.compile(r"(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?)?"
                       r"(Z|[+-][0-9]{2}:[0-9]{2})?")


def java_int(text: str | None) -> int | None:
    """The number Java's Integer.valueOf reads from `text` (leading zeros ignored, no spaces), or None."""
    if text is None or not _JAVA_INT.fullmatch(text):
        return None
    value = int(text)
    return value if -2**31 <= value < 2**31 else None


def iso_date(text: str) -> date | None:
    """The date of exactly 'YYYY-MM-DD' (as Java's LocalDate.parse reads it), else None."""
    m = _ISO_DATE.fullmatch(text)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def document_of(k: etree._Element) -> etree._Element | None:
    """The element holding a component's Komponenty (its document)."""
    box = k.getparent()
    return box.getparent() if box is not None else None


def digital_documents(p: Pkg) -> set[etree._Element]:
    """Documents whose Manipulace/AnalogovyDokument says exactly 'ne'."""
    out = set()
    for d in everywhere(p, "Dokument"):
        analog = child(p, d, "EvidencniUdaje", "Manipulace", "AnalogovyDokument")
        if analog is not None and raw(analog) == "ne":
            out.add(d)
    return out


def by_document(p: Pkg, comps: Iterable[etree._Element]
                ) -> tuple[dict[etree._Element, dict[int, list[etree._Element]]], list[Hit]]:
    """Components by the element holding their Komponenty, then by poradi (document order kept)."""
    out: dict[etree._Element, dict[int, list[etree._Element]]] = {}
    bad: list[Hit] = []
    for k in comps:
        doc = document_of(k)
        n = java_int(k.get("poradi"))
        if doc is None:
            continue
        if n is None:
            bad.append(p.hit(k, f"poradi {k.get('poradi')!r} is not a number", "poradi"))
            continue
        out.setdefault(doc, {}).setdefault(n, []).append(k)
    return out, bad


def versions(p: Pkg, members: list[etree._Element]) -> list[int] | Hit:
    """The verze of each component, or the finding that one is not a number."""
    out = []
    for k in members:
        n = java_int(k.get("verze"))
        if n is None:
            return p.hit(k, f"verze {k.get('verze')!r} is not a number", "verze")
        out.append(n)
    return out


def checked_bases(p: Pkg) -> tuple[set[etree._Element], list[Hit]]:
    """Base entities the output-format rules apply to: settled or closed after 31 July 2012.
    One without the date is not checked; a date that is not YYYY-MM-DD is an error."""
    out: set[etree._Element] = set()
    bad: list[Hit] = []
    for base in p.base_entities:
        el = child(p, base, *CLOSING[local(base)])
        if el is None:
            continue
        when = iso_date(raw(el))
        if when is None:
            bad.append(p.hit(el, f"the date {raw(el)!r} is not a date (YYYY-MM-DD)"))
        elif when > NOT_CHECKED_BEFORE:
            out.add(base)
    return out, bad


def inside(el: etree._Element | None, holders: set[etree._Element]) -> bool:
    while el is not None:
        if el in holders:
            return True
        el = el.getparent()
    return False


def files_by_dmdid(p: Pkg) -> tuple[dict[str, etree._Element], list[Hit]]:
    """Every mets:file by its DMDID; a file without DMDID, or two with the same, is an error."""
    out: dict[str, etree._Element] = {}
    bad: list[Hit] = []
    for f in p.files:
        dmdid = f.get("DMDID") or ""
        if not dmdid:
            bad.append(p.hit(f, "mets:file has no DMDID", "DMDID"))
        if dmdid in out:
            bad.append(p.hit(f, f"two mets:file elements have the DMDID {dmdid!r}", "DMDID"))
        out[dmdid] = f
    return out, bad


def _label(members: list[etree._Element]) -> str:
    doc = document_of(members[0])
    return f"component {members[0].get('poradi')} of {local(doc) if doc is not None else '?'} " \
           f"{doc.get('ID', '') if doc is not None else ''}".rstrip()


@check
def obs98a(p: Pkg) -> Iterator[Hit]:
    """A component kept as 'digitalizát' sits in a document whose AnalogovyDokument is 'ano'."""
    for k in everywhere(p, "Komponenta"):
        if k.get("forma_uchovani") != DIGITISED:
            continue
        box = k.getparent()
        doc = box.getparent() if box is not None and p.is_n(box, "Komponenty") else None
        doc = doc if doc is not None and p.is_n(doc, "Dokument") else None
        analog = child(p, doc, "EvidencniUdaje", "Manipulace", "AnalogovyDokument")
        if analog is None:
            yield p.hit(doc if doc is not None else k, "a digitised copy ('digitalizát') belongs to a document "
                                                      "without Manipulace/AnalogovyDokument")
        elif raw(analog) != "ano":
            yield p.hit(k, "a digitised copy ('digitalizát') belongs to an analogue document "
                           f"(AnalogovyDokument 'ano'); the document says {raw(analog)!r}")


def _per_box(p: Pkg) -> Iterator[tuple[etree._Element, list[etree._Element]]]:
    boxes: dict[etree._Element, list[etree._Element]] = {}
    for k in everywhere(p, "Komponenta"):
        box = k.getparent()
        if box is not None:
            boxes.setdefault(box, []).append(k)
    yield from boxes.items()


@check
def obs100(p: Pkg) -> Iterator[Hit]:
    """The poradi values of the components in one Komponenty, taken as a set, are 1, 2, 3, …
    without a gap (repeats allowed, order in mets.xml free, leading zeros ignored)."""
    for box, comps in _per_box(p):
        numbers: dict[int, etree._Element] = {}
        for k in comps:
            n = java_int(k.get("poradi"))
            if n is None:
                yield p.hit(k, f"poradi {k.get('poradi')!r} is not a number", "poradi")
                break
            numbers.setdefault(n, k)
        else:
            for expected, n in enumerate(sorted(numbers), start=1):
                if n != expected:
                    yield p.hit(numbers[n], f"the components of {local(box.getparent()) if box.getparent() is not None else '?'} "
                                            f"are numbered {sorted(numbers)}; poradi {expected} is missing", "poradi")
                    break


@check
def obs101(p: Pkg) -> Iterator[Hit]:
    """Components with the same poradi in one Komponenty have the same druh."""
    for _box, comps in _per_box(p):
        groups: dict[int | None, list[etree._Element]] = {}
        for k in comps:
            groups.setdefault(java_int(k.get("poradi")), []).append(k)
        for members in groups.values():
            kinds = [k.get("druh") for k in members]
            if len(set(kinds)) > 1:
                yield p.hit(members[0], f"components numbered {members[0].get('poradi')} have different kinds (druh): "
                                        f"{kinds}", "druh")


@check
def obs102(p: Pkg) -> Iterator[Hit]:
    """Components with the same poradi in one Komponenty have different versions (verze) that,
    taken as a set, are 1, 2, 3, … without a gap (leading zeros ignored)."""
    for _box, comps in _per_box(p):
        groups: dict[int | None, dict[int, etree._Element]] = {}
        for k in comps:
            n = java_int(k.get("verze"))
            if n is None:
                yield p.hit(k, f"verze {k.get('verze')!r} is not a number", "verze")
                continue
            versions = groups.setdefault(java_int(k.get("poradi")), {})
            if n in versions:
                yield p.hit(k, f"two components numbered {k.get('poradi')} have the version {n}", "verze")
            versions.setdefault(n, k)
        for versions in groups.values():
            for expected, n in enumerate(sorted(versions), start=1):
                if n != expected:
                    yield p.hit(versions[n], f"the versions of component {versions[n].get('poradi')} are "
                                             f"{sorted(versions)}; version {expected} is missing", "verze")
                    break


def _digital_groups(p: Pkg, holders: set[etree._Element] | None = None
                    ) -> Iterator[tuple[etree._Element, int, list[etree._Element]] | Hit]:
    digital = digital_documents(p)
    if holders is not None:
        digital = {d for d in digital if inside(d, holders)}
    groups, bad = by_document(p, (k for k in everywhere(p, "Komponenta") if document_of(k) in digital))
    yield from bad
    for doc, numbers in groups.items():
        for n, members in numbers.items():
            yield doc, n, members


@check
def obs103(p: Pkg) -> Iterator[Hit]:
    """In a document with AnalogovyDokument 'ne', each component number has exactly one component
    kept as 'originál'."""
    for item in _digital_groups(p):
        if isinstance(item, Hit):
            yield item
            continue
        _doc, _n, members = item
        count = sum(1 for k in members if k.get("forma_uchovani") == ORIGINAL)
        if count != 1:
            yield p.hit(members[0], f"{_label(members)} must have exactly one version kept as '{ORIGINAL}'; "
                                    f"found {count}", "forma_uchovani")


@check
def obs104(p: Pkg) -> Iterator[Hit]:
    """In a document with AnalogovyDokument 'ne', a component number with no 'originál ve
    výstupním datovém formátu' has one 'originál', and it has the highest version. (As zaf reads
    the components in order: an output-format original ends the check of the number, a second
    'originál' before it is already an error.)"""
    for item in _digital_groups(p):
        if isinstance(item, Hit):
            yield item
            continue
        _doc, _n, members = item
        numbers = versions(p, members)
        if isinstance(numbers, Hit):
            yield numbers
            continue
        original: int | None = None
        highest: int | None = None
        for k, v in zip(members, numbers, strict=True):
            highest = v if highest is None or v > highest else highest
            form = k.get("forma_uchovani")
            if form == OUTPUT:
                break
            if form != ORIGINAL:
                continue
            if original is not None:
                yield p.hit(k, f"{_label(members)} has more than one version kept as '{ORIGINAL}' "
                               f"(versions {original} and {v})", "forma_uchovani")
            original = v
        else:
            if original is None:
                yield p.hit(members[0], f"{_label(members)} has no version kept as '{ORIGINAL}'", "forma_uchovani")
            elif highest is not None and original < highest:
                yield p.hit(members[0], f"{_label(members)} has no output-format original, so its '{ORIGINAL}' "
                                        f"(version {original}) must have the highest version ({highest})", "verze")


@check
def obs105(p: Pkg) -> Iterator[Hit]:
    """In a document with AnalogovyDokument 'ne' of a base entity settled or closed after
    31 July 2012, a component number whose 'originál' is a word-processing file (MIMETYPE exactly
    DOC, DOCX, RTF, ODT or Pages) has an 'originál ve výstupním datovém formátu' too."""
    holders, bad = checked_bases(p)
    yield from bad
    if not everywhere(p, "Komponenta"):
        return
    groups = list(_digital_groups(p, holders))
    files, bad_files = files_by_dmdid(p)
    yield from bad_files
    for item in groups:
        if isinstance(item, Hit):
            yield item
            continue
        _doc, _n, members = item
        if any(k.get("forma_uchovani") == OUTPUT for k in members):
            continue
        office = [k for k in members if k.get("forma_uchovani") == ORIGINAL and k.get("ID") is not None
                  and files.get(k.get("ID", "")) is not None
                  and files[k.get("ID", "")].get("MIMETYPE") in OFFICE]
        if office:
            yield p.hit(office[0], f"the '{ORIGINAL}' of {_label(members)} is a word-processing file "
                                   f"({files[office[0].get('ID', '')].get('MIMETYPE')}); an '{OUTPUT}' must be "
                                   "kept beside it")


@check
def obs106(p: Pkg) -> Iterator[Hit]:
    """A component number with an 'originál ve výstupním datovém formátu' has no other component
    of a higher version than the highest output-format one."""
    groups, bad = by_document(p, everywhere(p, "Komponenta"))
    yield from bad
    for per_number in groups.values():
        for members in per_number.values():
            numbers = versions(p, members)
            if isinstance(numbers, Hit):
                yield numbers
                continue
            outputs = [v for v, k in zip(numbers, members, strict=True) if k.get("forma_uchovani") == OUTPUT]
            if outputs and max(numbers) > max(outputs):
                yield p.hit(members[0], f"{_label(members)}: a version ({max(numbers)}) is higher than its latest "
                                        f"'{OUTPUT}' ({max(outputs)})", "verze")


@check
def obs107(p: Pkg) -> Iterator[Hit]:
    """In a base entity settled or closed after 31 July 2012, where the highest version of a
    component number is an 'originál ve výstupním datovém formátu', its mets:file MIMETYPE is
    exactly one of the output formats (PDF, PNG, TIFF, JPEG, MPEG, GIF, MP3, WAV, XML, DTD)."""
    if not p.files:
        return
    files, bad_files = files_by_dmdid(p)
    yield from bad_files
    comps = everywhere(p, "Komponenta")
    if not comps:
        return
    holders, bad = checked_bases(p)
    yield from bad
    groups, bad_numbers = by_document(p, (k for k in comps if inside(document_of(k), holders)))
    yield from bad_numbers
    for per_number in groups.values():
        for members in per_number.values():
            numbers = versions(p, members)
            if isinstance(numbers, Hit):
                yield numbers
                continue
            top = members[numbers.index(max(numbers))]  # the first of the highest version
            f = files.get(top.get("ID") or "") if top.get("ID") else None
            if top.get("forma_uchovani") == OUTPUT and f is not None and f.get("MIMETYPE") not in OUTPUT_TYPES:
                yield p.hit(f, f"the latest version of {_label(members)} is an output-format original in "
                               f"{f.get('MIMETYPE')!r}, not an output format ({', '.join(sorted(OUTPUT_TYPES))})",
                            "MIMETYPE")


def xsd_date(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) of an xs:date or xs:dateTime as written, else None."""
    m = _XSD_DATE.fullmatch(text)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


@check
def obs108(p: Pkg) -> Iterator[Hit]:
    """Inside the base entities, an element with the attribute datum and a text holds exactly
    the date (YYYY-MM-DD) of that attribute (an xs:date or xs:dateTime)."""
    for base in p.base_entities:
        for el in base.iter():
            stamp = el.get("datum") if isinstance(el.tag, str) else None
            text = raw(el) if stamp is not None else ""
            if stamp is None or not text:
                continue
            day = iso_date(text)
            stamped = xsd_date(stamp)
            if stamped is None:
                yield p.hit(el, f"the attribute datum {stamp!r} is not an xs:date or xs:dateTime", "datum")
            elif day is None:
                yield p.hit(el, f"the element holds {text!r}, not a date (YYYY-MM-DD)")
            elif stamped != (day.year, day.month, day.day):
                yield p.hit(el, f"the element says {text!r} but its attribute datum says {stamp!r}", "datum")


@check
def obs109(p: Pkg) -> Iterator[Hit]:
    """A component whose mets:file MIMETYPE is a ZIP or ASiC container type is kept as 'kontejner'
    (and mets:file elements come with components)."""
    if not p.files:
        return
    comps = everywhere(p, "Komponenta")
    if not comps:
        yield p.hit(p.files[0], "the package has mets:file elements but no nsesss:Komponenta")
        return
    by_id: dict[str, etree._Element] = {}
    for k in comps:
        by_id.setdefault(k.get("ID") or "", k)
    for f in p.files:
        if f.get("MIMETYPE") not in CONTAINER_FILES:
            continue
        k = by_id.get(f.get("DMDID") or "")
        if k is not None and k.get("forma_uchovani") != CONTAINER:
            yield p.hit(k, f"a component whose file is a container ({f.get('MIMETYPE')}) is kept as "
                           f"'{CONTAINER}'; found {k.get('forma_uchovani')!r}", "forma_uchovani")


@check
def obs110(p: Pkg) -> Iterator[Hit]:
    """A component kept as 'kontejner' has a mets:file whose MIMETYPE is a ZIP, ASiC, 602 form,
    e-mail, ISDOCX or PDF type."""
    by_dmdid: dict[str, etree._Element] = {}
    for f in p.files:
        by_dmdid.setdefault(f.get("DMDID") or "", f)
    for k in everywhere(p, "Komponenta"):
        if k.get("forma_uchovani") != CONTAINER:
            continue
        f = by_dmdid.get(k.get("ID") or "")
        if f is None:
            yield p.hit(k, "a container component has no mets:file (DMDID) describing its file")
        elif blank(f.get("MIMETYPE") or ""):
            yield p.hit(f, "the mets:file of a container component has no MIMETYPE", "MIMETYPE")
        elif f.get("MIMETYPE") not in CONTAINER_TYPES:
            yield p.hit(f, f"a container component must be a ZIP, ASiC, 602 form, e-mail, ISDOCX or PDF file; its "
                           f"mets:file says {f.get('MIMETYPE')!r}", "MIMETYPE")


@check
def obs111(p: Pkg) -> Iterator[Hit]:
    """A Komponenty with a component kept as 'kontejner' has another with a different form."""
    for box in everywhere(p, "Komponenty"):
        forms = [k.get("forma_uchovani") or "" for k in box.findall(p.n("Komponenta"))]
        if CONTAINER in forms and not any(f and f != CONTAINER for f in forms):
            k = box.findall(p.n("Komponenta"))[forms.index(CONTAINER)]
            yield p.hit(k, "a container is listed without the components taken out of it")
