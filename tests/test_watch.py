"""The drop folder (`archa ingest --watch-dir`): a mix of good and bad transfers in one pass,
two passes at once, and the states a killed pass leaves behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from archa.ingest.ingest import ingest
from archa.transfer.watch import WORK, watch_once
from tests.bagmaker import write_bag, zip_dir
from tests.eark_maker import write_eark
from tests.nsesss_maker import Package, write_package, zip_package

ARCHA = str(Path(sys.executable).parent / "archa")
SETTLE = "\n[policy.transfer]\nsettle_seconds = 60\n"


def _age(path: Path, seconds: float = 3600) -> None:
    """Make everything under `path` look untouched for `seconds`."""
    t = time.time() - seconds
    for d, dirs, files in os.walk(path):
        for n in dirs + files:
            os.utime(os.path.join(d, n), (t, t), follow_symlinks=False)
    os.utime(path, (t, t))


def fill_drop(drop: Path, scratch: Path) -> dict[str, str]:
    """Good and bad transfers of every kind; returns name -> expected outcome."""
    drop.mkdir()
    write_bag(drop / "bag-dir", {"a.txt": b"a" * 100})
    zip_dir(write_bag(scratch / "bag-zip", {"b.txt": b"b" * 100}), drop / "bag-zip.zip")
    zip_package(write_package(scratch / "n4", Package(name="SIP_v4")), drop / "SIP_v4.zip")
    write_package(drop, Package(version=3, name="SIP_v3", ident="KU-2015-0043"))  # another record
    zip_package(write_eark(scratch / "e", name="eark-1"), drop / "eark-1.zip")
    (drop / "plain folder").mkdir()
    (drop / "plain folder" / "memo.txt").write_text("just files\n")
    bad = write_package(scratch / "bad", Package(name="SIP_bad"))
    (bad / "komponenty" / "foto.png").write_bytes(b"tampered")
    zip_package(bad, drop / "SIP_bad.zip")
    broken = write_bag(drop / "bag-broken", {"c.txt": b"c" * 100})
    (broken / "data" / "c.txt").write_bytes(b"x" * 100)
    (drop / "notes.odd").write_text("not a transfer")
    for p in drop.iterdir():
        _age(p)
    (drop / "arriving").mkdir()  # fresh, no marker: still being copied in
    (drop / "arriving" / "part.txt").write_text("half")
    write_bag(drop / "fresh-ready", {"d.txt": b"d"})  # fresh, but its producer says it is complete
    (drop / "fresh-ready.ready").touch()
    return {"bag-dir": "done", "bag-zip.zip": "done", "SIP_v4.zip": "done", "SIP_v3": "done",
            "eark-1.zip": "done", "plain folder": "done", "fresh-ready": "done",
            "SIP_bad.zip": "failed", "bag-broken": "failed", "notes.odd": "failed"}


def test_one_pass_over_a_mix_of_good_and_bad(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop = tmp_path / "drop"
    expected = fill_drop(drop, tmp_path / "scratch")
    result = watch_once(repo, drop)
    got = {i.name: i.status for i in result.items}
    assert got == {**{n: "ingested" if o == "done" else "failed" for n, o in expected.items()}, "arriving": "waiting"}
    for name, outcome in expected.items():
        assert (drop / outcome / name).exists(), name
        report = json.loads((drop / outcome / f"{name}.report.json").read_text())
        assert report["status"] == ("ingested" if outcome == "done" else "failed")
    assert sorted(p.name for p in drop.iterdir()) == [WORK, "arriving", "done", "failed"]
    assert not list((drop / WORK).iterdir())
    assert len(repo.catalog.aips()) == 7
    bad = json.loads((drop / "failed" / "SIP_bad.zip.report.json").read_text())
    assert "kom1" in json.dumps(bad) and "komponenty/foto.png" in json.dumps(bad)
    broken = json.loads((drop / "failed" / "bag-broken.report.json").read_text())
    assert "data/c.txt" in json.dumps(broken)
    rejected = {Path(t["source"]).name: json.loads(t["findings"]) for t in repo.catalog.transfers()
                if t["status"] == "rejected"}
    assert set(rejected) == {"SIP_bad.zip", "bag-broken", "notes.odd"}  # every failure is in the catalog
    # each recorded where a person finds it (`archa status` names it), not as the claim it has left
    sources = {t["source"] for t in repo.catalog.transfers() if t["status"] == "rejected"}
    assert sources == {str((drop / "failed" / n).absolute()) for n in rejected}
    assert [f["code"] for f in rejected["SIP_bad.zip"]] == ["kom1", "kom2", "kom3"]
    assert [f["code"] for f in rejected["notes.odd"]] == ["TRF007"]
    nsesss = json.loads((drop / "done" / "SIP_v4.zip.report.json").read_text())
    assert repo.catalog.retention(nsesss["aip_id"])[0]["sign"] == "A"
    # what the AIPs keep names each package where it was dropped, not the claim it passed through
    folder = json.loads((drop / "done" / "plain folder.report.json").read_text())
    assert repo.catalog.aip(folder["aip_id"])["label"] == f"folder {(drop / 'plain folder').absolute()}"
    kept = [f for f in (repo.root / "storage").rglob("*") if f.is_file() and "archa-events" not in f.parts]
    assert kept and not [f for f in kept if WORK.encode() in f.read_bytes()]
    # the next pass finds only what was still arriving
    assert [i.status for i in watch_once(repo, drop).items] == ["waiting"]


def test_two_passes_at_once_never_take_the_same_transfer(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop = tmp_path / "drop"
    drop.mkdir()
    for i in range(6):
        write_bag(drop / f"t{i}", {"x.txt": f"{i}".encode() * 1000})
        _age(drop / f"t{i}")
    cmd = [ARCHA, "ingest", "--watch-dir", str(drop), "--repo", str(repo.root), "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    taken = [i["name"] for out, _err in outs for i in json.loads(out)["items"] if i["status"] == "ingested"]
    assert sorted(taken) == [f"t{i}" for i in range(6)]  # each once, by one pass or the other
    assert len(repo.catalog.aips()) == 6
    assert sorted(p.name for p in (drop / "done").iterdir() if not p.name.endswith(".json")) == \
        [f"t{i}" for i in range(6)]


def test_a_killed_pass_is_finished_by_the_next(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The two states a killed pass can leave: a claimed transfer not yet ingested, and one
    ingested but not yet filed under done/ (its lock is free: its process is gone)."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop = tmp_path / "drop"
    (drop / WORK / "0123456789ab").mkdir(parents=True)
    write_bag(drop / WORK / "0123456789ab" / "half-done", {"a.txt": b"a"})
    (drop / WORK / "0123456789ab.lock").touch()
    (drop / WORK / "ba9876543210").mkdir()
    ingested = zip_dir(write_bag(tmp_path / "s", {"b.txt": b"b"}), drop / WORK / "ba9876543210" / "was-ingested.zip")
    (drop / WORK / "ba9876543210.lock").touch()
    aip = ingest(repo, ingested).aip_id  # what the dead pass did before it died
    result = watch_once(repo, drop)
    assert {i.name: i.status for i in result.items} == {"half-done": "ingested", "was-ingested.zip": "ingested"}
    assert {i.name: i.kind for i in result.items}["was-ingested.zip"] == "recovered"
    assert len(repo.catalog.aips()) == 2  # nothing ingested twice
    report = json.loads((drop / "done" / "was-ingested.zip.report.json").read_text())
    assert report["aip_id"] == aip and "earlier run" in report["note"]
    assert (drop / "done" / "half-done" / "bagit.txt").is_file()
    assert not list((drop / WORK).iterdir())


def test_a_package_rejected_again_is_named_where_it_lies(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same bad package sent twice: failed/ keeps both (the second suffixed), and each
    rejected transfer names its own copy, so the person sent by `archa status` opens the
    one that was rejected, whether the rejection came from the ingest (a bag) or before it."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop = tmp_path / "drop"
    drop.mkdir()
    for round_ in range(2):
        broken = write_bag(drop / "bag-broken", {"c.txt": b"c" * 100})
        (broken / "data" / "c.txt").write_bytes(f"{round_}".encode() * 100)
        (drop / "notes.odd").write_text(f"not a transfer, round {round_}")
        for name in ("bag-broken", "notes.odd"):
            (drop / f"{name}.ready").touch()
        assert {i.name: i.status for i in watch_once(repo, drop).items} == {"bag-broken": "failed",
                                                                           "notes.odd": "failed"}
    rejected = [Path(t["source"]) for t in repo.catalog.transfers() if t["status"] == "rejected"]
    assert len(rejected) == 4 and len(set(rejected)) == 4
    assert all(p.parent == (drop / "failed").absolute() and p.exists() for p in rejected), rejected
    contents = sorted((p / "data" / "c.txt").read_bytes()[:1] for p in rejected if p.name.startswith("bag-broken"))
    assert contents == [b"0", b"1"]  # each names its own package
    notes = sorted(p.read_text() for p in rejected if p.name.startswith("notes.odd"))
    assert notes == ["not a transfer, round 0", "not a transfer, round 1"]
    reports = [json.loads(r.read_text()) for r in (drop / "failed").glob("*.report.json")]
    assert sorted(Path(r["error"]["sip"]) for r in reports) == sorted(rejected)  # the reports say the same


# --- what an independent review of the drop folder found (2026-12-04) -----------------------------


def test_a_symbolic_link_dropped_as_a_package_is_not_followed(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`ln -s /etc drop/toplink`: the link was followed and /etc (shadow and all) archived."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    (secret / "shadow").write_text("root:$6$secret\n")
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "toplink").symlink_to(secret)
    (drop / "toplink.ready").touch()
    (item,) = watch_once(repo, drop).items
    assert item.status == "failed" and "TRF012" in item.error and "not followed" in item.error, item
    assert not repo.catalog.aips()
    assert (drop / "failed" / "toplink").is_symlink() and (secret / "shadow").read_text() == "root:$6$secret\n"
    stored = [p for p in (repo.root / "storage").rglob("*") if p.is_file()]
    assert not [p for p in stored if b"$6$secret" in p.read_bytes()]


def test_long_names_are_filed_and_never_block_the_rest(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Names as long as a file system allows (255 bytes): the package was stored, then could
    not be filed (its report's name too long), stayed claimed, and every later pass failed on
    it; a name too long to have a `.ready` marker crashed the scan."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop = tmp_path / "drop"
    drop.mkdir()
    long_cz = "Žádost o vyjádření k projektové dokumentaci " * 6  # 2-byte letters: 236 bytes below
    while len(long_cz.encode()) > 236:
        long_cz = long_cz[:-1]
    longest = "x" * 255  # no room for ".ready": taken once settled
    for name in (long_cz, longest, "after"):
        (drop / name).mkdir()
        (drop / name / "memo.txt").write_text(f"{name[:10]}\n")
        _age(drop / name)
    (drop / f"{long_cz}.ready").touch()
    items = {i.name: i for i in watch_once(repo, drop).items}
    assert {n: i.status for n, i in items.items()} == {long_cz: "ingested", longest: "ingested", "after": "ingested"}
    assert len(repo.catalog.aips()) == 3 and not list((drop / WORK).iterdir())
    reports = {json.loads(r.read_text())["transfer"]: r for r in (drop / "done").glob("*.report.json")}
    assert set(reports) == {long_cz, longest, "after"}  # each report names its package in full
    for r in reports.values():
        assert len(r.name.encode()) <= 255 and r.with_name(r.name.removesuffix(".report.json")).is_dir()
    assert watch_once(repo, drop).items == []  # nothing left claimed, nothing failing


def test_done_as_a_file_is_refused_before_anything_is_taken(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A file named `done` in the drop folder: the package was stored, then filing it failed
    with a traceback, and every pass after failed the same way."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "done").write_text("a producer's file\n")
    write_bag(drop / "bag", {"a.txt": b"a"})
    (drop / "bag.ready").touch()
    r = subprocess.run([ARCHA, "ingest", "--watch-dir", str(drop), "--repo", str(repo.root)], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 2 and "done: archa files what it takes in under done/" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not repo.catalog.aips() and (drop / "bag").is_dir()


def test_a_folder_named_like_a_marker_is_a_transfer(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "Zapis.ready").mkdir()
    (drop / "Zapis.ready" / "zapis.txt").write_text("zápis z jednání\n")
    _age(drop / "Zapis.ready")
    (item,) = watch_once(repo, drop).items
    assert (item.name, item.status) == ("Zapis.ready", "ingested"), item


def test_a_marker_does_not_vouch_for_what_came_after_it(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A `.ready` marker written before its package (or left alone): a package created and
    still being written after it was taken at once, half-copied."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "ghost.ready").touch()
    old = time.time() - 120
    os.utime(drop / "ghost.ready", (old, old))
    (drop / "ghost").mkdir()
    (drop / "ghost" / "part1.txt").write_text("first half\n")  # newer than the marker: not vouched for
    assert [(i.name, i.status) for i in watch_once(repo, drop).items] == [("ghost", "waiting")]
    assert not repo.catalog.aips()
    (drop / "ghost.ready").touch()  # the producer says it is complete now
    assert [(i.name, i.status) for i in watch_once(repo, drop).items] == [("ghost", "ingested")]
    # a marker left alone (its package never came, or was taken by hand) goes once settled
    (drop / "orphan.ready").touch()
    os.utime(drop / "orphan.ready", (time.time() - 3600, time.time() - 3600))
    assert watch_once(repo, drop).items == [] and not (drop / "orphan.ready").exists()


KILL_AFTER_FILING = """
import os, signal, sys
import archa.transfer.watch as w
from archa.cli.main import cli
real = os.rename
def rename(src, dst, *a, **k):  # kill -9 right after the first of the two renames that file an item
    real(src, dst, *a, **k)
    if "/failed/" in str(dst):
        os.kill(os.getpid(), signal.SIGKILL)
