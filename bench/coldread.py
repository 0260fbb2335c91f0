"""Benchmark: reading one file from a packed (cold) copy, against streaming the archive.

Data: one AIP of FILES (default 2,000) files of SIZE (default 256 KiB) of compressible
scan-like bytes, ingested with the default placement (hot OCFL + packed zstd cold copy).

  archa     `archa dip export ID OUT --include FILE --location cold --originals`: the file's
            zstd frame fetched and decompressed alone (a ranged read), verified against
            the catalog; and in-process `open_packed_member` for the bare read
  baseline  `tar -I zstd -xf ARCHIVE MEMBER --occurrence=1`: the archive streamed and
            decompressed up to the member (what a single-frame tar.zst requires); and
            in-process, the archive streamed through zstd and tarfile to the member

The member read is the last one of the archive (the worst case for streaming) and one in
the middle. Also reported: the archive's size against one zstd frame of the same tar at the
same level (what the frames cost in compression).

    python bench/coldread.py [--files 2000] [--size 262144] [--work bench-work]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best

from archa.repository.copies import iter_packed, open_packed_member, packed_keys, read_packed_index
from archa.repository.repo import Repository

BIN = Path(sys.executable).parent


def scan_like(rng: random.Random, size: int) -> bytes:
    """Bytes that compress about 3:1, like scanned images in a lossless container."""
    row = bytes(rng.randrange(0, 40) + 100 for _ in range(512))
    out = bytearray()
    while len(out) < size:
        out += row[rng.randrange(0, 256):] + rng.randbytes(64)
    return bytes(out[:size])


def make_aip(work: Path, files: int, size: int) -> tuple[Path, str]:
    repo = work / "coldread-repo"
    marker = work / f"coldread-{files}x{size}.json"
    if marker.exists() and repo.exists():
        return repo, json.loads(marker.read_text())["aip"]
    shutil.rmtree(repo, ignore_errors=True)
    bag = work / "coldread-bag"
    shutil.rmtree(bag, ignore_errors=True)
    src = work / "coldread-src"
    shutil.rmtree(src, ignore_errors=True)
    rng = random.Random(3)
    for i in range(files):
        p = src / f"scans/box-{i // 100:03d}/scan-{i:05d}.tif"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(scan_like(rng, size))
    subprocess.run([str(BIN / "archa"), "init", str(repo)], check=True, stdout=subprocess.DEVNULL)
    r = subprocess.run([str(BIN / "archa"), "transfer", "folder", str(src), str(bag), "--ingest", "--json",
                        "--repo", str(repo)], check=True, capture_output=True, text=True)
    aip = json.loads(r.stdout)["ingest"]["aip_id"]
    marker.write_text(json.dumps({"aip": aip}))
    return repo, aip



def archa_cli(aip: str, out: Path, inner: str, repo_path: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([str(BIN / "archa"), "dip", "export", aip, str(out), "--include", inner, "--location", "cold",
                    "--originals", "--repo", str(repo_path)], check=True, stdout=subprocess.DEVNULL)


def tar_cli(archive: Path, out: Path, member: str) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    subprocess.run(["tar", "-I", "zstd", "-xf", str(archive), "-C", str(out), "--occurrence=1", member], check=True)


def archa_read(store: Any, aip: str, index: dict[str, Any], member: str) -> None:
    with open_packed_member(store, aip, "v1", index, member) as f:
        while f.read(1 << 20):
            pass


def stream_read(store: Any, aip: str, member: str) -> None:
    for ti, f in iter_packed(store, aip, "v1"):
        if ti.name == member:
            while f.read(1 << 20):
                pass
            break


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--size", type=int, default=256 * 1024)
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    repo_path, aip = make_aip(work, args.files, args.size)
    repo = Repository.open(repo_path)
    store = repo.store(repo.config.location("cold"))
    index = read_packed_index(store, aip, "v1")
    archive = Path(store.path(packed_keys(aip, "v1")[0]))
    payload = sorted(k for k in index["members"] if "/data/" in k)
    total = sum(m["size"] for m in index["members"].values())
    print(f"cold single-file read benchmark, {os.cpu_count()} cores: {len(index['members'])} members, "
          f"{total / 2**20:.0f} MiB of tar in {archive.stat().st_size / 2**20:.0f} MiB "
          f"({len(index['frames'])} zstd frames), warm cache, best of 5")
    out = work / "coldread-dip"
    for where, member in (("last", payload[-1]), ("middle", payload[len(payload) // 2])):
        inner = member.split("/data/", 1)[1]
        a = best(partial(archa_cli, aip, out, inner, repo_path), 5)
        b = best(partial(tar_cli, archive, out, member), 5)
        c = best(partial(archa_read, store, aip, index, member), 5)
        d = best(partial(stream_read, store, aip, member), 5)
        print(f"  {where} member: archa dip export {a * 1000:8.1f} ms | tar -I zstd -x {b * 1000:8.1f} ms | "
              f"ratio {a / b:.3f}x the time")
        print(f"  {where} member, in process: frame read {c * 1000:8.2f} ms | streamed {d * 1000:8.1f} ms | "
              f"ratio {c / d:.4f}x the time")
    plain = subprocess.run(f"zstd -q -d -c {archive} | zstd -q -10 -c | wc -c", shell=True, check=True,
                           capture_output=True, text=True).stdout.strip()
    size = archive.stat().st_size
    print(f"  archive {size:,} bytes in {len(index['frames'])} frames; one frame of the same tar at level 10: "
          f"{int(plain):,} bytes ({(size / int(plain) - 1) * 100:+.2f} %)")
    repo.close()


if __name__ == "__main__":
    main()
