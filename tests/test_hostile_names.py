"""Names and metadata from real file shares: control characters are refused with a code
(never a traceback, never printed raw); names that are not UTF-8 (CP1250 from an old Czech
Windows share) are bagged as read in Windows-1250 with the original bytes kept in PREMIS."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from archa.cli.main import cli
from archa.errors import SipRejected
from archa.ingest.ingest import ingest
from archa.repository.repo import Repository
from tests.bagmaker import retag, tree_snapshot, write_bag

PREMIS = "{http://www.loc.gov/premis/v3}"


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.output


@pytest.mark.parametrize("name", ["bell\x07.txt", "line\nbreak.txt", "tab\tname.txt", "del\x7f.txt",
                                  "c1\x85.txt"])
def test_control_characters_in_a_folder_are_refused_and_shown_escaped(repo: Repository, tmp_path: Path,
                                                                      name: str) -> None:
    src = tmp_path / "share"
    (src / "spis").mkdir(parents=True)
    (src / "spis" / name).write_bytes(b"x")
    (src / "ok.txt").write_bytes(b"y")
    before = tree_snapshot(src)
    code, out = _run("transfer", "folder", str(src), str(tmp_path / "bag"), "--ingest", "--repo", str(repo.root))
    assert code == 2 and "TRF009" in out and "Traceback" not in out, out
    assert name not in out  # escaped, not raw
    assert "\\x" in out or "\\n" in out or "\\t" in out
    assert not (tmp_path / "bag").exists() and tree_snapshot(src) == before
    code, out = _run("transfer", "folder", str(src), str(tmp_path / "bag"), "--json")
    assert code == 2 and "TRF009" in json.dumps(json.loads(out))


def test_cp1250_names_are_bagged_readable_with_the_original_bytes_kept(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "share"
    raw = "Příloha č. 1 – žádost.txt".encode("cp1250")
    os.makedirs(os.fsencode(src / "Spisy"))
    with open(os.fsencode(src / "Spisy") + b"/" + raw, "wb") as f:
        f.write(b"obsah")
    (src / "Spisy" / "normální.txt").write_bytes(b"jiny")
    code, out = _run("transfer", "folder", str(src), str(tmp_path / "bag"), "--ingest", "--repo", str(repo.root),
                     "--json")
    assert code == 0, out
    result = json.loads(out)
    assert [f["code"] for f in result["transfer"]["findings"]] == ["TRF010"]
    assert (tmp_path / "bag" / "data" / "Spisy" / "Příloha č. 1 – žádost.txt").read_bytes() == b"obsah"
    aip = result["ingest"]["aip_id"]
    rows = {f["logical_path"]: f for f in repo.catalog.files(aip, "v1")}
    row = rows["representations/original/data/Spisy/Příloha č. 1 – žádost.txt"]
    assert row["original_name"] == "data/Spisy/P%F8%EDloha%20%E8.%201%20%96%20%9E%E1dost.txt"
    assert rows["representations/original/data/Spisy/normální.txt"]["original_name"] == "data/Spisy/normální.txt"
    premis = etree.parse(str(repo.hot.object_path(aip) / "v1/content/metadata/preservation/premis.xml"))
    originals = [e.text for e in premis.iter(f"{PREMIS}originalName")]
    assert row["original_name"] in originals
    from urllib.parse import unquote_to_bytes

    assert unquote_to_bytes(row["original_name"].removeprefix("data/Spisy/")) == raw  # the bytes, recoverable
    with open(os.fsencode(src) + b"/undefined-\x81-\x98.txt", "wb") as f:  # not even Windows-1250
        f.write(b"?")
    for extra in ([], ["--json"]):
        code, out = _run("transfer", "folder", str(src), str(tmp_path / "bag2"), *extra)
        assert code == 2 and "TRF009" in out and "not valid UTF-8" in out and "Traceback" not in out, out
    assert _run("fixity", "audit", "--all", "--repo", str(repo.root))[0] == 0


def test_bags_with_control_characters_in_names_or_bag_info_are_rejected(repo: Repository, bags: Path) -> None:
    bag = write_bag(bags / "n", {"a.txt": b"a"})
    (bag / "data" / "bell\x07.txt").write_bytes(b"b")
    with pytest.raises(SipRejected) as e:
        ingest(repo, bag)
    assert "BAG022" in {f.code for f in e.value.findings}
    assert "\x07" not in "\n".join(str(f) for f in e.value.findings)
    info = write_bag(bags / "i", {"a.txt": b"a"})
    (info / "bag-info.txt").write_text("Source-Organization: Obec\x0bBrtnice\nPayload-Oxum: 1.1\n", "utf-8")
    retag(info)
    with pytest.raises(SipRejected) as e:
        ingest(repo, info)
    assert [f.code for f in e.value.findings if f.is_error] == ["BAG023"]
    code, out = _run("ingest", str(info), "--repo", str(repo.root))
    assert code == 2 and "BAG023" in out and "\x0b" not in out and "Traceback" not in out


@pytest.mark.sqlite_only  # overwrites bytes of the catalog file (on a server, the server's own pages)
@pytest.mark.parametrize("damage", ["garbage page", "not a database"])
def test_a_damaged_catalog_gets_one_clear_message_and_rebuild_works(repo: Repository, bags: Path,
                                                                    damage: str) -> None:
    for i in range(3):
        ingest(repo, write_bag(bags / f"b{i}", {f"f{j}.txt": bytes([i, j]) * 1500 for j in range(40)}))
    repo.close()
    cat = repo.root / "catalog.sqlite"
    for side in ("-wal", "-shm"):
        Path(f"{cat}{side}").unlink(missing_ok=True)
    data = bytearray(cat.read_bytes())
    if damage == "garbage page":
        page = 4096
        data[page * 3:page * 9] = os.urandom(page * 6)  # several pages of the tables, overwritten
    else:
        data[:100] = b"\0" * 100
    cat.write_bytes(bytes(data))
    root = str(repo.root)
    told = 0
    for args in (["aip", "list"], ["status"], ["fixity", "audit", "--all"]):
        code, out = _run(*args, "--repo", root)
        if code == 0:  # a damaged page a command did not need to read
            continue
        told += 1
        assert code == 1 and "the catalog is damaged" in out and "catalog rebuild --replace" in out, (args, out)
        assert "Traceback" not in out
    assert told >= 1
    code, out = _run("catalog", "rebuild", "--replace", "--repo", root)
    assert code == 0 and "cannot be read" in out, out
    code, out = _run("aip", "list", "--json", "--repo", root)
    assert code == 0 and len(json.loads(out)) == 3
    assert _run("fixity", "audit", "--all", "--repo", root)[0] == 0


@pytest.mark.parametrize("form", ["zip", "tar.zst"])
def test_an_archive_bomb_is_refused_by_its_ratio(repo: Repository, bags: Path, form: str) -> None:
    """100 MiB of zeros packs into a few hundred KB: over 200:1, refused before or while it
    unpacks; an ordinary compressible bag of the same kind goes in."""
    import tarfile
    import zipfile

    import zstandard

    bag = write_bag(bags / "bomb", {"a.txt": b"a"})
    with open(bag / "data" / "zeros.bin", "wb") as f:
        f.writelines(bytes(1 << 20) for _ in range(100))
    out = bags / f"bomb.{form}"
    if form == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(bag.rglob("*")):
                z.write(p, f"bomb/{p.relative_to(bag)}")
    else:
        with open(out, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as zw, \
                tarfile.open(fileobj=zw, mode="w|") as tf:
            tf.add(bag, "bomb")
    assert out.stat().st_size * 200 < 100 << 20
    with pytest.raises(SipRejected) as e:
        ingest(repo, out)
    assert [f.code for f in e.value.findings] == ["SIP007"]
    assert not list(repo.staging.iterdir()) and repo.catalog.aips() == []
    text = write_bag(bags / "text", {f"t{i}.txt": b"lorem ipsum dolor sit amet " * 4000 for i in range(5)})
    ok = bags / "text.zip"
    with zipfile.ZipFile(ok, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(text.rglob("*")):
            z.write(p, f"text/{p.relative_to(text)}")
    assert ingest(repo, ok).files == 5


SYNC_CHILD = """
import os, sys
from pathlib import Path
from archa.repository import store as store_mod
from archa.repository.placement import sync
from archa.repository.repo import Repository

