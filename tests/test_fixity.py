"""Fixity audits and repair, with damage injected into every copy kind; the event log CLI."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from archa.cli.main import cli
from archa.ingest.ingest import ingest
from archa.preservation.fixity import AuditOptions, audit
from archa.preservation.repair import repair
from archa.repository.config import Location
from archa.repository.copies import packed_keys
from archa.repository.ocfl import object_relpath
from archa.repository.placement import sync
from archa.repository.repo import Repository
from archa.repository.storage import add_location
from archa.repository.store import Store
from tests.bagmaker import write_bag
from tests.catalogs import write_config
from tests.conftest import schema, validate_storage_root
from tests.s3server import BUCKET, S3Server

FILES = {"a.txt": b"A" * 600, "b.txt": b"B" * 600, "sub/c.bin": bytes(range(256)) * 40}
A = "v1/content/representations/original/data/a.txt"
B = "v1/content/representations/original/data/b.txt"


def _edit(store: Store, key: str, change: Callable[[bytes], bytes]) -> None:
    data = store.read_bytes(key)
    if store.local:
        p = Path(store.path(key))
        p.chmod(0o644)
        p.write_bytes(change(data))
    else:
        store.delete(key)
        store.put_bytes(key, change(data))


def flip(data: bytes) -> bytes:
    return data[:10] + bytes([data[10] ^ 0x01]) + data[11:]


def _swap(store: Store, prefix: str) -> None:
    a, b = store.read_bytes(f"{prefix}/{A}"), store.read_bytes(f"{prefix}/{B}")
    _edit(store, f"{prefix}/{A}", lambda _d: b)
    _edit(store, f"{prefix}/{B}", lambda _d: a)


OCFL_DAMAGE: dict[str, tuple[Callable[[Store, str], None], set[str]]] = {
    "flipped byte": (lambda s, p: _edit(s, f"{p}/{A}", flip), {"FIX002"}),
    "truncation": (lambda s, p: _edit(s, f"{p}/{A}", lambda d: d[:100]), {"FIX003"}),
    "deleted file": (lambda s, p: s.delete(f"{p}/{A}"), {"FIX001"}),
    "extra file": (lambda s, p: s.put_bytes(f"{p}/v1/content/stray.txt", b"stray"), {"FIX004"}),
    "two files swapped": (_swap, {"FIX002"}),
    "corrupted inventory": (lambda s, p: _edit(s, f"{p}/inventory.json", lambda d: d.replace(b'"v1"', b'"v2"', 1)),
                            {"FIX005"}),
}
PACKED_DAMAGE: dict[str, tuple[Callable[[Store, str, str], None], set[str]]] = {
    # zstd's own content checksum catches a flipped byte as it decompresses
    "flipped byte": (lambda s, a, i: _edit(s, a, lambda d: d[:-40] + bytes([d[-40] ^ 0x10]) + d[-39:]),
                     {"FIX007", "FIX008"}),
    "truncation": (lambda s, a, i: _edit(s, a, lambda d: d[: len(d) // 2]), {"FIX007", "FIX008"}),
    "corrupted zstd frame": (lambda s, a, i: _edit(s, a, lambda d: d[:4] + b"\xff\xff\xff\xff" + d[8:]),
                             {"FIX007", "FIX008"}),
    "deleted archive": (lambda s, a, i: s.delete(a), {"FIX011"}),
}


@pytest.fixture
def aip(repo: Repository, bags: Path) -> str:
    return ingest(repo, write_bag(bags / "b", FILES)).aip_id


def _audit_one(repo: Repository, aip_id: str, location: str) -> list[str]:
    with repo.writing():
        summary = audit(repo, AuditOptions(due=False, aip=aip_id, location=location))
    (a,) = summary.audits
    return [f.code for f in a.findings]


def _repair_and_reaudit(repo: Repository, aip_id: str, location: str) -> None:
    with repo.writing():
        (r,) = repair(repo, aip_id, location)
    assert r.repaired, r
    assert _audit_one(repo, aip_id, location) == []
    (copy,) = [c for c in repo.catalog.copies(aip_id) if c["location"] == location]
    assert copy["state"] == "ok"
    assert [e["type"] for e in repo.catalog.events(aip_id)][-2:] == ["recovery", "fixity check"]


@pytest.mark.parametrize("damage", list(OCFL_DAMAGE))
def test_hot_ocfl_damage_is_found_and_repaired(repo: Repository, aip: str, damage: str) -> None:
    inject, codes = OCFL_DAMAGE[damage]
    store = repo.store(repo.config.location("hot"))
    inject(store, object_relpath(aip))
    found = _audit_one(repo, aip, "hot")
    assert set(found) == codes, found
    (copy,) = [c for c in repo.catalog.copies(aip) if c["location"] == "hot"]
    assert copy["state"] == "damaged" and copy["last_audit"]
    _repair_and_reaudit(repo, aip, "hot")
    assert validate_storage_root(repo.hot.path) == []


@pytest.mark.parametrize("damage", [*OCFL_DAMAGE, "deleted S3 object"])
def test_s3_ocfl_damage_is_found_and_repaired(repo: Repository, aip: str, s3_env: S3Server, damage: str,
                                              tmp_path: Path) -> None:
    add_location(repo, Location("warm", "ocfl", f"s3://{BUCKET}/f-{uuid.uuid4().hex[:10]}", "warm",
                                endpoint=s3_env.endpoint))
    with repo.writing():
        sync(repo)
    store = repo.store(repo.config.location("warm"))
    prefix = object_relpath(aip)
    if damage == "deleted S3 object":
        store.delete(f"{prefix}/{B}")
        codes = {"FIX001"}
    else:
        inject, codes = OCFL_DAMAGE[damage]
        inject(store, prefix)
    assert set(_audit_one(repo, aip, "warm")) == codes
    _repair_and_reaudit(repo, aip, "warm")
    dest = tmp_path / "root"
    for key, _ in store.list(prefix):
        p = dest / key
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(store.read_bytes(key))
    (dest / "0=ocfl_1.1").write_text("ocfl_1.1\n")
    import ocfl

    passed, validator = ocfl.Object().validate(str(dest / prefix), log_warnings=False)
    assert passed, validator.status_str()


@pytest.mark.parametrize("damage", list(PACKED_DAMAGE))
def test_packed_damage_is_found_and_repaired(repo: Repository, aip: str, damage: str) -> None:
    inject, codes = PACKED_DAMAGE[damage]
    store = repo.store(repo.config.location("cold"))
    archive, index = packed_keys(aip, "v1")
    before = store.read_bytes(archive)
    inject(store, archive, index)
    found = set(_audit_one(repo, aip, "cold"))
    assert found & codes and found <= codes | {"FIX009", "FIX010"}, found
    _repair_and_reaudit(repo, aip, "cold")
    assert store.read_bytes(archive) == before  # deterministic packing: byte-identical again


def test_repair_without_a_good_copy_changes_nothing(repo: Repository, aip: str) -> None:
    hot = repo.store(repo.config.location("hot"))
    cold = repo.store(repo.config.location("cold"))
    _edit(hot, f"{object_relpath(aip)}/{A}", flip)
    cold.delete(packed_keys(aip, "v1")[0])  # the only other copy of a.txt is gone
    with repo.writing():
        audit(repo, AuditOptions(due=False))
    hot_bytes = hot.read_bytes(f"{object_relpath(aip)}/{A}")
    r = CliRunner().invoke(cli, ["repair", "--repo", str(repo.root), aip])
    assert r.exit_code == 1
    assert "no good copy left to repair from; nothing was changed" in r.output
    assert f"no copy holds these files intact: {A}" in r.output
    assert hot.read_bytes(f"{object_relpath(aip)}/{A}") == hot_bytes
    _edit(hot, f"{object_relpath(aip)}/{A}", lambda _d: FILES["a.txt"])  # for the teardown check


def test_cli_audit_exit_statuses_and_repair_command(repo: Repository, aip: str) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["fixity", "audit", "--repo", str(repo.root)])
    assert r.exit_code == 0, r.output
    # each copy: 3 payload + 4 tag + 3 metadata files, 2 inventories + 2 sidecars + namaste
    assert r.output.splitlines()[-1].startswith("2 copies, 30 files, ")
    assert runner.invoke(cli, ["fixity", "audit", "--repo", str(repo.root)]).output.startswith(
        "nothing is due: every copy was audited within its tier's interval")  # and when the next copies are
    _edit(repo.store(repo.config.location("hot")), f"{object_relpath(aip)}/{A}", flip)
    r = runner.invoke(cli, ["fixity", "audit", "--all", "--repo", str(repo.root), "--json"])
    assert r.exit_code == 1
    data = json.loads(r.output)
    (bad,) = [a for a in data["audits"] if a["state"] != "ok"]
    assert bad["repair"] == f"archa repair {aip} --location hot"
    assert bad["findings"][0]["code"] == "FIX002" and bad["findings"][0]["path"] == A
    r = runner.invoke(cli, ["fixity", "audit", "--repo", str(repo.root)])  # failed copies are due again
    assert r.exit_code == 1 and f"  repair: archa repair {aip} --location hot" in r.output
    r = runner.invoke(cli, ["repair", "--repo", str(repo.root)])
    assert r.exit_code == 0 and r.output.startswith(f"repaired {aip} v1 at hot from cold: 1 rewritten")
    assert runner.invoke(cli, ["fixity", "audit", "--all", "--repo", str(repo.root)]).exit_code == 0


def test_audit_that_cannot_run_exits_2(repo: Repository, aip: str, s3_env: S3Server) -> None:
    add_location(repo, Location("warm", "ocfl", f"s3://{BUCKET}/x-{uuid.uuid4().hex[:8]}", "warm",
                                endpoint=s3_env.endpoint))
    cfg = (repo.root / "archa.toml").read_text()
    write_config(repo.root, cfg.replace(s3_env.endpoint, "http://127.0.0.1:9"))
    with Repository.open(repo.root) as r2, r2.writing():
        r2.catalog.record_copy({"aip_id": aip, "version": "v1", "location": "warm", "state": "ok",
                                "written": "2026-01-01T00:00:00Z", "last_audit": None, "bytes": 1,
                                "archive_sha256": ""}, True, [])
    r = CliRunner().invoke(cli, ["fixity", "audit", "--repo", str(repo.root), "--location", "warm"])
    assert r.exit_code == 2 and "error: the audit could not run: location 'warm'" in r.output
    write_config(repo.root, cfg)


def test_rolling_audit_with_a_byte_budget_covers_every_copy_in_turn(repo: Repository, bags: Path) -> None:
    for i in range(3):
        ingest(repo, write_bag(bags / f"b{i}", {f"f{i}.bin": bytes([i]) * 5000}))
    seen: set[tuple[str, str]] = set()
    runs = 0
    while True:
        with repo.writing():
            s = audit(repo, AuditOptions(max_bytes=1))  # one copy per run
        if not s.audits:
            break
        runs += 1
        assert len(s.audits) == 1
        seen |= {(a.aip_id, a.location) for a in s.audits}
    assert runs == 6 and len(seen) == 6  # 3 AIPs x (hot, cold), each once


def test_events_cli_filters_premis_and_verify(repo: Repository, aip: str) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["events", "--repo", str(repo.root), "--aip", aip, "--json"])
    rows = json.loads(r.output)
    assert [e["type"] for e in rows][-3:] == ["ingestion", "policy assignment", "replication"]
    assert json.loads(runner.invoke(cli, ["events", "--repo", str(repo.root), "--since", "2999", "--json"]).output) == []
    r = runner.invoke(cli, ["events", "--repo", str(repo.root), "--premis"])
    doc = etree.fromstring(r.output.encode())
    assert schema("premis.xsd").validate(doc), schema("premis.xsd").error_log
    ns = {"p": "http://www.loc.gov/premis/v3"}
    assert len(doc.findall("p:event", ns)) == len(json.loads(
        runner.invoke(cli, ["events", "--repo", str(repo.root), "--json"]).output))
    assert doc.findtext("p:object/p:objectIdentifier/p:objectIdentifierValue", namespaces=ns) == aip
    everything = json.loads(runner.invoke(cli, ["events", "--repo", str(repo.root), "--json"]).output)
    # the AIP's, the registration of its originator, and the seal of the journal its transfer went into
    assert len(everything) == len(rows) + 2
    r = runner.invoke(cli, ["events", "verify", "--repo", str(repo.root)])
    assert r.exit_code == 0 and r.output.startswith(f"{len(everything)} events, chain intact, matching the log in")
    repo.catalog.conn.execute("UPDATE events SET detail = 'nothing happened' WHERE seq = 2")
    r = runner.invoke(cli, ["events", "verify", "--repo", str(repo.root)])
    assert r.exit_code == 1 and "BROKEN at event 2" in r.output and "edited" in r.output


def test_copies_damaged_in_different_files_repair_each_other(repo: Repository, aip: str, tmp_path: Path) -> None:
    add_location(repo, Location("extra", "ocfl", str(tmp_path / "extra"), "warm"))
    with repo.writing():
        sync(repo)
    prefix = object_relpath(aip)
    hot, extra = repo.store(repo.config.location("hot")), repo.store(repo.config.location("extra"))
    cold = repo.store(repo.config.location("cold"))
    _edit(hot, f"{prefix}/{A}", flip)  # every copy is damaged, each somewhere else
    extra.delete(f"{prefix}/{B}")
    _edit(cold, packed_keys(aip, "v1")[0], lambda d: d[: len(d) // 2])
    with repo.writing():
        assert len(audit(repo, AuditOptions(due=False)).failures) == 3
        results = repair(repo)
    assert all(r.repaired for r in results), results
    assert {r.location for r in results} == {"hot", "extra", "cold"}
    with repo.writing():
        assert audit(repo, AuditOptions(due=False)).failures == []
    assert hot.read_bytes(f"{prefix}/{A}") == FILES["a.txt"]


def test_audit_in_chunks_with_the_helper_process_finds_damage_anywhere(repo: Repository, bags: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit reads the expected digests a chunk at a time (a forked process hashing half
    of each chunk of small files): damage in the first, a middle and the last chunk, a file
    gone and one added are all found in the OCFL copy; the packed copy, read by a merge along
    the sorted expected digests, stays sound."""
    from archa.repository import copyaudit

    monkeypatch.setattr(copyaudit, "SMALL_CHUNK", 100)
    monkeypatch.setattr(copyaudit, "MANY_SMALL", 50)
    names = {f"d{i // 100}/f{i:04d}.txt": f"soubor {i}\n".encode() * 20 for i in range(450)}
    aip = ingest(repo, write_bag(bags / "many", names)).aip_id
    summary = audit(repo, AuditOptions(due=False, jobs=2))
    assert [a.state for a in summary.audits] == ["ok", "ok"] and all(a.files > 450 for a in summary.audits)
    hot, cold = (repo.store(loc) for loc in repo.config.locations[:2])
    prefix = object_relpath(aip)
    damaged = [f"v1/content/representations/original/data/{n}" for n in ("d0/f0003.txt", "d2/f0250.txt",
                                                                          "d4/f0449.txt")]
    for rel in damaged:
        _edit(hot, f"{prefix}/{rel}", lambda b: b"X" + b[1:])
    gone = "v1/content/representations/original/data/d3/f0300.txt"
    Path(hot.path(f"{prefix}/{gone}")).unlink()
    Path(hot.path(f"{prefix}/v1/content/stray.txt")).write_bytes(b"not in the version")
    (result,) = audit(repo, AuditOptions(due=False, aip=aip, location="hot", jobs=2)).audits
    assert sorted((f.code, f.path) for f in result.findings) == sorted(
        [("FIX002", r) for r in damaged] + [("FIX001", gone), ("FIX004", "v1/content/stray.txt")])
    assert result.state == "damaged"
    (packed,) = audit(repo, AuditOptions(due=False, aip=aip, location="cold", jobs=2)).audits
    assert cold.name == "cold" and packed.state == "ok" and packed.files > 450 and not packed.findings
    repair(repo, aip)  # from the packed copy; then the next audit finds the hot copy sound
    (again,) = audit(repo, AuditOptions(due=False, aip=aip, location="hot", jobs=2)).audits
    assert again.state == "ok" and not again.findings
