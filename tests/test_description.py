"""`archa.metadata.description.describe`: what an AIP version's descriptive metadata gives the
search index. NSESSS packages (v4 and v3: a file with documents, several base entities, a
document, a part, access restrictions, cp1250), NDK packages (monograph, periodical, MODS
accessCondition, a hand-written METS in the real shape), plain bags and DC; broken, hostile
and oversized XML fall back to bag-info. Only the package's metadata files are read."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from lxml import etree
from lxml.builder import ElementMaker

from archa.metadata import description
from archa.metadata.dc import build_dc, title_from
from archa.metadata.description import FIELDS, Access, Description, describe
from archa.repository.retention import parse_bag_info
from archa.repository.unpacking import Limits
from tests import nsesss_maker as mk
from tests.ndk_maker import PspSpec, main_mets, make_psp, page_paths

DATA = "representations/original/data/"
BAG_INFO = "metadata/submission/bag-info.txt"
STRUCTURE = "metadata/submission/ndk-structure.json"
DC_XML = "metadata/descriptive/dc.xml"
NSV4 = mk.NS[4]


class Files:
    """A version's files behind `read`, recording what was read."""

    def __init__(self, files: dict[str, bytes | None]) -> None:
        self.files = files
        self.reads: list[str] = []

    def read(self, path: str) -> bytes | None:
        self.reads.append(path)
        return self.files.get(path)

    def describe(self, info: Iterable[tuple[str, str]] = ()) -> Description:
        d = describe(list(info), self.read, iter(self.files))
        assert all(f in FIELDS and v == " ".join(v.split()) and v for f, v in d.values)
        assert len(set(d.values)) == len(d.values)
        assert list(d.dates) == sorted(set(d.dates))
        return d


def of(d: Description, name: str) -> list[str]:
    return [v for f, v in d.values if f == name]


def nsesss_files(pkg: mk.Package, mets: bytes | None = None,
                 mutate: Callable[[etree._Element], object] | None = None) -> dict[str, bytes | None]:
    top = f"{DATA}{pkg.name}/"
    mets = mets if mets is not None else mk.mets_xml(pkg, mutate)
    files: dict[str, bytes | None] = {f"{top}mets.xml": mets}
    files.update({f"{top}komponenty/{c.name}": c.data for c in pkg.components})
    return files


def nsesss_info(pkg: mk.Package, **more: str) -> list[tuple[str, str]]:
    return [("Title", pkg.title), ("Source-Organization", pkg.originator), ("Originator", pkg.originator),
            ("External-Identifier", f"{pkg.ident} ({mk.ZDROJ})"),
            ("Internal-Sender-Identifier", f"{pkg.name}-obj"),
            ("Filing-Code", "03.1"), ("Date-Closed", pkg.closed), ("NSESSS-Version", str(pkg.version)),
            ("Bagging-Date", "2026-02-01"), *more.items()]


# --- NSESSS -------------------------------------------------------------------------------------

