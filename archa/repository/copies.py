"""Copies of AIP versions in storage locations: OCFL objects on any store, and packed
(deterministic tar + zstd) archives.

Both writers read from the hot OCFL object, write through a `Store`, and check the digests
of what was written before returning; both refuse to overwrite what is stored.

OCFL copy order (what makes a partial copy harmless): `0=ocfl_object_1.1`, the version's
content files, the version inventory and sidecar, and last the root inventory and
sidecar. An object without its root inventory does not exist for readers, and a rerun
completes it (keys already there with the right digest are kept, others are rewritten).

Packed copy: `<object path>/<version>.tar.zst` is written (to a temporary name locally,
renamed after fsync; as one upload on S3), read back and its sha256 checked; only then is
`<object path>/<version>.index.json` written (member -> offset, size, digest; and the
archive's own sha256). An archive without its index is not a copy.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from archa.errors import StorageError
from archa.repository.durable import fsync_dir
from archa.repository.hashing import HashingReader, file_chunks, file_digest
from archa.repository.ocfl import (
    INVENTORY,
    LAYOUT_CONFIG,
    LAYOUT_EXTENSION,
    OBJECT_NAMASTE,
    ROOT_NAMASTE,
    StorageRoot,
    dump_json,
    object_relpath,
    sidecar_algorithm,
    source_path,
    version_files,
    version_paths,
)
from archa.repository.store import KeyExists, Store

if TYPE_CHECKING:
    import tarfile

PACKED_MARKER = "archa_packed.json"


class PackedCorrupt(StorageError):
    """A packed archive that cannot be decompressed or untarred (damage, not unreachability)."""


@dataclass(frozen=True)
class CopyInfo:
    """What a written copy is: for packed copies, the archive's sha256 and size."""

    location: str
    version: str
    bytes: int
    archive_sha256: str = ""


def init_ocfl_store(store: Store) -> None:
    """Lay out an OCFL storage root on `store` (idempotent: existing markers are kept)."""
    for key, data in ((ROOT_NAMASTE, b"ocfl_1.1\n"),
                      ("ocfl_layout.json", dump_json({"extension": LAYOUT_EXTENSION,
                                                      "description": "Hashed N-tuple storage layout"})),
                      (f"extensions/{LAYOUT_EXTENSION}/config.json", dump_json(LAYOUT_CONFIG))):
        if not store.exists(key):
            store.put_bytes(key, data)


def init_packed_store(store: Store) -> None:
    if not store.exists(PACKED_MARKER):
        store.put_bytes(PACKED_MARKER, dump_json({
            "format": "archa packed copies 1",
            "layout": "<sha256(id)[0:3]>/<[3:6]>/<[6:9]>/<sha256(id)>/<version>.tar.zst + .index.json"}))


# --- OCFL copies ------------------------------------------------------------------------------

def write_ocfl_copy(root: StorageRoot, aip_id: str, version: str, store: Store) -> CopyInfo:
    """Copy `version` of the object from the hot root to the OCFL store, root inventory last.

    Resumable: a key already stored with the right digest is kept; one with a wrong digest
    is rewritten while the copy is incomplete. Refuses when the store's object already has
    this version (its root inventory names it), unless that copy is this one cut short
    between its last two files: the root inventory there is the hot object's inventory of
    `version` byte for byte, and its sidecar is missing or not the hot one (a command killed
    there); that copy is finished, every file checked as any resumed copy is."""
    prefix = object_relpath(aip_id)
    alg = sidecar_algorithm(root.object_path(aip_id) / version)
    root_key = f"{prefix}/{INVENTORY}"
    if store.exists(root_key):
        held = store.read_bytes(root_key)
        if version in json.loads(held).get("versions", {}) and not _cut_before_sidecar(root, aip_id, version, store,
                                                                                       held, alg):
            raise KeyExists(f"location {store.name!r}: {aip_id} {version} is stored there already",
                            location=store.name, path=root_key)
    files = version_files(root, aip_id, version)
    last = {INVENTORY, f"{INVENTORY}.{alg}"}
    ordered = [f for f in files if f[0] == OBJECT_NAMASTE] + \
              [f for f in files if f[0] not in last and f[0] != OBJECT_NAMASTE] + \
              [f for f in files if f[0] in last]
    total = 0
    for rel, digest in ordered:
        src = source_path(root, aip_id, version, rel)
        size = src.stat().st_size
        key = f"{prefix}/{rel}"
        if store.exists(key):
            if store.digest(key, alg) == (digest or file_digest(src, alg)):
                total += size
                continue
            store.delete(key)  # a leftover of an interrupted copy
        with open(src, "rb") as f:
            put = store.put(key, file_chunks(f))
        # what it must hold: the inventory's digest (sidecars and namaste have none there)
        want = digest or (put.sha256 if alg == "sha256" else file_digest(src, alg))
        got = store.digest(key, alg)  # check what was written, as read back from the store
        if got != want:
            store.delete(key)
            raise StorageError(f"location {store.name!r}: {key} read back with {alg} {got}, "
                               f"expected {want}", location=store.name, path=key,
                               hint="the location corrupts writes: check it, then run archa storage sync")
        total += size
    return CopyInfo(store.name, version, total)


