"""The national rule set, rule by rule, on both generations: every rule has a package built
in code that passes it (the valid shape it is checked on) and one that breaks it, with the
exact rule code asserted. `test_every_rule_has_a_case` keeps the table complete."""

from __future__ import annotations

import copy
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from lxml import etree
from lxml.builder import ElementMaker

from archa.transfer.nsesss.check import CheckOptions, CheckResult, check_package
from archa.transfer.nsesss.rules import Profile, rules_for
from tests import nsesss_maker as mk
from tests.nsesss_maker import OUTPUT, Comp, Doc, Package

AS_OF = date(2026, 11, 30)
METS, XLINK = mk.METS_NS, mk.XLINK_NS
Mutation = Callable[[etree._Element, int], object]


def ns(v: int) -> dict[str, str]:
    return {"m": METS, "n": mk.NS[v], "x": XLINK, "tp": mk.TP_NS[v]}


def at(path: str, fn: Callable[[etree._Element], object]) -> Mutation:
    def mutate(root: etree._Element, v: int) -> None:
        found = root.xpath(path, namespaces=ns(v))
        assert found, f"the mutation finds nothing at {path}"
        for el in found:
            fn(el)
    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(root: etree._Element, v: int) -> None:
        for m in mutations:
            m(root, v)
    return mutate


def text(path: str, value: str) -> Mutation:
    return at(path, lambda el: setattr(el, "text", value))


def attr(path: str, key: str, value: str | None) -> Mutation:
    return at(path, lambda el: el.attrib.pop(key) if value is None else el.set(key, value))


def remove(path: str) -> Mutation:
    return at(path, lambda el: el.getparent().remove(el))


def add(path: str, make: Callable[[etree._Element], etree._Element], index: int | None = None) -> Mutation:
    def fn(el: etree._Element) -> None:
        new = make(el)
        if index is None:
            el.append(new)
        else:
            el.insert(index, new)
    return at(path, fn)


def dated(path: str, value: str) -> Mutation:
    return at(path, lambda el: (setattr(el, "text", value), el.set("datum", f"{value}T10:00:00")))


def twin(el: etree._Element, suffix: str = "-twin") -> etree._Element:
    """A deep copy with every ID renamed (so the XML stays valid)."""
    new = copy.deepcopy(el)
    for e in new.iter():
        if isinstance(e.tag, str) and e.get("ID"):
            e.set("ID", e.get("ID") + suffix)
    return new


SPIS = "//n:Spis[@ID='spis-1']/n:EvidencniUdaje"
DOK1 = "//n:Dokument[@ID='dok-1']/n:EvidencniUdaje"
DOK2 = "//n:Dokument[@ID='dok-2']/n:EvidencniUdaje"
VS1 = "//n:VecnaSkupina[@ID='vs-1']/n:EvidencniUdaje"
VS2 = "//n:VecnaSkupina[@ID='vs-2']/n:EvidencniUdaje"
FILE1 = "//m:file[@ID='file-1']"
AGENT2 = "//m:agent[@ID='agent-2']"
RIZENI = f"{SPIS}/n:Vyrazovani/n:SkartacniRizeni"
CERT = "//n:OvereniBezpecnostnihoPrvku"


@dataclass(frozen=True)
class Case:
    mutate: Mutation | None = None  # applied to the shape's mets.xml
    shape: Callable[[int], Package] = lambda v: Package(version=v)  # the valid package the rule is checked on
    bad: Callable[[int], Package] | None = None  # a broken package built as such (instead of `mutate`)
    profile: Profile = Profile.TRANSFER
    as_of: date = AS_OF
    files: Callable[[Path], object] | None = None  # changes to the package folder
    source: Callable[[Path], Path] | None = None  # the path to check, from the package folder


def _mets(folder: Path, change: Callable[[bytes], bytes]) -> None:
    (folder / "mets.xml").write_bytes(change((folder / "mets.xml").read_bytes()))


def _zip_two_tops(folder: Path) -> Path:
    out = folder.parent / f"{folder.name}.zip"
    mk.zip_package(folder, out)
    with zipfile.ZipFile(out, "a") as z:
        z.writestr("other/readme.txt", "x")
    return out