def test_nsesss_transferred_file_with_documents(tmp_path: Path) -> None:
    """A v4 file (Spis) with two documents, through the real transfer: the AIP's files as
    ingest lays them out (payload, bag-info, dc.xml); only mets.xml and dc.xml are read."""
    from archa.transfer.nsesss.importer import transfer_nsesss

    pkg = mk.fresh_package(4)
    folder = mk.write_package(tmp_path / "src", pkg)
    transfer_nsesss(folder, tmp_path / "bag", [], Limits(1000, 1 << 30), 2)
    bag = tmp_path / "bag"
    files: dict[str, bytes | None] = {f"{DATA}{p.relative_to(bag / 'data').as_posix()}": p.read_bytes()
                                      for p in sorted((bag / "data").rglob("*")) if p.is_file()}
    info = parse_bag_info((bag / "bag-info.txt").read_text("utf-8"))
    files[BAG_INFO] = (bag / "bag-info.txt").read_bytes()
    files[DC_XML] = build_dc("urn:uuid:" + str(uuid.uuid4()), info, title_from(info, pkg.name))
    f = Files(files)
    d = f.describe(info)
    assert sorted(f.reads) == [DC_XML, f"{DATA}{pkg.name}/mets.xml"]
    assert (d.kind, d.title, d.originator, d.date) == ("nsesss", pkg.title, pkg.originator, "2015-01-02")
    assert of(d, "title")[:4] == [pkg.title, "Dokument dok-1", "Součást 1: odpoved", "Součást 2: odpoved"]
    assert "Dokument dok-2" in of(d, "title")
    assert of(d, "identifier")[:3] == ["KU-2015-0042", "KU-2015-0042-dok-1", "K-1"]
    assert "KU-2015-0042-dok-2" in of(d, "identifier")
    assert mk.ZDROJ not in " ".join(of(d, "identifier"))  # the source of an identifier is not indexed
    assert d.values.index(("identifier", "KU-2015-0042")) < d.values.index(("identifier", f"{pkg.name}-obj"))
    assert f"{pkg.name}-obj" in of(d, "identifier")  # bag-info Internal-Sender-Identifier
    assert of(d, "ref") == ["KU-2015-0042/S", "KU-2015-0042-dok-1/2015", "KU-2015-0042-dok-2/2015"]
    assert of(d, "sign") == ["1", "03.1", "A 10", "A 5", "S 5"]
    assert of(d, "originator") == [pkg.originator, mk.ORG_ICO]
    assert of(d, "author") == [pkg.originator, "Jana Nováková", "Obec Brtnice"]
    # created, the documents made and settled, sent, the file closed; not the day it was bagged
    assert d.dates[:5] == ("2015-01-02", "2015-03-01", "2015-05-20", "2015-05-21", "2025-06-30")
    assert info[[k for k, _v in info].index("Bagging-Date")][1] not in d.dates
    assert d.access is None


@pytest.mark.parametrize("version", [4, 3])
def test_nsesss_several_base_entities(version: int) -> None:
    """Two files bound by cross-references (v4 and v3): the first titles the record with a count
    of the others; both files' values, and not the filing plan's groups or the cross-reference."""
    pkg = mk.linked_package(version)
    d = Files(nsesss_files(pkg)).describe(nsesss_info(pkg))
    assert (d.kind, d.title) == ("nsesss", f"{pkg.title} (+1 more)")
    titles = of(d, "title")
    assert titles.index(pkg.title) < titles.index("Související stížnost")
    assert not [t for t in titles if t.startswith(("Věcná skupina", "Spisový a skartační plán"))]
    ids = of(d, "identifier")
    assert ids.index("KU-2015-0042") < ids.index("KU-2015-0042-B") < ids.index("KU-2015-0042-dok-3")
    assert not [i for i in ids if i.startswith(("VS-", "SP-", "SR-"))]
    assert "KU-2015-0042-B/S" in of(d, "ref")
    assert of(d, "sign") == ["1", "03.1", "A 5", "S 5"]
    assert d.date == "2015-01-02" and "2015-06-30" in d.dates
    assert d.access is None


@pytest.mark.parametrize("version", [4, 3])
def test_nsesss_document_and_part(version: int) -> None:
    """A document as the base entity (its date is when it was made) and a part (Dil) of a type
    file with its documents (its filing code from the type file's component)."""
    doc = mk.document_package(version)
    d = Files(nsesss_files(doc)).describe()
    assert (d.kind, d.title, d.date) == ("nsesss", doc.title, "2015-03-01")
    assert of(d, "ref") == ["KU-2015-0042/2015"]
    assert of(d, "sign") == ["1", "03.1", "A 5"]
    part = mk.part_package(version)
    d = Files(nsesss_files(part)).describe()
    assert (d.kind, d.title, d.date) == ("nsesss", part.title, "2015-01-02")
    assert of(d, "title")[:2] == [part.title, "Dokument dok-1"]
    assert of(d, "identifier")[:2] == ["KU-2015-0042", "KU-2015-0042-dok-1"]
    assert not [t for t in of(d, "title") if t in ("Stavební řízení", "Rozhodnutí")]  # the type file above it
    assert of(d, "sign")[:2] == ["A", "03.A"]


