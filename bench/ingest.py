"""Benchmark: `archa ingest` versus what an archivist does by hand, on the same bag, in one run.

By hand: `bagit.py --validate --processes 2 BAG`, then `cp -r BAG DEST` and `sync`; and, with
the durability of archa's default placement, also `tar -cf - BAG | zstd -3` to a packed copy.
archa:   `archa ingest --repo REPO BAG` (validate, identify, durable OCFL write), once into a
         repository keeping one hot copy (like for like with `cp -r`), and once with the
         default placement (hot + a packed zstd cold copy, read back and verified).

Bags: (a) 8 x 128 MiB random files, (b) 20,000 files of 1-8 KiB; sha256 manifests.
Both sides start from the same state: dirty pages flushed (`sync`) and, when this process
may, the page cache dropped. Prints seconds, MB/s, files/s, peak RSS and the ratio.

    python bench/ingest.py [--work DIR] [--only a|b] [--big-files 8] [--big-mib 128] [--small 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float


TIME = Path("/usr/bin/time")


def run(cmd: list[str]) -> Run:
    """Run `cmd`, return wall time and the peak RSS of the largest process in it.

    Peak RSS comes from GNU time when it is installed: a child forked by this process
    would report at least this process's own RSS (Linux carries the high-water mark over
    fork and exec), which hides small figures."""
    import tempfile

    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss:
        wrapped = [str(TIME), "-q", "-f", "%M", "-o", rss.name, *cmd] if TIME.exists() else cmd
        t0 = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=err)  # a file: bagit.py logs a lot
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} failed: {err.read().decode()[-2000:]}")
        peak_kib = int(rss.read().split()[-1]) if TIME.exists() else usage.ru_maxrss
    return Run(elapsed, peak_kib / 1024)


def best_of(rounds: int, sides: dict[str, Callable[[], Run]]) -> dict[str, Run]:
    """Run every side `rounds` times, taking turns (the order reversed every other round, so
    no side always runs first after the disk settles), and keep each side's best run."""
    best: dict[str, Run] = {}
    for i in range(rounds):
        for label in (list(sides) if i % 2 == 0 else list(sides)[::-1]):
            r = sides[label]()
            if label not in best or r.seconds < best[label].seconds:
                best[label] = r
    return {label: best[label] for label in sides}


