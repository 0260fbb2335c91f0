"""Trust against an insider, as one acts: with write access to the catalog file alone, or to
one storage location, and nothing but sqlite3 and file edits (the attacks below use no archa
code; the log's hashes are recomputed here as the design document describes them).

- a hold deleted from the catalog with the journal triggers dropped still holds;
- a tombstone planted at one location does not remove a live record at a rebuild;
- a location's log rewritten, re-hashed and padded does not win a rebuild, and `events
  verify` blames that location, not the honest one; with a seal key it is caught even when
  the rewritten locations are the majority;
- a deleted or truncated location log, or events cut from the catalog and every location at
  once, fail `events verify` (and `status`, from the listing);
- a catalog restored from an older copy makes every writing command refuse, not fork the log;
- an inventory changed at one location, or a packed copy's index, is not believed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.repository.eventlog import read_changes
from archa.repository.repo import Repository
from tests.bagmaker import write_bag
from tests.catalogs import catalog_exists, catalog_state, lose_catalog, rebuild_replace
from tests.test_disposal import DUE, _propose, records  # noqa: F401  (a fixture)

HASHED = ("id", "type", "time", "outcome", "detail", "agent", "aip_id", "version", "location", "transfer_id",
          "prev_hash")
GENESIS = "0" * 64


def run(repo: Repository, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    return r.exit_code, r.output


def ingest_bag(repo: Repository, tmp_path: Path, name: str) -> str:
    bag = write_bag(tmp_path / name, {f"{name}.txt": name.encode() * 40})
    code, out = run(repo, "ingest", str(bag), "--json")
    assert code == 0, out
    (result,) = json.loads(out)
    return str(result["aip_id"])


def log_dir(repo: Repository, location: str) -> Path:
    return repo.root / "storage" / location / "extensions" / "archa-events"


def read_log(folder: Path) -> list[dict[str, object]]:
    rows: dict[int, dict[str, object]] = {}
    for seg in sorted(folder.glob("[0-9]*-[0-9]*.jsonl")):
        for line in seg.read_text().splitlines():
            obj = json.loads(line)
            if "seal" not in obj:
                rows.setdefault(int(obj["seq"]), obj)
    return [rows[k] for k in sorted(rows)]


def rehash(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Renumber and re-chain rows as the design document says the log is chained."""
    prev = GENESIS
    out = []
    for i, r in enumerate(rows, 1):
        r = {**r, "seq": i, "prev_hash": prev}
        canon = json.dumps({k: r.get(k) for k in HASHED}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        r["hash"] = prev = hashlib.sha256(canon.encode()).hexdigest()
        out.append(r)
    return out


def write_log(folder: Path, rows: list[dict[str, object]]) -> None:
    """Replace a location's event segments by one sealed segment holding `rows`."""
    for seg in folder.glob("[0-9]*-[0-9]*.jsonl"):
        os.chmod(seg, 0o644)
        seg.unlink()
    last = rows[-1]
    seal = {"first": 1, "last": last["seq"], "hash": last["hash"], "written": "2026-12-01T00:00:00Z"}
    body = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows)
    (folder / f"{1:012d}-{last['seq']:012d}.jsonl").write_text(body + json.dumps({"seal": seal}) + "\n")


def forge(repo: Repository, location: str, drop: str) -> None:
    """At `location`, remove the event whose detail contains `drop`, re-hash, pad with rows
    of a plausible audit so the forged log is the longest, re-seal."""
    folder = log_dir(repo, location)
    rows = [r for r in read_log(folder) if drop not in str(r["detail"])]
    pad = [{**rows[-1], "id": f"urn:uuid:00000000-0000-4000-8000-{i:012d}", "type": "fixity check",
            "detail": "fixity audit: ok"} for i in range(5)]
    write_log(folder, rehash(rows + pad))


# --- holds -----------------------------------------------------------------------------------

def destroy_refuses_the_held(repo: Repository, pid: str, gone: str) -> str:
    """`disposal destroy` of proposal `pid` refuses the record `gone` as held (exit 1),
    removing nothing of it; what `events verify` then says (it exits 1)."""
    code, out = run(repo, "disposal", "destroy", pid, "--yes", "--json")
    assert code == 1, out
    result = json.loads(out)
    assert gone not in [d["aip_id"] for d in result["destroyed"]]
    assert gone in json.dumps(result) and "legal hold" in json.dumps(result)
    held = repo.store(repo.config.location("hot"))
    assert any(True for _k in held.list(f"{_object(gone)}"))  # nothing of it removed
    code, out = run(repo, "events", "verify")
    assert code == 1, out
    return out


def _edit(segment: Path, old: str, new: str) -> None:
    os.chmod(segment, 0o644)
    text = segment.read_text()
    assert old in text
    segment.write_text(text.replace(old, new, 1))


