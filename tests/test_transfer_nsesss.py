"""Czech ERMS (NSESSS) packages, v4 and v3, through `archa check nsesss` and `archa transfer
nsesss`: valid shapes accepted under their profiles (several base entities, metadata only),
broken ones rejected with their rule codes and nothing written, retention taken from the
package (the declared year, a disposal procedure already held), the as-of date, exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from archa.cli.main import cli
from archa.errors import SipRejected
from archa.repository.repo import Repository
from archa.repository.unpacking import Limits
from archa.transfer.nsesss.check import CheckOptions, check_package
from archa.transfer.nsesss.importer import transfer_nsesss
from archa.transfer.nsesss.rules import Profile
from tests import nsesss_maker as mk
from tests.bagmaker import tree_snapshot
from tests.nsesss_maker import Doc, Package, write_package, zip_package

LIMITS = Limits(1000, 1 << 30)
DC = "{http://purl.org/dc/elements/1.1/}"
AS_OF = date(2026, 11, 30)


def _run(repo: Repository | None, *args: str) -> tuple[int, str]:
    extra = ["--repo", str(repo.root)] if repo is not None else []
    r = CliRunner().invoke(cli, [*args, *extra])
    return r.exit_code, r.output


# --- the records centre takes packages in -------------------------------------------------------

@pytest.mark.parametrize("version", [4, 3])
def test_zip_to_stored_aip_with_the_declared_retention(repo: Repository, tmp_path: Path, version: int) -> None:
    """A file closed last year, retention running to 2036 (computed) but declared as 2040:
    taken in with the rules on due disposal as warnings; the AIP keeps the declared year."""
    pkg = mk.fresh_package(version, name=f"SIP_v{version}", declared_year=2040)
    folder = write_package(tmp_path / "src", pkg)
    sip = zip_package(folder, tmp_path / f"{pkg.name}.zip")
    before = tree_snapshot(tmp_path / "src"), sip.read_bytes()
    code, out = _run(repo, "transfer", "nsesss", str(sip), str(tmp_path / "bag"), "--ingest", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert (tree_snapshot(tmp_path / "src"), sip.read_bytes()) == before  # the source is only read
    warned = {f["code"] for f in result["transfer"]["findings"] if f["severity"] == "warning"}
    assert {"obs65", "obs78", "NSSW04"} <= warned  # not due yet, no disposal procedure: fine at intake
    assert not [f for f in result["transfer"]["findings"] if f["severity"] == "error"]
    for rel in ("mets.xml", "komponenty/odpoved.pdf", "komponenty/foto.png"):  # the package byte for byte
        assert (tmp_path / "bag/data" / pkg.name / rel).read_bytes() == (folder / rel).read_bytes()
    aip = result["ingest"]["aip_id"]
    (ret,) = repo.catalog.retention(aip)
    assert (ret["entity"], ret["sign"], ret["period"], ret["trigger_year"], ret["until_year"],
            ret["until_declared"]) == ("Spis spis-1", "A", 10, 2025, 2040, 1)
    code, show = _run(repo, "aip", "show", aip)
    assert "retention: sign A, 10 years from 2025, ends 2040 (the year the package declares)" in show
    code, due = _run(repo, "retention", "due", "--as-of", "2040", "--json")
    assert [r["aip_id"] for r in json.loads(due)["A"]] == [aip]
    code, due = _run(repo, "retention", "due", "--as-of", "2039", "--json")
    assert json.loads(due)["A"] == []  # 2036 (trigger + 1 + period) is not what counts
    bag_info = (tmp_path / "bag/bag-info.txt").read_text()
    assert "NSESSS-Profile: prejimka" in bag_info and "Retention-Until-Declared: yes" in bag_info
    dc = etree.parse(str(repo.hot.object_path(aip) / "v1/content/metadata/descriptive/dc.xml")).getroot()
    values = {(e.tag.replace(DC, ""), e.text) for e in dc}
    assert {("title", pkg.title), ("identifier", f"{pkg.ident} ({mk.ZDROJ})"), ("subject", "03.1"),
            ("date", "2025-06-30"), ("creator", pkg.originator)} <= values


def test_a_disposal_procedure_in_the_package_is_kept_and_not_due_again(repo: Repository, tmp_path: Path) -> None:
    pkg = Package()  # selected as archival on 2022-03-15 ('trvalé uložení'), retention ended 2021
    code, out = _run(repo, "transfer", "nsesss", str(write_package(tmp_path / "src", pkg)), str(tmp_path / "bag"),
                     "--ingest", "--json")
    assert code == 0, out
    aip = json.loads(out)["ingest"]["aip_id"]
    (ret,) = repo.catalog.retention(aip)
    assert (ret["until_year"], ret["disposal_date"], ret["disposal_operation"], ret["disposal_by"]) == \
        (2021, "2022-03-15", "trvalé uložení", "Jana Nováková")
    code, show = _run(repo, "aip", "show", aip)
    assert "disposal procedure held 2022-03-15: trvalé uložení, judged by Jana Nováková; not due again" in show
    code, due = _run(repo, "retention", "due", "--as-of", "2030", "--json")
    listed = json.loads(due)
    assert listed["A"] == [] and [r["aip_id"] for r in listed["disposed"]] == [aip]
    code, text = _run(repo, "retention", "due", "--as-of", "2030")
    assert "already through a disposal procedure (not due again): 1" in text


def test_a_file_takes_the_highest_sign_and_the_longest_period(tmp_path: Path) -> None:
    """Without a declared year, the end is trigger + 1 + the longest period in the file."""
    pkg = mk.fresh_package(sign="A", period=5, declared_year=None, documents=(
        Doc("dok-1", "A", 5, components=mk.default_components()), Doc("dok-2", "V", 20, analog=True)))
    result, lifted = transfer_nsesss(write_package(tmp_path / "src", pkg), tmp_path / "bag", [], LIMITS)
    r = lifted.retention
    assert r is not None and (r.sign, r.period, r.trigger_year, r.until, r.declared) == ("A", 20, 2025, 2046, False)
    assert ("Retention-Until", "2046") in result.info


def test_several_base_entities_bound_by_fixed_cross_references(repo: Repository, tmp_path: Path) -> None:
    pkg = mk.linked_package()
    code, out = _run(repo, "transfer", "nsesss", str(write_package(tmp_path / "src", pkg)), str(tmp_path / "bag"),
                     "--ingest", "--json")
    assert code == 0, out
    aip = json.loads(out)["ingest"]["aip_id"]
    assert [r["entity"] for r in repo.catalog.retention(aip)] == ["Spis spis-1", "Spis spis-2"]
    info = (tmp_path / "bag/bag-info.txt").read_text()
    assert f"External-Identifier: {pkg.ident} ({mk.ZDROJ})" in info
    assert f"External-Identifier: {pkg.ident}-B ({mk.ZDROJ})" in info
    assert f"Title: {pkg.title} (+1 more)" in info


def test_metadata_only_package_under_its_profile(tmp_path: Path) -> None:
    pkg = mk.metadata_package()
    folder = write_package(tmp_path / "src", pkg)
    assert not (folder / "komponenty").exists()
    result, lifted = transfer_nsesss(folder, tmp_path / "bag", [], LIMITS,
                                     options=CheckOptions(Profile.METADATA, intake=True))
    assert result.files == 1 and lifted.entity_type == "Spis"
    assert ("NSESSS-Profile", "skartace-metadata") in result.info
    with pytest.raises(SipRejected) as e:  # the same package as a transfer: its components are missing
        transfer_nsesss(folder, tmp_path / "bag2", [], LIMITS)
    assert "obs52" in {f.code for f in e.value.findings if f.is_error}
    assert not (tmp_path / "bag2").exists()


# --- rejections ------------------------------------------------------------------------------------

def _resize(folder: Path) -> None:
    (folder / "komponenty/foto.png").write_bytes(b"short")


def _flip(folder: Path) -> None:
    data = bytearray((folder / "komponenty/odpoved.pdf").read_bytes())
    data[40] ^= 0x01
    (folder / "komponenty/odpoved.pdf").write_bytes(bytes(data))


def _bom(folder: Path) -> None:
    (folder / "mets.xml").write_bytes(b"\xef\xbb\xbf" + (folder / "mets.xml").read_bytes())


def _sign(root: etree._Element) -> None:
    root.find(f".//{{{mk.NS[4]}}}SkartacniZnak").text = "X"


def _filing(root: etree._Element) -> None:
    root.find(f".//{{{mk.NS[4]}}}Spis/{{{mk.NS[4]}}}EvidencniUdaje/{{{mk.NS[4]}}}Trideni/"
              f"{{{mk.NS[4]}}}PlneUrcenySpisovyZnak").text = "03.2"


def _symlinked_components(folder: Path) -> None:
    real = folder.parent / "elsewhere"
    (folder / "komponenty").rename(real)
    (folder / "komponenty").symlink_to(real, target_is_directory=True)


BROKEN = {  # case: (package, mets mutation, folder change, expected rule, where it points)
    "component resized": (Package(), None, _resize, "kom1", "komponenty/foto.png"),
    "component damaged": (Package(), None, _flip, "kom2", "komponenty/odpoved.pdf"),
    "not PDF/A": (Package(documents=(Doc("dok-1", "A", 5, components=(
        mk.Comp("odpoved.docx", mk.docx_bytes(), mk.DOCX, 1, 1, mk.ORIGINAL),
        mk.Comp("odpoved.pdf", mk.pdf_bytes(pdfa=False), "application/pdf", 1, 2, mk.OUTPUT))),
        Doc("dok-2", "S", 5, analog=True))), None, None, "kom4", "komponenty/odpoved.pdf"),
    "byte-order mark": (Package(), None, _bom, "kod1", "mets.xml"),
    "schema-invalid sign": (Package(), _sign, None, "val1", "SkartacniZnak"),
    "filing code": (Package(), _filing, None, "obs94", "nsesss:Spis[@ID='spis-1']"),
    "extra file": (Package(), None, lambda f: (f / "notes.txt").write_text("x"), "dat3", "notes.txt"),
    "symlinked komponenty": (Package(), None, _symlinked_components, "dat3", "komponenty"),
    "SHA-1 checksums": (Package(checksum_type="SHA-1"), None, None, "obs46", "mets:file"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_packages_are_rejected_with_their_rule_code(repo: Repository, tmp_path: Path, case: str) -> None:
    pkg, mutate, change, rule, where = BROKEN[case]
    folder = write_package(tmp_path / "src", pkg, mutate=mutate)
    if change:
        change(folder)
    before = tree_snapshot(tmp_path / "src")
    code, out = _run(repo, "transfer", "nsesss", str(folder), str(tmp_path / "bag"), "--ingest")
    assert code == 2, out
    line = next(line for line in out.splitlines() if f" {rule} " in line)
    assert where in line, out
    assert not (tmp_path / "bag").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "elsewhere") == ["archive", "src"]
    assert tree_snapshot(tmp_path / "src") == before
    assert repo.catalog.aips() == []
    (rejected,) = repo.catalog.transfers()  # with --ingest, the rejection is recorded like ingest's
    assert rejected["status"] == "rejected" and rule in rejected["findings"]


def test_zip_with_two_top_folders_and_zip_named_unlike_its_folder(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "src", Package())
    sip = tmp_path / "SIP_2026_0001.zip"
    zip_package(folder, sip)
    with zipfile.ZipFile(sip, "a") as z:
        z.writestr("other/readme.txt", "x")
    with pytest.raises(SipRejected) as e:
        transfer_nsesss(sip, tmp_path / "bag", [], LIMITS)
    # as zaf judges it: still a ZIP (dat1), but its name is then the file's name with '.zip'
    # (dat1a), not one folder named like it (dat2), nothing unpacked to look into (dat3)
    assert [f.code for f in e.value.findings] == ["dat1a", "dat2", "dat3"]
    assert "other" in next(f.message for f in e.value.findings if f.code == "dat2")
    renamed = zip_package(folder, tmp_path / "renamed.zip")
    with pytest.raises(SipRejected) as e:
        transfer_nsesss(renamed, tmp_path / "bag", [], LIMITS)
    assert "'renamed'" in next(f.message for f in e.value.findings if f.code == "dat2")


@pytest.mark.parametrize("member", ["SIP_2026_0001/../../evil.txt", "/SIP_2026_0001/abs.txt"])
def test_zip_with_unsafe_member_names(tmp_path: Path, member: str) -> None:
    folder = write_package(tmp_path / "src", Package())
    sip = zip_package(folder, tmp_path / "SIP_2026_0001.zip")
    with zipfile.ZipFile(sip, "a") as z:
        z.writestr(zipfile.ZipInfo(member), b"x")
    with pytest.raises(SipRejected) as e:
        transfer_nsesss(sip, tmp_path / "bag", [], LIMITS)
    found = {f.code for f in e.value.findings}
    assert found & {"dat2", "SIP002"}, e.value.findings
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "bag").exists()


def test_v4_package_name_rule(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "src", Package(name="SIP 2026 (1)"))
    with pytest.raises(SipRejected) as e:
        transfer_nsesss(folder, tmp_path / "bag", [], LIMITS)
    assert [f.code for f in e.value.findings if f.is_error] == ["dat1a"]


@pytest.mark.parametrize("version", [3, 4])
def test_backslash_hrefs_are_read_as_zaf_reads_them(tmp_path: Path, version: int) -> None:
    """zaf's v3 obs52 reads a backslash as '/', its v4 obs52 refuses it."""
    def backslash(root: etree._Element) -> None:
        for loc in root.iter(f"{{{mk.METS_NS}}}FLocat"):
            loc.set(f"{{{mk.XLINK_NS}}}href", loc.get(f"{{{mk.XLINK_NS}}}href").replace("/", "\\"))

    folder = write_package(tmp_path / "src", Package(version=version), mutate=backslash)
    if version == 3:
        result, _pkg = transfer_nsesss(folder, tmp_path / "bag", [], LIMITS)
        assert not [f for f in result.findings if f.code == "obs52"]
        return
    with pytest.raises(SipRejected) as e:
        transfer_nsesss(folder, tmp_path / "bag", [], LIMITS)
    assert {f.code for f in e.value.findings if f.is_error} == {"obs52"}


