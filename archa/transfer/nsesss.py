"""`archa transfer nsesss`: a Czech ERMS (NSESSS) SIP, v4 or v3, checked and made a bag.

The package (a folder, or a ZIP holding one top folder named like it) is checked
completely before anything is kept: structure, `mets.xml` (UTF-8 without BOM, well-formed,
no DOCTYPE, parsed with entities and network off, valid against METS + NSESSS + the
transaction-log schema of its generation), and every component's size and checksum
against its `mets:file`, every component referenced and every reference present. The bag's
payload is the package byte for byte (`data/<name>/mets.xml`, `data/<name>/komponenty/`);
its bag-info carries the lifted metadata (ids with their source system, title, filing-plan
code, settled/closed date, originator, purpose) and the retention (sign, period, trigger
year and the year it ends), which ingest records in the catalog. See ../docs/design.md for
the NSS codes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from archa.ingest.copier import ProgressFn
from archa.ingest.extract import Limits, unsafe_name
from archa.ingest.xmlsafe import UnsafeXml, parse_untrusted, wrapper_schema
from archa.repository.retention import Retention, combine, to_bag_info
from archa.transfer.folder import TransferResult
from archa.transfer.package import Check, package_bag, take_payload

METS = "http://www.loc.gov/METS/"
XLINK = "http://www.w3.org/1999/xlink"
GENERATIONS = {"http://www.mvcr.cz/nsesss/v4": 4, "http://www.mvcr.cz/nsesss/v3": 3}
UNSUPPORTED = {"http://www.mvcr.cz/nsesss/v2": "NSESSS v2 (2012)"}
CHECKSUMS = {"SHA-256": "sha256", "SHA-512": "sha512", "SHA-1": "sha1"}
PURPOSES = {"Datový balíček pro provedení skartačního řízení": "disposal review",
            "Datový balíček pro předávání dokumentů a jejich metadat do archivu": "transfer to an archive"}
BASE_ENTITIES = ("Dokument", "Spis", "Dil")
CLOSED_DATE = {"Dokument": "Vyrizeni", "Spis": "VyrizeniUzavreni", "Dil": "Uzavreni"}
V4_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_SCHEMA_ERRORS = 20


@dataclass
class Component:
    href: str  # normalized: komponenty/...
    size: int
    checksum: str
    alg: str  # hashlib name


@dataclass
class NsesssPackage:
    """What the importer learned from mets.xml."""

    generation: int
    name: str
    objid: str
    label: str
    entity_type: str
    entity_id: str
    ids: list[tuple[str, str]] = field(default_factory=list)  # (source system, value)
    title: str = ""
    filing_code: str = ""
    closed: str = ""
    originator: str = ""
    retention: Retention | None = None
    components: list[Component] = field(default_factory=list)


def _text(el: etree._Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _local(el: etree._Element) -> str:
    return str(etree.QName(el).localname)


def read_mets(data: bytes, check: Check, name: str) -> NsesssPackage | None:
    """Parse and validate mets.xml and lift its metadata; problems go to `check`."""
    where = f"{name}/mets.xml"
    if data.startswith(b"\xef\xbb\xbf"):
        check.error("NSS006", "mets.xml starts with a byte-order mark; NSESSS requires UTF-8 without BOM", where)
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        check.error("NSS006", f"mets.xml is not UTF-8 ({e.reason} at byte {e.start})", where)
        return None
    try:
        root = parse_untrusted(data)
    except UnsafeXml as e:
        check.error("NSS008", f"{e}; the package is refused", where)
        return None
    except etree.XMLSyntaxError as e:
        check.error("NSS007", f"mets.xml is not well-formed XML: {e.msg} (line {e.lineno})", where)
        return None
    if root.tag != f"{{{METS}}}mets":
        check.error("NSS009", f"the root element is {root.tag}, not mets:mets", where)
        return None
    namespaces: set[str | None] = set()
    for el in root.iter():
        if isinstance(el.tag, str):
            namespaces.update(el.nsmap.values())
            namespaces.add(etree.QName(el).namespace)
    for ns, what in UNSUPPORTED.items():
        if ns in namespaces:
            check.error("NSS010", f"{what} packages (namespace {ns}) are not supported; ask the producer for an "
                                  "export in NSESSS v3 (2017) or v4 (2024)", where)
            return None
    gens = {GENERATIONS[ns] for ns in namespaces if ns in GENERATIONS}
    if len(gens) != 1:
        check.error("NSS010", "no NSESSS namespace found (expected http://www.mvcr.cz/nsesss/v4 or "
                              "http://www.mvcr.cz/nsesss/v3)" if not gens else "both NSESSS v3 and v4 namespaces used",
                    where)
        return None
    generation = gens.pop()
    schema = wrapper_schema(f"nsesss-v{generation}")
    if not schema.validate(root):
        for err in list(schema.error_log)[:MAX_SCHEMA_ERRORS]:
            check.error("NSS011", f"not valid against the METS + NSESSS v{generation} schemas: {err.message}",
                        f"{where}:{err.line}")
        return None
    return _lift(root, generation, name, check)


def _lift(root: etree._Element, generation: int, name: str, check: Check) -> NsesssPackage | None:
    where = f"{name}/mets.xml"
    ns = next(k for k, v in GENERATIONS.items() if v == generation)
    N = {"m": METS, "n": ns, "x": XLINK}
    bases = [el for el in root.xpath("m:dmdSec/m:mdWrap/m:xmlData/*", namespaces=N)
             if etree.QName(el).namespace == ns and _local(el) in BASE_ENTITIES]
    if len(root.xpath("m:dmdSec", namespaces=N)) != 1 or len(bases) != 1:
        check.error("NSS018", "mets.xml must hold exactly one dmdSec with one base entity "
                              f"(nsesss:Dokument, nsesss:Spis or nsesss:Dil); found {len(bases)}", where)
        return None
    base = bases[0]
    kind = _local(base)
    eu = base.find(f"{{{ns}}}EvidencniUdaje")
    pkg = NsesssPackage(generation, name, root.get("OBJID", ""), root.get("LABEL", ""), kind, base.get("ID", ""))
    pkg.ids = [(i.get("zdroj", ""), _text(i)) for i in eu.xpath("n:Identifikace/n:Identifikator", namespaces=N)]
    pkg.title = _text(eu.find(f"{{{ns}}}Popis/{{{ns}}}Nazev"))
    pkg.filing_code = _text(eu.find(f"{{{ns}}}Trideni/{{{ns}}}PlneUrcenySpisovyZnak"))
    pkg.closed = _text(eu.find(f"{{{ns}}}{CLOSED_DATE[kind]}/{{{ns}}}Datum"))
    pkg.originator = _text(root.find(f"{{{METS}}}metsHdr/{{{METS}}}agent[@TYPE='ORGANIZATION'][@ROLE='CREATOR']/"
                                     f"{{{METS}}}name"))
    regimes = []
    for vyr in base.iter(f"{{{ns}}}Vyrazovani"):
        owner = vyr.getparent().getparent()
        regimes.append(_retention(vyr, ns, f"{_local(owner)} {owner.get('ID', '')}", pkg.closed, check, where))
    pkg.retention = combine(f"{kind} {pkg.entity_id}", [r for r in regimes if r is not None])
    if generation == 4 and not V4_NAME.match(name):
        check.error("NSS004", "a v4 package name may use only A-Z, a-z, 0-9, '_' and '-', at most 64 characters",
                    name)
    _components(root, N, check, where, pkg)
    return pkg


def _retention(vyr: etree._Element, ns: str, entity: str, closed: str, check: Check,
               where: str) -> Retention | None:
    q = f"{{{ns}}}"
    rezim = vyr.find(f"{q}SkartacniRezim")
    sign = _text(rezim.find(f"{q}SkartacniZnak")) if rezim is not None else ""
    period_s = _text(rezim.find(f"{q}SkartacniLhuta")) if rezim is not None else ""
    year_s = _text(rezim.find(f"{q}RokVyrazeni")) if rezim is not None else ""
    trigger_s = _text(vyr.find(f"{q}DataceVyrazeni/{q}RokSpousteciUdalosti"))
    if not trigger_s and closed[:4].isdigit():
        trigger_s = closed[:4]
        check.warn("NSSW03", f"{entity}: no DataceVyrazeni/RokSpousteciUdalosti; the year of the "
                             f"settled/closed date ({trigger_s}) is taken as the trigger year", where)
    if not sign:
        return None
    period = int(period_s) if period_s.isdigit() else None
    trigger = int(trigger_s[:4]) if trigger_s[:4].isdigit() else None
    until = int(year_s[:4]) if year_s[:4].isdigit() else (trigger + 1 + period
                                                          if trigger is not None and period is not None else None)
    stated = _text(vyr.find(f"{q}DataceVyrazeni/{q}RokSkartacniOperace"))
    if stated[:4].isdigit() and until is not None and int(stated[:4]) != until:
        check.warn("NSSW04", f"{entity}: RokSkartacniOperace {stated} differs from trigger year + 1 + period "
                             f"= {until}; archa uses {until}", where)
    return Retention(entity, sign, period, trigger, until)


def _components(root: etree._Element, N: dict[str, str], check: Check, where: str, pkg: NsesssPackage) -> None:
    for f in root.xpath("m:fileSec//m:file", namespaces=N):
        fid = f.get("ID", "?")
        hrefs = [loc.get(f"{{{XLINK}}}href", "") for loc in f.findall(f"{{{METS}}}FLocat")]
        if len(hrefs) != 1 or not hrefs[0]:
            check.error("NSS017", f"mets:file {fid} must have exactly one FLocat with an xlink:href", where)
            continue
        href = hrefs[0]
        if "\\" in href:
            check.warn("NSSW01", f"mets:file {fid}: backslashes in xlink:href {href!r} read as '/'", where)
            href = href.replace("\\", "/")
        href = href.removeprefix("./")
        if unsafe_name(href) or not href.startswith("komponenty/") or href.endswith("/"):
            check.error("NSS017", f"mets:file {fid}: xlink:href {hrefs[0]!r} does not name a file under komponenty/",
                        where)
            continue
        ctype = f.get("CHECKSUMTYPE", "")
        alg = CHECKSUMS.get(ctype)
        if alg is None:
            check.error("NSS016", f"mets:file {fid}: CHECKSUMTYPE {ctype!r} is not SHA-256, SHA-512 (or SHA-1)", where)
            continue
        if alg == "sha1":
            check.warn("NSSW02", f"mets:file {fid}: SHA-1 checksum accepted, but it is too weak for new packages",
                       where)
        size = f.get("SIZE", "")
        if not size.isdigit() or not f.get("CHECKSUM"):
            check.error("NSS017", f"mets:file {fid}: SIZE and CHECKSUM are required", where)
            continue
        pkg.components.append(Component(href, int(size), f.get("CHECKSUM", "").lower(), alg))


def check_package(folder: Path, check: Check) -> NsesssPackage | None:
    """Structure, mets.xml and every component of the package folder."""
    name = folder.name
    entries = sorted(p.name for p in folder.iterdir())
    stray = [n for n in entries if n not in ("mets.xml", "komponenty")]
    if stray:
        check.error("NSS003", "the package folder may hold only mets.xml and komponenty/; also found "
                              + ", ".join(stray[:10]), name)
    mets = folder / "mets.xml"
    if not mets.is_file():
        check.error("NSS005", "mets.xml is missing", name)
        return None
    if (folder / "komponenty").exists() and not (folder / "komponenty").is_dir():
        check.error("NSS003", "komponenty is not a folder", f"{name}/komponenty")
    pkg = read_mets(mets.read_bytes(), check, name)
    if pkg is None:
        return None
    on_disk = {p.relative_to(folder).as_posix(): p for p in (folder / "komponenty").rglob("*")
               if p.is_file() or p.is_symlink()} if (folder / "komponenty").is_dir() else {}
    for rel, p in on_disk.items():
        if p.is_symlink():
            check.error("NSS017", "symbolic link among the components", f"{name}/{rel}")
    referenced = {c.href for c in pkg.components}
    for c in pkg.components:
        if c.href not in on_disk:
            check.error("NSS014", "component referenced by mets.xml is missing", f"{name}/{c.href}")
    for rel in sorted(set(on_disk) - referenced):
        check.error("NSS015", "file under komponenty/ that no mets:file references", f"{name}/{rel}")
    return pkg


def verify_components(pkg: NsesssPackage, digests: dict[str, dict[str, str]], sizes: dict[str, int],
                      check: Check) -> None:
    """Compare each component's size and checksum (computed while copying) with mets.xml."""
    for c in pkg.components:
        if c.href not in sizes:
            continue
        where = f"{pkg.name}/{c.href}"
        if sizes[c.href] != c.size:
            check.error("NSS012", "component size differs from mets:file SIZE", where, str(c.size), str(sizes[c.href]))
        elif digests[c.href][c.alg] != c.checksum:
            check.error("NSS013", f"component {c.alg} checksum differs from mets:file CHECKSUM", where,
                        c.checksum, digests[c.href][c.alg])


