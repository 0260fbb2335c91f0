"""Access conditions (issue #25, 3): taken from the package (bag-info Access-Rights, NSESSS
Pristupnost, an NDK volume public by the policy), set with `archa access set` (an event),
shown with their history, and honoured by `dip export --audience public`: a restricted or
embargoed record refused (exit 2, nothing written), left out of an export of several, an
embargo that has ended exported, and a row opened behind archa's back refused."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.ingest.ingest import ingest
from archa.repository.access import AccessState
from archa.repository.repo import Repository
from tests import nsesss_maker as mk
from tests.bagmaker import write_bag
from tests.catalogs import insider_sql
from tests.ndk_maker import PspSpec, make_psp

TODAY = dt.date.today()
YESTERDAY = (TODAY - dt.timedelta(days=1)).isoformat()
NEXT_YEAR = (TODAY + dt.timedelta(days=365)).isoformat()
RIGHTS = "not public: personal data"  # a bag-info Access-Rights statement (its words are the reason)


def run(repo: Repository, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    return r.exit_code, r.stdout, r.stderr


def bag_aip(repo: Repository, bags: Path, name: str, rights: str | None = None) -> str:
    info = {"External-Description": f"Spis {name}", "External-Identifier": f"X-{name}"}
    if rights is not None:
        info["Access-Rights"] = rights
    return ingest(repo, write_bag(bags / name, {f"{name}.txt": name.encode() * 20}, info=info)).aip_id


def state(repo: Repository, aip: str) -> AccessState:
    return repo.catalog.record_index.access_rows([aip])[aip]


# --- taken from the package ------------------------------------------------------------------

def test_access_taken_from_the_package(repo: Repository, bags: Path, tmp_path: Path) -> None:
    restricted = bag_aip(repo, bags, "a", RIGHTS)
    public = bag_aip(repo, bags, "b", "public")
    silent = bag_aip(repo, bags, "c")  # says nothing: the policy's default for a bag, restricted
    assert state(repo, restricted).status == "restricted" and state(repo, restricted).source == "package"
    assert state(repo, public) == AccessState("public", "", "", "package")
    assert (state(repo, silent).status, state(repo, silent).source) == ("restricted", "policy")
    code, out, _ = run(repo, "access", "show", restricted, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["status"] == "restricted" and shown["source"] == "package" and shown["recorded"]
    assert [h["status"] for h in shown["history"]] == ["restricted"]  # the ingest's event

    # an NSESSS file with Pristupnost: restricted, from its package
    pkg = mk.fresh_package(name="p1", ident="KU-P1", title="Spis P1", access="Obsahuje osobní údaje")
    code, out, err = run(repo, "transfer", "nsesss", str(mk.write_package(tmp_path / "src", pkg)), "--ingest",
                         "--json")
    assert code == 0, out + err
    erms = json.loads(out)["ingest"]["aip_id"]
    assert state(repo, erms) == AccessState("restricted", "Obsahuje osobní údaje", "", "package")

    # an NDK volume that says nothing: public, the policy's default for a digitised volume
    psp = make_psp(tmp_path / "psp", PspSpec())
    code, out, err = run(repo, "transfer", "ndk", str(psp), str(tmp_path / "bag"), "--ingest", "--json")
    assert code == 0, out + err
    volume = json.loads(out)["ingest"]["aip_id"]
    assert (state(repo, volume).status, state(repo, volume).source) == ("public", "policy")
    code, out, err = run(repo, "dip", "export", volume, str(tmp_path / "kronika"), "--format", "iiif",
                         "--audience", "public", "--json")
    assert code == 0, out + err
    assert json.loads(out)["audience"] == "public"
    (event,) = [e for e in repo.catalog.events(volume) if e["type"] == "dissemination"]
    assert event["detail"].endswith(f"; for public, asked by {getpass.getuser()}")


# --- a public export refused, then allowed ---------------------------------------------------

def test_public_export_refused_then_set_public(repo: Repository, bags: Path, tmp_path: Path) -> None:
    aip = bag_aip(repo, bags, "a", RIGHTS)
    out = tmp_path / "request.zip"
    code, stdout, err = run(repo, "dip", "export", "X-a", str(out), "--audience", "public")
    assert code == 2 and not out.exists(), stdout + err
    assert f"error: not exported to the public: {aip}: restricted: {RIGHTS} (as its package states)" in err
    assert f"archa access set {aip} --public --reason TEXT" in err
    assert not [p for p in tmp_path.iterdir() if "archa-partial" in p.name]
    assert not [e for e in repo.catalog.events(aip) if e["type"] == "dissemination"]
    code, stdout, _ = run(repo, "dip", "export", "X-a", str(out), "--audience", "public", "--json")
    assert code == 2 and json.loads(stdout)["refused"][0]["aip_id"] == aip

    code, stdout, err = run(repo, "access", "set", "X-a", "--public", "--reason", "released by decision 2026/14")
    assert (code, stdout) == (0, f"{aip}: public\n"), err
    assert state(repo, aip) == AccessState("public", "released by decision 2026/14", "", "set")
    code, stdout, err = run(repo, "dip", "export", "X-a", str(out), "--audience", "public")
    assert code == 0 and out.is_file(), stdout + err

    code, stdout, _ = run(repo, "access", "show", "X-a")
    lines = stdout.splitlines()
    assert lines[0] == f"{aip}: public"
    assert "  source:  set (set by an archivist)" in lines
    history = lines[lines.index("  history:") + 1:]
    assert history[0].endswith(f"restricted (package): {RIGHTS}")
    assert history[1].endswith(f"user:{getpass.getuser()}  public (set): released by decision 2026/14")


def test_access_set_refuses_what_makes_no_sense(repo: Repository, bags: Path) -> None:
    aip = bag_aip(repo, bags, "a", "public")
    before = len(repo.catalog.events(aip))
    cases = [
        (("--public", "--until", NEXT_YEAR), "--until is the end of a restriction"),
        (("--restricted", "--until", YESTERDAY), "is in the past"),
        (("--restricted", "--until", "next year"), "is not a date"),
        (("--restricted",), "Missing option '--reason'"),
        ((), "say --public or --restricted"),
    ]
    for extra, said in cases:
        reason = ("--reason", "x") if extra != ("--restricted",) else ()
        code, out, err = run(repo, "access", "set", aip, *extra, *reason)
        assert code == 2 and said in err, (extra, out, err)
    code, out, err = run(repo, "access", "set", "urn:uuid:00000000-0000-4000-8000-000000000000", "--public",
                         "--reason", "x")
    assert code == 2 and "error:" in err
    code, out, err = run(repo, "access", "set", aip, "--restricted", "--reason", "  ")
    assert code == 2 and "needs a reason" in err
    assert len(repo.catalog.events(aip)) == before  # nothing recorded


# --- embargoes ----------------------------------------------------------------------------

def test_embargo_refused_then_ended(repo: Repository, bags: Path, tmp_path: Path) -> None:
    ended = bag_aip(repo, bags, "old", f"embargo until {YESTERDAY}")
    running = bag_aip(repo, bags, "new", "public")
    assert state(repo, ended) == AccessState("restricted", f"embargo until {YESTERDAY}", YESTERDAY, "package")
    code, out, err = run(repo, "dip", "export", ended, str(tmp_path / "old"), "--audience", "public")
    assert code == 0, out + err  # the embargo ended yesterday: public today

    code, out, err = run(repo, "access", "set", running, "--restricted", "--until", NEXT_YEAR, "--reason",
                         "producer's request")
    assert (code, out) == (0, f"{running}: embargoed until {NEXT_YEAR}: producer's request\n"), err
    code, out, err = run(repo, "dip", "export", running, str(tmp_path / "new"), "--audience", "public")
    assert code == 2 and f"{running}: embargoed until {NEXT_YEAR}: producer's request (set by an archivist)" in err
    assert not (tmp_path / "new").exists()

    from archa.lifecycle.access import access_problems

    after = TODAY + dt.timedelta(days=366)  # the day after the embargo's last day
    assert access_problems(repo, [running, ended], after) == {}
    assert set(access_problems(repo, [running, ended])) == {running}


# --- several records -------------------------------------------------------------------------

def test_several_public_leaves_restricted_out_staff_takes_all(repo: Repository, bags: Path, tmp_path: Path) -> None:
    a = bag_aip(repo, bags, "a", "public")
    b = bag_aip(repo, bags, "b", RIGHTS)
    c = bag_aip(repo, bags, "c", "public")
    out = tmp_path / "reading-room"
    code, stdout, err = run(repo, "dip", "export", "X-a", "X-b", "X-c", str(out), "--format", "zip",
                            "--audience", "public")
    assert code == 0, stdout + err
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{x.removeprefix('urn:uuid:')}.zip" for x in (a, c))
    assert f"left out (not for the public): {b}: restricted: {RIGHTS} (as its package states)" in err
    assert stdout.splitlines()[-1] == f"{out}: 2 DIPs for public, 1 left out (not for the public)"

    code, stdout, err = run(repo, "dip", "export", a, b, c, str(tmp_path / "staff"), "--json")
    assert code == 0, stdout + err
    result = json.loads(stdout)
    assert (result["audience"], result["requested_by"], result["left_out"]) == ("staff", getpass.getuser(), [])
    assert sorted(r["aip_id"] for r in result["exported"]) == sorted([a, b, c])
    assert len(list((tmp_path / "staff").iterdir())) == 3
    (event,) = [e for e in repo.catalog.events(b) if e["type"] == "dissemination"]
    assert event["detail"].endswith(f"; for staff, asked by {getpass.getuser()}")

    # none may go to the public: refused, nothing written
    code, stdout, err = run(repo, "dip", "export", b, b, str(tmp_path / "none"), "--audience", "public")
    assert code == 2 and not (tmp_path / "none").exists() and b in err
    # a name of an archive for a folder of DIPs, --version for several: usage errors
    assert run(repo, "dip", "export", a, c, str(tmp_path / "x.zip"))[0] == 2
    assert run(repo, "dip", "export", a, c, str(tmp_path / "y"), "--version", "1")[0] == 2
    assert not (tmp_path / "y").exists()


def test_staff_export_is_the_default_and_records_who_asked(repo: Repository, bags: Path, tmp_path: Path) -> None:
    aip = bag_aip(repo, bags, "a", RIGHTS)
    code, out, err = run(repo, "dip", "export", aip, str(tmp_path / "req.bag.zip"), "--json")
    assert code == 0, out + err
    result = json.loads(out)
    assert (result["audience"], result["requested_by"]) == ("staff", getpass.getuser())
    import zipfile

    with zipfile.ZipFile(tmp_path / "req.bag.zip") as z:
        assert "Access-Audience: staff" in z.read("req/bag-info.txt").decode()


# --- the insider ---------------------------------------------------------------------------

def test_access_row_opened_behind_archas_back_is_refused(repo: Repository, bags: Path, tmp_path: Path) -> None:
    aip = bag_aip(repo, bags, "a", RIGHTS)
    insider_sql(repo, "UPDATE access SET status = 'public', reason = '' WHERE aip_id = ?", aip)
    assert state(repo, aip).status == "public"  # the table says public; the logs do not
    code, out, err = run(repo, "dip", "export", aip, str(tmp_path / "leak"), "--audience", "public")
    assert code == 2 and not (tmp_path / "leak").exists(), out + err
    assert "the catalog was changed behind archa's back" in err and "the access table says public" in err
    # the row deleted (as if it never had one): the logs still record the restriction
    insider_sql(repo, "DELETE FROM access WHERE aip_id = ?", aip)
    code, out, err = run(repo, "dip", "export", aip, str(tmp_path / "leak"), "--audience", "public")
    assert code == 2 and "the access table says nothing" in err


def test_record_from_before_access_is_judged_by_what_it_states(repo: Repository, bags: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An AIP ingested before access conditions were recorded (no row, no access event in any
    log): judged by what its stored version states, else the policy's default; a row put in
    for it behind archa's back is a disagreement."""
    from archa.lifecycle.access import access_problems, stated_access
    from archa.repository.catalog.recordindex import RecordIndex
    from archa.repository.events import ARCHA_AGENT, Event

    with monkeypatch.context() as m:  # an ingest of before: no row, and no access event
        m.setattr(RecordIndex, "set_access_row", lambda *a, **k: None)
        m.setattr("archa.ingest.ingest.access_event", lambda state, aip, version, agent, time="": Event(
            "policy assignment", "success", "placement policy applied", ARCHA_AGENT, aip, version))
        open_one = bag_aip(repo, bags, "a", "public")
        silent = bag_aip(repo, bags, "b")
    assert repo.catalog.record_index.access_rows([open_one, silent]) == {}
    assert stated_access(repo, open_one) == AccessState("public", "", "", "package")
    assert (stated_access(repo, silent).status, stated_access(repo, silent).source) == ("restricted", "policy")
    problems = access_problems(repo, [open_one, silent])
    assert list(problems) == [silent] and problems[silent].startswith("restricted: the policy's default for bag records")
    code, out, err = run(repo, "dip", "export", open_one, str(tmp_path / "a"), "--audience", "public")
    assert code == 0, out + err
    code, out, err = run(repo, "access", "show", silent)
    assert code == 0 and "; not recorded in the catalog: read from the stored version" in out, out + err
    # a row opened for it behind archa's back: no event says so
    insider_sql(repo, "INSERT INTO access (aip_id, status, reason, until, source, changed) VALUES "
                      "(?, 'public', '', '', 'set', '2026-01-01T00:00:00Z')", silent)
    code, out, err = run(repo, "dip", "export", silent, str(tmp_path / "b"), "--audience", "public")
    assert code == 2 and "the catalog's event log nothing" in err and not (tmp_path / "b").exists()
    # restricted through archa: the row and its event agree, and it is refused from then on
    code, out, err = run(repo, "access", "set", open_one, "--restricted", "--reason", "withdrawn")
    assert code == 0 and set(access_problems(repo, [open_one])) == {open_one}
