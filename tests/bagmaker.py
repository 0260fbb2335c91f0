"""Builds BagIt bags byte by byte for tests (no bagit-python, so every field is controllable)."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path


def write_bag(root: Path, files: dict[str, bytes], *, algs: tuple[str, ...] = ("sha256",),
              info: dict[str, str] | None = None, version: str = "1.0", tag_algs: tuple[str, ...] = ("sha256",),
              oxum: bool = True) -> Path:
    """Write a valid bag at `root`: payload `files` (paths relative to data/), manifests for
    `algs`, bag-info with `info` (+ Payload-Oxum), tag manifests for `tag_algs`."""
    (root / "data").mkdir(parents=True)
    for rel, data in files.items():
        p = root / "data" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "bagit.txt").write_bytes(
        f"BagIt-Version: {version}\nTag-File-Character-Encoding: UTF-8\n".encode())
    # each bag a record of its own (a repeated External-Identifier is refused as a duplicate)
    fields = dict(info or {"Source-Organization": "Test Archive", "External-Identifier": f"T-{root.name}"})
    if oxum:
        fields["Payload-Oxum"] = f"{sum(len(d) for d in files.values())}.{len(files)}"
    (root / "bag-info.txt").write_text("".join(f"{k}: {v}\n" for k, v in fields.items()), "utf-8")
    for alg in algs:
        write_manifest(root, f"manifest-{alg}.txt", alg, [f"data/{r}" for r in sorted(files)])
    retag(root, tag_algs)
    return root


def encode(path: str) -> str:
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def write_manifest(root: Path, name: str, alg: str, paths: list[str]) -> None:
    lines = [f"{hashlib.new(alg.replace('-', '_'), (root / p).read_bytes()).hexdigest()}  {encode(p)}\n"
             for p in paths]
    (root / name).write_text("".join(lines), "utf-8")


def retag(root: Path, tag_algs: tuple[str, ...] = ("sha256",)) -> None:
    """(Re)write the tag manifests over every tag file."""
    for p in root.glob("tagmanifest-*.txt"):
        p.unlink()
    tags = sorted(p.name for p in root.iterdir() if p.is_file() and not p.name.startswith("tagmanifest-"))
    for alg in tag_algs:
        write_manifest(root, f"tagmanifest-{alg}.txt", alg, tags)


def tree_snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry below `root` with (content digest or link target, mode, mtime_ns)."""
    snap: dict[str, tuple[str, int, int]] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                what = "link:" + os.readlink(p)
            elif p.is_file():
                what = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                what = "dir"
            snap[str(p.relative_to(root))] = (what, st.st_mode, st.st_mtime_ns)
    return snap


def zip_dir(src: Path, out: Path, top: str | None = None) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(src.rglob("*")):
            arc = str(p.relative_to(src))
            if top:
                arc = f"{top}/{arc}"
            zf.write(p, arc)
    return out


def tar_dir(src: Path, out: Path, mode: str = "w", top: str | None = None) -> Path:
    with tarfile.open(out, mode) as tf:
        tf.add(src, arcname=top or src.name)
    return out


def tar_zst_dir(src: Path, out: Path) -> Path:
    import zstandard

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(src, arcname=src.name)
    out.write_bytes(zstandard.ZstdCompressor().compress(buf.getvalue()))
    return out
