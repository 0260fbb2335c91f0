"""Benchmark: `archa transfer folder SRC --ingest` against a3m (Lightweight Archivematica
0.8.1) on the same folders, in one run.

archa: a fresh repository (default placement: hot OCFL + packed zstd cold copy); the folder
       bagged inside the repository's staging area (each file read once, written once into
       the AIP), validated, identified, stored, copied, catalogued. For reference also the
       two-step way, `archa transfer folder SRC OUT --ingest` (a bag at OUT, then ingested).
a3m:   `a3m --name NAME --no-input file://SRC` with its own fresh home (embedded server,
       its default processing configuration): transfer, identification, characterisation,
       validation, normalisation, packaging as a 7z AIP. On real types a3m runs the tools it
       finds (Ghostscript makes a PDF/A of every PDF, ffprobe characterises images, JHOVE
       validates), so its time there depends on the machine: the script prints which it found,
       and times a3m once more with `-p normalize=no`, the nearer like for like (archa makes
       no preservation copies at ingest).

Folders: (a) 200 files of 1-8 KiB of random bytes, (m) 200 files of 1-8 KiB of mixed real types
(plain text, CSV, HTML, XML, PDF, PNG in turn, made here by code, the same every run), (b) 4 files
of 64 MiB of random bytes. The small folders run in every round, each command after a `sync`, and
each round's figures are printed (the issue's target holds for every run, not only the best);
the large folder prints the best of ROUNDS.

a3m is not a dependency of archa: this script installs it into its own Python 3.12 venv
(WORK/a3m-venv; `pip install a3m==0.8.1`), and a3m needs Debian's `p7zip-full`, `tree` and
`atool` (installed here with apt-get when missing and running as root).

    python bench/a3m.py [--work bench-work] [--rounds 2] [--no-large] [--python3.12 PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import time
import unicodedata
import zlib
from collections.abc import Callable
from pathlib import Path

from archa.demo import pdf_document

BIN = Path(sys.executable).parent
APT = ("p7zip-full", "tree", "atool")


def find_python312() -> str:
    """A Python 3.12 that runs: pyenv's own build first (its shim may not select 3.12), then PATH."""
    for cand in [*sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12")), shutil.which("python3.12")]:
        if cand and subprocess.run([str(cand), "-c", "pass"], capture_output=True, check=False).returncode == 0:
            return str(cand)
    return "python3.12"


def ensure_a3m(work: Path, python312: str) -> Path:
    venv = work / "a3m-venv"
    a3m = venv / "bin" / "a3m"
    if not a3m.exists():
        subprocess.run([python312, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "a3m==0.8.1"], check=True)
    missing = [t for t, p in (("7z", "p7zip-full"), ("tree", "tree"), ("atool", "atool")) if not shutil.which(t)]
    if missing and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", *APT], check=True, stdout=subprocess.DEVNULL)
    elif missing:
        sys.exit(f"a3m needs {', '.join(missing)}: apt-get install {' '.join(APT)}")
    return a3m


def make_folder(path: Path, files: dict[str, int], seed: int) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    rng = random.Random(seed)
    for name, size in files.items():
        p = path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.randbytes(size))
    return path


# --- (m) mixed real types: what a filing office sends, made by code ------------------------------

VOCABULARY = ("rozhodnutí o žádosti stavební povolení komunikace opravy silnice krajský úřad odbor dopravy "
              "usnesení rady zastupitelstvo smlouva o dílo příloha dodatek faktura rozpočet kapitola obec "
              "Jihlava Třebíč Pelhřimov Havlíčkův Brod Žďár nad Sázavou zadávací řízení veřejná zakázka "
              "oznámení vyjádření lhůta odvolání spisový znak skartační znak archivní hodnota")
WORDS = VOCABULARY.split()
DEPTS = ("Odbor dopravy", "Odbor regionálního rozvoje", "Odbor školství", "Kancelář ředitele", "Odbor financí")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    return " ".join(words).capitalize() + "."


def _date(rng: random.Random) -> str:
    return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _fill(head: str, part: Callable[[int], str], tail: str, size: int) -> bytes:
    """`head`, then parts 0, 1, ... while the whole stays under `size` bytes (UTF-8) or is under 1 KiB,
    then `tail`."""
    out, n, used = [head], 0, len(head.encode()) + len(tail.encode())
    while True:
        p = part(n)
        if used + len(p.encode()) > size and used >= 1024:
            break
        out.append(p)
        used += len(p.encode())
        n += 1
    return ("".join(out) + tail).encode()


def text_file(rng: random.Random, size: int) -> bytes:
    return _fill(f"Věc: {_sentence(rng)}\nČ. j.: KUJI {rng.randint(1000, 99999)}/2026\n\n",
                 lambda _n: " ".join(_sentence(rng) for _ in range(rng.randint(2, 5))) + "\n\n",
                 "S pozdravem\nodbor dopravy\n", size)


