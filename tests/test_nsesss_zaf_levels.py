"""Levels 1-5 of the national rule set decided as the national validator (zaf) decides them:
how a path is loaded (a folder, a ZIP by its name, a lone XML file, anything else), every
rule of a level judged on its own, the character set before well-formedness (windows-1250
and ISO-8859-2 exports give kod1, never an 'unsupported' exit), the root element by its
written name, the schema location as one of the exact strings, and a v2 export failing ns2.

Each case names exactly which rules of the level fail and which pass, as zaf's own tests
state them for its packages of the same shape."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.transfer.nsesss.check import CheckOptions, CheckResult, check_package
from tests import nsesss_maker as mk
from tests.nsesss_maker import Package, write_package, zip_package

AS_OF = date(2026, 11, 30)


def check(path: Path, profile: str = "prejimka") -> CheckResult:
    from archa.transfer.nsesss.rules import Profile

    return check_package(path, CheckOptions(Profile(profile), AS_OF))


def failed(result: CheckResult, level: int) -> list[str]:
    return sorted({f.rule for f in result.findings if f.level == level and f.is_error})


def valid_folder(tmp_path: Path, **kw: object) -> Path:
    return write_package(tmp_path / "src", Package(**kw))  # type: ignore[arg-type]


# --- level 1: what the package is -------------------------------------------------------------

def test_a_folder_and_a_zip_named_like_its_folder_pass_level_1(tmp_path: Path) -> None:
    folder = valid_folder(tmp_path)
    assert check(folder).valid
    sip = zip_package(folder, tmp_path / f"{folder.name}.zip")
    result = check(sip)
    assert result.valid and result.levels_run[0] == 1 and failed(result, 1) == []
    upper = sip.rename(tmp_path / f"{folder.name}.ZIP")  # the extension is read in any case
    assert check(upper).valid


def test_a_lone_xml_file_fails_dat1_dat1a_dat3_and_passes_dat2(tmp_path: Path) -> None:
    folder = valid_folder(tmp_path)
    lone = tmp_path / "mets.xml"
    lone.write_bytes((folder / "mets.xml").read_bytes())
    result = check(lone)
    assert failed(result, 1) == ["dat1", "dat1a", "dat3"] and result.levels_run == [1]


def test_a_pdf_fails_dat1_dat1a_dat3(tmp_path: Path) -> None:
    pdf = tmp_path / "SIP_2026_0001.pdf"
    pdf.write_bytes(mk.pdf_bytes())
    result = check(pdf)
    assert failed(result, 1) == ["dat1", "dat1a", "dat3"]
    assert "neither a folder nor a file named .zip" in next(f.message for f in result.findings if f.rule == "dat1")


def test_a_real_zip_not_named_zip_is_of_no_allowed_kind(tmp_path: Path) -> None:
    folder = valid_folder(tmp_path)
    sip = zip_package(folder, tmp_path / "SIP_2026_0001.dat")
    assert failed(check(sip), 1) == ["dat1", "dat1a", "dat3"]


def test_a_file_named_zip_that_is_no_zip_fails_every_rule_of_level_1(tmp_path: Path) -> None:
    fake = tmp_path / "SIP_2026_0001.zip"
    fake.write_bytes(mk.pdf_bytes())
    result = check(fake)
    assert failed(result, 1) == ["dat1", "dat1a", "dat2", "dat3"]


@pytest.mark.parametrize("shape", ["two tops", "other name", "empty", "flat"])
def test_a_zip_of_the_wrong_structure_passes_dat1_and_fails_the_rest(tmp_path: Path, shape: str) -> None:
    """A readable ZIP that does not hold one folder named like it: dat1 passes (it is a ZIP),
    dat1a fails (the name is then the ZIP's file name, with its '.zip'), dat2 fails, dat3
    fails (nothing is unpacked to look into)."""
    folder = valid_folder(tmp_path)
    sip = tmp_path / "SIP_2026_0001.zip"
    if shape == "two tops":
        zip_package(folder, sip)
        with zipfile.ZipFile(sip, "a") as z:
            z.writestr("other/readme.txt", "x")
    elif shape == "other name":
        zip_package(folder, sip, top="SIP_2026_0002")
    elif shape == "empty":
        zipfile.ZipFile(sip, "w").close()
    else:
        with zipfile.ZipFile(sip, "w") as z:
            z.write(folder / "mets.xml", "mets.xml")
    result = check(sip)
    assert failed(result, 1) == ["dat1a", "dat2", "dat3"], result.findings
    assert result.levels_run == [1]


@pytest.mark.parametrize(("name", "ok"), [
    ("dat1a-abcdefghijklmnopqrstu123456789ABCDEFGHIJKLMNO-OK3", True),
    ("A" * 64, True),
    ("A" * 65, False),
    ("SIP_2026_š", False),
    ("SIP#2026", False),
    ("SIP 2026", False),
])
def test_dat1a_judges_the_name_alone(tmp_path: Path, name: str, ok: bool) -> None:
    folder = write_package(tmp_path / "src", Package(name=name))
    result = check(folder)
    assert failed(result, 1) == ([] if ok else ["dat1a"])
    if not ok:
        assert result.levels_run == [1]


def test_dat1a_is_a_v4_rule_only(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "src", Package(version=3, name="SIP 2026"))
    assert check(folder).valid


@pytest.mark.parametrize(("extra", "fails"), [
    ({"readme.txt": b"left over"}, True),
    # zaf compares names ignoring case, so a METS.XML beside mets.xml passes (the rule's text
    # says "exactly one file mets.xml"; its code is what decides)
    ({"komponenty/../METS.XML": b""}, False),
    ({}, False),
])
def test_dat3_allows_only_mets_xml_and_komponenty(tmp_path: Path, extra: dict[str, bytes], fails: bool) -> None:
    folder = write_package(tmp_path / "src", Package(), extra={k.replace("komponenty/../", ""): v
                                                              for k, v in extra.items()})
    assert failed(check(folder), 1) == (["dat3"] if fails else [])


def test_dat3_reads_the_names_ignoring_case_but_wants_mets_xml(tmp_path: Path) -> None:
    folder = valid_folder(tmp_path)
    (folder / "mets.xml").rename(folder / "METS.XML")
    result = check(folder)
    assert failed(result, 1) == ["dat3"]
    assert any("mets.xml is missing" in f.message for f in result.findings)
    empty = tmp_path / "SIP_2026_0009"
    empty.mkdir()
    assert failed(check(empty), 1) == ["dat3"]


def test_a_link_in_the_package_is_refused_by_archa_beyond_zaf(tmp_path: Path) -> None:
    folder = valid_folder(tmp_path)
    (tmp_path / "outside.txt").write_text("secret")
    (folder / "komponenty" / "link.txt").symlink_to(tmp_path / "outside.txt")
    result = check(folder)
    assert failed(result, 1) == ["dat3"] and "link" in result.findings[0].message


def test_a_missing_path_is_the_only_exit_2(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["check", "nsesss", str(tmp_path / "nothing-here")])
    assert r.exit_code == 2 and "no such file or folder" in r.output
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    r = CliRunner().invoke(cli, ["check", "nsesss", str(pdf)])
    assert r.exit_code == 1 and "dat1" in r.output


# --- level 2: the character set -------------------------------------------------------------

def _encoded(tmp_path: Path, encoding: str, declared: str | None) -> Path:
    """A real export's mets.xml written in `encoding`, declaring `declared` (None: no encoding
    in the XML declaration)."""
    folder = valid_folder(tmp_path)
    text = (folder / "mets.xml").read_bytes().decode("utf-8")
    _head, rest = text.split("?>", 1)
    decl = f"<?xml version='1.0' encoding='{declared}'?>" if declared else "<?xml version='1.0'?>"
    (folder / "mets.xml").write_bytes((decl + rest).encode(encoding))
    assert "Stížnost" in text  # Czech letters that the 8-bit encodings write differently
    return folder


@pytest.mark.parametrize(("encoding", "declared"), [
    ("cp1250", "windows-1250"),
    ("iso-8859-2", "ISO-8859-2"),
    ("cp1250", "UTF-8"),  # declared UTF-8, written in cp1250
    ("cp1250", None),
    ("utf-8", None),  # UTF-8 that does not say so
    ("utf-8", "UTF8"),
    ("utf-8", "windows-1250"),
])
def test_other_encodings_fail_kod1_at_level_2(tmp_path: Path, encoding: str, declared: str | None) -> None:
    folder = _encoded(tmp_path, encoding, declared)
    result = check(folder)
    assert failed(result, 2) == ["kod1"] and result.levels_run == [1, 2] and result.stopped_after == 2
    r = CliRunner().invoke(cli, ["check", "nsesss", str(folder)])
    assert r.exit_code == 1 and "kod1" in r.output and "not supported" not in r.output


def test_a_cp1250_package_declared_so_by_the_maker_fails_kod1(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "src", Package(encoding="windows-1250"))
    assert (folder / "mets.xml").read_bytes().startswith(b"<?xml version='1.0' encoding='windows-1250'?>")
    assert failed(check(folder), 2) == ["kod1"]


def test_utf8_declared_in_lower_case_passes_and_a_bom_fails(tmp_path: Path) -> None:
    folder = _encoded(tmp_path, "utf-8", "utf-8")
    assert check(folder).valid
    (folder / "mets.xml").write_bytes(b"\xef\xbb\xbf" + (folder / "mets.xml").read_bytes())
    assert failed(check(folder), 2) == ["kod1"]


# --- levels 3-5 -----------------------------------------------------------------------------

def test_ns1_reads_the_written_name_of_the_root(tmp_path: Path) -> None:
    folder = valid_folder(tmp_path)
    data = (folder / "mets.xml").read_bytes()
    unprefixed = data.replace(b"<mets:mets ", b"<mets ", 1).replace(b"</mets:mets>", b"</mets>") \
        .replace(b'xmlns:mets="http://www.loc.gov/METS/"', b'xmlns="http://www.loc.gov/METS/" '
                                                           b'xmlns:mets="http://www.loc.gov/METS/"', 1)
    (folder / "mets.xml").write_bytes(unprefixed)
    result = check(folder)
    assert failed(result, 4) == ["ns1"] and result.levels_run == [1, 2, 3, 4]


def _https_nsesss(data: bytes) -> bytes:
    """The schema location as zaf's newer test packages (ns2-OK, kom3-OK4, kom3-OK7) and the
    standard's annex 2, point 1.1 write it: nsesss.xsd over https."""
    return data.replace(b"http://www.mvcr.cz/nsesss/v4/nsesss.xsd", b"https://www.mvcr.cz/nsesss/v4/nsesss.xsd")


