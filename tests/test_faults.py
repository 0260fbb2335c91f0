"""Faults tell the truth (#22): each fault is made as an operator or an insider makes it (the
CLI, a file edited, a row changed with sqlite3, kill -9), then the next command must say what
is wrong, with the right exit status, and leave nothing behind.

- `fixity audit` exits 1 when a copy the placement policy requires is not there at all (no
  copy row), or a version is not stored, not only when a copy is damaged;
- the next writer of any kind sweeps the temporary files a killed command left at the
  locations (a half-written packed archive, an OCFL temporary key), never a running
  command's, never a record that is named like one;
- `catalog rebuild --check` runs SQLite's integrity check and names the damaged catalog;
  a rebuild after the catalog file was deleted beside its write-ahead log is not corrupted by it;
- names that are not UTF-8 are recorded and shown as \\xNN, never a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archa.cli.main import cli
from tests.bagmaker import write_bag

ARCHA = str(Path(sys.executable).parent / "archa")
BAD = b"\xff"  # a byte that is never UTF-8 (and reads as a dot above in Windows-1250)


def archa(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def new_repo(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    r = archa("init", root)
    assert r.exit_code == 0, r.output
    return root


def ingest(root: Path, bag: Path) -> str:
    r = archa("ingest", "--repo", root, "--json", bag)
    assert r.exit_code == 0, r.output
    return str(json.loads(r.output)[0]["aip_id"])


def temporaries(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*") if ".tmp" in p.name)


def assert_no_traceback(r: Result) -> None:
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output


# --- 1. a required copy that is not there at all --------------------------------------------------


def test_audit_exits_1_for_a_required_copy_with_no_copy_row(tmp_path: Path) -> None:
    """An insider deletes the cold copy's row (and the archive): before, `fixity audit --all`
    audited the one copy left, found it sound and exited 0."""
    root = new_repo(tmp_path)
    aip = ingest(root, write_bag(tmp_path / "b", {"a.txt": b"a" * 100}))
    with sqlite3.connect(root / "catalog.sqlite") as db:
        db.execute("DELETE FROM copies WHERE aip_id = ? AND location = 'cold'", [aip])
    for p in (root / "storage" / "cold").rglob("v1.*"):
        p.chmod(0o644)
        p.unlink()

    r = archa("fixity", "audit", "--all", "--repo", root)
    assert r.exit_code == 1, r.output
    assert f"MISSING: {aip} v1 at cold\n  FIX013 " in r.output
    assert "no copy at location 'cold' (packed, tier cold), which the placement policy requires" in r.output
    assert "  fix: archa storage sync\n" in r.output
    assert "1 copies, " in r.output and "0 failed; 1 required copy missing" in r.output

    r = archa("fixity", "audit", "--all", "--json", "--repo", root)
    assert r.exit_code == 1
    d = json.loads(r.output)
    assert d["ok"] is False and d["missing_copies"] == 1
    assert [(s["aip_id"], s["location"], s["code"], s["fix"]) for s in d["shortfalls"] if s["location"]] == \
        [(aip, "cold", "FIX013", "archa storage sync")]

    assert archa("storage", "sync", "--repo", root).exit_code == 0
    r = archa("fixity", "audit", "--all", "--repo", root)
    assert r.exit_code == 0, r.output
    assert "missing" not in r.output


def test_audit_exits_1_for_a_version_not_stored(tmp_path: Path) -> None:
    """The policy is raised to three copies on a hot and a warm tier: every version falls short,
    though every copy that is there is sound."""
    root = new_repo(tmp_path)
    aip = ingest(root, write_bag(tmp_path / "b", {"a.txt": b"a" * 100}))
    with open(root / "archa.toml", "a", encoding="utf-8") as f:
        f.write('\n[policy.placement]\ncopies = 3\ntiers = ["hot", "warm"]\n')

    r = archa("fixity", "audit", "--all", "--repo", root)
    assert r.exit_code == 1, r.output
    assert f"NOT STORED: {aip} v1\n  FIX014 " in r.output
    assert "its verified copies (cold, hot) do not meet the placement policy (3 copies on tiers hot, warm)" in r.output
    assert "fix: add a location that the policy's copies and tiers need (archa storage add)" in r.output
    assert "2 copies, " in r.output and "0 failed; 1 version not stored" in r.output
    d = json.loads(archa("fixity", "audit", "--all", "--json", "--repo", root).output)
    assert (d["ok"], d["failures"], d["not_stored"]) == (False, 0, 1)

    r = archa("storage", "add", "warm", tmp_path / "warm", "--kind", "ocfl", "--tier", "warm", "--repo", root)
    assert r.exit_code == 0, r.output
    assert archa("storage", "sync", "--repo", root).exit_code == 0
    r = archa("fixity", "audit", "--all", "--repo", root)
    assert r.exit_code == 0, r.output


# --- 2. what a killed command leaves at the locations ----------------------------------------------


# archa's own command, killed with SIGKILL just before it links the root inventory sidecar of an
# object into place under the directory argv[1] (the last file of an OCFL copy)
_KILLED_BEFORE_ROOT_SIDECAR = """
import os, re, signal, sys
under = sys.argv.pop(1)
def hook(event, args):
    if event == "os.link" and str(args[1]).startswith(under) and re.search(r"/inventory\\.json\\.sha(256|512)$",
            str(args[1])) and not re.search(r"/v[0-9]+/inventory", str(args[1])):
        os.kill(os.getpid(), signal.SIGKILL)
