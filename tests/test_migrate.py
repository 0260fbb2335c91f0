"""`archa migrate`: preservation copies as verified new versions, end to end on a real
transfer (PDFs that are not PDF/A, a DOCX, TIFF scans; Czech file names), with the real
tools (Ghostscript, LibreOffice, OpenJPEG through Pillow), then audit, log and rebuild."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from click.testing import CliRunner
from lxml import etree
from PIL import Image

from archa.cli.main import cli
from archa.demo import pdf_bytes as plain_pdf  # a PDF 1.4 in Helvetica, not PDF/A
from archa.ingest.ingest import ingest
from archa.repository.repo import Repository
from tests.bagmaker import write_bag
from tests.nsesss_maker import docx_bytes
from tests.tools import needs

PREMIS = "{http://www.loc.gov/premis/v3}"
METS = "{http://www.loc.gov/METS/}"
ORIG = "representations/original/data/"
PRES = "representations/preservation/data/"

needs_tools = needs("gs", "soffice")


def tiff(seed: int) -> bytes:
    img = Image.new("RGB", (64, 48))
    img.putdata([((x * 4 + seed) % 256, (y * 5) % 256, (x * y + seed) % 256) for y in range(48) for x in range(64)])
    buf = io.BytesIO()
    img.save(buf, "TIFF")
    return buf.getvalue()


SHARE = {
    "Stavební povolení/žádost o povolení.pdf": plain_pdf("Zadost o stavebni povoleni"),
    "Stavební povolení/rozhodnutí.pdf": plain_pdf("Rozhodnuti"),
    "Stavební povolení/vyjádření souseda.docx": docx_bytes("Vyjádření souseda k žádosti, Ještěd 2011"),
    "Skeny/strana 001.tif": tiff(1),
    "Skeny/strana 002.tif": tiff(2),
    "poznámky.txt": "poznámka\n".encode(),
}


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception  # a traceback is a bug, not an exit status
    return r.exit_code, r.output


def stored(repo: Repository, aip: str, version: str, lp: str) -> bytes:
    row = repo.catalog.file(aip, version, lp)
    assert row is not None, lp
    return (repo.hot.object_path(aip) / row["content_path"]).read_bytes()


@needs_tools
def test_a_transfer_goes_through_migrate_to_a_verified_version_and_a_rerun_changes_nothing(
        repo: Repository, tmp_path: Path) -> None:
    aip = ingest(repo, write_bag(tmp_path / "bag", SHARE)).aip_id
    root = str(repo.root)
    code, out = run("migrate", aip, "--dry-run", "--pathway", "fmt/353=jp2-lossless", "--repo", root)
    assert code == 0, out
    assert out.count("would migrate") == 5 and "poznámky.txt" not in out
    assert repo.catalog.aip(aip)["head"] == "v1"  # a dry run changes nothing

    code, out = run("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", root, "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["version"] == "v2" and not result["failed"] and len(result["migrated"]) == 5
    v1 = {r["logical_path"]: r for r in repo.catalog.files(aip, "v1")}
    v2 = {r["logical_path"]: r for r in repo.catalog.files(aip, "v2")}
    for name, data in SHARE.items():  # the originals, unchanged
        assert v2[ORIG + name]["digest"] == v1[ORIG + name]["digest"] == hashlib.sha256(data).hexdigest()
    puids = {m["target"]: m["puid"] for m in result["migrated"]}
    assert puids[PRES + "Stavební povolení/žádost o povolení.pdf.pdf"] == "fmt/477"
    assert puids[PRES + "Stavební povolení/vyjádření souseda.docx.pdf"] == "fmt/477"
    assert v2[PRES + "Stavební povolení/rozhodnutí.pdf.pdf"]["puid"] == "fmt/477"  # as the catalog identified it
    for n in ("001", "002"):
        jp2 = v2[PRES + f"Skeny/strana {n}.tif.jp2"]
        assert jp2["puid"] == "x-fmt/392"
        original = Image.open(io.BytesIO(SHARE[f"Skeny/strana {n}.tif"]))
        copy = Image.open(io.BytesIO(stored(repo, aip, "v2", jp2["logical_path"])))
        assert copy.size == original.size and copy.tobytes() == original.convert(copy.mode).tobytes()

    premis = etree.fromstring(stored(repo, aip, "v2", "metadata/preservation/premis.xml"))
    migrations = [e for e in premis.iter(f"{PREMIS}event") if e.findtext(f"{PREMIS}eventType") == "migration"]
    assert len(migrations) == 5 and all(e.findtext(f".//{PREMIS}eventOutcome") == "success" for e in migrations)
    linked = {v.text for e in migrations for v in e.iter(f"{PREMIS}linkingObjectIdentifierValue")}
    assert ORIG + "Skeny/strana 001.tif" in linked and PRES + "Skeny/strana 001.tif.jp2" in linked
    roles = {e.findtext(f".//{PREMIS}linkingAgentRole") for e in migrations}
    assert roles == {"executing program"}
    agents = {a.findtext(f"{PREMIS}agentName"): a.findtext(f"{PREMIS}agentVersion")
              for a in premis.iter(f"{PREMIS}agent")}
    assert "Ghostscript" in agents and "LibreOffice" in agents and agents["Ghostscript"]
    sources = {}
    for obj in premis.iter(f"{PREMIS}object"):
        for rel in obj.iter(f"{PREMIS}relationship"):
            if rel.findtext(f"{PREMIS}relationshipSubType") == "has source":
                sources[obj.findtext(f".//{PREMIS}objectIdentifierValue")] = \
                    rel.findtext(f".//{PREMIS}relatedObjectIdentifierValue")
    assert sources[PRES + "Skeny/strana 002.tif.jp2"] == ORIG + "Skeny/strana 002.tif"
    assert sources["representations/preservation"] == "representations/original"
    mets = etree.fromstring(stored(repo, aip, "v2", "METS.xml"))
    (grp,) = [g for g in mets.iter(f"{METS}fileGrp") if g.get("USE") == "preservation"]
    assert len(grp.findall(f"{METS}file")) == 5
    record = json.loads(stored(repo, aip, "v2", "metadata/preservation/migrations.json"))
    assert {m["source"] for m in record["migrations"]} == {ORIG + n for n in SHARE if not n.endswith(".txt")}

    code, out = run("migrate", aip, "--pathway", "fmt/353=jp2-lossless", "--repo", root)  # again: nothing
    assert code == 0 and "nothing to migrate (5 files migrated before" in out, out
    assert repo.catalog.aip(aip)["head"] == "v2"
    for args in (("fixity", "audit", "--all"), ("events", "verify"), ("catalog", "rebuild", "--check")):
        code, out = run(*args, "--repo", root)
        assert code == 0, (args, out)


@needs_tools
def test_a_failed_tool_is_a_failed_event_the_others_are_stored_and_status_counts_it(
        repo: Repository, tmp_path: Path) -> None:
    broken = b"%PDF-1.4\n" + b"\x00garbage, no objects at all\n" * 20 + b"%%EOF\n"
    aip = ingest(repo, write_bag(tmp_path / "bag", {"dobrý.pdf": plain_pdf("Dobry"), "rozbitý.pdf": broken})).aip_id
    root = str(repo.root)
    code, out = run("migrate", aip, "--repo", root)
    assert code == 1, out
    assert "FAILED representations/original/data/rozbitý.pdf (pdfa-2b)" in out
    assert "v2 made from v1: 1 preservation copies, 1 failed" in out
    v2 = {r["logical_path"] for r in repo.catalog.files(aip, "v2")}
    assert PRES + "dobrý.pdf.pdf" in v2 and not any("rozbitý" in p for p in v2 if p.startswith(PRES))
    premis = etree.fromstring(stored(repo, aip, "v2", "metadata/preservation/premis.xml"))
    failed = [e for e in premis.iter(f"{PREMIS}event") if e.findtext(f"{PREMIS}eventType") == "migration"
              and e.findtext(f".//{PREMIS}eventOutcome") == "failure"]
    assert len(failed) == 1 and "rozbitý.pdf" in failed[0].findtext(f".//{PREMIS}eventDetail")
    status = json.loads(run("status", "--repo", root, "--json")[1])
    assert status["migrations_failed"] == [{"aip_id": aip, "source": ORIG + "rozbitý.pdf"}]
    assert any("migration failed" in line for line in status["needs_person"])
    fmts = json.loads(run("formats", "report", "--repo", root, "--json")[1])
    assert (fmts["migrated"], fmts["migrations_failed"]) == (1, 1)
    assert run("report", str(tmp_path / "r.html"), "--repo", root)[0] in (0, 1)
    assert "1 files whose last migration failed" in (tmp_path / "r.html").read_text("utf-8")

    code, out = run("migrate", aip, "--repo", root)  # the broken one again: no version, the failure logged
    assert code == 1 and "no version made" in out, out
    assert repo.catalog.aip(aip)["head"] == "v2"
    events = [e for e in repo.catalog.events(aip) if e["type"] == "migration"]
    assert [e["outcome"] for e in events] == ["success", "failure", "failure"]
    code, out = run("migrate", aip, "--pathway", "fmt/18=none", "--repo", root)  # left as it is: nothing to do
    assert code == 0, out
    for args in (("fixity", "audit", "--all"), ("events", "verify"), ("catalog", "rebuild", "--check")):
        code, out = run(*args, "--repo", root)
        assert code == 0, (args, out)


@needs_tools
def test_migrate_all_does_each_aip_once_and_resumes(repo: Repository, tmp_path: Path) -> None:
    a = ingest(repo, write_bag(tmp_path / "a", {"a.pdf": plain_pdf("A")})).aip_id
    b = ingest(repo, write_bag(tmp_path / "b", {"b.tif": tiff(3), "b.txt": b"b"})).aip_id
    c = ingest(repo, write_bag(tmp_path / "c", {"c.txt": b"c"})).aip_id
    root = str(repo.root)
    code, out = run("migrate", "--all", "--dry-run", "--repo", root)
    assert code == 0 and out.splitlines()[-1] == "1 AIPs: 1 files would be migrated (a dry run: nothing changed)", out
    assert repo.catalog.aip(a)["head"] == "v1"
    code, out = run("migrate", "--all", "--format", "fmt/18", "--repo", root, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert [r["aip_id"] for r in data["aips"]] == [a] and data["versions_made"] == 1
    code, out = run("migrate", "--all", "--pathway", "fmt/353=jp2-lossless", "--repo", root, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert sorted(r["aip_id"] for r in data["aips"]) == sorted([a, b]) and data["versions_made"] == 1
    assert repo.catalog.aip(b)["head"] == "v2" and repo.catalog.aip(c)["head"] == "v1"
    code, out = run("migrate", "--all", "--pathway", "fmt/353=jp2-lossless", "--repo", root)
    assert code == 0 and "0 new versions" in out, out


def test_pathways_are_listed_and_a_wrong_one_is_a_usage_error(repo: Repository, tmp_path: Path) -> None:
    root = str(repo.root)
    code, out = run("migrate", "--list-pathways", "--repo", root, "--json")
    assert code == 0, out
    rows = {p["name"]: p for p in json.loads(out)["pathways"]}
    assert {"pdfa-2b", "office-pdfa", "office-odf", "jp2-lossless", "audio-flac", "video-ffv1"} <= set(rows)
    assert "fmt/18" in rows["pdfa-2b"]["enabled"] and rows["jp2-lossless"]["enabled"] == []
    aip = ingest(repo, write_bag(tmp_path / "bag", {"x.txt": b"x"})).aip_id
    code, out = run("migrate", aip, "--pathway", "fmt/18=pdf-magic", "--repo", root)
    assert code == 2 and "no migration pathway named 'pdf-magic'" in out
    code, out = run("migrate", aip, "--pathway", "fmt/18", "--repo", root)
    assert code == 2 and "PUID=NAME" in out
    code, out = run("migrate", "--repo", root)
    assert code == 2 and "give one of ID, --all or --list-pathways" in out
    code, out = run("migrate", aip, "--repo", root)
    assert code == 0 and "nothing to migrate" in out and repo.catalog.aip(aip)["head"] == "v1"


@needs_tools
def test_an_original_that_rotted_in_the_hot_copy_is_not_migrated(repo: Repository, tmp_path: Path) -> None:
    aip = ingest(repo, write_bag(tmp_path / "bag", {"a.pdf": plain_pdf("A")})).aip_id
    row = repo.catalog.file(aip, "v1", ORIG + "a.pdf")
    assert row is not None
    path = repo.hot.object_path(aip) / row["content_path"]
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"(A)", b"(B)"))
    code, out = run("migrate", aip, "--repo", str(repo.root))
    assert code == 2 and "does not match the catalog" in out and "archa repair" in out
    assert repo.catalog.aip(aip)["head"] == "v1"
    path.write_bytes(plain_pdf("A"))  # put back for the teardown's validation


@needs_tools
def test_ingest_and_transfer_normalize_make_version_two(repo: Repository, tmp_path: Path) -> None:
    root = str(repo.root)
    code, out = run("ingest", str(write_bag(tmp_path / "bag", {"dopis.pdf": plain_pdf("Dopis")})), "--normalize",
                    "--repo", root, "--json")
    assert code == 0, out
    (r,) = json.loads(out)
    assert r["version"] == "v2" and r["normalized"]["version"] == "v2" and len(r["normalized"]["migrated"]) == 1
    share = tmp_path / "Sdílená složka" / "Odbor výstavby"
    share.mkdir(parents=True)
    (share / "oznámení.pdf").write_bytes(plain_pdf("Oznameni"))
    (share / "rozbité.pdf").write_bytes(b"%PDF-1.4\n" + b"\x00 no objects\n" * 10 + b"%%EOF\n")
    before = sorted((p.name, p.read_bytes()) for p in share.iterdir())
    code, out = run("transfer", "folder", str(share), "--ingest", "--normalize", "--repo", root)
    assert code == 1, out  # one file did not migrate: stored all the same, listed
    assert "normalized: 1 preservation copies in v2, 1 FAILED" in out and "rozbité.pdf (pdfa-2b)" in out
    assert sorted((p.name, p.read_bytes()) for p in share.iterdir()) == before  # the share untouched
    code, out = run("ingest", str(write_bag(tmp_path / "bag2", {"jiný.pdf": plain_pdf("Jiny")})), "--repo", root,
                    "--json")
    assert code == 0 and json.loads(out)[0]["version"] == "v1" and json.loads(out)[0]["normalized"] is None


@needs_tools
def test_a_dip_hands_out_the_originals_the_preservation_copies_or_both(repo: Repository, tmp_path: Path) -> None:
    aip = ingest(repo, write_bag(tmp_path / "bag", {"spis/dopis.docx": docx_bytes("Dopis"),
                                                   "spis/poznámka.txt": b"text"})).aip_id
    root = str(repo.root)
    assert run("migrate", aip, "--repo", root)[0] == 0

    def objects(representation: str) -> list[str]:
        out = tmp_path / f"dip-{representation}"
        code, text = run("dip", "export", aip, str(out), "--originals", "--representation", representation,
                         "--repo", root)
        assert code == 0, text
        return sorted(str(p.relative_to(out / "objects")) for p in (out / "objects").rglob("*") if p.is_file())

    assert objects("all") == ["spis/dopis.docx", "spis/dopis.docx.pdf", "spis/poznámka.txt"]
    assert objects("original") == ["spis/dopis.docx", "spis/poznámka.txt"]
    assert objects("preservation") == ["spis/dopis.docx.pdf", "spis/poznámka.txt"]
    pdf = (tmp_path / "dip-preservation" / "objects" / "spis" / "dopis.docx.pdf").read_bytes()
    assert pdf == stored(repo, aip, "v2", PRES + "spis/dopis.docx.pdf")


@needs_tools
def test_a_dip_fits_a_preservation_copy_of_a_name_at_the_limit(repo: Repository, tmp_path: Path) -> None:
    name = "ž" * 125 + ".pdf"  # 254 bytes: its preservation copy `<name>.pdf` is 258, more than a name may be
    aip = ingest(repo, write_bag(tmp_path / "bag", {name: plain_pdf("Dlouhy nazev")})).aip_id
    root = str(repo.root)
    assert run("migrate", aip, "--repo", root)[0] == 0
    out = tmp_path / "dip"
    code, text = run("dip", "export", aip, str(out), "--originals", "--representation", "all", "--repo", root)
    assert code == 0, text
    names = {p.name for p in (out / "objects").iterdir()}
    assert name in names and len(names) == 2
    (fitted,) = names - {name}
    assert len(fitted.encode()) <= 255 and fitted.startswith("ž" * 100) and fitted.endswith(".pdf")
    assert (out / "objects" / fitted).read_bytes() == stored(repo, aip, "v2", PRES + name + ".pdf")
    mets = (out / "METS.xml").read_text("utf-8")
    assert PRES + name + ".pdf" in mets  # the METS keeps the AIP path


def test_a_success_clears_the_failure_of_a_file_whose_name_holds_an_arrow(repo: Repository, tmp_path: Path) -> None:
    from archa.preservation.overview import migrations
    from archa.repository.events import ARCHA_AGENT, Event

    aip = ingest(repo, write_bag(tmp_path / "bag", {"x.txt": b"x"})).aip_id
    source = ORIG + "spis -> kopie.pdf"
    repo.catalog.record_events([
        Event("migration", "failure", f"{source}: pathway pdfa-2b failed: gs exited 1", ARCHA_AGENT, aip, "v1"),
        Event("migration", "failure", f"{ORIG}jiný.pdf: pathway pdfa-2b failed: gs exited 1", ARCHA_AGENT, aip, "v1")])
    assert migrations(repo).failed == [{"aip_id": aip, "source": ORIG + "jiný.pdf"}, {"aip_id": aip, "source": source}]
    repo.catalog.record_events([Event("migration", "success", f"{source} -> {PRES}spis -> kopie.pdf.pdf: pathway "
                                      "pdfa-2b; identified fmt/477", ARCHA_AGENT, aip, "v2")])
    done = migrations(repo)
    assert done.migrated == 1 and done.failed == [{"aip_id": aip, "source": ORIG + "jiný.pdf"}]
