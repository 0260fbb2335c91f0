"""A disposal decision binds content (issue #22, trust against an insider), and `aip update`
does what it says. Each test is scripted as an insider (or an operator after a crash) acts:
the command line, sqlite3 (psql on a catalog on a server) and edits of files in storage - no
internal API sets anything up.

- a record the archive decided on gets no new version (`aip update`, a resubmitted package)
  unless it is withdrawn from the proposal first, which the event log records;
- `disposal transfer` hands over only the version proposed, and records it;
- `disposal destroy` removes nothing of a record that is not, at every location, the version
  the archive decided on; the certificate lists every version with its inventory digest; the
  event that begins a removal is in every location's log before the first tombstone is;
- `aip update` exits 1 when a copy the placement needs was not written, refuses an update
  that changes nothing, and finishes (not repeats) a version a killed run left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from archa.repository.copies import tombstone_prefix
from archa.repository.ocfl import dump_json, object_relpath
from archa.repository.repo import Repository
from tests import nsesss_maker as mk
from tests.bagmaker import tree_snapshot, write_bag
from tests.catalogs import insider_sql
from tests.test_disposal import ORG, _keys, _propose, _run, _take_in, shredded

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # the archa of this tree, in a child process
ARCHA = [sys.executable, "-c", "from archa.cli.main import cli; cli(prog_name='archa')"]


@pytest.fixture
def records(repo: Repository, tmp_path: Path) -> dict[str, str]:
    """Three files of one originator, due in 2021: one the archive keeps, two it destroys."""
    assert _run(repo, "originator", "add", ORG, "--name", "Kraj Vysočina", "--ico", mk.ORG_ICO)[0] == 0
    return {"keep": _take_in(repo, tmp_path, "SIP_A"), "gone": _take_in(repo, tmp_path, "SIP_S", **shredded()),
            "other": _take_in(repo, tmp_path, "SIP_T", **shredded())}


def _decided(repo: Repository, tmp_path: Path) -> str:
    """Proposed and decided by hand: SIP_A kept, the other two destroyed."""
    pid = str(_propose(repo, tmp_path)["proposal"])
    code, out = _run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A")
    assert code == 0, out
    return pid


def _sql(repo: Repository, statement: str, *params: object) -> list[tuple[object, ...]]:
    """What an insider with a sqlite3 shell (psql, on a catalog on a server) does to the catalog."""
    return insider_sql(repo, statement, *params)


def _items(repo: Repository, pid: str) -> dict[str, dict[str, object]]:
    code, out = _run(repo, "disposal", "show", pid, "--json")
    assert code == 0, out
    return {i["aip_id"]: i for i in json.loads(out)["items"]}


def _events(repo: Repository, aip: str) -> list[dict[str, str]]:
    code, out = _run(repo, "events", "list", "--aip", aip, "--json")
    assert code == 0, out
    return list(json.loads(out))


def _storage(repo: Repository) -> dict[str, tuple[str, int, int]]:
    """Every file in storage but the event log (which every writing command extends)."""
    return {k: v for k, v in tree_snapshot(repo.root / "storage").items() if "archa-events" not in k}


# --- no new version of a record the archive decided on ----------------------------------------------

def test_an_update_after_the_decision_is_refused_until_withdrawn(repo: Repository, tmp_path: Path,
                                                                 records: dict[str, str]) -> None:
    pid = _decided(repo, tmp_path)
    gone = records["gone"]
    (tmp_path / "late.txt").write_text("a late addendum\n")
    add = ["--add", f"{tmp_path / 'late.txt'}=late.txt", "--reason", "addendum"]
    before = _storage(repo)
    code, out = _run(repo, "aip", "update", gone, *add)
    assert code == 2, out
    assert f"in the open disposal proposal {pid}" in out and "--withdraw-from-proposal" in out, out
    assert _storage(repo) == before and repo.catalog.aip(gone)["head"] == "v1"

    code, out = _run(repo, "aip", "update", gone, *add, "--withdraw-from-proposal")
    assert code == 0, out
    assert f"taken out of the disposal proposal {pid}" in out and repo.catalog.aip(gone)["head"] == "v2"
    item = _items(repo, pid)[gone]
    assert item["decision"] == "exclude" and item["withdrawn"] and item["version"] == "v1"
    (withdrawal,) = [e for e in _events(repo, gone) if e["detail"].startswith(f"withdrawn from disposal proposal {pid}")]
    assert withdrawal["type"] == "appraisal" and "decided destroy" in withdrawal["detail"], withdrawal
    assert _run(repo, "events", "verify")[0] == 0

    # the destruction goes on without it; the new version is left alone at every location
    code, out = _run(repo, "disposal", "destroy", pid, "--yes", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert [d["aip_id"] for d in result["destroyed"]] == [records["other"]]
    assert any(w["aip_id"] == gone and "withdrawn from this procedure" in w["reason"] for w in result["waiting"])
    assert all(_keys(repo, gone).values()) and repo.catalog.aip(gone)["state"] == "active"

    # a kept record handed over to the archive gets no new version either
    code, out = _run(repo, "disposal", "transfer", pid, str(tmp_path / "predani"), "--assessor", "Jana Nováková")
    assert code == 0, out
    code, out = _run(repo, "aip", "update", records["keep"], *add)
    assert code == 2 and pid in out and "handed over as" in out, out
    assert repo.catalog.aip(records["keep"])["head"] == "v1"


def _changed_package(tmp_path: Path) -> Path:
    """SIP_S sent again by the originator's ERMS, its title corrected: a bag of it."""
    pkg = mk.fresh_package(name="SIP_S", ident="KU-SIP_S", title="Spis SIP_S (opraveno)", closed="2015-06-30",
                           period=5, **shredded())  # type: ignore[arg-type]
    folder = mk.write_package(tmp_path / "src-again", pkg)
    code, out = _run_repo_less("transfer", "nsesss", str(folder), str(tmp_path / "bag-again"))
    assert code == 0, out
    return tmp_path / "bag-again"