def _pristupnost(kind: str, *children: etree._Element, version: int = 4) -> Callable[[etree._Element], None]:
    """A mutate that gives the entity of `kind` (its first) a Pristupnost, after its Popis."""
    ns = mk.NS[version]

    def go(root: etree._Element) -> None:
        popis = next(root.iter(f"{{{ns}}}{kind}")).find(f"{{{ns}}}EvidencniUdaje/{{{ns}}}Popis")
        pr = etree.Element(f"{{{ns}}}Pristupnost")
        pr.extend(children)
        popis.addnext(pr)
    return go


def _category(ident: str, name: str, version: int = 4) -> etree._Element:
    E = ElementMaker(namespace=mk.NS[version])
    return E.BezpecnostniKategorie(E.Identifikator(ident, zdroj="eSSL"), E.Nazev(name),
                                   E.BezpecnostniStupen(name))


@pytest.mark.parametrize("version", [4, 3])
def test_nsesss_access(version: int) -> None:
    """Pristupnost anywhere in the package: a security category that is for publication is
    public; one that is not, or another restriction (JineOmezeni), restricts the record, in the
    package's words; a date in it ends the restriction."""
    public = _pristupnost("Dokument", _category("10", "Dokument ke zveřejnění", version), version=version)
    d = Files(nsesss_files(mk.Package(version=version), mutate=public)).describe()
    assert d.access == Access("public")
    E = ElementMaker(namespace=mk.NS[version])
    closed = _pristupnost("Dokument", _category("20", "Neveřejné", version),
                          E.JineOmezeni("osobní údaje do 2040-12-31"), version=version)
    d = Files(nsesss_files(mk.Package(version=version), mutate=closed)).describe()
    reason = "bezpečnostní kategorie Neveřejné (20); osobní údaje do 2040-12-31"
    assert d.access == Access("restricted", reason, "")  # the security category has no end

    def both(root: etree._Element) -> None:
        public(root)
        _pristupnost("Spis", E.JineOmezeni("Anonymizace: embargo do 31. 12. 2035"), version=version)(root)
    d = Files(nsesss_files(mk.Package(version=version), mutate=both)).describe()
    assert d.access == Access("restricted", "Anonymizace: embargo do 31. 12. 2035", "2035-12-31")
    # the restriction the maker writes (v4) on the file, and the lifted bag-info line not counted twice
    if version == 4:
        pkg = mk.Package(access="Obsahuje osobní údaje")
        lifted = ("Access-Restriction", "Spis spis-1: Obsahuje osobní údaje")
        d = Files(nsesss_files(pkg)).describe([*nsesss_info(pkg), lifted])
        assert d.access == Access("restricted", "Obsahuje osobní údaje")


def test_nsesss_cp1250() -> None:
    """A mets.xml written in windows-1250 (and declaring it): the values keep their diacritics."""
    pkg = mk.Package(encoding="windows-1250", title="Žádost o přezkoumání rozhodnutí – Třebíč")
    files = nsesss_files(pkg)
    raw = files[f"{DATA}{pkg.name}/mets.xml"]
    assert raw is not None and b"windows-1250" in raw[:60] and "Žádost".encode("cp1250") in raw
    d = Files(files).describe()
    assert (d.kind, d.title, d.originator) == ("nsesss", pkg.title, "Krajský úřad Kraje Vysočina")
    assert of(d, "title")[0] == pkg.title and "Jana Nováková" in of(d, "author")


