"""A format corpus made in code: at least 40 formats, each with the PUID every engine must give.

Every file is built here byte by byte or with the standard library (and Pillow for raster
images): nothing is downloaded. `EXPECTED` holds, per file name, the PUID Siegfried and
fido give; the table was checked against PRONOM's own format descriptions.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sqlite3
import struct
import tarfile
import tempfile
import wave
import zipfile
from collections.abc import Callable
from pathlib import Path

from archa.demo import pdf_bytes, png_bytes

# --- containers -------------------------------------------------------------------------

def ole2(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (version 3, 512-byte sectors) holding `streams`
    (each padded to at least 4096 bytes so no mini stream is needed)."""
    end, free, fatsect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    names = list(streams)
    datas = [streams[n].ljust(4096, b"\0") for n in names]
    fat = [fatsect, end]  # sector 0: FAT, sector 1: directory
    starts = []
    for d in datas:
        n = (len(d) + 511) // 512
        first = len(fat)
        starts.append(first)
        fat += [first + i + 1 for i in range(n - 1)] + [end]
    assert len(fat) <= 128
    fat += [free] * (128 - len(fat))

    def entry(name: str, kind: int, left: int, right: int, child: int, start: int, size: int) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        return (raw.ljust(64, b"\0") + struct.pack("<HBB3I", len(raw), kind, 1, left, right, child)
                + bytes(16) + bytes(4) + bytes(16) + struct.pack("<II", start, size) + bytes(4))

    none = 0xFFFFFFFF
    # entry 1 is the root's child; the others hang off it on the left (shorter or sorted names)
    order = sorted(range(len(names)), key=lambda i: (len(names[i]), names[i].upper()), reverse=True)
    ents = [entry("Root Entry", 5, none, none, 1, end, 0)]
    for pos, i in enumerate(order):
        left = pos + 2 if pos + 1 < len(order) else none
        ents.append(entry(names[i], 2, left, none, none, starts[i], len(streams[names[i]])))
    directory = b"".join(ents).ljust(512, b"\0")
    assert len(directory) == 512
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<I", 0) + struct.pack("<I", free) * 108)
    assert len(header) == 512
    body = b"".join(d.ljust(((len(d) + 511) // 512) * 512, b"\0") for d in datas)
    return header + struct.pack("<128I", *fat) + directory + body


def zip_of(members: list[tuple[str, bytes]], stored_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (name, data) in enumerate(members):
            zf.writestr(name, data, compress_type=zipfile.ZIP_STORED if (stored_first and i == 0) else None)
    return buf.getvalue()


CT = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/{part}" ContentType="{ctype}"/></Types>'
RELS = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="{part}"/></Relationships>'


def ooxml(part: str, ctype: str, body: str) -> bytes:
    return zip_of([("[Content_Types].xml", CT.format(part=part, ctype=ctype).encode()),
                   ("_rels/.rels", RELS.format(part=part).encode()), (part, body.encode())])


def odf(mime: str) -> bytes:
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest='
                '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mime}"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    content = ('<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content xmlns:office='
               '"urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"><office:body/>'
               '</office:document-content>')
    return zip_of([("mimetype", mime.encode()), ("content.xml", content.encode()),
                   ("META-INF/manifest.xml", manifest.encode())], stored_first=True)


def epub() -> bytes:
    container = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:'
                 'xmlns:container"><rootfiles><rootfile full-path="content.opf" media-type='
                 '"application/oebps-package+xml"/></rootfiles></container>')
    return zip_of([("mimetype", b"application/epub+zip"), ("META-INF/container.xml", container.encode()),
                   ("content.opf", b'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="2.0"/>')],
                  stored_first=True)


# --- images (Pillow) ----------------------------------------------------------------------

def image(fmt: str, mode: str = "RGB", **kw: object) -> Callable[[], bytes]:
    def make() -> bytes:
        from PIL import Image

        img = Image.new(mode, (32, 24), "white" if mode != "1" else 1)
        for x in range(32):
            img.putpixel((x, x % 24), (x * 8, 0, 255 - x * 8) if mode == "RGB" else 0)
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        return buf.getvalue()
    return make


# --- audio / video --------------------------------------------------------------------------

def wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(1600))
    return buf.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4() -> bytes:
    return (box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
            + box(b"moov", box(b"mvhd", bytes(100))) + box(b"mdat", bytes(64)))


def mov() -> bytes:
    return box(b"ftyp", b"qt  " + struct.pack(">I", 0x200) + b"qt  ") + box(b"moov", box(b"mvhd", bytes(100)))


def mp3() -> bytes:
    id3 = b"ID3\x03\x00\x00\x00\x00\x00\x00"  # an empty ID3v2.3 tag
    frame = b"\xff\xfb\x90\x64" + bytes(413)  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417 bytes
    return id3 + frame * 20


def flac() -> bytes:
    info = struct.pack(">HH", 4096, 4096) + bytes(6) + bytes.fromhex("0ac44000f0000000") + bytes(16)
    return b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info


def ogg() -> bytes:
    vorbis = b"\x01vorbis" + struct.pack("<IBIiii", 0, 1, 44100, 0, 128000, 0) + b"\xb8\x01"
    header = b"OggS\x00\x02" + bytes(8) + struct.pack("<III", 1, 0, 0) + bytes([1, len(vorbis)])
    return header + vorbis


def midi() -> bytes:
    track = b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96) + b"MTrk" + struct.pack(">I", len(track)) + track


