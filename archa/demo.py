"""A small sample SIP for `make demo`: `python -m archa.demo OUT` writes a BagIt bag at OUT.

The payload is made here (no downloads): a PNG page scan, a PDF letter, a CSV register,
an XML record and a plain-text note, bagged with sha256 and sha512 manifests.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((x * 4) % 256 for x in range(width)) * 3 for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def pdf_bytes(text: str) -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
             b"/Resources << /Font << /F1 5 0 R >> >> >>"),
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    return pdf_document(objs)


def pdf_document(objs: list[bytes], header: bytes = b"%PDF-1.4\n", trailer: str = "") -> bytes:
    """A PDF file of the numbered objects `objs` (1 is the catalog) with its xref table;
    `trailer` adds entries to the trailer dictionary."""
    out = header
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R{' ' + trailer if trailer else ''} >>\n" \
           f"startxref\n{xref}\n%%EOF\n".encode()
    return out


def make_sample_bag(out: Path) -> Path:
    """Write the sample bag at `out` (which must not exist) and return it."""
    import bagit

    out.mkdir(parents=True)
    (out / "scans").mkdir()
    (out / "scans" / "page-001.png").write_bytes(png_bytes())
    (out / "letter.pdf").write_bytes(pdf_bytes("Dear archivist, please keep this."))
    (out / "register.csv").write_text("id,date,subject\n1,2026-01-05,Road repairs\n", "utf-8")
    (out / "record.xml").write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                                    "<record><title>Road repairs</title></record>\n", "utf-8")
    (out / "README.txt").write_text("Sample transfer made by `python -m archa.demo`.\n", "utf-8")
    bagit.make_bag(str(out), {"Source-Organization": "Example Regional Authority",
                              "External-Identifier": "ERA-2026-0001",
                              "External-Description": "Road repairs file, 2026"},
                   checksums=["sha256", "sha512"])
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m archa.demo OUT")
    print(f"Built sample bag {make_sample_bag(Path(sys.argv[1]))}")
