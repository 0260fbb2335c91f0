"""Rebuilding the catalog from the storage locations alone.

Sources: every OCFL object (inventories; METS for labels and MIME types; PREMIS for formats,
original names and events; dc.xml for the external identifier) in any `ocfl` location,
falling back to a packed copy's archive when no OCFL copy exists; the packed indexes for
packed copies. Transfers are not in storage (rejected SIPs never reach it) and are not
rebuilt; replication events are not in PREMIS and are not rebuilt either.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from lxml import etree

from archa.errors import EXIT_PROBLEMS, RepositoryError, StorageError
from archa.metadata.description import Description, describe
from archa.metadata.premis import ORIGINATOR_AGENT, PremisFile, PremisRecord, read_premis
from archa.metadata.records import metadata_mime
from archa.repository.catalog import Catalog, FileRow, create_catalog
from archa.repository.catalog.logtables import HashTables
from archa.repository.catalog.postgres import redact
from archa.repository.catalog.rebuilder import compare_catalogs
from archa.repository.catalog.rebuildscratch import ObjectScratch
from archa.repository.catalog.scratch import BATCH
from archa.repository.copies import TOMBSTONES, iter_packed, packed_keys
from archa.repository.events import Event
from archa.repository.hashing import file_digest
from archa.repository.jsonstream import JsonStream
from archa.repository.logscan import (
    COLUMNS,
    agree,
    iter_changes,
    needed,
    repo_seal_key,
    scan_into,
    scan_journal,
    scan_log,
)
from archa.repository.ocfl import INVENTORY, object_relpath
from archa.repository.pages import STRUCTURES, PageRow, read_structure, version_pages, with_text
from archa.repository.repo import Repository
from archa.repository.retention import from_bag_info, parse_bag_info
from archa.repository.store import Store

NS = {"p": "http://www.loc.gov/premis/v3", "m": "http://www.loc.gov/METS/",
      "x": "http://www.w3.org/1999/xlink", "dc": "http://purl.org/dc/elements/1.1/"}
_NOTE = re.compile(r"^identified by (\S+) (\S+) \((.*)\), basis: (.*)$", re.DOTALL)
_PARSER = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True)

__all__ = ["RebuildConflict", "RebuildReport", "compare_catalogs", "rebuild_catalog"]


@dataclass
class Found:
    """What the locations hold for one AIP."""

    versions: int = 0  # in the OCFL copy metadata is read from (its inventory is read again then)
    metadata_source: tuple[Store, str, str] | None = None  # (store, kind, prefix)
    copies: list[dict[str, Any]] = field(default_factory=list)
    # version -> location -> {algorithm: digest} of that version's inventory as the location holds it
    inventories: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    ocfl: dict[str, tuple[Store, str, str]] = field(default_factory=dict)  # location -> (store, prefix, head)
    packed: dict[str, Store] = field(default_factory=dict)  # location -> store


@dataclass
class RebuildReport:
    path: str
    aips: int = 0
    files: int = 0
    copies: int = 0
    differences: list[str] = field(default_factory=list)
    # what the locations do not agree on (a rebuild with any is not put in place), and what
    # was decided without their agreement (--trust) or found wrong at one location
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RebuildConflict(RepositoryError):
    """The locations do not agree on what a rebuild would take (a history, a tombstone, an
    inventory): nothing is put in place. Names every conflict."""

    exit_code = EXIT_PROBLEMS

    def __init__(self, report: RebuildReport) -> None:
        n = len(report.conflicts)
        super().__init__(f"the storage locations do not agree on {n} thing(s) a rebuild would take; nothing was "
                         "put in place:\n  " + "\n  ".join(report.conflicts),
                         hint="find out which location was changed (archa events verify, archa fixity audit), then "
                              "name the one to believe: archa catalog rebuild --trust LOCATION")
        self.report = report


@dataclass
class Scan:
    found: dict[str, Found] = field(default_factory=dict)  # AIP id -> its copies
    tombstones: dict[str, dict[str, bytes]] = field(default_factory=dict)  # AIP id -> location -> tombstone.json
    objects: dict[str, set[str]] = field(default_factory=dict)  # object path -> locations holding any key of it


def _scan(repo: Repository) -> Scan:
    """Every object, packed index and tombstone at every location, with the sha256 of each
    version's inventory as each location holds it (for `_agreed_versions`)."""
    scan = Scan()
    found = scan.found
    for loc in repo.config.locations:
        store = repo.store(loc)
        for key, _size in store.list(""):
            parts = key.split("/")
            if parts[0] == "extensions":
                if key.startswith(TOMBSTONES + "/") and parts[-1] == "tombstone.json" and len(parts) == 7:
                    data = store.read_bytes(key)
                    try:
                        aip_id = str(json.loads(data)["id"])
                    except (ValueError, KeyError, TypeError):
                        continue
                    scan.tombstones.setdefault(aip_id, {})[loc.name] = data
                continue
            if len(parts) >= 5:
                scan.objects.setdefault("/".join(parts[:4]), set()).add(loc.name)
            if loc.kind == "ocfl" and len(parts) == 5 and parts[4] == INVENTORY:
                with store.open(key) as fh:
                    inv = _inventory_head(fh)
                f = found.setdefault(inv["id"], Found())
                prefix = "/".join(parts[:4])
                sizes: dict[str, int] = {}  # bytes by version ("" for the root files)
                for k, size in store.list(prefix):
                    rel = k[len(prefix) + 1:]
                    top = rel.split("/", 1)[0] if "/" in rel else ""
                    sizes[top] = sizes.get(top, 0) + size
                versions = sorted(inv["versions"], key=lambda v: int(v[1:]))
                f.ocfl[loc.name] = (store, prefix, versions[-1] if versions else "")
                for v in versions:
                    try:
                        f.inventories.setdefault(v, {})[loc.name] = _digests(store, f"{prefix}/{v}/{INVENTORY}")
                    except StorageError:
                        continue  # a version without its inventory: not held there
                    f.copies.append({"aip_id": inv["id"], "version": v, "location": loc.name, "state": "ok",
                                     "written": inv["versions"][v], "last_audit": None,
                                     "bytes": sizes.get(v, 0) + sizes.get("", 0), "archive_sha256": ""})
            elif loc.kind == "packed" and len(parts) == 5 and parts[4].endswith(".index.json"):
                with store.open(key) as fh:
                    index = _index_head(fh)
                f = found.setdefault(index["id"], Found())
                f.packed[loc.name] = store
                f.inventories.setdefault(index["version"], {})[loc.name] = index.get("inventory_digest", {})
                f.copies.append({"aip_id": index["id"], "version": index["version"], "location": loc.name,
                                 "state": "ok", "written": None, "last_audit": None,
                                 "bytes": index.get("archive_bytes"),
                                 "archive_sha256": index.get("archive_sha256", "")})
    return scan


