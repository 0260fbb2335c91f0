"""The disposal procedure (skartační řízení) with the state archive: propose, decide,
transfer, confirm. Destruction is in `destruction.py`.

1. `propose`: every active record whose retention has ended by the year, not under a hold
   and not in another open proposal, becomes an item of a new proposal (one per base entity
   of an AIP). OUT gets `proposal.csv`, `proposal.html` (printable), `proposal.json` and one
   metadata-only NSESSS SIP per record (`OUT/<name>/mets.xml`, checked under
   `skartace-metadata`). OUT is written first and the catalog after; a crash between is
   finished by running the same command again (it adopts the OUT it finds).
2. `decide`: the archive's list (`nsesss:Seznam`, schema nsesss-DA.xsd): each entity's
   `Operace` is matched by `Identifikator` and `zdroj`; an entity that is not in the
   proposal, or an item the list leaves out, is an error naming it. `--keep` is the same by
   hand: the named AIPs or entities are kept, every other item destroyed.
3. `transfer`: a full SIP per kept record (profile `prejimka`, the outcome recorded in its
   metadata) or per record the archive wants to see first (`skartace-uplny`), components
   byte for byte from a copy that verifies.
4. `confirm`: the archive's list with `IdentifikatorDA` per entity it accepted; the archive's
   identifier is recorded with the record, which `destroy` then removes from the repository.

Each step appends events (`appraisal`, `transfer`, `information package creation`) and
keeps the documents the archive sent (sha256) in the catalog.

A decision binds content (issue #22): each item records the AIP version it was proposed as
and that version's inventory digest; while the item is open no new version is made
(`archa aip update` and a resubmitted package refuse unless the record is withdrawn from
the proposal, an event), `transfer` records the version it hands over and refuses a record
whose head is no longer the one proposed, and `destroy` checks both at every location.
Records under a legal hold are neither handed over nor removed (`holds.hold_problems`).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import archa
from archa.errors import ArchaError, UsageError
from archa.lifecycle import ledger
from archa.lifecycle.guards import retention_problem
from archa.lifecycle.holds import PLAIN_HOLD, hold_problems
from archa.lifecycle.sips import (
    Assessor,
    SipCheck,
    check_sip,
    fetch_package,
    review_mets,
    sip_name,
    stored_package,
    transfer_mets,
)
from archa.repository.durable import check_target, fsync_dir, partial_sibling
from archa.repository.events import ARCHA_AGENT, Event, now_iso
from archa.repository.repo import Repository, remove_tree, writes

NS = "http://www.mvcr.cz/nsesss/v4"
ITEM_FIELDS = ("aip_id", "entity_id", "entity_source", "title", "sign", "due_year", "sip", "originator_id", "version",
               "inventory_digest")


class DecisionRejected(ArchaError):
    """The archive's list does not fit the proposal; `problems` names every misfit."""

    def __init__(self, message: str, problems: list[str], hint: str = "") -> None:
        super().__init__(f"{message}: " + "; ".join(problems[:30]), hint=hint)
        self.problems = problems


@dataclass
class ProposalResult:
    proposal: str
    out: str
    items: list[dict[str, Any]] = field(default_factory=list)
    sips: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # due, but under a hold: left out
    held_reasons: dict[str, str] = field(default_factory=dict)  # AIP id -> why (holds.hold_problems)
    elsewhere: dict[str, str] = field(default_factory=dict)  # due, but open in another proposal
    # due by the catalog, but not by the retention the AIP itself states: left out, why
    retention_changed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"proposal": self.proposal, "out": self.out,
                "items": [{k: i[k] for k in ("aip_id", "entity_id", "title", "sign", "due_year", "sip", "version",
                                             "inventory_digest")} for i in self.items],
                "sips": self.sips, "held": self.held, "held_reasons": self.held_reasons, "elsewhere": self.elsewhere,
                "retention_changed": self.retention_changed}