def test_a_package_in_the_retired_v2_namespace_fails_ns2_not_exit_2(tmp_path: Path) -> None:
    """NSESSS v2 (2012) exports are judged by the current rules, as the national validator
    judges them: character set and well-formedness pass, the namespaces level fails (ns2),
    and a transfer is refused with that rule code, not as an unusable package."""
    folder = write_package(tmp_path / "src", Package(),
                           mets=mk.mets_xml(Package()).replace(mk.NS[4].encode(), mk.NS[2].encode()))
    result = check_package(folder, CheckOptions(as_of=AS_OF))
    assert (result.version, result.levels_run, result.stopped_after) == (4, [1, 2, 3, 4], 4)
    assert [f.rule for f in result.findings] == ["ns2"]
    with pytest.raises(SipRejected) as e:
        transfer_nsesss(folder, tmp_path / "bag", [], LIMITS)
    assert [f.code for f in e.value.findings if f.is_error] == ["ns2"]
    assert not (tmp_path / "bag").exists()
    code, out = _run(None, "check", "nsesss", str(folder))
    assert code == 1 and "ns2" in out


def test_component_checksums_use_the_declared_algorithm_in_the_one_copy_pass(tmp_path: Path) -> None:
    """SHA-512 in mets.xml, sha256 in the bag: both computed while copying."""
    pkg = Package(checksum_type="SHA-512")
    transfer_nsesss(write_package(tmp_path / "src", pkg), tmp_path / "bag", [], LIMITS)
    manifest = (tmp_path / "bag/manifest-sha256.txt").read_text()
    png = next(c for c in pkg.components if c.name == "foto.png")
    assert f"{hashlib.sha256(png.data).hexdigest()}  data/{pkg.name}/komponenty/foto.png" in manifest


