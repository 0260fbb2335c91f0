"""`archa publish`: the static public site, looked at in headless Chromium (its home page,
a record's page with its first image, a search typed into the search page), checked byte
by byte for a restricted record, and published again after a change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from archa.cli.main import cli
from archa.repository.repo import Repository
from tests.bagmaker import write_bag
from tests.browser import Cdp, chromium, dump_dom, screenshot
from tests.ndk_maker import FIRST_PAGE_COLOUR, PspSpec, make_psp

SECRET_TITLE = "Zdravotní karta Zuzany Kvapilové"
# the pages' own signals that they are done (tests/browser.py: wait on them, never on virtual time)
TILES = "document.body.dataset.tilesLoaded || document.body.dataset.tilesFailed"  # a record's viewer
SEARCHED = "document.body.dataset.state === 'done'"  # search.html?q=WORDS


def _run(repo: Repository, *args: str) -> Any:
    r = CliRunner().invoke(cli, [*args, "--json", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def _bag(repo: Repository, root: Path, ext_id: str, title: str, access: str) -> str:
    bag = write_bag(root, {"letter.txt": title.encode()}, info={
        "Source-Organization": "Obec Lhota", "External-Identifier": ext_id, "Title": title, "Access-Rights": access})
    return str(_run(repo, "ingest", str(bag))[0]["aip_id"])


@pytest.fixture
def site(repo: Repository, tmp_path: Path) -> dict[str, Any]:
    """A repository with an NDK volume (public by the policy's default), a public bag and a
    restricted one, published to tmp_path/site."""
    psp = make_psp(tmp_path / "src", PspSpec(pages=3, size=(1200, 1600)))
    volume = _run(repo, "transfer", "ndk", str(psp), str(tmp_path / "ndkbag"), "--ingest")["ingest"]["aip_id"]
    public = _bag(repo, tmp_path / "b-public", "LH-2011-7", "Stavební povolení Ještěd", "public")
    secret = _bag(repo, tmp_path / "b-secret", "LH-2011-8", SECRET_TITLE, "restricted: personal data")
    out = tmp_path / "site"
    result = _run(repo, "publish", str(out))
    return {"out": out, "volume": volume, "public": public, "secret": secret, "result": result}


def _near(px: Any, colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(px, colour, strict=True))


def test_home_page_and_a_record_with_its_first_image(site: dict[str, Any], tmp_path: Path) -> None:
    browser = chromium()
    out: Path = site["out"]
    r = site["result"]
    assert r["records"] == 2 and r["pages"] == 3 and [x["aip_id"] for x in r["left_out"]] == [site["secret"]]
    home = dump_dom(browser, out / "index.html")
    assert 'id="collections"' in home and "Obec Lhota" in home and "2 records in 2 collections" in home
    collection = dump_dom(browser, out / "collections" / "obec-lhota.html")
    assert "Stavební povolení Ještěd" in collection and "Kvapil" not in collection
    page = out / "records" / site["volume"].removeprefix("urn:uuid:") / "index.html"
    assert "http://" not in page.read_text("utf-8").replace("http://iiif.io/api/", "")  # nothing from the network
    dom = dump_dom(browser, page, "--window-size=1600,1400", until=TILES)
    assert "Pamětní kniha obce Lhota" in dom and 'data-tiles-loaded="' in dom and "data-tiles-failed" not in dom
    assert "[1] front cover (1 / 3)" in dom
    shot = Image.open(screenshot(browser, page, tmp_path / "shot.png", "--window-size=1200,800", until=TILES))
    viewer = shot.convert("RGB").crop((400, 60, 1200, 800))  # right of the description
    red = sum(1 for x in range(0, viewer.width, 3) for y in range(0, viewer.height, 3)
              if _near(viewer.getpixel((x, y)), FIRST_PAGE_COLOUR))
    assert red > 2000, red  # page 1's red band
    manifest = json.loads(next((page.parent).glob("v1-*/manifest.json")).read_text("utf-8"))
    assert manifest["type"] == "Manifest" and len(manifest["items"]) == 3
    coll = json.loads((out / "collection.json").read_text("utf-8"))
    assert coll["type"] == "Collection" and {c["label"]["none"][0] for c in coll["items"]} == {"Obec Lhota", "ABA001"}


def _typed_search(browser: str, page: Path, words: str) -> dict[str, Any]:
    with Cdp(browser) as cdp:
        cdp.open(page.as_uri(), until=SEARCHED)
        cdp.value("document.getElementById('q').focus()")
        cdp.call("Input.insertText", text=words)
        for kind in ("keyDown", "keyUp"):
            cdp.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13,
                     **({"text": "\r"} if kind == "keyDown" else {}))
        cdp.wait(f"{SEARCHED} && location.search.length > 3")
        return dict(cdp.value("({url: location.href, records: Array.from(document.querySelectorAll("
                              "'#record-hits a'), a => [a.textContent, a.getAttribute('href')]), pages: "
                              "Array.from(document.querySelectorAll('#page-hits a'), a => [a.textContent, "
                              "a.getAttribute('href')])})"))


def test_search_typed_into_the_page(site: dict[str, Any]) -> None:
    browser = chromium()
    out: Path = site["out"]
    vol = site["volume"].removeprefix("urn:uuid:")
    found = _typed_search(browser, out / "search.html", "pametni KNIHA")  # a title, no diacritics
    assert found["records"] == [["Pamětní kniha obce Lhota", f"records/{vol}/index.html"]], found
    assert found["url"].endswith("search.html?q=pametni%20KNIHA")
    found = _typed_search(browser, out / "search.html", "strana2")  # a word of page 2's OCR
    assert found["records"] == [] and found["pages"] == [["Pamětní kniha obce Lhota, page [2]",
                                                           f"records/{vol}/index.html#p0002"]], found
    # a link carries a search: search.html?q=WORDS opens with the results
    dom = dump_dom(browser, out / "search.html", fragment="?q=jested", until=SEARCHED)
    assert "Stavební povolení Ještěd" in dom and "1 record<" in dom
    dom = dump_dom(browser, out / "search.html", fragment="?q=kvapilove", until=SEARCHED)
    assert "0 records" in dom and "0 pages" in dom
    record = dump_dom(browser, out / "records" / vol / "index.html", fragment="#p0002",
                      until=TILES)  # the link of a page hit opens that page
    assert "[2] title page (2 / 3)" in record


def _every_byte(out: Path) -> bytes:
    return b"\n".join(p.read_bytes() + p.as_posix().encode() for p in sorted(out.rglob("*")) if p.is_file())


def _absent(out: Path, aip_id: str, title: str) -> None:
    blob = _every_byte(out)
    for needle in (aip_id.removeprefix("urn:uuid:"), title, title.split()[-1][:-2]):
        for form in (needle, needle.lower(), json.dumps(needle)[1:-1]):
            assert form.encode() not in blob, form
    from archa.repository.catalog.pgpages import fold

    assert fold(title.split()[-1]).encode() not in blob  # not in the search index either


def test_a_restricted_record_is_in_no_file_of_the_site(site: dict[str, Any]) -> None:
    _absent(site["out"], site["secret"], SECRET_TITLE)
    assert site["public"].removeprefix("urn:uuid:").encode() in _every_byte(site["out"])


def _snapshot(out: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(out)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*")
            if p.is_file() and p.name != ".archa-publish.lock"}  # the lock: an empty file, held while a run writes


def test_incremental_after_a_record_is_restricted(repo: Repository, site: dict[str, Any]) -> None:
    out: Path = site["out"]
    first = _snapshot(out)
    assert site["result"]["files_written"] == len(first)
    again = _run(repo, "publish", str(out))
    assert again["written"] == [] and again["unchanged"] == 2 and again["files_written"] == 0
    assert _snapshot(out) == first
    _run(repo, "access", "set", site["public"], "--restricted", "--reason", "x")
    r = _run(repo, "publish", str(out))
    assert r["removed"] == [site["public"]] and r["written"] == [] and r["records"] == 1
    assert {x["aip_id"] for x in r["left_out"]} == {site["secret"], site["public"]}
    _absent(out, site["public"], "Stavební povolení Ještěd")
    after = _snapshot(out)
    changed = sorted(k for k, v in after.items() if first.get(k) != v)
    assert len(changed) == r["files_written"] and 0 < len(changed) <= 12, changed  # of some 100 files
    assert all(not k.startswith("records/") for k in changed), changed
    dom = dump_dom(chromium(), out / "index.html")
    assert "1 records in 1 collections" in dom or "1 record in 1 collection" in dom


def test_an_updated_record_is_rebuilt_and_its_old_build_removed(repo: Repository, site: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    out: Path = site["out"]
    vol = site["volume"].removeprefix("urn:uuid:")
    (out / "records" / vol / "index.html").unlink()  # damaged on disk: rebuilt by the next run
    r = _run(repo, "publish", str(out))
    assert r["written"] == [site["volume"]] and r["unchanged"] == 1
    builds = [p.name for p in (out / "records" / vol).iterdir() if p.is_dir()]
    assert len(builds) == 1 and builds[0].startswith("v1-"), builds
    page = (out / "records" / vol / "index.html").read_text("utf-8")
    assert f'{builds[0]}/manifest.json' in page


def test_what_a_killed_run_leaves_is_swept(repo: Repository, site: dict[str, Any]) -> None:
    out: Path = site["out"]
    vol = site["volume"].removeprefix("urn:uuid:")
    (out / ".archa-publish-work" / "half-built").mkdir(parents=True)  # a build a killed run left
    (out / "records" / vol / "v1-deadbeef" / "iiif").mkdir(parents=True)  # renamed in, never referred to
    (out / "search" / "t0-0123456789abcdef.js").write_text("archaShard(0, {});\n")
    r = _run(repo, "publish", str(out))
    assert r["written"] == [] and r["unchanged"] == 2
    assert not (out / ".archa-publish-work").exists() and not (out / "records" / vol / "v1-deadbeef").exists()
    assert not (out / "search" / "t0-0123456789abcdef.js").exists()
    other = out.parent / "not-a-site"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    r2 = CliRunner().invoke(cli, ["publish", str(other), "--repo", str(repo.root)])
    assert r2.exit_code == 2 and "not a site archa published" in r2.output and sorted(other.iterdir()) == [
        other / "notes.txt"]


class _Reads:
    """Counts the search parts read and the builds walked by publish (in-process)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import archa.lifecycle.publish as mod

        self.parts: list[Path] = []
        self.listings: list[Path] = []
        read_part, listing = mod._read_part, mod._listing

        def counted_part(path: Path) -> dict[str, Any]:
            self.parts.append(path)
            return read_part(path)

        def counted_listing(build: Path) -> tuple[str, int, int]:
            self.listings.append(build)
            return listing(build)

        monkeypatch.setattr(mod, "_read_part", counted_part)
        monkeypatch.setattr(mod, "_listing", counted_listing)

    def clear(self) -> None:
        self.parts.clear()
        self.listings.clear()


def _search_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (out / "search").iterdir()}


