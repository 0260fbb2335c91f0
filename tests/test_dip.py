"""DIP export: layouts, METS/index/bag, access copies, reading from the cheapest healthy copy."""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
import zipfile
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner
from lxml import etree
from PIL import Image

from archa.access.export import ExportOptions, export_dip
from archa.cli.main import cli
from archa.errors import NotFoundError, StorageError, UsageError
from archa.ingest.ingest import ingest
from archa.repository.config import Location
from archa.repository.copies import packed_keys
from archa.repository.ocfl import object_relpath
from archa.repository.placement import sync
from archa.repository.repo import Repository
from archa.repository.storage import add_location
from tests.bagmaker import tree_snapshot, write_bag
from tests.catalogs import write_config
from tests.conftest import schema
from tests.corpus import odf
from tests.s3server import BUCKET, S3Server
from tests.test_fixity import _edit, flip

METS = "{http://www.loc.gov/METS/}"
PREMIS = "{http://www.loc.gov/premis/v3}"
XLINK = "{http://www.w3.org/1999/xlink}"


def picture(fmt: str, size: tuple[int, int], mode: str = "RGB") -> bytes:
    img = Image.new(mode, size, "white" if mode != "1" else 1)
    for x in range(0, size[0], 7):
        img.putpixel((x, (x * 3) % size[1]), (200, 10, 10) if mode == "RGB" else 0)
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


FILES = {"letter.txt": b"Dear archivist,\n" * 40, "data/register.csv": b"id,name\n1,road\n" * 30,
         "notes/x.bin": bytes(range(256)) * 64}
BOOK = {"pages/p1.tif": picture("TIFF", (1200, 1600)), "pages/p2.png": picture("PNG", (1600, 900)),
        "pages/p3.bmp": picture("BMP", (300, 200)), "pages/p4.jp2": picture("JPEG2000", (800, 600)),
        "memo.odt": odf("application/vnd.oasis.opendocument.text"), "readme.txt": b"a book\n"}


@pytest.fixture
def aip(repo: Repository, bags: Path) -> str:
    return ingest(repo, write_bag(bags / "b", FILES, info={"Title": "Road repairs <2026>",
                                                          "External-Identifier": "R-1"})).aip_id


def _tree_digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


def _check_mets(mets_bytes: bytes, aip_id: str, files: dict[str, bytes]) -> etree._Element:
    """The DIP METS validates, points back to the AIP, and its checksums are those of `files`."""
    doc = etree.fromstring(mets_bytes)
    schema("mets+premis").assertValid(doc)
    assert doc.get("TYPE") == "DIP"
    alt = {a.get("TYPE"): a.text for a in doc.iter(f"{METS}altRecordID")}
    assert alt == {"AIP": aip_id, "AIP version": "v1"}
    listed = {}
    for f in doc.iter(f"{METS}file"):
        href = f.find(f"{METS}FLocat").get(f"{XLINK}href")
        listed[href] = (f.get("CHECKSUM"), int(f.get("SIZE")))
    assert listed == {p: (hashlib.sha256(d).hexdigest(), len(d)) for p, d in files.items()}
    return doc


def test_export_dir_of_originals(repo: Repository, aip: str, tmp_path: Path) -> None:
    out = tmp_path / "request-1"
    before = tree_snapshot(repo.root / "storage")
    result = export_dip(repo, ExportOptions(aip, out, access=False))
    got = {p.relative_to(out).as_posix(): p.read_bytes() for p in (out / "objects").rglob("*") if p.is_file()}
    assert got == {f"objects/{k}": v for k, v in FILES.items()}
    _check_mets((out / "METS.xml").read_bytes(), aip, got)
    page = (out / "index.html").read_text()
    assert "Road repairs &lt;2026&gt;" in page and 'href="objects/notes/x.bin"' in page
    assert (out / "metadata/dc.xml").read_bytes().count(b"Road repairs") == 1
    assert result.sources == {"hot": 3} and result.files == 3 and not result.damaged_copies
    def objects(snap: dict[str, tuple[str, int, int]]) -> dict[str, tuple[str, int, int]]:
        return {k: v for k, v in snap.items() if "/extensions/archa-events" not in k}

    after = tree_snapshot(repo.root / "storage")
    assert objects(after) == objects(before)  # the AIPs are read, never changed
    assert len(after) > len(before)  # only the export's events were added to each location's log
    (event,) = [e for e in repo.catalog.events(aip) if e["type"] == "dissemination"]
    assert result.dip_id in event["detail"] and str(out) in event["detail"]
    assert not [p for p in tmp_path.iterdir() if "archa-partial" in p.name]


