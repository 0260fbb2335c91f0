"""An archivist's first day (issue #28), as typed: records found by the ids people type (the
bare UUID, 8 characters of it, the External-Identifier, an NSESSS entity id), an ambiguous or
mistyped one answered with the candidates or the closest ids; holds one at a time, each with
its id, one released of two leaving the record held wherever the disposal procedure looks;
a mistyped command gets a suggestion and `archa help CMD` prints its help."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.ingest.ingest import IngestOptions, ingest
from archa.repository import aipid
from archa.repository.repo import Repository
from tests.bagmaker import write_bag
from tests.catalogs import catalog_url, insider_sql, lose_catalog
from tests.test_disposal import _propose, records  # noqa: F401  (a fixture)

EXT = "KUJI-OD-2025-0117"


def run(repo: Repository, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    return r.exit_code, r.output


def take_in(repo: Repository, bags: Path, name: str, ext: str = "", allow_duplicate: bool = False) -> str:
    info = {"External-Description": f"Spis {name}", **({"External-Identifier": ext} if ext else {})}
    bag = write_bag(bags / name, {f"{name}.txt": name.encode() * 20}, info=info)
    return ingest(repo, bag, IngestOptions(allow_duplicate=allow_duplicate)).aip_id


@pytest.fixture
def shared_prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """New UUIDs all begin 42e11118 (the rest random): two AIPs sharing a prefix."""
    real = uuid.uuid4
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(hex="42e11118" + real().hex[8:]))
    yield
    monkeypatch.setattr(uuid, "uuid4", real)


# --- ids as people type them -------------------------------------------------------------------

def test_an_aip_is_found_by_every_form_people_type(repo: Repository, bags: Path, tmp_path: Path) -> None:
    aip = take_in(repo, bags, "a", ext=EXT)
    take_in(repo, bags, "b", ext="KUJI-OD-2025-0118")
    bare = aip.removeprefix("urn:uuid:")
    for typed in (aip, bare, bare.upper(), bare[:8], f"urn:uuid:{bare[:8]}", bare[:13], f" {EXT} "):
        code, out = run(repo, "aip", "show", typed)
        assert code == 0, (typed, out)
        assert out.startswith(f"AIP {aip}\n  label:   Spis a\n  external id: {EXT}\n"), (typed, out)
    # every command taking an AIP id takes them alike, and names the record by its whole id
    code, out = run(repo, "hold", "add", bare[:8], "--reason", "court case 12 C 34/2026")
    assert (code, out) == (0, f"hold 1 placed on {aip}: court case 12 C 34/2026\n")
    code, out = run(repo, "events", "list", "--aip", EXT, "--json")
    assert code == 0 and {e["aip_id"] for e in json.loads(out)} == {aip}, out
    code, out = run(repo, "fixity", "audit", "--all", "--aip", bare, "--json")
    assert code == 0 and {a["aip_id"] for a in json.loads(out)["audits"]} == {aip}, out
    code, out = run(repo, "repair", bare[:10])
    assert code == 0 and "nothing to repair" in out, out
    code, out = run(repo, "dip", "export", EXT, str(tmp_path / "dip"), "--originals", "--json")
    assert code == 0 and json.loads(out)["aip_id"] == aip, out
    code, out = run(repo, "events", "export", str(tmp_path / "log.jsonl"), "--format", "jsonl", "--aip", bare[:8])
    assert code == 0 and {json.loads(line)["aip_id"] for line in (tmp_path / "log.jsonl").read_text().splitlines()} \
        == {aip}, out
    (tmp_path / "note.txt").write_text("a note\n")
    code, out = run(repo, "aip", "update", EXT, "--add", f"{tmp_path / 'note.txt'}=note.txt", "--reason", "note")
    assert code == 0 and out.startswith(f"{aip} v2 (from v1)"), out


def test_an_nsesss_entity_id_names_its_record(repo: Repository, records: dict[str, str]) -> None:  # noqa: F811
    code, out = run(repo, "aip", "show", "KU-SIP_H", "--json")
    assert code == 0 and json.loads(out)["aip"]["id"] == records["held"], out
    code, out = run(repo, "hold", "add", "KU-SIP_S", "--reason", "inspection", "--json")
    assert code == 0 and json.loads(out)["aip_id"] == records["gone"], out


def test_a_prefix_two_aips_share_lists_them(repo: Repository, bags: Path, shared_prefix: None) -> None:
    first, second = take_in(repo, bags, "a"), take_in(repo, bags, "b")
    assert first.startswith("urn:uuid:42e11118") and second.startswith("urn:uuid:42e11118")
    code, out = run(repo, "aip", "show", "42e11118")
    assert code == 2, out
    lines = out.splitlines()
    assert lines[:2] == ["error: '42e11118' names 2 AIPs",
                         "hint: give more of the id (or the whole id) of the one you mean:"], out
    assert sorted(lines[2:]) == sorted([f"  {first}  Spis a", f"  {second}  Spis b"]), out
    code, out = run(repo, "hold", "add", "urn:uuid:42e11118", "--reason", "x", "--json")
    data = json.loads(out)
    assert code == 2 and data["error"] == "AmbiguousAipId", out
    assert sorted(c["id"] for c in data["candidates"]) == sorted([first, second])
    assert repo.catalog.lifecycle.holds() == []  # nothing placed
    longer = first.removeprefix("urn:uuid:")[:20]  # enough to tell them apart (random past the 8th)
    code, out = run(repo, "aip", "show", longer)
    assert code == 0 and out.startswith(f"AIP {first}\n"), out


def test_an_external_identifier_two_aips_share_lists_them(repo: Repository, bags: Path) -> None:
    first = take_in(repo, bags, "a", ext=EXT)
    second = take_in(repo, bags, "b", ext=EXT, allow_duplicate=True)
    code, out = run(repo, "aip", "show", EXT)
    assert code == 2 and f"'{EXT}' names 2 AIPs" in out, out
    assert f"  {first}  {EXT}  Spis a\n" in out and f"  {second}  {EXT}  Spis b\n" in out, out


def test_a_typo_gets_the_closest_ids(repo: Repository, bags: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    aip = take_in(repo, bags, "a", ext=EXT)
    take_in(repo, bags, "b")
    bare = aip.removeprefix("urn:uuid:")
    typo = bare[:7] + ("0" if bare[7] != "0" else "1")  # the 8th character mistyped
    for compare_all in (aipid.COMPARE_ALL, 0):  # every name compared; in a large catalog, the neighbours
        monkeypatch.setattr(aipid, "COMPARE_ALL", compare_all)
        code, out = run(repo, "aip", "show", typo)
        assert code == 2, out
        assert out == (f"error: no AIP '{typo}' in the catalog (looked up as an id, an id prefix, an "
                       "External-Identifier and an entity id)\n"
                       "hint: did you mean this one? (every AIP: `archa aip list`)\n"
                       f"  {aip}  {EXT}  Spis a\n"), out
        code, out = run(repo, "hold", "add", "KUJI-OD-2025-017", "--reason", "x")  # a digit left out
        assert code == 2 and f"hint: did you mean this one? (every AIP: `archa aip list`)\n  {aip}  {EXT}  Spis a\n" \
            in out, out
        code, out = run(repo, "aip", "show", "kuji-od-2025-0117")  # a name in the wrong case
        assert code == 2 and f"\n  {aip}  {EXT}  Spis a\n" in out, out
    code, out = run(repo, "aip", "show", bare[:4])
    assert code == 2 and f"no AIP '{bare[:4]}' in the catalog: an id prefix needs 8 characters or more" in out, out
    assert aip in out, out  # the ids it begins
    code, out = run(repo, "aip", "show", "urn:uuid:nope")
    assert code == 2 and "error: no AIP 'urn:uuid:nope' in the catalog" in out, out
    code, out = run(repo, "aip", "show", "urn:uuid:nope", "--json")
    assert code == 2 and json.loads(out)["error"] == "UnknownAipId", out


def test_a_removed_aip_still_resolves(repo: Repository, bags: Path) -> None:
    aip = take_in(repo, bags, "a", ext=EXT)
    repo.catalog.conn.execute("UPDATE aips SET state = 'destroyed' WHERE id = ?", [aip])  # as a disposal leaves it
    code, out = run(repo, "aip", "show", aip.removeprefix("urn:uuid:")[:8])
    assert code == 0 and out.startswith(f"AIP {aip}\n") and "state: destroyed" in out, out
    code, out = run(repo, "hold", "add", EXT, "--reason", "x")
    assert code == 2 and f"error: {aip} was destroyed in a disposal procedure" in out, out


def test_a_catalog_of_schema_15_gets_the_external_identifier_index(repo: Repository, bags: Path) -> None:
    from archa.repository.catalog import SCHEMA_VERSION

    aip = take_in(repo, bags, "a", ext=EXT)
    repo.close()
    on_server = bool(catalog_url(repo.root))
    insider_sql(repo, "DROP INDEX aips_external_id")  # as a catalog made before schema 16 is
    insider_sql(repo, "UPDATE archa_schema SET version = 15" if on_server else "PRAGMA user_version = 15")
    again = Repository.open(repo.root)  # migrated as it opens
    try:
        assert again.catalog.schema_version == SCHEMA_VERSION >= 16
        index = ("SELECT indexname FROM pg_indexes WHERE tablename = 'aips'" if on_server
                 else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'aips'")
        assert ("aips_external_id",) in again.catalog.conn.execute(index).fetchall()
        assert aipid.resolve_aip_id(again.catalog, EXT) == aip
    finally:
        again.close()


# --- holds, one at a time --------------------------------------------------------------------

def test_one_hold_released_of_two_leaves_the_record_held(repo: Repository, tmp_path: Path,
                                                          records: dict[str, str]) -> None:  # noqa: F811
    from archa.lifecycle.holds import hold_problems

    held = records["held"]
    assert run(repo, "hold", "add", "KU-SIP_H", "--reason", "court case 12 C 34/2026") == \
        (0, f"hold 1 placed on {held}: court case 12 C 34/2026\n")
    assert run(repo, "hold", "add", held, "--reason", "test hold") == \
        (0, f"hold 2 placed on {held}: test hold (2 holds in force on it now)\n")
    code, out = run(repo, "hold", "list")
    assert [line.split("  ")[:2] for line in out.splitlines()] == [["hold 1", held], ["hold 2", held]], out
    # by the record: which one? none is released
    code, out = run(repo, "hold", "remove", "KU-SIP_H", "--reason", "over")
    assert code == 2 and out.startswith(f"error: {held} is under 2 holds: say which one to release\n"
                                        "hint: give its hold id, e.g. `archa hold remove 1 --reason TEXT`:\n"), out
    assert "  hold 1: court case 12 C 34/2026 (placed " in out and "  hold 2: test hold (placed " in out, out
    assert len(repo.catalog.lifecycle.holds(held)) == 2
    # by its id: that one only
    code, out = run(repo, "hold", "remove", "2", "--reason", "the test is over")
    assert code == 0 and out == (f"hold 2 released on {held}: the test is over (it was placed "
                                 f"{out.split('placed ')[1][:10]} for 'test hold')\n"
                                 f"{held} stays held: 1 hold(s) in force (1)\n"), out
    code, out = run(repo, "hold", "remove", "2", "--reason", "again")
    assert code == 2 and "hold 2 on" in out and "was released on" in out, out
    # shown where the record is
    code, out = run(repo, "aip", "show", held)
    assert "\n  HELD: hold 1, placed " in out and "test hold" not in out.split("files (")[0], out
    assert [h["id"] for h in json.loads(run(repo, "aip", "show", held, "--json")[1])["holds"]] == [1]
    code, out = run(repo, "aip", "list", "--json")
    assert {a["id"]: [h["id"] for h in a["holds"]] for a in json.loads(out)} == \
        {records["keep"]: [], records["gone"]: [], held: [1]}
    code, out = run(repo, "aip", "list", "--held")
    assert len(out.splitlines()) == 2 and out.splitlines()[1].startswith(held), out
    assert " holds " in out.splitlines()[0] and " 1     Spis SIP_H" in out.splitlines()[1], out
    run(repo, "report", str(tmp_path / "report.html"))
    page = (tmp_path / "report.html").read_text("utf-8")
    holds_table = page.split("<h2>Legal holds</h2>")[1].split("</section>")[0]
    assert f"<td>1</td><td>{held}</td>" in holds_table and "court case 12 C 34/2026" in holds_table
    assert "test hold" not in holds_table  # released: no longer in force
    # held wherever the disposal procedure looks: the table, the catalog's log, each location's
    assert hold_problems(repo, [held]) == {held: "under a legal hold (archa hold list)"}
    proposal = _propose(repo, tmp_path)
    assert proposal["held"] == [held] and held not in {i["aip_id"] for i in proposal["items"]}  # type: ignore
    code, out = run(repo, "events", "verify")
    assert code == 0, out
    code, out = run(repo, "catalog", "rebuild", "--check")
    assert code == 0 and "the same as the live catalog" in out, out
    # a rebuild gives each hold its id back; the record under one hold is released by its id
    before = [(h["id"], h["reason"], h["released"]) for h in repo.catalog.lifecycle.holds(active=False)]
    lose_catalog(repo)
    assert run(repo, "catalog", "rebuild")[0] == 0
    assert [(h["id"], h["reason"], h["released"]) for h in repo.catalog.lifecycle.holds(active=False)] == before
    code, out = run(repo, "hold", "remove", held, "--reason", "case closed")
    assert code == 0 and out.startswith(f"hold 1 released on {held}: case closed"), out
    assert hold_problems(repo, [held]) == {}
    assert run(repo, "events", "verify")[0] == 0


def test_old_logs_release_every_hold_at_once() -> None:
    from archa.lifecycle.holds import _replay

    held = {"a": 0}
    for detail in ("legal hold placed by root: one", "legal hold placed (hold 2) by root: two",
                   "legal hold released (hold 2) by root: done (placed 2026-01-01 for 'two')"):
        _replay(held, {"type": "policy assignment", "aip_id": "a", "detail": detail})
    assert held == {"a": 1}
    _replay(held, {"type": "policy assignment", "aip_id": "a", "detail": "legal hold released by root: all"})
    assert held == {"a": 0}


# --- commands as people mistype and ask for them -------------------------------------------------

def test_a_mistyped_command_gets_a_suggestion() -> None:
    r = CliRunner().invoke(cli, ["stauts"])
    assert r.exit_code == 2 and "Error: No such command 'stauts'. Did you mean 'status'?" in r.output, r.output
    r = CliRunner().invoke(cli, ["aip", "shw"])
    assert r.exit_code == 2 and "Did you mean 'show'?" in r.output, r.output


def test_help_prints_a_commands_help() -> None:
    runner = CliRunner()
    for names in (["aip", "show"], ["status"], ["hold"], []):
        shown = runner.invoke(cli, ["help", *names])
        assert shown.exit_code == 0, shown.output
        assert shown.output == runner.invoke(cli, [*names, "--help"]).output
    r = runner.invoke(cli, ["help", "aip", "shw"])
    assert r.exit_code == 2 and "Did you mean 'show'?" in r.output, r.output
    r = runner.invoke(cli, ["help", "stauts"])
    assert r.exit_code == 2 and "Did you mean 'status'?" in r.output, r.output
    r = runner.invoke(cli, ["help", "status", "now"])
    assert r.exit_code == 2 and "archa status has no sub-command 'now'" in r.output.replace("cli status", "archa status")
