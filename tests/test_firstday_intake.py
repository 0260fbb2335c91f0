"""An archivist's first day (issue #28), what comes in: a plain folder given to `archa ingest`
is a usage error naming the command to use (pasteable, recorded nowhere); a rejected bag is
shown until `archa transfer ack`; `dip export ID request.zip` writes a zip; the same folder
sent again after `aip update` is refused naming the record and version, and one with the same
External-Identifier and new content becomes its next version; `transfer folder --title`; an
unknown originator is a warning with the option that sets it."""

from __future__ import annotations

import getpass
import json
import shlex
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from archa.cli.main import cli
from archa.repository.repo import Repository
from tests.bagmaker import write_bag

FOLDER = "Spisy odboru dopravy 2025"  # as a Czech file share names it, spaces and all
FILES = {"Žádost o opravu silnice.txt": "Žádáme o opravu silnice III/1234 v úseku Lhota - Brtnice.\n",
         "Odpovědi/odpověď č. 1.txt": "Oprava je naplánována na květen.\n"}


def _run(repo: Repository, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])


def _share(where: Path, files: dict[str, str] = FILES) -> Path:
    folder = where / FOLDER
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, "utf-8")
    return folder


def _status(repo: Repository) -> dict[str, Any]:
    r = _run(repo, "status", "--json")
    assert r.exit_code in (0, 1), r.output
    return dict(json.loads(r.stdout))


def _hint(r: Result) -> str:
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("hint: ")]
    return line.removeprefix("hint: ")


# --- item 2: mistakes are not failures -----------------------------------------------------


