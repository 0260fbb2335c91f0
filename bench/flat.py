"""Benchmark: peak memory of the per-file commands at 20,000 and at 200,000 files, in one run.

For each size N a folder of N files of 1-8 KiB (100 folders) is made, then, each in its own
process with peak RSS from GNU time:
  transfer   `archa transfer folder SRC OUT` (a bag; nothing else)
  ingest     `archa ingest REPO OUT` (default placement: hot OCFL + packed cold copy)
  direct     `archa transfer folder SRC --ingest` (bagged in staging, no bag outside)
  audit      `archa fixity audit --all` (both copies re-read)
  rebuild    `archa catalog rebuild --check` (everything read back from storage, compared)
The baseline is the same command at 20,000 files: flat memory means a ratio near 1.

    python bench/flat.py [--work DIR] [--sizes 20000,200000]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ARCHA = str(BIN / "archa")


def make_folder(root: Path, n: int) -> None:
    rng = random.Random(n)
    for i in range(n):
        p = root / f"spis-{i % 100:03d}" / f"dokument-{i:07d}.bin"
        if i < 100:
            p.parent.mkdir(parents=True)
        p.write_bytes(rng.randbytes(rng.randint(1024, 8192)))


def run(cmd: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of `cmd`, which must succeed (exit 0 or 1 for --check)."""
    with tempfile.NamedTemporaryFile("r") as rss:
        t0 = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", "-o", rss.name, *cmd], capture_output=True,
                              text=True, check=False)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return elapsed, int(rss.read().split()[-1]) / 1024


def measure(work: Path, n: int) -> dict[str, tuple[float, float]]:
    src, bag, repo, repo2 = (work / f"{name}-{n}" for name in ("src", "bag", "repo", "repo-direct"))
    for p in (src, bag, repo, repo2):
        shutil.rmtree(p, ignore_errors=True)
    make_folder(src, n)
    for r in (repo, repo2):
        subprocess.run([ARCHA, "init", str(r)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["sync"], check=True)
    out = {"transfer": run([ARCHA, "transfer", "folder", str(src), str(bag)]),
           "ingest": run([ARCHA, "ingest", "--repo", str(repo), str(bag)]),
           "direct": run([ARCHA, "transfer", "folder", str(src), "--ingest", "--repo", str(repo2)]),
           "audit": run([ARCHA, "fixity", "audit", "--all", "--repo", str(repo)]),
           "rebuild": run([ARCHA, "catalog", "rebuild", "--check", "--repo", str(repo)])}
    for p in (src, bag, repo, repo2):
        shutil.rmtree(p, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--sizes", default="20000,200000")
    args = ap.parse_args()
    if not Path("/usr/bin/time").exists():
        raise SystemExit("needs GNU time (/usr/bin/time): apt-get install time")
    sizes = [int(x) for x in args.sizes.split(",")]
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    results = {n: measure(work, n) for n in sizes}
    base = sizes[0]
    print(f"peak RSS of archa commands by file count, {os.cpu_count()} cores (files of 1-8 KiB)")
    print(f"  {'command':<10}" + "".join(f"{f'{n:,} files':>24}" for n in sizes) + f"{'ratio':>9}")
    for cmd in results[base]:
        cells = "".join(f"{results[n][cmd][1]:>11.0f} MB {results[n][cmd][0]:>8.1f} s" for n in sizes)
        print(f"  {cmd:<10}{cells}{results[sizes[-1]][cmd][1] / results[base][cmd][1]:>8.2f}x")
    print(f"  ratio: peak RSS at {sizes[-1]:,} files / at {base:,} files (flat memory: about 1)")


if __name__ == "__main__":
    main()