def test_the_drop_folder_profile_comes_from_the_policy(tmp_path: Path) -> None:
    from archa.policies.model import load_policy
    from archa.transfer.kinds import run_transfer

    folder = write_package(tmp_path / "src", mk.metadata_package())
    with pytest.raises(SipRejected):
        run_transfer("nsesss", folder, tmp_path / "bag", [], load_policy())
    policy = load_policy({"transfer": {"nsesss_profile": "skartace-metadata"}})
    assert run_transfer("nsesss", folder, tmp_path / "bag", [], policy).files == 1


# --- archa check nsesss ---------------------------------------------------------------------------

def test_check_writes_nothing_and_reports_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)
    sip = zip_package(write_package(tmp_path / "src", Package()), tmp_path / "SIP_2026_0001.zip")
    before = tree_snapshot(tmp_path / "src"), sip.read_bytes()
    code, out = _run(None, "check", "nsesss", str(sip), "--as-of", "2026-11-30", "--json")
    assert code == 0, out
    got = json.loads(out)
    assert got == {"package": "SIP_2026_0001", "valid": True, "version": "v4", "profile": "prejimka",
                   "as_of": "2026-11-30", "intake": False, "levels_run": [1, 2, 3, 4, 5, 6, 7],
                   "stopped_after": None, "findings": []}
    assert (tree_snapshot(tmp_path / "src"), sip.read_bytes()) == before
    assert os.listdir(scratch) == [] and sorted(os.listdir(tmp_path)) == ["SIP_2026_0001.zip", "src", "tmp"]