INVENTORY_ALGS = ("sha256", "sha512")


def _digests(store: Store, key: str) -> dict[str, str]:
    """Every INVENTORY_ALGS digest of a stored file, in one read."""
    hashers = {a: hashlib.new(a) for a in INVENTORY_ALGS}
    with store.open(key) as fh:
        while chunk := fh.read(1 << 20):
            for h in hashers.values():
                h.update(chunk)
    return {a: h.hexdigest() for a, h in hashers.items()}


def _comparable(holders: dict[str, dict[str, str]]) -> dict[str, str]:
    """Each location's inventory digest in one algorithm all of them give (a packed index
    gives the repository's, an OCFL copy is hashed with each)."""
    common = [a for a in INVENTORY_ALGS if all(a in d for d in holders.values())]
    alg = common[-1] if common else ""
    return {loc: (d.get(alg, "") if alg else "") for loc, d in holders.items()}


def _agreed_versions(aip_id: str, f: Found, names: list[str], trust: str | None,
                     report: RebuildReport) -> list[str]:
    """The versions of an AIP whose inventory a majority of the locations holding the AIP
    (`names`) hold alike (or the trusted location holds), in order; a location holding the
    AIP but not a version counts against it; a version that fails is a conflict,
    and so is every version after it. A location holding an agreed version otherwise has its
    copy marked damaged (it was changed there). Chooses `f.metadata_source`: an OCFL copy
    whose head is the agreed head, else a packed copy."""
    configured = len(names)
    need = needed(configured)
    agreed: list[str] = []
    for v in sorted(f.inventories, key=lambda v: int(v[1:])):
        holders = _comparable(f.inventories[v])
        best, count = Counter(holders.values()).most_common(1)[0]
        if count < need:
            if trust is None or trust not in holders:
                seen = ", ".join(f"{loc} {h[:12]}…" for loc, h in sorted(holders.items()))
                missing = sorted(set(names) - set(holders))
                report.conflicts.append(
                    f"AIP {aip_id} {v}: {need} of {configured} locations must hold its inventory alike; they hold "
                    f"{seen}" + (f" and {', '.join(missing)} nothing" if missing else "")
                    + ": name the location to believe with --trust LOCATION")
                break
            best = holders[trust]
            report.notes.append(f"AIP {aip_id} {v}: inventory taken from {trust} as told (--trust)")
        for loc, h in holders.items():
            if h != best:
                report.notes.append(f"AIP {aip_id} {v} at {loc}: its inventory differs from the agreed one: that copy "
                                    "was changed; it is recorded as damaged (audit and repair it)")
                for c in f.copies:
                    if c["version"] == v and c["location"] == loc:
                        c["state"] = "damaged"
        agreed.append(v)
    if not agreed:
        return agreed
    head = agreed[-1]
    good = {loc for loc in f.inventories[head]
            if not any(c["state"] == "damaged" for c in f.copies if c["location"] == loc and c["version"] == head)}
    ocfl = [loc for loc, (_s, _p, h) in f.ocfl.items() if h == head and loc in good]
    packed = [loc for loc in f.packed if loc in good and all(loc in f.inventories[v] for v in agreed)]
    pick = (trust if trust in ocfl else ocfl[0]) if ocfl else (trust if trust in packed else packed[0]) if packed \
        else None
    if pick is None:
        report.conflicts.append(f"AIP {aip_id} {head}: no location holds the agreed head whole; nothing to read its "
                                "metadata from")
        return []
    f.versions = len(agreed)
    f.metadata_source = (f.ocfl[pick][0], "ocfl", f.ocfl[pick][1]) if pick in f.ocfl else \
        (f.packed[pick], "packed", head)
    f.copies = [c for c in f.copies if c["version"] in agreed]
    return agreed


