"""The fast paths of the audit of a local OCFL copy find damage exactly as a plain read
would: large files hashed on threads with a sequential read hint, across chunk edges;
small files a round at a time, half of each by a forked helper process; one page-aligned
read buffer per thread, private to each process (bench/fixity.py measures their speed)."""

from __future__ import annotations

import ctypes
import hashlib
import mmap
import os
import random
from pathlib import Path

import pytest

from archa.ingest.ingest import ingest
from archa.preservation.fixity import AuditOptions, audit
from archa.preservation.repair import repair
from archa.repository import copyaudit
from archa.repository.copyaudit import LARGE_FILE, SEQUENTIAL, WILLNEED, _hash_local
from archa.repository.hashing import CHUNK, READ_BUFFER, thread_buffer
from archa.repository.ocfl import object_relpath
from archa.repository.repo import Repository
from tests.bagmaker import write_bag

DATA = "v1/content/representations/original/data"


def test_the_read_buffer_is_page_aligned() -> None:
    """The kernel copies into a buffer that is not 64-byte aligned at about half the speed;
    one larger than the core's L2 cache is evicted before it is hashed."""
    view = thread_buffer()
    assert len(view) == READ_BUFFER <= 1 << 20 and view is thread_buffer()
    assert ctypes.addressof(ctypes.c_char.from_buffer(view)) % mmap.PAGESIZE == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_reads_into_its_own_buffer() -> None:
    """The small-file helper is forked from a thread holding its buffer: a shared mapping
    would let the two processes overwrite each other's bytes between a read and its hash."""
    view = thread_buffer()
    view[:4] = b"main"
    pid = os.fork()
    if pid == 0:  # the child: write into its buffer, then leave at once
        thread_buffer()[:4] = b"fork"
        os._exit(0 if bytes(thread_buffer()[:4]) == b"fork" else 1)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert bytes(view[:4]) == b"main"


def test_digests_across_chunk_edges(tmp_path: Path) -> None:
    sizes = [0, 1, 4095, READ_BUFFER - 1, READ_BUFFER, READ_BUFFER + 1, CHUNK + 1, 2 * CHUNK + 7]
    want = []
    for i, size in enumerate(sizes):
        data = random.Random(size).randbytes(size)
        (tmp_path / f"f{i}").write_bytes(data)
        want.append((f"f{i}", hashlib.sha256(data).hexdigest(), size))
    rels = [rel for rel, _d, _n in want]
    assert _hash_local(str(tmp_path), rels, "sha256", ahead=1, advice=SEQUENTIAL) == want
    assert _hash_local(str(tmp_path), rels, "sha256", ahead=3, advice=WILLNEED) == want


def _damage(path: Path, offset: int | None) -> None:
    """Flip the byte at `offset`; None: cut the file to half its size."""
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    if offset is None:
        del data[len(data) // 2:]
    else:
        data[offset] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("jobs", [1, 4])
def test_large_and_small_files_damage_is_found_on_every_path(repo: Repository, bags: Path,
                                                              monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    """Large files on the threads (one spanning three chunks), small ones on the main
    thread and, with jobs > 1, half of each round in the forked helper (made to start at
    a few files, in rounds of six); the copy repaired audits sound again."""
    monkeypatch.setattr(copyaudit, "MANY_SMALL", 4)
    monkeypatch.setattr(copyaudit, "SMALL_CHUNK", 6)
    rng = random.Random(7)
    files = {f"big/{i}.bin": rng.randbytes(LARGE_FILE + i * 300_001) for i in range(4)}
    files["big/three-chunks.bin"] = rng.randbytes(2 * CHUNK + 3)
    files |= {f"small/{i:02d}.txt": rng.randbytes(rng.randint(1, 3000)) for i in range(20)}
    aip_id = ingest(repo, write_bag(bags / "mixed", files)).aip_id

    def codes() -> list[tuple[str, str]]:
        with repo.writing():
            summary = audit(repo, AuditOptions(due=False, aip=aip_id, location="hot", jobs=jobs))
        (a,) = summary.audits
        assert a.files >= len(files)
        return sorted((f.code, f.path.removeprefix(f"{DATA}/")) for f in a.findings)

    assert codes() == []
    root = Path(repo.store(repo.config.location("hot")).path(object_relpath(aip_id))) / DATA
    _damage(root / "big/three-chunks.bin", CHUNK + 5)  # in the second chunk
    _damage(root / "big/2.bin", None)  # a local listing gives no sizes: found on the bytes read
    for i in (0, 3, 7, 19):  # in the helper's half of a round and in the main thread's
        _damage(root / f"small/{i:02d}.txt", 0)
    assert codes() == [("FIX002", "big/three-chunks.bin"), ("FIX002", "small/00.txt"),
                       ("FIX002", "small/03.txt"), ("FIX002", "small/07.txt"),
                       ("FIX002", "small/19.txt"), ("FIX003", "big/2.bin")]
    with repo.writing():
        (r,) = repair(repo, aip_id, "hot")  # from the packed cold copy
    assert r.repaired, r
    assert codes() == []
