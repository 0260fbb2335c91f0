"""Level 6, content (obs*), part four: the components of a document (obs98a-obs111): their
numbers, versions and forms of keeping, output formats and containers; and obs108 (dates)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date

from lxml import etree

from archa.transfer.nsesss.model import (
    Hit,
    Pkg,
    as_int,
    norm,
    parse_date,
)
from archa.transfer.nsesss.registry import check

ORIGINAL = "originál"
OUTPUT = "originál ve výstupním datovém formátu"
CONTAINER = "kontejner"
DIGITISED = "digitalizát"
OFFICE = {"application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          "application/rtf", "application/vnd.oasis.opendocument.text", "application/vnd.apple.pages"}
OUTPUT_TYPES = {"application/pdf", "image/png", "image/tiff", "image/jpeg", "video/mpeg", "image/gif",
                "audio/mpeg", "audio/x-wav", "application/xml", "application/xml-dtd"}
CONTAINER_FILES = {"application/zip", "application/zip-compressed", "application/x-zip-compressed",
                   "multipart/x-zip", "application/vnd.etsi.asic-e+zip", "application/vnd.etsi.asic-s+zip"}
CONTAINER_TYPES = CONTAINER_FILES | {"application/vnd.software602.filler.form+xml",
                                     "application/vnd.software602.filler.form-xml-zip", "message/rfc822",
                                     "application/vnd.isac.fcs.isdocx", "application/pdf"}
NOT_CHECKED_BEFORE = date(2012, 7, 31)  # § 23(2) output formats: records settled by then are exempt


@check
def obs98a(p: Pkg) -> Iterator[Hit]:
    for k in p.components:
        if k.get("forma_uchovani") == DIGITISED:
            doc = p.parent(k)
            if doc is not None and p.analog(doc) != "ano":
                yield p.hit(k, "a digitised copy ('digitalizát') belongs to an analogue document "
                               f"(AnalogovyDokument 'ano'); the document says {p.analog(doc)!r}")


def _komponenty(p: Pkg) -> list[etree._Element]:
    return list(p.tree.iter(p.n("Komponenty")))


@check
def obs100(p: Pkg) -> Iterator[Hit]:
    for box in _komponenty(p):
        numbers = [as_int(k.get("poradi")) for k in box.findall(p.n("Komponenta"))]
        last = 0
        for k, n in zip(box.findall(p.n("Komponenta")), numbers, strict=True):
            if n is None or n not in (last, last + 1) or n == 0:
                yield p.hit(k, f"components must be numbered 1, 2, 3, … in order without gaps; poradi "
                               f"{k.get('poradi')!r} follows {last}", "poradi")
                break
            last = n


def _groups(p: Pkg, digital_only: bool = False) -> Iterator[tuple[etree._Element, list[etree._Element]]]:
    for box in _komponenty(p):
        doc = box.getparent()
        if digital_only and (doc is None or p.analog(doc) != "ne"):
            continue
        for members in p.groups(box).values():
            yield box, members


@check
def obs101(p: Pkg) -> Iterator[Hit]:
    for _box, members in _groups(p):
        kinds = {k.get("druh") for k in members}
        if len(kinds) > 1:
            yield p.hit(members[0], f"components numbered {members[0].get('poradi')} have different kinds (druh): "
                                    f"{sorted(map(str, kinds))}", "druh")


@check
def obs102(p: Pkg) -> Iterator[Hit]:
    for _box, members in _groups(p):
        found = [as_int(k.get("verze")) for k in members]
        versions = [v for v in found if v is not None]
        ascending = len(versions) == len(found) and all(a < b for a, b in itertools.pairwise(versions)) and \
            (p.version == 4 or versions[0] == 1)
        if not ascending:
            yield p.hit(members[0], f"the versions of component {members[0].get('poradi')} must ascend without "
                                    f"repeats{' from 1' if p.version == 3 else ''}; found "
                                    f"{[k.get('verze') for k in members]}", "verze")


def _latest(members: list[etree._Element]) -> int | None:
    versions = [v for v in (as_int(k.get("verze")) for k in members) if v is not None]
    return max(versions) if versions else None


def _count(members: list[etree._Element], form: str, version: int | None = None) -> int:
    return sum(1 for k in members if k.get("forma_uchovani") == form
               and (version is None or as_int(k.get("verze")) == version))


@check
def obs103(p: Pkg) -> Iterator[Hit]:
    for _box, members in _groups(p, digital_only=True):
        n = _count(members, ORIGINAL)
        if n != 1:
            yield p.hit(members[0], f"component {members[0].get('poradi')} must have exactly one version kept as "
                                    f"'{ORIGINAL}'; found {n}", "forma_uchovani")


@check
def obs104(p: Pkg) -> Iterator[Hit]:
    for _box, members in _groups(p, digital_only=True):
        if _count(members, OUTPUT) == 0 and _count(members, ORIGINAL, _latest(members)) != 1:
            yield p.hit(members[0], f"component {members[0].get('poradi')} has no output-format original, so its "
                                    f"latest version ({_latest(members)}) must be the one '{ORIGINAL}'", "verze")


@check
def obs105(p: Pkg) -> Iterator[Hit]:
    if p.settled_by(NOT_CHECKED_BEFORE):
        return
    for _box, members in _groups(p, digital_only=True):
        office = [k for k in members if k.get("forma_uchovani") == ORIGINAL and p.mimetype_of(k) in OFFICE]
        if office and _count(members, OUTPUT) == 0:
            yield p.hit(office[0], f"the original is a word-processing file ({p.mimetype_of(office[0])}); "
                                   f"an '{OUTPUT}' must be kept beside it")


@check
def obs106(p: Pkg) -> Iterator[Hit]:
    for _box, members in _groups(p):
        if _count(members, OUTPUT) and _count(members, OUTPUT, _latest(members)) != 1:
            yield p.hit(members[0], f"component {members[0].get('poradi')}: its latest version "
                                    f"({_latest(members)}) must be the one '{OUTPUT}'", "verze")


@check
def obs107(p: Pkg) -> Iterator[Hit]:
    if p.settled_by(NOT_CHECKED_BEFORE):
        return
    for _box, members in _groups(p):
        latest = _latest(members)
        for k in members:
            if k.get("forma_uchovani") == OUTPUT and as_int(k.get("verze")) == latest and p.file_of(k) is not None \
                    and p.mimetype_of(k) not in OUTPUT_TYPES:
                yield p.hit(k, f"the output-format original is {p.mimetype_of(k)!r}, not an output format "
                               f"({', '.join(sorted(OUTPUT_TYPES))})")


@check
def obs108(p: Pkg) -> Iterator[Hit]:
    for el in p.tree.iter(p.n("*")):
        stamp = el.get("datum")
        if stamp is not None and parse_date(stamp) != parse_date(norm(el.text)):
            yield p.hit(el, f"the element says {norm(el.text)!r} but its attribute datum says {stamp!r}", "datum")


@check
def obs109(p: Pkg) -> Iterator[Hit]:
    for k in p.components:
        if p.mimetype_of(k) in CONTAINER_FILES and k.get("forma_uchovani") != CONTAINER:
            yield p.hit(k, f"a component whose file is a container ({p.mimetype_of(k)}) is kept as "
                           f"'{CONTAINER}'; found {k.get('forma_uchovani')!r}", "forma_uchovani")


@check
def obs110(p: Pkg) -> Iterator[Hit]:
    for k in p.components:
        if k.get("forma_uchovani") == CONTAINER and p.mimetype_of(k) not in CONTAINER_TYPES:
            yield p.hit(k, f"a container component must be a ZIP, ASiC, 602 form, e-mail, ISDOCX or PDF file; its "
                           f"mets:file says {p.mimetype_of(k) or 'nothing'!r}")


@check
def obs111(p: Pkg) -> Iterator[Hit]:
    for k in p.components:
        if k.get("forma_uchovani") == CONTAINER:
            box = k.getparent()
            others = [o for o in box.findall(p.n("Komponenta")) if o.get("forma_uchovani") != CONTAINER] \
                if box is not None else []
            if not others:
                yield p.hit(k, "a container is listed without the components taken out of it")


