"""Reading an NDK PSP and the checks that need no file content beyond its XML and lists.

A PSP folder holds `info_<uuid>.xml`, the main `mets_<uuid>.xml`, `md5_<uuid>.md5` and the
folders mastercopy/, usercopy/, alto/, txt/ and amdsec/. `read_psp` parses them (safely: no
DOCTYPE, no network), validates info and the main METS against the edition's schemas, and
checks the lists against each other and the folder: every file in the MD5 file and in
info's item list, every listed file present, info's item total and size, every page file in
the METS fileSec, every page with its five files. Codes NDK0xx (docs/design.md).

The structure checks follow the edition's rules of the national reference validator
(`rules.py`): the METS header, the five fileGrp with their USE, the PHYSICAL structMap (its
top div with a DMDID, one div per page with ID, ORDER, ORDERLABEL, a TYPE from the edition's
page types and an fptr into every fileGrp), the structLink, the MODS record of each level,
and (`check_amd`, run by the importer on the copies) each page METS. Every finding names the
validator rule it matches. Severities are the validator's: a page TYPE outside the edition's
list is a warning there, and here.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lxml import etree

from archa.errors import Finding
from archa.metadata.xmlsafe import UnsafeXml, parse_untrusted
from archa.repository.unpacking import unsafe_name as _unsafe_name
from archa.transfer.ndk import rules as R
from archa.transfer.ndk.rules import Rules, checksum_spellings, rules_for
from archa.transfer.ndk.schemas import EDITIONS, info_schema, mets_schema, supported
from archa.transfer.package import Check

METS = "http://www.loc.gov/METS/"
XLINK = "http://www.w3.org/1999/xlink"
MODS = "http://www.loc.gov/mods/v3"
# fileGrp ID -> the role of its files in a page; the folder each lives in
ROLES = R.GROUP_ROLES
FOLDERS = {"mastercopy": "master", "usercopy": "user", "alto": "alto", "txt": "txt", "amdsec": "amd"}
ROLE_NAMES = {"master": "master copy", "user": "user copy", "alto": "ALTO OCR file", "txt": "plain text file",
              "amd": "technical METS (amdsec)"}
MD5_LINE = re.compile(r"^([0-9a-fA-F]{32})\s+\*?(.+?)\s*$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
URNNBN = re.compile(r"(?i)^urn:nbn:cz:[a-z0-9]{2,6}-[a-z0-9]{6}$")
# a path is named by the MD5 file and again by the fileSec: judged once (a pure function of it)
unsafe_name = functools.lru_cache(maxsize=4096)(_unsafe_name)
ISO_DATETIME = re.compile(r"^\d{4}-?\d{2}-?\d{2}T\d{2}:?\d{2}(:?\d{2}(\.\d+)?)?(?P<zone>Z|[+-]\d{2}(:?\d{2})?)?$")


def flag(check: Check | list[Finding], code: str, message: str, path: str = "", rule: str | None = None,
         expected: str | None = None, found: str | None = None, warning: bool = False) -> None:
    """Record a finding with the validator rule it matches (`check.error`/`warn` know no rule)."""
    out = check.findings if isinstance(check, Check) else check
    out.append(Finding(code, message, path, expected, found, "warning" if warning else "error", rule))


def norm(path: str) -> str:
    """A package path as the lists give it (`\\mastercopy\\mc.jp2`, `./alto/a.xml`) made relative."""
    p = unquote(path.strip()).replace("\\", "/")
    while p.startswith(("./", "/")):
        p = p[2:] if p.startswith("./") else p[1:]
    return p


@dataclass
class Listed:
    """A file of the main METS fileSec."""

    path: str
    size: int | None
    md5: str
    file_id: str
    role: str


@dataclass
class Page:
    order: int
    label: str
    div_id: str
    files: dict[str, str] = field(default_factory=dict)  # role -> package path
    section: str = ""
    type: str = ""  # the NDK page type (titlePage, normalPage, frontCover, ...)


@dataclass
class Section:
    id: str
    type: str
    label: str
    parent: str
    pages: list[int] = field(default_factory=list)


@dataclass
class Psp:
    name: str
    uuid: str = ""
    kind: str = ""
    version: str = ""
    edition: str = ""
    rules: Rules | None = None
    info: str = ""
    mets: str = ""
    md5_file: str = ""
    md5: dict[str, str] = field(default_factory=dict)  # path -> md5 from the MD5 file
    info_md5: str = ""  # info's checksum of the MD5 file
    listed: dict[str, Listed] = field(default_factory=dict)
    pages: list[Page] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    title: str = ""
    metadata: list[tuple[str, str]] = field(default_factory=list)
    creator: str = ""
    # the folder as one walk found it, in path order: every regular file with its size (what
    # the bag takes), and every name that is a file or a link to one (what the lists must name)
    files: dict[str, int] = field(default_factory=dict)
    file_names: list[str] = field(default_factory=list)

    def structure(self) -> dict[str, Any]:
        """What ingest keeps of the package's structure (the bag's ndk-structure.json)."""
        at = f"{self.name}/"
        return {"standard": "NDK", "kind": self.kind, "version": self.version, "uuid": self.uuid,
                "package": self.name, "title": self.title, "metadata": [list(kv) for kv in self.metadata],
                "pages": [{"order": p.order, "label": p.label, "type": p.type, "section": p.section,
                           **{role: at + path for role, path in sorted(p.files.items())}} for p in self.pages],
                "sections": [{"id": s.id, "type": s.type, "label": s.label, "parent": s.parent, "pages": s.pages}
                             for s in self.sections]}


def _parse(folder: Path, rel: str, check: Check, code: str, rule: str | None = None) -> etree._Element | None:
    try:
        return parse_untrusted((folder / rel).read_bytes())
    except UnsafeXml as e:
        flag(check, code, f"{e}; the package is refused", f"{folder.name}/{rel}", rule)
    except etree.XMLSyntaxError as e:
        flag(check, code, f"not well-formed XML: {e.msg} (line {e.lineno})", f"{folder.name}/{rel}", rule)
    except OSError as e:
        flag(check, code, f"cannot be read: {e.strerror}", f"{folder.name}/{rel}", rule)
    return None


_SCHEMA_LOCK = threading.Lock()  # an XMLSchema keeps one error log: one validation at a time each


def validate(root: etree._Element, schema: etree.XMLSchema, check: Check, code: str, where: str,
             what: str, rule: str | None = None) -> bool:
    """Validate `root` (safe from several threads); each schema error a finding `code`. For a
    page METS the rule follows the namespace the error is in (MIX or PREMIS)."""
    with _SCHEMA_LOCK:
        if schema.validate(root):
            return True
        errors = [(e.message, e.line) for e in list(schema.error_log)[:10]]
    for message, line in errors:
        named = rule
        if code == "NDK013":
            named = "MIX_VALID_BY_XSD" if "mix/v20" in message else \
                "PREMIS_VALID_BY_XSD" if "premis" in message else None
        flag(check, code, f"not valid {what}: {message}", f"{where}:{line}", named)
    return False


def _one(folder: Path, pattern: str, what: str, check: Check, named: str = "") -> str:
    found = sorted(p.name for p in folder.glob(pattern) if p.is_file())
    if named:
        return named if named in found else ""
    if len(found) != 1:
        flag(check, "NDK003", f"the package must hold exactly one {what} ({pattern}); found "
             f"{', '.join(found) or 'none'}", folder.name, R.SINGLE_FILE.get(what))
        return ""
    return found[0]


def walk(folder: Path) -> list[tuple[str, os.DirEntry[str]]]:
    """Everything below `folder` as (relative path, its directory entry), in the order of
    `sorted(folder.rglob("*"))`: links are listed, not followed, and a folder that cannot be
    listed is passed over, as rglob does. One scandir per folder; the entries keep what it
    told (file or folder, link or not) without another system call."""
    out: list[tuple[tuple[str, ...], str, os.DirEntry[str]]] = []

    def visit(path: str, parts: tuple[str, ...]) -> None:
        try:
            with os.scandir(path) as entries:
                found = list(entries)
        except PermissionError:
            return
        for e in found:
            here = (*parts, e.name)
            out.append((here, "/".join(here), e))
            try:
                into = e.is_dir() and not e.is_symlink()
            except OSError:
                into = False
            if into:
                visit(e.path, here)

    visit(os.fspath(folder), ())
    out.sort(key=lambda t: t[0])
    return [(rel, e) for _parts, rel, e in out]


def _text(el: etree._Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _m(tag: str) -> str:
    return f"{{{METS}}}{tag}"


def read_psp(folder: Path, check: Check) -> Psp | None:
    """The package in `folder`, or None when it cannot be read at all (findings in `check`)."""
    psp = Psp(folder.name)
    psp.info = _one(folder, "info_*.xml", "info", check)
    psp.md5_file = _one(folder, "md5_*.md5", "MD5 file", check)
    if not psp.info:
        return None
    info = _parse(folder, psp.info, check, "NDK004", R.INFO_WELL_BUILT)
    if info is None:
        return None
    psp.version = _text(info.find("metadataversion"))
    psp.uuid = _text(info.find("packageid"))
    if psp.uuid and folder.name != psp.uuid:
        flag(check, "NDK023", f"the package folder must be named by its packageid {psp.uuid!r} (the standard's "
             "PSP-ID); rename the folder (or the ZIP and its top folder)", folder.name, R.PSP_DIR, psp.uuid,
             folder.name)
    psp.creator = _text(info.find("creator"))
    mainmets = norm(_text(info.find("mainmets")))
    psp.mets = _one(folder, "mets_*.xml", "main METS", check, named=mainmets) if mainmets else \
        _one(folder, "mets_*.xml", "main METS", check)
    if not psp.mets:
        if mainmets:
            flag(check, "NDK003", f"the main METS {mainmets!r} that info names is missing", f"{folder.name}/{psp.info}",
                 R.INFO_MAINMETS)
        return None
    mets = _parse(folder, psp.mets, check, "NDK012")
    if mets is None:
        return None
    psp.kind = (mets.get("TYPE") or "").strip().lower()
    psp.edition = EDITIONS.get((psp.kind, psp.version), "")
    psp.rules = rules_for(psp.kind, psp.version)
    if not psp.edition or psp.rules is None:
        check.error("NDK005", f"NDK {psp.kind or '(no mets TYPE)'} {psp.version or '(no metadataversion)'} is not a "
                    f"version archa checks; it takes {supported()}", f"{folder.name}/{psp.info}")
        return None
    validate(info, info_schema(psp.edition), check, "NDK004", f"{folder.name}/{psp.info}", f"info ({psp.edition})",
             R.INFO_XSD_RULE)
    validate(mets, mets_schema(psp.edition), check, "NDK012", f"{folder.name}/{psp.mets}",
             f"METS with MODS ({psp.edition})")
    _read_lists(folder, psp, info, check)
    _check_header(mets, psp.rules, check, f"{folder.name}/{psp.mets}", "NDK012", R.MAIN_HEADER,
                  ("CREATOR", "ARCHIVIST"))
    _read_mets(folder, psp, mets, check)
    check_biblio(mets, psp.rules, check, f"{folder.name}/{psp.mets}")
    return psp


def _check_header(mets: etree._Element, rules: Rules, check: Check | list[Finding], where: str, code: str, rule: str,
                  agents: tuple[str, ...]) -> None:
    """The METS header profile (metsProfiles/primary_mets_header, secondary_mets_header): LABEL,
    TYPE spelled as the edition spells it, a metsHdr with its dates and agents."""
    if not (mets.get("LABEL") or "").strip():
        flag(check, code, "mets:mets has no LABEL", where, rule)
    if (mets.get("TYPE") or "") != rules.mets_type:
        flag(check, code, f"mets:mets TYPE must be {rules.mets_type!r}", where, rule, rules.mets_type,
             mets.get("TYPE") or "")
    hdr = mets.find(_m("metsHdr"))
    if hdr is None:
        flag(check, code, "mets:mets has no mets:metsHdr", where, rule)
        return
    if code == "NDK013":  # the page METS profile asks for a header only
        return
    for attr in ("CREATEDATE", "LASTMODDATE"):
        m = ISO_DATETIME.match(hdr.get(attr) or "")
        if not m:
            flag(check, code, f"mets:metsHdr {attr} must be an ISO 8601 date and time", where, rule, None,
                 hdr.get(attr) or "(none)")
        elif not m.group("zone"):
            flag(check, code, f"mets:metsHdr {attr} should name its time zone (Z or +hh:mm), as the header profile's "
                 "pattern asks", where, rule, None, hdr.get(attr), warning=True)
    for role in agents:
        agent = next((a for a in hdr.iterfind(_m("agent")) if a.get("ROLE") == role), None)
        if agent is None or agent.get("TYPE") != "ORGANIZATION" or not _text(agent.find(_m("name"))):
            flag(check, code, f"mets:metsHdr needs an agent ROLE={role} TYPE=ORGANIZATION with a name (a sigla)",
                 where, rule)


def _read_lists(folder: Path, psp: Psp, info: etree._Element, check: Check) -> None:
    where = f"{folder.name}/{psp.info}"
    on_disk = psp.files
    for rel, entry in walk(folder):
        is_file = entry.is_file()
        if is_file:
            psp.file_names.append(rel)
        if entry.is_symlink():
            check.error("NDK022", "symbolic link in the package", f"{folder.name}/{rel}")
        elif is_file:
            on_disk[rel] = entry.stat().st_size
    if psp.md5_file:
        for n, line in enumerate((folder / psp.md5_file).read_text("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            m = MD5_LINE.match(line)
            path = norm(m.group(2)) if m else ""
            if not m or unsafe_name(path):
                flag(check, "NDK006", f"line {n} is not '<md5> <path>': {line[:80]!r}", f"{folder.name}/{psp.md5_file}",
                     R.MD5_GRAMMAR)
                continue
            psp.md5[path] = m.group(1).lower()
            if path not in on_disk:
                flag(check, "NDK006", f"the file listed in {psp.md5_file} (line {n}) is missing",
                     f"{folder.name}/{path}", R.MD5_PATHS)
        for rel in on_disk:
            if rel not in psp.md5 and rel not in (psp.md5_file, psp.info):
                flag(check, "NDK007", f"the file is not listed in {psp.md5_file}", f"{folder.name}/{rel}", R.MD5_PATHS)
    checksum = info.find("checksum")
    if checksum is not None:
        # the validator reads the digest from @checksum or @CHECKSUM
        psp.info_md5 = (checksum.get("checksum") or checksum.get("CHECKSUM") or "").strip().lower()
        if psp.md5_file and norm(checksum.text or "") != psp.md5_file:
            flag(check, "NDK011", f"info's checksum names {norm(checksum.text or '')!r}, not the MD5 file "
                 f"{psp.md5_file}", where, R.INFO_CHECKSUM)
        spellings = checksum_spellings(psp.edition)
        kind = checksum.get("type") or ""
        if spellings and not any(re.fullmatch(s, kind) for s in spellings):
            flag(check, "NDK011", f"info's checksum type must be spelled {' or '.join(map(repr, spellings))} in "
                 f"{psp.edition.replace('_', ' ')} (its info schema)", where, R.INFO_XSD_RULE,
                 " or ".join(spellings), kind or "(none)")
    itemlist = info.find("itemlist")
    items = [norm(i.text or "") for i in itemlist.findall("item")] if itemlist is not None else []
    total = itemlist.get("itemtotal", "") if itemlist is not None else ""
    if total != str(len(items)):
        flag(check, "NDK009", f"itemlist itemtotal is {total or 'missing'} but it lists {len(items)} items", where,
             R.INFO_ITEMTOTAL)
    for item in items:
        if item not in on_disk:
            flag(check, "NDK009", "the file listed in info's itemlist is missing", f"{folder.name}/{item}",
                 R.INFO_ITEMLIST)
    for rel in on_disk:
        if rel not in items and rel != psp.info:
            flag(check, "NDK009", "the file is not in info's itemlist", f"{folder.name}/{rel}", R.INFO_ITEMLIST)
    size = _text(info.find("size"))
    total_bytes = sum(on_disk.values())
    if size.isdigit():
        kb = int(size)
        candidates = (total_bytes, total_bytes - on_disk.get(psp.info, 0))
        if not any(abs(kb - b / 1024) <= 1 for b in candidates):
            check.error("NDK010", f"info gives the package size as {kb} KB; its files hold {total_bytes / 1024:.0f} KB",
                        where, str(kb), f"{total_bytes / 1024:.0f}")


def _read_mets(folder: Path, psp: Psp, mets: etree._Element, check: Check) -> None:
    where = f"{folder.name}/{psp.mets}"
    by_id: dict[str, Listed] = {}
    groups = mets.findall(f"{_m('fileSec')}/{_m('fileGrp')}")
    for grp_id, use in R.MAIN_GROUPS.items():
        grp = next((g for g in groups if g.get("ID") == grp_id), None)
        if grp is None:
            flag(check, "NDK015", f"the main METS fileSec has no fileGrp ID={grp_id} (USE {use!r})", where,
                 R.FILEGROUPS, grp_id)
        elif grp.get("USE") != use:
            flag(check, "NDK015", f"fileGrp {grp_id} must have USE {use!r}", where, R.FILEGROUPS, use,
                 grp.get("USE") or "(none)")
    others = [g.get("ID") or "(no ID)" for g in groups if g.get("ID") not in R.MAIN_GROUPS]
    if others:
        flag(check, "NDK015", f"the main METS fileSec holds fileGrp other than the standard's five: "
             f"{', '.join(others)}", where, R.FILEGROUPS)
    for grp in mets.iter(_m("fileGrp")):
        role = ROLES.get(grp.get("ID", ""), "")
        for f in grp.iter(_m("file")):
            loc = f.find(_m("FLocat"))
            path = norm(loc.get(f"{{{XLINK}}}href", "")) if loc is not None else ""
            fid = f.get("ID", "")
            if not path or unsafe_name(path):
                flag(check, "NDK015", f"mets:file {fid} has no usable FLocat xlink:href", where,
                     R.FILESEC_RULES.get(role))
                continue
            if loc is not None and loc.get("LOCTYPE") != "URL":
                flag(check, "NDK015", f"mets:file {fid}: FLocat LOCTYPE must be URL", where, R.FILESEC_RULES.get(role),
                     "URL", loc.get("LOCTYPE") or "(none)")
            if (f.get("CHECKSUMTYPE") or "") != "MD5":
                flag(check, "NDK016", f"mets:file {fid}: CHECKSUMTYPE must be spelled 'MD5'", where, R.CHECKSUMS, "MD5",
                     f.get("CHECKSUMTYPE") or "(none)")
            size = f.get("SIZE", "")
            item = Listed(path, int(size) if size.isdigit() else None, (f.get("CHECKSUM") or "").lower(), fid,
                          role or FOLDERS.get(path.split("/")[0], ""))
            by_id[fid] = item
            psp.listed[path] = item
            folder_role = FOLDERS.get(path.split("/")[0], "")
            if role and folder_role and folder_role != role:
                flag(check, "NDK015", f"mets:file {fid} in fileGrp {grp.get('ID')} points at a "
                     f"{ROLE_NAMES[folder_role]}", f"{folder.name}/{path}", R.FILESEC_RULES[role])
            if path not in psp.files and not (folder / path).is_file():
                flag(check, "NDK015", f"the {ROLE_NAMES.get(item.role, 'file')} that mets:file {fid} points at is "
                     "missing", f"{folder.name}/{path}", R.FILESEC_RULES.get(item.role))
    for rel in psp.file_names:
        if rel.split("/")[0] in FOLDERS and rel not in psp.listed:
            flag(check, "NDK015", "the file is not in the main METS fileSec", f"{folder.name}/{rel}",
                 R.FILESEC_RULES[FOLDERS[rel.split("/")[0]]])
    # metadata for people: the first MODS title, names, date; DC identifiers
    title = mets.find(f".//{{{MODS}}}titleInfo/{{{MODS}}}title")
    psp.title = _text(title) or (mets.get("LABEL") or "")
    psp.metadata = [("Title", psp.title)] if psp.title else []
    for name in mets.iterfind(f".//{{{MODS}}}name/{{{MODS}}}namePart"):
        psp.metadata.append(("Creator", _text(name)))
    for tag, label in (("publisher", "Publisher"), ("dateIssued", "Date")):
        el = mets.find(f".//{{{MODS}}}originInfo/{{{MODS}}}{tag}")
        if el is not None and _text(el):
            psp.metadata.append((label, _text(el)))
    for ident in mets.iterfind(f".//{{{MODS}}}identifier"):
        psp.metadata.append((f"Identifier ({ident.get('type', '')})", _text(ident)))
    psp.metadata = list(dict.fromkeys(psp.metadata))
    _read_structure(psp, mets, by_id, check, where)


def _read_structure(psp: Psp, mets: etree._Element, by_id: dict[str, Listed], check: Check, where: str) -> None:
    """The PHYSICAL structMap as checkPrimaryMetsPhysicalMapOk reads it: the top div (with a
    TYPE and a DMDID naming a dmdSec), its child divs the pages."""
    assert psp.rules is not None
    rules, rule = psp.rules, R.PHYSICAL_MAP
    physical = [s for s in mets.iterfind(_m("structMap")) if (s.get("TYPE") or "") == "PHYSICAL"]
    if not physical:
        flag(check, "NDK014", "the main METS has no structMap TYPE=\"PHYSICAL\" (the page order)", where, rule)
        return
    top = next((d for d in physical[0].iterfind(_m("div")) if d.get("TYPE")), None)
    if top is None:
        flag(check, "NDK014", "the PHYSICAL structMap has no top mets:div with a TYPE", where, rule)
        return
    if (top.get("TYPE") or "").lower() not in rules.top_div_types:
        flag(check, "NDK014", f"the PHYSICAL structMap's top div has TYPE {top.get('TYPE')!r}, not the edition's "
             f"{rules.mets_type!r}", where, rule, rules.mets_type, top.get("TYPE"), warning=True)
    dmd_ids = {d.get("ID") for d in mets.iterfind(_m("dmdSec"))}
    dmdid = (top.get("DMDID") or "").split()
    if not dmdid:
        flag(check, "NDK014", "the PHYSICAL structMap's top div has no DMDID", where, rule)
    for ref in dmdid:
        if ref not in dmd_ids:
            flag(check, "NDK014", f"the PHYSICAL structMap's top div names dmdSec {ref!r}, which the METS does not "
                 "hold", where, rule)
    page_by_div: dict[str, Page] = {}
    allowed = set(rules.page_types)
    for div in top.iterfind(_m("div")):
        div_id, page_type = div.get("ID", ""), div.get("TYPE") or ""
        order = div.get("ORDER", "")
        page = Page(int(order) if order.strip().lstrip("-").isdigit() else len(psp.pages) + 1,
                    div.get("ORDERLABEL") or div.get("LABEL") or order, div_id, type=page_type)
        name = f"page {page.label or div_id or page.order} (ORDER {order or '?'})"
        if not div_id:
            flag(check, "NDK014", f"{name} has no ID", where, rule)
        if not page_type:
            flag(check, "NDK014", f"{name} has no TYPE (its page type)", where, rule)
        elif page_type not in allowed:
            close = next((t for t in rules.page_types if t.lower() == page_type.lower()), "")
            flag(check, "NDK014", f"{name} has TYPE {page_type!r}, not a page type of {rules.fdmf}"
                 + (f" (the edition spells it {close!r})" if close else ""), where, rule,
                 close or None, page_type if close else None, warning=True)
        if not div.get("ORDERLABEL"):
            flag(check, "NDK014", f"{name} has no ORDERLABEL", where, rule)
        if not order.strip().lstrip("-").isdigit():
            flag(check, "NDK014", f"{name}: ORDER {order!r} is not a number", where, rule)
        for fptr in div.iterfind(_m("fptr")):
            item = by_id.get(fptr.get("FILEID", ""))
            if item is None:
                flag(check, "NDK014", f"{name}: fptr FILEID {fptr.get('FILEID')!r} names no mets:file", where, rule)
            elif item.role:
                page.files[item.role] = item.path
        for role, what in ROLE_NAMES.items():
            if role not in page.files:
                flag(check, "NDK014", f"{name} has no {what} in the main METS", where, rule)
        psp.pages.append(page)
        if div_id:
            page_by_div[div_id] = page
    if not psp.pages:
        flag(check, "NDK014", "the PHYSICAL structMap has no page", where, rule)
    psp.pages.sort(key=lambda p: p.order)
    logical_ids = {d.get("ID") for s in mets.iterfind(_m("structMap")) if (s.get("TYPE") or "").upper() == "LOGICAL"
                   for d in s.iter(_m("div"))}
    links: dict[str, list[int]] = {}
    for link in mets.iter(_m("smLink")):
        source, target = link.get(f"{{{XLINK}}}from", ""), page_by_div.get(link.get(f"{{{XLINK}}}to", ""))
        if target is None or source not in logical_ids:
            flag(check, "NDK014", f"smLink from {source!r} to {link.get(f'{{{XLINK}}}to', '')!r} does not join a div "
                 "of the LOGICAL structMap to a page", where, R.STRUCT_LINKS)
            continue
        links.setdefault(source, []).append(target.order)
    by_order = {p.order: p for p in psp.pages}
    for smap in mets.iterfind(_m("structMap")):
        if (smap.get("TYPE") or "").upper() != "LOGICAL":
            continue
        for div in smap.iter(_m("div")):
            parent = div.getparent()
            section = Section(div.get("ID", ""), div.get("TYPE", ""), div.get("LABEL", ""),
                              parent.get("ID", "") if parent is not None and parent.tag == div.tag else "",
                              sorted(set(links.get(div.get("ID", ""), []))))
            psp.sections.append(section)
            for n in section.pages:
                by_order[n].section = section.label


def check_biblio(mets: etree._Element, rules: Rules, check: Check, where: str) -> None:
    """The part of the edition's biblio profiles (biblioProfiles/mods/*) archa checks for the MODS
    record of each level (dmdSec MODSMD_<LEVEL>_*): errors for what a profile expects (the
    genre, a title, the uuid and URN:NBN identifiers, a language coded by ISO 639-2/B), warnings
    for what it only recommends (marcrelator role codes, a subject authority from its list)."""
    for level in rules.levels:
        rule = f"BIBLIOGRAPHIC_METADATA_MATCH_PROFILE_{level.name}"
        ids_rule = f"MODS_MANDATORY_IDENTIFIERS_PRESENT_LEVEL_{level.name}"
        for dmd in mets.iterfind(_m("dmdSec")):
            dmd_id = dmd.get("ID") or ""
            if not dmd_id.startswith(f"MODSMD_{level.name}"):
                continue
            mods = dmd.find(f".//{{{MODS}}}mods")
            at = f"{where} ({dmd_id})"
            if mods is None:
                flag(check, "NDK024", "the dmdSec holds no MODS record", at, rule)
                continue
            genres = [_text(g) for g in mods.iterfind(f"{{{MODS}}}genre")]
            if level.genre not in (g.lower() for g in genres):
                flag(check, "NDK024", f"the {level.name} record has no mods:genre {level.genre!r}", at, rule,
                     level.genre, ", ".join(genres) or "(none)")
            if level.title and not _text(mods.find(f"{{{MODS}}}titleInfo/{{{MODS}}}title")):
                flag(check, "NDK024", f"the {level.name} record has no mods:titleInfo/mods:title", at, rule)
            idents = {(i.get("type") or ""): _text(i) for i in mods.iterfind(f"{{{MODS}}}identifier")}
            wanted = [("uuid", UUID)] + ([("urnnbn", URNNBN)] if level.urnnbn else [])
            for kind, pattern in wanted:
                if kind not in idents:
                    flag(check, "NDK024", f"the {level.name} record has no mods:identifier type={kind!r}", at, ids_rule)
                elif not pattern.match(idents[kind]):
                    flag(check, "NDK024", f"the {level.name} record's {kind} identifier is not valid", at, rule,
                         None, idents[kind])
            terms = list(mods.iterfind(f"{{{MODS}}}language/{{{MODS}}}languageTerm"))
            if level.language and not terms:
                flag(check, "NDK024", f"the {level.name} record has no mods:language/mods:languageTerm", at, rule)
            for term in terms:
                if term.get("type") != "code" or term.get("authority") != "iso639-2b":
                    flag(check, "NDK024", "mods:languageTerm must be type=\"code\" authority=\"iso639-2b\"", at, rule,
                         "code/iso639-2b", f"{term.get('type')}/{term.get('authority')}")
            for role in mods.iterfind(f"{{{MODS}}}name/{{{MODS}}}role/{{{MODS}}}roleTerm"):
                if role.get("authority") != "marcrelator":
                    flag(check, "NDK024", "mods:roleTerm should have authority=\"marcrelator\" (recommended)", at, rule,
                         "marcrelator", role.get("authority") or "(none)", warning=True)
            for subject in mods.iterfind(f"{{{MODS}}}subject"):
                authority = subject.get("authority")
                if authority is not None and authority not in SUBJECT_AUTHORITIES:
                    flag(check, "NDK024", f"mods:subject authority {authority!r} is not one the profile recommends", at,
                         rule, ", ".join(SUBJECT_AUTHORITIES), authority, warning=True)


SUBJECT_AUTHORITIES = ("czenas", "eczenas", "Konspekt", "czmesh", "mednas", "msvkth", "agrovoc")


def amd_target(href: str) -> str:
    """A page METS's FLocat (`../mastercopy/mc_….jp2`, relative to amdsec/) as a package path."""
    p = unquote(href.strip()).replace("\\", "/")
    if p.startswith("../"):
        return posixpath.normpath(posixpath.join("amdsec", p))
    return norm(p)