def _write_listing(out: Path, pid: str, year: int, items: list[dict[str, Any]], originator: str | None) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(ITEM_FIELDS)
    for i in items:
        w.writerow([i.get(k) if i.get(k) is not None else "" for k in ITEM_FIELDS])
    (out / "proposal.csv").write_text(buf.getvalue(), "utf-8")
    rows = "".join(
        f"<tr><td>{html.escape(i['entity_id'] or i['aip_id'])}<br><small>{html.escape(i['entity_source'] or '')}"
        f"</small></td><td>{html.escape(i['title'] or '')}</td><td>{i['sign']}</td><td>{i['due_year']}</td>"
        f"<td><small>{html.escape(i['aip_id'])}</small></td><td>{html.escape(i['sip'] or '-')}</td></tr>\n"
        for i in items)
    page = (f"<!DOCTYPE html>\n<html lang=\"cs\"><head><meta charset=\"utf-8\"><title>Návrh na vyřazení {pid}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
            "td,th{border:1px solid #999;padding:.3em;text-align:left;vertical-align:top}"
            "@media print{body{margin:0}}</style></head><body>\n"
            f"<h1>Návrh na vyřazení (skartační řízení) {html.escape(pid)}</h1>\n"
            f"<p>Records whose retention ends by {year}{' of ' + html.escape(originator) if originator else ''}: "
            f"{len(items)}. Signs: A = offer to the archive, V = the archive decides, S = destroy.</p>\n"
            "<table><tr><th>Identifier</th><th>Title</th><th>Sign</th><th>Due</th><th>AIP</th><th>SIP</th></tr>\n"
            f"{rows}</table>\n<p><small>archa {archa.__version__}, {now_iso()[:19]}</small></p></body></html>\n")
    (out / "proposal.html").write_text(page, "utf-8")


def _new_id(repo: Repository, year: int) -> str:
    taken = {p["id"] for p in ledger.proposals(repo.catalog)}
    n = 1
    while f"P{year}-{n:03d}" in taken:
        n += 1
    return f"P{year}-{n:03d}"


@writes
def propose(repo: Repository, year: int, out: Path, originator: str | None = None,
            today: date | None = None, *, check: SipCheck) -> ProposalResult:
    """Propose every record due by `year` (see the module docstring). Takes the repository lock itself.
    `check` is the national rule set each SIP is checked with (archa.transfer.nsesss.check.sip_errors).

    UsageError when nothing new is due (naming the proposals that hold the rest) or OUT
    exists; SipInvalid when a stored package does not make a valid review SIP."""
    cat = repo.catalog
    out = out.absolute()
    if originator:
        cat.originator(originator, repo.hot_location)
    if (out / "proposal.json").is_file():
        adopted = _adopt(repo, out)
        if adopted is not None:
            return adopted
    check_target(out)
    due = cat.retention_due(year, originator)
    held_reasons = hold_problems(repo, sorted({r["aip_id"] for r in due}))
    held = sorted(held_reasons)
    open_in = ledger.open_items(cat)
    elsewhere = {r["aip_id"]: open_in[r["aip_id"]] for r in due if r["aip_id"] in open_in}
    chosen = [r for r in due if r["aip_id"] not in held and r["aip_id"] not in open_in]
    changed: dict[str, str] = {}
    for aip_id in sorted({r["aip_id"] for r in chosen}):
        why = retention_problem(repo, aip_id, cat.aip(aip_id)["head"], cat.retention(aip_id))
        if why:
            changed[aip_id] = why
    chosen = [r for r in chosen if r["aip_id"] not in changed]
    if not chosen:
        where = sorted(set(elsewhere.values()))
        raise UsageError(f"no record is newly due for disposal by {year}"
                         + (f"; {len(elsewhere)} are in proposal {', '.join(where)}" if where else "")
                         + (f"; {len(held)} are under a hold" if held else "")
                         + "".join(f"; {a}: {w}" for a, w in sorted(held_reasons.items())[:3]
                                   if w != PLAIN_HOLD)
                         + (f"; {len(changed)} are due only by a retention changed in the catalog" if changed else ""),
                         hint="see `archa disposal list` and `archa retention due`")
    pid = _new_id(repo, year)
    as_of = max(today or date.today(), date(year, 12, 31))
    partial = partial_sibling(out)
    partial.mkdir()
    result = ProposalResult(pid, str(out), held=held, elsewhere=elsewhere, retention_changed=changed,
                            held_reasons=held_reasons)
    try:
        taken: set[str] = set()
        for r in chosen:
            head = cat.aip(r["aip_id"])["head"]
            item = {"proposal_id": pid, "aip_id": r["aip_id"], "entity": r["entity"], "entity_id": r["entity_id"],
                    "entity_source": r["entity_source"], "title": r["title"] or r["label"], "sign": r["sign"],
                    "due_year": r["until_year"], "sip": None, "originator_id": r["originator_id"], "version": head,
                    "inventory_digest": _inventory_digest(repo, r["aip_id"], head)}
            pkg = stored_package(repo, r["aip_id"], head)
            if pkg is not None:
                item["sip"] = sip_name(r["entity_id"] or r["aip_id"], taken)
                folder = partial / item["sip"]
                fetch_package(repo, r["aip_id"], head, pkg, folder, components=False)
                mets = folder / "mets.xml"
                mets.write_bytes(review_mets(mets.read_bytes(), item["sip"]))
                check_sip(folder, "skartace-metadata", as_of, check)
                result.sips.append(item["sip"])
            result.items.append(item)
        _write_listing(partial, pid, year, result.items, originator)
        (partial / "proposal.json").write_text(json.dumps({"proposal": pid, "as_of_year": year, "originator":
                                                           originator, **result.as_dict()},
                                                          indent=2, ensure_ascii=False), "utf-8")
        os.rename(partial, out)
        fsync_dir(out.parent)
    except BaseException:
        remove_tree(partial) if partial.exists() else None
        raise
    _record_proposal(repo, pid, year, originator, out, result.items)
    return result