def _inventory_head(f: IO[bytes]) -> dict[str, Any]:
    """The id and each version's created time of an inventory, read as a stream."""
    js = JsonStream(f)
    out: dict[str, Any] = {"id": "", "versions": {}}
    for key in js.members():
        if key == "id":
            out["id"] = js.value()
        elif key == "versions":
            for version in js.members():
                for name in js.members():
                    if name == "created":
                        out["versions"][version] = js.value()
                    else:
                        js.skip()
        else:
            js.skip()
    return out


def _index_head(f: IO[bytes]) -> dict[str, Any]:
    """A packed copy's index without its member list, read as a stream; the sha256 of the
    inventory it archives as `inventory_sha256`."""
    js = JsonStream(f)
    out: dict[str, Any] = {}
    for key in js.members():
        if key == "members":
            for name in js.members():
                if name == INVENTORY:
                    member = js.value()  # its digest under the key of the repository's algorithm
                    out["inventory_digest"] = {k: v for k, v in member.items() if k in INVENTORY_ALGS} \
                        if isinstance(member, dict) else {}
                else:
                    js.skip()
        elif key == "frames":
            js.skip()
        else:
            out[key] = js.value()
    return out


BAG_INFO = "metadata/submission/bag-info.txt"
METADATA = ("METS.xml", "metadata/preservation/premis.xml", "metadata/descriptive/dc.xml", BAG_INFO, *STRUCTURES)


@dataclass
class Stored:
    """What one copy gives of an AIP: its versions (created, message, inventory digest) and
    each version's metadata files, saved under `work` (logical path -> file); the manifest,
    states and sizes are in the scratch tables `db`, never in memory."""

    db: ObjectScratch
    work: Path
    alg: str = ""
    head: str = ""
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)  # version -> created, message, digest
    metadata: dict[str, dict[str, Path]] = field(default_factory=dict)  # version -> logical path -> file


def _load_inventory(stored: Stored, f: IO[bytes]) -> None:
    """Stream an inventory into `stored`: the first content path of each digest, every
    version's state (one entry at a time) and its created time and message."""
    db = stored.db
    js = JsonStream(f)
    # the scratch tables take their rows from the generators one at a time, as the stream goes on
    for key in js.members():
        if key == "manifest":
            db.add_manifest((digest, min(js.value())) for digest in js.members())
        elif key == "versions":
            for version in js.members():
                info = stored.versions.setdefault(version, {})
                for field_name in js.members():
                    if field_name == "state":
                        db.add_state((version, logical, digest) for digest in js.members()
                                     for logical in js.value())
                    elif field_name in ("created", "message"):
                        info[field_name] = js.value()
                    else:
                        js.skip()
        elif key == "digestAlgorithm":
            stored.alg = str(js.value())
        elif key == "head":
            stored.head = str(js.value())
        else:
            js.skip()


def _save(src: IO[bytes], dest: Path, alg: str = "") -> str:
    """Copy a stream into the new file `dest`; returns its `alg` digest ('' without one)."""
    h = hashlib.new(alg) if alg else None
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
            if h is not None:
                h.update(chunk)
    return h.hexdigest() if h is not None else ""


def _metadata_rows(db: ObjectScratch) -> list[tuple[str, str, str]]:
    """(version, logical path, content path) of every version's metadata files."""
    return db.files_named(METADATA)


def _metadata_files(stored: Stored, found: dict[str, Path]) -> None:
    """Each version's metadata files (by logical path) among the saved content `found`."""
    for version, logical, content in _metadata_rows(stored.db):
        if content in found:
            stored.metadata.setdefault(version, {})[logical] = found[content]


