"""Benchmark: `archa publish`, the static public site, against the IIIF export of the same
volumes (the tiles alone: what the site adds on top of them is its cost) in one run.

Data: VOLUMES (default 50) synthetic monograph PSPs of PAGES (default 200) pages, made and
ingested as bench/ndk.py makes them (300×400 px pages, ~180 Zipf-distributed words of ALTO
each), so 10,000 pages by default.

  first publish      `publish(repo, OUT)` in-process: every volume exported as IIIF (tiles,
                     manifest), its description and the ALTO of every page read and verified,
                     the search index, collections and pages written
  baseline           `export_iiif` of every volume into a folder of its own, in-process
  no change          the same publish again (nothing to write)
  one restricted     after `set_access(one volume, restricted)`: the volume removed, the
                     index and collections made again
  one added          after one more volume is ingested: that volume built, the index made again

Each line gives seconds, pages/s (pages on the site / seconds) and files written; the site's
bytes per page are printed after the first publish.

    python bench/publish.py [--volumes 50] [--pages 200] [--work bench-work]
    python bench/publish.py --quick          # 4 volumes of 25 pages
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from archa.access.iiif import export_iiif
from archa.lifecycle.access import set_access
from archa.lifecycle.publish import PublishResult, publish
from archa.repository.repo import Repository
from bench.ndk import ingest_archa, make_volumes


def line(label: str, r: PublishResult, seconds: float) -> None:
    print(f"  {label:<22} {seconds:8.2f} s {r.pages / seconds:9.0f} pages/s  {r.files_written:8,} files "
          f"({r.bytes_written / 2**20:7.1f} MiB) written; {len(r.written)} built, {len(r.removed)} removed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--volumes", type=int, default=50)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="4 volumes of 25 pages")
    args = ap.parse_args()
    if args.quick:
        args.volumes, args.pages = 4, 25
    work = args.work.resolve() / "publish"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    psps = make_volumes(work / "psp", args.volumes + 1, args.pages)
    ingest_s, repo_path, aips = ingest_archa(psps[:-1], work)
    pages = args.volumes * args.pages
    print(f"archa publish benchmark, {os.cpu_count()} cores: {args.volumes} volumes × {args.pages} pages = "
          f"{pages:,} pages (made and ingested in {time.perf_counter() - t0:.0f} s, ingest {ingest_s:.0f} s)")
    site = work / "site"
    shutil.rmtree(site, ignore_errors=True)
    with Repository.open(repo_path) as repo:
        t = time.perf_counter()
        first = publish(repo, site)
        s = time.perf_counter() - t
        line("first publish", first, s)
        print(f"  {'':<22} site {first.site_bytes / 2**20:.1f} MiB, {first.site_bytes / max(first.pages, 1) / 1024:.1f} "
              f"KiB per page")
        base = work / "iiif"
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir()
        t = time.perf_counter()
        for i, a in enumerate(aips):
            export_iiif(repo, a, base / f"v{i}", jobs=os.cpu_count() or 2)
        b = time.perf_counter() - t
        print(f"  {'baseline: IIIF export':<22} {b:8.1f} s {pages / b:9.0f} pages/s  (tiles and manifests alone); "
              f"publish takes {s / b:.2f}x the time")
        t = time.perf_counter()
        r = publish(repo, site)
        line("no change", r, time.perf_counter() - t)
        set_access(repo, aips[0], False, "bench: one record restricted")
        t = time.perf_counter()
        r = publish(repo, site)
        line("one restricted", r, time.perf_counter() - t)
    subprocess_ingest(psps[-1], work, repo_path)
    with Repository.open(repo_path) as repo:
        t = time.perf_counter()
        r = publish(repo, site)
        line("one added", r, time.perf_counter() - t)


def subprocess_ingest(psp: Path, work: Path, repo: Path) -> None:
    import subprocess

    bag = work / "ndk-bags" / (psp.name + "-added")
    shutil.rmtree(bag, ignore_errors=True)
    subprocess.run([str(Path(sys.executable).parent / "archa"), "transfer", "ndk", str(psp), str(bag), "--ingest",
                    "--repo", str(repo)], check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
