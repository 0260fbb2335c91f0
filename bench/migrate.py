"""Benchmark: `archa migrate` per pathway against the bare tool on the same files, in one run.

For each pathway, N files made here (PDF 1.4 of a few pages, DOCX, RGB TIFF scans, AIFF
audio, AVI video) are ingested as one AIP, then:
- archa: `archa migrate ID` with the pathway (the tool run on a verified copy, the output
  verified: identification, PDF/A checks, pixels / samples / frames compared, then stored
  as the AIP's next version with METS, PREMIS and a copy at every location);
- bare tool: the same tool command on the same files, one after another, nothing verified
  or stored (Ghostscript, LibreOffice, Pillow's OpenJPEG, ffmpeg).
Printed: files/s and MB/s of each and the ratio (archa's time / the bare tool's): what
verification and safe storage cost over converting alone.

With --a3m, also a3m 0.8.1 (Lightweight Archivematica; installed by bench/a3m.py into its
own Python 3.12 venv) on the same files as a folder, with `-p normalize=no` and `-p
normalize=yes`: the difference is what its normalisation costs, set beside what `archa
migrate` costs (archa's normalisation is a separate command; a3m's is a step of the
transfer). a3m's AIP is listed to count the normalised copies it made (its rules decide
which formats it normalises and to what: a pathway where it made none is printed so).

    python bench/migrate.py [--files 8] [--work bench-work] [--a3m]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from archa.demo import pdf_document
from tests.bagmaker import write_bag
from tests.nsesss_maker import docx_bytes

BIN = Path(sys.executable).parent


def pdf(n: int) -> bytes:
    pages = 4
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b" ".join(f"{3 + 2 * i} 0 R".encode() for i in range(pages))
            + f"] /Count {pages} >>".encode()]
    for i in range(pages):
        text = " ".join(f"Rozhodnuti {n} strana {i + 1} radek {j}" for j in range(3))
        stream = "".join(f"BT /F1 11 Tf 60 {780 - 14 * j} Td ({text} {j}) Tj ET\n" for j in range(50)).encode()
        objs += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
                 f"/Resources << /Font << /F1 {3 + 2 * pages} 0 R >> >> >>".encode(),
                 b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"]
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return pdf_document(objs)


def docx(n: int) -> bytes:
    return docx_bytes(*(f"Odstavec {j} dokumentu {n}: vyjádření k žádosti o stavební povolení." for j in range(200)))


def tiff(n: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1240, 1754), (250, 248, 240))  # an A4 page at 150 dpi
    draw = ImageDraw.Draw(img)
    for y in range(80, 1700, 24):
        draw.text((90, y), f"strana {n} radek {y} - naskenovany spis, odbor vystavby", fill=(20, 20, 30))
    buf = io.BytesIO()
    img.save(buf, "TIFF", dpi=(150, 150))
    return buf.getvalue()


def wav(path: Path, seconds: int, freq: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(b"".join(struct.pack("<hh", int(9000 * math.sin(2 * math.pi * freq * i / 44100)),
                                           int(7000 * math.sin(2 * math.pi * (freq + 3) * i / 44100)))
                               for i in range(44100 * seconds)))


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, stdin=subprocess.DEVNULL)


def make_files(work: Path, n: int) -> dict[str, dict[str, bytes]]:
    scratch = work / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    audio, video = {}, {}
    for i in range(n):
        wav(scratch / f"t{i}.wav", 20, 300 + 40 * i)
        ffmpeg("-i", str(scratch / f"t{i}.wav"), "-c:a", "pcm_s16be", str(scratch / f"t{i}.aiff"))
        audio[f"zvuk/nahravka {i}.aiff"] = (scratch / f"t{i}.aiff").read_bytes()
        ffmpeg("-f", "lavfi", "-i", f"testsrc=size=320x240:rate=25:decimals={i % 3}", "-f", "lavfi", "-i",
               f"sine=frequency={400 + 10 * i}:sample_rate=44100", "-t", "4", "-c:v", "mpeg4", "-q:v", "4",
               "-c:a", "pcm_s16le", str(scratch / f"v{i}.avi"))
        video[f"video/zaznam {i}.avi"] = (scratch / f"v{i}.avi").read_bytes()
    return {"pdfa-2b": {f"spis/rozhodnutí {i}.pdf": pdf(i) for i in range(n)},
            "office-pdfa": {f"spis/vyjádření {i}.docx": docx(i) for i in range(n)},
            "jp2-lossless": {f"skeny/strana {i:03d}.tif": tiff(i) for i in range(n)},
            "audio-flac": audio, "video-ffv1": video}


def bare(pathway: str, src: Path, out: Path) -> None:
    """The tool alone, as archa's pathway runs it (same options), nothing verified or stored."""
    if pathway == "pdfa-2b":
        subprocess.run(["gs", "-dPDFA=2", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-dQUIET", "-dPDFACompatibilityPolicy=1",
                        "-sColorConversionStrategy=RGB", "-sDEVICE=pdfwrite", f"-sOutputFile={out}.pdf", str(src)],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)
    elif pathway == "office-pdfa":
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                            "--convert-to", 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}',
                            "--outdir", str(out.parent), str(src)], check=True, capture_output=True,
                           stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "HOME": profile})
    elif pathway == "jp2-lossless":
        from PIL import Image

        with Image.open(src) as im:
            im.save(f"{out}.jp2", "JPEG2000", irreversible=False)
    elif pathway == "audio-flac":
        ffmpeg("-i", str(src), "-c:a", "flac", f"{out}.flac")
    elif pathway == "video-ffv1":
        ffmpeg("-i", str(src), "-c:v", "ffv1", "-level", "3", "-g", "1", "-slicecrc", "1", "-c:a", "flac",
               f"{out}.mkv")