def settle() -> str:
    """Flush dirty pages; drop the page cache if allowed. Returns what was done."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return "cold cache"
    except OSError:
        return "warm cache (cannot drop caches here)"


def make_bag(root: Path, files: dict[str, int], seed: int) -> tuple[int, int]:
    """Write a BagIt 1.0 bag of random files with a sha256 manifest. Returns (bytes, files)."""
    rng = random.Random(seed)
    (root / "data").mkdir(parents=True)
    lines = []
    total = 0
    for rel, size in files.items():
        p = root / "data" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        with open(p, "wb") as f:
            left = size
            while left:
                n = min(left, 8 << 20)
                block = rng.randbytes(n)
                f.write(block)
                h.update(block)
                left -= n
        lines.append(f"{h.hexdigest()}  data/{rel}\n")
        total += size
    (root / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    (root / "bag-info.txt").write_text(f"Source-Organization: archa benchmark\nPayload-Oxum: {total}.{len(files)}\n")
    (root / "manifest-sha256.txt").write_text("".join(lines))
    return total, len(files)


ONE_COPY = '[policy.placement]\ncopies = 1\ntiers = ["hot"]\n'


def init_repo(repo: Path, one_copy: bool) -> None:
    """A repository; with `one_copy`, only the hot location (like for like with `cp -r`)."""
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run([str(BIN / "archa"), "init", str(repo)], check=True, stdout=subprocess.DEVNULL)
    if one_copy:
        cfg = (repo / "archa.toml").read_text()
        start = cfg.index('[[locations]]\nname = "cold"')
        (repo / "archa.toml").write_text(cfg[:start] + cfg[cfg.index("# Overrides"):] + ONE_COPY)


def bench(name: str, bag: Path, work: Path, nbytes: int, nfiles: int) -> None:
    dest = work / f"{name}-copy"
    repo = work / f"{name}-repo"
    repo2 = work / f"{name}-repo-default"
    shutil.rmtree(dest, ignore_errors=True)
    init_repo(repo, one_copy=True)
    init_repo(repo2, one_copy=False)

    cache = settle()
    t0 = time.perf_counter()
    v = run([str(BIN / "bagit.py"), "--validate", "--processes", "2", str(bag)])
    c = run(["cp", "-r", str(bag), str(dest)])
    s = run(["sync"])
    by_hand = Run(time.perf_counter() - t0, max(v.peak_rss_mb, c.peak_rss_mb))
    # the same durability as the default placement: also a zstd -3 packed copy, flushed
    cold = work / f"{name}-cold.tar.zst"
    settle()
    t0 = time.perf_counter()
    v2 = run([str(BIN / "bagit.py"), "--validate", "--processes", "2", str(bag)])
    shutil.rmtree(dest, ignore_errors=True)
    c2 = run(["cp", "-r", str(bag), str(dest)])
    z = run(["sh", "-c", f"tar -C {bag.parent} -cf - {bag.name} | zstd -q -3 -o {cold}"])
    s2 = run(["sync"])
    by_hand_cold = Run(time.perf_counter() - t0, max(v2.peak_rss_mb, c2.peak_rss_mb, z.peak_rss_mb))
    cold.unlink(missing_ok=True)

    settle()
    a = run([str(BIN / "archa"), "ingest", "--repo", str(repo), str(bag)])
    settle()
    d = run([str(BIN / "archa"), "ingest", "--repo", str(repo2), str(bag)])

    print(f"\n({name}) {nfiles} files, {nbytes / 2**20:.0f} MiB, {cache}")
    print(f"  {'':<34}{'seconds':>9}{'MB/s':>9}{'files/s':>10}{'peak RSS MB':>13}")
    for label, r in ((f"by hand (validate {v.seconds:.1f} + cp {c.seconds:.1f} + sync {s.seconds:.1f})",
                      by_hand), (f"  + tar | zstd -3 (+{z.seconds:.1f}; sync {s2.seconds:.1f})", by_hand_cold),
                     ("archa ingest (hot copy)", a), ("archa ingest (hot + cold)", d)):
        print(f"  {label:<34}{r.seconds:>9.2f}{nbytes / r.seconds / 1e6:>9.1f}"
              f"{nfiles / r.seconds:>10.0f}{r.peak_rss_mb:>13.0f}")
    print(f"  ratio archa (one copy, like cp) / by hand: {a.seconds / by_hand.seconds:.2f}x the time")
    print(f"  ratio archa (default: + packed cold copy) / by hand: {d.seconds / by_hand.seconds:.2f}x the time")
    print(f"  ratio archa (default) / by hand with the same durability (+ tar | zstd -3): "
          f"{d.seconds / by_hand_cold.seconds:.2f}x the time")
    for p in (dest, repo, repo2):
        shutil.rmtree(p, ignore_errors=True)


def standard_bags(work: Path, only: str | None, small: int = 20_000, big_files: int = 8,
                  big_mib: int = 128) -> Iterator[tuple[str, Path, int, int]]:
    """The issues' two bags, built one at a time and removed after use: (a) `big_files` x
    `big_mib` MiB random files, (b) `small` files of 1-8 KiB. Yields (name, bag, bytes, files)."""
    rng = random.Random(2)
    specs = {"a": {f"file-{i}.bin": big_mib << 20 for i in range(big_files)},
             "b": {f"d{i // 1000:02d}/f{i:05d}.bin": rng.randint(1024, 8192) for i in range(small)}}
    for name, files in specs.items():
        if only not in (None, name):
            continue
        bag = work / f"bag-{name}"
        shutil.rmtree(bag, ignore_errors=True)
        n, f = make_bag(bag, files, 1 if name == "a" else 2)
        yield name, bag, n, f
        shutil.rmtree(bag)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--only", choices=["a", "b"])
    ap.add_argument("--big-files", type=int, default=8)
    ap.add_argument("--big-mib", type=int, default=128)
    ap.add_argument("--small", type=int, default=20_000)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"archa ingest benchmark, {os.cpu_count()} cores, work dir {args.work.resolve()}")
    for name, bag, n, f in standard_bags(args.work, args.only, args.small, args.big_files, args.big_mib):
        bench(name, bag, args.work, n, f)


if __name__ == "__main__":
    main()
