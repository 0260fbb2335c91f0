"""Benchmark: files/s of `archa identify` (each engine) and of the `fido` command, on the
same generated corpus of small files, in one run.

The corpus cycles through the 54 formats of tests/corpus.py (PDF, TIFF, JPEG, JP2, Office,
ODF, audio, video, archives, text, ...) into N files (default 5,000) in 50 folders.

    python bench/identify.py [--files 5000] [--work bench-work]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.corpus import CORPUS

BIN = Path(sys.executable).parent


def make_corpus(root: Path, n: int) -> None:
    blobs = [(name, make()) for name, make in CORPUS.items()]
    for i in range(n):
        name, data = blobs[i % len(blobs)]
        d = root / f"d{i % 50:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{i:05d}-{name}").write_bytes(data)


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    args = ap.parse_args()
    root = args.work / "identify-corpus"
    shutil.rmtree(root, ignore_errors=True)
    make_corpus(root, args.files)
    total = sum(len(fs) for _d, _s, fs in os.walk(root))
    print(f"identify benchmark: {total} files in {root}, {os.cpu_count()} cores")
    runs = {
        "archa identify --engine siegfried": [str(BIN / "archa"), "identify", "--engine", "siegfried",
                                              "--csv", str(root)],
        "archa identify --engine fido": [str(BIN / "archa"), "identify", "--engine", "fido", "--csv", str(root)],
        "fido -recurse (the fido command)": [str(BIN / "fido"), "-q", "-recurse", str(root)],
    }
    results = {}
    for label, cmd in runs.items():
        timed(cmd[:2] + ["--help"] if cmd[1] == "identify" else [cmd[0], "-v"])  # warm the imports
        results[label] = timed(cmd)
    base = results["fido -recurse (the fido command)"]
    print(f"  {'':<36}{'seconds':>9}{'files/s':>10}{'vs fido':>9}")
    for label, secs in results.items():
        print(f"  {label:<36}{secs:>9.2f}{total / secs:>10.0f}{base / secs:>8.1f}x")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
