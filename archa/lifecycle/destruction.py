"""The last step of the disposal procedure: removing records from the repository.

`destroy` removes every file of each AIP the archive's decision lets go (decided `destroy`,
or kept and confirmed as taken over by the archive) from every storage location, and
leaves a tombstone in their place. An AIP goes only as a whole: when every record
(base entity) it holds is in the proposal and let go, none is under a hold, and none is
waiting (undecided, being appraised, kept but not confirmed). Held AIPs are skipped and
reported.

A decision binds content: before anything of an AIP is removed, the catalog's head must be
the version (and inventory digest) its items were proposed as, and handed over as when
they were, and every location must hold nothing else: no version beyond that one, no key
archa does not write, every inventory (an OCFL copy's root and version inventories, a packed
copy's archived inventory, read through its index) the one the catalog records. A record
that fails is not touched at any location and is named (`changed`); the others go on.

Per AIP, resumable at every point:
1. one catalog transaction: the AIP's state becomes `destroying`, its tombstone (the
   certificate's JSON) and the locations still to clear are recorded, its file and copy
   rows go (audits, sync and repair no longer see it), and a `deletion` (`deaccession`)
   event with the outcome `begun` names the proposal and the tombstone's sha256; the event
   log is then anchored at every location (eventlog.anchor), so a rebuild tells a
   tombstone archa wrote from a planted one;
2. per location whose anchored log holds that event: the tombstone (`tombstone.json`,
   `certificate.html`, `premis.xml` under `extensions/archa-tombstones/<object path>/`)
   is written, then every key of the AIP is deleted (what makes it a copy first), then the
   location is struck from the list. A location that cannot be reached stays on it; the
   next run goes on from there;
3. when no location is left: the AIP's state becomes `destroyed` (or `transferred`), the
   items, the retention rows and the event log (a `deletion` / `deaccession` event, the
   one the tombstone's PREMIS holds) record it.

A tombstone is what `catalog rebuild` restores a destroyed AIP from.
"""

from __future__ import annotations

import getpass
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archa.errors import NotFoundError, StorageError, UsageError
from archa.lifecycle import ledger
from archa.lifecycle.holds import hold_problems
from archa.repository.catalog import Catalog
from archa.repository.copies import (
    TEMPORARY,
    iter_packed,
    open_packed_member,
    packed_keys,
    read_packed_index,
    remove_object,
    tombstone_prefix,
)
from archa.repository.events import ARCHA_AGENT, Event, now_iso
from archa.repository.ocfl import INVENTORY, OBJECT_NAMASTE, dump_json, object_relpath
from archa.repository.repo import Repository, writes
from archa.repository.store import Store

TOMBSTONE_FORMAT = "archa tombstone 1"
OPERATION_OF = {v: k for k, v in ledger.OPERATIONS.items()}  # keep -> "vybrat za archiválii"


@dataclass
class DestroyResult:
    proposal: str
    dry_run: bool
    destroyed: list[dict[str, Any]] = field(default_factory=list)  # {"aip_id", "state", "entities", "locations"}
    incomplete: list[dict[str, Any]] = field(default_factory=list)  # {"aip_id", "locations_left", "problems"}
    held: list[str] = field(default_factory=list)
    held_reasons: dict[str, str] = field(default_factory=dict)  # AIP id -> why (holds.hold_problems)
    waiting: list[dict[str, str]] = field(default_factory=list)  # {"aip_id", "reason"}
    done_before: list[str] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # {"aip_id", "problems"}: not what was decided on

    @property
    def problems(self) -> bool:
        return bool(self.held or self.incomplete or self.changed)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _plan(repo: Repository, proposal_id: str) -> tuple[dict[str, list[dict[str, Any]]], DestroyResult]:
    """The AIPs of the proposal that can go now (with their items), and a result naming the rest."""
    cat = repo.catalog
    ledger.proposal(cat, proposal_id)
    items = ledger.items(cat, proposal_id)
    if not any(i["decision"] for i in items):
        raise UsageError(f"proposal {proposal_id} has no decision recorded; nothing is destroyed without one",
                         hint="record the archive's decision first: archa disposal decide")
    result = DestroyResult(proposal_id, dry_run=True)
    ready: dict[str, list[dict[str, Any]]] = {}
    result.held_reasons = hold_problems(repo, sorted({i["aip_id"] for i in items if i["aip_state"] in
                                                      ("active", "destroying")}))
    for aip_id in sorted({i["aip_id"] for i in items}):
        mine = [i for i in items if i["aip_id"] == aip_id]
        state = mine[0]["aip_state"]
        if state in ("destroyed", "transferred"):
            result.done_before.append(aip_id)
            continue
        if aip_id in result.held_reasons:
            result.held.append(aip_id)
            continue
        if state == "destroying":
            ready[aip_id] = mine  # begun: it finishes whatever happened since
            continue
        reason = _waiting(mine)
        proposed = {i["entity"] for i in mine}
        pending = [r["entity"] or "the record" for r in cat.retention(aip_id)
                   if r["entity"] not in proposed and not r["disposal_date"]]
        if not reason and pending:
            reason = f"it also holds {', '.join(pending)}, not in this proposal"
        if reason:
            result.waiting.append({"aip_id": aip_id, "reason": reason})
        else:
            ready[aip_id] = mine
    return ready, result