def test_include_selects_files_and_zip_is_one_folder(repo: Repository, aip: str, tmp_path: Path) -> None:
    out = tmp_path / "req.zip"
    export_dip(repo, ExportOptions(aip, out, include=("data/*", "*.txt"), format="zip"))
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        names = set(z.namelist())
        assert names == {"req/objects/letter.txt", "req/objects/data/register.csv", "req/METS.xml",
                         "req/index.html", "req/metadata/dc.xml"}
        assert z.read("req/objects/data/register.csv") == FILES["data/register.csv"]
        _check_mets(z.read("req/METS.xml"), aip, {"objects/letter.txt": FILES["letter.txt"],
                                                   "objects/data/register.csv": FILES["data/register.csv"]})


def test_bag_format_is_a_valid_bag(repo: Repository, aip: str, tmp_path: Path) -> None:
    out = tmp_path / "bagged"
    export_dip(repo, ExportOptions(aip, out, format="bag"))
    bag = bagit.Bag(str(out))
    bag.validate()  # raises on any problem
    assert (out / "data/objects/notes/x.bin").read_bytes() == FILES["notes/x.bin"]
    assert "Payload-Oxum" in bag.info and bag.info["External-Description"].startswith(f"DIP of {aip} v1")


def test_access_copies_for_a_book(repo_with_policy, bags: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("archa.access.derivatives.soffice", lambda: None)  # a machine without LibreOffice
    repo = repo_with_policy(tmp_path / "archive", "\n[policy.access]\nimage_max_pixels = 500\n")
    aip = ingest(repo, write_bag(bags / "book", BOOK, info={"Title": "A digitised book"})).aip_id
    out = tmp_path / "book.zip"
    result = export_dip(repo, ExportOptions(aip, out, format="zip"))
    assert result.access_copies == 4 and result.originals == 2
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        for page in ("p1.tif", "p2.png", "p3.bmp", "p4.jp2"):
            assert f"book/objects/pages/{page}" not in names
            with Image.open(io.BytesIO(z.read(f"book/objects/pages/{page}.jpg"))) as im:
                assert im.format == "JPEG" and max(im.size) <= 500
                src = Image.open(io.BytesIO(BOOK[f"pages/{page}"]))
                assert max(im.size) == min(500, max(src.size))  # scaled down, never up
                assert abs(im.size[0] / im.size[1] - src.size[0] / src.size[1]) < 0.01
        # no LibreOffice here: the ODT goes out as it is, with a note
        assert z.read("book/objects/memo.odt") == BOOK["memo.odt"]
        doc = etree.fromstring(z.read("book/METS.xml"))
        page = z.read("book/index.html").decode()
    schema("mets+premis").assertValid(doc)
    assert "LibreOffice" in page and "access copy of p1.tif" in page
    assert any("memo.odt" in n and "LibreOffice" in n for n in result.notes)
    access = doc.find(f".//{METS}fileGrp[@USE='access']")
    files = access.findall(f"{METS}file")
    assert len(files) == 4
    for f in files:
        assert f.get("MIMETYPE") == "image/jpeg"
        prov = doc.find(f".//{METS}digiprovMD[@ID='{f.get('ADMID')}']")
        premis = prov.find(f".//{PREMIS}premis")
        schema("premis.xsd").assertValid(etree.ElementTree(etree.fromstring(etree.tostring(premis))))
        source = premis.find(f".//{PREMIS}relatedObjectIdentifierValue").text
        assert source == f.get("OWNERID") and source.endswith(f.find(f"{METS}FLocat")
                                                              .get(f"{XLINK}href").rsplit("/", 1)[1][:-4])
        assert premis.find(f".//{PREMIS}eventType").text == "creation"
    made = [e for e in repo.catalog.events(aip) if e["type"] == "creation"]
    assert len(made) == 4 and all("Pillow" in e["detail"] for e in made)


def test_originals_flag_keeps_images(repo: Repository, bags: Path, tmp_path: Path) -> None:
    aip = ingest(repo, write_bag(bags / "book", BOOK)).aip_id
    result = export_dip(repo, ExportOptions(aip, tmp_path / "o", access=False))
    assert result.access_copies == 0
    assert (tmp_path / "o/objects/pages/p1.tif").read_bytes() == BOOK["pages/p1.tif"]


@pytest.mark.parametrize("fmt", ["dir", "zip"])
def test_hot_copy_corrupted_export_comes_from_cold(repo: Repository, aip: str, tmp_path: Path, fmt: str) -> None:
    hot = repo.store(repo.config.location("hot"))
    key = f"{object_relpath(aip)}/v1/content/representations/original/data/notes/x.bin"
    _edit(hot, key, flip)
    out = tmp_path / ("d.zip" if fmt == "zip" else "d")
    result = export_dip(repo, ExportOptions(aip, out, format=fmt))
    if fmt == "zip":
        with zipfile.ZipFile(out) as z:
            assert z.testzip() is None
            assert z.read("d/objects/notes/x.bin") == FILES["notes/x.bin"]
            assert len([n for n in z.namelist() if n.endswith("x.bin")]) == 1  # the bad entry was cut off
    else:
        assert (out / "objects/notes/x.bin").read_bytes() == FILES["notes/x.bin"]
    assert result.sources == {"hot": 2, "cold": 1}
    (damage,) = result.damaged_copies
    assert damage["location"] == "hot" and damage["findings"][0]["code"] == "FIX002"
    states = {c["location"]: c["state"] for c in repo.catalog.copies(aip)}
    assert states == {"hot": "damaged", "cold": "ok"}
    fail = [e for e in repo.catalog.events(aip) if e["type"] == "fixity check"]
    assert fail and fail[-1]["outcome"] == "failure" and "x.bin" in fail[-1]["detail"]
    # the damage is now for repair to mend
    runner = CliRunner()
    assert runner.invoke(cli, ["repair", aip, "--location", "hot", "--repo", str(repo.root)]).exit_code == 0


def test_every_copy_corrupted_fails_naming_files(repo: Repository, aip: str, tmp_path: Path) -> None:
    hot = repo.store(repo.config.location("hot"))
    key = f"{object_relpath(aip)}/v1/content/representations/original/data/letter.txt"
    _edit(hot, key, lambda d: d[:5])
    cold = repo.store(repo.config.location("cold"))
    _edit(cold, packed_keys(aip, "v1")[0], lambda d: d[: len(d) // 2])
    runner = CliRunner()
    out = tmp_path / "never"
    r = runner.invoke(cli, ["dip", "export", aip, str(out), "--repo", str(repo.root)])
    assert r.exit_code == 1, r.output
    assert "letter.txt" in r.output and "no copy holds these files intact" in r.output
    assert not out.exists() and not [p for p in tmp_path.iterdir() if "archa-partial" in p.name]
    states = {c["location"]: c["state"] for c in repo.catalog.copies(aip)}
    assert states == {"hot": "damaged", "cold": "damaged"}
    _edit(hot, key, lambda _d: FILES["letter.txt"])  # put it back for the teardown's OCFL validation


def test_warm_s3_copy_comes_before_cold(repo: Repository, aip: str, s3_env: S3Server, tmp_path: Path) -> None:
    add_location(repo, Location("warm", "ocfl", f"s3://{BUCKET}/dip-{uuid.uuid4().hex[:8]}", "warm",
                                endpoint=s3_env.endpoint))
    with repo.writing():
        sync(repo)
    hot = repo.store(repo.config.location("hot"))
    key = f"{object_relpath(aip)}/v1/content/representations/original/data/letter.txt"
    Path(hot.path(key)).rename(tmp_path / "away")
    result = export_dip(repo, ExportOptions(aip, tmp_path / "w", format="bag"))
    assert result.sources == {"hot": 2, "warm": 1}
    assert result.damaged_copies[0]["findings"][0]["code"] == "FIX001"
    bagit.Bag(str(tmp_path / "w")).validate()
    (tmp_path / "away").rename(hot.path(key))


def test_bad_requests(repo: Repository, aip: str, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no AIP"):
        export_dip(repo, ExportOptions("urn:uuid:nope", tmp_path / "x"))
    with pytest.raises(NotFoundError, match="no version 'v7'"):
        export_dip(repo, ExportOptions(aip, tmp_path / "x", version="v7"))
    with pytest.raises(NotFoundError, match="no version 'v7'"):
        export_dip(repo, ExportOptions(aip, tmp_path / "x", version="7"))
    assert export_dip(repo, ExportOptions(aip, tmp_path / "v1", version="1")).version == "v1"
    with pytest.raises(UsageError, match="matches no file"):
        export_dip(repo, ExportOptions(aip, tmp_path / "x", include=("*.tif",)))
    with pytest.raises(UsageError, match="no such directory"):
        export_dip(repo, ExportOptions(aip, tmp_path / "missing" / "x"))
    assert not (tmp_path / "x").exists()
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep me")
    runner = CliRunner()
    r = runner.invoke(cli, ["dip", "export", aip, str(taken), "--repo", str(repo.root)])
    assert r.exit_code == 2 and "exists already" in r.output and "--force" in r.output
    assert (taken / "mine.txt").read_text() == "keep me"
    r = runner.invoke(cli, ["dip", "export", aip, str(taken), "--force", "--json", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert summary["files"] == 3 and summary["sources"] == {"hot": 3}
    assert not (taken / "mine.txt").exists() and (taken / "METS.xml").is_file()


def test_storage_error_never_leaves_partial(repo: Repository, aip: str, tmp_path: Path) -> None:
    hot = repo.store(repo.config.location("hot"))
    key = f"{object_relpath(aip)}/v1/content/representations/original/data/letter.txt"
    Path(hot.path(key)).rename(tmp_path / "away")
    cold = repo.store(repo.config.location("cold"))
    cold.delete(packed_keys(aip, "v1")[0])
    with pytest.raises(StorageError, match="letter.txt"):
        export_dip(repo, ExportOptions(aip, tmp_path / "z.zip", format="zip"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archive", "away", "bags"]
    (tmp_path / "away").rename(hot.path(key))


def test_office_document_through_soffice(repo: Repository, bags: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The LibreOffice plumbing (command line, output pick-up, METS/PREMIS), with a stand-in
    `soffice` on PATH: LibreOffice itself is not installed on the test machines."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "soffice"
    fake.write_text("#!/bin/sh\n"
                    'if [ "$1" = "--version" ]; then echo "LibreOffice 0.0 stand-in"; exit 0; fi\n'
                    'for a; do last="$a"; done\n'  # the document is the last argument
                    'while [ $# -gt 0 ]; do [ "$1" = "--outdir" ] && dir="$2"; shift; done\n'
                    'name=$(basename "$last"); printf "%%PDF-1.4\\n%%%%EOF\\n" > "$dir/${name%.*}.pdf"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    aip = ingest(repo, write_bag(bags / "o", {"memo.odt": BOOK["memo.odt"]})).aip_id
    result = export_dip(repo, ExportOptions(aip, tmp_path / "o"))
    assert result.access_copies == 1 and not result.notes
    assert (tmp_path / "o/objects/memo.odt.pdf").read_bytes().startswith(b"%PDF-1.4")
    doc = etree.parse(str(tmp_path / "o/METS.xml")).getroot()
    schema("mets+premis").assertValid(doc)
    assert "LibreOffice 0.0 stand-in" in doc.find(f".//{PREMIS}eventDetail").text


def test_location_first_reads_the_packed_copy(repo: Repository, aip: str, tmp_path: Path) -> None:
    result = export_dip(repo, ExportOptions(aip, tmp_path / "c", include=("notes/*",), location="cold"))
    assert result.sources == {"cold": 1}
    assert (tmp_path / "c/objects/notes/x.bin").read_bytes() == FILES["notes/x.bin"]
    assert not (tmp_path / "c/objects/letter.txt").exists()
    r = CliRunner().invoke(cli, ["dip", "export", aip, str(tmp_path / "d"), "--location", "attic",
                                 "--repo", str(repo.root)])
    assert r.exit_code == 2 and "no storage location named 'attic'" in r.output


def test_erms_record_zip_names_components_by_their_titles(repo: Repository, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An NSESSS record: the index lists each component under its title from mets.xml."""
    monkeypatch.setattr("archa.access.derivatives.soffice", lambda: None)  # a machine without LibreOffice
    from tests.nsesss_maker import Package, component_title, write_package, zip_package

    pkg = Package()
    sip = zip_package(write_package(tmp_path / "src", pkg), tmp_path / f"{pkg.name}.zip")
    r = CliRunner().invoke(cli, ["transfer", "nsesss", str(sip), str(tmp_path / "bag"), "--ingest", "--json",
                                 "--repo", str(repo.root)])
    aip = json.loads(r.output)["ingest"]["aip_id"]
    result = export_dip(repo, ExportOptions(aip, tmp_path / "record.zip", format="zip"))
    assert result.access_copies == 1  # the PNG; the DOCX has no converter here, the PDF is its own copy
    pdf = next(c for c in pkg.components if c.name == "odpoved.pdf")
    with zipfile.ZipFile(tmp_path / "record.zip") as z:
        page = z.read("record/index.html").decode()
        doc = etree.fromstring(z.read("record/METS.xml"))
        assert z.read(f"record/objects/{pkg.name}/komponenty/odpoved.pdf") == pdf.data
        assert f"record/objects/{pkg.name}/komponenty/foto.png.jpg" in z.namelist()
    title1, title2 = component_title(2, "odpoved.pdf"), component_title(3, "foto.png")
    assert f">{title1}</a><br><small>{pkg.name}/komponenty/odpoved.pdf</small>" in page
    assert f">{title2}</a><br><small>{pkg.name}/komponenty/foto.png.jpg</small>" in page
    labels = {d.get("LABEL") for d in doc.iter(f"{METS}div")}
    assert {title1, title2} <= labels


def test_unreachable_location_is_skipped_not_marked_damaged(repo: Repository, aip: str, s3_env: S3Server,
                                                             tmp_path: Path) -> None:
    """The warm S3 copy comes before cold, but its endpoint is down: the export reads the
    cold copy, says why warm was not used, and leaves warm's state alone."""
    add_location(repo, Location("warm", "ocfl", f"s3://{BUCKET}/dip-{uuid.uuid4().hex[:8]}", "warm",
                                endpoint=s3_env.endpoint))
    with repo.writing():
        sync(repo)
    config = (repo.root / "archa.toml").read_text()
    write_config(repo.root, config.replace(s3_env.endpoint, "http://127.0.0.1:9"))
    down = Repository.open(repo.root)
    hot = down.store(down.config.location("hot"))
    key = f"{object_relpath(aip)}/v1/content/representations/original/data/letter.txt"
    Path(hot.path(key)).rename(tmp_path / "away")
    try:
        result = export_dip(down, ExportOptions(aip, tmp_path / "d"))
        assert result.sources == {"hot": 2, "cold": 1} and "warm" in result.unavailable
        assert (tmp_path / "d/objects/letter.txt").read_bytes() == FILES["letter.txt"]
        states = {c["location"]: c["state"] for c in down.catalog.copies(aip)}
        assert states == {"hot": "damaged", "warm": "ok", "cold": "ok"}
    finally:
        (tmp_path / "away").rename(hot.path(key))
        down.close()
        write_config(repo.root, config)


TWINS = {"one.txt": b"same bytes\n", "two/one.txt": b"same bytes\n", "spis/priloha.pdf": b"%PDF-1.4 twin\n",
         "kopie/priloha.pdf": b"%PDF-1.4 twin\n", "own.txt": b"alone\n"}


@pytest.mark.parametrize("fmt,location", [("dir", None), ("zip", None), ("dir", "cold"), ("zip", "cold")])
def test_paths_that_share_content_are_all_exported(repo: Repository, bags: Path, tmp_path: Path, fmt: str,
                                                   location: str | None) -> None:
    """OCFL keeps content held twice once; every logical path still comes out, from the OCFL
    copy and from the packed one (an independent review found the DIP holding one of them,
    its METS listing one, exit status 0)."""
    aip = ingest(repo, write_bag(bags / "t", TWINS)).aip_id
    content = {r["content_path"] for r in repo.catalog.files(aip, "v1") if r["role"] == "payload"}
    assert len(content) == 3  # kept once each
    out = tmp_path / ("d.zip" if fmt == "zip" else "d")
    result = export_dip(repo, ExportOptions(aip, out, format=fmt, access=False, location=location))
    if fmt == "zip":
        with zipfile.ZipFile(out) as z:
            got = {n.removeprefix("d/objects/"): z.read(n) for n in z.namelist() if n.startswith("d/objects/")}
            mets = z.read("d/METS.xml")
    else:
        got = {p.relative_to(out / "objects").as_posix(): p.read_bytes() for p in (out / "objects").rglob("*")
               if p.is_file()}
        mets = (out / "METS.xml").read_bytes()
    assert got == TWINS
    _check_mets(mets, aip, {f"objects/{k}": v for k, v in TWINS.items()})
    assert sum(result.sources.values()) == 5 and result.damaged_copies == []


def test_shared_content_damaged_at_hot_comes_from_cold_for_every_path(repo: Repository, bags: Path,
                                                                      tmp_path: Path) -> None:
    """The content read again for its second path: from cold as the first was, the hot
    copy's damage recorded once."""
    aip = ingest(repo, write_bag(bags / "t", TWINS)).aip_id
    row = repo.catalog.file(aip, "v1", "representations/original/data/two/one.txt")
    _edit(repo.store(repo.config.location("hot")), f"{object_relpath(aip)}/{row['content_path']}", flip)
    out = tmp_path / "d"
    result = export_dip(repo, ExportOptions(aip, out, access=False))
    assert (out / "objects/one.txt").read_bytes() == (out / "objects/two/one.txt").read_bytes() == b"same bytes\n"
    assert result.sources == {"hot": 3, "cold": 2}
    (damage,) = result.damaged_copies
    assert damage["location"] == "hot" and [f["code"] for f in damage["findings"]] == ["FIX002"]
    assert CliRunner().invoke(cli, ["repair", aip, "--location", "hot", "--repo", str(repo.root)]).exit_code == 0
