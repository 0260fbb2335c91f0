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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from lxml import etree

from archa.errors import StorageError
from archa.ingest.staging import BATCH, scratch_db
from archa.metadata.premis import ORIGINATOR_AGENT, PremisFile, PremisRecord, read_premis
from archa.repository.catalog import Catalog, FileRow, FileWriter, journal_triggers
from archa.repository.copies import TOMBSTONES, iter_packed, packed_keys
from archa.repository.events import Event, append_events
from archa.repository.hashing import file_digest
from archa.repository.jsonstream import JsonStream
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


@dataclass
class RebuildReport:
    path: str
    aips: int = 0
    files: int = 0
    copies: int = 0
    differences: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Scan:
    found: dict[str, Found] = field(default_factory=dict)  # AIP id -> its copies
    tombstones: dict[str, bytes] = field(default_factory=dict)  # AIP id -> tombstone.json
    objects: dict[str, set[str]] = field(default_factory=dict)  # object path -> locations holding any key of it


def _scan(repo: Repository) -> Scan:
    scan = Scan()
    found = scan.found
    seen: set[str] = set()
    for loc in repo.config.locations:
        store = repo.store(loc)
        for key, _size in store.list(""):
            parts = key.split("/")
            if parts[0] == "extensions":
                if key.startswith(TOMBSTONES + "/") and parts[-1] == "tombstone.json" and len(parts) == 7 \
                        and parts[5] not in seen:  # one location's copy of a tombstone is enough
                    seen.add(parts[5])
                    data = store.read_bytes(key)
                    scan.tombstones[json.loads(data)["id"]] = data
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
                newer = len(inv["versions"]) > f.versions
                if newer or f.metadata_source is None or f.metadata_source[1] != "ocfl":
                    # read from the OCFL copy with the most versions (a copy not yet synced has fewer);
                    # nothing per file is kept here, so the scan's memory grows with AIPs, not files
                    f.versions = len(inv["versions"])
                    f.metadata_source = (store, "ocfl", prefix)
                for v in inv["versions"]:
                    f.copies.append({"aip_id": inv["id"], "version": v, "location": loc.name, "state": "ok",
                                     "written": inv["versions"][v], "last_audit": None,
                                     "bytes": sizes.get(v, 0) + sizes.get("", 0), "archive_sha256": ""})
            elif loc.kind == "packed" and len(parts) == 5 and parts[4].endswith(".index.json"):
                with store.open(key) as fh:
                    index = _index_head(fh)
                f = found.setdefault(index["id"], Found())
                if f.metadata_source is None:
                    f.metadata_source = (store, "packed", index["version"])
                f.copies.append({"aip_id": index["id"], "version": index["version"], "location": loc.name,
                                 "state": "ok", "written": None, "last_audit": None,
                                 "bytes": index.get("archive_bytes"),
                                 "archive_sha256": index.get("archive_sha256", "")})
    return scan




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
    """A packed copy's index without its member list, read as a stream."""
    js = JsonStream(f)
    out: dict[str, Any] = {}
    for key in js.members():
        if key in ("members", "frames"):
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


def rebuild_catalog(repo: Repository, dest: Path) -> RebuildReport:
    """Write a catalog at `dest` (which must not exist) from the locations alone."""

    cat = Catalog.create(dest)
    report = RebuildReport(str(dest))
    journal_triggers(cat.db, create=False)  # what the rebuild writes is no new change
    try:
        scan = _scan(repo)
        premis_events: list[Event] = []  # from PREMIS and tombstones: what no location's log holds
        for aip_id, data in sorted(scan.tombstones.items()):
            premis_events += _record_tombstone(cat, json.loads(data), scan.objects.get(object_relpath(aip_id), set()))
            report.aips += 1
        for aip_id, f in sorted(scan.found.items()):
            if aip_id in scan.tombstones:
                continue  # remnants of an AIP being destroyed: its tombstone says what it was
            work = repo.new_work_dir()
            try:
                premis_events += _rebuild_aip(repo, cat, aip_id, f, work, report)
            finally:
                repo.release_work_dir(work)
            report.aips += 1
            report.copies += len(f.copies)
        _restore_events(repo, cat, premis_events)
        _restore_copy_states(cat)
        _restore_changes(repo, cat)
        journal_triggers(cat.db)
    finally:
        cat.close()
    return report


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


