"""`archa transfer ndk`: NDK digitisation packages (PSP) built in code; each check fails on its own."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from archa.cli.main import cli
from archa.errors import SipRejected
from archa.ingest.extract import Limits
from archa.repository.repo import Repository
from archa.transfer.kinds import detect_kind
from archa.transfer.ndk.importer import STRUCTURE, transfer_ndk
from tests.bagmaker import tree_snapshot
from tests.ndk_maker import PspSpec, _jp2, make_psp, page_image
from tests.nsesss_maker import zip_package

LIMITS = Limits(10_000, 1 << 30)


@pytest.mark.parametrize("kind,version", [("monograph", "1.3.2"), ("monograph", "2.2"), ("periodical", "1.6"),
                                          ("periodical", "1.7.1"), ("periodical", "2.1")])
def test_versions_make_bags(tmp_path: Path, kind: str, version: str) -> None:
    psp = make_psp(tmp_path / "src", PspSpec(kind=kind, version=version, pages=3))
    assert detect_kind(psp) == "ndk"
    result, read = transfer_ndk(psp, tmp_path / "bag", [], LIMITS, 2)
    assert not [f for f in result.findings if f.is_error]
    assert read.kind == kind and read.version == version
    structure = json.loads((tmp_path / "bag" / STRUCTURE).read_text("utf-8"))
    assert [p["order"] for p in structure["pages"]] == [1, 2, 3]
    page1 = structure["pages"][0]
    assert page1["master"] == f"{psp.name}/mastercopy/mc_{psp.name}_0001.jp2"
    assert set(page1) >= {"master", "user", "alto", "txt", "amd", "label", "section"}
    types = {s["type"] for s in structure["sections"]}
    assert types >= ({"PERIODICAL_TITLE", "PERIODICAL_VOLUME", "ISSUE", "ARTICLE"} if kind == "periodical"
                     else {"VOLUME", "CHAPTER"})
    info = dict(result.info)
    assert info["Title"] == "Pamětní kniha obce Lhota" and info["External-Identifier"] == f"uuid:{psp.name}"
    # the payload is the package byte for byte
    for p in psp.rglob("*"):
        if p.is_file():
            assert (tmp_path / "bag" / "data" / psp.name / p.relative_to(psp)).read_bytes() == p.read_bytes()


def test_zip_package(tmp_path: Path) -> None:
    psp = make_psp(tmp_path / "src", PspSpec(pages=2))
    sip = zip_package(psp, tmp_path / f"{psp.name}.zip")
    assert detect_kind(sip) == "ndk"  # what the drop folder goes by
    r = CliRunner().invoke(cli, ["transfer", "ndk", str(sip), str(tmp_path / "bag"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["transfer"]["kind"] == "ndk"


def _first(files: dict[str, bytes], folder: str) -> str:
    return next(p for p in sorted(files) if p.startswith(folder + "/"))


def _png(files: dict[str, bytes]) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(buf, "PNG")
    files[_first(files, "usercopy")] = buf.getvalue()


def _lossy_master(files: dict[str, bytes]) -> None:
    files[_first(files, "mastercopy")] = _jp2(page_image(PspSpec(), 1), lossless=False)


def _lossless_user(files: dict[str, bytes]) -> None:
    files[_first(files, "usercopy")] = _jp2(page_image(PspSpec(), 1), lossless=True)


def _broken_alto(files: dict[str, bytes]) -> None:
    key = _first(files, "alto")
    data = bytearray(files[key])
    data[data.index(b"<Layout>") + 7] = ord(" ")  # one byte: <Layout  -> not well-formed
    files[key] = bytes(data)


def _invalid_alto(files: dict[str, bytes]) -> None:
    key = _first(files, "alto")
    files[key] = files[key].replace(b'HPOS="10"', b'HPOS="ten"', 1)


def _invalid_amd(files: dict[str, bytes]) -> None:
    key = _first(files, "amdsec")
    files[key] = files[key].replace(b"<mix:imageWidth>", b"<mix:imageWidth>wide", 1)


def _drop_user(files: dict[str, bytes]) -> None:
    del files[_first(files, "usercopy")]


def _rewrite_lists(top: Path, change: Callable[[list[str]], list[str]]) -> None:
    """Change the MD5 file's lines, then make info's checksum and size agree again."""
    md5 = next(top.glob("md5_*.md5"))
    md5.write_text("".join(line + "\n" for line in change(md5.read_text().splitlines())))
    info = next(top.glob("info_*.xml"))
    text = info.read_text("utf-8")
    text = re.sub(r'checksum="[0-9a-f]{32}"', f'checksum="{hashlib.md5(md5.read_bytes()).hexdigest()}"', text)
    size = sum(p.stat().st_size for p in top.rglob("*") if p.is_file() and p != info) // 1024
    info.write_text(re.sub(r"<size>\d+</size>", f"<size>{size}</size>", text), "utf-8")


def _wrong_md5_line(top: Path) -> None:
    _rewrite_lists(top, lambda lines: [("0" * 32 + line[32:]) if "mastercopy" in line and i == 0 else line
                                       for i, line in enumerate(sorted(lines, key=lambda x: "mastercopy" not in x))])


def _md5_lists_ghost(top: Path) -> None:
    _rewrite_lists(top, lambda lines: [*lines, "0" * 32 + " \\txt\\ghost.txt"])


def _extra_file(top: Path) -> None:
    (top / "poznamky.txt").write_text("nic\n")


PRE: dict[str, tuple[dict[str, object], str, str]] = {
    # case: (make_psp keyword arguments, code, text in the message or path)
    "PNG posing as .jp2": ({"mutate": _png}, "NDK018", "not a valid JPEG 2000"),
    "lossy master copy": ({"mutate": _lossy_master}, "NDK019", "lossless"),
    "lossless user copy": ({"mutate": _lossless_user}, "NDK019", "lossy"),
    "broken ALTO byte": ({"mutate": _broken_alto}, "NDK017", "not well-formed"),
    "ALTO not valid": ({"mutate": _invalid_alto}, "NDK017", "not valid ALTO"),
    "technical METS not valid": ({"mutate": _invalid_amd}, "NDK013", "amdsec/"),
    "missing user copy": ({"mutate": _drop_user}, "NDK015", "user copy"),
    "page without its ALTO": ({"mutate_mets": lambda b: re.sub(rb'<mets:fptr FILEID="alto_[^"]+_0002"/>', b"", b)},
                              "NDK014", "has no ALTO"),
    "METS checksum wrong": ({"mutate_mets": lambda b: re.sub(rb'CHECKSUM="[0-9a-f]{32}"', b'CHECKSUM="' + b"0" * 32
                                                             + b'"', b, count=1)}, "NDK016", "CHECKSUM"),
    "METS size wrong": ({"mutate_mets": lambda b: re.sub(rb'SIZE="\d+"', b'SIZE="1"', b, count=1)}, "NDK016", "SIZE"),
    "MODS not valid": ({"mutate_mets": lambda b: b.replace(b"<mods:genre>", b"<mods:zanr/><mods:genre>", 1)},
                       "NDK012", "zanr"),
    "info checksum wrong": ({"mutate_info": lambda t: re.sub(r'checksum="[0-9a-f]{32}"', 'checksum="' + "1" * 32 + '"',
                                                             t)}, "NDK011", "md5_"),
    "itemtotal wrong": ({"mutate_info": lambda t: re.sub(r'itemtotal="\d+"', 'itemtotal="3"', t)}, "NDK009",
                        "itemtotal"),
    "size wrong": ({"mutate_info": lambda t: re.sub(r"<size>\d+</size>", "<size>99999</size>", t)}, "NDK010", "KB"),
    "info not valid": ({"mutate_info": lambda t: t.replace("<creator>ABA001</creator>", "")}, "NDK004", "info"),
    "unsupported version": ({"mutate_info": lambda t: t.replace(">2.2<", ">1.2<")}, "NDK005", "monograph 1.2"),
}
POST: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "MD5 file digest wrong": (_wrong_md5_line, "NDK008", "mastercopy/"),
    "MD5 file lists a missing file": (_md5_lists_ghost, "NDK006", "ghost.txt"),
    "file not in the MD5 file": (_extra_file, "NDK007", "poznamky.txt"),
    "no MD5 file": (lambda top: next(top.glob("md5_*.md5")).unlink(), "NDK003", "MD5 file"),
    "folder not named by its packageid": (lambda top: top.rename(top.with_name("kronika")), "NDK023", "packageid"),
}


def _rejected(tmp_path: Path, psp: Path, code: str, text: str) -> None:
    before = tree_snapshot(psp)
    with pytest.raises(SipRejected) as exc:
        transfer_ndk(psp, tmp_path / "bag", [], LIMITS, 2)
    errors = [f for f in exc.value.findings if f.is_error]
    assert code in {f.code for f in errors}, errors
    assert any(text in f"{f.path} {f.message}" for f in errors if f.code == code), errors
    assert not (tmp_path / "bag").exists() and not list(tmp_path.glob(".bag*"))
    assert tree_snapshot(psp) == before


@pytest.mark.parametrize("case", sorted(PRE))
def test_each_check_rejects(tmp_path: Path, case: str) -> None:
    kwargs, code, text = PRE[case]
    psp = make_psp(tmp_path / "src", PspSpec(pages=2), **kwargs)  # type: ignore[arg-type]
    _rejected(tmp_path, psp, code, text)


@pytest.mark.parametrize("case", sorted(POST))
def test_each_list_check_rejects(tmp_path: Path, case: str) -> None:
    change, code, text = POST[case]
    psp = make_psp(tmp_path / "src", PspSpec(pages=2))
    change(psp)
    if not psp.exists():  # renamed
        psp = next((tmp_path / "src").iterdir())
    _rejected(tmp_path, psp, code, text)


def test_only_the_named_check_fails(tmp_path: Path) -> None:
    """A broken ALTO byte is reported by the ALTO check alone: every checksum agrees."""
    psp = make_psp(tmp_path / "src", PspSpec(pages=2), mutate=_broken_alto)
    with pytest.raises(SipRejected) as exc:
        transfer_ndk(psp, tmp_path / "bag", [], LIMITS, 2)
    assert {f.code for f in exc.value.findings if f.is_error} == {"NDK017"}


def test_cli_rejection_names_file_and_code(tmp_path: Path) -> None:
    psp = make_psp(tmp_path / "src", PspSpec(pages=2), mutate=_png)
    r = CliRunner().invoke(cli, ["transfer", "ndk", str(psp), str(tmp_path / "bag")])
    assert r.exit_code == 2
    assert "NDK018" in r.output and f"usercopy/uc_{psp.name}_0001.jp2" in r.output
    assert "nothing was written" in r.output


def test_drop_folder_takes_psps(repo: Repository, tmp_path: Path) -> None:
    """A PSP folder and a PSP ZIP in the drop folder are ingested as NDK packages; a broken
    one goes to failed/ with its finding."""
    from archa.transfer.watch import watch_once

    drop = tmp_path / "drop"
    good = make_psp(drop, PspSpec(kind="periodical", version="1.7.1", pages=2))
    inner = make_psp(tmp_path / "z", PspSpec(pages=2))
    zipped = zip_package(inner, drop / f"{inner.name}.zip")
    broken = make_psp(drop, PspSpec(pages=2), mutate=_png)
    for item in (good, zipped, broken):
        (drop / f"{item.name}.ready").write_text("")
    result = watch_once(repo, drop)
    assert {i.name: i.status for i in result.items} == {good.name: "ingested", zipped.name: "ingested",
                                                        broken.name: "failed"}
    assert {i.kind for i in result.items} == {"ndk"}
    assert "NDK018" in (drop / "failed" / f"{broken.name}.report.json").read_text()
    assert sum(len(repo.catalog.pages(a["id"], "v1")) for a in repo.catalog.aips()) == 4
