"""Rebuilding the catalog from the storage locations alone.

Sources: every OCFL object (inventories; METS for labels and MIME types; PREMIS for formats,
original names and events; dc.xml for the external identifier) in any `ocfl` location,
falling back to a packed copy's archive when no OCFL copy exists; the packed indexes for
packed copies. Transfers are not in storage (rejected SIPs never reach it) and are not
rebuilt; replication events are not in PREMIS and are not rebuilt either.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lxml import etree

from archa.errors import StorageError
from archa.repository.catalog import Catalog, FileRow
from archa.repository.copies import iter_packed, read_packed_index
from archa.repository.events import Event, append_events
from archa.repository.ocfl import INVENTORY
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

    inventory: dict[str, Any] | None = None
    metadata_source: tuple[Store, str, str] | None = None  # (store, kind, prefix)
    copies: list[dict[str, Any]] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)  # object-relative path -> size


@dataclass
class RebuildReport:
    path: str
    aips: int = 0
    files: int = 0
    copies: int = 0
    differences: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _scan(repo: Repository) -> dict[str, Found]:
    found: dict[str, Found] = {}
    for loc in repo.config.locations:
        store = repo.store(loc)
        for key, _size in store.list(""):
            parts = key.split("/")
            if loc.kind == "ocfl" and len(parts) == 5 and parts[4] == INVENTORY:
                inv = json.loads(store.read_bytes(key))
                f = found.setdefault(inv["id"], Found())
                prefix = "/".join(parts[:4])
                sizes = {k[len(prefix) + 1:]: s for k, s in store.list(prefix)}
                if f.inventory is None or len(inv["versions"]) > len(f.inventory["versions"]):
                    f.inventory = inv
                if f.metadata_source is None or f.metadata_source[1] != "ocfl":
                    f.metadata_source = (store, "ocfl", prefix)
                    f.sizes = sizes
                for v in inv["versions"]:
                    f.copies.append({"aip_id": inv["id"], "version": v, "location": loc.name, "state": "ok",
                                     "written": inv["versions"][v]["created"], "last_audit": None,
                                     "bytes": sum(s for k, s in sizes.items()
                                                  if k.startswith(f"{v}/") or "/" not in k),
                                     "archive_sha256": ""})
            elif loc.kind == "packed" and len(parts) == 5 and parts[4].endswith(".index.json"):
                index = json.loads(store.read_bytes(key))
                f = found.setdefault(index["id"], Found())
                if f.metadata_source is None:
                    f.metadata_source = (store, "packed", index["version"])
                f.copies.append({"aip_id": index["id"], "version": index["version"], "location": loc.name,
                                 "state": "ok", "written": None, "last_audit": None,
                                 "bytes": index.get("archive_bytes"),
                                 "archive_sha256": index.get("archive_sha256", "")})
    return found




BAG_INFO = "metadata/submission/bag-info.txt"


def _metadata(aip_id: str, f: Found, inv: dict[str, Any], head: str) -> dict[str, bytes]:
    """The bytes of METS.xml, premis.xml and dc.xml of the head version."""
    state = inv["versions"][head]["state"]
    want = {"METS.xml", "metadata/preservation/premis.xml", "metadata/descriptive/dc.xml", BAG_INFO}
    content = {p: inv["manifest"][d][0] for d, paths in state.items() for p in paths if p in want}
    assert f.metadata_source is not None
    store, kind, where = f.metadata_source
    if kind == "ocfl":
        return {p: store.read_bytes(f"{where}/{c}") for p, c in content.items()}
    wanted = {c: p for p, c in content.items()}
    out = {}
    for ti, fh in iter_packed(store, aip_id, where):
        if ti.name in wanted:
            out[wanted[ti.name]] = fh.read()
    return out


def _inventory_from_packed(f: Found, aip_id: str) -> dict[str, Any]:
    assert f.metadata_source is not None
    store, _kind, version = f.metadata_source
    for ti, fh in iter_packed(store, aip_id, version):
        if ti.name == INVENTORY:
            inv: dict[str, Any] = json.loads(fh.read())
            return inv
    raise StorageError(f"location {store.name!r}: packed copy of {aip_id} {version} has no inventory",
                       location=store.name)


def _rows(aip_id: str, inv: dict[str, Any], meta: dict[str, bytes], packed_sizes: dict[str, int]
          ) -> tuple[dict[str, Any], dict[str, Any], list[FileRow], list[Event]]:
    head = inv["head"]
    version = inv["versions"][head]
    mets = etree.fromstring(meta["METS.xml"], _PARSER)
    premis = etree.fromstring(meta["metadata/preservation/premis.xml"], _PARSER)
    dc = etree.fromstring(meta["metadata/descriptive/dc.xml"], _PARSER) if "metadata/descriptive/dc.xml" in meta else None
    mimes = {unquote(fl.get(f"{{{NS['x']}}}href")): fl.getparent().get("MIMETYPE", "")
             for fl in mets.iterfind(".//m:file/m:FLocat", NS)}
    objects = {o.findtext("p:objectIdentifier/p:objectIdentifierValue", namespaces=NS): o
               for o in premis.iterfind("p:object", NS)}
    files = []
    for digest, paths in version["state"].items():
        for logical in paths:
            o = objects.get(logical)
            role = "payload" if logical.startswith("representations/") else \
                "submission" if logical.startswith("metadata/submission/") else "metadata"
            puid = name = fver = engine = ever = sver = basis = ""
            size = packed_sizes.get(inv["manifest"][digest][0], 0)
            original = ""
            if o is not None:
                original = o.findtext("p:originalName", namespaces=NS) or ""
                puid = o.findtext(".//p:formatRegistryKey", namespaces=NS) or "UNKNOWN"
                name = o.findtext(".//p:formatName", namespaces=NS) or ""
                name = "" if puid == "UNKNOWN" else name
                fver = o.findtext(".//p:formatVersion", namespaces=NS) or ""
                for note in o.iterfind(".//p:formatNote", NS):
                    m = _NOTE.match(note.text or "")
                    if m:
                        engine, ever, sver, basis = m.groups()
                if not engine:
                    basis = "none"
            files.append(FileRow(aip_id, head, logical, inv["manifest"][digest][0], role, original, size, digest,
                                 puid, name, fver, mimes.get(logical, "text/xml" if role == "metadata" else ""),
                                 basis, engine, ever, sver))
    events = []
    for e in premis.iterfind("p:event", NS):
        agents = [a.findtext("p:linkingAgentIdentifierValue", namespaces=NS)
                  for a in e.iterfind("p:linkingAgentIdentifier", NS)
                  if a.findtext("p:linkingAgentRole", namespaces=NS) == "executing program"]
        events.append(Event(e.findtext("p:eventType", namespaces=NS) or "",
                            e.findtext(".//p:eventOutcome", namespaces=NS) or "",
                            e.findtext(".//p:eventDetail", namespaces=NS) or "", agents[0] if agents else "",
                            aip_id, head, time=e.findtext("p:eventDateTime", namespaces=NS) or "",
                            id=e.findtext("p:eventIdentifier/p:eventIdentifierValue", namespaces=NS) or ""))
    ids = [i.text for i in dc.iterfind("dc:identifier", NS)] if dc is not None else []
    aip = {"id": aip_id, "created": version["created"], "label": mets.get("LABEL", ""),
           "external_id": next((i for i in ids if i and i != aip_id), "") or "", "head": head, "transfer_id": ""}
    vrow = {"aip_id": aip_id, "version": head, "created": version["created"], "message": version.get("message", ""),
            "files": len(files), "bytes": sum(f.size for f in files), "inventory_digest": "",
            "digest_algorithm": inv["digestAlgorithm"], "stored": 0}
    return aip, vrow, files, events


def rebuild_catalog(repo: Repository, dest: Path) -> RebuildReport:
    """Write a catalog at `dest` (which must not exist) from the locations alone."""
    from archa.repository.placement import placement_satisfied

    cat = Catalog.create(dest)
    report = RebuildReport(str(dest))
    try:
        for aip_id, f in sorted(_scan(repo).items()):
            inv = f.inventory or _inventory_from_packed(f, aip_id)
            meta = _metadata(aip_id, f, inv, inv["head"])
            sizes = f.sizes
            if f.metadata_source and f.metadata_source[1] == "packed":
                idx = read_packed_index(f.metadata_source[0], aip_id, f.metadata_source[2])
                sizes = {k: v["size"] for k, v in idx["members"].items()}
            aip, vrow, files, events = _rows(aip_id, inv, meta, sizes)
            ok = {c["location"] for c in f.copies if c["version"] == inv["head"]}
            vrow["stored"] = int(placement_satisfied(repo, ok))
            retention, _problems = from_bag_info(parse_bag_info(meta[BAG_INFO].decode("utf-8", "replace"))) \
                if BAG_INFO in meta else ([], [])
            with cat.transaction():
                cat.db.table("aips").insert(aip)
                cat.db.table("retention").insert_all(r.row(aip_id) for r in retention)
                cat.db.table("versions").insert(vrow)
                cat.db.table("files").insert_all((r.as_row() for r in files), batch_size=2000)
                cat.db.table("copies").insert_all(f.copies)
                append_events(cat.conn, events)
            report.aips += 1
            report.files += len(files)
            report.copies += len(f.copies)
    finally:
        cat.close()
    return report


def compare_catalogs(current: Catalog, rebuilt: Catalog) -> list[str]:
    """Human-readable differences in AIPs, versions, files (path, digest, PUID) and copies."""
    def keyed(cat: Catalog, sql: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        return {tuple(r[:-1]): tuple(r[-1:]) for r in cat.conn.execute(sql).fetchall()}

    queries = {
        "AIP": "SELECT id, head FROM aips",
        "version": "SELECT aip_id, version, files FROM versions",
        "file": "SELECT aip_id, version, logical_path, digest || ' ' || puid FROM files",
        "copy": "SELECT aip_id, version, location, state FROM copies",
        "retention": "SELECT aip_id, entity, sign || ' ' || until_year || ' ' || COALESCE(until_declared, 0) || ' ' "
                     "|| COALESCE(disposal_date, '') || ' ' || COALESCE(disposal_operation, '') FROM retention",
    }
    out = []
    for what, sql in queries.items():
        a, b = keyed(current, sql), keyed(rebuilt, sql)
        for k in sorted(a.keys() - b.keys(), key=str):
            out.append(f"{what} {' '.join(map(str, k))}: in the current catalog only")
        for k in sorted(b.keys() - a.keys(), key=str):
            out.append(f"{what} {' '.join(map(str, k))}: found in storage, missing from the current catalog")
        for k in sorted(a.keys() & b.keys(), key=str):
            if a[k] != b[k]:
                out.append(f"{what} {' '.join(map(str, k))}: current {a[k][0]}, rebuilt {b[k][0]}")
    return out
