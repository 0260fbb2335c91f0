"""`archa init --seal-key FILE`: the key is made (mode 0600 from its first byte) or checked,
named in archa.toml, never put inside the repository; with it, a row an insider writes into
the catalog file is refused by the next writing command; without one, `archa status` warns.
A node joining a shared catalog with another key, or with none while the seals are signed,
is refused before anything is made."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
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


def _key(path: Path) -> Path:
    path.write_bytes(base64.b64encode(os.urandom(32)))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("sealed", [True, False], ids=["after-an-ingest", "before-anything-is-sealed"])
def test_a_node_joining_with_another_key_or_none_is_refused(pg: PgServer, tmp_path: Path, sealed: bool) -> None:
    """Before anything was sealed the locations held no signed seal to compare with, and a node
    with another key, or none, joined (exit 0) and then wrote events the others refused. The
    catalog now records which key the repository signs with."""
    url = pg.database()
    (tmp_path / "k").mkdir()
    key = tmp_path / "k" / "seal.key"
    code, out = run("init", str(tmp_path / "node-a"), "--catalog", url, "--node", "a", "--seal-key", str(key))
    assert code == 0, out
    if sealed:
        bag = write_bag(tmp_path / "bag", {"dopis.txt": b"x" * 500})
        assert run("ingest", str(bag), "--repo", str(tmp_path / "node-a"))[0] == 0
    other = _key(tmp_path / "k" / "other.key")
    for extra, said in ((["--seal-key", str(other)], "not the seal key"), ([], "was given none"),
                        (["--seal-key", str(tmp_path / "k" / "new.key")], "no such seal key")):
        code, out = run("init", str(tmp_path / "node-b"), "--catalog", url, "--node", "b", *extra)
        assert code == 2 and said in out, out
        assert not (tmp_path / "node-b").exists()  # nothing made: no folder, no key
        assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["other.key", "seal.key"]
    code, out = run("init", str(tmp_path / "node-b"), "--catalog", url, "--node", "b", "--seal-key", str(key))
    assert code == 0, out  # the same key (a copy of the file) joins, under the name refused before
    assert run("ingest", str(write_bag(tmp_path / "bag2", {"b.txt": b"y" * 500})), "--repo",
               str(tmp_path / "node-b"))[0] == 0
    code, out = run("events", "verify", "--repo", str(tmp_path / "node-a"))
    assert code == 0, out


def test_a_node_with_a_key_cannot_join_nodes_without_one(pg: PgServer, tmp_path: Path) -> None:
    url = pg.database()
    assert run("init", str(tmp_path / "node-a"), "--catalog", url, "--node", "a")[0] == 0
    (tmp_path / "k").mkdir()
    code, out = run("init", str(tmp_path / "node-b"), "--catalog", url, "--node", "b", "--seal-key",
                    str(_key(tmp_path / "k" / "seal.key")))
    assert code == 2 and "sign with no seal key" in out, out
    assert not (tmp_path / "node-b").exists()


def test_a_swapped_key_file_is_refused_not_adopted(tmp_path: Path) -> None:
    """The key file replaced by another key (whoever can write its folder): commands took it
    as a key just set, trusted the whole log, and signed a forged row with it. The catalog
    records which key the repository signs with, so writing commands refuse and status says
    so; the key restored, all is well again."""
    (tmp_path / "k").mkdir()
    key, root = tmp_path / "k" / "seal.key", tmp_path / "archive"
    assert run("init", str(root), "--seal-key", str(key))[0] == 0
    assert run("ingest", str(write_bag(tmp_path / "bag", {"a.txt": b"a" * 300})), "--repo", str(root))[0] == 0
    original = key.read_bytes()
    _key(key)
    code, out = run("ingest", str(write_bag(tmp_path / "bag2", {"b.txt": b"b" * 300})), "--repo", str(root))
    assert code == 2 and "not the seal key the repository signs with" in out, out
    code, out = run("status", "--repo", str(root))
    assert code == 1 and "not the seal key the repository signs with" in out, out
    (root / "archa.toml").write_text("\n".join(line for line in (root / "archa.toml").read_text().splitlines()
                                               if not line.startswith("seal_key")) + "\n")
    code, out = run("ingest", str(write_bag(tmp_path / "bag3", {"c.txt": b"c" * 300})), "--repo", str(root))
    assert code == 2 and "names none" in out, out  # the line removed: refused too, not writing unsigned
    (root / "archa.toml").write_text((root / "archa.toml").read_text().replace(
        "[repository]\n", f'[repository]\nseal_key = "{key}"\n', 1))
    key.write_bytes(original)
    key.chmod(0o600)
    assert run("ingest", str(tmp_path / "bag2"), "--repo", str(root))[0] == 0
    assert run("events", "verify", "--repo", str(root))[0] == 0


def test_a_key_inside_a_location_is_refused(tmp_path: Path) -> None:
    """`storage add` over the key's folder made the key part of a storage location (anyone
    reading that location could then sign): every command now refuses, naming it."""
    (tmp_path / "k").mkdir()
    key, root = tmp_path / "k" / "seal.key", tmp_path / "archive"
    assert run("init", str(root), "--seal-key", str(key))[0] == 0
    code, out = run("storage", "add", "warm", str(tmp_path / "k"), "--kind", "ocfl", "--tier", "warm", "--repo",
                    str(root))
    code, out = run("status", "--repo", str(root))
    assert code == 2 and "lies inside location warm" in out, out
    (root / "archa.toml").write_text((root / "archa.toml").read_text().replace(  # named by hand, in the storage
        f'seal_key = "{key}"', 'seal_key = "storage/hot/seal.key"'))
    shutil.copy(key, root / "storage" / "hot" / "seal.key")
    (root / "storage" / "hot" / "seal.key").chmod(0o600)
    code, out = run("status", "--repo", str(root))
    assert code == 2 and "lies inside location hot" in out, out


@pytest.mark.parametrize("what", ["fifo", "folder-others-write"])
def test_a_key_that_is_no_plain_private_file_is_refused(tmp_path: Path, what: str) -> None:
    keys = tmp_path / "k"
    keys.mkdir()
    key = keys / "seal.key"
    if what == "fifo":  # reading it would wait forever
        os.mkfifo(key, 0o600)
        said = "not a regular file"
    else:
        _key(key)
        keys.chmod(0o777)
        said = "others may write into the seal key's folder"
    code, out = run("init", str(tmp_path / "archive"), "--seal-key", str(key))
    assert code == 2 and said in out, out
    assert not (tmp_path / "archive").exists()


def test_what_a_killed_init_left_beside_the_key_is_removed(tmp_path: Path) -> None:
    """A killed `init --seal-key` left `.seal.key.tmp-PID` beside the key (after the link: a
    second name of the key; before: a part of one); a later init with that PID failed with a
    traceback, and the second name stayed."""
    keys = tmp_path / "k"
    keys.mkdir()
    key = _key(keys / "seal.key")
    os.link(key, keys / f".seal.key.tmp-{os.getpid()}")
    (keys / ".seal.key.tmp-99999").write_bytes(b"part")
    code, out = run("init", str(tmp_path / "archive"), "--seal-key", str(key))
    assert code == 0, out
    assert sorted(p.name for p in keys.iterdir()) == ["seal.key"]
