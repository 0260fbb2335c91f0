"""Preservation pathways: one tool run that migrates a file to a preservation format, and the
verification of what it made.

A pathway (`PATHWAYS`) takes the formats in its `sources` and makes one output that must be
identified as one of its `targets`; `run_pathway` runs the tool on the source (never modified)
inside an empty work folder, then `verify` checks the output: its identification, and what
the target allows to be checked: PDF/A by archa's PDF/A checks (naming what they do not check)
and the page count; lossless images by decoding to the same pixels (and the ICC profile and
resolution carried); audio and video by decoding to the same samples and frames.

Every external tool runs as a subprocess with stdin closed, a timeout (per run), a minimal
environment whose HOME, TMPDIR and LibreOffice profile live in a helper folder inside the work
folder (removed afterwards), and writes to a fixed name in that folder; the verified output is
then renamed to `<source stem><extension>` in the work folder. A tool failure or a failed
verification is an `Outcome` with `ok` False and a `problem` (an output that failed verification
is left in the work folder for inspection); nothing is written outside the work folder.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import shlex
import shutil
import signal
import struct
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archa.errors import UsageError
from archa.preservation.identify import FormatResult, identify_many
from archa.preservation.pdfa import NOT_CHECKED, check_pdfa

if TYPE_CHECKING:
    from PIL import Image

# PRONOM PUIDs, as Siegfried names them on files made with the tools of this machine
PDF = ("fmt/14", "fmt/15", "fmt/16", "fmt/17", "fmt/18", "fmt/19", "fmt/20", "fmt/276", "fmt/1129")
WORD = ("fmt/39", "fmt/40", "fmt/609", "fmt/412")  # Word 6/95, 97-2003, generic 6.0-2003, 2007 onwards
RTF = ("fmt/45", "fmt/46", "fmt/47", "fmt/48", "fmt/49", "fmt/50", "fmt/51", "fmt/52", "fmt/53", "fmt/355",
       "fmt/969")
ODT = ("fmt/136", "fmt/290", "fmt/291", "fmt/1756")  # OpenDocument Text 1.0, 1.1, 1.2, 1.3
EXCEL = ("fmt/59", "fmt/60", "fmt/61", "fmt/62", "fmt/214")  # 5.0/95, 95, 97-2003, 2000-2003, 2007 onwards
ODS = ("fmt/137", "fmt/294", "fmt/295", "fmt/1755")
POWERPOINT = ("fmt/125", "fmt/126", "fmt/215")  # 95, 97-2003, 2007 onwards
ODP = ("fmt/138", "fmt/292", "fmt/293", "fmt/1754")
IMAGES = ("fmt/353", "fmt/7", "fmt/8", "fmt/9", "fmt/10",  # TIFF
          "fmt/11", "fmt/12", "fmt/13",  # PNG 1.0-1.2
          "fmt/114", "fmt/115", "fmt/116", "fmt/117", "fmt/118", "fmt/119")  # Windows Bitmap
AUDIO = ("fmt/134", "x-fmt/279", "fmt/132", "x-fmt/135", "fmt/414", "x-fmt/136")  # MP3, WMA, AIFF, AIFF-C
VIDEO = ("fmt/5", "fmt/199", "x-fmt/384", "fmt/649", "fmt/640", "x-fmt/385", "x-fmt/386", "fmt/585",
         "fmt/133", "fmt/131", "fmt/441")  # AVI, MP4, QuickTime, MPEG-1/2 ES and PS, MPEG-2 TS, WMV, ASF
PDFA_2B, JP2, FLAC, MATROSKA = "fmt/477", "x-fmt/392", "fmt/279", "fmt/569"

# office kind -> (source PUIDs, ODF PUIDs, ODF extension, ODF filter, PDF export filter)
OFFICE = {"text": (WORD + RTF + ODT, ODT, ".odt", "writer8", "writer_pdf_Export"),
          "spreadsheet": (EXCEL + ODS, ODS, ".ods", "calc8", "calc_pdf_Export"),
          "presentation": (POWERPOINT + ODP, ODP, ".odp", "impress8", "impress_pdf_Export")}
OFFICE_SUFFIXES = {".doc": "text", ".docx": "text", ".rtf": "text", ".odt": "text", ".xls": "spreadsheet",
                   ".xlsx": "spreadsheet", ".ods": "spreadsheet", ".ppt": "presentation",
                   ".pptx": "presentation", ".odp": "presentation"}
PDFA2_OPTIONS = '{"SelectPdfVersion":{"type":"long","value":"2"}}'  # LibreOffice: 2 is PDF/A-2b

GS, LO, PILLOW, FFMPEG = "Ghostscript", "LibreOffice", "OpenJPEG (Pillow)", "ffmpeg"
DEBIAN_PACKAGES = {GS: "ghostscript",
                   LO: "libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui",
                   PILLOW: "libopenjp2-7 (and a Pillow built with it)", FFMPEG: "ffmpeg"}
HELPER = ".archa-tool"  # the helper folder inside the work folder


@dataclass(frozen=True)
class Pathway:
    name: str
    description: str
    tool: str
    extension: str  # of the output; "" when it depends on the input (office-odf)
    sources: tuple[str, ...]  # PUIDs it takes
    targets: tuple[str, ...]  # PUIDs an output may be identified as


PATHWAYS: dict[str, Pathway] = {p.name: p for p in (
    Pathway("pdfa-2b", "PDF to PDF/A-2b (Ghostscript, sRGB output intent)", GS, ".pdf", PDF, (PDFA_2B,)),
    Pathway("office-pdfa", "office documents to PDF/A-2b (LibreOffice)", LO, ".pdf",
            WORD + RTF + ODT + EXCEL + ODS + POWERPOINT + ODP, (PDFA_2B,)),
    Pathway("office-odf", "office documents to OpenDocument: text, spreadsheet or presentation (LibreOffice)",
            LO, "", WORD + RTF + EXCEL + POWERPOINT, ODT + ODS + ODP),
    Pathway("jp2-lossless", "TIFF, PNG, BMP to lossless JPEG 2000 (JP2), pixels verified", PILLOW, ".jp2",
            IMAGES, (JP2,)),
    Pathway("audio-flac", "MP3, WMA, AIFF to FLAC (ffmpeg), samples verified", FFMPEG, ".flac", AUDIO, (FLAC,)),
    Pathway("video-ffv1", "video to FFV1 and FLAC in Matroska (ffmpeg), frames and samples verified", FFMPEG,
            ".mkv", VIDEO, (MATROSKA,)),
)}


@dataclass
class Outcome:
    ok: bool  # the output exists and verified
    output: Path | None  # the verified output (inside the work folder); None when not ok
    puid: str  # what the output was identified as ("" if none)
    tool: str
    tool_version: str
    detail: str  # what was run and what was verified (for the PREMIS event)
    problem: str = ""  # when not ok: why


@dataclass
class _Made:
    output: Path | None
    command: str
    problem: str = ""
    note: str = ""


def _pathway(name: str) -> Pathway:
    try:
        return PATHWAYS[name]
    except KeyError:
        raise UsageError(f"unknown migration pathway {name!r}",
                         hint=f"use one of: {', '.join(PATHWAYS)}") from None


# ---- tools

def _executables(tool: str) -> list[str] | None:
    """The tool's executables found on PATH (looked up on each call), None if one is missing."""
    if tool == GS:
        names: list[list[str]] = [["gs"]]
    elif tool == LO:
        names = [["soffice", "libreoffice"]]
    else:
        names = [["ffmpeg"], ["ffprobe"]]
    found = [next((p for p in map(shutil.which, alternatives) if p), None) for alternatives in names]
    return None if None in found else [p for p in found if p]


