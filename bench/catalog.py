"""Benchmark: catalog queries at 10 million file rows, against the same queries on the wide
file table of schema 10 (the baseline), in one run.

A repository is made with `archa init`, then its catalog is filled directly (no storage:
only the catalog is measured): AIPS (default 50,000) AIPs of FILES_PER_AIP (200) files, and
one AIP of BIG (200,000) files — 10.2 million file rows, 2 copies per AIP, PRONOM formats
drawn from a realistic mix. The same rows are written into a schema-10 catalog (one wide
`files` table) for the baseline.

Timed (best of 3, warm cache): `archa aip list`, `archa formats report`, the stale-
identification count, `fixity audit --due` selection (`fixity.select`), `archa aip show
--json` of the 200,000-file AIP (streamed to /dev/null) and `aip show --limit 50`; and bytes
per file row (the file table with its indexes and lookup tables, from dbstat).

    python bench/catalog.py [--aips 50000] [--files-per-aip 200] [--big 200000] [--work bench-work]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best

from archa.repository.catalog import MIGRATIONS, FileRow, FileWriter

BIN = Path(sys.executable).parent
FORMATS = [("fmt/353", "Tagged Image File Format", "", "image/tiff", 60), ("fmt/95", "PDF/A", "1a", "application/pdf", 15),
           ("fmt/412", "Microsoft Word for Windows", "2007 onwards", "application/vnd.openxmlformats", 10),
           ("x-fmt/111", "Plain Text File", "", "text/plain", 8), ("fmt/101", "Extensible Markup Language", "1.0",
                                                                    "text/xml", 5),
           ("fmt/43", "JPEG File Interchange Format", "1.01", "image/jpeg", 2)]
ENGINE = ("sf", "1.11.1", "DROID_SignatureFile_V120.xml; container-signature-20240715.xml")


def file_rows(aip: str, n: int, rng: random.Random) -> Iterator[FileRow]:
    weights = [f[4] for f in FORMATS]
    for i in range(n):
        puid, name, ver, mime, _w = rng.choices(FORMATS, weights)[0]
        logical = f"representations/original/data/spis-{i // 500:04d}/dokument-{i:07d}.{mime.split('/')[-1][:4]}"
        yield FileRow(aip, "v1", logical, f"v1/content/{logical}", "payload", logical[25:], rng.randint(1000, 5_000_000),
                      hashlib.sha256(f"{aip}{i}".encode()).hexdigest(), puid, name, ver, mime, "signature", *ENGINE, "")


def fill(repo: Path, aips: int, per: int, big: int) -> tuple[int, str]:
    conn = sqlite3.connect(repo / "catalog.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    rng = random.Random(5)
    w = FileWriter(conn)
    total = 0
    conn.execute("BEGIN")
    ids = [f"urn:uuid:00000000-0000-4000-8000-{i:012d}" for i in range(aips + 1)]
    for k, aip in enumerate(ids):
        n = big if k == aips else per
        conn.execute("INSERT INTO aips (id, created, label, external_id, head, transfer_id, originator_id, state) "
                     "VALUES (?, ?, ?, '', 'v1', '', ?, 'active')",
                     [aip, f"2026-{1 + k % 12:02d}-01T00:00:{k % 60:02d}Z", f"Spis {k}", f"obec-{k % 200}"])
        conn.execute("INSERT INTO versions VALUES (?, 'v1', '2026-01-01T00:00:00Z', 'Ingest', ?, ?, '', 'sha256', 1)",
                     [aip, n, n * 1000])
        for loc, audited in (("hot", f"2026-{1 + k % 11:02d}-15T00:00:00Z"), ("cold", None)):
            conn.execute("INSERT INTO copies (aip_id, version, location, state, written, last_audit, bytes, "
                         "archive_sha256) VALUES (?, 'v1', ?, 'ok', '2026-01-01', ?, ?, '')", [aip, loc, audited, n])
        total += w.insert(file_rows(aip, n, rng))
        if k % 2000 == 0:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.close()
    return total, ids[-1]


def wide(path: Path, source: Path) -> None:
    """The same file rows in a schema-10 catalog (the baseline)."""
    import sqlite_utils

    path.unlink(missing_ok=True)
    db = sqlite_utils.Database(path)
    for m in MIGRATIONS[:10]:
        m(db)
    db.execute(f"ATTACH '{source}' AS src")
    db.execute("INSERT INTO aips SELECT id, created, label, external_id, head, transfer_id, originator_id, state, "
               "payload_digest FROM src.aips")
    db.execute("INSERT INTO versions SELECT * FROM src.versions")
    db.execute("INSERT INTO copies SELECT * FROM src.copies")
    db.execute("INSERT INTO files SELECT aip_id, version, logical_path, content_path, role, original_name, size, "
               "digest, puid, format_name, format_version, mime, basis, engine, engine_version, signature_version, "
               "warning FROM src.files")
    db.conn.commit()
    db.close()


def per_row(path: Path, tables: tuple[str, ...]) -> float:
    conn = sqlite3.connect(path)
    n = conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    names = ",".join(f"'{t}'" for t in tables)
    size = conn.execute(f"SELECT SUM(pgsize) FROM dbstat WHERE name IN ({names}) OR name IN (SELECT name FROM "
                        f"sqlite_master WHERE type = 'index' AND tbl_name IN ({names}))").fetchone()[0]
    conn.close()
    return float(size) / n



def cli(*args: str) -> Callable[[], object]:
    return lambda: subprocess.run([str(BIN / "archa"), *args], check=False, stdout=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--aips", type=int, default=50_000)
    ap.add_argument("--files-per-aip", type=int, default=200)
    ap.add_argument("--big", type=int, default=200_000)
    args = ap.parse_args()
    work = args.work.resolve()
    repo = work / "catalog-repo"
    marker = work / f"catalog-{args.aips}x{args.files_per_aip}+{args.big}"
    t0 = time.perf_counter()
    big = f"urn:uuid:00000000-0000-4000-8000-{args.aips:012d}"
    if not marker.exists():
        shutil.rmtree(repo, ignore_errors=True)
        subprocess.run([str(BIN / "archa"), "init", str(repo)], check=True, stdout=subprocess.DEVNULL)
        n, big = fill(repo, args.aips, args.files_per_aip, args.big)
        wide(work / "catalog-wide.sqlite", repo / "catalog.sqlite")
        marker.write_text(str(n))
    n = int(marker.read_text())
    print(f"catalog benchmark, {os.cpu_count()} cores: {args.aips + 1:,} AIPs, {n:,} file rows "
          f"(made in {time.perf_counter() - t0:.0f} s), warm cache, best of 3")
    compact = per_row(repo / "catalog.sqlite", ("file_rows", "dirs", "formats", "aip_keys"))
    wide_b = per_row(work / "catalog-wide.sqlite", ("files",))
    print(f"  bytes per file row (with indexes): archa {compact:.0f} | schema 10 {wide_b:.0f} | "
          f"ratio {compact / wide_b:.2f}")
    r = str(repo)
    from archa.preservation.fixity import AuditOptions, select
    from archa.repository.repo import Repository

    def stale() -> None:
        with Repository.open(repo) as rp:
            rp.catalog.count_stale_identifications(*ENGINE)

    def due() -> None:
        with Repository.open(repo) as rp:
            select(rp, AuditOptions(due=True))

    def wide_formats() -> None:
        conn = sqlite3.connect(work / "catalog-wide.sqlite")
        conn.execute("SELECT f.puid, MIN(f.format_name), COUNT(*), SUM(f.size) FROM files f JOIN aips a ON "
                     "a.id = f.aip_id AND a.head = f.version WHERE f.role = 'payload' GROUP BY f.puid").fetchall()
        conn.close()

    def wide_show() -> None:
        conn = sqlite3.connect(work / "catalog-wide.sqlite")
        conn.execute("SELECT * FROM files WHERE aip_id = ? AND version = 'v1' ORDER BY logical_path", [big]).fetchall()
        conn.close()

    for label, fn, target in (("archa aip list", cli("aip", "list", "--repo", r), 0.5),
                              ("archa formats report", cli("formats", "report", "--repo", r), 1.0),
                              ("  baseline: GROUP BY puid on the wide table", wide_formats, None),
                              ("stale-identification count", stale, 1.0),
                              ("fixity audit --due selection", due, 1.0),
                              ("archa aip show --json (200,000 files)", cli("aip", "show", big, "--json", "--repo", r), 5.0),
                              ("  baseline: SELECT its rows from the wide table", wide_show, None),
                              ("archa aip show --limit 50", cli("aip", "show", big, "--limit", "50", "--repo", r), None)):
        secs = best(fn)
        print(f"  {label:<48} {secs:8.2f} s" + (f"   (target < {target} s)" if target else ""))


if __name__ == "__main__":
    main()
