"""Level 7, components (kom*): each component's size, checksum and format against its
mets:file, and PDF/A where the decree asks for it. The runner gives every component's
facts (size and digests from one read) in `Pkg.facts`, by normalised href."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from archa.transfer.nsesss.model import ComponentFacts, Hit, Pkg, Severity, as_int
from archa.transfer.nsesss.obs_components import NOT_CHECKED_BEFORE, ORIGINAL, OUTPUT
from archa.transfer.nsesss.registry import check

CHECKSUM_ALGORITHMS = {"SHA-256": "sha256", "SHA-512": "sha512", "SHA-1": "sha1", "MD5": "md5"}
# media types that name the same thing (archa compares the first of each pair)
MIME_ALIASES = {"text/xml": "application/xml", "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg",
                "audio/wav": "audio/x-wav", "audio/vnd.wave": "audio/x-wav", "audio/wave": "audio/x-wav",
                "audio/mp3": "audio/mpeg", "application/x-pdf": "application/pdf", "text/rtf": "application/rtf",
                "application/x-zip-compressed": "application/zip", "application/zip-compressed": "application/zip",
                "multipart/x-zip": "application/zip", "application/x-zip": "application/zip"}


def canonical_mime(value: str) -> str:
    base = value.split(";", 1)[0].strip().lower()
    return MIME_ALIASES.get(base, base)


def _components(p: Pkg) -> Iterator[tuple[etree._Element, str, ComponentFacts | None]]:
    for f in p.files:
        for loc in p.xp(f, "m:FLocat")[:1]:
            href = p.locate(loc)[0]
            yield f, href, p.facts.get(href)


def _unreadable(p: Pkg, f: etree._Element, href: str, facts: ComponentFacts | None) -> Hit | None:
    if facts is None:
        return p.hit(f, f"the component {href!r} is not in the package")
    if facts.error:
        return p.hit(f, f"the component {href!r} cannot be read: {facts.error}")
    return None


@check
def kom1(p: Pkg) -> Iterator[Hit]:
    for f, href, facts in _components(p):
        problem = _unreadable(p, f, href, facts)
        if problem:
            yield problem
        elif facts is not None and (f.get("SIZE") or "").strip() != str(facts.size):
            yield p.hit(f, f"SIZE {f.get('SIZE')!r} but {href} has {facts.size} bytes", "SIZE")


@check
def kom2(p: Pkg) -> Iterator[Hit]:
    for f, href, facts in _components(p):
        alg = CHECKSUM_ALGORITHMS.get(f.get("CHECKSUMTYPE") or "")
        if facts is None or facts.error or alg is None:
            if alg is None:
                yield p.hit(f, f"CHECKSUMTYPE {f.get('CHECKSUMTYPE')!r}: the checksum cannot be verified",
                            "CHECKSUMTYPE")
            continue
        found = facts.digests.get(alg, "")
        if (f.get("CHECKSUM") or "").strip().lower() != found:
            yield p.hit(f, f"the {f.get('CHECKSUMTYPE')} checksum of {href} is {found}, not "
                           f"{f.get('CHECKSUM')!r}: the component is damaged or not the one described", "CHECKSUM")


@check
def kom3(p: Pkg) -> Iterator[Hit]:
    from archa.preservation.identify import UNKNOWN, identify_many

    parts = [(f, href, facts) for f, href, facts in _components(p) if facts is not None and not facts.error]
    results = identify_many([facts.path for _f, _h, facts in parts], "siegfried") if parts else []
    p.formats.update((href, fmt) for (_f, href, _facts), fmt in zip(parts, results, strict=True))
    for (f, href, _facts), fmt in zip(parts, results, strict=True):
        declared = canonical_mime(f.get("MIMETYPE") or "")
        found = {canonical_mime(m) for m in fmt.mime.split(",") if m.strip()}
        if fmt.puid == UNKNOWN:
            yield p.hit(f, f"{href}: the format cannot be identified (Siegfried matches nothing), so it is not "
                           f"the declared MIMETYPE {f.get('MIMETYPE')!r}; is the file damaged?", "MIMETYPE")
        elif not found:
            yield p.hit(f, f"{href}: Siegfried identifies {fmt.puid} {fmt.name}, a format with no media type in "
                           f"PRONOM, so MIMETYPE {f.get('MIMETYPE')!r} cannot be confirmed", "MIMETYPE",
                        Severity.WARNING)
        elif declared not in found:
            yield p.hit(f, f"MIMETYPE {f.get('MIMETYPE')!r}, but {href} is {fmt.puid} {fmt.name} "
                           f"({', '.join(sorted(found))})", "MIMETYPE")


def pdfa_candidates(p: Pkg) -> Iterator[etree._Element]:
    """Components that kom4 holds to PDF/A: the latest original or output-format original of a
    digital document, in a PDF."""
    for doc in p.entities:
        box = doc.find(p.n("Komponenty"))
        if box is None or p.analog(doc) != "ne":
            continue
        for members in p.groups(box).values():
            latest = max((v for v in (as_int(k.get("verze")) for k in members) if v is not None), default=None)
            for k in members:
                if k.get("forma_uchovani") in (ORIGINAL, OUTPUT) and as_int(k.get("verze")) == latest \
                        and canonical_mime(p.mimetype_of(k)) == "application/pdf":
                    yield k


@check
def kom4(p: Pkg) -> Iterator[Hit]:
    if p.settled_by(NOT_CHECKED_BEFORE):
        return
    from archa.preservation.identify import identify_many
    from archa.preservation.pdfa import PDFA_PUIDS, check_pdfa

    for k in pdfa_candidates(p):
        f = p.file_of(k)
        locs = p.xp(f, "m:FLocat") if f is not None else []
        href = p.locate(locs[0])[0] if locs else ""
        facts = p.facts.get(href)
        if f is None or facts is None or facts.error:
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