def _read_versions(aip_id: str, f: Found, stored: Stored) -> None:
    """Fill `stored` from the copy `f.metadata_source` (an OCFL copy by key; packed archives
    v1..vN streamed in order), saving the metadata files and hashing each version's inventory."""
    assert f.metadata_source is not None
    store, kind, where = f.metadata_source
    db = stored.db
    found: dict[str, Path] = {}
    if kind == "ocfl":
        with store.open(f"{where}/{INVENTORY}") as fh:
            _load_inventory(stored, fh)
        db.add_sizes((k[len(where) + 1:], size) for k, size in store.list(where))
        for version, info in stored.versions.items():
            with store.open(f"{where}/{version}/{INVENTORY}") as fh:
                info["digest"] = _save(fh, stored.work / "inventories" / version, stored.alg)
        for content in sorted({content for _v, _l, content in _metadata_rows(db)}):
            with store.open(f"{where}/{content}") as fh:
                _save(fh, stored.work / "content" / content)
            found[content] = stored.work / "content" / content
        _metadata_files(stored, found)
        return
    versions = sorted((c["version"] for c in f.copies if c["location"] == store.name), key=lambda v: int(v[1:]))
    for version in versions:
        with store.open(packed_keys(aip_id, version)[1]) as fh:
            js = JsonStream(fh)
            for key in js.members():
                if key != "members":
                    js.skip()
                    continue
                db.add_sizes((name, int(js.value()["size"])) for name in js.members())
        for ti, fh in iter_packed(store, aip_id, version):
            if ti.name == f"{version}/{INVENTORY}":
                _save(fh, stored.work / "inventories" / version)
            elif ti.name.split("/", 2)[-1] in METADATA or ti.name.endswith(BAG_INFO):
                found[ti.name] = stored.work / "content" / ti.name
                _save(fh, found[ti.name])
    with open(stored.work / "inventories" / versions[-1], "rb") as fh:
        _load_inventory(stored, fh)
    for version, info in stored.versions.items():
        info["digest"] = file_digest(stored.work / "inventories" / version, stored.alg)
    _metadata_files(stored, found)


def _mets_mimes(path: Path, version: str) -> Iterator[tuple[str, str, str]]:
    """(version, logical path, MIME type) of each file in a METS, read as a stream."""
    href, mime, flocat = f"{{{NS['x']}}}href", f"{{{NS['m']}}}file", f"{{{NS['m']}}}FLocat"
    for _ev, el in etree.iterparse(str(path), events=("end",), tag=(flocat, f"{{{NS['m']}}}fptr"),
                                   no_network=True, resolve_entities=False, huge_tree=True):
        parent = el.getparent()
        if el.tag == flocat and parent is not None and parent.tag == mime:
            yield version, unquote(el.get(href) or ""), parent.get("MIMETYPE", "")
            el = parent  # the file element, read: dropped with what came before it
            parent = el.getparent()
        el.clear()  # a file element read, or a structMap pointer: nothing more to learn from it
        if parent is not None:
            while el.getprevious() is not None:
                del parent[0]


def _version_files(aip_id: str, version: str, stored: Stored) -> tuple[dict[str, Any], PremisRecord]:
    """The version row and PREMIS record (events, agents; its files into the table `premis`)
    of one version, the MIME types of its METS into `mimes`: both read as streams."""
    db = stored.db
    meta = stored.metadata[version]
    db.add_mimes(_mets_mimes(meta["METS.xml"], version))
    batch: list[tuple[str, ...]] = []

    def on_file(logical: str, o: PremisFile) -> None:
        engine = ever = sver = basis = warning = ""
        i = o.identification
        if i:  # the fields archa writes; older AIPs only have the note
            engine, ever, sver, basis, warning = (i.get(k, "") for k in (
                "engine", "engineVersion", "signatures", "basis", "warning"))
        else:
            m = _NOTE.match(o.note)
            engine, ever, sver, basis = m.groups() if m else ("", "", "", "none")
        batch.append((version, logical, o.puid, "" if o.puid == "UNKNOWN" else o.format_name, o.format_version,
                      o.original_name, engine, ever, sver, basis, warning))
        if len(batch) >= BATCH:
            db.add_premis(batch)
            batch.clear()

    premis = read_premis(meta["metadata/preservation/premis.xml"], aip_id, version, on_file)
    db.add_premis(batch)
    n, size = db.version_totals(version)
    info = stored.versions[version]
    vrow = {"aip_id": aip_id, "version": version, "created": info["created"], "message": info.get("message", ""),
            "files": n, "bytes": size, "inventory_digest": info["digest"], "digest_algorithm": stored.alg,
            "stored": 0}
    return vrow, premis


def _file_rows(aip_id: str, version: str, db: ObjectScratch) -> Iterator[FileRow]:
    """The catalog rows of a version's files, joined from the scratch tables as they are read."""
    for logical, content, digest, size, puid, name, fver, original, engine, ever, sver, basis, warning, mime \
            in db.version_files(version):
        role = "payload" if logical.startswith("representations/") else \
            "submission" if logical.startswith("metadata/submission/") else "metadata"
        yield FileRow(aip_id, version, logical, content, role, original or "", size, digest, puid or "",
                      name or "", fver or "",
                      mime if mime is not None else metadata_mime(logical) if role == "metadata" else "",
                      basis or "", engine or "", ever or "", sver or "", warning or "")


