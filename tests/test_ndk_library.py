"""The digitised library: NDK packages to AIPs with page structure, the page catalog and
full-text search, and both surviving a catalog rebuild."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from archa.cli.main import cli
from archa.errors import SipRejected
from archa.ingest.ingest import ingest
from archa.repository.pages import alto_text
from archa.repository.repo import Repository
from archa.transfer.ndk.importer import STRUCTURE
from tests.catalogs import lose_catalog
from tests.ndk_maker import PspSpec, alto, make_psp, page_type

METS = "{http://www.loc.gov/METS/}"


def _ingest_psp(repo: Repository, tmp_path: Path, spec: PspSpec, name: str = "bag") -> tuple[str, Path]:
    psp = make_psp(tmp_path / "src", spec)
    r = CliRunner().invoke(cli, ["transfer", "ndk", str(psp), "--ingest", "--json",  # bagged in staging
                                 "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)["ingest"]["aip_id"], psp


def _mets(repo: Repository, aip: str) -> etree._Element:
    return etree.parse(str(repo.hot.object_path(aip) / "v1/content/METS.xml")).getroot()


@pytest.mark.parametrize("kind", ["monograph", "periodical"])
def test_psp_to_aip_with_pages(repo: Repository, tmp_path: Path, kind: str) -> None:
    spec = PspSpec(kind=kind, version="2.2" if kind == "monograph" else "1.7.1", pages=5,
                   texts={4: "Povodeň zaplavila mlýn u řeky Bystřice"})
    aip, psp = _ingest_psp(repo, tmp_path, spec)
    pages = repo.catalog.pages(aip, "v1")
    assert [p["seq"] for p in pages] == [1, 2, 3, 4, 5]
    base = f"representations/original/data/{psp.name}"
    assert pages[0]["master"] == f"{base}/mastercopy/mc_{psp.name}_0001.jp2"
    assert pages[3]["alto"] == f"{base}/alto/alto_{psp.name}_0004.xml"
    assert pages[0]["section"] and pages[-1]["section"] and pages[0]["section"] != pages[-1]["section"]
    mets = _mets(repo, aip)
    groups = {g.get("USE"): [f.find(f"{METS}FLocat").get("{http://www.w3.org/1999/xlink}href")
                             for f in g.iter(f"{METS}file")] for g in mets.iter(f"{METS}fileGrp")}
    assert all("/mastercopy/" in h for h in groups["preservation"]) and len(groups["preservation"]) == 5
    assert {h.split("/")[-2] for h in groups["access"]} == {"usercopy", "alto", "txt"}
    assert any(h.endswith(f"mets_{psp.name}.xml") for h in groups["original"])
    maps = {(m.get("TYPE"), m.get("LABEL")): m for m in mets.iter(f"{METS}structMap")}
    order = maps[("PHYSICAL", "page order")]
    page_divs = order.findall(f"{METS}div/{METS}div")  # the volume's div, a div per page in it
    assert [d.get("ORDER") for d in page_divs] == ["1", "2", "3", "4", "5"]
    # each page keeps its NDK page type as its div's TYPE
    assert [d.get("TYPE") for d in page_divs] == [page_type(spec, n) for n in range(1, 6)] == \
        ["frontCover", "titlePage", "normalPage", "normalPage", "backCover"]
    assert all(len(d.findall(f"{METS}fptr")) == 5 for d in page_divs)  # mc, uc, alto, txt, amdsec
    logical = maps[("LOGICAL", "logical structure")]
    types = [d.get("TYPE") for d in logical.iter(f"{METS}div")]
    if kind == "periodical":
        assert types[:3] == ["PERIODICAL_TITLE", "PERIODICAL_VOLUME", "ISSUE"] and "ARTICLE" in types
    else:
        assert types[0] == "VOLUME" and "CHAPTER" in types
    # a word of page 4's OCR finds page 4 (diacritics folded), and only it
    r = CliRunner().invoke(cli, ["search", "povoden bystrice", "--json", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    hits = json.loads(r.output)["hits"]
    assert [(h["aip_id"], h["seq"]) for h in hits] == [(aip, 4)]
    assert "[Povodeň]" in hits[0]["snippet"]
    shown = CliRunner().invoke(cli, ["aip", "show", aip, "--repo", str(repo.root)])
    assert "pages (v1): 5, [1] to [5]" in shown.output


def test_search_misses_and_scopes(repo: Repository, tmp_path: Path) -> None:
    a, _ = _ingest_psp(repo, tmp_path, PspSpec(pages=2, texts={1: "hasičská zbrojnice", 2: "škola"}), "b1")
    shutil.rmtree(tmp_path / "src")
    b, _ = _ingest_psp(repo, tmp_path, PspSpec(pages=2, texts={1: "škola", 2: "kostel"}), "b2")
    r = CliRunner().invoke(cli, ["search", "skola", "--json", "--repo", str(repo.root)])
    assert {(h["aip_id"], h["seq"]) for h in json.loads(r.output)["hits"]} == {(a, 2), (b, 1)}
    r = CliRunner().invoke(cli, ["search", "skola", "--aip", b, "--json", "--repo", str(repo.root)])
    assert [(h["aip_id"], h["seq"]) for h in json.loads(r.output)["hits"]] == [(b, 1)]
    r = CliRunner().invoke(cli, ["search", "hasič*", "--json", "--repo", str(repo.root)])
    assert [(h["aip_id"], h["seq"]) for h in json.loads(r.output)["hits"]] == [(a, 1)]
    r = CliRunner().invoke(cli, ["search", "radnice", "--repo", str(repo.root)])
    assert r.exit_code == 1 and "nothing matches" in r.output
    r = CliRunner().invoke(cli, ["search", 'AND "(', "--repo", str(repo.root)])  # FTS5 syntax is just words
    assert r.exit_code == 1


def test_rebuild_restores_pages_and_index(repo: Repository, tmp_path: Path) -> None:
    aip, _ = _ingest_psp(repo, tmp_path, PspSpec(pages=3, texts={2: "pamětní deska padlým"}))
    r = CliRunner().invoke(cli, ["catalog", "rebuild", "--check", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    before = repo.catalog.pages(aip, "v1")
    lose_catalog(repo)
    hot = repo.hot.object_path(aip)
    hot.rename(tmp_path / "hot-copy")  # the packed cold copy is all that is left
    r = CliRunner().invoke(cli, ["catalog", "rebuild", "--repo", str(repo.root)])
    assert r.exit_code == 0 and r.exception is None, r.output
    with Repository.open(repo.root) as again:
        assert again.catalog.pages(aip, "v1") == before
    r = CliRunner().invoke(cli, ["search", "padlym", "--json", "--repo", str(repo.root)])
    assert [h["seq"] for h in json.loads(r.output)["hits"]] == [2]
    (tmp_path / "hot-copy").rename(hot)  # back, for the teardown's validation of the storage root


def test_forged_structure_rejected(repo: Repository, tmp_path: Path) -> None:
    psp = make_psp(tmp_path / "src", PspSpec(pages=2))
    r = CliRunner().invoke(cli, ["transfer", "ndk", str(psp), str(tmp_path / "bag")])
    assert r.exit_code == 0, r.output
    bag = tmp_path / "bag"
    doc = json.loads((bag / STRUCTURE).read_text())
    doc["pages"][1]["alto"] = f"{psp.name}/alto/nowhere.xml"
    (bag / STRUCTURE).write_text(json.dumps(doc))
    import hashlib
    manifest = bag / "tagmanifest-sha256.txt"
    manifest.write_text("".join(
        (f"{hashlib.sha256((bag / STRUCTURE).read_bytes()).hexdigest()}  {STRUCTURE}\n"
         if line.endswith(STRUCTURE) else line + "\n") for line in manifest.read_text().splitlines()))
    with pytest.raises(SipRejected) as exc:
        ingest(repo, bag)
    assert any(f.code == "NDK030" and "alto/nowhere.xml" in f.message for f in exc.value.findings)
    assert repo.catalog.rows("SELECT * FROM aips") == []


def test_alto_text_lines() -> None:
    data = alto(PspSpec(texts={1: "Obecní kronika 1921"}), 1, "mc.jp2")
    assert alto_text(data) == "Obecní kronika 1921"
    assert alto_text(b"<alto") == ""


def test_update_keeps_pages_and_reindexes(repo: Repository, tmp_path: Path) -> None:
    """A new version (page 2 re-OCRed, page 3 withdrawn) keeps the page order; search and a
    rebuild follow the head version."""
    aip, psp = _ingest_psp(repo, tmp_path, PspSpec(pages=3, texts={2: "stará chyba OCR"}))
    new_alto = tmp_path / "alto2.xml"
    new_alto.write_bytes(alto(PspSpec(texts={2: "opravený text kroniky"}), 2, "mc.jp2"))
    inner = psp.name  # a path inside the payload (under data/)
    removes = [f"{inner}/{folder}/{prefix}_{psp.name}_0003.{ext}"
               for folder, prefix, ext in (("mastercopy", "mc", "jp2"), ("usercopy", "uc", "jp2"),
                                           ("alto", "alto", "xml"), ("txt", "txt", "txt"))]
    r = CliRunner().invoke(cli, ["aip", "update", aip, "--add", f"{new_alto}={inner}/alto/alto_{psp.name}_0002.xml",
                                 *[a for p in removes for a in ("--remove", p)], "--reason", "page 2 re-OCRed",
                                 "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    assert [p["seq"] for p in repo.catalog.pages(aip, "v2")] == [1, 2]
    hits = lambda text: json.loads(CliRunner().invoke(
        cli, ["search", text, "--json", "--repo", str(repo.root)]).output)["hits"]
    assert [(h["version"], h["seq"]) for h in hits("opraveny")] == [("v2", 2)]
    assert hits("chyba") == []  # only in v1, no longer the head
    mets = etree.parse(str(repo.hot.object_path(aip) / "v2/content/METS.xml")).getroot()
    order = next(m for m in mets.iter(f"{METS}structMap") if m.get("LABEL") == "page order")
    assert [(d.get("ORDER"), d.get("TYPE")) for d in order.findall(f"{METS}div/{METS}div")] == \
        [("1", "frontCover"), ("2", "titlePage")]
    r = CliRunner().invoke(cli, ["catalog", "rebuild", "--check", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output


def test_too_many_matches_come_in_catalog_order(repo: Repository, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from archa.repository import pages

    texts = {n: "obec " * n + "slovo " * (10 - n) for n in range(1, 5)}  # page 4 says it most often
    _ingest_psp(repo, tmp_path, PspSpec(pages=4, texts=texts))
    found = pages.search(repo.catalog.conn, "obec")
    assert found.total == 4 and found.ranked and [h.seq for h in found.hits] == [4, 3, 2, 1]
    monkeypatch.setattr(pages, "RANK_LIMIT", 2)
    r = CliRunner().invoke(cli, ["search", "obec", "--field", "text", "--limit", "2", "--offset", "1",
                                 "--repo", str(repo.root)])
    assert r.exit_code == 0 and "4 match; 2-3, ranked in part (too many matches to rank all)" in r.output
    assert [h.seq for h in pages.search(repo.catalog.conn, "obec").hits] == [1, 2, 3, 4]


def test_a_long_prefix_is_spelled_out_as_the_words_it_begins(repo: Repository, tmp_path: Path) -> None:
    """A prefix longer than the prefix indexes (2-4 characters) is asked as an OR of the words
    the pages hold that begin with it (catalog/pages.py `expand`): the same pages are found."""
    _ingest_psp(repo, tmp_path, PspSpec(pages=3, texts={1: "povodňová vlna", 2: "po povodni", 3: "Povodeň"}))
    index = repo.catalog.pages_index
    if repo.catalog.dialect == "sqlite":  # PostgreSQL's GIN index reads a prefix itself
        expanded = index.expand("povodn*")
        assert expanded is not None and '"povodnova"' in expanded and '"povodni"' in expanded and "*" not in expanded
        assert index.expand("xylofon*") is None
    assert {h.seq for h in index.search("povodn*").hits} == {1, 2}
    assert {h.seq for h in index.search("povod*").hits} == {1, 2, 3}  # 5 letters: spelled out too
    assert {h.seq for h in index.search('"po povodn"*').hits} == {2}  # a phrase ending in a prefix
    assert index.search("xylofon*").hits == []
