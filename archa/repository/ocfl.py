"""OCFL 1.1 storage roots (layout extension 0004-hashed-n-tuple) and object assembly.

Contracts:
- An object is assembled completely in a staging directory on the same file system and
  becomes visible in the storage root by one `rename` (`StorageRoot.commit_object`). A
  reader ignores any directory without `0=ocfl_object_1.1` and a valid inventory.
- Content files in a stored object are read-only and never rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from archa.errors import RepositoryError
from archa.repository.catalog.scratch import ScratchDb, VersionTables
from archa.repository.durable import (
    fsync_dir,
    open_durable,
    seal_tree,
    sync_filesystem,
    write_durable,
    write_new,
)

if TYPE_CHECKING:
    from archa.repository.catalog import Catalog

OCFL_VERSION = "1.1"
ROOT_NAMASTE = "0=ocfl_1.1"
OBJECT_NAMASTE = "0=ocfl_object_1.1"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
LAYOUT_EXTENSION = "0004-hashed-n-tuple-storage-layout"
LAYOUT_CONFIG: dict[str, Any] = {
    "extensionName": LAYOUT_EXTENSION,
    "digestAlgorithm": "sha256",
    "tupleSize": 3,
    "numberOfTuples": 3,
    "shortObjectRoot": False,
}
INVENTORY = "inventory.json"


def object_relpath(object_id: str) -> str:
    """Where extension 0004 (sha256, 3 tuples of 3, full digest last) puts `object_id`."""
    h = hashlib.sha256(object_id.encode("utf-8")).hexdigest()
    size, n = LAYOUT_CONFIG["tupleSize"], LAYOUT_CONFIG["numberOfTuples"]
    return "/".join([h[i * size:(i + 1) * size] for i in range(n)] + [h])


def dump_json(obj: Any) -> bytes:
    """Stable JSON bytes (sorted keys, 2-space indent, UTF-8, final newline)."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def sidecar_algorithm(directory: Path) -> str:
    """The digest algorithm of the inventory in `directory`, from its sidecar's name (cheap:
    no need to parse an inventory of a million entries to learn it)."""
    for alg in ("sha512", "sha256"):
        if (directory / f"{INVENTORY}.{alg}").is_file():
            return alg
    raise RepositoryError(f"{directory}: no inventory sidecar", path=str(directory))