def _waiting(items: list[dict[str, Any]]) -> str:
    for i in items:
        who = i["entity_id"] or i["entity"]
        if not i["decision"]:
            return f"{who}: no decision yet"
        if i["decision"] == "appraise":
            return f"{who}: the archive is appraising it (decide again when it has)"
        if i["decision"] == "exclude":
            return f"{who}: " + (f"withdrawn from this procedure for a new version ({i['withdrawn'][:10]})"
                                 if i["withdrawn"] else "taken out of this procedure")
        if i["decision"] == "keep" and not i["confirmed"]:
            return f"{who}: kept; waiting for the archive to confirm it took it over (archa disposal confirm)"
    return ""


@writes
def destroy(repo: Repository, proposal_id: str, execute: bool = False) -> DestroyResult:
    """Remove the records the decision lets go (see the module docstring); without
    `execute` only say what would go. Takes the repository lock itself."""
    ready, result = _plan(repo, proposal_id)
    result.dry_run = not execute
    for aip_id, items in list(ready.items()):
        changed = bound_problems(repo, aip_id, items)
        if changed:
            result.changed.append({"aip_id": aip_id, "problems": changed})
            del ready[aip_id]
    if not execute:
        result.destroyed = [{"aip_id": a, "state": _final(items), "entities": [_who(i) for i in items],
                             "locations": []} for a, items in ready.items()]
        return result
    for aip_id, items in ready.items():
        if items[0]["aip_state"] == "active":
            _begin(repo, proposal_id, aip_id, items)
        repo.anchor_events()  # the event that began it, at every location before any tombstone
        with repo.aip_lock(aip_id, timeout=600):  # a killed removal's temporary files are then swept by the next
            left, problems = _clear(repo, aip_id)
        if left:
            result.incomplete.append({"aip_id": aip_id, "locations_left": left, "problems": problems})
            continue
        state = _finish(repo, proposal_id, aip_id, items)
        tomb = _tombstone(repo.catalog, aip_id)["certificate"]
        result.destroyed.append({"aip_id": aip_id, "state": state, "entities": [_who(i) for i in items],
                                 "locations": tomb["locations"]})
    return result


def _who(item: dict[str, Any]) -> str:
    return str(item["entity_id"] or item["entity"] or item["aip_id"])


def _final(items: list[dict[str, Any]]) -> str:
    return "transferred" if any(i["decision"] == "keep" for i in items) else "destroyed"


# --- what the decision was made on ----------------------------------------------------------------

_VERSION = re.compile(r"v([1-9][0-9]*)")
_ARCHIVE = re.compile(r"(v[1-9][0-9]*)\.(tar\.zst|index\.json)")