def _plain_file(folder: Path) -> Path:
    out = folder.parent / "package.txt"
    out.write_text("not a package")
    return out


def _dokument_without_parents(root: etree._Element, v: int) -> None:
    """A base document without MaterskeEntity, its filing plan out of the structMap too."""
    n = ns(v)
    for me in root.xpath("//n:MaterskeEntity", namespaces=n):
        me.getparent().remove(me)
    doc_div = root.xpath("//m:div[@TYPE='dokument']", namespaces=n)[0]
    smap = root.xpath("//m:structMap", namespaces=n)[0]
    for d in list(smap):
        smap.remove(d)
    smap.append(doc_div)


def _components(*comps: Comp, analog_second: bool = True) -> Callable[[int], Package]:
    docs = (Doc("dok-1", "A", 5, components=comps),) + ((Doc("dok-2", "S", 5, analog=True),) if analog_second else ())
    return lambda v: Package(version=v, documents=docs)


DOCX = Comp("odpoved.docx", mk.docx_bytes(), mk.DOCX, 1, 1, mk.ORIGINAL)
PDFA = Comp("odpoved.pdf", mk.pdf_bytes(), "application/pdf", 1, 2, OUTPUT)
PNG = Comp("foto.png", mk.png_bytes(), "image/png", 2, 1, mk.ORIGINAL, "příloha")


def _bmp() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buf, "BMP")
    return buf.getvalue()


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "JPEG")
    return buf.getvalue()


def _resize(name: str) -> Callable[[Path], object]:
    return lambda folder: (folder / "komponenty" / name).write_bytes(b"short")


def _flip(name: str) -> Callable[[Path], object]:
    def fn(folder: Path) -> None:
        data = bytearray((folder / "komponenty" / name).read_bytes())
        data[-3] ^= 0xFF
        (folder / "komponenty" / name).write_bytes(bytes(data))
    return fn


def _second_dmd(root: etree._Element, v: int) -> None:
    M = ElementMaker(namespace=METS)
    note = etree.Element("note")  # what a second dmdSec holds does not matter: there may be only one
    root.insert(2, M.dmdSec(M.mdWrap(M.xmlData(note), MDTYPE="OTHER", OTHERMDTYPE="NSESSS", MDTYPEVERSION=f"{v}.0",
                                     MIMETYPE="text/xml"), ID="dmd-2"))


def _no_amd(root: etree._Element, v: int) -> None:
    for sec in root.xpath("m:amdSec", namespaces=ns(v)):
        root.remove(sec)
    for div in root.xpath("//m:div", namespaces=ns(v)):
        del div.attrib["ADMID"]


def _no_filesec(root: etree._Element, v: int) -> None:
    for el in root.xpath("m:fileSec | //m:fptr", namespaces=ns(v)):
        el.getparent().remove(el)


def _amd_copy(strip_id: bool) -> Mutation:
    def mutate(root: etree._Element, v: int) -> None:
        sec = root.xpath("m:amdSec", namespaces=ns(v))[-1]
        new = twin(sec)
        if strip_id:
            del new.attrib["ID"]
            sec.addnext(new)
        else:
            sec.append(new[0])  # a second digiprovMD in the same amdSec
    return mutate


def _md_ref(path: str) -> Mutation:
    M = ElementMaker(namespace=METS)
    return at(path, lambda el: el.getparent().replace(
        el, M.mdRef({f"{{{XLINK}}}href": "elsewhere.xml"}, LOCTYPE="URL", MDTYPE="OTHER")))


def _bin_data(path: str) -> Mutation:
    M = ElementMaker(namespace=METS)
    return at(path, lambda el: el.getparent().replace(el, M.binData("")))


def _filing(*paths: str, simple: str, full: str) -> Mutation:
    return both(*[text(f"{p}/n:Trideni/n:JednoduchySpisovyZnak", simple) for p in paths],
                *[text(f"{p}/n:Trideni/n:PlneUrcenySpisovyZnak", full) for p in paths])


