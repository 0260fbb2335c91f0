"""Image records: a bag whose submission tag file `image-structure.json` gives its images'
order, labels and descriptions becomes an AIP whose METS has a PHYSICAL structMap of those
images, whose catalog knows them as pages, and whose IIIF package shows them in that order
(a multi-page TIFF's pages by their frame) with their descriptions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from lxml import etree
from PIL import Image

from archa.access.iiif import iiif_source
from archa.cli.main import cli
from archa.errors import SipRejected
from archa.ingest.ingest import ingest
from archa.repository.repo import Repository
from tests import image_maker as im
from tests.bagmaker import retag, write_bag
from tests.test_iiif import check_presentation3

BLUE, GREEN = (20, 40, 220), (30, 200, 60)
M = "{http://www.loc.gov/METS/}"


def _structure(pages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"standard": "images", "version": 1, "kind": "images", "title": "Album rodiny Novákových",
            "summary": "Rodinné album, dar muzeu 1985.",
            "metadata": [["Creator", "Ateliér Langhans"], ["Date", "1921"], ["Rights", "public domain"]],
            "pages": pages}


def _bag(tmp_path: Path, pages: list[dict[str, Any]]) -> Path:
    files = {"album.tif": im.multipage_tiff([im.picture((300, 200), BLUE), im.picture((300, 200), GREEN)]),
             "portrait.jpg": im.jpeg((120, 160), BLUE), "metadata.csv": b"file,title\n"}
    bag = write_bag(tmp_path / "bag", files, info={"Title": "Album rodiny Novákových",
                                                  "External-Identifier": "MUZ-LHOTA-1985-17"})
    (bag / "image-structure.json").write_text(json.dumps(_structure(pages), ensure_ascii=False), "utf-8")
    retag(bag)
    return bag


PAGES = [{"order": 1, "label": "Recto", "master": "album.tif", "frame": 0, "type": "page"},
         {"order": 2, "label": "Verso", "master": "album.tif", "frame": 1, "type": "page",
          "description": {"title": "Verso", "description": "Věnování na rubu"}},
         {"order": 3, "label": "Portrét Jana Nováka", "master": "portrait.jpg", "frame": 0, "type": "page",
          "description": {"creator": "Jan Novák", "date": "1921-05-01"}}]


def test_image_record_has_pages_mets_and_iiif(repo: Repository, tmp_path: Path) -> None:
    res = ingest(repo, _bag(tmp_path, PAGES))
    aip, prefix = res.aip_id, "representations/original/data/"
    rows = repo.catalog.pages(aip, "v1")
    assert [(p["seq"], p["label"], p["master"], p["user"]) for p in rows] == [
        (1, "Recto", prefix + "album.tif", ""), (2, "Verso", prefix + "album.tif", ""),
        (3, "Portrét Jana Nováka", prefix + "portrait.jpg", "")]
    root = etree.parse(str(repo.hot.object_path(aip) / "v1/content/METS.xml")).getroot()
    (physical,) = [s for s in root.iter(f"{M}structMap") if s.get("TYPE") == "PHYSICAL"]
    top = physical[0]
    assert (top.get("TYPE"), top.get("LABEL")) == ("images", "Album rodiny Novákových")
    assert [(d.get("ORDER"), d.get("LABEL")) for d in top] == [("1", "Recto"), ("2", "Verso"),
                                                               ("3", "Portrét Jana Nováka")]
    files = {f.get("ID"): f[0].get("{http://www.w3.org/1999/xlink}href") for f in root.iter(f"{M}file")}
    assert [files[d[0].get("FILEID")] for d in top] == [prefix + "album.tif"] * 2 + [prefix + "portrait.jpg"]
    assert iiif_source(repo, aip) == "image-record"

    out = tmp_path / "iiif"
    r = CliRunner().invoke(cli, ["dip", "export", aip, str(out), "--format", "iiif", "--json", "--repo",
                                 str(repo.root)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["source"] == "image-record"
    doc = json.loads((out / "manifest.json").read_text("utf-8"))
    assert check_presentation3(doc) == []
    assert doc["label"] == {"none": ["Album rodiny Novákových"]}
    assert doc["summary"] == {"none": ["Rodinné album, dar muzeu 1985."]}
    meta = {m["label"]["en"][0]: m["value"]["none"] for m in doc["metadata"]}
    assert meta["Creator"] == ["Ateliér Langhans"] and meta["Date"] == ["1921"]
    assert "MUZ-LHOTA-1985-17" in meta["Identifier"]  # from the DC ingest wrote
    assert [c["label"]["none"][0] for c in doc["items"]] == ["Recto", "Verso", "Portrét Jana Nováka"]
    assert "metadata" not in doc["items"][0]
    assert doc["items"][1]["metadata"] == [{"label": {"en": ["Description"]}, "value": {"none": ["Věnování na rubu"]}}]
    third = {m["label"]["en"][0]: m["value"]["none"] for m in doc["items"][2]["metadata"]}
    assert third == {"Creator": ["Jan Novák"], "Date": ["1921-05-01"]}
    first = Image.open(out / "iiif/p0001/full/max/0/default.jpg").convert("RGB")
    second = Image.open(out / "iiif/p0002/full/max/0/default.jpg").convert("RGB")  # the TIFF's second page
    assert all(abs(a - b) < 30 for a, b in zip(first.getpixel((150, 150)), BLUE, strict=True))
    assert all(abs(a - b) < 30 for a, b in zip(second.getpixel((150, 150)), GREEN, strict=True))
    assert Image.open(out / "iiif/p0003/full/max/0/default.jpg").size == (120, 160)
    events = [e for e in repo.catalog.events(aip) if e["type"] == "dissemination"]
    assert len(events) == 1 and "from the image record's images" in events[0]["detail"]


def test_a_structure_naming_a_missing_image_is_rejected(repo: Repository, tmp_path: Path) -> None:
    pages = [*PAGES, {"order": 4, "label": "Lost", "master": "lost.tif", "frame": 0, "type": "page"}]
    try:
        ingest(repo, _bag(tmp_path, pages))
    except SipRejected as rej:
        assert any(f.code == "NDK030" and "lost.tif" in f.message for f in rej.findings), rej.findings
    else:
        raise AssertionError("a structure naming a missing image was accepted")
    assert repo.catalog.aips() == []


def test_an_image_record_keeps_its_pages_in_a_new_version_and_a_rebuild(repo: Repository, tmp_path: Path) -> None:
    from tests.catalogs import lose_catalog

    aip = ingest(repo, _bag(tmp_path, PAGES)).aip_id
    note = tmp_path / "note.txt"
    note.write_text("a note\n")
    r = CliRunner().invoke(cli, ["aip", "update", aip, "--add", f"{note}=note.txt", "--reason", "a note",
                                 "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    labels = [p["label"] for p in repo.catalog.pages(aip, "v2")]
    assert labels == ["Recto", "Verso", "Portrét Jana Nováka"]
    r = CliRunner().invoke(cli, ["catalog", "rebuild", "--check", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    lose_catalog(repo)
    r = CliRunner().invoke(cli, ["catalog", "rebuild", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    with Repository.open(repo.root) as again:
        assert [p["label"] for p in again.catalog.pages(aip, "v2")] == labels
        assert iiif_source(again, aip) == "image-record"


def test_each_image_described_has_its_own_dmdsec(repo: Repository, tmp_path: Path) -> None:
    """The descriptions of single images (a metadata.csv row, a DC file beside the image) go
    into the AIP's METS as dmdSecs of their own, linked from the image's div; the METS stays
    valid against the METS schema."""
    from tests.conftest import schema

    aip = ingest(repo, _bag(tmp_path, PAGES)).aip_id
    path = repo.hot.object_path(aip) / "v1/content/METS.xml"
    root = etree.parse(str(path)).getroot()
    (physical,) = [s for s in root.iter(f"{M}structMap") if s.get("TYPE") == "PHYSICAL"]
    divs = list(physical[0])
    assert [d.get("DMDID") for d in divs] == [None, "dmd-page-000002", "dmd-page-000003"]
    dmd = {d.get("ID"): d for d in root.iter(f"{M}dmdSec")}
    dc = "{http://purl.org/dc/elements/1.1/}"
    oai = "{http://www.openarchives.org/OAI/2.0/oai_dc/}"
    second = dmd["dmd-page-000002"].find(f"{M}mdWrap/{M}xmlData/{oai}dc")
    assert second is not None and second.findtext(f"{dc}description") == "Věnování na rubu"
    third = dmd["dmd-page-000003"].find(f"{M}mdWrap/{M}xmlData/{oai}dc")
    assert third is not None and third.findtext(f"{dc}creator") == "Jan Novák"
    assert schema("mets.xsd").validate(etree.parse(str(path))), schema("mets.xsd").error_log
