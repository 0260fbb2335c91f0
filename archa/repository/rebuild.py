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
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from lxml import etree

from archa.errors import EXIT_PROBLEMS, RepositoryError, StorageError
from archa.metadata.premis import ORIGINATOR_AGENT, PremisFile, PremisRecord, read_premis
from archa.repository.catalog import Catalog, FileRow, FileWriter, journal_triggers
from archa.repository.catalog.scratch import BATCH, scratch_db
from archa.repository.copies import TOMBSTONES, iter_packed, packed_keys
from archa.repository.events import Event, append_events
from archa.repository.hashing import file_digest
from archa.repository.journal import replay
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
from archa.repository.pages import STRUCTURE, PageRow, read_structure, record_pages, version_pages, with_text
from archa.repository.repo import Repository
from archa.repository.retention import from_bag_info, parse_bag_info
from archa.repository.store import Store

NS = {"p": "http://www.loc.gov/premis/v3", "m": "http://www.loc.gov/METS/",
      "x": "http://www.w3.org/1999/xlink", "dc": "http://purl.org/dc/elements/1.1/"}
_NOTE = re.compile(r"^identified by (\S+) (\S+) \((.*)\), basis: (.*)$", re.DOTALL)
_PARSER = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True)


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
METADATA = ("METS.xml", "metadata/preservation/premis.xml", "metadata/descriptive/dc.xml", BAG_INFO, STRUCTURE)
SCRATCH = """
CREATE TABLE manifest (digest TEXT PRIMARY KEY, path TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE state (version TEXT NOT NULL, logical TEXT NOT NULL, digest TEXT NOT NULL,
                    PRIMARY KEY (version, logical)) WITHOUT ROWID;
CREATE TABLE sizes (path TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE mimes (version TEXT NOT NULL, logical TEXT NOT NULL, mime TEXT NOT NULL,
                    PRIMARY KEY (version, logical)) WITHOUT ROWID;
CREATE TABLE premis (version TEXT NOT NULL, logical TEXT NOT NULL, puid TEXT, name TEXT, fver TEXT,
                     original TEXT, engine TEXT, ever TEXT, sver TEXT, basis TEXT, warning TEXT,
                     PRIMARY KEY (version, logical)) WITHOUT ROWID;
"""


@dataclass
class Stored:
    """What one copy gives of an AIP: its versions (created, message, inventory digest) and
    each version's metadata files, saved under `work` (logical path -> file); the manifest,
    states and sizes are in the scratch database `db`, never in memory."""

    db: sqlite3.Connection
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
    # executemany reads its rows from the generators one at a time, as the stream goes on
    for key in js.members():
        if key == "manifest":
            db.executemany("INSERT OR IGNORE INTO manifest VALUES (?, ?)",
                           ((digest, min(js.value())) for digest in js.members()))
        elif key == "versions":
            for version in js.members():
                info = stored.versions.setdefault(version, {})
                for field_name in js.members():
                    if field_name == "state":
                        db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?)",
                                       ((version, logical, digest) for digest in js.members()
                                        for logical in js.value()))
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