def _full_index(out: Path) -> set[str]:
    """The names of the index `searchindex.build` makes of every published part, at the site's N."""
    from archa.access.site.searchindex import build

    state = json.loads((out / ".archa-publish.json").read_text("utf-8"))
    parts = [(int(e["k"]), a.removeprefix("urn:uuid:"), json.loads(
        (out / "records" / a.removeprefix("urn:uuid:") / e["build"] / "search-part.json").read_bytes()))
        for a, e in state["records"].items()]
    return build(parts, int(state["index"]["buckets"])).names


def test_a_run_costs_what_changed(repo: Repository, site: dict[str, Any], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from archa.access.site.searchindex import bucket

    out: Path = site["out"]
    reads = _Reads(monkeypatch)
    again = _run(repo, "publish", str(out))
    assert again["files_written"] == 0 and reads.parts == [] and reads.listings == []  # nothing read of a record
    before = _search_files(out)
    added = _bag(repo, tmp_path / "b-added", "LH-2011-9", "Kronika rybníka Hejtman", "public")
    reads.clear()
    r = _run(repo, "publish", str(out))
    assert r["written"] == [added] and r["unchanged"] == 2
    uid = added.removeprefix("urn:uuid:")
    assert reads.parts == [] and [p.name[:len(uid)] for p in reads.listings] == [uid]  # its own build, staged
    state = json.loads((out / ".archa-publish.json").read_text("utf-8"))
    n = int(state["index"]["buckets"])
    part = json.loads((out / "records" / uid / state["records"][added]["build"] / "search-part.json").read_bytes())
    words = set(part["meta"]) | {t for _s, _l, toks in part["pages"] for t in toks}
    after = _search_files(out)
    new = sorted(name for name in after if name not in before)
    assert sorted(x for x in new if x.startswith("t")) == sorted(
        state["index"]["shards"][str(b)][0] for b in {bucket(w, n) for w in words})
    assert [x for x in new if not x.startswith("t")] == [state["index"]["docs"]["0"]]
    assert after["site.js"] != before["site.js"] and set(after) == _full_index(out)  # as if made anew
    found = dump_dom(chromium(), out / "search.html", fragment="?q=hejtman", until=SEARCHED)
    assert "Kronika rybníka Hejtman" in found and "1 record<" in found
    # restricted: its words leave only the shards they were in, and the site holds it nowhere
    _run(repo, "access", "set", added, "--restricted", "--reason", "x")
    reads.clear()
    r = _run(repo, "publish", str(out))
    assert r["removed"] == [added] and reads.parts == [] and reads.listings == []
    gone = _search_files(out)
    changed_shards = {x.split("-")[0] for x in gone if x not in after and x.startswith("t")}
    assert changed_shards and changed_shards <= {f"t{b}" for b in {bucket(w, n) for w in words}}, changed_shards
    assert set(gone) == _full_index(out)
    _absent(out, added, "Kronika rybníka Hejtman")


def test_a_damaged_build_is_found_by_verify_and_a_lost_index_made_anew(
        repo: Repository, site: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from archa.lifecycle.publish import publish

    out: Path = site["out"]
    vol = site["volume"].removeprefix("urn:uuid:")
    tile = next(p for p in (out / "records" / vol).glob("v1-*/iiif/*/full/*/0/default.jpg"))
    tile.unlink()  # deep in a build: the stat of its page does not tell
    assert publish(repo, out).written == []
    r = publish(repo, out, verify=True)  # walks every build
    assert r.written == [site["volume"]] and r.unchanged == 1
    assert len(list((out / "records" / vol).glob("v1-*/iiif/*/full/*/0/default.jpg"))) >= 3
    # a shard of the index lost: the index is made anew from every record's part
    state = json.loads((out / ".archa-publish.json").read_text("utf-8"))
    for name, _size in state["index"]["shards"].values():
        (out / "search" / name).unlink()
    (out / "records" / vol / "index.html").unlink()  # and a page: that record rebuilt
    reads = _Reads(monkeypatch)
    r = publish(repo, out)
    assert r.written == [site["volume"]] and len(reads.parts) == 1  # the other record's part
    assert set(_search_files(out)) == _full_index(out)
    dom = dump_dom(chromium(), out / "search.html", fragment="?q=jested", until=SEARCHED)
    assert "Stavební povolení Ještěd" in dom and "1 record<" in dom


def test_the_cli_verify_flag_walks_every_build(repo: Repository, site: dict[str, Any]) -> None:
    """`archa publish --verify` rebuilds a record whose build lost a tile (a plain run trusts
    a build whose page is as the state recorded)."""
    out: Path = site["out"]
    vol = site["volume"].removeprefix("urn:uuid:")
    tile = next(p for p in (out / "records" / vol).glob("v1-*/iiif/*/full/*/0/default.jpg"))
    tile.unlink()
    assert _run(repo, "publish", str(out))["written"] == []
    assert _run(repo, "publish", str(out), "--verify")["written"] == [site["volume"]]
    assert len(list((out / "records" / vol).glob("v1-*/iiif/*/full/*/0/default.jpg"))) >= 3


def test_museum_photographs_with_a_spreadsheet_are_published_with_their_viewer(repo: Repository,
                                                                              tmp_path: Path) -> None:
    """The whole path for a museum: a folder of photographs with a cp1250 `;` metadata.csv
    saying `volné dílo` becomes a public image record, and the site shows it with its viewer
    and finds it by a word of its title without diacritics."""
    from tests.test_transfer_images import museum_folder

    src = museum_folder(tmp_path)
    r = CliRunner().invoke(cli, ["transfer", "folder", str(src), "--images", "--ingest", "--json", "--repo",
                                 str(repo.root)])
    assert r.exit_code == 0, r.output
    aip = str(json.loads(r.stdout)["ingest"]["aip_id"])
    out = tmp_path / "site"
    result = _run(repo, "publish", str(out))
    assert result["left_out"] == [] and result["records"] == 1 and result["pages"] == 6, result
    page = out / "records" / aip.removeprefix("urn:uuid:") / "index.html"
    html = page.read_text("utf-8")
    assert "Náves a škola v Lhotě" in html and "Ateliér Langhans" in html
    manifest = next(page.parent.glob("v1-*/manifest.json"))
    labels = [c["label"]["none"][0] for c in json.loads(manifest.read_text("utf-8"))["items"]]
    assert labels[:2] == ["Rodinné album [1/2]", "Rodinné album [2/2]"]
    dom = dump_dom(chromium(), out / "search.html", fragment="?q=naves%20skola", until=SEARCHED)
    assert "Náves a škola v Lhotě" in dom, dom[-2000:]