def tool_version(name: str) -> str | None:
    """The version string of pathway `name`'s tool, or None when the tool is not installed.
    Cached per process (per executable)."""
    tool = _pathway(name).tool
    if tool == PILLOW:
        return _pillow_version()
    exes = _executables(tool)
    return _version(tool, exes[0]) if exes else None


@functools.cache
def _pillow_version() -> str | None:
    import PIL
    from PIL import features

    if not features.check("jpg_2000"):
        return None
    return f"OpenJPEG {features.version('jpg_2000')} (Pillow {PIL.__version__})"


@functools.cache
def _version(tool: str, exe: str) -> str | None:
    args = {GS: ["--help"], LO: ["--version"], FFMPEG: ["-version"]}[tool]
    with tempfile.TemporaryDirectory() as home:
        _rc, out, _err, _problem = _run([exe, *args], cwd=Path(home), env=_env(Path(home)), timeout=60)
    lines = out.decode("utf-8", "replace").strip().splitlines()
    if not lines:
        return None
    first = lines[0].strip()
    if tool == GS:
        return first.split(" (")[0]  # "GPL Ghostscript 10.00.0 (2022-09-21)"
    if tool == FFMPEG:
        return " ".join(first.split()[0:3:2])  # "ffmpeg version 5.1.9-0+deb12u1 Copyright ..."
    return first


def _missing(tool: str) -> str:
    exe = {GS: "gs", LO: "soffice", PILLOW: "Pillow's JPEG 2000 codec", FFMPEG: "ffmpeg and ffprobe"}[tool]
    return (f"{tool} is not installed ({exe} not found): install the Debian package(s) "
            f"{DEBIAN_PACKAGES[tool]}")


