"""`archa init --seal-key FILE`: the key is made (mode 0600 from its first byte) or checked,
named in archa.toml, never put inside the repository; with it, a row an insider writes into
the catalog file is refused by the next writing command; without one, `archa status` warns.
A node joining a shared catalog with another key, or with none while the seals are signed,
is refused before anything is made."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from tests.bagmaker import write_bag
from tests.pgserver import PgServer

HASHED = ("id", "type", "time", "outcome", "detail", "agent", "aip_id", "version", "location", "transfer_id",
          "prev_hash")


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.output


def test_init_makes_the_key_and_a_forged_catalog_row_is_then_refused(tmp_path: Path) -> None:
    keys = tmp_path / "etc-archa"
    keys.mkdir(mode=0o700)
    key, root = keys / "seal.key", tmp_path / "archive"
    code, out = run("init", str(root), "--seal-key", str(key), "--json")
    assert code == 0, out
    assert json.loads(out)["seal_key"] == str(key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(base64.b64decode(key.read_bytes().strip())) == 32
    assert f'seal_key = "{key}"' in (root / "archa.toml").read_text()
    code, out = run("status", "--repo", str(root))
    assert "no seal key" not in out, out

    bag = write_bag(tmp_path / "bag", {"dopis.txt": "Vážený pane starosto\n".encode() * 50})
    code, out = run("ingest", str(bag), "--repo", str(root), "--json")
    assert code == 0, out
    aip = json.loads(out)[0]["aip_id"]
    with sqlite3.connect(root / "catalog.sqlite") as db:  # the insider, with sqlite3 alone: a well-chained row
        (prev,) = db.execute("SELECT hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        row: dict[str, object] = {"id": "urn:uuid:00000000-0000-4000-8000-000000000007", "type": "policy assignment",
                                  "time": "2026-12-04T10:00:00.000000Z", "outcome": "success",
                                  "detail": "access public (set): forged", "agent": "archa/0.1.0", "aip_id": aip,
                                  "version": "v1", "location": None, "transfer_id": None, "prev_hash": prev}
        canon = json.dumps({k: row[k] for k in HASHED}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        db.execute(f"INSERT INTO events ({', '.join((*HASHED, 'hash'))}) VALUES ({', '.join('?' * 12)})",
                   [*(row[k] for k in HASHED), hashlib.sha256(canon.encode()).hexdigest()])
    db.close()
    code, out = run("fixity", "audit", "--all", "--repo", str(root))
    assert code == 1 and "not signed with the repository's seal key" in out, out


def test_without_a_key_status_warns_and_init_says_so(tmp_path: Path) -> None:
    code, out = run("init", str(tmp_path / "archive"))
    assert code == 0 and "seal key: none" in out, out
    code, out = run("status", "--repo", str(tmp_path / "archive"))
    assert "warning: no seal key" in out, out
    code, out = run("status", "--repo", str(tmp_path / "archive"), "--json")
    assert json.loads(out)["seal_key"] == ""


@pytest.mark.parametrize("where", ["inside", "linked-inside", "dangling-link", "no-folder", "readable"])
def test_a_key_init_cannot_trust_makes_nothing(tmp_path: Path, where: str) -> None:
    root = tmp_path / "archive"
    key = {"inside": root / "seal.key", "no-folder": tmp_path / "nowhere" / "seal.key"}.get(where,
                                                                                         tmp_path / "seal.key")
    if where == "readable":
        key.write_text("a" * 44)
        key.chmod(0o644)
    elif where == "linked-inside":
        key.symlink_to(root / "seal.key")
    elif where == "dangling-link":
        key.symlink_to(tmp_path / "gone" / "seal.key")
    code, out = run("init", str(root), "--seal-key", str(key))
    assert code == 2, out
    assert {"inside": "inside the repository", "linked-inside": "inside the repository", "dangling-link": "a link to "
            "nothing", "no-folder": "no such folder", "readable": "chmod 600"}[where] in out, out
    assert not root.exists() and sorted(p.name for p in tmp_path.iterdir()) == ([] if where in ("inside", "no-folder")
                                                                                 else ["seal.key"])


def test_a_node_joining_with_another_key_or_none_is_refused(pg: PgServer, tmp_path: Path) -> None:
    url = pg.database()
    (tmp_path / "k").mkdir()
    key = tmp_path / "k" / "seal.key"
    code, out = run("init", str(tmp_path / "node-a"), "--catalog", url, "--node", "a", "--seal-key", str(key))
    assert code == 0, out
    bag = write_bag(tmp_path / "bag", {"dopis.txt": b"x" * 500})
    assert run("ingest", str(bag), "--repo", str(tmp_path / "node-a"))[0] == 0  # the log sealed, signed
    other = tmp_path / "k" / "other.key"
    for extra, said in ((["--seal-key", str(other)], "not the seal key"), ([], "was given none")):
        code, out = run("init", str(tmp_path / "node-b"), "--catalog", url, "--node", "b", *extra)
        assert code == 2 and said in out, out
        assert not (tmp_path / "node-b" / "archa.toml").exists()
    code, out = run("init", str(tmp_path / "node-b"), "--catalog", url, "--node", "b", "--seal-key", str(key))
    assert code == 0, out  # the same key (a copy of the file) joins, under the name refused before
    assert run("ingest", str(write_bag(tmp_path / "bag2", {"b.txt": b"y" * 500})), "--repo",
               str(tmp_path / "node-b"))[0] == 0
    code, out = run("events", "verify", "--repo", str(tmp_path / "node-a"))
    assert code == 0, out