def _pages(aip_id: str, version: str, stored: Stored, f: Found) -> list[PageRow]:
    """The pages (with OCR text) of a version whose METS has the page order ingest writes."""
    meta = stored.metadata[version]
    structure = next((s for s in STRUCTURES if s in meta), None)
    doc = read_structure(meta[structure].read_bytes()) if structure is not None else None
    if doc is None or b'LABEL="page order"' not in meta["METS.xml"].read_bytes():
        return []

    def content(logical: str) -> str | None:
        return stored.db.content_path(version, logical)

    rows = version_pages(aip_id, version, doc, lambda lp: content(lp) is not None)
    wanted = {c: r.alto for r in rows if r.alto and (c := content(r.alto))}
    texts = _read_contents(aip_id, f, wanted)
    return with_text(rows, texts.get)


def _describe(aip_id: str, stored: Stored, f: Found, version: str) -> Description:
    """What the stored `version` says of its record (metadata/description.py, as ingest read
    it): its bag-info, DC and its package's own METS."""
    meta = stored.metadata[version]

    def read(lp: str) -> bytes | None:
        if lp in meta:
            return meta[lp].read_bytes()
        content = stored.db.content_path(version, lp)
        return _read_contents(aip_id, f, {content: lp}).get(lp) if content else None

    info = parse_bag_info(meta[BAG_INFO].read_bytes().decode("utf-8", "replace")) if BAG_INFO in meta else []
    paths = [*meta, *(r[0] for r in stored.db.version_files(version) if r[0].endswith((".xml", ".XML")))]
    return describe(info, read, paths)


def _read_contents(aip_id: str, f: Found, wanted: dict[str, str]) -> dict[str, bytes]:
    """{logical path: bytes} of the object files `wanted` ({content path: logical path}),
    from the copy the metadata came from (an OCFL copy by key; packed archives streamed)."""
    assert f.metadata_source is not None
    store, kind, where = f.metadata_source
    if kind == "ocfl":
        return {logical: store.read_bytes(f"{where}/{content}") for content, logical in wanted.items()}
    out: dict[str, bytes] = {}
    for version in sorted({c.split("/", 1)[0] for c in wanted}, key=lambda v: int(v[1:])):
        for ti, fh in iter_packed(store, aip_id, version):
            name = ti.name if ti.name in wanted else ti.name.split("/", 1)[-1]  # with or without the object dir
            if name in wanted:
                out[wanted[name]] = fh.read()
    return out


def rebuild_catalog(repo: Repository, dest: Path | str, trust: str | None = None) -> RebuildReport:
    """Write a catalog at `dest` (a file which must not exist, or an empty PostgreSQL
    database's URL, which then also gets the settings the nodes share) from the locations
    alone, taking only what they agree on (see the module docstring): `report.conflicts`
    names the rest, and a caller must not put a catalog with conflicts in place. `trust`
    names the location to believe where the others do not agree with it."""
    names = [loc.name for loc in repo.config.locations]
    if trust is not None:
        repo.config.location(trust)  # RepositoryError naming the locations there are
    cat = create_catalog(dest)
    from archa.repository.logscan import repo_seal_key

    cat.mac_key = repo_seal_key(repo)  # what the rebuild appends (events only the PREMIS kept) is archa's
    report = RebuildReport(str(dest) if isinstance(dest, Path) else redact(dest))
    if isinstance(dest, str):  # a catalog on a server holds what its nodes share (identity, locations, policy)
        cat.set_setting("config", repo.config.shared_json())
    cat.rebuilder.suspend_journal()  # what the rebuild writes is no new change
    work = repo.new_work_dir()
    db = HashTables(work / "agreement.sqlite")
    try:
        _restore_history(repo, cat, db, trust, report)
        scan = _scan(repo)
        premis_events: list[Event] = []  # from PREMIS and tombstones: what no location's log holds
        buried: set[str] = set()
        for aip_id, copies in sorted(scan.tombstones.items()):
            tomb = _agreed_tombstone(cat, aip_id, copies, len(names), trust, report)
            if tomb is not None:
                premis_events += _record_tombstone(cat, tomb, scan.objects.get(object_relpath(aip_id), set()))
                buried.add(aip_id)
                report.aips += 1
        for aip_id, f in sorted(scan.found.items()):
            if aip_id in buried:
                continue  # remnants of an AIP being destroyed: its tombstone says what it was
            holding = sorted({c["location"] for c in f.copies})  # a location that lost the object has no say
            if not _agreed_versions(aip_id, f, holding, trust, report):
                continue
            _expected_from_history(cat, aip_id, f, report)
            aip_work = repo.new_work_dir()
            try:
                premis_events += _rebuild_aip(repo, cat, aip_id, f, aip_work, report)
            finally:
                repo.release_work_dir(aip_work)
            report.aips += 1
            report.copies += len(f.copies)
        with cat.transaction():
            known = cat.log.event_ids()
            cat.log.append([e for e in premis_events if e.id not in known])
        _restore_copy_states(cat)
        with cat.transaction():
            cat.record_index.restore_access()
            cat.record_index.renumber_by_age()
        _mark_damaged(cat, scan)
        _restore_changes(repo, cat, db, trust, report)
        cat.rebuilder.resume_journal()
    finally:
        db.close()
        repo.release_work_dir(work)
        cat.close()
    return report