def test_nsesss_found_without_bag_info() -> None:
    """No NSESSS-Version in bag-info: a mets.xml directly in the package folder with NSESSS
    metadata is read all the same; a METS without it (or deeper down) is not the record's."""
    pkg = mk.Package()
    d = Files(nsesss_files(pkg)).describe([("Title", "Jiný název")])
    assert (d.kind, d.title) == ("nsesss", pkg.title)
    plain = (b'<?xml version="1.0"?><mets:mets xmlns:mets="http://www.loc.gov/METS/"><mets:dmdSec ID="d">'
             b'<mets:mdWrap MDTYPE="DC"><mets:xmlData><x/></mets:xmlData></mets:mdWrap></mets:dmdSec>'
             b'</mets:mets>')
    f = Files({f"{DATA}pkg/mets.xml": plain, f"{DATA}pkg/deeper/x/mets.xml": mk.mets_xml(pkg)})
    d = f.describe([("Title", "Jiný název")])
    assert (d.kind, d.title, d.values) == ("bag", "Jiný název", (("title", "Jiný název"),))
    assert f.reads == [f"{DATA}pkg/mets.xml"]


BOMB = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b'<mets:mets xmlns:mets="http://www.loc.gov/METS/">&b;</mets:mets>')


@pytest.mark.parametrize("mets", [b"", b"<?xml version='1.0'?><mets:mets xmlns:mets='http://www.loc.gov/METS/'><x",
                                  BOMB, None, b"\xff\xfe\x00garbage"], ids=["empty", "truncated", "doctype",
                                                                             "unreadable", "garbage"])
def test_nsesss_broken_mets_falls_back_to_bag_info(mets: bytes | None) -> None:
    """mets.xml unreadable, truncated, hostile: nothing raises; bag-info gives the values, the
    title, the date and (the lifted Access-Restriction lines) the access."""
    pkg = mk.Package()
    files = nsesss_files(pkg)
    files[f"{DATA}{pkg.name}/mets.xml"] = mets
    info = nsesss_info(pkg, **{"Access-Restriction": "Spis spis-1: bezpečnostní kategorie Neveřejné (20)",
                               "Retention-Entity": "Spis spis-1", "Retention-Sign": "A",
                               "Retention-Period": "5",
                               "Retention-Entity-Identifier": "KU-2015-0042"})
    d = Files(files).describe(info)
    assert (d.kind, d.title, d.originator, d.date) == ("nsesss", pkg.title, pkg.originator, "2015-06-30")
    assert d.dates == ("2015-06-30",)  # the bagging date is no date of the record
    assert of(d, "identifier") == ["KU-2015-0042", "SIP_2026_0001-obj"]
    assert of(d, "sign") == ["03.1", "A 5"]
    assert of(d, "originator") == [pkg.originator]
    assert d.access == Access("restricted", "Spis spis-1: bezpečnostní kategorie Neveřejné (20)")


def test_oversized_xml_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = mk.Package()
    monkeypatch.setattr(description, "MAX_XML", 1000)
    d = Files(nsesss_files(pkg)).describe(nsesss_info(pkg))
    assert (d.kind, d.date) == ("nsesss", "2015-06-30") and "Dokument dok-1" not in of(d, "title")


# --- NDK ---------------------------------------------------------------------------------------

def ndk_files(spec: PspSpec, mutate_mets: Callable[[bytes], bytes] = lambda b: b,
              mets: bytes | None = None) -> dict[str, bytes | None]:
    """The logical paths of an NDK AIP: the main METS, info, a page's files, ndk-structure.json."""
    spec.uuid = spec.uuid or str(uuid.uuid4())
    top = f"{DATA}{spec.uuid}/"
    pages = {1: page_paths(spec, 1)}
    files: dict[str, bytes | None] = {
        f"{top}mets_{spec.uuid}.xml": mets if mets is not None else mutate_mets(main_mets(spec, {}, pages)),
        f"{top}info_{spec.uuid}.xml": b"<info/>", f"{top}md5_{spec.uuid}.md5": b""}
    files.update({top + p: b"" for p in pages[1].values()})
    files[STRUCTURE] = f'{{"standard": "NDK", "package": "{spec.uuid}", "pages": []}}'.encode()
    return files


