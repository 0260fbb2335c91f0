"""Records that arrive again (the same NSESSS entity, by Identifikator and zdroj): refused
when unchanged, the AIP's next version when changed (or refused with --refuse-duplicates),
refused when a new version would lose records the AIP holds."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from archa.cli.main import cli
from archa.repository.repo import Repository
from tests import nsesss_maker as mk


def _run(repo: Repository, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    return r.exit_code, r.output


def _send(repo: Repository, tmp_path: Path, pkg: mk.Package, tag: str, *extra: str) -> tuple[int, dict[str, object]]:
    folder = mk.write_package(tmp_path / f"src-{tag}", pkg)
    code, out = _run(repo, "transfer", "nsesss", str(folder), "--ingest", "--json", *extra)  # bagged in staging
    return code, json.loads(out)


def _aips(repo: Repository) -> int:
    return int(repo.catalog.conn.execute("SELECT COUNT(*) FROM aips").fetchone()[0])


def test_the_same_package_twice_is_refused(repo: Repository, tmp_path: Path) -> None:
    pkg = mk.fresh_package()
    code, first = _send(repo, tmp_path, pkg, "1")
    assert code == 0, first
    code, second = _send(repo, tmp_path, pkg, "2")
    assert code == 2
    (finding,) = [f for f in second["findings"] if f["code"] == "DUP001"]  # type: ignore[attr-defined]
    aip = first["ingest"]["aip_id"]  # type: ignore[index]
    assert f"held already, unchanged, as {aip} v1" in finding["message"]
    assert _aips(repo) == 1 and repo.catalog.aip(aip)["head"] == "v1"
    assert [t["status"] for t in repo.catalog.transfers()] == ["accepted", "rejected"]


def test_a_changed_package_becomes_the_next_version(repo: Repository, tmp_path: Path) -> None:
    pkg = mk.fresh_package()
    code, first = _send(repo, tmp_path, pkg, "1")
    aip = str(first["ingest"]["aip_id"])  # type: ignore[index]
    docs = (mk.Doc("dok-1", "A", 5, components=(*mk.default_components()[:2],
                                                mk.Comp("foto.png", mk.png_bytes(9), "image/png", 2, 1,
                                                        mk.ORIGINAL, "příloha"))),
            *pkg.documents[1:])
    changed = pkg.with_(title="Stížnost na opravu silnice (doplněno)", documents=docs, declared_year=2045)
    code, again = _send(repo, tmp_path, changed, "2", "--refuse-duplicates")
    assert code == 2 and "DUP002" in json.dumps(again)
    code, again = _send(repo, tmp_path, changed, "3")
    assert code == 0, again
    ingested = again["ingest"]  # type: ignore[index]
    assert (ingested["aip_id"], ingested["version"]) == (aip, "v2")  # type: ignore[index]
    assert _aips(repo) == 1
    v2 = {f["logical_path"]: f for f in repo.catalog.files(aip, "v2")}
    foto = next(lp for lp in v2 if lp.endswith("komponenty/foto.png"))
    assert v2[foto]["content_path"].startswith("v2/")  # the new photo is stored in v2
    odpoved = next(lp for lp in v2 if lp.endswith("komponenty/odpoved.pdf"))
    assert v2[odpoved]["content_path"].startswith("v1/")  # the unchanged reply stays where v1 put it
    (ret,) = repo.catalog.retention(aip)
    assert ret["until_year"] == 2045  # the retention the new package declares
    assert repo.catalog.aip(aip)["label"] == "Stížnost na opravu silnice (doplněno)"
    bag_info = next(f for lp, f in v2.items() if lp == "metadata/submission/bag-info.txt")
    assert bag_info["content_path"].startswith("v2/")
    assert _run(repo, "fixity", "audit", "--all")[0] == 0
    assert _run(repo, "events", "verify")[0] == 0

    from archa.repository.catalog import Catalog
    from archa.repository.rebuild import compare_catalogs, rebuild_catalog

    rebuild_catalog(repo, tmp_path / "r.sqlite")
    rebuilt = Catalog.open(tmp_path / "r.sqlite")
    try:
        assert compare_catalogs(repo.catalog, rebuilt) == []
    finally:
        rebuilt.close()


def test_a_package_lacking_records_the_aip_holds_is_refused(repo: Repository, tmp_path: Path) -> None:
    code, first = _send(repo, tmp_path, mk.fresh_package(linked=True), "1")
    assert code == 0, first
    assert len(repo.catalog.retention(str(first["ingest"]["aip_id"]))) == 2  # type: ignore[index]
    code, again = _send(repo, tmp_path, mk.fresh_package(title="Jen jeden spis"), "2")
    assert code == 2 and "DUP003" in json.dumps(again) and "would lose them" in json.dumps(again, ensure_ascii=False)
    assert _aips(repo) == 1
