"""Czech ERMS (NSESSS) SIPs, v4 and v3, built in code: to stored AIPs with retention, and
every bad case rejected with a message naming the element or file, nothing written."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from archa.cli.main import cli
from archa.errors import SipRejected
from archa.ingest.extract import Limits
from archa.repository.repo import Repository
from archa.transfer.nsesss import transfer_nsesss
from tests.bagmaker import tree_snapshot
from tests.nsesss_maker import LABEL_REVIEW, Package, mets_xml, write_package, zip_package

LIMITS = Limits(1000, 1 << 30)
DC = "{http://purl.org/dc/elements/1.1/}"


def _run(repo: Repository, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    return r.exit_code, r.output


@pytest.mark.parametrize("version", [4, 3])
def test_zip_to_stored_aip_with_retention(repo: Repository, tmp_path: Path, version: int) -> None:
    pkg = Package(version=version, name=f"SIP_v{version}", sign="A" if version == 4 else "S", period=5)
    folder = write_package(tmp_path / "src", pkg)
    sip = zip_package(folder, tmp_path / f"{pkg.name}.zip")
    before = tree_snapshot(tmp_path / "src"), sip.read_bytes()
    code, out = _run(repo, "transfer", "nsesss", str(sip), str(tmp_path / "bag"), "--ingest", "--json")
    assert code == 0, out
    result = json.loads(out)
    aip = result["ingest"]["aip_id"]
    assert (tree_snapshot(tmp_path / "src"), sip.read_bytes()) == before  # the source is only read
    # the payload is the package byte for byte
    for rel in ("mets.xml", "komponenty/dopis.pdf", "komponenty/priloha.txt"):
        assert (tmp_path / "bag/data" / pkg.name / rel).read_bytes() == (folder / rel).read_bytes()
    stored = {f["logical_path"]: f for f in repo.catalog.files(aip, "v1")}
    assert f"representations/original/data/{pkg.name}/komponenty/dopis.pdf" in stored
    (ret,) = repo.catalog.retention(aip)
    assert (ret["sign"], ret["period"], ret["trigger_year"], ret["until_year"]) == (pkg.sign, 5, 2025, 2031)
    assert ret["entity"] == "Dokument dok-1"
    code, show = _run(repo, "aip", "show", aip)
    assert f"retention: sign {pkg.sign}, 5 years from 2025, ends 2031" in show
    code, due = _run(repo, "retention", "due", "--as-of", "2031-01-01", "--json")
    assert [r["aip_id"] for r in json.loads(due)[pkg.sign]] == [aip]
    code, due = _run(repo, "retention", "due", "--as-of", "2030-12-31", "--json")
    assert json.loads(due)[pkg.sign] == []
    dc = etree.parse(str(repo.hot.object_path(aip) / "v1/content/metadata/descriptive/dc.xml")).getroot()
    values = {(e.tag.replace(DC, ""), e.text) for e in dc}
    assert {("title", pkg.title), ("identifier", "KU-2026-0042 (eSSL Krajský úřad)"), ("subject", "03.1"),
            ("date", "2025-06-30"), ("creator", pkg.originator)} <= values
    assert any(t == "description" and "transfer to an archive" in (v or "") for t, v in values)


def test_disposal_review_package_of_one_document(tmp_path: Path) -> None:
    pkg = Package(sign="V", period=3, label=LABEL_REVIEW)
    folder = write_package(tmp_path / "src", pkg)
    result, lifted = transfer_nsesss(folder, tmp_path / "bag", [], LIMITS)
    assert lifted.retention is not None and (lifted.retention.sign, lifted.retention.until) == ("V", 2029)
    assert ("Package-Purpose", f"disposal review ({LABEL_REVIEW})") in result.info


@pytest.mark.parametrize(("own", "documents", "expected"), [
    (("S", 5), (("S", 5), ("V", 20), ("S", 3)), ("V", 20)),  # a V document makes the file V; longest period
    (("S", 5), (("A", 10), ("V", 1)), ("A", 10)),  # A beats V and S
    (("V", 15), (("S", 5),), ("V", 15)),  # the file's own regime counts too
])
def test_a_file_takes_the_highest_sign_and_longest_period(tmp_path: Path, own: tuple[str, int],
                                                          documents: tuple[tuple[str, int], ...],
                                                          expected: tuple[str, int]) -> None:
    pkg = Package(sign=own[0], period=own[1], file_of=documents)
    _result, lifted = transfer_nsesss(write_package(tmp_path / "src", pkg), tmp_path / "bag", [], LIMITS)
    r = lifted.retention
    assert r is not None and (r.sign, r.period, r.trigger_year, r.until) == (*expected, 2025, 2025 + 1 + expected[1])
    assert (lifted.entity_type, r.entity) == ("Spis", "Spis spis-1")
    assert lifted.closed == pkg.settled  # VyrizeniUzavreni/Datum of a file


def _corrupt_component(folder: Path) -> None:
    data = (folder / "komponenty/dopis.pdf").read_bytes()
    (folder / "komponenty/dopis.pdf").write_bytes(data[:-2] + b"X\n")  # same size, other bytes


def _resize_component(folder: Path) -> None:
    (folder / "komponenty/priloha.txt").write_bytes(b"short")


def _mets_with(transform) -> callable:  # type: ignore[no-untyped-def, valid-type]
    def apply(folder: Path) -> None:
        (folder / "mets.xml").write_bytes(transform((folder / "mets.xml").read_bytes()))
    return apply


BAD = {
    "checksum mismatch": (_corrupt_component, "NSS013", "komponenty/dopis.pdf"),
    "size mismatch": (_resize_component, "NSS012", "komponenty/priloha.txt"),
    "missing component": (lambda f: (f / "komponenty/priloha.txt").unlink(), "NSS014", "komponenty/priloha.txt"),
    "unreferenced component": (lambda f: (f / "komponenty/extra.doc").write_bytes(b"x"), "NSS015",
                               "komponenty/extra.doc"),
    "malformed XML": (_mets_with(lambda d: d.replace(b"</mets:mets>", b"")), "NSS007", "mets.xml"),
    "DOCTYPE with external entity": (_mets_with(lambda d: d.replace(
        b"<mets:mets", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<mets:mets', 1)),
        "NSS008", "mets.xml"),
    "v2 namespace": (_mets_with(lambda d: d.replace(b"http://www.mvcr.cz/nsesss/v4", b"http://www.mvcr.cz/nsesss/v2")),
                     "NSS010", "mets.xml"),
    "unknown namespace": (_mets_with(lambda d: d.replace(b"http://www.mvcr.cz/nsesss/v4", b"urn:example:erms")),
                          "NSS010", "mets.xml"),
    "schema-invalid metadata": (_mets_with(lambda d: d.replace(b"<nsesss:SkartacniZnak>A<",
                                                               b"<nsesss:SkartacniZnak>X<")),
                                "NSS011", "mets.xml"),
    "byte-order mark": (_mets_with(lambda d: b"\xef\xbb\xbf" + d), "NSS006", "mets.xml"),
    "stray file": (lambda f: (f / "notes.txt").write_text("x"), "NSS003", ""),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_package_is_rejected_naming_the_problem(repo: Repository, tmp_path: Path, case: str) -> None:
    damage, code, where = BAD[case]
    pkg = Package()
    folder = write_package(tmp_path / "src", pkg)
    damage(folder)
    before = tree_snapshot(tmp_path / "src")
    rc, out = _run(repo, "transfer", "nsesss", str(folder), str(tmp_path / "bag"), "--ingest")
    assert rc == 2, out
    assert code in out and where in out, out
    assert not (tmp_path / "bag").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archive", "src"]  # no partial bag left
    assert tree_snapshot(tmp_path / "src") == before
    assert repo.catalog.aips() == []
    (rejected,) = repo.catalog.transfers()  # with --ingest, the rejection is recorded like ingest's
    assert rejected["status"] == "rejected" and code in rejected["findings"]
    if case == "schema-invalid metadata":
        assert "SkartacniZnak" in out  # the element is named


def test_zip_with_two_top_folders(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "src", Package())
    sip = tmp_path / "SIP_2026_0001.zip"
    with zipfile.ZipFile(sip, "w") as z:
        for p in folder.rglob("*"):
            if p.is_file():
                z.write(p, f"SIP_2026_0001/{p.relative_to(folder).as_posix()}")
        z.writestr("other/readme.txt", "x")
    with pytest.raises(SipRejected) as e:
        transfer_nsesss(sip, tmp_path / "bag", [], LIMITS)
    assert [f.code for f in e.value.findings] == ["NSS002"] and "other" in e.value.findings[0].message


def test_zip_named_unlike_its_folder(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "src", Package())
    sip = zip_package(folder, tmp_path / "renamed.zip")
    with pytest.raises(SipRejected) as e:
        transfer_nsesss(sip, tmp_path / "bag", [], LIMITS)
    assert e.value.findings[0].code == "NSS002" and "'renamed'" in e.value.findings[0].message


@pytest.mark.parametrize("member", ["SIP_2026_0001/../../evil.txt", "/SIP_2026_0001/abs.txt"])
def test_zip_with_unsafe_member_names(tmp_path: Path, member: str) -> None:
    folder = write_package(tmp_path / "src", Package())
    sip = zip_package(folder, tmp_path / "SIP_2026_0001.zip")
    with zipfile.ZipFile(sip, "a") as z:
        z.writestr(zipfile.ZipInfo(member), b"x")
    with pytest.raises(SipRejected) as e:
        transfer_nsesss(sip, tmp_path / "bag", [], LIMITS)
    assert any(f.code.startswith("SIP") and member in f.path + f.message for f in e.value.findings), e.value.findings
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "bag").exists()


def test_v4_package_name_rules(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "src", Package(name="SIP 2026 (1)"))
    with pytest.raises(SipRejected) as e:
        transfer_nsesss(folder, tmp_path / "bag", [], LIMITS)
    assert [f.code for f in e.value.findings if f.is_error] == ["NSS004"]


def test_v3_backslash_hrefs_and_sha1_are_accepted_with_warnings(tmp_path: Path) -> None:
    pkg = Package(version=3, checksum_type="SHA-1")
    folder = write_package(tmp_path / "src", pkg, hrefs={"dopis.pdf": "komponenty\\dopis.pdf"})
    result, _pkg = transfer_nsesss(folder, tmp_path / "bag", [], LIMITS)
    codes = sorted({f.code for f in result.findings})
    assert codes == ["NSSW01", "NSSW02"] and all(not f.is_error for f in result.findings)
    assert "NSSW01" in (tmp_path / "bag/transfer-report.txt").read_text()


def test_schema_validation_covers_the_transaction_log(tmp_path: Path) -> None:
    pkg = Package()
    bad = mets_xml(pkg).replace(b"<tp:TypObjektuId>Dokument<", b"<tp:TypObjektuId>Nic<")
    folder = write_package(tmp_path / "src", pkg, mets=bad)
    with pytest.raises(SipRejected) as e:
        transfer_nsesss(folder, tmp_path / "bag", [], LIMITS)
    assert e.value.findings[0].code == "NSS011" and "TypObjektuId" in e.value.findings[0].message


def test_component_checksums_use_the_declared_algorithm(tmp_path: Path) -> None:
    """SHA-512 in mets.xml, sha256 in the bag: both computed in the one copy pass."""
    pkg = Package(checksum_type="SHA-512")
    folder = write_package(tmp_path / "src", pkg)
    transfer_nsesss(folder, tmp_path / "bag", [], LIMITS)
    manifest = (tmp_path / "bag/manifest-sha256.txt").read_text()
    digest = hashlib.sha256(pkg.components["dopis.pdf"]).hexdigest()
    assert f"{digest}  data/{pkg.name}/komponenty/dopis.pdf" in manifest


def test_catalog_rebuild_restores_retention(repo: Repository, tmp_path: Path) -> None:
    from archa.repository.catalog import Catalog
    from archa.repository.rebuild import compare_catalogs, rebuild_catalog

    folder = write_package(tmp_path / "src", Package(sign="V", period=7))
    code, out = _run(repo, "transfer", "nsesss", str(folder), str(tmp_path / "bag"), "--ingest", "--json")
    assert code == 0, out
    rebuild_catalog(repo, tmp_path / "rebuilt.sqlite")
    rebuilt = Catalog.open(tmp_path / "rebuilt.sqlite")
    try:
        (row,) = rebuilt.db.execute("SELECT sign, period, trigger_year, until_year FROM retention").fetchall()
        assert tuple(row) == ("V", 7, 2025, 2033)
        assert [d for d in compare_catalogs(repo.catalog, rebuilt) if d.startswith("retention")] == []
    finally:
        rebuilt.close()