def _access_condition(text: str, level: str = "VOLUME", kind: str = "") -> Callable[[bytes], bytes]:
    attr = f' type="{kind}"' if kind else ""
    cond = f"<mods:accessCondition{attr}>{text}</mods:accessCondition>"

    def go(data: bytes) -> bytes:
        at = data.index(f'<mods:mods ID="MODS_{level}_0001">'.encode())
        end = data.index(b"</mods:mods>", at)
        return data[:end] + cond.encode() + data[end:]
    return go


def test_ndk_monograph() -> None:
    """A monograph's main METS: its MODS title, name, publisher, identifiers and date; only
    ndk-structure.json and the main METS are read (not info, not the page METS)."""
    spec = PspSpec()
    f = Files(ndk_files(spec))
    d = f.describe([("Title", spec.title), ("Source-Organization", "ABA001"), ("External-Identifier",
                                                                             f"uuid:{spec.uuid}")])
    assert sorted(f.reads) == [STRUCTURE, f"{DATA}{spec.uuid}/mets_{spec.uuid}.xml"]
    assert (d.kind, d.title, d.originator, d.date) == ("ndk", spec.title, "ABA001", "1921")
    assert d.dates == ("1921",)
    assert of(d, "title") == [spec.title]
    assert of(d, "author") == ["Novák, Jan", "Obec Lhota"]
    assert of(d, "identifier")[:2] == [spec.uuid, f"urn:nbn:cz:aba001-{spec.uuid.replace('-', '')[:6]}"]
    assert of(d, "identifier")[2] == f"uuid:{spec.uuid}"
    assert of(d, "originator") == ["ABA001"]
    assert d.access is None


def test_ndk_periodical_title_level_first_and_access() -> None:
    """A periodical: the title level's record first (its title titles the record), then the
    volume's and the issue's; an embargo in the issue's accessCondition restricts it until then."""
    spec = PspSpec(kind="periodical", title="Hlasy z Lhoty")
    embargo = _access_condition("embargo until 2031-01-01", "ISSUE", "restriction on access")
    d = Files(ndk_files(spec, embargo)).describe()
    assert (d.kind, d.title, d.date) == ("ndk", "Hlasy z Lhoty", "1921")
    assert of(d, "title") == ["Hlasy z Lhoty", "Číslo 5"]
    assert len(of(d, "identifier")) == 4  # the uuid of each level, the URN:NBN
    assert d.access == Access("restricted", "embargo until 2031-01-01", "2031-01-01")


@pytest.mark.parametrize("cond,kind,access", [
    ("volné dílo", "", Access("public")),
    ("Public", "restriction on access", Access("public")),
    ("CC BY 4.0", "use and reproduction", None),
    ("Dostupné pouze v knihovně", "", Access("restricted", "Dostupné pouze v knihovně")),
    ("neveřejné do 1. 1. 2050", "", Access("restricted", "neveřejné do 1. 1. 2050", "2050-01-01")),
])
def test_ndk_access_condition(cond: str, kind: str, access: Access | None) -> None:
    d = Files(ndk_files(PspSpec(), _access_condition(cond, kind=kind))).describe()
    assert d.access == access


