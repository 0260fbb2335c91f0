"""The command line: exact output, exit statuses, --json, help and docs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from tests.bagmaker import write_bag

DOCS = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


@pytest.fixture
def env(tmp_path: Path) -> tuple[CliRunner, str, Path]:
    runner = CliRunner()
    repo = str(tmp_path / "archive")
    assert runner.invoke(cli, ["init", repo]).exit_code == 0
    bag = write_bag(tmp_path / "bag", {"a.txt": b"hello\n", "b.csv": b"x,y\n1,2\n"},
                    info={"External-Description": "Two small files", "External-Identifier": "X-9"})
    yield runner, repo, bag
    from tests.conftest import validate_storage_root
    assert validate_storage_root(Path(repo) / "storage" / "hot") == []


def test_ingest_prints_id_files_and_formats(env: tuple[CliRunner, str, Path]) -> None:
    runner, repo, bag = env
    r = runner.invoke(cli, ["ingest", "--repo", repo, str(bag)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert re.fullmatch(rf"Ingested {re.escape(str(bag))} as urn:uuid:[0-9a-f-]{{36}} v1 \(originator unknown\)",
                        lines[0])
    assert lines[1] == "  note: the SIP names no originator"
    assert re.fullmatch(r"  files: 2, bytes: 14 \(14 B\), [0-9.]+ s, [0-9.]+ MB/s", lines[2])
    assert lines[3] == "  formats:"
    assert lines[-1] == "  copies: cold, hot"
    assert sorted(lines[4:-1]) == sorted([
        "    x-fmt/111         1 files        6 B  Plain Text File",
        "    x-fmt/18          1 files        8 B  Comma Separated Values",
    ])


def test_ingest_json_and_aip_show(env: tuple[CliRunner, str, Path]) -> None:
    runner, repo, bag = env
    r = runner.invoke(cli, ["ingest", "--repo", repo, "--json", str(bag)])
    assert r.exit_code == 0, r.output
    (res,) = json.loads(r.output)
    assert res["files"] == 2 and res["bytes"] == 14 and res["version"] == "v1"
    r = runner.invoke(cli, ["aip", "show", "--repo", repo, "--json", res["aip_id"]])
    shown = json.loads(r.output)
    assert shown["aip"]["label"] == "Two small files" and shown["aip"]["external_id"] == "X-9"
    paths = {f["logical_path"]: f for f in shown["files"]}
    assert paths["representations/original/data/b.csv"]["puid"] == "x-fmt/18"
    assert [e["type"] for e in shown["events"]][-3:] == ["ingestion", "policy assignment", "replication"]
    assert {c["location"]: c["state"] for c in shown["copies"]} == {"hot": "ok", "cold": "ok"}
    r = runner.invoke(cli, ["aip", "show", "--repo", repo, res["aip_id"]])
    assert r.exit_code == 0
    assert f"AIP {res['aip_id']}\n  label:   Two small files\n  external id: X-9\n" in r.output
    assert "  representations/original/data/b.csv\n" in r.output
    assert "x-fmt/18 Comma Separated Values" in r.output
    r = runner.invoke(cli, ["aip", "list", "--repo", repo])
    assert r.output.splitlines()[1].startswith(f"{res['aip_id']}  v1         2       14 B  ")  # the payload
    assert r.output.splitlines()[1].endswith("Two small files")


def test_rejected_sip_lists_every_problem_and_exits_2(env: tuple[CliRunner, str, Path]) -> None:
    runner, repo, bag = env
    (bag / "data" / "a.txt").write_bytes(b"HELLO\n")
    (bag / "data" / "c.txt").write_bytes(b"stray")
    r = runner.invoke(cli, ["ingest", "--repo", repo, str(bag)])
    assert r.exit_code == 2
    assert f"error: {bag}: rejected, 3 problem(s) found\n" in r.output
    assert "  error: BAG008 data/c.txt: payload file not listed in the manifest" in r.output
    assert "  error: BAG009 data/a.txt: sha256 checksum does not match the manifest (expected " in r.output
    assert "  error: BAG010 bag-info.txt: Payload-Oxum does not match the payload on disk " \
           "(expected 14.2, found 19.3)" in r.output
    assert "recorded as rejected" in r.output
    assert "hint: fix the bag" in r.output
    r = runner.invoke(cli, ["ingest", "--repo", repo, "--json", str(bag)])
    assert r.exit_code == 2
    data = json.loads(r.output)
    assert data["error"] == "SipRejected" and {f["code"] for f in data["findings"]} == {"BAG008", "BAG009", "BAG010"}
    assert json.loads(runner.invoke(cli, ["aip", "list", "--repo", repo, "--json"]).output) == []


def test_unknown_aip_and_bad_arguments_exit_2(env: tuple[CliRunner, str, Path]) -> None:
    runner, repo, _bag = env
    r = runner.invoke(cli, ["aip", "show", "--repo", repo, "urn:uuid:nope"])
    assert r.exit_code == 2 and "error: no AIP 'urn:uuid:nope' in the catalog" in r.output
    assert runner.invoke(cli, ["ingest", "--repo", repo]).exit_code == 2  # no SIP given
    r = runner.invoke(cli, ["ingest", "--repo", repo, "--jobs", "0", "x"])
    assert r.exit_code == 2 and "--jobs" in r.output
    r = runner.invoke(cli, ["ingest", "--repo", repo, "--engine", "nope", str(_bag)])
    assert r.exit_code == 2 and "unknown identification engine 'nope'" in r.output


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            out += _commands(cmd, full + " ")
        else:
            out.append((full, cmd))
    return out


@pytest.mark.parametrize("name", [n for n, _c in _commands(cli)])
def test_every_command_has_an_example_and_is_documented(name: str) -> None:
    r = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert r.exit_code == 0
    assert "Example:" in r.output and f"archa {name}" in r.output.split("Example:")[1]
    assert f"## `archa {name}`" in DOCS.read_text("utf-8")


def test_the_console_script_freezes_what_the_command_loaded(tmp_path: Path) -> None:
    """`archa` (main) leaves the objects made by loading the command out of later garbage
    collections (the exit's full collection cost ~10 ms a command); a runner that invokes many
    commands in one process (these tests) does not freeze."""
    import gc

    from archa.cli.main import OWN_PROCESS

    gc.unfreeze()
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path / "a")]).exit_code == 0
    assert gc.get_freeze_count() == 0
    try:
        r = runner.invoke(cli, ["init", str(tmp_path / "b")], obj=OWN_PROCESS)
        assert r.exit_code == 0, r.output
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
