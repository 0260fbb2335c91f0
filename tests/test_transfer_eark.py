"""`archa transfer eark`: E-ARK SIPs built in code, to stored AIPs; bad packages rejected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.errors import SipRejected
from archa.repository.repo import Repository
from archa.repository.unpacking import Limits
from archa.transfer.eark import transfer_eark
from tests.bagmaker import tree_snapshot
from tests.eark_maker import DATA, mets, write_eark
from tests.nsesss_maker import zip_package

LIMITS = Limits(1000, 1 << 30)


def test_zip_to_stored_aip(repo: Repository, tmp_path: Path) -> None:
    folder = write_eark(tmp_path / "src")
    sip = zip_package(folder, tmp_path / "uuid-4e3c.zip")
    r = CliRunner().invoke(cli, ["transfer", "eark", str(sip), str(tmp_path / "bag"), "--ingest", "--json",
                                 "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    info = dict(out["transfer"]["bag_info"])
    assert info["Title"] == "Council minutes" and info["Source-Organization"] == "City Archive"
    assert info["Internal-Sender-Identifier"] == "uuid-4e3c"
    aip = out["ingest"]["aip_id"]
    stored = {f["logical_path"] for f in repo.catalog.files(aip, "v1") if f["role"] == "payload"}
    base = "representations/original/data/uuid-4e3c"
    assert {f"{base}/METS.xml", f"{base}/representations/rep1/METS.xml",
            f"{base}/representations/rep1/data/scans/page 1.txt"} <= stored
    assert (tmp_path / "bag/data/uuid-4e3c/representations/rep1/data/report.pdf").read_bytes() == \
        DATA["data/report.pdf"]


def _rep(folder: Path) -> Path:
    return folder / "representations" / "rep1"


BAD = {
    "checksum mismatch": (lambda f: (_rep(f) / "data/report.pdf").write_bytes(b"%PDF-1.4\n%%EOX\n"), "EAR007",
                          "representations/rep1/data/report.pdf"),
    "size mismatch": (lambda f: (_rep(f) / "data/report.pdf").write_bytes(b"%PDF"), "EAR006", "report.pdf"),
    "missing file": (lambda f: (_rep(f) / "data/report.pdf").unlink(), "EAR005", "report.pdf"),
    "unlisted file": (lambda f: (_rep(f) / "data/extra.txt").write_text("x"), "EAR008", "data/extra.txt"),
    "no root METS": (lambda f: (f / "METS.xml").unlink(), "EAR003", "uuid-4e3c"),
    "malformed METS": (lambda f: (f / "METS.xml").write_bytes(b"<mets:mets"), "EAR004", "METS.xml"),
    "DOCTYPE": (lambda f: (_rep(f) / "METS.xml").write_bytes(
        b'<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><m>&x;</m>'), "EAR004", "DOCTYPE"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_package(tmp_path: Path, case: str) -> None:
    damage, code, where = BAD[case]
    folder = write_eark(tmp_path / "src")
    damage(folder)
    before = tree_snapshot(tmp_path / "src")
    with pytest.raises(SipRejected) as e:
        transfer_eark(folder, tmp_path / "bag", [], LIMITS)
    found = [f for f in e.value.findings if f.code == code]
    assert found and any(where in f.path + f.message for f in found), e.value.findings
    assert not (tmp_path / "bag").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["src"]
    assert tree_snapshot(tmp_path / "src") == before


def test_href_leaving_the_package_is_refused(tmp_path: Path) -> None:
    folder = write_eark(tmp_path / "src", rep_mets=mets("r", {"../../../etc/passwd": b"x", **DATA}))
    with pytest.raises(SipRejected) as e:
        transfer_eark(folder, tmp_path / "bag", [], LIMITS)
    assert any(f.code == "EAR009" and "../../../etc/passwd" in f.message for f in e.value.findings)
