"""`archa catalog rebuild` of a catalog on a PostgreSQL server (archa/repository/serverrebuild.py),
whatever --catalog says: the repositories here are made on the test server.

- `--check` rebuilds into a temporary SQLite file and compares it with the database;
- a live catalog is rebuilt into the empty database `--into` names, compared, and with
  `--replace` this node's archa.toml names the new database (the old one stays as it was);
- a database that lost the catalog (made again, empty) gets it back from storage alone;
- without --into, and into a database that holds a catalog, the rebuild refuses.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.repository.repo import Repository
from tests.bagmaker import write_bag
from tests.catalogs import catalog_exists, catalog_url, empty_database, lose_catalog


@pytest.fixture
def repo(pg_repo: Repository) -> Repository:
    return pg_repo


def run(repo: Repository, *args: str, code: int = 0) -> str:
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    assert r.exit_code == code, r.output
    return r.output


def _filled(repo: Repository, bags: Path) -> str:
    aip = json.loads(run(repo, "ingest", str(write_bag(bags / "a", {"dopis.txt": b"Vazeny pane\n" * 50})),
                         "--json"))[0]["aip_id"]
    run(repo, "ingest", str(write_bag(bags / "b", {"příloha.txt": "příloha č. 1\n".encode() * 30})))
    run(repo, "hold", "add", aip, "--reason", "soud 12 C 34/2026")
    return str(aip)


def test_check_and_a_rebuild_into_a_new_database(repo: Repository, bags: Path) -> None:
    aip = _filled(repo, bags)
    assert "the same as the live catalog, field by field" in run(repo, "catalog", "rebuild", "--check")
    out = run(repo, "catalog", "rebuild", code=2)
    assert "--into" in out, out
    old = catalog_url(repo)
    new = empty_database(repo)
    out = run(repo, "catalog", "rebuild", "--into", new)  # compared, not put in place
    assert "0 differences; the current catalog is unchanged" in out, out
    assert catalog_url(repo) == old
    out = run(repo, "catalog", "rebuild", "--into", new, code=2)  # it holds a catalog now
    assert "holds an archa catalog already" in out, out
    newer = empty_database(repo)
    out = run(repo, "catalog", "rebuild", "--into", newer, "--replace", "--json")
    result = json.loads(out)
    assert result["replaced"] and result["differences"] == [] and result["backup"], result
    assert catalog_url(repo) == newer  # this node now uses the rebuilt database
    assert any("point every other node" in n for n in result["notes"]), result
    with Repository.open(repo.root) as again:
        assert again.catalog.lifecycle.held(aip) and len(again.catalog.aips()) == 2
        assert again.config.repository_id == repo.config.repository_id  # the shared settings came along
    assert "matching the log" in run(repo, "events", "verify")
    assert "0 failed" in run(repo, "fixity", "audit", "--all")
    with psycopg.connect(old) as conn:  # the old database is left as it was
        assert conn.execute("SELECT count(*) FROM aips").fetchone() == (2,)


def test_a_lost_database_comes_back_from_storage_alone(repo: Repository, bags: Path) -> None:
    aip = _filled(repo, bags)
    before = {q: repo.catalog.conn.execute(q).fetchall() for q in (
        "SELECT seq, hash FROM events ORDER BY seq", "SELECT id, head, label FROM aips ORDER BY id",
        "SELECT aip_id, reason, released FROM holds ORDER BY id",
        "SELECT aip_id, version, logical_path, digest FROM files ORDER BY 1, 2, 3")}
    lose_catalog(repo)  # the database dropped and made again, empty
    assert not catalog_exists(repo)
    out = run(repo, "catalog", "rebuild")
    assert out.startswith("Rebuilt 2 AIPs"), out
    with Repository.open(repo.root) as again:
        assert {q: again.catalog.conn.execute(q).fetchall() for q in before} == before
        assert again.catalog.lifecycle.held(aip)
    run(repo, "hold", "remove", aip, "--reason", "over")  # the journal and the chain go on
    assert "matching the log" in run(repo, "events", "verify")
    assert "the same as the live catalog, field by field" in run(repo, "catalog", "rebuild", "--check")