def test_segments_edited_at_one_location_are_written_anew_by_repair(repo: Repository, tmp_path: Path) -> None:
    """A row of hot's copy of the log edited in place, and another segment there re-hashed
    and re-sealed by the insider: the full audit named them, but `repair` could not mend them
    (a rebuild was the only way). Now each is written anew from the catalog when cold holds
    those events as the catalog does, the edited file kept under damaged/ as evidence; with
    the same edit at every location nothing is written (the catalog alone is no witness)."""
    for name in ("a", "b", "c"):
        ingest_bag(repo, tmp_path, name)
    segments = sorted(log_dir(repo, "hot").glob("[0-9]*-[0-9]*.jsonl"))
    assert len(segments) >= 3
    _edit(segments[0], "ingested as", "INGESTED AS")
    rows = read_log(log_dir(repo, "hot"))  # a later segment rewritten with its hashes and seal made to fit
    first, last = (int(x) for x in segments[1].stem.split("-"))
    forged = rehash([{**r, "detail": str(r["detail"]).replace("ingested", "received")} if first <= i + 1 <= last
                     else r for i, r in enumerate(rows)])
    os.chmod(segments[1], 0o644)
    segments[1].write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in forged[first - 1:last])
                           + json.dumps({"seal": {"first": first, "last": last, "hash": forged[last - 1]["hash"]}})
                           + "\n")
    code, out = run(repo, "fixity", "audit", "--all")
    assert code == 1 and "EVENT LOG: hot" in out, out
    code, out = run(repo, "repair")
    assert code == 0, out
    for seg in (segments[0], segments[1]):
        assert f"repaired the event log at hot: {seg.name}" in out and "written anew, as cold holds them" in out, out
    kept = sorted(p.name for p in (log_dir(repo, "hot") / "damaged").iterdir())
    assert [k.split(".jsonl.")[0] for k in kept] == [segments[0].stem, segments[1].stem]
    assert "INGESTED AS" in (log_dir(repo, "hot") / "damaged" / kept[0]).read_text()  # the evidence, as found
    assert run(repo, "events", "verify")[0] == 0
    assert run(repo, "fixity", "audit", "--all")[0] == 0
    assert "nothing to repair" in run(repo, "repair")[1]  # and nothing left to do

    for loc in ("hot", "cold"):  # the same edit at every location: nothing to take the events from
        _edit(log_dir(repo, loc) / segments[0].name, "ingested as", "INGESTED AS")
    before = (log_dir(repo, "hot") / segments[0].name).read_text()
    code, out = run(repo, "repair")
    assert code == 1 and "no other location holds those events as the catalog does" in out, out
    assert (log_dir(repo, "hot") / segments[0].name).read_text() == before


def test_the_journal_edited_or_cut_at_one_location_is_mended_by_repair(repo: Repository, tmp_path: Path) -> None:
    """A hold's row edited in cold's copy of the journal (the reason changed), another journal
    segment deleted there: `events verify` said the catalog was edited, and `repair` said there
    was nothing to repair. Now repair writes each anew from the catalog when hot holds those
    changes as the catalog does (the edited file kept under damaged/); with the same edit at
    both locations nothing is written."""
    aip = ingest_bag(repo, tmp_path, "a")
    assert run(repo, "hold", "add", aip, "--reason", "court case 5 C 7/2026")[0] == 0
    ingest_bag(repo, tmp_path, "b")
    cold = log_dir(repo, "cold")
    edited = next(p for p in sorted(cold.glob("changes-*.jsonl")) if "court case 5 C 7/2026" in p.read_text())
    cut = next(p for p in sorted(cold.glob("changes-*.jsonl")) if p != edited)
    _edit(edited, "court case 5 C 7/2026", "no case")
    code, out = run(repo, "events", "verify")
    assert code == 1 and "differs from the journal at cold: edited in the catalog or there" in out, out
    os.chmod(cut, 0o644)
    cut.unlink()
    code, out = run(repo, "repair")
    assert code == 0, out
    assert f"repaired the event log at cold: {edited.name}" in out and "written anew, as hot holds them" in out, out
    assert "repaired the event log at cold: changes " in out and "written back, as hot holds them" in out, out
    assert cut.exists() and "court case 5 C 7/2026" in edited.read_text()
    (kept,) = (cold / "damaged").iterdir()
    assert "no case" in kept.read_text()  # the evidence, as found
    code, out = run(repo, "events", "verify")
    assert code == 0, out
    assert "nothing to repair" in run(repo, "repair")[1]

    for loc in ("hot", "cold"):  # the same edit at every location: nothing to take the changes from
        _edit(log_dir(repo, loc) / edited.name, "court case 5 C 7/2026", "no case")
    code, out = run(repo, "repair")
    assert code == 1 and "no other location holds those changes as the catalog does" in out, out
    assert "no case" in edited.read_text()


def _clean_run(repo: Repository, *args: str) -> tuple[int, str]:
    """`run`, but a traceback fails the test (CliRunner turns it into exit status 1)."""
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.output


def test_files_planted_in_the_log_folders_neither_crash_nor_stick(repo: Repository, tmp_path: Path) -> None:
    """What an independent review planted at one location, each of which crashed every
    writing command (`repair` too) or could never be cleared: a journal line whose `seq` is
    not a number, a segment whose last line is JSON but no object, an empty file under the
    name of the next changes (anchoring took it for them and recorded the location as holding
    them: exit 0), a file far beyond the journal (`repair` reported 6-99 missing, exit 1, on
    every run), one with no range (`…0-…0`)."""
    _with_seal_key(repo, tmp_path)
    aip = ingest_bag(repo, tmp_path, "a")
    hot, cold = log_dir(repo, "hot"), log_dir(repo, "cold")
    log = repo.catalog.log
    nxt = log.last_change() + 1
    (hot / f"changes-{nxt:012d}-{nxt:012d}.jsonl").write_text('{"seq": null}\n')
    last = log.anchors()["cold"][0]
    (cold / f"{1:012d}-{last:012d}.jsonl").write_text("[1]\n")
    (cold / f"changes-{100:012d}-{100:012d}.jsonl").write_text("")
    (cold / f"changes-{0:012d}-{0:012d}.jsonl").write_text("junk\n")
    code, out = _clean_run(repo, "hold", "add", aip, "--reason", "court case 1")
    assert " placed on " in out, out
    if code:  # the planted next-changes file at hot: not written over, and said
        assert "the event log could not be written to hot" in out and "is there already" in out, out
    code, out = _clean_run(repo, "repair")
    assert code == 0, out
    code, out = _clean_run(repo, "hold", "add", aip, "--reason", "court case 2")
    assert code == 0, out
    code, out = _clean_run(repo, "status")
    assert "are not there" not in out, out
    code, out = _clean_run(repo, "repair")
    assert code == 0, out
    top = log.last_change()
    for loc in ("hot", "cold"):  # every change is at both locations, as the catalog has it
        changes = read_changes(repo.store(repo.config.location(loc)))
        assert [c["seq"] for c in changes] == list(range(1, top + 1)), loc


