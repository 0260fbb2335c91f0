"""Originators (every AIP belongs to one; registered by hand or from what a SIP says;
quotas; filters) and legal holds (placed, listed, released, with their history)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.ingest.ingest import IngestOptions, ingest
from archa.repository.repo import Repository
from tests import nsesss_maker as mk
from tests.bagmaker import write_bag


def _run(repo: Repository, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    return r.exit_code, r.output


def _nsesss(repo: Repository, tmp_path: Path, name: str, **kw: object) -> str:
    folder = mk.write_package(tmp_path / f"src-{name}", mk.fresh_package(name=name, ident=f"KU-{name}", **kw))
    code, out = _run(repo, "transfer", "nsesss", str(folder), str(tmp_path / f"bag-{name}"), "--ingest", "--json")
    assert code == 0, out
    return str(json.loads(out)["ingest"]["aip_id"])


def test_an_erms_originator_is_recognised_by_its_ico(repo: Repository, tmp_path: Path) -> None:
    code, out = _run(repo, "originator", "add", "kraj", "--name", "Kraj Vysočina", "--ico", mk.ORG_ICO,
                     "--quota", "2TB")
    assert code == 0 and "quota" in out, out
    first = _nsesss(repo, tmp_path, "SIP_A")  # the package names the organisation as "Krajský úřad ..."
    second = _nsesss(repo, tmp_path, "SIP_B")
    assert {repo.catalog.aip(a)["originator_id"] for a in (first, second)} == {"kraj"}
    code, out = _run(repo, "originator", "list", "--json")
    (kraj,) = json.loads(out)
    assert (kraj["id"], kraj["aips"], kraj["quota_bytes"]) == ("kraj", 2, 2 * 10**12) and kraj["bytes"] > 0
    code, out = _run(repo, "originator", "show", "kraj")
    assert code == 0 and "2 active AIPs" in out and first in out


def test_an_unknown_originator_is_registered_with_the_aip(repo: Repository, tmp_path: Path, bags: Path) -> None:
    aip = _nsesss(repo, tmp_path, "SIP_C")
    o = repo.catalog.originator(mk.ORG_ICO, repo.hot_location)  # by its IČO, named as the package names it
    assert (o["name"], o["ico"], repo.catalog.aip(aip)["originator_id"]) == (mk.Package().originator, mk.ORG_ICO,
                                                                            mk.ORG_ICO)
    plain = ingest(repo, write_bag(bags / "p", {"a.txt": b"a"}, info={"External-Identifier": "P-1"}))  # no one
    assert repo.catalog.aip(plain.aip_id)["originator_id"] == "unknown" and plain.notes
    named = ingest(repo, write_bag(bags / "n", {"b.txt": b"b"}, info={"Source-Organization": "Obec Brtnice"}))
    assert repo.catalog.aip(named.aip_id)["originator_id"] == "obec-brtnice"
    again = ingest(repo, write_bag(bags / "n2", {"c.txt": b"c"}, info={"Source-Organization": "OBEC BRTNICE"}))
    assert repo.catalog.aip(again.aip_id)["originator_id"] == "obec-brtnice" and not again.notes


def test_explicit_originator_and_a_wrong_one(repo: Repository, bags: Path) -> None:
    _run(repo, "originator", "add", "museum", "--name", "Muzeum Vysočiny")
    bag = write_bag(bags / "b", {"a.txt": b"a"}, info={"Source-Organization": "Somebody Else"})
    code, out = _run(repo, "ingest", str(bag), "--originator", "museum")
    assert code == 0 and "(originator museum)" in out, out
    code, out = _run(repo, "ingest", str(write_bag(bags / "c", {"c.txt": b"c"})), "--originator", "nobody")
    assert code == 2 and "no originator 'nobody'" in out and "archa originator add" in out
    assert len(repo.catalog.aips()) == 1


def test_a_quota_refuses_what_would_exceed_it(repo: Repository, bags: Path) -> None:
    _run(repo, "originator", "add", "small", "--name", "Malá obec", "--quota", "6KB")
    ingest(repo, write_bag(bags / "a", {"a.bin": b"a" * 2000}), IngestOptions(originator="small"))
    before = sorted(p for p in repo.hot.path.rglob("*"))
    code, out = _run(repo, "ingest", str(write_bag(bags / "b", {"b.bin": b"b" * 5000})), "--originator", "small")
    assert code == 1 and "would exceed its quota" in out and "nothing was stored" in out, out
    assert sorted(p for p in repo.hot.path.rglob("*")) == before and len(repo.catalog.aips()) == 1
    code, out = _run(repo, "originator", "quota", "small", "none")
    assert code == 0
    code, out = _run(repo, "ingest", str(write_bag(bags / "c", {"c.bin": b"c" * 5000})), "--originator", "small")
    assert code == 0, out


def test_listings_filter_by_originator(repo: Repository, tmp_path: Path, bags: Path) -> None:
    _run(repo, "originator", "add", "kraj", "--name", "Kraj", "--ico", mk.ORG_ICO)
    erms = _nsesss(repo, tmp_path, "SIP_D")
    other = ingest(repo, write_bag(bags / "o", {"o.txt": b"o"}, info={"Source-Organization": "Obec Jiná"})).aip_id
    code, out = _run(repo, "aip", "list", "--originator", "kraj", "--json")
    assert [a["id"] for a in json.loads(out)] == [erms]
    code, out = _run(repo, "retention", "due", "--as-of", "2040", "--originator", "obec-jina", "--json")
    assert json.loads(out)["A"] == []
    code, out = _run(repo, "retention", "due", "--as-of", "2040", "--originator", "kraj", "--json")
    assert [r["aip_id"] for r in json.loads(out)["A"]] == [erms]
    code, out = _run(repo, "storage", "status", "--originator", "obec-jina", "--json")
    assert {r["name"]: r["versions_held"] for r in json.loads(out)} == {"hot": 1, "cold": 1}
    code, out = _run(repo, "aip", "list", "--originator", "nobody")
    assert code == 2 and "no originator 'nobody'" in out
    assert other


def test_rebuild_restores_the_originator(repo: Repository, tmp_path: Path) -> None:
    from archa.repository.catalog import Catalog
    from archa.repository.rebuild import compare_catalogs, rebuild_catalog

    aip = _nsesss(repo, tmp_path, "SIP_E")
    rebuild_catalog(repo, tmp_path / "r.sqlite")
    rebuilt = Catalog.open(tmp_path / "r.sqlite")
    try:
        assert rebuilt.aip(aip)["originator_id"] == mk.ORG_ICO
        assert rebuilt.originator(mk.ORG_ICO, "hot")["ico"] == mk.ORG_ICO
        assert compare_catalogs(repo.catalog, rebuilt) == []
    finally:
        rebuilt.close()


def test_originator_add_refusals(repo: Repository) -> None:
    assert _run(repo, "originator", "add", "Bad Id", "--name", "x")[0] == 2
    code, out = _run(repo, "originator", "add", "a", "--name", "A", "--ico", "12345678")
    assert code == 2 and "not valid" in out
    _run(repo, "originator", "add", "a", "--name", "A", "--ico", mk.ORG_ICO)
    code, out = _run(repo, "originator", "add", "b", "--name", "B", "--ico", mk.ORG_ICO)
    assert code == 2 and "another originator has the IČO" in out
    code, out = _run(repo, "originator", "add", "a", "--name", "A again")
    assert code == 2 and "exists already" in out
    code, out = _run(repo, "originator", "add", "c", "--name", "C", "--quota", "lots")
    assert code == 2 and "not a size" in out


def test_holds_are_placed_listed_and_released_with_their_history(repo: Repository, bags: Path) -> None:
    aip = ingest(repo, write_bag(bags / "a", {"a.txt": b"a"})).aip_id
    code, out = _run(repo, "hold", "add", aip, "--reason", "court case 12 C 34/2026")
    assert code == 0
    assert repo.catalog.lifecycle.held(aip)
    code, out = _run(repo, "hold", "list", "--json")
    (h,) = json.loads(out)
    assert (h["aip_id"], h["reason"], h["released"]) == (aip, "court case 12 C 34/2026", None)
    code, out = _run(repo, "hold", "remove", aip, "--reason", "case closed")
    assert code == 0 and not repo.catalog.lifecycle.held(aip)
    assert json.loads(_run(repo, "hold", "list", "--json")[1]) == []
    (old,) = json.loads(_run(repo, "hold", "list", "--all", "--json")[1])
    assert old["release_reason"] == "case closed" and old["released"]
    details = [e["detail"] for e in repo.catalog.events(aip) if e["type"] == "policy assignment"
               and not e["detail"].startswith("access ")]
    assert details[0].startswith("legal hold placed") and details[1].startswith("legal hold released")
    code, out = _run(repo, "hold", "remove", aip, "--reason", "again")
    assert code == 2 and "under no hold" in out
    code, out = _run(repo, "hold", "add", "urn:uuid:nope", "--reason", "x")
    assert code == 2 and "no AIP" in out
    assert _run(repo, "events", "verify")[0] == 0


@pytest.mark.parametrize("size", ["2TB", "500 GiB", "1.5T", "1000000", "10kb"])
def test_sizes_parse(size: str) -> None:
    from archa.lifecycle.originators import parse_size

    assert parse_size(size) > 0
