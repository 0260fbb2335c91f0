"""Packed copies in independent zstd frames: one file read from a cold copy without
streaming the rest, the archive still a plain tar.zst."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard
from click.testing import CliRunner

from archa.cli.main import cli
from archa.ingest.ingest import ingest
from archa.repository.config import Location
from archa.repository.copies import (
    FRAME_BYTES,
    PackedCorrupt,
    open_packed_member,
    packed_keys,
    read_packed_index,
    write_packed_copy,
)
from archa.repository.ocfl import object_relpath
from archa.repository.repo import Repository
from archa.repository.store import Store
from tests.bagmaker import write_bag
from tests.s3server import BUCKET, S3Server

FILES = {f"scans/page-{i:03d}.txt": (f"strana {i}\n" * (200 + i)).encode() for i in range(60)}
FILES["big/film.bin"] = os.urandom(FRAME_BYTES + 300_000)  # a member larger than a frame: its own frame
FILES["after/notes.txt"] = b"after the big one\n"


@pytest.fixture
def aip(repo: Repository, bags: Path) -> str:
    return ingest(repo, write_bag(bags / "b", FILES)).aip_id


def _cold(repo: Repository, aip: str) -> Path:
    return repo.root / "storage" / "cold" / object_relpath(aip) / "v1.tar.zst"


def test_frames_cut_between_members_and_every_member_reads_alone(repo: Repository, aip: str) -> None:
    store = repo.store(repo.config.location("cold"))
    index = read_packed_index(store, aip, "v1")
    frames = index["frames"]
    assert len(frames) >= 3  # small pages, the big file, what follows it
    data = _cold(repo, aip).read_bytes()
    for comp_off, comp_len, tar_off, tar_len in frames:  # each frame decompresses on its own
        assert len(zstandard.ZstdDecompressor().decompressobj().decompress(data[comp_off:comp_off + comp_len])) \
            == tar_len
    assert sum(f[1] for f in frames) == len(data)
    big = index["members"]["v1/content/representations/original/data/big/film.bin"]
    assert next(f[3] for f in frames if f[2] <= big["offset"] < f[2] + f[3]) >= big["size"]
    for rel, m in index["members"].items():
        with open_packed_member(store, aip, "v1", index, rel) as f:
            got = f.read()
        assert len(got) == m["size"]
        logical = rel.split("/content/", 1)[-1]
        if logical.startswith("representations/original/data/"):
            assert got == FILES[logical.removeprefix("representations/original/data/")]


def test_still_a_plain_tar_zst(repo: Repository, aip: str, tmp_path: Path) -> None:
    archive = _cold(repo, aip)
    if shutil.which("zstd"):
        out = tmp_path / "x"
        out.mkdir()
        subprocess.run(["tar", "-I", "zstd", "-xf", str(archive), "-C", str(out)], check=True)
        assert (out / "v1/content/representations/original/data/big/film.bin").read_bytes() == FILES["big/film.bin"]
    with archive.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as z, \
            tarfile.open(fileobj=z, mode="r|") as tf:
        names = [ti.name for ti in tf]
    assert "v1/content/representations/original/data/after/notes.txt" in names


class _Counting(io.RawIOBase):
    def __init__(self, inner: Any, counter: list[int]) -> None:
        self.inner, self.counter = inner, counter

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n: int = self.inner.readinto(b)
        self.counter[0] += n
        return n


def test_a_dip_of_one_file_from_cold_reads_only_its_frame(repo: Repository, aip: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    read = [0]
    original = Store.open_at

    from contextlib import contextmanager

    @contextmanager
    def counting(self: Store, key: str, offset: int) -> Any:
        with original(self, key, offset) as f:
            yield _Counting(f, read)

    monkeypatch.setattr(Store, "open_at", counting)
    plain_open = Store.open

    def no_streaming(self: Store, key: str) -> Any:
        assert not key.endswith(".tar.zst"), "the whole archive was streamed"
        return plain_open(self, key)

    monkeypatch.setattr(Store, "open", no_streaming)
    r = CliRunner().invoke(cli, ["dip", "export", aip, str(tmp_path / "dip"), "--include", "after/notes.txt",
                                 "--location", "cold", "--originals", "--json", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "dip/objects/after/notes.txt").read_bytes() == FILES["after/notes.txt"]
    assert 0 < read[0] < _cold(repo, aip).stat().st_size / 4, read[0]


NOTES = "v1/content/representations/original/data/after/notes.txt"


def _flip_in_frame(repo: Repository, aip: str, where: Callable[[int], int]) -> tuple[Store, dict[str, Any]]:
    """Flip one byte of the frame holding NOTES, at `where(compressed length)` within it;
    returns the cold store and the copy's index. Flipping the same byte again undoes it."""
    store = repo.store(repo.config.location("cold"))
    index = read_packed_index(store, aip, "v1")
    comp_off, comp_len, *_ = index["frames"][index["members"][NOTES]["frame"]]
    archive = _cold(repo, aip)
    data = bytearray(archive.read_bytes())
    data[comp_off + where(comp_len)] ^= 0xFF
    archive.chmod(0o644)
    archive.write_bytes(bytes(data))
    return store, index


