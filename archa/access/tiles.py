"""Static (level 0) IIIF Image API 3 services: JPEG tiles and sizes written as files.

For an image W×H and tile size T, scale factors are 1, 2, 4, … up to the first at which the
whole image fits in one tile. At scale factor s the image is ceil(W/s)×ceil(H/s); if that is
smaller than a tile in both directions it is one file `full/<w>,<h>/0/default.jpg` (`max`
for s = 1), else tiles `<x>,<y>,<w>,<h>/<tw>,<th>/0/default.jpg` with regions of s·T full-
size pixels. These are exactly the URLs a IIIF client (OpenSeadragon among them) asks a
level-0 service for, so the folder served as it is, or opened from the file system, needs
no image server. `info.json` lists the tiles and the whole-image sizes.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

TILE = 512
QUALITY = 80
CONTEXT = "http://iiif.io/api/image/3/context.json"


@dataclass
class Tiled:
    width: int
    height: int
    tile: int
    scale_factors: list[int]
    sizes: list[tuple[int, int]]  # whole-image sizes written (smallest first)
    files: int = 0
    bytes: int = 0
    paths: list[str] = field(default_factory=list)


def scale_factors(width: int, height: int, tile: int = TILE) -> list[int]:
    factors = [1]
    while math.ceil(width / factors[-1]) > tile or math.ceil(height / factors[-1]) > tile:
        factors.append(factors[-1] * 2)
    return factors


def _save(img: Image.Image, path: Path, quality: int) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = img if img.mode in ("RGB", "L") else img.convert("RGB")
    rgb.save(path, "JPEG", quality=quality, optimize=False)
    return path.stat().st_size


def tile_image(img: Image.Image, out: Path, tile: int = TILE, quality: int = QUALITY) -> Tiled:
    """Write the level-0 tiles and sizes of `img` under `out` (the service's folder)."""
    from PIL import Image as PILImage

    w, h = img.size
    result = Tiled(w, h, tile, scale_factors(w, h, tile), [])
    level = img
    for s in result.scale_factors:
        lw, lh = math.ceil(w / s), math.ceil(h / s)
        if level.size != (lw, lh):
            level = level.resize((lw, lh), PILImage.Resampling.LANCZOS, reducing_gap=2.0)
        if lw < tile and lh < tile:
            for size in (["max"] if s == 1 else []) + [f"{lw},{lh}"]:  # s = 1: asked for as max, listed as w,h
                rel = f"full/{size}/0/default.jpg"
                result.bytes += _save(level, out / rel, quality)
                result.paths.append(rel)
            result.sizes.append((lw, lh))
            continue
        region = tile * s
        for y in range(math.ceil(lh / tile)):
            for x in range(math.ceil(lw / tile)):
                rx, ry = x * region, y * region
                rw, rh = min(region, w - rx), min(region, h - ry)
                sw, sh = min(tile, lw - x * tile), min(tile, lh - y * tile)
                reg = "full" if (x, y, rw, rh) == (0, 0, w, h) else f"{rx},{ry},{rw},{rh}"
                size = "max" if (sw, sh) == (w, h) else f"{sw},{sh}"
                rel = f"{reg}/{size}/0/default.jpg"
                crop = level.crop((x * tile, y * tile, x * tile + sw, y * tile + sh))
                result.bytes += _save(crop, out / rel, quality)
                result.paths.append(rel)
    result.files = len(result.paths)
    result.sizes.sort()
    return result


def info_json(service_id: str, tiled: Tiled) -> dict[str, Any]:
    """The level-0 `info.json` of a service at `service_id` (no trailing slash)."""
    return {"@context": CONTEXT, "id": service_id, "type": "ImageService3", "protocol": "http://iiif.io/api/image",
            "profile": "level0", "width": tiled.width, "height": tiled.height,
            "sizes": [{"width": w, "height": h} for w, h in tiled.sizes],
            "tiles": [{"width": tiled.tile, "height": tiled.tile, "scaleFactors": tiled.scale_factors}]}


# --- any raster image as 8-bit sRGB ---------------------------------------------------------

_SIXTEEN = ("I;16", "I;16B", "I;16L", "I;16N", "I;16S")


def page_frames(img: Image.Image) -> list[int]:
    """The frames of an opened image that are pages: every frame of a multi-page TIFF except
    reduced-resolution copies (NewSubfileType bit 0, the thumbnails some scanners add); one
    frame (0) for every other format (a JPEG's MPO second view, an APNG's animation are not
    pages)."""
    if img.format != "TIFF":
        return [0]
    n = getattr(img, "n_frames", 1)
    if n == 1:
        return [0]
    pages = []
    for i in range(n):
        img.seek(i)
        if not int(getattr(img, "tag_v2", {}).get(254, 0)) & 1:
            pages.append(i)
    img.seek(0)
    return pages or [0]


def _eight_bit_grey(img: Image.Image) -> Image.Image:
    """An "I;16*", "I" or "F" image as "L": 16-bit samples scaled by 1/257 (0..65535 → 0..255);
    32-bit integers or floats stretched from their own range."""
    if img.mode in _SIXTEEN:
        return img.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    extrema = img.getextrema()
    lo, hi = (float(extrema[0]), float(extrema[1])) if not isinstance(extrema[0], tuple) else (0.0, 255.0)
    if img.mode == "I" and 0 <= lo and hi <= 255:
        return img.convert("L")
    if img.mode == "I" and 0 <= lo and hi <= 65535:
        return img.point(lambda v: v * (1 / 257)).convert("L")
    span = (hi - lo) or 1.0
    return img.convert("F").point(lambda v: (v - lo) * (255.0 / span)).convert("L")


def to_srgb(img: Image.Image) -> Image.Image:
    """The loaded frame `img` as 8-bit sRGB ("RGB") or 8-bit grey ("L"), ready for JPEG tiles:
    turned upright by its EXIF orientation; 16-bit and 32-bit grey scaled to 8 bits (16-bit
    colour Pillow reads as 8-bit already); CMYK and any colour image with an embedded ICC
    profile converted to sRGB through that profile (LittleCMS; without a profile CMYK goes
    by Pillow's plain formula); transparency flattened onto white; palette, 1-bit, LAB,
    YCbCr and HSV images to RGB or grey. Raises OSError for an image LittleCMS cannot
    convert and that has no plain conversion either."""
    from PIL import Image as PILImage
    from PIL import ImageCms, ImageOps

    icc = img.info.get("icc_profile")
    img = ImageOps.exif_transpose(img) or img
    if img.mode in (*_SIXTEEN, "I", "F"):
        return _eight_bit_grey(img)
    if img.mode == "1":
        return img.convert("L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        rgba = img.convert("RGBA")
        flat = PILImage.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat if img.mode not in ("LA", "La") else flat.convert("L")
    if icc and img.mode in ("RGB", "CMYK", "LAB"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(img, source, ImageCms.createProfile("sRGB"), outputMode="RGB",
                                                  renderingIntent=ImageCms.Intent.PERCEPTUAL)
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken or mismatched profile: the plain conversion below
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    return img
