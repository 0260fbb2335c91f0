"""Ingest of valid SIPs: what is stored, where, and what the catalog says."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from archa.demo import pdf_bytes, png_bytes
from archa.ingest.ingest import IngestOptions, ingest
from archa.repository.events import verify_chain
from archa.repository.repo import Repository
from tests.bagmaker import tar_dir, tar_zst_dir, tree_snapshot, write_bag, zip_dir

PAYLOAD = {
    "letter.pdf": pdf_bytes("hello"),
    "scans/page 001.png": png_bytes(),
    "notes/readme.txt": b"plain text\n",
    "notes/copy-of-readme.txt": b"plain text\n",  # duplicate content: stored once
    "empty": b"",
    "blob": bytes(range(256)) * 3,
}


def stored_bytes(repo: Repository, aip_id: str, logical: str) -> bytes:
    inv = repo.hot.read_inventory(aip_id)
    state = inv["versions"][inv["head"]]["state"]
    digest = next(d for d, paths in state.items() if logical in paths)
    return (repo.hot.object_path(aip_id) / inv["manifest"][digest][0]).read_bytes()


def test_ingest_bag_directory_stores_payload_byte_for_byte(repo: Repository, bags: Path) -> None:
    bag = write_bag(bags / "b1", PAYLOAD, algs=("sha256", "md5"))
    before = tree_snapshot(bag)
    res = ingest(repo, bag)
    assert tree_snapshot(bag) == before  # the SIP is never changed
    assert res.files == len(PAYLOAD) and res.bytes == sum(len(v) for v in PAYLOAD.values())
    for rel, data in PAYLOAD.items():
        assert stored_bytes(repo, res.aip_id, f"representations/original/data/{rel}") == data
    for tag in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-md5.txt",
                "tagmanifest-sha256.txt"):
        assert stored_bytes(repo, res.aip_id, f"metadata/submission/{tag}") == (bag / tag).read_bytes()
    inv = repo.hot.read_inventory(res.aip_id)
    assert inv["id"] == res.aip_id and inv["head"] == "v1" and inv["digestAlgorithm"] == "sha256"
    state = inv["versions"]["v1"]["state"]
    assert {"METS.xml", "metadata/descriptive/dc.xml", "metadata/preservation/premis.xml"} <= \
        {p for paths in state.values() for p in paths}
    dup = hashlib.sha256(b"plain text\n").hexdigest()
    assert len(state[dup]) == 2 and len(inv["manifest"][dup]) == 1  # deduplicated
    # content files are read-only
    obj = repo.hot.object_path(res.aip_id)
    assert all(not (p.stat().st_mode & 0o222) for p in obj.rglob("*") if p.is_file())
    assert list(repo.staging.iterdir()) == []


def test_catalog_rows_match_the_object(repo: Repository, bags: Path) -> None:
    res = ingest(repo, write_bag(bags / "b", PAYLOAD))
    cat = repo.catalog
    files = {f["logical_path"]: f for f in cat.files(res.aip_id, "v1")}
    pdf = files["representations/original/data/letter.pdf"]
    assert pdf["size"] == len(PAYLOAD["letter.pdf"])
    assert pdf["digest"] == hashlib.sha256(PAYLOAD["letter.pdf"]).hexdigest()
    assert pdf["puid"] == "fmt/18" and pdf["mime"] == "application/pdf" and pdf["engine"] == "siegfried"
    assert files["representations/original/data/scans/page 001.png"]["puid"] == "fmt/11"
    assert files["representations/original/data/blob"]["puid"] == "UNKNOWN"
    inv = repo.hot.read_inventory(res.aip_id)
    for f in files.values():
        assert f["content_path"] in inv["manifest"][f["digest"]]
    aip = cat.aip(res.aip_id)
    assert aip["external_id"] == "T-b" and aip["head"] == "v1"
    (version,) = cat.versions(res.aip_id)
    assert version["stored"] == 1 and version["files"] == len(files)
    assert cat.transfer(res.transfer_id)["status"] == "accepted"
    types = [e["type"] for e in cat.events(res.aip_id)]
    assert types == ["validation", "message digest calculation", "format identification", "ingestion",
                     "policy assignment", "replication"]  # the last but one: its access (the policy's default)
    assert verify_chain(cat.conn) == []
    copies = {c["location"]: c for c in cat.copies(res.aip_id)}
    assert copies["hot"]["state"] == copies["cold"]["state"] == "ok"
    archive = repo.root / "storage" / "cold" / repo.hot.object_path(res.aip_id).relative_to(repo.hot.path) / "v1.tar.zst"
    assert copies["cold"]["archive_sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert res.stored and res.copies == ["cold", "hot"] and res.copy_failures == []


def test_premis_and_mets_describe_every_file(repo: Repository, bags: Path) -> None:
    from lxml import etree

    res = ingest(repo, write_bag(bags / "b", PAYLOAD, algs=("sha512",)))
    premis = etree.fromstring(stored_bytes(repo, res.aip_id, "metadata/preservation/premis.xml"))
    ns = {"p": "http://www.loc.gov/premis/v3", "m": "http://www.loc.gov/METS/",
          "x": "http://www.w3.org/1999/xlink"}
    pdf = premis.xpath("//p:object[p:objectIdentifier/p:objectIdentifierValue="
                       "'representations/original/data/letter.pdf']", namespaces=ns)[0]
    assert pdf.findtext("p:originalName", namespaces=ns) == "data/letter.pdf"
    assert pdf.findtext(".//p:size", namespaces=ns) == str(len(PAYLOAD["letter.pdf"]))
    assert pdf.findtext(".//p:formatRegistryKey", namespaces=ns) == "fmt/18"
    fixity = {f.findtext("p:messageDigestAlgorithm", namespaces=ns): f.findtext("p:messageDigest", namespaces=ns)
              for f in pdf.findall(".//p:fixity", namespaces=ns)}
    assert fixity == {"SHA-256": hashlib.sha256(PAYLOAD["letter.pdf"]).hexdigest(),
                      "SHA-512": hashlib.sha512(PAYLOAD["letter.pdf"]).hexdigest()}
    events = premis.xpath("//p:event/p:eventType/text()", namespaces=ns)
    assert events == ["validation", "message digest calculation", "format identification", "ingestion",
                      "policy assignment"]
    mets_bytes = stored_bytes(repo, res.aip_id, "METS.xml")
    mets = etree.fromstring(mets_bytes)
    assert mets.get("OBJID") == res.aip_id
    hrefs = mets.xpath("//m:file/m:FLocat/@x:href", namespaces=ns)
    assert "representations/original/data/scans/page%20001.png" in hrefs
    assert len(hrefs) == len(PAYLOAD) + 4  # payload + bagit, bag-info, manifest, tagmanifest
    ref = mets.xpath("//m:digiprovMD/m:mdRef", namespaces=ns)[0]
    premis_bytes = stored_bytes(repo, res.aip_id, "metadata/preservation/premis.xml")
    assert ref.get("CHECKSUM") == hashlib.sha256(premis_bytes).hexdigest()
    assert ref.get("SIZE") == str(len(premis_bytes))


@pytest.mark.parametrize("form", ["zip", "zip-top", "tar", "tgz", "tar.zst"])
def test_serialized_bags(repo: Repository, bags: Path, form: str) -> None:
    bag = write_bag(bags / "sip", PAYLOAD)
    archive = {
        "zip": lambda: zip_dir(bag, bags / "sip.zip"),
        "zip-top": lambda: zip_dir(bag, bags / "sip2.zip", top="sip"),
        "tar": lambda: tar_dir(bag, bags / "sip.tar"),
        "tgz": lambda: tar_dir(bag, bags / "sip.tgz", mode="w:gz"),
        "tar.zst": lambda: tar_zst_dir(bag, bags / "sip.tar.zst"),
    }[form]()
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    res = ingest(repo, archive)
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest
    assert stored_bytes(repo, res.aip_id, "representations/original/data/letter.pdf") == PAYLOAD["letter.pdf"]
    assert list(repo.staging.iterdir()) == []


def test_unicode_and_odd_names_survive(repo: Repository, bags: Path) -> None:
    files = {"žluťoučký kůň.txt": b"a", "100% done.txt": b"b", "dir with space/x y.txt": b"c"}
    res = ingest(repo, write_bag(bags / "u", files))
    for rel, data in files.items():
        assert stored_bytes(repo, res.aip_id, f"representations/original/data/{rel}") == data


def test_bagit_0_97_with_sha1_and_sha512(repo: Repository, bags: Path) -> None:
    res = ingest(repo, write_bag(bags / "old", PAYLOAD, algs=("sha1", "sha512"), version="0.97",
                                 tag_algs=("md5",)))
    assert res.files == len(PAYLOAD)


def test_sha512_repository_policy(repo_with_policy: Callable[[Path, str], Repository], tmp_path: Path, bags: Path) -> None:
    repo = repo_with_policy(tmp_path / "a512", '[policy.repository]\ndigest_algorithm = "sha512"\n')
    res = ingest(repo, write_bag(bags / "b", PAYLOAD))
    inv = repo.hot.read_inventory(res.aip_id)
    assert inv["digestAlgorithm"] == "sha512"
    assert (repo.hot.object_path(res.aip_id) / "inventory.json.sha512").is_file()
    repo.close()
    from tests.conftest import validate_storage_root
    assert validate_storage_root(repo.hot.path) == []


def test_single_thread_and_many_threads_store_the_same(repo: Repository, bags: Path) -> None:
    files = {f"f{i:03d}.bin": bytes([i]) * (i * 97) for i in range(40)}
    a = ingest(repo, write_bag(bags / "a", files), IngestOptions(jobs=1))
    b = ingest(repo, write_bag(bags / "b", files), IngestOptions(jobs=8, allow_duplicate=True))
    fa = {f["logical_path"]: f["digest"] for f in repo.catalog.files(a.aip_id, "v1") if f["role"] == "payload"}
    fb = {f["logical_path"]: f["digest"] for f in repo.catalog.files(b.aip_id, "v1") if f["role"] == "payload"}
    assert fa == fb and len(fa) == 40


def test_ingest_result_json_is_serializable(repo: Repository, bags: Path) -> None:
    res = ingest(repo, write_bag(bags / "b", PAYLOAD))
    d = json.loads(json.dumps(res.as_dict()))
    assert d["aip_id"] == res.aip_id and {f["puid"] for f in d["formats"]} >= {"fmt/18", "fmt/11"}


@pytest.mark.parametrize("alg", ["sha224", "sha384", "sha3-256", "sha3-512", "blake2b"])
def test_bags_with_other_hashlib_algorithms_are_verified(repo: Repository, bags: Path, alg: str) -> None:
    """RFC 8493 allows any algorithm: one archa can compute is verified like sha256."""
    from archa.errors import SipRejected

    bag = write_bag(bags / alg, {"a.txt": b"alpha", "b/c.txt": b"gamma"}, algs=(alg,), tag_algs=(alg,))
    r = ingest(repo, bag)
    assert r.files == 2
    premis = (repo.hot.object_path(r.aip_id) / "v1/content/metadata/preservation/premis.xml").read_text()
    assert hashlib.new(alg.replace("-", "_"), b"alpha").hexdigest() in premis  # the manifest's digest kept
    bad = write_bag(bags / f"{alg}-bad", {"a.txt": b"alpha"}, algs=(alg,), tag_algs=(alg,))
    (bad / "data/a.txt").write_bytes(b"alphA")
    with pytest.raises(SipRejected) as e:
        ingest(repo, bad)
    assert [f.code for f in e.value.findings if f.is_error] == ["BAG009"]


def test_bagit_0_97_whitespace_before_the_colon_is_a_warning(repo: Repository, bags: Path) -> None:
    from archa.errors import SipRejected
    from tests.bagmaker import retag

    for version, accepted in (("0.97", True), ("1.0", False)):
        bag = write_bag(bags / version, {"a.txt": b"a"}, version=version)
        (bag / "bag-info.txt").write_text("Source-Organization : Obec Brtnice\nPayload-Oxum: 1.1\n", "utf-8")
        retag(bag)
        if accepted:
            r = ingest(repo, bag)
            assert [w.code for w in r.warnings] == ["BAGW05"]
            assert repo.catalog.aip(r.aip_id)["originator_id"] == "obec-brtnice"  # the label read as meant
        else:
            with pytest.raises(SipRejected) as e:
                ingest(repo, bag)
            assert "BAG019" in [f.code for f in e.value.findings]


def test_the_same_bag_again_is_refused_unless_asked_for(repo: Repository, bags: Path) -> None:
    """A re-ingest of what is stored (same payload), or of another bag naming a stored
    External-Identifier, is refused as a duplicate; --allow-duplicate stores it all the same."""
    from archa.errors import SipRejected

    first = ingest(repo, write_bag(bags / "a", PAYLOAD))
    with pytest.raises(SipRejected) as e:
        ingest(repo, write_bag(bags / "a-again", PAYLOAD, info={"External-Identifier": "OTHER-9"}))
    assert [f.code for f in e.value.findings] == ["DUP001"] and first.aip_id in str(e.value.findings[0])
    with pytest.raises(SipRejected) as e:
        ingest(repo, write_bag(bags / "b", {"x.txt": b"revised"}, info={"External-Identifier": "T-a"}),
               IngestOptions(new_version=False))
    assert [f.code for f in e.value.findings] == ["DUP004"] and "--refuse-duplicates" in e.value.hint
    revised = ingest(repo, write_bag(bags / "b2", {"x.txt": b"revised"}, info={"External-Identifier": "T-a"}))
    assert (revised.aip_id, revised.version) == (first.aip_id, "v2")  # issue #28: the record's next version
    assert len(repo.catalog.aips()) == 1
    again = ingest(repo, write_bag(bags / "c", PAYLOAD), IngestOptions(allow_duplicate=True))
    assert again.aip_id != first.aip_id and len(repo.catalog.aips()) == 2
    # a catalog rebuilt from storage finds duplicates the same way
    from archa.repository.catalog import Catalog
    from archa.repository.rebuild import rebuild_catalog

    rebuild_catalog(repo, bags / "r.sqlite")
    rebuilt = Catalog.open(bags / "r.sqlite")
    try:
        assert {r[0] for r in rebuilt.conn.execute("SELECT payload_digest FROM aips")} == \
            {r[0] for r in repo.catalog.conn.execute("SELECT payload_digest FROM aips")}
    finally:
        rebuilt.close()


def test_premis_stands_on_its_own(repo: Repository, bags: Path) -> None:
    """The intellectual entity (the AIP id) includes the representation, every file says it
    is included in it, and the person who ingested is the implementer of the ingestion."""
    from lxml import etree

    from archa.ingest.ingest import IngestOptions

    res = ingest(repo, write_bag(bags / "b", PAYLOAD), IngestOptions(user="jnovakova"))
    doc = etree.parse(str(repo.hot.object_path(res.aip_id) / "v1/content/metadata/preservation/premis.xml"))
    ns = {"p": "http://www.loc.gov/premis/v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
    (ie,) = doc.xpath("//p:object[@xsi:type='premis:intellectualEntity']", namespaces=ns)
    assert ie.findtext("p:objectIdentifier/p:objectIdentifierValue", namespaces=ns) == res.aip_id
    assert ie.findtext(".//p:relatedObjectIdentifierValue", namespaces=ns) == "representations/original"
    files = doc.xpath("//p:object[@xsi:type='premis:file']", namespaces=ns)
    assert files and all(f.findtext("p:relationship/p:relationshipSubType", namespaces=ns) == "is included in"
                         for f in files)
    (ingestion,) = doc.xpath("//p:event[p:eventType='ingestion']", namespaces=ns)
    roles = {a.findtext("p:linkingAgentIdentifierValue", namespaces=ns): a.findtext("p:linkingAgentRole",
                                                                                     namespaces=ns)
             for a in ingestion.iterfind("p:linkingAgentIdentifier", ns)}
    assert roles["user:jnovakova"] == "implementer"
    assert doc.xpath("//p:agent[p:agentType='person']/p:agentName/text()", namespaces=ns) == ["jnovakova"]


def test_an_inventory_is_read_only_when_its_sidecar_agrees(repo: Repository, bags: Path) -> None:
    from archa.errors import RepositoryError

    res = ingest(repo, write_bag(bags / "b", {"a.txt": b"a"}))
    assert repo.hot.read_inventory(res.aip_id)["head"] == "v1"
    sidecar = repo.hot.object_path(res.aip_id) / "inventory.json.sha256"
    sidecar.chmod(0o644)
    sidecar.write_text("0" * 64 + "  inventory.json\n")
    with pytest.raises(RepositoryError) as e:
        repo.hot.read_inventory(res.aip_id)
    assert "does not match its sidecar" in e.value.message
    sidecar.write_text(hashlib.sha256((sidecar.parent / "inventory.json").read_bytes()).hexdigest()
                       + "  inventory.json\n")
