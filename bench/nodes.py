"""Benchmark: ingest throughput of one archa node and of two nodes on the same storage, with
the catalog on a PostgreSQL server (started here, on a Unix socket), and the embedded SQLite
catalog on one node as the baseline.

BAGS (default 24) bags of FILES (default 200) files of 1-8 KiB are ingested:
- sqlite: one node, one ingest at a time (the embedded default);
- pg-1: one node on the PostgreSQL catalog, one ingest at a time;
- pg-2: two nodes of one repository, each ingesting half the bags at the same time.
On a 2-core machine the second node brings contention, not speed-up: the figure to read is
how much of an ingest's time goes to the catalog (profiled on one pg-1 ingest: the time spent
in archa/repository/catalog/ and psycopg), and that two nodes lose nothing (every bag stored
once, one event chain).

    python bench/nodes.py [--bags 24] [--files 200] [--work bench-work]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import pgserver
from tests.bagmaker import write_bag

BIN = Path(sys.executable).parent


def make_bags(work: Path, n: int, files: int) -> list[Path]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        path = work / "bags" / f"bag{i:03d}"
        shutil.rmtree(path, ignore_errors=True)
        out.append(write_bag(path, {f"spis/f{j:04d}.txt": rng.randbytes(rng.randint(1024, 8192)) for j in range(files)}))
    return out


def run_ingests(repo: Path, bags: list[Path]) -> subprocess.Popen[str]:
    """One process ingesting `bags` one after another (a node's intake queue)."""
    script = ";".join(f"archa ingest {b} --repo {repo} >/dev/null" for b in bags)
    return subprocess.Popen(["bash", "-c", f"set -e; export PATH={BIN}:$PATH; {script}"], text=True,
                            stderr=subprocess.PIPE)


def timed(procs: list[subprocess.Popen[str]]) -> float:
    t0 = time.perf_counter()
    for p in procs:
        _o, err = p.communicate()
        assert p.returncode == 0, err
    return time.perf_counter() - t0


def catalog_share(repo: Path, bag: Path) -> tuple[float, float]:
    """(seconds in the catalog, seconds in all) of one ingest, profiled in this process."""
    from archa.ingest.ingest import ingest
    from archa.repository.repo import Repository

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    with Repository.open(repo) as r:
        prof.enable()
        ingest(r, bag)
        prof.disable()
    total = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    inner = sum(v[2] for k, v in stats.stats.items()  # type: ignore[attr-defined]
                if "/archa/repository/catalog/" in k[0] or "/psycopg/" in k[0] or "sqlite3" in k[0])
    return inner, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--bags", type=int, default=24)
    ap.add_argument("--files", type=int, default=200)
    args = ap.parse_args()
    work = (args.work / "nodes").resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    bags = make_bags(work, args.bags, args.files)
    server = pgserver.start(work / "pg")
    try:
        results = {}
        sqlite_repo = work / "sqlite"
        subprocess.run([str(BIN / "archa"), "init", str(sqlite_repo)], check=True, stdout=subprocess.DEVNULL)
        results["sqlite"] = timed([run_ingests(sqlite_repo, bags)])
        one = work / "pg-1"
        subprocess.run([str(BIN / "archa"), "init", str(one), "--catalog", server.database(), "--node", "one"],
                       check=True, stdout=subprocess.DEVNULL)
        results["pg-1"] = timed([run_ingests(one, bags)])
        url = server.database()
        a, b = work / "pg-2a", work / "pg-2b"
        subprocess.run([str(BIN / "archa"), "init", str(a), "--catalog", url, "--node", "a"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([str(BIN / "archa"), "init", str(b), "--catalog", url, "--node", "b"], check=True,
                       stdout=subprocess.DEVNULL)
        results["pg-2"] = timed([run_ingests(a, bags[0::2]), run_ingests(b, bags[1::2])])
        extra = write_bag(work / "bags" / "profiled", {f"spis/f{j:04d}.txt": bytes([j % 251]) * 4096
                                                       for j in range(args.files)})
        inner, total = catalog_share(one, extra)
        n = args.bags
        print(f"{n} bags x {args.files} files of 1-8 KiB")
        for name, secs in results.items():
            print(f"  {name:<7} {secs:7.1f} s  {n / secs:5.2f} bags/s  ({secs / results['sqlite']:.2f}x sqlite)")
        print(f"  catalog share of one pg-1 ingest: {inner:.2f} s of {total:.2f} s ({100 * inner / total:.0f} %)")
        print(f"  two nodes against one: {results['pg-1'] / results['pg-2']:.2f}x the throughput")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
