"""Sealing a staged OCFL version (`durable.seal_tree`, called by `VersionBuilder.finish`): in
one walk, empty content directories go (OCFL forbids them), every file becomes read-only,
and the bytes counted are what the catalog records for the copy."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from archa.ingest.ingest import ingest
from archa.lifecycle.versions import UpdateOptions, update_aip
from archa.repository.durable import seal_tree
from archa.repository.ocfl import object_relpath
from archa.repository.repo import Repository
from tests.bagmaker import write_bag


def _files(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def test_seal_tree_prunes_only_below_content(tmp_path: Path) -> None:
    obj = tmp_path / "object"
    content = obj / "v1" / "content"
    (content / "a" / "b" / "empty").mkdir(parents=True)
    (content / "a" / "only-empty" / "deeper").mkdir(parents=True)
    (content / "a" / "b" / "kept.txt").write_bytes(b"12345")
    (obj / "v1" / "inventory.json").write_bytes(b"{}")
    (obj / "extensions" / "empty-but-outside").mkdir(parents=True)
    (obj / "link").symlink_to(content / "a" / "b" / "kept.txt")

    assert seal_tree(obj, content) == 7  # the two regular files; the symlink not counted
    assert _files(obj) == {"v1/content/a/b/kept.txt": 5, "v1/inventory.json": 2, "link": 5}
    assert not (content / "a" / "b" / "empty").exists() and not (content / "a" / "only-empty").exists()
    assert (obj / "extensions" / "empty-but-outside").is_dir()  # not below the pruned folder
    for f in ("v1/content/a/b/kept.txt", "v1/inventory.json"):
        assert stat.S_IMODE(os.stat(obj / f).st_mode) & 0o222 == 0

    bare = tmp_path / "bare"
    (bare / "v2" / "content" / "x").mkdir(parents=True)
    (bare / "v2" / "inventory.json").write_bytes(b"{}")
    assert seal_tree(bare, bare / "v2" / "content") == 2
    assert not (bare / "v2" / "content").exists()  # a version that adds no content has no content dir


def test_copy_bytes_are_the_stored_files(repo: Repository, tmp_path: Path) -> None:
    """The hot copy's bytes in the catalog are the object's files on disk, for an ingest and
    for a new version (whose copy row counts that version's own directory)."""
    bag = write_bag(tmp_path / "bag", {"a.txt": b"alpha\n", "deep/er/b.txt": b"beta" * 100})
    aip = ingest(repo, bag).aip_id
    obj = repo.hot.path / object_relpath(aip)
    v1 = repo.catalog.copy(aip, "v1", repo.hot_location)
    assert v1 is not None and v1["bytes"] == sum(_files(obj).values())

    (tmp_path / "n.txt").write_bytes(b"a note\n")
    update_aip(repo, UpdateOptions(aip, "a note", add=((tmp_path / "n.txt", "note.txt"),)))
    v2 = repo.catalog.copy(aip, "v2", repo.hot_location)
    assert v2 is not None and v2["bytes"] == sum(_files(obj / "v2").values())
