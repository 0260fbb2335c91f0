"""Reading an NDK PSP and the checks that need no file content beyond its XML and lists.

A PSP folder holds `info_<uuid>.xml`, the main `mets_<uuid>.xml`, `md5_<uuid>.md5` and the
folders mastercopy/, usercopy/, alto/, txt/ and amdsec/. `read_psp` parses them (safely: no
DOCTYPE, no network), validates info and the main METS against the edition's schemas, and
checks the lists against each other and the folder: every file in the MD5 file and in
info's item list, every listed file present, info's item total and size, every page file in
the METS fileSec, every page with its five files. Codes NDK0xx (docs/design.md).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lxml import etree

from archa.ingest.extract import unsafe_name
from archa.metadata.xmlsafe import UnsafeXml, parse_untrusted
from archa.transfer.ndk.schemas import EDITIONS, info_schema, mets_schema, supported
from archa.transfer.package import Check

METS = "http://www.loc.gov/METS/"
XLINK = "http://www.w3.org/1999/xlink"
MODS = "http://www.loc.gov/mods/v3"
# fileGrp ID -> the role of its files in a page; the folder each lives in
ROLES = {"MC_IMGGRP": "master", "UC_IMGGRP": "user", "ALTOGRP": "alto", "TXTGRP": "txt", "TECHMDGRP": "amd"}
FOLDERS = {"mastercopy": "master", "usercopy": "user", "alto": "alto", "txt": "txt", "amdsec": "amd"}
ROLE_NAMES = {"master": "master copy", "user": "user copy", "alto": "ALTO OCR file", "txt": "plain text file",
              "amd": "technical METS (amdsec)"}
MD5_LINE = re.compile(r"^([0-9a-fA-F]{32})\s+\*?(.+?)\s*$")


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

    def structure(self) -> dict[str, Any]:
        """What ingest keeps of the package's structure (the bag's ndk-structure.json)."""
        at = f"{self.name}/"
        return {"standard": "NDK", "kind": self.kind, "version": self.version, "uuid": self.uuid,
                "package": self.name, "title": self.title, "metadata": [list(kv) for kv in self.metadata],
                "pages": [{"order": p.order, "label": p.label, "section": p.section,
                           **{role: at + path for role, path in sorted(p.files.items())}} for p in self.pages],
                "sections": [{"id": s.id, "type": s.type, "label": s.label, "parent": s.parent, "pages": s.pages}
                             for s in self.sections]}


def _parse(folder: Path, rel: str, check: Check, code: str) -> etree._Element | None:
    try:
        return parse_untrusted((folder / rel).read_bytes())
    except UnsafeXml as e:
        check.error(code, f"{e}; the package is refused", f"{folder.name}/{rel}")
    except etree.XMLSyntaxError as e:
        check.error(code, f"not well-formed XML: {e.msg} (line {e.lineno})", f"{folder.name}/{rel}")
    except OSError as e:
        check.error(code, f"cannot be read: {e.strerror}", f"{folder.name}/{rel}")
    return None


_SCHEMA_LOCK = threading.Lock()  # an XMLSchema keeps one error log: one validation at a time each


def validate(root: etree._Element, schema: etree.XMLSchema, check: Check, code: str, where: str,
             what: str) -> bool:
    """Validate `root` (safe from several threads); each schema error a finding `code`."""
    with _SCHEMA_LOCK:
        if schema.validate(root):
            return True
        errors = [(e.message, e.line) for e in list(schema.error_log)[:10]]
    for message, line in errors:
        check.error(code, f"not valid {what}: {message}", f"{where}:{line}")
    return False


def _one(folder: Path, pattern: str, what: str, check: Check, named: str = "") -> str:
    found = sorted(p.name for p in folder.glob(pattern) if p.is_file())
    if named:
        return named if named in found else ""
    if len(found) != 1:
        check.error("NDK003", f"the package must hold exactly one {what} ({pattern}); found "
                    f"{', '.join(found) or 'none'}", folder.name)
        return ""
    return found[0]


def _text(el: etree._Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def read_psp(folder: Path, check: Check) -> Psp | None:
    """The package in `folder`, or None when it cannot be read at all (findings in `check`)."""
    psp = Psp(folder.name)
    psp.info = _one(folder, "info_*.xml", "info file", check)
    psp.md5_file = _one(folder, "md5_*.md5", "MD5 file", check)
    if not psp.info:
        return None
    info = _parse(folder, psp.info, check, "NDK004")
    if info is None:
        return None
    psp.version = _text(info.find("metadataversion"))
    psp.uuid = _text(info.find("packageid"))
    if psp.uuid and folder.name != psp.uuid:
        check.error("NDK023", f"the package folder must be named by its packageid {psp.uuid!r} (the standard's "
                    "PSP-ID); rename the folder (or the ZIP and its top folder)", folder.name, psp.uuid, folder.name)
    psp.creator = _text(info.find("creator"))
    mainmets = norm(_text(info.find("mainmets")))
    psp.mets = _one(folder, "mets_*.xml", "main METS", check, named=mainmets) if mainmets else \
        _one(folder, "mets_*.xml", "main METS", check)
    if not psp.mets:
        if mainmets:
            check.error("NDK003", f"the main METS {mainmets!r} that info names is missing", f"{folder.name}/{psp.info}")
        return None
    mets = _parse(folder, psp.mets, check, "NDK012")
    if mets is None:
        return None
    psp.kind = (mets.get("TYPE") or "").strip().lower()
    psp.edition = EDITIONS.get((psp.kind, psp.version), "")
    if not psp.edition:
        check.error("NDK005", f"NDK {psp.kind or '(no mets TYPE)'} {psp.version or '(no metadataversion)'} is not a "
                    f"version archa checks; it takes {supported()}", f"{folder.name}/{psp.info}")
        return None
    validate(info, info_schema(psp.edition), check, "NDK004", f"{folder.name}/{psp.info}", f"info ({psp.edition})")
    validate(mets, mets_schema(psp.edition), check, "NDK012", f"{folder.name}/{psp.mets}",
             f"METS with MODS ({psp.edition})")
    _read_lists(folder, psp, info, check)
    _read_mets(folder, psp, mets, check)
    return psp


def _read_lists(folder: Path, psp: Psp, info: etree._Element, check: Check) -> None:
    where = f"{folder.name}/{psp.info}"
    on_disk: dict[str, int] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            check.error("NDK022", "symbolic link in the package", f"{folder.name}/{rel}")
        elif p.is_file():
            on_disk[rel] = p.stat().st_size
    if psp.md5_file:
        for n, line in enumerate((folder / psp.md5_file).read_text("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            m = MD5_LINE.match(line)
            path = norm(m.group(2)) if m else ""
            if not m or unsafe_name(path):
                check.error("NDK006", f"line {n} is not '<md5> <path>': {line[:80]!r}", f"{folder.name}/{psp.md5_file}")
                continue
            psp.md5[path] = m.group(1).lower()
            if path not in on_disk:
                check.error("NDK006", f"the file listed in {psp.md5_file} (line {n}) is missing", f"{folder.name}/{path}")
        for rel in on_disk:
            if rel not in psp.md5 and rel not in (psp.md5_file, psp.info):
                check.error("NDK007", f"the file is not listed in {psp.md5_file}", f"{folder.name}/{rel}")
    checksum = info.find("checksum")
    if checksum is not None:
        psp.info_md5 = (checksum.get("checksum") or "").lower()
        if psp.md5_file and norm(checksum.text or "") != psp.md5_file:
            check.error("NDK011", f"info's checksum names {norm(checksum.text or '')!r}, not the MD5 file "
                        f"{psp.md5_file}", where)
    itemlist = info.find("itemlist")
    items = [norm(i.text or "") for i in itemlist.findall("item")] if itemlist is not None else []
    total = itemlist.get("itemtotal", "") if itemlist is not None else ""
    if total != str(len(items)):
        check.error("NDK009", f"itemlist itemtotal is {total or 'missing'} but it lists {len(items)} items", where)
    for item in items:
        if item not in on_disk:
            check.error("NDK009", "the file listed in info's itemlist is missing", f"{folder.name}/{item}")
    for rel in on_disk:
        if rel not in items and rel != psp.info:
            check.error("NDK009", "the file is not in info's itemlist", f"{folder.name}/{rel}")
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
    for grp in mets.iter(f"{{{METS}}}fileGrp"):
        role = ROLES.get(grp.get("ID", ""), "")
        for f in grp.iter(f"{{{METS}}}file"):
            loc = f.find(f"{{{METS}}}FLocat")
            path = norm(loc.get(f"{{{XLINK}}}href", "")) if loc is not None else ""
            fid = f.get("ID", "")
            if not path or unsafe_name(path):
                check.error("NDK015", f"mets:file {fid} has no usable FLocat xlink:href", where)
                continue
            size = f.get("SIZE", "")
            item = Listed(path, int(size) if size.isdigit() else None, (f.get("CHECKSUM") or "").lower(), fid,
                          role or FOLDERS.get(path.split("/")[0], ""))
            by_id[fid] = item
            psp.listed[path] = item
            if not (folder / path).is_file():
                check.error("NDK015", f"the {ROLE_NAMES.get(item.role, 'file')} that mets:file {fid} points at is "
                            "missing", f"{folder.name}/{path}")
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and rel.split("/")[0] in FOLDERS and rel not in psp.listed:
            check.error("NDK015", "the file is not in the main METS fileSec", f"{folder.name}/{rel}")
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
    _read_structure(folder, psp, mets, by_id, check)


def _read_structure(folder: Path, psp: Psp, mets: etree._Element, by_id: dict[str, Listed], check: Check) -> None:
    where = f"{folder.name}/{psp.mets}"
    physical = [s for s in mets.iterfind(f"{{{METS}}}structMap") if (s.get("TYPE") or "").upper() == "PHYSICAL"]
    if not physical:
        check.error("NDK014", "the main METS has no PHYSICAL structMap (the page order)", where)
        return
    page_by_div: dict[str, Page] = {}
    for div in physical[0].iter(f"{{{METS}}}div"):
        if (div.get("TYPE") or "").lower() != "page":
            continue
        order = div.get("ORDER", "")
        page = Page(int(order) if order.isdigit() else len(psp.pages) + 1,
                    div.get("ORDERLABEL") or div.get("LABEL") or order, div.get("ID", ""))
        for fptr in div.iterfind(f"{{{METS}}}fptr"):
            item = by_id.get(fptr.get("FILEID", ""))
            if item is None:
                check.error("NDK014", f"page {page.label}: fptr FILEID {fptr.get('FILEID')!r} names no mets:file",
                            where)
            elif item.role:
                page.files[item.role] = item.path
        for role, name in ROLE_NAMES.items():
            if role not in page.files:
                check.error("NDK014", f"page {page.label} (ORDER {page.order}) has no {name} in the main METS",
                            where)
        psp.pages.append(page)
        page_by_div[page.div_id] = page
    if not psp.pages:
        check.error("NDK014", "the PHYSICAL structMap has no page", where)
    psp.pages.sort(key=lambda p: p.order)
    links: dict[str, list[int]] = {}
    for link in mets.iter(f"{{{METS}}}smLink"):
        target = page_by_div.get(link.get(f"{{{XLINK}}}to", ""))
        if target is not None:
            links.setdefault(link.get(f"{{{XLINK}}}from", ""), []).append(target.order)
    by_order = {p.order: p for p in psp.pages}
    for smap in mets.iterfind(f"{{{METS}}}structMap"):
        if (smap.get("TYPE") or "").upper() != "LOGICAL":
            continue
        for div in smap.iter(f"{{{METS}}}div"):
            parent = div.getparent()
            section = Section(div.get("ID", ""), div.get("TYPE", ""), div.get("LABEL", ""),
                              parent.get("ID", "") if parent is not None and parent.tag == div.tag else "",
                              sorted(links.get(div.get("ID", ""), [])))
            psp.sections.append(section)
            for n in section.pages:
                by_order[n].section = section.label
