"""`archa transfer folder`: a bag from a folder the transfer must not change (read-only
mounts included), clutter and links reported, unreadable files refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.errors import SipRejected, UsageError
from archa.policies.model import load_policy
from archa.repository.repo import Repository
from archa.transfer.folder import parse_meta, transfer_folder
from tests.bagmaker import tree_snapshot

ARCHA = str(Path(sys.executable).parent / "archa")
POLICY = load_policy().transfer


def make_source(root: Path) -> Path:
    src = root / "share"
    (src / "spis 1" / "přílohy").mkdir(parents=True)
    (src / "spis 1" / "dopis.txt").write_text("Vážený pane,\n" * 20, "utf-8")
    (src / "spis 1" / "přílohy" / "foto.bin").write_bytes(os.urandom(300_000))
    (src / "register.csv").write_text("id,name\n1,road\n")
    for clutter in ("Thumbs.db", ".DS_Store", "spis 1/desktop.ini", "spis 1/~$dopis.docx"):
        (src / clutter).write_bytes(b"clutter")
    (root / "outside.txt").write_text("not in the share")
    os.symlink(root / "outside.txt", src / "link-out")
    os.symlink("register.csv", src / "link-in")
    os.mkfifo(src / "pipe")
    os.utime(src / "register.csv", ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    return src


def test_folder_becomes_a_valid_bag_and_the_source_is_untouched(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    before = tree_snapshot(src)
    meta_file = tmp_path / "info.txt"
    meta_file.write_text("# transfer of the road file\nSource-Organization: Regional Office\n")
    meta = parse_meta(["External-Identifier=ERA-2026-0001"], meta_file)
    result = transfer_folder(src, tmp_path / "bag", meta, POLICY)
    assert tree_snapshot(src) == before
    bag = bagit.Bag(str(tmp_path / "bag"))
    bag.validate()
    assert sorted(bag.payload_files()) == ["data/register.csv", "data/spis 1/dopis.txt",
                                           "data/spis 1/přílohy/foto.bin"]
    assert bag.info["Source-Organization"] == "Regional Office" and bag.info["External-Identifier"] == "ERA-2026-0001"
    assert bag.info["Payload-Oxum"] == f"{result.bytes}.3" and "Bagging-Date" in bag.info
    codes = {f.path: f.code for f in result.findings}
    assert codes == {"Thumbs.db": "TRF005", ".DS_Store": "TRF005", "spis 1/desktop.ini": "TRF005",
                     "spis 1/~$dopis.docx": "TRF005", "link-out": "TRF002", "link-in": "TRF003", "pipe": "TRF004"}
    report = (tmp_path / "bag/transfer-report.txt").read_text()
    assert all(p in report for p in codes)
    assert (tmp_path / "bag/data/register.csv").stat().st_mtime_ns == 1_600_000_000_000_000_000
    assert "register.csv\t15\t2020-09-13T12:26:40.000000Z" in (tmp_path / "bag/source-files.tsv").read_text()


def test_bad_arguments(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    (tmp_path / "taken").mkdir()
    with pytest.raises(UsageError, match="exists already"):
        transfer_folder(src, tmp_path / "taken", [], POLICY)
    with pytest.raises(UsageError, match="inside the source folder"):
        transfer_folder(src, src / "bag", [], POLICY)
    with pytest.raises(UsageError, match="not a folder"):
        transfer_folder(src / "register.csv", tmp_path / "b", [], POLICY)
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_meta(["no-equals-sign"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SipRejected) as e:
        transfer_folder(tmp_path / "empty", tmp_path / "b", [], POLICY)
    assert e.value.findings[0].code == "TRF006"


def _as_root_without_override(cmd: list[str]) -> list[str]:
    """root reads any file; without CAP_DAC_OVERRIDE/READ_SEARCH it obeys modes like anyone."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]