def _env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "TMPDIR": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "SAL_USE_VCLPLUGIN": "svp"}


def _tail(data: bytes, lines: int = 4) -> str:
    text = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    return " | ".join(t for t in text[-lines:] if not t.startswith("Warning: failed to launch javaldx"))


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, bytes, bytes, str]:
    """(exit status, stdout, stderr, problem); the whole process group is killed on timeout."""
    name = Path(cmd[0]).name
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as e:
        return -1, b"", b"", f"{name} could not be started: {e}"
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return -1, b"", b"", f"{name} did not finish within {timeout:g} s and was stopped"
    if proc.returncode != 0:
        why = _tail(err) or _tail(out) or "no message"
        return proc.returncode, out, err, f"{name} exited with status {proc.returncode}: {why}"
    return 0, out, err, ""


def _shown(cmd: list[str], names: dict[Path, str]) -> str:
    """The command line with the executable's name only and paths as the names they stand for."""
    out = [Path(cmd[0]).name]
    for arg in cmd[1:]:
        for path, name in names.items():
            arg = arg.replace(str(path), name)
        out.append(shlex.quote(arg))
    return " ".join(out)


# ---- running

def run_pathway(name: str, src: Path, work: Path, *, source_puid: str, engine: str = "siegfried",
                timeout: float = 600) -> Outcome:
    """Run pathway `name` on `src` (never modified) writing into the empty folder `work`, then
    verify the output. Never raises for a tool or verification failure (ok False, `problem` says
    why); raises UsageError for an unknown pathway. A missing tool names the Debian package."""
    pathway = _pathway(name)
    version = tool_version(name)
    if version is None or (pathway.tool != PILLOW and _executables(pathway.tool) is None):
        return Outcome(False, None, "", pathway.tool, "", "", _missing(pathway.tool))
    helper = work / HELPER
    helper.mkdir()
    try:
        made = _RUNNERS[name](src.resolve(), work.resolve(), helper.resolve(), source_puid, timeout)
    finally:
        shutil.rmtree(helper, ignore_errors=True)
    detail = f"{version}: {made.command}" + (f"; {made.note}" if made.note else "")
    if made.output is None:
        return Outcome(False, None, "", pathway.tool, version, detail, made.problem)
    puid, checked, problem = verify(name, src, made.output, engine=engine, timeout=timeout)
    return Outcome(not problem, None if problem else made.output, puid, pathway.tool, version,
                   f"{detail}; {checked}", problem)


def _place(made: Path, work: Path, src: Path, extension: str) -> Path:
    target = work / (src.stem + extension)
    os.replace(made, target)
    return target


def _gs(src: Path, work: Path, helper: Path, _puid: str, timeout: float) -> _Made:
    icc, origin = _srgb_profile()
    (helper / "srgb.icc").write_bytes(icc)
    profile = str(helper / "srgb.icc").replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    prefix = helper / "pdfa2-intent.ps"  # not PDFA_def.ps: Ghostscript would find its own sample first
    prefix.write_text(PDFA_DEF.replace("%ICC%", profile), encoding="utf-8")
    out = helper / "out.pdf"
    cmd = [*(_executables(GS) or ["gs"]), "-q", "-dPDFA=2", "-dPDFACompatibilityPolicy=1",
           "-sColorConversionStrategy=RGB", "-sDEVICE=pdfwrite", "-dBATCH", "-dNOPAUSE", "-dSAFER",
           f"--permit-file-read={helper / 'srgb.icc'}", f"-sOutputFile={out}", str(prefix), str(src)]
    shown = _shown(cmd, {out: src.stem + ".pdf", helper: ".", src: src.name})
    shown += f" ({prefix.name}: the output intent GTS_PDFA1 with the sRGB profile {origin})"
    _rc, stdout, stderr, problem = _run(cmd, cwd=helper, env=_env(helper), timeout=timeout)
    if not problem and not (out.is_file() and out.stat().st_size):
        problem = f"Ghostscript made no output: {_tail(stderr) or _tail(stdout) or 'no message'}"
    return _Made(None if problem else _place(out, work, src, ".pdf"), shown, problem)


PDFA_DEF = """%!
% PDF/A-2 prefix for Ghostscript's pdfwrite: the output intent with an sRGB ICC profile
[ /_objdef {icc_PDFA} /type /stream /OBJ pdfmark
[ {icc_PDFA} << /N 3 >> /PUT pdfmark
[ {icc_PDFA} (%ICC%) (r) file /PUT pdfmark
[ /_objdef {OutputIntent_PDFA} /type /dict /OBJ pdfmark
[ {OutputIntent_PDFA} << /Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {icc_PDFA}
  /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) >> /PUT pdfmark
[ {Catalog} << /OutputIntents [ {OutputIntent_PDFA} ] >> /PUT pdfmark
"""