HAND_METS = """<?xml version="1.0" encoding="UTF-8"?>
<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:mods="http://www.loc.gov/mods/v3"
    xmlns:dc="http://purl.org/dc/elements/1.1/" LABEL="Národní listy" TYPE="Periodical">
 <mets:metsHdr><mets:agent ROLE="CREATOR" TYPE="ORGANIZATION"><mets:name>ABA001</mets:name></mets:agent>
 </mets:metsHdr>
 <mets:dmdSec ID="MODSMD_ISSUE_0001"><mets:mdWrap MDTYPE="MODS"><mets:xmlData>
  <mods:mods ID="MODS_ISSUE_0001">
   <mods:titleInfo><mods:partNumber>120</mods:partNumber></mods:titleInfo>
   <mods:genre type="normal">issue</mods:genre>
   <mods:originInfo><mods:dateIssued>03.05.1921</mods:dateIssued></mods:originInfo>
   <mods:identifier type="uuid">b5d3e6a0-1111-4c4e-9d7e-000000000002</mods:identifier>
   <mods:accessCondition type="restriction on access">policy:public</mods:accessCondition>
  </mods:mods></mets:xmlData></mets:mdWrap></mets:dmdSec>
 <mets:dmdSec ID="DCMD_ISSUE_0001"><mets:mdWrap MDTYPE="DC"><mets:xmlData>
  <dc:title>Národní listy</dc:title><dc:identifier>uuid:b5d3e6a0-1111-4c4e-9d7e-000000000002</dc:identifier>
 </mets:xmlData></mets:mdWrap></mets:dmdSec>
 <mets:dmdSec ID="MODSMD_TITLE_0001"><mets:mdWrap MDTYPE="MODS"><mets:xmlData>
  <mods:mods ID="MODS_TITLE_0001">
   <mods:titleInfo><mods:nonSort>The</mods:nonSort><mods:title>Národní   listy</mods:title>
    <mods:subTitle>deník pro politiku</mods:subTitle></mods:titleInfo>
   <mods:titleInfo type="alternative"><mods:title>Narodni listy</mods:title></mods:titleInfo>
   <mods:name type="personal"><mods:namePart type="family">Grégr</mods:namePart>
    <mods:namePart type="given">Julius</mods:namePart><mods:namePart type="date">1831-1896</mods:namePart>
   </mods:name>
   <mods:name type="corporate"><mods:namePart>Národní strana svobodomyslná</mods:namePart></mods:name>
   <mods:originInfo><mods:place><mods:placeTerm type="text">Praha</mods:placeTerm></mods:place>
    <mods:publisher>Julius Grégr</mods:publisher><mods:dateIssued point="start">1861</mods:dateIssued>
    <mods:dateIssued point="end">1941</mods:dateIssued></mods:originInfo>
   <mods:location><mods:physicalLocation>ABA001</mods:physicalLocation>
    <mods:shelfLocator>II 123.456</mods:shelfLocator></mods:location>
   <mods:identifier type="issn">1234-5679</mods:identifier>
   <mods:identifier type="ccnb">cnb000123456</mods:identifier>
   <mods:relatedItem type="series"><mods:titleInfo><mods:title>Edice</mods:title></mods:titleInfo>
   </mods:relatedItem>
  </mods:mods></mets:xmlData></mets:mdWrap></mets:dmdSec>
</mets:mets>
"""


def test_ndk_hand_written_mets() -> None:
    """MODS as the standard writes it: title parts, typed name parts (not the dates), a range
    of years, an issue date written the Czech way, a shelf mark, the DC beside it not indexed."""
    spec = PspSpec(uuid="b5d3e6a0-1111-4c4e-9d7e-000000000002")
    d = Files(ndk_files(spec, mets=HAND_METS.encode())).describe()
    assert (d.kind, d.title, d.originator, d.date) == ("ndk", "Národní listy", "ABA001", "1921-05-03")
    assert d.dates == ("1861", "1921-05-03", "1941")
    assert of(d, "title") == ["The Národní listy", "deník pro politiku", "Narodni listy", "120"]
    assert of(d, "author") == ["Grégr, Julius", "Národní strana svobodomyslná", "Julius Grégr"]
    assert of(d, "identifier") == ["1234-5679", "cnb000123456", "b5d3e6a0-1111-4c4e-9d7e-000000000002"]
    assert of(d, "sign") == ["II 123.456"]
    assert d.access == Access("public")