def test_unreadable_file_stops_the_transfer(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    secret = src / "spis 1" / "secret.txt"
    secret.write_text("no one may read this")
    secret.chmod(0o000)
    run = subprocess.run(_as_root_without_override([ARCHA, "transfer", "folder", str(src), str(tmp_path / "bag")]),
                         check=False, capture_output=True, text=True)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "TRF001 spis 1/secret.txt" in run.stderr and "permission denied" in run.stderr
    assert not (tmp_path / "bag").exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def _can_bind_mount(tmp_path: Path) -> bool:
    """Whether this machine lets us make a private read-only bind mount (root with the
    capability to mount, as on the project's machines; not in every container)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = tmp_path / "probe-mount"
    probe.mkdir()
    run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                          f'mount --bind "{probe}" "{probe}" && mount -o remount,bind,ro "{probe}"'],
                         check=False, capture_output=True)
    probe.rmdir()
    return run.returncode == 0


def test_read_only_mount_becomes_an_aip(repo: Repository, tmp_path: Path) -> None:
    """The share is mounted read-only (a private bind mount, as root) or, without root,
    made read-only by its modes; either way nothing in it can change."""
    src = make_source(tmp_path)
    before = tree_snapshot(src)
    cmd = [ARCHA, "transfer", "folder", str(src), str(tmp_path / "bag"), "--ingest", "--json",
           "--repo", str(repo.root), "--meta", "Title=Road repairs"]
    if _can_bind_mount(tmp_path):
        script = (f'mount --bind "{src}" "{src}" && mount -o remount,bind,ro "{src}" && '
                  f'touch "{src}/probe" 2>/dev/null && exit 99; exec "$@"')
        run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *cmd],
                             check=False, capture_output=True, text=True)
    else:
        for d, _dirs, _files in os.walk(src):
            os.chmod(d, 0o555)
        run = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    out = json.loads(run.stdout)
    aip = out["ingest"]["aip_id"]
    assert repo.catalog.aip(aip)["label"] == "Road repairs"
    stored = {f["logical_path"] for f in repo.catalog.files(aip, "v1") if f["role"] == "payload"}
    assert stored == {"representations/original/data/register.csv", "representations/original/data/spis 1/dopis.txt",
                      "representations/original/data/spis 1/přílohy/foto.bin"}
    assert tree_snapshot(src) == before


def test_cli_reports_what_was_left_out(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    r = CliRunner().invoke(cli, ["transfer", "folder", str(src), str(tmp_path / "bag"), "--repo",
                                 str(tmp_path / "none")])
    assert r.exit_code == 0, r.output
    assert "3 files" in r.output and "TRF002 link-out" in r.output and "outside the source folder" in r.output


def test_a_file_growing_during_the_copy_stops_the_transfer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file still being written (it grows between the scan and the copy) is not bagged half."""
    import archa.transfer.folder as folder_mod

    src = make_source(tmp_path)
    real_scan = folder_mod.scan

    def scan_then_grow(root: Path, policy, db):  # type: ignore[no-untyped-def]
        found = real_scan(root, policy, db)
        with open(root / "register.csv", "a") as f:  # the producer appends after the scan
            f.write("2,bridge\n")
        return found

    monkeypatch.setattr(folder_mod, "scan", scan_then_grow)
    with pytest.raises(SipRejected) as e:
        transfer_folder(src, tmp_path / "bag", [], POLICY)
    assert [(f.code, f.path) for f in e.value.findings] == [("TRF008", "register.csv")]
    assert not (tmp_path / "bag").exists()


def test_ingest_without_out_bags_straight_into_the_repository(tmp_path: Path) -> None:
    """`--ingest` without OUT: the bag is made in the ingest's work area, its payload hashed
    once (with the repository's sha512 too) and moved into the AIP, not copied again; the
    AIP is what the two-step way stores, audits clean, rebuilds the same; the share (with a
    Windows-1250 name) is untouched and no bag is left anywhere."""
    from archa.ingest.ingest import IngestOptions
    from archa.transfer.direct import ingest_transfer
    from archa.transfer.kinds import run_transfer

    root = tmp_path / "archive"
    Repository.init(root).close()
    with open(root / "archa.toml", "a", encoding="utf-8") as f:
        f.write('\n[policy.repository]\ndigest_algorithm = "sha512"\n')
    src = make_source(tmp_path)
    (src / "spis 1" / "Přehled.txt".encode("cp1250").decode("utf-8", "surrogateescape")).write_bytes(b"p" * 5000)
    before = tree_snapshot(src)
    stages: dict[str, tuple[int, int]] = {}
    repo = Repository.open(root)
    with repo:
        result, transfer = ingest_transfer(
            repo, src, lambda out: run_transfer("folder", src, out, [("Title", "Road repairs")], repo.policy),
            IngestOptions(), lambda stage, done, total: stages.__setitem__(stage, (done, total)))
        files = {f["logical_path"]: f for f in repo.catalog.files(result.aip_id, "v1")}
    payload = {lp for lp, f in files.items() if f["role"] == "payload"}
    assert payload == {f"representations/original/data/{p}" for p in
                       ("register.csv", "spis 1/dopis.txt", "spis 1/přílohy/foto.bin", "spis 1/Přehled.txt")}
    assert files["representations/original/data/spis 1/Přehled.txt"]["original_name"] == "data/spis%201/P%F8ehled.txt"
    assert {"metadata/submission/manifest-sha256.txt", "metadata/submission/manifest-sha512.txt"} <= set(files)
    assert transfer.files == 4 and result.files == 4
    # moved, not copied: the move saw every payload file; the copy only the small tag files
    assert stages["move"] == (4, 4) and stages["copy"][1] < 10_000
    obj = repo.hot.object_path(result.aip_id)
    for lp in payload:
        assert hashlib.sha512((obj / files[lp]["content_path"]).read_bytes()).hexdigest() == files[lp]["digest"]
    assert tree_snapshot(src) == before
    assert not [p for p in tmp_path.rglob("*") if p.name in ("bagit.txt",) and "storage" not in p.parts]
    assert not list((root / "staging").iterdir())
    runner = CliRunner()
    audit = runner.invoke(cli, ["fixity", "audit", "--all", "--repo", str(root)])
    assert audit.exit_code == 0, audit.output
    rebuild = runner.invoke(cli, ["catalog", "rebuild", "--check", "--repo", str(root)])
    assert rebuild.exit_code == 0 and "the same as the live catalog" in rebuild.output, rebuild.output


def test_ingest_without_out_rejected_is_recorded_and_stores_nothing(repo: Repository, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    r = CliRunner().invoke(cli, ["transfer", "folder", str(empty), "--ingest", "--repo", str(repo.root)])
    assert r.exit_code == 2 and "TRF006" in r.output, r.output
    assert [t["status"] for t in repo.catalog.transfers()] == ["rejected"]
    assert not repo.catalog.aips() and not list((repo.root / "staging").iterdir())
    r = CliRunner().invoke(cli, ["transfer", "folder", str(empty), "--repo", str(repo.root)])
    assert r.exit_code == 2 and "give OUT" in r.output and "--ingest" in r.output, r.output


def test_two_names_that_read_the_same_are_refused(tmp_path: Path) -> None:
    """A Czech share may hold 'Přehled.txt' twice: once in UTF-8, once in Windows-1250 bytes;
    read as Windows-1250 both are the same name, and one must not overwrite the other."""
    src = tmp_path / "share"
    src.mkdir()
    (src / "Přehled.txt").write_text("utf-8 name")
    (src / "Přehled.txt".encode("cp1250").decode("utf-8", "surrogateescape")).write_text("cp1250 name")
    before = tree_snapshot(src)
    with pytest.raises(SipRejected) as e:
        transfer_folder(src, tmp_path / "bag", [], POLICY)
    assert [f.code for f in e.value.findings if f.is_error] == ["TRF011"]
    assert "rename one of them" in str(e.value.findings[-1])
    assert not (tmp_path / "bag").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["share"]
    assert tree_snapshot(src) == before
