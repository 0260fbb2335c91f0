"""Level 7, components (kom*): each component's size, checksum and format against its
mets:file, and PDF/A where the decree asks for it. The runner gives every component's
facts (size and digests from one read) in `Pkg.facts`, by normalised href.

As in the national validator, kom1-kom3 walk every mets:file: one without an FLocat, an href
or a file behind it is an error of each of them. Attribute values are compared as written.
(Unlike zaf, the file an href names is found also when the href is percent-encoded or in
another Unicode normalisation: `Pkg.locate`.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from archa.transfer.nsesss.model import XLINK, ComponentFacts, Hit, Pkg, Severity
from archa.transfer.nsesss.obs_components import (
    ORIGINAL,
    OUTPUT,
    by_document,
    checked_bases,
    digital_documents,
    document_of,
    inside,
    java_int,
)
from archa.transfer.nsesss.obs_filing import blank, everywhere
from archa.transfer.nsesss.registry import check

# hashlib names of the CHECKSUMTYPE values archa hashes for (the runner reads each file once)
CHECKSUM_ALGORITHMS = {"SHA-256": "sha256", "SHA-512": "sha512", "SHA-1": "sha1", "MD5": "md5"}
ALLOWED_CHECKSUMS = ("SHA-256", "SHA-512")  # the only ones zaf accepts
ZFO = "application/vnd.software602.filler.form-xml-zip"
DATA_MESSAGE_MARK = "</q:dmHash><q:dmQTimestamp>"  # in the XML of an ISDS data message (.zfo)


def _components(p: Pkg) -> Iterator[tuple[etree._Element, str, ComponentFacts] | Hit]:
    """Every mets:file with its href and the facts of its file, or the finding why there are none."""
    for f in p.files:
        loc = f.find(p.m("FLocat"))
        if loc is None:
            yield p.hit(f, "mets:file has no mets:FLocat")
            continue
        if blank(loc.get(f"{{{XLINK}}}href") or ""):
            yield p.hit(loc, "mets:FLocat has no xlink:href", "xlink:href")
            continue
        href = p.locate(loc)[0]
        facts = p.facts.get(href)
        if facts is None:
            yield p.hit(loc, f"the component {href!r} is not in the package", "xlink:href")
        elif facts.error:
            yield p.hit(loc, f"the component {href!r} cannot be read: {facts.error}", "xlink:href")
        else:
            yield f, href, facts


@check
def kom1(p: Pkg) -> Iterator[Hit]:
    """Every mets:file has a SIZE that is exactly the size of its component in bytes."""
    for item in _components(p):
        if isinstance(item, Hit):
            yield item
            continue
        f, href, facts = item
        size = f.get("SIZE") or ""
        if blank(size):
            yield p.hit(f, "mets:file has no SIZE", "SIZE")
        elif size != str(facts.size):
            yield p.hit(f, f"SIZE {size!r} but {href} has {facts.size} bytes", "SIZE")


@check
def kom2(p: Pkg) -> Iterator[Hit]:
    """Every mets:file has CHECKSUMTYPE SHA-256 or SHA-512 and the CHECKSUM of its component."""
    for item in _components(p):
        if isinstance(item, Hit):
            yield item
            continue
        f, href, facts = item
        kind, declared = f.get("CHECKSUMTYPE") or "", f.get("CHECKSUM") or ""
        if blank(kind):
            yield p.hit(f, "mets:file has no CHECKSUMTYPE", "CHECKSUMTYPE")
        elif blank(declared):
            yield p.hit(f, "mets:file has no CHECKSUM", "CHECKSUM")
        elif kind not in ALLOWED_CHECKSUMS:
            yield p.hit(f, f"CHECKSUMTYPE {kind!r}: only SHA-256 and SHA-512 are accepted", "CHECKSUMTYPE")
        else:
            found = facts.digests.get(CHECKSUM_ALGORITHMS[kind], "")
            if declared.lower() != found.lower():
                yield p.hit(f, f"the {kind} checksum of {href} is {found}, not {declared!r}: the component is "
                               "damaged or not the one described", "CHECKSUM")


def mime_matches(detected: str, declared: str) -> bool:
    """zaf's test: the same string, or the detected type with its first 'application' read as
    'text' (application/xml detected, text/xml declared)."""
    return detected == declared or detected.replace("application", "text", 1) == declared


def is_data_message(path: Path) -> bool:
    """zaf's test for an ISDS data message: the mark on one of the lines it reads (it reads the
    lines in pairs and looks at the second of each pair)."""
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh):
                if n % 2 == 1 and DATA_MESSAGE_MARK in line:
                    return True
    except (OSError, UnicodeDecodeError):
        return False
    return False


@check
def kom3(p: Pkg) -> Iterator[Hit]:
    """Every mets:file MIMETYPE is the media type Siegfried gives for its component (PRONOM), as
    zaf compares them: the same string, or 'application/…' found for a declared 'text/…';
    a ZIP found as application/x-zip-compressed passes as application/zip, a DBF or a PKCS#7
    signature as a 602 form (.zfo), and a PKCS#7 signature also as an ISDS data message."""
    from archa.preservation.identify import UNKNOWN, identify_many

    parts: list[tuple[etree._Element, str, ComponentFacts]] = []
    for item in _components(p):
        if isinstance(item, Hit):
            yield item
        else:
            parts.append(item)
    results = identify_many([facts.path for _f, _h, facts in parts], "siegfried",
                            digests=[facts.digests for _f, _h, facts in parts]) if parts else []
    p.formats.update((href, fmt) for (_f, href, _facts), fmt in zip(parts, results, strict=True))
    for (f, href, facts), fmt in zip(parts, results, strict=True):
        declared = f.get("MIMETYPE") or ""
        found = fmt.mime
        if blank(declared):
            yield p.hit(f, "mets:file has no MIMETYPE", "MIMETYPE")
        elif fmt.puid == UNKNOWN:
            yield p.hit(f, f"{href}: the format cannot be identified (Siegfried matches nothing), so it is not "
                           f"the declared MIMETYPE {declared!r}; is the file damaged?", "MIMETYPE")
        elif blank(found):
            yield p.hit(f, f"{href}: Siegfried identifies {fmt.puid} {fmt.name}, a format with no media type in "
                           f"PRONOM, so MIMETYPE {declared!r} cannot be confirmed", "MIMETYPE")
        elif mime_matches(found, declared):
            continue
        elif found == "application/x-zip-compressed":
            if declared != "application/zip":
                yield p.hit(f, f"MIMETYPE {declared!r}, but {href} is {found}", "MIMETYPE")
        elif found == "application/x-dbf":
            if declared != ZFO:
                yield p.hit(f, f"MIMETYPE {declared!r}, but {href} is {found}", "MIMETYPE")
        elif found == "application/pkcs7-signature":
            if declared != ZFO and not is_data_message(facts.path):
                yield p.hit(f, f"MIMETYPE {declared!r}, but {href} is {found} and not an ISDS data message",
                            "MIMETYPE")
        else:
            yield p.hit(f, f"MIMETYPE {declared!r}, but {href} is {fmt.puid} {fmt.name} ({found})", "MIMETYPE")


