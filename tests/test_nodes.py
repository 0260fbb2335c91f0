"""Several archa nodes on one repository: a catalog on a PostgreSQL server, storage every
node reaches at the same paths. Two nodes ingest side by side while a third command audits;
the same bag sent to both at once is stored once; the event chain does not fork; audit, log
and rebuild check are clean afterwards, from either node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from archa.repository.repo import Repository
from tests.bagmaker import write_bag
from tests.pgserver import PgServer

ROOT = Path(__file__).resolve().parent.parent


def archa(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "archa.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def done(p: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = p.communicate(timeout=600)
    return p.returncode, out + err


def test_two_nodes_ingest_side_by_side_during_an_audit(pg: PgServer, tmp_path: Path) -> None:
    url = pg.database()
    a = Repository.init(tmp_path / "node-a", catalog=url, node="a")
    a.close()
    b = Repository.init(tmp_path / "node-b", catalog=url, node="b")
    assert b.joined and b.config.repository_id == a.config.repository_id
    assert [loc.uri for loc in b.config.locations] == [loc.uri for loc in a.config.locations]
    b.close()
    bags = [write_bag(tmp_path / "bags" / f"b{i}", {f"spis-{i}/dopis.txt": f"dopis {i}\n".encode() * 200,
                                                     f"spis-{i}/příloha.bin": os.urandom(50_000)})
            for i in range(8)]
    first = [archa("ingest", str(bag), "--repo", str(tmp_path / "node-a"), "--json") for bag in bags[:2]]
    for p in first:
        assert done(p)[0] == 0
    # now: ingests on both nodes, the same bag sent to both at once, and an audit beside them
    running = [archa("ingest", str(bag), "--repo", str(tmp_path / ("node-a" if i % 2 else "node-b")), "--json")
               for i, bag in enumerate(bags[2:7])]
    twice = [archa("ingest", str(bags[7]), "--repo", str(tmp_path / node), "--json") for node in ("node-a", "node-b")]
    audit = archa("fixity", "audit", "--all", "--repo", str(tmp_path / "node-b"))
    results = [done(p) for p in running]
    assert all(code == 0 for code, _out in results), results
    duplicate = [done(p) for p in twice]
    assert sorted(code for code, _out in duplicate) == [0, 2], duplicate  # stored once, the other refused
    assert "DUP001" in next(out for code, out in duplicate if code == 2) or "busy" in duplicate[1][1]
    assert done(audit)[0] in (0, 1)  # it may meet a copy still being written: busy, left for the next run
    with Repository.open(tmp_path / "node-a") as repo:
        aips = repo.catalog.aips()
        assert len(aips) == 8 and len({a["external_id"] or a["id"] for a in aips}) == 8
        heads = repo.catalog.conn.execute("SELECT COUNT(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM events f "
                                          "WHERE f.prev_hash = e.hash)").fetchone()[0]
        assert heads == 1  # one chain: no two rows follow the same row
    for node in ("node-a", "node-b"):
        for check in (["fixity", "audit", "--all"], ["events", "verify"], ["catalog", "rebuild", "--check"]):
            code, out = done(archa(*check, "--repo", str(tmp_path / node)))
            assert code == 0, (node, check, out)
    code, out = done(archa("status", "--repo", str(tmp_path / "node-b"), "--json"))
    assert json.loads(out)["node"] == "b" and json.loads(out)["aips"] == 8


def test_init_joins_a_repository_on_the_server_and_refuses_a_second_node_of_one_name(
        pg: PgServer, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from archa.cli.main import cli

    url = pg.database()
    run = CliRunner().invoke
    first = run(cli, ["init", str(tmp_path / "one"), "--catalog", url, "--node", "intake-1", "--json"])
    assert first.exit_code == 0, first.output
    second = run(cli, ["init", str(tmp_path / "two"), "--catalog", url, "--node", "intake-2", "--json"])
    assert second.exit_code == 0, second.output
    assert json.loads(second.output)["id"] == json.loads(first.output)["id"]
    again = run(cli, ["init", str(tmp_path / "three"), "--catalog", url, "--node", "intake-1"])
    assert again.exit_code == 2
    assert "'intake-1' is already a node of this repository" in again.output
    assert str(tmp_path / "one") in again.output and "--node" in again.output
    assert not (tmp_path / "three" / "archa.toml").exists()


def test_a_catalog_server_out_of_reach_or_gone_mid_command_is_a_clear_error(pg: PgServer, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from archa.cli.main import cli
    from archa.errors import CatalogUnavailable
    from archa.repository.catalog.errors import as_archa_error

    url = pg.database()
    name = url.split("@/")[1].split("?")[0]
    repo = Repository.init(tmp_path / "node", catalog=url, node="n1")
    cat = repo.catalog
    assert cat.setting("config")  # connected
    pg.psql("postgres", f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    try:
        cat.setting("config")
        raise AssertionError("the query ran on a terminated connection")
    except Exception as e:  # noqa: BLE001 - psycopg's OperationalError, told apart by as_archa_error
        mapped = as_archa_error(e)
    assert isinstance(mapped, CatalogUnavailable) and mapped.exit_code == 1
    assert "connection to the catalog database was lost" in str(mapped) and "run the command again" in mapped.hint
    pg.psql("postgres", f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        r = CliRunner().invoke(cli, ["status", "--repo", str(tmp_path / "node")])
    finally:
        pg.psql("postgres", f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert r.exit_code == 1, r.output
    assert "cannot be reached" in r.output and name in r.output and "PostgreSQL server runs" in r.output


def test_a_policy_edited_on_one_node_is_flagged_until_shared_then_every_node_uses_it(
        pg: PgServer, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from archa.cli.main import cli

    url = pg.database()
    Repository.init(tmp_path / "a", catalog=url, node="a").close()
    Repository.init(tmp_path / "b", catalog=url, node="b").close()
    run = CliRunner().invoke
    toml = tmp_path / "a" / "archa.toml"
    toml.write_text(toml.read_text("utf-8") + "\n[policy.fixity]\ninterval_days = { hot = 30, warm = 60, cold = 120 }\n",
                    "utf-8")
    status = run(cli, ["status", "--repo", str(tmp_path / "a"), "--json"])
    assert any("archa policy share" in line for line in json.loads(status.output)["needs_person"]), status.output
    with Repository.open(tmp_path / "b") as b:
        assert b.policy.fixity.interval_days["hot"] == 90  # not in force anywhere yet
    shared = run(cli, ["policy", "share", "--repo", str(tmp_path / "a")])
    assert shared.exit_code == 0, shared.output
    with Repository.open(tmp_path / "b") as b:
        assert b.policy.fixity.interval_days["hot"] == 30
    status = run(cli, ["status", "--repo", str(tmp_path / "a"), "--json"])
    assert not any("policy" in line for line in json.loads(status.output)["needs_person"])
    toml.write_text(toml.read_text("utf-8").replace("hot = 30", "hot = 0.5.5"), "utf-8")
    bad = run(cli, ["policy", "share", "--repo", str(tmp_path / "a")])
    assert bad.exit_code == 2 and "archa.toml" in bad.output


def test_policy_share_on_an_embedded_catalog_says_archa_toml_is_the_policy(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from archa.cli.main import cli

    Repository.init(tmp_path / "r").close()
    r = CliRunner().invoke(cli, ["policy", "share", "--repo", str(tmp_path / "r")])
    assert r.exit_code == 2 and "archa.toml's [policy] is the policy in force already" in r.output


def test_a_node_leaves_the_log_temporaries_another_node_is_writing(pg: PgServer, tmp_path: Path) -> None:
    """Node b's writing command swept the event log's temporary files whenever its own
    anchor lock was free, deleting the one node a was writing at the shared location (a's
    command then failed to write the log there). Now a temporary is swept only when no node
    anchors; one a killed anchoring left is still swept."""
    url = pg.database()
    Repository.init(tmp_path / "node-a", catalog=url, node="a").close()
    Repository.init(tmp_path / "node-b", catalog=url, node="b").close()
    bag = write_bag(tmp_path / "bags" / "b0", {"dopis.txt": b"dopis\n"})
    code, out = done(archa("ingest", str(bag), "--repo", str(tmp_path / "node-a"), "--json"))
    assert code == 0, out
    aip = json.loads(out)[0]["aip_id"]
    events = tmp_path / "node-a" / "storage" / "hot" / "extensions" / "archa-events"
    writing = events / ".000000000099-000000000099.jsonl.0123abcd.tmp"
    writing.write_text("")
    with Repository.open(tmp_path / "node-a") as a:
        with a._shared_lock("anchor", False, 10):  # a anchors meanwhile
            b = archa("hold", "add", aip, "--reason", "x", "--repo", str(tmp_path / "node-b"))
            waiting = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            deadline = time.monotonic() + 60
            while a.catalog.conn.execute(waiting).fetchone()[0] == 0 and b.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.05)  # until b, its work done, waits to anchor: its sweep is behind it
            assert writing.exists()  # left alone
        code, out = done(b)
        assert code == 0, out
    code, out = done(archa("hold", "add", aip, "--reason", "y", "--repo", str(tmp_path / "node-b")))
    assert code == 0, out
    assert not writing.exists()  # nobody anchors now: a killed anchoring's leftover, swept