def _record_proposal(repo: Repository, pid: str, year: int, originator: str | None, out: Path,
                     items: list[dict[str, Any]]) -> None:
    cat = repo.catalog
    with cat.transaction():
        cat.lifecycle.record_proposal({"id": pid, "created": now_iso(), "as_of_year": year,
                                       "originator_id": originator, "out": str(out), "state": "proposed"},
                                      [{k: v for k, v in i.items() if k != "originator_id"} for i in items])
        ledger.update_items(cat, pid, [], [Event("appraisal", "success",
                                                 f"proposed for disposal in {pid}: {i['entity']} "
                                                 f"({i['entity_id'] or '-'}), sign {i['sign']}, due {i['due_year']}; "
                                                 f"as {i['version']}, inventory {i['inventory_digest']}",
                                                 ARCHA_AGENT, i["aip_id"], i["version"]) for i in items])


def _inventory_digest(repo: Repository, aip_id: str, version: str) -> str:
    """The digest of `version`'s inventory as the catalog records it (`versions.inventory_digest`)."""
    return str(next(v["inventory_digest"] for v in repo.catalog.versions(aip_id) if v["version"] == version))


def _adopt(repo: Repository, out: Path) -> ProposalResult | None:
    """A proposal written to OUT whose catalog rows a crash prevented: record it now."""
    data = json.loads((out / "proposal.json").read_text("utf-8"))
    cat = repo.catalog
    if any(p["id"] == data["proposal"] for p in ledger.proposals(cat)):
        raise UsageError(f"{out}: holds proposal {data['proposal']}, which is recorded already",
                         hint="choose another OUT for a new proposal; see `archa disposal list`")
    by_aip = {r["aip_id"]: r for r in cat.retention_due(data["as_of_year"], data.get("originator"))}
    items = []
    for i in data["items"]:
        r = by_aip.get(i["aip_id"])
        if r is None:
            return None  # not what this repository would propose now: treat OUT as taken
        version = i.get("version") or cat.aip(i["aip_id"])["head"]  # the version OUT was made from
        items.append({"proposal_id": data["proposal"], "aip_id": i["aip_id"], "entity": r["entity"],
                      "entity_id": r["entity_id"], "entity_source": r["entity_source"], "title": i["title"],
                      "sign": i["sign"], "due_year": i["due_year"], "sip": i["sip"], "version": version,
                      "inventory_digest": i.get("inventory_digest") or _inventory_digest(repo, i["aip_id"], version)})
    _record_proposal(repo, data["proposal"], data["as_of_year"], data.get("originator"), out, items)
    return ProposalResult(data["proposal"], str(out), items, data.get("sips", []))


# --- the archive's lists --------------------------------------------------------------------------