def test_a_plain_folder_given_to_ingest_names_the_transfer_command(repo: Repository, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _share(tmp_path)
    r = CliRunner().invoke(cli, ["ingest", "--repo", str(repo.root), FOLDER])
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == (f"error: {FOLDER}: a plain folder, not a BagIt bag (it has no bagit.txt); "
                                        "nothing was ingested or recorded")
    command = f"archa transfer folder {shlex.quote(FOLDER)} --ingest --repo {shlex.quote(str(repo.root))}"
    assert _hint(r) == f"bag it and ingest it in one step: {command}"
    assert repo.catalog.transfers() == [] and _status(repo)["last_failures"] == []

    pasted = shlex.split(_hint(r).removeprefix("bag it and ingest it in one step: "))  # as a shell reads it
    assert pasted[:4] == ["archa", "transfer", "folder", FOLDER]
    done = CliRunner().invoke(cli, pasted[1:])
    assert done.exit_code == 0, done.output
    (aip,) = repo.catalog.aips()
    assert [t["status"] for t in repo.catalog.transfers()] == ["accepted"]
    payload = sorted(f["logical_path"] for f in repo.catalog.files(aip["id"], "v1") if f["role"] == "payload")
    assert payload == [f"representations/original/data/{n}" for n in sorted(FILES)]


def test_a_mistyped_path_is_recorded_nowhere(repo: Repository, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = _run(repo, "ingest", "help")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == "error: help: no such file or folder; nothing was ingested or recorded"
    assert "archa ingest --help" in _hint(r) and "archa transfer folder FOLDER --ingest" in _hint(r)
    assert repo.catalog.transfers() == [] and _status(repo)["last_failures"] == []
    # nothing of several SIPs is ingested when one of them is a mistake
    bag = write_bag(tmp_path / "bag", {"a.txt": b"a"})
    r = _run(repo, "ingest", str(bag), "nowhere.zip")
    assert r.exit_code == 2 and "error: nowhere.zip: no such file or folder" in r.stderr
    assert repo.catalog.aips() == [] and repo.catalog.transfers() == []


def test_the_library_refuses_a_plain_folder_too(repo: Repository, tmp_path: Path) -> None:
    from archa.errors import UsageError
    from archa.ingest.ingest import ingest

    for sip in (_share(tmp_path), tmp_path / "nowhere"):
        with pytest.raises(UsageError):
            ingest(repo, sip)
    assert repo.catalog.transfers() == []


def test_a_broken_bag_is_recorded_and_shown_until_acknowledged(repo: Repository, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "from-obec", {"a.txt": b"alpha\n"})
    (bag / "data" / "a.txt").write_bytes(b"ALPHA\n")  # the bag fails validation: a real rejection
    r = _run(repo, "ingest", str(bag))
    assert r.exit_code == 2 and "BAG009" in r.stderr
    (line,) = [x for x in r.stderr.splitlines() if x.endswith(" recorded as rejected")]
    transfer_id = line.split()[1]
    (rejected,) = repo.catalog.intake.rejected_transfers()
    assert (rejected["id"], rejected["acknowledged"]) == (transfer_id, None)
    assert [t["id"] for t in _status(repo)["rejected_transfers"]] == [transfer_id]

    assert _run(repo, "transfer", "ack", "urn:uuid:00000000-0000-4000-8000-000000000000").exit_code == 2
    short = transfer_id.removeprefix("urn:uuid:")[:8]  # as people type it
    r = _run(repo, "transfer", "ack", short, "--reason", "the producer sends a new bag")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"acknowledged: {transfer_id} ({bag}, rejected ")
    (event,) = [e for e in repo.catalog.events() if e["type"] == "acknowledgement"]
    assert (event["transfer_id"], event["outcome"], event["detail"]) == (
        transfer_id, "success", (f"rejection of {transfer_id} acknowledged by {getpass.getuser()}: "
                                 "the producer sends a new bag"))
    assert _status(repo)["rejected_transfers"] == []
    again = _run(repo, "transfer", "ack", transfer_id)
    assert again.exit_code == 0 and again.stdout.startswith("already acknowledged (")
    assert len([e for e in repo.catalog.events() if e["type"] == "acknowledgement"]) == 1

    # a date window: every rejection received before it
    for name in ("second", "third"):
        broken = write_bag(tmp_path / name, {"b.txt": name.encode()})
        (broken / "data" / "b.txt").write_bytes(b"changed")
        assert _run(repo, "ingest", str(broken)).exit_code == 2
    r = _run(repo, "transfer", "ack", "--before", "2999-01-01", "--json")
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["acknowledged"]) == 2 and _status(repo)["rejected_transfers"] == []

    # an accepted transfer is not a rejection
    ok = json.loads(_run(repo, "ingest", str(write_bag(tmp_path / "good", {"c.txt": b"c"})), "--json").stdout)
    r = _run(repo, "transfer", "ack", ok[0]["transfer_id"])
    assert r.exit_code == 2 and "was accepted" in r.stderr

    # kept by the event log: a catalog rebuilt from storage knows them acknowledged
    from archa.repository.catalog import Catalog
    from archa.repository.rebuild import rebuild_catalog

    repo.anchor_events()
    rebuild_catalog(repo, tmp_path / "rebuilt.sqlite")
    rebuilt = Catalog.open(tmp_path / "rebuilt.sqlite")
    try:
        assert [bool(t["acknowledged"]) for t in rebuilt.intake.rejected_transfers()] == [True, True, True]
    finally:
        rebuilt.close()