def _cut_before_sidecar(root: StorageRoot, aip_id: str, version: str, store: Store, held: bytes, alg: str) -> bool:
    """Whether the store's root inventory `held` is the hot object's inventory of `version`
    and the store lacks the sidecar that goes with it: a copy killed between the two."""
    if held != source_path(root, aip_id, version, INVENTORY).read_bytes():
        return False
    sidecar = f"{object_relpath(aip_id)}/{INVENTORY}.{alg}"
    want = source_path(root, aip_id, version, f"{INVENTORY}.{alg}").read_bytes()
    return not store.exists(sidecar) or store.read_bytes(sidecar) != want


# --- packed copies ----------------------------------------------------------------------------

def packed_keys(aip_id: str, version: str) -> tuple[str, str]:
    prefix = object_relpath(aip_id)
    return f"{prefix}/{version}.tar.zst", f"{prefix}/{version}.index.json"


# Members are packed into zstd frames of about this much tar; a larger member gets a frame
# of its own. Each frame decompresses on its own, so one file is read from a cold copy by
# fetching and decompressing its frame alone (`open_packed_member`).
FRAME_BYTES = 1 << 20


class _FramedWriter:
    """The file object tarfile writes to: the tar stream is compressed as a series of
    independent zstd frames, each cut between two members (`cut`). A sequence of frames is
    a valid zstd stream: `zstd -d` and `tar -I zstd -x` read the archive as before."""

    def __init__(self, out: Any, cctx: Any) -> None:
        self.out, self.cctx = out, cctx
        self.pos = 0  # tar bytes received
        self.comp = 0  # compressed bytes written
        self.buf = bytearray()
        self.stream: Any = None  # the compressor of a frame written as it comes (a large member)
        self.frame_pos = self.frame_comp = 0
        self.frames: list[tuple[int, int, int, int]] = []  # (compressed offset, length, tar offset, length)

    def tell(self) -> int:
        return self.pos

    def write(self, b: bytes | memoryview) -> int:
        if self.stream is not None:
            self._emit(self.stream.compress(b))
        else:
            self.buf += b
        self.pos += len(b)
        return len(b)

    def _emit(self, data: bytes) -> None:
        if data:
            self.out.write(data)
            self.comp += len(data)

    def cut(self, streaming: bool = False) -> None:
        """End the open frame; with `streaming`, the next one is compressed as it comes."""
        import zstandard

        if self.stream is not None:
            self._emit(self.stream.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH))
        elif self.buf:
            self._emit(self.cctx.compress(bytes(self.buf)))
            self.buf.clear()
        if self.pos > self.frame_pos:
            self.frames.append((self.frame_comp, self.comp - self.frame_comp, self.frame_pos, self.pos - self.frame_pos))
        self.frame_pos, self.frame_comp = self.pos, self.comp
        self.stream = self.cctx.compressobj() if streaming else None

    @property
    def open_frame(self) -> int:
        return len(self.frames)