def csv_file(rng: random.Random, size: int) -> bytes:
    return _fill("poradove_cislo,datum,cislo_jednaci,vec,utvar,spisovy_znak,skartacni_znak\r\n",
                 lambda n: (f"{n + 1},{_date(rng)},KUJI {rng.randint(1000, 99999)}/2026,"
                            f"\"{_sentence(rng)}\",{rng.choice(DEPTS)},{rng.randint(1, 9)}.{rng.randint(1, 9)},"
                            f"{rng.choice('ASV')}/{rng.choice((5, 10, 15))}\r\n"), "", size)


def html_file(rng: random.Random, size: int) -> bytes:
    title = _sentence(rng)
    return _fill(f'<!DOCTYPE html>\n<html lang="cs">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
                 f"</head>\n<body>\n<h1>{title}</h1>\n",
                 lambda n: (f"<h2>{n + 1}. {rng.choice(DEPTS)}</h2>\n<p>{_sentence(rng)} {_sentence(rng)}</p>\n"
                            if n % 3 else f"<table><tr><td>{_date(rng)}</td><td>{_sentence(rng)}</td></tr></table>\n"),
                 "</body>\n</html>\n", size)


def xml_file(rng: random.Random, size: int) -> bytes:
    return _fill('<?xml version="1.0" encoding="UTF-8"?>\n<evidence xmlns="urn:example:registry" verze="1.0">\n',
                 lambda n: (f'  <dokument id="d{n + 1}">\n    <datum>{_date(rng)}</datum>\n'
                            f"    <vec>{_sentence(rng)}</vec>\n    <utvar>{rng.choice(DEPTS)}</utvar>\n"
                            f'    <skartace znak="{rng.choice("ASV")}" lhuta="{rng.choice((5, 10, 15))}"/>\n'
                            "  </dokument>\n"), "</evidence>\n", size)


