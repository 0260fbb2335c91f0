"""Adversarial review of `archa publish` and `transfer folder --images`: each test asserts
the safe behaviour (a restricted record in no byte of the site, no executable markup from a
record's metadata, nothing outside OUT touched, a killed run swept, hostile image folders
refused with exit status 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from archa.cli.main import cli
from archa.repository.repo import Repository
from tests.bagmaker import tree_snapshot, write_bag
from tests.catalogs import insider_sql

SECRET = "Zdravotní karta Zuzany Kvapilové"
HOSTILE = ('<script>alert(1)</script>"><img src=x onerror=alert(2)></title></script>'
           "<svg onload=alert(3)>javascript:alert(4) \u202eRTL")
PLACEHOLDERS = "Kniha {{body}} {{scripts}} {{root}}"
SEARCHED = "document.body.dataset.state === 'done'"  # search.js's signal that the results are in (dump_dom until=)


def _cli(repo: Repository, *args: str) -> Any:
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    return r


def _run(repo: Repository, *args: str) -> Any:
    r = _cli(repo, *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _bag(repo: Repository, root: Path, ext_id: str, title: str, access: str, **info: str) -> str:
    bag = write_bag(root, {"letter.txt": (ext_id + title).encode()}, info={
        "Source-Organization": "Obec Lhota", "External-Identifier": ext_id, "Title": title, "Access-Rights": access,
        **info})
    return str(_run(repo, "ingest", str(bag))[0]["aip_id"])


def _every_byte(out: Path) -> bytes:
    return b"\n".join(p.read_bytes() + p.as_posix().encode() for p in sorted(out.rglob("*")) if p.is_file())


def _absent(out: Path, aip_id: str, title: str = SECRET) -> None:
    blob = _every_byte(out)
    for needle in (aip_id.removeprefix("urn:uuid:"), title, "Kvapil"):
        for form in (needle, needle.lower(), json.dumps(needle)[1:-1]):
            assert form.encode() not in blob, form
    assert b"kvapilove" not in blob


# --- a restricted record in no file of OUT ----------------------------------------------------------


@pytest.mark.sqlite_only
def test_an_insider_opening_the_access_row_does_not_publish(repo: Repository, tmp_path: Path) -> None:
    secret = _bag(repo, tmp_path / "s", "LH-8", SECRET, "restricted: personal data")
    _bag(repo, tmp_path / "p", "LH-7", "Stavební povolení", "public")
    insider_sql(repo, "UPDATE access SET status = 'public', reason = 'released', until = '', source = 'set' "
                      "WHERE aip_id = ?", secret)
    out = tmp_path / "site"
    r = _cli(repo, "publish", str(out), "--json")
    assert r.exit_code in (0, 1), r.output
    _absent(out, secret)


def test_restricted_between_runs_and_then_opened_again(repo: Repository, tmp_path: Path) -> None:
    aip = _bag(repo, tmp_path / "s", "LH-8", SECRET, "public")
    out = tmp_path / "site"
    _run(repo, "publish", str(out))
    assert aip.removeprefix("urn:uuid:").encode() in _every_byte(out)
    _run(repo, "access", "set", aip, "--restricted", "--until", "2099-12-31", "--reason", "embargo")
    r = _run(repo, "publish", str(out))
    assert r["removed"] == [aip]
    _absent(out, aip)
    _run(repo, "access", "set", aip, "--public", "--reason", "released")
    r = _run(repo, "publish", str(out))
    assert r["written"] == [aip]


# --- hostile metadata ------------------------------------------------------------------------------


def _no_markup(text: str) -> None:
    for bad in ("<script>alert", "<img src=x", "<svg onload", "</title></script>", "<img src=\"x\""):
        assert bad not in text, bad


def test_hostile_titles_and_descriptions_are_escaped(repo: Repository, tmp_path: Path) -> None:
    aip = _bag(repo, tmp_path / "h", "LH-666", HOSTILE, "public", **{
        "External-Description": HOSTILE, "Creator": HOSTILE, "Date": HOSTILE[:60]})
    long = _bag(repo, tmp_path / "l", "LH-667", "dlouhý " * 20000, "public")
    out = tmp_path / "site"
    r = _cli(repo, "publish", str(out), "--title", HOSTILE, "--collection", HOSTILE, "--json")
    assert r.exit_code == 0, r.output
    uid = aip.removeprefix("urn:uuid:")
    for p in out.rglob("*.html"):
        text = p.read_text("utf-8")
        _no_markup(text)
        assert text.count("<main>") == 1 and text.count("<script") <= 3, p
    assert (out / "records" / long.removeprefix("urn:uuid:") / "index.html").is_file()
    from tests.browser import chromium, dump_dom

    browser = chromium()
    record = out / "records" / uid / "index.html"
    assert "<script" not in record.read_text("utf-8").split("<main>")[1]  # no viewer: done at its load event
    for page, extra, until in ((record, "", ""), (out / "index.html", "", ""),
                               (next((out / "collections").glob("*.html")), "", ""),
                               (out / "search.html", "?q=alert", SEARCHED)):
        dom = dump_dom(browser, page, fragment=extra, until=until)
        _no_markup(dom)
        assert "<img src=\"x\"" not in dom and "onerror=\"" not in dom and "<svg" not in dom
    found = dump_dom(browser, out / "search.html", fragment="?q=alert", until=SEARCHED)
    assert "1 record<" in found, found[-2000:]


@pytest.mark.parametrize("where", ["record title", "site title"])
def test_a_value_holding_a_placeholder_of_the_frame_fills_nothing(repo: Repository, tmp_path: Path,
                                                                  where: str) -> None:
    """render.page fills {{title}}/{{site}} before {{scripts}} and {{body}}: a title holding
    "{{body}}" must stay text, not pull the page's markup into <title> and the header."""
    aip = _bag(repo, tmp_path / "h", "LH-666", PLACEHOLDERS if where == "record title" else "Kniha", "public")
    out = tmp_path / "site"
    r = _cli(repo, "publish", str(out), "--title", PLACEHOLDERS if where == "site title" else "Sbírky", "--json")
    assert r.exit_code == 0, r.output
    for p in [out / "records" / aip.removeprefix("urn:uuid:") / "index.html", out / "index.html"]:
        text = p.read_text("utf-8")
        head_title = text.split("<title>", 1)[1].split("</title>", 1)[0]
        header = text.split("<header>", 1)[1].split("</header>", 1)[0]
        assert "<" not in head_title, (p, head_title[:300])
        assert "<script" not in header and "<h1" not in header, (p, header[:300])
        assert text.count("<main>") == 1 and text.count('id="sources"') <= 1, p