def _restore_history(repo: Repository, cat: Catalog, db: HashTables, trust: str | None,
                     report: RebuildReport) -> None:
    """The event log row for row (same sequence numbers, ids and hashes) as far as the
    locations agree on it (logscan.agree: a majority of the configured locations, with two
    both; rows a seal key does not vouch for do not count), read from one location that
    holds it all; what each location holds beyond or against it is a conflict."""
    key = repo_seal_key(repo)
    scans = {}
    for i, loc in enumerate(repo.config.locations):
        scan = scan_into(db, f"log{i}", repo.store(loc), key)
        scans[loc.name] = scan
        report.notes += [p for _s, p in scan.problems]
    # a location holding no log at all (its storage lost, or a new location) has no say
    voters = [(n, s.table, s.vouched) for n, s in scans.items() if s.reachable and s.last]
    agreement = agree(db, voters, max(1, len(voters)), "event", trust)
    report.conflicts += agreement.conflicts
    report.notes += agreement.notes
    longest = max((s.last for s in scans.values()), default=0)
    if not agreement.conflicts and longest > agreement.top:  # a location holds more, unagreed: a conflict too
        beyond = (f"events {agreement.top + 1}-{longest}: held by "
                  f"{', '.join(n for n, s in scans.items() if s.last > agreement.top)} only, or not vouched for by "
                  "the seal key")
        if trust is None:
            report.conflicts.append(f"{beyond}; name the location to believe with --trust LOCATION")
        else:
            report.notes.append(f"{beyond}; left out: {trust}, the location to believe, does not hold them")
    if not agreement.top:
        return
    batch: list[list[Any]] = []

    def keep(row: dict[str, Any]) -> None:
        batch.append([row[c] for c in COLUMNS])
        if len(batch) >= BATCH:
            cat.rebuilder.restore_events(batch)
            batch.clear()

    with cat.transaction():
        scan_log(repo.store(repo.config.location(agreement.source)), key, keep, upto=agreement.top)
        cat.rebuilder.restore_events(batch)
        source = scans[agreement.source].table
        for name, s in scans.items():
            upto = min(s.vouched, agreement.top)
            if not upto:
                continue
            if db.same(s.table, source, upto) == upto:
                last_hash = db.hash_at(source, upto)
                assert last_hash is not None  # the source holds every row up to the agreed top
                cat.rebuilder.record_event_anchor(name, upto, last_hash)


def _agreed_tombstone(cat: Catalog, aip_id: str, copies: dict[str, bytes], configured: int, trust: str | None,
                      report: RebuildReport) -> dict[str, Any] | None:
    """The tombstone of `aip_id` when it counts: every location holding one holds the same
    bytes, and the agreed history holds its deletion (the `deletion`/`deaccession` event it
    names, or the event that began the destruction, naming the tombstone's sha256); or the
    trusted location holds it. Otherwise a conflict, and None: the AIP is not taken as removed."""
    if trust is not None and trust not in copies:
        report.notes.append(f"AIP {aip_id}: the tombstone at {', '.join(sorted(copies))} is ignored: {trust}, the "
                            "location to believe, holds none")
        return None
    if trust is not None:
        data = copies[trust]
    elif len(set(copies.values())) == 1:
        data = next(iter(copies.values()))
    else:
        report.conflicts.append(f"AIP {aip_id}: the locations hold different tombstones for it "
                                f"({', '.join(sorted(copies))}); name the location to believe with --trust LOCATION")
        return None
    try:
        tomb = json.loads(data)
        deletion_id = str(tomb["deletion_event"]["id"])
    except (ValueError, KeyError, TypeError):
        report.conflicts.append(f"AIP {aip_id}: the tombstone at {', '.join(sorted(copies))} is not one archa writes")
        return None
    digest = hashlib.sha256(data).hexdigest()
    if cat.log.records_deletion(aip_id, deletion_id, digest):
        return dict(tomb)
    if trust is not None and trust in copies:
        report.notes.append(f"AIP {aip_id}: its tombstone at {trust} taken as told (--trust), though the history "
                            "holds no deletion of it")
        return dict(tomb)
    report.conflicts.append(f"AIP {aip_id}: a tombstone at {', '.join(sorted(copies))} says it was removed, but the "
                            "agreed history holds no deletion of it: planted, or left by a destruction whose events "
                            "were lost; the AIP is not taken as removed (name the location to believe with --trust "
                            "LOCATION)")
    return None


ARCHIVE_SHA = re.compile(r"archive sha256 ([0-9a-f]{64})")


