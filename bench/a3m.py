"""Benchmark: `archa transfer folder SRC --ingest` against a3m (Lightweight Archivematica
0.8.1) on the same folders, in one run.

archa: a fresh repository (default placement: hot OCFL + packed zstd cold copy); the folder
       bagged inside the repository's staging area (each file read once, written once into
       the AIP), validated, identified, stored, copied, catalogued. For reference also the
       two-step way, `archa transfer folder SRC OUT --ingest` (a bag at OUT, then ingested).
a3m:   `a3m --name NAME --no-input file://SRC` with its own fresh home (embedded server,
       its default processing configuration): transfer, identification, characterisation,
       packaging as a 7z AIP.

Folders: (a) 200 files of 1-8 KiB, (b) 4 files of 64 MiB of random bytes. Best of ROUNDS.

a3m is not a dependency of archa: this script installs it into its own Python 3.12 venv
(WORK/a3m-venv; `pip install a3m==0.8.1`), and a3m needs Debian's `p7zip-full`, `tree` and
`atool` (installed here with apt-get when missing and running as root).

    python bench/a3m.py [--work bench-work] [--rounds 2] [--python3.12 PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

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


def run_a3m(a3m: Path, src: Path, work: Path, n: int) -> float:
    home = work / "a3m-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    subprocess.run(["sync"], check=True)
    t0 = time.perf_counter()
    proc = subprocess.run([str(a3m), "--name", f"bench{n}", "--no-input", src.as_uri()], capture_output=True,
                          text=True, env={**os.environ, "HOME": str(home)}, cwd=work, check=False)
    elapsed = time.perf_counter() - t0
    done = list((home / ".local/share/a3m/share/completed").glob("*.7z"))
    assert proc.returncode == 0 and done, f"a3m failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--python3.12", dest="python312", default=find_python312())
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    a3m = ensure_a3m(work, args.python312)
    rng = random.Random(1)
    folders = {"(a) 200 files of 1-8 KiB": {f"spis/{i // 50}/dokument-{i:03d}.bin": rng.randint(1024, 8192)
                                           for i in range(200)},
               "(b) 4 files of 64 MiB": {f"sken-{i}.bin": 64 << 20 for i in range(4)}}
    print(f"archa transfer folder SRC --ingest vs a3m 0.8.1, {os.cpu_count()} cores, best of {args.rounds}")
    for k, (label, files) in enumerate(folders.items()):
        src = make_folder(work / f"a3m-src-{k}", files, k)
        a = min(run_archa(src, work) for _ in range(args.rounds))
        two = min(run_archa(src, work, via_bag=True) for _ in range(args.rounds))
        b = min(run_a3m(a3m, src, work, r) for r in range(args.rounds))
        print(f"  {label:<26} archa {a:7.2f} s | a3m {b:7.2f} s | archa is {b / a:.1f}x as fast"
              f" | via a bag at OUT {two:5.2f} s ({b / two:.1f}x)")


if __name__ == "__main__":
    main()
