"""Builds NDK digitisation packages (PSP) in code, for the tests and bench/ndk.py.

A PSP is one folder named by its uuid: the main METS (MODS + DC, fileSec over every page
file, physical and logical structMap, structLink), info_<uuid>.xml, md5_<uuid>.md5, and per
page a lossless JPEG 2000 master copy, a lossy user copy (both made with Pillow), an ALTO
2.0 OCR file, plain text and a technical METS (amdsec) with MIX and PREMIS.

The shape is the real one, after the NDK Komplexní validátor's rules.xml and metsProfiles of
each edition (see archa/transfer/ndk/rules.py): the page divs carry NDK page types (a front
cover, a title page, normal pages, a blank, a back cover: `page_type`), the fileGrp ids and
USE values are the standard's, the page METS has the amdSec records, four fileGrp and the
MONOGRAPH_PAGE / PERIODICAL_PAGE div the rules ask for.

`mutate(files)` sees every page file (path -> bytes) before the main METS, the MD5 file and
info are made from them, so a test can break one thing (drop a user copy, put a PNG in a
.jp2) and have every checksum agree, so that only the check it aims at fails.
`mutate_mets(bytes)` does the same for the main METS before the MD5 file and info.
"""

from __future__ import annotations

import hashlib
import io
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, ImageDraw

WORDS = ["kronika", "obce", "Lhota", "zapsána", "roku", "léta", "páně", "kostel", "škola", "hasiči", "povodeň", "mlýn", "rychtář", "sčítání", "lidu", "pošta", "silnice", "most", "hřbitov", "obecní", "úřad", "pamětní", "deska", "starosta"]
FIRST_PAGE_COLOUR = (200, 30, 40)  # a red band on page 1: the browser test looks for it


@dataclass
class PspSpec:
    kind: str = "monograph"  # or "periodical"
    version: str = "2.2"
    pages: int = 3
    title: str = "Pamětní kniha obce Lhota"
    uuid: str = ""
    size: tuple[int, int] = (240, 320)
    texts: dict[int, str] = field(default_factory=dict)  # page number -> OCR text
    chapters: int = 2  # logical sections the pages are split into
    page_types: dict[int, str] = field(default_factory=dict)  # page number -> NDK page type (default: page_type)


def page_text(spec: PspSpec, n: int) -> str:
    if n in spec.texts:
        return spec.texts[n]
    return " ".join(WORDS[(n * 7 + i) % len(WORDS)] for i in range(24)) + f" strana{n}"


def _jp2(img: Image.Image, lossless: bool) -> bytes:
    buf = io.BytesIO()
    if lossless:
        img.save(buf, "JPEG2000", tile_size=(4096, 4096), num_resolutions=6, progression="RPCL",
                 codeblock_size=(64, 64))
    else:
        img.save(buf, "JPEG2000", irreversible=True, quality_mode="rates", quality_layers=[40, 20, 10],
                 tile_size=(1024, 1024), num_resolutions=6, progression="RPCL", codeblock_size=(64, 64))
    return buf.getvalue()


