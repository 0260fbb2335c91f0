"""Preservation pathways: each tool run on fixtures made here, and each verification shown a
doctored output (a PDF that is not PDF/A, a JP2 with one pixel changed, a FLAC of other
samples, a video with one frame changed), a missing, failing and hanging tool."""

from __future__ import annotations

import hashlib
import math
import shutil
import struct
import subprocess
import wave
import zlib
from pathlib import Path

import pytest

from archa.errors import UsageError
from archa.preservation.identify import identify_many
from archa.preservation.pathways import PATHWAYS, Outcome, run_pathway, tool_version, verify
from archa.preservation.pdfa import check_pdfa
from tests.nsesss_maker import odt_bytes
from tests.tools import needs

HAS_GS = shutil.which("gs") is not None
HAS_LO = (shutil.which("soffice") or shutil.which("libreoffice")) is not None
HAS_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
needs_gs = needs("gs")  # skipped where missing, failed under `make test` (tests/tools.py)
needs_lo = needs("soffice")
needs_ffmpeg = needs("ffmpeg", "ffprobe")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def migrate(name: str, src: Path, work: Path, puid: str = "", timeout: float = 600) -> Outcome:
    """Run a pathway and check what every run must hold: the source untouched, and the work
    folder holding the output alone."""
    before = sha256(src)
    work.mkdir()
    outcome = run_pathway(name, src, work, source_puid=puid or identify_many([src], "siegfried")[0].puid,
                          timeout=timeout)
    assert sha256(src) == before, "the source was modified"
    left = sorted(p.name for p in work.iterdir())
    if outcome.ok:
        assert outcome.output is not None and outcome.output.parent == work
        assert left == [outcome.output.name], left
        assert outcome.output.name == src.stem + (outcome.output.suffix if not PATHWAYS[name].extension
                                                  else PATHWAYS[name].extension)
        assert outcome.problem == ""
    else:
        assert outcome.output is None and outcome.problem
        assert ".archa-tool" not in left
    return outcome


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True,
                   stdin=subprocess.DEVNULL, timeout=60)


# ---- fixtures

def pdf_bytes(pages: int) -> bytes:
    """A small valid PDF 1.4 with a line of Helvetica (not embedded) on each page."""
    font = 3 + 2 * pages
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            f"<< /Type /Pages /Kids [{' '.join(f'{3 + 2 * i} 0 R' for i in range(pages))}] /Count {pages} >>"
            .encode()]
    for i in range(pages):
        text = f"BT /F1 24 Tf 72 720 Td (Page {i + 1} of the test) Tj ET".encode()
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 {font} 0 R"
                    f" >> >> /Contents {4 + 2 * i} 0 R >>".encode())
        objs.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text))
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


FODP = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.3"
 office:mimetype="application/vnd.oasis.opendocument.presentation"><office:body><office:presentation>
 <draw:page draw:name="one"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm">
 <draw:text-box><text:p>Slide one</text:p></draw:text-box></draw:frame></draw:page>
 <draw:page draw:name="two"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm">
 <draw:text-box><text:p>Slide two</text:p></draw:text-box></draw:frame></draw:page>