# --- OUT and what is outside it --------------------------------------------------------------------


def test_out_a_file_is_refused(repo: Repository, tmp_path: Path) -> None:
    f = tmp_path / "site"
    f.write_bytes(b"mine")
    r = _cli(repo, "publish", str(f))
    assert r.exit_code == 2 and f.read_bytes() == b"mine", r.output


def test_out_a_symlink_to_a_foreign_folder_is_refused(repo: Repository, tmp_path: Path) -> None:
    other = tmp_path / "home"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    (tmp_path / "site").symlink_to(other)
    r = _cli(repo, "publish", str(tmp_path / "site"))
    assert r.exit_code == 2 and sorted(os.listdir(other)) == ["notes.txt"], r.output


@pytest.mark.parametrize("folder", ["collections", "search", "records"])
def test_a_symlink_inside_out_is_not_written_or_deleted_through(repo: Repository, tmp_path: Path,
                                                                  folder: str) -> None:
    """Someone (the web server's admin, a deploy script) makes a folder of the site a link to
    another place: publish must not delete files there nor write into it."""
    aip = _bag(repo, tmp_path / "p", "LH-7", "Stavební povolení", "public")
    out = tmp_path / "site"
    _run(repo, "publish", str(out))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.html").write_text("do not delete")
    (elsewhere / "precious").mkdir()
    (elsewhere / "precious" / "x.txt").write_text("do not delete")
    before = tree_snapshot(elsewhere)
    target = out / folder
    import shutil

    shutil.rmtree(target)
    target.symlink_to(elsewhere)
    _run(repo, "access", "set", aip, "--restricted", "--reason", "x")  # a removal: publish sweeps
    r = _cli(repo, "publish", str(out), "--json")
    assert tree_snapshot(elsewhere) == before, (r.output, sorted(os.listdir(elsewhere)))
    assert sorted(os.listdir(elsewhere)) == ["precious", "precious.html"]


