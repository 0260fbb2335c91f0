"""The NDK intake (archa/transfer/ndk/intake.py) finds the same on a process pool as in one
process, in the same order, and makes the same bag; a file streamed (too large to hold) is
judged as one held in memory."""

from __future__ import annotations

import hashlib
import io
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from archa.errors import Finding, SipRejected
from archa.repository.unpacking import Limits
from archa.transfer.ndk import intake
from archa.transfer.ndk.importer import transfer_ndk
from tests.ndk_maker import PspSpec, _jp2, make_psp, page_image
from tests.nsesss_maker import zip_package

LIMITS = Limits(10_000, 1 << 30)
MODES = {"serial": (10**9, intake.INLINE_MAX), "pool": (1, intake.INLINE_MAX), "streamed": (10**9, 1),
         "pool, streamed": (1, 1)}


def _spec() -> PspSpec:
    return PspSpec(pages=44, size=(60, 80), chapters=3)  # 223 files: past intake.POOL_FROM


def _out(tmp_path: Path, mode: str) -> Path:
    return tmp_path / re.sub(r"\W+", "-", mode)


def _page(files: dict[str, bytes], folder: str, n: int) -> str:
    return sorted(p for p in files if p.startswith(folder + "/"))[n - 1]


def _defects(files: dict[str, bytes]) -> None:
    """Something wrong on pages spread over the package, each caught by a check of the intake."""
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(buf, "PNG")
    files[_page(files, "usercopy", 3)] = buf.getvalue()
    files[_page(files, "mastercopy", 9)] = _jp2(page_image(PspSpec(size=(60, 80)), 9), lossless=False)
    files[_page(files, "usercopy", 20)] = _jp2(page_image(PspSpec(size=(60, 80)), 20), lossless=True)
    alto = _page(files, "alto", 5)
    files[alto] = files[alto].replace(b"<Layout>", b"<Layout ", 1)
    alto = _page(files, "alto", 31)
    files[alto] = files[alto].replace(b'HPOS="10"', b'HPOS="ten"', 1)
    amd = _page(files, "amdsec", 12)
    files[amd] = files[amd].replace(b"<mix:imageWidth>", b"<mix:imageWidth>wide", 1)
    amd = _page(files, "amdsec", 40)
    files[amd] = files[amd].replace(b'TYPE="MONOGRAPH_PAGE"', b'TYPE="PAGE"')


class Counted(ProcessPoolExecutor):
    made = 0

    def __init__(self, *a: Any, **kw: Any) -> None:
        Counted.made += 1
        super().__init__(*a, **kw)


def _transfer(sip: Path, out: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> list[Finding]:
    pool_from, inline_max = MODES[mode]
    monkeypatch.setattr(intake, "POOL_FROM", pool_from)
    monkeypatch.setattr(intake, "INLINE_MAX", inline_max)
    monkeypatch.setattr(intake, "ProcessPoolExecutor", Counted)
    monkeypatch.setattr(intake, "_may_fork", lambda: True)  # whatever threads the suite left running
    made = Counted.made
    try:
        findings = transfer_ndk(sip, out, [], LIMITS, 2)[0].findings
    except SipRejected as e:
        findings = e.findings
    assert Counted.made - made == (1 if "pool" in mode else 0)  # the pool ran where it should
    return findings


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_pool_finds_what_one_process_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zipped: bool) -> None:
    psp = make_psp(tmp_path / "src", _spec(), mutate=_defects)
    txt = sorted((psp / "txt").iterdir())[25]
    txt.write_bytes(txt.read_bytes() + b"!")  # differs from the MD5 file and the METS now
    sip = zip_package(psp, tmp_path / f"{psp.name}.zip") if zipped else psp
    found = {mode: _transfer(sip, _out(tmp_path, mode), mode, monkeypatch) for mode in MODES}
    assert found["pool"] == found["serial"] == found["streamed"] == found["pool, streamed"]
    codes = [f.code for f in found["serial"]]
    assert {"NDK008", "NDK013", "NDK016", "NDK017", "NDK018", "NDK019"} <= set(codes)
    paths = [f.path for f in found["serial"] if f.code in ("NDK013", "NDK017", "NDK018", "NDK019")]
    assert paths == sorted(paths, key=lambda p: re.findall(r"_(\d{4})\.", p))  # page by page
    assert not any(_out(tmp_path, mode).exists() for mode in MODES)  # rejected: no bag written


def test_pool_makes_the_same_bag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    psp = make_psp(tmp_path / "src", _spec())
    bags = {}
    for mode in MODES:
        out = _out(tmp_path, mode)
        assert _transfer(psp, out, mode, monkeypatch) == []
        bags[mode] = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                      for p in sorted(out.rglob("*")) if p.is_file()}
    assert bags["pool"] == bags["serial"] == bags["streamed"] == bags["pool, streamed"]
    assert len([p for p in bags["pool"] if p.startswith("data/")]) == sum(1 for p in psp.rglob("*") if p.is_file())


def test_no_fork_beside_other_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process running other threads (one of them could hold a lock the child inherits
    held) takes the files in the calling process, with the same result."""
    psp = make_psp(tmp_path / "src", _spec())
    monkeypatch.setattr(intake, "POOL_FROM", 1)
    monkeypatch.setattr(intake, "ProcessPoolExecutor", Counted)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not intake._may_fork()
        made = Counted.made
        assert transfer_ndk(psp, tmp_path / "bag", [], LIMITS, 2)[0].findings == []
        assert Counted.made == made
    finally:
        stop.set()
        other.join()