def page_image(spec: PspSpec, n: int) -> Image.Image:
    w, h = spec.size
    img = Image.new("RGB", (w, h), (245, 240, 225))
    d = ImageDraw.Draw(img)
    if n == 1:
        d.rectangle((0, 0, w, h // 3), fill=FIRST_PAGE_COLOUR)
    d.text((10, h // 2), f"Page {n}", fill=(20, 20, 20))  # ASCII: Pillow's default font
    for y in range(h // 2 + 20, h - 10, 12):
        d.line((10, y, w - 10, y), fill=(120, 120, 120))
    return img


def alto(spec: PspSpec, n: int, name: str) -> bytes:
    w, h = spec.size
    words = page_text(spec, n).split()
    strings = []
    for i, word in enumerate(words):
        strings.append(f'<String ID="S{i}" CONTENT={quoteattr(word)} HPOS="{10 + (i % 6) * 35}" '
                       f'VPOS="{20 + (i // 6) * 14}" WIDTH="30" HEIGHT="12"/>')
        if i < len(words) - 1:
            strings.append(f'<SP WIDTH="5" HPOS="{40 + (i % 6) * 35}" VPOS="{20 + (i // 6) * 14}"/>')
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<alto xmlns="http://www.loc.gov/standards/alto/ns-v2#">'
            f'<Description><MeasurementUnit>pixel</MeasurementUnit>'
            f'<sourceImageInformation><fileName>{escape(name)}</fileName></sourceImageInformation>'
            f'<OCRProcessing ID="OCR_0"><ocrProcessingStep><processingSoftware>'
            f'<softwareName>test maker</softwareName></processingSoftware></ocrProcessingStep></OCRProcessing>'
            f'</Description><Layout><Page ID="P{n}" PHYSICAL_IMG_NR="{n}" HEIGHT="{h}" WIDTH="{w}">'
            f'<PrintSpace HPOS="0" VPOS="0" WIDTH="{w}" HEIGHT="{h}">'
            f'<TextBlock ID="TB{n}" HPOS="10" VPOS="20" WIDTH="{w - 20}" HEIGHT="{h - 40}">'
            f'<TextLine ID="TL{n}" HPOS="10" VPOS="20" WIDTH="{w - 20}" HEIGHT="14">{"".join(strings)}</TextLine>'
            f'</TextBlock></PrintSpace></Page></Layout></alto>\n').encode()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def page_type(spec: PspSpec, n: int) -> str:
    """The NDK page type of page `n` (the TYPE of its div in the PHYSICAL structMap): the
    front cover, the title page, normal pages, a blank before the back cover, the back cover."""
    if n in spec.page_types:
        return spec.page_types[n]
    last = spec.pages
    if n == 1:
        return "frontCover"
    if n == 2:
        return "titlePage"
    if n == last and last >= 4:
        return "backCover"
    if n == last - 1 and last >= 6:
        return "blank"
    return "normalPage"


def _uuid(spec: PspSpec, level: str) -> str:
    """The uuid of a level of description: the package's own for the unit it holds (the
    monograph volume, the periodical issue), derived ones for the levels above it."""
    unit = "VOLUME" if spec.kind == "monograph" else "ISSUE"
    return spec.uuid if level == unit else str(uuidlib.uuid5(uuidlib.UUID(spec.uuid), level))


def _urnnbn(spec: PspSpec) -> str:
    return f"urn:nbn:cz:aba001-{spec.uuid.replace('-', '')[:6]}"


def _hdr(agents: tuple[str, ...]) -> str:
    return ('<mets:metsHdr CREATEDATE="2026-03-01T10:00:00Z" LASTMODDATE="2026-03-01T10:00:00Z">'
            + "".join(f'<mets:agent ROLE="{role}" TYPE="ORGANIZATION"><mets:name>ABA001</mets:name></mets:agent>'
                      for role in agents) + "</mets:metsHdr>")


def _mix(spec: PspSpec) -> str:
    return (f'<mets:mdWrap MDTYPE="NISOIMG" MIMETYPE="text/xml"><mets:xmlData><mix:mix><mix:BasicImageInformation>'
            f'<mix:BasicImageCharacteristics><mix:imageWidth>{spec.size[0]}</mix:imageWidth>'
            f'<mix:imageHeight>{spec.size[1]}</mix:imageHeight></mix:BasicImageCharacteristics>'
            f'</mix:BasicImageInformation></mix:mix></mets:xmlData></mets:mdWrap>')


def _premis(body: str) -> str:
    return f'<mets:mdWrap MDTYPE="PREMIS" MIMETYPE="text/xml"><mets:xmlData>{body}</mets:xmlData></mets:mdWrap>'


def _premis_object(ident: str, fmt: str) -> str:
    return _premis(f'<premis:object xsi:type="premis:file"><premis:objectIdentifier>'
                   f'<premis:objectIdentifierType>info:ndk</premis:objectIdentifierType>'
                   f'<premis:objectIdentifierValue>{ident}</premis:objectIdentifierValue></premis:objectIdentifier>'
                   f'<premis:objectCharacteristics><premis:compositionLevel>0</premis:compositionLevel>'
                   f'<premis:format><premis:formatDesignation><premis:formatName>{fmt}</premis:formatName>'
                   f'</premis:formatDesignation></premis:format></premis:objectCharacteristics></premis:object>')


# fileGrp ID, USE, folder, file prefix, extension, MIME type, the prefix of its mets:file IDs
PAGE_GROUPS = (("MC_IMGGRP", "Images", "mastercopy", "mc", "jp2", "image/jp2", "MC"),
               ("UC_IMGGRP", "Images", "usercopy", "uc", "jp2", "image/jp2", "UC"),
               ("ALTOGRP", "Layout", "alto", "alto", "xml", "text/xml", "ALTO"),
               ("TXTGRP", "Text", "txt", "txt", "txt", "text/plain", "TXT"),
               ("TECHMDGRP", "Technical Metadata", "amdsec", "amd_mets", "xml", "text/xml", "AMD_METS"))


def amd_mets(spec: PspSpec, n: int, files: dict[str, bytes], paths: dict[str, str]) -> bytes:
    """A page METS (amdsec/) in the shape the standard and the validator's rules give it: a
    header, the amdSec with the MIX of the scan and the master copy, PREMIS objects of the
    scan, the master copy and the ALTO, a PREMIS event and agent; a fileSec of four groups
    pointing (from amdsec/) at this page's files; a PHYSICAL div of TYPE MONOGRAPH_PAGE or
    PERIODICAL_PAGE pointing at each of them."""
    u = spec.uuid
    groups, fptrs = [], []
    for grp, use, _folder, _prefix, _ext, mime, fid in PAGE_GROUPS[:4]:
        path = paths[grp]
        data = files.get(path, b"")
        groups.append(f'<mets:fileGrp ID="{grp}" USE="{use}"><mets:file ID="{fid}_{n:04d}" MIMETYPE="{mime}" '
                      f'SIZE="{len(data)}" CHECKSUM="{_md5(data)}" CHECKSUMTYPE="MD5"><mets:FLocat LOCTYPE="URL" '
                      f'xlink:href="../{path}"/></mets:file></mets:fileGrp>')
        fptrs.append(f'<mets:fptr FILEID="{fid}_{n:04d}"/>')
    kind = spec.kind.capitalize()
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'xmlns:mix="http://www.loc.gov/mix/v20" xmlns:premis="info:lc/xmlns/premis-v2" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" LABEL={quoteattr(spec.title)} TYPE="{kind}">'
            + _hdr(("CREATOR", "ARCHIVIST"))
            + f'<mets:amdSec ID="AMD_METS_{n:04d}">'
            f'<mets:techMD ID="MIX_001">{_mix(spec)}</mets:techMD>'
            f'<mets:techMD ID="MIX_002">{_mix(spec)}</mets:techMD>'
            f'<mets:techMD ID="OBJ_001">{_premis_object(f"ps_{u}_{n:04d}", "image/tiff")}</mets:techMD>'
            f'<mets:techMD ID="OBJ_002">{_premis_object(f"mc_{u}_{n:04d}", "image/jp2")}</mets:techMD>'
            f'<mets:techMD ID="OBJ_003">{_premis_object(f"alto_{u}_{n:04d}", "text/xml")}</mets:techMD>'
            '<mets:digiprovMD ID="EVT_001">'
            + _premis('<premis:event><premis:eventIdentifier><premis:eventIdentifierType>info:ndk/event'
                      '</premis:eventIdentifierType><premis:eventIdentifierValue>EVT_001</premis:eventIdentifierValue>'
                      '</premis:eventIdentifier><premis:eventType>capture</premis:eventType>'
                      '<premis:eventDateTime>2026-03-01T10:00:00</premis:eventDateTime><premis:linkingAgentIdentifier>'
                      '<premis:linkingAgentIdentifierType>info:ndk/agent</premis:linkingAgentIdentifierType>'
                      '<premis:linkingAgentIdentifierValue>AGENT_001</premis:linkingAgentIdentifierValue>'
                      '</premis:linkingAgentIdentifier></premis:event>')
            + '</mets:digiprovMD><mets:digiprovMD ID="AGENT_001">'
            + _premis('<premis:agent><premis:agentIdentifier><premis:agentIdentifierType>info:ndk/agent'
                      '</premis:agentIdentifierType><premis:agentIdentifierValue>AGENT_001'
                      '</premis:agentIdentifierValue></premis:agentIdentifier><premis:agentName>test maker'
                      '</premis:agentName><premis:agentType>software</premis:agentType></premis:agent>')
            + f'</mets:digiprovMD></mets:amdSec><mets:fileSec>{"".join(groups)}</mets:fileSec>'
            f'<mets:structMap TYPE="PHYSICAL"><mets:div TYPE="{spec.kind.upper()}_PAGE" ORDER="{n}" '
            f'ORDERLABEL="[{n}]">{"".join(fptrs)}</mets:div></mets:structMap></mets:mets>\n').encode()


def _mods(spec: PspSpec, level: str, genre: str, title: str | None, extra: str = "") -> str:
    """A MODS record of one level, with what the edition's biblio profile expects of it."""
    unit = level == ("VOLUME" if spec.kind == "monograph" else "ISSUE")
    return (f'<mods:mods ID="MODS_{level}_0001">'
            + (f'<mods:titleInfo><mods:title>{escape(title)}</mods:title></mods:titleInfo>' if title else "")
            + '<mods:name type="personal"><mods:namePart>Novák, Jan</mods:namePart><mods:role>'
            '<mods:roleTerm type="code" authority="marcrelator">aut</mods:roleTerm></mods:role></mods:name>'
            f'<mods:genre>{genre}</mods:genre>'
            '<mods:originInfo><mods:publisher>Obec Lhota</mods:publisher>'
            '<mods:dateIssued>1921</mods:dateIssued></mods:originInfo>'
            '<mods:language><mods:languageTerm type="code" authority="iso639-2b">cze</mods:languageTerm>'
            '</mods:language><mods:physicalDescription><mods:form authority="marcform">print</mods:form>'
            f'</mods:physicalDescription>{extra}'
            f'<mods:identifier type="uuid">{_uuid(spec, level)}</mods:identifier>'
            + (f'<mods:identifier type="urnnbn">{_urnnbn(spec)}</mods:identifier>' if unit else "")
            + '<mods:recordInfo><mods:recordCreationDate encoding="iso8601">2026-03-01T10:00:00'
            '</mods:recordCreationDate></mods:recordInfo></mods:mods>')


def _dmd(spec: PspSpec, level: str, mods: str) -> str:
    unit = level == ("VOLUME" if spec.kind == "monograph" else "ISSUE")
    return (f'<mets:dmdSec ID="MODSMD_{level}_0001"><mets:mdWrap MDTYPE="MODS" MIMETYPE="text/xml"><mets:xmlData>'
            f'{mods}</mets:xmlData></mets:mdWrap></mets:dmdSec>'
            f'<mets:dmdSec ID="DCMD_{level}_0001"><mets:mdWrap MDTYPE="DC" MIMETYPE="text/xml"><mets:xmlData>'
            f'<oai_dc:dc><dc:title>{escape(spec.title)}</dc:title>'
            f'<dc:identifier>uuid:{_uuid(spec, level)}</dc:identifier>'
            + (f'<dc:identifier>urnnbn:{_urnnbn(spec)}</dc:identifier>' if unit else "")
            + '</oai_dc:dc></mets:xmlData></mets:mdWrap></mets:dmdSec>')


def page_paths(spec: PspSpec, n: int) -> dict[str, str]:
    return {grp: f"{folder}/{prefix}_{spec.uuid}_{n:04d}.{ext}" for grp, _u, folder, prefix, ext, _m, _i in PAGE_GROUPS}


def main_mets(spec: PspSpec, files: dict[str, bytes], referenced: dict[int, dict[str, str]]) -> bytes:
    """The main METS in the shape of the standard's example and the validator's rules: the
    header (CREATOR and ARCHIVIST), MODS and DC of each level, the five fileGrp with their USE,
    the LOGICAL structMap, the PHYSICAL one (a top div naming the unit's MODS, a div per page
    with ID, TYPE from the page types, ORDER, ORDERLABEL and an fptr into each group) and the
    structLink."""
    groups = []
    for grp, use, _folder, _p, _e, mime, fid in PAGE_GROUPS:
        entries = []
        for n in sorted(referenced):
            path = referenced[n][grp]
            data = files.get(path, b"")
            entries.append(f'<mets:file ID="{fid}_{n:04d}" SEQ="{n}" MIMETYPE="{mime}" SIZE="{len(data)}" '
                           f'CHECKSUM="{_md5(data)}" CHECKSUMTYPE="MD5" CREATED="2026-03-01T10:00:00">'
                           f'<mets:FLocat LOCTYPE="URL" xlink:href="./{path}"/></mets:file>')
        groups.append(f'<mets:fileGrp ID="{grp}" USE="{use}">{"".join(entries)}</mets:fileGrp>')
    pages = "".join(
        f'<mets:div ID="DIV_P_PAGE_{n:04d}" TYPE="{page_type(spec, n)}" ORDER="{n}" ORDERLABEL="[{n}]">'
        + "".join(f'<mets:fptr FILEID="{fid}_{n:04d}"/>' for *_r, fid in PAGE_GROUPS) + "</mets:div>"
        for n in sorted(referenced))
    per = max(1, -(-len(referenced) // max(1, spec.chapters)))
    numbers = sorted(referenced)
    sections = [numbers[i:i + per] for i in range(0, len(numbers), per)]
    if spec.kind == "periodical":
        dmd = (_dmd(spec, "TITLE", _mods(spec, "TITLE", "title", spec.title))
               + _dmd(spec, "VOLUME", _mods(spec, "VOLUME", "volume", None,
                                            '<mods:part><mods:detail type="volume"><mods:number>1921</mods:number>'
                                            '</mods:detail></mods:part>'))
               + _dmd(spec, "ISSUE", _mods(spec, "ISSUE", "issue", "Číslo 5",
                                           '<mods:part><mods:detail type="issue"><mods:number>5</mods:number>'
                                           '</mods:detail></mods:part>')))
        logical = ('<mets:div ID="TITLE_0001" TYPE="PERIODICAL_TITLE" LABEL={t} DMDID="MODSMD_TITLE_0001">'
                   '<mets:div ID="VOLUME_0001" TYPE="PERIODICAL_VOLUME" LABEL="1921" DMDID="MODSMD_VOLUME_0001">'
                   '<mets:div ID="ISSUE_0001" TYPE="ISSUE" LABEL="Číslo 5" DMDID="MODSMD_ISSUE_0001">{inner}'
                   '</mets:div></mets:div></mets:div>')
        section_type, section_label = "ARTICLE", "Článek"
        phys_type, unit = "PERIODICAL_PAGES", "ISSUE"
    else:
        dmd = _dmd(spec, "VOLUME", _mods(spec, "VOLUME", "volume", spec.title))
        logical = ('<mets:div ID="VOLUME_0001" TYPE="VOLUME" LABEL={t} DMDID="MODSMD_VOLUME_0001">{inner}'
                   '</mets:div>')
        section_type, section_label = "CHAPTER", "Kapitola"
        phys_type, unit = "MONOGRAPH", "VOLUME"
    inner = "".join(f'<mets:div ID="SECTION_{i:04d}" TYPE="{section_type}" LABEL="{section_label} {i}"/>'
                    for i, _s in enumerate(sections, 1))
    links = "".join(f'<mets:smLink xlink:from="SECTION_{i:04d}" xlink:to="DIV_P_PAGE_{n:04d}"/>'
                    for i, sec in enumerate(sections, 1) for n in sec)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'xmlns:mods="http://www.loc.gov/mods/v3" xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/" LABEL={quoteattr(spec.title)} '
            f'TYPE="{spec.kind.capitalize()}">' + _hdr(("CREATOR", "ARCHIVIST"))
            + f'{dmd}<mets:fileSec>{"".join(groups)}</mets:fileSec>'
            f'<mets:structMap TYPE="LOGICAL" LABEL="Logical_Structure">'
            + logical.format(t=quoteattr(spec.title), inner=inner) + '</mets:structMap>'
            f'<mets:structMap TYPE="PHYSICAL" LABEL="Physical_Structure">'
            f'<mets:div ID="DIV_P_0000" TYPE="{phys_type}" LABEL={quoteattr(spec.title)} '
            f'DMDID="MODSMD_{unit}_0001">{pages}</mets:div>'
            f'</mets:structMap><mets:structLink>{links}</mets:structLink></mets:mets>\n').encode()


def make_psp(root: Path, spec: PspSpec | None = None, mutate: Callable[[dict[str, bytes]], None] | None = None,
             mutate_mets: Callable[[bytes], bytes] | None = None,
             mutate_info: Callable[[str], str] | None = None) -> Path:
    """Write the PSP folder root/<uuid>/ and return it."""
    spec = spec or PspSpec()
    spec.uuid = spec.uuid or str(uuidlib.uuid4())
    u = spec.uuid
    files: dict[str, bytes] = {}
    referenced: dict[int, dict[str, str]] = {}
    for n in range(1, spec.pages + 1):
        paths = page_paths(spec, n)
        referenced[n] = paths
        img = page_image(spec, n)
        files[paths["MC_IMGGRP"]] = _jp2(img, lossless=True)
        files[paths["UC_IMGGRP"]] = _jp2(img, lossless=False)
        files[paths["ALTOGRP"]] = alto(spec, n, paths["MC_IMGGRP"])
        files[paths["TXTGRP"]] = page_text(spec, n).encode()
    for n, paths in referenced.items():
        files[paths["TECHMDGRP"]] = amd_mets(spec, n, files, paths)
    if mutate:
        mutate(files)
    mets_name = f"mets_{u}.xml"
    files[mets_name] = main_mets(spec, files, referenced)
    if mutate_mets:
        files[mets_name] = mutate_mets(files[mets_name])
    md5_name = f"md5_{u}.md5"
    files[md5_name] = "".join(f"{_md5(data)} \\{path.replace('/', chr(92))}\n"
                              for path, data in sorted(files.items())).encode()
    kb = sum(len(d) for d in files.values()) // 1024
    items = "".join(f"<item>\\{p.replace('/', chr(92))}</item>" for p in sorted(files))
    md5_type = "MD5" if (spec.kind, spec.version) == ("periodical", "1.6") else "md5"  # as each schema spells it
    info = (f'<?xml version="1.0" encoding="UTF-8"?>\n<info><created>2026-03-01T10:00:00</created>'
            f'<metadataversion>{spec.version}</metadataversion><packageid>{u}</packageid>'
            f'<mainmets>{mets_name}</mainmets><validation version="2.0">W3C-XML</validation>'
            f'<titleid type="ccnb">cnb{int(u[:8], 16) % 10**9:09d}</titleid><creator>ABA001</creator><size>{kb}</size>'
            f'<itemlist itemtotal="{len(files)}">{items}</itemlist>'
            f'<checksum type="{md5_type}" checksum="{_md5(files[md5_name])}">\\{md5_name}</checksum></info>\n')
    if mutate_info:
        info = mutate_info(info)
    files[f"info_{u}.xml"] = info.encode()
    top = root / u
    for path, data in files.items():
        (top / path).parent.mkdir(parents=True, exist_ok=True)
        (top / path).write_bytes(data)
    return top
