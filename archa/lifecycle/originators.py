"""Originators: the municipalities and organisations whose records the repository keeps.

Every AIP belongs to one originator. At ingest it is, in this order: the one named by
`--originator`; the one whose id or IČO the bag-info field `Originator-Identifier` gives
(an NSESSS transfer lifts the originator's IČO into it); the one whose name equals the
bag-info `Source-Organization` (or `Originator`). A name or IČO that no originator has yet
registers a new one (reported), so that no record is refused for it; with nothing to go
by the AIP belongs to the originator `unknown`. The assignment is written into the AIP's
PREMIS (an agent of identifier type `archa-originator` with role `originator` on the
ingestion event, its IČO in the agent's note), so `catalog rebuild` restores it.

A quota (bytes of one copy of the originator's active AIPs) refuses an ingest that would
exceed it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archa.errors import ArchaError, UsageError
from archa.identifiers import ico_valid
from archa.metadata.premis import ORIGINATOR_AGENT, Agent
from archa.repository.events import ARCHA_AGENT, Event, now_iso
from archa.repository.repo import Repository, writes_beside

ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
UNKNOWN = "unknown"


class QuotaExceeded(ArchaError):
    """An ingest would take an originator over its storage quota."""

    exit_code = 1

    def __init__(self, message: str, *, originator: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.originator = originator


@dataclass(frozen=True)
class Originator:
    id: str
    name: str
    ico: str = ""
    seat: str = ""
    quota_bytes: int | None = None

    def row(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "ico": self.ico or None, "seat": self.seat or None,
                "quota_bytes": self.quota_bytes, "created": now_iso()}


def slug(name: str) -> str:
    """An originator id from a name: ASCII, lower case, '-' between words (`Obec Brtnice` ->
    `obec-brtnice`)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:64] or UNKNOWN


@writes_beside
def add_originator(repo: Repository, o: Originator) -> Originator:
    """Register an originator (takes the repository lock itself). UsageError for a bad or taken
    id, an empty name, an invalid IČO or one another originator has."""
    if not ID.match(o.id):
        raise UsageError(f"originator id {o.id!r}: use a-z, 0-9, '.', '_' and '-' (at most 64), starting with a "
                         "letter or digit", hint=f"e.g. {slug(o.name)!r}")
    if not o.name.strip():
        raise UsageError("an originator needs a name", hint="give --name")
    if o.ico and not ico_valid(o.ico):
        raise UsageError(f"IČO {o.ico!r} is not valid (eight digits with a mod-11 check digit)")
    cat = repo.catalog
    if cat.lifecycle.has_originator(o.id):
        raise UsageError(f"originator {o.id!r} exists already", hint="see `archa originator show`")
    if o.ico and cat.lifecycle.ico_taken(o.ico):
        raise UsageError(f"another originator has the IČO {o.ico}", hint="see `archa originator list`")
    _register(repo, o, f"originator {o.id} registered: {o.name}" + (f", IČO {o.ico}" if o.ico else "")
              + (f", quota {o.quota_bytes} bytes" if o.quota_bytes else ""))
    return o


def _register(repo: Repository, o: Originator, detail: str) -> None:
    repo.catalog.lifecycle.record_originator(o.row(), Event("policy assignment", "success", detail, ARCHA_AGENT))


def _value(info: Sequence[tuple[str, str]], label: str) -> str:
    return next((v.strip() for k, v in info if k.lower() == label.lower() and v.strip()), "")


@dataclass(frozen=True)
class Assignment:
    originator: Originator
    new: bool = False  # to be registered together with the AIP
    note: str = ""  # how it was found


def resolve(repo: Repository, explicit: str | None, info: Sequence[tuple[str, str]]) -> Assignment:
    """The originator of an incoming SIP (see the module docstring). A new one is returned
    with `new` set, for the caller to register together with the AIP (so a SIP that is then
    rejected registers nothing)."""
    rows = {r["id"]: r for r in repo.catalog.originators(repo.hot_location)}

    def of(row: dict[str, Any]) -> Originator:
        return Originator(row["id"], row["name"], row["ico"] or "", row["seat"] or "", row["quota_bytes"])

    if explicit:
        if explicit not in rows:
            raise UsageError(f"no originator {explicit!r}", hint="register it with `archa originator add`, or see "
                                                                 "`archa originator list`")
        return Assignment(of(rows[explicit]))
    ident = _value(info, "Originator-Identifier")
    name = _value(info, "Source-Organization") or _value(info, "Originator")
    for r in rows.values():
        if ident and ident in (r["id"], r["ico"]):
            return Assignment(of(r))
    for r in rows.values():
        if name and r["name"].casefold() == name.casefold():
            return Assignment(of(r))
    if not ident and not name:
        unknown = Originator(UNKNOWN, "unknown originator")
        return Assignment(of(rows[UNKNOWN]) if UNKNOWN in rows else unknown, UNKNOWN not in rows,
                          "the SIP names no originator")
    ico = ident if ico_valid(ident) else ""
    new_id = ident if ident and ID.match(ident) and not ico else (ico or slug(name))
    while new_id in rows:
        new_id = f"{new_id}-2"
    o = Originator(new_id, name or ident, ico)
    return Assignment(o, True, f"originator {o.id} ({o.name}" + (f", IČO {ico}" if ico else "")
                      + ") registered from the SIP")


def check_quota(repo: Repository, o: Originator, incoming: int) -> None:
    """QuotaExceeded when `incoming` more bytes would take `o` over its quota."""
    if not o.quota_bytes:
        return
    used = repo.catalog.originator(o.id, repo.hot_location)["bytes"]
    if used + incoming > o.quota_bytes:
        from archa.units import human_bytes

        raise QuotaExceeded(f"originator {o.id} would exceed its quota: {human_bytes(used)} stored + "
                            f"{human_bytes(incoming)} incoming > {human_bytes(o.quota_bytes)}", originator=o.id,
                            hint="raise the quota (archa originator quota) or make room; nothing was stored")


@writes_beside
def set_quota(repo: Repository, originator_id: str, quota: int | None) -> None:
    repo.catalog.originator(originator_id, repo.hot_location)  # NotFoundError
    repo.catalog.lifecycle.set_quota(originator_id, quota, Event("policy assignment", "success",
                                                                 f"originator {originator_id}: quota set to "
                                                                 f"{quota if quota else 'none'}", ARCHA_AGENT))


SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?i?B?)?\s*$", re.IGNORECASE)
UNITS = {"": 1, "B": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
         "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40, "PI": 2**50}


def parse_size(text: str) -> int:
    """`2TB`, `500 GiB`, `1.5T`, `1000000` as bytes; UsageError otherwise."""
    m = SIZE.match(text)
    if not m:
        raise UsageError(f"{text!r} is not a size", hint="e.g. 2TB, 500GiB or 1000000")
    unit = (m.group(2) or "").upper().removesuffix("B")
    if unit not in UNITS:
        raise UsageError(f"{text!r}: unknown unit", hint="use B, KB, MB, GB, TB (or KiB, MiB, GiB, TiB)")
    return int(float(m.group(1)) * UNITS[unit])


def premis_agent(o: Originator) -> Agent:
    """The PREMIS agent that records which originator an AIP belongs to."""
    return Agent(ORIGINATOR_AGENT, o.id, o.name, "organization", note=f"IČO {o.ico}" if o.ico else "")


def from_agent(a: Agent) -> Originator:
    ico = a.note.removeprefix("IČO ").strip() if a.note.startswith("IČO ") else ""
    return Originator(a.id_value, a.name, ico)
