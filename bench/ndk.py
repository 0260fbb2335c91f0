"""Benchmark: the digitised library. Synthetic NDK packages (PSP) through transfer + ingest,
IIIF tile generation, full-text indexing and search, each against a baseline on the same
data in one run.

Data: VOLUMES (default 50) monograph PSPs of PAGES (default 200) pages made by
tests/ndk_maker.py: per page a lossless and a lossy JPEG 2000 (300×400 px, Pillow), ALTO
2.0 with ~180 words drawn from a Zipf-distributed vocabulary of 20,000 pseudo-words, text
and a technical METS. The page cache is warm (the packages were just written).

  transfer + ingest  archa: `archa transfer ndk PSP BAG --ingest` per volume (every check:
                     schemas, MD5 file, info, fileSec, ALTO, jpylyzer; identification;
                     hot OCFL + packed zstd cold copy; pages and FTS index); then
                     `archa transfer ndk PSP --ingest` (no bag kept beside the repository:
                     a hot and a cold copy, as by hand); the CPU seconds of each side too
                     (user + system of every process it ran: a fairer figure than the
                     time on a machine shared with other work)
                     and the whole delivery taken by one resident `archa ingest
                     --watch-dir DROP --follow` (start-up and signatures paid once)
                     by hand: `md5sum -c` of the package's MD5 file, `cp -r` to a hot
                     folder, `tar | zstd -3` to a cold folder, `sync`
  IIIF tiles         archa: `archa dip export ID OUT --format iiif` for TILE_VOLUMES volumes
                     baseline: Pillow decodes every user copy and writes one JPEG of it
  indexing           archa: `alto_text` over every ALTO file + FTS5 insert (what ingest does)
                     baseline: the txt/ files inserted into the same FTS5 table as they are
  search             `archa.repository.pages.search` (limit 20) on the repository's index,
                     then on copies of it with 10× and 100× the pages; the median of each
                     query, and the 1M-page figure projected linearly from the two largest

    python bench/ndk.py [--volumes 50] [--pages 200] [--tile-volumes 10] [--work bench-work] [--only-intake]

`--only-intake` stops after transfer + ingest (what a profile of the intake needs).

`--text-pages N` (e.g. 1000000) measures search at that size instead of projecting it: a
fresh repository's catalog gets N pages of synthetic ALTO text (volumes of 200 pages, the
same ~180 Zipf-distributed words a page plus a word of its own; no images, no packages)
through `PageIndex.record` in transactions of 100,000 pages. Timed (median of 5, warm
cache): the first 20 hits of a rare word, a common word (on ~40 % of pages), two common
words, a prefix (few pages, and one of three letters that many words share), a word on
every page, each gated at < 100 ms; the count alone (`count_cap` unbounded); and the same
queries the old way, counting and ranking every match (`rank_limit` and `count_cap`
unbounded), the baseline, with the ratio.

    python bench/ndk.py --text-pages 1000000 [--work bench-work]     # --text-pages 20000: CI size
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from archa.repository.pages import alto_text, search
from tests.ndk_maker import PspSpec, make_psp

BIN = Path(sys.executable).parent
VOCABULARY = 20_000
SYLLABLES = ("ko", "sto", "la", "mě", "ře", "ka", "vo", "da", "dů", "m", "pa", "ní", "ho", "lo", "va", "ště",
             "br", "no", "zí", "ce", "ty", "ří", "še", "lí", "dr", "ná", "kr", "ov", "ja", "su")


def vocabulary(rng: random.Random) -> list[str]:
    words: list[str] = []
    seen = set()
    while len(words) < VOCABULARY:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def page_words(rng: random.Random, words: list[str], n: int = 180) -> str:
    # Zipf-like: rank r drawn with weight 1/r (rng.choices with cumulative weights)
    return " ".join(rng.choices(words, cum_weights=CUM, k=n))


CUM: list[float] = []


def make_volumes(root: Path, volumes: int, pages: int) -> list[Path]:
    marker = root / f"made-{volumes}x{pages}"
    if marker.exists():
        return sorted(p for p in root.iterdir() if p.is_dir())
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rng = random.Random(7)
    words = vocabulary(rng)
    CUM[:] = []
    total = 0.0
    for r in range(1, len(words) + 1):
        total += 1 / r
        CUM.append(total)
    out = []
    for v in range(volumes):
        texts = {n: page_words(rng, words) + f" svazek{v} strana{v}x{n}" for n in range(1, pages + 1)}
        spec = PspSpec(pages=pages, size=(300, 400), chapters=8, texts=texts,
                       uuid=f"00000000-0000-4000-8000-{v:012d}", title=f"Kronika {v}")
        out.append(make_psp(root, spec))
    marker.write_text("")
    return out


def timed(cmd: list[str], **kw: object) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - t0


def children_cpu() -> float:
    """CPU seconds (user + system) of every child process waited for so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ingest_archa(psps: list[Path], work: Path, keep_bag: bool = True) -> tuple[float, float, Path, list[str]]:
    """(seconds, CPU seconds, the repository, the AIP ids) of `archa transfer ndk PSP BAG --ingest`
    per volume; with `keep_bag` False `archa transfer ndk PSP --ingest` (the bag made in the
    ingest's work area and moved into the AIP, no bag kept beside the repository)."""
    name = "ndk-repo" if keep_bag else "ndk-repo-direct"
    repo = work / name
    shutil.rmtree(repo, ignore_errors=True)
    shutil.rmtree(work / "ndk-bags", ignore_errors=True)
    subprocess.run([str(BIN / "archa"), "init", str(repo)], check=True, stdout=subprocess.DEVNULL)
    (work / "ndk-bags").mkdir()
    subprocess.run(["sync"], check=True)
    aips = []
    cpu, t0 = children_cpu(), time.perf_counter()
    for psp in psps:
        bag = [str(work / "ndk-bags" / psp.name)] if keep_bag else []
        r = subprocess.run([str(BIN / "archa"), "transfer", "ndk", str(psp), *bag, "--ingest", "--json", "--repo",
                            str(repo)], check=True, capture_output=True, text=True)
        aips.append(json.loads(r.stdout)["ingest"]["aip_id"])
    subprocess.run(["sync"], check=True)
    return time.perf_counter() - t0, children_cpu() - cpu, repo, aips