def _expected_from_history(cat: Catalog, aip_id: str, f: Found, report: RebuildReport) -> None:
    """A packed copy's expected digest as the history recorded it when the copy was written
    (its `replication` event), not as the copy's own index says: an index that differs is
    reported and its copy recorded as damaged."""
    for c in f.copies:
        if c["location"] not in f.packed:
            continue
        detail = cat.log.last_replication(aip_id, c["version"], c["location"])
        m = ARCHIVE_SHA.search(detail) if detail is not None else None
        if m is None:
            continue  # no record of it (written before the log was anchored): the index is all there is
        if c["archive_sha256"] != m.group(1):
            report.notes.append(f"AIP {aip_id} {c['version']} at {c['location']}: the packed copy's index says archive "
                                f"sha256 {str(c['archive_sha256'])[:12]}…, the history {m.group(1)[:12]}…: the copy was "
                                "replaced; recorded as damaged (audit and repair it)")
            c["state"] = "damaged"
        c["archive_sha256"] = m.group(1)


def _mark_damaged(cat: Catalog, scan: Scan) -> None:
    """Copies found changed at their location (see `_agreed_versions`, `_expected_from_history`)
    stay damaged whatever an older audit said."""
    with cat.transaction():
        for f in scan.found.values():
            for c in f.copies:
                if c["state"] == "damaged":
                    cat.rebuilder.mark_damaged(c["aip_id"], c["version"], c["location"])


def _rebuild_aip(repo: Repository, cat: Catalog, aip_id: str, f: Found, work: Path,
                 report: RebuildReport) -> list[Event]:
    """Record one AIP (its versions, files, pages, copies, retention) from its copies; the
    per-file state goes through a scratch database in `work`. Returns the head's PREMIS events."""
    from archa.repository.placement import placement_satisfied

    db = ObjectScratch(work / "rebuild.sqlite")
    try:
        stored = Stored(db, work)
        _read_versions(aip_id, f, stored)
        head = stored.head
        versions = sorted(stored.versions, key=lambda v: int(v[1:]))
        rows = [_version_files(aip_id, v, stored) for v in versions]
        meta = stored.metadata[head]
        label = next((el.get("LABEL", "") for _ev, el in etree.iterparse(
            str(meta["METS.xml"]), events=("start",), no_network=True, resolve_entities=False, huge_tree=True)), "")
        dc_file = meta.get("metadata/descriptive/dc.xml")
        dc = etree.fromstring(dc_file.read_bytes(), _PARSER) if dc_file is not None else None
        ids = [i.text for i in dc.iterfind("dc:identifier", NS)] if dc is not None else []
        aip = {"id": aip_id, "created": stored.versions["v1"]["created"], "label": label,
               "external_id": next((i for i in ids if i and i != aip_id), "") or "", "head": head, "transfer_id": ""}
        owner = next((a for a in rows[-1][1].agents if a.id_type == ORIGINATOR_AGENT), None)
        aip["originator_id"], aip["state"] = (owner.id_value if owner else None), "active"
        bag_info = meta.get(BAG_INFO)
        retention, _problems = from_bag_info(parse_bag_info(bag_info.read_bytes().decode("utf-8", "replace"))) \
            if bag_info is not None else ([], [])
        writer = cat.rebuilder
        with cat.transaction():
            if owner is not None:
                ico = owner.note.removeprefix("IČO ").strip() if owner.note.startswith("IČO ") else None
                writer.record_originator({"id": owner.id_value, "name": owner.name, "ico": ico, "seat": None,
                                          "quota_bytes": None, "created": aip["created"]})
            writer.record_aip(aip)
            writer.record_retention(r.row(aip_id) for r in retention)
            for vrow, _premis in rows:
                ok = {c["location"] for c in f.copies if c["version"] == vrow["version"]}
                vrow["stored"] = int(placement_satisfied(repo, ok))
                report.files += writer.record_version(vrow, _file_rows(aip_id, vrow["version"], db))
            for vrow, _premis in rows:
                pages = _pages(aip_id, vrow["version"], stored, f)
                writer.record_pages({**p.row(), "text": p.text} for p in pages)
            for vrow, _premis in rows:  # every version's fingerprint; the head's is the AIP's too
                cat.set_payload_digest(aip_id, vrow["version"])
            cat.record_index.record(aip_id, head, _describe(aip_id, stored, f, head), aip["originator_id"] or "")
            writer.record_copies(f.copies)
        return rows[-1][1].events  # the head's PREMIS holds the AIP's whole history
    finally:
        db.close()


def _restore_copy_states(cat: Catalog) -> None:
    """Each copy's state and last audit as the event log last recorded them: the latest
    fixity check (ok, damaged, missing) unless a replication rewrote the copy after it;
    never audited copies stay ok with no audit (as when they were written)."""
    latest: dict[tuple[str, str, str], tuple[str, str, str, str]] = {}
    for aip, version, location, kind, outcome, time, detail in cat.log.copy_events():
        latest[(aip, version, location)] = (kind, outcome, time, detail)
    with cat.transaction():
        for (aip, version, location), (kind, outcome, time, detail) in latest.items():
            if kind == "replication":
                cat.rebuilder.copy_rewritten(aip, version, location, time)
                continue
            state = "ok" if outcome == "success" else "missing" if "FIX011" in detail else "damaged"
            cat.rebuilder.copy_audited(aip, version, location, state, time)


