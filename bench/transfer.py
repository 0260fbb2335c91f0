"""Benchmark: `archa transfer folder` versus what an archivist does by hand, on the same tree.

By hand: `cp -r SRC COPY`, then `bagit.py --processes 2 --sha256 COPY` (bags the copy in
place: moves the files into data/ and reads them again for the manifest), then `sync`.
archa:   `archa transfer folder SRC OUT` (each file read once, hashed while copied,
         modification times kept, the bag flushed before it appears), then `sync`.

Trees: (a) 8 x 128 MiB random files, (b) 20,000 files of 1-8 KiB in 20 folders. Each side
starts with the page cache dropped; the sides take turns for --rounds rounds and the best
time of each is shown. Peak RSS from GNU time.

    python bench/transfer.py [--work bench-work] [--only a|b] [--rounds 2] [--small 20000]
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import Run, best_of, run, settle, standard_bags  # bench/ingest.py

BIN = Path(sys.executable).parent


def side(cmds: list[list[str]], out: Path) -> Run:
    settle()
    t0 = time.perf_counter()
    peak = 0.0
    for cmd in cmds:
        peak = max(peak, run(cmd).peak_rss_mb)
    run(["sync"])
    elapsed = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    return Run(elapsed, peak)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--only", choices=["a", "b"])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--small", type=int, default=20_000)
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"archa transfer folder benchmark, {os.cpu_count()} cores, work dir {work}")
    for name, bag, nbytes, nfiles in standard_bags(work, args.only, args.small):
        src = bag / "data"  # the payload of the generated bag is the "share" to transfer
        ours, copy = work / f"transfer-{name}-bag", work / f"transfer-{name}-copy"
        sides = {
            "archa transfer folder": ([[str(BIN / "archa"), "transfer", "folder", str(src), str(ours),
                                        "--repo", str(work / "no-repo")]], ours),
            "cp -r + bagit.py --processes 2": ([["cp", "-r", str(src), str(copy)],
                                                [str(BIN / "bagit.py"), "--processes", "2", "--sha256", str(copy)]],
                                               copy),
        }
        best = best_of(args.rounds, {label: functools.partial(side, *how) for label, how in sides.items()})
        print(f"\n({name}) {nfiles} files, {nbytes / 2**20:.0f} MiB, cold cache, each side ends with sync; "
              f"best of {args.rounds}")
        print(f"  {'':<34}{'seconds':>9}{'MB/s':>9}{'files/s':>10}{'peak RSS MB':>13}")
        for label, r in best.items():
            print(f"  {label:<34}{r.seconds:>9.2f}{nbytes / r.seconds / 1e6:>9.1f}{nfiles / r.seconds:>10.0f}"
                  f"{r.peak_rss_mb:>13.0f}")
        a, b = best["archa transfer folder"], best["cp -r + bagit.py --processes 2"]
        print(f"  ratio archa / by hand: {a.seconds / b.seconds:.2f}x the time")


if __name__ == "__main__":
    main()
