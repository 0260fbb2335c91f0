"""Issue #28's features attacked as an archivist's mistake, an insider or a crash would: ids
that look like other ids, holds edited behind archa's back or released twice at once, paths
that are no SIP, duplicates after updates and destruction and a tampered fingerprint, DIP
names of every kind. Each test keeps the property it found (or restored) from breaking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archa.cli.main import cli
from archa.errors import printable
from archa.ingest.ingest import IngestOptions, ingest
from archa.repository.repo import Repository
from tests.bagmaker import write_bag, zip_dir
from tests.catalogs import insider_sql, lose_catalog
from tests.test_disposal import _propose, records  # noqa: F401  (a fixture)

EXT = "KUJI-OD-2025-0117"


def run(repo: Repository, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])


def take_in(repo: Repository, bags: Path, name: str, ext: str = "", allow_duplicate: bool = False) -> str:
    info = {"External-Description": f"Spis {name}", **({"External-Identifier": ext} if ext else {})}
    bag = write_bag(bags / name, {f"{name}.txt": name.encode() * 20}, info=info)
    return ingest(repo, bag, IngestOptions(allow_duplicate=allow_duplicate)).aip_id


def bare(aip: str) -> str:
    return aip.removeprefix("urn:uuid:")


# --- 1. ids that look like other ids --------------------------------------------------------------


def test_an_external_identifier_that_is_another_aips_prefix_is_ambiguous_for_every_command(
        repo: Repository, bags: Path, tmp_path: Path) -> None:
    a = take_in(repo, bags, "a")
    b = take_in(repo, bags, "b", ext=bare(a)[:8])  # a producer's reference that happens to be a's prefix
    for args in (["aip", "show", bare(a)[:8]], ["hold", "add", bare(a)[:8], "--reason", "x"],
                 ["aip", "update", bare(a)[:8], "--remove", "representations/original/data/a.txt", "--reason", "r"],
                 ["dip", "export", bare(a)[:8], str(tmp_path / "dip")]):
        r = run(repo, *args)
        assert r.exit_code == 2, (args, r.output)
        assert f"error: '{bare(a)[:8]}' names 2 AIPs" in r.output, (args, r.output)
        assert f"  {a}  Spis a\n" in r.output and f"  {b}  {bare(a)[:8]}  Spis b\n" in r.output, r.output
    assert repo.catalog.lifecycle.holds() == [] and repo.catalog.aip(a)["head"] == "v1"
    assert not (tmp_path / "dip").exists()
    # one character more names a alone; the whole id always does
    for typed in (bare(a)[:9], a):
        assert run(repo, "aip", "show", typed).output.startswith(f"AIP {a}\n"), typed


def test_an_external_identifier_that_is_another_aips_whole_uuid(repo: Repository, bags: Path) -> None:
    """The whole id `urn:uuid:...` is the AIP's own name and always names it, whatever a
    producer wrote into another bag; the bare UUID, also another AIP's External-Identifier,
    names two AIPs and is refused as ambiguous (a producer's text never redirects a command)."""
    a = take_in(repo, bags, "a")
    b = take_in(repo, bags, "b", ext=bare(a))
    c = take_in(repo, bags, "c", ext=a)
    r = run(repo, "aip", "show", a)
    assert r.exit_code == 0 and r.output.startswith(f"AIP {a}\n"), r.output
    r = run(repo, "hold", "add", bare(a), "--reason", "court case")
    assert r.exit_code == 2 and f"'{bare(a)}' names 2 AIPs" in r.output, r.output
    assert f"  {a}  Spis a\n" in r.output and f"  {b}  {bare(a)}  Spis b\n" in r.output, r.output
    assert repo.catalog.lifecycle.holds() == []
    r = run(repo, "hold", "add", a, "--reason", "court case")
    assert r.exit_code == 0 and r.output == f"hold 1 placed on {a}: court case\n", r.output
    # names are exact: the UUID in upper case is a's id in another case, not b's identifier
    r = run(repo, "aip", "show", bare(a).upper())
    assert r.exit_code == 0 and r.output.startswith(f"AIP {a}\n"), r.output
    assert c != a


def test_wildcards_and_quotes_in_an_external_identifier_match_only_themselves(repo: Repository,
                                                                                bags: Path) -> None:
    plain = take_in(repo, bags, "plain", ext="KUJI-OD-2025-0117")
    odd = take_in(repo, bags, "odd", ext="O'Brien 100%_\"x\"")
    for typed in ("KUJI-%", "KUJI-OD-2025-011_", "%", "_", "' OR '1'='1", "KUJI-OD-2025-0117' --"):
        r = run(repo, "aip", "show", typed)
        assert r.exit_code == 2 and f"no AIP {typed!r} in the catalog" in r.output, (typed, r.output)
    r = run(repo, "aip", "show", "O'Brien 100%_\"x\"")
    assert r.exit_code == 0 and r.output.startswith(f"AIP {odd}\n"), r.output
    r = run(repo, "aip", "show", "KUJI-OD-2025-0117")
    assert r.exit_code == 0 and r.output.startswith(f"AIP {plain}\n"), r.output


def test_ids_in_upper_case_and_with_spaces(repo: Repository, bags: Path) -> None:
    aip = take_in(repo, bags, "a", ext=EXT)
    take_in(repo, bags, "b")
    for typed in (aip.upper(), "URN:UUID:" + bare(aip), bare(aip).upper()[:8], f"  {bare(aip)[:8]}\t",
                  f"\n{aip}\n", f" {EXT} "):
        r = run(repo, "aip", "show", typed)
        assert r.exit_code == 0 and r.output.startswith(f"AIP {aip}\n"), (typed, r.output)
    for typed in ("", "   ", "\t"):
        r = run(repo, "hold", "add", typed, "--reason", "x")
        assert r.exit_code == 2 and "error: no AIP id given" in r.output, (typed, r.output)
    # bytes that are not UTF-8 (a shell passes them as they are): no AIP, no traceback
    for typed in (os.fsdecode(b"KUJI-\xff"), os.fsdecode(b"\xff") * 8):
        r = run(repo, "aip", "show", typed)
        assert r.exit_code == 2 and f"error: no AIP {printable(typed)!r} in the catalog" in r.output, (typed, r.output)
    r = run(repo, "transfer", "ack", os.fsdecode(b"\xff") * 8)
    assert r.exit_code == 2 and "no rejected transfer" in r.output, r.output


def test_an_eight_character_prefix_two_aips_share_is_refused_by_commands_that_change(
        repo: Repository, bags: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid

    real = uuid.uuid4
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(hex="42e11118" + real().hex[8:]))
    a, b = take_in(repo, bags, "a"), take_in(repo, bags, "b")
    monkeypatch.setattr(uuid, "uuid4", real)
    assert run(repo, "hold", "add", a, "--reason", "one").exit_code == 0
    assert run(repo, "hold", "add", b, "--reason", "two").exit_code == 0
    (tmp_path / "n.txt").write_text("n")
    for args in (["hold", "remove", "42e11118", "--reason", "x"], ["hold", "add", "42E11118", "--reason", "x"],
                 ["aip", "update", "42e11118", "--add", f"{tmp_path / 'n.txt'}=n.txt", "--reason", "x"],
                 ["repair", "42e11118"], ["migrate", "42e11118"]):
        r = run(repo, *args)
        assert r.exit_code == 2 and "'42e11118' names 2 AIPs" in r.output.replace("42E11118", "42e11118"), \
            (args, r.output)
    assert len(repo.catalog.lifecycle.holds()) == 2 and {repo.catalog.aip(x)["head"] for x in (a, b)} == {"v1"}


def test_a_destroyed_record_sharing_an_external_identifier_with_a_live_one(repo: Repository, bags: Path) -> None:
    old = take_in(repo, bags, "old", ext=EXT)
    repo.catalog.conn.execute("UPDATE aips SET state = 'destroyed' WHERE id = ?", [old])  # as a disposal leaves it
    new = take_in(repo, bags, "new", ext=EXT)  # the same identifier arrives again: a record of its own
    assert new != old
    r = run(repo, "aip", "show", EXT)
    assert r.exit_code == 2 and f"'{EXT}' names 2 AIPs" in r.output, r.output
    assert f"  {old}  {EXT}  Spis old  [destroyed]\n" in r.output and f"  {new}  {EXT}  Spis new\n" in r.output
    r = run(repo, "hold", "add", EXT, "--reason", "x")
    assert r.exit_code == 2 and repo.catalog.lifecycle.holds() == []
    assert run(repo, "hold", "add", new, "--reason", "x").exit_code == 0


def test_digits_that_are_a_hold_id_and_another_records_external_identifier(repo: Repository, bags: Path) -> None:
    """`hold remove 2`: hold 2 is on one record, "2" the External-Identifier of another under
    one hold. Neither is chosen silently; `'hold 2'` (as `hold list` prints it) names the hold."""
    a = take_in(repo, bags, "a", ext="2")
    b = take_in(repo, bags, "b")
    assert run(repo, "hold", "add", a, "--reason", "first").exit_code == 0  # hold 1, on a ("2")
    assert run(repo, "hold", "add", b, "--reason", "second").exit_code == 0  # hold 2, on b
    r = run(repo, "hold", "remove", "2", "--reason", "over")
    assert r.exit_code == 2, r.output
    assert r.output.startswith(f"error: '2' names hold 2 (on {b}) and the AIP {a}; nothing was released\n"), r.output
    assert len(repo.catalog.lifecycle.holds()) == 2
    r = run(repo, "hold", "remove", "hold 2", "--reason", "over")
    assert r.exit_code == 0 and r.output.startswith(f"hold 2 released on {b}: over"), r.output
    r = run(repo, "hold", "remove", a, "--reason", "over")
    assert r.exit_code == 0 and r.output.startswith(f"hold 1 released on {a}: over"), r.output
    # a hold id on the record the digits also name is no conflict
    assert run(repo, "hold", "add", a, "--reason", "third").exit_code == 0  # hold 3
    c = take_in(repo, bags, "c", ext="3")
    assert run(repo, "hold", "add", c, "--reason", "fourth").exit_code == 0  # hold 4
    r = run(repo, "hold", "remove", "4", "--reason", "done")
    assert r.exit_code == 0 and r.output.startswith(f"hold 4 released on {c}"), r.output
    r = run(repo, "hold", "remove", "hold 99", "--reason", "done")
    assert r.exit_code == 2 and "error: no hold 99" in r.output, r.output


# --- 2. holds as an insider, twice at once, after a rebuild -------------------------------------


def _two_holds_one_released(repo: Repository, held: str) -> None:
    assert run(repo, "hold", "add", held, "--reason", "court case 12 C 34/2026").exit_code == 0
    assert run(repo, "hold", "add", held, "--reason", "test hold").exit_code == 0
    assert run(repo, "hold", "remove", "2", "--reason", "test over").exit_code == 0


@pytest.mark.parametrize("edit", ["DELETE FROM holds WHERE id = 1",
                                  ("UPDATE holds SET released = '2026-01-01T00:00:00Z', released_by = 'x', "
                                   "release_reason = 'x' WHERE id = 1"),
                                  ("UPDATE holds SET aip_id = (SELECT MIN(id) FROM aips WHERE id <> holds.aip_id) "
                                   "WHERE id = 1")], ids=["deleted", "released", "moved"])
def test_a_hold_row_deleted_or_edited_by_an_insider_still_holds(repo: Repository, tmp_path: Path,
                                                                records: dict[str, str], edit: str) -> None:  # noqa: F811
    from archa.lifecycle.holds import hold_problems

    held = records["held"]
    _two_holds_one_released(repo, held)
    insider_sql(repo, edit)
    problems = hold_problems(repo, [held])
    assert "the catalog and the anchored log disagree on its legal hold" in problems[held], problems
    assert "the holds table says it is not held, the catalog's event log that it is held (1 hold)" in problems[held]
    proposal = _propose(repo, tmp_path)
    assert held in proposal["held"] and held not in {i["aip_id"] for i in proposal["items"]}  # type: ignore
    # the edit went through the journal's triggers (a rebuild gives it back); the log still holds it
    lose_catalog(repo)
    assert run(repo, "catalog", "rebuild").exit_code == 0
    assert "the catalog and the anchored log disagree" in hold_problems(repo, [held])[held]


def test_a_hold_event_deleted_with_its_row_is_caught_by_the_anchored_logs(repo: Repository, tmp_path: Path,
                                                                          records: dict[str, str]) -> None:  # noqa: F811
    """The insider removes the hold row and its `placed` event from the catalog: the catalog
    then agrees with itself, but every location's anchored log still has the hold."""
    from archa.lifecycle.holds import hold_problems

    held = records["held"]
    _two_holds_one_released(repo, held)
    insider_sql(repo, "DELETE FROM holds WHERE aip_id = ?", held)
    insider_sql(repo, "DELETE FROM events WHERE type = 'policy assignment' AND aip_id = ?", held)
    problems = hold_problems(repo, [held])
    assert "the log at hot says it is held (1 hold), the catalog's that it was not held" in problems[held], problems
    assert held in _propose(repo, tmp_path)["held"]  # type: ignore[operator]
    assert run(repo, "events", "verify").exit_code == 1


def test_a_fake_released_row_does_not_change_which_hold_is_released(repo: Repository,
                                                                    records: dict[str, str]) -> None:  # noqa: F811
    from archa.lifecycle.holds import hold_problems

    held = records["held"]
    assert run(repo, "hold", "add", held, "--reason", "court case").exit_code == 0
    insider_sql(repo, "INSERT INTO holds (aip_id, reason, placed, placed_by, released, released_by, release_reason) "
                      "VALUES (?, 'fake', '2020-01-01T00:00:00Z', 'mallory', '2020-01-02T00:00:00Z', 'mallory', 'x')",
                held)
    r = run(repo, "hold", "remove", held, "--reason", "case closed")
    assert r.exit_code == 0 and r.output.startswith(f"hold 1 released on {held}: case closed"), r.output
    assert hold_problems(repo, [held]) == {}
    assert [(h["id"], h["reason"]) for h in repo.catalog.lifecycle.holds(held, active=False)] == \
        [(2, "fake"), (1, "court case")]


_RELEASE = """
import sys
from archa.lifecycle.holds import remove_hold
from archa.repository.repo import Repository
from archa.errors import UsageError
from pathlib import Path
repo = Repository.open(Path(sys.argv[1]))
sys.stdin.readline()  # both start together
try:
    remove_hold(repo, int(sys.argv[2]), "released at once")
    print("released")
except UsageError as e:
    print("refused", e.message)
repo.close()
"""


def test_one_hold_released_twice_at_once_is_released_once(repo: Repository, records: dict[str, str],  # noqa: F811
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from archa.errors import UsageError
    from archa.lifecycle import holds as holds_mod
    from archa.lifecycle.holds import hold_problems

    held = records["held"]
    assert run(repo, "hold", "add", held, "--reason", "court case").exit_code == 0
    assert run(repo, "hold", "add", held, "--reason", "test hold").exit_code == 0
    # the second release reads the row before the first commits (a race made certain in process)
    real = repo.catalog.lifecycle.hold
    seen: list[int] = []

    def stale(hold_id: int) -> dict[str, object] | None:
        row = real(hold_id)
        if row is not None and not seen:
            seen.append(hold_id)
            holds_mod.remove_hold.__wrapped__(repo, hold_id, "the first release")  # type: ignore[attr-defined]
        return row

    monkeypatch.setattr(repo.catalog.lifecycle, "hold", stale)
    with pytest.raises(UsageError, match="was released .* already"):
        holds_mod.remove_hold(repo, 2, "the second release")
    monkeypatch.undo()
    releases = [e for e in repo.catalog.events() if (e["detail"] or "").startswith("legal hold released (hold 2)")]
    assert len(releases) == 1, releases
    assert hold_problems(repo, [held]) == {held: "under a legal hold (archa hold list)"}
    # and as two processes do it
    procs = [subprocess.Popen([sys.executable, "-c", _RELEASE, str(repo.root), "1"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
             for _ in range(2)]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
    assert outs[1] == "released" and outs[0].startswith("refused hold 1 on"), outs
    assert hold_problems(repo, [held]) == {}
    assert [e["detail"][:28] for e in repo.catalog.events() if (e["detail"] or "").startswith("legal hold rel")] \
        == ["legal hold released (hold 2)"] + ["legal hold released (hold 1)"]
    assert run(repo, "events", "verify").exit_code == 0


def test_hold_ids_come_back_after_the_catalog_is_lost(repo: Repository, tmp_path: Path,
                                                      records: dict[str, str]) -> None:  # noqa: F811
    from archa.lifecycle.holds import hold_problems

    held, gone = records["held"], records["gone"]
    _two_holds_one_released(repo, held)
    assert run(repo, "hold", "add", gone, "--reason", "inspection").exit_code == 0  # hold 3
    before = [(h["id"], h["aip_id"], h["reason"], h["released"]) for h in repo.catalog.lifecycle.holds(active=False)]
    lose_catalog(repo)
    r = run(repo, "catalog", "rebuild")
    assert r.exit_code == 0, r.output
    after = [(h["id"], h["aip_id"], h["reason"], h["released"]) for h in repo.catalog.lifecycle.holds(active=False)]
    assert after == before
    assert hold_problems(repo, [held, gone]) == {held: "under a legal hold (archa hold list)",
                                                 gone: "under a legal hold (archa hold list)"}
    r = run(repo, "hold", "add", gone, "--reason", "another")
    assert r.exit_code == 0 and r.output.startswith("hold 4 placed"), r.output  # a new id, none reused
    r = run(repo, "hold", "remove", "2", "--reason", "again")
    assert r.exit_code == 2 and "was released on" in r.output, r.output


# --- 3. paths given to ingest that are no SIP; rejections acknowledged ----------------------------


def _nothing_recorded(repo: Repository) -> None:
    assert repo.catalog.transfers() == [] and repo.catalog.aips() == []
    assert repo.catalog.intake.rejected_transfers() == []


def _plain(where: Path) -> Path:
    where.mkdir(parents=True)
    (where / "dopis.txt").write_text("Vážený pane,\n", "utf-8")
    return where


def test_a_link_to_a_plain_folder_or_to_nothing_is_a_usage_error(repo: Repository, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(_plain(tmp_path / "share"), target_is_directory=True)
    r = run(repo, "ingest", str(tmp_path / "link"))
    assert r.exit_code == 2 and "a plain folder, not a BagIt bag" in r.stderr, r.output
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    r = run(repo, "ingest", str(tmp_path / "dangling"))
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"error: {tmp_path / 'dangling'}: no such file or folder (a link to "
                               f"{tmp_path / 'gone'}, which does not exist); nothing was ingested or recorded\n"), \
        r.stderr
    _nothing_recorded(repo)
    (tmp_path / "baglink").symlink_to(write_bag(tmp_path / "bag", {"a.txt": b"a"}), target_is_directory=True)
    r = run(repo, "ingest", str(tmp_path / "baglink"))
    assert r.exit_code == 0, r.output


def test_a_file_that_is_no_archive_is_a_recorded_rejection_until_acknowledged(repo: Repository,
                                                                                tmp_path: Path) -> None:
    """notes.txt given to ingest is a SIP of another kind (SIP001, docs/design.md): recorded,
    shown by `status` until acknowledged, never a traceback."""
    (tmp_path / "notes.txt").write_text("poznámky\n", "utf-8")
    r = run(repo, "ingest", str(tmp_path / "notes.txt"))
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert f"error: SIP001 {tmp_path / 'notes.txt'}: not a bag directory or a serialized bag" in r.stderr, r.stderr
    (rejected,) = repo.catalog.intake.rejected_transfers()
    assert [t["id"] for t in json.loads(run(repo, "status", "--json").stdout)["rejected_transfers"]] == \
        [rejected["id"]]
    assert run(repo, "transfer", "ack", rejected["id"][9:17], "--reason", "a slip").exit_code == 0
    assert json.loads(run(repo, "status", "--json").stdout)["rejected_transfers"] == []


@pytest.mark.parametrize("make", ["empty zip", "zero bytes", "plain folder zipped", "not a zip"])
def test_a_serialized_sip_that_holds_no_bag_is_a_recorded_rejection(repo: Repository, tmp_path: Path,
                                                                    make: str) -> None:
    """A .zip is what a producer sends: one without a bag in it is rejected and recorded (and
    shown until acknowledged), never a traceback."""
    sip = tmp_path / "od-obce.zip"
    if make == "empty zip":
        zipfile.ZipFile(sip, "w").close()
    elif make == "zero bytes":
        sip.write_bytes(b"")
    elif make == "plain folder zipped":
        zip_dir(_plain(tmp_path / "share"), sip, top="share")
    else:
        sip.write_text("not a zip\n")
    r = run(repo, "ingest", str(sip))
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert r.stderr.startswith("error: ") and "recorded as rejected" in r.stderr, r.stderr
    (rejected,) = repo.catalog.intake.rejected_transfers()
    assert rejected["source"] == str(sip) and repo.catalog.aips() == []


def test_odd_paths_given_to_ingest(repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shlex

    monkeypatch.chdir(tmp_path)
    def ingest_cli(name: str) -> Result:
        return CliRunner().invoke(cli, ["ingest", "--repo", str(repo.root), "--", name])

    for name in ("řádek\ndva", "-x", os.fsdecode(b"spis-\xff"), "a 'quoted' \"name\""):
        r = ingest_cli(name)
        assert r.exit_code == 2 and "no such file or folder; nothing was ingested or recorded" in r.stderr, \
            (name, r.output)
        assert "Traceback" not in r.output
    _nothing_recorded(repo)
    # a plain folder whose name starts with "-": the hint pastes as the folder, not as an option
    _plain(tmp_path / "-x")
    r = ingest_cli("-x")
    assert r.exit_code == 2 and "a plain folder, not a BagIt bag" in r.stderr, r.output
    (hint,) = [x for x in r.stderr.splitlines() if x.startswith("hint: ")]
    pasted = shlex.split(hint.split(": ", 2)[-1])
    done = CliRunner().invoke(cli, pasted[1:])
    assert done.exit_code == 0, (pasted, done.output)
    assert len(repo.catalog.aips()) == 1
    # a folder with a line break in its name: the hint quotes it whole
    _plain(tmp_path / "řádek\ndva")
    r = run(repo, "ingest", "řádek\ndva")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "error: řádek\\ndva: a plain folder" in r.stderr, r.stderr
    _, _, command = r.stderr.partition("hint: bag it and ingest it in one step: ")
    assert shlex.split(command)[3] == "řádek\ndva", command
    # a name that is not UTF-8: shown with \xNN, nothing recorded, no traceback
    _plain(tmp_path / os.fsdecode(b"spis-\xff"))
    r = run(repo, "ingest", os.fsdecode(b"spis-\xff"))
    assert r.exit_code == 2 and "error: spis-\\xff: a plain folder" in r.stderr and "Traceback" not in r.output
    assert len(repo.catalog.transfers()) == 1  # the "-x" one, accepted


def _broken(tmp_path: Path, name: str) -> Path:
    bag = write_bag(tmp_path / name, {"a.txt": name.encode()})
    (bag / "data" / "a.txt").write_bytes(b"changed")
    return bag


def test_acknowledgements_by_every_route(repo: Repository, tmp_path: Path) -> None:
    assert run(repo, "ingest", str(_broken(tmp_path, "one"))).exit_code == 2
    (rejected,) = repo.catalog.intake.rejected_transfers()
    tid = rejected["id"]
    status = json.loads(run(repo, "status", "--json").stdout)
    assert [t["id"] for t in status["rejected_transfers"]] == [tid]
    for typed, code, said in (("urn:uuid:00000000-0000-4000-8000-000000000000", 2, "no rejected transfer"),
                              ("0000", 2, "no rejected transfer '0000'"), ("", 2, "no rejected transfer"),
                              ("%", 2, "no rejected transfer '%'")):
        r = run(repo, "transfer", "ack", typed)
        assert r.exit_code == code and said in r.stderr and "Traceback" not in r.output, (typed, r.output)
    r = run(repo, "transfer", "ack")
    assert r.exit_code == 2 and "give a TRANSFER_ID or --before DATE" in r.stderr
    r = run(repo, "transfer", "ack", tid, "--before", "2026-01-01")
    assert r.exit_code == 2 and "not both" in r.stderr
    r = run(repo, "transfer", "ack", "--before", "tomorrow")
    assert r.exit_code == 2 and "Traceback" not in r.output
    # a date in the future: every rejection so far; then nothing more to acknowledge
    r = run(repo, "transfer", "ack", "--before", "2999-12-31", "--reason", "all told")
    assert r.exit_code == 0 and r.stdout.endswith("1 rejected transfer(s) received before 2999-12-31 acknowledged\n")
    r = run(repo, "transfer", "ack", "--before", "2999-12-31")
    assert r.exit_code == 0 and r.stdout == "0 rejected transfer(s) received before 2999-12-31 acknowledged\n"
    r = run(repo, "transfer", "ack", tid.upper().replace("URN:UUID:", "urn:uuid:"))
    assert r.exit_code == 0 and r.stdout.startswith("already acknowledged ("), r.output
    acks = [e for e in repo.catalog.events() if e["type"] == "acknowledgement"]
    assert len(acks) == 1
    assert json.loads(run(repo, "status", "--json").stdout)["rejected_transfers"] == []
    # kept by the log in storage: a catalog lost and rebuilt knows it acknowledged
    lose_catalog(repo)
    assert run(repo, "catalog", "rebuild").exit_code == 0
    assert [bool(t["acknowledged"]) for t in repo.catalog.intake.rejected_transfers()] == [True]
    assert json.loads(run(repo, "status", "--json").stdout)["rejected_transfers"] == []
    # an insider deleting the acknowledgement from the catalog alone: shown again, and noticed
    insider_sql(repo, "DELETE FROM events WHERE type = 'acknowledgement'")
    assert [t["id"] for t in json.loads(run(repo, "status", "--json").stdout)["rejected_transfers"]] == [tid]
    r = run(repo, "events", "verify")
    assert r.exit_code == 1, r.output


# --- 4. duplicates: after updates, another originator, destruction, a tampered fingerprint -------


def _again(repo: Repository, tmp_path: Path, name: str, *extra: str) -> Result:
    """The same payload as take_in's bag `a` ("a.txt"), as a new bag of its own."""
    bag = write_bag(tmp_path / name, {"a.txt": b"a" * 20}, info={"External-Description": name})
    return run(repo, "ingest", str(bag), *extra)


def test_the_same_content_after_two_updates_names_the_first_version(repo: Repository, bags: Path,
                                                                      tmp_path: Path) -> None:
    aip = take_in(repo, bags, "a")
    for n in (1, 2):
        (tmp_path / f"n{n}.txt").write_text(f"note {n}\n")
        r = run(repo, "aip", "update", aip, "--add", f"{tmp_path / f'n{n}.txt'}=n{n}.txt", "--reason", f"note {n}")
        assert r.exit_code == 0, r.output
    assert repo.catalog.aip(aip)["head"] == "v3"
    r = _again(repo, tmp_path, "resent")
    assert r.exit_code == 2, r.output
    assert f"held already as {aip} v1 (its newest version is v3)" in r.stderr, r.stderr
    # v2's content (v1 + n1.txt) sent again names v2
    bag = write_bag(tmp_path / "v2-again", {"a.txt": b"a" * 20, "n1.txt": b"note 1\n"}, info={"X": "y"})
    r = run(repo, "ingest", str(bag))
    assert r.exit_code == 2 and f"held already as {aip} v2 (its newest version is v3)" in r.stderr, r.stderr
    assert len(repo.catalog.aips()) == 1


def test_the_same_content_when_the_head_went_back_to_the_first_version(repo: Repository, bags: Path,
                                                                       tmp_path: Path) -> None:
    aip = take_in(repo, bags, "a")
    (tmp_path / "n.txt").write_text("n\n")
    assert run(repo, "aip", "update", aip, "--add", f"{tmp_path / 'n.txt'}=n.txt", "--reason", "n").exit_code == 0
    r = run(repo, "aip", "update", aip, "--remove", "n.txt", "--reason", "n was a mistake")
    assert r.exit_code == 0, r.output
    assert repo.catalog.aip(aip)["head"] == "v3"
    r = _again(repo, tmp_path, "resent")
    assert r.exit_code == 2, r.output
    assert f"held already as {aip} v3\n" in r.stderr, r.stderr  # the newest that holds it, said plainly
    # as its next version by External-Identifier: refused as what v3 holds already
    bag = write_bag(tmp_path / "by-ext", {"a.txt": b"a" * 20}, info={"External-Identifier": "K-1"})
    assert run(repo, "ingest", str(bag), "--allow-duplicate").exit_code == 0
    (other,) = [a["id"] for a in repo.catalog.aips() if a["id"] != aip]
    bag = write_bag(tmp_path / "by-ext-2", {"a.txt": b"a" * 20}, info={"External-Identifier": "K-1"})
    r = run(repo, "ingest", str(bag))
    assert r.exit_code == 2 and "DUP001" in r.stderr, r.stderr
    assert f"held already as {aip} v3\n" in r.stderr or f"held already as {other} v1\n" in r.stderr, r.stderr
    assert repo.catalog.aip(other)["head"] == "v1"


def test_the_same_content_under_another_originator_is_named_and_can_be_kept(repo: Repository, bags: Path,
                                                                            tmp_path: Path) -> None:
    for org, name in (("obec-lhota", "Obec Lhota"), ("obec-brtnice", "Obec Brtnice")):
        assert run(repo, "originator", "add", org, "--name", name).exit_code == 0
    bag = write_bag(tmp_path / "lhota", {"a.txt": b"a" * 20}, info={"External-Description": "Lhota"})
    assert ingest(repo, bag, IngestOptions(originator="obec-lhota")).stored
    (first,) = repo.catalog.aips()
    r = _again(repo, tmp_path, "brtnice", "--originator", "obec-brtnice")
    assert r.exit_code == 2 and f"held already as {first['id']} v1" in r.stderr, r.stderr
    assert "--allow-duplicate" in r.stderr
    r = _again(repo, tmp_path, "brtnice2", "--originator", "obec-brtnice", "--allow-duplicate")
    assert r.exit_code == 0, r.output
    assert sorted(a["originator_id"] for a in repo.catalog.aips()) == ["obec-brtnice", "obec-lhota"]


def test_the_same_records_after_their_destruction_are_taken_as_new(repo: Repository, tmp_path: Path,
                                                                   records: dict[str, str]) -> None:  # noqa: F811
    """A record destroyed in a disposal procedure, sent again (the same package): a new AIP,
    not a duplicate of a tombstone nor its next version."""
    from tests import nsesss_maker as mk
    from tests.test_disposal import shredded

    pid = str(_propose(repo, tmp_path)["proposal"])
    assert run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A", "--keep", "KU-SIP_H").exit_code == 0
    r = run(repo, "disposal", "destroy", pid, "--yes")
    assert r.exit_code == 0, r.output
    assert repo.catalog.aip(records["gone"])["state"] == "destroyed"
    pkg = mk.fresh_package(name="SIP_S", ident="KU-SIP_S", title="Spis SIP_S", closed="2015-06-30", period=5,
                           **shredded())  # type: ignore[arg-type]  # as test_disposal's _take_in
    r = run(repo, "transfer", "nsesss", str(mk.write_package(tmp_path / "again", pkg)), "--ingest", "--json")
    assert r.exit_code == 0, r.output
    new = json.loads(r.stdout)["ingest"]["aip_id"]
    assert new != records["gone"] and json.loads(r.stdout)["ingest"]["version"] == "v1"
    # its entity id now names the live record and the tombstone: neither is guessed
    r = run(repo, "hold", "add", "KU-SIP_S", "--reason", "x")
    assert r.exit_code == 2 and "'KU-SIP_S' names 2 AIPs" in r.output and "[destroyed]" in r.output, r.output
    # and a plain bag whose content a destroyed AIP held is new too
    plain = take_in(repo, tmp_path, "plain", ext="KUJI-1")
    repo.catalog.conn.execute("UPDATE aips SET state = 'destroyed' WHERE id = ?", [plain])
    (tmp_path / "second").mkdir()
    again = take_in(repo, tmp_path / "second", "plain", ext="KUJI-1")
    assert again != plain and repo.catalog.aip(again)["head"] == "v1"


@pytest.mark.parametrize("tamper", ["NULL", "'0000'"])
def test_a_tampered_version_fingerprint_is_reported_by_rebuild_check(repo: Repository, bags: Path, tmp_path: Path,
                                                                     tamper: str) -> None:
    """An insider blanks or changes `versions.payload_digest`: the duplicate check no longer
    sees that version (ingest would store the same content again), but `catalog rebuild
    --check` names the column changed, and a rebuild puts it right."""
    aip = take_in(repo, bags, "a")
    (tmp_path / "n.txt").write_text("n\n")
    assert run(repo, "aip", "update", aip, "--add", f"{tmp_path / 'n.txt'}=n.txt", "--reason", "n").exit_code == 0
    r = run(repo, "catalog", "rebuild", "--check")
    assert r.exit_code == 0 and "the same as the live catalog" in r.output, r.output
    insider_sql(repo, f"UPDATE versions SET payload_digest = {tamper} WHERE aip_id = ? AND version = 'v1'", aip)
    r = run(repo, "catalog", "rebuild", "--check")
    assert r.exit_code == 1, r.output
    assert f"version fingerprint {aip} v1: current {'None' if tamper == 'NULL' else '0000'}, rebuilt " in r.output, \
        r.output
    lose_catalog(repo)
    assert run(repo, "catalog", "rebuild").exit_code == 0
    r = _again(repo, tmp_path, "resent")
    assert r.exit_code == 2 and f"held already as {aip} v1 (its newest version is v2)" in r.stderr, r.stderr


# --- 5. dip export: what OUT's name says --------------------------------------------------------


def test_dip_export_names_of_every_kind(repo: Repository, bags: Path, tmp_path: Path) -> None:
    aip = take_in(repo, bags, "a")
    r = run(repo, "dip", "export", aip, str(tmp_path / "REQUEST.ZIP"), "--originals")
    assert r.exit_code == 0 and "(zip)" in r.stdout, r.output
    with zipfile.ZipFile(tmp_path / "REQUEST.ZIP") as z:
        assert "REQUEST/objects/a.txt" in z.namelist(), z.namelist()
    r = run(repo, "dip", "export", aip, str(tmp_path / "x.Bag.Zip"), "--originals")
    assert r.exit_code == 0 and "(bag-zip)" in r.stdout, r.output
    with zipfile.ZipFile(tmp_path / "x.Bag.Zip") as z:
        assert "x/bagit.txt" in z.namelist(), z.namelist()
    r = run(repo, "dip", "export", aip, str(tmp_path / "y.zip"), "--format", "bag-zip", "--originals")
    assert r.exit_code == 0 and "(bag-zip)" in r.stdout, r.output
    for name, fmt, said in (("x.tar.gz", None, "x.tar.gz: a .tar.gz file, and archa writes no such DIP"),
                            ("x.TGZ", None, "x.TGZ: a .tgz file"), ("x.tar.gz", "zip", "a .tar.gz file"),
                            ("z.bag.zip", "zip", "--format zip does not go with OUT 'z.bag.zip'"),
                            ("z.zip", "bag", "--format bag does not go with OUT 'z.zip'"),
                            ("z.zip", "iiif", "--format iiif does not go with OUT 'z.zip'")):
        r = run(repo, "dip", "export", aip, str(tmp_path / name), *(["--format", fmt] if fmt else []))
        assert r.exit_code == 2 and said in r.stderr, (name, fmt, r.output)
        assert not (tmp_path / name).exists()
    # a parent that does not exist; OUT that exists (a file, or a folder named .zip)
    r = run(repo, "dip", "export", aip, str(tmp_path / "nowhere" / "r.zip"))
    assert r.exit_code == 2 and f"error: {tmp_path / 'nowhere'}: no such directory" in r.stderr, r.output
    assert not (tmp_path / "nowhere").exists()
    (tmp_path / "taken.zip").write_bytes(b"someone's file")
    (tmp_path / "taken-dir.zip").mkdir()
    for name in ("taken.zip", "taken-dir.zip"):
        r = run(repo, "dip", "export", aip, str(tmp_path / name))
        assert r.exit_code == 2 and "exists already; archa does not overwrite it" in r.stderr, r.output
    assert (tmp_path / "taken.zip").read_bytes() == b"someone's file" and (tmp_path / "taken-dir.zip").is_dir()
    r = run(repo, "dip", "export", aip, str(tmp_path / "taken-dir.zip"), "--force", "--originals")
    assert r.exit_code == 0 and zipfile.is_zipfile(tmp_path / "taken-dir.zip"), r.output
    # nothing half-made left beside any of them
    assert not [p.name for p in tmp_path.iterdir() if "archa-partial" in p.name]


def test_reasons_with_bytes_that_are_not_utf8(repo: Repository, bags: Path, tmp_path: Path) -> None:
    """A reason typed in a terminal set to another encoding (`--reason $'spis \\xe8. 17'`):
    recorded as archa shows such names (\\xNN), never a traceback."""
    aip = take_in(repo, bags, "a")
    odd = os.fsdecode(b"spis \xe8. 17")
    r = run(repo, "hold", "add", aip, "--reason", odd)
    assert r.exit_code == 0 and r.output == f"hold 1 placed on {aip}: spis \\xe8. 17\n", r.output
    r = run(repo, "hold", "remove", "1", "--reason", odd)
    assert r.exit_code == 0 and r.output.startswith(f"hold 1 released on {aip}: spis \\xe8. 17"), r.output
    assert run(repo, "ingest", str(_broken(tmp_path, "one"))).exit_code == 2
    r = run(repo, "transfer", "ack", "--before", "2999-01-01", "--reason", odd)
    assert r.exit_code == 0, r.output
    assert run(repo, "events", "verify").exit_code == 0


def test_one_rejection_acknowledged_twice_at_once_is_acknowledged_once(repo: Repository, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from archa.ingest.rejections import acknowledge

    assert run(repo, "ingest", str(_broken(tmp_path, "one"))).exit_code == 2
    (rejected,) = repo.catalog.intake.rejected_transfers()
    real = repo.catalog.intake.rejected_transfers
    stale = real()  # what the second command read, before the first one's acknowledgement

    def raced(before: str | None = None) -> list[dict[str, object]]:
        monkeypatch.setattr(repo.catalog.intake, "rejected_transfers", real)
        acknowledge.__wrapped__(repo, rejected["id"], reason="the first")  # type: ignore[attr-defined]
        return [dict(r) for r in stale]

    monkeypatch.setattr(repo.catalog.intake, "rejected_transfers", raced)
    result = acknowledge(repo, rejected["id"], reason="the second")
    assert result.acknowledged == [] and [r["id"] for r in result.already] == [rejected["id"]]
    assert result.already[0]["acknowledged"]
    acks = [e for e in repo.catalog.events() if e["type"] == "acknowledgement"]
    assert [a["detail"].rsplit(": ", 1)[1] for a in acks] == ["the first"]
