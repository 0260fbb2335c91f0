"""`archa transfer eark`: an E-ARK CSIP/SIP checked and made a bag.

The package (a folder, or a ZIP holding one top folder named like it) has a root
`METS.xml`, `representations/<name>/data/...`, and usually `metadata/`, `schemas/`,
`documentation/` and a `METS.xml` per representation. Every METS is parsed safely (no
DOCTYPE, entities and network off) and validated against METS 1.12; every `mets:file` it
lists is checked (size, checksum), every listed file must exist, and every file of the
package must be listed by one of the METS documents. The bag's payload is the package byte
for byte, METS included, kept as source metadata; bag-info carries its OBJID, LABEL,
creator organisation and package type. See docs/design.md for the EAR codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from archa.metadata.xmlsafe import UnsafeXml, parse_untrusted, wrapper_schema
from archa.repository.copying import ProgressFn
from archa.repository.unpacking import Limits, unsafe_name
from archa.transfer.folder import TransferResult
from archa.transfer.package import Check, package_bag, take_payload

METS = "http://www.loc.gov/METS/"
XLINK = "http://www.w3.org/1999/xlink"
CSIP = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
CHECKSUMS = {"SHA-256": "sha256", "SHA-512": "sha512", "SHA-1": "sha1", "MD5": "md5", "SHA-384": "sha384"}


@dataclass
class Listed:
    path: str  # package-relative
    size: int | None
    checksum: str
    alg: str
    mets: str  # which METS lists it


@dataclass
class EarkPackage:
    name: str
    objid: str = ""
    label: str = ""
    creator: str = ""
    package_type: str = ""
    content_type: str = ""
    listed: dict[str, Listed] = field(default_factory=dict)
    mets_files: list[str] = field(default_factory=list)


def _read_mets(folder: Path, rel: str, check: Check, pkg: EarkPackage) -> etree._Element | None:
    try:
        root = parse_untrusted((folder / rel).read_bytes())
    except UnsafeXml as e:
        check.error("EAR004", f"{e}; the package is refused", f"{pkg.name}/{rel}")
        return None
    except etree.XMLSyntaxError as e:
        check.error("EAR004", f"not well-formed XML: {e.msg} (line {e.lineno})", f"{pkg.name}/{rel}")
        return None
    if root.tag != f"{{{METS}}}mets":
        check.error("EAR004", f"the root element is {root.tag}, not mets:mets", f"{pkg.name}/{rel}")
        return None
    schema = wrapper_schema("mets")
    if not schema.validate(root):
        for err in list(schema.error_log)[:20]:
            check.error("EAR004", f"not valid METS: {err.message}", f"{pkg.name}/{rel}:{err.line}")
        return None
    base = Path(rel).parent
    for f in root.iter(f"{{{METS}}}file"):
        fid = f.get("ID", "?")
        locs = f.findall(f"{{{METS}}}FLocat")
        if len(locs) != 1:
            check.error("EAR009", f"mets:file {fid} must have exactly one FLocat", f"{pkg.name}/{rel}")
            continue
        href = unquote(locs[0].get(f"{{{XLINK}}}href", "")).removeprefix("file:").removeprefix("./")
        target = (base / href).as_posix() if href else ""
        if not href or unsafe_name(href) or unsafe_name(target) or target.startswith("../"):
            check.error("EAR009", f"mets:file {fid}: xlink:href {locs[0].get(f'{{{XLINK}}}href')!r} does not name "
                                  "a file inside the package", f"{pkg.name}/{rel}")
            continue
        ctype = f.get("CHECKSUMTYPE", "")
        alg = CHECKSUMS.get(ctype, "")
        if f.get("CHECKSUM") and not alg:
            check.error("EAR010", f"mets:file {fid}: CHECKSUMTYPE {ctype!r} is not supported", f"{pkg.name}/{rel}")
            continue
        if not f.get("CHECKSUM"):
            check.error("EAR010", f"mets:file {fid}: no CHECKSUM (E-ARK CSIP requires one for every file)",
                        f"{pkg.name}/{rel}")
            continue
        size = f.get("SIZE", "")
        pkg.listed[target] = Listed(target, int(size) if size.isdigit() else None, f.get("CHECKSUM", "").lower(),
                                    alg, rel)
    return root


def check_package(folder: Path, check: Check) -> EarkPackage | None:
    pkg = EarkPackage(folder.name)
    if not (folder / "METS.xml").is_file():
        check.error("EAR003", "the root METS.xml is missing", pkg.name)
        return None
    if not (folder / "representations").is_dir():
        check.error("EAR011", "no representations/ folder", pkg.name)
    root = _read_mets(folder, "METS.xml", check, pkg)
    if root is None:
        return None
    pkg.mets_files.append("METS.xml")
    pkg.objid, pkg.label = root.get("OBJID", ""), root.get("LABEL", "")
    pkg.package_type = root.get(f"{{{CSIP}}}OAISPACKAGETYPE", "")
    pkg.content_type = root.get("TYPE", "")
    agent = root.find(f"{{{METS}}}metsHdr/{{{METS}}}agent[@ROLE='CREATOR'][@TYPE='ORGANIZATION']/{{{METS}}}name")
    pkg.creator = " ".join((agent.text or "").split()) if agent is not None else ""
    for rep_mets in sorted((folder / "representations").glob("*/METS.xml")):
        rel = rep_mets.relative_to(folder).as_posix()
        if _read_mets(folder, rel, check, pkg) is not None:
            pkg.mets_files.append(rel)
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()}
    for rel in sorted(on_disk):
        if (folder / rel).is_symlink():
            check.error("EAR009", "symbolic link in the package", f"{pkg.name}/{rel}")
    for rel, item in sorted(pkg.listed.items()):
        if rel not in on_disk:
            check.error("EAR005", f"file listed in {item.mets} is missing", f"{pkg.name}/{rel}")
    for rel in sorted(on_disk - set(pkg.listed) - set(pkg.mets_files)):
        check.error("EAR008", "file that no METS.xml lists", f"{pkg.name}/{rel}")
    return pkg


def transfer_eark(sip: Path, out: Path, meta: Sequence[tuple[str, str]], limits: Limits, jobs: int = 4,
                  progress: ProgressFn | None = None, *, shown: str | None = None) -> tuple[TransferResult, EarkPackage]:
    """Check the E-ARK package `sip` and write it as the bag `out` (see the module docstring).
    `shown`: how the source is named in the transfer report and the result (default: its path).

    Raises SipRejected with every problem found (nothing is written; `sip` is only read)
    or UsageError (OUT exists)."""
    sip, out = sip.absolute(), out.absolute()
    with package_bag(sip, out, limits, "EAR") as (check, draft, folder):
        pkg = check_package(folder, check)
        check.reject_if_errors()
        assert pkg is not None
        outcomes = take_payload(draft, folder, jobs, progress, tuple(sorted({i.alg for i in pkg.listed.values()})))
        for key, o in sorted(outcomes.items()):
            rel = key.split("/", 1)[1]
            if o.error:
                check.error("EAR012", o.error, key)
                continue
            item = pkg.listed.get(rel)
            if item is None:
                continue
            if item.size is not None and item.size != o.size:
                check.error("EAR006", f"size differs from mets:file SIZE in {item.mets}", key, str(item.size),
                            str(o.size))
            elif o.digests[item.alg] != item.checksum:
                check.error("EAR007", f"{item.alg} checksum differs from mets:file CHECKSUM in {item.mets}", key,
                            item.checksum, o.digests[item.alg])
        check.reject_if_errors()
        info = [("Title", pkg.label or pkg.objid), ("Source-Organization", pkg.creator),
                ("Internal-Sender-Identifier", pkg.objid),
                ("External-Description", f"E-ARK {pkg.package_type or 'SIP'} {pkg.content_type}".strip())]
        draft.info = [(k, v) for k, v in info if v] + list(meta)
        draft.tag_files["transfer-report.txt"] = "".join(
            [f"archa transfer eark {shown or sip}: {len(pkg.listed)} file(s) listed in {len(pkg.mets_files)} METS\n"]
            + [f"{f.code}\t{f.path}\t{f.message}\n" for f in check.findings])
        draft.finish(out)
    return TransferResult("eark", shown or str(sip), str(out), draft.payload_files, draft.payload_bytes,
                          check.findings, draft.info), pkg
