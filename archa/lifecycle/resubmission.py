"""Records that arrive again: a package whose entities (NSESSS `Identifikator` with its
`zdroj`, carried in bag-info as Retention-Entity-Identifier / -Source) are held already, or
a bag whose External-Identifier an active AIP has (`held_by_external_id`).

Ingest asks `held_already` once the bag is read. When an active AIP holds those entities:
- the same payload (every path and digest) as any of its versions is refused as a duplicate
  (DUP001, naming that version);
- changed content becomes version vN+1 of that AIP (`new_version`, the default), with the
  new payload, the package's tag files as its submission metadata, Dublin Core and
  retention rows from its bag-info; or is refused (DUP002) when new versions are not
  wanted;
- entities held by several AIPs, or an AIP holding more entities than the package brings
  (a new version would lose them), are refused (DUP003): which AIP to change is for an
  archivist to say (`archa aip update`);
- an AIP whose record is in an open disposal proposal gets no new version: the package is
  refused (DUP005, raised by the update, `versions._Update`) unless the ingest was asked to
  withdraw the record from the proposal (`--withdraw-from-proposal`, an event).

A bag without such entities whose content no AIP holds, but whose External-Identifier an
active AIP has, is that record revised: ingest makes it the AIP's next version the same way
(or refuses it, DUP004, when new versions are not wanted); one named by several AIPs is
refused (DUP003).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archa.errors import Finding
from archa.repository.catalog import Catalog
from archa.repository.hashing import file_digest
from archa.repository.retention import Retention


@dataclass(frozen=True)
class HeldAlready:
    aip_id: str
    head: str
    digest_algorithm: str
    payload: dict[str, str]  # logical path -> digest, of the head version
    # how the SIP was found to revise it: "" by its records (entity id and source), else the
    # External-Identifier it shares with the AIP
    external_id: str = ""


def held_already(cat: Catalog, retention: list[Retention], sip: str) -> tuple[HeldAlready | None, list[Finding]]:
    """The active AIP holding the package's entities (None when none does), or DUP003 findings."""
    keys = [(r.entity_id, r.entity_source) for r in retention if r.entity_id and r.entity_source]
    if not keys:
        return None, []
    aips = sorted(set(cat.lifecycle.active_aips_holding(keys)))
    if not aips:
        return None, []
    if len(aips) > 1:
        return None, [Finding("DUP003", f"the package's records are held in several AIPs ({', '.join(aips)}); "
                                        "archa cannot tell which one it revises", sip)]
    aip_id = aips[0]
    theirs = {(r["entity_id"], r["entity_source"]) for r in cat.retention(aip_id) if r["entity_id"]}
    lost = sorted(f"{i} ({s})" for i, s in theirs - set(keys))
    if lost:
        return None, [Finding("DUP003", f"{aip_id} holds records this package lacks ({', '.join(lost)}); a new "
                                        "version from it would lose them", sip)]
    return _held(cat, aip_id), []


def held_by_external_id(cat: Catalog, external_id: str, sip: str) -> tuple[HeldAlready | None, list[Finding]]:
    """The active AIP whose External-Identifier is `external_id` (None when none is), or a
    DUP003 finding when several are (stored side by side with --allow-duplicate)."""
    named = [r["id"] for r in cat.intake.active_aips_with_external_id(external_id)]
    if not named:
        return None, []
    if len(named) > 1:
        return None, [Finding("DUP003", f"External-Identifier {external_id!r} is held by several AIPs "
                                        f"({', '.join(named)}); archa cannot tell which one it revises", sip)]
    return _held(cat, named[0], external_id), []


def _held(cat: Catalog, aip_id: str, external_id: str = "") -> HeldAlready:
    aip = cat.aip(aip_id)
    version = next(v for v in cat.versions(aip_id) if v["version"] == aip["head"])
    payload = {f["logical_path"]: f["digest"] for f in cat.files(aip_id, aip["head"]) if f["role"] == "payload"}
    return HeldAlready(aip_id, aip["head"], version["digest_algorithm"], payload, external_id)


def payload_digests(rows: Iterable[tuple[Any, dict[str, str]]], staged: Path, alg: str) -> dict[str, str]:
    """logical path -> `alg` digest of the package's payload (from the digests taken while
    copying, or, for another algorithm, read again from the staged copy)."""
    out = {}
    for row, digests in rows:
        if row.role != "payload":
            continue
        if alg in digests:
            out[row.logical_path] = digests[alg]
        else:
            out[row.logical_path] = file_digest(staged / row.content_path, alg)
    return out
