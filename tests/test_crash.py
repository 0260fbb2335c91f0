"""A crash at any point of ingest leaves either no AIP or a complete one.

Each test runs ingest in a child process that dies (os._exit, like kill -9: no cleanup,
no finally) at one point of the commit order, then checks what the next command sees.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from archa.ingest.ingest import ingest
from archa.repository.repo import Repository
from tests.bagmaker import write_bag

CHILD = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from archa.repository import ocfl, repo as repo_mod
    from archa.ingest import ingest as ingest_mod
    point = sys.argv[3]
    orig_commit = ocfl.StorageRoot.commit_object
    orig_finish = ocfl.VersionBuilder.finish

    def commit(self, staged, object_id):
        if point == "before-rename":
            os._exit(137)
        dest = orig_commit(self, staged, object_id)
        if point == "after-rename":
            os._exit(137)
        return dest

    def finish(self, inventory):
        digest = orig_finish(self, inventory)
        if point == "after-inventory":
            os._exit(137)
        return digest

    ocfl.StorageRoot.commit_object = commit
    ocfl.VersionBuilder.finish = finish
    repo = repo_mod.Repository.open(Path(sys.argv[1]))
    ingest_mod.ingest(repo, Path(sys.argv[2]))
    os._exit(0)
""")


def _crash(repo: Repository, bag: Path, point: str) -> None:
    r = subprocess.run([sys.executable, "-c", CHILD, str(repo.root), str(bag), point],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 137, r.stderr


@pytest.mark.parametrize("point", ["after-inventory", "before-rename"])
def test_crash_before_the_object_is_visible_leaves_nothing(repo: Repository, bags: Path, point: str) -> None:
    bag = write_bag(bags / "b", {"a.txt": b"a" * 1000})
    _crash(repo, bag, point)
    assert any(repo.staging.iterdir())  # the dead process left its work area
    assert not list(repo.hot.path.rglob("0=ocfl_object_1.1"))
    ingest(repo, write_bag(bags / "next", {"n.txt": b"n"}))  # the next command sweeps
    assert list(repo.staging.iterdir()) == []
    assert len(repo.catalog.aips()) == 1
    assert len(list(repo.hot.path.rglob("0=ocfl_object_1.1"))) == 1


def test_crash_after_the_rename_is_rolled_forward(repo: Repository, bags: Path) -> None:
    bag = write_bag(bags / "b", {"a.txt": b"a" * 1000, "b.txt": b"b"})
    _crash(repo, bag, "after-rename")
    (obj,) = [m.parent for m in repo.hot.path.rglob("0=ocfl_object_1.1")]
    assert repo.catalog.aips() == []
    with repo.writing():
        pass
    (aip,) = repo.catalog.aips()
    assert repo.hot.object_path(aip["id"]) == obj
    assert {f["logical_path"] for f in repo.catalog.files(aip["id"], "v1") if f["role"] == "payload"} == \
        {"representations/original/data/a.txt", "representations/original/data/b.txt"}
    assert [e["type"] for e in repo.catalog.events(aip["id"])][-1] == "ingestion"
    assert list(repo.staging.iterdir()) == []
