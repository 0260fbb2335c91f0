"""The filing-code, component and component-file rules (obs93-obs111, kom1-kom4) decide as the
national validator's code (zaf) decides, on packages in the shape of real exports: codes with a
trailing dot, components listed out of order, zero-padded versions, codes on components,
dates with time zones, records settled before the output-format rules took effect.

Each case names one rule and the package it must pass or fail; a failing case asserts that
exact rule code among the errors, a passing one that the rule ran and found nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from archa.transfer.nsesss.check import CheckOptions, CheckResult, check_package
from archa.transfer.nsesss.kom import is_data_message, mime_matches
from archa.transfer.nsesss.obs_components import java_int
from archa.transfer.nsesss.obs_filing import has_separator
from archa.transfer.nsesss.rules import PREFIX_LEVEL, Profile, rule
from tests import nsesss_maker as mk
from tests.nsesss_maker import OUTPUT, Comp, Doc, Package

Edit = Callable[[etree._Element, int], None]
AS_OF = date(2026, 11, 30)

SPIS = "//n:Spis[@ID='spis-1']/n:EvidencniUdaje"
DOK1 = "//n:Dokument[@ID='dok-1']/n:EvidencniUdaje"
DOK2 = "//n:Dokument[@ID='dok-2']/n:EvidencniUdaje"
VS1 = "//n:VecnaSkupina[@ID='vs-1']/n:EvidencniUdaje"
VS2 = "//n:VecnaSkupina[@ID='vs-2']/n:EvidencniUdaje"
TS = "//n:TypovySpis[@ID='ts-1']/n:EvidencniUdaje"
KOMP = "//n:Komponenta[@ID='{}']"


def _ns(v: int) -> dict[str, str]:
    return {"m": mk.METS_NS, "n": mk.NS[v], "x": mk.XLINK_NS}


def _all(root: etree._Element, v: int, path: str) -> list[etree._Element]:
    found = root.xpath(path, namespaces=_ns(v))
    assert found, f"nothing at {path}"
    return list(found)


def set_text(path: str, value: str) -> Edit:
    def edit(root: etree._Element, v: int) -> None:
        for el in _all(root, v, path):
            el.text = value
    return edit


def set_attr(path: str, key: str, value: str) -> Edit:
    def edit(root: etree._Element, v: int) -> None:
        for el in _all(root, v, path):
            el.set(key, value)
    return edit


def codes(*paths: str, simple: str, full: str) -> Edit:
    """Set the filing codes of the Trideni of every element at `paths`."""
    def edit(root: etree._Element, v: int) -> None:
        for path in paths:
            set_text(f"{path}/n:Trideni/n:JednoduchySpisovyZnak", simple)(root, v)
            set_text(f"{path}/n:Trideni/n:PlneUrcenySpisovyZnak", full)(root, v)
    return edit


def all_of(*edits: Edit) -> Edit:
    def edit(root: etree._Element, v: int) -> None:
        for e in edits:
            e(root, v)
    return edit


def components_reversed(root: etree._Element, v: int) -> None:
    """The components of a document listed last to first, as some exports write them."""
    for box in _all(root, v, "//n:Komponenty"):
        kids = list(box)
        for k in kids:
            box.remove(k)
        for k in reversed(kids):
            box.append(k)


def gordic_codes(root: etree._Element, v: int) -> None:
    """A top subject group coded '90.' (trailing dot) and the group below it '90.1' with the
    simple code '1'; the file, its documents and components filed alike."""
    codes(VS1, simple="90.", full="90.")(root, v)
    codes(VS2, SPIS, DOK1, DOK2, simple="1", full="90.1")(root, v)
    codes("//n:Komponenta/n:EvidencniUdaje", simple="1", full="90.1")(root, v)


def drop_file_of(komp: str) -> Edit:
    def edit(root: etree._Element, v: int) -> None:
        for f in _all(root, v, f"//m:file[@DMDID='{komp}']"):
            f.getparent().remove(f)
        for d in _all(root, v, f"//m:div[@DMDID='{komp}']"):
            d.getparent().remove(d)
    return edit


def opened_2012(root: etree._Element, v: int) -> None:
    """The file opened in January 2012 (for packages settled by 31 July 2012)."""
    for el in _all(root, v, f"{SPIS}/n:Manipulace/n:DatumOtevreni"):
        el.text = "2012-01-02"
        el.set("datum", "2012-01-02T10:00:00")


def size_with_spaces(root: etree._Element, v: int) -> None:
    for f in _all(root, v, "//m:file[@ID='file-3']"):
        f.set("SIZE", f" {f.get('SIZE')} ")


def checksum_upper(root: etree._Element, v: int) -> None:
    for f in _all(root, v, "//m:file"):
        f.set("CHECKSUM", (f.get("CHECKSUM") or "").upper())


def _png_over(name: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        (folder / "komponenty" / name).write_bytes(mk.png_bytes(5))
    return change


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "JPEG")
    return buf.getvalue()


def _bmp() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buf, "BMP")
    return buf.getvalue()


DOCX = Comp("odpoved.docx", mk.docx_bytes(), mk.DOCX, 1, 1, mk.ORIGINAL)
PDFA = Comp("odpoved.pdf", mk.pdf_bytes(), "application/pdf", 1, 2, OUTPUT)
PNG = Comp("foto.png", mk.png_bytes(), "image/png", 2, 1, mk.ORIGINAL, "příloha")


def comps(*parts: Comp, closed: str = "2015-06-30") -> Callable[[int], Package]:
    docs = (Doc("dok-1", "A", 5, components=parts), Doc("dok-2", "S", 5, analog=True))
    return lambda v: Package(version=v, closed=closed, documents=docs)


@dataclass(frozen=True)
class Case:
    code: str
    fails: bool
    shape: Callable[[int], Package] = lambda v: Package(version=v)
    edit: Edit | None = None
    files: Callable[[Path], object] | None = None
    versions: tuple[int, ...] = (4, 3)
    profile: Profile = Profile.TRANSFER
    why: str = ""


CASES = [
    # obs93: every Nazev has a value
    Case("obs93", True, edit=set_text(f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:Nazev", "   "), why="blank title"),
    Case("obs93", False, edit=set_text(f"{DOK1}/n:Popis/n:Nazev", "  Odpověď  "), why="padded title"),
    # obs93a (v4): every entity has a simple code
    Case("obs93a", True, edit=set_text(f"{DOK1}/n:Trideni/n:JednoduchySpisovyZnak", " "), versions=(4,)),
    Case("obs93a", True, shape=mk.part_with_files_package, edit=set_text(
        "//n:Soucast/n:EvidencniUdaje/n:Trideni/n:JednoduchySpisovyZnak", ""), versions=(4,), why="component part"),
    # obs93b (v4) / obs93a (v3): a top subject group has equal codes, compared as written
    Case("obs93b", True, edit=set_text(f"{VS1}/n:Trideni/n:PlneUrcenySpisovyZnak", "03 "), versions=(4,)),
    Case("obs93a", True, edit=set_text(f"{VS1}/n:Trideni/n:PlneUrcenySpisovyZnak", "03 "), versions=(3,)),
    Case("obs93b", False, edit=gordic_codes, versions=(4,), profile=Profile.METADATA, why="runs under M"),
    # obs94: the full code ends with the simple one (plain suffix test), components too
    Case("obs94", True, edit=codes(KOMP.format("komp-1") + "/n:EvidencniUdaje", simple="2", full="03.1"),
         why="a component's codes are checked"),
    Case("obs94", False, edit=codes(KOMP.format("komp-1") + "/n:EvidencniUdaje", simple="1", full="031"),
         why="no separator needed"),
    Case("obs94", False, edit=codes("//n:Komponenta/n:EvidencniUdaje", simple="2005/087.1", full="2005/087.1")),
    # obs95: starts with the mother's full code, ends with its own simple one; a top group has no inner separator
    Case("obs95", False, edit=gordic_codes, why="'90.' and '90.1'"),
    Case("obs95", True, edit=set_text(f"{VS2}/n:Trideni/n:PlneUrcenySpisovyZnak", "04.1")),
    Case("obs95", True, edit=all_of(codes(VS1, simple="03.1", full="03.1"), codes(VS2, SPIS, DOK1, DOK2,
                                    simple="1", full="03.1")), why="separator inside a top group's code"),
    Case("obs95", True, shape=mk.part_with_files_package, edit=set_text(f"{TS}/n:Trideni/n:PlneUrcenySpisovyZnak", "04.2"),
         why="type files are checked"),
    # obs96: base file/document against the nearest subject group; a part's type file against the last one
    Case("obs96", True, edit=codes(SPIS, DOK1, DOK2, simple="2", full="03.2")),
    Case("obs96", False, edit=gordic_codes),
    Case("obs96", True, shape=mk.part_with_files_package, why="zaf compares the type file with the topmost group"),
    Case("obs96", False, shape=mk.part_with_files_package, edit=codes(TS, simple="03", full="03"),
         why="the type file coded as the topmost group"),
    # obs97: several base entities are filed alike, compared as written
    Case("obs97", True, shape=mk.linked_package, edit=set_text(
        "//n:Spis[@ID='spis-2']/n:EvidencniUdaje/n:Trideni/n:PlneUrcenySpisovyZnak", "03.1 ")),
    Case("obs97", False, shape=mk.linked_package),
    # obs98: v4 compares a file with its own documents; v3 with every document of the package
    Case("obs98", True, edit=codes(DOK1, simple="2", full="03.2")),
    Case("obs98", False, shape=mk.linked_package, edit=codes(
        "//n:Spis[@ID='spis-2']/n:EvidencniUdaje", "//n:Dokument[@ID='dok-3']/n:EvidencniUdaje",
        simple="2", full="03.2"), versions=(4,), why="dok-3 is filed as its own file"),
    Case("obs98", True, shape=mk.linked_package, edit=codes(
        "//n:Spis[@ID='spis-2']/n:EvidencniUdaje", "//n:Dokument[@ID='dok-3']/n:EvidencniUdaje",
        simple="2", full="03.2"), versions=(3,), why="v3: every document against every base file"),
    Case("obs98", True, shape=mk.part_with_files_package, edit=codes("//n:Spis[@ID='spis-1']/n:EvidencniUdaje",
                                                          simple="B", full="03.2.B"), versions=(4,),
         why="a file in a part"),
    # obs98a: a digitised copy sits in an analogue document ('ano' exactly)
    Case("obs98a", False, shape=lambda v: mk.container_package(), versions=(4,)),
    Case("obs98a", True, shape=lambda v: mk.container_package(),
         edit=set_text(f"{DOK2}/n:Manipulace/n:AnalogovyDokument", "ne"), versions=(4,)),
    # obs100: the set of poradi is 1..n, whatever the order in mets.xml
    Case("obs100", False, edit=components_reversed, why="components listed last to first"),
    Case("obs100", False, edit=set_attr(KOMP.format("komp-3"), "poradi", "002"), why="leading zeros"),
    Case("obs100", True, edit=set_attr(KOMP.format("komp-3"), "poradi", "3")),
    # obs101
    Case("obs101", True, edit=set_attr(KOMP.format("komp-2"), "druh", "příloha")),
    Case("obs101", False, edit=components_reversed),
    # obs102: versions of a number are 1..n without repeats or gaps
    Case("obs102", True, edit=set_attr(KOMP.format("komp-2"), "verze", "3"), why="a gap (1, 3)"),
    Case("obs102", True, edit=set_attr(KOMP.format("komp-2"), "verze", "1"), why="a repeat"),
    Case("obs102", False, edit=all_of(set_attr(KOMP.format("komp-1"), "verze", "0000000001"), components_reversed),
         why="zero-padded, out of order"),
    # obs103 / obs104: one original per number; without an output-format one it has the highest version
    Case("obs103", True, edit=set_attr(KOMP.format("komp-2"), "forma_uchovani", mk.ORIGINAL)),
    Case("obs104", True, edit=set_attr(KOMP.format("komp-2"), "forma_uchovani", mk.ORIGINAL),
         why="two originals, the latest one of them"),
    Case("obs104", True, shape=comps(DOCX, PDFA, PNG, Comp("foto2.png", mk.png_bytes(1), "image/png", 2, 2,
                                                            "koncept", "příloha"))),
    Case("obs104", False, shape=comps(DOCX, PDFA, PNG)),
    # obs105: a word-processing original has an output-format one, unless settled by 31 July 2012
    Case("obs105", True, shape=comps(DOCX, PNG)),
    Case("obs105", False, shape=comps(DOCX, PNG, closed="2012-07-31"), why="settled by 31 July 2012"),
    Case("obs105", True, shape=comps(DOCX, PNG, closed="2012-08-01")),
    # obs106: no version above the latest output-format original
    Case("obs106", True, shape=comps(DOCX, PDFA, Comp("odpoved-3.pdf", mk.pdf_bytes("v3"), "application/pdf", 1, 3,
                                                      "koncept"), PNG)),
    Case("obs106", False, shape=comps(DOCX, PDFA, PNG)),
    # obs107: the highest version, when an output-format original, is in an output format
    Case("obs107", True, shape=comps(DOCX, Comp("odpoved.bmp", _bmp(), "image/bmp", 1, 2, OUTPUT), PNG)),
    Case("obs107", False, shape=comps(DOCX, Comp("odpoved.bmp", _bmp(), "image/bmp", 1, 2, OUTPUT), PNG,
                                      closed="2012-07-31"), why="settled by 31 July 2012"),
    Case("obs107", False, shape=comps(DOCX, Comp("odpoved.bmp", _bmp(), "image/bmp", 1, 2, OUTPUT),
                                      Comp("odpoved-3.pdf", mk.pdf_bytes("v3"), "application/pdf", 1, 3, "koncept"),
                                      PNG), why="the highest version is not the output-format one"),
    # obs108: the text is exactly the date of the attribute datum
    Case("obs108", True, edit=set_attr(f"{DOK1}/n:Vyrizeni/n:Datum", "datum", "2015-01-01T10:00:00")),
    Case("obs108", False, edit=set_attr(f"{DOK1}/n:Vyrizeni/n:Datum", "datum", "2015-05-20T01:30:00+05:00"),
         why="no shift by time zone"),
    Case("obs108", False, edit=set_attr(f"{DOK1}/n:Vyrizeni/n:Datum", "datum", "2015-05-20T23:30:00.000+01:00"),
         why="a time zone"),
    # obs109-obs111: containers (v4)
    Case("obs109", True, shape=lambda v: mk.container_package(),
         edit=set_attr(KOMP.format("komp-1"), "forma_uchovani", mk.ORIGINAL), versions=(4,)),
    Case("obs109", False, shape=lambda v: mk.container_package(), versions=(4,)),
    Case("obs110", True, shape=lambda v: mk.container_package(), edit=set_attr(
        "//m:file[@DMDID='komp-1']", "MIMETYPE", "image/png"), versions=(4,)),
    Case("obs110", True, shape=lambda v: mk.container_package(), edit=drop_file_of("komp-1"), versions=(4,),
         why="no mets:file"),
    Case("obs110", False, shape=lambda v: mk.container_package(), versions=(4,)),
    Case("obs111", True, shape=lambda v: mk.container_package().with_(documents=(Doc("dok-1", "A", 5, components=(
        Comp("zprava.zip", mk.zip_bytes({"a.txt": b"a"}), "application/zip", 1, 1, "kontejner"),)),)),
        versions=(4,)),
    # kom1-kom4
    Case("kom1", True, edit=size_with_spaces, why="SIZE compared as written"),
    Case("kom1", True, files=lambda f: (f / "komponenty" / "foto.png").write_bytes(b"short")),
    Case("kom1", False),
    Case("kom2", True, files=_png_over("foto.png")),
    Case("kom2", False, edit=checksum_upper, why="checksums compared in any case"),
    Case("kom3", True, shape=comps(DOCX, PDFA, Comp("foto.png", _jpeg(), "image/png", 2, 1, mk.ORIGINAL, "příloha"))),
    Case("kom3", False, shape=comps(DOCX, PDFA, Comp("foto.jpg", _jpeg(), "image/jpeg", 2, 1, mk.ORIGINAL,
                                                     "příloha"))),
    Case("kom4", True, shape=comps(DOCX, Comp("odpoved.pdf", mk.pdf_bytes(pdfa=False), "application/pdf", 1, 2, OUTPUT),
                                   PNG)),
    Case("kom4", False, shape=comps(DOCX, Comp("odpoved.pdf", mk.pdf_bytes(pdfa=False), "application/pdf", 1, 2,
                                               OUTPUT), PNG, closed="2012-07-31"), edit=opened_2012,
         why="settled by 31 July 2012"),
    Case("kom4", False, shape=comps(Comp("odpoved.pdf", mk.pdf_bytes(pdfa=False), "application/pdf", 1, 1, "koncept"),
                                    Comp("odpoved-2.docx", mk.docx_bytes(), mk.DOCX, 1, 2, mk.ORIGINAL),
                                    Comp("odpoved-3.pdf", mk.pdf_bytes("v3"), "application/pdf", 1, 3, OUTPUT), PNG),
         why="only the highest original or output-format version is held to PDF/A"),
]
PARAMS = [(v, c) for c in CASES for v in c.versions]


def _id(v: int, c: Case) -> str:
    return f"v{v}-{c.code}-{'fails' if c.fails else 'passes'}-{(c.why or 'case').replace(' ', '_')[:40]}"


def run(tmp: Path, version: int, case: Case) -> CheckResult:
    edit = case.edit
    folder = mk.write_package(tmp, case.shape(version),
                              mutate=(lambda root: edit(root, version)) if edit else None)
    if case.files:
        case.files(folder)
    return check_package(folder, CheckOptions(case.profile, AS_OF))


@pytest.mark.parametrize(("version", "case"), PARAMS, ids=[_id(v, c) for v, c in PARAMS])
def test_rule_decides_as_zaf(tmp_path: Path, version: int, case: Case) -> None:
    result = run(tmp_path, version, case)
    level = PREFIX_LEVEL[case.code[:3]]
    assert case.profile in rule(version, case.code).profiles
    assert level in result.levels_run, [f.as_dict() for f in result.findings]
    mine = [f for f in result.findings if f.rule == case.code and f.is_error]
    assert not any("could not be evaluated" in f.message for f in result.findings), result.findings
    if case.fails:
        assert mine, [f.as_dict() for f in result.findings]
    else:
        assert not mine, [f.as_dict() for f in mine]


def test_profiles_as_zaf() -> None:
    for v in (4, 3):
        for code in ("obs93", "obs94", "obs95", "obs96", "obs97", "obs98", "obs100", "obs101", "obs102", "obs103",
                     "obs104", "obs105", "obs106", "obs107", "obs108"):
            assert rule(v, code).profiles == {Profile.METADATA, Profile.FULL, Profile.TRANSFER}, (v, code)
        for code in ("kom1", "kom2", "kom3", "kom4"):
            assert rule(v, code).profiles == {Profile.FULL, Profile.TRANSFER}, (v, code)
    for code in ("obs93a", "obs93b", "obs98a", "obs109", "obs111"):
        assert rule(4, code).profiles == {Profile.METADATA, Profile.FULL, Profile.TRANSFER}, code
    assert rule(4, "obs110").profiles == {Profile.FULL, Profile.TRANSFER}


def test_helpers_read_as_zaf(tmp_path: Path) -> None:
    assert java_int("0000000001") == 1 and java_int("+2") == 2
    assert java_int(" 1") is None and java_int("1.0") is None and java_int(None) is None
    assert has_separator("03.1") and not has_separator("90.") and not has_separator("87")
    assert mime_matches("application/xml", "text/xml") and not mime_matches("text/xml", "application/xml")
    assert not mime_matches("image/jpeg", "image/jpg")
    zfo = tmp_path / "zprava.zfo"
    zfo.write_text("<q:dmHash>\n<x></q:dmHash><q:dmQTimestamp>y\n")
    assert is_data_message(zfo)
    zfo.write_text("</q:dmHash><q:dmQTimestamp>\n")  # zaf reads lines in pairs and looks at the second
    assert not is_data_message(zfo)


def test_checksum_of_the_component_is_what_kom2_compares(tmp_path: Path) -> None:
    """A SHA-256 package passes kom2 too (the runner hashes what CHECKSUMTYPE names)."""
    folder = mk.write_package(tmp_path, Package(checksum_type="SHA-256"))
    result = check_package(folder, CheckOptions(Profile.TRANSFER, AS_OF))
    assert 7 in result.levels_run and not [f for f in result.findings if f.rule == "kom2"]
    data = (folder / "komponenty" / "foto.png").read_bytes()
    assert hashlib.sha256(data).hexdigest() in (folder / "mets.xml").read_text()