def test_check_stops_after_the_first_level_with_errors(tmp_path: Path) -> None:
    def two_problems(root: etree._Element) -> None:
        _sign(root)  # level 5
        _filing(root)  # level 6: never reached

    folder = write_package(tmp_path / "src", Package(), mutate=two_problems)
    code, out = _run(None, "check", "nsesss", str(folder), "--json")
    assert code == 1
    got = json.loads(out)
    assert got["valid"] is False and got["stopped_after"] == 5 and got["levels_run"] == [1, 2, 3, 4, 5]
    assert {f["rule"] for f in got["findings"]} == {"val1"}
    (finding,) = got["findings"]
    assert set(finding) == {"rule", "level", "severity", "where", "message"} and finding["level"] == 5
    code, text = _run(None, "check", "nsesss", str(folder))
    assert "INVALID" in text and "stopped after level 5 (schema)" in text and "val1" in text


def test_the_as_of_date_decides_the_date_rules(tmp_path: Path) -> None:
    """A document due for disposal in 2032 (settled 2026, 5 years): valid only from 2032.
    zaf's v4 obs65 judges every base entity, a document too, so it fails beside obs64."""
    folder = write_package(tmp_path / "src", mk.document_package().with_(closed="2026-02-01", disposal=None))
    args = ["check", "nsesss", str(folder), "--profile", "skartace-uplny", "--json", "--as-of"]
    code, out = _run(None, *args, "2031-12-31")
    assert code == 1 and {f["rule"] for f in json.loads(out)["findings"]} == {"obs64", "obs65"}
    code, out = _run(None, *args, "2032")
    assert code == 0, out
    code, out = _run(None, *args, "2026-06-01")  # settled in the current year, too
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"obs63a", "obs64", "obs65"}
    code, out = _run(None, *args, "2026-06-01", "--intake")
    assert code == 1 and {(f["rule"], f["severity"]) for f in json.loads(out)["findings"]} == \
        {("obs63a", "error"), ("obs64", "warning"), ("obs65", "warning")}


