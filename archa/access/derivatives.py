"""Access copies: what an original becomes in a DIP, per the `[access]` policy.

Raster images become JPEGs (Pillow) no larger than the policy's size on the long side;
office documents become PDF through LibreOffice when `soffice` is installed; everything
else, and anything whose conversion fails, goes out as the original with a note saying why.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from archa.policies.model import AccessPolicy


@dataclass(frozen=True)
class Derived:
    """A made access copy (`path` holds it) or, with `path` None, why none was made."""

    path: Path | None
    suffix: str = ""
    mime: str = ""
    format_name: str = ""
    puid: str = ""
    tool: str = ""
    detail: str = ""
    note: str = ""


def kind_of(mime: str, policy: AccessPolicy) -> str:
    """"image", "office" or "" (kept as it is)."""
    if mime in policy.images:
        return "image"
    if mime in policy.office:
        return "office"
    return ""


def make_jpeg(src: Path, out_dir: Path, policy: AccessPolicy) -> Derived:
    """A JPEG of the first frame of `src`, at most `image_max_pixels` on its long side."""
    from PIL import Image, ImageOps, __version__

    target = out_dir / "access.jpg"
    try:
        with Image.open(src) as im:
            frames = getattr(im, "n_frames", 1)
            im.draft("RGB", (policy.image_max_pixels, policy.image_max_pixels))
            img = ImageOps.exif_transpose(im) or im
            if img.mode not in ("RGB", "L"):
                img = img.convert("RGBA" if "A" in img.mode or "transparency" in img.info else "RGB")
                if img.mode == "RGBA":  # JPEG has no alpha: flatten onto white
                    flat = Image.new("RGB", img.size, "white")
                    flat.paste(img, mask=img.getchannel("A"))
                    img = flat
            w0, h0 = img.size
            img.thumbnail((policy.image_max_pixels, policy.image_max_pixels), Image.Resampling.LANCZOS)
            img.save(target, "JPEG", quality=policy.jpeg_quality)
            w, h = img.size
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        target.unlink(missing_ok=True)
        return Derived(None, note=f"no JPEG access copy: Pillow cannot convert it ({e}); the original is included")
    detail = f"JPEG {w}x{h} (quality {policy.jpeg_quality}) from {w0}x{h0}"
    if frames > 1:
        detail += f"; first of {frames} frames"
    return Derived(target, ".jpg", "image/jpeg", "JPEG File Interchange Format", "fmt/43",
                   f"Pillow {__version__}", detail, note="" if frames == 1 else f"first of {frames} frames")


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def make_pdf(src: Path, out_dir: Path, policy: AccessPolicy) -> Derived:
    """A PDF made by LibreOffice (headless, its own throwaway profile), if it is installed."""
    exe = soffice()
    if exe is None:
        return Derived(None, note="no PDF access copy: LibreOffice (soffice) is not installed; "
                                  "the original is included")
    with tempfile.TemporaryDirectory(dir=out_dir) as profile:
        cmd = [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", str(out_dir), str(src)]
        try:
            run = subprocess.run(cmd, capture_output=True, timeout=policy.office_timeout,
                                 env={**os.environ, "HOME": profile}, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            return Derived(None, note=f"no PDF access copy: LibreOffice failed ({e}); the original is included")
    target = out_dir / (src.stem + ".pdf")
    if run.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        err = run.stderr.decode("utf-8", "replace").strip()[-300:]
        return Derived(None, note=f"no PDF access copy: LibreOffice exited {run.returncode} ({err}); "
                                  "the original is included")
    return Derived(target, ".pdf", "application/pdf", "Acrobat PDF", "", _soffice_version(exe),
                   "PDF made by LibreOffice")


@functools.cache
def _soffice_version(exe: str) -> str:
    run = subprocess.run([exe, "--version"], capture_output=True, timeout=60, check=False)
    lines = run.stdout.decode("utf-8", "replace").strip().splitlines()
    return lines[0] if lines else exe


def make(kind: str, src: Path, out_dir: Path, policy: AccessPolicy) -> Derived:
    if kind == "image":
        return make_jpeg(src, out_dir, policy)
    return make_pdf(src, out_dir, policy)

