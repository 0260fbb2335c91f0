"""Images for the tests of image records and their IIIF packages, made by code: each is a
flat colour with a distinct band at its top, so that a tile shows which image it came from."""

from __future__ import annotations

import io
import struct

from PIL import Image, ImageDraw


def picture(size: tuple[int, int], colour: tuple[int, int, int], band: tuple[int, int, int] = (200, 30, 30),
            mode: str = "RGB") -> Image.Image:
    """A `colour` image with a `band` across its top fifth."""
    img = Image.new("RGB", size, colour)
    ImageDraw.Draw(img).rectangle((0, 0, size[0], size[1] // 5), fill=band)
    return img if mode == "RGB" else img.convert(mode)


def encoded(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def jpeg(size: tuple[int, int], colour: tuple[int, int, int], orientation: int = 1) -> bytes:
    """A JPEG; with `orientation` its EXIF Orientation tag (6: to be turned 90° clockwise)."""
    img = picture(size, colour)
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    return encoded(img, "JPEG", quality=90, exif=exif.tobytes())


def png_with_alpha(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    """An RGBA PNG whose lower half is transparent (a viewer shows it on white)."""
    img = picture(size, colour).convert("RGBA")
    ImageDraw.Draw(img).rectangle((0, size[1] // 2, size[0], size[1]), fill=(0, 0, 0, 0))
    return encoded(img, "PNG")


def jp2(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    """A lossless JPEG 2000 (OpenJPEG, as tests/ndk_maker.py writes master copies)."""
    return encoded(picture(size, colour), "JPEG2000", tile_size=(1024, 1024), num_resolutions=4)


def tiff(img: Image.Image, **kw: object) -> bytes:
    return encoded(img, "TIFF", **kw)


def multipage_tiff(pages: list[Image.Image], thumbnail: bool = False) -> bytes:
    """A multi-page TIFF; with `thumbnail` a reduced-resolution copy of the first page after
    it (NewSubfileType 1), which is no page."""
    frames = list(pages)
    if not thumbnail:
        return encoded(frames[0], "TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw")
    buf = io.BytesIO()
    small = frames[0].resize((frames[0].width // 8, frames[0].height // 8))
    with Image.open(io.BytesIO(encoded(frames[0], "TIFF", save_all=True, append_images=[small, *frames[1:]]))) as im:
        out = []
        for i in range(im.n_frames):
            im.seek(i)
            out.append((im.copy(), 1 if i == 1 else 0))
    from PIL import TiffImagePlugin

    with TiffImagePlugin.AppendingTiffWriter(buf, new=True) as tf:
        for frame, subfile in out:
            info = TiffImagePlugin.ImageFileDirectory_v2()
            info[254] = subfile
            frame.save(tf, "TIFF", tiffinfo=info)
            tf.newFrame()
    return buf.getvalue()


def grey16_tiff(size: tuple[int, int], level: int) -> bytes:
    """A 16-bit greyscale TIFF, every sample `level` (0..65535), its top fifth 65535."""
    img = Image.new("I;16", size, level)
    ImageDraw.Draw(img).rectangle((0, 0, size[0], size[1] // 5), fill=65535)
    return encoded(img, "TIFF")


def rgb16_tiff(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    """A 16-bit-per-sample RGB TIFF (uncompressed, one strip, little-endian), written by hand:
    Pillow cannot write one. `colour` in 16-bit values."""
    w, h = size
    pixels = struct.pack("<3H", *colour) * (w * h)
    entries = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 3, 0), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, 0), (277, 3, 1, 3), (278, 3, 1, h), (279, 4, 1, len(pixels)), (284, 3, 1, 1)]
    ifd_at = 8
    ifd_len = 2 + 12 * len(entries) + 4
    bits_at = ifd_at + ifd_len
    data_at = bits_at + 6
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_at))
    out += struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        if tag == 258:
            value = bits_at
        elif tag == 273:
            value = data_at
        if typ == 3 and count == 1:
            out += struct.pack("<HHIHH", tag, typ, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, typ, count, value)
    out += struct.pack("<I", 0)
    out += struct.pack("<3H", 16, 16, 16)
    out += pixels
    return bytes(out)


def cmyk_tiff(size: tuple[int, int], cmyk: tuple[int, int, int, int]) -> bytes:
    """A CMYK TIFF without an ICC profile, its top fifth pure magenta + yellow (red)."""
    img = Image.new("CMYK", size, cmyk)
    ImageDraw.Draw(img).rectangle((0, 0, size[0], size[1] // 5), fill=(0, 255, 255, 0))
    return encoded(img, "TIFF")