def test_a_forged_change_under_a_far_name_is_removed_by_repair(repo: Repository, tmp_path: Path) -> None:
    """`changes-<n>-1000.jsonl` planted at cold with a forged change n+1 (a hold deleted):
    readers of cold's journal took it for change n+1, `events verify` named it, and `repair`
    left it (it reaches beyond the catalog) while compaction would have merged it in. Now
    repair removes it (kept as evidence) and compaction leaves it alone."""
    _with_seal_key(repo, tmp_path)
    aip = ingest_bag(repo, tmp_path, "a")
    cold = log_dir(repo, "cold")
    n = repo.catalog.log.last_change()
    planted = cold / f"changes-{n:012d}-{1000:012d}.jsonl"
    planted.write_text(json.dumps({"op": "delete", "row": {"id": 1}, "seq": n + 1, "tbl": "holds"}) + "\n")
    for case in ("court case 1", "court case 2"):
        code, out = _clean_run(repo, "hold", "add", aip, "--reason", case)
        assert code == 0, out
    code, out = _clean_run(repo, "events", "verify")
    assert code == 1 and f"change {n + 1} (holds) differs from the journal at cold" in out, out
    code, out = _clean_run(repo, "repair")
    assert code == 0 and f"{planted.name} (changes {n}-1000): not as archa wrote it; removed" in out, out
    assert not planted.exists() and any((cold / "damaged").iterdir())
    code, out = _clean_run(repo, "events", "verify")
    assert code == 0, out
    changes = read_changes(repo.store(repo.config.location("cold")))
    assert [c["seq"] for c in changes] == list(range(1, repo.catalog.log.last_change() + 1))


@pytest.mark.parametrize("line", ['{"seq": %d}', '{"op": "upsert", "row": {"id": "\\ud800"}, "seq": %d, "tbl": "holds"}'])
def test_a_journal_line_archa_never_writes_is_named_not_a_crash(repo: Repository, tmp_path: Path, line: str) -> None:
    """A change at cold with keys missing, or a lone surrogate no UTF-8 can hold: `events
    verify` and `fixity audit` ended in a traceback. Now it is named, and repair mends it."""
    aip = ingest_bag(repo, tmp_path, "a")
    assert run(repo, "hold", "add", aip, "--reason", "court case 3")[0] == 0
    cold = log_dir(repo, "cold")
    n = repo.catalog.log.last_change()
    (cold / f"changes-{n - 1:012d}-{n:012d}.jsonl").write_text(
        _change_at(cold, n - 1) + "\n" + line % n + "\n")
    code, out = _clean_run(repo, "events", "verify")
    assert code == 1 and f"change {n} there is not a change as archa writes one" in out, out
    code, out = _clean_run(repo, "fixity", "audit", "--all")
    assert code == 1, out
    code, out = _clean_run(repo, "repair")
    assert code == 0, out
    code, out = _clean_run(repo, "events", "verify")
    assert code == 0, out


def _change_at(folder: Path, seq: int) -> str:
    """The line of change `seq` in a location's journal, as archa wrote it."""
    for p in sorted(folder.glob("changes-*.jsonl")):
        for line in p.read_text().splitlines():
            if json.loads(line)["seq"] == seq:
                return line
    raise AssertionError(seq)


def test_the_newest_segment_rewritten_at_one_location_is_mended_not_a_dead_end(repo: Repository,
                                                                              tmp_path: Path) -> None:
    """The newest segment at hot re-hashed and re-sealed by an insider with write access to
    hot alone: it looks like a catalog restored from an older copy, so every writing command
    refused, `repair` too, and `catalog rebuild --replace --trust cold` left hot as it was:
    nothing but editing files by hand brought the repository back. Now `repair` sees that
    cold holds those events as the catalog does and writes hot's segment anew."""
    aip = ingest_bag(repo, tmp_path, "a")
    assert run(repo, "hold", "add", aip, "--reason", "a court case")[0] == 0
    newest = max(log_dir(repo, "hot").glob("[0-9]*-[0-9]*.jsonl"))
    first, last = (int(x) for x in newest.stem.split("-"))
    rows = read_log(log_dir(repo, "hot"))
    forged = rehash([{**r, "detail": "legal hold released"} if i + 1 == last else r for i, r in enumerate(rows)])
    os.chmod(newest, 0o644)
    newest.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in forged[first - 1:last])
                      + json.dumps({"seal": {"first": first, "last": last, "hash": forged[last - 1]["hash"]}}) + "\n")
    code, out = run(repo, "hold", "add", aip, "--reason", "another case")
    assert code == 1 and "the catalog is behind the event log" in out, out
    code, out = run(repo, "repair")
    assert code == 0 and f"repaired the event log at hot: {newest.name}" in out, out
    assert "legal hold released" in next((log_dir(repo, "hot") / "damaged").iterdir()).read_text()
    assert run(repo, "events", "verify")[0] == 0
    assert run(repo, "hold", "add", aip, "--reason", "another case")[0] == 0