</office:presentation></office:body></office:document>
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every source, made by code: PDFs, office documents, images, audio and video."""
    d = tmp_path_factory.mktemp("sources")
    (d / "one.pdf").write_bytes(pdf_bytes(1))
    (d / "two.pdf").write_bytes(pdf_bytes(2))
    (d / "letter.odt").write_bytes(odt_bytes())
    if HAS_LO:
        (d / "lo").mkdir()
        (d / "lo" / "report.txt").write_text("Hello archive\nA second line of the report.\n", encoding="utf-8")
        (d / "lo" / "table.csv").write_text("year,files\n2023,12\n2024,30\n", encoding="utf-8")
        (d / "lo" / "slides.fodp").write_text(FODP, encoding="utf-8")
        soffice = shutil.which("soffice") or shutil.which("libreoffice") or "soffice"
        for target, name in (("docx", "report.txt"), ("xlsx", "table.csv"), ("pptx", "slides.fodp")):
            subprocess.run([soffice, f"-env:UserInstallation={(d / 'lo' / 'profile').as_uri()}", "--headless",
                            "--norestore", "--convert-to", target, "--outdir", str(d), str(d / "lo" / name)],
                           check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=120,
                           env={"PATH": "/usr/bin:/bin", "HOME": str(d / "lo")})
    images(d)
    for name, freq in (("tone.wav", 440), ("other.wav", 660)):
        with wave.open(str(d / name), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(22050)
            w.writeframes(b"".join(struct.pack("<hh", int(8000 * math.sin(2 * math.pi * freq * i / 22050)),
                                               int(4000 * math.sin(3 * math.pi * freq * i / 22050)))
                                   for i in range(4410)))
    if HAS_FFMPEG:
        ffmpeg("-i", str(d / "tone.wav"), "-c:a", "pcm_s16be", str(d / "tone.aiff"))
        # Debian's ffmpeg (what `make test` installs) encodes MP3 with libmp3lame
        ffmpeg("-i", str(d / "tone.wav"), "-c:a", "libmp3lame", "-b:a", "96k", str(d / "tone.mp3"))
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-f", "lavfi", "-i",
               "sine=frequency=440:sample_rate=22050", "-frames:v", "10", "-t", "1", "-c:v", "mpeg4",
               "-c:a", "pcm_s16le", str(d / "clip.avi"))
    return d


def images(d: Path) -> None:
    import random

    from PIL import Image, ImageCms

    rnd = random.Random(7)
    rgb = Image.frombytes("RGB", (48, 32), rnd.randbytes(48 * 32 * 3))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rgb.save(d / "scan.tif", icc_profile=srgb, dpi=(300, 300))
    Image.frombytes("I;16", (40, 30), rnd.randbytes(40 * 30 * 2)).save(d / "grey16.tif")
    rgb.save(d / "picture.png")
    rgb.convert("P").save(d / "palette.png")
    rgb.save(d / "picture.bmp")
    rgb.save(d / "pages.tif", save_all=True, append_images=[rgb.convert("L").convert("RGB")])
    # 16 bits per sample in colour, which Pillow reads as 8: refused
    rows = b"".join(b"\x00" + rnd.randbytes(4 * 6) for _ in range(3))
    (d / "deep.png").write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 3, 16, 2, 0, 0, 0))
                                 + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# ---- the table

def test_every_pathway_is_described_and_unknown_names_are_refused(tmp_path: Path) -> None:
    assert list(PATHWAYS) == ["pdfa-2b", "office-pdfa", "office-odf", "jp2-lossless", "audio-flac", "video-ffv1"]
    for name, p in PATHWAYS.items():
        assert p.name == name and p.description and p.tool and p.sources and p.targets
        assert p.extension.startswith(".") or name == "office-odf"
    assert tool_version("jp2-lossless").startswith("OpenJPEG ")  # type: ignore[union-attr]
    with pytest.raises(UsageError):
        run_pathway("pdf-to-tiff", tmp_path, tmp_path, source_puid="fmt/18")
    with pytest.raises(UsageError):
        tool_version("pdf-to-tiff")


@needs_gs
@needs_lo
@needs_ffmpeg
def test_tool_versions() -> None:
    assert tool_version("pdfa-2b").startswith("GPL Ghostscript ")  # type: ignore[union-attr]
    assert tool_version("office-pdfa").startswith("LibreOffice ")  # type: ignore[union-attr]
    assert tool_version("video-ffv1").startswith("ffmpeg ")  # type: ignore[union-attr]


# ---- PDF/A

@needs_gs
@pytest.mark.parametrize("name", ["one.pdf", "two.pdf"])
def test_pdfa_2b(files: Path, tmp_path: Path, name: str) -> None:
    out = migrate("pdfa-2b", files / name, tmp_path / "work", "fmt/18")
    assert out.ok, out.problem
    assert out.puid == "fmt/477" and out.output is not None
    report = check_pdfa(out.output)
    assert report.ok and report.label == "PDF/A-2b", report.problems
    assert out.tool == "Ghostscript" and out.tool_version.startswith("GPL Ghostscript")
    assert "-dPDFA=2" in out.detail and "identified fmt/477" in out.detail and "not checked:" in out.detail
    assert str(tmp_path) not in out.detail  # no temporary paths in the event


@needs_gs
def test_pdfa_verification_refuses_a_pdf_that_is_not_pdfa_and_another_page_count(files: Path,
                                                                                 tmp_path: Path) -> None:
    puid, _detail, problem = verify("pdfa-2b", files / "two.pdf", files / "two.pdf")
    assert puid == "fmt/18"
    assert "not fmt/477" in problem and "PDF/A checks fail" in problem and "output intent" in problem
    out = migrate("pdfa-2b", files / "one.pdf", tmp_path / "work", "fmt/18")
    assert out.ok and out.output is not None
    puid, _detail, problem = verify("pdfa-2b", files / "two.pdf", out.output)
    assert puid == "fmt/477" and "the output has 1 page(s), the source 2" in problem


# ---- office documents

@needs_lo
@pytest.mark.parametrize("name", ["report.docx", "letter.odt", "table.xlsx", "slides.pptx"])
def test_office_pdfa(files: Path, tmp_path: Path, name: str) -> None:
    out = migrate("office-pdfa", files / name, tmp_path / "work")
    assert out.ok, out.problem
    assert out.puid == "fmt/477" and out.output is not None and check_pdfa(out.output).ok
    assert "SelectPdfVersion" in out.detail and "<profile>" in out.detail


@needs_lo
@pytest.mark.parametrize(("name", "suffix", "puid"), [("report.docx", ".odt", "fmt/1756"),
                                                      ("table.xlsx", ".ods", "fmt/1755"),
                                                      ("slides.pptx", ".odp", "fmt/1754")])
def test_office_odf(files: Path, tmp_path: Path, name: str, suffix: str, puid: str) -> None:
    source_puid = identify_many([files / name], "siegfried")[0].puid
    assert source_puid in PATHWAYS["office-odf"].sources
    out = migrate("office-odf", files / name, tmp_path / "work", source_puid)
    assert out.ok, out.problem
    assert out.puid == puid and out.output is not None and out.output.suffix == suffix


@needs_lo
def test_odf_verification_wants_the_kind_of_the_source(files: Path) -> None:
    puid, _detail, problem = verify("office-odf", files / "report.docx", files / "letter.odt")
    assert puid == "fmt/291" and problem == ""
    puid, _detail, problem = verify("office-odf", files / "table.xlsx", files / "letter.odt")
    assert puid == "fmt/291" and "not fmt/137 or fmt/294 or fmt/295 or fmt/1755" in problem


# ---- images

@pytest.mark.parametrize(("name", "mode"), [("scan.tif", "RGB"), ("grey16.tif", "I;16"), ("picture.png", "RGB"),
                                            ("palette.png", "RGB"), ("picture.bmp", "RGB")])
def test_jp2_lossless(files: Path, tmp_path: Path, name: str, mode: str) -> None:
    from PIL import Image

    out = migrate("jp2-lossless", files / name, tmp_path / "work")
    assert out.ok, out.problem
    assert out.puid == "x-fmt/392" and out.output is not None
    with Image.open(files / name) as src, Image.open(out.output) as jp2:
        assert jp2.mode == mode and jp2.size == src.size
        assert jp2.tobytes() == (src if src.mode == mode else src.convert(mode)).tobytes()
    assert "valid JP2, 5-3 reversible" in out.detail
    if name == "scan.tif":
        assert "ICC profile and resolution" in out.detail
        with Image.open(out.output) as jp2:
            assert jp2.info["dpi"] == pytest.approx((300, 300), rel=1e-4)


def test_jp2_verification_finds_one_changed_pixel(files: Path, tmp_path: Path) -> None:
    from PIL import Image

    out = migrate("jp2-lossless", files / "picture.png", tmp_path / "work")
    assert out.ok and out.output is not None
    with Image.open(out.output) as jp2:
        img = jp2.convert("RGB")
    r, g, b = img.getpixel((5, 7))  # type: ignore[misc]
    img.putpixel((5, 7), (r ^ 1, g, b))
    img.save(tmp_path / "doctored.jp2", "JPEG2000", irreversible=False)
    puid, _detail, problem = verify("jp2-lossless", files / "picture.png", tmp_path / "doctored.jp2")
    assert puid == "x-fmt/392"
    assert "does not decode to the source's pixels: pixel (5, 7)" in problem


@pytest.mark.parametrize(("name", "why"), [("pages.tif", "holds 2 images"), ("deep.png", "Pillow reads as 8")])
def test_jp2_refuses_what_it_cannot_keep(files: Path, tmp_path: Path, name: str, why: str) -> None:
    out = migrate("jp2-lossless", files / name, tmp_path / "work")
    assert not out.ok and why in out.problem


# ---- audio and video

@needs_ffmpeg
@pytest.mark.parametrize(("name", "pcm"), [("tone.aiff", "s16le"), ("tone.mp3", "s24le")])
def test_audio_flac(files: Path, tmp_path: Path, name: str, pcm: str) -> None:
    out = migrate("audio-flac", files / name, tmp_path / "work")
    assert out.ok, out.problem
    assert out.puid == "fmt/279" and f"same samples as {pcm} PCM (22050 Hz, 2 ch)" in out.detail


@needs_ffmpeg
def test_audio_verification_finds_other_samples(files: Path, tmp_path: Path) -> None:
    ffmpeg("-i", str(files / "other.wav"), "-c:a", "flac", str(tmp_path / "other.flac"))
    puid, _detail, problem = verify("audio-flac", files / "tone.aiff", tmp_path / "other.flac")
    assert puid == "fmt/279" and "does not decode to the source's samples" in problem


@needs_ffmpeg
def test_video_ffv1(files: Path, tmp_path: Path) -> None:
    out = migrate("video-ffv1", files / "clip.avi", tmp_path / "work", "fmt/5")
    assert out.ok, out.problem
    assert out.puid == "fmt/569"
    assert "10 frames decode to the source's pixels (yuv420p)" in out.detail
    assert "audio 0: same samples as s16le PCM" in out.detail


@needs_ffmpeg
def test_video_ffv1_keeps_full_range_yuv(files: Path, tmp_path: Path) -> None:
    """Motion JPEG decodes to full-range YUV (yuvj422p), which FFV1 does not take by name: the
    pathway keeps the full range instead of letting ffmpeg squeeze it into TV range."""
    src = tmp_path / "mjpeg.avi"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-frames:v", "5", "-c:v", "mjpeg", "-pix_fmt",
           "yuvj422p", str(src))
    out = migrate("video-ffv1", src, tmp_path / "work", "fmt/5")
    assert out.ok, out.problem
    assert "5 frames decode to the source's pixels (yuvj422p)" in out.detail
    squeezed = tmp_path / "squeezed.mkv"
    ffmpeg("-i", str(src), "-c:v", "ffv1", str(squeezed))
    _puid, _detail, problem = verify("video-ffv1", src, squeezed)
    assert "frame 0 (of 5) does not decode to the source's pixels" in problem


@needs_ffmpeg
def test_video_verification_finds_a_changed_frame(files: Path, tmp_path: Path) -> None:
    doctored = tmp_path / "doctored.mkv"
    ffmpeg("-i", str(files / "clip.avi"), "-vf", "drawbox=x=0:y=0:w=8:h=8:color=red:t=fill:enable='eq(n,4)'",
           "-c:v", "ffv1", "-c:a", "flac", "-fps_mode", "passthrough", str(doctored))
    puid, _detail, problem = verify("video-ffv1", files / "clip.avi", doctored)
    assert puid == "fmt/569" and "frame 4 (of 10) does not decode to the source's pixels" in problem


# ---- tools missing, failing, hanging

@pytest.mark.parametrize(("name", "src", "package"), [("pdfa-2b", "one.pdf", "ghostscript"),
                                                      ("office-pdfa", "letter.odt", "libreoffice-writer"),
                                                      ("audio-flac", "tone.wav", "ffmpeg"),
                                                      ("video-ffv1", "tone.wav", "ffmpeg")])
def test_a_missing_tool_names_the_debian_package(files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 name: str, src: str, package: str) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert tool_version(name) is None
    out = migrate(name, files / src, tmp_path / "work", "fmt/18")
    assert not out.ok and "is not installed" in out.problem and package in out.problem
    assert out.tool == PATHWAYS[name].tool and out.tool_version == ""


FAKE_GS = """#!/bin/sh
case "$1" in --help) echo "GPL Ghostscript 99.0.0 (fake)"; exit 0;; esac
%s
"""


@pytest.mark.parametrize(("body", "timeout", "why"), [
    ('echo "Error: /undefined in --nonsense--" >&2; exit 1', 60.0, "gs exited with status 1: Error: /undefined"),
    ("sleep 30", 0.5, "gs did not finish within 0.5 s and was stopped"),
    ("exit 0", 60.0, "Ghostscript made no output"),
])
def test_a_failing_or_hanging_tool_is_an_outcome_not_an_exception(files: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch, body: str,
                                                                   timeout: float, why: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gs").write_text(FAKE_GS % body)
    (bin_dir / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    out = migrate("pdfa-2b", files / "one.pdf", tmp_path / "work", "fmt/18", timeout=timeout)
    assert not out.ok and why in out.problem, out.problem
    assert out.tool_version == "GPL Ghostscript 99.0.0" and out.detail.startswith("GPL Ghostscript 99.0.0: gs ")