def test_a_symlinked_record_folder_is_not_swept_through(repo: Repository, tmp_path: Path) -> None:
    aip = _bag(repo, tmp_path / "p", "LH-7", "Stavební povolení", "public")
    out = tmp_path / "site"
    _run(repo, "publish", str(out))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").mkdir()
    (elsewhere / "keep" / "x.txt").write_text("do not delete")
    before = tree_snapshot(elsewhere)
    (out / "records" / "0badc0de-0000-0000-0000-000000000000").symlink_to(elsewhere)
    (out / ".archa-publish-work").mkdir()  # an unfinished run: every record folder is swept
    _run(repo, "access", "set", aip, "--restricted", "--reason", "x")
    _cli(repo, "publish", str(out))
    assert tree_snapshot(elsewhere) == before


# --- a run killed in the middle ---------------------------------------------------------------------

KILLER = """
import os, sys
from pathlib import Path
import archa.lifecycle.publish as mod
from archa.repository.repo import Repository
point = sys.argv[3]

def die(*a, **k):
    os.kill(os.getpid(), 9)
setattr(mod, point, die)
repo = Repository.open(Path(sys.argv[1]))
mod.publish(repo, Path(sys.argv[2]))
"""


@pytest.mark.parametrize("point", ["_search_index", "_write_site", "_sweep"])
def test_a_run_killed_in_the_middle_then_the_next(repo: Repository, tmp_path: Path, point: str) -> None:
    public = _bag(repo, tmp_path / "p", "LH-7", "Stavební povolení Ještěd", "public")
    victim = _bag(repo, tmp_path / "s", "LH-8", SECRET, "public")
    out = tmp_path / "site"
    _run(repo, "publish", str(out))
    _run(repo, "access", "set", victim, "--restricted", "--reason", "personal data")
    added = _bag(repo, tmp_path / "a", "LH-9", "Kronika rybníka Hejtman", "public")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    p = subprocess.run([sys.executable, "-c", KILLER, str(repo.root), str(out), point], env=env,
                       capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == -9, p.stderr[-3000:]
    r = _run(repo, "publish", str(out))
    assert {x["aip_id"] for x in r["left_out"]} == {victim} and r["records"] == 2, r
    _absent(out, victim)
    assert not (out / ".archa-publish-work").exists()
    from tests.browser import chromium, dump_dom

    dom = dump_dom(chromium(), out / "search.html", fragment="?q=hejtman", until=SEARCHED)
    assert "Kronika rybníka Hejtman" in dom and "1 record<" in dom, dom[-2000:]
    dom = dump_dom(chromium(), out / "search.html", fragment="?q=jested", until=SEARCHED)
    assert "1 record<" in dom
    assert added.removeprefix("urn:uuid:").encode() in _every_byte(out)
    assert public.removeprefix("urn:uuid:").encode() in _every_byte(out)


# --- transfer folder --images with hostile folders -------------------------------------------------


def _images(tmp_path: Path) -> Path:
    from tests.test_transfer_images import museum_folder

    return museum_folder(tmp_path)


def _refused(tmp_path: Path, src: Path) -> str:
    before = tree_snapshot(src)
    r = CliRunner().invoke(cli, ["transfer", "folder", str(src), str(tmp_path / "bag"), "--images"])
    assert r.exit_code == 2, (r.exit_code, r.output, repr(r.exception))
    assert tree_snapshot(src) == before
    assert not (tmp_path / "bag").exists()
    return r.output


@pytest.mark.parametrize("name", ["../outside.jpg", "{outside}", "./../fotografie/../outside.jpg",
                                  "sub/../../outside.jpg"])
def test_a_csv_row_naming_a_file_outside_is_refused(tmp_path: Path, name: str) -> None:
    from tests import image_maker as im

    src = _images(tmp_path)
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(im.jpeg((50, 40), (1, 2, 3)))
    (src / "sub").mkdir()
    (src / "sub" / "x.jpg").write_bytes(im.jpeg((50, 40), (9, 9, 9)))
    row = name.format(outside=outside)
    (src / "metadata.csv").write_bytes(f"title;file\nVenku;{row}\n".encode())
    out = _refused(tmp_path, src)
    assert "IMG002" in out, out


def _not_followed(tmp_path: Path, src: Path, secret: bytes) -> str:
    """Links are not followed (docs/cli.md, TRF002): refused, or bagged without the target."""
    r = CliRunner().invoke(cli, ["transfer", "folder", str(src), str(tmp_path / "bag"), "--images"])
    assert r.exit_code in (0, 2), (r.output, repr(r.exception))
    if r.exit_code == 0:
        assert "TRF002" in r.output, r.output
        for p in (tmp_path / "bag").rglob("*"):
            assert not p.is_symlink(), p
            if p.is_file():
                assert secret not in p.read_bytes(), p
    return r.output


def test_a_symlinked_image_is_not_followed(tmp_path: Path) -> None:
    from tests import image_maker as im

    src = _images(tmp_path)
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(im.jpeg((50, 40), (1, 2, 3)))
    (src / "link.jpg").symlink_to(outside)
    _not_followed(tmp_path, src, outside.read_bytes())


def test_a_csv_row_naming_a_symlinked_image_is_refused(tmp_path: Path) -> None:
    from tests import image_maker as im

    src = _images(tmp_path)
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(im.jpeg((50, 40), (1, 2, 3)))
    (src / "link.jpg").symlink_to(outside)
    (src / "metadata.csv").write_bytes(b"title;file\nVenku;link.jpg\n")
    assert "IMG002" in _refused(tmp_path, src)


def test_a_symlinked_subfolder_is_not_followed(tmp_path: Path) -> None:
    from tests import image_maker as im

    src = _images(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a.jpg").write_bytes(im.jpeg((50, 40), (1, 2, 3)))
    (src / "dir").symlink_to(tmp_path / "elsewhere")
    _not_followed(tmp_path, src, (tmp_path / "elsewhere" / "a.jpg").read_bytes())


def _bomb(path: Path, size: tuple[int, int]) -> None:
    Image.new("1", size).save(path, optimize=True)


@pytest.mark.parametrize("size", [(20000, 20000), (60000, 60000)])
def test_a_decompression_bomb_png_is_refused(tmp_path: Path, size: tuple[int, int]) -> None:
    src = _images(tmp_path)
    _bomb(src / "bomb.png", size)
    assert (src / "bomb.png").stat().st_size < 2_000_000
    out = _refused(tmp_path, src)
    assert "IMG004" in out and "bomb.png" in out, out


def test_a_png_header_claiming_huge_dimensions_is_refused(tmp_path: Path) -> None:
    """An IHDR of 2^31-1 x 2^31-1 and one tiny IDAT: no allocation of that size, a clean IMG004."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2**31 - 1, 2**31 - 1, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    src = _images(tmp_path)
    (src / "huge.png").write_bytes(png)
    out = _refused(tmp_path, src)
    assert "IMG004" in out and "huge.png" in out, out