def _seznam(path: Path) -> tuple[bytes, list[tuple[tuple[str, str], str, tuple[str, str] | None]]]:
    """(bytes, [((Identifikator, zdroj), Operace or '', IdentifikatorDA or None)]) of a list the
    archive sent, validated against nsesss-DA.xsd. UsageError for what is not such a list."""
    from lxml import etree

    from archa.metadata.xmlsafe import SCHEMAS, read_user_xml

    data, root = read_user_xml(path, hint="the archive's list is an nsesss:Seznam (nsesss-DA.xsd)")
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "nsesss/2024/nsesss-DA.xsd"),
                                         etree.XMLParser(no_network=True, resolve_entities=False)))
    if not schema.validate(root):
        raise UsageError(f"{path}: not a valid nsesss:Seznam: " + "; ".join(
            f"line {e.line}: {e.message}" for e in list(schema.error_log)[:5]),
                         hint="the archive's list is an nsesss:Seznam (nsesss-DA.xsd)")
    entries = []
    for entity in root.iter(f"{{{NS}}}EntitaSeznamu"):
        ident = entity.find(f"{{{NS}}}Identifikator")
        da = entity.find(f"{{{NS}}}IdentifikatorDA")
        entries.append(((" ".join((ident.text or "").split()), (ident.get("zdroj") or "").strip()),
                        (entity.findtext(f"{{{NS}}}Operace") or "").strip(),
                        (" ".join((da.text or "").split()), (da.get("zdroj") or "").strip()) if da is not None else None))
    return data, entries


def _match(items: list[dict[str, Any]], key: tuple[str, str]) -> list[dict[str, Any]]:
    return [i for i in items if (i["entity_id"] or "", i["entity_source"] or "") == key]


@dataclass
class DecisionResult:
    proposal: str
    decisions: dict[str, int]  # decision -> items
    document: str = ""  # sha256 of the list kept

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@writes
def decide(repo: Repository, proposal_id: str, decision: Path | None = None, keep: tuple[str, ...] = (),
           when: date | None = None) -> DecisionResult:
    """Record the archive's decision on a proposal (see the module docstring). Takes the repository lock itself. DecisionRejected names every entity that does not fit."""
    cat = repo.catalog
    ledger.proposal(cat, proposal_id)
    everything = ledger.items(cat, proposal_id)
    items = [i for i in everything if not i["withdrawn"]]  # taken out for a new version: no longer decided on
    withdrawn = {(i["entity_id"] or "", i["entity_source"] or "") for i in everything if i["withdrawn"]}
    if (decision is None) == (not keep):
        raise UsageError("give the archive's list (--decision FILE) or the records to keep (--keep ID ...)")
    chosen: list[tuple[dict[str, Any], str]] = []
    doc = b""
    problems: list[str] = []
    if decision is not None:
        doc, entries = _seznam(decision)
        seen: set[tuple[str, str]] = set()
        for key, operation, da in entries:
            found = _match(items, key)
            if da is not None or not operation:
                problems.append(f"{key[0]} (zdroj {key[1]!r}) carries an archive identifier, not an operation: "
                                "this is a confirmation list (archa disposal confirm)")
            elif not found and key in withdrawn:
                pass  # the list was made before the record was withdrawn from the proposal
            elif not found:
                problems.append(f"{key[0]} (zdroj {key[1]!r}) is not in proposal {proposal_id}")
            elif key in seen:
                problems.append(f"{key[0]} (zdroj {key[1]!r}) is listed twice")
            else:
                chosen += [(i, ledger.OPERATIONS[operation]) for i in found]
            seen.add(key)
        for i in items:
            if (i["entity_id"] or "", i["entity_source"] or "") not in seen:
                problems.append(f"{i['entity_id'] or i['aip_id']} (zdroj {i['entity_source']!r}, AIP {i['aip_id']}) "
                                "is in the proposal but not in the list")
    else:
        wanted = set(keep)
        for k in sorted(wanted):
            if not [i for i in items if k in (i["aip_id"], i["entity_id"])]:
                problems.append(f"{k} is in no item of proposal {proposal_id}")
        chosen = [(i, "keep" if wanted & {i["aip_id"], i["entity_id"]} else "destroy") for i in items]
    # a record handed over for good, taken over or removed keeps its decision; one shown to
    # the archive for appraisal (skartace-uplny) gets its final decision now
    done = [i for i, _d in chosen if i["destroyed"] or i["confirmed"] or i["aip_state"] != "active"
            or (i["transferred"] and i["decision"] == "keep")]
    problems += [f"{i['entity_id'] or i['aip_id']}: already {'removed' if i['destroyed'] or i['aip_state'] != 'active' else 'transferred'}; "
                 "its decision cannot change" for i in done]
    if problems:
        raise DecisionRejected(f"the decision does not fit proposal {proposal_id}", problems,
                               hint="nothing was recorded; correct the list (or ask the archive for one) and "
                                    "run `archa disposal decide` again")
    day = (when or date.today()).isoformat()
    with cat.transaction():
        digest = ledger.store_document(cat, "decision", decision.name if decision else "--keep", doc) \
            if decision is not None else ""
        ledger.update_items(cat, proposal_id,
                            [(i, {"decision": d, "decided": day, "decision_doc": digest or None}) for i, d in chosen],
                            [Event("appraisal", "success", f"decision in {proposal_id} on {i['entity']} "
                                   f"({i['entity_id'] or '-'}): {ledger.DECISIONS[d]}"
                                   + (f" (list {digest[:12]})" if digest else " (by hand)"), ARCHA_AGENT, i["aip_id"])
                             for i, d in chosen], state="decided")
    counts: dict[str, int] = {}
    for _i, d in chosen:
        counts[d] = counts.get(d, 0) + 1
    return DecisionResult(proposal_id, counts, digest)