written = [0]
orig = store_mod._Writer.write

def write(self, b):
    written[0] += len(b)
    if written[0] > int(sys.argv[2]):
        os._exit(137)
    return orig(self, b)

store_mod._Writer.write = write
repo = Repository.open(Path(sys.argv[1]))
with repo.writing():
    sync(repo)
os._exit(0)
"""


@pytest.mark.parametrize("after", [1, 20_000, 200_000])
def test_a_sync_killed_mid_copy_leaves_no_stray_file(repo: Repository, bags: Path, after: int) -> None:
    """kill -9 while a packed copy is being written: the audit counts the leftover (FIX012,
    a warning), the next sync removes it and completes the copy; nothing stray remains."""
    import subprocess
    import sys

    from archa.preservation.fixity import AuditOptions, audit
    from archa.repository.placement import sync

    aip = ingest(repo, write_bag(bags / "a", {f"f{i}.bin": os.urandom(50_000) for i in range(8)})).aip_id
    cold = repo.config.locations[1]
    repo.catalog.conn.execute("DELETE FROM copies WHERE location = 'cold'")
    for key, _s in list(repo.store(cold).list("")):
        if key.endswith((".tar.zst", ".index.json")):
            repo.store(cold).delete(key)
    r = subprocess.run([sys.executable, "-c", SYNC_CHILD, str(repo.root), str(after)], capture_output=True,
                       text=True, check=False, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert r.returncode == 137, r.stderr
    stray = [p for p in (repo.root / "storage").rglob("*") if p.name.endswith(".tmp") or ".tmp-" in p.name]
    assert stray  # the kill left a temporary archive
    with repo.writing():
        summary = audit(repo, AuditOptions(due=False, location="hot"))
        assert summary.failures == []
        sync(repo)
    assert not [p for p in (repo.root / "storage").rglob("*") if p.name.endswith(".tmp") or ".tmp-" in p.name]
    with repo.writing():
        assert audit(repo, AuditOptions(due=False)).failures == []
    assert {c["location"] for c in repo.catalog.copies(aip)} == {"hot", "cold"}


def test_an_audit_counts_and_removes_leftover_temporaries(repo: Repository, bags: Path) -> None:
    from archa.preservation.fixity import AuditOptions, audit
    from archa.repository.ocfl import object_relpath

    aip = ingest(repo, write_bag(bags / "a", {"a.txt": b"a"})).aip_id
    for loc, name in (("hot", "v1/.inventory.json.tmp-4242"), ("cold", ".v1.tar.zst.deadbeef.tmp")):
        path = repo.root / "storage" / loc / object_relpath(aip) / name
        path.write_bytes(b"half")
    with repo.writing():
        summary = audit(repo, AuditOptions(due=False))
    assert summary.failures == []
    assert sorted(f.code for a in summary.audits for f in a.findings) == ["FIX012", "FIX012"]
    assert not [p for p in (repo.root / "storage").rglob("*") if ".tmp" in p.name]
    code, out = _run("fixity", "audit", "--all", "--repo", str(repo.root))
    assert code == 0 and "warning" not in out


def test_a_full_disk_is_the_repositorys_fault_not_the_sips(repo: Repository, bags: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC while the SIP is copied in: a StorageError naming the place and the free space
    (exit 1), no SIP finding, no rejection recorded, nothing left in staging."""
    import errno

    from archa.errors import StorageError
    from archa.repository import copying as copier

    bag = write_bag(bags / "big", {f"f{i}.bin": os.urandom(300_000) for i in range(6)})
    real = copier._write
    budget = [600_000]

    def write(fd: int, data: memoryview) -> int:
        budget[0] -= len(data)
        if budget[0] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(copier, "_write", write)
    with pytest.raises(StorageError) as e:
        ingest(repo, bag)
    assert "No space left on device" in e.value.message and "free there" in e.value.message
    assert "make room" in e.value.hint
    assert repo.catalog.transfers() == [] and not list(repo.staging.iterdir())
    budget[0] = 600_000
    code, out = _run("ingest", str(bag), "--repo", str(repo.root))
    assert code == 1 and "No space left on device" in out and "BAG015" not in out and "Traceback" not in out
    monkeypatch.setattr(copier, "_write", real)
    assert ingest(repo, bag).files == 6


