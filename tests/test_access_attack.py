"""Issue #25's access conditions and search index attacked as an insider (write access to the
catalog alone, or to one storage location) or a crash (kill -9 at any instruction) would.
Each test asserts the SAFE behaviour: a record that is not public never reaches a public
export, whatever was edited behind archa's back; a crash leaves the access row and its event
both or neither; the index never finds what was destroyed and never crashes on a query.

The catalog is edited with sqlite3 / psql (tests/catalogs.py `insider_sql`) and the event
hashes recomputed here as docs/design.md describes them (no archa code), so every test runs
on both backends (--catalog postgresql) unless marked sqlite_only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import uuid
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archa.cli.main import cli
from archa.errors import CatalogBehind
from archa.ingest.ingest import ingest
from archa.repository.repo import Repository
from tests import nsesss_maker as mk
from tests.bagmaker import write_bag
from tests.catalogs import insider_sql, lose_catalog, rebuild_replace
from tests.ndk_maker import PspSpec, make_psp

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
RIGHTS = "not public: personal data"
SECRET = b"RODNE-CISLO-7501011234 "  # what the restricted record's payload holds (searched for in every DIP)
HASHED = ("id", "type", "time", "outcome", "detail", "agent", "aip_id", "version", "location", "transfer_id",
          "prev_hash")
GENESIS = "0" * 64
NEXT_YEAR = (dt.date.today() + dt.timedelta(days=365)).isoformat()


def run(repo: Repository, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])


def bag_aip(repo: Repository, bags: Path, name: str, rights: str | None = None, payload: bytes | None = None,
            ext: str = "") -> str:
    info = {"External-Description": f"Spis {name}", "External-Identifier": ext or f"X-{name}"}
    if rights is not None:
        info["Access-Rights"] = rights
    bag = write_bag(bags / name, {f"{name}.txt": payload or name.encode() * 20}, info=info)
    return ingest(repo, bag).aip_id


def refused_publicly(repo: Repository, aip: str, out: Path, *extra: str) -> str:
    """`dip export AIP OUT --audience public` exits 2, writes nothing and records no
    dissemination; returns stderr."""
    before = [e for e in repo.catalog.events(aip) if e["type"] == "dissemination"]
    r = run(repo, "dip", "export", aip, str(out), "--audience", "public", *extra)
    assert r.exit_code == 2, f"a public export was NOT refused (exit {r.exit_code}):\n{r.output}"
    assert "Traceback" not in r.output
    assert not out.exists(), "the refused export wrote OUT"
    assert not [p for p in out.parent.iterdir() if "archa-partial" in p.name]
    assert [e for e in repo.catalog.events(aip) if e["type"] == "dissemination"] == before
    return r.stderr


def status_of(repo: Repository, aip: str) -> tuple[str, str] | None:
    rows = insider_sql(repo, "SELECT status, source FROM access WHERE aip_id = ?", aip)
    return (rows[0][0], rows[0][1]) if rows else None


def access_events(repo: Repository, aip: str) -> list[str]:
    return [str(r[0]) for r in insider_sql(repo, "SELECT detail FROM events WHERE aip_id = ? AND type = "
                                                 "'policy assignment' AND detail LIKE ? ORDER BY seq", aip, "access %")]


def _hash(row: dict[str, object]) -> str:
    canon = json.dumps({k: row.get(k) for k in HASHED}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def rehash_catalog(repo: Repository) -> None:
    """The insider re-chains the catalog's whole event log after an edit (prev_hash, hash)."""
    cols = ("seq", *HASHED[:-1])
    rows = insider_sql(repo, f"SELECT {', '.join(cols)} FROM events ORDER BY seq")
    prev = GENESIS
    for values in rows:
        row = dict(zip(cols, values, strict=True))
        row["prev_hash"] = prev
        h = _hash(row)
        insider_sql(repo, "UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?", prev, h, row["seq"])
        prev = h