@functools.cache
def _srgb_profile() -> tuple[bytes, str]:
    """Ghostscript's own sRGB profile (Debian: libgs-common), else littleCMS's built-in one."""
    found = sorted(glob.glob("/usr/share/ghostscript/*/iccprofiles/srgb.icc")) + \
        glob.glob("/usr/share/color/icc/ghostscript/srgb.icc")
    for path in reversed(found):
        try:
            return Path(path).read_bytes(), path
        except OSError:
            continue
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), "made by littleCMS"


def _office_kind(puid: str, path: Path) -> str:
    for kind, (sources, *_rest) in OFFICE.items():
        if puid in sources:
            return kind
    return OFFICE_SUFFIXES.get(path.suffix.lower(), "")


def _office(target: str) -> Callable[[Path, Path, Path, str, float], _Made]:
    def run(src: Path, work: Path, helper: Path, puid: str, timeout: float) -> _Made:
        kind = _office_kind(puid, src)
        if not kind:
            return _Made(None, "", f"cannot tell whether {src.name} ({puid or 'not identified'}) is a text "
                                   "document, a spreadsheet or a presentation")
        _sources, _odf, odf_ext, odf_filter, pdf_filter = OFFICE[kind]
        ext, convert = (".pdf", f"pdf:{pdf_filter}:{PDFA2_OPTIONS}") if target == "pdf" else \
            (odf_ext, f"{odf_ext[1:]}:{odf_filter}")
        (helper / "in").mkdir()
        copy = helper / "in" / ("source" + src.suffix.lower())  # LibreOffice leaves lock files beside
        shutil.copyfile(src, copy)
        outdir = helper / "out"
        cmd = [*(_executables(LO) or ["soffice"]), f"-env:UserInstallation={(helper / 'profile').as_uri()}",
               "--headless", "--invisible", "--nologo", "--norestore", "--nolockcheck",
               "--convert-to", convert, "--outdir", str(outdir), str(copy)]
        shown = _shown(cmd, {helper / "profile": "<profile>", outdir: ".", copy: src.name})
        _rc, out, err, problem = _run(cmd, cwd=helper, env=_env(helper), timeout=timeout)
        made = outdir / ("source" + ext)
        if not problem and not (made.is_file() and made.stat().st_size):
            problem = f"LibreOffice made no output: {_tail(err) or _tail(out) or 'no message'}"
        return _Made(None if problem else _place(made, work, src, ext), shown, problem)
    return run


# ---- JPEG 2000

def _reads_fewer_bits(im: Image.Image) -> bool:
    """Pillow reads 16-bit RGB (PNG, TIFF) as 8 bits per sample: a JP2 of it would lose precision."""
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        return False
    bits = getattr(im, "tag_v2", {}).get(258)
    if bits and max(bits if isinstance(bits, tuple) else (bits,)) > 8:
        return True
    tile = getattr(im, "tile", None)
    args = tile[0].args if tile else None
    raw = args[0] if isinstance(args, tuple) and args else args
    return isinstance(raw, str) and (";16" in raw or ";32" in raw)


def _jp2_ready(im: Image.Image) -> tuple[Image.Image | None, str, str]:
    """(the image as the JP2 holds it, note, problem)."""
    from PIL import Image

    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        return None, "", f"it holds {frames} images; jp2-lossless migrates single images only"
    if _reads_fewer_bits(im):
        return None, "", ("it has more than 8 bits per sample in colour, which Pillow reads as 8: "
                          "a JP2 made from that would lose precision")
    if im.mode in ("L", "LA", "RGB", "RGBA", "I;16"):
        return im, "", ""
    if im.mode == "I;16B":
        return Image.frombytes("I;16", im.size, im.tobytes(), "raw", "I;16B"), "", ""
    if im.mode == "1":
        return im.convert("L"), "bilevel image stored as 8-bit grey (0 and 255)", ""
    if im.mode in ("P", "PA"):
        mode = "RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB"
        return im.convert(mode), f"palette image expanded to {mode}", ""
    return None, "", (f"its pixel mode {im.mode} has no lossless JP2 form here (JP2 takes grey, grey with "
                      "alpha, RGB, RGBA and 16-bit grey)")


