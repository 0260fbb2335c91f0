"""Benchmark: `archa status`, `archa report` and `archa catalog export` on a repository
holding a 200,000-file AIP (plus a few small ones), against `du -sb` of the storage (what
an administrator runs to see how much is held), in one run; best of 3 each.

    python bench/status.py [--files 200000] [--work bench-work]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import best_of, init_repo, make_bag, run  # bench/ingest.py

BIN = Path(sys.executable).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200_000)
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    args = ap.parse_args()
    work = args.work.absolute()
    work.mkdir(exist_ok=True)
    repo = work / "status-repo"
    shutil.rmtree(repo, ignore_errors=True)
    init_repo(repo, one_copy=False)
    rng = random.Random(5)
    bag = work / "status-bag"
    shutil.rmtree(bag, ignore_errors=True)
    make_bag(bag, {f"p{i // 1000:03d}/page-{i:06d}.txt": rng.randint(16, 64) for i in range(args.files)}, 5)
    archa = str(BIN / "archa")
    subprocess.run([archa, "ingest", "--repo", str(repo), str(bag)], check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(bag)
    for i in range(5):
        small = work / f"status-small-{i}"
        shutil.rmtree(small, ignore_errors=True)
        make_bag(small, {"a.txt": 10 + i}, i)
        subprocess.run([archa, "ingest", "--repo", str(repo), str(small)], check=True, stdout=subprocess.DEVNULL)
        shutil.rmtree(small)
    subprocess.run([archa, "fixity", "audit", "--repo", str(repo), "--location", "cold"], check=True,
                   stdout=subprocess.DEVNULL)
    out = work / "status-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    n = iter(range(1000))
    sides = {
        "archa status": lambda: run([archa, "status", "--repo", str(repo)]),
        "archa report": lambda: run([archa, "report", "--repo", str(repo), str(out / f"r{next(n)}.html")]),
        "archa catalog export (parquet)": lambda: run([archa, "catalog", "export", "--repo", str(repo),
                                                       str(out / f"e{next(n)}")]),
        "du -sb storage (baseline)": lambda: run(["du", "-sb", str(repo / "storage")]),
    }
    results = best_of(3, sides)
    base = results["du -sb storage (baseline)"].seconds
    print(f"repository: {args.files + 5} payload files in 6 AIPs (hot OCFL + cold packed)")
    print(f"  {'':<34}{'s':>8}{'x du':>8}{'peak RSS MB':>12}")
    for label, r in results.items():
        print(f"  {label:<34}{r.seconds:>8.2f}{r.seconds / base:>8.2f}{r.peak_rss_mb:>12.0f}")
    shutil.rmtree(out)


if __name__ == "__main__":
    main()
