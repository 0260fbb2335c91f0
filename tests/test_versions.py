"""New versions of an AIP (`archa aip update`): only new content stored, earlier versions
untouched, METS/PREMIS/DC anew, every location updated, audits, DIPs and rebuild
version-aware, refusals that change nothing, and crashes at every step of the commit."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from archa.cli.main import cli
from archa.errors import RepositoryError, UsageError
from archa.ingest.ingest import ingest
from archa.lifecycle.versions import UpdateOptions, update_aip
from archa.preservation.fixity import AuditOptions, audit
from archa.repository.copies import iter_packed
from archa.repository.repo import Repository
from tests.bagmaker import tree_snapshot, write_bag

P = "{http://www.loc.gov/premis/v3}"
DATA = "representations/original/data"
FILES = {"letter.txt": b"Dear archivist\n", "scans/page-1.txt": b"page one\n", "notes.txt": b"a draft note\n"}


@pytest.fixture
def aip(repo: Repository, bags: Path) -> str:
    return ingest(repo, write_bag(bags / "b", FILES)).aip_id


def _run(repo: Repository, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    return r.exit_code, r.output


def _dc(path: Path, title: str) -> Path:
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/'
                    'OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                    f'<dc:title>{title}</dc:title><dc:identifier>ERA-7</dc:identifier></oai_dc:dc>\n')
    return path


def test_update_stores_only_the_new_content(repo: Repository, aip: str, tmp_path: Path) -> None:
    obj = repo.hot.object_path(aip)
    v1_before = tree_snapshot(obj / "v1")
    (tmp_path / "page-2.txt").write_bytes(b"page two\n")
    (tmp_path / "copy.txt").write_bytes(FILES["letter.txt"])  # content the object holds already
    (tmp_path / "letter.txt").write_bytes(b"Dear archivist, corrected\n")
    code, out = _run(repo, "aip", "update", aip, "--add", f"{tmp_path / 'page-2.txt'}=scans/page-2.txt",
                     "--add", f"{tmp_path / 'copy.txt'}=letter-copy.txt",
                     "--add", f"{tmp_path / 'letter.txt'}=letter.txt", "--remove", "notes.txt",
                     "--metadata", str(_dc(tmp_path / "dc.xml", "Corrected file")), "--reason", "second page",
                     "--json")
    assert code == 0, out
    r = json.loads(out)
    assert (r["version"], r["previous"], sorted(r["added"]), r["replaced"], r["removed"], r["metadata"]) == \
        ("v2", "v1", [f"{DATA}/letter-copy.txt", f"{DATA}/scans/page-2.txt"], [f"{DATA}/letter.txt"],
         [f"{DATA}/notes.txt"], True)
    assert tree_snapshot(obj / "v1") == v1_before  # the earlier version is untouched
    stored = sorted(p.relative_to(obj / "v2/content").as_posix() for p in (obj / "v2/content").rglob("*")
                    if p.is_file())
    assert stored == ["METS.xml", "metadata/descriptive/dc.xml", "metadata/preservation/premis.xml",
                      f"{DATA}/letter.txt", f"{DATA}/scans/page-2.txt"]  # the copy of letter.txt is deduplicated
    files = {f["logical_path"]: f for f in repo.catalog.files(aip, "v2")}
    assert f"{DATA}/notes.txt" not in files
    assert files[f"{DATA}/letter-copy.txt"]["content_path"] == f"v1/content/{DATA}/letter.txt"
    assert files[f"{DATA}/scans/page-1.txt"]["content_path"] == f"v1/content/{DATA}/scans/page-1.txt"
    assert files[f"{DATA}/scans/page-2.txt"]["puid"] == "x-fmt/111"
    assert repo.catalog.aip(aip)["head"] == "v2" and repo.catalog.aip(aip)["label"] == "Corrected file"
    assert {(c["version"], c["location"]) for c in repo.catalog.copies(aip)} == \
        {("v1", "hot"), ("v1", "cold"), ("v2", "hot"), ("v2", "cold")}
    premis = etree.parse(str(obj / "v2/content/metadata/preservation/premis.xml")).getroot()
    types = [e.findtext(f"{P}eventType") for e in premis.iter(f"{P}event")]
    assert types[:4] == ["validation", "message digest calculation", "format identification", "ingestion"]
    assert "modification" in types
    assert premis.find(f".//{P}relationship[{P}relationshipType='derivation']/{P}relatedObjectIdentifier/"
                       f"{P}relatedObjectIdentifierValue").text == f"{aip} v1"
    inv = json.loads((obj / "inventory.json").read_bytes())
    assert inv["head"] == "v2" and inv["versions"]["v2"]["message"] == "second page"
    assert (obj / "inventory.json").read_bytes() == (obj / "v2/inventory.json").read_bytes()
    members = {ti.name for ti, _f in iter_packed(repo.store(repo.config.location("cold")), aip, "v2")}
    assert f"v2/content/{DATA}/scans/page-2.txt" in members and not any(m.startswith("v1/") for m in members)
    summary = audit(repo, AuditOptions(due=False))
    assert len(summary.audits) == 4 and summary.failures == []
    code, out = _run(repo, "events", "verify")
    assert code == 0, out


def test_show_and_export_any_version(repo: Repository, aip: str, tmp_path: Path) -> None:
    (tmp_path / "p2.txt").write_bytes(b"page two\n")
    update_aip(repo, UpdateOptions(aip, "page two", add=((tmp_path / "p2.txt", "scans/page-2.txt"),),
                                   remove=("notes.txt",)))
    code, out = _run(repo, "aip", "show", aip, "--version", "1", "--json")
    assert code == 0 and json.loads(out)["version"] == "v1"
    assert f"{DATA}/notes.txt" in {f["logical_path"] for f in json.loads(out)["files"]}
    code, out = _run(repo, "aip", "show", aip, "--version", "v7")
    assert code == 2 and "no version 'v7'" in out
    for version, present, absent in (("1", "notes.txt", "scans/page-2.txt"), ("2", "scans/page-2.txt", "notes.txt")):
        out_dir = tmp_path / f"dip{version}"
        code, out = _run(repo, "dip", "export", aip, str(out_dir), "--version", version, "--location", "cold")
        assert code == 0, out
        assert (out_dir / "objects" / present).is_file() and not (out_dir / "objects" / absent).exists()
        assert (out_dir / "objects/letter.txt").read_bytes() == FILES["letter.txt"]  # from v1's archive


@pytest.mark.parametrize(("args", "message"), [
    ((), "nothing to change"),
    (("--remove", "missing.txt"), "not in"),
    (("--add", "/nonexistent/file=x.txt"), "not a readable file"),
    (("--add", "{tmp}/f.txt=../escape.txt"), "not a usable logical path"),
    (("--add", "{tmp}/f.txt=a.txt", "--remove", "a.txt"), "named twice"),
    (("--metadata", "{tmp}/f.txt"), "not well-formed XML"),
])
def test_refusals_change_nothing(repo: Repository, aip: str, tmp_path: Path, args: tuple[str, ...],
                                 message: str) -> None:
    (tmp_path / "f.txt").write_text("not xml")
    before = tree_snapshot(repo.root / "storage")
    code, out = _run(repo, "aip", "update", aip, *[a.format(tmp=tmp_path) for a in args], "--reason", "why")
    assert code == 2 and message in out, out
    assert tree_snapshot(repo.root / "storage") == before
    assert repo.catalog.aip(aip)["head"] == "v1" and list(repo.staging.iterdir()) == []


def test_a_damaged_hot_object_is_not_built_on(repo: Repository, aip: str, tmp_path: Path) -> None:
    inv = repo.hot.object_path(aip) / "inventory.json"
    good = inv.read_bytes()
    inv.chmod(0o644)
    inv.write_bytes(good.replace(b'"message"', b'"messages"'))
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(RepositoryError, match="does not match the catalog") as e:
        update_aip(repo, UpdateOptions(aip, "x", add=((tmp_path / "x.txt", "x.txt"),)))
    assert "archa repair" in e.value.hint
    assert repo.catalog.aip(aip)["head"] == "v1" and not (repo.hot.object_path(aip) / "v2").exists()
    inv.write_bytes(good)


def test_metadata_must_be_a_dublin_core_record(repo: Repository, aip: str, tmp_path: Path) -> None:
    (tmp_path / "m.xml").write_text("<record><title>x</title></record>")
    with pytest.raises(UsageError, match="not oai_dc:dc"):
        update_aip(repo, UpdateOptions(aip, "x", metadata=tmp_path / "m.xml"))


def test_rebuild_restores_every_version(repo: Repository, aip: str, tmp_path: Path) -> None:
    from archa.repository.catalog import Catalog
    from archa.repository.rebuild import compare_catalogs, rebuild_catalog

    (tmp_path / "p2.txt").write_bytes(b"page two\n")
    update_aip(repo, UpdateOptions(aip, "page two", add=((tmp_path / "p2.txt", "scans/page-2.txt"),)))
    update_aip(repo, UpdateOptions(aip, "withdrawn", remove=("notes.txt",)))
    rebuild_catalog(repo, tmp_path / "rebuilt.sqlite")
    rebuilt = Catalog.open(tmp_path / "rebuilt.sqlite")
    try:
        assert [v["version"] for v in rebuilt.versions(aip)] == ["v1", "v2", "v3"]
        assert compare_catalogs(repo.catalog, rebuilt) == []
        for v in ("v1", "v2", "v3"):
            assert {(f["logical_path"], f["digest"]) for f in rebuilt.files(aip, v)} == \
                {(f["logical_path"], f["digest"]) for f in repo.catalog.files(aip, v)}
            assert rebuilt.versions(aip)[int(v[1:]) - 1]["inventory_digest"] == \
                repo.catalog.versions(aip)[int(v[1:]) - 1]["inventory_digest"]
        assert "modification" in {e["type"] for e in rebuilt.events(aip)}
    finally:
        rebuilt.close()


def test_a_new_location_gets_every_version(repo: Repository, aip: str, tmp_path: Path) -> None:
    from archa.repository.config import Location
    from archa.repository.placement import sync
    from archa.repository.storage import add_location

    (tmp_path / "p2.txt").write_bytes(b"page two\n")
    update_aip(repo, UpdateOptions(aip, "page two", add=((tmp_path / "p2.txt", "scans/page-2.txt"),)))
    add_location(repo, Location("attic", "packed", str(tmp_path / "attic"), "cold"))
    (tmp_path / "attic").mkdir(exist_ok=True)
    with repo.writing():
        result = sync(repo)
    assert {(w["version"], w["location"]) for w in result.written} == {("v1", "attic"), ("v2", "attic")}
    assert audit(repo, AuditOptions(due=False, location="attic")).failures == []


CHILD = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from archa.repository import ocfl, repo as repo_mod, catalog
    from archa.lifecycle.versions import UpdateOptions, update_aip
    point = sys.argv[4]
    orig_finish, orig_add, orig_root = ocfl.VersionBuilder.finish, ocfl.StorageRoot.add_version, \\
        ocfl.StorageRoot.set_root_inventory
    orig_record = catalog.Catalog.record_version

    def finish(self, inventory, root=True):
        digest = orig_finish(self, inventory, root)
        if point == "staged":
            os._exit(137)
        return digest

    def add_version(self, staged, object_id, version, inventory, alg):
        if point == "before-rename":
            os._exit(137)
        orig_add(self, staged, object_id, version, inventory, alg)

    def set_root(self, object_id, inventory, alg):
        if point == "before-root-inventory":
            os._exit(137)
        orig_root(self, object_id, inventory, alg)

    def record(self, *a, **kw):
        if point == "before-catalog":
            os._exit(137)
        orig_record(self, *a, **kw)

    ocfl.VersionBuilder.finish = finish
    ocfl.StorageRoot.add_version = add_version
    ocfl.StorageRoot.set_root_inventory = set_root
    catalog.Catalog.record_version = record
    repo = repo_mod.Repository.open(Path(sys.argv[1]))
    update_aip(repo, UpdateOptions(sys.argv[2], "crash test", add=((Path(sys.argv[3]), "added.txt"),)))
    os._exit(0)
""")


