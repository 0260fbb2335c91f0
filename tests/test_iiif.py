"""`archa dip export --format iiif`: a digitised volume as a static IIIF package, its
manifest checked against the Presentation 3 structure, its tiles against the URLs a level-0
client asks for, and its viewer in headless Chromium."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from PIL import Image

from archa.access.tiles import scale_factors
from archa.cli.main import cli
from archa.repository.repo import Repository
from tests.bagmaker import write_bag
from tests.browser import chromium, dump_dom, screenshot
from tests.ndk_maker import FIRST_PAGE_COLOUR, PspSpec, make_psp


def _volume(repo: Repository, tmp_path: Path, spec: PspSpec) -> str:
    psp = make_psp(tmp_path / "src", spec)
    r = CliRunner().invoke(cli, ["transfer", "ndk", str(psp), str(tmp_path / "bag"), "--ingest", "--json",
                                 "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    return str(json.loads(r.output)["ingest"]["aip_id"])


def _export(repo: Repository, aip: str, out: Path, *extra: str) -> dict[str, Any]:
    r = CliRunner().invoke(cli, ["dip", "export", aip, str(out), "--format", "iiif", "--json", "--repo",
                                 str(repo.root), *extra])
    assert r.exit_code == 0, r.output
    return dict(json.loads(r.stdout))


def _lang_map(value: Any) -> bool:
    return isinstance(value, dict) and value and all(isinstance(v, list) and all(isinstance(s, str) for s in v)
                                                     for v in value.values())


def check_presentation3(doc: dict[str, Any]) -> list[str]:
    """The Presentation 3 requirements a manifest of painted images must meet."""
    problems = []
    if doc.get("@context") != "http://iiif.io/api/presentation/3/context.json":
        problems.append("@context")
    if doc.get("type") != "Manifest" or not str(doc.get("id", "")).endswith("manifest.json"):
        problems.append("type/id")
    if not _lang_map(doc.get("label")):
        problems.append("label is not a language map")
    for m in doc.get("metadata", []):
        if not (_lang_map(m.get("label")) and _lang_map(m.get("value"))):
            problems.append(f"metadata entry {m}")
    canvases = {}
    for c in doc.get("items", []):
        if c.get("type") != "Canvas" or not c.get("id") or not _lang_map(c.get("label")):
            problems.append(f"canvas {c.get('id')}")
        if not (isinstance(c.get("width"), int) and isinstance(c.get("height"), int)):
            problems.append(f"canvas {c.get('id')} without width and height")
        canvases[c.get("id")] = c
        for page in c.get("items", []):
            if page.get("type") != "AnnotationPage":
                problems.append("not an AnnotationPage")
            for a in page.get("items", []):
                body = a.get("body", {})
                if a.get("type") != "Annotation" or a.get("motivation") != "painting" or a.get("target") != c["id"]:
                    problems.append(f"annotation {a.get('id')}")
                if body.get("type") != "Image" or body.get("format") != "image/jpeg":
                    problems.append(f"body {body.get('id')}")
                if [s.get("type") for s in body.get("service", [])] != ["ImageService3"]:
                    problems.append(f"service of {body.get('id')}")

    def ranges(items: list[dict[str, Any]]) -> None:
        for r in items:
            if r.get("type") == "Range":
                if not _lang_map(r.get("label")):
                    problems.append(f"range {r.get('id')} label")
                ranges(r.get("items", []))
            elif r.get("type") != "Canvas" or r.get("id") not in canvases:
                problems.append(f"range item {r}")

    ranges(doc.get("structures", []))
    return problems


def osd_urls(width: int, height: int, tile: int, factors: list[int]) -> set[str]:
    """The tile URLs OpenSeadragon 6 asks a level-0 Image API 3 service for (its
    IIIFTileSource.getTileUrl, level by level), written here independently of archa."""
    urls = set()
    max_level = round(math.log2(max(factors)))
    for level in range(max_level + 1):
        scale = 0.5 ** (max_level - level)
        lw, lh = math.ceil(width * scale), math.ceil(height * scale)
        if lw < tile and lh < tile:
            size = "max" if (lw, lh) == (width, height) else f"{lw},{lh}"
            urls.add(f"full/{size}/0/default.jpg")
            continue
        ts = round(tile / scale)
        for y in range(math.ceil(lh / tile)):
            for x in range(math.ceil(lw / tile)):
                tx, ty = x * ts, y * ts
                tw, th = min(ts, width - tx), min(ts, height - ty)
                region = "full" if (x, y, tw, th) == (0, 0, width, height) else f"{tx},{ty},{tw},{th}"
                sw, sh = min(tile, lw - x * tile), min(tile, lh - y * tile)
                size = "max" if (sw, sh) == (width, height) else f"{sw},{sh}"
                urls.add(f"{region}/{size}/0/default.jpg")
    return urls


def test_manifest_and_services(repo: Repository, tmp_path: Path) -> None:
    aip = _volume(repo, tmp_path, PspSpec(kind="periodical", version="2.1", pages=4, size=(1100, 1500)))
    out = tmp_path / "iiif"
    r = _export(repo, aip, out, "--base-url", "https://knihovna.example/iiif/kronika")
    assert r["pages"] == 4 and r["base_url"] == "https://knihovna.example/iiif/kronika/"
    doc = json.loads((out / "manifest.json").read_text("utf-8"))
    assert check_presentation3(doc) == []
    # labels: the ORDERLABEL, then the NDK page type in words (a normal page by its label alone)
    assert [c["label"]["none"] for c in doc["items"]] == [["[1] front cover"], ["[2] title page"], ["[3]"],
                                                          ["[4] back cover"]]
    assert doc["start"] == {"id": "https://knihovna.example/iiif/kronika/canvas/p0002", "type": "Canvas"}
    assert doc["label"] == {"none": ["Pamětní kniha obce Lhota"]}
    meta = {m["label"]["en"][0]: m["value"]["none"] for m in doc["metadata"]}
    assert meta["Creator"] == ["Novák, Jan"] and meta["Date"] == ["1921"]
    assert [r["label"]["none"] for r in doc["structures"]] == [["Pamětní kniha obce Lhota"]]  # periodical title
    for canvas in doc["items"]:
        assert (canvas["width"], canvas["height"]) == (1100, 1500)
        body = canvas["items"][0]["items"][0]["body"]
        service = body["service"][0]["id"]
        assert service.startswith("https://knihovna.example/iiif/kronika/iiif/p")
        folder = out / service.removeprefix("https://knihovna.example/iiif/kronika/")
        info = json.loads((folder / "info.json").read_text())
        assert info["id"] == service and info["profile"] == "level0" and info["type"] == "ImageService3"
        tiles = info["tiles"][0]
        assert tiles["scaleFactors"] == scale_factors(1100, 1500) == [1, 2, 4]
        for url in osd_urls(info["width"], info["height"], tiles["width"], tiles["scaleFactors"]):
            assert (folder / url).is_file(), url
        for s in info["sizes"]:
            assert Image.open(folder / f"full/{s['width']},{s['height']}/0/default.jpg").size == \
                (s["width"], s["height"])
        assert (folder / body["id"].removeprefix(service + "/")).is_file()
    tile = Image.open(out / "iiif/p0001/0,0,512,512/512,512/0/default.jpg")
    assert tile.size == (512, 512) and tile.getpixel((200, 50))[0] > 150  # page 1's red band, top left
    events = [e for e in repo.catalog.events(aip) if e["type"] == "dissemination"]
    assert len(events) == 1 and "(iiif)" in events[0]["detail"]


def test_not_a_volume(repo: Repository, tmp_path: Path) -> None:
    from archa.ingest.ingest import ingest

    res = ingest(repo, write_bag(tmp_path / "bag", {"letter.txt": b"Dear Sir\n"}))
    r = CliRunner().invoke(cli, ["dip", "export", res.aip_id, str(tmp_path / "out"), "--format", "iiif",
                                 "--repo", str(repo.root)])
    assert r.exit_code == 2 and "has no pages" in r.output and not (tmp_path / "out").exists()


# the viewer's own signal that it shows a page: its tiles counted on <body> (or a failure
# counted there), and OpenSeadragon done with every tile the view needs
SHOWN = "document.body.dataset.tilesFailed || document.body.dataset.tilesLoaded && viewer.getFullyLoaded()"


def test_viewer_shows_first_page_in_chromium(repo: Repository, tmp_path: Path) -> None:
    browser = chromium()
    aip = _volume(repo, tmp_path, PspSpec(pages=3, size=(1200, 1600)))
    out = tmp_path / "iiif"
    _export(repo, aip, out)
    page = out / "index.html"
    assert "http://" not in page.read_text("utf-8").replace("http://iiif.io/api/", "")  # nothing from the network
    dom = dump_dom(browser, page, "--window-size=1600,2200", until=SHOWN)  # big: full-resolution tiles
    assert 'data-tiles-loaded="' in dom and "data-tiles-failed" not in dom, dom[:500]
    assert "[1] front cover (1 / 3)" in dom
    shot = Image.open(screenshot(browser, page, tmp_path / "shot.png", "--window-size=1000,700", until=SHOWN))
    assert shot.size == (1000, 700)
    viewer = shot.convert("RGB").crop((260, 0, 1000, 700))  # right of the page list
    red = sum(1 for x in range(0, viewer.width, 3) for y in range(0, viewer.height, 3)
              if _near(viewer.getpixel((x, y)), FIRST_PAGE_COLOUR))
    assert red > 2000, red  # page 1's red band fills the top of the viewer
    dom = dump_dom(browser, page, fragment="#p0002", until=SHOWN)  # a link to page 2 opens page 2
    assert "[2] title page (2 / 3)" in dom and 'data-tiles-loaded="' in dom and "data-tiles-failed" not in dom


def _near(px: Any, colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(px, colour, strict=True))


def test_an_export_leaves_the_catalog_rebuildable(repo: Repository, tmp_path: Path) -> None:
    """An export takes no repository lock, yet its events reach the locations' logs at once:
    a rebuild right after it finds the same catalog."""
    aip = _volume(repo, tmp_path, PspSpec(pages=2))
    _export(repo, aip, tmp_path / "iiif")
    r = CliRunner().invoke(cli, ["dip", "export", aip, str(tmp_path / "dip"), "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["catalog", "rebuild", "--check", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
