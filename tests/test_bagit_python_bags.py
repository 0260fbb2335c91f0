"""Bags as bagit-python makes them with the algorithms hashlib names (`--sha3_256`,
`--blake2b`): manifest-sha3_256.txt and manifest-blake2b.txt are read and verified like
RFC 8493's spellings, and a bag with no manifest archa can verify is refused with BAG004
naming the manifests it does have (not one that is not there)."""

from __future__ import annotations

import shutil
from pathlib import Path

import bagit
import pytest

from archa.errors import SipRejected
from archa.ingest.ingest import ingest
from archa.repository.repo import Repository
from tests.bagmaker import tree_snapshot

FILES = {"dopis.txt": "Vážený pane,\n", "sken/strana-1.txt": "strana 1\n"}


def _bagit_python_bag(tmp_path: Path, algorithms: list[str]) -> Path:
    folder = tmp_path / "bag"
    for rel, text in FILES.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, "utf-8")
    bagit.make_bag(str(folder), {"Source-Organization": "Obec Brtnice"}, checksums=algorithms)
    return folder


@pytest.mark.parametrize("algorithms", [["sha3_256"], ["blake2b"], ["sha3_512", "sha256"]])
def test_hashlib_spelled_manifests_are_verified(repo: Repository, tmp_path: Path, algorithms: list[str]) -> None:
    bag = _bagit_python_bag(tmp_path, algorithms)
    assert {f"manifest-{a}.txt" for a in algorithms} <= {p.name for p in bag.iterdir()}
    before = tree_snapshot(bag)
    result = ingest(repo, bag)
    assert result.files == len(FILES) and tree_snapshot(bag) == before
    # the digests were checked: the same bag with one byte changed is refused by that manifest
    broken = tmp_path / "broken"
    shutil.copytree(bag, broken)
    (broken / "data/dopis.txt").write_text("Vážená paní,\n", "utf-8")
    with pytest.raises(SipRejected) as e:
        ingest(repo, broken)
    mismatches = {(f.path, f.message.split()[0]) for f in e.value.findings if f.code == "BAG009"}
    assert mismatches == {("data/dopis.txt", a) for a in algorithms}


def test_bag004_names_the_manifests_the_bag_has(repo: Repository, tmp_path: Path) -> None:
    bag = _bagit_python_bag(tmp_path, ["sha256"])
    (bag / "manifest-sha256.txt").rename(bag / "manifest-whirlpool.txt")
    with pytest.raises(SipRejected) as e:
        ingest(repo, bag)
    (f,) = [f for f in e.value.findings if f.code == "BAG004"]
    assert "manifest-whirlpool.txt" in f.message and "manifest-sha512.txt" not in str(f)
