"""An ERMS export in the shape filing systems produce, the whole way: a file of documents as
they are registered in practice (one with its registration number and components with Czech
names, one registered outside the filing system (`Neevidence`), an older one settled in 2011
with no number), through `transfer nsesss --ingest`, `aip show` and `disposal propose`;
and the same export written in windows-1250, refused with kod1 and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.repository.repo import Repository
from tests import nsesss_maker as mk
from tests.bagmaker import tree_snapshot
from tests.nsesss_maker import Comp, Doc, Package, write_package


def run(repo: Repository | None, *args: str) -> tuple[int, str]:
    extra = ["--repo", str(repo.root)] if repo is not None else []
    r = CliRunner().invoke(cli, [*args, *extra])
    return r.exit_code, r.output


def real_export(version: int, **kw: object) -> Package:
    comps = (Comp("Žádost o opravu silnice.docx", mk.docx_bytes(), mk.DOCX, 1, 1, mk.ORIGINAL),
             Comp("Žádost o opravu silnice.pdf", mk.pdf_bytes(), "application/pdf", 1, 2, mk.OUTPUT),
             Comp("Fotografie výtluku č. 1.png", mk.png_bytes(), "image/png", 2, 1, mk.ORIGINAL, "příloha"))
    docs = (Doc("dok-1", "S", 5, components=comps),
            Doc("dok-2", "S", 5, analog=True, registered="neevidence", settled="2015-04-01"),
            # v3's schema wants the number in Evidence; v4's lets records settled before August 2012 go without
            Doc("dok-3", "S", 5, analog=True, registered="unnumbered" if version == 4 else "number",
                settled="2011-11-30", made="2011-11-02"))
    base = Package(version=version, name=f"SIP_KRAJ_v{version}", sign="S", period=5, closed="2015-06-30",
                   disposal=None, documents=docs)
    return base.with_(**kw) if kw else base


@pytest.mark.parametrize("version", [4, 3])
def test_a_real_export_is_taken_in_shown_and_proposed(repo: Repository, tmp_path: Path, version: int) -> None:
    pkg = real_export(version)
    folder = write_package(tmp_path / "src", pkg)
    mets = (folder / "mets.xml").read_bytes()
    assert b"Neevidence" in mets
    before = tree_snapshot(folder)
    code, out = run(None, "check", "nsesss", str(folder), "--intake", "--as-of", "2026-12-03", "--json")
    assert code == 0 and json.loads(out)["levels_run"] == [1, 2, 3, 4, 5, 6, 7], out
    code, out = run(repo, "transfer", "nsesss", str(folder), "--ingest", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert not [f for f in result["transfer"]["findings"] if f["severity"] == "error"]
    assert "obs59a" not in out  # the document without a number and the unregistered one pass
    aip = result["ingest"]["aip_id"]
    assert tree_snapshot(folder) == before
    code, show = run(repo, "aip", "show", aip)
    assert code == 0 and "retention: sign S, 5 years from 2015, ends 2021" in show, show
    names = {f["logical_path"].rsplit("/", 1)[-1] for f in repo.catalog.files(aip, "v1")}
    assert {"Žádost o opravu silnice.pdf", "Fotografie výtluku č. 1.png"} <= names
    code, out = run(repo, "disposal", "propose", "--as-of", "2026", str(tmp_path / "navrh"), "--json")
    assert code == 0, out
    proposal = json.loads(out)
    assert aip in json.dumps(proposal) and (tmp_path / "navrh").is_dir()


def test_the_same_export_in_windows_1250_is_refused_with_kod1(repo: Repository, tmp_path: Path) -> None:
    folder = write_package(tmp_path / "src", real_export(4, encoding="windows-1250"))
    assert b"encoding='windows-1250'" in (folder / "mets.xml").read_bytes()[:60]
    before = tree_snapshot(folder)
    code, out = run(repo, "transfer", "nsesss", str(folder), "--ingest", "--json")
    assert code == 2, out
    assert [f["code"] for f in json.loads(out)["findings"] if f["severity"] == "error"] == ["kod1"]
    assert tree_snapshot(folder) == before and repo.catalog.aips() == []