def pdfa_candidates(p: Pkg) -> tuple[list[etree._Element], list[Hit]]:
    """The mets:file elements kom4 holds to PDF/A, and findings met on the way. A candidate is,
    per component number of a document with AnalogovyDokument 'ne' in a base entity settled or
    closed after 31 July 2012, the first component of the highest version among those kept as
    'originál' or 'originál ve výstupním datovém formátu'; its mets:file counts when its MIMETYPE
    is application/pdf (in any case)."""
    holders, bad = checked_bases(p)
    digital = {d for d in digital_documents(p) if inside(d, holders)}
    comps = [k for k in everywhere(p, "Komponenta") if document_of(k) in digital
             and k.get("forma_uchovani") in (ORIGINAL, OUTPUT)]
    groups, bad_numbers = by_document(p, comps)
    bad += bad_numbers
    ids: set[str] = set()
    for numbers in groups.values():
        for members in numbers.values():
            top, top_version = members[0], java_int(members[0].get("verze"))
            for k in members[1:]:
                v = java_int(k.get("verze"))
                if v is None or top_version is None:
                    bad.append(p.hit(k, f"verze {k.get('verze')!r} is not a number", "verze"))
                    break
                if v > top_version:
                    top, top_version = k, v
            if not top.get("ID"):
                bad.append(p.hit(top, "a component to be checked for PDF/A has no ID"))
                continue
            ids.add(top.get("ID", ""))
    files = [f for f in p.files if f.get("DMDID") in ids and (f.get("MIMETYPE") or "").lower() == "application/pdf"]
    return files, bad


@check
def kom4(p: Pkg) -> Iterator[Hit]:
    """The PDF file of the latest original or output-format original of each component of a
    digital document is PDF/A (see `pdfa_candidates`; base entities settled or closed by
    31 July 2012 are not checked). Files not under komponenty/ or not in the package are skipped."""
    from archa.preservation.identify import identify_many
    from archa.preservation.pdfa import PDFA_PUIDS, check_pdfa

    files, bad = pdfa_candidates(p)
    yield from bad
    for f in files:
        for loc in f.findall(p.m("FLocat")):
            raw_href = loc.get(f"{{{XLINK}}}href")
            if raw_href is None:
                yield p.hit(loc, "the FLocat of a PDF to be checked for PDF/A has no xlink:href", "xlink:href")
                continue
            if not raw_href.startswith("komponenty"):
                continue
            href = p.locate(loc)[0]
            facts = p.facts.get(href)
            if facts is None or facts.error:
                continue
            report = check_pdfa(facts.path)
            if not report.ok:
                yield p.hit(f, f"{href} must be PDF/A but is {report.label}: {'; '.join(report.problems)}")
                continue
            known = p.formats.get(href)
            puid = (known or identify_many([facts.path], "siegfried")[0]).puid
            if PDFA_PUIDS.get(puid, ("", ""))[0] != report.part:
                yield p.hit(f, f"{href} declares {report.label} in its XMP, but Siegfried identifies "
                               f"{puid}", severity=Severity.WARNING)
