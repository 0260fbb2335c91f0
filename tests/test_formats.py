"""Format identification at scale: both engines on a 50+ format corpus, `archa identify`,
`formats report` and `formats reidentify`."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.ingest.ingest import IngestOptions, ingest
from archa.preservation.formats import format_report, reidentify
from archa.preservation.identify import compare_engines, identify_many
from archa.repository.events import verify_chain
from archa.repository.repo import Repository
from archa.units import human_bytes
from tests.bagmaker import write_bag
from tests.corpus import CORPUS, build

EXPECTED: dict[str, tuple[str, str]] = {  # name: (siegfried, fido)
    "image.png": ("fmt/11", "fmt/11"),
    "image.jpg": ("fmt/43", "fmt/43"),
    "image.gif": ("fmt/3", "fmt/3"),
    "image.tif": ("fmt/353", "fmt/353"),
    "image-lzw.tif": ("fmt/353", "fmt/353"),
    "image.bmp": ("fmt/116", "fmt/116"),
    "image.jp2": ("x-fmt/392", "x-fmt/392"),
    "image.j2k": ("fmt/1794", "UNKNOWN"),  # JPEG 2000 codestream: not in fido's PRONOM v109
    "image.webp": ("fmt/566", "fmt/566"),
    "image.ico": ("UNKNOWN", "x-fmt/418"),
    "image.pcx": ("fmt/90", "fmt/90"),
    "image.tga": ("fmt/402", "fmt/402"),
    "image.ppm": ("fmt/408", "fmt/408"),
    "image.eps": ("fmt/124", "fmt/124"),
    "image-from-pillow.pdf": ("fmt/18", "fmt/18"),
    "letter.pdf": ("fmt/18", "fmt/18"),
    "archival-pdfa.pdf": ("fmt/354", "fmt/354"),  # PDF/A-1b
    "letter.rtf": ("fmt/45", "fmt/45"),
    "page.html": ("fmt/471", "fmt/471"),
    "record.xml": ("fmt/101", "fmt/101"),
    "drawing.svg": ("fmt/92", "fmt/92"),
    "letter.docx": ("fmt/412", "fmt/412"),
    "sheet.xlsx": ("fmt/214", "fmt/214"),
    "slides.pptx": ("fmt/215", "fmt/215"),
    "letter.odt": ("fmt/291", "fmt/290"),  # ODF 1.2 (current) vs ODF 1.1 (fido's older signatures)
    "sheet.ods": ("fmt/295", "fmt/294"),
    "slides.odp": ("fmt/293", "fmt/292"),
    "book.epub": ("fmt/483", "fmt/483"),
    "letter.doc": ("fmt/609", "fmt/111"),  # Word (generic) by container; fido sees only OLE2
    "sheet.xls": ("fmt/111", "fmt/111"),  # a bare BIFF8 BOF is not enough for either: OLE2
    "ascii.txt": ("x-fmt/111", "x-fmt/111"),
    "utf8-bom.txt": ("x-fmt/111", "x-fmt/111"),
    "utf16le-bom.txt": ("x-fmt/111", "x-fmt/111"),
    "latin1.txt": ("x-fmt/111", "x-fmt/111"),
    "register.csv": ("x-fmt/18", "x-fmt/18"),
    "bundle.zip": ("x-fmt/263", "x-fmt/263"),
    "bundle.tar": ("x-fmt/265", "x-fmt/265"),
    "text.gz": ("x-fmt/266", "x-fmt/266"),
    "text.bz2": ("x-fmt/268", "x-fmt/268"),
    "text.xz": ("fmt/1098", "fmt/1098"),
    "text.zst": ("UNKNOWN", "UNKNOWN"),  # Zstandard has no PRONOM record in either signature set
    "sound.wav": ("fmt/141", "fmt/141"),
    "sound.mp3": ("fmt/134", "fmt/134"),
    "sound.flac": ("fmt/279", "fmt/279"),
    "sound.ogg": ("fmt/944", "fmt/944"),
    "tune.mid": ("x-fmt/230", "x-fmt/230"),
    "movie.mp4": ("fmt/199", "fmt/199"),
    "movie.mov": ("x-fmt/384", "x-fmt/384"),
    "movie.avi": ("fmt/5", "fmt/5"),
    "movie.webm": ("fmt/573", "fmt/573"),
    "data.sqlite": ("fmt/729", "fmt/729"),
    "empty-file": ("UNKNOWN", "UNKNOWN"),
    "truncated.png": ("UNKNOWN", "fmt/13"),  # no IEND chunk: Siegfried refuses, fido guesses
    "random.dat": ("fmt/1730", "fmt/612"),  # by extension only
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("corpus"))


def test_corpus_covers_at_least_40_formats() -> None:
    assert set(EXPECTED) == set(CORPUS)
    assert len({sf for sf, _f in EXPECTED.values()} - {"UNKNOWN"}) >= 40


@pytest.mark.parametrize(("engine", "column"), [("siegfried", 0), ("fido", 1)])
def test_each_engine_gives_the_expected_puids(corpus: dict[str, Path], engine: str, column: int) -> None:
    names = sorted(corpus)
    results = identify_many([corpus[n] for n in names], engine, jobs=2)
    got = {n: r.puid for n, r in zip(names, results, strict=True)}
    assert got == {n: EXPECTED[n][column] for n in names}
    assert all(r.engine == engine and r.engine_version and r.signature_version for r in results)


def test_archa_identify_fido_matches_the_fido_command(corpus: dict[str, Path]) -> None:
    names = sorted(corpus)
    paths = [str(corpus[n]) for n in names]
    fido = Path(sys.executable).parent / "fido"
    out = subprocess.run([str(fido), "-q", *paths], capture_output=True, text=True, check=True).stdout
    first: dict[str, str] = {}
    for row in csv.reader(io.StringIO(out)):
        first.setdefault(row[6], row[2] if row[0] == "OK" and row[2] else "UNKNOWN")
    r = CliRunner().invoke(cli, ["identify", "--engine", "fido", "--json", *paths])
    assert r.exit_code == 0, r.output
    ours = {f["path"]: f["puid"] for f in json.loads(r.output)["files"]}
    assert ours == first
    assert len(ours) == len(names)


def test_identify_output_forms(corpus: dict[str, Path]) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["identify", str(corpus["letter.pdf"]), str(corpus["random.dat"])])
    lines = r.output.splitlines()
    assert lines[0].startswith("engine: siegfried ") and "DROID_SignatureFile_V" in lines[0]
    assert lines[1] == f"fmt/18       {corpus['letter.pdf']}  Acrobat PDF 1.4 - Portable Document Format 1.4"
    assert lines[2] == f"fmt/1730     {corpus['random.dat']}  Data File Generic  [match on extension only]"
    assert lines[3] == "2 files"
    r = runner.invoke(cli, ["identify", "--csv", str(corpus["letter.pdf"])])
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [(x["puid"], x["mime"], x["engine"]) for x in rows] == [("fmt/18", "application/pdf", "siegfried")]
    r = runner.invoke(cli, ["identify", str(corpus["letter.pdf"].parent / "missing")])
    assert r.exit_code == 2 and "missing: no such file or directory" in r.output


def test_compare_reports_exactly_the_disagreements(corpus: dict[str, Path]) -> None:
    names = sorted(corpus)
    diffs = compare_engines([corpus[n] for n in names], jobs=2)
    assert {Path(d.path).name for d in diffs} == {n for n, (a, b) in EXPECTED.items() if a != b}
    r = CliRunner().invoke(cli, ["identify", "--compare", str(corpus["truncated.png"]), str(corpus["image.png"])])
    assert r.output.splitlines() == [str(corpus["truncated.png"]), "    siegfried  UNKNOWN",
                                     "    fido       fmt/13       Portable Network Graphics 1.2",
                                     "2 files, 1 where the engines disagree"]


def test_ingest_default_is_siegfried_and_fido_is_one_flag_away(repo: Repository, bags: Path,
                                                                corpus: dict[str, Path]) -> None:
    files = {n: corpus[n].read_bytes() for n in ("letter.odt", "truncated.png", "image.gif")}
    a = ingest(repo, write_bag(bags / "a", files))
    b = ingest(repo, write_bag(bags / "b", files), IngestOptions(engine="fido", allow_duplicate=True))
    pa = {f["original_name"]: (f["puid"], f["engine"]) for f in repo.catalog.files(a.aip_id, "v1")}
    pb = {f["original_name"]: (f["puid"], f["engine"]) for f in repo.catalog.files(b.aip_id, "v1")}
    assert pa["data/letter.odt"] == ("fmt/291", "siegfried")
    assert pb["data/letter.odt"] == ("fmt/290", "fido")
    ev = next(e for e in repo.catalog.events(b.aip_id) if e["type"] == "format identification")
    assert ev["agent"].startswith("fido/") and "PRONOM v109" in ev["detail"]


def test_reidentify_records_each_change_and_is_idempotent(repo: Repository, bags: Path,
                                                           corpus: dict[str, Path]) -> None:
    files = {n: corpus[n].read_bytes() for n in ("letter.odt", "truncated.png", "image.gif")}
    res = ingest(repo, write_bag(bags / "a", files), IngestOptions(engine="fido"))
    before = len(repo.catalog.events())
    out = reidentify(repo, "siegfried", jobs=2)
    assert out.checked == 3 + 4  # payload + bagit.txt, bag-info.txt, manifest, tagmanifest
    assert sorted((c["path"], c["old"], c["new"]) for c in out.changed) == [
        ("representations/original/data/letter.odt", "fmt/290", "fmt/291"),
        ("representations/original/data/truncated.png", "fmt/13", "UNKNOWN"),
    ]
    new_events = repo.catalog.events()[before:]
    assert [e["type"] for e in new_events] == ["format identification"] * 2
    assert all(e["aip_id"] == res.aip_id and e["agent"].startswith("siegfried/") for e in new_events)
    assert verify_chain(repo.catalog.conn) == []
    rows = {f["logical_path"]: f for f in repo.catalog.files(res.aip_id, "v1")}
    assert rows["representations/original/data/letter.odt"]["puid"] == "fmt/291"
    assert rows["representations/original/data/image.gif"]["engine"] == "siegfried"
    assert reidentify(repo, "siegfried").checked == 0


def test_formats_report_with_at_risk_policy(repo_with_policy: Callable[[Path, str], Repository], tmp_path: Path, bags: Path, corpus: dict[str, Path]) -> None:
    repo = repo_with_policy(tmp_path / "r", '[policy.formats]\nat_risk = ["fmt/3"]\n')
    files = {n: corpus[n].read_bytes() for n in ("image.gif", "letter.pdf", "empty-file")}
    files["copy.pdf"] = files["letter.pdf"]
    ingest(repo, write_bag(bags / "a", files))
    rep = format_report(repo)
    by = {f.puid: f for f in rep.formats}
    assert by["fmt/18"].files == 2 and by["fmt/18"].bytes == 2 * len(files["letter.pdf"])
    assert by["fmt/3"].at_risk and not by["fmt/18"].at_risk
    assert (rep.files, rep.unidentified_files, rep.at_risk_files) == (4, 1, 1)
    r = CliRunner().invoke(cli, ["formats", "report", "--repo", str(repo.root)])
    assert r.exit_code == 0
    assert "fmt/3               1" in r.output and "Graphics Interchange Format  AT RISK" in r.output
    assert r.output.splitlines()[-2] == (f"4 files, {human_bytes(rep.bytes)}; 1 unidentified, 1 in formats at risk "
                                         "(1 with no migration pathway)")
    assert "Acrobat PDF 1.4 - Portable Document Format  -> pdfa-2b" in r.output  # the default policy's pathway
    assert r.output.splitlines()[-1] == ("migration: 2 files in formats a pathway takes (-> above), 0 migrated so "
                                         "far, 0 whose last migration failed; what is left: archa migrate --all "
                                         "--dry-run")
    assert (rep.with_pathway, rep.at_risk_without_pathway) == (2, 1)
    repo.close()
