"""Storage locations: one conformance suite over local OCFL, S3 OCFL (real SeaweedFS), local
packed and S3 packed copies; placement; sync; catalog rebuild; and the bad cases."""

from __future__ import annotations

import filecmp
import json
import resource
import signal
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.errors import RepositoryError, StorageError
from archa.ingest.ingest import ingest
from archa.repository.catalog.expected import ExpectedTable
from archa.repository.config import Location
from archa.repository.copies import (
    packed_keys,
    restore_packed,
    write_ocfl_copy,
    write_packed_copy,
)
from archa.repository.copyaudit import CopyAudit, Throttle, audit_ocfl, audit_packed
from archa.repository.ocfl import expected_files, object_relpath
from archa.repository.placement import sync
from archa.repository.rebuild import compare_catalogs
from archa.repository.repo import Repository
from archa.repository.storage import add_location, rebuild, status
from archa.repository.store import KeyExists, Store
from tests.bagmaker import write_bag
from tests.catalogs import catalog_url, empty_database, open_catalog, set_aside_catalog, write_config
from tests.conftest import validate_storage_root
from tests.s3server import BUCKET, S3Server

KINDS = ["local-ocfl", "s3-ocfl", "local-packed", "s3-packed"]
FILES = {"a.txt": b"alpha\n" * 100, "sub/b.bin": bytes(range(256)) * 64, "same.txt": b"alpha\n" * 100}


def new_bucket(_s3: S3Server) -> str:
    """A fresh place in the session's bucket."""
    return f"{BUCKET}/t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=KINDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Location:
    where, kind = request.param.split("-")
    if where == "local":
        return Location(f"x{kind}", kind, str(tmp_path / f"loc-{kind}"), "warm")
    s3 = request.getfixturevalue("s3_env")
    return Location(f"s{kind}", kind, f"s3://{new_bucket(s3)}/copies", "warm", endpoint=s3.endpoint)


@pytest.fixture
def aip(repo: Repository, bags: Path) -> str:
    return ingest(repo, write_bag(bags / "b", FILES)).aip_id


def audit_store(repo: Repository, store: Store, kind: str, aip_id: str, archive_sha256: str = "") -> list[str]:
    """The fixity finding codes of a copy at `store` (not necessarily in the catalog)."""
    alg, wanted = expected_files(repo, aip_id, "v1")
    result = CopyAudit(aip_id, "v1", store.name, kind)
    work = repo.new_work_dir()
    expected = ExpectedTable(work / "expected.sqlite", wanted.items())
    try:
        if kind == "ocfl":
            audit_ocfl(store, aip_id, "v1", alg, expected, result, 2, Throttle(None))
        else:
            audit_packed(store, aip_id, "v1", alg, expected, archive_sha256, result, Throttle(None))
    finally:
        expected.close()
        repo.release_work_dir(work)
    return [f.code for f in result.findings]


def download_object(store: Store, aip_id: str, dest: Path) -> Path:
    prefix = object_relpath(aip_id)
    for key, _size in store.list(prefix):
        p = dest / key[len(prefix) + 1:]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(store.read_bytes(key))
    return dest


def write(repo: Repository, aip_id: str, loc: Location) -> str:
    store = repo.store(loc)
    if loc.kind == "ocfl":
        write_ocfl_copy(repo.hot, aip_id, "v1", store)
        return ""
    return write_packed_copy(repo.hot, aip_id, "v1", store).archive_sha256


# --- the conformance suite: every location kind --------------------------------------------

def test_store_contract(repo: Repository, location: Location) -> None:
    if location.uri.startswith("/"):
        Path(location.uri).mkdir(parents=True)
    store = repo.store(location)
    store.probe()
    assert store.size("k/x") is None and not store.exists("k/x")
    put = store.put_bytes("k/x", b"hello")
    assert (put.size, store.size("k/x"), store.read_bytes("k/x")) == (5, 5, b"hello")
    with pytest.raises(KeyExists):
        store.put_bytes("k/x", b"other")  # never overwrites
    assert store.read_bytes("k/x") == b"hello"
    assert list(store.list("k")) == [("k/x", 5)]
    with pytest.raises(StorageError, match="missing"):
        store.read_bytes("k/missing")
    store.delete("k/x")
    store.delete("k/x")  # idempotent
    assert not store.exists("k/x")
    if store.local:  # nothing but the key: no temporary files left
        assert not [p for p in Path(location.uri).rglob("*") if p.is_file()]


