"""AIP ids as people type them: `resolve_aip_id(catalog, text)` turns what an archivist gives
a command into the AIP's whole id, or says why it cannot (exit status 2 either way).

Accepted, when it names exactly one AIP (any state: a removed AIP's tombstone is still
shown, and the commands that change an AIP then refuse it as removed):
- the whole id, `urn:uuid:<uuid>`, or the bare UUID (either case);
- a prefix of the UUID of at least `MIN_PREFIX` characters, with or without `urn:uuid:`;
- the record's External-Identifier (bag-info.txt; the catalog keeps it per AIP);
- the identifier of an entity the record carries (an NSESSS `Identifikator`, e.g. the file's
  or document's: each retention row keeps its entity's identifier).

The whole id exactly as archa gives it (`urn:uuid:` and the UUID in lower case) always names
its AIP, whatever a producer wrote into another bag; every other form is looked up each way,
so that a bare UUID that is also another AIP's External-Identifier names two AIPs (a
producer's text never silently redirects a command that changes a record).

A text several AIPs answer to is `AmbiguousAipId` (the candidates listed with label and
state); one no AIP answers to is `UnknownAipId`, with the closest ids and names (difflib,
over every name in a catalog of up to `COMPARE_ALL` AIPs, else over the names next to it in
each index). Every lookup reads an index (catalog/lookup.py): at a million AIPs each answers
in milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archa.errors import NotFoundError, UsageError, printable, utf8_text

if TYPE_CHECKING:
    from archa.repository.catalog import Catalog

ID_PREFIX = "urn:uuid:"
MIN_PREFIX = 8  # characters of the UUID a prefix must give
LISTED = 10  # candidates listed at most
CLOSEST = 5  # suggestions given at most
COMPARE_ALL = 10_000  # up to this many AIPs a mistyped name is compared with every name
_UUID_CHARS = re.compile(r"[0-9a-fA-F-]+")


@dataclass(frozen=True)
class Candidate:
    """An AIP a typed text may mean: its id, label, External-Identifier and state."""

    id: str
    label: str
    external_id: str
    state: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> Candidate:
        return cls(str(row["id"]), str(row["label"] or ""), str(row["external_id"] or ""), str(row["state"]))

    def line(self) -> str:
        """One line naming it: id, External-Identifier, label, and the state unless active."""
        ext = f"  {self.external_id}" if self.external_id else ""
        state = f"  [{self.state}]" if self.state != "active" else ""
        return printable(f"{self.id}{ext}  {self.label}{state}")

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "label": self.label, "external_id": self.external_id, "state": self.state}


def _listing(candidates: list[Candidate]) -> str:
    return "\n".join(f"  {c.line()}" for c in candidates)


class AmbiguousAipId(UsageError):
    """A typed text that several AIPs answer to (exit status 2)."""

    def __init__(self, typed: str, candidates: list[Candidate], more: bool) -> None:
        n = f"more than {len(candidates)}" if more else str(len(candidates))
        super().__init__(f"{typed!r} names {n} AIPs",
                         hint="give more of the id (or the whole id) of the one you mean:\n" + _listing(candidates))
        self.typed, self.candidates = typed, candidates

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "candidates": [c.as_dict() for c in self.candidates]}


class UnknownAipId(NotFoundError):
    """A typed text no AIP answers to (exit status 2), with the closest ids and names."""

    def __init__(self, typed: str, closest: list[Candidate], short: bool) -> None:
        why = (f": an id prefix needs {MIN_PREFIX} characters or more" if short
               else " (looked up as an id, an id prefix, an External-Identifier and an entity id)")
        hint = (f"did you mean {'one of these' if len(closest) > 1 else 'this one'}? (every AIP: `archa aip list`)\n"
                + _listing(closest) if closest else "list every AIP with `archa aip list`")
        super().__init__(f"no AIP {typed!r} in the catalog{why}", hint=hint)
        self.typed, self.closest = typed, closest

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "closest": [c.as_dict() for c in self.closest]}


def _uuid_part(typed: str) -> str | None:
    """The UUID characters of `typed` (without `urn:uuid:`, in lower case), or None when it
    cannot be (a part of) an AIP id."""
    core = typed[len(ID_PREFIX):] if typed.lower().startswith(ID_PREFIX) else typed
    return core.lower() if _UUID_CHARS.fullmatch(core) else None


def resolve_aip_id(cat: Catalog, text: str) -> str:
    """The whole id of the one AIP `text` names (see the module docstring for what may be
    given); UsageError for an empty text, AmbiguousAipId when several AIPs answer to it,
    UnknownAipId when none does."""
    typed = utf8_text(text.strip())  # bytes a shell passed that are not UTF-8: as \xNN (no name has them)
    if not typed:
        raise UsageError("no AIP id given", hint="give the AIP's id (or 8 characters of it), its External-Identifier "
                                                 "or an entity id; every AIP: `archa aip list`")
    if cat.has_aip(typed):
        return typed
    found, more = answering(cat, typed)
    if len(found) == 1:
        return found[0]
    if found:
        rows = cat.lookup.described(found[:LISTED])
        raise AmbiguousAipId(typed, [Candidate.of(r) for r in rows], more or len(found) > LISTED)
    core = _uuid_part(typed)
    raise UnknownAipId(typed, closest(cat, typed), short=core is not None and len(core) < MIN_PREFIX)


def answering(cat: Catalog, typed: str) -> tuple[list[str], bool]:
    """The ids of the AIPs `typed` (stripped, UTF-8) answers to other than as a whole id
    exactly as stored: as a UUID or a prefix of one (8 characters or more, any case, with or
    without `urn:uuid:`), an External-Identifier or an entity id; in the order found, and
    whether there may be more than those read (LISTED + 1 per way)."""
    core = _uuid_part(typed)
    found: dict[str, None] = {}  # AIP ids, in the order found
    more = False
    if core is not None and len(core) >= MIN_PREFIX:
        whole = ID_PREFIX + core  # the whole id in another form is a prefix of itself (found first)
        ids = cat.lookup.ids_between(whole, whole[:-1] + chr(ord(whole[-1]) + 1), LISTED + 1)
        found.update(dict.fromkeys(ids))
        more = len(ids) > LISTED
    for named in (cat.lookup.ids_with_external_id(typed, LISTED + 1), cat.lookup.ids_with_entity_id(typed, LISTED + 1)):
        found.update(dict.fromkeys(named))
        more = more or len(named) > LISTED
    return list(found), more


def closest(cat: Catalog, typed: str, n: int = CLOSEST) -> list[Candidate]:
    """The AIPs whose id, External-Identifier or entity id is most like `typed` (at most `n`,
    the likest first): a UUID typed, or a part of one, is compared with as much of each id;
    names without regard to case. Every name is compared in a catalog of up to COMPARE_ALL
    AIPs; in a larger one, the names next to `typed` in each index (a typo past the first
    characters)."""
    core = _uuid_part(typed)
    folded = typed.casefold()
    if cat.lookup.count() <= COMPARE_ALL:
        pool = list(cat.lookup.names())
    else:
        pool = [("id", v, a) for v, a in cat.lookup.near("id", ID_PREFIX + core, n)] if core else []
        for key in dict.fromkeys((typed, typed.upper(), typed.lower())):
            pool += [(kind, v, a) for kind in ("external_id", "entity_id") for v, a in cat.lookup.near(kind, key, n)]
    import difflib  # here: only a mistyped id pays its import (every command resolving an id would)

    best: dict[str, float] = {}
    for kind, value, aip in pool:
        if kind == "id":
            if core is None:
                continue
            a, b = core, value[len(ID_PREFIX):len(ID_PREFIX) + len(core)]
        else:
            a, b = folded, value.casefold()
        m = difflib.SequenceMatcher(None, a, b)
        if m.real_quick_ratio() < 0.6 or m.quick_ratio() < 0.6:
            continue
        ratio = m.ratio()
        if ratio >= 0.6 and ratio > best.get(aip, 0.0):
            best[aip] = ratio
    chosen = sorted(best, key=lambda a: (-best[a], a))[:n]
    order = {a: i for i, a in enumerate(chosen)}
    return sorted((Candidate.of(r) for r in cat.lookup.described(chosen)), key=lambda c: order[c.id])