def test_profiles_change_what_is_checked(tmp_path: Path) -> None:
    review = write_package(tmp_path / "a", Package(label=mk.LABEL_REVIEW, disposal=None))
    code, out = _run(None, "check", "nsesss", str(review), "--profile", "skartace-uplny", "--as-of", "2026")
    assert code == 0, out
    code, out = _run(None, "check", "nsesss", str(review), "--profile", "prejimka", "--as-of", "2026", "--json")
    # a transfer is labelled as one and records the disposal procedure (with the analogue quantity)
    # zaf's obs79/obs80 also fail a package with no disposal procedure recorded
    assert {f["rule"] for f in json.loads(out)["findings"] if f["severity"] == "error"} == \
        {"obs3", "obs77", "obs78", "obs79", "obs80"}
    meta = write_package(tmp_path / "b", mk.metadata_package(3))
    code, out = _run(None, "check", "nsesss", str(meta), "--profile", "skartace-metadata", "--json")
    got = json.loads(out)
    assert code == 0 and got["version"] == "v3" and got["levels_run"] == [1, 2, 3, 4, 5, 6]


def test_check_of_several_packages_and_unusable_input(tmp_path: Path) -> None:
    good = write_package(tmp_path / "a", Package())
    bad = write_package(tmp_path / "b", Package(name="SIP_bad"), mutate=_filing)
    code, out = _run(None, "check", "nsesss", str(good), str(bad), "--jobs", "2", "--as-of", "2026", "--json")
    assert code == 1
    assert [(r["package"], r["valid"]) for r in json.loads(out)] == [("SIP_2026_0001", True), ("SIP_bad", False)]
    code, out = _run(None, "check", "nsesss", str(good), str(bad), "--as-of", "2026")
    assert "2 packages: 1 valid, 1 invalid, 0 unusable" in out
    code, out = _run(None, "check", "nsesss", str(tmp_path / "missing"))
    assert code == 2 and "UNUSABLE" in out and "no such file or folder" in out
    plain = tmp_path / "notes.txt"
    plain.write_text("x")
    code, out = _run(None, "check", "nsesss", str(plain), "--json")
    assert code == 1 and json.loads(out)["findings"][0]["rule"] == "dat1"