def avi() -> bytes:
    hdrl = b"LIST" + struct.pack("<I", 4 + 8 + 56) + b"hdrl" + b"avih" + struct.pack("<I", 56) + bytes(56)
    body = b"AVI " + hdrl + b"LIST" + struct.pack("<I", 4) + b"movi"
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webm() -> bytes:
    # EBML header: versions, max id/size lengths, DocType "webm", DocType versions; then a Segment
    hdr = (b"\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
           b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02")
    ebml = b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(hdr)]) + hdr
    return ebml + b"\x18\x53\x80\x67\x01\x00\x00\x00\x00\x00\x00\x10" + b"\x15\x49\xa9\x66\x80" + bytes(16)


# --- documents ------------------------------------------------------------------------------

def pdfa() -> bytes:
    xmp = ('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
           '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
           'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>1</pdfaid:part>'
           '<pdfaid:conformance>B</pdfaid:conformance></rdf:Description></rdf:RDF></x:xmpmeta>'
           '<?xpacket end="w"?>')
    base = pdf_bytes("archival")
    head, tail = base.split(b"xref\n", 1)
    meta = (f"6 0 obj\n<< /Type /Metadata /Subtype /XML /Length {len(xmp)} >>\nstream\n{xmp}\nendstream\nendobj\n")
    return head + meta.encode() + b"xref\n" + tail


def sqlite_db() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.db"
        con = sqlite3.connect(p)
        con.execute("CREATE TABLE t (a)")
        con.commit()
        con.close()
        return p.read_bytes()


def tar_bytes() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        data = b"hello\n"
        ti = tarfile.TarInfo("hello.txt")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def zstd_bytes() -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(b"hello zstd\n" * 20)


TEXT = "Archival record: road repairs, 2026.\n"
HTML = "<!DOCTYPE html>\n<html><head><title>Record</title></head><body><p>Road repairs</p></body></html>\n"

CORPUS: dict[str, Callable[[], bytes]] = {
    # raster images
    "image.png": png_bytes,
    "image.jpg": image("JPEG"),
    "image.gif": image("GIF"),
    "image.tif": image("TIFF"),
    "image-lzw.tif": image("TIFF", compression="tiff_lzw"),
    "image.bmp": image("BMP"),
    "image.jp2": image("JPEG2000"),
    "image.j2k": image("JPEG2000", no_jp2=True),
    "image.webp": image("WEBP"),
    "image.ico": image("ICO"),
    "image.pcx": image("PCX"),
    "image.tga": image("TGA"),
    "image.ppm": image("PPM"),
    "image.eps": image("EPS"),
    "image-from-pillow.pdf": image("PDF"),
    # documents
    "letter.pdf": lambda: pdf_bytes("hello"),
    "archival-pdfa.pdf": pdfa,
    "letter.rtf": lambda: b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}}\\f0 Road repairs\\par}\n",
    "page.html": HTML.encode,
    "record.xml": lambda: b'<?xml version="1.0" encoding="UTF-8"?>\n<record><title>Road repairs</title></record>\n',
    "drawing.svg": lambda: (b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
                            b'version="1.1" width="10" height="10"><rect width="5" height="5"/></svg>\n'),
    "letter.docx": lambda: ooxml("word/document.xml",
                                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                                 '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>'),
    "sheet.xlsx": lambda: ooxml("xl/workbook.xml",
                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'),
    "slides.pptx": lambda: ooxml("ppt/presentation.xml",
                                 "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
                                 '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>'),
    "letter.odt": lambda: odf("application/vnd.oasis.opendocument.text"),
    "sheet.ods": lambda: odf("application/vnd.oasis.opendocument.spreadsheet"),
    "slides.odp": lambda: odf("application/vnd.oasis.opendocument.presentation"),
    "book.epub": epub,
    "letter.doc": lambda: ole2({"WordDocument": b"\xec\xa5\xc1\x00" + bytes(60), "1Table": bytes(64)}),
    "sheet.xls": lambda: ole2({"Workbook": b"\x09\x08\x10\x00\x00\x06\x05\x00" + bytes(12)}),
    # text in several encodings
    "ascii.txt": TEXT.encode,
    "utf8-bom.txt": lambda: b"\xef\xbb\xbf" + "Záznam: opravy silnic.\n".encode(),
    "utf16le-bom.txt": lambda: b"\xff\xfe" + "Záznam: opravy silnic.\n".encode("utf-16-le"),
    "latin1.txt": lambda: "Café crème, année 2026.\n".encode("latin-1"),
    "register.csv": lambda: b"id,date,subject\n1,2026-01-05,Road repairs\n",
    # archives and compression
    "bundle.zip": lambda: zip_of([("a.txt", b"a")]),
    "bundle.tar": tar_bytes,
    "text.gz": lambda: gzip.compress(TEXT.encode(), mtime=0),
    "text.bz2": lambda: bz2.compress(TEXT.encode()),
    "text.xz": lambda: lzma.compress(TEXT.encode()),
    "text.zst": zstd_bytes,
    # audio and video
    "sound.wav": wav,
    "sound.mp3": mp3,
    "sound.flac": flac,
    "sound.ogg": ogg,
    "tune.mid": midi,
    "movie.mp4": mp4,
    "movie.mov": mov,
    "movie.avi": avi,
    "movie.webm": webm,
    # other
    "data.sqlite": sqlite_db,
    "empty-file": lambda: b"",
    "truncated.png": lambda: png_bytes()[:40],
    "random.dat": lambda: bytes((i * 7919) % 251 for i in range(3000)),
}


def build(root: Path) -> dict[str, Path]:
    """Write the corpus into `root`; returns name -> path."""
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, make in CORPUS.items():
        p = root / name
        p.write_bytes(make())
        out[name] = p
    return out