def _metadata_rows(db: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(version, logical path, content path) of every version's metadata files."""
    return db.execute(f"SELECT s.version, s.logical, m.path FROM state s JOIN manifest m ON m.digest = s.digest "
                      f"WHERE s.logical IN ({', '.join('?' * len(METADATA))})", METADATA).fetchall()


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
        db.executemany("INSERT OR REPLACE INTO sizes VALUES (?, ?)",
                       ((k[len(where) + 1:], size) for k, size in store.list(where)))
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
                db.executemany("INSERT OR REPLACE INTO sizes VALUES (?, ?)",
                               ((name, int(js.value()["size"])) for name in js.members()))
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
    db.executemany("INSERT OR REPLACE INTO mimes VALUES (?, ?, ?)", _mets_mimes(meta["METS.xml"], version))
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
            db.executemany("INSERT OR REPLACE INTO premis VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
            batch.clear()

    premis = read_premis(meta["metadata/preservation/premis.xml"], aip_id, version, on_file)
    db.executemany("INSERT OR REPLACE INTO premis VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
    n, size = db.execute("SELECT COUNT(*), COALESCE(SUM(z.size), 0) FROM state s JOIN manifest m ON m.digest = "
                         "s.digest LEFT JOIN sizes z ON z.path = m.path WHERE s.version = ?", (version,)).fetchone()
    info = stored.versions[version]
    vrow = {"aip_id": aip_id, "version": version, "created": info["created"], "message": info.get("message", ""),
            "files": n, "bytes": size, "inventory_digest": info["digest"], "digest_algorithm": stored.alg,
            "stored": 0}
    return vrow, premis


def _file_rows(aip_id: str, version: str, db: sqlite3.Connection) -> Iterator[FileRow]:
    """The catalog rows of a version's files, joined from the scratch tables as they are read."""
    for logical, content, digest, size, puid, name, fver, original, engine, ever, sver, basis, warning, mime \
            in db.execute("SELECT s.logical, m.path, s.digest, COALESCE(z.size, 0), p.puid, p.name, p.fver, "
                          "p.original, p.engine, p.ever, p.sver, p.basis, p.warning, t.mime FROM state s "
                          "JOIN manifest m ON m.digest = s.digest LEFT JOIN sizes z ON z.path = m.path "
                          "LEFT JOIN premis p ON p.version = s.version AND p.logical = s.logical "
                          "LEFT JOIN mimes t ON t.version = s.version AND t.logical = s.logical "
                          "WHERE s.version = ?", (version,)):
        role = "payload" if logical.startswith("representations/") else \
            "submission" if logical.startswith("metadata/submission/") else "metadata"
        yield FileRow(aip_id, version, logical, content, role, original or "", size, digest, puid or "",
                      name or "", fver or "", mime if mime is not None else ("text/xml" if role == "metadata" else ""),
                      basis or "", engine or "", ever or "", sver or "", warning or "")


def _pages(aip_id: str, version: str, stored: Stored, f: Found) -> list[PageRow]:
    """The pages (with OCR text) of a version whose METS has the page order ingest writes."""
    meta = stored.metadata[version]
    doc = read_structure(meta[STRUCTURE].read_bytes()) if STRUCTURE in meta else None
    if doc is None or b'LABEL="page order"' not in meta["METS.xml"].read_bytes():
        return []

    def content(logical: str) -> str | None:
        row = stored.db.execute("SELECT m.path FROM state s JOIN manifest m ON m.digest = s.digest WHERE "
                                "s.version = ? AND s.logical = ?", (version, logical)).fetchone()
        return None if row is None else str(row[0])

    rows = version_pages(aip_id, version, doc, lambda lp: content(lp) is not None)
    wanted = {c: r.alto for r in rows if r.alto and (c := content(r.alto))}
    texts = _read_contents(aip_id, f, wanted)
    return with_text(rows, texts.get)


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


def rebuild_catalog(repo: Repository, dest: Path, trust: str | None = None) -> RebuildReport:
    """Write a catalog at `dest` (which must not exist) from the locations alone, taking only
    what they agree on (see the module docstring): `report.conflicts` names the rest, and a
    caller must not put a catalog with conflicts in place. `trust` names the location to
    believe where the others do not agree with it."""
    names = [loc.name for loc in repo.config.locations]
    if trust is not None:
        repo.config.location(trust)  # RepositoryError naming the locations there are
    cat = Catalog.create(dest)
    report = RebuildReport(str(dest))
    journal_triggers(cat.db, create=False)  # what the rebuild writes is no new change
    work = repo.new_work_dir()
    db = scratch_db(work / "agreement.sqlite")
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
            known = {r[0] for r in cat.conn.execute("SELECT id FROM events")}
            append_events(cat.conn, [e for e in premis_events if e.id not in known])
        _restore_copy_states(cat)
        _mark_damaged(cat, scan)
        _restore_changes(repo, cat, db, trust, report)
        journal_triggers(cat.db)
    finally:
        db.close()
        repo.release_work_dir(work)
        cat.close()
    return report


def _restore_history(repo: Repository, cat: Catalog, db: sqlite3.Connection, trust: str | None,
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
    insert = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

    def keep(row: dict[str, Any]) -> None:
        batch.append([row[c] for c in COLUMNS])
        if len(batch) >= BATCH:
            cat.conn.executemany(insert, batch)
            batch.clear()

    with cat.transaction():
        scan_log(repo.store(repo.config.location(agreement.source)), key, keep, upto=agreement.top)
        cat.conn.executemany(insert, batch)
        source = scans[agreement.source].table
        for name, s in scans.items():
            upto = min(s.vouched, agreement.top)
            if not upto:
                continue
            same = db.execute(f"SELECT COUNT(*) FROM {s.table} a JOIN {source} b ON a.seq = b.seq AND "
                              f"a.hash = b.hash WHERE a.seq <= ?", [upto]).fetchone()[0]
            if same == upto:
                last_hash = db.execute(f"SELECT hash FROM {source} WHERE seq = ?", [upto]).fetchone()[0]
                cat.conn.execute("INSERT INTO event_anchors (location, last_seq, last_hash) VALUES (?, ?, ?)",
                                 [name, upto, last_hash])


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
    recorded = cat.conn.execute("SELECT 1 FROM events WHERE aip_id = ? AND type IN ('deletion', 'deaccession') AND "
                                "(id = ? OR instr(detail, ?) > 0) LIMIT 1", [aip_id, deletion_id, digest]).fetchone()
    if recorded is not None:
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
        row = cat.conn.execute("SELECT detail FROM events WHERE aip_id = ? AND version = ? AND location = ? AND "
                               "type = 'replication' ORDER BY seq DESC LIMIT 1",
                               [aip_id, c["version"], c["location"]]).fetchone()
        m = ARCHIVE_SHA.search(row[0]) if row else None
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
                    cat.conn.execute("UPDATE copies SET state = 'damaged' WHERE aip_id = ? AND version = ? AND "
                                     "location = ?", [c["aip_id"], c["version"], c["location"]])


def _rebuild_aip(repo: Repository, cat: Catalog, aip_id: str, f: Found, work: Path,
                 report: RebuildReport) -> list[Event]:
    """Record one AIP (its versions, files, pages, copies, retention) from its copies; the
    per-file state goes through a scratch database in `work`. Returns the head's PREMIS events."""
    from archa.repository.placement import placement_satisfied

    db = scratch_db(work / "rebuild.sqlite")
    try:
        db.executescript(SCRATCH)
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
        with cat.transaction():
            if owner is not None:
                ico = owner.note.removeprefix("IČO ").strip() if owner.note.startswith("IČO ") else None
                cat.db.table("originators").insert({"id": owner.id_value, "name": owner.name, "ico": ico,
                                                    "seat": None, "quota_bytes": None,
                                                    "created": aip["created"]}, ignore=True)
            cat.db.table("aips").insert(aip)
            cat.db.table("retention").insert_all(r.row(aip_id) for r in retention)
            for vrow, _premis in rows:
                ok = {c["location"] for c in f.copies if c["version"] == vrow["version"]}
                vrow["stored"] = int(placement_satisfied(repo, ok))
                cat.db.table("versions").insert(vrow)
                report.files += FileWriter(cat.conn).insert(_file_rows(aip_id, vrow["version"], db))
            for vrow, _premis in rows:
                pages = _pages(aip_id, vrow["version"], stored, f)
                record_pages(cat.conn, ({**p.row(), "text": p.text} for p in pages))
            cat.set_payload_digest(aip_id, head)
            cat.db.table("copies").insert_all(f.copies)
        return rows[-1][1].events  # the head's PREMIS holds the AIP's whole history
    finally:
        db.close()


def _restore_copy_states(cat: Catalog) -> None:
    """Each copy's state and last audit as the event log last recorded them: the latest
    fixity check (ok, damaged, missing) unless a replication rewrote the copy after it;
    never audited copies stay ok with no audit (as when they were written)."""
    latest: dict[tuple[str, str, str], tuple[str, str, str, str]] = {}
    for aip, version, location, kind, outcome, time, detail in cat.conn.execute(
            "SELECT aip_id, version, location, type, outcome, time, detail FROM events "
            "WHERE type IN ('fixity check', 'replication') AND location IS NOT NULL ORDER BY seq"):
        latest[(aip, version, location)] = (kind, outcome, time, detail)
    with cat.transaction():
        for (aip, version, location), (kind, outcome, time, detail) in latest.items():
            if kind == "replication":
                values = ["ok", None, time]
                cat.conn.execute("UPDATE copies SET state = ?, last_audit = ?, written = ? WHERE aip_id = ? AND "
                                 "version = ? AND location = ?", [*values, aip, version, location])
                continue
            state = "ok" if outcome == "success" else "missing" if "FIX011" in detail else "damaged"
            cat.conn.execute("UPDATE copies SET state = ?, last_audit = ? WHERE aip_id = ? AND version = ? AND "
                             "location = ?", [state, time, aip, version, location])


def _restore_changes(repo: Repository, cat: Catalog, db: sqlite3.Connection, trust: str | None,
                     report: RebuildReport) -> None:
    """Replay the journal of the catalog-only tables (transfers, originators, holds, disposal
    proposals and their items, the archive's documents) and keep it row for row: up to the
    newest seal of the agreed history, from a location whose journal has the sealed hash
    there (what a location holds beyond that seal is sealed by nothing: a conflict). Without
    any seal (a repository anchored before journals were sealed), as far as a majority of
    the locations hold it alike."""
    from archa.repository.eventlog import last_journal_seal

    n, sealed = last_journal_seal(cat.conn)
    scans = {}
    for i, loc in enumerate(repo.config.locations):
        js = scan_journal(db, f"journal{i}", repo.store(loc))
        if js.reachable:
            scans[loc.name] = js

    def hash_at(name: str, seq: int) -> str | None:
        row = db.execute(f"SELECT hash FROM {scans[name].table} WHERE seq = ?", [seq]).fetchone()
        return str(row[0]) if row else None

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
        replay(cat.conn, ((c["tbl"], c["op"], c["row"]) for c in changes),
               refused=lambda t, op, why: report.notes.append(f"a journaled {t} change ({op}) names what the "
                                                              f"rebuilt catalog lacks: left out ({why})"))
        cat.conn.executemany("INSERT INTO changes (seq, tbl, op, row) VALUES (?, ?, ?, ?)",
                             ((c["seq"], c["tbl"], c["op"], json.dumps(c["row"], ensure_ascii=False)) for c in changes))
        for name, js in scans.items():
            upto = min(js.last, top)
            if upto and hash_at(name, upto) == hash_at(source, upto):
                cat.conn.execute("INSERT INTO event_anchors (location, last_seq, last_change) VALUES (?, 0, ?) "
                                 "ON CONFLICT(location) DO UPDATE SET last_change = excluded.last_change", [name, upto])


def _record_tombstone(cat: Catalog, tomb: dict[str, Any], remnants: set[str]) -> list[Event]:
    """The catalog rows of a removed AIP, from its tombstone: identity, versions, retention
    (with the disposal procedure's outcome), events. With `remnants` (locations still
    holding some of its keys) it is still being destroyed."""
    aip_id = tomb["id"]
    state = "destroying" if remnants else tomb["state"]
    with cat.transaction():
        o = tomb["originator"]
        if o:
            cat.db.table("originators").insert({"id": o["id"], "name": o["name"], "ico": o["ico"] or None,
                                                "seat": None, "quota_bytes": None, "created": tomb["created"]},
                                               ignore=True)
        cat.db.table("aips").insert({"id": aip_id, "created": tomb["created"], "label": tomb["label"],
                                     "external_id": tomb["external_id"], "head": tomb["head"], "transfer_id": "",
                                     "originator_id": o["id"] if o else None, "state": state})
        cat.db.table("versions").insert_all({**v, "aip_id": aip_id, "stored": 0} for v in tomb["versions"])
        decided = {e["entity"]: e for e in tomb["entities"]}
        rows = []
        for r in tomb["retention"]:
            e = decided.get(r["entity"])
            if e is not None and not remnants:
                r = {**r, "disposal_date": e["decided"], "disposal_by": f"disposal procedure {tomb['proposal']}",
                     "disposal_operation": "trvalé uložení" if e["decision"] == "keep" else "zničení"}
            rows.append({**r, "aip_id": aip_id})
        cat.db.table("retention").insert_all(rows)
        cat.db.table("tombstones").insert({"aip_id": aip_id, "state": tomb["state"], "at": tomb["ordered"],
                                           "proposal_id": tomb["proposal"],
                                           "certificate": json.dumps(tomb, ensure_ascii=False, sort_keys=True),
                                           "locations_left": json.dumps(sorted(remnants))})
    events = [Event(**{**e, "aip_id": aip_id}) for e in tomb["events"]]
    return events + ([] if remnants else [Event(**tomb["deletion_event"])])


def compare_catalogs(current: Catalog, rebuilt: Catalog) -> list[str]:
    """Human-readable differences in AIPs, versions, files (path, digest, PUID) and copies.

    Compared in SQL (both catalogs attached to one scratch connection, EXCEPT and a join on
    the keys), so two catalogs of millions of files are never in memory: only differences are."""
    queries = {
        "AIP": "SELECT id, head || ' ' || COALESCE(originator_id, '') || ' ' || COALESCE(state, 'active') || ' ' "
               "|| label || ' ' || COALESCE(external_id, '') || ' ' || created || ' ' || COALESCE(payload_digest, '') "
               "FROM aips",
        "version detail": "SELECT aip_id, version, created || ' ' || message || ' ' || bytes || ' ' || stored || ' ' "
                          "|| inventory_digest || ' ' || digest_algorithm FROM versions",
        "file detail": "SELECT aip_id, version, logical_path, content_path || ' ' || role || ' ' || size || ' ' "
                       "|| COALESCE(format_name, '') || ' ' || COALESCE(format_version, '') || ' ' "
                       "|| COALESCE(mime, '') || ' ' || COALESCE(original_name, '') || ' ' || COALESCE(engine, '') "
                       "|| ' ' || COALESCE(engine_version, '') || ' ' || COALESCE(signature_version, '') || ' ' "
                       "|| COALESCE(basis, '') || ' ' || COALESCE(warning, '') FROM files",
        "event": "SELECT seq, id || ' ' || hash FROM events",
        "tombstone": "SELECT aip_id, state || ' ' || proposal_id || ' ' || locations_left FROM tombstones",
        "transfer": "SELECT id, status || ' ' || COALESCE(aip_id, '') || ' ' || files FROM transfers",
        "hold": "SELECT id, aip_id || ' ' || reason || ' ' || COALESCE(released, '') FROM holds",
        "originator": "SELECT id, name || ' ' || COALESCE(ico, '') || ' ' || COALESCE(quota_bytes, '') FROM originators",
        "proposal item": "SELECT proposal_id, aip_id, entity, COALESCE(decision, '') || ' ' || COALESCE(da_id, '') "
                         "|| ' ' || COALESCE(destroyed, '') FROM proposal_items",
        "version": "SELECT aip_id, version, files FROM versions",
        "page": "SELECT aip_id, version, seq, label || ' ' || section || ' ' || master || ' ' || user || ' ' || alto "
                "|| ' ' || txt FROM pages",
        "page text": "SELECT aip_id, version, seq, text FROM page_text",
        "file": "SELECT aip_id, version, logical_path, digest || ' ' || puid FROM files",
        "copy": "SELECT aip_id, version, location, state || ' ' || COALESCE(last_audit, 'never audited') "
                "|| ' ' || COALESCE(archive_sha256, '') FROM copies",
        "retention": "SELECT aip_id, entity, sign || ' ' || until_year || ' ' || COALESCE(until_declared, 0) || ' ' "
                     "|| COALESCE(disposal_date, '') || ' ' || COALESCE(disposal_operation, '') FROM retention",
    }
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA temp_store = FILE")  # the compared rows go to disk, not memory
    try:
        for name, cat in (("cur", current), ("new", rebuilt)):
            conn.execute(f"ATTACH DATABASE ? AS {name}", (str(cat.path),))
        return [line for what, sql in queries.items() for line in _differences(conn, what, sql)]
    finally:
        conn.close()


def _differences(conn: sqlite3.Connection, what: str, sql: str) -> Iterator[str]:
    """The differences of one of compare_catalogs' queries: `sql` selects key columns then one
    value from one table or view (named after FROM), read from the schemas cur and new into
    two indexed scratch tables (on disk), then compared by EXCEPT and a join on the keys."""
    select, table = sql.rsplit(" FROM ", 1)
    n = len(conn.execute(f"SELECT * FROM ({select} FROM cur.{table}) LIMIT 0").description or ())
    cols = [f"c{i}" for i in range(n)]
    keys = ", ".join(cols[:-1])
    for side, schema in (("a", "cur"), ("b", "new")):
        conn.execute(f"DROP TABLE IF EXISTS temp.{side}")
        conn.execute(f"CREATE TEMP TABLE {side} ({', '.join(cols)})")
        conn.execute(f"INSERT INTO temp.{side} SELECT * FROM ({select} FROM {schema}.{table})")
        conn.execute(f"CREATE INDEX temp.{side}_keys ON {side} ({keys})")
    for label, first, second in (("in the current catalog only", "a", "b"),
                                 ("found in storage, missing from the current catalog", "b", "a")):
        for row in conn.execute(f"SELECT {keys} FROM temp.{first} EXCEPT SELECT {keys} FROM temp.{second} "
                                f"ORDER BY {keys}"):
            yield f"{what} {' '.join(map(str, row))}: {label}"
    on = " AND ".join(f"a.{c} = b.{c}" for c in cols[:-1])
    last = cols[-1]
    for row in conn.execute(f"SELECT {', '.join('a.' + c for c in cols[:-1])}, a.{last}, b.{last} "
                            f"FROM temp.a AS a JOIN temp.b AS b ON {on} WHERE a.{last} IS NOT b.{last} "
                            f"ORDER BY {', '.join('a.' + c for c in cols[:-1])}"):
        yield f"{what} {' '.join(map(str, row[:-2]))}: current {row[-2]}, rebuilt {row[-1]}"