def test_an_exception_after_the_object_is_stored_is_finished_by_the_next_command(
        repo: Repository, bags: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalog write fails (say, its disk is full) after the AIP reached storage: the
    journal stays, reads report the pending AIP, the next writing command records it."""
    from archa.repository.catalog import Catalog

    def fail(*_a: object, **_kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Catalog, "record_aip", fail)
    with pytest.raises(OSError):
        ingest(repo, write_bag(bags / "a", {"a.txt": b"a"}))
    monkeypatch.undo()
    assert repo.catalog.aips() == [] and len(list(repo.staging.iterdir())) == 1
    r = CliRunner().invoke(cli, ["aip", "list", "--repo", str(repo.root)])
    assert "1 AIP version(s) in storage not yet in the catalog" in r.output
    code, out = _run("status", "--repo", str(repo.root))
    assert code == 1 and "not yet in the catalog" in out
    assert _run("storage", "sync", "--repo", str(repo.root))[0] == 0
    (aip,) = repo.catalog.aips()
    assert not list(repo.staging.iterdir())
    from archa.preservation.fixity import AuditOptions, audit

    with repo.writing():
        assert audit(repo, AuditOptions(due=False)).failures == []
    assert {c["location"] for c in repo.catalog.copies(aip["id"])} == {"hot", "cold"}


def test_names_windows_and_s3_refuse_keep_their_logical_path(repo: Repository, bags: Path, s3_env: object,
                                                             tmp_path: Path) -> None:
    """`:`, `?`, `%`, a trailing dot, a reserved name and a path longer than an S3 key allows:
    stored under safe content paths (OCFL keeps the logical path in the state), copied to S3,
    audited clean, exported under the real names."""
    import uuid

    from archa.access.export import ExportOptions, export_dip
    from archa.preservation.fixity import AuditOptions, audit
    from archa.repository.config import Location
    from archa.repository.placement import sync
    from archa.repository.storage import add_location
    from tests.s3server import BUCKET

    deep = "/".join(["ž" * 90] * 6) + "/příloha.pdf"  # 1,000+ bytes of path
    names = {"Zpráva: 50% hotovo?.txt": b"a", "konec.": b"b", "CON.txt": b"c", deep: b"d"}
    bag = write_bag(bags / "w", names)
    aip = ingest(repo, bag).aip_id
    rows = {f["logical_path"]: f for f in repo.catalog.files(aip, "v1") if f["role"] == "payload"}
    for name in names:
        assert f"representations/original/data/{name}" in rows
    paths = [r["content_path"] for r in rows.values()]
    assert all(len(p.encode()) < 900 and not any(c in p for c in '<>:"|?*') for p in paths), paths
    assert any(p.startswith("v1/content/long/") for p in paths)
    add_location(repo, Location("warm", "ocfl", f"s3://{BUCKET}/n-{uuid.uuid4().hex[:8]}", "warm",
                                endpoint=s3_env.endpoint))  # type: ignore[attr-defined]
    with repo.writing():
        assert sync(repo).failed == []
        assert audit(repo, AuditOptions(due=False)).failures == []
    out = tmp_path / "dip"
    export_dip(repo, ExportOptions(aip, out))
    exported = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert any(e.endswith("Zpráva: 50% hotovo?.txt") for e in exported), exported


def test_a_bag_made_in_the_work_area_keeps_every_file_when_names_are_escaped(repo: Repository,
                                                                           tmp_path: Path) -> None:
    """`transfer folder SRC --ingest` moves the bag it made into the AIP: in one rename of its
    data folder when every name is a safe content path, file by file otherwise. `a"b.txt` is
    stored as `a%22b.txt`, which is another file's name in the same folder: neither may
    replace the other (the rename of the first would, were it made in the bag's folder)."""
    from archa.preservation.fixity import AuditOptions, audit
    from archa.repository.ocfl import object_relpath

    for n, names in enumerate(({'a"b.txt': b"quote", "a%22b.txt": b"percent", "spis/ok.txt": b"ok"},
                               {"spis/ok.txt": b"ok", "spis/dalsi/druhy.txt": b"druhy"})):
        src = tmp_path / f"share{n}"
        for name, data in names.items():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes(data)
        code, out = _run("transfer", "folder", str(src), "--ingest", "--repo", str(repo.root), "--json")
        assert code == 0, out
        aip = json.loads(out)["ingest"]["aip_id"]
        obj = repo.root / "storage" / "hot" / object_relpath(aip)
        rows = {f["logical_path"]: f for f in repo.catalog.files(aip, "v1") if f["role"] == "payload"}
        assert set(rows) == {f"representations/original/data/{x}" for x in names}, rows
        for name, data in names.items():
            row = rows[f"representations/original/data/{name}"]
            assert (obj / row["content_path"]).read_bytes() == data, name
        assert not list(obj.glob("v1/content/**/a\"b.txt"))
    with repo.writing():
        assert audit(repo, AuditOptions(due=False)).failures == []
