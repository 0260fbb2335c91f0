"""`archa transfer folder --images`: a folder of museum photographs with a spreadsheet of
descriptions becomes an image record (pages in name order, labels and descriptions from the
CSV or Dublin Core, access from `rights`); bad input refuses the folder and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bagit
import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.errors import SipRejected
from archa.ingest.ingest import ingest
from archa.policies.model import load_policy
from archa.repository.repo import Repository
from archa.transfer.images import read_csv, transfer_images
from tests import image_maker as im
from tests.bagmaker import tree_snapshot

POLICY = load_policy().transfer
BLUE, GREEN, RED = (20, 40, 220), (30, 200, 60), (210, 30, 30)

CSV_CZ = ("dc:Title;Creator;DATE;Identifier;Rights;Description;File;Poznámka\n"
          "Náves a škola v Lhotě;Ateliér Langhans;1921;MUZ-LHOTA-1985-17;volné dílo;"
          "Pohlednice obce, dar muzeu 1985;;interní\n"
          "Škola a kostel;;1922;;;Pohled od rybníka;scan2.tif;\n"
          "Náves v zimě;Jan Novák;;;;;scan10.jpg;\n"
          "Rodinné album;;;;;;album.tif;\n")


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.output


def museum_folder(root: Path, csv: bytes | None = CSV_CZ.encode("cp1250")) -> Path:
    """Photographs in names whose natural order differs from their byte order (scan2 before
    scan10), a two-page TIFF, a JPEG 2000 and a PNG without a row, and the spreadsheet."""
    src = root / "fotografie"
    src.mkdir(parents=True)
    (src / "scan10.jpg").write_bytes(im.jpeg((160, 120), RED))
    (src / "scan2.tif").write_bytes(im.tiff(im.picture((200, 150), GREEN)))
    (src / "album.tif").write_bytes(im.multipage_tiff([im.picture((300, 200), BLUE), im.picture((300, 200), GREEN)]))
    (src / "mapa.jp2").write_bytes(im.jp2((128, 96), BLUE))
    (src / "zadní strana.png").write_bytes(im.png_with_alpha((90, 60), RED))
    if csv is not None:
        (src / "metadata.csv").write_bytes(csv)
    return src


LABELS = ["Rodinné album [1/2]", "Rodinné album [2/2]", "mapa.jp2", "Škola a kostel", "Náves v zimě",
          "zadní strana.png"]


def test_csv_in_cp1250_with_semicolons_makes_an_image_record_end_to_end(repo: Repository, tmp_path: Path) -> None:
    src = museum_folder(tmp_path)
    before = tree_snapshot(src)
    code, out = run("transfer", "folder", str(src), "--images", "--ingest", "--json", "--repo", str(repo.root))
    assert code == 0, out
    done = json.loads(out)
    aip = done["ingest"]["aip_id"]
    assert done["transfer"]["kind"] == "images" and done["transfer"]["files"] == 6  # metadata.csv kept
    assert [f["code"] for f in done["transfer"]["findings"]] == ["IMG007"]  # the column 'Poznámka'
    assert "Poznámka" in done["transfer"]["findings"][0]["message"]
    info = dict(done["transfer"]["bag_info"])
    assert info["Title"] == "Náves a škola v Lhotě" and info["External-Identifier"] == "MUZ-LHOTA-1985-17"
    assert info["Access-Rights"] == "volné dílo" and info["Creator"] == "Ateliér Langhans" and info["Date"] == "1921"
    assert "Originator" not in info
    assert tree_snapshot(src) == before

    prefix = "representations/original/data/"
    pages = repo.catalog.pages(aip, "v1")
    assert [p["label"] for p in pages] == LABELS
    assert [p["master"].removeprefix(prefix) for p in pages] == ["album.tif", "album.tif", "mapa.jp2", "scan2.tif",
                                                                  "scan10.jpg", "zadní strana.png"]
    dc = (repo.hot.object_path(aip) / "v1/content/metadata/descriptive/dc.xml").read_text("utf-8")
    for value in ("<dc:creator>Ateliér Langhans</dc:creator>", "<dc:date>1921</dc:date>",
                  "<dc:rights>volné dílo</dc:rights>", "<dc:identifier>MUZ-LHOTA-1985-17</dc:identifier>"):
        assert value in dc, dc

    # found by a title word written without its diacritics
    code, out = run("search", "skola", "--json", "--repo", str(repo.root))
    assert code == 0, out
    assert [h["aip_id"] for h in json.loads(out)["hits"]] == [aip]
    # public: rights says "volné dílo"
    code, out = run("access", "show", aip, "--json", "--repo", str(repo.root))
    shown = json.loads(out)
    assert (shown["status"], shown["source"]) == ("public", "package"), shown

    dip = tmp_path / "iiif"
    code, out = run("dip", "export", aip, str(dip), "--format", "iiif", "--audience", "public", "--json",
                    "--repo", str(repo.root))
    assert code == 0, out
    doc = json.loads((dip / "manifest.json").read_text("utf-8"))
    assert doc["label"] == {"none": ["Náves a škola v Lhotě"]}
    assert doc["summary"] == {"none": ["Pohlednice obce, dar muzeu 1985"]}
    assert [c["label"]["none"][0] for c in doc["items"]] == LABELS
    school = {m["label"]["en"][0]: m["value"]["none"] for m in doc["items"][3]["metadata"]}
    assert school == {"Date": ["1922"], "Description": ["Pohled od rybníka"]}
    from PIL import Image

    second = Image.open(dip / "iiif/p0002/full/max/0/default.jpg").convert("RGB")  # the TIFF's second page
    assert all(abs(a - b) < 30 for a, b in zip(second.getpixel((150, 150)), GREEN, strict=True))


def test_dublin_core_files_describe_the_item_and_an_image_and_rights_restrict(repo: Repository,
                                                                                 tmp_path: Path) -> None:
    src = museum_folder(tmp_path, csv=None)
    (src / "dc.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">'
        "<dc:title>Sbírka Novákových</dc:title><dc:creator>Neznámý fotograf</dc:creator>"
        "<dcterms:created>1930</dcterms:created><dc:rights>neveřejné: osobní údaje</dc:rights>"
        "<dc:subject>rodina</dc:subject></oai_dc:dc>", "utf-8")
    (src / "scan2.dc.xml").write_text(
        '<record xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Portrét</dc:title>'
        "<dc:description>Ateliérový snímek</dc:description></record>", "utf-8")
    bag = tmp_path / "bag"
    code, out = run("transfer", "folder", str(src), str(bag), "--images", "--meta", "Source-Organization=Muzeum")
    assert code == 0, out
    bagit.Bag(str(bag)).validate()
    structure = json.loads((bag / "image-structure.json").read_text("utf-8"))
    assert structure["title"] == "Sbírka Novákových"
    assert ["Subject", "rodina"] in structure["metadata"]
    (portrait,) = [p for p in structure["pages"] if p["master"] == "scan2.tif"]
    assert portrait["label"] == "Portrét" and portrait["description"] == {"title": "Portrét",
                                                                          "description": "Ateliérový snímek"}
    assert sorted(p.name for p in (bag / "data").iterdir()) == sorted(p.name for p in src.iterdir())
    aip = ingest(repo, bag).aip_id
    code, out = run("access", "show", aip, "--json", "--repo", str(repo.root))
    shown = json.loads(out)
    assert (shown["status"], shown["source"]) == ("restricted", "package"), shown
    assert "osobní údaje" in shown["reason"]


def test_options_win_over_the_spreadsheet(tmp_path: Path) -> None:
    src = museum_folder(tmp_path)
    result = transfer_images(src, tmp_path / "bag", [("Title", "Lhota 1921"), ("Access-Rights", "restricted")],
                             POLICY)
    info = bagit.Bag(str(tmp_path / "bag")).info
    assert info["Title"] == "Lhota 1921" and info["Access-Rights"] == "restricted"
    assert info["External-Identifier"] == "MUZ-LHOTA-1985-17" and result.kind == "images"
    assert json.loads((tmp_path / "bag" / "image-structure.json").read_text("utf-8"))["title"] == "Lhota 1921"


@pytest.mark.parametrize(("spoil", "code", "named"), [
    (lambda s: (s / "metadata.csv").write_bytes((CSV_CZ + ";;;;;;ztraceno.tif;\n").encode("cp1250")),
     "IMG002", "ztraceno.tif"),
    (lambda s: (s / "scan10.jpg").write_bytes(im.jpeg((160, 120), RED)[:400]), "IMG004", "scan10.jpg"),
    (lambda s: (s / "mapa.jp2").write_bytes(b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 64), "IMG004", "mapa.jp2"),
    (lambda s: (s / "metadata.csv").write_bytes(b'title,file\n"Nadpis"x,scan2.tif\n'), "IMG001", "line 2"),
    (lambda s: (s / "metadata.csv").write_bytes(b"title,file\n\x81\x98 bad,scan2.tif\n"), "IMG001", "UTF-8"),
    (lambda s: (s / "metadata.csv").write_bytes(b"nazev,soubor\nx,scan2.tif\n"), "IMG001", "Dublin Core"),
    (lambda s: (s / "dc.xml").write_bytes(b"<dc><title>unclosed</dc>"), "IMG006", "dc.xml"),
])
def test_bad_input_is_refused_and_nothing_is_written(tmp_path: Path, spoil: Any, code: str, named: str) -> None:
    src = museum_folder(tmp_path)
    spoil(src)
    before = tree_snapshot(src)
    status, out = run("transfer", "folder", str(src), str(tmp_path / "bag"), "--images")
    assert status == 2, out
    assert code in out and named in out, out
    assert tree_snapshot(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fotografie"]


def test_a_folder_without_images_is_refused_and_recorded(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "texty"
    src.mkdir()
    (src / "metadata.csv").write_text("title\nDopisy\n", "utf-8")
    (src / "dopis.txt").write_text("Vážený pane,\n", "utf-8")
    status, out = run("transfer", "folder", str(src), "--images", "--ingest", "--repo", str(repo.root))
    assert status == 2 and "IMG005" in out and "without --images" in out, out
    assert [t["status"] for t in repo.catalog.transfers()] == ["rejected"]
    assert not repo.catalog.aips() and not list((repo.root / "staging").iterdir())
    with pytest.raises(SipRejected) as e:
        transfer_images(src, tmp_path / "bag", [], POLICY)
    assert [f.code for f in e.value.findings] == ["IMG005"] and not (tmp_path / "bag").exists()


def test_reading_spreadsheets() -> None:
    utf8 = "\ufeffDC:Title,dc:rights,FILE\nCelek,public,\nPrvní,,a.tif\n".encode()
    rows = read_csv(utf8)
    assert rows.item == {"title": ["Celek"], "rights": ["public"]} and rows.findings == []
    assert rows.files == [(3, "a.tif", {"title": ["První"]})]
    excel = "sep=;\ntitle;creator\nAlbum;Novák, Jan\nDruhý řádek;x\n".encode("cp1250")
    rows = read_csv(excel)
    assert rows.item == {"title": ["Album"], "creator": ["Novák, Jan"]}
    assert [f.code for f in rows.findings] == ["IMG007"] and "line 4" in rows.findings[0].message
    twice = read_csv(b"title,file\nA,\nB,\n")
    assert [f.code for f in twice.findings] == ["IMG001"] and "whole item" in twice.findings[0].message
    assert read_csv(b"").findings[0].code == "IMG001"


def test_images_is_for_folders_only(tmp_path: Path) -> None:
    from archa.errors import UsageError
    from archa.policies.model import load_policy as policy
    from archa.transfer.kinds import run_transfer

    with pytest.raises(UsageError, match="--images is for folders"):
        run_transfer("eark", tmp_path, tmp_path / "bag", [], policy(), images=True)


def test_drop_folder_takes_a_folder_marked_images(repo: Repository, tmp_path: Path) -> None:
    from archa.transfer.watch import watch_once

    drop = tmp_path / "drop"
    drop.mkdir()
    src = museum_folder(drop)
    (drop / f"{src.name}.ready").write_text("images\n", "utf-8")
    plain = drop / "spis"
    plain.mkdir()
    (plain / "foto.jpg").write_bytes(im.jpeg((40, 30), RED))
    (drop / "spis.ready").write_text("", "utf-8")
    result = watch_once(repo, drop)
    kinds = {i.name: (i.kind, i.status) for i in result.items}
    assert kinds == {"fotografie": ("images", "ingested"), "spis": ("folder", "ingested")}, result.as_dict()
    (item,) = [i for i in result.items if i.name == "fotografie"]
    assert [p["label"] for p in repo.catalog.pages(item.aip_id, "v1")] == LABELS
    (other,) = [i for i in result.items if i.name == "spis"]
    assert repo.catalog.pages(other.aip_id, "v1") == []

    broken = museum_folder(tmp_path / "x")
    broken.rename(drop / "rozbité")
    (drop / "rozbité" / "scan2.tif").write_bytes(b"II*\x00 not a tiff")
    (drop / "rozbité.ready").write_text("images", "utf-8")
    (failed,) = watch_once(repo, drop).items
    assert (failed.kind, failed.status) == ("images", "failed") and "IMG004" in failed.error, failed
    assert (drop / "failed" / "rozbité").is_dir()