def _run_repo_less(*args: str) -> tuple[int, str]:
    r = subprocess.run([*ARCHA, *args], capture_output=True, text=True, check=False, env=ENV)
    return r.returncode, r.stdout + r.stderr


def test_a_resubmission_after_the_decision_is_refused_until_withdrawn(repo: Repository, tmp_path: Path,
                                                                      records: dict[str, str]) -> None:
    pid = _decided(repo, tmp_path)
    gone = records["gone"]
    bag = _changed_package(tmp_path)
    before = _storage(repo)
    code, out = _run(repo, "ingest", str(bag), "--json")
    assert code == 2, out
    (finding,) = [f for f in json.loads(out)["findings"] if f["code"] == "DUP005"]
    assert f"in the open disposal proposal {pid}" in finding["message"] and gone in finding["message"]
    assert _storage(repo) == before and repo.catalog.aip(gone)["head"] == "v1"
    assert [t["status"] for t in repo.catalog.transfers()][-1] == "rejected"

    code, out = _run(repo, "ingest", str(bag), "--withdraw-from-proposal", "--json")
    assert code == 0, out
    (ingested,) = json.loads(out)
    assert (ingested["aip_id"], ingested["version"]) == (gone, "v2")
    assert _items(repo, pid)[gone]["withdrawn"]
    assert any(e["detail"].startswith(f"withdrawn from disposal proposal {pid}") for e in _events(repo, gone))
    assert _run(repo, "events", "verify")[0] == 0


# --- what is handed over and what is removed is what the archive decided on --------------------------

def test_transfer_refuses_a_record_changed_since_it_was_proposed(repo: Repository, tmp_path: Path,
                                                                 records: dict[str, str]) -> None:
    pid = _decided(repo, tmp_path)
    keep = records["keep"]
    # the insider closes the proposal in the catalog, adds a version, and opens it again
    _sql(repo, "UPDATE proposals SET state = 'closed' WHERE id = ?", pid)
    (tmp_path / "x.txt").write_text("not what the archive saw\n")
    code, out = _run(repo, "aip", "update", keep, "--add", f"{tmp_path / 'x.txt'}=x.txt", "--reason", "quietly")
    assert code == 0, out
    _sql(repo, "UPDATE proposals SET state = 'decided' WHERE id = ?", pid)
    code, out = _run(repo, "disposal", "transfer", pid, str(tmp_path / "predani"), "--assessor", "Jana Nováková")
    assert code == 1, out
    assert keep in out and "proposed in" in out and "as v1" in out and "now v2" in out, out
    assert not (tmp_path / "predani").exists()
    assert not _items(repo, pid)[keep]["transferred"]