def test_copy_is_complete_verified_and_restorable(repo: Repository, aip: str, location: Location,
                                                  tmp_path: Path) -> None:
    if location.uri.startswith("/"):
        Path(location.uri).mkdir(parents=True)
    store = repo.store(location)
    archive_sha = write(repo, aip, location)
    hot_obj = repo.hot.object_path(aip)
    if location.kind == "ocfl":
        assert audit_store(repo, store, "ocfl", aip) == []
        copy = download_object(store, aip, tmp_path / "copy")
    else:
        assert audit_store(repo, store, "packed", aip, archive_sha) == []
        index = json.loads(store.read_bytes(packed_keys(aip, "v1")[1]))
        assert index["archive_sha256"] == archive_sha and "v1/content/METS.xml" in index["members"]
        copy = tmp_path / "copy"
        restore_packed([(store, "v1")], aip, copy)
    # byte for byte the hot object
    cmp = filecmp.dircmp(hot_obj, copy)
    assert _same_tree(cmp), (cmp.left_only, cmp.right_only, cmp.diff_files)
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "0=ocfl_1.1").write_text("ocfl_1.1\n")
    import ocfl

    passed, validator = ocfl.Object().validate(str(copy), log_warnings=False)
    assert passed, validator.status_str()


def _same_tree(cmp: filecmp.dircmp[str]) -> bool:
    _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
    return (not cmp.left_only and not cmp.right_only and not mismatch and not errors
            and all(_same_tree(sub) for sub in cmp.subdirs.values()))


def test_copy_is_never_rewritten(repo: Repository, aip: str, location: Location) -> None:
    if location.uri.startswith("/"):
        Path(location.uri).mkdir(parents=True)
    write(repo, aip, location)
    with pytest.raises(KeyExists, match="already"):
        write(repo, aip, location)


def test_interrupted_copy_is_completed_by_a_rerun(repo: Repository, aip: str, location: Location) -> None:
    if location.uri.startswith("/"):
        Path(location.uri).mkdir(parents=True)
    store = repo.store(location)
    prefix = object_relpath(aip)
    if location.kind == "ocfl":
        write_ocfl_copy(repo.hot, aip, "v1", store)
        # as if the process died before the last keys: root inventory + sidecar missing,
        # one content file left half written
        store.delete(f"{prefix}/inventory.json")
        store.delete(f"{prefix}/inventory.json.sha256")
        victim = f"{prefix}/v1/content/representations/original/data/a.txt"
        store.delete(victim)
        store.put_bytes(victim, b"alph")
        write_ocfl_copy(repo.hot, aip, "v1", store)
        assert store.read_bytes(victim) == (repo.hot.object_path(aip) / "v1/content/representations/original/data/a.txt").read_bytes()
        assert store.exists(f"{prefix}/inventory.json")
    else:
        archive, _index = packed_keys(aip, "v1")
        store.put_bytes(archive, b"\x28\xb5\x2f\xfd truncated")  # archive without its index
        info = write_packed_copy(repo.hot, aip, "v1", store)
        assert audit_store(repo, store, "packed", aip, info.archive_sha256) == []


# --- placement, sync, status ---------------------------------------------------------------

def test_default_repository_keeps_hot_and_cold_copies(repo: Repository, aip: str) -> None:
    copies = {c["location"]: c for c in repo.catalog.copies(aip)}
    assert set(copies) == {"hot", "cold"} and copies["cold"]["archive_sha256"]
    assert repo.catalog.versions(aip)[0]["stored"] == 1
    assert [(s.name, s.versions_held, s.missing) for s in status(repo)] == [("hot", 1, 0), ("cold", 1, 0)]