def test_a_repair_killed_after_deleting_the_edited_segment_is_finished_by_the_next(repo: Repository,
                                                                                   tmp_path: Path) -> None:
    """Killed between moving the edited segment aside and writing it anew: a gap, which the
    next `repair` fills (not an edit left standing, not an error)."""
    ingest_bag(repo, tmp_path, "a")
    ingest_bag(repo, tmp_path, "b")
    seg = min(log_dir(repo, "hot").glob("[0-9]*-[0-9]*.jsonl"))
    _edit(seg, "ingested as", "INGESTED AS")
    (log_dir(repo, "hot") / "damaged").mkdir()
    shutil.copy(seg, log_dir(repo, "hot") / "damaged" / f"{seg.name}.20261204T100000")  # as the killed run left it
    seg.unlink()
    code, out = run(repo, "repair")
    assert code == 0 and "written back, as cold holds them" in out, out
    assert run(repo, "events", "verify")[0] == 0


@pytest.mark.sqlite_only  # the catalog file edited with sqlite3; test_insider_pg.py does it with psql
def test_a_hold_deleted_in_the_catalog_alone_still_holds(repo: Repository, tmp_path: Path,
                                                           records: dict[str, str]) -> None:  # noqa: F811
    pid = str(_propose(repo, tmp_path)["proposal"])
    assert run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A", "--keep", "KU-SIP_H")[0] == 0
    gone = records["gone"]
    assert run(repo, "hold", "add", gone, "--reason", "court case 12 C 34/2026")[0] == 0
    repo.close()
    db = sqlite3.connect(repo.root / "catalog.sqlite")  # the insider
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'holds'")\
            .fetchall():
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DELETE FROM holds WHERE aip_id = ?", [gone])
    db.commit()
    db.close()
    out = destroy_refuses_the_held(repo, pid, gone)
    assert "journal_holds_del is missing" in out and "holds" in out, out
    code, out = run(repo, "status")  # what monitoring runs says it too
    assert code == 1 and "the journal trigger journal_holds_del is missing" in out, out
    code, out = run(repo, "hold", "list")  # said "no holds", exit 0
    assert code == 1 and f"warning: {gone}: the holds table says it is not held, the catalog's event log that it " \
        "is held (1 hold)" in out, out