def _extra_element(path: str, tag: str, value: str, after: str) -> Mutation:
    def mutate(root: etree._Element, v: int) -> None:
        for el in root.xpath(f"{path}/n:{after}", namespaces=ns(v)):
            new = etree.Element(f"{{{mk.NS[v]}}}{tag}")
            new.text = value
            el.addnext(new)
    return mutate


def _sent_analog(root: etree._Element, v: int) -> None:
    vyr = root.xpath(f"{DOK2}/n:Vyrizeni", namespaces=ns(v))[0]
    zpr = vyr.find(f"{{{mk.NS[v]}}}Zpracovatel")
    sent = etree.Element(f"{{{mk.NS[v]}}}DatumOdeslani")
    sent.text = "2015-05-21"
    to = twin(root.xpath(f"{DOK1}/n:Vyrizeni/n:Prijemce", namespaces=ns(v))[0])
    zpr.addnext(sent)
    sent.addnext(to)


def _nested_mother(root: etree._Element, v: int) -> None:
    """MaterskeEntity in a document inside a file (v4: only a base document may have it)."""
    n = ns(v)
    vs = root.xpath("//n:Spis[@ID='spis-1']/n:EvidencniUdaje/n:Trideni/n:MaterskaEntita/n:VecnaSkupina",
                    namespaces=n)[0]
    me = etree.Element(f"{{{mk.NS[v]}}}MaterskeEntity")
    me.append(twin(vs))
    root.xpath(f"{DOK1}/n:Trideni", namespaces=n)[0].append(me)


def _own_analog(root: etree._Element, v: int) -> None:
    """dok-2 made by the office itself (VlastniDokument) instead of received, without VytvoreneMnozstvi."""
    n = ns(v)
    E = ElementMaker(namespace=mk.NS[v])
    person = copy.deepcopy(root.xpath("//n:Zpracovatel/n:Subjekt", namespaces=n)[0])
    puvod = root.xpath(f"{DOK2}/n:Puvod", namespaces=n)[0]
    puvod.getparent().replace(puvod, E.Puvod(E.VlastniDokument(E.DatumVytvoreni("2015-03-01"), E.Autor(person))))


def _second_group(root: etree._Element, v: int) -> None:
    sec = root.xpath("m:fileSec", namespaces=ns(v))[0]
    group = copy.deepcopy(sec[0])
    for f in group:
        f.set("ID", f.get("ID") + "-x")
    sec.append(group)