def _restore_changes(repo: Repository, cat: Catalog, db: HashTables, trust: str | None,
                     report: RebuildReport) -> None:
    """Replay the journal of the catalog-only tables (transfers, originators, holds, disposal
    proposals and their items, the archive's documents) and keep it row for row: up to the
    newest seal of the agreed history, from a location whose journal has the sealed hash
    there (what a location holds beyond that seal is sealed by nothing: a conflict). Without
    any seal (a repository anchored before journals were sealed), as far as a majority of
    the locations hold it alike."""
    n, sealed = cat.log.last_journal_seal()
    scans = {}
    for i, loc in enumerate(repo.config.locations):
        js = scan_journal(db, f"journal{i}", repo.store(loc))
        if js.reachable:
            scans[loc.name] = js

    def hash_at(name: str, seq: int) -> str | None:
        return db.hash_at(scans[name].table, seq)

    if n:
        holding = [name for name in scans if hash_at(name, n) == sealed]
        if not holding:
            report.conflicts.append(f"no location holds the journal of the catalog-only tables as the agreed history "
                                    f"sealed it at change {n}: it was rewritten or cut everywhere")
            return
        source, top = (trust if trust in holding else holding[0]), n
        beyond = [name for name in scans if scans[name].last > n]
        if beyond:
            report.conflicts.append(f"journal changes {n + 1}-{max(scans[x].last for x in beyond)} at "
                                    f"{', '.join(beyond)} are sealed by no event of the agreed history: slipped in")
    else:
        voters = [(name, js.table, js.last) for name, js in scans.items() if js.last]
        agreement = agree(db, voters, max(1, len(voters)), "journal change", trust)
        report.conflicts += agreement.conflicts
        report.notes += agreement.notes
        source, top = agreement.source, agreement.top
    if not top:
        return
    with cat.transaction():
        changes = [c for c in iter_changes(repo.store(repo.config.location(source))) if c["seq"] <= top]
        cat.rebuilder.restore_journal(changes, lambda t, op, why: report.notes.append(
            f"a journaled {t} change ({op}) names what the rebuilt catalog lacks: left out ({why})"))
        for name, js in scans.items():
            upto = min(js.last, top)
            if upto and hash_at(name, upto) == hash_at(source, upto):
                cat.rebuilder.record_journal_anchor(name, upto)


def _record_tombstone(cat: Catalog, tomb: dict[str, Any], remnants: set[str]) -> list[Event]:
    """The catalog rows of a removed AIP, from its tombstone: identity, versions, retention
    (with the disposal procedure's outcome), events. With `remnants` (locations still
    holding some of its keys) it is still being destroyed."""
    aip_id = tomb["id"]
    state = "destroying" if remnants else tomb["state"]
    writer = cat.rebuilder
    with cat.transaction():
        o = tomb["originator"]
        if o:
            writer.record_originator({"id": o["id"], "name": o["name"], "ico": o["ico"] or None, "seat": None,
                                      "quota_bytes": None, "created": tomb["created"]})
        writer.record_aip({"id": aip_id, "created": tomb["created"], "label": tomb["label"],
                           "external_id": tomb["external_id"], "head": tomb["head"], "transfer_id": "",
                           "originator_id": o["id"] if o else None, "state": state})
        writer.record_versions({**v, "aip_id": aip_id, "stored": 0} for v in tomb["versions"])
        decided = {e["entity"]: e for e in tomb["entities"]}
        rows = []
        for r in tomb["retention"]:
            e = decided.get(r["entity"])
            if e is not None and not remnants:
                r = {**r, "disposal_date": e["decided"], "disposal_by": f"disposal procedure {tomb['proposal']}",
                     "disposal_operation": "trvalé uložení" if e["decision"] == "keep" else "zničení"}
            rows.append({**r, "aip_id": aip_id})
        writer.record_retention(rows)
        titles = [("title", str(tomb["label"] or "")), ("identifier", str(tomb["external_id"] or ""))]
        for r in tomb["retention"]:
            titles += [("title", str(r.get("title") or "")), ("identifier", str(r.get("entity_id") or "")),
                       ("sign", str(r.get("sign") or ""))]
        cat.record_index.record(aip_id, tomb["head"], Description(
            "bag", str(tomb["label"] or ""), str(o["name"]) if o else "", str(tomb["created"] or "")[:10], (),
            tuple((k, v) for k, v in dict.fromkeys(titles) if v), None), o["id"] if o else "")
        cat.record_index.mark_removed(aip_id, str(tomb["ordered"] or ""))
        writer.record_tombstone({"aip_id": aip_id, "state": tomb["state"], "at": tomb["ordered"],
                                 "proposal_id": tomb["proposal"],
                                 "certificate": json.dumps(tomb, ensure_ascii=False, sort_keys=True),
                                 "locations_left": json.dumps(sorted(remnants))})
    events = [Event(**{**e, "aip_id": aip_id}) for e in tomb["events"]]
    return events + ([] if remnants else [Event(**tomb["deletion_event"])])
