"""Benchmark: `archa dip export` of the 1 GiB AIP versus plain copies of the same content.

The 8 x 128 MiB bag is ingested with the default placement (hot OCFL copy + packed cold
copy). Then, each side starting with the page cache dropped and ending with `sync`:

  from the hot copy:    `archa dip export ID OUT --originals` (and `--format zip`)
                        vs `cp -r` of the hot object's payload directory
  from the packed copy: `archa dip export ID OUT --originals --location cold`
                        vs `tar -I zstd -xf v1.tar.zst -C OUT`

archa also checks every byte against the catalog and writes METS.xml and index.html;
the baselines only copy. Writes on these virtual disks stall now and then (ext4 with
`discard` after deletes), so the sides take turns, --rounds times, outputs removed after
each, and the best time of each side is reported. Prints seconds, MB/s, peak RSS, ratios.

    python bench/dip.py [--work bench-work] [--rounds 3] [--big-files 8] [--big-mib 128]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import Run, best_of, init_repo, run, settle, standard_bags  # bench/ingest.py

BIN = Path(sys.executable).parent


def timed(cmd: list[str], out: Path) -> Run:
    """`cmd` from a dropped page cache, up to and including a `sync` of what it wrote to
    `out` (removed afterwards)."""
    if out.name == "dip-tar":
        out.mkdir()
    settle()
    t0 = time.perf_counter()
    r = run(cmd)
    run(["sync"])
    elapsed = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    out.with_suffix(".zip").unlink(missing_ok=True)
    return Run(elapsed, r.peak_rss_mb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--big-files", type=int, default=8)
    ap.add_argument("--big-mib", type=int, default=128)
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"archa DIP export benchmark, {os.cpu_count()} cores, work dir {work}")
    for _name, bag, nbytes, nfiles in standard_bags(work, "a", big_files=args.big_files, big_mib=args.big_mib):
        repo = work / "dip-repo"
        init_repo(repo, one_copy=False)
        subprocess.run([str(BIN / "archa"), "ingest", "--repo", str(repo), str(bag)], check=True,
                       stdout=subprocess.DEVNULL)
        aip = json.loads(subprocess.run([str(BIN / "archa"), "aip", "list", "--repo", str(repo), "--json"],
                                        check=True, capture_output=True).stdout)[0]["id"]
        obj = next((repo / "storage" / "hot").glob("*/*/*/*"))
        payload = obj / "v1" / "content" / "representations" / "original" / "data"
        archive = next((repo / "storage" / "cold").glob("*/*/*/*/v1.tar.zst"))
        outs = {k: work / f"dip-{k}" for k in ("hot", "zip", "cold", "cp", "tar")}
        export = [str(BIN / "archa"), "dip", "export", "--repo", str(repo), aip, "--originals"]
        sides = [
            ("archa dip export (hot copy, dir)", [*export, str(outs["hot"])], outs["hot"]),
            ("cp -r of the hot payload", ["cp", "-r", str(payload), str(outs["cp"])], outs["cp"]),
            ("archa dip export (hot copy, zip)", [*export, str(outs["zip"]) + ".zip", "--format", "zip"],
             outs["zip"]),
            ("archa dip export --location cold", [*export, str(outs["cold"]), "--location", "cold"], outs["cold"]),
            ("tar -I zstd -x of the packed copy", ["tar", "-I", "zstd", "-xf", str(archive), "-C", str(outs["tar"])],
             outs["tar"]),
        ]
        best = best_of(args.rounds, {label: functools.partial(timed, cmd, out) for label, cmd, out in sides})
        rows = list(best.items())
        print(f"\n{nfiles} files, {nbytes / 2**20:.0f} MiB, cold cache, each side ends with sync; "
              f"best of {args.rounds}")
        print(f"  {'':<36}{'seconds':>9}{'MB/s':>9}{'peak RSS MB':>13}")
        for label, r in rows:
            print(f"  {label:<36}{r.seconds:>9.2f}{nbytes / r.seconds / 1e6:>9.1f}{r.peak_rss_mb:>13.0f}")
        t = {label: r.seconds for label, r in rows}
        print(f"  hot dir / cp -r:          {t['archa dip export (hot copy, dir)'] / t['cp -r of the hot payload']:.2f}x the time")
        print(f"  hot zip / cp -r:          {t['archa dip export (hot copy, zip)'] / t['cp -r of the hot payload']:.2f}x the time")
        print(f"  packed / tar -I zstd -x:  "
              f"{t['archa dip export --location cold'] / t['tar -I zstd -x of the packed copy']:.2f}x the time")
        shutil.rmtree(repo, ignore_errors=True)


if __name__ == "__main__":
    main()
