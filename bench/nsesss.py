"""Benchmark: `archa check nsesss` over a batch of NSESSS v4 packages, against the bare minimum
a script would check (schema validation and the component checksums), on the same packages
in one run.

archa:    `archa check nsesss PKG ... --jobs 2 --json` in one command: all seven levels of
          the national rule set (identification with Siegfried, PDF/A checks with pypdf).
baseline: the same packages on 2 processes: mets.xml parsed and validated against the
          METS + NSESSS + transaction-log schemas (lxml, schemas loaded once per process),
          every component hashed with its declared algorithm and compared with mets.xml.

Packages: N (default 1,000) folders made by tests/nsesss_maker.py: a file (nsesss:Spis) with a
filing plan of two subject groups and one digital document of 3 components (DOCX original,
PDF/A output-format original, PNG annex), a transaction log per entity and component. The
page cache is warm (the packages were just written). Target: >= 50 packages/s on 2 cores.

    python bench/nsesss.py [--packages 1000] [--work bench-work] [--rounds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import nsesss_maker as mk

BIN = Path(sys.executable).parent
ALGS = {"SHA-256": "sha256", "SHA-512": "sha512"}


def make_packages(root: Path, n: int) -> list[Path]:
    if root.is_dir() and len(list(root.iterdir())) == n:
        return sorted(root.iterdir())
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    comps = mk.default_components()
    out = []
    for i in range(n):
        pkg = mk.Package(name=f"SIP_{i:05d}", ident=f"KU-2015-{i:05d}",
                         documents=(mk.Doc("dok-1", "A", 5, components=comps),))
        out.append(mk.write_package(root, pkg))
    return out


def _baseline_one(folder: str) -> bool:
    from lxml import etree

    from archa.metadata.xmlsafe import parse_untrusted, wrapper_schema

    root = parse_untrusted((Path(folder) / "mets.xml").read_bytes())
    ok = wrapper_schema("nsesss-v4").validate(root)
    m, x = "{http://www.loc.gov/METS/}", "{http://www.w3.org/1999/xlink}"
    for f in root.iter(f"{m}file"):
        href = f.find(f"{m}FLocat").get(f"{x}href")
        h = hashlib.new(ALGS[f.get("CHECKSUMTYPE")])
        with open(Path(folder) / href, "rb") as fh:
            h.update(fh.read())
        ok = ok and h.hexdigest() == f.get("CHECKSUM") and int(f.get("SIZE")) == os.path.getsize(Path(folder) / href)
    del etree
    return ok


def baseline(packages: list[Path]) -> float:
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(_baseline_one, map(str, packages), chunksize=16))
    elapsed = time.perf_counter() - t0
    assert all(results), "the baseline found an invalid package"
    return elapsed


def archa(packages: list[Path], work: Path) -> float:
    out = work / "nsesss-check.json"
    t0 = time.perf_counter()
    with out.open("w") as f:
        proc = subprocess.run([str(BIN / "archa"), "check", "nsesss", *map(str, packages), "--jobs", "2", "--json",
                               "--as-of", "2026-11-30"], stdout=f, check=False)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, f"archa check found invalid packages (see {out})"
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--packages", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    packages = make_packages(work / "nsesss-packages", args.packages)
    print(f"archa check nsesss benchmark, {os.cpu_count()} cores, {len(packages)} v4 packages of 3 components "
          f"(made in {time.perf_counter() - t0:.1f} s), warm cache, best of {args.rounds}")
    best: dict[str, float] = {}
    for _ in range(args.rounds):  # the sides take turns
        for label, fn in (("archa check nsesss --jobs 2", lambda: archa(packages, work)),
                          ("baseline: schema + checksums, 2 processes", lambda: baseline(packages))):
            best[label] = min(best.get(label, float("inf")), fn())
    print(f"  {'':<44}{'seconds':>9}{'packages/s':>12}")
    for label, secs in best.items():
        print(f"  {label:<44}{secs:>9.2f}{len(packages) / secs:>12.1f}")
    a, b = best.values()
    print(f"  ratio archa / baseline: {a / b:.2f}x the time; archa {len(packages) / a:.0f} packages/s "
          f"(target >= 50)")


if __name__ == "__main__":
    main()
