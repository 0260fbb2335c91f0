"""Builds Czech ERMS (NSESSS) SIPs, v4 (2024) and v3 (2017), in code, for the transfer tests.

A package is a folder `<name>/` with `mets.xml` and `komponenty/`, optionally zipped. The
mets.xml holds one base entity (a document, `nsesss:Dokument`) with its components, a
transaction log in an amdSec, a fileSec with SIZE and CHECKSUM of each component, and a
structMap. Everything is valid against the schemas in archa/schemas; tests then break it.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
NS = {4: "http://www.mvcr.cz/nsesss/v4", 3: "http://www.mvcr.cz/nsesss/v3", 2: "http://www.mvcr.cz/nsesss/v2"}
TP_NS = {4: "http://www.mvcr.cz/nsesss/2023/log", 3: "http://nsess.public.cz/erms_trans/v_01_01"}
LABEL_TRANSFER = "Datový balíček pro předávání dokumentů a jejich metadat do archivu"
LABEL_REVIEW = "Datový balíček pro provedení skartačního řízení"


@dataclass
class Package:
    name: str = "SIP_2026_0001"
    version: int = 4
    title: str = "Stížnost na opravu silnice"
    ids: tuple[tuple[str, str], ...] = (("eSSL Krajský úřad", "KU-2026-0042"),)
    filing_code: str = "03.1"
    sign: str = "A"
    period: int = 10
    trigger_year: int = 2025
    settled: str = "2025-06-30"
    originator: str = "Krajský úřad Vysočina"
    label: str = LABEL_TRANSFER
    components: dict[str, bytes] = field(default_factory=lambda: {
        "dopis.pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "priloha.txt": "Příloha: fotografie výtluku.\n".encode()})
    checksum_type: str = "SHA-512"
    # a file (nsesss:Spis) of documents instead of one document: each (sign, period); the
    # file's own regime is `sign`/`period`, the components belong to its first document
    file_of: tuple[tuple[str, int], ...] = ()


def _alg(checksum_type: str) -> str:
    return checksum_type.lower().replace("-", "")


def component_title(i: int, name: str) -> str:
    return f"Součást {i}: {name.rsplit('.', 1)[0]}"


def entity(pkg: Package, E: ElementMaker) -> etree._Element:
    """The base entity: a document with its components, or a file of documents."""
    v3 = pkg.version == 3

    def person() -> etree._Element:  # a new element each time: lxml moves, never copies, on append
        return E.Subjekt(E.IdentifikatorOrganizace("00000001", zdroj="IČO"), E.NazevOrganizace(pkg.originator),
                         E.IdentifikatorFyzickeOsoby("u-7", zdroj="eSSL"), E.NazevFyzickeOsoby("Jana Nováková"),
                         E.OrganizacniUtvar("Odbor dopravy"), E.PracovniPozice("referentka"),
                         E.SidloOrganizace("Jihlava"))

    def regime(sign: str, period: int, base: bool) -> etree._Element:
        return E.Vyrazovani(
            E.SkartacniRezim(E.Identifikator("SR-1", zdroj="spisový plán"), E.Nazev(f"{sign}/{period}"),
                             *([E.Oduvodneni("spisový plán")] if v3 else []),
                             E.SkartacniZnak(sign), E.SkartacniLhuta(str(period)), E.SpousteciUdalost("uzavření spisu")),
            *([E.DataceVyrazeni(E.RokSpousteciUdalosti(str(pkg.trigger_year)),
                                E.RokSkartacniOperace(str(pkg.trigger_year + 1 + period)))] if base else []))

    def trideni() -> list[etree._Element]:
        return [E.JednoduchySpisovyZnak("1"), E.PlneUrcenySpisovyZnak(pkg.filing_code)]

    def evidence() -> etree._Element:
        return E.Evidence(*([E.EvidencniCislo("KU-2026-0042")] if v3 else []),
                          E.UrceneCasoveObdobi(E.Rok(str(pkg.trigger_year))), E.NazevEvidenceDokumentu("podací deník"))

    def vyrizeni(tag: str) -> etree._Element:
        return getattr(E, tag)(E.Datum(pkg.settled), *([E.Zpusob("vyřízení dokumentem")] if v3 else []),
                               E.Zpracovatel(person()))

    def dokument(n: int, sign: str, period: int, base: bool, with_components: bool) -> etree._Element:
        comps = [E.Komponenta(E.EvidencniUdaje(E.Identifikace(E.Identifikator(f"k-{i}", zdroj="eSSL")),
                                               E.Popis(E.Nazev(component_title(i, name))), E.Trideni(*trideni())),
                              ID=f"komp-{i}", poradi=str(i), druh="hlavní" if i == 1 else "příloha",
                              verze="1", forma_uchovani="originál")
                 for i, name in enumerate(pkg.components, 1)] if with_components else []
        ids = [E.Identifikator(value, zdroj=source) for source, value in pkg.ids] if base else \
            [E.Identifikator(f"KU-2026-D{n}", zdroj="eSSL")]
        return E.Dokument(
            E.EvidencniUdaje(
                E.Identifikace(*ids), E.Popis(E.Nazev(pkg.title if base else f"Dokument {n}")), evidence(),
                E.Puvod(E.VlastniDokument(E.DatumVytvoreni("2025-03-01"), E.Autor(person()))),
                E.Trideni(*trideni()), *([vyrizeni("Vyrizeni")] if base else []),
                regime(sign, period, base), E.Manipulace(E.AnalogovyDokument("ne"))),
            *([E.Komponenty(*comps)] if comps else []),
            ID=f"dok-{n}")

    if not pkg.file_of:
        return dokument(1, pkg.sign, pkg.period, True, True)
    ids = [E.Identifikator(value, zdroj=source) for source, value in pkg.ids]
    return E.Spis(
        E.EvidencniUdaje(
            E.Identifikace(*ids), E.Popis(E.Nazev(pkg.title)), evidence(),
            E.Puvod(E.DatumVytvoreni("2025-03-01")), E.Trideni(*trideni()), vyrizeni("VyrizeniUzavreni"),
            regime(pkg.sign, pkg.period, True),
            E.Manipulace(E.AnalogovyDokument("ne"), E.DatumOtevreni("2025-03-01"))),
        E.Dokumenty(*[dokument(n, sign, period, False, n == 1) for n, (sign, period) in enumerate(pkg.file_of, 1)]),
        ID="spis-1")


def mets_xml(pkg: Package, hrefs: dict[str, str] | None = None) -> bytes:
    M = ElementMaker(namespace=METS_NS, nsmap={"mets": METS_NS, "xlink": XLINK_NS, "nsesss": NS[pkg.version]})
    E = ElementMaker(namespace=NS[pkg.version], nsmap={"nsesss": NS[pkg.version]})
    alg = _alg(pkg.checksum_type)
    files = []
    for i, (name, data) in enumerate(pkg.components.items(), 1):
        href = (hrefs or {}).get(name, f"komponenty/{name}")
        files.append(M.file(M.FLocat({"LOCTYPE": "URL", f"{{{XLINK_NS}}}type": "simple", f"{{{XLINK_NS}}}href": href}),
                            ID=f"file-{i}", DMDID=f"komp-{i}", MIMETYPE="application/octet-stream",
                            SIZE=str(len(data)), CREATED="2025-03-01T10:00:00",
                            CHECKSUMTYPE=pkg.checksum_type, CHECKSUM=hashlib.new(alg, data).hexdigest()))
    root = M.mets(
        M.metsHdr(M.agent(M.name(pkg.originator), ROLE="CREATOR", TYPE="ORGANIZATION"),
                  M.agent(M.name("Jana Nováková"), ROLE="CREATOR", TYPE="INDIVIDUAL"),
                  CREATEDATE="2026-01-15T09:00:00", LASTMODDATE="2026-01-15T09:00:00"),
        M.dmdSec(M.mdWrap(M.xmlData(entity(pkg, E)), MDTYPE="OTHER", OTHERMDTYPE="NSESSS",
                          MDTYPEVERSION=f"{pkg.version}.0"), ID="dmd-1"),
        *([M.amdSec(M.digiprovMD(M.mdWrap(M.xmlData(transaction_log(pkg)), MDTYPE="OTHER", OTHERMDTYPE="TP"),
                                 ID="tp-1"), ID="amd-1")] if pkg.version in TP_NS else []),
        M.fileSec(M.fileGrp(*files)),
        M.structMap(M.div(*[M.div(M.fptr(FILEID=f"file-{i}"), TYPE="komponenta", DMDID=f"komp-{i}")
                            for i in range(1, len(files) + 1)], TYPE="spis" if pkg.file_of else "dokument",
                          DMDID="dmd-1", ADMID="amd-1")),
        OBJID=f"{pkg.name}-obj", LABEL=pkg.label)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def transaction_log(pkg: Package) -> etree._Element:
    ns = TP_NS[pkg.version]
    T = ElementMaker(namespace=ns, nsmap={"tp": ns})
    if pkg.version == 4:
        return T.TransakcniLogObjektu(
            T.TransLogInfo(T.Identifikator(T.HodnotaID("tl-1"), T.ZdrojID("eSSL")),
                           T.DatumVzniku("2026-01-15T09:00:00"), T.DatumCasOd("2025-03-01T00:00:00"),
                           T.DatumCasDo("2026-01-15T00:00:00"),
                           T.Objekt(T.TypObjektu(T.TypObjektuId("Dokument")),
                                    T.Identifikator(T.HodnotaID("dok-1"), T.ZdrojID("eSSL")))),
            T.Udalosti())
    ess = "http://mvcr.cz/ess/v_1.0.0.0"
    S = ElementMaker(namespace=ess, nsmap={"ess": ess})
    return T.TransakcniLogObjektu(
        T.TransLogInfo(T.Identifikator(S.HodnotaID("tl-1"), S.ZdrojID("eSSL")),
                       T.DatumVzniku("2026-01-15T09:00:00"), T.DatumCasOd("2025-03-01T00:00:00"),
                       T.DatumCasDo("2026-01-15T00:00:00"),
                       T.Objekt(T.TypObjektu(T.TypObjektuId("Dokument")),
                                T.Identifikator(S.HodnotaID("dok-1"), S.ZdrojID("eSSL")))),
        T.Udalosti())


def write_package(root: Path, pkg: Package, *, mets: bytes | None = None, extra: dict[str, bytes] | None = None,
                  hrefs: dict[str, str] | None = None) -> Path:
    """Write the package folder `root/<name>/`; returns it."""
    top = root / pkg.name
    (top / "komponenty").mkdir(parents=True)
    for name, data in pkg.components.items():
        (top / "komponenty" / name).write_bytes(data)
    for rel, data in (extra or {}).items():
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_bytes(data)
    (top / "mets.xml").write_bytes(mets if mets is not None else mets_xml(pkg, hrefs))
    return top


def zip_package(folder: Path, out: Path, top: str | None = None) -> Path:
    """Zip `folder` as `out` with one top folder (`top`, default the folder's name)."""
    with zipfile.ZipFile(out, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, f"{top or folder.name}/{p.relative_to(folder).as_posix()}")
    return out