class StorageRoot:
    """An OCFL storage root on a local or mounted file system."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path) -> StorageRoot:
        """Lay out an empty storage root; refuses a non-empty directory."""
        if path.exists() and any(path.iterdir()):
            raise RepositoryError(f"{path}: exists and is not empty", path=str(path),
                                  hint="choose an empty or new directory for the storage root")
        path.mkdir(parents=True, exist_ok=True)
        write_durable(path / ROOT_NAMASTE, f"ocfl_{OCFL_VERSION}\n".encode())
        write_durable(path / "ocfl_layout.json", dump_json({
            "extension": LAYOUT_EXTENSION,
            "description": "Hashed N-tuple storage layout: sha256 of the object id, "
                           "3 tuples of 3 hex characters, then the full digest",
        }))
        ext = path / "extensions" / LAYOUT_EXTENSION
        ext.mkdir(parents=True)
        write_durable(ext / "config.json", dump_json(LAYOUT_CONFIG))
        fsync_dir(ext.parent)
        fsync_dir(path)
        return cls(path)

    def check(self) -> None:
        if not (self.path / ROOT_NAMASTE).is_file():
            raise RepositoryError(f"{self.path}: not an OCFL storage root (no {ROOT_NAMASTE})",
                                  path=str(self.path), hint="check the location's uri in archa.toml")

    def object_path(self, object_id: str) -> Path:
        return self.path / object_relpath(object_id)

    def has_object(self, object_id: str) -> bool:
        return (self.object_path(object_id) / OBJECT_NAMASTE).is_file()

    def read_inventory(self, object_id: str) -> dict[str, Any]:
        """The object's root inventory, checked against its sidecar (RepositoryError when
        they disagree: the inventory or the sidecar was altered)."""
        obj = self.object_path(object_id)
        data = (obj / INVENTORY).read_bytes()
        alg = sidecar_algorithm(obj)
        recorded = (obj / f"{INVENTORY}.{alg}").read_text("utf-8").split()[0]
        if hashlib.new(alg, data).hexdigest() != recorded:
            raise RepositoryError(f"{obj / INVENTORY}: does not match its sidecar {INVENTORY}.{alg}", path=str(obj),
                                  hint=f"audit and repair the AIP: archa fixity audit --aip {object_id} --all")
        inv: dict[str, Any] = json.loads(data)
        return inv

    def add_version(self, staged: Path, object_id: str, version: str, inventory: bytes, alg: str) -> None:
        """Move a fully staged version directory into the stored object (one rename), then
        make its inventory the object's root inventory (see `set_root_inventory`). Refuses a
        version directory that exists. A crash between the two steps leaves the object at
        its previous head with an extra directory, which the journal rolls forward."""
        obj = self.object_path(object_id)
        dest = obj / version
        if dest.exists():
            raise RepositoryError(f"{dest}: version {version} of {object_id} exists already; stored versions "
                                  "are never overwritten", path=str(dest))
        try:
            os.rename(staged, dest)
        except OSError as e:
            raise RepositoryError(f"cannot move {staged} into {obj}: {e}", path=str(dest),
                                  hint="staging and the storage root must be on one file system") from e
        fsync_dir(obj)
        self.set_root_inventory(object_id, inventory, alg)

    def set_root_inventory(self, object_id: str, inventory: bytes, alg: str) -> None:
        """Replace the root inventory and its sidecar, each by an atomic rename (OCFL keeps
        the head version's inventory at the root; it is the only file archa ever replaces,
        and it is byte-identical to the head version's own inventory)."""
        obj = self.object_path(object_id)
        digest = hashlib.new(alg, inventory).hexdigest()
        write_durable(obj / INVENTORY, inventory, read_only=True, overwrite=True)
        write_durable(obj / f"{INVENTORY}.{alg}", f"{digest}  {INVENTORY}\n".encode(), read_only=True,
                      overwrite=True)

    def commit_object(self, staged: Path, object_id: str) -> Path:
        """Move a fully staged object into place with one rename; refuses an existing object.

        Every file and directory of `staged` must already be durable (see
        `VersionBuilder.finish`). The new parent directories are fsynced after the rename.
        """
        dest = self.object_path(object_id)
        if dest.exists():
            raise RepositoryError(f"{dest}: object {object_id} already exists; stored objects "
                                  "are never overwritten", path=str(dest))
        created: list[Path] = []
        p = dest.parent
        while not p.exists():
            created.append(p)
            p = p.parent
        for attempt in range(3):
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(staged, dest)
                break
            except FileNotFoundError:
                if attempt == 2 or not staged.exists():
                    raise
                continue  # its empty parent removed meanwhile by a sweep (`prune_empty_parents`): made again
            except OSError as e:
                raise RepositoryError(f"cannot move {staged} into {self.path}: {e}", path=str(dest),
                                      hint="staging and the storage root must be on one file system") from e
        fsync_dir(dest.parent)
        for d in created:
            fsync_dir(d.parent)
        return dest

    def prune_empty_parents(self, object_id: str) -> None:
        """Remove the directories `commit_object` made for `object_id` that a command killed
        before its rename left empty (OCFL forbids an empty directory in a storage root's
        hierarchy: validators fail the whole root). Only empty ones, from the object's parent
        up; a commit that has just made them again retries its rename."""
        p = self.object_path(object_id).parent
        while p != self.path and self.path in p.parents:
            try:
                p.rmdir()
            except OSError:  # not empty (another object under it), or gone
                return
            p = p.parent


# Characters Windows / SMB shares refuse in a name, and names they reserve
_UNSAFE_CHARS = set('<>:"\\|?*')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
MAX_SEGMENT = 255  # bytes of one name (ext4, XFS, NTFS in UTF-16 units)
MAX_CONTENT = 880  # bytes of a content path: with vN/content/ and the object path, an S3 key stays < 1,024


def safe_content_path(logical: str) -> str:
    """Where an OCFL version keeps the file of `logical` below `vN/content/`: the logical path
    itself when every storage can hold it; otherwise (a name Windows/SMB refuses: `<>:"\\|?*`,
    a trailing dot or space, a reserved name; or bytes past a file system's 255 per name or
    an S3 key's 1,024) `%`-escapes of the offending characters (`%` itself escaped too, so
    two names never meet), and a path still too long becomes `long/<sha256 of the logical
    path><extension>`. The logical path, which the inventory's state keeps, is never changed."""
    segments = []
    changed = False
    for seg in logical.split("/"):
        out = "".join(f"%{ord(c):02X}" if c in _UNSAFE_CHARS or c == "%" else c for c in seg)
        if out.endswith((".", " ")):
            out = out[:-1] + f"%{ord(out[-1]):02X}"
        if out.split(".")[0].lower() in _RESERVED:
            out = f"%{ord(out[0]):02X}{out[1:]}"
        changed |= out != seg
        segments.append(out)
    path = "/".join(segments)
    if len(path.encode("utf-8", "surrogateescape")) > MAX_CONTENT or \
            any(len(x.encode("utf-8", "surrogateescape")) > MAX_SEGMENT for x in segments):
        name = segments[-1]
        ext = name[name.rfind("."):] if "." in name and len(name) - name.rfind(".") <= 10 else ""
        return f"long/{hashlib.sha256(logical.encode('utf-8', 'surrogateescape')).hexdigest()}{ext}"
    return path if changed else logical


class Streamed:
    """A JSON object written as a stream: `items()` yields its (key, value) pairs in key
    order (as `sort_keys` would), each time it is called."""

    def __init__(self, items: Callable[[], Iterator[tuple[str, Any]]]) -> None:
        self.items = items


def write_json(write: Callable[[str], Any], obj: Any, level: int = 0) -> None:
    """Write `obj` through `write` exactly as `dump_json` would (without the final newline);
    `Streamed` objects inside it are written as they are read, so a manifest of millions of
    entries never exists as one string or one dict."""
    if isinstance(obj, dict | Streamed):
        pairs = iter(sorted(obj.items()) if isinstance(obj, dict) else obj.items())
        pad = "\n" + "  " * (level + 1)
        first = True
        for key, value in pairs:
            write(("{" if first else ",") + pad + json.dumps(key, ensure_ascii=False) + ": ")
            write_json(write, value, level + 1)
            first = False
        write("{}" if first else "\n" + "  " * level + "}")
    elif isinstance(obj, list | tuple):
        if not obj:
            write("[]")
            return
        pad = "\n" + "  " * (level + 1)
        for i, value in enumerate(obj):
            write(("[" if i == 0 else ",") + pad)
            write_json(write, value, level + 1)
        write("\n" + "  " * level + "]")
    else:
        write(json.dumps(obj, ensure_ascii=False))


class VersionBuilder:
    """Assembles one version of an OCFL object in a staging directory: v1 of a new object,
    or the next version of a stored one (`previous`: its current inventory).

    Callers write content to `content_file(logical)` and then `add(logical, digest)`; a
    digest the object already holds is deduplicated (the new file is removed). Files a new
    version keeps unchanged are recorded with `keep`. `finish` writes the inventories and
    sidecars and makes everything durable and read-only.

    The manifest and the new version's state live in scratch tables (catalog.scratch.
    VersionTables, in `db`: a scratch database in the work area; in memory when not given),
    so a version of millions of files takes no more memory than one of ten; the inventory
    is written from them as a stream.
    """

    def __init__(self, object_dir: Path, object_id: str, digest_algorithm: str, version: str = "v1",
                 previous: dict[str, Any] | None = None, db: ScratchDb | None = None) -> None:
        self.object_dir = object_dir
        self.object_id = object_id
        self.digest_algorithm = digest_algorithm
        self.version = version
        self.previous_versions: dict[str, Any] = dict(previous["versions"]) if previous is not None else {}
        self.tables = VersionTables(db)
        self.stored_bytes = 0  # set by finish()
        if previous is not None:
            self.tables.add_manifest((d, p) for d, paths in previous["manifest"].items() for p in paths)

    @property
    def content_dir(self) -> Path:
        return self.object_dir / self.version / "content"

    def content_file(self, logical: str) -> Path:
        return self.content_dir / safe_content_path(logical)

    def content_path(self, logical: str) -> str:
        return f"{self.version}/content/{safe_content_path(logical)}"

    def content_place(self, logical: str) -> tuple[Path, str]:
        """(`content_file`, `content_path`) of `logical`, its name escaped once."""
        safe = safe_content_path(logical)
        return self.content_dir / safe, f"{self.version}/content/{safe}"

    def holds(self, digest: str) -> bool:
        """Whether the object (earlier versions or this one so far) holds content with `digest`."""
        return self.tables.holds(digest)

    def add(self, logical: str, digest: str) -> bool:
        """Record `logical` with `digest`; return False (and drop its file) when deduplicated."""
        self.tables.add_state(digest, logical)
        if self.holds(digest):
            os.unlink(self.content_file(logical))
            return False
        self.tables.add_manifest([(digest, self.content_path(logical))])
        return True

    def keep(self, logical: str, digest: str) -> None:
        """Record `logical` as unchanged: its content is stored in an earlier version."""
        if not self.holds(digest):
            raise RepositoryError(f"{self.object_id}: {logical} ({digest}) is not in the object")
        self.tables.add_state(digest, logical)

    def write_bytes(self, logical: str, data: bytes) -> str:
        """Write a small content file (metadata) and add it; returns its digest."""
        path = self.content_file(logical)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digest = hashlib.new(self.digest_algorithm, data).hexdigest()
        self.add(logical, digest)
        return digest

    def content_path_of(self, digest: str) -> str:
        """Where the object keeps the content with `digest` (the first of its paths)."""
        path = self.tables.first_path(digest)
        if path is None:
            raise KeyError(digest)
        return path

    def inventory(self, created: str, message: str, user_name: str, user_address: str) -> Streamed:
        """The inventory of the version (as `dump_json` writes it: `write_json` or
        `inventory_bytes`), its manifest and state read from the builder as it is written."""
        versions = dict(self.previous_versions)
        versions[self.version] = {
            "created": created,
            "message": message,
            "user": {"name": user_name, "address": user_address},
            "state": Streamed(self.tables.state),
        }
        fields: dict[str, Any] = {
            "id": self.object_id,
            "type": INVENTORY_TYPE,
            "digestAlgorithm": self.digest_algorithm,
            "head": self.version,
            "contentDirectory": "content",
            "manifest": Streamed(self.tables.manifest),
            "versions": Streamed(lambda: iter(sorted(versions.items()))),
        }
        return Streamed(lambda: iter(sorted(fields.items())))

    def finish(self, inventory: Streamed, root: bool = True) -> str:
        """Write namaste, inventories and sidecars; prune empty dirs; make all durable.
        With `root` False (a version added to a stored object) only the version's own
        inventory and sidecar are written here: the root ones are replaced on commit.

        Returns the inventory digest; `stored_bytes` is then the size of every file below
        the object directory (what a copy of it holds). Everything below the object directory, the content
        written before included, is made durable by one flush of its file system
        (`sync_filesystem`) at the end, not file by file: the staged object is invisible until
        its rename, so nothing needs to be durable in between.
        """
        (self.object_dir / self.version).mkdir(parents=True, exist_ok=True)
        own = self.object_dir / self.version / INVENTORY
        digest = write_inventory(own, inventory, self.digest_algorithm, durable=False)
        sidecar = f"{digest}  {INVENTORY}\n".encode()
        write_new(self.object_dir / self.version / f"{INVENTORY}.{self.digest_algorithm}", sidecar)
        if root:
            write_new(self.object_dir / OBJECT_NAMASTE, b"ocfl_object_1.1\n")
            write_new(self.object_dir / INVENTORY, own.read_bytes())
            write_new(self.object_dir / f"{INVENTORY}.{self.digest_algorithm}", sidecar)
        # empty content directories pruned (OCFL forbids them; a version that adds no content
        # has no content dir), every file made read-only, the bytes counted: one walk
        self.stored_bytes = seal_tree(self.object_dir, self.content_dir)
        sync_filesystem(self.object_dir)
        return digest


def write_inventory(path: Path, inventory: Streamed, alg: str, durable: bool = True) -> str:
    """Stream `inventory` into the new file `path`, durably unless `durable` is False (the
    caller flushes the file system later); returns its digest."""
    h = hashlib.new(alg)
    with (open_durable(path) if durable else open(path, "xb")) as f:
        pending: list[bytes] = []
        size = 0

        def write(s: str) -> None:
            nonlocal size
            b = s.encode("utf-8")
            pending.append(b)
            size += len(b)
            if size >= 1 << 20:
                flush()

        def flush() -> None:
            nonlocal size
            data = b"".join(pending)
            h.update(data)
            f.write(data)
            pending.clear()
            size = 0

        write_json(write, inventory)
        write("\n")
        flush()
    return h.hexdigest()


def inventory_bytes(inventory: Streamed) -> bytes:
    """The inventory as bytes (for a version whose inventory also replaces the root one)."""
    parts: list[str] = []
    write_json(parts.append, inventory)
    return ("".join(parts) + "\n").encode("utf-8")


# --- what a copy of a version holds -----------------------------------------------------------

def version_files(root: StorageRoot, aip_id: str, version: str) -> list[tuple[str, str]]:
    """(object-relative path, digest) of every file a copy of `version` holds: the version
    directory, the namaste file, and the root inventory and sidecar as of that version
    (the version's own inventory is byte-identical to the root one when it was head)."""
    vinv = (root.object_path(aip_id) / version / INVENTORY).read_bytes()
    inv = json.loads(vinv)
    alg = inv["digestAlgorithm"]
    files = [(p, d) for d, paths in inv["manifest"].items() for p in paths if p.startswith(f"{version}/")]
    del inv
    inv_digest = hashlib.new(alg, vinv).hexdigest()
    files += [(f"{version}/{INVENTORY}", inv_digest), (f"{version}/{INVENTORY}.{alg}", ""),
              (OBJECT_NAMASTE, ""), (INVENTORY, inv_digest), (f"{INVENTORY}.{alg}", "")]
    return sorted(files)


def version_paths(root: StorageRoot, aip_id: str, version: str) -> Iterator[str]:
    """The object-relative paths `version_files` lists, in the same (sorted) order, streamed
    from the object's directories rather than its inventory: a version of a million files
    is never a list."""
    alg = sidecar_algorithm(root.object_path(aip_id) / version)
    yield from (OBJECT_NAMASTE, INVENTORY, f"{INVENTORY}.{alg}")  # each sorts before "v..."
    yield from _sorted_walk(root.object_path(aip_id), version)


def _sorted_walk(base: Path, rel: str) -> Iterator[str]:
    """Files below `base/rel` in the order of their full paths' code points (a folder's
    entries sorted with "/" after each folder name, which makes the depth-first order the
    sorted order)."""
    with os.scandir(base / rel) as it:
        entries = sorted(((e.name + "/" if e.is_dir(follow_symlinks=False) else e.name), e.name)
                         for e in it)
    for key, name in entries:
        if key.endswith("/"):
            yield from _sorted_walk(base, f"{rel}/{name}")
        else:
            yield f"{rel}/{name}"


def source_path(root: StorageRoot, aip_id: str, version: str, rel: str) -> Path:
    """Where the hot object holds `rel` as of `version`: the root inventory and sidecar of
    a version are its own version inventory and sidecar (byte-identical when it was head)."""
    obj = root.object_path(aip_id)
    return obj / version / rel if rel.startswith(INVENTORY) else obj / rel


class HasCatalog(Protocol):
    """What `expected_rows` reads: a repository (archa.repository.repo.Repository, which
    imports this module; named by what it offers, so that this module does not import it)."""

    @property
    def catalog(self) -> Catalog: ...


@dataclass(frozen=True)
class Expected:
    """What a stored file must be: its digest, and its size where the catalog has one."""

    digest: str
    size: int | None  # None: not recorded (inventories)


def expected_files(repo: HasCatalog, aip_id: str, version: str, packed: bool = False) -> tuple[str, dict[str, Expected]]:
    """`expected_rows` as a dict (for the commands that copy or repair one version)."""
    alg, rows = expected_rows(repo, aip_id, version, packed)
    return alg, dict(rows)


def expected_rows(repo: HasCatalog, aip_id: str, version: str, packed: bool = False
                  ) -> tuple[str, Iterator[tuple[str, Expected]]]:
    """(digest algorithm, object-relative path -> Expected) of a copy of `version`. An OCFL
    copy holds the version's whole state (content stored by earlier versions included) and,
    when it is the head, the root inventory; a packed copy holds the version's own files,
    the namaste file and the root inventory as of that version (see copies.version_files)."""
    cat = repo.catalog
    (v,) = [r for r in cat.versions(aip_id) if r["version"] == version]
    alg = v["digest_algorithm"]
    inv = v["inventory_digest"]
    sidecar = f"{inv}  {INVENTORY}\n".encode()
    side = Expected(hashlib.new(alg, sidecar).hexdigest(), len(sidecar))
    namaste = b"ocfl_object_1.1\n"
    extra = {f"{version}/{INVENTORY}": Expected(inv, None), f"{version}/{INVENTORY}.{alg}": side,
             OBJECT_NAMASTE: Expected(hashlib.new(alg, namaste).hexdigest(), len(namaste))}
    if packed or cat.aip(aip_id)["head"] == version:
        extra.update({INVENTORY: Expected(inv, None), f"{INVENTORY}.{alg}": side})

    def rows() -> Iterator[tuple[str, Expected]]:
        for content_path, digest, size in cat.iter_content_digests(aip_id, version):
            if not packed or content_path.startswith(f"{version}/"):
                yield content_path, Expected(digest, size)
        yield from extra.items()

    return alg, rows()