def forge_event(repo: Repository, aip: str, detail: str, agent: str = "user:mallory") -> None:
    """The insider appends a well-chained event at the end of the catalog's log."""
    (last,) = insider_sql(repo, "SELECT hash, version FROM events WHERE aip_id = ? ORDER BY seq DESC LIMIT 1", aip)
    (top,) = insider_sql(repo, "SELECT hash, seq FROM events ORDER BY seq DESC LIMIT 1")
    row: dict[str, object] = {"id": f"urn:uuid:{uuid.uuid4()}", "type": "policy assignment",
                              "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "outcome": "success",
                              "detail": detail, "agent": agent, "aip_id": aip, "version": last[1] or "v1",
                              "location": None, "transfer_id": None, "prev_hash": top[0]}
    row["hash"] = _hash(row)
    row["seq"] = top[1] + 1  # the next number, as archa numbers its rows (on PostgreSQL it does not use the identity)
    names = ["seq", *HASHED, "hash"]
    insider_sql(repo, f"INSERT INTO events ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                *[row[k] for k in names])


def open_row(repo: Repository, aip: str, source: str = "set", reason: str = "released") -> None:
    insider_sql(repo, "UPDATE access SET status = 'public', reason = ?, until = '', source = ? WHERE aip_id = ?",
                reason, source, aip)


# --- 1. the access table, the catalog's log, the anchored logs ---------------------------------------


EDITS = {
    "row opened": lambda repo, aip: open_row(repo, aip, "package", ""),
    "row deleted": lambda repo, aip: insider_sql(repo, "DELETE FROM access WHERE aip_id = ?", aip),
    "row and events deleted": lambda repo, aip: (
        insider_sql(repo, "DELETE FROM access WHERE aip_id = ?", aip),
        insider_sql(repo, "DELETE FROM events WHERE aip_id = ? AND detail LIKE ?", aip, "access %")),
    "row and events deleted, chain re-hashed": lambda repo, aip: (
        insider_sql(repo, "DELETE FROM access WHERE aip_id = ?", aip),
        insider_sql(repo, "DELETE FROM events WHERE aip_id = ? AND detail LIKE ?", aip, "access %"),
        rehash_catalog(repo)),
    "event rewritten to public, row opened, chain re-hashed": lambda repo, aip: (
        insider_sql(repo, "UPDATE events SET detail = 'access public (package)' WHERE aip_id = ? AND "
                          "detail LIKE ?", aip, "access %"),
        open_row(repo, aip, "package", ""), rehash_catalog(repo)),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_restriction_edited_away_in_the_catalog_is_refused(repo: Repository, bags: Path, tmp_path: Path,
                                                             edit: str) -> None:
    aip = bag_aip(repo, bags, "a", RIGHTS)
    assert status_of(repo, aip) == ("restricted", "package")
    EDITS[edit](repo, aip)
    err = refused_publicly(repo, aip, tmp_path / "leak")
    assert "the catalog was changed behind archa's back" in err, err
    shown = json.loads(run(repo, "access", "show", aip, "--json").stdout)  # the screen says what the guard says
    assert "changed behind archa's back" in shown["refused"], shown
    r = run(repo, "events", "verify")
    if edit != "row opened" and edit != "row deleted":  # the access table is derived, not journaled
        assert r.exit_code == 1, r.output
    if "re-hashed" in edit:
        # the catalog's chain no longer is the locations': every writing command refuses, as what it
        # recorded would fork the history the locations keep (and open nothing: see below)
        with pytest.raises(CatalogBehind, match="is not the catalog's"):
            bag_aip(repo, bags, "b", "public")
        assert run(repo, "status").exit_code == 1
        return
    # an export of several for the public leaves it out too
    other = bag_aip(repo, bags, "b", "public")
    r = run(repo, "dip", "export", aip, other, str(tmp_path / "room"), "--audience", "public", "--json")
    assert r.exit_code == 0, r.output
    assert [x["aip_id"] for x in json.loads(r.stdout)["left_out"]] == [aip]
    assert os.listdir(tmp_path / "room") == [other.removeprefix("urn:uuid:")]


@pytest.mark.sqlite_only  # triggers and the file: sqlite3 on catalog.sqlite
def test_a_restriction_edited_away_with_every_trigger_dropped(repo: Repository, bags: Path, tmp_path: Path) -> None:
    import sqlite3

    aip = bag_aip(repo, bags, "a", RIGHTS)
    repo.close()
    db = sqlite3.connect(repo.root / "catalog.sqlite")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    db.execute("UPDATE access SET status = 'public', reason = '', source = 'set' WHERE aip_id = ?", [aip])
    db.execute("UPDATE events SET detail = 'access public (set): released' WHERE aip_id = ? AND "
               "detail LIKE 'access %'", [aip])
    db.commit()
    db.close()
    rehash_catalog(repo)
    refused_publicly(repo, aip, tmp_path / "leak")
    assert run(repo, "events", "verify").exit_code == 1


def test_an_access_event_forged_at_the_end_of_the_catalog_log_is_refused(repo: Repository, bags: Path,
                                                                         tmp_path: Path) -> None:
    """The insider appends `access public (set)` (a well-chained row) and opens the row: the
    catalog agrees with itself, and no location holds the forged event yet. It must not open
    the record: not now, and not after the next honest command anchors the catalog's tail."""
    aip = bag_aip(repo, bags, "a", RIGHTS)
    forge_event(repo, aip, "access public (set): released by decision 2026/99")
    open_row(repo, aip, "set", "released by decision 2026/99")
    refused_publicly(repo, aip, tmp_path / "leak")


# --- 2. an archivist's decision against what a later version states ----------------------------------


def _resubmit_public(repo: Repository, bags: Path, name: str = "a") -> Result:
    """The producer sends the record again (same External-Identifier, a changed payload), its
    bag-info saying public: stored as the AIP's next version."""
    bag = write_bag(bags / f"{name}-again", {f"{name}.txt": b"changed " * 20, "new.txt": b"n"},
                    info={"External-Description": f"Spis {name}", "External-Identifier": f"X-{name}",
                          "Access-Rights": "public"})
    return run(repo, "ingest", str(bag), "--as-new-version")


def test_an_archivists_restriction_outlives_a_new_version_that_says_public(repo: Repository, bags: Path,
                                                                          tmp_path: Path) -> None:
    aip = bag_aip(repo, bags, "a", "public")
    r = run(repo, "access", "set", aip, "--restricted", "--reason", "court order 12 C 34/2026")
    assert r.exit_code == 0, r.output
    r = _resubmit_public(repo, bags)
    assert r.exit_code == 0, r.output
    assert repo.catalog.aip(aip)["head"] == "v2"
    assert status_of(repo, aip) == ("restricted", "set")
    refused_publicly(repo, aip, tmp_path / "leak")


@pytest.mark.parametrize("edit", ["row deleted", "source changed to package"])
def test_an_archivists_restriction_is_not_laundered_by_a_new_version(repo: Repository, bags: Path, tmp_path: Path,
                                                                    edit: str) -> None:
    """The insider deletes the access row (or says its source is the package): refused while
    the catalog disagrees with the log. Then an honest `aip update` (or the producer's package
    again, saying public, as the first one did) makes the next version: the archivist's
    restriction (in every log) must still hold."""
    aip = bag_aip(repo, bags, "a", "public")
    assert run(repo, "access", "set", aip, "--restricted", "--reason", "court order").exit_code == 0
    if edit == "row deleted":
        insider_sql(repo, "DELETE FROM access WHERE aip_id = ?", aip)
    else:
        insider_sql(repo, "UPDATE access SET source = 'package' WHERE aip_id = ?", aip)
    refused_publicly(repo, aip, tmp_path / "leak1")
    (tmp_path / "note.txt").write_text("a note\n")
    r = run(repo, "aip", "update", aip, "--add", f"{tmp_path / 'note.txt'}=note.txt", "--reason", "a note")
    assert r.exit_code == 0, r.output
    refused_publicly(repo, aip, tmp_path / "leak2")
    r = _resubmit_public(repo, bags)
    assert r.exit_code == 0, r.output
    refused_publicly(repo, aip, tmp_path / "leak3")


# --- 3. one storage location edited --------------------------------------------------------------------


def open_hot_bag_info(repo: Repository, aip: str) -> tuple[Path, bytes]:
    """The insider writes `Access-Rights: public` into the hot copy's stored bag-info; returns
    the file and what it held (the teardown validates the object: put it back)."""
    obj = repo.hot.object_path(aip)
    (info,) = [p for p in obj.rglob("bag-info.txt") if "submission" in p.as_posix()]
    os.chmod(info, 0o644)
    original = info.read_bytes()
    info.write_text(info.read_text().replace(f"Access-Rights: {RIGHTS}", "Access-Rights: public"))
    return info, original


def test_bag_info_opened_in_the_hot_copy(repo: Repository, bags: Path, tmp_path: Path) -> None:
    aip = bag_aip(repo, bags, "a", RIGHTS)
    info, original = open_hot_bag_info(repo, aip)
    refused_publicly(repo, aip, tmp_path / "leak")
    r = run(repo, "fixity", "audit", "--json")
    assert r.exit_code == 1, r.output
    assert status_of(repo, aip) == ("restricted", "package")
    info.write_bytes(original)  # the teardown validates the object


def test_bag_info_opened_in_the_hot_copy_of_a_record_from_before_access(repo: Repository, bags: Path,
                                                                        tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A record ingested before access conditions were recorded is judged by what its stored
    version states, read verified: an edit of the hot copy is not believed."""
    from archa.repository.catalog.recordindex import RecordIndex
    from archa.repository.events import ARCHA_AGENT, Event

    with monkeypatch.context() as m:
        m.setattr(RecordIndex, "set_access_row", lambda *a, **k: None)
        m.setattr("archa.ingest.ingest.access_event", lambda state, aip, version, agent, time="": Event(
            "policy assignment", "success", "placement policy applied", ARCHA_AGENT, aip, version))
        aip = bag_aip(repo, bags, "a", RIGHTS)
    assert status_of(repo, aip) is None and access_events(repo, aip) == []
    info, original = open_hot_bag_info(repo, aip)
    refused_publicly(repo, aip, tmp_path / "leak")
    info.write_bytes(original)  # the teardown validates the object


def test_a_location_log_edited_does_not_open_a_record(repo: Repository, bags: Path, tmp_path: Path) -> None:
    """Write access to one location: its log re-written saying public (re-hashed) opens
    nothing (the catalog still says restricted) and `events verify` names that location."""
    from tests.test_insider_log import log_dir, read_log, rehash, write_log

    aip = bag_aip(repo, bags, "a", RIGHTS)
    folder = log_dir(repo, "cold")
    rows = read_log(folder)
    for r in rows:
        if r.get("aip_id") == aip and str(r.get("detail", "")).startswith("access "):
            r["detail"] = "access public (package)"
    write_log(folder, rehash(rows))
    refused_publicly(repo, aip, tmp_path / "leak")
    r = run(repo, "events", "verify")
    assert r.exit_code == 1 and "cold" in r.output, r.output


# --- 4. embargoes; exports of several; IIIF ---------------------------------------------------------


def test_embargo_edited_to_an_earlier_end_in_the_catalog(repo: Repository, bags: Path, tmp_path: Path) -> None:
    aip = bag_aip(repo, bags, "a", "public")
    r = run(repo, "access", "set", aip, "--restricted", "--until", NEXT_YEAR, "--reason", "embargo")
    assert r.exit_code == 0, r.output
    refused_publicly(repo, aip, tmp_path / "leak1")
    insider_sql(repo, "UPDATE access SET until = '2000-01-01' WHERE aip_id = ?", aip)
    refused_publicly(repo, aip, tmp_path / "leak2")


def _every_byte(out: Path) -> bytes:
    """Every byte of every file under `out`, and of every member of every zip in it."""
    data = []
    for p in sorted(out.rglob("*")):
        if p.is_file():
            data.append(p.as_posix().encode())
            raw = p.read_bytes()
            data.append(raw)
            if zipfile.is_zipfile(p):
                with zipfile.ZipFile(p) as z:
                    for n in z.namelist():
                        data += [n.encode(), z.read(n)]
    return b"\n".join(data)


@pytest.mark.parametrize("fmt", ["dir", "zip", "bag", "bag-zip"])
def test_public_export_of_several_holds_nothing_of_the_restricted_one(repo: Repository, bags: Path, tmp_path: Path,
                                                                      fmt: str) -> None:
    a = bag_aip(repo, bags, "a", "public")
    b = bag_aip(repo, bags, "b", RIGHTS, payload=SECRET * 30)
    c = bag_aip(repo, bags, "c", "public")
    out = tmp_path / "room"
    r = run(repo, "dip", "export", a, b, c, str(out), "--format", fmt, "--audience", "public", "--json")
    assert r.exit_code == 0, r.output
    everything = _every_byte(out)
    for needle in (SECRET, b.removeprefix("urn:uuid:").encode(), b"X-b", b"Spis b", RIGHTS.encode()):
        assert needle not in everything, needle
    kinds = {x: [e["type"] for e in repo.catalog.events(x)] for x in (a, b, c)}
    assert "dissemination" not in kinds[b] and "dissemination" in kinds[a] and "dissemination" in kinds[c]


def _volume(repo: Repository, tmp_path: Path) -> str:
    psp = make_psp(tmp_path / "psp", PspSpec(pages=2))
    r = run(repo, "transfer", "ndk", str(psp), str(tmp_path / "bag"), "--ingest", "--json")
    assert r.exit_code == 0, r.output
    return str(json.loads(r.stdout)["ingest"]["aip_id"])


def test_iiif_export_of_a_restricted_volume_is_refused(repo: Repository, tmp_path: Path) -> None:
    vol = _volume(repo, tmp_path)
    assert run(repo, "access", "set", vol, "--restricted", "--reason", "copyright").exit_code == 0
    refused_publicly(repo, vol, tmp_path / "iiif", "--format", "iiif")
    # opened behind archa's back: still refused
    open_row(repo, vol)
    refused_publicly(repo, vol, tmp_path / "iiif2", "--format", "iiif")
    r = run(repo, "dip", "export", vol, str(tmp_path / "iiif3"), "--format", "iiif", "--audience", "public",
            "--json")
    assert r.exit_code == 2 and not (tmp_path / "iiif3").exists(), r.output


# --- 5. crashes ------------------------------------------------------------------------------------------


SET_CHILD = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from archa.repository.catalog import log as log_mod
    from archa.repository import eventlog
    from archa.repository.repo import Repository
    from archa.lifecycle.access import set_access
    point = sys.argv[3]
    real_append, real_anchor = log_mod.append_events, eventlog.anchor

    def append(conn, events, *key):
        real_append(conn, events, *key)
        if point == "after-event-before-commit":
            os._exit(137)

    def anchor(repo):
        if point == "after-commit-before-anchor":
            os._exit(137)
        return real_anchor(repo)

    log_mod.append_events = append
    eventlog.anchor = anchor
    repo = Repository.open(Path(sys.argv[1]))
    set_access(repo, sys.argv[2], True, "released by decision 2026/14")
    os._exit(0)
""")


@pytest.mark.parametrize("point", ["after-event-before-commit", "after-commit-before-anchor"])
def test_a_crash_during_access_set_leaves_row_and_event_both_or_neither(repo: Repository, bags: Path,
                                                                        tmp_path: Path, point: str) -> None:
    aip = bag_aip(repo, bags, "a", RIGHTS)
    repo.close()
    r = subprocess.run([sys.executable, "-c", SET_CHILD, str(repo.root), aip, point], capture_output=True,
                       text=True, env=ENV, check=False, timeout=300)
    assert r.returncode == 137, r.stderr
    events = access_events(repo, aip)
    row = status_of(repo, aip)
    if point == "after-event-before-commit":
        assert (row, len(events)) == (("restricted", "package"), 1), (row, events)
        refused_publicly(repo, aip, tmp_path / "out")
    else:
        assert (row, len(events)) == (("public", "set"), 2), (row, events)
        # not anchored yet: refused, saying so, until a command anchors the log
        r2 = run(repo, "dip", "export", aip, str(tmp_path / "out"), "--audience", "public")
        assert r2.exit_code == 2 and "which no storage location holds" in r2.output, r2.output
        assert run(repo, "storage", "sync").exit_code == 0
        r2 = run(repo, "dip", "export", aip, str(tmp_path / "out"), "--audience", "public")
        assert r2.exit_code == 0, r2.output
    assert run(repo, "events", "verify").exit_code == 0


INGEST_CHILD = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from archa.repository import ocfl, repo as repo_mod
    from archa.ingest import ingest as ingest_mod
    orig_commit = ocfl.StorageRoot.commit_object

    def commit(self, staged, object_id):
        orig_commit(self, staged, object_id)
        os._exit(137)

    ocfl.StorageRoot.commit_object = commit
    repo = repo_mod.Repository.open(Path(sys.argv[1]))
    ingest_mod.ingest(repo, Path(sys.argv[2]))
    os._exit(0)
""")


def test_a_crash_after_the_object_reached_storage_records_access(repo: Repository, bags: Path,
                                                                 tmp_path: Path) -> None:
    bag = write_bag(bags / "a", {"a.txt": SECRET}, info={"External-Identifier": "X-a", "Access-Rights": RIGHTS})
    repo.close()
    r = subprocess.run([sys.executable, "-c", INGEST_CHILD, str(repo.root), str(bag)], capture_output=True,
                       text=True, env=ENV, check=False, timeout=300)
    assert r.returncode == 137, r.stderr
    again = Repository.open(repo.root)
    try:
        with again.writing():
            pass  # the journal rolls the ingest forward
        (aip,) = [a["id"] for a in again.catalog.aips()]
    finally:
        again.close()
    assert status_of(repo, aip) == ("restricted", "package")
    assert access_events(repo, aip) == [f"access restricted (package): {RIGHTS}"]
    refused_publicly(repo, aip, tmp_path / "leak")
    assert run(repo, "events", "verify").exit_code == 0


# --- 6. rebuilds ------------------------------------------------------------------------------------------


def test_a_rebuild_keeps_what_archa_set_and_undoes_what_the_insider_did(repo: Repository, bags: Path,
                                                                        tmp_path: Path) -> None:
    opened = bag_aip(repo, bags, "a", RIGHTS)
    shut = bag_aip(repo, bags, "b", RIGHTS)
    assert run(repo, "access", "set", opened, "--public", "--reason", "decision 2026/14").exit_code == 0
    open_row(repo, shut)
    r = run(repo, "catalog", "rebuild", "--check")
    assert r.exit_code == 1 and shut in r.output, r.output  # the opened row is a difference it should name
    r = run(repo, "catalog", "rebuild", *rebuild_replace(repo))
    assert r.exit_code == 0, r.output
    repo = Repository.open(repo.root)
    try:
        assert status_of(repo, opened) == ("public", "set")
        assert status_of(repo, shut) == ("restricted", "package")
        refused_publicly(repo, shut, tmp_path / "leak")
        assert run(repo, "dip", "export", opened, str(tmp_path / "ok"), "--audience", "public").exit_code == 0
        lose_catalog(repo)
        assert run(repo, "catalog", "rebuild").exit_code == 0
        assert status_of(repo, opened) == ("public", "set") and status_of(repo, shut) == ("restricted", "package")
    finally:
        repo.close()


# --- 7. search ----------------------------------------------------------------------------------------------


def test_a_restricted_hit_shows_its_status(repo: Repository, bags: Path) -> None:
    aip = bag_aip(repo, bags, "ještěd", RIGHTS)
    r = run(repo, "search", "jested", "--json")
    assert r.exit_code == 0, r.output
    (hit,) = json.loads(r.stdout)["hits"]
    assert hit["aip_id"] == aip and hit["access"].startswith("restricted"), hit
    r = run(repo, "search", "jested")
    assert r.exit_code == 0 and "restricted" in r.stdout, r.output


def test_a_destroyed_records_people_are_not_found(repo: Repository, tmp_path: Path) -> None:
    from tests.test_disposal import ORG, _propose, _take_in, shredded

    assert run(repo, "originator", "add", ORG, "--name", "Kraj Vysočina", "--ico", mk.ORG_ICO).exit_code == 0
    _take_in(repo, tmp_path, "SIP_A")  # kept
    gone = _take_in(repo, tmp_path, "SIP_S", **shredded())
    r = run(repo, "search", "Nováková", "--field", "author", "--json")
    assert r.exit_code == 0 and gone in r.stdout, r.output
    pid = str(_propose(repo, tmp_path)["proposal"])
    assert run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A").exit_code == 0
    r = run(repo, "disposal", "destroy", pid, "--yes")
    assert r.exit_code == 0, r.output
    assert repo.catalog.aip(gone)["state"] == "destroyed"

    def found(*extra: str) -> set[str]:
        ids: set[str] = set()
        for q in ("Nováková", "Jana", "Brtnice", "referentka"):
            res = run(repo, "search", q, "--include-removed", "--json", *extra)
            assert res.exit_code in (0, 1), res.output
            ids |= {h["aip_id"] for h in json.loads(res.stdout)["hits"]} if res.stdout.strip() else set()
        return ids

    assert gone not in found() and gone not in found("--field", "author")
    r = run(repo, "search", "SIP_S", "--include-removed", "--json")
    assert r.exit_code == 0 and gone in r.stdout, r.output  # its tombstone is found by what it names
    lose_catalog(repo)
    assert run(repo, "catalog", "rebuild").exit_code == 0
    assert gone not in found() and gone not in found("--field", "author")


HOSTILE = ['"', '""', '"unbalanced', "NEAR(a b", "NEAR(a, b)", "title:x", "title : x", "*", "**", "a*", "^a",
           "-a", "a -b", "a OR b", "a AND NOT b", "(", ")", "((a)", "a)", "{a b}", "a:b:c",
           "'; DROP TABLE records; --", "%", "_", "\\", "a" * 100_000, " ".join(["slovo"] * 10_000),
           " ".join(f"w{i}*" for i in range(2000)), "ž*", "\u200b", "\ud800", "\U0001f600*", "a\nb", "\t"]


@pytest.mark.parametrize("field", [None, "title", "text"])
def test_hostile_queries_never_crash(repo: Repository, bags: Path, field: str | None) -> None:
    bag_aip(repo, bags, "a", RIGHTS)
    for q in HOSTILE:
        r = run(repo, "search", q, *(["--field", field] if field else []))
        assert r.exit_code in (0, 1, 2), (q[:40], r.exit_code, r.output[-2000:], r.exception)
        assert "Traceback" not in r.output and not (r.exception and not isinstance(r.exception, SystemExit)), \
            (q[:40], repr(r.exception))


@pytest.mark.parametrize("query", ["x\x00y", "\x00", "stav\x00*"])
def test_a_nul_in_a_query_is_a_usage_error(repo: Repository, bags: Path, query: str) -> None:
    """No shell passes a NUL in an argument, but a Python caller (a web front end) does: the
    library's `find` answers UsageError or nothing found, never an error of the database."""
    from archa.access.search import find
    from archa.errors import UsageError

    bag_aip(repo, bags, "a", RIGHTS)
    for field in (None, "title", "text"):
        try:
            find(repo, query, field)
        except UsageError:
            pass


def test_hostile_access_reasons(repo: Repository, bags: Path, tmp_path: Path) -> None:
    """Reasons with NUL bytes, line breaks and what looks like another event's detail:
    recorded or refused, never a traceback, and never read back as another state."""
    aip = bag_aip(repo, bags, "a", RIGHTS)
    for reason in ("a\x00b", "x\n(set): access public (set)", "access public (package)", "\ud800", "x" * 100_000):
        r = run(repo, "access", "set", aip, "--restricted", "--reason", reason)
        assert r.exit_code in (0, 2), (reason[:20], r.output[-2000:], repr(r.exception))
        assert not (r.exception and not isinstance(r.exception, SystemExit)), repr(r.exception)
        assert status_of(repo, aip) == ("restricted", "set") or r.exit_code == 2
        refused_publicly(repo, aip, tmp_path / "leak")
    assert run(repo, "events", "verify").exit_code == 0
    lose_catalog(repo)
    assert run(repo, "catalog", "rebuild").exit_code == 0
    assert status_of(repo, aip) == ("restricted", "set")


def test_a_record_from_before_access_is_not_opened_by_the_shared_policy_in_the_catalog(
        pg_repo: Repository, bags: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL the policy every node reads is a row of the catalog (`settings`, key
    `config`): the insider sets `access.default_status.bag = public` there. A record from
    before access conditions were recorded (no row, no event) whose package says nothing was
    restricted by the policy's default; it must not become public by that edit alone. (On
    SQLite the policy is archa.toml's: this repository's catalog is on the test server.)"""
    from archa.repository.catalog.recordindex import RecordIndex

    repo = pg_repo
    from archa.repository.events import ARCHA_AGENT, Event

    with monkeypatch.context() as m:
        m.setattr(RecordIndex, "set_access_row", lambda *a, **k: None)
        m.setattr("archa.ingest.ingest.access_event", lambda state, aip, version, agent, time="": Event(
            "policy assignment", "success", "placement policy applied", ARCHA_AGENT, aip, version))
        aip = bag_aip(repo, bags, "a")  # says nothing: restricted by the policy's default for a bag
    refused_publicly(repo, aip, tmp_path / "before")
    ((shared,),) = insider_sql(repo, "SELECT value FROM settings WHERE key = 'config'")
    config = json.loads(shared)
    config["policy"] = {**config.get("policy", {}), "access": {"default_status": {"bag": "public"}}}
    insider_sql(repo, "UPDATE settings SET value = ? WHERE key = 'config'", json.dumps(config))
    refused_publicly(repo, aip, tmp_path / "leak")