@pytest.mark.parametrize("change", [
    lambda s: s.replace(b"mets.xsd http://www.mvcr.cz", b"mets.xsd  http://www.mvcr.cz"),  # two spaces
    lambda s: s.replace(b"http://www.loc.gov/standards/mets/mets.xsd", b"https://www.loc.gov/standards/mets/mets.xsd"),
    lambda s: s.replace(b"https://www.mvcr.cz/nsesss/v4/nsesss-TrP.xsd", b"http://www.mvcr.cz/nsesss/v4/nsesss-TrP.xsd"),
    lambda s: _https_nsesss(s).replace(b"mets.xsd http://www.mvcr.cz", b"mets.xsd  http://www.mvcr.cz"),
])
def test_ns2_wants_the_exact_schema_location(tmp_path: Path, change: object) -> None:
    folder = valid_folder(tmp_path)
    (folder / "mets.xml").write_bytes(change((folder / "mets.xml").read_bytes()))  # type: ignore[operator]
    assert failed(check(folder), 4) == ["ns2"]


def test_ns2_takes_nsesss_xsd_over_http_or_https(tmp_path: Path) -> None:
    folder = valid_folder(tmp_path)
    assert failed(check(folder), 4) == []  # http, as zaf's Pravidlo2 of 2024 compares
    (folder / "mets.xml").write_bytes(_https_nsesss((folder / "mets.xml").read_bytes()))
    assert b"https://www.mvcr.cz/nsesss/v4/nsesss.xsd" in (folder / "mets.xml").read_bytes()
    result = check(folder)
    assert failed(result, 4) == [] and result.valid


def test_the_levels_stop_at_the_first_level_with_errors(tmp_path: Path) -> None:
    folder = valid_folder(tmp_path)
    data = (folder / "mets.xml").read_bytes()
    (folder / "mets.xml").write_bytes(data[: len(data) // 2])
    result = check(folder)
    assert result.levels_run == [1, 2, 3] and failed(result, 3) == ["wf1"]