def test_catalog_rebuild_restores_the_retention(repo: Repository, tmp_path: Path) -> None:
    from archa.repository.catalog import Catalog
    from archa.repository.rebuild import compare_catalogs, rebuild_catalog

    folder = write_package(tmp_path / "src", Package())
    code, out = _run(repo, "transfer", "nsesss", str(folder), str(tmp_path / "bag"), "--ingest", "--json")
    assert code == 0, out
    rebuild_catalog(repo, tmp_path / "rebuilt.sqlite")
    rebuilt = Catalog.open(tmp_path / "rebuilt.sqlite")
    try:
        (row,) = rebuilt.db.execute("SELECT sign, period, trigger_year, until_year, until_declared, disposal_date, "
                                    "disposal_operation FROM retention").fetchall()
        assert tuple(row) == ("A", 5, 2015, 2021, 1, "2022-03-15", "trvalé uložení")
        assert [d for d in compare_catalogs(repo.catalog, rebuilt) if d.startswith("retention")] == []
    finally:
        rebuilt.close()


def test_the_check_is_the_national_validator_shape_for_both_generations(tmp_path: Path) -> None:
    """Every shape the tests build passes its profile on both generations (v3 has no containers)."""
    shapes = {"file": Package, "document": mk.document_package, "part": mk.part_package,
              "linked": mk.linked_package}
    for version in (4, 3):
        for name, make in shapes.items():
            pkg = make(version) if name != "file" else Package(version=version)
            folder = write_package(tmp_path / f"{name}{version}", pkg)
            r = check_package(folder, CheckOptions(Profile.TRANSFER, AS_OF))
            assert r.valid and r.levels_run == [1, 2, 3, 4, 5, 6, 7], (version, name, r.findings)


def test_czech_file_names_spelled_as_exporters_spell_them(repo: Repository, tmp_path: Path) -> None:
    """Diacritics and spaces in component names, written as they are in mets.xml and on
    disk, go through (the bag keeps the names). zaf matches an href with the file as
    written: a percent-encoded href, or a name decomposed (NFD) on disk as macOS writes it,
    names no file, and obs52 refuses the package naming the component."""
    import unicodedata
    from urllib.parse import quote

    comps = (mk.Comp("Žádost o opravu silnice.docx", mk.docx_bytes(), mk.DOCX, 1, 1, mk.ORIGINAL),
             mk.Comp("Žádost o opravu silnice.pdf", mk.pdf_bytes(), "application/pdf", 1, 2, mk.OUTPUT),
             mk.Comp("Fotografie výtluku č. 1.png", mk.png_bytes(), "image/png", 2, 1, mk.ORIGINAL, "příloha"))
    pkg = Package(documents=(Doc("dok-1", "A", 5, components=comps), Doc("dok-2", "S", 5, analog=True)))
    folder = write_package(tmp_path / "src", pkg)
    code, out = _run(repo, "transfer", "nsesss", str(folder), "--ingest", "--json")
    assert code == 0, out
    aip = json.loads(out)["ingest"]["aip_id"]
    names = {f["logical_path"].rsplit("/", 1)[-1] for f in repo.catalog.files(aip, "v1")}
    assert {c.name for c in comps} <= names

    def encode_first(root: etree._Element) -> None:
        loc = next(root.iter(f"{{{mk.METS_NS}}}FLocat"))
        loc.set(f"{{{mk.XLINK_NS}}}href", quote(loc.get(f"{{{mk.XLINK_NS}}}href")))

    encoded = write_package(tmp_path / "enc", pkg, mutate=encode_first)
    code, out = _run(None, "check", "nsesss", str(encoded), "--json")
    assert code == 1 and {f["rule"] for f in json.loads(out)["findings"] if f["severity"] == "error"} == {"obs52"}
    nfd_folder = write_package(tmp_path / "nfd", pkg)
    photo = nfd_folder / "komponenty" / comps[2].name
    photo.rename(photo.with_name(unicodedata.normalize("NFD", photo.name)))
    code, out = _run(None, "check", "nsesss", str(nfd_folder), "--json")
    assert code == 1 and any(f["rule"] == "obs52" and "Fotografie" in f["message"]
                             for f in json.loads(out)["findings"]), out


