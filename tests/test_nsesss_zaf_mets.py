"""Content rules obs1-obs56 (the METS envelope) decided as the national validator (zaf)
decides them, on both generations: which elements each rule walks (the first dmdSec,
mdWrap and metsHdr; every mets:agent, amdSec, digiprovMD, div, file, FLocat and fptr of
the document), values as written, and the rules whose code asks less or otherwise than
their published text (obs41 checks only the MIMETYPE's form, obs56 only that every file
has a pointer, obs54 allows several descriptions of anything above a document).

Each rule is run on its own on a package built in the shape of a real export
(`tests.nsesss_maker`) and broken or varied one thing at a time; a few cases run the whole
check to show the package passes where zaf passes it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from lxml import etree
from lxml.builder import ElementMaker

from archa.transfer.nsesss import obs_mets
from archa.transfer.nsesss.check import CheckOptions, check_package
from archa.transfer.nsesss.model import Hit, Pkg
from archa.transfer.nsesss.registry import CHECKS
from archa.transfer.nsesss.rules import Profile, rules_for
from tests import nsesss_maker as mk
from tests.nsesss_maker import Package

AS_OF = date(2026, 11, 30)
METS, XLINK = mk.METS_NS, mk.XLINK_NS
Mutate = Callable[[etree._Element], object]
VERSIONS = pytest.mark.parametrize("v", [4, 3])


def ns(v: int) -> dict[str, str]:
    return {"m": METS, "n": mk.NS[v], "x": XLINK, "tp": mk.TP_NS[v], "ti": mk.TP_IDS[v]}


def xp(root: etree._Element, v: int, path: str) -> list[etree._Element]:
    found = root.xpath(path, namespaces=ns(v))
    assert found, f"nothing at {path}"
    return list(found)


def hits(tmp: Path, pkg: Package, code: str, mutate: Mutate | None = None,
         files: Callable[[Path], object] | None = None) -> list[Hit]:
    """The hits of rule `code` alone on `pkg` (mutated), as the checker calls it."""
    folder = mk.write_package(tmp / "pkg", pkg, mutate=mutate)
    if files is not None:
        files(folder)
    p = Pkg(folder, pkg.version, Profile.TRANSFER, AS_OF)
    p.folder = folder
    p.root = etree.parse(str(folder / "mets.xml")).getroot()
    return list(CHECKS[code](p))


def fails(tmp: Path, pkg: Package, code: str, mutate: Mutate | None = None,
          files: Callable[[Path], object] | None = None) -> bool:
    return bool(hits(tmp, pkg, code, mutate, files))


def pkg4(v: int = 4, **kw: object) -> Package:
    return Package(version=v).with_(**kw)


def at(v: int, path: str, fn: Callable[[etree._Element], object]) -> Mutate:
    def mutate(root: etree._Element) -> None:
        for el in xp(root, v, path):
            fn(el)
    return mutate


def seq(*ms: Mutate) -> Mutate:
    def mutate(root: etree._Element) -> None:
        for m in ms:
            m(root)
    return mutate


def setattr_(v: int, path: str, key: str, value: str | None) -> Mutate:
    return at(v, path, lambda el: el.attrib.pop(key) if value is None else el.set(key, value))


def settext(v: int, path: str, value: str) -> Mutate:
    return at(v, path, lambda el: setattr(el, "text", value))


def drop(v: int, path: str) -> Mutate:
    return at(v, path, lambda el: el.getparent().remove(el))


M = ElementMaker(namespace=METS)
FILE1 = "//m:file[@ID='file-1']"


# --- the shapes of real exports pass every rule of the range ----------------------------------

SHAPES: dict[str, Callable[[int], Package]] = {
    "file": lambda v: Package(version=v), "document": mk.document_package, "linked": mk.linked_package,
    "container": lambda v: mk.container_package().with_(version=v),
}


@VERSIONS
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_real_export_shapes_pass_every_mets_rule(tmp_path: Path, v: int, shape: str) -> None:
    pkg = SHAPES[shape](v)
    folder = mk.write_package(tmp_path, pkg)
    p = Pkg(folder, v, Profile.TRANSFER, AS_OF)
    p.folder, p.root = folder, etree.parse(str(folder / "mets.xml")).getroot()
    codes = [c for c in rules_for(v) if c.startswith("obs") and int("".join(filter(str.isdigit, c))) <= 56]
    assert {c: list(CHECKS[c](p)) for c in codes if list(CHECKS[c](p))} == {}


# --- mets:mets ----------------------------------------------------------------------------------

@VERSIONS
def test_obs1_a_blank_objid_fails_any_other_passes(tmp_path: Path, v: int) -> None:
    assert fails(tmp_path / "a", pkg4(v), "obs1", setattr_(v, "/m:mets", "OBJID", " \t"))
    assert fails(tmp_path / "b", pkg4(v), "obs1", setattr_(v, "/m:mets", "OBJID", None))
    assert not fails(tmp_path / "c", pkg4(v), "obs1", setattr_(v, "/m:mets", "OBJID", "\u00a0"))  # not Java blank


@VERSIONS
def test_obs2_obs3_the_label_is_compared_as_written(tmp_path: Path, v: int) -> None:
    spaced = setattr_(v, "/m:mets", "LABEL", mk.LABEL_TRANSFER + " ")
    assert fails(tmp_path / "a", pkg4(v), "obs2", spaced) and fails(tmp_path / "b", pkg4(v), "obs3", spaced)
    review = setattr_(v, "/m:mets", "LABEL", mk.LABEL_REVIEW)
    assert not fails(tmp_path / "c", pkg4(v), "obs2", review) and fails(tmp_path / "d", pkg4(v), "obs3", review)


def test_obs4_obs9_v3_the_root_declares_xsi_and_xlink(tmp_path: Path) -> None:
    def wrong(prefix: str, uri: str) -> Callable[[Path], object]:
        def fn(folder: Path) -> None:
            mets = folder / "mets.xml"
            mets.write_bytes(mets.read_bytes().replace(f'xmlns:{prefix}="{uri}"'.encode(),
                                                       f'xmlns:{prefix}="{uri}/"'.encode(), 1))
        return fn
    assert not fails(tmp_path / "a", pkg4(3), "obs4") and not fails(tmp_path / "b", pkg4(3), "obs9")
    assert fails(tmp_path / "c", pkg4(3), "obs4", files=wrong("xsi", mk.XSI_NS))
    assert fails(tmp_path / "d", pkg4(3), "obs9", files=wrong("xlink", XLINK))
    assert {"obs4", "obs9"} <= set(rules_for(3)) and not {"obs4", "obs9"} & set(rules_for(4))


# --- the header ---------------------------------------------------------------------------------

def _second_header(root: etree._Element) -> None:
    hdr = root.find(f"{{{METS}}}metsHdr")
    hdr.addnext(copy.deepcopy(hdr))


@VERSIONS
def test_obs10_exactly_one_header(tmp_path: Path, v: int) -> None:
    assert fails(tmp_path / "a", pkg4(v), "obs10", drop(v, "m:metsHdr"))
    assert fails(tmp_path / "b", pkg4(v), "obs10", _second_header)


@VERSIONS
def test_obs14_obs15_the_first_header_has_the_dates_even_empty(tmp_path: Path, v: int) -> None:
    for code, attr in (("obs14", "LASTMODDATE"), ("obs15", "CREATEDATE")):
        assert not fails(tmp_path / f"{code}a", pkg4(v), code, setattr_(v, "m:metsHdr", attr, ""))
        assert fails(tmp_path / f"{code}b", pkg4(v), code, setattr_(v, "m:metsHdr", attr, None))
        assert fails(tmp_path / f"{code}c", pkg4(v), code, drop(v, "m:metsHdr"))  # no header: zaf fails it


@VERSIONS
def test_obs16_to_obs20_without_any_agent_fail(tmp_path: Path, v: int) -> None:
    no_agents = drop(v, "//m:agent")
    for code in ("obs16", "obs17", "obs18", "obs19", "obs20"):
        assert fails(tmp_path / code, pkg4(v), code, no_agents), code


@VERSIONS
def test_obs16_obs17_count_agents_by_type(tmp_path: Path, v: int) -> None:
    agent2 = "//m:agent[@ID='agent-2']"
    assert fails(tmp_path / "a", pkg4(v), "obs16", setattr_(v, agent2, "TYPE", "ORGANIZATION"))
    assert fails(tmp_path / "b", pkg4(v), "obs17", setattr_(v, agent2, "TYPE", "OTHER"))
    assert fails(tmp_path / "c", pkg4(v), "obs18", setattr_(v, agent2, "ROLE", "creator"))


@VERSIONS
def test_obs19_an_empty_agent_id_passes_a_missing_one_fails(tmp_path: Path, v: int) -> None:
    agent2 = "//m:agent[@ID='agent-2']"
    assert not fails(tmp_path / "a", pkg4(v), "obs19", setattr_(v, agent2, "ID", ""))
    assert fails(tmp_path / "b", pkg4(v), "obs19", setattr_(v, agent2, "ID", None))


@VERSIONS
def test_obs20_reads_the_whole_agent_text_and_counts_names(tmp_path: Path, v: int) -> None:
    agent2 = "//m:agent[@ID='agent-2']"
    assert fails(tmp_path / "a", pkg4(v), "obs20", settext(v, f"{agent2}/m:name", " "))
    # zaf takes the text of the whole agent: a note beside a blank name keeps it from being blank
    noted = seq(settext(v, f"{agent2}/m:name", " "), at(v, agent2, lambda el: el.append(M.note("referentka"))))
    assert not fails(tmp_path / "b", pkg4(v), "obs20", noted)
    assert fails(tmp_path / "c", pkg4(v), "obs20", at(v, agent2, lambda el: el.append(M.name("Jana"))))


# --- the dmdSec ---------------------------------------------------------------------------------

def _second_dmd(v: int, **attrs: str) -> Mutate:
    def mutate(root: etree._Element) -> None:
        wrap = {"MDTYPE": "OTHER", "OTHERMDTYPE": "NSESSS", "MDTYPEVERSION": f"{v}.0", "MIMETYPE": "text/xml", **attrs}
        root.find(f"{{{METS}}}dmdSec").addnext(M.dmdSec(M.mdWrap(M.xmlData(), **wrap), ID="dmd-2"))
    return mutate


@VERSIONS
@pytest.mark.parametrize(("code", "attr", "value"), [("obs23", "MDTYPEVERSION", "9.9"),
                                                     ("obs24", "OTHERMDTYPE", "NSESS"),
                                                     ("obs25", "MDTYPE", "DC"), ("obs26", "MIMETYPE", "text/XML")])
def test_obs23_to_obs26_judge_the_first_dmdsec_only(tmp_path: Path, v: int, code: str, attr: str, value: str) -> None:
    assert not fails(tmp_path / "a", pkg4(v), code, _second_dmd(v, **{attr: value}))
    assert fails(tmp_path / "b", pkg4(v), code, setattr_(v, "m:dmdSec/m:mdWrap", attr, value))
    assert fails(tmp_path / "c", pkg4(v), code, setattr_(v, "m:dmdSec/m:mdWrap", attr, None))


@VERSIONS
def test_obs22_to_obs27_fail_without_a_dmdsec(tmp_path: Path, v: int) -> None:
    for code in ("obs22", "obs23", "obs24", "obs25", "obs26", "obs27"):
        assert fails(tmp_path / code, pkg4(v), code, drop(v, "m:dmdSec")), code
    assert fails(tmp_path / "x", pkg4(v), "obs22", at(v, "m:dmdSec", lambda el: el.append(copy.deepcopy(el[0]))))
    assert fails(tmp_path / "y", pkg4(v), "obs27",
                 at(v, "m:dmdSec/m:mdWrap", lambda el: el.append(M.xmlData())))


# --- obs28 / obs29: base entities and fixed cross-references ------------------------------------

def _settled(v: int, when: str) -> Mutate:
    return settext(v, "//n:Dokument[@ID='dok-1']/n:EvidencniUdaje/n:Vyrizeni/n:Datum", when)


def test_obs28_v4_a_base_document_settled_after_2026_fails(tmp_path: Path) -> None:
    doc = mk.document_package(4)
    assert not fails(tmp_path / "a", doc, "obs28", _settled(4, "2026-12-31"))
    assert fails(tmp_path / "b", doc, "obs28", _settled(4, "2027-01-01"))
    assert fails(tmp_path / "c", doc, "obs28", _settled(4, "31.12.2026"))  # not yyyy-MM-dd
    assert fails(tmp_path / "d", doc, "obs28", drop(4, "//n:Dokument[@ID='dok-1']/n:EvidencniUdaje/n:Vyrizeni"))


def test_obs28_v3_has_no_date_limit(tmp_path: Path) -> None:
    assert not fails(tmp_path, mk.document_package(3), "obs28", _settled(3, "2027-01-01"))


def test_java_date_reads_the_whole_text_leniently() -> None:
    assert obs_mets.java_date("2026-12-31") == date(2026, 12, 31)
    assert obs_mets.java_date("2026-13-01") == date(2027, 1, 1)  # lenient roll-over, as DateUtils.parseDate
    assert obs_mets.java_date("2026-12-31+01:00") is None and obs_mets.java_date(" 2026-12-31") is None


@VERSIONS
def test_obs28_obs29_pevny_is_compared_as_written(tmp_path: Path, v: int) -> None:
    """'ano ' is not a fixed cross-reference: two base entities then break obs28, and obs29
    does not apply."""
    loose = setattr_(v, "//n:KrizovyOdkaz", "pevny", "ano ")
    assert fails(tmp_path / "a", mk.linked_package(v), "obs28", loose)
    assert not fails(tmp_path / "b", mk.linked_package(v), "obs29", loose)
    assert not fails(tmp_path / "c", mk.linked_package(v), "obs28")


def test_obs29_v4_has_no_date_condition(tmp_path: Path) -> None:
    """zaf's obs29 asks only for the base entity with the identifier; a second file closed
    after 2026 is still bound."""
    late = settext(4, "//n:Spis[@ID='spis-2']/n:EvidencniUdaje/n:VyrizeniUzavreni/n:Datum", "2027-03-01")
    assert not fails(tmp_path, mk.linked_package(4), "obs29", late)


@VERSIONS
def test_obs29_a_link_to_its_own_entity_or_to_a_second_identifier_fails(tmp_path: Path, v: int) -> None:
    own = settext(v, "//n:Spis[@ID='spis-1']//n:KrizovyOdkaz/n:Identifikator", "KU-2015-0042")
    assert fails(tmp_path / "a", mk.linked_package(v), "obs29", own)

    def second_ident(root: etree._Element) -> None:
        ident = xp(root, v, "//n:Spis[@ID='spis-2']/n:EvidencniUdaje/n:Identifikace/n:Identifikator")[0]
        other = copy.deepcopy(ident)
        other.text = "JINE-0001"
        ident.addprevious(other)  # the link names the base entity's second identifier: zaf reads the first only
    assert fails(tmp_path / "b", mk.linked_package(v), "obs29", second_ident)


# --- amdSec and digiprovMD -----------------------------------------------------------------------

@VERSIONS
def test_obs30_obs31_without_amdsec_fail_an_empty_id_passes(tmp_path: Path, v: int) -> None:
    none = drop(v, "m:amdSec")
    assert fails(tmp_path / "a", pkg4(v), "obs30", none) and fails(tmp_path / "b", pkg4(v), "obs31", none)
    assert not fails(tmp_path / "c", pkg4(v), "obs30", setattr_(v, "(m:amdSec)[1]", "ID", ""))
    assert fails(tmp_path / "d", pkg4(v), "obs30", setattr_(v, "(m:amdSec)[1]", "ID", None))


def _second_wrap(v: int, **attrs: str) -> Mutate:
    def fn(md: etree._Element) -> None:
        new = copy.deepcopy(md[0])
        for k, val in attrs.items():
            new.set(k, val)
        md.append(new)
    return at(v, "(//m:digiprovMD)[1]", fn)


@VERSIONS
@pytest.mark.parametrize(("code", "attr", "value"), [("obs34", "MDTYPEVERSION", "9.9"),
                                                     ("obs35", "OTHERMDTYPE", "LOG"),
                                                     ("obs36", "MDTYPE", "DC"), ("obs37", "MIMETYPE", "text/XML")])
def test_obs34_to_obs37_judge_the_first_mdwrap_of_each_digiprovmd(tmp_path: Path, v: int, code: str, attr: str,
                                                                  value: str) -> None:
    assert not fails(tmp_path / "a", pkg4(v), code, _second_wrap(v, **{attr: value}))
    assert fails(tmp_path / "b", pkg4(v), "obs33", _second_wrap(v, **{attr: value}))
    assert fails(tmp_path / "c", pkg4(v), code, setattr_(v, "(//m:digiprovMD/m:mdWrap)[1]", attr, value))


@VERSIONS
def test_obs33_to_obs39_fail_without_any_digiprovmd(tmp_path: Path, v: int) -> None:
    for code in ("obs33", "obs34", "obs35", "obs36", "obs37", "obs38", "obs39"):
        assert fails(tmp_path / code, pkg4(v), code, drop(v, "//m:digiprovMD")), code
    assert fails(tmp_path / "x", pkg4(v), "obs39", at(v, "(//m:digiprovMD/m:mdWrap)[1]",
                                                       lambda el: el.replace(el[0], M.binData(""))))


# --- fileSec -------------------------------------------------------------------------------------

ANALOG1 = "//n:Dokument[@ID='dok-1']/n:EvidencniUdaje/n:Manipulace/n:AnalogovyDokument"
ANALOG2 = "//n:Dokument[@ID='dok-2']/n:EvidencniUdaje/n:Manipulace/n:AnalogovyDokument"
NO_FILESEC = "m:fileSec | //m:fptr"


@VERSIONS
def test_obs40_as_zaf_walks_the_documents(tmp_path: Path, v: int) -> None:
    assert fails(tmp_path / "a", pkg4(v), "obs40", drop(v, NO_FILESEC))
    assert fails(tmp_path / "b", pkg4(v), "obs40", seq(drop(v, NO_FILESEC), settext(v, ANALOG1, "NE")))
    assert not fails(tmp_path / "c", pkg4(v), "obs40", seq(drop(v, NO_FILESEC), settext(v, ANALOG1, " ne")))
    # the first digital document with its one fileSec decides; later documents are not read
    assert not fails(tmp_path / "d", pkg4(v), "obs40", drop(v, ANALOG2))
    assert fails(tmp_path / "e", pkg4(v), "obs40", drop(v, ANALOG1))


@VERSIONS
@pytest.mark.parametrize("mime", ["application/octet-stream", "image/jpg", "application/x-zip-compressed",
                                  "text/xml", "IMAGE/PNG", "application/vnd.ms-word", "text/plain; charset=UTF-8",
                                  "font/otf", "model/x"])
def test_obs41_passes_any_well_formed_type_whatever_the_file(tmp_path: Path, v: int, mime: str) -> None:
    """The held-out report: zaf's obs41 does not compare MIMETYPE with the file's extension
    (that is kom3's business at level 7)."""
    assert not fails(tmp_path, pkg4(v), "obs41", setattr_(v, FILE1, "MIMETYPE", mime))


@VERSIONS
@pytest.mark.parametrize("mime", ["", " ", "pdf", "haptics/x", "image/", " image/png", "x-world/x-vrml"])
def test_obs41_fails_what_zaf_fails(tmp_path: Path, v: int, mime: str) -> None:
    assert fails(tmp_path, pkg4(v), "obs41", setattr_(v, FILE1, "MIMETYPE", mime))


def test_obs41_a_mislabelled_file_passes_level_6(tmp_path: Path) -> None:
    """End to end: a PNG declared as application/octet-stream passes obs41 (whatever level 7
    says of it)."""
    folder = mk.write_package(tmp_path, pkg4(), mutate=setattr_(4, "//m:file[@ID='file-3']", "MIMETYPE",
                                                                "application/octet-stream"))
    result = check_package(folder, CheckOptions(Profile.TRANSFER, AS_OF))
    assert "obs41" not in {f.rule for f in result.findings} and 6 in result.levels_run


@VERSIONS
def test_obs43a_judges_the_first_filesec(tmp_path: Path, v: int) -> None:
    def second_sec(root: etree._Element) -> None:
        sec = root.find(f"{{{METS}}}fileSec")
        sec.addnext(M.fileSec(M.fileGrp(), M.fileGrp()))
    assert not fails(tmp_path / "a", pkg4(v), "obs43a", second_sec)
    assert fails(tmp_path / "b", pkg4(v), "obs43a", at(v, "m:fileSec", lambda el: el.append(M.fileGrp())))


@VERSIONS
def test_obs44_counts_files_and_components(tmp_path: Path, v: int) -> None:
    """Four components, two of them with the same ID, and a file for each ID: every link
    holds, but zaf also wants as many files as components."""
    def twin_component(root: etree._Element) -> None:
        k = xp(root, v, "//n:Komponenta[@ID='komp-3']")[0]
        k.addnext(copy.deepcopy(k))
    assert fails(tmp_path / "a", pkg4(v), "obs44", twin_component)
    assert [h.message for h in hits(tmp_path / "a2", pkg4(v), "obs44", twin_component)] == [
        "3 mets:file for 4 nsesss:Komponenta"]
    assert fails(tmp_path / "b", pkg4(v), "obs44", setattr_(v, FILE1, "DMDID", "dok-1"))
    assert not fails(tmp_path / "c", pkg4(v), "obs44", drop(v, NO_FILESEC))  # no mets:file: nothing to check


@VERSIONS
def test_obs46_obs49_values_as_written(tmp_path: Path, v: int) -> None:
    assert fails(tmp_path / "a", pkg4(v), "obs46", setattr_(v, FILE1, "CHECKSUMTYPE", "sha-256"))
    assert fails(tmp_path / "b", pkg4(v), "obs49", setattr_(v, FILE1, "CREATED", "  "))


@VERSIONS
def test_obs50_a_file_holds_only_its_flocat(tmp_path: Path, v: int) -> None:
    assert fails(tmp_path / "a", pkg4(v), "obs50", at(v, FILE1, lambda el: el.append(M.stream())))
    assert fails(tmp_path / "b", pkg4(v), "obs50", at(v, FILE1, lambda el: el.insert(0, M.stream())))
    assert fails(tmp_path / "c", pkg4(v), "obs50", drop(v, f"{FILE1}/m:FLocat"))


@VERSIONS
def test_obs51_obs53_values_as_written(tmp_path: Path, v: int) -> None:
    flocat = f"{FILE1}/m:FLocat"
    assert fails(tmp_path / "a", pkg4(v), "obs51", setattr_(v, flocat, f"{{{XLINK}}}type", "Simple"))
    assert fails(tmp_path / "b", pkg4(v), "obs53", setattr_(v, flocat, "LOCTYPE", "url"))


def _href(v: int, value: str) -> Mutate:
    return setattr_(v, f"{FILE1}/m:FLocat", f"{{{XLINK}}}href", value)


def _rename(old: str, new: str) -> Callable[[Path], object]:
    def fn(folder: Path) -> None:
        target = folder / "komponenty" / new
        target.parent.mkdir(parents=True, exist_ok=True)
        (folder / "komponenty" / old).rename(target)
    return fn


@VERSIONS
def test_obs52_names_are_compared_as_written(tmp_path: Path, v: int) -> None:
    spaced = _rename("odpoved.docx", "odpověď 1.docx")
    assert not fails(tmp_path / "a", pkg4(v), "obs52", _href(v, "komponenty/odpověď 1.docx"), spaced)
    assert fails(tmp_path / "b", pkg4(v), "obs52", _href(v, "komponenty/odpov%C4%9B%C4%8F%201.docx"), spaced)
    assert fails(tmp_path / "c", pkg4(v), "obs52", _href(v, "./komponenty/odpoved.docx"))
    assert fails(tmp_path / "d", pkg4(v), "obs52", files=lambda f: (f / "komponenty" / "navic.txt").write_text("x"))
    assert fails(tmp_path / "e", pkg4(v), "obs52", _href(v, "komponenty/../../elsewhere.docx"))
    # a file that is there, beside the package: named all the same as leading out of it
    beside = hits(tmp_path / "f", pkg4(v), "obs52", _href(v, "komponenty/../../beside.docx"),
                  lambda f: (f.parent / "beside.docx").write_bytes(b"x"))
    assert any("leads out of the package" in h.message for h in beside), beside


@VERSIONS
def test_obs52_follows_links_and_reads_missing_folders_as_written(tmp_path: Path, v: int) -> None:
    """A link in komponenty/ is judged by where it leads: out of the package is refused, to a
    file in it is that file; an href through a folder (or file) that is not there names no
    component but does not lead out."""
    def out_link(f: Path) -> None:
        (f.parent / "secret.docx").write_bytes(b"x")
        (f / "komponenty" / "odpoved.docx").unlink()
        (f / "komponenty" / "odpoved.docx").symlink_to(f.parent / "secret.docx")

    def in_link(f: Path) -> None:
        (f / "komponenty" / "odpoved.docx").rename(f / "data.docx")
        (f / "komponenty" / "odpoved.docx").symlink_to(Path("..") / "data.docx")

    assert any("leads out of the package" in h.message for h in hits(tmp_path / "a", pkg4(v), "obs52",
                                                                      files=out_link))
    assert not fails(tmp_path / "b", pkg4(v), "obs52", files=in_link)
    for i, href in enumerate(("komponenty/nothere/odpoved.docx", "komponenty/odpoved.docx/x")):
        got = [h.message for h in hits(tmp_path / f"c{i}", pkg4(v), "obs52", _href(v, href))]
        assert any("is not in the package" in m for m in got) and not any("leads out" in m for m in got), got


def test_obs52_v4_refuses_backslashes_v3_reads_them(tmp_path: Path) -> None:
    sub = _rename("odpoved.docx", "sub/odpoved.docx")
    assert fails(tmp_path / "a", pkg4(4), "obs52", _href(4, "komponenty\\sub\\odpoved.docx"), sub)
    assert not fails(tmp_path / "b", pkg4(4), "obs52", _href(4, "komponenty/sub/odpoved.docx"), sub)
    flat = _href(3, "komponenty\\odpoved.docx")
    assert not fails(tmp_path / "c", pkg4(3), "obs52", flat)


def test_obs52_v3_matches_names_directly_in_komponenty(tmp_path: Path) -> None:
    """zaf's v3 obs52 lists komponenty/ itself: a subfolder is an entry no href names."""
    sub = _rename("odpoved.docx", "sub/odpoved.docx")
    assert fails(tmp_path, pkg4(3), "obs52", _href(3, "komponenty/sub/odpoved.docx"), sub)


@VERSIONS
def test_obs52_two_hrefs_to_one_file_pass_and_no_flocat_means_no_check(tmp_path: Path, v: int) -> None:
    assert not fails(tmp_path / "a", pkg4(v), "obs52", _href(v, "komponenty/odpoved.pdf"),
                     lambda f: (f / "komponenty" / "odpoved.docx").unlink())
    assert not fails(tmp_path / "b", pkg4(v), "obs52", drop(v, NO_FILESEC))


# --- obs54: the structMap ------------------------------------------------------------------------

DIV = "//m:div[@DMDID='{}']"


@VERSIONS
def test_obs54_shared_ancestors_of_several_base_entities_pass(tmp_path: Path, v: int) -> None:
    """Two base files under one filing-plan chain, the chain described in each file's
    Trideni, logged once and shown once: zaf passes it, and it does so whether or not the
    two are bound by a fixed cross-reference."""
    assert not fails(tmp_path / "a", mk.linked_package(v), "obs54")
    assert not fails(tmp_path / "b", mk.linked_package(v), "obs54", setattr_(v, "//n:KrizovyOdkaz", "pevny", "ne"))


@VERSIONS
def test_obs54_a_shared_ancestor_may_have_an_amdsec_per_description(tmp_path: Path, v: int) -> None:
    def second_log(root: etree._Element) -> None:
        sec = xp(root, v, "m:amdSec[@ID='amd-vs-2']")[0]
        new = copy.deepcopy(sec)
        new.set("ID", "amd-vs-2-b")
        new[0].set("ID", "tp-vs-2-b")
        sec.addnext(new)
    assert not fails(tmp_path / "a", mk.linked_package(v), "obs54", second_log)
    # described once, logged twice: zaf fails it
    assert fails(tmp_path / "b", Package(version=v), "obs54", second_log)


@VERSIONS
def test_obs54_a_document_or_component_described_twice_fails(tmp_path: Path, v: int) -> None:
    def twice(root: etree._Element) -> None:
        doc = xp(root, v, "//n:Dokument[@ID='dok-2']")[0]
        new = copy.deepcopy(doc)
        new.set("ID", "dok-2-twin")
        doc.addnext(new)
    assert fails(tmp_path, Package(version=v), "obs54", twice)


@VERSIONS
def test_obs54_div_type_parent_and_links(tmp_path: Path, v: int) -> None:
    base = Package(version=v)
    assert fails(tmp_path / "a", base, "obs54", setattr_(v, DIV.format("spis-1"), "TYPE", "dokument"))
    # zaf does not read the TYPE of the filing plan's div
    assert not fails(tmp_path / "b", base, "obs54", setattr_(v, DIV.format("sp-1"), "TYPE", "plán"))
    assert fails(tmp_path / "c", base, "obs54", setattr_(v, DIV.format("dok-1"), "ADMID", "amd-dok-2"))
    assert fails(tmp_path / "d", base, "obs54", drop(v, DIV.format("dok-2")))
    assert fails(tmp_path / "e", base, "obs54", setattr_(v, DIV.format("dok-2"), "DMDID", "nic"))

    def up_one(root: etree._Element) -> None:  # a document's div moved from its file's div to the group's
        div = xp(root, v, DIV.format("dok-2"))[0]
        xp(root, v, DIV.format("vs-2"))[0].append(div)
    assert fails(tmp_path / "f", base, "obs54", up_one)


@VERSIONS
def test_obs54_identifiers_are_compared_as_written(tmp_path: Path, v: int) -> None:
    spaced = settext(v, "//n:Dokument[@ID='dok-2']/n:EvidencniUdaje/n:Identifikace/n:Identifikator",
                     " KU-2015-0042-dok-2")
    assert fails(tmp_path / "a", Package(version=v), "obs54", spaced)

    def stray_log(root: etree._Element) -> None:  # an amdSec logging an object nothing describes
        sec = xp(root, v, "m:amdSec[@ID='amd-dok-2']")[0]
        new = copy.deepcopy(sec)
        new.set("ID", "amd-stray")
        xp(new, v, ".//tp:Objekt/tp:Identifikator/ti:HodnotaID")[0].text = "NIKDO"
        sec.addnext(new)
    assert fails(tmp_path / "b", Package(version=v), "obs54", stray_log)


def _dil_with_documents(root: etree._Element) -> None:
    """A v4 part holding its documents directly (Dil/Dokumenty) instead of a file."""
    n = ns(4)
    spisy = xp(root, 4, "//n:Dil/n:Spisy")[0]
    spis = spisy[0]
    spisy.getparent().replace(spisy, spis.find(f"{{{n['n']}}}Dokumenty"))
    for sec in xp(root, 4, "m:amdSec[@ID='amd-spis-1']"):
        root.remove(sec)
    div = xp(root, 4, DIV.format("spis-1"))[0]
    for child in list(div):
        div.addprevious(child)
    div.getparent().remove(div)


def test_obs54_v4_a_part_with_documents_passes_a_part_with_files_fails(tmp_path: Path) -> None:
    """zaf's obs54 finds the parent of a file (nsesss:Spis) only in its Trideni; a file
    inside a part (Dil/Spisy, which the v4 schema allows) has none there, so zaf fails it."""
    assert not fails(tmp_path / "a", mk.part_package(4), "obs54")  # the maker's part holds documents
    found = hits(tmp_path / "b", mk.part_with_files_package(4), "obs54")
    assert found and "nsesss:Spis" in found[0].message and "MaterskaEntita/VecnaSkupina" in found[0].message
    assert not fails(tmp_path / "c", mk.part_package(3), "obs54")


# --- obs55 / obs56 -------------------------------------------------------------------------------

@VERSIONS
def test_obs55_only_type_komponenta_as_written(tmp_path: Path, v: int) -> None:
    first_fptr = "(//m:div[@TYPE='komponenta'])[1]/m:fptr"
    assert fails(tmp_path / "a", pkg4(v), "obs55", drop(v, first_fptr))
    assert not fails(tmp_path / "b", pkg4(v), "obs55", seq(
        drop(v, first_fptr), setattr_(v, "(//m:div[@TYPE='komponenta'])[1]", "TYPE", "Komponenta")))


@VERSIONS
def test_obs56_every_file_has_a_pointer_dmdids_are_not_compared(tmp_path: Path, v: int) -> None:
    def swap(root: etree._Element) -> None:
        a, b = xp(root, v, "(//m:fptr)[1]")[0], xp(root, v, "(//m:fptr)[2]")[0]
        fa, fb = a.get("FILEID"), b.get("FILEID")
        a.set("FILEID", fb)
        b.set("FILEID", fa)
    assert not fails(tmp_path / "a", pkg4(v), "obs56", swap)
    extra = at(v, "(//m:div[@TYPE='komponenta'])[1]", lambda el: el.append(M.fptr(FILEID="nikam")))
    assert not fails(tmp_path / "b", pkg4(v), "obs56", extra)
    assert fails(tmp_path / "c", pkg4(v), "obs56", setattr_(v, "(//m:fptr)[1]", "FILEID", "file-2"))
    assert fails(tmp_path / "d", pkg4(v), "obs56", setattr_(v, "(//m:fptr)[1]", "FILEID", ""))


# --- profiles ------------------------------------------------------------------------------------

ZAF_PROFILES = {  # zaf's profily/ZakladniProfilValidace (both generations), rules of this range
    "obs2": "MU", "obs3": "P", "obs40": "UP", "obs52": "UP", "obs55": "UP",
}
LETTERS = {"M": Profile.METADATA, "U": Profile.FULL, "P": Profile.TRANSFER}


@VERSIONS
def test_profiles_follow_zaf(v: int) -> None:
    for code, rule in rules_for(v).items():
        if not code.startswith("obs") or int("".join(filter(str.isdigit, code))) > 56:
            continue
        want = {LETTERS[c] for c in ZAF_PROFILES.get(code, "MUP")}
        assert set(rule.profiles) == want, code


def test_the_mets_rules_of_each_generation() -> None:
    v4 = {c for c in rules_for(4) if c.startswith("obs") and int("".join(filter(str.isdigit, c))) <= 56}
    v3 = {c for c in rules_for(3) if c.startswith("obs") and int("".join(filter(str.isdigit, c))) <= 56}
    common = {"obs1", "obs2", "obs3", *(f"obs{i}" for i in (*range(10, 21), *range(22, 32), *range(33, 42))),
              "obs43a", "obs44", "obs46", "obs49", *(f"obs{i}" for i in range(50, 57))}
    assert v4 == common and v3 == v4 | {"obs4", "obs9"}


def test_java_blank() -> None:
    assert obs_mets.blank(None) and obs_mets.blank("") and obs_mets.blank(" \t\r\n\u2003")
    assert not obs_mets.blank("\u00a0") and not obs_mets.blank(" x ")


def test_an_unused_component_kind_is_still_a_component(tmp_path: Path) -> None:
    """A component whose file is a scan of an analogue document (digitalizát) counts like any
    other for obs44 and obs54."""
    pkg = mk.container_package().with_(version=4)
    for code in ("obs44", "obs54", "obs56"):
        assert not fails(tmp_path / code, pkg, code)
    assert any(c.forma == "digitalizát" for c in pkg.components)