def test_ndk_broken_mets() -> None:
    """The main METS not well-formed: an NDK record all the same, described by bag-info."""
    spec = PspSpec()
    files = ndk_files(spec, mets=b"<mets:mets xmlns:mets='http://www.loc.gov/METS/'><mets:dmdSec")
    d = Files(files).describe([("Title", spec.title), ("Date", "1921")])
    assert (d.kind, d.title, d.date, d.values) == ("ndk", spec.title, "1921", (("title", spec.title),))
    files[STRUCTURE] = b"{not json"  # nor the structure: the main METS is found beside info_*.xml
    d = Files({**files, **ndk_files(spec)}).describe()
    d2 = Files({k: v for k, v in ndk_files(spec).items() if k != STRUCTURE}).describe()
    assert d.title == d2.title == spec.title and d2.kind == "ndk"


def test_ndk_transferred(tmp_path: Path) -> None:
    """Through the real NDK transfer: the bag's ndk-structure.json finds the main METS."""
    from archa.transfer.ndk.importer import transfer_ndk

    psp = make_psp(tmp_path / "src", PspSpec(pages=2))
    transfer_ndk(psp, tmp_path / "bag", [], Limits(10_000, 1 << 30), 2)
    bag = tmp_path / "bag"
    files: dict[str, bytes | None] = {f"{DATA}{p.relative_to(bag / 'data').as_posix()}": p.read_bytes()
                                      for p in sorted((bag / "data").rglob("*")) if p.is_file()}
    files[STRUCTURE] = (bag / "ndk-structure.json").read_bytes()
    info = parse_bag_info((bag / "bag-info.txt").read_text("utf-8"))
    f = Files(files)
    d = f.describe(info)
    assert sorted(f.reads) == [STRUCTURE, f"{DATA}{psp.name}/mets_{psp.name}.xml"]
    assert (d.kind, d.title, d.originator, d.date) == ("ndk", "Pamětní kniha obce Lhota", "ABA001", "1921")
    assert f"uuid:{psp.name}" in of(d, "identifier") and psp.name in of(d, "identifier")
    assert "NDK monograph 2.2 digitisation package (PSP), 2 pages" in of(d, "title")


# --- plain bags and DC -------------------------------------------------------------------------

def test_bag_info_only() -> None:
    info = [("Source-Organization", "Městský úřad Telč"), ("Title", "Kronika  města\n Telče"),
            ("External-Identifier", "MUT-12 (spisová služba)"), ("External-Identifier", "urn:nbn:cz:x-1"),
            ("Internal-Sender-Identifier", "bag-7"), ("Filing-Code", "01.2"), ("Date-Closed", "2019-12-31"),
            ("Bagging-Date", "2026-01-20"), ("External-Description", "Kronika s přílohami"),
            ("Retention-Entity", "Spis a"), ("Retention-Sign", "A"), ("Retention-Period", "10"),
            ("Retention-Entity-Title", "Kronika"),
            ("Retention-Entity", "Spis b"), ("Retention-Sign", "V"), ("Retention-Until", "2030"),
            ("Access-Rights", "restricted until 2030-06-30 (osobní údaje)"), ("Payload-Oxum", "12.1")]
    f = Files({f"{DATA}kronika.pdf": b"%PDF"})
    d = f.describe(info)
    assert f.reads == []
    assert (d.kind, d.title, d.originator, d.date) == ("bag", "Kronika města Telče", "Městský úřad Telč",
                                                       "2019-12-31")
    assert d.dates == ("2019-12-31",)  # the bagging date is no date of the record
    assert d.values == (("originator", "Městský úřad Telč"), ("title", "Kronika města Telče"),
                        ("identifier", "MUT-12"), ("identifier", "urn:nbn:cz:x-1"), ("identifier", "bag-7"),
                        ("sign", "01.2"), ("title", "Kronika s přílohami"), ("title", "Kronika"),
                        ("sign", "A 10"), ("sign", "V"))
    assert d.access == Access("restricted", "restricted until 2030-06-30 (osobní údaje)", "2030-06-30")
    assert describe([("Access-Rights", "public")], f.read, []).access == Access("public")
    assert describe([("Bagging-Date", "2026-01-20")], f.read, []) == Description(
        "bag", "", "", "2026-01-20", ("2026-01-20",), (), None)