def test_an_access_restriction_becomes_a_premis_rights_statement(repo: Repository, tmp_path: Path) -> None:
    """Pristupnost in the package: bag-info Access-Restriction, a PREMIS rights statement on
    the AIP (schema-valid), kept by the next version."""
    from archa.lifecycle.versions import UpdateOptions, update_aip
    from archa.metadata.premis import read_premis

    pkg = mk.fresh_package(access="obsahuje osobní údaje: nahlížení jen podle zákona č. 499/2004 Sb.")
    folder = write_package(tmp_path / "src", pkg)
    code, out = _run(repo, "transfer", "nsesss", str(folder), str(tmp_path / "bag"), "--ingest", "--json")
    assert code == 0, out
    aip = json.loads(out)["ingest"]["aip_id"]
    assert "Access-Restriction: Spis spis-1: obsahuje osobní údaje" in (tmp_path / "bag/bag-info.txt").read_text()
    premis = (repo.hot.object_path(aip) / "v1/content/metadata/preservation/premis.xml").read_bytes()
    assert read_premis(premis, aip, "v1").rights == [f"Spis spis-1: {pkg.access}"]
    (tmp_path / "n.txt").write_text("poznámka")
    update_aip(repo, UpdateOptions(aip, "a note", add=((tmp_path / "n.txt", "note.txt"),)))
    v2 = repo.catalog.file(aip, "v2", "metadata/preservation/premis.xml")
    assert v2 is not None
    data = (repo.hot.object_path(aip) / v2["content_path"]).read_bytes()
    assert read_premis(data, aip, "v2").rights == [f"Spis spis-1: {pkg.access}"]


def test_twin_components_both_come_back_in_the_package_sent_on(repo: Repository, tmp_path: Path) -> None:
    """Two documents holding the same file (a common attachment): the AIP keeps the bytes
    once; the package rebuilt for the state archive (`fetch_package`, what the disposal
    procedure sends) holds both components again, byte for byte (an independent review found
    fetching kept one path of shared content only)."""
    from archa.lifecycle.sips import fetch_package, stored_package

    same = mk.pdf_bytes("Společná příloha")
    docs = (Doc("dok-1", "A", 5, components=(mk.Comp("priloha.pdf", same, "application/pdf"),)),
            Doc("dok-2", "A", 5, components=(mk.Comp("priloha-kopie.pdf", same, "application/pdf"),)))
    pkg = mk.fresh_package(4, name="SIP_TWINS", documents=docs)
    folder = write_package(tmp_path / "src", pkg)
    code, out = _run(repo, "transfer", "nsesss", str(folder), "--ingest", "--json")
    assert code == 0, out
    aip = json.loads(out)["ingest"]["aip_id"]
    rows = [r for r in repo.catalog.files(aip, "v1") if r["logical_path"].endswith(".pdf")]
    assert len(rows) == 2 and len({r["content_path"] for r in rows}) == 1  # kept once
    stored = stored_package(repo, aip, "v1")
    assert stored is not None
    fetch_package(repo, aip, "v1", stored, tmp_path / "sent", components=True)
    assert (tmp_path / "sent/komponenty/priloha.pdf").read_bytes() == same
    assert (tmp_path / "sent/komponenty/priloha-kopie.pdf").read_bytes() == same
    assert (tmp_path / "sent/mets.xml").read_bytes() == (folder / "mets.xml").read_bytes()
