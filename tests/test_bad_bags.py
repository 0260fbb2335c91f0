"""Every class of bad SIP is rejected with its stable code, nothing stored, the SIP untouched."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from archa.errors import SipRejected
from archa.ingest.ingest import ingest
from archa.repository.repo import Repository
from tests.bagmaker import retag, tree_snapshot, write_bag, write_manifest, zip_dir

FILES = {"a.txt": b"alpha\n", "sub/b.txt": b"bravo\n", "c.bin": bytes(range(200))}


def _rewrite(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text("utf-8").replace(old, new), "utf-8")


def _set_bagit(text: bytes) -> Callable[[Path], None]:
    def f(b: Path) -> None:
        (b / "bagit.txt").write_bytes(text)
    return f


def _flip_payload(b: Path) -> None:
    p = b / "data" / "a.txt"
    p.write_bytes(b"ALPHA\n")


def _unsafe_manifest_path(path: str) -> Callable[[Path], None]:
    def f(b: Path) -> None:
        with open(b / "manifest-sha256.txt", "a") as m:
            m.write(f"{'0' * 64}  {path}\n")
    return f


def _tag_manifest_lists_missing(b: Path) -> None:
    with open(b / "tagmanifest-sha256.txt", "a") as m:
        m.write(f"{'0' * 64}  extra-tag.txt\n")


def _tag_mismatch(b: Path) -> None:
    _rewrite(b / "bag-info.txt", "Test Archive", "Other Archive")


def _payload_symlink(b: Path) -> None:
    os.symlink("/etc/passwd", b / "data" / "link.txt")
    write_manifest(b, "manifest-sha256.txt", "sha256", ["data/a.txt", "data/c.bin", "data/sub/b.txt"])


def _fifo(b: Path) -> None:
    os.mkfifo(b / "data" / "pipe")


def _fetch_missing(b: Path) -> None:
    (b / "fetch.txt").write_text("http://example.org/x 10 data/remote.bin\n")


def _fetch_present_but_unlisted(b: Path) -> None:
    (b / "fetch.txt").write_text("http://example.org/x 6 data/a.txt\n")
    (b / "data" / "extra.bin").write_bytes(b"1")


def _duplicate_conflict(b: Path) -> None:
    with open(b / "manifest-sha256.txt", "a") as m:
        m.write(f"{'1' * 64}  data/a.txt\n")


def _tag_manifest_lists_payload(b: Path) -> None:
    with open(b / "tagmanifest-sha256.txt", "a") as m:
        m.write(f"{hashlib.sha256(b'alpha' + bytes([10])).hexdigest()}  data/a.txt\n")


def _ambiguous_nfc(b: Path) -> None:
    # d + dot below + dot above: the NFC form is listed, two other spellings are on disk
    listed = unicodedata.normalize("NFC", "d\u0323\u0307.txt")
    for name in ("d\u0323\u0307.txt", "\u1e0b\u0323.txt"):
        assert name != listed and unicodedata.normalize("NFC", name) == listed
        (b / "data" / name).write_bytes(b"1")
    with open(b / "manifest-sha256.txt", "a", encoding="utf-8") as m:
        m.write(f"{hashlib.sha256(b'1').hexdigest()}  data/{listed}\n")


CASES: list[tuple[str, Callable[[Path], None], str]] = [
    ("no bagit.txt", lambda b: (b / "bagit.txt").unlink(), "BAG001"),
    ("bagit.txt BOM", _set_bagit(b"\xef\xbb\xbfBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"), "BAG002"),
    ("version a.b", _set_bagit(b"BagIt-Version: a.b\nTag-File-Character-Encoding: UTF-8\n"), "BAG002"),
    ("version 2.", _set_bagit(b"BagIt-Version: 2.\nTag-File-Character-Encoding: UTF-8\n"), "BAG002"),
    ("version 1.2.3", _set_bagit(b"BagIt-Version: 1.2.3\nTag-File-Character-Encoding: UTF-8\n"), "BAG002"),
    ("space before colon", _set_bagit(b"BagIt-Version : 1.0\nTag-File-Character-Encoding: UTF-8\n"), "BAG002"),
    ("extra line", _set_bagit(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nX: y\n"), "BAG002"),
    ("unknown encoding", _set_bagit(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: NOPE-9\n"), "BAG002"),
    ("no data dir", lambda b: __import__("shutil").rmtree(b / "data"), "BAG003"),
    ("no payload manifest", lambda b: (b / "manifest-sha256.txt").unlink(), "BAG004"),
    ("malformed manifest line", lambda b: _rewrite(b / "manifest-sha256.txt", "  data/a.txt", ""), "BAG005"),
    ("absolute path", _unsafe_manifest_path("/etc/passwd"), "BAG006"),
    ("dotdot path", _unsafe_manifest_path("data/../../x"), "BAG006"),
    ("tilde path", _unsafe_manifest_path("~/x"), "BAG006"),
    ("drive path", _unsafe_manifest_path("C:/x"), "BAG006"),
    ("missing payload file", lambda b: (b / "data" / "sub" / "b.txt").unlink(), "BAG007"),
    ("unlisted payload file", lambda b: (b / "data" / "stray.txt").write_bytes(b"x"), "BAG008"),
    ("checksum mismatch", _flip_payload, "BAG009"),
    ("oxum mismatch", lambda b: _rewrite(b / "bag-info.txt", "Payload-Oxum: ", "Payload-Oxum: 9"), "BAG010"),
    ("oxum malformed", lambda b: _rewrite(b / "bag-info.txt", "Payload-Oxum: ", "Payload-Oxum: x"), "BAG011"),
    ("tag file missing", _tag_manifest_lists_missing, "BAG012"),
    ("tag checksum mismatch", _tag_mismatch, "BAG013"),
    ("symlink escaping the bag", _payload_symlink, "BAG015"),
    ("fifo in payload", _fifo, "BAG015"),
    ("fetch.txt file absent", _fetch_missing, "BAG016"),
    ("fetched file unlisted", _fetch_present_but_unlisted, "BAG008"),
    ("duplicate entry conflict", _duplicate_conflict, "BAG017"),
    ("ambiguous normalisation", _ambiguous_nfc, "BAG020"),
    ("tag manifest lists payload", _tag_manifest_lists_payload, "BAG014"),
]


def assert_nothing_stored(repo: Repository, transfer_id: str) -> None:
    assert [p.name for p in repo.hot.path.iterdir()] and not list(repo.hot.path.rglob("0=ocfl_object_1.1"))
    assert repo.catalog.aips() == []
    assert list(repo.staging.iterdir()) == []
    t = repo.catalog.transfer(transfer_id)
    assert t["status"] == "rejected" and t["findings"]
    # the last event of the rejection (the journal seal, which names no transfer, may follow it)
    ev = [e for e in repo.catalog.events() if e["transfer_id"]][-1]
    assert ev["type"] == "validation" and ev["outcome"] == "failure" and ev["transfer_id"] == transfer_id


@pytest.mark.parametrize(("name", "mutate", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_bag_is_rejected(repo: Repository, bags: Path, name: str,
                             mutate: Callable[[Path], None], code: str) -> None:
    bag = write_bag(bags / "bad", FILES)
    mutate(bag)
    before = tree_snapshot(bag)
    with pytest.raises(SipRejected) as exc:
        ingest(repo, bag)
    codes = {f.code for f in exc.value.findings if f.is_error}
    assert code in codes, [str(f) for f in exc.value.findings]
    assert tree_snapshot(bag) == before
    assert_nothing_stored(repo, exc.value.transfer_id)


def test_every_problem_is_reported_at_once(repo: Repository, bags: Path) -> None:
    bag = write_bag(bags / "bad", FILES, algs=("sha256", "md5"))
    (bag / "data" / "sub" / "b.txt").unlink()
    (bag / "data" / "stray.txt").write_bytes(b"x")
    _flip_payload(bag)
    with pytest.raises(SipRejected) as exc:
        ingest(repo, bag)
    found = {(f.code, f.path) for f in exc.value.findings}
    assert ("BAG007", "data/sub/b.txt") in found
    assert ("BAG008", "data/stray.txt") in found
    mismatches = [f for f in exc.value.findings if f.code == "BAG009"]
    assert {m.path for m in mismatches} == {"data/a.txt"} and len(mismatches) == 2  # md5 and sha256
    sha = next(m for m in mismatches if m.expected == hashlib.sha256(b"alpha\n").hexdigest())
    assert sha.found == hashlib.sha256(b"ALPHA\n").hexdigest()
    assert_nothing_stored(repo, exc.value.transfer_id)


def test_normalisation_difference_is_accepted_with_a_warning(repo: Repository, bags: Path) -> None:
    nfc, nfd = unicodedata.normalize("NFC", "café.txt"), unicodedata.normalize("NFD", "café.txt")
    bag = write_bag(bags / "n", {nfd: b"coffee"})
    _rewrite(bag / "manifest-sha256.txt", nfd, nfc)
    retag(bag)
    res = ingest(repo, bag)
    assert [w.code for w in res.warnings] == ["BAGW01"]
    assert res.files == 1


def test_a_line_listed_twice_alike_is_a_warning_and_stored_once(repo: Repository, bags: Path) -> None:
    bag = write_bag(bags / "twice", FILES)
    with open(bag / "manifest-sha256.txt", "a") as m:
        m.write(f"{hashlib.sha256(FILES['a.txt']).hexdigest()}  data/a.txt\n")
    retag(bag)
    res = ingest(repo, bag)
    assert [(w.code, w.path) for w in res.warnings] == [("BAGW03", "data/a.txt")]
    assert res.files == 3
    payload = [f["logical_path"] for f in repo.catalog.files(res.aip_id, "v1") if f["role"] == "payload"]
    assert sorted(payload) == [f"representations/original/data/{n}" for n in sorted(FILES)]


def test_system_files_give_a_warning(repo: Repository, bags: Path) -> None:
    res = ingest(repo, write_bag(bags / "s", {**FILES, ".DS_Store": b"\0\0\0\1Bud1"}))
    assert [w.code for w in res.warnings] == ["BAGW02"]


# --- serialized bags ----------------------------------------------------------------------

def _zip_with(members: list[tuple[zipfile.ZipInfo | str, bytes]], out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for info, data in members:
            zf.writestr(info, data)
    return out


def _tar_with(members: list[tarfile.TarInfo], out: Path) -> Path:
    with tarfile.open(out, "w") as tf:
        for ti in members:
            tf.addfile(ti, io.BytesIO(b"x" * ti.size) if ti.isreg() else None)
    return out


def _symlink_zip(out: Path) -> Path:
    info = zipfile.ZipInfo("bag/data/link")
    info.external_attr = (0o120777 << 16)
    return _zip_with([("bag/bagit.txt", b"x"), (info, b"/etc/passwd")], out)


def _device_tar(out: Path) -> Path:
    dev = tarfile.TarInfo("bag/data/dev")
    dev.type = tarfile.CHRTYPE
    return _tar_with([dev], out)


def _link_tar(out: Path) -> Path:
    ln = tarfile.TarInfo("bag/data/ln")
    ln.type = tarfile.SYMTYPE
    ln.linkname = "../../etc/passwd"
    return _tar_with([ln], out)


ARCHIVE_CASES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("zip dotdot", lambda d: _zip_with([("../evil.txt", b"x")], d / "a.zip"), "SIP002"),
    ("zip absolute", lambda d: _zip_with([("/tmp/evil.txt", b"x")], d / "a.zip"), "SIP002"),
    ("tar dotdot", lambda d: _tar_with([_reg("bag/../../evil", 3)], d / "a.tar"), "SIP002"),
    ("zip symlink", lambda d: _symlink_zip(d / "a.zip"), "SIP003"),
    ("tar symlink", lambda d: _link_tar(d / "a.tar"), "SIP003"),
    ("tar device", lambda d: _device_tar(d / "a.tar"), "SIP004"),
    ("corrupt zip", lambda d: _write(d / "a.zip", b"PK\x03\x04 not really"), "SIP006"),
    ("corrupt tgz", lambda d: _write(d / "a.tgz", b"\x1f\x8b\x08garbage"), "SIP006"),
    ("two top folders", lambda d: _zip_with([("x/bagit.txt", b""), ("y/bagit.txt", b"")], d / "a.zip"), "SIP007"),
    ("not a bag at all", lambda d: _write(d / "notes.txt", b"hello"), "SIP001"),
    # a missing path is a usage error, recorded nowhere (tests/test_firstday_intake.py)
]


def _reg(name: str, size: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.size = size
    return ti


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


@pytest.mark.parametrize(("name", "make", "code"), ARCHIVE_CASES, ids=[c[0] for c in ARCHIVE_CASES])
def test_bad_serialized_bag_is_rejected(repo: Repository, bags: Path, name: str,
                                        make: Callable[[Path], Path], code: str) -> None:
    sip = make(bags)
    before = sip.read_bytes() if sip.exists() else None
    with pytest.raises(SipRejected) as exc:
        ingest(repo, sip)
    assert code in {f.code for f in exc.value.findings}, [str(f) for f in exc.value.findings]
    assert (sip.read_bytes() if sip.exists() else None) == before
    assert not (bags.parent / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()
    assert_nothing_stored(repo, exc.value.transfer_id)


def test_archive_bomb_limits(repo_with_policy: Callable[[Path, str], Repository], tmp_path: Path, bags: Path) -> None:
    repo = repo_with_policy(tmp_path / "small", "[policy.ingest]\nmax_bytes = 1000\nmax_files = 3\n")
    big = write_bag(bags / "big", {"zeros.bin": bytes(100_000)})
    with pytest.raises(SipRejected) as exc:
        ingest(repo, zip_dir(big, bags / "big.zip"))
    assert "SIP005" in {f.code for f in exc.value.findings}
    many = write_bag(bags / "many", {f"{i}.txt": b"x" for i in range(5)})
    from tests.bagmaker import tar_zst_dir
    with pytest.raises(SipRejected) as exc:
        ingest(repo, tar_zst_dir(many, bags / "many.tar.zst"))
    assert "SIP005" in {f.code for f in exc.value.findings}
    assert_nothing_stored(repo, exc.value.transfer_id)
    repo.close()


def test_zip_bomb_with_lying_sizes_is_stopped(repo_with_policy: Callable[[Path, str], Repository], tmp_path: Path, bags: Path) -> None:
    """A member whose header claims a small size but inflates to more is cut off."""
    repo = repo_with_policy(tmp_path / "small", "[policy.ingest]\nmax_bytes = 50000\n")
    out = bags / "liar.tar"
    payload = bytes(200_000)
    ti = _reg("bag/data/z.bin", len(payload))
    with tarfile.open(out, "w") as tf:
        tf.addfile(ti, io.BytesIO(payload))
    with pytest.raises(SipRejected) as exc:
        ingest(repo, out)
    assert "SIP005" in {f.code for f in exc.value.findings}
    repo.close()


def test_rejected_format_by_policy(repo_with_policy: Callable[[Path, str], Repository], tmp_path: Path, bags: Path) -> None:
    from archa.demo import pdf_bytes

    repo = repo_with_policy(tmp_path / "strict", "[policy.formats]\nrejected = [\"fmt/18\"]\n")
    bag = write_bag(bags / "p", {"x.pdf": pdf_bytes("no")})
    with pytest.raises(SipRejected) as exc:
        ingest(repo, bag)
    (f,) = [f for f in exc.value.findings if f.is_error]
    assert (f.code, f.path, f.found) == ("FMT001", "data/x.pdf", "fmt/18")
    assert_nothing_stored(repo, exc.value.transfer_id)
    repo.close()