sys.addaudithook(hook)
from archa.cli.main import main
sys.argv[0] = "archa"
main()
"""


def test_a_copy_killed_before_its_root_sidecar_is_finished_by_the_next_sync(tmp_path: Path) -> None:
    """An independent review's kill point: an OCFL copy killed after its root inventory is in
    place, before its sidecar. The location's inventory names the version, so the next sync
    took the copy as there already, audited it, found the sidecar missing and refused; repair
    had no copy row to mend. Now the next sync sees the half-written copy for what it is
    (the hot copy's own inventory, its sidecar missing) and writes the rest."""
    root = new_repo(tmp_path)
    aip = ingest(root, write_bag(tmp_path / "b", {"a.txt": b"a" * 100, "b.txt": b"b" * 200}))
    warm = (tmp_path / "warm").absolute()
    assert archa("storage", "add", "warm", warm, "--kind", "ocfl", "--tier", "warm", "--repo", root).exit_code == 0
    killed = subprocess.run([sys.executable, "-c", _KILLED_BEFORE_ROOT_SIDECAR, str(warm), "storage", "sync",
                             "--repo", str(root)], capture_output=True, text=True, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    inventories = [p for p in warm.rglob("inventory.json") if p.parent.name != "v1"]
    assert len(inventories) == 1 and not list(inventories[0].parent.glob("inventory.json.sha*"))
    r = archa("fixity", "audit", "--all", "--repo", root)
    assert r.exit_code == 1 and f"MISSING: {aip} v1 at warm" in r.output, r.output  # as the kill left it
    r = archa("storage", "sync", "--repo", root)
    assert r.exit_code == 0, r.output
    assert list(inventories[0].parent.glob("inventory.json.sha*"))
    r = archa("fixity", "audit", "--all", "--repo", root)
    assert r.exit_code == 0, r.output


def _start_ingest(root: Path, bag: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([ARCHA, "ingest", "--repo", str(root), str(bag)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _when_temporary_appears(proc: subprocess.Popen[bytes], where: Path, sig: int,
                            known: tuple[Path, ...] = (), named: str = "") -> Path:
    """Send `sig` to `proc` the moment a temporary file (other than `known`; with `named` in
    its name) appears below `where`. Name one that takes long to write: a small file's
    temporary (the OCFL namaste) may be renamed before the signal lands."""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        stack = [str(where)]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except FileNotFoundError:
                continue
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.name.endswith(".tmp") and named in e.name and Path(e.path) not in known:
                    os.kill(proc.pid, sig)
                    return Path(e.path)
        time.sleep(0.001)
    raise AssertionError(f"no temporary file appeared below {where} (exit {proc.poll()})")


@pytest.mark.parametrize("kind", ["packed", "ocfl"])
def test_kill_after_the_catalog_commit_then_any_writer_sweeps(tmp_path: Path, kind: str) -> None:
    """kill -9 an ingest while it writes the copy at a second location (after its catalog
    commit: the AIP is recorded, the copy is not): a half-written packed archive or OCFL
    temporary key is left there. The next writing command of any kind (here `hold add`, which
    has nothing to do with storage) removes it; the copies then audit as what they are (the
    unwritten one missing), and after a sync, clean."""
    root = new_repo(tmp_path)
    where = root / "storage" / "cold"
    if kind == "ocfl":
        where = tmp_path / "second"
        r = archa("storage", "add", "second", where, "--kind", "ocfl", "--tier", "warm", "--repo", root)
        assert r.exit_code == 0, r.output
    bag = write_bag(tmp_path / "big", {"big.bin": os.urandom(64 << 20), "small.txt": b"s"})
    proc = _start_ingest(root, bag)
    left = _when_temporary_appears(proc, where, signal.SIGKILL, named="big.bin" if kind == "ocfl" else "tar.zst")
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert left.exists()  # the fault is real
    (listed,) = json.loads(archa("aip", "list", "--json", "--repo", root).output)  # committed before the kill
    aip = listed["id"]

    r = archa("hold", "add", aip, "--reason", "court case 12/2026", "--repo", root)
    assert r.exit_code == 0, r.output
    assert temporaries(root, where) == []
    assert list((root / "staging").iterdir()) == []

    r = archa("fixity", "audit", "--all", "--repo", root)
    assert r.exit_code == 1, r.output  # the copy the kill stopped was never made: the audit says so
    assert f"MISSING: {aip} v1 at {where.name}\n  FIX013 " in r.output and "DAMAGED" not in r.output
    assert archa("storage", "sync", "--repo", root).exit_code == 0
    r = archa("fixity", "audit", "--all", "--repo", root)
    assert r.exit_code == 0, r.output
    assert temporaries(root, where) == []


def test_a_killed_commands_temporary_file_is_swept_a_running_ones_never(tmp_path: Path) -> None:
    """Two ingests packing their cold copies: one stopped (kill -STOP: alive, holding its
    locks), one killed (kill -9). The next writer removes the dead one's temporary archive and
    leaves the live one's alone (so did the killed ingest, a writer too); continued, the live
    ingest finishes and every copy is sound."""
    root = new_repo(tmp_path)
    cold = root / "storage" / "cold"
    live = _start_ingest(root, write_bag(tmp_path / "live", {"big.bin": os.urandom(64 << 20)}))
    try:
        live_tmp = _when_temporary_appears(live, cold, signal.SIGSTOP)
        dead = _start_ingest(root, write_bag(tmp_path / "dead", {"big.bin": os.urandom(64 << 20)}))
        dead_tmp = _when_temporary_appears(dead, cold, signal.SIGKILL, known=(live_tmp,))
        dead.wait()
        assert live_tmp.exists() and dead_tmp.exists()
        aips = json.loads(archa("aip", "list", "--json", "--repo", root).output)
        r = archa("hold", "add", aips[0]["id"], "--reason", "inspection", "--repo", root)
        assert r.exit_code == 0, r.output
        assert not dead_tmp.exists()
        assert live_tmp.exists()
    finally:
        os.kill(live.pid, signal.SIGCONT)
    _out, err = live.communicate(timeout=300)
    assert live.returncode == 0, err
    assert temporaries(root) == []
    assert archa("storage", "sync", "--repo", root).exit_code == 0  # the killed ingest's cold copy
    r = archa("fixity", "audit", "--all", "--repo", root)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("4 copies")


def test_a_record_named_like_a_temporary_file_survives_audits(tmp_path: Path) -> None:
    """A payload file `.notes.deadbeef.tmp` has the shape of a temporary name: the audit that
    sweeps temporary files deleted it (the next audit then found the copy damaged)."""
    root = new_repo(tmp_path)
    ingest(root, write_bag(tmp_path / "b", {".notes.deadbeef.tmp": b"a record", "a.txt": b"a"}))
    for _ in range(2):
        r = archa("fixity", "audit", "--all", "--repo", root)
        assert r.exit_code == 0, r.output
        assert "FIX012" not in r.output
    assert archa("hold", "add", json.loads(archa("aip", "list", "--json", "--repo", root).output)[0]["id"],
                 "--reason", "r", "--repo", root).exit_code == 0
    assert len([p for p in root.rglob(".notes.deadbeef.tmp")]) == 1


# --- 3. a damaged catalog -------------------------------------------------------------------------


def test_rebuild_check_runs_the_integrity_check_and_names_the_catalog(tmp_path: Path) -> None:
    """Garbage written over a page of an index b-tree of catalog.sqlite: SQLite's own check
    finds the file malformed; `catalog rebuild --check` compared the catalog all the same and
    passed it (exit 0)."""
    root = new_repo(tmp_path)
    ingest(root, write_bag(tmp_path / "b", {"a.txt": b"a" * 100, "b.txt": b"b"}))
    catalog = root / "catalog.sqlite"
    with sqlite3.connect(catalog) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (page,) = db.execute("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND name = "
                             "'file_rows_path'").fetchone()
        (size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    with open(catalog, "r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xde\xad\xbe\xef" * 64)

    r = archa("catalog", "rebuild", "--check", "--repo", root)
    assert r.exit_code == 1, r.output
    assert f"error: {catalog}: the catalog is damaged (SQLite's integrity check: " in r.output
    assert "catalog.check-" not in r.output
    r = archa("catalog", "rebuild", "--check", "--json", "--repo", root)
    assert r.exit_code == 1
    d = json.loads(r.output)
    assert (d["error"], d["path"]) == ("CatalogDamaged", str(catalog)) and d["problems"]
    assert not list(root.glob("catalog.check-*"))

    assert archa("catalog", "rebuild", "--replace", "--repo", root).exit_code == 0  # what the hint says
    r = archa("catalog", "rebuild", "--check", "--repo", root)
    assert r.exit_code == 0, r.output


def test_rebuild_after_the_catalog_file_was_deleted_beside_its_log(tmp_path: Path) -> None:
    """A command killed before SQLite checkpointed leaves catalog.sqlite-wal full of pages;
    the operator deletes catalog.sqlite alone and rebuilds. The stale log was replayed into
    the rebuilt catalog at its first open: `catalog rebuild` said "Rebuilt" with exit 0 and
    the next command found the catalog damaged. Now the log is moved aside (kept) and said."""
    root = new_repo(tmp_path)
    ids = [ingest(root, write_bag(tmp_path / f"b{i}", {"a.txt": f"{i}".encode() * 100})) for i in range(3)]
    catalog = root / "catalog.sqlite"
    subprocess.run([sys.executable, "-c", (  # writes, then dies without closing: nothing checkpointed
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "db.execute('CREATE TABLE scratch (b BLOB)')\n"
        "for _ in range(50): db.execute('INSERT INTO scratch VALUES (randomblob(3000))')\n"
        "os._exit(0)\n"), str(catalog)], check=True)
    assert Path(f"{catalog}-wal").stat().st_size > 100_000
    catalog.unlink()

    r = subprocess.run([ARCHA, "catalog", "rebuild", "--repo", str(root)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "catalog.sqlite-wal -> catalog.sqlite.orphaned-" in r.stdout
    kept = sorted(p.name for p in root.glob("catalog.sqlite.orphaned-*"))
    assert [n.rsplit("-", 1)[1] for n in kept] == ["shm", "wal"]
    r = subprocess.run([ARCHA, "aip", "list", "--json", "--repo", str(root)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(a["id"] for a in json.loads(r.stdout)) == sorted(ids)
    with sqlite3.connect(catalog) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    audit = subprocess.run([ARCHA, "fixity", "audit", "--all", "--repo", str(root)], capture_output=True, check=False)
    assert audit.returncode == 0, audit.stdout


# --- 4. names that are not UTF-8 ------------------------------------------------------------------


def _bag_with_bad_name(root: Path) -> Path:
    write_bag(root, {"ok.txt": b"ok"})
    with open(os.fsencode(root / "data") + b"/" + BAD + b".txt", "wb") as f:
        f.write(b"bad")
    return root


def _transfer_rows(root: Path) -> list[tuple[str, str, list[dict[str, str]]]]:
    with sqlite3.connect(root / "catalog.sqlite") as db:
        rows = db.execute("SELECT source, status, findings FROM transfers ORDER BY received").fetchall()
    return [(s, st, json.loads(f)) for s, st, f in rows]


def _zip_with_bad_name(src: Path, out: Path) -> Path:
    """A zip of the bag at `src` whose one member name is flagged UTF-8 and is not."""
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(src.rglob("*")):
            if p.is_file():
                zf.writestr(f"{src.name}/{os.fsdecode(p.relative_to(src))}", p.read_bytes())
        zf.writestr(f"{src.name}/data/é.txt", b"bad")  # two bytes in UTF-8, flagged UTF-8
    out.write_bytes(out.read_bytes().replace(f"{src.name}/data/é.txt".encode(),
                                             f"{src.name}/data/".encode() + BAD + b"\xfe.txt"))
    return out


@pytest.mark.parametrize("form", ["directory", "tar", "zip"])
def test_ingest_records_a_bag_holding_a_name_that_is_not_utf8(tmp_path: Path, form: str) -> None:
    """Before: a directory or tar bag crashed with a traceback while its rejection was
    recorded (the rejection never was); a zip flagged UTF-8 was called corrupt."""
    root = new_repo(tmp_path)
    if form == "directory":
        sip = _bag_with_bad_name(tmp_path / "bag")
        code, shown = "BAG022", "data/\\xff.txt"
    elif form == "tar":
        bag = _bag_with_bad_name(tmp_path / "bag")
        sip = tmp_path / "bag.tar"
        with tarfile.open(sip, "w") as tf:
            tf.add(bag, arcname="bag")
        code, shown = "SIP002", "bag.tar!bag/data/\\xff.txt"
    else:
        sip = _zip_with_bad_name(write_bag(tmp_path / "bag", {"ok.txt": b"ok"}), tmp_path / "bag.zip")
        code, shown = "SIP002", "bag.zip!bag/data/\\xff\\xfe.txt"

    r = archa("ingest", "--repo", root, sip)
    assert_no_traceback(r)
    assert r.exit_code == 2, r.output
    assert f": rejected, 1 problem(s) found\n  error: {code} {shown}: " in r.output
    assert "not valid UTF-8" in r.output or "is not" in r.output
    assert "recorded as rejected" in r.output and "hint: " in r.output
    ((source, status, findings),) = _transfer_rows(root)
    assert (source, status) == (str(sip), "rejected")
    assert [f["code"] for f in findings] == [code]
    assert BAD.decode("utf-8", "surrogateescape") in findings[0]["path"]  # the name's bytes are kept

    r = archa("ingest", "--repo", root, "--json", sip)
    assert_no_traceback(r)
    assert r.exit_code == 2
    assert json.loads(r.output)["findings"][0]["code"] == code
    assert not any((root / "storage" / "hot").glob("???/*"))  # nothing stored


def test_transfer_folder_with_a_name_neither_utf8_nor_windows_1250(tmp_path: Path) -> None:
    """0x81 is no character in Windows-1250 either: the name cannot be kept. Before, `transfer
    folder --ingest` crashed recording the rejection."""
    root = new_repo(tmp_path)
    src = tmp_path / "share"
    src.mkdir()
    (src / "ok.txt").write_bytes(b"ok")
    with open(os.fsencode(src) + b"/\x81bad.txt", "wb") as f:
        f.write(b"bad")

    r = archa("transfer", "folder", src, "--ingest", "--repo", root)
    assert_no_traceback(r)
    assert r.exit_code == 2, r.output
    assert "  error: TRF009 \\x81bad.txt: the name is not valid UTF-8; rename it at the source\n" in r.output
    assert "recorded as rejected" in r.output
    assert "hint: rename the files named above at the source" in r.output
    ((source, status, findings),) = _transfer_rows(root)
    assert (source, status, [f["code"] for f in findings]) == (str(src), "rejected", ["TRF009"])

    r = archa("transfer", "folder", src, tmp_path / "out")
    assert_no_traceback(r)
    assert r.exit_code == 2 and "TRF009 \\x81bad.txt" in r.output
    assert not (tmp_path / "out").exists()


def test_drop_folder_files_away_names_that_are_not_utf8(tmp_path: Path) -> None:
    """A bag holding a name that is not UTF-8, and a folder whose own name is not: the watcher
    crashed on the first (every pass again, the transfer stuck in its work area) and on the
    second while bagging it. Now the first is filed under failed/ with its finding, the second
    ingested, each line printable."""
    root = new_repo(tmp_path)
    drop = tmp_path / "drop"
    drop.mkdir()
    _bag_with_bad_name(drop / "bag")
    folder = os.fsencode(drop) + b"/scan" + BAD
    os.mkdir(folder)
    with open(folder + b"/page.txt", "wb") as f:
        f.write(b"page")
    for name in (b"bag", b"scan" + BAD):
        open(os.fsencode(drop) + b"/" + name + b".ready", "wb").close()

    r = archa("ingest", "--watch-dir", drop, "--repo", root)
    assert_no_traceback(r)
    assert r.exit_code == 1, r.output  # a transfer failed
    lines = r.output.splitlines()
    assert lines[0].startswith("bag (bag): FAILED: ") and "BAG022 data/\\xff.txt: the name is not valid UTF-8" in lines[0]
    assert lines[1].startswith("scan\\xff (folder): ingested as urn:uuid:")
    assert lines[2] == "1 ingested, 1 failed, 0 waiting"
    report = json.loads((drop / "failed" / "bag.report.json").read_text("utf-8"))
    assert report["error"]["findings"][0]["code"] == "BAG022"
    assert (drop / "failed" / "bag").is_dir() and os.path.isdir(os.fsencode(drop) + b"/done/scan" + BAD)
    assert [st for _s, st, _f in _transfer_rows(root)] == ["rejected", "accepted"]
    assert not any((drop / ".archa-work").iterdir())