def test_transfer_records_the_version_it_hands_over(repo: Repository, tmp_path: Path,
                                                    records: dict[str, str]) -> None:
    pid = _decided(repo, tmp_path)
    code, out = _run(repo, "disposal", "transfer", pid, str(tmp_path / "predani"), "--assessor", "Jana Nováková")
    assert code == 0, out
    item = _items(repo, pid)[records["keep"]]
    (v1,) = repo.catalog.versions(records["keep"])
    assert (item["version"], item["inventory_digest"]) == ("v1", v1["inventory_digest"])
    assert (item["transferred_version"], item["transferred_digest"]) == ("v1", v1["inventory_digest"])


def _writable(path: Path) -> None:
    for p in [path, *path.parents][:6]:
        if p.exists():
            p.chmod(p.stat().st_mode | 0o200)


def _forge(repo: Repository, aip: str, how: str) -> None:
    """What an insider with write access to one location does behind archa's back."""
    if how == "cold-new-archive":  # another packed version, copied from v1's
        obj = repo.root / "storage" / "cold" / object_relpath(aip)
        shutil.copy(obj / "v1.tar.zst", obj / "v2.tar.zst")
        index = json.loads((obj / "v1.index.json").read_text())
        (obj / "v2.index.json").write_text(json.dumps({**index, "version": "v2"}))
        return
    obj = repo.root / "storage" / "hot" / object_relpath(aip)
    inv = json.loads((obj / "inventory.json").read_bytes())
    alg = inv["digestAlgorithm"]
    if how == "hot-new-version":  # a valid OCFL version v2 with a file the archive never saw
        content = b"a page added later\n"
        digest = hashlib.new(alg, content).hexdigest()
        (obj / "v2" / "content").mkdir(parents=True)
        (obj / "v2" / "content" / "later.txt").write_bytes(content)
        inv["manifest"][digest] = ["v2/content/later.txt"]
        inv["versions"]["v2"] = {**inv["versions"]["v1"], "message": "later",
                                 "state": {**inv["versions"]["v1"]["state"], digest: ["later.txt"]}}
        inv["head"] = "v2"
    else:  # hot-edited-inventory: the root inventory says something else of v1
        inv["versions"]["v1"]["message"] = "something else"
    data = (json.dumps(inv, indent=2, sort_keys=True) + "\n").encode()
    sidecar = f"{hashlib.new(alg, data).hexdigest()}  inventory.json\n".encode()
    targets = [obj / "inventory.json", obj / f"inventory.json.{alg}"]
    if how == "hot-new-version":
        targets += [obj / "v2" / "inventory.json", obj / "v2" / f"inventory.json.{alg}"]
    for target in targets:
        if target.exists():
            _writable(target)
        target.write_bytes(data if target.name == "inventory.json" else sidecar)


@pytest.mark.parametrize("how", ["hot-new-version", "cold-new-archive", "hot-edited-inventory"])
def test_destroy_stops_a_record_changed_at_one_location(repo: Repository, tmp_path: Path, records: dict[str, str],
                                                        how: str) -> None:
    pid = _decided(repo, tmp_path)
    gone = records["gone"]
    saved = {p: p.read_bytes() for p in (repo.root / "storage" / "hot" / object_relpath(gone)).glob("inventory.json*")}
    _forge(repo, gone, how)
    before = _keys(repo, gone)
    code, out = _run(repo, "disposal", "destroy", pid, "--yes", "--json")
    assert code == 1, out
    result = json.loads(out)
    (changed,) = result["changed"]
    where = "cold" if how.startswith("cold") else "hot"
    assert changed["aip_id"] == gone and changed["problems"][0].startswith(f"{where}: "), changed
    assert ("v2" in changed["problems"][0]) == (how != "hot-edited-inventory")
    assert [d["aip_id"] for d in result["destroyed"]] == [records["other"]]  # the other record goes on
    assert _keys(repo, gone) == before  # nothing of it removed anywhere
    assert repo.catalog.aip(gone)["state"] == "active"
    assert not any((repo.root / "storage" / loc / tombstone_prefix(gone)).exists() for loc in ("hot", "cold"))
    code, out = _run(repo, "disposal", "destroy", pid, "--yes")
    assert code == 1 and f"{gone}  CHANGED since the decision" in out, out
    if how != "cold-new-archive":  # the hot object as it was, for the teardown's OCFL validation
        for p, data in saved.items():
            _writable(p)
            p.write_bytes(data)
        v2 = repo.root / "storage" / "hot" / object_relpath(gone) / "v2"
        if v2.exists():
            for d, _dirs, _files in os.walk(v2):
                os.chmod(d, 0o755)
            shutil.rmtree(v2)