def test_dc_record() -> None:
    """dc.xml: title, identifier, creator, publisher, date, rights and dcterms:accessRights; a
    subject only when nothing else titles the record."""
    dc = """<?xml version="1.0" encoding="utf-8"?>
<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:dcterms="http://purl.org/dc/terms/">
  <dc:title>Fotografie náměstí</dc:title><dc:identifier>urn:uuid:1f0e</dc:identifier>
  <dc:creator>Karel Plicka</dc:creator><dc:publisher>Muzeum Vysočiny</dc:publisher>
  <dc:date>1937</dc:date><dc:subject>náměstí</dc:subject>
  <dcterms:accessRights>public</dcterms:accessRights><dc:rights>Neveřejné do 2030-01-01</dc:rights>
</oai_dc:dc>""".encode()
    d = Files({DC_XML: dc}).describe()
    assert (d.kind, d.title, d.date, d.dates) == ("bag", "Fotografie náměstí", "1937", ("1937",))
    assert d.values == (("title", "Fotografie náměstí"), ("identifier", "urn:uuid:1f0e"),
                        ("author", "Karel Plicka"), ("originator", "Muzeum Vysočiny"))
    assert d.access == Access("restricted", "Neveřejné do 2030-01-01", "2030-01-01")  # restricted wins
    untitled = dc.replace("<dc:title>Fotografie náměstí</dc:title>".encode(), b"")
    assert of(Files({DC_XML: untitled}).describe(), "title") == ["náměstí"]
    assert Files({DC_XML: b"<not xml"}).describe().values == ()


# --- the small pieces ---------------------------------------------------------------------------

def test_iso_dates() -> None:
    text = "1861-1941, [1921], c1925, 3. 5. 1921, 05.1921, 2015-06-30T10:00:00, 2015-13"
    assert description.iso_dates(text) == ["1861", "1941", "1921", "1925", "1921-05-03", "1921-05",
                                           "2015-06-30"]
    dates = description.iso_dates("KU-2015-0042 do 31.12.2035 18uu 0999 2015-02-30", days_only=True)
    assert dates == ["2035-12-31"]


def test_until_date() -> None:
    assert description.until_date("embargo until 2031-01-01") == "2031-01-01"
    until = description.until_date
    assert until("rozhodnutí ze dne 2012-01-25, přístup omezen do 31. 12. 2035") == "2035-12-31"
    assert until("Osobní údaje (zákon ze dne 4. 4. 2000)") == "2000-04-04"  # a bare date counts
    assert until("2030-06-30") == "2030-06-30" and until("do roku 2030") == ""


@pytest.mark.parametrize("text,public", [
    ("public", True), ("Dokument ke zveřejnění", True), ("bez omezení", True), ("unrestricted", True),
    ("Open Access", True), ("volné dílo", True), ("policy:public", True),
    ("neveřejné", False), ("not public", False), ("není veřejný", False), ("embargo", False),
    ("Národní knihovna České republiky", False), ("restricted", False), ("omezení přístupu", False),
    ("policy:private", False), ("", False)])
def test_says_public(text: str, public: bool) -> None:
    assert description.says_public(text) is public


def test_access_combines_statements() -> None:
    """Several statements: restricted wins; its end is the latest only when each has one."""
    info = [("Access-Rights", "public"), ("Access-Rights", "neveřejné do 2030-01-01"),
            ("Access-Rights", "embargo do 2032-06-30")]
    assert describe(info, lambda p: None, []).access == Access(
        "restricted", "neveřejné do 2030-01-01; embargo do 2032-06-30", "2032-06-30")
    info.append(("Access-Rights", "osobní údaje"))
    assert describe(info, lambda p: None, []).access == Access(
        "restricted", "neveřejné do 2030-01-01; embargo do 2032-06-30; osobní údaje", "")