@pytest.mark.sqlite_only  # the catalog file copied back; on a server the insider would restore a dump
def test_a_catalog_restored_from_an_older_copy_is_refused_not_forked(repo: Repository, tmp_path: Path) -> None:
    """The insider keeps a copy of catalog.sqlite, lets a record be ingested, then puts the
    old copy back: the record is in storage and in the locations' log, not in the catalog.
    Every writing command then refuses (an audit wrote a second history beside the first at
    both locations, and exited 0, after which no rebuild could agree on one); `status` says
    so; a rebuild from the locations brings the record back."""
    first = ingest_bag(repo, tmp_path, "one")
    catalog = repo.root / "catalog.sqlite"
    repo.close()
    with sqlite3.connect(catalog) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    shutil.copy(catalog, tmp_path / "old.sqlite")
    second = ingest_bag(repo, tmp_path, "two")
    logs = {loc: sorted(p.name for p in log_dir(repo, loc).iterdir()) for loc in ("hot", "cold")}
    for side in ("-wal", "-shm"):
        Path(f"{catalog}{side}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "old.sqlite", catalog)  # the rollback

    code, out = run(repo, "status")
    assert code == 1 and "the catalog is behind the event log the locations keep" in out, out
    for args in (("fixity", "audit", "--all"), ("ingest", str(write_bag(tmp_path / "three", {"c.txt": b"c"}))),
                 ("hold", "add", first, "--reason", "a court case"), ("repair",)):  # repair mends nothing here
        code, out = run(repo, *args)
        assert code == 1 and "the catalog is behind the event log" in out and "nothing was written" in out, out
    assert {loc: sorted(p.name for p in log_dir(repo, loc).iterdir()) for loc in ("hot", "cold")} == logs  # no fork

    code, out = run(repo, "catalog", "rebuild", "--check")
    assert code == 1 and second in out, out  # what a rebuild restores: the record the rollback dropped
    code, out = run(repo, "catalog", "rebuild", "--replace")
    assert code == 0, out
    code, out = run(repo, "aip", "list", "--json")
    assert code == 0 and sorted(a["id"] for a in json.loads(out)) == sorted([first, second])
    assert run(repo, "fixity", "audit", "--all")[0] == 0
    assert run(repo, "status")[1].count("behind the event log") == 0


def _object(aip: str) -> str:
    from archa.repository.ocfl import object_relpath

    return object_relpath(aip)


@pytest.mark.sqlite_only  # the catalog file edited with sqlite3; test_insider_pg.py does it with psql
def test_a_retention_shortened_in_the_catalog_does_not_make_a_record_due(
        repo: Repository, tmp_path: Path, records: dict[str, str]) -> None:  # noqa: F811
    from tests.test_disposal import _take_in

    fresh = _take_in(repo, tmp_path, "SIP_F", closed="2025-06-30", period=10)  # due in 2036
    repo.close()
    db = sqlite3.connect(repo.root / "catalog.sqlite")  # the insider: due in 2020 instead
    db.execute("UPDATE retention SET until_year = 2020, period = 4, trigger_year = 2015 WHERE aip_id = ?", [fresh])
    db.commit()
    db.close()
    code, out = run(repo, "disposal", "propose", "--as-of", DUE, str(tmp_path / "navrh"), "--json")
    assert code == 1, out
    result = json.loads(out)
    assert fresh not in [i["aip_id"] for i in result["items"]] and records["gone"] in out
    assert "changed in the catalog" in result["retention_changed"][fresh]
    # the same edit with the journal triggers dropped first: events verify names the row too
    repo.close()
    db = sqlite3.connect(repo.root / "catalog.sqlite")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'retention'")\
            .fetchall():
        db.execute(f"DROP TRIGGER {name}")
    db.execute("UPDATE retention SET until_year = 2019 WHERE aip_id = ?", [fresh])
    db.commit()
    db.close()
    code, out = run(repo, "events", "verify")
    assert code == 1 and "journal_retention_upd is missing" in out, out
    assert f"retention {fresh}" in out and "changed behind the journal's back" in out, out


# --- tombstones ------------------------------------------------------------------------------

def test_a_planted_tombstone_does_not_remove_a_live_record(repo: Repository, tmp_path: Path,
                                                             records: dict[str, str]) -> None:  # noqa: F811
    pid = str(_propose(repo, tmp_path)["proposal"])
    assert run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A", "--keep", "KU-SIP_H")[0] == 0
    assert run(repo, "disposal", "destroy", pid, "--yes")[0] == 0
    gone, live = records["gone"], records["held"]
    real = next((repo.root / "storage" / "cold" / "extensions" / "archa-tombstones").rglob("tombstone.json"))
    tomb = json.loads(real.read_text())
    assert tomb["id"] == gone
    tomb["id"] = live  # a real tombstone, made to name a live record, at one location
    planted = repo.root / "storage" / "cold" / "extensions" / "archa-tombstones" / _object(live) / "tombstone.json"
    planted.parent.mkdir(parents=True)
    planted.write_text(json.dumps(tomb))
    code, out = run(repo, "catalog", "rebuild", "--check")
    assert code == 1 and "CONFLICT" in out and live in out and "no deletion of it" in out, out
    before = catalog_state(repo)
    code, out = run(repo, "catalog", "rebuild", *rebuild_replace(repo))
    assert code == 1 and "nothing was put in place" in out, out
    assert catalog_state(repo) == before
    assert repo.catalog.aip(live)["state"] == "active"
    code, out = run(repo, "catalog", "rebuild", "--check", "--trust", "hot")
    assert code == 0 and "the same as the live catalog" in out, out


# --- a rewritten location log ------------------------------------------------------------------

def test_a_rewritten_and_padded_location_log_does_not_win(repo: Repository, tmp_path: Path) -> None:
    aip = ingest_bag(repo, tmp_path, "a")
    assert run(repo, "hold", "add", aip, "--reason", "request 2026/17")[0] == 0
    ingest_bag(repo, tmp_path, "b")
    forge(repo, "cold", "legal hold placed")
    code, out = run(repo, "events", "verify")
    assert code == 1 and "at cold" in out and "at hot" not in out, out  # the rewritten location is named
    code, out = run(repo, "catalog", "rebuild", "--check")
    assert code == 1 and "CONFLICT event" in out and "differently" in out, out
    # the catalog lost: the rebuild stops rather than take the longest log
    lose_catalog(repo)
    code, out = run(repo, "catalog", "rebuild")
    assert code == 1 and "CONFLICT" not in out and "do not agree" in out, out
    assert not catalog_exists(repo)
    code, out = run(repo, "catalog", "rebuild", "--trust", "hot")
    assert code == 0, out
    code, out = run(repo, "hold", "list", "--json")
    assert aip in out, out
    code, out = run(repo, "events", "verify")
    assert code == 1 and "at cold" in out, out  # the forged location stays named until it is repaired


def _with_seal_key(repo: Repository, tmp_path: Path) -> Path:
    key = tmp_path / "keys" / "seal.key"
    key.parent.mkdir()
    key.write_bytes(os.urandom(32).hex().encode())
    key.chmod(0o600)
    config = repo.root / "archa.toml"
    config.write_text(config.read_text().replace("[repository]\n", f'[repository]\nseal_key = "{key}"\n', 1))
    return key


def test_a_seal_key_catches_a_rewritten_majority(repo: Repository, tmp_path: Path) -> None:
    key = _with_seal_key(repo, tmp_path)
    assert run(repo, "storage", "add", "warm", str(tmp_path / "warm"), "--kind", "ocfl", "--tier", "warm")[0] == 0
    aip = ingest_bag(repo, tmp_path, "a")
    assert run(repo, "hold", "add", aip, "--reason", "request 2026/18")[0] == 0
    assert run(repo, "events", "verify")[0] == 0
    warm = tmp_path / "warm" / "extensions" / "archa-events"
    forge(repo, "cold", "legal hold placed")
    for seg in warm.glob("[0-9]*-[0-9]*.jsonl"):  # the same forgery at warm: two of three agree
        os.chmod(seg, 0o644)
        seg.unlink()
    for seg in log_dir(repo, "cold").glob("*.jsonl"):
        if not seg.name.startswith("changes-"):
            shutil.copy(seg, warm / seg.name)
    code, out = run(repo, "events", "verify")
    assert code == 1 and ("not signed with the repository's seal key" in out or "under no seal signed" in out), out
    assert "at hot" not in out, out
    code, out = run(repo, "catalog", "rebuild", "--check")
    assert code == 1 and "CONFLICT" in out, out
    key.chmod(0o644)  # a key others can read is refused, not used
    code, out = run(repo, "events", "verify")
    assert code == 2 and "chmod 600" in out, out


@pytest.mark.sqlite_only  # the catalog file edited with sqlite3; test_insider_pg.py does it with psql
def test_a_release_forged_in_the_catalog_is_never_made_history(repo: Repository, tmp_path: Path) -> None:
    """The insider appends a well-chained `legal hold released` event to the catalog and marks
    the hold released, as `archa hold remove` would. Before, the next honest command (a
    nightly audit) anchored the forged row at every location, after which the log, the
    journal and the table all agreed and `disposal destroy` removed the held record. With a
    seal key every event archa appends is signed: the forged one is not, so no command
    anchors it; writing commands refuse, status says so, and a rebuild restores the hold."""
    _with_seal_key(repo, tmp_path)
    aip = ingest_bag(repo, tmp_path, "a")
    assert run(repo, "hold", "add", aip, "--reason", "court case 12 C 34/2026")[0] == 0
    assert run(repo, "fixity", "audit", "--all")[0] == 0  # signed rows anchor as before
    logs = {loc: sorted(p.name for p in log_dir(repo, loc).iterdir()) for loc in ("hot", "cold")}
    repo.close()
    db = sqlite3.connect(repo.root / "catalog.sqlite")  # the insider, with sqlite3 alone
    hold_id, placed, reason = db.execute("SELECT id, placed, reason FROM holds WHERE aip_id = ?", [aip]).fetchone()
    (prev,) = db.execute("SELECT hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    row: dict[str, object] = {"id": "urn:uuid:00000000-0000-4000-8000-000000000001", "type": "policy assignment",
                              "time": "2026-12-04T10:00:00.000000Z", "outcome": "success",
                              "detail": f"legal hold released (hold {hold_id}) by root: settled (placed {placed[:10]} "
                                        f"for {reason!r})", "agent": "archa/0.1.0", "aip_id": aip, "version": None,
                              "location": None, "transfer_id": None, "prev_hash": prev}
    canon = json.dumps({k: row[k] for k in HASHED}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    row["hash"] = hashlib.sha256(canon.encode()).hexdigest()
    db.execute(f"INSERT INTO events ({', '.join((*HASHED, 'hash'))}) VALUES ({', '.join('?' * 12)})",
               [row[k] for k in (*HASHED, "hash")])
    db.execute("UPDATE holds SET released = '2026-12-04T10:00:00Z', released_by = 'root', release_reason = 'settled' "
               "WHERE id = ?", [hold_id])
    db.commit()
    db.close()

    code, out = run(repo, "status")
    assert code == 1 and "not signed with the seal key" in out, out
    code, out = run(repo, "fixity", "audit", "--all")  # the nightly audit that used to make it history
    assert code == 1 and "not signed with the repository's seal key" in out and "nothing was written" in out, out
    assert {loc: sorted(p.name for p in log_dir(repo, loc).iterdir()) for loc in ("hot", "cold")} == logs
    assert all("legal hold released" not in json.dumps(r) for loc in ("hot", "cold")
               for r in read_log(log_dir(repo, loc)))
    code, out = run(repo, "catalog", "rebuild", "--replace")
    assert code == 0, out
    code, out = run(repo, "hold", "list", "--json")
    assert code == 0 and aip in out, out  # the hold is in force again
    assert run(repo, "fixity", "audit", "--all")[0] == 0


def _forge_after_last(db: sqlite3.Connection, aip: str, detail: str, copy_signature: bool) -> None:
    """Append a well-chained event (`copy_signature`: carrying the row before's hash and mac,
    which fit another content)."""
    (prev, prev_mac) = db.execute("SELECT hash, mac FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    row: dict[str, object] = {"id": f"urn:uuid:00000000-0000-4000-8000-{abs(hash(detail)) % 10**12:012d}",
                              "type": "policy assignment", "time": "2026-12-04T10:00:00.000000Z", "outcome": "success",
                              "detail": detail, "agent": "archa/0.1.0", "aip_id": aip, "version": "v1",
                              "location": None, "transfer_id": None, "prev_hash": prev}
    canon = json.dumps({k: row[k] for k in HASHED}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    row["hash"], row["mac"] = (prev, prev_mac) if copy_signature else (hashlib.sha256(canon.encode()).hexdigest(),
                                                                        None)
    db.execute(f"INSERT INTO events ({', '.join((*HASHED, 'hash', 'mac'))}) VALUES ({', '.join('?' * 13)})",
               [row[k] for k in (*HASHED, "hash", "mac")])


@pytest.mark.sqlite_only  # the catalog file edited with sqlite3
def test_a_forged_event_carrying_a_real_rows_signature_is_refused(repo: Repository, tmp_path: Path) -> None:
    """The row before's hash and mac copied onto a forged `access public` row: the mac was
    checked against the stored hash only, and the row was anchored under a signed seal."""
    _with_seal_key(repo, tmp_path)
    aip = ingest_bag(repo, tmp_path, "a")
    other = ingest_bag(repo, tmp_path, "b")
    repo.close()
    with sqlite3.connect(repo.root / "catalog.sqlite") as db:
        _forge_after_last(db, aip, "access public (set): forged by insider", copy_signature=True)
    db.close()
    code, out = run(repo, "hold", "add", other, "--reason", "a court case")
    assert code == 1 and "not signed with the repository's seal key" in out, out
    assert all("forged by insider" not in json.dumps(r) for loc in ("hot", "cold")
               for r in read_log(log_dir(repo, loc)))


@pytest.mark.sqlite_only  # the catalog file edited with sqlite3
def test_a_row_slipped_in_while_anchoring_is_never_written_out(repo: Repository, tmp_path: Path) -> None:
    """A trigger of the insider's adds an unsigned row right after anchoring sealed the
    journal, after the rows were checked: it was written out under a signed seal, and never
    looked at again. The rows written are the rows checked now."""
    _with_seal_key(repo, tmp_path)
    aip = ingest_bag(repo, tmp_path, "a")
    repo.close()
    with sqlite3.connect(repo.root / "catalog.sqlite") as db:
        db.execute("""CREATE TRIGGER zz_slip AFTER INSERT ON events WHEN NEW.detail LIKE 'journal sealed%'
                      BEGIN INSERT INTO events (id, type, time, outcome, detail, agent, aip_id, version, location,
                      transfer_id, prev_hash, hash) VALUES ('urn:uuid:slipped', 'policy assignment', NEW.time, 'success',
                      'access public (set): slipped in', 'archa/0.1.0', NULL, NULL, NULL, NULL, NEW.hash,
                      'f' || substr(NEW.hash, 2)); END""")
    db.close()
    code, out = run(repo, "hold", "add", aip, "--reason", "a court case")  # its own events are archa's; anchoring stops
    # and the command says so (it exited 0 without a word): its hold is placed, the log is not written out
    assert code == 1 and " placed on " in out and "the event log could not be written to cold, hot" in out \
        and "without the seal key): not anchored" in out and "archa catalog rebuild --replace" in out, out
    assert all("slipped in" not in json.dumps(r) for loc in ("hot", "cold") for r in read_log(log_dir(repo, loc)))
    code, out = run(repo, "status")
    assert code == 1 and "zz_slip" in out, out
    code, out = run(repo, "fixity", "audit", "--all")
    assert code == 1 and "not signed with the repository's seal key" in out, out


def test_a_file_planted_at_one_location_neither_moves_the_bound_nor_blocks(repo: Repository, tmp_path: Path) -> None:
    """An empty `…999-…999.jsonl` planted at cold: every writing command refused (the catalog
    'behind' it), and a rebuild did not clear it. A file no signed seal vouches for is no log."""
    _with_seal_key(repo, tmp_path)
    ingest_bag(repo, tmp_path, "a")
    (log_dir(repo, "cold") / f"{999:012d}-{999:012d}.jsonl").write_text("")
    ingest_bag(repo, tmp_path, "b")  # goes on
    _code, out = run(repo, "status")
    assert "behind the event log" not in out, out


def test_an_unsigned_seal_planted_beyond_the_log_adds_no_event(repo: Repository, tmp_path: Path) -> None:
    """A segment `…999-…999.jsonl` with an unsigned seal planted at cold: it was taken for
    cold's newest seal, so every writing command appended "event log signed with the
    repository's seal key from here on" again. The newest seal is the one where the catalog
    recorded cold's log as written."""
    _with_seal_key(repo, tmp_path)
    aip = ingest_bag(repo, tmp_path, "a")
    (log_dir(repo, "cold") / f"{999:012d}-{999:012d}.jsonl").write_text(
        json.dumps({"seal": {"first": 999, "last": 999, "hash": "0" * 64, "written": "2026-12-05T00:00:00Z"}}) + "\n")
    for n in range(3):
        code, out = run(repo, "hold", "add", aip, "--reason", f"court case {n}")
        assert code == 0, out
    _code, out = run(repo, "events", "list", "--json")
    assert "from here on" not in out
    code, out = run(repo, "events", "verify")  # the planted file is named, as before
    assert code == 1 and "000000000999-000000000999.jsonl" in out, out


@pytest.mark.parametrize("signed", [False, True])
def test_a_journal_segment_planted_at_one_location_neither_blocks_nor_stops_its_journal(
        repo: Repository, tmp_path: Path, signed: bool) -> None:
    """An empty `changes-<next>-999.jsonl` planted at cold: every writing command refused
    ("the catalog is behind the event log", `repair` too) while `events verify` and `catalog
    rebuild --check` found nothing; and had one gone on, cold's journal would have taken the
    planted name for the next changes and never got them. A journal no seal vouches for is no
    journal, and what is at a location is read, not taken from its names."""
    from archa.repository.eventlog import read_changes

    if signed:
        _with_seal_key(repo, tmp_path)
    ingest_bag(repo, tmp_path, "a")
    cold = log_dir(repo, "cold")
    held = max(int(p.name.split("-")[2].split(".")[0]) for p in cold.glob("changes-*.jsonl"))
    (cold / f"changes-{held + 1:012d}-{999:012d}.jsonl").write_text("")
    aip = ingest_bag(repo, tmp_path, "b")  # goes on (exit 0 asserted there)
    code, out = run(repo, "hold", "add", aip, "--reason", "court case 7 C 1/2026")  # a catalog-only row: journalled
    assert code == 0, out
    code, out = run(repo, "status")
    assert "behind the event log" not in out, out
    code, out = run(repo, "events", "verify")
    assert code == 0, out
    top = repo.catalog.log.last_change()
    assert top > held
    for loc in ("hot", "cold"):  # every change is at both locations, cold's after the planted name too
        changes = read_changes(repo.store(repo.config.location(loc)))
        assert [c["seq"] for c in changes] == list(range(1, top + 1)), loc
        assert any(c["tbl"] == "holds" and "court case 7 C 1/2026" in json.dumps(c["row"]) for c in changes), loc


# --- deleted history ---------------------------------------------------------------------------

def test_a_deleted_or_truncated_location_log_fails_verify(repo: Repository, tmp_path: Path) -> None:
    ingest_bag(repo, tmp_path, "a")
    ingest_bag(repo, tmp_path, "b")
    cold = log_dir(repo, "cold")
    newest = max(cold.glob("[0-9]*-[0-9]*.jsonl"))
    os.chmod(newest, 0o644)
    newest.unlink()
    code, out = run(repo, "events", "verify")
    assert code == 1 and "cold holds the log up to event" in out and "deleted or truncated" in out, out
    code, out = run(repo, "status")  # what monitoring runs says it too, from the listing alone
    assert code == 1 and "the copy of the event log at cold is incomplete (events " in out, out
    code, out = run(repo, "fixity", "audit")  # and the nightly audit, which said "0 failed", exit 0
    assert code == 1 and "EVENT LOG: cold: " in out, out
    segments = sorted(log_dir(repo, "hot").glob("[0-9]*-[0-9]*.jsonl"))
    if len(segments) > 2:  # a segment in the middle, at the other location
        os.chmod(segments[1], 0o644)
        segments[1].unlink()
        code, out = run(repo, "status")
        assert code == 1 and "the copy of the event log at hot is incomplete" in out, out
    shutil.rmtree(cold)
    code, out = run(repo, "events", "verify")
    assert code == 1 and "cold holds the log up to event 0" in out, out


def test_a_segment_edited_at_one_location_fails_the_full_audit(repo: Repository, tmp_path: Path) -> None:
    """One location's copy of the log edited in place (a row's detail changed, nothing
    deleted): only `events verify` found it; `fixity audit --all` said every copy was sound."""
    ingest_bag(repo, tmp_path, "a")
    ingest_bag(repo, tmp_path, "b")
    segment = max(log_dir(repo, "hot").glob("[0-9]*-[0-9]*.jsonl"))
    os.chmod(segment, 0o644)
    text = segment.read_text()
    assert "ingested as" in text
    segment.write_text(text.replace("ingested as", "INGESTED AS", 1))
    code, out = run(repo, "fixity", "audit", "--all")
    assert code == 1 and "EVENT LOG: hot: event " in out and "altered" in out, out
    assert "EVENT LOG: cold" not in out, out  # the honest location is not blamed


def test_segments_deleted_at_one_location_are_written_back_by_repair(repo: Repository, tmp_path: Path) -> None:
    """A segment deleted at hot: `repair` said "nothing to repair" and the copy stayed short.
    Now it writes the events back from the catalog when another location holds them as the
    catalog does, and refuses when none does (the catalog alone is no witness)."""
    for name in ("a", "b", "c"):
        ingest_bag(repo, tmp_path, name)
    hot_segments = sorted(log_dir(repo, "hot").glob("[0-9]*-[0-9]*.jsonl"))
    middle = hot_segments[len(hot_segments) // 2]
    os.chmod(middle, 0o644)
    middle.unlink()
    assert run(repo, "events", "verify")[0] == 1
    code, out = run(repo, "repair")
    first, last = (int(x) for x in middle.stem.split("-"))
    assert code == 0 and f"repaired the event log at hot: events {first}-{last} written back, as cold holds them" \
        in out, out
    assert run(repo, "events", "verify")[0] == 0
    assert run(repo, "fixity", "audit", "--all")[0] == 0
    for loc in ("hot", "cold"):  # the same events lost at both: nothing to take them from
        for seg in log_dir(repo, loc).glob(middle.name):
            os.chmod(seg, 0o644)
            seg.unlink()
    code, out = run(repo, "repair")
    assert code == 1 and "no other location holds them as the catalog does" in out, out


@pytest.mark.sqlite_only  # the catalog file edited with sqlite3; test_insider_pg.py does it with psql
def test_events_cut_from_the_catalog_and_every_location_fail_verify(repo: Repository, tmp_path: Path) -> None:
    ingest_bag(repo, tmp_path, "a")
    b = ingest_bag(repo, tmp_path, "b")
    repo.close()
    db = sqlite3.connect(repo.root / "catalog.sqlite")
    first_b = db.execute("SELECT MIN(seq) FROM events WHERE aip_id = ?", [b]).fetchone()[0]
    db.execute("DELETE FROM events WHERE seq >= ?", [first_b])
    top, top_hash = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    db.execute("UPDATE event_anchors SET last_seq = ?, last_hash = ?", [top, top_hash])
    db.commit()
    db.close()
    for loc in ("hot", "cold"):
        folder = log_dir(repo, loc)
        write_log(folder, [r for r in read_log(folder) if int(str(r["seq"])) < first_b])
    code, out = run(repo, "events", "verify")
    assert code == 1 and "BROKEN history" in out and b in out and "the log lacks" in out, out


# --- inventories and packed indexes ------------------------------------------------------------

def test_an_inventory_changed_at_one_location_is_not_believed(repo: Repository, tmp_path: Path) -> None:
    aip = ingest_bag(repo, tmp_path, "a")
    obj = repo.hot.object_path(aip)
    data = json.loads((obj / "inventory.json").read_text())
    data["versions"]["v1"]["message"] = "nothing to see"  # a valid OCFL object, and not what was stored
    body = json.dumps(data).encode()
    for rel in ("inventory.json", "v1/inventory.json"):
        os.chmod(obj / rel, 0o644)
        (obj / rel).write_bytes(body)
        os.chmod(obj / f"{rel}.sha256", 0o644)
        (obj / f"{rel}.sha256").write_text(f"{hashlib.sha256(body).hexdigest()} inventory.json\n")
    code, out = run(repo, "catalog", "rebuild", "--check")
    assert code == 1 and f"AIP {aip} v1" in out and "CONFLICT" in out, out


def test_a_packed_copy_is_expected_to_be_what_the_history_recorded(repo: Repository, tmp_path: Path) -> None:
    aip = ingest_bag(repo, tmp_path, "a")
    index = next((repo.root / "storage" / "cold").rglob("v1.index.json"))
    os.chmod(index, 0o644)
    data = json.loads(index.read_text())
    data["archive_sha256"] = "0" * 64
    index.write_text(json.dumps(data))
    code, out = run(repo, "catalog", "rebuild", "--check")
    assert code == 1 and "the copy was replaced" in out and "rebuilt damaged" in out, out
    assert aip in out