def ingest_follow(psps: list[Path], work: Path) -> tuple[float, float, bool]:
    """(seconds, CPU seconds, all well) of one resident `archa ingest --watch-dir DROP --follow`
    taking the volumes in as a delivery (bench/intake.py's `follow_run`: the PSPs copied into
    the drop folder with `.ready` markers before the clock; the clock from starting the
    watcher until the last is filed under done/, start-up included; then SIGTERM). The CPU
    includes the `archa aip list` and `archa fixity audit --all` run after, as a check."""
    from intake import follow_run  # bench/intake.py

    where = work / "ndk-follow"
    where.mkdir(exist_ok=True)
    cpu = children_cpu()
    res = follow_run(where, psps)
    ok = res["exit"] == 0 and res["aips"] == len(psps) and not res["failed"] and res["audit_exit"] == 0
    return res["seconds"], children_cpu() - cpu, ok


def ingest_by_hand(psps: list[Path], work: Path) -> tuple[float, float]:
    """(seconds, CPU seconds) of `md5sum -c`, `cp -r` to a hot folder, `tar | zstd -3` to a cold one."""
    hot, cold = work / "ndk-hand-hot", work / "ndk-hand-cold"
    for d in (hot, cold):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    subprocess.run(["sync"], check=True)
    cpu, t0 = children_cpu(), time.perf_counter()
    for psp in psps:
        md5 = next(psp.glob("md5_*.md5"))
        listing = md5.read_text().replace("\\", "/").replace(" /", "  ")  # md5sum wants "<md5>  <path>"
        subprocess.run(["md5sum", "--quiet", "-c", "-"], input=listing, text=True, cwd=psp, check=True)
        subprocess.run(["cp", "-r", str(psp), str(hot / psp.name)], check=True)
        subprocess.run(f"tar -C {psp.parent} -cf - {psp.name} | zstd -q -3 -o {cold / psp.name}.tar.zst",
                       shell=True, check=True)
    subprocess.run(["sync"], check=True)
    return time.perf_counter() - t0, children_cpu() - cpu


