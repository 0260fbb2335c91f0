"""`archa init` and opening repositories."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.errors import RepositoryError
from archa.repository.catalog import SCHEMA_VERSION
from archa.repository.repo import Repository


def test_init_lays_out_repository(tmp_path: Path) -> None:
    repo = Repository.init(tmp_path / "a")
    root = repo.root
    cfg = tomllib.loads((root / "archa.toml").read_text())
    assert cfg["repository"]["id"].startswith("urn:uuid:")
    assert cfg["locations"] == [{"name": "hot", "kind": "ocfl", "uri": "storage/hot", "tier": "hot"},
                                {"name": "cold", "kind": "packed", "uri": "storage/cold", "tier": "cold"}]
    assert json.loads((root / "storage" / "cold" / "archa_packed.json").read_text())["format"] == \
        "archa packed copies 1"
    hot = root / "storage" / "hot"
    assert (hot / "0=ocfl_1.1").read_text() == "ocfl_1.1\n"
    assert json.loads((hot / "ocfl_layout.json").read_text())["extension"] == \
        "0004-hashed-n-tuple-storage-layout"
    conf = json.loads((hot / "extensions" / "0004-hashed-n-tuple-storage-layout" / "config.json").read_text())
    assert conf == {"extensionName": "0004-hashed-n-tuple-storage-layout", "digestAlgorithm": "sha256",
                    "tupleSize": 3, "numberOfTuples": 3, "shortObjectRoot": False}
    assert repo.catalog.schema_version == SCHEMA_VERSION
    assert repo.catalog.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [p.name for p in tmp_path.iterdir()] == ["a"]  # no temporary leftovers
    repo.close()


def test_init_refuses_existing_repository(tmp_path: Path) -> None:
    Repository.init(tmp_path / "a").close()
    before = (tmp_path / "a" / "archa.toml").read_bytes()
    with pytest.raises(RepositoryError, match="exists here already"):
        Repository.init(tmp_path / "a")
    assert (tmp_path / "a" / "archa.toml").read_bytes() == before


def test_init_refuses_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "keep.txt").write_text("mine")
    with pytest.raises(RepositoryError, match="not an empty directory"):
        Repository.init(tmp_path / "a")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["keep.txt"]


def test_init_accepts_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    Repository.init(tmp_path / "a").close()
    assert (tmp_path / "a" / "archa.toml").is_file()


def test_cli_init_defaults_to_archive_and_refuses_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(cli, ["init"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"Created repository {tmp_path / 'archive'}\n")
    assert (tmp_path / "archive" / "archa.toml").is_file()
    r = runner.invoke(cli, ["init"])
    assert r.exit_code == 2
    assert f"error: {tmp_path / 'archive'}: a repository exists here already" in r.output


def test_repo_chosen_by_option_then_env_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.bagmaker import write_bag

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARCHA_REPO", raising=False)
    runner = CliRunner()
    for name in ("archive", "env-repo", "opt-repo"):
        assert runner.invoke(cli, ["init", name]).exit_code == 0
    bag = write_bag(tmp_path / "bag", {"a.txt": b"a"})
    assert runner.invoke(cli, ["ingest", "--repo", "env-repo", str(bag)]).exit_code == 0

    def count(*args: str) -> int:
        r = runner.invoke(cli, ["aip", "list", "--json", *args])
        assert r.exit_code == 0, r.output
        return len(json.loads(r.output))

    assert count() == 0  # ./archive
    monkeypatch.setenv("ARCHA_REPO", "env-repo")
    assert count() == 1  # $ARCHA_REPO
    assert count("--repo", "opt-repo") == 0  # --repo wins over $ARCHA_REPO
    monkeypatch.setenv("ARCHA_REPO", str(tmp_path / "missing"))
    r = runner.invoke(cli, ["aip", "list"])
    assert r.exit_code == 2 and "missing: no repository here" in r.output


def test_open_reports_missing_and_broken_config(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="no repository here"):
        Repository.open(tmp_path / "nothing")
    (tmp_path / "x").mkdir()
    with pytest.raises(RepositoryError, match="not an archa repository"):
        Repository.open(tmp_path / "x")
    Repository.init(tmp_path / "y").close()
    (tmp_path / "y" / "archa.toml").write_text("[repository\n")
    with pytest.raises(RepositoryError, match="not valid TOML"):
        Repository.open(tmp_path / "y")