CASES: dict[str, Case] = {
    "dat1": Case(source=_plain_file),
    "dat1a": Case(bad=lambda v: Package(version=v, name="SIP 2026 (1)")),
    "dat2": Case(source=_zip_two_tops),
    "dat3": Case(files=lambda f: (f / "readme.txt").write_text("left over")),
    "kod1": Case(files=lambda f: _mets(f, lambda b: b"\xef\xbb\xbf" + b)),
    "wf1": Case(files=lambda f: _mets(f, lambda b: b[:len(b) // 2])),
    "ns1": Case(files=lambda f: _mets(f, lambda b: b.replace(b"<mets:mets ", b"<mets:metsx ", 1)
                                      .replace(b"</mets:mets>", b"</mets:metsx>"))),
    "ns2": Case(attr("/m:mets", f"{{{mk.XSI_NS}}}schemaLocation", None)),
    "val1": Case(text(f"{SPIS}/n:Vyrazovani/n:SkartacniRezim/n:SkartacniZnak", "X")),
    "obs1": Case(attr("/m:mets", "OBJID", "")),
    "obs2": Case(attr("/m:mets", "LABEL", "Balíček"), profile=Profile.FULL),
    "obs3": Case(attr("/m:mets", "LABEL", mk.LABEL_REVIEW)),
    "obs4": Case(files=lambda f: _mets(f, lambda b: b.replace(b"xmlns:xsi=", b"xmlns:xs2=")
                                       .replace(b"xsi:schemaLocation", b"xs2:schemaLocation"))),
    "obs9": Case(files=lambda f: _mets(f, lambda b: b.replace(b"xmlns:xlink=", b"xmlns:xl=")
                                       .replace(b"xlink:", b"xl:"))),
    "obs10": Case(remove("m:metsHdr")),
    "obs11": Case(_second_dmd),
    "obs12": Case(_no_amd),
    "obs13": Case(at("m:structMap", lambda el: el.addnext(copy.deepcopy(el)))),
    "obs14": Case(attr("m:metsHdr", "LASTMODDATE", None)),
    "obs15": Case(attr("m:metsHdr", "CREATEDATE", None)),
    "obs16": Case(attr(AGENT2, "TYPE", "ORGANIZATION")),
    "obs17": Case(attr(AGENT2, "TYPE", "OTHER")),
    "obs18": Case(attr(AGENT2, "ROLE", "EDITOR")),
    "obs19": Case(attr(AGENT2, "ID", None)),
    "obs20": Case(text(f"{AGENT2}/m:name", " ")),
    "obs22": Case(_md_ref("m:dmdSec/m:mdWrap")),
    "obs23": Case(attr("m:dmdSec/m:mdWrap", "MDTYPEVERSION", "9.9")),
    "obs24": Case(attr("m:dmdSec/m:mdWrap", "OTHERMDTYPE", "NSESS")),
    "obs25": Case(attr("m:dmdSec/m:mdWrap", "MDTYPE", "DC")),
    "obs26": Case(attr("m:dmdSec/m:mdWrap", "MIMETYPE", "application/xml")),
    "obs27": Case(_bin_data("m:dmdSec/m:mdWrap/m:xmlData")),
    "obs28": Case(attr("//n:KrizovyOdkaz", "pevny", "ne"), shape=mk.linked_package),
    "obs29": Case(text("//n:Spis[@ID='spis-1']//n:KrizovyOdkaz/n:Identifikator", "KU-0000-0000"),
                  shape=mk.linked_package),
    "obs30": Case(_amd_copy(strip_id=True)),
    "obs31": Case(_amd_copy(strip_id=False)),
    "obs33": Case(_md_ref("(//m:digiprovMD/m:mdWrap)[1]")),
    "obs34": Case(attr("(//m:digiprovMD/m:mdWrap)[1]", "MDTYPEVERSION", "9.9")),
    "obs35": Case(attr("(//m:digiprovMD/m:mdWrap)[1]", "OTHERMDTYPE", "LOG")),
    "obs36": Case(attr("(//m:digiprovMD/m:mdWrap)[1]", "MDTYPE", "DC")),
    "obs37": Case(attr("(//m:digiprovMD/m:mdWrap)[1]", "MIMETYPE", "application/xml")),
    "obs38": Case(_bin_data("(//m:digiprovMD/m:mdWrap)[1]/m:xmlData")),
    "obs39": Case(at("(//m:digiprovMD/m:mdWrap/m:xmlData)[1]", lambda el: el.append(copy.deepcopy(el[0])))),
    "obs40": Case(_no_filesec),
    "obs41": Case(attr(FILE1, "MIMETYPE", "pdf")),
    "obs43a": Case(_second_group),
    "obs44": Case(attr(FILE1, "DMDID", "dok-1")),
    "obs46": Case(attr(FILE1, "CHECKSUMTYPE", "MD5")),
    "obs49": Case(attr(FILE1, "CREATED", None)),
    "obs50": Case(at(FILE1, lambda el: el.append(copy.deepcopy(el[0])))),
    "obs51": Case(attr(f"{FILE1}/m:FLocat", f"{{{XLINK}}}type", None)),
    "obs52": Case(files=lambda f: (f / "komponenty" / "stray.txt").write_text("nobody names me")),
    "obs53": Case(attr(f"{FILE1}/m:FLocat", "LOCTYPE", "OTHER")),
    "obs54": Case(attr("//m:div[@TYPE='spis']", "TYPE", "dokument")),
    "obs55": Case(remove("(//m:div[@TYPE='komponenta']/m:fptr)[1]")),
    "obs56": Case(attr("(//m:fptr)[1]", "FILEID", "file-2")),
    "obs57": Case(text(f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:Identifikator", "")),
    "obs58": Case(attr(f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:Identifikator", "zdroj", "")),
    "obs59": Case(text(f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:Identifikator", "SR-A5")),
    "obs59a": Case(remove(f"{DOK1}/n:Evidence/n:EvidencniCislo")),
    "obs60": Case(text(f"{DOK2}/n:Manipulace/n:AnalogovyDokument", "ne")),
    "obs61": Case(remove(f"{DOK2}/n:Puvod/n:DorucenyDokument/n:DoruceneMnozstvi")),
    "obs61a": Case(_own_analog),
    "obs62": Case(text("//n:Jazyk", "xyz")),
    "obs63": Case(both(text(f"{SPIS}/n:VyrizeniUzavreni/n:Zpusob", "jiný způsob"))),
    "obs63a": Case(shape=mk.document_package, bad=lambda v: mk.document_package(v).with_(closed="2026-02-01"),
                   profile=Profile.FULL),
    "obs63b": Case(bad=lambda v: Package(version=v, closed="2026-02-01"), profile=Profile.FULL),
    "obs63c": Case(shape=mk.part_package, bad=lambda v: mk.part_package(v).with_(closed="2026-02-01"),
                   profile=Profile.FULL),
    "obs64": Case(shape=mk.document_package, bad=lambda v: mk.document_package(v).with_(period=20),
                  profile=Profile.FULL),
    "obs65": Case(bad=lambda v: Package(version=v, period=20), profile=Profile.FULL),
    "obs66": Case(bad=lambda v: Package(version=v, closed="2027-01-10", sign="V", disposal=None, documents=(
        Doc("dok-1", "V", 5, components=mk.default_components()), Doc("dok-2", "S", 5, analog=True))),
        profile=Profile.FULL, as_of=date(2040, 1, 1)),
    "obs67": Case(bad=lambda v: Package(version=v, sign="S")),
    "obs68": Case(remove(f"{VS2}/n:Vyrazovani/n:SkartacniRezim")),
    "obs69": Case(remove(f"{DOK1}/n:Vyrizeni"), shape=mk.document_package),
    "obs70": Case(add(f"{SPIS}/n:Identifikace", lambda el: copy.deepcopy(el[0]))),
    "obs71": Case(dated(f"{SPIS}/n:Manipulace/n:DatumOtevreni", "2016-01-01")),
    "obs72": Case(attr(f"{CERT}/n:CasPouziti", "datum", None)),
    "obs73": Case(attr(f"{CERT}/n:CasOvereni", "datum", None)),
    "obs74": Case(attr("//n:PosuzovanyOkamzik", "datum", None)),
    "obs75": Case(dated("//n:PlatnostOd", "2017-01-01")),
    # zaf compares the base file with every document in it (not every ancestor)
    "obs76": Case(text(f"{SPIS}/n:Manipulace/n:AnalogovyDokument", "ne")),
    "obs77": Case(remove(f"{RIZENI}/n:Mnozstvi")),
    "obs78": Case(bad=lambda v: Package(version=v, disposal=None)),
    "obs79": Case(dated(f"{RIZENI}/n:Datum", "2020-01-01")),
    "obs80": Case(dated(f"{RIZENI}/n:Datum", "2027-01-05"), as_of=date(2026, 12, 31)),
    "obs81": Case(text(f"{DOK1}/n:Evidence/n:UrceneCasoveObdobi/n:DatumDo", "2014-12-31")),
    "obs82": Case(text(f"{DOK2}/n:Evidence/n:UrceneCasoveObdobi/n:MesicDo", "2014-12")),
    "obs83": Case(text(f"{SPIS}/n:Evidence/n:UrceneCasoveObdobi/n:RokDo", "2014")),
    "obs84": Case(both(text(f"{DOK1}/n:Vyrizeni/n:Zpusob", "jiný způsob"),
                       _extra_element(f"{DOK1}/n:Vyrizeni", "Oduvodneni", "telefonicky", "Zpusob"))),
    "obs85": Case(remove(f"{DOK2}/n:Manipulace/n:UkladaciJednotka")),
    "obs85a": Case(remove(f"{SPIS}/n:Manipulace/n:Umisteni")),
    "obs86": Case(_nested_mother),
    "obs87": Case(remove(f"{DOK1}/n:Vyrizeni/n:Prijemce")),
    "obs88": Case(_sent_analog),
    "obs90": Case(text(f"{VS2}/n:UrcenoProTypoveSpisy", "ne"), shape=mk.part_package),
    # zaf checks nsesss:Identifikator elements whose zdroj is IČ or IČO (not IdentifikatorOrganizace)
    "obs92": Case(both(attr(f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:Identifikator", "zdroj", "IČO"),
                       text(f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:Identifikator", "12345678"))),
    "obs93": Case(text(f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:Nazev", "")),
    "obs93a": Case(text(f"{DOK1}/n:Trideni/n:JednoduchySpisovyZnak", "")),
    "obs93b": Case(text(f"{VS1}/n:Trideni/n:JednoduchySpisovyZnak", "3")),
    "obs94": Case(text(f"{SPIS}/n:Trideni/n:PlneUrcenySpisovyZnak", "03.2")),
    "obs95": Case(text(f"{VS2}/n:Trideni/n:PlneUrcenySpisovyZnak", "04.1")),
    "obs96": Case(_filing(SPIS, DOK1, DOK2, simple="2", full="03.2")),
    "obs97": Case(_filing("//n:Spis[@ID='spis-2']/n:EvidencniUdaje", "//n:Dokument[@ID='dok-3']/n:EvidencniUdaje",
                          simple="2", full="03.2"), shape=mk.linked_package),
    "obs98": Case(_filing(DOK1, simple="2", full="03.2")),
    "obs98a": Case(text(f"{DOK2}/n:Manipulace/n:AnalogovyDokument", "ne"), shape=lambda v: mk.container_package()),
    "obs100": Case(attr("//n:Komponenta[@ID='komp-3']", "poradi", "3")),
    "obs101": Case(attr("//n:Komponenta[@ID='komp-2']", "druh", "příloha")),
    "obs102": Case(attr("//n:Komponenta[@ID='komp-2']", "verze", "1")),
    "obs103": Case(attr("//n:Komponenta[@ID='komp-1']", "forma_uchovani", "koncept")),
    "obs104": Case(bad=_components(DOCX, PDFA, PNG, Comp("foto2.png", mk.png_bytes(1), "image/png", 2, 2, "koncept",
                                                          "příloha"))),
    "obs105": Case(bad=_components(DOCX, PNG)),
    "obs106": Case(bad=_components(DOCX, PDFA, Comp("odpoved-3.pdf", mk.pdf_bytes("v3"), "application/pdf", 1, 3,
                                                    "koncept"), PNG)),
    "obs107": Case(bad=_components(DOCX, Comp("odpoved.bmp", _bmp(), "image/bmp", 1, 2, OUTPUT), PNG)),
    "obs108": Case(at(f"{DOK1}/n:Vyrizeni/n:Datum", lambda el: el.set("datum", "2015-01-01T10:00:00"))),
    "obs109": Case(attr("//n:Komponenta[@ID='komp-1']", "forma_uchovani", "originál"),
                   shape=lambda v: mk.container_package()),
    "obs110": Case(shape=lambda v: mk.container_package(), bad=lambda v: mk.container_package().with_(documents=(Doc("dok-1", "A", 5, components=(
        Comp("zprava.png", mk.png_bytes(2), "image/png", 1, 1, "kontejner"),
        Comp("scan.png", mk.png_bytes(3), "image/png", 1, 2, mk.ORIGINAL))),))),
    "obs111": Case(shape=lambda v: mk.container_package(), bad=lambda v: mk.container_package().with_(documents=(Doc("dok-1", "A", 5, components=(
        Comp("zprava.zip", mk.zip_bytes({"a.txt": b"a"}), "application/zip", 1, 1, "kontejner"),)),))),
    "kom1": Case(files=_resize("foto.png")),
    "kom2": Case(files=_flip("foto.png")),
    "kom3": Case(bad=_components(DOCX, PDFA, Comp("foto.png", _jpeg(), "image/png", 2, 1, mk.ORIGINAL, "příloha"))),
    "kom4": Case(bad=_components(DOCX, Comp("odpoved.pdf", mk.pdf_bytes(pdfa=False), "application/pdf", 1, 2, OUTPUT),
                                 PNG)),
}
# where v3 needs its own way to break a rule
V3_CASES: dict[str, Case] = {
    "obs86": Case(_dokument_without_parents, shape=mk.document_package),
    "obs93a": Case(text(f"{VS1}/n:Trideni/n:JednoduchySpisovyZnak", "3")),
}
PARAMS = [(v, code) for v in (4, 3) for code in rules_for(v)]
_valid: dict[tuple[object, ...], CheckResult] = {}


def case_for(version: int, code: str) -> Case:
    return V3_CASES[code] if version == 3 and code in V3_CASES else CASES[code]


def run(tmp: Path, version: int, case: Case, broken: bool) -> CheckResult:
    source = mk.write_package(tmp, case.shape(version))
    if broken:
        mutate = case.mutate
        shutil.rmtree(source)
        pkg = case.bad(version) if case.bad else case.shape(version)
        source = mk.write_package(tmp, pkg, mutate=(lambda root: mutate(root, version)) if mutate else None)
        if case.files:
            case.files(source)
        if case.source:
            source = case.source(source)
    return check_package(source, CheckOptions(case.profile, case.as_of))


def test_every_rule_has_a_case() -> None:
    assert {c for _v, c in PARAMS} == set(CASES), "a rule without a breaking case, or a case for no rule"


@pytest.mark.parametrize(("version", "code"), PARAMS, ids=[f"v{v}-{c}" for v, c in PARAMS])
def test_rule_passes_on_the_valid_package_and_fails_on_the_broken_one(tmp_path: Path, version: int,
                                                                       code: str) -> None:
    case = case_for(version, code)
    key = (version, repr(case.shape(version)), case.profile, case.as_of)
    if key not in _valid:
        _valid[key] = run(tmp_path / "valid", version, case, broken=False)
    valid = _valid[key]
    assert valid.valid and valid.findings == [], [f.as_dict() for f in valid.findings]
    assert code in {r.code for r in rules_for(version).values() if case.profile in r.profiles}
    broken = run(tmp_path / "broken", version, case, broken=True)
    errors = {f.rule for f in broken.findings if f.is_error}
    assert code in errors, [f.as_dict() for f in broken.findings]
    assert not any("could not be evaluated" in f.message for f in broken.findings), broken.findings


@pytest.mark.parametrize("version", [4, 3])
def test_hostile_edits_give_findings_never_a_crash(tmp_path: Path, version: int) -> None:
    """Every fourth element of a valid mets.xml removed in turn, and every fourth attribute
    emptied: the checker names what is wrong and never fails to evaluate a rule."""
    pkg = mk.part_package(version)

    def nodes(root: etree._Element) -> list[etree._Element]:  # the tree is built the same way each time
        return [e for e in root.iter() if isinstance(e.tag, str)]

    valid = nodes(mk.mets_root(pkg))
    edits: list[Callable[[etree._Element], object]] = []
    for n in range(1, len(valid), 4):
        edits.append(lambda root, n=n: nodes(root)[n].getparent().remove(nodes(root)[n]))
    attributes = [(n, k) for n, e in enumerate(valid) for k in e.attrib]
    for n, key in attributes[::4]:
        edits.append(lambda root, n=n, key=key: nodes(root)[n].set(key, ""))
    for i, edit in enumerate(edits):
        folder = mk.write_package(tmp_path / str(i), pkg, mutate=edit)
        result = check_package(folder, CheckOptions(Profile.TRANSFER, AS_OF))
        assert not any("could not be evaluated" in f.message for f in result.findings), (i, result.findings)