def tiles_archa(repo: Path, aips: list[str], work: Path) -> float:
    out = work / "ndk-iiif"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    t0 = time.perf_counter()
    for i, aip in enumerate(aips):
        subprocess.run([str(BIN / "archa"), "dip", "export", aip, str(out / f"v{i}"), "--format", "iiif",
                        "--repo", str(repo), "--json"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _decode_one(args: tuple[str, str]) -> None:
    from PIL import Image

    src, dst = args
    with Image.open(src) as img:
        img.convert("RGB").save(dst, "JPEG", quality=80)


def tiles_baseline(psps: list[Path], work: Path) -> float:
    from concurrent.futures import ThreadPoolExecutor

    out = work / "ndk-decoded"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    jobs = [(str(p), str(out / f"{p.stem}.jpg")) for psp in psps for p in sorted((psp / "usercopy").iterdir())]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(_decode_one, jobs))
    return time.perf_counter() - t0


def _fts(path: Path) -> sqlite3.Connection:
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE VIRTUAL TABLE page_text USING fts5(text, aip_id UNINDEXED, version UNINDEXED, "
                 "seq UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')")
    return conn


def index(psps: list[Path], work: Path, folder: str, text_of: Callable[[Path], str], name: str) -> float:
    """Seconds to put the text of every page (`text_of` each file of `folder`) into FTS5."""
    conn = _fts(work / name)
    t0 = time.perf_counter()
    with conn:
        for psp in psps:
            for i, f in enumerate(sorted((psp / folder).iterdir()), 1):
                conn.execute("INSERT INTO page_text VALUES (?, ?, 'v1', ?)", [text_of(f), psp.name, i])
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def queries(volumes: int, pages: int) -> dict[str, str]:
    words = vocabulary(random.Random(7))  # the vocabulary make_volumes drew from (same seed, first use)
    v, p = volumes // 2, pages // 2 + 3
    return {"rare word (one page)": f"strana{v}x{p}", "common word (rank 1)": words[0],
            "two words (ranks 3, 40)": f"{words[2]} {words[39]}", "mid word (rank 2000)": words[1999],
            f"prefix (strana{v}x1*)": f"strana{v}x1*"}


def latency(conn: sqlite3.Connection, text: str, rounds: int = 15) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        search(conn, text, limit=20)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def grown(catalog: Path, work: Path, factor: int) -> Path:
    """A copy of the catalog whose page_text holds `factor` times the pages (new AIP ids)."""
    dest = work / f"ndk-catalog-x{factor}.sqlite"
    dest.unlink(missing_ok=True)
    shutil.copy(catalog, dest)
    conn = sqlite3.connect(dest)
    with conn:
        for k in range(1, factor):
            conn.execute("INSERT INTO aips (id, created, label, external_id, head, transfer_id, originator_id, state) "
                         "SELECT id || '-x' || ?, created, label, external_id, head, transfer_id, originator_id, "
                         "state FROM aips WHERE id NOT LIKE '%-x%'", [k])
            conn.execute("INSERT INTO page_text (text, aip_id, version, seq) SELECT text, aip_id || '-x' || ?, "
                         "version, seq FROM page_text WHERE aip_id NOT LIKE '%-x%'", [k])
    conn.execute("INSERT INTO page_text(page_text) VALUES ('optimize')")
    conn.commit()
    conn.close()
    return dest


TEXT_BATCH = 100_000
GATE_MS = 100.0
UNBOUNDED = 10**12


def set_zipf(words: list[str]) -> None:
    CUM[:] = []
    total = 0.0
    for r in range(1, len(words) + 1):
        total += 1 / r
        CUM.append(total)


def share(rank: int, n: int = 180) -> float:
    """The expected share of pages holding the word of `rank` (1-based) of the vocabulary."""
    return 1 - (1 - 1 / (rank * CUM[-1])) ** n


def text_catalog(work: Path, n: int) -> tuple[Any, float]:
    """A new repository whose catalog holds n pages of text (volumes of 200), and the
    seconds PageIndex.record took."""
    from archa.repository.repo import Repository

    root = work / "ndk-text-repo"
    shutil.rmtree(root, ignore_errors=True)
    repo = Repository.init(root)
    cat = repo.catalog
    index = cat.pages_index
    rng = random.Random(15)
    words = vocabulary(rng)
    set_zipf(words)
    per = 200
    spent = 0.0
    last = time.perf_counter()
    for start in range(0, n, TEXT_BATCH):
        rows, aips = [], []
        for i in range(start, min(n, start + TEXT_BATCH)):
            v, seq = divmod(i, per)
            aip = f"urn:uuid:00000000-0000-4000-8000-{v:012d}"
            if seq == 0:
                aips.append({"id": aip, "created": "2026-01-01T00:00:00Z", "label": f"Kronika {v}",
                             "external_id": "", "head": "v1", "transfer_id": "", "originator_id": None,
                             "state": "active"})
            rows.append({"aip_id": aip, "version": "v1", "seq": seq + 1, "label": f"[{seq + 1}]",
                         "section": "", "master": "", "user": "", "alto": f"alto/{seq + 1:04d}.xml", "txt": "",
                         "text": page_words(rng, words) + f" svazek{v} strana{v}x{seq + 1}"})
        t0 = time.perf_counter()
        with cat.transaction():
            cat.insert("aips", aips)
            index.record(rows)
        spent += time.perf_counter() - t0
        if time.perf_counter() - last > 30:
            print(f"    … {start + len(rows):,} pages, {spent:.0f} s indexing", flush=True)
            last = time.perf_counter()
    cat.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return repo, spent


def text_queries(n: int) -> dict[str, str]:
    """The queries of the measured run: labels with the expected share of pages."""
    words = vocabulary(random.Random(15))
    common = min(range(1, 400), key=lambda r: abs(share(r) - 0.4))
    other = min(range(1, 400), key=lambda r: abs(share(r) - 0.33))
    v = n // 200 // 2
    stem = words[0][:3]
    return {"(a) rare word (one page)": f"strana{v}x103",
            f"(b) common word ({share(common):.0%} of pages)": words[common - 1],
            f"(c) two common words ({share(common):.0%}, {share(other):.0%})":
                f"{words[common - 1]} {words[other - 1]}",
            f"(d) prefix (strana{v}x1*, 111 pages)": f"strana{v}x1*",
            f"(d) prefix of 2 letters ({stem[:2]}*)": f"{stem[:2]}*",
            f"(d) prefix of 3 letters ({stem}*)": f"{stem}*",
            f"(d) prefix of 4 letters ({words[0][:4]}*)": f"{words[0][:4]}*",
            f"(d) prefix of 5 letters ({words[1][:5]}*)": f"{words[1][:5]}*",
            f"word on every page ({share(1):.0%})": words[0]}


def median_ms(fn: Callable[[], object], rounds: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, out


def text_search(work: Path, n: int) -> None:
    """The --text-pages run: search measured at n pages (see the module docstring)."""
    from archa.repository.pages import COUNT_CAP, RANK_LIMIT

    print(f"NDK page search at {n:,} pages of synthetic ALTO text, {os.cpu_count()} cores")
    repo, spent = text_catalog(work, n)
    size = (repo.root / "catalog.sqlite").stat().st_size
    print(f"  indexing through PageIndex.record: {spent:.0f} s, {n / spent:,.0f} pages/s, catalog "
          f"{size / 2**20:,.0f} MiB ({size / n:,.0f} bytes/page)")
    index = repo.catalog.pages_index
    print(f"  first 20 hits, median of 5 (ms); archa: count capped at {COUNT_CAP:,}, ranked up to {RANK_LIMIT:,} "
          f"matches | count alone | old way: count and rank every match")
    print(f"    {'query':<40} {'text':<22}{'archa':>9}{'ranked':>8}{'count':>10}{'old way':>10}"
          f"{'matches':>10}  ratio  gate")
    fails = 0
    for label, q in text_queries(n).items():
        search(repo.catalog, q, limit=20)  # warm
        ms, found = median_ms(partial(search, repo.catalog, q, limit=20), 5)
        count_ms, counted = median_ms(partial(index.search, q, limit=20, rank_limit=0, count_cap=UNBOUNDED), 3)
        old_ms, _ = median_ms(partial(index.search, q, limit=20, rank_limit=UNBOUNDED,
                                          count_cap=UNBOUNDED), 3)
        ok = ms < GATE_MS
        fails += not ok
        ranked, total = getattr(found, "ranked", None), getattr(counted, "total", 0)
        print(f"    {label:<40} {q!r:<22}{ms:>9.1f}{'yes' if ranked else 'no':>8}{count_ms:>10.1f}"
              f"{old_ms:>10.1f}{total:>10,}  {old_ms / ms:5.0f}x  {'PASS' if ok else 'FAIL'}")
    print(f"  gate: first 20 hits < {GATE_MS:.0f} ms at {n:,} pages: {'PASS' if not fails else f'FAIL ({fails})'}")
    t = timed([str(BIN / "archa"), "search", text_queries(n)["(a) rare word (one page)"], "--repo", str(repo.root)])
    print(f"  `archa search` command end to end, rare word: {t * 1000:.0f} ms (Python start included)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--volumes", type=int, default=50)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--tile-volumes", type=int, default=10)
    ap.add_argument("--only-intake", action="store_true",
                    help="measure transfer + ingest against by hand only (no tiles, indexing or search)")
    ap.add_argument("--text-pages", type=int, default=0,
                    help="measure search at this many pages of text alone (no packages), e.g. 1000000")
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.text_pages:
        text_search(work, args.text_pages)
        return
    t0 = time.perf_counter()
    psps = make_volumes(work / "ndk-psp", args.volumes, args.pages)
    pages = args.volumes * args.pages
    files = sum(1 for p in psps for f in p.rglob("*") if f.is_file())
    size = sum(f.stat().st_size for p in psps for f in p.rglob("*") if f.is_file())
    print(f"NDK library benchmark, {os.cpu_count()} cores: {args.volumes} volumes × {args.pages} pages = {pages} "
          f"pages, {files} files, {size / 2**20:.0f} MiB (made in {time.perf_counter() - t0:.0f} s)")

    hand, hand_cpu = ingest_by_hand(psps, work)
    arch, arch_cpu, repo, aips = ingest_archa(psps, work)
    print(f"  transfer + ingest    archa {arch:7.1f} s  {pages / arch:7.0f} pages/s | by hand (md5sum -c, cp -r, "
          f"tar|zstd -3, sync) {hand:6.1f} s {pages / hand:6.0f} pages/s | ratio {arch / hand:.2f}x the time")
    direct, direct_cpu, _repo, _aips = ingest_archa(psps, work, keep_bag=False)
    print(f"    no bag kept        archa {direct:7.1f} s  {pages / direct:7.0f} pages/s | `archa transfer ndk PSP --ingest`"
          f" (a hot and a cold copy, as by hand) | ratio {direct / hand:.2f}x the time")
    print(f"    CPU seconds        archa {arch_cpu:7.1f} s, no bag kept {direct_cpu:.1f} s | by hand {hand_cpu:.1f} s | "
          f"ratio {arch_cpu / hand_cpu:.2f}x, {direct_cpu / hand_cpu:.2f}x")
    resident, resident_cpu, ok = ingest_follow(psps, work)
    print(f"    resident watcher   archa {resident:7.1f} s  {pages / resident:7.0f} pages/s | one `archa ingest "
          f"--watch-dir DROP --follow` for the whole delivery (no bag kept), {'all stored and audited clean' if ok else 'FAILED'}"
          f" | ratio {resident / hand:.2f}x the time (CPU {resident_cpu:.1f} s with the check after)")
    if args.only_intake:
        return

    few = psps[:args.tile_volumes]
    tp = args.tile_volumes * args.pages
    tb = tiles_baseline(few, work)
    ta = tiles_archa(repo, aips[:args.tile_volumes], work)
    print(f"  IIIF tiles ({tp} pages) archa {ta:6.1f} s  {tp / ta:7.0f} pages/s | decode + one JPEG per page "
          f"{tb:6.1f} s {tp / tb:6.0f} pages/s | ratio {ta / tb:.2f}x the time")

    ib = index(psps, work, "txt", lambda f: f.read_text("utf-8"), "ndk-index-plain.sqlite")
    ia = index(psps, work, "alto", lambda f: alto_text(f.read_bytes()), "ndk-index-archa.sqlite")
    print(f"  indexing             archa {ia:7.1f} s  {pages / ia:7.0f} pages/s | plain text into FTS5 "
          f"{ib:6.1f} s {pages / ib:6.0f} pages/s | ratio {ia / ib:.2f}x the time")

    catalogs = {pages: repo / "catalog.sqlite", pages * 10: grown(repo / "catalog.sqlite", work, 10)}
    print(f"  search latency, median of 15, limit 20 (ms): {'':<6}" + "".join(f"{n:>10,}" for n in catalogs)
          + f"{'1,000,000*':>12}")
    for label, q in queries(args.volumes, args.pages).items():
        ms = []
        for path in catalogs.values():
            conn = sqlite3.connect(path)
            ms.append(latency(conn, q))
            conn.close()
        (n1, m1), (n2, m2) = list(zip(catalogs, ms, strict=True))
        projected = m2 + (m2 - m1) / (n2 - n1) * (1_000_000 - n2)
        print(f"    {label:<26} {q!r:<20}" + "".join(f"{m:>10.2f}" for m in ms) + f"{max(projected, m2):>12.1f}")
    import archa.repository.pages as pages_module

    pages_module.RANK_LIMIT, limit = 0, pages_module.RANK_LIMIT
    ms = []
    for path in catalogs.values():
        conn = sqlite3.connect(path)
        ms.append(latency(conn, queries(args.volumes, args.pages)["common word (rank 1)"]))
        conn.close()
    pages_module.RANK_LIMIT = limit
    print(f"    {'common word, unranked':<26} {'(past RANK_LIMIT)':<20}" + "".join(f"{m:>10.2f}" for m in ms)
          + f"{ms[1] + (ms[1] - ms[0]) / (9 * pages) * (1_000_000 - 10 * pages):>12.1f}")
    t = timed([str(BIN / "archa"), "search", queries(args.volumes, args.pages)["rare word (one page)"], "--repo",
               str(repo)])
    print(f"    `archa search` command end to end at {pages:,} pages: {t * 1000:.0f} ms (Python start included)")
    print("  * projected linearly from the two measured sizes")


if __name__ == "__main__":
    main()
