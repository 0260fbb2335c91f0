"""A crash at any point of ingest leaves either no AIP or a complete one.

Each test runs ingest in a child process that dies (os._exit, like kill -9: no cleanup,
no finally) at one point of the commit order, then checks what the next command sees.
"""

from __future__ import annotations

import os
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
        if point == "after-mkdir":  # the new object's folders made, the rename not done
            self.object_path(object_id).parent.mkdir(parents=True)
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


@pytest.mark.parametrize("point", ["after-inventory", "before-rename", "after-mkdir"])
def test_crash_before_the_object_is_visible_leaves_nothing(repo: Repository, bags: Path, point: str) -> None:
    """after-mkdir: the object's new folders were left empty in the storage root, which OCFL
    forbids (a drop-folder watcher killed at that instant failed validation of the root)."""
    bag = write_bag(bags / "b", {"a.txt": b"a" * 1000})
    _crash(repo, bag, point)
    assert any(repo.staging.iterdir())  # the dead process left its work area
    assert not list(repo.hot.path.rglob("0=ocfl_object_1.1"))
    ingest(repo, write_bag(bags / "next", {"n.txt": b"n"}))  # the next command sweeps
    assert list(repo.staging.iterdir()) == []
    assert len(repo.catalog.aips()) == 1
    assert len(list(repo.hot.path.rglob("0=ocfl_object_1.1"))) == 1
    empty = [d for d, dirs, files in os.walk(repo.hot.path) if not dirs and not files]
    assert empty == [], empty


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
    assert [e["type"] for e in repo.catalog.events(aip["id"])][-2:] == ["ingestion", "policy assignment"]
    assert repo.catalog.record_index.access_rows([aip["id"]])[aip["id"]].source == "policy"  # its access too
    assert list(repo.staging.iterdir()) == []


EIGHT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from archa.ingest import ingest as ingest_mod
    from archa.repository import catalog, copying as copier, ocfl, store as store_mod, repo as repo_mod
    point = sys.argv[3]
    die = lambda: os._exit(137)
    if point == "copying":
        orig_w, seen = copier._write, [0]
        def w(fd, data):
            seen[0] += len(data)
            if seen[0] > 150_000:
                die()
            return orig_w(fd, data)
        copier._write = w
    if point == "identifying":
        orig_i = ingest_mod.identify_many
        ingest_mod.identify_many = lambda *a, **k: die()
    for name, cls, meth in (("after-inventory", ocfl.VersionBuilder, "finish"),
                            ("before-rename", ocfl.StorageRoot, "commit_object"),
                            ("catalog", catalog.Catalog, "record_aip"),
                            ("after-copy", catalog.Catalog, "record_copy")):
        if point == name:
            setattr(cls, meth, lambda *a, **k: die())
    if point == "packing":
        orig_pw, seen = store_mod._Writer.write, [0]
        def pw(self, b):
            seen[0] += len(b)
            if seen[0] > 20_000:
                die()
            return orig_pw(self, b)
        store_mod._Writer.write = pw
    if point == "after-rename":
        orig_c = ocfl.StorageRoot.commit_object
        def c(self, staged, object_id):
            orig_c(self, staged, object_id)
            die()
        ocfl.StorageRoot.commit_object = c
    repo = repo_mod.Repository.open(Path(sys.argv[1]))
    ingest_mod.ingest(repo, Path(sys.argv[2]))
    os._exit(0)
""")


@pytest.mark.parametrize("point", ["copying", "identifying", "after-inventory", "before-rename", "after-rename",
                                   "catalog", "packing", "after-copy"])
def test_kill_at_eight_points_of_an_ingest_leaves_one_clean_aip(repo: Repository, bags: Path, point: str) -> None:
    """kill -9 anywhere in an ingest, then what an operator does next (ingest the same bag
    again, sync, audit): one AIP, every copy sound, no stray file in staging or storage."""
    import os

    from archa.errors import SipRejected
    from archa.preservation.fixity import AuditOptions, audit
    from archa.repository.placement import sync

    bag = write_bag(bags / "b", {f"f{i}.bin": os.urandom(40_000) for i in range(6)})
    r = subprocess.run([sys.executable, "-c", EIGHT, str(repo.root), str(bag), point], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 137, r.stderr
    try:
        ingest(repo, bag)
    except SipRejected as e:  # the killed ingest had reached storage: the next command finished it
        assert [f.code for f in e.findings] == ["DUP001"], e.findings
    with repo.writing():
        sync(repo)
        assert audit(repo, AuditOptions(due=False)).failures == []
    (aip,) = repo.catalog.aips()
    assert {c["location"] for c in repo.catalog.copies(aip["id"]) if c["state"] == "ok"} == {"hot", "cold"}
    assert repo.catalog.versions(aip["id"])[0]["stored"] == 1
    assert list(repo.staging.iterdir()) == []
    stray = [p for p in (repo.root / "storage").rglob("*") if ".tmp" in p.name]
    assert stray == []
    assert len(list(repo.hot.path.rglob("0=ocfl_object_1.1"))) == 1


REPAIR = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from archa.repository import store as store_mod, repo as repo_mod, catalog
    from archa.preservation.repair import repair
    point = sys.argv[3]
    if point == "mid-write":
        orig, seen = store_mod._Writer.write, [0]
        def w(self, b):
            seen[0] += len(b)
            if seen[0] > 10_000:
                os._exit(137)
            return orig(self, b)
        store_mod._Writer.write = w
    if point == "before-record":
        catalog.Catalog.record_audit = lambda *a, **k: os._exit(137)
    repo = repo_mod.Repository.open(Path(sys.argv[1]))
    with repo.writing():
        repair(repo, sys.argv[2], sys.argv[4])
    os._exit(0)
""")