def test_the_certificate_lists_every_version_and_the_log_holds_the_beginning(
        repo: Repository, tmp_path: Path, records: dict[str, str]) -> None:
    gone = records["gone"]
    (tmp_path / "note.txt").write_text("a note\n")
    code, out = _run(repo, "aip", "update", gone, "--add", f"{tmp_path / 'note.txt'}=note.txt", "--reason", "note")
    assert code == 0, out
    pid = _decided(repo, tmp_path)
    assert _items(repo, pid)[gone]["version"] == "v2"
    code, out = _run(repo, "disposal", "destroy", pid, "--yes")
    assert code == 0, out
    versions = repo.catalog.versions(gone)
    assert [v["version"] for v in versions] == ["v1", "v2"]
    for loc in ("hot", "cold"):
        folder = repo.root / "storage" / loc / tombstone_prefix(gone)
        html = (folder / "certificate.html").read_text()
        tomb = json.loads((folder / "tombstone.json").read_bytes())
        for v in versions:
            assert f"<td>{v['version']}</td>" in html and v["inventory_digest"] in html
        assert [(v["version"], v["inventory_digest"]) for v in tomb["versions"]] == \
            [(v["version"], v["inventory_digest"]) for v in versions]
        assert tomb["entities"][0]["version"] == "v2"
        # the event that began the removal names the tombstone, in the log this location holds
        digest = hashlib.sha256((folder / "tombstone.json").read_bytes()).hexdigest()
        logged = [json.loads(line) for seg in sorted((repo.root / "storage" / loc / "extensions/archa-events").glob(
            "0*.jsonl")) for line in seg.read_text().splitlines()]
        (begun,) = [e for e in logged if e.get("aip_id") == gone and e.get("outcome") == "begun"]
        assert begun["type"] == "deletion" and pid in begun["detail"] and digest in begun["detail"]


KILL_AT_TOMBSTONE = textwrap.dedent("""
    import os, sys
    from archa.repository import store as store_mod
    orig = store_mod.Store.put_bytes

    def put_bytes(self, key, data):
        if "archa-tombstones" in key:
            os._exit(137)  # kill -9 as the first tombstone is written
        return orig(self, key, data)

    store_mod.Store.put_bytes = put_bytes
    from archa.cli.main import cli
    cli.main(sys.argv[1:], prog_name="archa")
""")


def test_the_beginning_is_in_every_locations_log_before_any_tombstone(repo: Repository, tmp_path: Path,
                                                                      records: dict[str, str]) -> None:
    pid = _decided(repo, tmp_path)
    r = subprocess.run([sys.executable, "-c", KILL_AT_TOMBSTONE, "disposal", "destroy", pid, "--yes", "--repo",
                        str(repo.root)], capture_output=True, text=True, check=False, env=ENV)
    assert r.returncode == 137, r.stdout + r.stderr
    ((aip, certificate),) = _sql(repo, "SELECT aip_id, certificate FROM tombstones")
    digest = hashlib.sha256(dump_json(json.loads(str(certificate)))).hexdigest()
    for loc in ("hot", "cold"):
        assert not list((repo.root / "storage" / loc).rglob("tombstone.json"))
        logged = [json.loads(line) for seg in (repo.root / "storage" / loc / "extensions/archa-events").glob(
            "0*.jsonl") for line in seg.read_text().splitlines()]
        assert any(e.get("aip_id") == aip and e.get("outcome") == "begun" and digest in e["detail"] for e in logged)
    code, out = _run(repo, "disposal", "destroy", pid, "--yes", "--json")
    assert code == 0, out
    assert {d["aip_id"] for d in json.loads(out)["destroyed"]} == {records["gone"], records["other"]}


# --- aip update: exit status, nothing changed, a rerun after a crash ----------------------------------

FILES = {"letter.txt": b"Dear archivist\n", "notes.txt": b"a draft note\n"}


@pytest.fixture
def aip(repo: Repository, bags: Path) -> str:
    code, out = _run(repo, "ingest", str(write_bag(bags / "b", FILES)), "--json")
    assert code == 0, out
    return str(json.loads(out)[0]["aip_id"])


def _read_only(folder: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run archa with `folder` (the AIP's folder at the cold location) made unwritable: by its
    modes, or as root (who writes through modes) immutable (chattr +i)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        undo = [lambda: folder.chmod(0o755)]
    else:
        made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True, check=False)
        assert made.returncode == 0, f"root needs chattr +i (e2fsprogs, a file system with attributes): {made.stderr}"
        undo = [lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)]
    try:
        return subprocess.run([*ARCHA, *args], capture_output=True, text=True, check=False, env=ENV)
    finally:
        for u in undo:
            u()


