"""`archa migrate` (#24) attacked as a crash, an insider or a hostile file would: each fault is
made as it happens (kill -9 of a running `python -m archa.cli.main migrate`, Ctrl-C, a file
edited at one storage location, a row changed in the catalog, a file named or made to break
a tool, a tool that hangs, two runs at once), then the next commands an archivist would run
(`archa migrate` again, `fixity audit --all`, `events verify`, `catalog rebuild --check`) must
tell the truth: nothing half-stored, no original lost, exit statuses honest.

The points of a run are reached without hooks in the child: a fake `gs` on PATH that says
when it starts (and sleeps, or hands over to the real one), and the catalog's write lock held
by the test (SQLite's `BEGIN IMMEDIATE`, PostgreSQL's transaction advisory lock) so the child
stops right after its version reached storage, before the catalog records it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner
from lxml import etree
from PIL import Image

from archa.cli.main import cli
from archa.demo import pdf_bytes as plain_pdf
from archa.ingest.ingest import ingest
from archa.repository.repo import Repository
from tests.bagmaker import write_bag
from tests.nsesss_maker import docx_bytes, odt_bytes
from tests.tools import needs

ROOT = Path(__file__).resolve().parent.parent
PREMIS = "{http://www.loc.gov/premis/v3}"
ORIG, PRES = "representations/original/data/", "representations/preservation/data/"
MIGRATIONS = "metadata/preservation/migrations.json"

needs_gs = needs("gs")
needs_lo = needs("soffice")


# --- helpers ------------------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception  # a traceback is a bug, not an exit status
    return r.exit_code, r.output


def start(*args: str, path: Path | None = None) -> subprocess.Popen[str]:
    """`python -m archa.cli.main ARGS` as an archivist starts it (with `path` first on PATH),
    Ctrl-C acting as at a terminal."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if path is not None:
        env["PATH"] = f"{path}:{env['PATH']}"
    # Ctrl-C as at a terminal, however the suite itself was started: a shell starting it in
    # the background (`make test &`) hands down SIGINT ignored, and Python keeps it ignored
    as_at_a_terminal = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                        "runpy.run_module('archa.cli.main', run_name='__main__', alter_sys=True)")
    return subprocess.Popen([sys.executable, "-c", as_at_a_terminal, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def fake_gs(folder: Path, body: str) -> Path:
    """A `gs` on PATH in `folder`: the real one's version, `body` for a conversion."""
    folder.mkdir(parents=True, exist_ok=True)
    gs = folder / "gs"
    gs.write_text(f'#!/bin/sh\ncase "$1" in --help) exec /usr/bin/gs "$@";; esac\n{body}\n')
    gs.chmod(0o755)
    return folder


def wait_for(path: Path, proc: subprocess.Popen[str], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"{what}: the command ended first ({proc.returncode}): {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {seconds} s")
        time.sleep(0.01)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def gone_soon(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)  # do not leave it behind the test
            return False
        time.sleep(0.05)
    return True


def processes_in(folder: Path) -> list[int]:
    """The processes whose working directory is inside `folder` (a tool left running)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cwd = Path(os.readlink(d / "cwd"))
            except OSError:
                continue
            if cwd == folder or folder in cwd.parents:
                found.append(int(d.name))
    return found


def clean(root: Path) -> None:
    """What an archivist checks after a fault: every copy sound, the log whole, storage and
    catalog agreeing."""
    for args in (("fixity", "audit", "--all"), ("events", "verify"), ("catalog", "rebuild", "--check")):
        code, out = run(*args, "--repo", str(root))
        assert code == 0, (args, out)


def stored(repo: Repository, aip: str, version: str, lp: str) -> bytes:
    row = repo.catalog.file(aip, version, lp)
    assert row is not None, lp
    return (repo.hot.object_path(aip) / row["content_path"]).read_bytes()


def migration_events(repo: Repository, aip: str) -> list[tuple[str, str]]:
    """(outcome, the original's path) of the AIP's migration events, in the log's order."""
    return [(e["outcome"], re.split(r" -> |: pathway ", e["detail"])[0])
            for e in repo.catalog.events(aip) if e["type"] == "migration"]


@contextmanager
def catalog_writes_held(repo: Repository) -> Iterator[None]:
    """Hold the catalog's write lock from outside archa, as another writer would: a command
    that reaches its catalog commit waits there."""
    if repo.config.catalog:
        import psycopg

        from archa.repository.catalog.postgres import WRITE_LOCK

        with psycopg.connect(repo.config.catalog, autocommit=True) as conn:
            conn.execute("BEGIN")
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            try:
                yield
            finally:
                conn.execute("ROLLBACK")
        return
    db = sqlite3.connect(repo.root / "catalog.sqlite", isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
        db.execute("ROLLBACK")
    finally:
        db.close()


def insider_sql(repo: Repository, sql: str, params: list[object]) -> None:
    """A statement run on the catalog's database with its own tools (sqlite3, psql), not archa."""
    if repo.config.catalog:
        import psycopg

        with psycopg.connect(repo.config.catalog, autocommit=True) as conn:
            conn.execute(sql.replace("?", "%s"), params)
        return
    with sqlite3.connect(repo.root / "catalog.sqlite") as db:
        db.execute(sql, params)


def hot_file(repo: Repository, aip: str, version: str, lp: str) -> Path:
    row = repo.catalog.file(aip, version, lp)
    assert row is not None, lp
    path = repo.hot.object_path(aip) / row["content_path"]
    path.chmod(0o644)
    return path


# --- 1. crashes -----------------------------------------------------------------------------------


@needs_gs
def test_kill_while_the_tool_runs_stores_nothing_leaves_no_tool_running_and_the_rerun_does_it(
        repo: Repository, tmp_path: Path) -> None:
    """kill -9 while Ghostscript runs: the tool (in a session of its own, where a timeout can
    kill its whole group) used to go on running for as long as it liked after archa was
    gone. Now it dies with archa; the AIP stays at v1 and the next run makes v2."""
    aip = ingest(repo, write_bag(tmp_path / "bag", {"a.pdf": plain_pdf("A"), "b.pdf": plain_pdf("B")})).aip_id
    root = str(repo.root)
    started = tmp_path / "started"
    bin_dir = fake_gs(tmp_path / "bin", f"echo $$ > {started}.tmp; mv {started}.tmp {started}; exec sleep 300")
    proc = start("migrate", aip, "--repo", root, path=bin_dir)
    wait_for(started, proc, "the tool")
    tool = int(started.read_text())
    proc.kill()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert gone_soon(tool), "the tool outlived the archa command that ran it"
    assert not (repo.hot.object_path(aip) / "v2").exists()
    assert any(repo.staging.iterdir())  # the killed run's work area, for the next command to sweep

    code, out = run("migrate", aip, "--repo", root)  # the real Ghostscript now
    assert code == 0, out
    assert f"{aip}: v2 made from v1: 2 preservation copies" in out
    assert list(repo.staging.iterdir()) == []
    assert migration_events(repo, aip) == [("success", ORIG + "a.pdf"), ("success", ORIG + "b.pdf")]
    clean(repo.root)


@needs_lo
def test_kill_while_libreoffice_runs_leaves_none_of_its_processes(repo: Repository, tmp_path: Path) -> None:
    """LibreOffice is two processes (oosplash, which starts soffice.bin): killed with archa,
    neither may go on (soffice.bin, a grandchild, used to go on laying out the document, its
    timeout gone with archa)."""
    aip = ingest(repo, write_bag(tmp_path / "bag", {"bomba.docx": zip_bomb_docx()})).aip_id
    proc = start("migrate", aip, "--repo", str(repo.root))
    deadline = time.monotonic() + 120
    while len(processes_in(repo.staging)) < 2:  # oosplash and soffice.bin
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(1)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while processes_in(repo.staging) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = processes_in(repo.staging)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "LibreOffice outlived the archa command that ran it"
    assert repo.catalog.aip(aip)["head"] == "v1"
    clean(repo.root)


@needs_gs
def test_ctrl_c_while_the_tool_runs_stops_the_tool_too(repo: Repository, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to archa; the tool, in its own session, does not get it from the
    terminal): the tool is stopped with archa, nothing is stored."""
    aip = ingest(repo, write_bag(tmp_path / "bag", {"a.pdf": plain_pdf("A")})).aip_id
    started = tmp_path / "started"
    bin_dir = fake_gs(tmp_path / "bin", f"echo $$ > {started}.tmp; mv {started}.tmp {started}; exec sleep 300")
    proc = start("migrate", aip, "--repo", str(repo.root), path=bin_dir)
    wait_for(started, proc, "the tool")
    tool = int(started.read_text())
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in err, err
    assert gone_soon(tool, 5), "the tool outlived an interrupted archa"
    assert repo.catalog.aip(aip)["head"] == "v1" and not (repo.hot.object_path(aip) / "v2").exists()
    assert list(repo.staging.iterdir()) == []  # the interrupted run cleaned up after itself
    clean(repo.root)


def killed_after_storage(repo: Repository, aip: str) -> None:
    """Start `archa migrate AIP` and kill -9 it right after its v2 was renamed into the hot
    object, before the catalog recorded it (the catalog's write lock held meanwhile)."""
    v2 = repo.hot.object_path(aip) / "v2"
    with catalog_writes_held(repo):
        proc = start("migrate", aip, "--repo", str(repo.root))
        wait_for(v2, proc, "the version in storage")
        time.sleep(1.0)  # past the rename of the root inventory: waiting for the catalog
        assert proc.poll() is None
        proc.kill()
        proc.wait()
    assert json.loads((repo.hot.object_path(aip) / "inventory.json").read_text())["head"] in ("v1", "v2")
    assert repo.catalog.aip(aip)["head"] == "v1"  # the catalog never heard of v2


@needs_gs
@pytest.mark.parametrize("first", ["migrate", "audit"])
def test_kill_after_the_version_reached_storage_is_rolled_forward_and_the_rerun_finishes_its_copies(
        repo: Repository, tmp_path: Path, first: str) -> None:
    """kill -9 right after the new version's directory was renamed into the hot object, before
    the catalog recorded it. The next command rolls the commit forward (the migration events
    recorded once). The re-run of `archa migrate` used to say "nothing to migrate" and exit 0
    while v2 had no cold copy (`fixity audit` exit 1, `catalog rebuild --check` a conflict):
    now it finishes the copies the killed run did not write, as running it again promises.
    Run first, the audit and the rebuild check say what is missing (exit 1), the log is whole."""
    aip = ingest(repo, write_bag(tmp_path / "bag", {"a.pdf": plain_pdf("A"), "b.pdf": plain_pdf("B")})).aip_id
    root = str(repo.root)
    killed_after_storage(repo, aip)
    if first == "audit":
        code, out = run("fixity", "audit", "--all", "--repo", root)
        assert code == 1, out
        assert f"MISSING: {aip} v2 at cold" in out and "fix: archa storage sync" in out
        assert run("events", "verify", "--repo", root)[0] == 0
        code, out = run("catalog", "rebuild", "--check", "--repo", root)
        assert code == 1 and f"AIP {aip} v2" in out, out
        assert repo.catalog.aip(aip)["head"] == "v2"  # rolled forward by the audit, a writer

    code, out = run("migrate", aip, "--repo", root)
    assert code == 0, out
    assert out == f"{aip} v2: nothing to migrate (2 files migrated before by the same pathways); " \
                  "the copies an earlier run left unwritten are written now: cold\n"
    assert repo.catalog.aip(aip)["head"] == "v2"
    assert migration_events(repo, aip) == [("success", ORIG + "a.pdf"), ("success", ORIG + "b.pdf")]
    assert {c["location"] for c in repo.catalog.copies(aip) if c["version"] == "v2"} == {"hot", "cold"}
    assert list(repo.staging.iterdir()) == []
    clean(repo.root)
    code, out = run("migrate", aip, "--repo", root)  # and then there is nothing left to do
    assert (code, out) == (0, f"{aip} v2: nothing to migrate (2 files migrated before by the same pathways)\n")


def test_kill_while_the_cold_copy_is_written_then_the_rerun_finishes_it(repo: Repository, tmp_path: Path) -> None:
    """kill -9 while the new version's cold (packed) copy is written, after the catalog
    recorded v2: a temporary archive is left at cold. The re-run sweeps it and writes the copy."""
    import random

    rnd = random.Random(5)
    big = io.BytesIO()
    Image.frombytes("RGB", (1800, 1800), rnd.randbytes(1800 * 1800 * 3)).save(big, "TIFF")
    aip = ingest(repo, write_bag(tmp_path / "bag", {"sken.tif": big.getvalue()})).aip_id
    root = str(repo.root)
    cold = repo.root / "storage" / "cold"
    before = {p for p in cold.rglob("*")}
    proc = start("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", root)
    deadline = time.monotonic() + 300
    left: list[Path] = []
    while not left:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        left = [p for p in cold.rglob("*") if p not in before and ".tmp" in p.name]
        time.sleep(0.001)
    proc.kill()
    proc.wait()
    assert left[0].exists()
    assert repo.catalog.aip(aip)["head"] == "v2"
    assert {c["location"] for c in repo.catalog.copies(aip) if c["version"] == "v2"} == {"hot"}

    code, out = run("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", root)
    assert code == 0, out
    assert "the copies an earlier run left unwritten are written now: cold" in out
    assert not left[0].exists()
    assert {c["location"] for c in repo.catalog.copies(aip) if c["version"] == "v2"} == {"hot", "cold"}
    clean(repo.root)


def test_a_copy_that_cannot_be_written_is_not_reported_as_success(repo: Repository, tmp_path: Path) -> None:
    """The cold disk is gone (unmounted) while migrate makes v2: the version is in the hot
    copy, but not stored as the placement policy requires. migrate used to print "v2 made" and
    exit 0; now it says the copy failed and exits 1, as `aip update` does."""
    aip = ingest(repo, write_bag(tmp_path / "bag", {"a.tif": tiff(1)})).aip_id
    cold = repo.root / "storage" / "cold"
    cold.rename(repo.root / "storage" / "cold-unmounted")
    try:
        code, out = run("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", str(repo.root))
        assert code == 1, out
        assert f"{aip}: v2 made from v1: 1 preservation copies" in out
        assert "error: copy of v2 to cold failed:" in out and "NOT stored" in out
        r = CliRunner().invoke(cli, ["migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", str(repo.root),
                                     "--json"])
        data = json.loads(r.stdout)  # what the event log could not get is said on stderr, beside it
        assert r.exit_code == 1 and data["ok"] is False and data["copy_failures"][0]["location"] == "cold"
        assert "the event log could not be written to cold (cold: " in r.stderr, r.stderr
    finally:
        (repo.root / "storage" / "cold-unmounted").rename(cold)
    code, out = run("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", str(repo.root))
    assert code == 0 and "left unwritten are written now: cold" in out, out
    clean(repo.root)


# --- 2. an insider at one storage location ---------------------------------------------------------


def tiff(seed: int, size: tuple[int, int] = (32, 24)) -> bytes:
    img = Image.new("RGB", size)
    img.putdata([((x * 7 + seed) % 256, (y * 3) % 256, (x + y + seed) % 256)
                 for y in range(size[1]) for x in range(size[0])])
    buf = io.BytesIO()
    img.save(buf, "TIFF")
    return buf.getvalue()


def migrated(repo: Repository, tmp_path: Path) -> str:
    aip = ingest(repo, write_bag(tmp_path / "bag", {"a.tif": tiff(1), "b.tif": tiff(2)})).aip_id
    code, out = run("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", str(repo.root))
    assert code == 0, out
    return aip


def test_a_record_of_migrations_edited_in_the_hot_copy_is_refused(repo: Repository, tmp_path: Path) -> None:
    """The insider drops b.tif's entry from the hot copy's migrations.json (to have it
    migrated again, or anything else they like): migrate refuses to read it, naming the file
    and the repair; `aip update` refuses to carry it into a new version's PREMIS (it read
    the record unverified and wrote derivations from it); the audit names the file."""
    aip = migrated(repo, tmp_path)
    path = hot_file(repo, aip, "v2", MIGRATIONS)
    good = path.read_bytes()
    record = json.loads(good)
    record["migrations"] = [{**m, "source": ORIG + "a.tif"} if m["source"].endswith("b.tif") else m
                            for m in record["migrations"]]
    path.write_bytes(json.dumps(record).encode())
    root = str(repo.root)
    code, out = run("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", root)
    assert code == 2, out
    assert f"{path}: does not match the catalog" in out and f"archa repair {aip}" in out
    (tmp_path / "note.txt").write_bytes(b"a note")
    code, out = run("aip", "update", aip, "--add", f"{tmp_path / 'note.txt'}=note.txt", "--reason", "a note",
                    "--repo", root)
    assert code == 2, out
    assert "migrations.json: does not match the catalog" in out
    assert repo.catalog.aip(aip)["head"] == "v2"
    code, out = run("fixity", "audit", "--all", "--repo", root)
    assert code == 1 and MIGRATIONS in out, out
    assert run("repair", aip, "--repo", root)[0] == 0
    assert path.read_bytes() == good
    clean(repo.root)


def test_a_record_that_is_not_json_is_a_clear_error_not_a_traceback(repo: Repository, tmp_path: Path) -> None:
    """An insider with both the hot copy and the catalog writes garbage as migrations.json and
    its digest into the catalog: migrate must say what is wrong, not crash with a traceback;
    the cold copy and the stored inventory still tell the truth to the audit and the rebuild."""
    aip = migrated(repo, tmp_path)
    path = hot_file(repo, aip, "v2", MIGRATIONS)
    good = path.read_bytes()
    junk = b'{"migrations": [{"source": '
    path.write_bytes(junk)
    row = repo.catalog.file(aip, "v2", MIGRATIONS)
    assert row is not None
    file_id = repo.catalog.conn.execute("SELECT file_id FROM files WHERE aip_id = ? AND version = 'v2' AND "
                                        "logical_path = ?", [aip, MIGRATIONS]).fetchone()[0]
    insider_sql(repo, "UPDATE file_rows SET digest = ?, size = ? WHERE id = ?",
                [hashlib.sha256(junk).digest(), len(junk), file_id])
    root = str(repo.root)
    code, out = run("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", root)
    assert code == 2, out
    assert f"{path}: not a record of migrations" in out and "Traceback" not in out
    for args in (("fixity", "audit", "--all"), ("catalog", "rebuild", "--check")):
        code, out = run(*args, "--repo", root)
        assert code == 1 and MIGRATIONS in out, (args, out)
    path.write_bytes(good)  # put back for the teardown's validation


def test_an_insider_with_the_hot_copy_and_the_catalog_is_found_by_the_other_location(
        repo: Repository, tmp_path: Path) -> None:
    """The insider rewrites the hot copy's migrations.json (b.tif's entry claims another
    pathway, so b.tif would be migrated again and a.tif's copy said to come from b.tif) and
    puts its digest into the catalog: migrate then believes the record (it matches the
    catalog), but the cold copy and the hot object's own inventory still hold the original;
    `fixity audit`, `catalog rebuild --check` find it, and repair from cold puts it back."""
    aip = migrated(repo, tmp_path)
    path = hot_file(repo, aip, "v2", MIGRATIONS)
    good = path.read_bytes()
    record = json.loads(good)
    record["migrations"] = [m for m in record["migrations"] if not m["source"].endswith("b.tif")]
    forged = json.dumps(record, indent=1, ensure_ascii=False, sort_keys=True).encode() + b"\n"
    path.write_bytes(forged)
    file_id = repo.catalog.conn.execute("SELECT file_id FROM files WHERE aip_id = ? AND version = 'v2' AND "
                                        "logical_path = ?", [aip, MIGRATIONS]).fetchone()[0]
    insider_sql(repo, "UPDATE file_rows SET digest = ?, size = ? WHERE id = ?",
                [hashlib.sha256(forged).digest(), len(forged), file_id])
    root = str(repo.root)
    code, out = run("fixity", "audit", "--all", "--repo", root)
    assert code == 1 and MIGRATIONS in out, out
    code, out = run("catalog", "rebuild", "--check", "--repo", root)
    assert code == 1 and MIGRATIONS in out, out
    assert stored(repo, aip, "v2", MIGRATIONS) == forged  # (what the insider made the catalog vouch for)
    path.write_bytes(good)  # put back for the teardown's validation


def test_a_preservation_copy_deleted_from_the_hot_copy_is_found_and_repaired(repo: Repository,
                                                                             tmp_path: Path) -> None:
    aip = migrated(repo, tmp_path)
    path = hot_file(repo, aip, "v2", PRES + "b.tif.jp2")
    path.unlink()
    root = str(repo.root)
    code, out = run("fixity", "audit", "--all", "--repo", root)
    assert code == 1 and "b.tif.jp2" in out, out
    code, out = run("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", root)
    assert code == 0 and "nothing to migrate" in out, out  # migrated, and the repair brings it back
    assert run("repair", aip, "--repo", root)[0] == 0
    assert path.is_file()
    clean(repo.root)


# --- 3. hostile inputs ----------------------------------------------------------------------------

HOSTILE = ["-dNOSAFER.pdf", "--help.pdf", "$(touch PWNED).pdf", "`touch PWNED2`.pdf", "a; touch PWNED3 #.pdf",
           "Žluťoučký kůň úpěl ďábelské ódy.pdf", "%pipe%touch PWNED4.pdf", "'\".pdf",
           "d" * 240 + ".pdf"]


@needs_gs
def test_hostile_file_names_are_names_never_options_or_commands(repo: Repository, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Each file is migrated under its own name, whole: a name read as an option (`-dNOSAFER`,
    `--help`), a device (`%pipe%...`, which Ghostscript refused to open when given as the
    file's path) or a command a shell would run would have left no output, or another file,
    and failed. Nothing is written where archa runs."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    files = {f"spis/{n}": plain_pdf(f"F{i}") for i, n in enumerate(HOSTILE)}
    aip = ingest(repo, write_bag(tmp_path / "bag", files)).aip_id
    code, out = run("migrate", aip, "--repo", str(repo.root), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert sorted(m["source"] for m in data["migrated"]) == sorted(ORIG + n for n in files)
    v2 = {r["logical_path"]: r for r in repo.catalog.files(aip, "v2")}
    for n, data in files.items():
        assert v2[PRES + n + ".pdf"]["puid"] == "fmt/477", n
        assert v2[ORIG + n]["digest"] == hashlib.sha256(data).hexdigest()
    assert not list(tmp_path.rglob("PWNED*")) and not list(work.iterdir())
    clean(repo.root)


@needs_gs
def test_a_name_as_long_as_a_name_may_be_gets_a_copy_whose_name_is_longer(repo: Repository, tmp_path: Path) -> None:
    """A 254-byte name is a good name; its copy's (+ ".pdf") is longer than a file system's
    name may be: the object keeps it under a safe content path, the logical path is whole."""
    long = "ř" * 125 + ".pdf"  # 254 bytes in UTF-8
    assert len(long.encode()) == 254
    aip = ingest(repo, write_bag(tmp_path / "bag", {long: plain_pdf("L"), "ok.pdf": plain_pdf("O")})).aip_id
    code, out = run("migrate", aip, "--repo", str(repo.root))
    assert code == 0, out
    assert f"{aip}: v2 made from v1: 2 preservation copies" in out
    assert repo.catalog.file(aip, "v2", PRES + long + ".pdf")["puid"] == "fmt/477"  # type: ignore[index]
    assert stored(repo, aip, "v2", PRES + long + ".pdf").startswith(b"%PDF-")
    clean(repo.root)


@needs_gs
def test_a_pdf_that_is_postscript_cannot_make_ghostscript_write_elsewhere(repo: Repository, tmp_path: Path) -> None:
    """A file identified as PDF 1.4 (its header and trailer) whose body is PostScript writing a
    file outside the work folder: Ghostscript (-dSAFER, the PDF interpreter) writes nothing
    there; the file fails to verify and stays the only copy."""
    target = tmp_path / "PWNED-by-postscript"
    poly = (b"%PDF-1.4\n(" + str(target).encode() + b") (w) file dup (owned) writestring closefile\n"
            b"/Helvetica findfont 20 scalefont setfont 72 720 moveto (hi) show showpage\n%%EOF\n")
    aip = ingest(repo, write_bag(tmp_path / "bag", {"poly.pdf": poly, "ok.pdf": plain_pdf("OK")})).aip_id
    assert repo.catalog.file(aip, "v1", ORIG + "poly.pdf")["puid"] == "fmt/18"  # type: ignore[index]
    code, out = run("migrate", aip, "--repo", str(repo.root))
    assert code == 1, out
    assert not target.exists()
    assert f"FAILED {ORIG}poly.pdf (pdfa-2b)" in out
    clean(repo.root)


class _Recorder(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        data = RED_PNG
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


def _png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), colour).save(buf, "PNG")
    return buf.getvalue()


RED_PNG = _png((255, 0, 0))


def odt_linking(hrefs: list[str]) -> bytes:
    """An ODT whose pictures are links (`hrefs`), not embedded."""
    frames = "".join(f'<text:p><draw:frame draw:name="i{i}" text:anchor-type="as-char" svg:width="2cm" '
                     f'svg:height="2cm"><draw:image xlink:href="{h}" xlink:type="simple" xlink:show="embed" '
                     'xlink:actuate="onLoad"/></draw:frame></text:p>' for i, h in enumerate(hrefs))
    return odt_bytes("<text:p>Vyjádření k žádosti</text:p>" + frames,
                     'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
                     'xmlns:xlink="http://www.w3.org/1999/xlink" '
                     'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"')


def docx_linking(href: str) -> bytes:
    """A DOCX whose one picture is an external relationship (TargetMode="External")."""
    base = zipfile.ZipFile(io.BytesIO(docx_bytes("Příloha")))
    parts = {n: base.read(n) for n in base.namelist()}
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    r = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    pic = ('<w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml" style="width:40pt;height:40pt">'
           '<v:imagedata r:id="rIdExt"/></v:shape></w:pict>')
    parts["word/document.xml"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {w} {r}>'
                                  f'<w:body><w:p><w:r><w:t>Příloha</w:t></w:r></w:p><w:p><w:r>{pic}</w:r></w:p>'
                                  '</w:body></w:document>').encode()
    parts["word/_rels/document.xml.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships '
        'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rIdExt" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
        f'Target="{href}" TargetMode="External"/></Relationships>').encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return buf.getvalue()


@needs_lo
def test_office_documents_linking_to_the_machine_or_the_network_carry_nothing_of_them(
        repo: Repository, tmp_path: Path) -> None:
    """An ODT whose pictures link to a file on the archive's own machine and to a web server,
    a DOCX whose picture is an external link: LibreOffice used to fetch both and put them into
    the PDF/A, a preservation copy holding what the record never held (another record's scan
    from the storage next door, a request from the archive's server into the network). The
    links are not followed now: the preservation copies hold no pictures, no request is made."""
    secret = tmp_path / "jiný spis" / "tajné.png"
    secret.parent.mkdir()
    secret.write_bytes(_png((0, 0, 255)))
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.hits = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/obrazek.png"
        aip = ingest(repo, write_bag(tmp_path / "bag", {
            "odkazy.odt": odt_linking([secret.as_uri(), url]), "odkaz.docx": docx_linking(url + "?docx")})).aip_id
        code, out = run("migrate", aip, "--repo", str(repo.root), "--json")
    finally:
        server.shutdown()
    assert code == 0, out
    assert _Recorder.hits == []
    from pypdf import PdfReader

    for name in ("odkazy.odt", "odkaz.docx"):
        pdf = PdfReader(io.BytesIO(stored(repo, aip, "v2", PRES + name + ".pdf")))
        assert [len(p.images) for p in pdf.pages] == [0], name
        assert "Příloha" in pdf.pages[0].extract_text() or "Vyjádření" in pdf.pages[0].extract_text()
    premis = stored(repo, aip, "v2", "metadata/preservation/premis.xml").decode()
    assert "links to content outside the file are not followed" in premis
    clean(repo.root)


def zip_bomb_docx() -> bytes:
    """A DOCX whose document.xml inflates to ~400 MB of paragraphs (deflated ~1000 times)."""
    base = zipfile.ZipFile(io.BytesIO(docx_bytes("x")))
    parts = {n: base.read(n) for n in base.namelist()}
    head = parts["word/document.xml"].split(b"<w:body>")[0] + b"<w:body>"
    para = b"<w:p><w:r><w:t>bomb</w:t></w:r></w:p>" * 1000
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            if n != "word/document.xml":
                z.writestr(n, data)
        with z.open("word/document.xml", "w") as f:
            f.write(head)
            for _ in range(10_000):
                f.write(para)
            f.write(b"</w:body></w:document>")
    return buf.getvalue()


@needs_lo
@needs_gs
def test_a_zip_bomb_docx_and_a_hanging_tool_are_failed_events_and_the_run_goes_on(
        repo_with_policy: Callable[[Path, str], Repository], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With migration.timeout = 3: a DOCX inflating to 400 MB (LibreOffice lays it out for as
    long as it is let) and a Ghostscript that hangs (with a child of its own) are each stopped,
    their whole process group with them, recorded as failed migrations; the run goes on to
    the next file, which is stored."""
    repo = repo_with_policy(tmp_path / "archive", "\n[policy.migration]\ntimeout = 3\n")
    grandchild = tmp_path / "grandchild"
    bin_dir = fake_gs(tmp_path / "bin", 'for a; do last="$a"; done\nif grep -q HANGME "$last"; then sleep 300 & '
                      f'echo $! > {grandchild}; wait; fi\nexec /usr/bin/gs "$@"')
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    bomb = zip_bomb_docx()
    assert len(bomb) < 2 << 20
    aip = ingest(repo, write_bag(tmp_path / "bag", {"bomba.docx": bomb, "visí.pdf": plain_pdf("HANGME"),
                                                   "ok.pdf": plain_pdf("OK")})).aip_id
    t0 = time.monotonic()
    code, out = run("migrate", aip, "--repo", str(repo.root))
    assert time.monotonic() - t0 < 120
    assert code == 1, out
    assert f"FAILED {ORIG}visí.pdf (pdfa-2b): gs did not finish within 3 s and was stopped" in out
    assert f"FAILED {ORIG}bomba.docx (office-pdfa): soffice did not finish within 3 s and was stopped" in out
    assert f"{aip}: v2 made from v1: 1 preservation copies, 2 failed" in out
    assert gone_soon(int(grandchild.read_text()), 5), "the hanging tool's child outlived the timeout"
    assert processes_in(repo.staging) == []
    assert sorted(migration_events(repo, aip)) == [("failure", ORIG + "bomba.docx"), ("failure", ORIG + "visí.pdf"),
                                                   ("success", ORIG + "ok.pdf")]
    premis = etree.fromstring(stored(repo, aip, "v2", "metadata/preservation/premis.xml"))
    failed = [e.findtext(f".//{PREMIS}eventDetail") for e in premis.iter(f"{PREMIS}event")
              if e.findtext(f"{PREMIS}eventType") == "migration" and e.findtext(f".//{PREMIS}eventOutcome") == "failure"]
    assert len(failed) == 2
    clean(repo.root)


def bomb_tiff(width: int, height: int) -> bytes:
    """A grey TIFF that says it is `width` x `height` pixels, in a few hundred bytes."""
    import struct

    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8 + 2 + 12 * 9 + 4), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, width * height)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\0" * 256


def test_a_tiff_of_thirty_thousand_pixels_square_fails_cleanly(repo: Repository, tmp_path: Path) -> None:
    """A decompression bomb (30000 x 30000 pixels said in 400 bytes): a failed migration
    naming it, not gigabytes of memory; the other image is migrated."""
    aip = ingest(repo, write_bag(tmp_path / "bag", {"bomba.tif": bomb_tiff(30000, 30000), "ok.tif": tiff(3)})).aip_id
    assert repo.catalog.file(aip, "v1", ORIG + "bomba.tif")["puid"] in ("fmt/353", "fmt/7", "fmt/8", "fmt/9",  # type: ignore[index]
                                                                         "fmt/10")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, out = run("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", str(repo.root))
    assert code == 1, out
    assert f"FAILED {ORIG}bomba.tif (jp2-lossless): Pillow cannot convert bomba.tif: Image size (900000000 pixels)" \
        in out
    assert f"{aip}: v2 made from v1: 1 preservation copies, 1 failed" in out
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KiB
    clean(repo.root)


def test_a_name_with_a_newline_never_reaches_migrate(repo: Repository, tmp_path: Path) -> None:
    """A bag may percent-encode a newline in a payload name; ingest refuses it, so no tool ever
    sees one."""
    bag = write_bag(tmp_path / "bag", {"řádek\nzlom.pdf": plain_pdf("N")})
    code, out = run("ingest", str(bag), "--repo", str(repo.root))
    assert code == 2 and "U+000A" in out, out
    assert repo.catalog.aips() == []


# --- 4. two runs at once --------------------------------------------------------------------------


@needs_gs
def test_two_migrates_of_one_aip_at_once_make_one_version(repo: Repository, tmp_path: Path) -> None:
    aip = ingest(repo, write_bag(tmp_path / "bag", {"a.pdf": plain_pdf("A"), "b.pdf": plain_pdf("B")})).aip_id
    bin_dir = fake_gs(tmp_path / "bin", 'sleep 1\nexec /usr/bin/gs "$@"')
    procs = [start("migrate", aip, "--repo", str(repo.root), path=bin_dir) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], results
    outs = sorted(out for out, _err in results)
    assert outs[0].startswith(f"{aip} v2: nothing to migrate (2 files migrated before") or \
        outs[1].startswith(f"{aip} v2: nothing to migrate (2 files migrated before"), outs
    assert sum(f"{aip}: v2 made from v1: 2 preservation copies" in o for o in outs) == 1, outs
    assert repo.catalog.aip(aip)["head"] == "v2"
    assert sorted((c["version"], c["location"]) for c in repo.catalog.copies(aip)) == \
        [("v1", "cold"), ("v1", "hot"), ("v2", "cold"), ("v2", "hot")]
    assert migration_events(repo, aip) == [("success", ORIG + "a.pdf"), ("success", ORIG + "b.pdf")]
    assert not (repo.hot.object_path(aip) / "v3").exists()
    clean(repo.root)


@needs_gs
def test_a_run_waiting_for_one_killed_after_its_version_reached_storage_builds_on_that_version(
        repo: Repository, tmp_path: Path) -> None:
    """Run A is killed right after its v2 reached storage, before the catalog recorded it;
    run B, started meanwhile, was waiting for the AIP's lock (its sweep on start left A's
    work area alone: A was alive). Once it has the lock, B must see v2 (roll A's journal
    forward) rather than build a second v2 on v1."""
    aip = ingest(repo, write_bag(tmp_path / "bag", {"a.pdf": plain_pdf("A"), "b.pdf": plain_pdf("B")})).aip_id
    root = str(repo.root)
    with catalog_writes_held(repo):
        first = start("migrate", aip, "--repo", root)
        wait_for(repo.hot.object_path(aip) / "v2", first, "the version in storage")
        time.sleep(1.0)
        second = start("migrate", aip, "--repo", root)
        time.sleep(4.0)  # B started, swept, and waits for the AIP's lock
        assert first.poll() is None and second.poll() is None
        first.kill()
        first.wait()
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, out + err
    assert out == f"{aip} v2: nothing to migrate (2 files migrated before by the same pathways); " \
                  "the copies an earlier run left unwritten are written now: cold\n"
    assert repo.catalog.aip(aip)["head"] == "v2"
    assert migration_events(repo, aip) == [("success", ORIG + "a.pdf"), ("success", ORIG + "b.pdf")]
    assert list(repo.staging.iterdir()) == []
    clean(repo.root)
