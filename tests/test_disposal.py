"""The disposal procedure with the state archive, end to end and step by step: ERMS
packages taken in, proposed (metadata SIPs valid under skartace-metadata), decided by the
archive's list, handed over (full SIPs valid under prejimka), confirmed and removed from
every location with a tombstone and certificate left; held records untouched; every
refusal; a location down during destruction; kill -9 during destruction; rebuild."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from lxml.builder import ElementMaker

from archa.cli.main import cli
from archa.repository.copies import tombstone_prefix
from archa.repository.ocfl import object_relpath
from archa.repository.repo import Repository
from archa.transfer.nsesss.check import CheckOptions, check_package, sip_errors
from archa.transfer.nsesss.rules import Profile
from tests import nsesss_maker as mk

NS = "http://www.mvcr.cz/nsesss/v4"
DUE = "2026"  # the packages: closed 2015, 5 years -> due 2021; proposed in 2026
ORG = "kraj"


def _run(repo: Repository, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    return r.exit_code, r.output


def _take_in(repo: Repository, tmp_path: Path, name: str, **kw: object) -> str:
    kw = {"closed": "2015-06-30", "period": 5, **kw}
    pkg = mk.fresh_package(name=name, ident=f"KU-{name}", title=f"Spis {name}", **kw)
    folder = mk.write_package(tmp_path / f"src-{name}", pkg)
    code, out = _run(repo, "transfer", "nsesss", str(folder), "--ingest", "--json")  # no bag between
    assert code == 0, out
    return str(json.loads(out)["ingest"]["aip_id"])


def seznam(entries: list[tuple[str, str | None, str | None]], zdroj: str = mk.ZDROJ) -> bytes:
    """The archive's list: (entity id, Operace or None, IdentifikatorDA or None) per entity."""
    E = ElementMaker(namespace=NS, nsmap={"nsesss": NS})
    root = E.Seznam(ID="SZ1", identifikatorArchivu="MZA", identifikatorPuvodce=mk.ORG_ICO,
                    datumVytvoreni="2037-02-01T10:00:00+01:00")
    for ident, op, da in entries:
        e = E.EntitaSeznamu(E.Identifikator(ident, zdroj=zdroj))
        e.append(E.Operace(op) if op else E.IdentifikatorDA(da or "", zdroj="MZA-DA"))
        root.append(e)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def shredded(**kw: object) -> dict[str, object]:
    """Package fields of a file with the sign S (every document S too)."""
    return {"sign": "S", "documents": (mk.Doc("dok-1", "S", 5, components=mk.default_components()),
                                       mk.Doc("dok-2", "S", 5, analog=True)), **kw}


@pytest.fixture
def records(repo: Repository, tmp_path: Path) -> dict[str, str]:
    """Three files of one originator, all due in 2021: one to keep, one to destroy, one held."""
    assert _run(repo, "originator", "add", ORG, "--name", "Kraj Vysočina", "--ico", mk.ORG_ICO)[0] == 0
    return {"keep": _take_in(repo, tmp_path, "SIP_A"), "gone": _take_in(repo, tmp_path, "SIP_S", **shredded()),
            "held": _take_in(repo, tmp_path, "SIP_H", **shredded())}


def _keys(repo: Repository, aip: str) -> dict[str, list[str]]:
    """Keys of the AIP left at each location."""
    out = {}
    for loc in repo.config.locations:
        out[loc.name] = [k for k, _s in repo.store(loc).list(object_relpath(aip))]
    return out


def _propose(repo: Repository, tmp_path: Path, name: str = "navrh") -> dict[str, object]:
    code, out = _run(repo, "disposal", "propose", "--as-of", DUE, str(tmp_path / name), "--json")
    assert code == 0, out
    return json.loads(out)  # type: ignore[no-any-return]