def _latin(text: str) -> str:
    """The letters a Type 1 standard font shows: accents dropped, PDF string escapes."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_file(rng: random.Random, size: int) -> bytes:
    """A valid one-page PDF 1.4 letter (uncompressed text lines, an xref table) of about `size` bytes."""
    lines = []
    used = 700  # the objects, xref and trailer around the page's content stream
    while used < size:
        line = f"({_latin(_sentence(rng))[:90]}) Tj T*\n"
        lines.append(line)
        used += len(line)
    stream = ("BT /F1 10 Tf 12 TL 56 780 Td\n" + "".join(lines) + "ET").encode()
    return pdf_document([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                         (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
                          b"/Resources << /Font << /F1 5 0 R >> >> >>"),
                         b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
                         b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
                         f"<< /Producer (archa bench) /CreationDate (D:{_date(rng).replace('-', '')}120000) >>"
                         .encode()], trailer="/Info 6 0 R")


def png_file(rng: random.Random, size: int) -> bytes:
    """An 8-bit greyscale PNG of a scanned slip: paper-grey noise with dark text-like bars, as many
    rows as bring its compressed pixels to within 1-8 KiB and about `size` bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def row(y: int) -> bytes:
        ink = y % 12 in (4, 5, 6) and y >= 8
        return b"\x00" + bytes((rng.randint(20, 60) if ink and 8 <= x < width - 8 and rng.random() < 0.7 else
                                 rng.randint(220, 235)) for x in range(width))

    width, target = 96, min(max(size, 1100), 8000)
    rows = [row(y) for y in range(target * 3 // (2 * width))]
    while True:
        idat = zlib.compress(b"".join(rows), 9)
        if 1024 <= len(idat) + 57 <= 8192:  # signature, IHDR, IDAT and IEND framing: 57 bytes
            break
        rows = rows[:-8] if len(idat) + 57 > 8192 else rows + [row(len(rows) + k) for k in range(8)]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, len(rows), 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


KINDS: tuple[tuple[str, Callable[[random.Random, int], bytes]], ...] = (
    ("txt", text_file), ("csv", csv_file), ("html", html_file), ("xml", xml_file), ("pdf", pdf_file),
    ("png", png_file))


def make_mixed_folder(path: Path, count: int, seed: int) -> Path:
    """`count` files of 1-8 KiB of the KINDS in turn, in folders of 50, the same for the same seed."""
    shutil.rmtree(path, ignore_errors=True)
    rng = random.Random(seed)
    for i in range(count):
        ext, make = KINDS[i % len(KINDS)]
        data = make(rng, rng.randint(1024, 8192))
        assert 1024 <= len(data) <= 8192, (ext, len(data))
        p = path / f"spis/{i // 50}/dokument-{i:03d}.{ext}"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return path


TOOLS = ("gs", "ffprobe", "jhove", "convert", "mediainfo", "exiftool", "tesseract")


def a3m_tools() -> str:
    """Which of the tools a3m runs on real types this machine has: its time on (m) depends on them
    (Ghostscript normalises every PDF to PDF/A, ffprobe characterises images, JHOVE validates)."""
    def found(tool: str) -> bool:
        if not shutil.which(tool):
            return False
        if tool != "convert":
            return True
        out = subprocess.run([tool, "-version"], capture_output=True, text=True, check=False).stdout
        return out.startswith("Version: ImageMagick")  # some machines have a stand-in of that name
    have = [t for t in TOOLS if found(t)]
    return f"a3m's format tools found: {', '.join(have) or 'none'}; missing: {', '.join(t for t in TOOLS if t not in have)}"


def run_archa(src: Path, work: Path, via_bag: bool = False) -> float:
    """Seconds of one `archa transfer folder SRC --ingest` (with `via_bag`: SRC OUT --ingest)."""
    repo, out = work / "a3m-bench-repo", work / "a3m-bench-bag"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([str(BIN / "archa"), "init", str(repo)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["sync"], check=True)
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "archa"), "transfer", "folder", str(src), *([str(out)] if via_bag else []), "--ingest",
                    "--repo", str(repo)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def run_a3m(a3m: Path, src: Path, work: Path, n: int, *config: str) -> float:
    """Seconds of one a3m run on `src` with a fresh home; `config`: processing configuration
    pairs (`normalize=no`)."""
    home = work / "a3m-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    subprocess.run(["sync"], check=True)
    t0 = time.perf_counter()
    proc = subprocess.run([str(a3m), "--name", f"bench{n}", *[a for c in config for a in ("-p", c)], "--no-input",
                           src.as_uri()], capture_output=True,
                          text=True, env={**os.environ, "HOME": str(home)}, cwd=work, check=False)
    elapsed = time.perf_counter() - t0
    done = list((home / ".local/share/a3m/share/completed").glob("*.7z"))
    assert proc.returncode == 0 and done, f"a3m failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    return elapsed


def ratio_line(label: str, a: float, two: float, b: float, plain: float | None = None) -> str:
    return (f"{label:<26} archa {a:5.2f} s | a3m {b:6.2f} s {b / a:5.1f}x"
            + (f" | a3m normalize=no {plain:6.2f} s {plain / a:5.1f}x" if plain is not None else "")
            + f" | via a bag at OUT {two:5.2f} s ({b / two:.1f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-large", action="store_true", help="leave out (b), the 4 files of 64 MiB")
    ap.add_argument("--python3.12", dest="python312", default=find_python312())
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    a3m = ensure_a3m(work, args.python312)
    # archa's modules compiled as `make install` leaves them (PYTHONDONTWRITEBYTECODE would have every
    # command compile a module edited since): the figures are those of an installed archa
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "archa")],
                   check=False, stdout=subprocess.DEVNULL)
    rng = random.Random(1)
    small = {"(a) 200 x 1-8 KiB random": make_folder(
                 work / "a3m-src-0", {f"spis/{i // 50}/dokument-{i:03d}.bin": rng.randint(1024, 8192)
                                      for i in range(200)}, 0),
             "(m) 200 x 1-8 KiB mixed": make_mixed_folder(work / "a3m-src-m", 200, 2)}
    print(f"archa transfer folder SRC --ingest vs a3m 0.8.1, {os.cpu_count()} cores, {args.rounds} rounds"
          f" (each command after a sync), load average {os.getloadavg()[0]:.1f} at the start")
    print(f"  {a3m_tools()}")
    ratios: dict[str, list[tuple[float, float]]] = {label: [] for label in small}
    for r in range(args.rounds):
        for label, src in small.items():
            a = run_archa(src, work)
            two = run_archa(src, work, via_bag=True)
            b = run_a3m(a3m, src, work, r)
            plain = run_a3m(a3m, src, work, r, "normalize=no")
            ratios[label].append((b / a, plain / a))
            print(f"  round {r + 1} {ratio_line(label, a, two, b, plain)}", flush=True)
    for label, got in ratios.items():
        full, plain_r = [g[0] for g in got], [g[1] for g in got]
        print(f"  {label:<26} archa is {min(full):.1f}-{max(full):.1f}x as fast as a3m over {len(got)} rounds"
              f" ({min(plain_r):.1f}-{max(plain_r):.1f}x as a3m without normalization)")
    print(f"  load average {os.getloadavg()[0]:.1f} at the end (other work on the machine slows both sides unevenly)")
    if not args.no_large:
        src = make_folder(work / "a3m-src-1", {f"sken-{i}.bin": 64 << 20 for i in range(4)}, 1)
        a = min(run_archa(src, work) for _ in range(args.rounds))
        two = min(run_archa(src, work, via_bag=True) for _ in range(args.rounds))
        b = min(run_a3m(a3m, src, work, r) for r in range(args.rounds))
        print(f"  best of {args.rounds}: {ratio_line('(b) 4 files of 64 MiB', a, two, b)}")


if __name__ == "__main__":
    main()
