"""Benchmark: ingest of the 1 GiB bag (8 x 128 MiB) into hot only, hot + cold (local packed
copy, zstd), and hot + S3 (an OCFL copy on a real SeaweedFS server on 127.0.0.1), in one run.

For each extra location: the overhead against hot only, the MB/s it adds at, and for the
packed copy the compression ratio. Every copy is verified as read back, as in production.

    python bench/tiers.py [--files 8] [--mib 128] [--work bench-work]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import make_bag, settle  # bench/ingest.py

from archa.ingest.ingest import ingest
from archa.repository.config import Location
from archa.repository.repo import Repository
from archa.repository.storage import add_location
from tests import s3server


def repo_with(root: Path, policy: str, drop_cold: bool) -> Repository:
    Repository.init(root).close()
    cfg = (root / "archa.toml").read_text()
    if drop_cold:
        start = cfg.index('[[locations]]\nname = "cold"')
        cfg = cfg[:start] + cfg[cfg.index("# Overrides"):]
    (root / "archa.toml").write_text(cfg + policy)
    return Repository.open(root)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--mib", type=int, default=128)
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    args = ap.parse_args()
    work = args.work / "tiers"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    bag = work / "bag"
    nbytes, nfiles = make_bag(bag, {f"file-{i}.bin": args.mib << 20 for i in range(args.files)}, 1)
    server = s3server.start(work / "seaweedfs")
    os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = server.access_key, server.secret_key
    try:
        configs = {
            "hot only": repo_with(work / "r-hot", "[policy.placement]\ncopies = 1\ntiers = [\"hot\"]\n", True),
            "hot + cold (packed, local)": repo_with(work / "r-cold", "", False),
            "hot + S3 (OCFL, SeaweedFS)": repo_with(work / "r-s3", "[policy.placement]\ncopies = 2\n"
                                                    "tiers = [\"hot\", \"warm\"]\n", True),
        }
        with configs["hot + S3 (OCFL, SeaweedFS)"].writing():
            add_location(configs["hot + S3 (OCFL, SeaweedFS)"],
                         Location("s3", "ocfl", f"s3://{s3server.BUCKET}/aips", "warm", endpoint=server.endpoint))
        times = {}
        for label, repo in configs.items():
            cache = settle()
            t0 = time.perf_counter()
            res = ingest(repo, bag)
            times[label] = time.perf_counter() - t0
            assert res.stored and not res.copy_failures, res.copy_failures
            if label.startswith("hot + cold"):
                (copy,) = [c for c in repo.catalog.copies(res.aip_id) if c["location"] == "cold"]
                ratio = nbytes / copy["bytes"]
            repo.close()
        print(f"tiers benchmark: {nfiles} files, {nbytes / 2**20:.0f} MiB of random data, {cache}, "
              f"{os.cpu_count()} cores")
        base = times["hot only"]
        print(f"  {'':<30}{'seconds':>9}{'MB/s':>9}{'overhead':>10}{'extra copy MB/s':>17}")
        for label, secs in times.items():
            extra = secs - base
            per_loc = f"{nbytes / extra / 1e6:>17.1f}" if extra > 0 and label != "hot only" else f"{'':>17}"
            print(f"  {label:<30}{secs:>9.2f}{nbytes / secs / 1e6:>9.1f}{secs / base:>9.2f}x{per_loc}")
        print(f"  packed copy compression ratio (zstd level {configs['hot + cold (packed, local)'].policy.packing.level}, "
              f"random payload, so ~1 by construction): {ratio:.3f}")
    finally:
        s3server.stop_process(server.process)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