def _restore_events(repo: Repository, cat: Catalog, premis_events: list[Event]) -> None:
    """The event log row for row from the location holding the longest intact copy of it
    (same sequence numbers, ids and hashes), then the events only PREMIS knows (a command
    whose events never reached storage), chained on. Without any log in storage: PREMIS."""
    from archa.repository.eventlog import COLUMNS, read_anchored

    logs = []
    for loc in repo.config.locations:
        try:
            log = read_anchored(repo.store(loc))
        except StorageError:
            continue
        intact = 0
        while intact + 1 in log.rows:
            intact += 1
        logs.append((intact, log))
    best = max(logs, key=lambda x: x[0], default=(0, None))
    with cat.transaction():
        if best[1] is not None and best[0]:
            rows = [best[1].rows[s] for s in range(1, best[0] + 1)]
            cat.conn.executemany(f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                                 [[r[c] for c in COLUMNS] for r in rows])
            for intact, log in logs:
                if intact and all(log.rows[s]["hash"] == best[1].rows[s]["hash"] for s in (1, intact)):
                    cat.conn.execute("INSERT INTO event_anchors (location, last_seq, last_hash) VALUES (?, ?, ?)",
                                     [log.location, intact, log.rows[intact]["hash"]])
        known = {r[0] for r in cat.conn.execute("SELECT id FROM events")}
        append_events(cat.conn, [e for e in premis_events if e.id not in known])


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


def _restore_changes(repo: Repository, cat: Catalog) -> None:
    """Replay the journal of the catalog-only tables (transfers, originators, holds, disposal
    proposals and their items, the archive's documents) from the location holding the most
    of it, and keep the journal itself, row for row."""
    from archa.repository.eventlog import read_changes

    best: tuple[str, list[dict[str, Any]]] = ("", [])
    held: dict[str, int] = {}
    for loc in repo.config.locations:
        try:
            changes = read_changes(repo.store(loc))
        except StorageError:
            continue
        held[loc.name] = len(changes)
        if len(changes) > len(best[1]):
            best = (loc.name, changes)
    columns: dict[str, list[tuple[str, str, int]]] = {}
    with cat.transaction():
        for c in best[1]:
            table = c["tbl"]
            if table not in columns:
                columns[table] = [(r[1], (r[2] or "").upper(), r[5]) for r in cat.conn.execute(
                    f"PRAGMA table_info({table})")]
            cols = columns[table]
            row = {n: (bytes.fromhex(c["row"][n]) if "BLOB" in t and c["row"].get(n) is not None else c["row"].get(n))
                   for n, t, _pk in cols}
            if c["op"] == "delete":
                keys = [n for n, _t, pk in cols if pk]
                cat.conn.execute(f"DELETE FROM {table} WHERE " + " AND ".join(f"{k} = ?" for k in keys),
                                 [row[k] for k in keys])
            else:
                cat.conn.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(row)}) VALUES "
                                 f"({', '.join('?' * len(row))})", list(row.values()))
            cat.conn.execute("INSERT INTO changes (seq, tbl, op, row) VALUES (?, ?, ?, ?)",
                             [c["seq"], table, c["op"], json.dumps(c["row"], ensure_ascii=False)])
        for name, n in held.items():
            cat.conn.execute("INSERT INTO event_anchors (location, last_seq, last_change) VALUES (?, 0, ?) "
                             "ON CONFLICT(location) DO UPDATE SET last_change = excluded.last_change", [name, n])


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
