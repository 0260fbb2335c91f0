"""Benchmark: `archa fixity audit` versus bagit.py and the one-core hashlib floor, and the
packed-copy audit versus `zstd -dc ARCHIVE | sha256sum`, on the same bytes, in one run.

(a) a repository holding the 8 x 128 MiB bag, (b) one holding the 20,000-small-file bag:
    `archa fixity audit --all --location hot` vs `bagit.py --validate --processes 2 BAG`
    (sha256 manifest) vs one process hashing the same payload files with hashlib.
(c) the packed copy of (a): `archa fixity audit --all --location cold` vs
    `zstd -dc ARCHIVE | sha256sum`.
Each side runs twice: with the page cache dropped (cold: the disk's speed) and at once
again (warm: the CPU's; the "one-core floor" is a CPU figure). Peak RSS per side.
On a shared, noisy machine one run says little: `--rounds N` runs every side N times,
taking turns (the order reversed every other round), and shows each side's median and
the ratio of each round's pair, run seconds apart.

archa's bytecode caches are written first: with PYTHONDONTWRITEBYTECODE set, or modules
edited since their caches were written, every `archa` start would compile them again
(~0.07 s of CPU a start), which an installed archa never does; bagit.py's were written
when it was installed.

    python bench/fixity.py [--only a|b] [--rounds 3] [--small 20000] [--work bench-work]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import init_repo, run, settle, standard_bags  # bench/ingest.py

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


@dataclass
class Sample:
    seconds: float
    cpu: float  # user + system seconds of the command and of every process it started
    peak_rss_mb: float


Rounds = list[tuple[Sample, Sample]]  # (cold, warm) of each round


def timed(cmd: list[str]) -> Sample:
    """`run` (wall time, peak RSS) and the CPU time it took: what a busy machine's
    neighbours change least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = run(cmd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Sample(r.seconds, cpu, r.peak_rss_mb)


def cold_and_warm(cmd: list[str]) -> tuple[Sample, Sample]:
    """Run `cmd` with the page cache dropped, then again at once (the data now cached)."""
    settle()
    cold = timed(cmd)
    return cold, timed(cmd)


def take_turns(sides: dict[str, list[str]], rounds: int) -> dict[str, Rounds]:
    """Every side cold and warm, `rounds` times, the order reversed every other round."""
    out: dict[str, Rounds] = {label: [] for label in sides}
    for i in range(rounds):
        for label in (list(sides) if i % 2 == 0 else list(sides)[::-1]):
            out[label].append(cold_and_warm(sides[label]))
    return out


def median(runs: Rounds, i: int) -> float:
    return statistics.median(r[i].seconds for r in runs)


def report(rows: dict[str, Rounds], nbytes: int, nfiles: int) -> None:
    """Per side the median cold and warm seconds and CPU seconds (the only ones with one round)."""
    print(f"  {'':<42}{'cold s':>8}{'warm s':>8}{'warm MB/s':>10}{'files/s':>9}{'peak RSS MB':>12}"
          f"{'CPU s cold':>11}{'warm':>6}")
    for label, runs in rows.items():
        c, w = median(runs, 0), median(runs, 1)
        cpu = [statistics.median(r[i].cpu for r in runs) for i in (0, 1)]
        print(f"  {label:<42}{c:>8.2f}{w:>8.2f}{nbytes / w / 1e6:>10.1f}"
              f"{nfiles / w:>9.0f}{max(r.peak_rss_mb for pair in runs for r in pair):>12.0f}"
              f"{cpu[0]:>11.2f}{cpu[1]:>6.2f}")


def per_round(ours: Rounds, theirs: Rounds, i: int) -> str:
    """Their time over ours in each round (empty with one round)."""
    if len(ours) < 2:
        return ""
    return " (rounds: " + ", ".join(f"{t[i].seconds / o[i].seconds:.2f}" for o, t in zip(ours, theirs)) + ")"


def bench(name: str, bag: Path, work: Path, nbytes: int, nfiles: int, packed: bool, rounds: int) -> None:
    repo = work / f"fixity-{name}"
    init_repo(repo, one_copy=not packed)
    subprocess.run([str(BIN / "archa"), "ingest", "--repo", str(repo), str(bag)], check=True,
                   stdout=subprocess.DEVNULL)
    payload = next((repo / "storage" / "hot").glob("*/*/*/*")) / "v1" / "content" / "representations"
    ours, bagit, floor = "archa fixity audit --all --location hot", "bagit.py --validate --processes 2", \
        "one process, hashlib (one-core floor)"
    runs = take_turns({ours: [str(BIN / "archa"), "fixity", "audit", "--all", "--location", "hot", "--repo", str(repo)],
                       bagit: [str(BIN / "bagit.py"), "--validate", "--processes", "2", str(bag)],
                       floor: [sys.executable, "-c", FLOOR, str(payload)]}, rounds)
    print(f"\n({name}) {nfiles} files, {nbytes / 2**20:.0f} MiB" + (f", median of {rounds} rounds" if rounds > 1 else ""))
    report(runs, nbytes, nfiles)
    for i, state in enumerate(("cold", "warm")):
        print(f"  {state} cache: archa vs floor {median(runs[floor], i) / median(runs[ours], i):.2f}x the throughput, "
              f"vs bagit.py {median(runs[bagit], i) / median(runs[ours], i):.2f}x faster"
              + per_round(runs[ours], runs[bagit], i))
    if packed:
        archive = next((repo / "storage" / "cold").glob("*/*/*/*/v1.tar.zst"))
        cold, pipe = "archa fixity audit --location cold", "zstd -dc ARCHIVE | sha256sum"
        runs = take_turns({cold: [str(BIN / "archa"), "fixity", "audit", "--all", "--location", "cold", "--repo",
                                  str(repo)],
                           pipe: ["sh", "-c", f"zstd -dc '{archive}' | sha256sum"]}, rounds)
        size = archive.stat().st_size
        print(f"\n(c) the packed copy of ({name}): {size / 2**20:.0f} MiB archive")
        report(runs, size, 1)
        for i, state in enumerate(("cold", "warm")):
            print(f"  {state} cache: archa / zstd pipe {median(runs[cold], i) / median(runs[pipe], i):.2f}x the time")
    shutil.rmtree(repo, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--only", choices=["a", "b"])
    ap.add_argument("--small", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3, help="run every side this many times, taking turns")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    compileall.compile_dir(Path(__file__).resolve().parents[1] / "archa", quiet=1)
    print(f"archa fixity benchmark, {os.cpu_count()} cores")
    for name, bag, n, f in standard_bags(args.work, args.only, args.small):
        bench(name, bag, args.work, n, f, packed=name == "a", rounds=args.rounds)


if __name__ == "__main__":
    main()