def bound_problems(repo: Repository, aip_id: str, items: list[dict[str, Any]]) -> list[str]:
    """Why the AIP is not what its items were decided on: the catalog's head is another
    version (or inventory) than the one proposed, or handed over; or a location holds a
    version beyond it, a key archa never writes there, or an inventory other than the one
    the catalog records for its version. [] when it is what the archive saw. A location that
    cannot be reached is not read (nothing is removed there either; the next run reads it)."""
    cat = repo.catalog
    changed = ledger.changed_since(cat, aip_id, items)
    if changed:
        return [changed]
    upto = int(cat.aip(aip_id)["head"][1:])
    known = {v["version"]: (v["digest_algorithm"], v["inventory_digest"]) for v in cat.versions(aip_id)
             if int(v["version"][1:]) <= upto}
    problems = []
    for loc in repo.config.locations:
        store = repo.store(loc)
        try:
            store.check_reachable()
        except StorageError:
            continue
        try:
            found = (_ocfl_problems if loc.kind == "ocfl" else _packed_problems)(store, aip_id, known)
        except StorageError as e:
            found = [f"cannot be read ({e.message}); audit and repair it first"]
        except (OSError, ValueError, KeyError) as e:  # a local file unreadable, an index that is no JSON
            found = [f"cannot be read ({type(e).__name__}: {e}); audit and repair it first"]
        problems += [f"{loc.name}: {p}" for p in found]
    return problems


def _listing(store: Store, aip_id: str) -> tuple[str, set[str]]:
    """The AIP's object path at `store` and the keys below it (relative; temporaries left out)."""
    prefix = object_relpath(aip_id)
    return prefix, {k[len(prefix) + 1:] for k, _s in store.list(prefix, sizes=False)
                    if not TEMPORARY.match(k.rsplit("/", 1)[-1])}


def _unknown(present: set[str], known: dict[str, tuple[str, str]], strange: list[str]) -> list[str]:
    out = []
    unknown = sorted(present - known.keys(), key=lambda v: int(v[1:]))
    if unknown:
        out.append(f"holds {', '.join(unknown)}, a version the catalog does not record as decided on")
    if strange:
        out.append(f"holds {', '.join(sorted(strange)[:5])}, which archa does not write there")
    return out


def _ocfl_problems(store: Store, aip_id: str, known: dict[str, tuple[str, str]]) -> list[str]:
    prefix, keys = _listing(store, aip_id)
    present = {k.split("/", 1)[0] for k in keys if "/" in k and _VERSION.fullmatch(k.split("/", 1)[0])}
    own = {OBJECT_NAMASTE, INVENTORY, *(f"{INVENTORY}.{alg}" for alg, _d in known.values())}
    strange = [k for k in keys if k.split("/", 1)[0] not in present and k not in own]
    problems = _unknown(present, known, strange)
    for v in sorted(present & known.keys()):
        alg, digest = known[v]
        if f"{v}/{INVENTORY}" in keys and (got := store.digest(f"{prefix}/{v}/{INVENTORY}", alg)) != digest:
            problems.append(f"{v}/{INVENTORY} is not {v}'s inventory as recorded ({alg} {got}, recorded {digest})")
    if INVENTORY in keys and known:
        alg = next(iter(known.values()))[0]
        got = store.digest(f"{prefix}/{INVENTORY}", alg)
        if got not in {d for _a, d in known.values()}:
            problems.append(f"its root {INVENTORY} ({alg} {got}) is the inventory of no version the catalog records")
    return problems


def _packed_problems(store: Store, aip_id: str, known: dict[str, tuple[str, str]]) -> list[str]:
    _prefix, keys = _listing(store, aip_id)
    archives = {k: _ARCHIVE.fullmatch(k) for k in keys}
    present = {m.group(1) for m in archives.values() if m}
    problems = _unknown(present, known, [k for k, m in archives.items() if not m])
    for v in sorted(present & known.keys()):
        if packed_keys(aip_id, v)[1].rsplit("/", 1)[1] not in keys:
            continue  # an archive without its index is no copy (an interrupted write)
        alg, digest = known[v]
        index = read_packed_index(store, aip_id, v)
        member = index.get("members", {}).get(INVENTORY)
        if member is None:
            problems.append(f"{v}.index.json lists no {INVENTORY}")
            continue
        got = _archived_digest(store, aip_id, v, index, alg)
        if got != digest or member.get(alg) != digest:
            problems.append(f"the {INVENTORY} archived in {v}.tar.zst is not {v}'s as recorded ({alg} {got}, its index "
                            f"says {member.get(alg)}, recorded {digest})")
    return problems


def _archived_digest(store: Store, aip_id: str, version: str, index: dict[str, Any], alg: str) -> str | None:
    """The digest of the inventory a packed archive holds, read from the archive (its frame
    alone when the index has frames)."""
    if "frames" in index:
        with open_packed_member(store, aip_id, version, index, INVENTORY) as f:
            return hashlib.new(alg, f.read()).hexdigest()
    for ti, f in iter_packed(store, aip_id, version):
        if ti.name == INVENTORY:
            return hashlib.new(alg, f.read()).hexdigest()
    return None