def test_the_whole_procedure(repo: Repository, tmp_path: Path, records: dict[str, str], s3_env: object) -> None:
    import uuid

    from archa.repository.config import Location
    from archa.repository.placement import sync
    from archa.repository.storage import add_location
    from tests.s3server import BUCKET

    add_location(repo, Location("warm", "ocfl", f"s3://{BUCKET}/d-{uuid.uuid4().hex[:8]}", "warm",
                                endpoint=s3_env.endpoint))  # type: ignore[attr-defined]
    with repo.writing():
        sync(repo)
    assert all(_keys(repo, records["gone"]).values())  # on hot, cold (packed) and warm (S3)
    assert _run(repo, "hold", "add", records["held"], "--reason", "court case 12 C 34/2026")[0] == 0

    # propose: the held one is left out; one metadata SIP per record, valid under skartace-metadata
    proposal = _propose(repo, tmp_path)
    pid = str(proposal["proposal"])
    assert {i["aip_id"] for i in proposal["items"]} == {records["keep"], records["gone"]}  # type: ignore[attr-defined]
    assert proposal["held"] == [records["held"]]
    out = tmp_path / "navrh"
    assert {p.name for p in out.iterdir()} == {"proposal.csv", "proposal.html", "proposal.json", "KU-SIP_A", "KU-SIP_S"}
    for sip in proposal["sips"]:  # type: ignore[attr-defined]
        assert sorted(p.name for p in (out / sip).iterdir()) == ["mets.xml"]
        result = check_package(out / sip, CheckOptions(Profile.METADATA, date(2026, 12, 1)))
        assert result.valid, [str(f) for f in result.findings if f.is_error]
    assert "KU-SIP_S" in (out / "proposal.csv").read_text()

    # the archive selects A, destroys S (and would destroy the held one, were it proposed)
    decision = tmp_path / "rozhodnuti.xml"
    decision.write_bytes(seznam([("KU-SIP_A", "vybrat za archiválii", None), ("KU-SIP_S", "zničit", None)]))
    code, text = _run(repo, "disposal", "decide", pid, "--decision", str(decision), "--json")
    assert code == 0, text
    assert json.loads(text)["decisions"] == {"keep": 1, "destroy": 1}

    # hand over: a full SIP, valid under prejimka, the disposal procedure recorded, components byte for byte
    code, text = _run(repo, "disposal", "transfer", pid, str(tmp_path / "predani"), "--assessor", "Jana Nováková",
                      "--json")
    assert code == 0, text
    (sip,) = json.loads(text)["sips"]
    folder = tmp_path / "predani" / sip["sip"]
    assert sip["profile"] == "prejimka" and sip["aip_id"] == records["keep"]
    assert check_package(folder, CheckOptions(Profile.TRANSFER, date(2026, 12, 1))).valid
    src = tmp_path / "src-SIP_A" / "SIP_A"
    for c in (src / "komponenty").iterdir():
        assert (folder / "komponenty" / c.name).read_bytes() == c.read_bytes()
    mets = etree.parse(str(folder / "mets.xml"))
    assert mets.findtext(f".//{{{NS}}}SkartacniRizeni/{{{NS}}}SkartacniOperace") == "trvalé uložení"
    assert mets.findtext(f".//{{{NS}}}Posuzovatel//{{{NS}}}NazevFyzickeOsoby") == "Jana Nováková"

    # destroy before the archive confirmed: S goes, A waits
    code, text = _run(repo, "disposal", "destroy", pid, "--yes", "--json")
    assert code == 0, text
    result = json.loads(text)
    assert [d["aip_id"] for d in result["destroyed"]] == [records["gone"]]
    assert [w["aip_id"] for w in result["waiting"]] == [records["keep"]]
    assert not any(_keys(repo, records["gone"]).values())  # no byte left anywhere
    assert all(_keys(repo, records["keep"]).values()) and all(_keys(repo, records["held"]).values())

    # the archive confirms; A is removed as transferred
    confirmation = tmp_path / "potvrzeni.xml"
    confirmation.write_bytes(seznam([("KU-SIP_A", None, "MZA-2037-77")]))
    code, text = _run(repo, "disposal", "confirm", pid, "--confirmation", str(confirmation))
    assert code == 0 and "MZA-2037-77" in text, text
    code, text = _run(repo, "disposal", "destroy", pid, "--yes", "--json")
    assert code == 0, text
    assert [(d["aip_id"], d["state"]) for d in json.loads(text)["destroyed"]] == [(records["keep"], "transferred")]
    assert not any(_keys(repo, records["keep"]).values())

    # tombstones at every location, with the certificate
    for aip, state in ((records["gone"], "destroyed"), (records["keep"], "transferred")):
        for loc in repo.config.locations:
            store = repo.store(loc)
            tomb = json.loads(store.read_bytes(f"{tombstone_prefix(aip)}/tombstone.json"))
            assert (tomb["id"], tomb["state"], tomb["proposal"]) == (aip, state, pid)
            digests = {f["digest"] for f in tomb["files"]}
            name = "SIP_S" if state == "destroyed" else "SIP_A"
            assert {hashlib.sha256(c.read_bytes()).hexdigest()
                    for c in (tmp_path / f"src-{name}" / name / "komponenty").iterdir()} <= digests
            assert "<dc:title>" in tomb["dublin_core"] or "dc:title" in tomb["dublin_core"]
            html = store.read_bytes(f"{tombstone_prefix(aip)}/certificate.html").decode()
            assert tomb["files"][0]["digest"] in html and ("Protokol o zničení" in html) == (state == "destroyed")
            premis = etree.fromstring(store.read_bytes(f"{tombstone_prefix(aip)}/premis.xml"))
            types = [t.text for t in premis.iter("{http://www.loc.gov/premis/v3}eventType")]
            assert "ingestion" in types and types[-1] == ("deletion" if state == "destroyed" else "deaccession")
        code, show = _run(repo, "aip", "show", aip)
        assert f"state: {state}" in show, show
    assert tomb["entities"][0]["da_id"] == "MZA-2037-77"

    # the held record is untouched; audits, sync and the event log stay clean
    assert repo.catalog.aip(records["held"])["state"] == "active"
    code, text = _run(repo, "fixity", "audit", "--all")
    assert code == 0, text
    assert _run(repo, "events", "verify")[0] == 0
    code, text = _run(repo, "storage", "sync", "--json")
    assert code == 0, text
    assert not any(_keys(repo, records["gone"]).values())
    code, text = _run(repo, "disposal", "list", "--json")
    assert json.loads(text)[0]["state"] == "closed"
    code, text = _run(repo, "retention", "due", "--as-of", DUE, "--json")
    due = json.loads(text)
    assert [r["aip_id"] for s in "AVS" for r in due[s]] == [records["held"]]
    assert {(r["aip_id"], r["disposal_operation"]) for r in due["disposed"]} == \
        {(records["gone"], "zničení"), (records["keep"], "trvalé uložení")}

    # a catalog rebuilt from the locations alone knows what was removed, and how
    from archa.repository.catalog import Catalog
    from archa.repository.rebuild import compare_catalogs, rebuild_catalog

    rebuild_catalog(repo, tmp_path / "rebuilt.sqlite")
    rebuilt = Catalog.open(tmp_path / "rebuilt.sqlite")
    try:
        assert compare_catalogs(repo.catalog, rebuilt) == []
        assert rebuilt.aip(records["gone"])["state"] == "destroyed"
        assert [e["type"] for e in rebuilt.events(records["gone"])][-1] == "deletion"
    finally:
        rebuilt.close()