w.os = type("os", (), {**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")}, "rename": staticmethod(rename)})
sys.argv = ["archa", "ingest", "--repo", sys.argv[1], "--watch-dir", sys.argv[2]]
cli()
"""


def test_killed_while_filing_a_rejection_leaves_it_where_the_catalog_says(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """kill -9 between filing a rejected package and writing its report: it was the report
    first, so the package stayed claimed beside a report naming it, the next pass rejected it
    again (recorded twice) and filed it under another name, and `archa status` named a path
    that did not exist."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "emptyfold").mkdir()
    (drop / "emptyfold.ready").touch()
    r = subprocess.run([sys.executable, "-c", KILL_AFTER_FILING, str(repo.root), str(drop)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == -9, r.stdout + r.stderr
    assert watch_once(repo, drop).items == []  # nothing left to take again
    assert [p.name for p in (drop / "failed").iterdir() if not p.name.endswith(".json")] == ["emptyfold"]
    rejected = [t for t in repo.catalog.transfers() if t["status"] == "rejected"]
    assert len(rejected) == 1 and Path(rejected[0]["source"]).is_dir(), rejected
    assert not list((drop / WORK).iterdir())


PRODUCER_STILL_WRITING = """
import sys
from pathlib import Path
import archa.transfer.watch as w
from archa.cli.main import cli
real = w.detect_kind
def detect_kind(item):  # the producer's writer, stalled past the settle time, goes on once the item is claimed
    kind = real(item)
    with open(Path(item) / "big.bin", "ab") as f:
        f.write(b"the second half" * 1000)
    return kind
w.detect_kind = detect_kind
sys.argv = ["archa", "ingest", "--repo", sys.argv[1], "--watch-dir", sys.argv[2]]
cli()
"""


def test_a_package_that_changes_while_it_is_read_is_given_back(repo_with_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A copy stalled longer than the settle time, then going on through its open file: the
    report said "ingested" with no word, the AIP holding half of big.bin and done/ all of it.
    Now a package that changed while the transfer read it is given back, nothing of it
    stored, and taken in once it has settled, whole."""
    repo = repo_with_policy(tmp_path / "archive", SETTLE)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "pkg").mkdir()
    (drop / "pkg" / "big.bin").write_bytes(b"the first half" * 1000)
    _age(drop / "pkg")
    r = subprocess.run([sys.executable, "-c", PRODUCER_STILL_WRITING, str(repo.root), str(drop)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "left for the next run" in r.stdout and "changed while it was read" in r.stdout, \
        r.stdout + r.stderr
    assert not repo.catalog.aips() and (drop / "pkg" / "big.bin").is_file() and not (drop / "done").exists()
    assert [(i.name, i.status) for i in watch_once(repo, drop).items] == [("pkg", "waiting")]  # settling again
    _age(drop / "pkg")
    assert [(i.name, i.status) for i in watch_once(repo, drop).items] == [("pkg", "ingested")]
    (aip,) = repo.catalog.aips()
    sizes = [f["size"] for f in repo.catalog.files(aip["id"], "v1") if f["logical_path"].endswith("big.bin")]
    assert sizes == [len(b"the first half" * 1000) + len(b"the second half" * 1000)]  # whole
