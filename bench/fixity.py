"""Benchmark: `archa fixity audit` versus bagit.py and the one-core hashlib floor, and the
packed-copy audit versus `zstd -dc ARCHIVE | sha256sum`, on the same bytes, in one run.

(a) a repository holding the 8 x 128 MiB bag, (b) one holding the 20,000-small-file bag:
    `archa fixity audit --all --location hot` vs `bagit.py --validate --processes 2 BAG`
    (sha256 manifest) vs one process hashing the same payload files with hashlib.
(c) the packed copy of (a): `archa fixity audit --all --location cold` vs
    `zstd -dc ARCHIVE | sha256sum`.
Each side runs twice: with the page cache dropped (cold: the disk's speed) and at once
again (warm: the CPU's; the "one-core floor" is a CPU figure). Peak RSS per side.

    python bench/fixity.py [--only a|b] [--small 20000] [--work bench-work]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import Run, init_repo, run, settle, standard_bags  # bench/ingest.py

BIN = Path(sys.executable).parent
FLOOR = """
import hashlib, os, sys
for root, _d, files in os.walk(sys.argv[1]):
    for name in files:
        h = hashlib.sha256()
        with open(os.path.join(root, name), "rb") as f:
            while chunk := f.read(4 << 20):
                h.update(chunk)
"""


def cold_and_warm(cmd: list[str]) -> tuple[Run, Run]:
    """Run `cmd` with the page cache dropped, then again at once (the data now cached)."""
    settle()
    cold = run(cmd)
    return cold, run(cmd)


def report(rows: list[tuple[str, tuple[Run, Run]]], nbytes: int, nfiles: int) -> None:
    print(f"  {'':<42}{'cold s':>8}{'warm s':>8}{'warm MB/s':>10}{'files/s':>9}{'peak RSS MB':>12}")
    for label, (c, w) in rows:
        print(f"  {label:<42}{c.seconds:>8.2f}{w.seconds:>8.2f}{nbytes / w.seconds / 1e6:>10.1f}"
              f"{nfiles / w.seconds:>9.0f}{max(c.peak_rss_mb, w.peak_rss_mb):>12.0f}")


def bench(name: str, bag: Path, work: Path, nbytes: int, nfiles: int, packed: bool) -> None:
    repo = work / f"fixity-{name}"
    init_repo(repo, one_copy=not packed)
    subprocess.run([str(BIN / "archa"), "ingest", "--repo", str(repo), str(bag)], check=True,
                   stdout=subprocess.DEVNULL)
    payload = next((repo / "storage" / "hot").glob("*/*/*/*")) / "v1" / "content" / "representations"
    ours = cold_and_warm([str(BIN / "archa"), "fixity", "audit", "--all", "--location", "hot", "--repo", str(repo)])
    bagit = cold_and_warm([str(BIN / "bagit.py"), "--validate", "--processes", "2", str(bag)])
    floor = cold_and_warm([sys.executable, "-c", FLOOR, str(payload)])
    print(f"\n({name}) {nfiles} files, {nbytes / 2**20:.0f} MiB")
    report([("archa fixity audit --all --location hot", ours), ("bagit.py --validate --processes 2", bagit),
            ("one process, hashlib (one-core floor)", floor)], nbytes, nfiles)
    for i, state in enumerate(("cold", "warm")):
        print(f"  {state} cache: archa vs floor {floor[i].seconds / ours[i].seconds:.2f}x the throughput, "
              f"vs bagit.py {bagit[i].seconds / ours[i].seconds:.2f}x faster")
    if packed:
        archive = next((repo / "storage" / "cold").glob("*/*/*/*/v1.tar.zst"))
        cold = cold_and_warm([str(BIN / "archa"), "fixity", "audit", "--all", "--location", "cold", "--repo", str(repo)])
        pipe = cold_and_warm(["sh", "-c", f"zstd -dc '{archive}' | sha256sum"])
        size = archive.stat().st_size
        print(f"\n(c) the packed copy of ({name}): {size / 2**20:.0f} MiB archive")
        report([("archa fixity audit --location cold", cold), ("zstd -dc ARCHIVE | sha256sum", pipe)], size, 1)
        for i, state in enumerate(("cold", "warm")):
            print(f"  {state} cache: archa / zstd pipe {cold[i].seconds / pipe[i].seconds:.2f}x the time")
    shutil.rmtree(repo, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--only", choices=["a", "b"])
    ap.add_argument("--small", type=int, default=20_000)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"archa fixity benchmark, {os.cpu_count()} cores")
    for name, bag, n, f in standard_bags(args.work, args.only, args.small):
        bench(name, bag, args.work, n, f, packed=name == "a")


if __name__ == "__main__":
    main()