def _decide(repo: Repository, tmp_path: Path, pid: str, entries: list[tuple[str, str | None, str | None]],
            name: str = "rozhodnuti.xml") -> tuple[int, str]:
    path = tmp_path / name
    path.write_bytes(seznam(entries))
    return _run(repo, "disposal", "decide", pid, "--decision", str(path))


def _events(repo: Repository) -> int:
    return int(repo.catalog.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def test_proposing_twice_and_into_a_used_folder(repo: Repository, tmp_path: Path, records: dict[str, str]) -> None:
    first = _propose(repo, tmp_path)
    assert len(first["items"]) == 3  # type: ignore[arg-type]
    code, out = _run(repo, "disposal", "propose", "--as-of", DUE, str(tmp_path / "again"))
    assert code == 2 and f"3 are in proposal {first['proposal']}" in out, out
    assert not (tmp_path / "again").exists()
    code, out = _run(repo, "disposal", "propose", "--as-of", DUE, str(tmp_path / "navrh"))
    assert code == 2 and "recorded already" in out, out
    code, out = _run(repo, "disposal", "propose", "--as-of", "2020", str(tmp_path / "early"))
    assert code == 2 and "no record is newly due" in out
    assert len(json.loads(_run(repo, "disposal", "list", "--json")[1])) == 1


def test_a_crash_after_the_folder_is_written_is_finished_by_the_same_command(
        repo: Repository, tmp_path: Path, records: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from archa.lifecycle import disposal

    def crash(*_a: object, **_kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(disposal, "_record_proposal", crash)
    with pytest.raises(KeyboardInterrupt), repo.writing():
        disposal.propose(repo, int(DUE), tmp_path / "navrh", check=sip_errors)
    monkeypatch.undo()
    assert (tmp_path / "navrh" / "proposal.json").is_file() and not disposal.ledger.proposals(repo.catalog)
    again = _propose(repo, tmp_path)  # adopts what it finds
    assert again["proposal"] == json.loads((tmp_path / "navrh" / "proposal.json").read_text())["proposal"]
    assert len(disposal.ledger.items(repo.catalog, str(again["proposal"]))) == 3


def test_decisions_that_do_not_fit_are_refused_whole(repo: Repository, tmp_path: Path,
                                                     records: dict[str, str]) -> None:
    pid = str(_propose(repo, tmp_path)["proposal"])
    before = _events(repo)
    all_three = [("KU-SIP_A", "vybrat za archiválii", None), ("KU-SIP_S", "zničit", None),
                 ("KU-SIP_H", "zničit", None)]
    code, out = _decide(repo, tmp_path, pid, [*all_three, ("KU-NEZNAMY", "zničit", None)])
    assert code == 2 and f"KU-NEZNAMY (zdroj '{mk.ZDROJ}') is not in proposal" in out, out
    code, out = _decide(repo, tmp_path, pid, all_three[:2])
    assert code == 2 and "KU-SIP_H" in out and "not in the list" in out
    code, out = _decide(repo, tmp_path, pid, [*all_three, all_three[0]])
    assert code == 2 and "listed twice" in out
    code, out = _decide(repo, tmp_path, pid, [(i, None, "DA-1") for i, _o, _d in all_three])
    assert code == 2 and "confirmation list" in out
    (tmp_path / "bad.xml").write_text("<Seznam xmlns='http://www.mvcr.cz/nsesss/v4'/>")
    code, out = _run(repo, "disposal", "decide", pid, "--decision", str(tmp_path / "bad.xml"))
    assert code == 2 and "not a valid nsesss:Seznam" in out and "bad.xml" in out
    code, out = _run(repo, "disposal", "decide", pid, "--keep", "KU-NIC")
    assert code == 2 and "KU-NIC is in no item" in out
    code, out = _run(repo, "disposal", "decide", "P1999-001", "--keep", "KU-SIP_A")
    assert code == 2 and "no disposal proposal 'P1999-001'" in out
    assert _events(repo) == before  # nothing recorded
    assert {i["decision"] for i in __import__("archa.lifecycle.ledger").lifecycle.ledger.items(repo.catalog, pid)} \
        == {None}
    code, out = _run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A", "--json")
    assert code == 0 and json.loads(out)["decisions"] == {"keep": 1, "destroy": 2}


def test_nothing_is_destroyed_without_a_decision_or_without_yes(repo: Repository, tmp_path: Path,
                                                                records: dict[str, str]) -> None:
    pid = str(_propose(repo, tmp_path)["proposal"])
    code, out = _run(repo, "disposal", "destroy", pid, "--yes")
    assert code == 2 and "no decision recorded" in out
    assert _run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A")[0] == 0
    before = _events(repo)
    code, out = _run(repo, "disposal", "destroy", pid)  # a dry run
    assert code == 0 and "2 AIP(s) would go; nothing was changed" in out, out
    assert _events(repo) == before and all(all(_keys(repo, a).values()) for a in records.values())


def test_a_hold_placed_after_the_decision_wins(repo: Repository, tmp_path: Path, records: dict[str, str]) -> None:
    pid = str(_propose(repo, tmp_path)["proposal"])
    assert _run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A")[0] == 0
    assert _run(repo, "hold", "add", records["held"], "--reason", "inspection")[0] == 0
    code, out = _run(repo, "disposal", "destroy", pid, "--yes", "--json")
    assert code == 1, out
    result = json.loads(out)
    assert result["held"] == [records["held"]] and [d["aip_id"] for d in result["destroyed"]] == [records["gone"]]
    assert all(_keys(repo, records["held"]).values()) and repo.catalog.aip(records["held"])["state"] == "active"
    code, out = _run(repo, "fixity", "audit", "--aip", records["gone"])
    assert code == 2 and "only its tombstone is left" in out
    for args in (["dip", "export", records["gone"], str(tmp_path / "dip")],
                 ["hold", "add", records["gone"], "--reason", "too late"],
                 ["aip", "update", records["gone"], "--remove", "x", "--reason", "r"]):
        code, out = _run(repo, *args)
        assert code == 2 and "destroyed in a disposal procedure" in out, (args, out)
    # released, it goes on the next run
    assert _run(repo, "hold", "remove", records["held"], "--reason", "inspection over")[0] == 0
    code, out = _run(repo, "disposal", "destroy", pid, "--yes", "--json")
    assert code == 0 and [d["aip_id"] for d in json.loads(out)["destroyed"]] == [records["held"]]


def _destroy_with_cold_away(repo: Repository, tmp_path: Path) -> tuple[str, Path, Path]:
    """A proposal deciding SIP_S is destroyed, and the cold location moved away (unreachable)."""
    pid = str(_propose(repo, tmp_path)["proposal"])
    assert _run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A", "--keep", "KU-SIP_H")[0] == 0
    cold = repo.root / "storage" / "cold"
    cold.rename(tmp_path / "cold-away")
    return pid, cold, tmp_path / "cold-away"


def test_an_unreachable_location_is_finished_on_the_next_run(repo: Repository, tmp_path: Path,
                                                             records: dict[str, str]) -> None:
    pid, cold, cold_back = _destroy_with_cold_away(repo, tmp_path)
    r = CliRunner().invoke(cli, ["disposal", "destroy", pid, "--yes", "--json", "--repo", str(repo.root)])
    assert r.exit_code == 1, r.output
    # on stderr, beside the JSON: the destruction's events did not reach cold's copy of the log either
    assert "the event log could not be written to cold (cold: " in r.stderr, r.stderr
    result = json.loads(r.stdout)
    assert result["destroyed"] == []  # nothing reported destroyed that was not
    (incomplete,) = result["incomplete"]
    assert incomplete["aip_id"] == records["gone"] and incomplete["locations_left"] == ["cold"]
    assert "does not exist" in incomplete["problems"][0]
    assert not _keys(repo, records["gone"])["hot"]
    code, show = _run(repo, "aip", "show", records["gone"])
    assert "NOT finished: still at cold" in show and "state: destroying" in show, show
    cold_back.rename(cold)
    assert _keys(repo, records["gone"])["cold"]
    assert _run(repo, "fixity", "audit", "--all")[0] == 0  # audits leave it alone meanwhile
    code, out = _run(repo, "disposal", "destroy", pid, "--yes", "--json")
    assert code == 0, out
    assert [d["aip_id"] for d in json.loads(out)["destroyed"]] == [records["gone"]]
    assert not any(_keys(repo, records["gone"]).values())
    assert repo.store(repo.config.locations[1]).exists(f"{tombstone_prefix(records['gone'])}/tombstone.json")
    assert repo.catalog.aip(records["gone"])["state"] == "destroyed"
    assert _run(repo, "events", "verify")[0] == 0


CHILD = """
import os, sys
from pathlib import Path
from archa.repository import copies, store as store_mod
from archa.lifecycle import destruction
from archa.repository.repo import Repository

point = sys.argv[3]
orig_remove, orig_delete = destruction.remove_object, store_mod.Store.delete
deleted = []

def remove_object(store, kind, aip_id):
    if point == "before-first-location":
        os._exit(137)
    return orig_remove(store, kind, aip_id)

def delete(self, key):
    orig_delete(self, key)
    deleted.append(key)
    if point == "mid-object" and len(deleted) == 3:
        os._exit(137)

destruction.remove_object = remove_object
store_mod.Store.delete = delete
repo = Repository.open(Path(sys.argv[1]))
with repo.writing():
    destruction.destroy(repo, sys.argv[2], execute=True)
os._exit(0)
"""


@pytest.mark.parametrize("point", ["before-first-location", "mid-object"])
def test_kill_during_destruction_is_finished_by_the_next_run(repo: Repository, tmp_path: Path,
                                                             records: dict[str, str], point: str) -> None:
    pid = str(_propose(repo, tmp_path)["proposal"])
    assert _run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A", "--keep", "KU-SIP_H")[0] == 0
    r = subprocess.run([sys.executable, "-c", CHILD, str(repo.root), pid, point], capture_output=True, text=True,
                       check=False, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert r.returncode == 137, r.stderr
    repo.close()
    assert repo.catalog.aip(records["gone"])["state"] == "destroying"
    assert _run(repo, "fixity", "audit", "--all")[0] == 0  # neither audited nor reported damaged meanwhile
    code, out = _run(repo, "disposal", "destroy", pid, "--yes", "--json")
    assert code == 0, out
    assert [d["aip_id"] for d in json.loads(out)["destroyed"]] == [records["gone"]]
    assert not any(_keys(repo, records["gone"]).values())
    # one deletion done (beside the event that began it)
    assert [(e["type"], e["outcome"]) for e in repo.catalog.events(records["gone"])].count(("deletion", "success")) == 1
    assert _run(repo, "events", "verify")[0] == 0


def test_rebuild_sees_a_destruction_left_half_done(repo: Repository, tmp_path: Path,
                                                   records: dict[str, str]) -> None:
    from archa.repository.catalog import Catalog
    from archa.repository.rebuild import compare_catalogs, rebuild_catalog

    pid, cold, cold_back = _destroy_with_cold_away(repo, tmp_path)
    assert _run(repo, "disposal", "destroy", pid, "--yes")[0] == 1
    cold_back.rename(cold)
    # what happened while cold was away is held by hot alone: with two locations both must
    # agree, so the rebuild names it and waits for the operator to say which to believe
    report = rebuild_catalog(repo, tmp_path / "conflict.sqlite")
    assert report.conflicts and "held by hot only" in report.conflicts[0], report.conflicts
    code, out = _run(repo, "catalog", "rebuild", "--check")
    assert code == 1 and "CONFLICT event" in out and "held by hot only" in out, out
    report = rebuild_catalog(repo, tmp_path / "r.sqlite", trust="hot")
    assert not report.conflicts, report.conflicts
    rebuilt = Catalog.open(tmp_path / "r.sqlite")
    try:
        assert compare_catalogs(repo.catalog, rebuilt) == []
        assert rebuilt.aip(records["gone"])["state"] == "destroying"
        assert rebuilt.tombstone(records["gone"])["locations_left"] == ["cold"]  # type: ignore[index]
    finally:
        rebuilt.close()


def test_records_shown_for_appraisal_get_their_final_decision_later(repo: Repository, tmp_path: Path,
                                                                     records: dict[str, str]) -> None:
    pid = str(_propose(repo, tmp_path)["proposal"])
    code, out = _decide(repo, tmp_path, pid, [("KU-SIP_A", "předložit k výběru", None),
                                              ("KU-SIP_S", "zničit", None), ("KU-SIP_H", "vyřadit z výběru", None)])
    assert code == 0, out
    code, out = _run(repo, "disposal", "transfer", pid, str(tmp_path / "k-vyberu"), "--assessor", "Jan Novák",
                     "--json")
    assert code == 0, out
    (sip,) = json.loads(out)["sips"]
    assert sip["profile"] == "skartace-uplny"
    folder = tmp_path / "k-vyberu" / sip["sip"]
    assert check_package(folder, CheckOptions(Profile.FULL, date(2026, 12, 1))).valid
    assert (folder / "komponenty").is_dir()
    code, out = _run(repo, "disposal", "destroy", pid, "--yes", "--json")
    result = json.loads(out)
    assert [d["aip_id"] for d in result["destroyed"]] == [records["gone"]]
    assert {w["aip_id"]: w["reason"].split(": ", 1)[1][:30] for w in result["waiting"]} == {
        records["keep"]: "the archive is appraising it (", records["held"]: "taken out of this procedure"}
    # the archive has looked, and selects it
    code, out = _decide(repo, tmp_path, pid, [("KU-SIP_A", "vybrat za archiválii", None),
                                              ("KU-SIP_S", "zničit", None), ("KU-SIP_H", "vyřadit z výběru", None)],
                        "rozhodnuti-2.xml")
    assert code == 2 and "KU-SIP_S: already removed" in out, out
    code, out = _decide(repo, tmp_path, pid, [("KU-SIP_A", "vybrat za archiválii", None),
                                              ("KU-SIP_H", "vyřadit z výběru", None)], "rozhodnuti-3.xml")
    assert code == 2 and "KU-SIP_S" in out  # the list must still name every record of the proposal
    # excluded: proposable again in a later proposal
    code, out = _run(repo, "disposal", "propose", "--as-of", DUE, str(tmp_path / "navrh-2"), "--json")
    assert code == 0 and [i["aip_id"] for i in json.loads(out)["items"]] == [records["held"]], out


def test_a_release_a_killed_command_left_unanchored_is_said_as_such(repo: Repository, tmp_path: Path,
                                                                    records: dict[str, str]) -> None:
    """`hold remove` killed after its commit, before it anchored the log (an independent
    review's kill point): the release is in the catalog's table and log, not yet at any
    location. The record stays out of the proposal, but for that reason, not as "the catalog
    was changed behind archa's back"; the next command that anchors lifts it."""
    from archa.lifecycle.holds import remove_hold

    held = records["held"]
    assert _run(repo, "hold", "add", held, "--reason", "court case 12 C 34/2026")[0] == 0
    hold_id = repo.catalog.lifecycle.holds(held)[0]["id"]
    with repo.writing(anchor=False):  # as if killed after the commit, before the anchoring at the lock's end
        remove_hold(repo, hold_id, "settled")
    p = _propose(repo, tmp_path, "navrh-1")
    assert p["held"] == [held]
    why = p["held_reasons"][held]  # type: ignore[index]
    assert "which a storage location does not hold yet" in why and "behind archa's back" not in why, why
    assert "archa storage sync" in why
    p2 = _propose(repo, tmp_path, "navrh-2")  # the first proposal anchored the release as it ended
    assert p2["held"] == [] and [i["aip_id"] for i in p2["items"]] == [held]  # type: ignore[index]
