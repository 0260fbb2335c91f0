"""Benchmark: an ingest while a full fixity audit runs, against the same ingest alone.

A repository holding AIPS (default 8) AIPs of 64 MiB (random bytes, hot + packed cold copy)
is audited in full (`archa fixity audit --all --rate RATE`, every copy re-read) while a bag of SMALL
(default 2,000) files of 1-8 KiB is ingested; the same ingest into the same repository with
no audit running is the baseline. Before concurrency an ingest started during an audit
waited 30 s and failed as "busy"; now it runs beside it, sharing the disk and the two cores.

    python bench/beside.py [--aips 8] [--small 2000] [--rate 100] [--work bench-work]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.bagmaker import write_bag

BIN = Path(sys.executable).parent


def archa(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BIN / "archa"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def small_bag(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    shutil.rmtree(path, ignore_errors=True)
    return write_bag(path, {f"d{i // 500:02d}/f{i:05d}.txt": rng.randbytes(rng.randint(1024, 8192)) for i in range(n)})


def ingest_seconds(repo: Path, bag: Path) -> float:
    t0 = time.perf_counter()
    p = archa("ingest", str(bag), "--json", "--repo", str(repo))
    _out, err = p.communicate()
    assert p.returncode == 0, err
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--aips", type=int, default=8)
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=100.0, help="The audit's read rate in MB/s (a nightly audit is "
                                                           "throttled; the page cache would make it instant)")
    args = ap.parse_args()
    work = args.work.resolve()
    repo = work / "beside-repo"
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run([str(BIN / "archa"), "init", str(repo)], check=True, stdout=subprocess.DEVNULL)
    for i in range(args.aips):
        bag = write_bag(work / f"beside-big-{i}", {f"scan-{i}.bin": os.urandom(64 << 20)})  # its own External-Id
        assert ingest_seconds(repo, bag) > 0
        shutil.rmtree(bag)
    subprocess.run(["sync"], check=True)
    alone = ingest_seconds(repo, small_bag(work / "beside-a", args.small, 1))
    audit = archa("fixity", "audit", "--all", "--rate", str(args.rate), "--json", "--repo", str(repo))
    time.sleep(0.5)
    t0 = time.perf_counter()
    during = ingest_seconds(repo, small_bag(work / "beside-b", args.small, 2))
    still = audit.poll() is None
    out, err = audit.communicate()
    audit_s = time.perf_counter() - t0 + 0.5
    assert audit.returncode == 0, err
    summary = json.loads(out)
    print(f"ingest beside an audit, {os.cpu_count()} cores: {args.aips} AIPs of 64 MiB audited in full "
          f"({summary['copies']} copies, {summary['bytes'] / 2**20:.0f} MiB at {args.rate:.0f} MB/s, {audit_s:.1f} s); "
          f"a bag of "
          f"{args.small} small files ingested")
    print(f"  ingest alone        {alone:6.2f} s")
    print(f"  ingest during audit {during:6.2f} s   ratio {during / alone:.2f}x the time; the audit was "
          f"{'still running when the ingest finished' if still else 'over before the ingest finished'}")


if __name__ == "__main__":
    main()
