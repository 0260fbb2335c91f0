"""Commands side by side: an ingest finishes while a full audit is still running, two
ingests run at once, and a copy another command is writing is left for the next audit;
afterwards the event chain is one line and a rebuilt catalog equals the live one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.ingest.ingest import ingest
from archa.repository.repo import Repository
from tests.bagmaker import write_bag

ARCHA = [str(Path(sys.executable).parent / "archa")]


def _archa(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*ARCHA, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})


def _check_whole(root: Path) -> None:
    r = CliRunner().invoke(cli, ["events", "verify", "--repo", str(root)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["catalog", "rebuild", "--check", "--repo", str(root)])
    assert r.exit_code == 0, r.output


def test_ingest_finishes_while_an_audit_runs(repo: Repository, tmp_path: Path) -> None:
    for i in range(3):  # 3 × 4 MiB to audit at 2 MB/s (hot and cold copies): a few seconds
        ingest(repo, write_bag(tmp_path / f"old{i}", {f"scan-{j}.bin": os.urandom(1 << 20) for j in range(4)}))
    root = str(repo.root)
    repo.close()
    auditing = _archa("fixity", "audit", "--all", "--rate", "2", "--json", "--repo", root)
    time.sleep(1.0)  # the audit holds its (shared) lock and reads
    assert auditing.poll() is None
    t0 = time.monotonic()
    ing = _archa("ingest", str(write_bag(tmp_path / "new", {"letter.txt": b"Dear Sir\n"})), "--json", "--repo", root)
    out, err = ing.communicate(timeout=120)
    took = time.monotonic() - t0
    assert ing.returncode == 0, err
    assert auditing.poll() is None, "the audit ended before the ingest did: nothing ran side by side"
    out_a, err_a = auditing.communicate(timeout=120)
    assert auditing.returncode == 0, err_a
    summary = json.loads(out_a)
    assert summary["copies"] == 6 and summary["failures"] == 0  # the new AIP was not selected: it came later
    assert took < 30, took
    aip = json.loads(out)[0]["aip_id"]
    with Repository.open(Path(root)) as again:
        assert {c["state"] for c in again.catalog.copies(aip)} == {"ok"}
    _check_whole(Path(root))


def test_two_ingests_at_once(repo: Repository, tmp_path: Path) -> None:
    root = str(repo.root)
    repo.close()
    bags = [write_bag(tmp_path / f"b{i}", {f"f{j}.bin": os.urandom(300_000) for j in range(20)}) for i in range(2)]
    procs = [_archa("ingest", str(b), "--json", "--repo", root) for b in bags]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _o, e in results]
    ids = {json.loads(o)[0]["aip_id"] for o, _e in results}
    assert len(ids) == 2
    _check_whole(Path(root))


def test_a_copy_being_written_is_left_for_the_next_audit(repo: Repository, tmp_path: Path) -> None:
    aip = ingest(repo, write_bag(tmp_path / "b", {"a.txt": b"a\n"})).aip_id
    root = str(repo.root)
    holder = subprocess.Popen(  # another command holding the AIP's lock (as an ingest or repair would)
        [sys.executable, "-c", ("import sys, time; from pathlib import Path; from archa.repository.repo import "
         "Repository; r = Repository.open(Path(sys.argv[1]));\nwith r.aip_lock(sys.argv[2]):\n"
         "    print('held', flush=True); time.sleep(60)"), root, aip], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        r = CliRunner().invoke(cli, ["fixity", "audit", "--all", "--json", "--repo", root])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["busy"] == 2 and json.loads(r.output)["copies"] == 0
        r = CliRunner().invoke(cli, ["fixity", "audit", "--all", "--repo", root])
        assert "2 being written by another command" in r.output
    finally:
        holder.kill()
        holder.wait()
    r = CliRunner().invoke(cli, ["fixity", "audit", "--all", "--json", "--repo", root])
    assert json.loads(r.output)["copies"] == 2 and json.loads(r.output)["busy"] == 0


def test_work_areas_of_running_commands_survive_a_sweep(repo: Repository) -> None:
    mine = repo.new_work_dir()
    (mine / "staged.bin").write_bytes(b"x")
    with Repository.open(repo.root) as other, other.writing():  # another command's sweep
        pass
    assert (mine / "staged.bin").exists()
    repo.release_work_dir(mine)
    assert not mine.exists()


def test_the_same_bag_twice_at_once_is_stored_once(repo: Repository, tmp_path: Path) -> None:
    root = str(repo.root)
    repo.close()
    bag = write_bag(tmp_path / "b", {f"f{j}.bin": os.urandom(200_000) for j in range(30)})
    procs = [_archa("ingest", str(bag), "--json", "--repo", root) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 2], outs
    assert "DUP001" in "".join(o + e for o, e in outs)
    with Repository.open(Path(root)) as again:
        assert len(again.catalog.aips()) == 1


def test_an_ingest_waits_for_another_of_the_same_payload(repo: Repository, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The duplicate check and the commit happen under the payload's lock: while another
    command holds it, this ingest waits (here: gives up after 1 s, storing nothing)."""
    from archa.errors import RepositoryError
    from archa.repository.catalog import payload_fingerprint

    bag = write_bag(tmp_path / "b", {"a.txt": b"a\n"})
    fingerprint = payload_fingerprint([("representations/original/data/a.txt",
                                        "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7")])
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import sys, time; from pathlib import Path; from archa.repository.repo import "
         "Repository; r = Repository.open(Path(sys.argv[1]));\nwith r.aip_lock(sys.argv[2]):\n"
         "    print('held', flush=True); time.sleep(60)"), str(repo.root), f"payload:{fingerprint}"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    original = Repository.aip_lock
    monkeypatch.setattr(Repository, "aip_lock", lambda self, key, timeout=60.0, what="": original(self, key, 1.0, what))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RepositoryError, match="a SIP with the same payload is being written"):
            ingest(repo, bag)
    finally:
        holder.kill()
        holder.wait()
    assert repo.catalog.aips() == []
    assert ingest(repo, bag).aip_id  # once the other is done
