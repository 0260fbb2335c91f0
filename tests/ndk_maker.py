"""Builds NDK digitisation packages (PSP) in code, for the tests and bench/ndk.py.

A PSP is one folder named by its uuid: the main METS (MODS + DC, fileSec over every page
file, physical and logical structMap, structLink), info_<uuid>.xml, md5_<uuid>.md5, and per
page a lossless JPEG 2000 master copy, a lossy user copy (both made with Pillow), an ALTO
2.0 OCR file, plain text and a technical METS (amdsec) with MIX and PREMIS.

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


def amd_mets(spec: PspSpec, n: int, files: dict[str, bytes], ids: dict[str, str]) -> bytes:
    u = spec.uuid
    mc = f"mastercopy/mc_{u}_{n:04d}.jp2"
    entries = "".join(
        f'<mets:fileGrp ID="{grp}" USE="{use}"><mets:file ID="{ids[path]}" MIMETYPE="{mime}" SIZE="{len(files[path])}" '
        f'CHECKSUM="{_md5(files[path])}" CHECKSUMTYPE="MD5"><mets:FLocat LOCTYPE="URL" '
        f'xlink:href="../{path}"/></mets:file></mets:fileGrp>'
        for grp, use, path, mime in (("MC_IMGGRP", "Images", mc, "image/jp2"),)
        if path in files)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'xmlns:mix="http://www.loc.gov/mix/v20" xmlns:premis="info:lc/xmlns/premis-v2" '
            f'LABEL={quoteattr(spec.title)} TYPE="{spec.kind.capitalize()}">'
            f'<mets:metsHdr CREATEDATE="2026-03-01T10:00:00"><mets:agent ROLE="CREATOR" TYPE="ORGANIZATION">'
            f'<mets:name>ABA001</mets:name></mets:agent></mets:metsHdr>'
            f'<mets:amdSec ID="AMD_{n:04d}"><mets:techMD ID="MIX_{n:04d}"><mets:mdWrap MDTYPE="NISOIMG" '
            f'MIMETYPE="text/xml"><mets:xmlData><mix:mix><mix:BasicImageInformation><mix:BasicImageCharacteristics>'
            f'<mix:imageWidth>{spec.size[0]}</mix:imageWidth><mix:imageHeight>{spec.size[1]}</mix:imageHeight>'
            f'</mix:BasicImageCharacteristics></mix:BasicImageInformation></mix:mix></mets:xmlData></mets:mdWrap>'
            f'</mets:techMD><mets:digiprovMD ID="OBJ_{n:04d}"><mets:mdWrap MDTYPE="PREMIS" MIMETYPE="text/xml">'
            f'<mets:xmlData><premis:object xsi:type="premis:file" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><premis:objectIdentifier>'
            f'<premis:objectIdentifierType>info:ndk/mc</premis:objectIdentifierType>'
            f'<premis:objectIdentifierValue>mc_{u}_{n:04d}</premis:objectIdentifierValue></premis:objectIdentifier>'
            f'<premis:objectCharacteristics><premis:compositionLevel>0</premis:compositionLevel>'
            f'<premis:format><premis:formatDesignation><premis:formatName>image/jp2</premis:formatName>'
            f'</premis:formatDesignation></premis:format></premis:objectCharacteristics></premis:object>'
            f'</mets:xmlData></mets:mdWrap></mets:digiprovMD></mets:amdSec>'
            f'<mets:fileSec>{entries}</mets:fileSec>'
            f'<mets:structMap TYPE="PHYSICAL"><mets:div TYPE="page" ORDER="{n}">'
            + "".join(f'<mets:fptr FILEID="{ids[p]}"/>' for p in (mc,) if p in files)
            + '</mets:div></mets:structMap></mets:mets>\n').encode()


def _mods(spec: PspSpec, ident: str, genre: str, title: str, extra: str = "") -> str:
    return (f'<mods:mods ID="MODS_{ident}"><mods:titleInfo><mods:title>{escape(title)}</mods:title></mods:titleInfo>'
            f'<mods:name type="personal"><mods:namePart>Novák, Jan</mods:namePart></mods:name>'
            f'<mods:genre>{genre}</mods:genre>'
            f'<mods:originInfo><mods:publisher>Obec Lhota</mods:publisher>'
            f'<mods:dateIssued>1921</mods:dateIssued></mods:originInfo>'
            f'<mods:language><mods:languageTerm type="code" authority="iso639-2b">cze</mods:languageTerm>'
            f'</mods:language>{extra}'
            f'<mods:identifier type="uuid">{spec.uuid}</mods:identifier></mods:mods>')


PAGE_GROUPS = (("MC_IMGGRP", "Images", "mastercopy", "mc", "jp2", "image/jp2"),
               ("UC_IMGGRP", "Images", "usercopy", "uc", "jp2", "image/jp2"),
               ("ALTOGRP", "Layout", "alto", "alto", "xml", "text/xml"),
               ("TXTGRP", "Text", "txt", "txt", "txt", "text/plain"),
               ("TECHMDGRP", "Technical Metadata", "amdsec", "amd_mets", "xml", "text/xml"))


def page_paths(spec: PspSpec, n: int) -> dict[str, str]:
    return {grp: f"{folder}/{prefix}_{spec.uuid}_{n:04d}.{ext}" for grp, _u, folder, prefix, ext, _m in PAGE_GROUPS}


def main_mets(spec: PspSpec, files: dict[str, bytes], referenced: dict[int, dict[str, str]]) -> bytes:
    ids = {path: f"{path.split('/')[1].rsplit('.', 1)[0]}" for pages in referenced.values()
           for path in pages.values()}
    groups = []
    for grp, use, _folder, _p, _e, mime in PAGE_GROUPS:
        entries = []
        for n in sorted(referenced):
            path = referenced[n][grp]
            data = files.get(path, b"")
            entries.append(f'<mets:file ID="{ids[path]}" SEQ="{n}" MIMETYPE="{mime}" SIZE="{len(data)}" '
                           f'CHECKSUM="{_md5(data)}" CHECKSUMTYPE="MD5" CREATED="2026-03-01T10:00:00">'
                           f'<mets:FLocat LOCTYPE="URL" xlink:href="./{path}"/></mets:file>')
        groups.append(f'<mets:fileGrp ID="{grp}" USE="{use}">{"".join(entries)}</mets:fileGrp>')
    pages = "".join(
        f'<mets:div ID="DIV_P_PAGE_{n:04d}" TYPE="page" ORDER="{n}" ORDERLABEL="[{n}]" LABEL="Strana {n}">'
        + "".join(f'<mets:fptr FILEID="{ids[referenced[n][g]]}"/>' for g, *_r in PAGE_GROUPS) + "</mets:div>"
        for n in sorted(referenced))
    per = max(1, -(-len(referenced) // max(1, spec.chapters)))
    numbers = sorted(referenced)
    sections = [numbers[i:i + per] for i in range(0, len(numbers), per)]
    if spec.kind == "periodical":
        dmd = (f'<mets:dmdSec ID="MODSMD_TITLE_0001"><mets:mdWrap MDTYPE="MODS" MIMETYPE="text/xml"><mets:xmlData>'
               f'{_mods(spec, "TITLE_0001", "title", spec.title)}</mets:xmlData></mets:mdWrap></mets:dmdSec>'
               f'<mets:dmdSec ID="MODSMD_VOLUME_0001"><mets:mdWrap MDTYPE="MODS" MIMETYPE="text/xml"><mets:xmlData>'
               f'{_mods(spec, "VOLUME_0001", "volume", "1921")}</mets:xmlData></mets:mdWrap></mets:dmdSec>'
               f'<mets:dmdSec ID="MODSMD_ISSUE_0001"><mets:mdWrap MDTYPE="MODS" MIMETYPE="text/xml"><mets:xmlData>'
               + _mods(spec, "ISSUE_0001", "issue", "Číslo 5",
                       '<mods:part><mods:detail type="issue"><mods:number>5</mods:number></mods:detail></mods:part>')
               + '</mets:xmlData></mets:mdWrap></mets:dmdSec>')
        logical = ('<mets:div ID="TITLE_0001" TYPE="PERIODICAL_TITLE" LABEL={t} DMDID="MODSMD_TITLE_0001">'
                   '<mets:div ID="VOLUME_0001" TYPE="PERIODICAL_VOLUME" LABEL="1921" DMDID="MODSMD_VOLUME_0001">'
                   '<mets:div ID="ISSUE_0001" TYPE="ISSUE" LABEL="Číslo 5" DMDID="MODSMD_ISSUE_0001">{inner}'
                   '</mets:div></mets:div></mets:div>')
        section_type, section_label = "ARTICLE", "Článek"
        phys_type = "PERIODICAL_PAGES"
    else:
        dmd = (f'<mets:dmdSec ID="MODSMD_VOLUME_0001"><mets:mdWrap MDTYPE="MODS" MIMETYPE="text/xml"><mets:xmlData>'
               f'{_mods(spec, "VOLUME_0001", "volume", spec.title)}</mets:xmlData></mets:mdWrap></mets:dmdSec>')
        logical = ('<mets:div ID="VOLUME_0001" TYPE="VOLUME" LABEL={t} DMDID="MODSMD_VOLUME_0001">{inner}'
                   '</mets:div>')
        section_type, section_label = "CHAPTER", "Kapitola"
        phys_type = "MONOGRAPH"
    dmd += (f'<mets:dmdSec ID="DCMD_VOLUME_0001"><mets:mdWrap MDTYPE="DC" MIMETYPE="text/xml"><mets:xmlData>'
            f'<oai_dc:dc><dc:title>{escape(spec.title)}</dc:title><dc:identifier>uuid:{spec.uuid}</dc:identifier>'
            f'</oai_dc:dc></mets:xmlData></mets:mdWrap></mets:dmdSec>')
    inner = "".join(f'<mets:div ID="SECTION_{i:04d}" TYPE="{section_type}" LABEL="{section_label} {i}"/>'
                    for i, _s in enumerate(sections, 1))
    links = "".join(f'<mets:smLink xlink:from="SECTION_{i:04d}" xlink:to="DIV_P_PAGE_{n:04d}"/>'
                    for i, sec in enumerate(sections, 1) for n in sec)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'xmlns:mods="http://www.loc.gov/mods/v3" xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/" LABEL={quoteattr(spec.title)} '
            f'TYPE="{spec.kind.capitalize()}">'
            f'<mets:metsHdr CREATEDATE="2026-03-01T10:00:00" LASTMODDATE="2026-03-01T10:00:00">'
            f'<mets:agent ROLE="CREATOR" TYPE="ORGANIZATION"><mets:name>ABA001</mets:name></mets:agent>'
            f'</mets:metsHdr>{dmd}<mets:fileSec>{"".join(groups)}</mets:fileSec>'
            f'<mets:structMap TYPE="LOGICAL" LABEL="Logical_Structure">'
            + logical.format(t=quoteattr(spec.title), inner=inner) + '</mets:structMap>'
            f'<mets:structMap TYPE="PHYSICAL" LABEL="Physical_Structure">'
            f'<mets:div ID="DIV_P_0000" TYPE="{phys_type}" LABEL={quoteattr(spec.title)}>{pages}</mets:div>'
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
        ids = {p: p.split("/")[1].rsplit(".", 1)[0] for p in paths.values()}
        files[paths["TECHMDGRP"]] = amd_mets(spec, n, files, ids)
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