# --- the three steps ------------------------------------------------------------------------------

def _begin(repo: Repository, proposal_id: str, aip_id: str, items: list[dict[str, Any]]) -> None:
    cat = repo.catalog
    tomb = tombstone(repo, proposal_id, aip_id, items)
    locations = [loc.name for loc in repo.config.locations]
    begun = Event(tomb["deletion_event"]["type"], "begun",
                  f"disposal procedure {proposal_id}: removal from every storage location begun; tombstone.json "
                  f"sha256 {hashlib.sha256(dump_json(tomb)).hexdigest()}", ARCHA_AGENT, aip_id, tomb["head"],
                  time=tomb["ordered"])
    cat.lifecycle.record_removal_begun(aip_id, {"state": tomb["state"], "at": tomb["ordered"],
                                                "proposal_id": proposal_id,
                                                "certificate": json.dumps(tomb, ensure_ascii=False, sort_keys=True),
                                                "locations_left": json.dumps(locations)}, begun)


def _clear(repo: Repository, aip_id: str) -> tuple[list[str], list[str]]:
    """Write the tombstone and delete the AIP at every location still to clear; returns the
    locations left (unreachable, or failing) and what went wrong there."""
    cat = repo.catalog
    row = _tombstone(cat, aip_id)
    documents = tombstone_documents(row["certificate"])
    left: list[str] = row["locations_left"]
    by_name = {loc.name: loc for loc in repo.config.locations}
    problems: list[str] = []
    begun = cat.lifecycle.removal_begun_seq(aip_id)
    anchored = {loc: last_seq for loc, (last_seq, _change) in cat.log.anchors().items()}
    for name in list(left):
        loc = by_name.get(name)
        if loc is None:
            problems.append(f"location {name!r} is no longer in archa.toml; put it back to finish")
            continue
        try:
            store = repo.store(loc)
            store.check_reachable()
            if begun is not None and (anchored.get(name) or 0) < begun:
                problems.append(f"{name}: the event log could not be written there (the event that began the "
                                "removal must be there before the tombstone); run this again")
                continue
            prefix = tombstone_prefix(aip_id)
            for doc, data in documents.items():
                if not store.exists(f"{prefix}/{doc}"):
                    store.put_bytes(f"{prefix}/{doc}", data)
            remove_object(store, loc.kind, aip_id)
        except StorageError as e:
            problems.append(f"{name}: {e.message}")
            continue
        left.remove(name)
        cat.lifecycle.set_locations_left(aip_id, left)
    return left, problems


def _finish(repo: Repository, proposal_id: str, aip_id: str, items: list[dict[str, Any]]) -> str:
    cat = repo.catalog
    tomb = _tombstone(cat, aip_id)["certificate"]
    state = tomb["state"]
    stamp = now_iso()
    deletion = Event(**tomb["deletion_event"])
    with cat.transaction():
        cat.lifecycle.mark_removed(aip_id, state)
        for i in items:
            cat.lifecycle.record_disposal(aip_id, i["entity"], i["decided"],
                                          "trvalé uložení" if i["decision"] == "keep" else "zničení",
                                          f"disposal procedure {proposal_id}")
        ledger.update_items(cat, proposal_id, [(i, {"destroyed": stamp}) for i in items], [deletion])
        if not cat.lifecycle.unsettled_items(proposal_id):
            cat.lifecycle.set_proposal_state(proposal_id, "closed")
    return str(state)


def _tombstone(cat: Catalog, aip_id: str) -> dict[str, Any]:
    row = cat.tombstone(aip_id)
    assert row is not None, aip_id  # recorded by _begin before anything else
    return row


# --- the tombstone ------------------------------------------------------------------------------

