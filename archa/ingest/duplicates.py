"""What ingest refuses as held already, and the records a SIP revises (DUP001, DUP003, DUP004).

The same content (every payload path and digest) as any version of an active AIP, the newest
or an older one, is a duplicate (DUP001, naming the AIP and that version): the same folder
sent again after `archa aip update` is recognised. A bag with other content whose
External-Identifier an active AIP has revises that record: it becomes the AIP's next version
(as a changed NSESSS package does, lifecycle/resubmission.py), or is refused when new
versions are not wanted (DUP004) or several AIPs have that identifier (DUP003).
"""

from __future__ import annotations

from dataclasses import dataclass

from archa.errors import Finding
from archa.lifecycle.resubmission import HeldAlready, held_by_external_id
from archa.repository.catalog import Catalog, payload_fingerprint

DUPLICATE_HINT = "nothing was stored; to keep it as another AIP all the same, ingest it with --allow-duplicate"


@dataclass(frozen=True)
class Refusal:
    """Why a SIP is refused as held already, and what to do."""

    findings: list[Finding]
    hint: str


def same_payload(cat: Catalog, name: str, fingerprint: str, files: int, size: int, alg: str) -> Refusal | None:
    """DUP001 when a version of an active AIP holds a payload with this `fingerprint` (of
    `files` files, `size` bytes, digests in `alg`); else None. `name`: the SIP's, for the finding."""
    same = cat.intake.versions_with_payload(fingerprint, files, size, alg)
    if not same:
        return None
    first = next((v for v in same if v["version"] == v["head"]), same[-1])  # the newest, else its latest
    newer = "" if first["version"] == first["head"] else f" (its newest version is {first['head']})"
    return Refusal([Finding("DUP001", f"the same payload (every file, name and digest) is held already as "
                                      f"{first['aip_id']} {first['version']}{newer}", name)], DUPLICATE_HINT)


def revised_by_external_id(cat: Catalog, name: str, external_id: str,
                           new_version: bool) -> tuple[HeldAlready | None, Refusal | None]:
    """The active AIP whose External-Identifier is `external_id`, of which a SIP with other
    content is the next version (None when no AIP has it); a Refusal when several have it
    (DUP003) or `new_version` is False (DUP004)."""
    held, problems = held_by_external_id(cat, external_id, name)
    if problems:
        return None, Refusal(problems, "revise the one meant with `archa aip update`, or ingest it with "
                                       "--allow-duplicate to keep it as another AIP; nothing was stored")
    if held is not None and not new_version:
        return None, Refusal([Finding("DUP004", f"External-Identifier {external_id!r} is held already as "
                                                f"{held.aip_id} {held.head}, with other content", name)],
                             "without --refuse-duplicates it becomes that AIP's next version; " + DUPLICATE_HINT)
    return held, None


def held_before(cat: Catalog, name: str, held: HeldAlready, payload: dict[str, str], size: int) -> Refusal | None:
    """DUP001 when an older version of the AIP a package revises holds the package's payload
    (`payload`: logical path -> digest in the AIP's algorithm, `size` bytes) already: a
    package sent again after its records changed is not taken for a change back."""
    older = [v for v in cat.intake.versions_with_payload(payload_fingerprint(payload.items()), len(payload), size,
                                                         held.digest_algorithm, held.aip_id)
             if v["version"] != held.head]
    if not older:
        return None
    version = older[-1]["version"]
    return Refusal([Finding("DUP001", f"its records are held already, unchanged, as {held.aip_id} {version} "
                                      f"(its newest version is {held.head})", name)],
                   f"nothing was stored; if the records really went back to what {version} held, make that the "
                   "next version with `archa aip update`")