@dataclass
class TransferResult:
    proposal: str
    out: str
    sips: list[dict[str, str]] = field(default_factory=list)  # {"aip_id", "sip", "profile"}
    held: list[str] = field(default_factory=list)
    held_reasons: dict[str, str] = field(default_factory=dict)  # AIP id -> why (holds.hold_problems)
    without_package: list[str] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # {"aip_id", "problems"}: not what was decided on

    @property
    def problems(self) -> bool:
        return bool(self.held or self.changed)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@writes
def transfer(repo: Repository, proposal_id: str, out: Path, assessor: Assessor,
             today: date | None = None, *, check: SipCheck) -> TransferResult:
    """Full SIPs of the kept records (see the module docstring), each recorded with the version
    and inventory digest it was made from, each checked with `check` (the national rule set:
    archa.transfer.nsesss.check.sip_errors). A record under a hold, or no longer the version it
    was proposed as (`destruction.bound_problems`), is left out and named; DisposalRefused
    (exit 1) when that leaves nothing. Takes the repository lock itself."""
    from archa.lifecycle.destruction import bound_problems

    cat = repo.catalog
    ledger.proposal(cat, proposal_id)
    items = [i for i in ledger.items(cat, proposal_id) if i["decision"] in ("keep", "appraise")
             and not i["confirmed"] and i["aip_state"] == "active"]
    if not items:
        raise UsageError(f"proposal {proposal_id} has no record decided to be kept or shown to the archive",
                         hint="record the archive's decision first: archa disposal decide")
    out = out.absolute()
    check_target(out)
    day = today or date.today()
    result = TransferResult(proposal_id, str(out))
    result.held_reasons = hold_problems(repo, sorted({i["aip_id"] for i in items}))
    result.held = sorted(result.held_reasons)
    partial = partial_sibling(out)
    partial.mkdir()
    done: list[tuple[dict[str, Any], str, str]] = []
    try:
        taken: set[str] = set()
        for aip_id in sorted({i["aip_id"] for i in items} - set(result.held)):
            mine = [i for i in items if i["aip_id"] == aip_id]
            changed = bound_problems(repo, aip_id, mine)
            if changed:
                result.changed.append({"aip_id": aip_id, "problems": changed})
                continue
            aip = cat.aip(aip_id)
            head = aip["head"]
            pkg = stored_package(repo, aip_id, head)
            if pkg is None:
                result.without_package.append(aip_id)
                continue
            appraise = all(i["decision"] == "appraise" for i in mine)
            profile = "skartace-uplny" if appraise else "prejimka"
            name = sip_name(mine[0]["entity_id"] or aip_id, taken)
            folder = partial / name
            fetch_package(repo, aip_id, head, pkg, folder, components=True)
            retention = {r["entity"]: r for r in cat.retention(aip_id)}
            originator = cat.originator(aip["originator_id"], repo.hot_location) \
                if aip["originator_id"] else {"id": "unknown", "name": "unknown originator"}
            decided = date.fromisoformat(max(i["decided"] for i in mine))
            mets = folder / "mets.xml"
            mets.write_bytes(transfer_mets(mets.read_bytes(), name, decided=decided, retention=retention,
                                           originator=originator, assessor=assessor, appraise=appraise))
            check_sip(folder, profile, day, check)
            result.sips.append({"aip_id": aip_id, "sip": name, "profile": profile})
            done += [(i, name, profile) for i in mine]
        if not result.sips and result.problems:
            raise ledger.DisposalRefused(
                f"proposal {proposal_id}: nothing handed over",
                [f"{a}: {result.held_reasons[a]}" for a in result.held]
                + [f"{c['aip_id']}: {'; '.join(c['problems'])}" for c in result.changed],
                hint="nothing was written; a hold: see `archa hold list`; a record not the version proposed: "
                     "audit it (archa fixity audit), or withdraw it (archa aip update --withdraw-from-proposal) "
                     "and propose it again")
        if not result.sips:
            raise UsageError(f"proposal {proposal_id}: none of its kept records is an ERMS package archa can hand "
                             "over as an NSESSS SIP", hint="export them with `archa dip export` instead")
        lines = ["aip_id,sip,profile\n"] + [f"{s['aip_id']},{s['sip']},{s['profile']}\n" for s in result.sips]
        (partial / "transfer.csv").write_text("".join(lines), "utf-8")
        os.rename(partial, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    stamp = now_iso()
    heads = {i["aip_id"]: cat.aip(i["aip_id"])["head"] for i, _n, _p in done}
    digests = {a: _inventory_digest(repo, a, v) for a, v in heads.items()}
    with cat.transaction():
        ledger.update_items(cat, proposal_id,
                            [(i, {"transferred": stamp, "transfer_sip": name, "transferred_version": heads[i["aip_id"]],
                                  "transferred_digest": digests[i["aip_id"]]}) for i, name, _p in done],
                            [Event("information package creation" if profile == "skartace-uplny" else "transfer",
                                   "success", f"{proposal_id}: {i['entity']} ({i['entity_id'] or '-'}) handed over as "
                                   f"the {profile} SIP {name} in {out}; {heads[i['aip_id']]}, inventory "
                                   f"{digests[i['aip_id']]}", ARCHA_AGENT, i["aip_id"], heads[i["aip_id"]])
                             for i, name, profile in done], state="transferred")
    return result


@dataclass
class ConfirmResult:
    proposal: str
    confirmed: list[dict[str, str]] = field(default_factory=list)  # {"aip_id", "entity_id", "da_id"}
    waiting: list[str] = field(default_factory=list)  # transferred, not confirmed yet

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@writes
def confirm(repo: Repository, proposal_id: str, confirmation: Path) -> ConfirmResult:
    """Record the archive's acceptance (its identifier per entity). Takes the repository lock itself."""
    cat = repo.catalog
    ledger.proposal(cat, proposal_id)
    items = ledger.items(cat, proposal_id)
    doc, entries = _seznam(confirmation)
    problems: list[str] = []
    chosen: list[tuple[dict[str, Any], tuple[str, str]]] = []
    for key, _op, da in entries:
        found = [i for i in _match(items, key) if i["decision"] == "keep"]
        withdrawn = [i for i in _match(items, key) if i["withdrawn"]]
        if da is not None and not found and withdrawn:
            problems.append(f"{key[0]} (zdroj {key[1]!r}) was withdrawn from proposal {proposal_id} on "
                            f"{withdrawn[0]['withdrawn'][:10]} for a new version; it is no longer the archive's to confirm")
        elif da is None:
            problems.append(f"{key[0]} (zdroj {key[1]!r}) carries an operation, not the archive's identifier: this "
                            "is a decision list (archa disposal decide)")
        elif not found:
            problems.append(f"{key[0]} (zdroj {key[1]!r}) is not a record of proposal {proposal_id} selected for the "
                            "archive")
        elif not all(i["transferred"] for i in found):
            problems.append(f"{key[0]} (zdroj {key[1]!r}) has not been transferred yet (archa disposal transfer)")
        else:
            chosen += [(i, da) for i in found]
    if problems:
        raise DecisionRejected(f"the confirmation does not fit proposal {proposal_id}", problems,
                               hint="nothing was recorded")
    stamp = now_iso()
    with cat.transaction():
        digest = ledger.store_document(cat, "confirmation", confirmation.name, doc)
        ledger.update_items(cat, proposal_id,
                            [(i, {"da_id": da[0], "da_source": da[1], "confirmed": stamp}) for i, da in chosen],
                            [Event("transfer", "success", f"{proposal_id}: the archive accepted {i['entity']} "
                                   f"({i['entity_id']}) as {da[0]} ({da[1]}); list {digest[:12]}", ARCHA_AGENT,
                                   i["aip_id"]) for i, da in chosen])
    confirmed = {(i["aip_id"], i["entity"]) for i, _da in chosen}
    waiting = [i["entity_id"] or i["aip_id"] for i in items if i["decision"] == "keep" and not i["confirmed"]
               and (i["aip_id"], i["entity"]) not in confirmed]
    return ConfirmResult(proposal_id, [{"aip_id": i["aip_id"], "entity_id": i["entity_id"], "da_id": da[0]}
                                       for i, da in chosen], waiting)