def _write_tar(out: Any, root: StorageRoot, aip_id: str, version: str,
               members: IO[bytes], level: int, threads: int) -> tuple[str, list[Any]]:
    """Write the zstd-compressed deterministic tar of a version to `out`, writing a JSON line
    [path, data offset, size, digest, frame] per member to `members` (a scratch file: the
    list of a million members is not held): members sorted, mtime 0, uid/gid
    0, no owner names, mode 0444, PAX headers; compressed in independent frames (see
    `_FramedWriter`). Returns the digest algorithm and the frames."""
    import tarfile  # here, not at the top: an audit of hot copies does not pay its import

    import zstandard

    cctx = zstandard.ZstdCompressor(level=level, threads=threads, write_checksum=True)
    obj = root.object_path(aip_id)
    alg = sidecar_algorithm(obj / version)
    w = _FramedWriter(out, cctx)
    with tarfile.open(fileobj=w, mode="w", format=tarfile.PAX_FORMAT) as tf:  # type: ignore[call-overload]
        for rel in version_paths(root, aip_id, version):
            src = source_path(root, aip_id, version, rel)
            ti = tarfile.TarInfo(rel)
            ti.size = src.stat().st_size
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname, ti.mode = 0, 0, 0, "", "", 0o444
            large = ti.size >= FRAME_BYTES
            if large:
                w.cut(streaming=True)
            frame = w.open_frame
            h = hashlib.new(alg)
            with open(src, "rb") as f:
                tf.addfile(ti, HashingReader(f, h))
            offset = tf.offset - ((ti.size + 511) // 512) * 512
            members.write(json.dumps([rel, offset, ti.size, h.hexdigest(), frame], ensure_ascii=False
                                     ).encode("utf-8", "surrogateescape") + b"\n")
            if large or w.pos - w.frame_pos >= FRAME_BYTES:
                w.cut()
            forget_members(tf)  # a writer never needs them
    w.cut()  # the end-of-archive blocks tarfile wrote on closing
    return alg, [list(f) for f in w.frames]


def _index_chunks(header: dict[str, Any], members: IO[bytes], alg: str) -> Iterator[bytes]:
    """The index JSON, streamed: the header's keys, then one line per member (sorted keys),
    read from the scratch file `_write_tar` filled."""
    yield b"{\n"
    for key in sorted(header):
        yield f"  {json.dumps(key)}: {json.dumps(header[key], ensure_ascii=False)},\n".encode()
    yield b'  "members": {\n'
    members.seek(0)
    line = members.readline()
    while line:
        rel, offset, size, digest, frame = json.loads(line)
        line = members.readline()
        entry = json.dumps({"offset": offset, "size": size, alg: digest, "frame": frame}, sort_keys=True)
        sep = "," if line else ""
        yield f"    {json.dumps(rel, ensure_ascii=False)}: {entry}{sep}\n".encode("utf-8", "surrogateescape")
    yield b"  }\n}\n"


def write_packed_copy(root: StorageRoot, aip_id: str, version: str, store: Store,
                      level: int = 10, threads: int = 0, replace: bool = False) -> CopyInfo:
    """Pack `version` into `<version>.tar.zst` on `store`, check its sha256 as read back,
    then write its index. Resumable: an archive left without its index is checked and, if
    its digest does not match what it must hold, replaced."""
    archive_key, index_key = packed_keys(aip_id, version)
    if replace:  # repair: without its index the old archive is no copy; then it is rewritten
        store.delete(index_key)
    if store.exists(index_key):
        raise KeyExists(f"location {store.name!r}: {aip_id} {version} is packed there already",
                        location=store.name, path=index_key)
    # the member list (see _write_tar): in memory for the usual AIP, spilled to a file past 1 MiB
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as members:
        if store.exists(archive_key) and not replace:
            store.delete(archive_key)  # an interrupted copy: it never got its index
        with store.writer(archive_key, replace=replace) as w:  # streamed: memory stays flat whatever the size
            alg, frames = _write_tar(w, root, aip_id, version, members, level, threads)
        put = w.result
        # read back where that reaches the device (S3: the object as stored); a local read-back
        # right after the fsync would come from the page cache and prove nothing more than the
        # digest taken while writing: the size is checked, the bytes by the next audit
        got = store.digest(archive_key) if not store.local else put.sha256
        if store.local and (size := store.size(archive_key)) != put.size:
            got = f"a file of {size} bytes instead of {put.size}"
        if got != put.sha256:
            store.delete(archive_key)
            raise StorageError(f"location {store.name!r}: {archive_key} read back with sha256 {got}, "
                               f"expected {put.sha256}", location=store.name, path=archive_key,
                               hint="the location corrupts writes: check it, then run archa storage sync")
        header = {"id": aip_id, "version": version, "archive": archive_key.rsplit("/", 1)[1],
                  "archive_sha256": put.sha256, "archive_bytes": put.size, "frames": frames}
        store.put(index_key, _index_chunks(header, members, alg))
        return CopyInfo(store.name, version, put.size, put.sha256)


def forget_members(tf: tarfile.TarFile) -> None:
    """Drop the TarInfo a streamed TarFile keeps of every member it has read (a million
    members: hundreds of MB); iterating goes on with the next member all the same."""
    tf.members.clear()  # type: ignore[attr-defined]  # (typeshed omits the attribute)


def read_packed_index(store: Store, aip_id: str, version: str) -> dict[str, Any]:
    index: dict[str, Any] = json.loads(store.read_bytes(packed_keys(aip_id, version)[1]))
    return index


def iter_packed(store: Store, aip_id: str, version: str) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    """Stream the members of a packed copy (one pass through zstd and tar, nothing extracted)."""
    import tarfile  # here, not at the top: an audit of hot copies does not pay its import

    import zstandard

    archive_key, _ = packed_keys(aip_id, version)
    with store.open(archive_key) as raw:
        try:
            reader = zstandard.ZstdDecompressor().stream_reader(raw)
            with tarfile.open(fileobj=reader, mode="r|") as tf:
                for ti in tf:
                    if ti.isreg():
                        f = tf.extractfile(ti)
                        assert f is not None
                        yield ti, f
                    forget_members(tf)
        except (zstandard.ZstdError, tarfile.TarError, EOFError) as e:
            raise PackedCorrupt(f"location {store.name!r}: {archive_key} is corrupt: {e}", location=store.name,
                               path=archive_key, hint="audit the copy and repair it from another") from e


class _Limited(io.RawIOBase):
    """The next `size` bytes of `src`."""

    def __init__(self, src: IO[bytes], size: int) -> None:
        self.src, self.left = src, size

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.left <= 0:
            return 0
        n: int = self.src.readinto(memoryview(b)[:self.left])  # type: ignore[attr-defined]
        if not n:
            raise PackedCorrupt("the archive ends inside a member")
        self.left -= n
        return n


@contextmanager
def open_packed_member(store: Store, aip_id: str, version: str, index: dict[str, Any],
                       rel: str) -> Iterator[IO[bytes]]:
    """The bytes of one member of a packed copy, read from its zstd frame alone (an archive
    whose index has `frames`); KeyError when the index does not list it. Raises
    PackedCorrupt when the frame does not decompress to it, or, when the block ends, when the
    frame fails its checksum: the rest of the frame (at most about FRAME_BYTES) is read for
    that, so damage anywhere in the frame is found, not only damage that breaks decoding."""
    import zstandard

    m = index["members"][rel]
    comp_offset, comp_len, tar_offset, _tar_len = index["frames"][m["frame"]]
    archive_key, _ = packed_keys(aip_id, version)
    with store.open_at(archive_key, comp_offset) as raw:
        try:  # the frame's compressed bytes only: the decoder ends where the frame does
            frame = io.BufferedReader(_Limited(raw, comp_len), 1 << 17)
            reader = zstandard.ZstdDecompressor().stream_reader(frame, read_across_frames=False)
            skip = m["offset"] - tar_offset
            while skip > 0:
                got = reader.read(min(skip, 1 << 20))
                if not got:
                    raise PackedCorrupt("the frame ends before the member")
                skip -= len(got)
            yield io.BufferedReader(_Limited(reader, m["size"]), 1 << 20)  # type: ignore[arg-type]
            while reader.read(1 << 20):  # to the frame's end, where zstd checks its checksum
                pass
        except (zstandard.ZstdError, PackedCorrupt) as e:
            raise PackedCorrupt(f"location {store.name!r}: {archive_key}: the frame of {rel} is corrupt: {e}",
                                location=store.name, path=archive_key,
                                hint="audit the copy and repair it from another") from e


def restore_packed(stores: list[tuple[Store, str]], aip_id: str, dest: Path) -> None:
    """Rebuild the OCFL object at `dest` from packed copies of v1..vN, in order (later
    versions' root inventory replaces the earlier one)."""
    for store, version in stores:
        for ti, f in iter_packed(store, aip_id, version):
            target = dest / ti.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.chmod(0o644)
            with open(target, "wb") as out:
                out.writelines(file_chunks(f))


# --- leftovers of interrupted writes ---------------------------------------------------------------

# the temporary names of Store.writer (`.NAME.8hex.tmp`) and write_durable (`.NAME.tmp-PID`)
TEMPORARY = re.compile(r"^\..+(\.[0-9a-f]{8}\.tmp|\.tmp-\d+)$")
_CONTENT = re.compile(r"(^|/)v\d+/content/")  # inside an OCFL object's content directories


def temporaries(store: Store, prefix: str, stored: Callable[[str], bool] | None = None) -> list[str]:
    """Keys under `prefix` that are temporary files an interrupted write left (a local
    location only: an object store has none). A record may be named like one (a payload file
    `.notes.deadbeef.tmp`): a key inside an OCFL object's content directories is taken for a
    temporary only when `stored(key)` says that no stored version holds such a file (the
    catalog knows, see `leftovers.stored_content`); without `stored`, never."""
    if not store.local:
        return []
    return sorted(k for k, _s in store.list(prefix, sizes=False) if TEMPORARY.match(k.rsplit("/", 1)[-1])
                  and (not _CONTENT.search(k) or (stored is not None and not stored(k))))


def sweep_temporaries(store: Store, aip_id: str, stored: Callable[[str], bool] | None = None) -> int:
    """Delete what interrupted writes left in the AIP's directory at `store` (`temporaries`);
    call holding the AIP's lock (no write to it is running then). Returns how many were deleted."""
    found = temporaries(store, object_relpath(aip_id), stored)
    for key in found:
        store.delete(key)
    return len(found)


# --- removal (the disposal procedure) -----------------------------------------------------------

# Where a removed AIP's tombstone lies at every location (an OCFL storage-root extension
# directory on OCFL locations, the same path on packed ones).
TOMBSTONES = "extensions/archa-tombstones"


def tombstone_prefix(aip_id: str) -> str:
    return f"{TOMBSTONES}/{object_relpath(aip_id)}"


def remove_object(store: Store, kind: str, aip_id: str) -> int:
    """Delete every key the AIP has at `store`; returns how many were deleted. First what
    makes it a copy for readers (an OCFL object's root inventory and sidecar, a packed
    copy's indexes), then every other key, then (locally) the emptied directories up to the
    store's base. Idempotent: a rerun after a crash deletes what is left."""
    prefix = object_relpath(aip_id)
    keys = [k for k, _s in store.list(prefix, sizes=False)]
    if kind == "ocfl":
        first = [k for k in keys if k.count("/") == 4 and k.rsplit("/", 1)[1].startswith(INVENTORY)]
    else:
        first = [k for k in keys if k.endswith(".index.json")]
    for key in first + sorted(set(keys) - set(first)):
        store.delete(key)
    if store.local:
        try:
            _remove_empty_dirs(Path(store.path(prefix)), Path(store.base))
        except OSError as e:
            raise store._error("delete", prefix, e) from e
    return len(keys)


def _remove_empty_dirs(d: Path, base: Path) -> None:
    """Remove `d`'s (emptied) directory tree and then its parents while empty, up to `base`."""
    if d.is_dir():
        for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            os.rmdir(sub)
    while d != base and d.is_dir() and not any(d.iterdir()):
        os.rmdir(d)
        d = d.parent
    if d.is_dir():
        fsync_dir(d)