def tombstone(repo: Repository, proposal_id: str, aip_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """What stays of an AIP: its identity, description, history, the decision and the
    digests of every file removed. Deterministic once made (kept in the catalog and written,
    never rewritten, at every location)."""
    from archa.access.fetch import Wanted, fetch_small

    cat = repo.catalog
    aip = cat.aip(aip_id)
    versions = cat.versions(aip_id)
    files = [f for v in versions for f in cat.files(aip_id, v["version"])]
    head = [f for f in files if f["version"] == aip["head"]]
    dc_rows = [f for f in head if f["logical_path"] == "metadata/descriptive/dc.xml"]
    dc = b""
    if dc_rows:
        alg = next(v["digest_algorithm"] for v in versions if v["version"] == aip["head"])
        got, _report = fetch_small(repo, aip_id, alg, [Wanted(r["logical_path"], r["content_path"], r["digest"],
                                                              r["size"]) for r in dc_rows])
        dc = got.get("metadata/descriptive/dc.xml", b"")
    originator = None
    if aip["originator_id"]:
        o = cat.lifecycle.originator_row(aip["originator_id"])
        if o is None:
            raise NotFoundError(f"no originator {aip['originator_id']!r} (of {aip_id}) in the catalog")
        originator = {"id": o["id"], "name": o["name"], "ico": o["ico"] or ""}
    docs = sorted({i["decision_doc"] for i in items if i["decision_doc"]})
    state = _final(items)
    ordered = now_iso()
    kept = [i for i in items if i["decision"] == "keep"]
    detail = (f"removed from every storage location after the disposal procedure {proposal_id}: "
              + ("taken over by the archive as " + ", ".join(f"{i['da_id']} ({i['da_source']})" for i in kept)
                 if kept else "destroyed on the archive's decision")
              + f"; {len(files)} files of {len(versions)} versions, ordered by {getpass.getuser()}")
    deletion = Event("deaccession" if kept else "deletion", "success", detail, ARCHA_AGENT, aip_id, time=ordered)
    return {
        "format": TOMBSTONE_FORMAT, "id": aip_id, "state": state, "ordered": ordered, "proposal": proposal_id,
        "label": aip["label"], "external_id": aip["external_id"] or "", "created": aip["created"],
        "head": aip["head"], "originator": originator,
        "entities": [{k: i[k] for k in ("entity", "entity_id", "entity_source", "title", "sign", "due_year",
                                        "decision", "decided", "decision_doc", "da_id", "da_source",
                                        "transfer_sip", "version", "inventory_digest", "transferred_version",
                                        "transferred_digest")} for i in items],
        "documents": [{k: d[k] for k in ("sha256", "kind", "name", "received")}
                      for d in (ledger.document(cat, s) for s in docs) if d],
        "retention": [{k: v for k, v in r.items() if k != "aip_id"} for r in cat.retention(aip_id)],
        "versions": [{k: v[k] for k in ("version", "created", "message", "files", "bytes", "digest_algorithm",
                                        "inventory_digest")} for v in versions],
        "files": [{"version": f["version"], "path": f["logical_path"], "size": f["size"], "digest": f["digest"],
                   "puid": f["puid"] or ""} for f in files],
        "dublin_core": dc.decode("utf-8", "replace"),
        "events": [{k: e[k] for k in ("id", "type", "time", "outcome", "detail", "agent", "version", "location")}
                   for e in cat.events(aip_id)],
        "deletion_event": {"id": deletion.id, "type": deletion.type, "time": deletion.time, "outcome": "success",
                           "detail": deletion.detail, "agent": deletion.agent, "aip_id": aip_id},
        "locations": [loc.name for loc in repo.config.locations],
    }


def tombstone_documents(tomb: dict[str, Any]) -> dict[str, bytes]:
    """The files of a tombstone, in the order they are written (tombstone.json last: a
    location holding it holds the rest)."""
    return {"premis.xml": _premis(tomb), "certificate.html": certificate_html(tomb).encode("utf-8"),
            "tombstone.json": dump_json(tomb)}


def _premis(tomb: dict[str, Any]) -> bytes:
    """A PREMIS record of the removed AIP: its events up to the deletion, with the agents."""
    import tempfile

    from archa.metadata.premis import ORIGINATOR_AGENT, Agent, write_premis

    events = [Event(**{**e, "aip_id": tomb["id"]}) for e in tomb["events"]] + [Event(**tomb["deletion_event"])]
    agents = [Agent("software", ARCHA_AGENT, "archa", "software")]
    if tomb["originator"]:
        o = tomb["originator"]
        agents.append(Agent(ORIGINATOR_AGENT, o["id"], o["name"], "organization",
                            note=f"IČO {o['ico']}" if o["ico"] else ""))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "premis.xml"
        write_premis(path, tomb["id"], tomb["id"], [], events, agents)
        return path.read_bytes()


def certificate_html(tomb: dict[str, Any]) -> str:
    """The printable certificate of destruction (or of the hand-over to the archive)."""
    e = html.escape
    transferred = tomb["state"] == "transferred"
    title = ("Protokol o vyřazení předáním do archivu" if transferred else "Protokol o zničení") + \
        (" / Certificate of transfer" if transferred else " / Certificate of destruction")
    entities = "".join(
        f"<tr><td>{e(i['entity_id'] or i['entity'] or '')}<br><small>{e(i['entity_source'] or '')}</small></td>"
        f"<td>{e(i['title'] or '')}</td><td>{e(i['sign'] or '')}</td><td>{i['due_year'] or ''}</td>"
        f"<td>{e(OPERATION_OF.get(i['decision'] or '', ''))} ({e(i['decision'] or '')}) {e(i['decided'] or '')}"
        f"{'<br>' + e(i['da_id'] or '') + ' (' + e(i['da_source'] or '') + ')' if i['da_id'] else ''}</td></tr>\n"
        for i in tomb["entities"])
    docs = "".join(f"<li>{e(d['kind'])} {e(d['name'])}, received {e(d['received'][:19])}, sha256 "
                   f"<code>{d['sha256']}</code></li>\n" for d in tomb["documents"]) or "<li>decided by hand</li>\n"
    algs = {v["version"]: v["digest_algorithm"] for v in tomb["versions"]}
    versions = "".join(f"<tr><td>{e(v['version'])}</td><td>{e(v['created'][:19])}</td><td>{e(v['message'] or '')}</td>"
                       f"<td>{v['files']}</td><td>{v['bytes']}</td><td>{e(v['digest_algorithm'])} "
                       f"<code>{v['inventory_digest']}</code></td></tr>\n" for v in tomb["versions"])
    files = "".join(f"<tr><td>{e(f['version'])}</td><td>{e(f['path'])}</td><td>{f['size']}</td>"
                    f"<td>{e(algs.get(f['version'], ''))} <code>{f['digest']}</code></td></tr>\n" for f in tomb["files"])
    o = tomb["originator"]
    return (
        "<!DOCTYPE html>\n<html lang=\"cs\"><head><meta charset=\"utf-8\">"
        f"<title>{e(title)}: {e(tomb['id'])}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.3em;text-align:left;"
        "vertical-align:top}code{font-size:.8em;word-break:break-all}@media print{body{margin:0}}</style>"
        f"</head><body>\n<h1>{e(title)}</h1>\n"
        f"<p>AIP <code>{e(tomb['id'])}</code>: {e(tomb['label'])}"
        f"{' (' + e(tomb['external_id']) + ')' if tomb['external_id'] else ''}<br>"
        f"Původce / originator: {e(o['name'] + (' (IČO ' + o['ico'] + ')' if o['ico'] else '')) if o else '-'}<br>"
        f"Skartační řízení / disposal procedure: {e(tomb['proposal'])}; ordered {e(tomb['ordered'][:19])} UTC; "
        f"removed from the storage locations {e(', '.join(tomb['locations']))}.</p>\n"
        "<h2>Entity / records</h2>\n<table><tr><th>Identifier</th><th>Title</th><th>Sign</th><th>Due</th>"
        f"<th>Decision</th></tr>\n{entities}</table>\n<h2>Rozhodnutí / the archive's lists</h2>\n<ul>\n{docs}</ul>\n"
        f"<h2>Verze / versions removed ({len(tomb['versions'])})</h2>\n<table><tr><th>Version</th><th>Created</th>"
        f"<th>Message</th><th>Files</th><th>Bytes</th><th>Inventory digest</th></tr>\n{versions}</table>\n"
        f"<h2>Soubory / files removed ({len(tomb['files'])})</h2>\n<table><tr><th>Version</th><th>Path</th>"
        f"<th>Bytes</th><th>Digest</th></tr>\n{files}</table>\n"
        f"<p><small>PREMIS event {e(tomb['deletion_event']['id'])} ({e(tomb['deletion_event']['type'])}); "
        f"{e(tomb['deletion_event']['agent'])}</small></p>\n</body></html>\n")
