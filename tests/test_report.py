"""What archivists look at: `archa report` (rendered in headless Chromium, charts drawn),
`archa status` (exit 1 when a person is needed), `archa catalog export` (Parquet and CSV
read back), and CLI habits (`archa --repo R command`, `--quiet`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.ingest.ingest import ingest
from archa.repository.repo import Repository
from tests.bagmaker import write_bag
from tests.browser import chromium, dump_dom, screenshot


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.output


@pytest.fixture
def holdings(repo: Repository, bags: Path) -> Repository:
    """Two originators (one with a quota), three tiers, retention due over several years,
    an audit, a damaged copy found and repaired."""
    from archa.preservation.fixity import AuditOptions, audit
    from archa.preservation.repair import repair
    from archa.repository.config import Location
    from archa.repository.storage import add_location

    add_location(repo, Location("warm", "ocfl", str(repo.root.parent / "warm"), "warm"))
    assert _run("originator", "add", "brtnice", "--name", "Obec Brtnice", "--quota", "1MB",
                "--repo", str(repo.root))[0] == 0
    for i, (org, year, sign) in enumerate([("Obec Brtnice", 2027, "A"), ("Obec Brtnice", 2029, "S"),
                                           ("Město Třešť", 2027, "S"), ("Město Třešť", 2031, "V")]):
        info = {"Source-Organization": org, "Retention-Entity": f"spis {i}", "Retention-Sign": sign,
                "Retention-Period": "5", "Retention-Trigger-Year": str(year - 6)}
        ingest(repo, write_bag(bags / f"b{i}", {f"scan-{i}.txt": b"x" * (1000 * (i + 1)), "odd.qqq": bytes([i])},
                               info=info))
    with repo.writing():
        aip = repo.catalog.aips()[0]["id"]
        page = next((repo.hot.object_path(aip) / "v1/content/representations/original/data").iterdir())
        page.chmod(0o644)
        page.write_bytes(b"rot")
        audit(repo, AuditOptions(due=False))
        repair(repo, aip, "hot")
    return repo


def test_status_says_when_a_person_is_needed(holdings: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    from archa.repository import placement

    root = str(holdings.root)
    code, out = _run("status", "--repo", root)  # every location on the test's one disk: one failure domain
    assert code == 1 and "hot, cold, warm share one failure domain" in out.split("NEEDS A PERSON:")[1], out
    monkeypatch.setattr(placement, "failure_domain", lambda _repo, loc: f"device of {loc.name}")  # disks of their own
    code, out = _run("status", "--repo", root)
    assert code == 0 and "all well" in out, out
    assert "AIPs: 4" in out and "warm" in out
    code, out = _run("status", "--repo", root, "--json")
    data = json.loads(out)
    assert data["copies"] == {"ok": 12, "damaged": 0, "missing": 0} and data["retention_due"] == {}
    assert [f["type"] for f in data["last_failures"]] == ["fixity check"]
    aip = holdings.catalog.aips()[1]["id"]
    (holdings.root.parent / "warm").rename(holdings.root.parent / "warm-gone")  # a location lost
    from archa.preservation.fixity import AuditOptions, audit

    audit(holdings, AuditOptions(due=False, location="warm", aip=aip))
    (holdings.root.parent / "warm-gone").rename(holdings.root.parent / "warm")
    code, out = _run("status", "--repo", root)
    assert code == 1 and "NEEDS A PERSON" in out and "1 missing copies: archa storage sync" in out, out
    (holdings.root.parent / "warm").rename(holdings.root.parent / "warm-gone")  # not mounted on this node
    code, out = _run("status", "--repo", root)
    assert code == 1 and ("location warm cannot be reached from here" in out  # a node names itself
                          or "location warm cannot be reached from node test" in out), out
    (holdings.root.parent / "warm-gone").rename(holdings.root.parent / "warm")


def test_the_report_renders_in_a_browser_with_every_chart_drawn(holdings: Repository, tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "report.html"
    assert _run("originator", "quota", "brtnice", "2kb", "--repo", str(holdings.root))[0] == 0
    code, text = _run("report", str(out), "--capacity", "16TB", "--repo", str(holdings.root))
    assert code == 0, text
    page = out.read_text("utf-8")
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    for title in ("against the reserved capacity", "per originator", "cumulative by the month", "per format",
                  "by their last fixity audit", "failures and repairs", "retention ends", "against their quotas"):
        assert title in page, title
    browser = chromium()
    dom = dump_dom(browser, out)
    assert dom.count("<svg") == 8 and dom.count("<rect") > 30  # the quota chart: brtnice has one
    assert "brtnice" in dom and "mesto-trest" in dom and ">2031<" in dom
    assert "over quota: brtnice" in dom and "quota 2.0 KiB" in dom  # the quota mark drawn
    shot = screenshot(browser, out, tmp_path / "report.png", "--window-size=1000,3000")
    img = Image.open(shot).convert("RGB")
    colours = {img.getpixel((x, y)) for x in range(0, img.width, 4) for y in range(0, img.height, 4)}
    assert (0x2B, 0x6C, 0xB0) in colours and (0xDD, 0x6B, 0x20) in colours  # bars drawn in two series colours
    code, text = _run("report", str(out), "--repo", str(holdings.root))
    assert code == 2 and "exists already" in text
    code, text = _run("report", str(tmp_path / "one.html"), "--originator", "brtnice", "--repo", str(holdings.root))
    assert code == 0 and "mesto-trest" not in (tmp_path / "one.html").read_text("utf-8")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_catalog_export_reads_back_one_row_per_stored_file(holdings: Repository, tmp_path: Path, fmt: str) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out = tmp_path / "export"
    code, text = _run("catalog", "export", "--format", fmt, str(out), "--repo", str(holdings.root), "--json")
    assert code == 0, text
    tables = {t["table"]: t for t in json.loads(text)}
    read = pq.read_table if fmt == "parquet" else pacsv.read_csv
    files = read(out / f"files.{fmt}")
    n = holdings.catalog.conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    assert files.num_rows == n == tables["files"]["rows"]
    assert set(files.column("digest").to_pylist()) == {r[0] for r in holdings.catalog.conn.execute(
        "SELECT digest FROM files")}
    aips = read(out / f"aips.{fmt}")
    assert sorted(aips.column("originator_id").to_pylist()) == ["brtnice", "brtnice", "mesto-trest", "mesto-trest"]
    if fmt == "parquet":
        assert str(files.schema.field("size").type) == "int64"
    assert read(out / f"events.{fmt}").num_rows == holdings.catalog.conn.execute(
        "SELECT COUNT(*) FROM events").fetchone()[0]
    code, text = _run("catalog", "export", str(out), "--repo", str(holdings.root))
    assert code == 2 and "exists already" in text


def test_repo_before_the_command_and_quiet(holdings: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    from archa.repository import placement

    monkeypatch.setattr(placement, "failure_domain", lambda _repo, loc: f"device of {loc.name}")  # all well
    monkeypatch.chdir(tmp_path)  # no ./archive here
    monkeypatch.delenv("ARCHA_REPO", raising=False)
    root = str(holdings.root)
    code, out = _run("--repo", root, "aip", "list", "--json")
    assert code == 0 and len(json.loads(out)) == 4
    code, out = _run("--repo", "/nowhere", "aip", "list", "--repo", root)  # after the command wins
    assert code == 0, out
    code, out = _run("--repo", root, "-q", "status")
    assert code == 0 and out == ""
    code, out = _run("-q", "--repo", root, "status", "--json")
    assert json.loads(out)["aips"] == 4
    code, out = _run("-q", "--repo", str(tmp_path / "none"), "status")
    assert code == 2 and "no repository here" in out  # errors still say what is wrong
