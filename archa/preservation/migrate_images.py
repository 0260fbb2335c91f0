"""The image pathway: TIFF, PNG and BMP to lossless JPEG 2000 (JP2) with Pillow (OpenJPEG),
and the verification of the JP2.

Pillow writes a JP2 with the 5-3 reversible wavelet; its header is then rewritten to carry the
source's ICC profile (restricted ICC, colr method 2) and resolution (resc). Sources with more than
one image, more than 8 bits per colour sample (Pillow reads them as 8) or a pixel mode or ICC
profile a JP2 cannot hold are refused, not migrated; bilevel images are stored as 8-bit grey and
palette images expanded; other metadata (TIFF tags, EXIF, XMP, the EXIF orientation) is not
carried (all said in the note). A JP2 is verified by jpylyzer (valid, lossless) and by
decoding to the same pixels as the source, with the ICC profile and resolution carried.
"""

from __future__ import annotations

import functools
import shutil
import struct
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from archa.preservation.toolrun import Made, place_output

if TYPE_CHECKING:
    from PIL import Image

# PRONOM PUIDs, as Siegfried names them on files made with the tools of this machine
IMAGES = ("fmt/353", "fmt/7", "fmt/8", "fmt/9", "fmt/10",  # TIFF
          "fmt/11", "fmt/12", "fmt/13",  # PNG 1.0-1.2
          "fmt/114", "fmt/115", "fmt/116", "fmt/117", "fmt/118", "fmt/119")  # Windows Bitmap
JP2 = "x-fmt/392"


@functools.cache
def pillow_version() -> str | None:
    import PIL
    from PIL import features

    if not features.check("jpg_2000"):
        return None
    return f"OpenJPEG {features.version('jpg_2000')} (Pillow {PIL.__version__})"


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


def run_jp2(src: Path, work: Path, helper: Path, _puid: str, _timeout: float) -> Made:
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
                return Made(None, shown, f"{src.name} is not migrated: {problem}")
            ready.save(made, "JPEG2000", irreversible=False, no_jp2=False)
            orientation = im.getexif().get(0x0112, 1)
        dpi = (float(dpi[0]), float(dpi[1])) if dpi and min(dpi) > 0 else None
        _rewrite_jp2(made, out, icc, dpi)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        return Made(None, shown, f"Pillow cannot convert {src.name}: {e}")
    carried = [w for w, v in (("ICC profile", icc), ("resolution", dpi)) if v]
    notes = [note] if note else []
    notes.append(f"carried into the JP2 header: {' and '.join(carried) or 'nothing (none in the source)'}; "
                 "other metadata (TIFF tags, EXIF, XMP) is not carried")
    if orientation != 1:
        notes.append(f"the EXIF orientation ({orientation}) is not carried: the JP2 shows the stored pixels")
    return Made(place_output(out, work, src, ".jp2"), shown, note="; ".join(notes))


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


def check_jp2(src: Path, output: Path, _timeout: float) -> tuple[list[str], list[str]]:
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