def test_added_s3_location_gets_a_verified_copy_after_sync(repo: Repository, aip: str, s3_env: S3Server,
                                                           tmp_path: Path) -> None:
    bucket = new_bucket(s3_env)
    runner = CliRunner()
    r = runner.invoke(cli, ["storage", "add", "--repo", str(repo.root), "warm", f"s3://{bucket}/aips",
                            "--kind", "ocfl", "--tier", "warm", "--endpoint", s3_env.endpoint])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"Added location warm: ocfl on tier warm at s3://{bucket}/aips")
    repo = Repository.open(repo.root)
    r = runner.invoke(cli, ["storage", "status", "--repo", str(repo.root), "--json"])
    assert r.exit_code == 1 and {s["name"]: s["missing"] for s in json.loads(r.output)}["warm"] == 1
    r = runner.invoke(cli, ["storage", "sync", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[-1] == "1 versions checked, 1 copies written, 0 failed"
    r = runner.invoke(cli, ["storage", "sync", "--repo", str(repo.root)])
    assert r.output.splitlines()[-1] == "1 versions checked, 0 copies written, 0 failed"  # idempotent
    store = Store.for_location(Location("warm", "ocfl", f"s3://{bucket}/aips", "warm", endpoint=s3_env.endpoint),
                               repo.root)
    obj = download_object(store, aip, tmp_path / "s3copy")
    assert validate_storage_root(_as_root(obj, tmp_path / "r", aip)) == []
    ev = repo.catalog.events(aip)[-1]
    assert (ev["type"], ev["location"], ev["outcome"]) == ("replication", "warm", "success")


def _as_root(obj: Path, root: Path, aip_id: str) -> Path:
    from archa.repository.ocfl import StorageRoot

    StorageRoot.create(root)
    dest = root / object_relpath(aip_id)
    dest.parent.mkdir(parents=True)
    obj.rename(dest)
    return root


# --- bad cases ---------------------------------------------------------------------------------

def _s3_location(s3: S3Server, **kw: str) -> Location:
    fields = {"name": "warm", "kind": "ocfl", "uri": f"s3://{new_bucket(s3)}/aips", "tier": "warm",
              "endpoint": s3.endpoint} | kw
    return Location(**fields)


@pytest.mark.parametrize("case", ["endpoint down", "wrong credentials", "missing bucket"])
def test_unusable_s3_location_is_refused_by_add(repo: Repository, s3_env: S3Server, case: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    loc = {"endpoint down": lambda: _s3_location(s3_env, endpoint="http://127.0.0.1:9"),
           "wrong credentials": lambda: _s3_location(s3_env),
           "missing bucket": lambda: _s3_location(s3_env, uri="s3://no-such-bucket-here/aips")}[case]()
    if case == "wrong credentials":
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    before = (repo.root / "archa.toml").read_text()
    with pytest.raises(StorageError) as exc:
        add_location(repo, loc)
    assert "location 'warm'" in exc.value.message
    assert {"endpoint down": "does not answer", "wrong credentials": "credentials were refused",
            "missing bucket": "bucket"}[case] in (exc.value.hint + exc.value.message)
    assert (repo.root / "archa.toml").read_text() == before  # nothing saved


@pytest.mark.parametrize("case", ["endpoint down", "wrong credentials"])
def test_ingest_with_a_failing_location_stores_nothing_as_stored_and_sync_completes(
        repo: Repository, bags: Path, s3_env: S3Server, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    add_location(repo, _s3_location(s3_env))
    with open(repo.root / "archa.toml", "a") as f:  # the archive's policy wants the warm tier too
        f.write('[policy.placement]\ncopies = 3\ntiers = ["hot", "warm", "cold"]\n')
    config = (repo.root / "archa.toml").read_text()
    write_config(repo.root, config)  # on a server: where every node reads the policy
    if case == "endpoint down":
        write_config(repo.root, config.replace(s3_env.endpoint, "http://127.0.0.1:9"))
    else:
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    repo = Repository.open(repo.root)
    r = CliRunner().invoke(cli, ["ingest", "--repo", str(repo.root), str(write_bag(bags / "b", FILES))])
    assert r.exit_code == 1
    assert "error: copy to warm failed: location 'warm'" in r.output
    assert "then run `archa storage sync`" in r.output
    (aip,) = repo.catalog.aips()
    assert aip["stored"] == 0 and {c["location"] for c in repo.catalog.copies(aip["id"])} == {"hot", "cold"}
    # the operator fixes the cause; a rerun completes
    write_config(repo.root, config)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_env.secret_key)
    repo = Repository.open(repo.root)
    with repo.writing():
        res = sync(repo)
    assert [w["location"] for w in res.written] == ["warm"] and res.failed == []
    assert repo.catalog.aips()[0]["stored"] == 1


def test_disk_full_while_packing_leaves_no_archive_looking_valid(repo: Repository, aip: str,
                                                                 tmp_path: Path) -> None:
    loc = Location("cold2", "packed", str(tmp_path / "cold2"), "cold")
    (tmp_path / "cold2").mkdir()
    store = repo.store(loc)
    big = repo.hot.object_path(aip)
    assert sum(p.stat().st_size for p in big.rglob("*") if p.is_file()) > 4096
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, hard))  # the "disk" fills after 2 KiB
    try:
        with pytest.raises(StorageError, match="cannot write"):
            write_packed_copy(repo.hot, aip, "v1", store, level=1)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert [p for p in (tmp_path / "cold2").rglob("*") if p.is_file()] == []  # no archive, temp or index
    info = write_packed_copy(repo.hot, aip, "v1", store, level=1)  # with space again, it completes
    assert audit_store(repo, store, "packed", aip, info.archive_sha256) == []


def test_location_removed_from_config_while_holding_copies_is_refused(repo: Repository, aip: str) -> None:
    cfg = (repo.root / "archa.toml").read_text()
    start = cfg.index('[[locations]]\nname = "cold"')
    end = cfg.index("# Overrides")
    write_config(repo.root, cfg[:start] + cfg[end:])
    repo = Repository.open(repo.root)
    with (pytest.raises(RepositoryError, match="location 'cold' was removed from the configuration") as exc,
          repo.writing()):
        pass
    assert "put the [[locations]] table for 'cold' back" in exc.value.hint
    r = CliRunner().invoke(cli, ["storage", "sync", "--repo", str(repo.root)])
    assert r.exit_code == 2 and "records 1 AIP version copies there" in r.output
    write_config(repo.root, cfg)


def test_stored_files_are_read_only_and_s3_keys_never_overwritten(repo: Repository, aip: str,
                                                                  s3_env: S3Server) -> None:
    cold = repo.root / "storage" / "cold" / object_relpath(aip)
    assert all(not (p.stat().st_mode & 0o222) for p in cold.iterdir())
    store = repo.store(_s3_location(s3_env))
    store.put_bytes("k", b"1")
    with pytest.raises(KeyExists):
        store.put_bytes("k", b"2")
    assert store.read_bytes("k") == b"1"


# --- catalog rebuild -------------------------------------------------------------------------

def test_rebuild_after_the_catalog_is_deleted_reproduces_it(repo: Repository, bags: Path, s3_env: S3Server,
                                                            tmp_path: Path) -> None:
    add_location(repo, _s3_location(s3_env))
    ids = [ingest(repo, write_bag(bags / f"b{i}", {**FILES, f"n{i}.txt": b"%d" % i})).aip_id for i in range(2)]
    original = set_aside_catalog(repo, tmp_path / "original.sqlite")  # and lost
    r = CliRunner().invoke(cli, ["catalog", "rebuild", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"Rebuilt 2 AIPs, {2 * (len(FILES) + 1 + 4 + 3)} files, 6 copies into")
    old, new = open_catalog(original), Repository.open(repo.root).catalog
    assert compare_catalogs(old, new) == []
    cols = "logical_path, content_path, role, original_name, size, digest, puid, format_name, mime, engine"
    for aip_id in ids:
        q = f"SELECT {cols} FROM files WHERE aip_id = ? ORDER BY logical_path"
        assert new.conn.execute(q, [aip_id]).fetchall() == old.conn.execute(q, [aip_id]).fetchall()
        assert [r["label"] for r in new.rows("SELECT label FROM aips WHERE id = ?", [aip_id])] == \
               [r["label"] for r in old.rows("SELECT label FROM aips WHERE id = ?", [aip_id])]
    old.close()
    new.close()


def test_rebuild_reports_differences_without_replacing(repo: Repository, aip: str) -> None:
    repo.catalog.conn.execute("DELETE FROM copies WHERE location = 'cold'")
    into = (lambda: empty_database(repo)) if catalog_url(repo) else (lambda: None)  # on a server: a new database
    out = rebuild(repo, into=into())
    assert not out.replaced
    assert out.report.differences == [f"copy {aip} v1 cold: found in storage, missing from the current catalog"]
    assert len(repo.catalog.copies(aip)) == 1  # unchanged
    out = rebuild(repo, replace=True, into=into())
    assert out.replaced and (Path(out.backup).exists() if not catalog_url(repo) else out.backup)
    assert len(Repository.open(repo.root).catalog.copies(aip)) == 2



def test_sync_takes_a_verified_copy_when_the_hot_one_is_damaged(repo: Repository, aip: str,
                                                               tmp_path: Path) -> None:
    victim = repo.hot.object_path(aip) / "v1/content/representations/original/data/a.txt"
    good = victim.read_bytes()
    victim.chmod(0o644)
    victim.write_bytes(b"rot" + good[3:])  # bit rot in the hot copy
    add_location(repo, Location("extra", "ocfl", str(tmp_path / "extra"), "warm"))
    with repo.writing():
        res = sync(repo)
    assert [(w["location"]) for w in res.written] == ["extra"] and res.failed == []
    copied = tmp_path / "extra" / object_relpath(aip) / "v1/content/representations/original/data/a.txt"
    assert copied.read_bytes() == good  # from the packed cold copy, not the rotten hot one
    ev = repo.catalog.events(aip)[-1]
    assert "copied from cold to extra" in ev["detail"]
    victim.write_bytes(good)  # let the teardown validation see a sound hot copy


def test_sync_refuses_when_no_copy_verifies(repo: Repository, aip: str, tmp_path: Path) -> None:
    victim = repo.hot.object_path(aip) / "v1/content/representations/original/data/a.txt"
    good = victim.read_bytes()
    victim.chmod(0o644)
    victim.write_bytes(b"rot" + good[3:])
    cold = repo.root / "storage" / "cold" / object_relpath(aip) / "v1.tar.zst"
    data = cold.read_bytes()
    cold.chmod(0o644)
    cold.write_bytes(data[:-100] + bytes(100))
    add_location(repo, Location("extra", "ocfl", str(tmp_path / "extra"), "warm"))
    with repo.writing():
        res = sync(repo)
    assert res.written == [] and [f["location"] for f in res.failed] == ["extra"]
    assert "no copy verifies" in res.failed[0]["error"] and "hot: v1/content/" in res.failed[0]["error"]
    assert not (tmp_path / "extra" / object_relpath(aip)).exists()
    victim.write_bytes(good)


def test_each_s3_location_keeps_its_own_credentials(repo: Repository, aip: str, s3: S3Server, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A location's own keys win over the environment (which here holds wrong ones); a
    profile of the shared credentials file works too; archa.toml holding a secret is made
    0600; a plain-http endpoint is warned about; no secret is printed."""
    import stat

    from click.testing import CliRunner

    from archa.cli.main import cli

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "someone-else")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    monkeypatch.setenv("WARM_SECRET", s3.secret_key)
    r = CliRunner().invoke(cli, ["storage", "add", "warm", f"s3://{new_bucket(s3)}/aips", "--kind", "ocfl",
                                 "--tier", "warm", "--endpoint", s3.endpoint, "--access-key", s3.access_key,
                                 "--secret-key-env", "WARM_SECRET", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    assert "plain http" in r.output and s3.secret_key not in r.output
    toml = repo.root / "archa.toml"
    assert stat.S_IMODE(toml.stat().st_mode) == 0o600 and s3.secret_key in toml.read_text()
    creds = tmp_path / "credentials"
    creds.write_text(f"[archa-cold]\naws_access_key_id = {s3.access_key}\naws_secret_access_key = {s3.secret_key}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    r = CliRunner().invoke(cli, ["storage", "add", "vault", f"s3://{new_bucket(s3)}/packed", "--kind", "packed",
                                 "--tier", "cold", "--endpoint", s3.endpoint, "--profile", "archa-cold",
                                 "--repo", str(repo.root), "--json"])
    assert r.exit_code == 0, r.output
    assert s3.secret_key not in r.output
    r = CliRunner().invoke(cli, ["storage", "sync", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    assert {c["location"] for c in repo.catalog.copies(aip) if c["state"] == "ok"} == {"hot", "cold", "warm", "vault"}
    r = CliRunner().invoke(cli, ["fixity", "audit", "--all", "--repo", str(repo.root)])
    assert r.exit_code == 0 and "4 copies" in r.output and "0 failed" in r.output, r.output
    monkeypatch.delenv("WARM_SECRET")
    r = CliRunner().invoke(cli, ["storage", "add", "x", f"s3://{new_bucket(s3)}/x", "--kind", "ocfl", "--tier",
                                 "warm", "--endpoint", s3.endpoint, "--access-key", "k", "--secret-key-env",
                                 "WARM_SECRET", "--repo", str(repo.root)])
    assert r.exit_code == 2 and "empty or unset" in r.output


def test_copies_on_one_disk_are_one_failure_domain(repo: Repository, aip: str, s3_env: S3Server,
                                                   repo_with_policy: object, tmp_path: Path) -> None:
    """The default hot and cold locations share a disk: a warning; with placement.independent
    they count as one copy, so a version is stored only once a copy is on another domain."""
    from click.testing import CliRunner

    from archa.cli.main import cli
    from archa.ingest.ingest import ingest
    from archa.repository.placement import failure_domain, placement_satisfied, shared_domains
    from tests.bagmaker import write_bag

    assert shared_domains(repo) == {failure_domain(repo, repo.config.locations[0]): ["hot", "cold"]}
    r = CliRunner().invoke(cli, ["storage", "status", "--repo", str(repo.root)])
    assert "warning: hot, cold are on one device" in r.output, r.output
    r = CliRunner().invoke(cli, ["status", "--repo", str(repo.root)])
    assert "share one failure domain" in r.output
    strict = repo_with_policy(tmp_path / "strict", "[policy.placement]\nindependent = true\n")  # type: ignore[operator]
    res = ingest(strict, write_bag(tmp_path / "bag", {"a.txt": b"a"}))
    assert not res.stored  # hot + cold on one disk: one copy
    assert not placement_satisfied(strict, {"hot", "cold"})
    from archa.repository.config import Location
    from archa.repository.storage import add_location

    add_location(strict, Location("warm", "ocfl", f"s3://{new_bucket(s3_env)}/aips", "warm",
                                  endpoint=s3_env.endpoint))
    r = CliRunner().invoke(cli, ["storage", "sync", "--repo", str(strict.root)])
    assert r.exit_code == 0, r.output
    assert strict.catalog.versions(res.aip_id)[0]["stored"] == 1  # a copy on another endpoint now


def test_a_location_block_a_killed_add_left_in_archa_toml_is_not_written_twice(pg_repo: Repository,
                                                                              tmp_path: Path) -> None:
    """On a server catalog every node reads its locations from the catalog. A `storage add`
    killed after it appended its block to archa.toml, before it saved the shared settings,
    left a block no node uses (an independent review's kill point); adding the location
    again appended a second one. Now the same block is taken as written, and one with other
    settings is refused, naming the file."""
    from archa.repository.config import CONFIG_NAME, render_config

    repo = pg_repo
    warm = tmp_path / "warm"
    block = render_config(repo.config.__class__(repo.config.repository_id, repo.config.created,
                                                (Location("warm", "ocfl", str(warm), "warm"),)))
    with open(repo.root / CONFIG_NAME, "a", encoding="utf-8") as f:  # what the killed `storage add` left
        f.write("\n" + block[block.index("[[locations]]"):block.index("# Overrides")])
    root = str(repo.root)
    repo.close()
    r = CliRunner().invoke(cli, ["storage", "add", "other", str(tmp_path / "o"), "--kind", "ocfl", "--tier", "warm",
                                 "--repo", root])
    assert r.exit_code == 0, r.output  # another name: not in the way
    r = CliRunner().invoke(cli, ["storage", "add", "warm", str(tmp_path / "elsewhere"), "--kind", "ocfl",
                                 "--tier", "warm", "--repo", root])
    assert r.exit_code == 2 and "has a location 'warm' no node uses" in r.output, r.output
    r = CliRunner().invoke(cli, ["storage", "add", "warm", str(warm), "--kind", "ocfl", "--tier", "warm",
                                 "--repo", root])
    assert r.exit_code == 0, r.output
    assert (repo.root / CONFIG_NAME).read_text("utf-8").count('name = "warm"') == 1
    listed = CliRunner().invoke(cli, ["storage", "list", "--repo", root, "--json"])
    assert {x["name"] for x in json.loads(listed.output)} >= {"hot", "cold", "other", "warm"}, listed.output