@pytest.mark.parametrize(("point", "head"), [("staged", "v1"), ("before-rename", "v1"),
                                             ("before-root-inventory", "v2"), ("before-catalog", "v2")])
def test_kill_during_update_leaves_one_whole_version(repo: Repository, aip: str, tmp_path: Path, point: str,
                                                     head: str) -> None:
    added = tmp_path / "added.txt"
    added.write_bytes(b"new content\n")
    r = subprocess.run([sys.executable, "-c", CHILD, str(repo.root), aip, str(added), point],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 137, r.stderr
    with repo.writing():  # the next command sweeps staging and rolls forward what reached storage
        pass
    assert list(repo.staging.iterdir()) == []
    assert repo.catalog.aip(aip)["head"] == head
    obj = repo.hot.object_path(aip)
    assert (obj / "v2").exists() == (head == "v2")
    inv = json.loads((obj / "inventory.json").read_bytes())
    assert inv["head"] == head
    if head == "v2":  # the other copies come with the next sync
        from archa.repository.placement import sync

        with repo.writing():
            sync(repo)
        assert hashlib.sha256((obj / "inventory.json").read_bytes()).hexdigest() == \
            repo.catalog.versions(aip)[1]["inventory_digest"]
    else:  # and the update can simply be run again
        update_aip(repo, UpdateOptions(aip, "again", add=((added, "added.txt"),)))
    assert audit(repo, AuditOptions(due=False)).failures == []
    assert not [p for p in obj.rglob("*") if ".tmp" in p.name]


def test_an_s3_copy_gets_the_new_version_and_repairs_from_it(repo: Repository, aip: str, tmp_path: Path,
                                                             s3_env: object) -> None:
    """An OCFL copy on S3 gets v2 (its root inventory replaced last); after the hot v2 is
    damaged, repair rebuilds it from the S3 copy, which holds v1's content v2 shares."""
    import uuid

    from archa.preservation.repair import repair
    from archa.repository.config import Location
    from archa.repository.placement import sync
    from archa.repository.storage import add_location
    from tests.s3server import BUCKET

    add_location(repo, Location("warm", "ocfl", f"s3://{BUCKET}/v-{uuid.uuid4().hex[:8]}", "warm",
                                endpoint=s3_env.endpoint))  # type: ignore[attr-defined]
    with repo.writing():
        sync(repo)
    (tmp_path / "p2.txt").write_bytes(b"page two\n")
    r = update_aip(repo, UpdateOptions(aip, "page two", add=((tmp_path / "p2.txt", "scans/page-2.txt"),)))
    assert sorted(r.copies) == ["cold", "hot", "warm"]
    assert audit(repo, AuditOptions(due=False, location="warm")).failures == []
    page = repo.hot.object_path(aip) / f"v2/content/{DATA}/scans/page-2.txt"
    page.chmod(0o644)
    page.write_bytes(b"page twX\n")
    with repo.writing():
        (failed,) = audit(repo, AuditOptions(due=False, location="hot", aip=aip)).failures
        assert failed.version == "v2"
        (fixed,) = repair(repo, aip, "hot")
    assert fixed.repaired and page.read_bytes() == b"page two\n"
    assert audit(repo, AuditOptions(due=False)).failures == []


def test_the_modification_event_links_the_files_it_touched(repo: Repository, aip: str, tmp_path: Path) -> None:
    """In PREMIS the modification event names the representation and each file it added,
    replaced or removed; the next version keeps those links for it."""
    from archa.metadata.premis import read_premis

    (tmp_path / "p2.txt").write_bytes(b"page two\n")
    update_aip(repo, UpdateOptions(aip, "page two", add=((tmp_path / "p2.txt", "scans/page-2.txt"),)))
    (tmp_path / "p3.txt").write_bytes(b"page three\n")
    update_aip(repo, UpdateOptions(aip, "page three", add=((tmp_path / "p3.txt", "scans/page-3.txt"),)))
    row = repo.catalog.file(aip, "v3", "metadata/preservation/premis.xml")
    assert row is not None
    record = read_premis((repo.hot.object_path(aip) / row["content_path"]).read_bytes(), aip, "v3")
    mods = [e for e in record.events if e.type == "modification"]
    assert [e.objects for e in mods] == [(f"{DATA}/scans/page-2.txt",), (f"{DATA}/scans/page-3.txt",)]