def test_a_damaged_frame_is_found_and_the_file_comes_from_another_copy(repo: Repository, aip: str,
                                                                      tmp_path: Path) -> None:
    store, index = _flip_in_frame(repo, aip, lambda n: n // 2)
    with pytest.raises(PackedCorrupt), open_packed_member(store, aip, "v1", index, NOTES) as f:
        f.read()
    r = CliRunner().invoke(cli, ["dip", "export", aip, str(tmp_path / "dip"), "--include", "after/notes.txt",
                                 "--location", "cold", "--originals", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    assert "DAMAGED" in r.output and (tmp_path / "dip/objects/after/notes.txt").read_bytes() == FILES["after/notes.txt"]
    assert {c["location"]: c["state"] for c in repo.catalog.copies(aip)}["cold"] == "damaged"
    r = CliRunner().invoke(cli, ["repair", aip, "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output


def test_a_frame_that_fails_only_its_checksum_is_found(repo: Repository, aip: str) -> None:
    """Damage that still decodes (here: the frame's checksum itself) is found all the same:
    reading a member reads its frame to the end, where zstd checks the checksum."""
    last = lambda n: n - 1
    store, index = _flip_in_frame(repo, aip, last)
    with pytest.raises(PackedCorrupt, match="corrupt"), open_packed_member(store, aip, "v1", index, NOTES) as f:
        assert f.read() == FILES["after/notes.txt"]  # the bytes come out right; the frame is still damaged
    _flip_in_frame(repo, aip, last)  # undone: the same read passes
    with open_packed_member(store, aip, "v1", index, NOTES) as f:
        assert f.read() == FILES["after/notes.txt"]


def test_frames_on_s3(repo: Repository, aip: str, s3_env: S3Server) -> None:
    loc = Location("s3cold", "packed", f"s3://{BUCKET}/frames", "cold", endpoint=s3_env.endpoint)
    store = Store.for_location(loc, repo.root)
    write_packed_copy(repo.hot, aip, "v1", store)
    index = read_packed_index(store, aip, "v1")
    rel = "v1/content/representations/original/data/big/film.bin"
    with open_packed_member(store, aip, "v1", index, rel) as f:
        assert f.read() == FILES["big/film.bin"]
    # stored as written: not compressed once more by the S3 client because the key ends in .zst
    raw = store.fs.open_input_file(store.path(packed_keys(aip, "v1")[0]))
    assert raw.size() == index["archive_bytes"] and raw.read(4) == b"\x28\xb5\x2f\xfd"


def test_version_paths_stream_the_inventorys_order(repo: Repository, tmp_path: Path) -> None:
    """The packed writer lists a version from its folders (nothing per file held); the order
    must be the inventory's sorted order, which readers of the index rely on: names that
    sort around '/' (a.txt < a/b < a0), capitals, spaces, Czech letters, hidden names."""
    from archa.repository.ocfl import version_files, version_paths

    names = ["a.txt", "a/b.txt", "a/b/c.txt", "a-b.txt", "a b.txt", "a0/x.txt", "A.txt", "ž/č.txt", "z.txt",
             "a/.hidden-but-kept.txt"]
    bag = write_bag(tmp_path / "order", {n: n.encode() for n in names})
    aip = ingest(repo, bag).aip_id
    listed = [p for p, _d in version_files(repo.hot, aip, "v1")]
    assert list(version_paths(repo.hot, aip, "v1")) == listed
    assert "v1/content/representations/original/data/a/.hidden-but-kept.txt" in listed