def check_amd(root: etree._Element, psp: Psp, page: Page, where: str) -> list[Finding]:
    """A page METS (SECONDARY-METS) against the edition's rules: its header, the four fileGrp
    with their USE each pointing at this page's file of that role, the PHYSICAL structMap (one
    div of the edition's page TYPE pointing at every file), the amdSec records."""
    assert psp.rules is not None
    out: list[Finding] = []
    _check_header(root, psp.rules, out, where, "NDK013", R.AMD_HEADER, ())
    groups = root.findall(f"{_m('fileSec')}/{_m('fileGrp')}")
    file_ids: set[str] = set()
    for grp_id, use in R.AMD_GROUPS.items():
        grp = next((g for g in groups if g.get("ID") == grp_id), None)
        role = R.GROUP_ROLES[grp_id]
        if grp is None:
            flag(out, "NDK013", f"the page METS has no fileGrp ID={grp_id} (USE {use!r})", where, R.AMD_FILEGROUPS,
                 grp_id)
            continue
        if grp.get("USE") != use:
            flag(out, "NDK013", f"fileGrp {grp_id} must have USE {use!r}", where, R.AMD_FILEGROUPS, use,
                 grp.get("USE") or "(none)")
        files = grp.findall(_m("file"))
        file_ids.update(f.get("ID", "") for f in files)
        targets = [amd_target(loc.get(f"{{{XLINK}}}href", "")) for f in files for loc in f.iterfind(_m("FLocat"))]
        if targets != [page.files.get(role, "")]:
            flag(out, "NDK013", f"fileGrp {grp_id} must point at this page's {ROLE_NAMES[role]} and nothing else",
                 where, R.AMD_FILE_RULES[role], page.files.get(role, ""), ", ".join(targets) or "(none)")
    others = [g.get("ID") or "(no ID)" for g in groups if g.get("ID") not in R.AMD_GROUPS]
    if others:
        flag(out, "NDK013", f"the page METS holds fileGrp other than the standard's four: {', '.join(others)}", where,
             R.AMD_FILEGROUPS)
    physical = next((s for s in root.iterfind(_m("structMap")) if s.get("TYPE") == "PHYSICAL"), None)
    div = None if physical is None else \
        next((d for d in physical.iterfind(_m("div")) if d.get("TYPE") == psp.rules.amd_page_type), None)
    if div is None:
        flag(out, "NDK013", f"the page METS has no PHYSICAL structMap with a div TYPE={psp.rules.amd_page_type!r}",
             where, R.AMD_PHYSICAL_MAP)
    else:
        pointed = {f.get("FILEID", "") for f in div.iterfind(_m("fptr"))}
        if pointed != file_ids - {""}:
            flag(out, "NDK013", "the page METS's PHYSICAL div must point at every file of its fileSec and no other",
                 where, R.AMD_PHYSICAL_MAP, ", ".join(sorted(file_ids - {""})), ", ".join(sorted(pointed)))
    amd = root.find(_m("amdSec"))
    for element, ident, exact, rule in R.AMD_RECORDS:
        found = [] if amd is None else [e for e in amd.iterfind(_m(element))
                                         if (e.get("ID") == ident if exact else (e.get("ID") or "").startswith(ident))]
        if not found:
            flag(out, "NDK013", f"the page METS's amdSec has no mets:{element} ID={ident}{'' if exact else '…'}",
                 where, rule)
    return out
