"""`archa dip export --format iiif` of an AIP whose payload holds images (not an NDK volume):
its images in name order, a multi-page TIFF's pages as canvases, TIFF (16-bit, CMYK), JPEG
(EXIF orientation), JPEG 2000 and PNG (transparency) as 8-bit sRGB JPEG tiles, the title and
metadata from its DC; refused to the public while it is restricted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from PIL import Image

from archa.access.iiif import iiif_source
from archa.access.tiles import scale_factors
from archa.cli.main import cli
from archa.repository.repo import Repository
from tests import image_maker as im
from tests.test_iiif import _export, check_presentation3, osd_urls

BLUE, GREEN, GREY = (20, 40, 220), (30, 200, 60), (128, 128, 128)


def _ingest(repo: Repository, src: Path, *extra: str) -> str:
    r = CliRunner().invoke(cli, ["transfer", "folder", str(src), "--ingest", "--json", "--repo", str(repo.root),
                                 *extra])
    assert r.exit_code == 0, r.output
    return str(json.loads(r.stdout)["ingest"]["aip_id"])


def _near(px: Any, colour: tuple[int, ...], tolerance: int = 30) -> bool:
    return all(abs(a - b) < tolerance for a, b in zip(px, colour, strict=True))


def _photographs(src: Path) -> Path:
    """A folder of photographs in every format, the names out of order on purpose."""
    src.mkdir()
    (src / "img10.jpg").write_bytes(im.jpeg((300, 200), GREEN, orientation=6))  # shown 200×300
    (src / "img2.png").write_bytes(im.png_with_alpha((260, 180), BLUE))
    (src / "img3.jp2").write_bytes(im.jp2((700, 400), BLUE))
    (src / "scan-16bit.tif").write_bytes(im.rgb16_tiff((120, 90), (65535, 32896, 0)))  # orange
    (src / "scan-cmyk.tif").write_bytes(im.cmyk_tiff((150, 100), (0, 0, 0, 0)))
    (src / "scan-grey16.tif").write_bytes(im.grey16_tiff((100, 80), 32896))
    (src / "album.tif").write_bytes(im.multipage_tiff([im.picture((200, 150), BLUE), im.picture((200, 150), GREEN),
                                                       im.picture((200, 150), GREY)], thumbnail=True))
    (src / "notes.txt").write_text("not an image\n", "utf-8")
    return src


def test_payload_images_in_name_order(repo: Repository, tmp_path: Path) -> None:
    aip = _ingest(repo, _photographs(tmp_path / "photos"), "--title", "Fotografie muzea Lhota")
    assert iiif_source(repo, aip) == "images"
    out = tmp_path / "iiif"
    r = _export(repo, aip, out, "--base-url", "https://muzeum.example/iiif/lhota")
    assert r["source"] == "images" and r["pages"] == 9
    doc = json.loads((out / "manifest.json").read_text("utf-8"))
    assert check_presentation3(doc) == []
    assert doc["label"] == {"none": ["Fotografie muzea Lhota"]}  # the DC title
    assert doc["behavior"] == ["individuals"] and "start" not in doc and "structures" not in doc
    labels = [c["label"]["none"][0] for c in doc["items"]]
    # natural name order; the TIFF's thumbnail (NewSubfileType 1) is no page
    assert labels == ["album.tif [1/3]", "album.tif [2/3]", "album.tif [3/3]", "img2.png", "img3.jp2",
                      "img10.jpg", "scan-16bit.tif", "scan-cmyk.tif", "scan-grey16.tif"]
    sizes = [(c["width"], c["height"]) for c in doc["items"]]
    assert sizes == [(200, 150)] * 3 + [(260, 180), (700, 400), (200, 300), (120, 90), (150, 100), (100, 80)]
    for c in doc["items"]:
        service = c["items"][0]["items"][0]["body"]["service"][0]["id"]
        folder = out / service.removeprefix("https://muzeum.example/iiif/lhota/")
        info = json.loads((folder / "info.json").read_text("utf-8"))
        assert info["tiles"][0]["scaleFactors"] == scale_factors(info["width"], info["height"])
        for url in osd_urls(info["width"], info["height"], info["tiles"][0]["width"], info["tiles"][0]["scaleFactors"]):
            assert (folder / url).is_file(), url

    def full(n: int) -> Image.Image:  # the largest whole-image size written
        w, h = json.loads((out / f"iiif/p{n:04d}/info.json").read_text("utf-8"))["sizes"][-1].values()
        img = Image.open(out / f"iiif/p{n:04d}/full/{w},{h}/0/default.jpg")
        assert img.format == "JPEG" and img.mode in ("RGB", "L")
        return img.convert("RGB")

    assert _near(full(1).getpixel((100, 120)), BLUE) and _near(full(2).getpixel((100, 120)), GREEN)
    assert _near(full(3).getpixel((100, 120)), GREY)
    png = full(4)
    assert _near(png.getpixel((130, 60)), BLUE) and _near(png.getpixel((130, 170)), (255, 255, 255))  # on white
    jp2 = full(5)  # 700×400: tiled, its largest whole size 350×200
    assert jp2.size == (350, 200) and (out / "iiif/p0005/0,0,512,400/512,400/0/default.jpg").is_file()
    assert _near(jp2.getpixel((175, 150)), BLUE) and _near(jp2.getpixel((175, 5)), (200, 30, 30))
    turned = full(6)  # EXIF orientation 6: the band at the top is now at the right
    assert _near(turned.getpixel((190, 150)), (200, 30, 30)) and _near(turned.getpixel((20, 150)), GREEN)
    assert _near(full(7).getpixel((60, 45)), (255, 128, 0))  # 16-bit RGB down to 8 bits
    cmyk = full(8)
    assert _near(cmyk.getpixel((75, 80)), (255, 255, 255)) and _near(cmyk.getpixel((75, 5)), (255, 0, 0), 40)
    grey = full(9)
    assert _near(grey.getpixel((50, 60)), (128, 128, 128)) and _near(grey.getpixel((50, 5)), (255, 255, 255))
    html = (out / "index.html").read_text("utf-8")
    assert "img3.jp2" in html and "album.tif [2/3]" in html
    events = [e for e in repo.catalog.events(aip) if e["type"] == "dissemination"]
    assert len(events) == 1 and "from the images of its payload" in events[0]["detail"]


def test_an_aip_without_images_is_refused(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "letters"
    src.mkdir()
    (src / "letter.txt").write_text("Dear Sir\n", "utf-8")
    aip = _ingest(repo, src)
    assert iiif_source(repo, aip) == ""
    r = CliRunner().invoke(cli, ["dip", "export", aip, str(tmp_path / "out"), "--format", "iiif", "--repo",
                                 str(repo.root)])
    assert r.exit_code == 2 and "has no pages and no images" in r.output and not (tmp_path / "out").exists()


def test_an_image_that_does_not_decode_is_named(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    (src / "a.png").write_bytes(im.encoded(im.picture((64, 64), BLUE), "PNG"))
    (src / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is no JPEG at all" * 10)
    aip = _ingest(repo, src)
    r = CliRunner().invoke(cli, ["dip", "export", aip, str(tmp_path / "out"), "--format", "iiif", "--repo",
                                 str(repo.root)])
    assert r.exit_code == 2, r.output
    assert "b.jpg: the image cannot be decoded" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name or p.name.startswith(".")]


def test_public_export_needs_a_public_record(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    (src / "a.png").write_bytes(im.encoded(im.picture((64, 64), BLUE), "PNG"))
    aip = _ingest(repo, src)  # a plain bag: restricted by the default policy
    r = CliRunner().invoke(cli, ["dip", "export", aip, str(tmp_path / "out"), "--format", "iiif", "--audience",
                                 "public", "--repo", str(repo.root)])
    assert r.exit_code == 2 and not (tmp_path / "out").exists(), r.output
    assert CliRunner().invoke(cli, ["access", "set", aip, "--public", "--reason", "released", "--repo", str(repo.root)]).exit_code == 0
    done = _export(repo, aip, tmp_path / "out", "--audience", "public")
    assert done["audience"] == "public" and done["pages"] == 1