def test_an_update_whose_required_copy_fails_exits_1(repo: Repository, aip: str, tmp_path: Path) -> None:
    (tmp_path / "p2.txt").write_text("page two\n")
    run = _read_only(repo.root / "storage" / "cold" / object_relpath(aip),
                     ["aip", "update", aip, "--add", f"{tmp_path / 'p2.txt'}=p2.txt", "--reason", "page two",
                      "--repo", str(repo.root)])
    assert run.returncode == 1, run.stdout + run.stderr
    assert "copy to cold failed" in run.stderr and "NOT stored" in run.stdout, run.stdout + run.stderr
    (v2,) = [v for v in repo.catalog.versions(aip) if v["version"] == "v2"]
    assert not v2["stored"]
    code, out = _run(repo, "storage", "sync")  # the location writable again, sync finishes it
    assert code == 0, out
    assert [v["stored"] for v in repo.catalog.versions(aip)] == [1, 1]


def test_an_update_that_changes_nothing_is_refused(repo: Repository, aip: str, tmp_path: Path) -> None:
    (tmp_path / "letter.txt").write_bytes(FILES["letter.txt"])
    before = tree_snapshot(repo.root / "storage")
    code, out = _run(repo, "aip", "update", aip, "--add", f"{tmp_path / 'letter.txt'}=letter.txt",
                     "--reason", "the same letter")
    assert code == 2 and "nothing changed" in out, out
    assert tree_snapshot(repo.root / "storage") == before and list(repo.staging.iterdir()) == []
    assert repo.catalog.aip(aip)["head"] == "v1"
    # beside a real change, the same file is no change at all
    (tmp_path / "p2.txt").write_text("page two\n")
    code, out = _run(repo, "aip", "update", aip, "--add", f"{tmp_path / 'letter.txt'}=letter.txt",
                     "--add", f"{tmp_path / 'p2.txt'}=p2.txt", "--reason", "page two")
    assert code == 0 and "1 added, 0 replaced, 0 removed" in out, out


KILL_IN_UPDATE = textwrap.dedent("""
    import os, sys
    from archa.repository import catalog, placement
    point = sys.argv[1]
    if point == "before-catalog":  # the version is in storage, the catalog does not know it
        catalog.Catalog.record_version = lambda *a, **k: os._exit(137)
    else:  # between copies: hot written and recorded, cold not yet
        placement.write_copy = lambda *a, **k: os._exit(137)
    from archa.cli.main import cli
    cli.main(sys.argv[2:], prog_name="archa")
""")


@pytest.mark.parametrize("point", ["before-catalog", "between-copies"])
def test_a_rerun_after_a_crash_finishes_the_interrupted_version(repo: Repository, aip: str, tmp_path: Path,
                                                                point: str) -> None:
    (tmp_path / "p2.txt").write_text("page two\n")
    args = ["aip", "update", aip, "--add", f"{tmp_path / 'p2.txt'}=p2.txt", "--remove", "notes.txt",
            "--reason", "page two, note withdrawn"]
    r = subprocess.run([sys.executable, "-c", KILL_IN_UPDATE, point, *args, "--repo", str(repo.root)],
                       capture_output=True, text=True, check=False, env=ENV)
    assert r.returncode == 137, r.stdout + r.stderr
    code, out = _run(repo, *args)  # the operator runs the same command again
    assert code == 0, out
    assert f"{aip} v2 (from v1): an interrupted run finished: 1 added, 0 replaced, 1 removed" in out, out
    assert [v["version"] for v in repo.catalog.versions(aip)] == ["v1", "v2"]
    assert {(c["version"], c["location"]) for c in repo.catalog.copies(aip)} == \
        {("v1", "hot"), ("v1", "cold"), ("v2", "hot"), ("v2", "cold")}
    assert all(v["stored"] for v in repo.catalog.versions(aip))
    assert not (repo.hot.object_path(aip) / "v3").exists()
    code, out = _run(repo, "fixity", "audit", "--all")
    assert code == 0, out
    code, out = _run(repo, *args)  # once finished, the same update is refused: notes.txt is gone already
    assert code == 2 and "notes.txt: not in" in out and repo.catalog.aip(aip)["head"] == "v2", out