@pytest.mark.parametrize("location", ["hot", "cold"])
@pytest.mark.parametrize("point", ["mid-write", "before-record"])
def test_kill_during_repair_then_repair_again(repo: Repository, bags: Path, point: str, location: str) -> None:
    """kill -9 while a damaged copy is being rewritten, or before its re-audit is recorded:
    the copy is still marked damaged (nothing claims it sound), running repair again fixes
    it, and nothing stray is left."""
    import os

    from archa.preservation.fixity import AuditOptions, audit
    from archa.preservation.repair import repair
    from archa.repository.ocfl import object_relpath

    aip = ingest(repo, write_bag(bags / "b", {f"f{i}.bin": os.urandom(30_000) for i in range(4)})).aip_id
    obj = repo.root / "storage" / location / object_relpath(aip)
    victim = next(p for p in sorted(obj.rglob("*")) if p.is_file() and (p.suffix in (".bin", ".zst")))
    victim.chmod(0o644)
    victim.write_bytes(victim.read_bytes()[:-10] + b"rotrotrot!")
    with repo.writing():
        assert audit(repo, AuditOptions(due=False, location=location)).failures
    r = subprocess.run([sys.executable, "-c", REPAIR, str(repo.root), aip, point, location], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 137, r.stderr
    repo.close()
    (copy,) = [c for c in repo.catalog.copies(aip) if c["location"] == location]
    assert copy["state"] == "damaged"
    with repo.writing():
        (fixed,) = repair(repo, aip, location)
        assert fixed.repaired, fixed
        assert audit(repo, AuditOptions(due=False)).failures == []
    assert not [p for p in (repo.root / "storage").rglob("*") if ".tmp" in p.name]


SYNC = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from archa.repository import catalog, store as store_mod, repo as repo_mod
    from archa.repository.placement import sync
    point, die = sys.argv[2], lambda: os._exit(137)
    orig_w, orig_put, orig_rec = store_mod._Writer.write, store_mod.Store.put, catalog.Catalog.record_copy
    seen, recorded = [0], [0]
    if point.startswith("bytes-"):
        limit = int(point.split("-")[1])
        def w(self, b):
            seen[0] += len(b)
            if seen[0] > limit:
                die()
            return orig_w(self, b)
        store_mod._Writer.write = w
    def put(self, key, chunks):
        if (point == "before-index" and key.endswith(".index.json")) or \\
                (point == "before-root-inventory" and key.count("/") == 4 and key.endswith("/inventory.json")):
            die()
        return orig_put(self, key, chunks)
    store_mod.Store.put = put
    def rec(self, *a, **k):
        if point == "before-record":
            die()
        orig_rec(self, *a, **k)
        recorded[0] += 1
        if point == "between-locations" and recorded[0] == 1:
            die()
    catalog.Catalog.record_copy = rec
    repo = repo_mod.Repository.open(Path(sys.argv[1]))
    with repo.writing():
        sync(repo)
    os._exit(0)
""")


@pytest.mark.parametrize("point", ["bytes-1", "bytes-30000", "bytes-150000", "before-index", "before-root-inventory",
                                   "before-record", "between-locations", "bytes-400000"])
def test_kill_at_eight_points_of_a_sync_leaves_sound_copies(repo: Repository, bags: Path, tmp_path: Path,
                                                            point: str) -> None:
    """Two locations to fill (packed cold, a second OCFL root): kill -9 at eight points of a
    sync, then sync again: every copy made and sound, no stray file anywhere."""
    import os

    from archa.preservation.fixity import AuditOptions, audit
    from archa.repository.config import Location
    from archa.repository.placement import sync
    from archa.repository.storage import add_location

    aip = ingest(repo, write_bag(bags / "b", {f"f{i}.bin": os.urandom(60_000) for i in range(5)})).aip_id
    repo.catalog.conn.execute("DELETE FROM copies WHERE location = 'cold'")
    for p in list((repo.root / "storage" / "cold").rglob("*")):
        if p.is_file() and p.name != "archa_packed.json":
            p.chmod(0o644)
            p.unlink()
    add_location(repo, Location("second", "ocfl", str(tmp_path / "second"), "warm"))
    r = subprocess.run([sys.executable, "-c", SYNC, str(repo.root), point], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 137, r.stderr
    repo.close()
    with repo.writing():
        result = sync(repo)
        assert result.failed == [], result.failed
        assert audit(repo, AuditOptions(due=False)).failures == []
    assert {c["location"] for c in repo.catalog.copies(aip) if c["state"] == "ok"} == {"hot", "cold", "second"}
    for root in (repo.root / "storage", tmp_path / "second"):
        assert not [p for p in root.rglob("*") if ".tmp" in p.name]
    assert list(repo.staging.iterdir()) == []