def test_the_hint_of_transfer_without_out_pastes(repo: Repository, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _share(tmp_path)
    r = _run(repo, "transfer", "folder", FOLDER)
    assert r.exit_code == 2
    first, second = _hint(r).split(", or ")
    assert first == f"archa transfer folder {shlex.quote(FOLDER)} bags/NAME"
    assert shlex.split(second) == ["archa", "transfer", "folder", FOLDER, "--ingest", "--repo", str(repo.root)]
    assert CliRunner().invoke(cli, shlex.split(second)[1:]).exit_code == 0
    assert len(repo.catalog.aips()) == 1


# --- item 4: exports that do what their name says --------------------------------------------


def test_dip_export_takes_its_format_from_the_name(repo: Repository, tmp_path: Path) -> None:
    import bagit

    aip = json.loads(_run(repo, "ingest", str(write_bag(tmp_path / "b", {"a.txt": b"alpha\n"})), "--json").stdout)
    aip_id = aip[0]["aip_id"]
    r = _run(repo, "dip", "export", aip_id, str(tmp_path / "request.zip"))
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(tmp_path / "request.zip") as z:
        names = z.namelist()
        assert "request/objects/a.txt" in names and z.read("request/objects/a.txt") == b"alpha\n"
    assert "(zip)" in r.stdout

    r = _run(repo, "dip", "export", aip_id, str(tmp_path / "request.bag.zip"))
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(tmp_path / "request.bag.zip") as z:
        assert "request/bagit.txt" in z.namelist() and "request/data/objects/a.txt" in z.namelist()
        z.extractall(tmp_path / "unzipped")
    bagit.Bag(str(tmp_path / "unzipped" / "request")).validate()  # a valid bag, every digest checked

    r = _run(repo, "dip", "export", aip_id, str(tmp_path / "folder"))
    assert r.exit_code == 0 and (tmp_path / "folder" / "objects" / "a.txt").is_file()

    r = _run(repo, "dip", "export", aip_id, str(tmp_path / "request2.zip"), "--format", "dir")
    assert r.exit_code == 2
    assert "error: --format dir does not go with OUT 'request2.zip': its name says zip" in r.stderr
    r = _run(repo, "dip", "export", aip_id, str(tmp_path / "request.tar"))
    assert r.exit_code == 2 and "request.tar: a .tar file, and archa writes no such DIP" in r.stderr
    assert not (tmp_path / "request2.zip").exists() and not (tmp_path / "request.tar").exists()


# --- item 5: the same folder sent again --------------------------------------------------------


def _send(repo: Repository, folder: Path, *extra: str) -> Result:
    return _run(repo, "transfer", "folder", str(folder), "--ingest", *extra)


def test_the_same_folder_after_an_update_is_refused_naming_record_and_version(repo: Repository,
                                                                               tmp_path: Path) -> None:
    folder = _share(tmp_path)
    assert _send(repo, folder).exit_code == 0
    (aip,) = repo.catalog.aips()
    note = tmp_path / "note.txt"
    note.write_text("doplněno\n", "utf-8")
    r = _run(repo, "aip", "update", aip["id"], "--add", f"{note}=note.txt", "--reason", "a note added")
    assert r.exit_code == 0, r.output
    r = _send(repo, folder)
    assert r.exit_code == 2
    assert (f"error: DUP001 {FOLDER}: the same payload (every file, name and digest) is held already as "
            f"{aip['id']} v1 (its newest version is v2)") in r.stderr
    assert len(repo.catalog.aips()) == 1
    # the bag route too
    bag = tmp_path / "bag"
    assert _run(repo, "transfer", "folder", str(folder), str(bag)).exit_code == 0
    r = _run(repo, "ingest", str(bag))
    assert r.exit_code == 2 and f"held already as {aip['id']} v1 (its newest version is v2)" in r.stderr


def test_the_same_external_identifier_with_new_content_is_the_next_version(repo: Repository, tmp_path: Path) -> None:
    folder = _share(tmp_path)
    ext = ("--meta", "External-Identifier=KUJI-OD-2025-0117")
    assert _send(repo, folder, *ext).exit_code == 0
    (aip,) = repo.catalog.aips()
    (folder / "Odpovědi" / "odpověď č. 2.txt").write_text("Oprava hotova.\n", "utf-8")
    r = _send(repo, folder, *ext, "--refuse-duplicates")
    assert r.exit_code == 2
    assert f"DUP004 {FOLDER}: External-Identifier 'KUJI-OD-2025-0117' is held already as {aip['id']} v1" in r.stderr
    r = _send(repo, folder, *ext)
    assert r.exit_code == 0, r.output
    assert f"Ingested as {aip['id']} v2 " in r.stdout
    assert "  note: its External-Identifier 'KUJI-OD-2025-0117' is held already as " in r.stdout
    assert len(repo.catalog.aips()) == 1
    v2 = {f["logical_path"]: f for f in repo.catalog.files(aip["id"], "v2") if f["role"] == "payload"}
    assert v2["representations/original/data/Odpovědi/odpověď č. 2.txt"]["content_path"].startswith("v2/")
    assert v2["representations/original/data/Žádost o opravu silnice.txt"]["content_path"].startswith("v1/")


def test_transfer_folder_title_becomes_the_label(repo: Repository, tmp_path: Path) -> None:
    r = _send(repo, _share(tmp_path), "--title", "Oprava silnice III/1234")
    assert r.exit_code == 0, r.output
    (aip,) = repo.catalog.aips()
    assert aip["label"] == "Oprava silnice III/1234"


def test_an_unknown_originator_is_a_warning_with_the_option_that_sets_it(repo: Repository, tmp_path: Path) -> None:
    folder = _share(tmp_path)
    r = _send(repo, folder, "--meta", "Originator-Identifier=obec-lhota")
    assert r.exit_code == 0, r.output
    (warning,) = [x for x in r.stdout.splitlines() if x.startswith("  warning: ORGW01")]
    assert "Originator-Identifier 'obec-lhota' names no originator the repository knows" in warning
    assert "--originator ID" in warning and "archa originator add ID --name NAME" in warning
    assert "note: originator" not in r.stdout  # said once, as a warning
    # an --originator the repository does not know is refused before any work, naming the command
    r = _run(repo, "transfer", "folder", str(folder), str(tmp_path / "bag"), "--originator", "obec-brtnice")
    assert r.exit_code == 2
    assert _hint(r) == "register it first: archa originator add obec-brtnice --name 'NAME' (or see `archa " \
                       "originator list`)"
    assert not (tmp_path / "bag").exists()


def test_an_erms_package_sent_again_after_it_changed_is_refused_naming_its_version(repo: Repository,
                                                                                   tmp_path: Path) -> None:
    """The resubmission of NSESSS records compares with every version too: the first package,
    sent again once a changed one made v2, is refused naming v1, not stored as v3."""
    from tests import nsesss_maker as mk

    def send(pkg: mk.Package, tag: str) -> Result:
        return _run(repo, "transfer", "nsesss", str(mk.write_package(tmp_path / f"src-{tag}", pkg)), "--ingest")

    pkg = mk.fresh_package()
    assert send(pkg, "1").exit_code == 0
    (aip,) = repo.catalog.aips()
    changed = pkg.with_(title="Stížnost na opravu silnice (doplněno)", declared_year=2045)
    r = send(changed, "2")
    assert r.exit_code == 0 and f"Ingested as {aip['id']} v2 " in r.stdout
    r = send(pkg, "3")
    assert r.exit_code == 2
    assert f"its records are held already, unchanged, as {aip['id']} v1 (its newest version is v2)" in r.stderr
    assert repo.catalog.aip(aip["id"])["head"] == "v2"


def test_a_catalog_of_schema_16_gets_every_versions_fingerprint_and_still_finds_the_old_one(
        repo: Repository, tmp_path: Path) -> None:
    from archa.repository.catalog import SCHEMA_VERSION
    from tests.catalogs import catalog_url, insider_sql

    folder = _share(tmp_path)
    assert _send(repo, folder).exit_code == 0
    (aip,) = repo.catalog.aips()
    note = tmp_path / "note.txt"
    note.write_text("doplněno\n", "utf-8")
    assert _run(repo, "aip", "update", aip["id"], "--add", f"{note}=note.txt", "--reason", "a note").exit_code == 0
    repo.close()
    on_server = bool(catalog_url(repo.root))
    if not on_server:
        insider_sql(repo, "DROP INDEX versions_payload_digest")
    insider_sql(repo, "ALTER TABLE versions DROP COLUMN payload_digest")  # as a catalog made at schema 16 is
    insider_sql(repo, "UPDATE archa_schema SET version = 16" if on_server else "PRAGMA user_version = 16")
    again = Repository.open(repo.root)  # migrated as it opens: the column, its index, every version filled
    try:
        assert again.catalog.schema_version == SCHEMA_VERSION
        r = _send(again, folder)
        assert r.exit_code == 2 and f"held already as {aip['id']} v1 (its newest version is v2)" in r.stderr
    finally:
        again.close()