def a3m_run(a3m: Path, src: Path, work: Path, name: str, normalize: str) -> tuple[float, int]:
    """Seconds of one a3m transfer of `src` and how many normalised copies its AIP holds."""
    import os

    home = work / "a3m-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    t0 = time.perf_counter()
    proc = subprocess.run([str(a3m), "--name", name, "--no-input", "-p", f"normalize={normalize}", src.as_uri()],
                          capture_output=True, text=True, env={**os.environ, "HOME": str(home)}, cwd=work, check=False)
    elapsed = time.perf_counter() - t0
    done = list((home / ".local/share/a3m/share/completed").glob("*.7z"))
    if proc.returncode != 0 or not done:
        sys.exit(f"a3m failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    listing = subprocess.run(["7z", "l", "-ba", "-slt", str(done[0])], capture_output=True, text=True,
                             check=True).stdout
    paths = [line[7:] for line in listing.splitlines() if line.startswith("Path = ")]
    # a3m names a normalised copy NAME-UUID.EXT beside the original under data/objects/
    made = [x for x in paths if "/data/objects/" in x and "/metadata/" not in x
            and re.search(r"-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\.\w+$", x.rsplit("/", 1)[-1])]
    return elapsed, len(made)


def archa(*args: str) -> str:
    r = subprocess.run([str(BIN / "archa"), *args], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f"archa {' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--a3m", action="store_true", help="Also run a3m 0.8.1 with and without normalisation.")
    args = ap.parse_args()
    work = (args.work / "migrate").resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sets = make_files(work, args.files)
    repo = work / "repo"
    archa("init", str(repo))
    a3m = None
    if args.a3m:
        from bench.a3m import ensure_a3m, find_python312

        a3m = ensure_a3m(work, find_python312())
    print(f"archa migrate vs the bare tool, {args.files} files per pathway, 2 cores")
    peers = []
    for pathway, files in sets.items():
        size = sum(len(b) for b in files.values())
        bag = write_bag(work / "bags" / pathway, files)
        aip = json.loads(archa("ingest", str(bag), "--repo", str(repo), "--json"))[0]["aip_id"]
        t0 = time.perf_counter()
        result = json.loads(archa("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", str(repo), "--json"))
        t_archa = time.perf_counter() - t0
        assert len(result["migrated"]) == len(files) and not result["failed"], result
        out = work / "bare" / pathway
        out.mkdir(parents=True)
        srcs = []
        for lp, data in files.items():
            p = out / Path(lp).name
            p.write_bytes(data)
            srcs.append(p)
        t0 = time.perf_counter()
        for i, src in enumerate(srcs):
            bare(pathway, src, out / f"out{i}")
        t_bare = time.perf_counter() - t0
        mb = size / 1e6
        print(f"  {pathway:<13} {mb:7.1f} MB | archa {t_archa:6.2f} s {len(files) / t_archa:5.2f} files/s "
              f"{mb / t_archa:6.2f} MB/s | bare tool {t_bare:6.2f} s {len(files) / t_bare:5.2f} files/s | "
              f"archa takes {t_archa / t_bare:.2f}x the bare tool's time")
        if a3m is not None:
            src = work / "a3m-src" / pathway
            for lp, data in files.items():
                (src / lp).parent.mkdir(parents=True, exist_ok=True)
                (src / lp).write_bytes(data)
            # best of two runs each: the difference is small beside a whole a3m run
            plain = min(a3m_run(a3m, src, work, f"{pathway}-no{r}", "no")[0] for r in range(2))
            runs = [a3m_run(a3m, src, work, f"{pathway}-yes{r}", "yes") for r in range(2)]
            normal, made = min(t for t, _m in runs), runs[0][1]
            peers.append((pathway, t_archa, plain, normal, made, len(files)))
    for pathway, t_archa, plain, normal, made, n in peers:
        cost = normal - plain
        print(f"  a3m {pathway:<13} normalize=no {plain:6.2f} s, =yes {normal:6.2f} s: normalisation "
              f"{cost:6.2f} s, {made} of {n} files normalised | archa migrate {t_archa:6.2f} s"
              + (" | a3m has no rule here: nothing to compare" if not made else
                 f" | archa takes {t_archa / cost:.2f}x a3m's normalisation time" if cost > 0 else
                 " | a3m's normalisation is within the noise of its whole run"))


if __name__ == "__main__":
    main()