def _icc_problem(icc: bytes, mode: str) -> str:
    """Why a JP2 (restricted ICC, ISO/IEC 15444-1 I.5.3.3) cannot hold this profile; "" if it can."""
    if len(icc) < 132:
        return "its ICC profile is truncated"
    count = struct.unpack_from(">I", icc, 128)[0]
    tags = {icc[132 + 12 * i:136 + 12 * i] for i in range(min(count, (len(icc) - 132) // 12))}
    space, grey = icc[16:20], mode in ("L", "LA", "I;16")
    if icc[12:16] not in (b"scnr", b"mntr") or b"A2B0" in tags:
        return "its ICC profile is not an input or display profile based on a matrix or a curve"
    if space == b"GRAY" and grey and b"kTRC" in tags:
        return ""
    if space == b"RGB " and not grey and {b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC"} <= tags:
        return ""
    return f"its ICC profile ({space.decode('latin-1').strip()}) is not a matrix-based RGB or a grey " \
           f"profile matching its pixels ({mode})"


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size < 8 or pos + size > len(data):
            raise ValueError("malformed JP2 header box")
        out.append((kind, data[pos + 8:pos + size]))
        pos += size
    return out


def _jp2_header(path: Path) -> tuple[list[tuple[bytes, bytes]], int]:
    """The top-level boxes before the codestream (with their payloads) and the codestream's offset."""
    boxes: list[tuple[bytes, bytes]] = []
    pos = 0
    with path.open("rb") as f:
        while True:
            head = f.read(8)
            if len(head) < 8:
                raise ValueError("no codestream box")
            size, kind = struct.unpack(">I4s", head)
            if kind == b"jp2c":
                return boxes, pos
            if size < 8 or size > 1 << 24:
                raise ValueError(f"unexpected {kind!r} box of {size} bytes")
            boxes.append((kind, f.read(size - 8)))
            pos += size


def _resc(dpi: tuple[float, float]) -> bytes:
    """A capture resolution box: pixels per metre as N/D * 10^E (16-bit N and D)."""
    fields = []
    for value in (dpi[1], dpi[0]):  # vertical first
        ppm = Fraction(value) * 5000 / 127
        for exp in range(10):
            frac = (ppm / 10 ** exp).limit_denominator(65535)
            if frac.numerator <= 65535:
                fields.append((frac.numerator, frac.denominator, exp))
                break
        else:
            raise ValueError(f"resolution {value} cannot be written")
    (vn, vd, ve), (hn, hd, he) = fields
    return _box(b"res ", _box(b"resc", struct.pack(">HHHHbb", vn, vd, hn, hd, ve, he)))


def _rewrite_jp2(made: Path, out: Path, icc: bytes | None, dpi: tuple[float, float] | None) -> None:
    """Pillow's JP2 with the source's ICC profile (colr method 2) and resolution (resc) added."""
    boxes, codestream = _jp2_header(made)
    with out.open("wb") as f, made.open("rb") as cs:
        for kind, payload in boxes:
            if kind == b"jp2h":
                subs = [(k, bytes([2, 0, 0]) + icc if k == b"colr" and icc else p)
                        for k, p in _boxes(payload) if k != b"res "]
                payload = b"".join(_box(k, p) for k, p in subs) + (_resc(dpi) if dpi else b"")
            f.write(_box(kind, payload))
        cs.seek(codestream)
        shutil.copyfileobj(cs, f, 1 << 20)


def _jp2(src: Path, work: Path, helper: Path, _puid: str, _timeout: float) -> _Made:
    from PIL import Image

    shown = "Image.save(format='JPEG2000', irreversible=False) (5-3 reversible wavelet, one quality layer)"
    made, out = helper / "pillow.jp2", helper / "out.jp2"
    try:
        with Image.open(src) as im:
            ready, note, problem = _jp2_ready(im)
            icc, dpi = im.info.get("icc_profile") or None, im.info.get("dpi")
            if ready is not None and icc:
                problem = _icc_problem(icc, ready.mode)
            if ready is None or problem:
                return _Made(None, shown, f"{src.name} is not migrated: {problem}")
            ready.save(made, "JPEG2000", irreversible=False, no_jp2=False)
            orientation = im.getexif().get(0x0112, 1)
        dpi = (float(dpi[0]), float(dpi[1])) if dpi and min(dpi) > 0 else None
        _rewrite_jp2(made, out, icc, dpi)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        return _Made(None, shown, f"Pillow cannot convert {src.name}: {e}")
    carried = [w for w, v in (("ICC profile", icc), ("resolution", dpi)) if v]
    notes = [note] if note else []
    notes.append(f"carried into the JP2 header: {' and '.join(carried) or 'nothing (none in the source)'}; "
                 "other metadata (TIFF tags, EXIF, XMP) is not carried")
    if orientation != 1:
        notes.append(f"the EXIF orientation ({orientation}) is not carried: the JP2 shows the stored pixels")
    return _Made(_place(out, work, src, ".jp2"), shown, note="; ".join(notes))


def _jpylyzer(path: Path) -> tuple[bool, str]:
    from jpylyzer import jpylyzer, shared

    shared.printWarning = _quiet  # its warnings go to stderr; the result holds what matters
    result = jpylyzer.checkOneFile(str(path))
    failed = [t.tag for t in result.find("tests").iter() if t.text == "False"][:3] \
        if result.find("tests") is not None else []
    wavelet = result.findtext("properties/contiguousCodestreamBox/cod/transformation") or ""
    return result.findtext("isValid") == "True", f"{wavelet or 'unknown'} wavelet" + \
        (f", failed: {', '.join(failed)}" if failed else "")


def _quiet(_msg: str) -> None:
    pass


def _first_difference(a: Image.Image, b: Image.Image, top: int) -> str:
    for y in range(top, min(a.height, b.height)):
        for x in range(a.width):
            if a.getpixel((x, y)) != b.getpixel((x, y)):
                return f"pixel ({x}, {y}) is {b.getpixel((x, y))} in the JP2, {a.getpixel((x, y))} in the source"
    return f"rows from {top} differ"


def _check_jp2(src: Path, output: Path, _timeout: float) -> tuple[list[str], list[str]]:
    from PIL import Image

    done: list[str] = []
    problems: list[str] = []
    valid, how = _jpylyzer(output)
    if not valid or not how.startswith("5-3 reversible"):
        problems.append(f"jpylyzer does not find a valid lossless JP2 ({how})")
    else:
        done.append(f"jpylyzer: valid JP2, {how}")
    try:
        with Image.open(src) as im, Image.open(output) as jp:
            ref, _note, why = _jp2_ready(im)
            icc, dpi = im.info.get("icc_profile"), im.info.get("dpi")
            if ref is None:
                return done, [*problems, f"the source cannot be compared: {why}"]
            jp.load()
            if (jp.mode, jp.size) != (ref.mode, ref.size):
                return done, [*problems, (f"the JP2 is {jp.mode} {jp.size[0]}x{jp.size[1]}, the source "
                                          f"{ref.mode} {ref.size[0]}x{ref.size[1]}")]
            band = max(1, (1 << 22) // max(1, len(ref.crop((0, 0, ref.width, 1)).tobytes())))
            for top in range(0, ref.height, band):
                box = (0, top, ref.width, min(ref.height, top + band))
                if ref.crop(box).tobytes() != jp.crop(box).tobytes():
                    problems.append(f"the JP2 does not decode to the source's pixels: "
                                    f"{_first_difference(ref, jp, top)}")
                    break
            else:
                done.append(f"decodes to the source's pixels ({ref.mode} {ref.width}x{ref.height})")
            got_dpi = jp.info.get("dpi")
        colr = next((p for k, p in _boxes(dict(_jp2_header(output)[0]).get(b"jp2h", b"")) if k == b"colr"), b"")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        return done, [*problems, f"the images cannot be compared: {e}"]
    if icc and colr[3:] != icc:
        problems.append("the JP2 does not hold the source's ICC profile")
    if dpi and min(dpi) > 0 and not (got_dpi and all(abs(g - d) <= d / 1000 for g, d in zip(got_dpi, dpi))):
        problems.append(f"the JP2's resolution is {got_dpi or 'missing'}, the source's {dpi}")
    return done, problems


# ---- audio and video (ffmpeg)

def _ffmpeg(*args: str) -> list[str]:
    exes = _executables(FFMPEG) or ["ffmpeg", "ffprobe"]
    return [exes[0], "-nostdin", "-hide_banner", "-loglevel", "error", *args]


def _probe(path: Path, timeout: float) -> tuple[list[dict[str, Any]], str]:
    exes = _executables(FFMPEG) or ["ffmpeg", "ffprobe"]
    with tempfile.TemporaryDirectory() as home:
        _rc, out, _err, problem = _run([exes[1], "-v", "error", "-show_streams", "-of", "json", f"file:{path}"],
                                       cwd=Path(home), env=_env(Path(home)), timeout=timeout)
    if problem:
        return [], f"ffprobe cannot read {path.name}: {problem}"
    return list(json.loads(out or b"{}").get("streams", [])), ""


def _streams(streams: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [s for s in streams if s.get("codec_type") == kind
            and not (s.get("disposition") or {}).get("attached_pic")]


def _not_carried(streams: list[dict[str, Any]], carried: int) -> str:
    left = len(streams) - carried
    kinds = sorted({str(s.get("codec_type")) for s in streams if s.get("codec_type") not in ("video", "audio")})
    return f"not carried: {left} other stream(s) ({', '.join(kinds) or 'attached pictures'})" if left else ""


def _convert(src: Path, work: Path, helper: Path, timeout: float, ext: str,
             args: list[str]) -> _Made:
    out = helper / ("out" + ext)
    cmd = _ffmpeg("-i", f"file:{src}", *args, f"file:{out}")
    shown = _shown(cmd, {out: src.stem + ext, src: src.name})
    _rc, _out, _err, problem = _run(cmd, cwd=helper, env=_env(helper), timeout=timeout)
    return _Made(None if problem else _place(out, work, src, ext), shown, problem)


def _flac(src: Path, work: Path, helper: Path, _puid: str, timeout: float) -> _Made:
    streams, problem = _probe(src, timeout)
    audio = _streams(streams, "audio")
    if not problem and len(audio) != 1:
        problem = f"{src.name} has {len(audio)} audio streams; FLAC holds exactly one"
    if problem:
        return _Made(None, "", problem)
    made = _convert(src, work, helper, timeout, ".flac", ["-map", f"0:{audio[0]['index']}", "-c:a", "flac"])
    made.note = _not_carried(streams, 1)
    return made


def _ffv1(src: Path, work: Path, helper: Path, _puid: str, timeout: float) -> _Made:
    streams, problem = _probe(src, timeout)
    video, audio = _streams(streams, "video"), _streams(streams, "audio")
    if not problem and not video:
        problem = f"{src.name} has no video stream"
    if problem:
        return _Made(None, "", problem)
    args = [a for s in video + audio for a in ("-map", f"0:{s['index']}")]
    for i, s in enumerate(video):  # full-range (JPEG) YUV kept full range, not squeezed into TV range
        if str(s.get("pix_fmt", "")).startswith("yuvj"):
            fmt = "yuv" + str(s["pix_fmt"])[4:]
            args += [f"-filter:v:{i}", f"scale=in_range=full:out_range=full,format={fmt}", f"-color_range:v:{i}", "pc"]
    args += ["-c:v", "ffv1", "-level", "3", "-g", "1", "-slicecrc", "1", "-c:a", "flac", "-fps_mode", "passthrough"]
    made = _convert(src, work, helper, timeout, ".mkv", args)
    made.note = _not_carried(streams, len(video) + len(audio))
    return made


def _ffmpeg_out(path: Path, timeout: float, *args: str) -> tuple[str, str]:
    with tempfile.TemporaryDirectory() as home:
        _rc, out, _err, problem = _run(_ffmpeg("-i", f"file:{path}", *args, "-"), cwd=Path(home),
                                       env=_env(Path(home)), timeout=timeout)
    return out.decode("ascii", "replace"), problem


def _same_audio(src: Path, s: dict[str, Any], output: Path, o: dict[str, Any], i: int,
                timeout: float) -> tuple[str, str]:
    """(what was compared, problem) of source stream `s` and output audio stream `o` (number i)."""
    if o.get("codec_name") != "flac":
        return "", f"output audio stream {i} is {o.get('codec_name')}, not FLAC"
    for key in ("sample_rate", "channels"):
        if str(s.get(key)) != str(o.get(key)):
            return "", f"audio stream {i}: {key} is {o.get(key)} in the output, {s.get(key)} in the source"
    bits = int(o.get("bits_per_raw_sample") or 0) or (16 if o.get("sample_fmt") == "s16" else 32)
    pcm = "pcm_s16le" if bits <= 16 else "pcm_s24le" if bits <= 24 else "pcm_s32le"
    digests = []
    for path, spec in ((src, f"0:{s['index']}"), (output, f"0:a:{i}")):
        out, problem = _ffmpeg_out(path, timeout, "-map", spec, "-c:a", pcm, "-f", "md5")
        if problem:
            return "", f"the audio of {path.name} cannot be decoded: {problem}"
        digests.append(out.strip())
    if digests[0] != digests[1]:
        return "", (f"audio stream {i} does not decode to the source's samples (as {pcm[4:7]}: "
                    f"{digests[1]} in the output, {digests[0]} in the source)")
    return f"audio {i}: same samples as {pcm[4:]} PCM ({s.get('sample_rate')} Hz, {s.get('channels')} ch)", ""


def _frames(path: Path, spec: str, pix_fmt: str, timeout: float) -> tuple[list[str], str]:
    out, problem = _ffmpeg_out(path, timeout, "-map", spec, "-fps_mode", "passthrough", "-pix_fmt", pix_fmt,
                               "-c:v", "rawvideo", "-f", "framemd5")
    return [ln.rsplit(",", 1)[-1].strip() for ln in out.splitlines() if ln and not ln.startswith("#")], problem


def _check_av(src: Path, output: Path, timeout: float, video: bool) -> tuple[list[str], list[str]]:
    (source, p1), (made, p2) = _probe(src, timeout), _probe(output, timeout)
    if p1 or p2:
        return [], [p for p in (p1, p2) if p]
    done: list[str] = []
    problems: list[str] = []
    kinds = ("video", "audio") if video else ("audio",)
    for kind in kinds:
        ours, theirs = _streams(source, kind), _streams(made, kind)
        if not video:
            ours = ours[:1]
        if len(ours) != len(theirs):
            problems.append(f"the output has {len(theirs)} {kind} stream(s), the source {len(ours)}")
            continue
        for i, (s, o) in enumerate(zip(ours, theirs)):
            if kind == "audio":
                what, problem = _same_audio(src, s, output, o, i, timeout)
            else:
                what, problem = _same_video(src, s, output, o, i, timeout)
            done += [what] if what else []
            problems += [problem] if problem else []
    return done, problems


def _same_video(src: Path, s: dict[str, Any], output: Path, o: dict[str, Any], i: int,
                timeout: float) -> tuple[str, str]:
    if o.get("codec_name") != "ffv1":
        return "", f"output video stream {i} is {o.get('codec_name')}, not FFV1"
    pix_fmt = str(s.get("pix_fmt") or o.get("pix_fmt"))
    (ours, p1), (theirs, p2) = _frames(src, f"0:{s['index']}", pix_fmt, timeout), \
        _frames(output, f"0:v:{i}", pix_fmt, timeout)
    if p1 or p2:
        return "", f"video stream {i} cannot be decoded: {p1 or p2}"
    if len(ours) != len(theirs):
        return "", f"video stream {i} has {len(theirs)} frames in the output, {len(ours)} in the source"
    bad = next((n for n, (a, b) in enumerate(zip(ours, theirs)) if a != b), None)
    if bad is not None:
        return "", f"video stream {i}: frame {bad} (of {len(ours)}) does not decode to the source's pixels"
    return f"video {i}: {len(ours)} frames decode to the source's pixels ({pix_fmt})", ""


# ---- verification

def _check_pdf(src: Path, output: Path, pages: bool) -> tuple[list[str], list[str]]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    done: list[str] = []
    problems: list[str] = []
    report = check_pdfa(output)
    if not report.ok:
        problems.append(f"archa's PDF/A checks fail ({report.label}): {'; '.join(report.problems)}")
    elif (report.part, report.conformance) != ("2", "B"):
        problems.append(f"the output declares {report.label}, not PDF/A-2b")
    else:
        done.append(f"PDF/A-2b checks passed (not checked: {', '.join(NOT_CHECKED)})")
    if pages:
        try:
            counts = [len(PdfReader(p, strict=False).pages) for p in (src, output)]
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as e:
            return done, [*problems, f"the pages cannot be counted: {e}"]
        if counts[0] != counts[1]:
            problems.append(f"the output has {counts[1]} page(s), the source {counts[0]}")
        else:
            done.append(f"{counts[0]} page(s) as in the source")
    return done, problems


_Check = Callable[[Path, Path, float], tuple[list[str], list[str]]]
_CHECKS: dict[str, _Check] = {
    "pdfa-2b": lambda s, o, t: _check_pdf(s, o, True),
    "office-pdfa": lambda s, o, t: _check_pdf(s, o, False),
    "office-odf": lambda s, o, t: ([], []),
    "jp2-lossless": _check_jp2,
    "audio-flac": lambda s, o, t: _check_av(s, o, t, False),
    "video-ffv1": lambda s, o, t: _check_av(s, o, t, True),
}
_RUNNERS: dict[str, Callable[[Path, Path, Path, str, float], _Made]] = {
    "pdfa-2b": _gs, "office-pdfa": _office("pdf"), "office-odf": _office("odf"), "jp2-lossless": _jp2,
    "audio-flac": _flac, "video-ffv1": _ffv1,
}


def _named(r: FormatResult) -> str:
    return f"{r.puid} ({r.name}{' ' + r.version if r.version else ''})" if r.name else r.puid


def verify(name: str, src: Path, output: Path, *, engine: str = "siegfried",
           timeout: float = 3600) -> tuple[str, str, str]:
    """(puid, detail, problem) of `output` made from `src` by pathway `name`; problem is "" when
    it verifies (identified as a target, and the pathway's content checks pass)."""
    pathway = _pathway(name)
    if not output.is_file():
        return "", "", f"the output {output.name} does not exist"
    result = identify_many([output], engine)[0]
    targets = pathway.targets
    if name == "office-odf":
        kind = _office_kind(identify_many([src], engine)[0].puid, src) or \
            _office_kind("", Path("x" + output.suffix))
        targets = OFFICE[kind][1] if kind else targets
    engine_named = f"{result.engine} {result.engine_version}"
    done = [f"identified {_named(result)} by {engine_named}"]
    problems = [] if result.puid in targets else \
        [f"the output is identified as {_named(result)} by {engine_named}, not {' or '.join(targets)}"]
    checked, found = _CHECKS[name](src, output, timeout)
    return result.puid, "; ".join(done + checked), " ".join(p.rstrip(".") + "." for p in problems + found)
