"""Builds Czech ERMS (NSESSS) SIPs, v4 (2024) and v3 (2017), in code.

`Package` describes one; `write_package` writes the folder `<name>/` with `mets.xml` and
`komponenty/`. The default is a file (nsesss:Spis) of a digital document with three
components (a DOCX original, its PDF/A output-format original, a PNG annex) and an
analogue received document, filed in a two-level filing plan, with a transaction log
(amdSec) for every entity and component and a structMap mirroring it all; it passes every
rule of the national rule set under every profile. Other shapes: a document as the base
entity, a part (nsesss:Dil) of a type file, two files bound by fixed cross-references,
a container component, a metadata-only package. Tests break one thing at a time, by
`mutate=` (a function of the parsed mets.xml) or by changing files.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker

from archa.demo import pdf_document

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
NS = {4: "http://www.mvcr.cz/nsesss/v4", 3: "http://www.mvcr.cz/nsesss/v3", 2: "http://www.mvcr.cz/nsesss/v2"}
TP_NS = {4: "http://www.mvcr.cz/nsesss/2023/log", 3: "http://nsess.public.cz/erms_trans/v_01_01"}
TP_IDS = {4: TP_NS[4], 3: "http://mvcr.cz/ess/v_1.0.0.0"}
LABEL_TRANSFER = "Datový balíček pro předávání dokumentů a jejich metadat do archivu"
LABEL_REVIEW = "Datový balíček pro provedení skartačního řízení"
SCHEMA_LOCATION = {
    4: "http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/mets.xsd http://www.mvcr.cz/nsesss/v4 "
       "http://www.mvcr.cz/nsesss/v4/nsesss.xsd http://www.mvcr.cz/nsesss/2023/log "
       "https://www.mvcr.cz/nsesss/v4/nsesss-TrP.xsd",
    3: "http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/mets.xsd http://www.mvcr.cz/nsesss/v3 "
       "http://www.mvcr.cz/nsesss/v3/nsesss.xsd http://nsess.public.cz/erms_trans/v_01_01 "
       "TransakcniProtokolNavrh_verze1.7.xsd",
}
ZDROJ = "eSSL Krajský úřad"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ORIGINAL, OUTPUT = "originál", "originál ve výstupním datovém formátu"


def ico(seven: str) -> str:
    """A valid IČO (Czech company number) from its first seven digits."""
    rest = sum(int(d) * w for d, w in zip(seven, range(8, 1, -1), strict=True)) % 11
    return seven + str((11 - rest) % 10)


ORG_ICO = ico("7089074")


# --- component files ------------------------------------------------------------------------

def docx_bytes(*paragraphs: str) -> bytes:
    """A small Word document (the parts Word and LibreOffice need), empty or with `paragraphs`."""
    from xml.sax.saxutils import escape

    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/'
          'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
          'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
          'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
          '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.'
            'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    doc = '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>'
    if paragraphs:
        body = "".join(f"<w:p><w:r><w:t>{escape(t)}</w:t></w:r></w:p>" for t in paragraphs)
        doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.'
               f'openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("word/document.xml", doc)
    return buf.getvalue()


ODT_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def odt_bytes(body: str = "<text:p>Hello archive</text:p><text:p>A second paragraph.</text:p>",
              namespaces: str = "") -> bytes:
    """An OpenDocument text (1.2) made by hand: `body` inside office:text, with the
    office and text namespaces and `namespaces` (more xmlns attributes) declared."""
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODT_NS} {namespaces} '
               f'office:version="1.2"><office:body><office:text>{body}</office:text></office:body>'
               '</office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
                'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def pdf_bytes(text: str = "Odpověď na stížnost", *, pdfa: bool = True, part: int = 2, conformance: str = "B",
              font_embedded: bool = True, encrypt: bool = False, javascript: bool = False) -> bytes:
    """A small PDF; by default one that passes archa's PDF/A checks (PDF/A-2b: XMP
    identification, output intent, embedded font, binary header comment, file id)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text.encode('ascii', 'replace').decode()}) Tj ET".encode()
    font_file = b"\x00\x01\x00\x00" + bytes(60)  # stands for a TrueType program (not parsed by the checks)
    xmp = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
           '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
           f'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>{part}</pdfaid:part>'
           f'<pdfaid:conformance>{conformance}</pdfaid:conformance></rdf:Description></rdf:RDF></x:xmpmeta>'
           '<?xpacket end="w"?>').encode()
    icc = b"\x00" * 128  # stands for an ICC profile
    catalog = b"<< /Type /Catalog /Pages 2 0 R"
    if pdfa:
        catalog += b" /Metadata 7 0 R /OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1 " \
                   b"/OutputConditionIdentifier (sRGB) /DestOutputProfile 8 0 R >>]"
    if javascript:
        catalog += b" /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"
    catalog += b" >>"
    descriptor = b"<< /Type /FontDescriptor /FontName /ArialMT /Flags 32 /FontBBox [0 0 1000 1000] " \
                 b"/ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80" + \
                 (b" /FontFile2 9 0 R >>" if font_embedded else b" >>")
    objs = [catalog, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>"),
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
            (b"<< /Type /Font /Subtype /TrueType /BaseFont /ArialMT /FirstChar 32 /LastChar 32 /Widths [278] "
            b"/FontDescriptor 6 0 R >>"),
            descriptor,
            b"<< /Type /Metadata /Subtype /XML /Length " + str(len(xmp)).encode() + b" >>\nstream\n" + xmp
            + b"\nendstream",
            b"<< /N 3 /Length " + str(len(icc)).encode() + b" >>\nstream\n" + icc + b"\nendstream",
            b"<< /Length " + str(len(font_file)).encode() + b" >>\nstream\n" + font_file + b"\nendstream"]
    trailer = "/ID [<0a1b2c3d4e5f60718293a4b5c6d7e8f9> <0a1b2c3d4e5f60718293a4b5c6d7e8f9>]"
    if encrypt:
        trailer += " /Encrypt << /Filter /Standard /V 1 /R 2 /O (x) /U (x) /P -4 >>"
    return pdf_document(objs, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", trailer)


def png_bytes(seed: int = 0) -> bytes:
    from archa.demo import png_bytes as png

    return png(32 + seed, 24)


def photo_png(seed: int, side: int = 230) -> bytes:
    """A PNG of side x side RGB pixels of noise: compresses (and costs a format identifier)
    as a photograph or a scan does; ~159 KB at 230 px."""
    import random
    import struct
    import zlib

    rnd = random.Random(seed)
    rows = b"".join(b"\x00" + rnd.randbytes(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@dataclass(frozen=True)
class Comp:
    """A component: file name, bytes, media type, number (poradi), version, kind and form."""

    name: str
    data: bytes
    mime: str
    poradi: int = 1
    verze: int = 1
    forma: str = ORIGINAL
    druh: str = "hlavní"


def default_components() -> tuple[Comp, ...]:
    return (Comp("odpoved.docx", docx_bytes(), DOCX, 1, 1, ORIGINAL),
            Comp("odpoved.pdf", pdf_bytes(), "application/pdf", 1, 2, OUTPUT),
            Comp("foto.png", png_bytes(), "image/png", 2, 1, ORIGINAL, "příloha"))


def container_components() -> tuple[Comp, ...]:
    scan = png_bytes(3)
    return (Comp("zprava.zip", zip_bytes({"scan.png": scan}), "application/zip", 1, 1, "kontejner"),
            Comp("scan.png", scan, "image/png", 1, 2, ORIGINAL))


@dataclass(frozen=True)
class Doc:
    """A document: digital with components, or analogue (received on paper).

    `registered` is how it was registered, as filing systems export it: "number" (Evidence
    with its EvidencniCislo), "unnumbered" (Evidence without a number: older records), or
    "neevidence" (Neevidence with a reason: registered outside the filing system, e.g. found
    documents). `settled` is when a document inside a file was settled (a base document is
    settled when the package says it was closed)."""

    key: str  # its XML ID and identifier suffix
    sign: str = "A"
    period: int = 5
    analog: bool = False
    components: tuple[Comp, ...] = ()
    made: str = "2015-03-01"
    registered: str = "number"
    settled: str = "2015-05-20"


@dataclass
class Package:
    name: str = "SIP_2026_0001"
    version: int = 4
    base: str = "Spis"  # "Spis", "Dokument" or "Dil"
    title: str = "Stížnost na opravu silnice"
    ident: str = "KU-2015-0042"
    originator: str = "Krajský úřad Kraje Vysočina"
    label: str = LABEL_TRANSFER
    sign: str = "A"
    period: int = 5
    closed: str = "2015-06-30"
    trigger_year: int | None = None  # default: the year closed
    declared_year: int | None = -1  # RokSkartacniOperace: -1 = trigger + 1 + period, None = not given
    rok_vyrazeni: int | None = None  # v4: a fixed year instead of a period
    disposal: tuple[str, str] | None = ("2022-03-15", "trvalé uložení")  # SkartacniRizeni (date, operation)
    documents: tuple[Doc, ...] = field(default_factory=lambda: (
        Doc("dok-1", "A", 5, components=default_components()),
        Doc("dok-2", "S", 5, analog=True)))
    checksum_type: str = "SHA-512"
    linked: bool = False  # a second file bound to this one by fixed cross-references
    metadata_only: bool = False  # no komponenty/ folder is written
    access: str = ""  # v4: an access restriction of the file (Pristupnost/JineOmezeni)
    encoding: str = "UTF-8"  # the encoding mets.xml is written in (and declares)
    part_files: bool = False  # base Dil: a file in the part, below a two-level plan (see _Builder.part)

    def with_(self, **changes: object) -> Package:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def trigger(self) -> int:
        return self.trigger_year if self.trigger_year is not None else int(self.closed[:4])

    @property
    def components(self) -> list[Comp]:
        return [c for d in self.documents for c in d.components]


class _Builder:
    def __init__(self, pkg: Package) -> None:
        self.pkg = pkg
        self.v = pkg.version
        self.E = ElementMaker(namespace=NS[pkg.version], nsmap={"nsesss": NS[pkg.version]})
        self.analog = any(d.analog for d in pkg.documents)
        self.files: dict[str, tuple[Comp, str]] = {}  # komp ID -> (component, file ID)
        self.logged: dict[str, tuple[str, str, str]] = {}  # XML ID -> (type, identifier, zdroj)

    # --- building blocks ---------------------------------------------------------------------

    def subject(self, internal: bool = True) -> etree._Element:
        E = self.E
        return E.Subjekt(E.IdentifikatorOrganizace(ORG_ICO, zdroj="IČO"), E.NazevOrganizace(self.pkg.originator),
                         E.IdentifikatorFyzickeOsoby("u-7", zdroj="eSSL"), E.NazevFyzickeOsoby("Jana Nováková"),
                         E.OrganizacniUtvar("Odbor dopravy"), E.PracovniPozice("referentka"),
                         E.SidloOrganizace("Jihlava"))

    def external(self) -> etree._Element:
        E = self.E
        return E.Subjekt(E.IdentifikatorOrganizace(ico("0064581"), zdroj="IČO"), E.NazevOrganizace("Obec Brtnice"),
                         E.SidloOrganizace("Brtnice"))

    def date(self, tag: str, value: str) -> etree._Element:
        return getattr(self.E, tag)(value, datum=f"{value}T10:00:00")

    def ident(self, value: str) -> etree._Element:
        return self.E.Identifikator(value, zdroj=ZDROJ)

    def regime(self, sign: str, period: int, vs: bool = False) -> etree._Element:
        E = self.E
        rid = f"SR-{sign}{period}"
        if self.v == 4 and self.pkg.rok_vyrazeni is not None and not vs:
            rid, term = f"SR-{sign}-{self.pkg.rok_vyrazeni}", E.RokVyrazeni(str(self.pkg.rok_vyrazeni))
        else:
            term = E.SkartacniLhuta(str(period))
        return E.SkartacniRezim(E.Identifikator(rid, zdroj="spisový plán"), E.Nazev(f"{sign}/{period}"),
                                *([E.Oduvodneni("spisový a skartační plán")] if self.v == 3 else []),
                                E.SkartacniZnak(sign), term, E.SpousteciUdalost("uzavření spisu"))

    def vyrazovani(self, sign: str, period: int, base: bool) -> etree._Element:
        E, pkg = self.E, self.pkg
        parts = [self.regime(sign, period)]
        if base and pkg.declared_year is not None:  # DataceVyrazeni needs both years
            fixed = pkg.rok_vyrazeni if self.v == 4 else None
            declared = pkg.declared_year if pkg.declared_year != -1 else (fixed or pkg.trigger + 1 + period)
            parts.append(E.DataceVyrazeni(E.RokSpousteciUdalosti(str(pkg.trigger)),
                                          E.RokSkartacniOperace(str(declared))))
        if base and pkg.disposal:
            parts.append(E.SkartacniRizeni(self.date("Datum", pkg.disposal[0]),
                                           *([E.Mnozstvi("1 šanon")] if self.analog else []),
                                           E.SkartacniOperace(pkg.disposal[1]), E.Posuzovatel(self.subject())))
        return E.Vyrazovani(*parts)

    def trideni(self, simple: str, full: str, *more: etree._Element) -> etree._Element:
        return self.E.Trideni(self.E.JednoduchySpisovyZnak(simple), self.E.PlneUrcenySpisovyZnak(full), *more)

    def manip(self, analog: bool, *, opened: str = "2015-01-02", closed: str | None = None,
              place: bool = False) -> etree._Element:
        E = self.E
        return E.Manipulace(E.AnalogovyDokument("ano" if analog else "ne"), self.date("DatumOtevreni", opened),
                            *([self.date("DatumUzavreni", closed)] if closed else []),
                            *([E.Umisteni("Spisovna, regál 4")] if place and self.v == 4 else []))

    def log(self, xml_id: str, kind: str, value: str, zdroj: str = ZDROJ) -> None:
        self.logged[xml_id] = (kind, value, zdroj)

    # --- the filing plan -----------------------------------------------------------------------

    def plan(self, suffix: str) -> etree._Element:
        E = self.E
        sp_id = f"sp-1{suffix}"
        self.log(sp_id, "SpisovyPlan", "SP-2015")
        return E.SpisovyPlan(self.ident("SP-2015"), E.Nazev("Spisový a skartační plán 2015"),
                             E.Manipulace(self.date("DatumOtevreni", "2015-01-01")),
                             E.Vydavatel(self.external()), ID=sp_id)

    def group(self, key: str, simple: str, full: str, parent: etree._Element, *, regime: bool,
              typed: bool = False, suffix: str = "") -> etree._Element:
        E = self.E
        xml_id = f"{key}{suffix}"
        self.log(xml_id, "VecnaSkupina", f"VS-{full}")
        under = parent if parent.tag.endswith("SpisovyPlan") else E.MaterskaEntita(parent)
        return E.VecnaSkupina(E.EvidencniUdaje(
            E.Identifikace(self.ident(f"VS-{full}")), E.Popis(E.Nazev(f"Věcná skupina {full}")),
            E.Puvod(self.date("DatumVytvoreni", "2015-01-01")), self.trideni(simple, full, under),
            E.Vyrazovani(*([self.regime(self.pkg.sign, self.pkg.period, vs=True)] if regime else [])),
            self.manip(self.analog),
            *([E.UrcenoProTypoveSpisy("ano")] if typed and self.v == 4 else [])), ID=xml_id)

    def ancestors(self, suffix: str = "") -> tuple[etree._Element, str, str]:
        """The subject group a file or document is filed in, with its filing codes."""
        top = self.group("vs-1", "03", "03", self.plan(suffix), regime=False, suffix=suffix)
        return self.group("vs-2", "1", "03.1", top, regime=True, suffix=suffix), "1", "03.1"

    # --- records -------------------------------------------------------------------------------

    def component(self, c: Comp, n: int, codes: tuple[str, str]) -> etree._Element:
        E = self.E
        kid = f"komp-{n}"
        self.files[kid] = (c, f"file-{n}")
        self.log(kid, "Komponenta", f"K-{n}")
        signed = []
        if c.forma == OUTPUT:
            signed = [E.Manipulace(E.OvereniBezpecnostnihoPrvku(
                E.Certifikat(E.SerioveCislo("7A-42", zdroj="PostSignum"), E.Vydavatel(self.external()),
                             getattr(E, "Drzitel" if self.v == 4 else "Držitel")(self.external()),
                             E.Platnost(self.date("PlatnostOd", "2014-01-01"), self.date("PlatnostDo", "2016-01-01"))),
                E.OvereniCertifikatu(self.date("PosuzovanyOkamzik", "2015-06-29"),
                                     E.PlatnostBezpecnostnihoPrvkuCertifikatu("platný"), E.StavRevokace("ne"),
                                     E.PlatnostBezpecnostnihoPrvkuRevokaceCertifikatu("platný"),
                                     E.PlatnostCertifikacniCesty("platný"), self.date("CasOvereni", "2015-06-29"),
                                     E.PlatnostCertifikatu("platný"), E.Overovatel(self.subject())),
                self.date("CasPouziti", "2015-06-28"), self.date("CasOvereni", "2015-06-29"),
                E.PlatnostBezpecnostnihoPrvku("platný"), E.Overovatel(self.subject())))]
        return E.Komponenta(E.EvidencniUdaje(E.Identifikace(E.Identifikator(f"K-{n}", zdroj=ZDROJ)),
                                             E.Popis(E.Nazev(component_title(n, c.name))), self.trideni(*codes),
                                             *signed),
                            ID=kid, poradi=str(c.poradi), druh=c.druh, verze=str(c.verze), forma_uchovani=c.forma)

    def document(self, d: Doc, codes: tuple[str, str], *, base: bool, counter: list[int],
                 parent: etree._Element | None = None) -> etree._Element:
        E, pkg = self.E, self.pkg
        value = pkg.ident if base else f"{pkg.ident}-{d.key}"
        self.log(d.key, "Dokument", value)
        comps = []
        for c in d.components:
            counter[0] += 1
            comps.append(self.component(c, counter[0], codes))
        if d.analog:
            origin = E.Puvod(E.DorucenyDokument(self.date("DatumDoruceni", d.made), E.DoruceneMnozstvi("3 listy"),
                                                E.Odesilatel(self.external())))
        else:
            origin = E.Puvod(E.VlastniDokument(self.date("DatumVytvoreni", d.made), E.Autor(self.subject())))
        settled = pkg.closed if base else d.settled
        vyrizeni = E.Vyrizeni(self.date("Datum", settled), E.Zpusob("vyřízení dokumentem"),
                              E.Zpracovatel(self.subject()),
                              *([] if d.analog else [self.date("DatumOdeslani", "2015-05-21"),
                                                     E.Prijemce(self.external())]))
        mother = [E.MaterskeEntity(parent)] if parent is not None else []
        manip = E.Manipulace(E.AnalogovyDokument("ano" if d.analog else "ne"),
                             *([E.UkladaciJednotka("šanon 12")] if d.analog else []))
        return E.Dokument(
            E.EvidencniUdaje(
                E.Identifikace(self.ident(value)), E.Popis(E.Nazev(pkg.title if base else f"Dokument {d.key}")),
                self.registration(d, value),
                *([E.Jazyky(E.Jazyk("cze"))] if not d.analog else []),
                origin, self.trideni(*codes, *mother), vyrizeni, self.vyrazovani(d.sign, d.period, base), manip),
            *([E.Komponenty(*comps)] if comps else []), ID=d.key)

    def registration(self, d: Doc, value: str) -> etree._Element:
        """Evidence (with or without its number) or Neevidence, as `d.registered` says."""
        E = self.E
        if d.registered == "neevidence":
            return E.Neevidence(E.Oduvodneni("Dokumentu nebylo přiděleno evidenční číslo"))
        number = [E.EvidencniCislo(f"{value}/{d.settled[:4]}")] if d.registered == "number" else []
        return E.Evidence(*number,
                          E.UrceneCasoveObdobi(E.MesicOd("2015-01"), E.MesicDo("2015-12")) if d.analog else
                          E.UrceneCasoveObdobi(E.DatumOd("2015-01-01"), E.DatumDo("2015-12-31")),
                          E.NazevEvidenceDokumentu("podací deník"))

    def file(self, key: str, value: str, title: str, codes: tuple[str, str], *, parent: etree._Element | None,
             documents: tuple[Doc, ...], counter: list[int], links: list[str], base: bool = True) -> etree._Element:
        E, pkg = self.E, self.pkg
        self.log(key, "Spis", value)
        docs = [self.document(d, codes, base=False, counter=counter) for d in documents]
        related = [E.Souvislosti(*[E.KrizovyOdkaz(E.PlneUrcenySpisovyZnak(codes[1]), self.ident(other), pevny="ano")
                                   for other in links])] if links else []
        return E.Spis(
            E.EvidencniUdaje(
                E.Identifikace(self.ident(value)), E.Popis(E.Nazev(title)), *related,
                *([E.Pristupnost(E.JineOmezeni(pkg.access))] if pkg.access and self.v == 4 else []),
                E.Evidence(E.EvidencniCislo(f"{value}/S"), E.UrceneCasoveObdobi(E.RokOd("2015"), E.RokDo("2016")),
                           E.NazevEvidenceDokumentu("spisový přehled")),
                E.Puvod(self.date("DatumVytvoreni", "2015-01-02")),
                self.trideni(*codes, *([E.MaterskaEntita(parent)] if parent is not None else [])),
                E.VyrizeniUzavreni(self.date("Datum", pkg.closed), E.Zpusob("vyřízení dokumentem"),
                                   E.Zpracovatel(self.subject())),
                self.vyrazovani(pkg.sign, pkg.period, base),
                self.manip(self.analog, closed=pkg.closed, place=self.analog)),
            E.Dokumenty(*docs), ID=key)

    def part(self, counter: list[int]) -> etree._Element:
        """A part (nsesss:Dil) of a type file, its documents in it, under a subject group meant
        for type files directly below the filing plan: the shape zaf's obs54 (no place for a
        Spis inside a Dil) and obs96 (a type file against the topmost subject group) accept.

        With `Package.part_files` the shape the rules that walk files inside parts are tested
        on: the type file two levels below the plan and (v4) a file (Spis) in the part, which
        the v4 schema allows but zaf's obs54 and obs96 refuse."""
        E, pkg = self.E, self.pkg
        files = pkg.part_files
        if files:
            top = self.group("vs-1", "03", "03", self.plan(""), regime=False)
            typed, simple, full = self.group("vs-2", "2", "03.2", top, regime=False, typed=True), "2", "03.2"
        else:
            typed, simple, full = self.group("vs-2", "03", "03", self.plan(""), regime=False, typed=True), "03", "03"
        self.log("ts-1", "TypovySpis", f"TS-{full}")
        ts = E.TypovySpis(E.EvidencniUdaje(
            E.Identifikace(self.ident(f"TS-{full}")), E.Popis(E.Nazev("Stavební řízení")),
            E.Puvod(self.date("DatumVytvoreni", "2015-01-01")),
            self.trideni(simple, full, E.MaterskaEntita(typed)), self.manip(self.analog)), ID="ts-1")
        codes = ("A", f"{full}.A")
        self.log("sc-1", "Soucast", f"SC-{codes[1]}")
        sc = E.Soucast(E.EvidencniUdaje(
            E.Identifikace(self.ident(f"SC-{codes[1]}")), E.Popis(E.Nazev("Rozhodnutí")),
            E.Puvod(self.date("DatumVytvoreni", "2015-01-01")), self.trideni(*codes, E.MaterskaEntita(ts)),
            E.Vyrazovani(self.regime(pkg.sign, pkg.period, vs=True)), self.manip(self.analog)), ID="sc-1")
        self.log("dil-1", "Dil", pkg.ident)
        if files and self.v == 4:
            inner = E.Spisy(self.file("spis-1", f"{pkg.ident}-S1", "Stavba v Brtnici", codes, parent=None,
                                      documents=pkg.documents, counter=counter, links=[], base=False))
        else:
            inner = E.Dokumenty(*[self.document(d, codes, base=False, counter=counter) for d in pkg.documents])
        return E.Dil(E.EvidencniUdaje(
            E.Identifikace(self.ident(pkg.ident)), E.Popis(E.Nazev(pkg.title)),
            E.Puvod(self.date("DatumVytvoreni", "2015-01-02")), self.trideni(*codes, E.MaterskaEntita(sc)),
            E.Uzavreni(self.date("Datum", pkg.closed), E.Zpracovatel(self.subject())),
            self.vyrazovani(pkg.sign, pkg.period, True), self.manip(self.analog, closed=pkg.closed, place=self.analog)),
            inner, ID="dil-1")

    def bases(self) -> list[etree._Element]:
        pkg, counter = self.pkg, [0]
        if pkg.base == "Dokument":
            vs, simple, full = self.ancestors()
            (d,) = pkg.documents[:1]
            return [self.document(replace(d, sign=pkg.sign, period=pkg.period), (simple, full), base=True,
                                  counter=counter, parent=vs)]
        if pkg.base == "Dil":
            return [self.part(counter)]
        vs, simple, full = self.ancestors()
        first = self.file("spis-1", pkg.ident, pkg.title, (simple, full), parent=vs, documents=pkg.documents,
                          counter=counter, links=[f"{pkg.ident}-B"] if pkg.linked else [])
        if not pkg.linked:
            return [first]
        vs2, _s, _f = self.ancestors(suffix="-b")
        second = self.file("spis-2", f"{pkg.ident}-B", "Související stížnost", (simple, full), parent=vs2,
                           documents=(Doc("dok-3", "A", 5, analog=True),), counter=counter, links=[pkg.ident])
        return [first, second]


def component_title(i: int, name: str) -> str:
    return f"Součást {i}: {name.rsplit('.', 1)[0]}"


def transaction_log(version: int, kind: str, value: str, zdroj: str) -> etree._Element:
    ns, ids = TP_NS[version], TP_IDS[version]
    T = ElementMaker(namespace=ns, nsmap={"tp": ns})
    S = T if version == 4 else ElementMaker(namespace=ids, nsmap={"ess": ids})
    return T.TransakcniLogObjektu(
        T.TransLogInfo(T.Identifikator(S.HodnotaID(f"tl-{value}"), S.ZdrojID(zdroj)),
                       T.DatumVzniku("2026-01-15T09:00:00"), T.DatumCasOd("2015-01-01T00:00:00"),
                       T.DatumCasDo("2026-01-15T00:00:00"),
                       T.Objekt(T.TypObjektu(T.TypObjektuId(kind)), T.Identifikator(S.HodnotaID(value), S.ZdrojID(zdroj)))),
        T.Udalosti())


DIV_TYPES = {"SpisovyPlan": "spisový plán", "VecnaSkupina": "věcná skupina", "TypovySpis": "typový spis",
             "Soucast": "součást", "Dil": "díl", "Spis": "spis", "Dokument": "dokument", "Komponenta": "komponenta"}


def _struct(pkg: Package, b: _Builder, M: ElementMaker, root: etree._Element) -> etree._Element:
    """The structMap: the entity tree, shared ancestors once, from the filing plan down."""
    ns = NS[pkg.version]
    containers = {f"{{{ns}}}{c}" for c in ("Dokumenty", "Spisy", "Komponenty")}
    by_ident: dict[tuple[str, str], str] = {}  # (type, identifier) -> first XML ID
    children: dict[str, list[str]] = {}
    for xml_id, (kind, value, _z) in b.logged.items():
        by_ident.setdefault((kind, value), xml_id)

    def key_of(el: etree._Element) -> str:
        kind, value, _z = b.logged[el.get("ID")]
        return by_ident[(kind, value)]

    tops = []
    for el in root.iter(f"{{{ns}}}*"):
        if el.get("ID") not in b.logged:
            continue
        up, parent = el.getparent(), None
        if up is not None and up.tag in containers:
            parent = up.getparent()
        else:
            tri = el.find(f"{{{ns}}}EvidencniUdaje/{{{ns}}}Trideni")
            if tri is not None:
                for c in tri:
                    if c.tag == f"{{{ns}}}SpisovyPlan":
                        parent = c
                    elif etree.QName(c).localname in ("MaterskaEntita", "MaterskeEntity"):
                        parent = c[0]
        me = key_of(el)
        if parent is None:
            if me not in tops:
                tops.append(me)
        else:
            kids = children.setdefault(key_of(parent), [])
            if me not in kids:
                kids.append(me)

    def div(xml_id: str) -> etree._Element:
        kind = b.logged[xml_id][0]
        d = M.div(TYPE=DIV_TYPES[kind], DMDID=xml_id, ADMID=f"amd-{xml_id}")
        if kind == "Komponenta":
            d.append(M.fptr(FILEID=b.files[xml_id][1]))
        for k in children.get(xml_id, []):
            d.append(div(k))
        return d

    return M.structMap(*[div(t) for t in tops])


def mets_root(pkg: Package) -> etree._Element:
    M = ElementMaker(namespace=METS_NS, nsmap={"mets": METS_NS, "xlink": XLINK_NS, "xsi": XSI_NS,
                                               "nsesss": NS[pkg.version]})
    b = _Builder(pkg)
    bases = b.bases()
    alg = pkg.checksum_type.lower().replace("-", "")
    files = [M.file(M.FLocat({"LOCTYPE": "URL", f"{{{XLINK_NS}}}type": "simple",
                              f"{{{XLINK_NS}}}href": f"komponenty/{c.name}"}),
                    ID=fid, DMDID=kid, MIMETYPE=c.mime, SIZE=str(len(c.data)), CREATED="2015-03-01T10:00:00",
                    CHECKSUMTYPE=pkg.checksum_type, CHECKSUM=hashlib.new(alg, c.data).hexdigest())
             for kid, (c, fid) in b.files.items()]
    dmd = M.dmdSec(M.mdWrap(M.xmlData(*bases), MDTYPE="OTHER", OTHERMDTYPE="NSESSS",
                            MDTYPEVERSION=f"{pkg.version}.0", MIMETYPE="text/xml"), ID="dmd-1")
    shown: set[tuple[str, str]] = set()
    amds = []
    for xml_id, (kind, value, zdroj) in b.logged.items():
        if (kind, value) in shown:
            continue
        shown.add((kind, value))
        amds.append(M.amdSec(M.digiprovMD(M.mdWrap(M.xmlData(transaction_log(pkg.version, kind, value, zdroj)),
                                                   MDTYPE="OTHER", OTHERMDTYPE="TP",
                                                   MDTYPEVERSION="4.0" if pkg.version == 4 else "1.0",
                                                   MIMETYPE="text/xml"), ID=f"tp-{xml_id}"),
                             ID=f"amd-{xml_id}"))
    root = M.mets(
        M.metsHdr(M.agent(M.name(pkg.originator), ID="agent-1", ROLE="CREATOR", TYPE="ORGANIZATION"),
                  M.agent(M.name("Jana Nováková"), ID="agent-2", ROLE="CREATOR", TYPE="INDIVIDUAL"),
                  CREATEDATE="2026-01-15T09:00:00", LASTMODDATE="2026-01-15T09:00:00"),
        dmd, *amds, *([M.fileSec(M.fileGrp(*files))] if files else []),
        OBJID=f"{pkg.name}-obj", LABEL=pkg.label)
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION.get(pkg.version, ""))
    root.append(_struct(pkg, b, M, dmd))
    return root


def mets_xml(pkg: Package, mutate: Callable[[etree._Element], object] | None = None) -> bytes:
    root = mets_root(pkg)
    if mutate is not None:
        mutate(root)
    return bytes(etree.tostring(root, xml_declaration=True, encoding=pkg.encoding, pretty_print=True))


def write_package(root: Path, pkg: Package, *, mets: bytes | None = None, extra: dict[str, bytes] | None = None,
                  mutate: Callable[[etree._Element], object] | None = None) -> Path:
    """Write the package folder `root/<name>/`; returns it."""
    top = root / pkg.name
    top.mkdir(parents=True)
    if not pkg.metadata_only and pkg.components:
        (top / "komponenty").mkdir()
        for c in pkg.components:
            (top / "komponenty" / c.name).write_bytes(c.data)
    for rel, data in (extra or {}).items():
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_bytes(data)
    (top / "mets.xml").write_bytes(mets if mets is not None else mets_xml(pkg, mutate))
    return top


def zip_package(folder: Path, out: Path, top: str | None = None) -> Path:
    """Zip `folder` as `out` with one top folder (`top`, default the folder's name)."""
    with zipfile.ZipFile(out, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, f"{top or folder.name}/{p.relative_to(folder).as_posix()}")
    return out


# --- the shapes the tests use --------------------------------------------------------------------

def document_package(version: int = 4) -> Package:
    return Package(version=version, base="Dokument", sign="A", period=5,
                   documents=(Doc("dok-1", "A", 5, components=default_components()),))


def part_package(version: int = 4) -> Package:
    return Package(version=version, base="Dil")


def part_with_files_package(version: int = 4) -> Package:
    return Package(version=version, base="Dil", part_files=True)


def linked_package(version: int = 4) -> Package:
    return Package(version=version, linked=True)


def container_package() -> Package:
    return Package(documents=(Doc("dok-1", "A", 5, components=container_components()),
                              Doc("dok-2", "S", 5, analog=True,
                                  components=(Comp("sken.png", png_bytes(7), "image/png", 1, 1, "digitalizát"),))))


def metadata_package(version: int = 4) -> Package:
    return Package(version=version, label=LABEL_REVIEW, disposal=None, metadata_only=True)


def fresh_package(version: int = 4, **kw: object) -> Package:
    """What the filing service sends the records centre: closed last year, retention running,
    no disposal procedure yet."""
    base = Package(version=version, closed="2025-06-30", period=10, disposal=None)
    return base.with_(**kw) if kw else base
