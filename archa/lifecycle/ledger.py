"""The disposal procedure's records in the catalog: proposals, their items (one per record:
an AIP's base entity), the documents the archive sent, tombstones. Small helpers over the
catalog's `lifecycle` component (its SQL); every change goes with its events in one
transaction."""

from __future__ import annotations

import hashlib
from typing import Any

from archa.errors import EXIT_PROBLEMS, ArchaError, NotFoundError, UsageError
from archa.repository.catalog import Catalog
from archa.repository.events import ARCHA_AGENT, Event, now_iso

# the archive's operations (nsesss:Operace) and what archa does with the record
OPERATIONS = {"vybrat za archiválii": "keep", "zničit": "destroy", "předložit k výběru": "appraise",
              "vyřadit z výběru": "exclude"}
DECISIONS = {"keep": "selected as archival: transfer to the archive", "destroy": "to be destroyed",
             "appraise": "the archive asks for the full package first", "exclude": "taken out of this procedure"}


class InOpenProposal(UsageError):
    """A change to an AIP whose record is in an open disposal proposal: the archive's
    decision (made or to come) is about the version proposed, so no other version is made
    while it stands (`--withdraw-from-proposal` takes the record out first)."""

    def __init__(self, aip_id: str, items: list[dict[str, Any]], hint: str = "") -> None:
        self.aip_id = aip_id
        self.proposals = sorted({i["proposal_id"] for i in items})
        super().__init__(f"{aip_id} is in the open disposal proposal {', '.join(self.proposals)} ("
                         + "; ".join(f"{i['entity_id'] or i['entity'] or 'the record'}: {describe(i)}" for i in items)
                         + "): the archive's decision is about the version proposed, and a new version would be "
                           "content it never saw", hint=hint)


class DisposalRefused(ArchaError):
    """A disposal step found nothing it may do: every record it would remove or hand over is
    held, or changed since the archive decided on it. `problems` names each."""

    exit_code = EXIT_PROBLEMS

    def __init__(self, message: str, problems: list[str], hint: str = "") -> None:
        super().__init__(f"{message}: " + "; ".join(problems[:30]), hint=hint)
        self.problems = problems


def describe(item: dict[str, Any]) -> str:
    """Where an item stands, in words: its decision and the version it was proposed as."""
    state = f"decided {item['decision']} {item['decided'] or ''}".strip() if item["decision"] else "no decision yet"
    if item["transferred"]:
        state += f", handed over as {item['transfer_sip']}"
    return state + (f"; proposed as {item['version']}" if item.get("version") else "")


def proposal(cat: Catalog, proposal_id: str) -> dict[str, Any]:
    found = cat.lifecycle.proposal(proposal_id)
    if found is None:
        raise NotFoundError(f"no disposal proposal {proposal_id!r}", hint="see `archa disposal list`")
    return found


def proposals(cat: Catalog) -> list[dict[str, Any]]:
    return cat.lifecycle.proposals()


def items(cat: Catalog, proposal_id: str) -> list[dict[str, Any]]:
    return cat.lifecycle.proposal_items(proposal_id)


def open_items(cat: Catalog) -> dict[str, str]:
    """AIP id -> the proposal it is open in (not destroyed, excluded or confirmed yet)."""
    return cat.lifecycle.open_items()


def binding_items(cat: Catalog, aip_id: str) -> list[dict[str, Any]]:
    """The items of open proposals holding `aip_id` (the proposal not closed, the item neither
    taken out nor removed yet): the decision each carries, or waits for, binds the version
    it was proposed as."""
    return cat.lifecycle.binding_items(aip_id)


def withdraw(cat: Catalog, items: list[dict[str, Any]], why: str) -> None:
    """Take `items` out of their proposals (decision `exclude`, `withdrawn` set; a later
    proposal may name the record again), each with an `appraisal` event saying what was set
    aside. Call inside `cat.transaction()`."""
    stamp = now_iso()
    for i in items:
        update_items(cat, i["proposal_id"], [(i, {"decision": "exclude", "withdrawn": stamp})],
                     [Event("appraisal", "success",
                            f"withdrawn from disposal proposal {i['proposal_id']}: {i['entity']} "
                            f"({i['entity_id'] or '-'}), {describe(i)}"
                            + (f" (inventory {i['inventory_digest']})" if i.get("inventory_digest") else "")
                            + f", set aside for {why}", ARCHA_AGENT, i["aip_id"], time=stamp)])


def changed_since(cat: Catalog, aip_id: str, items: list[dict[str, Any]]) -> str:
    """How the AIP's head differs from the version (and inventory digest) its items were
    proposed as, and handed over as when they were: "" when it is that version still (or
    when nothing was recorded: items proposed before schema 13)."""
    head = cat.aip(aip_id)["head"]
    digest = next(v["inventory_digest"] for v in cat.versions(aip_id) if v["version"] == head)
    for i in items:
        for what, version, recorded in (("proposed", i["version"], i["inventory_digest"]),
                                        ("handed over", i["transferred_version"], i["transferred_digest"])):
            if version is not None and (version, recorded) != (head, digest):
                return (f"{i['entity_id'] or i['entity'] or aip_id} was {what} in {i['proposal_id']} as {version} "
                        f"(inventory {recorded}); the AIP is now {head} (inventory {digest})")
    return ""


def store_document(cat: Catalog, kind: str, name: str, data: bytes) -> str:
    """Keep a document the archive sent (idempotent); returns its sha256. Call in a transaction."""
    digest = hashlib.sha256(data).hexdigest()
    cat.lifecycle.store_document(digest, kind, name, data, now_iso())
    return digest


def update_items(cat: Catalog, proposal_id: str, changes: list[tuple[dict[str, Any], dict[str, Any]]],
                 events: list[Event], state: str | None = None) -> None:
    """Set columns of items (each `(item, {column: value})`), the proposal's state, and append
    `events`, at once. Call inside `cat.transaction()`."""
    cat.lifecycle.update_items(proposal_id, changes, events, state)


def document(cat: Catalog, sha256: str) -> dict[str, Any] | None:
    return cat.lifecycle.document(sha256)