def bag_info(pkg: NsesssPackage, meta: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    purpose = PURPOSES.get(pkg.label, pkg.label)
    info = [("Title", pkg.title or pkg.objid), ("Source-Organization", pkg.originator),
            ("Originator", pkg.originator)]
    info += [("External-Identifier", f"{value} ({source})" if source else value) for source, value in pkg.ids]
    info += [("Internal-Sender-Identifier", pkg.objid),
             ("External-Description", f"NSESSS v{pkg.generation} {pkg.entity_type} {pkg.entity_id}: {pkg.title}"),
             ("Package-Purpose", f"{purpose} ({pkg.label})" if purpose != pkg.label else pkg.label),
             ("Filing-Code", pkg.filing_code), ("Date-Closed", pkg.closed), ("NSESSS-Version", str(pkg.generation))]
    if pkg.retention is not None:
        info += to_bag_info(pkg.retention)
    return [(k, v) for k, v in info if v] + list(meta)


def transfer_nsesss(sip: Path, out: Path, meta: Sequence[tuple[str, str]], limits: Limits, jobs: int = 4,
                    progress: ProgressFn | None = None) -> tuple[TransferResult, NsesssPackage]:
    """Check the NSESSS package `sip` and write it as the bag `out` (see the module docstring).

    Raises SipRejected with every problem found (nothing is written then; `sip` is only
    read) or UsageError (OUT exists)."""
    sip, out = sip.absolute(), out.absolute()
    with package_bag(sip, out, limits, "NSS") as (check, draft, folder):
        pkg = check_package(folder, check)
        check.reject_if_errors()
        assert pkg is not None
        outcomes = take_payload(draft, folder, jobs, progress, tuple(sorted({c.alg for c in pkg.components})))
        for key, o in outcomes.items():
            if o.error:
                check.error("NSS019", o.error, key)
        rel = {o.key.split("/", 1)[1]: o for o in outcomes.values()}
        verify_components(pkg, {k: o.digests for k, o in rel.items()}, {k: o.size for k, o in rel.items()}, check)
        check.reject_if_errors()
        draft.info = bag_info(pkg, meta)
        draft.tag_files["transfer-report.txt"] = "".join(
            [f"archa transfer nsesss {sip}: NSESSS v{pkg.generation}, {len(pkg.components)} component(s)\n"]
            + [f"{f.code}\t{f.path}\t{f.message}\n" for f in check.findings])
        draft.finish(out)
    result = TransferResult("nsesss", str(sip), str(out), len(draft.payload), sum(p.size for p in draft.payload),
                            check.findings, draft.info)
    return result, pkg
