"""New versions of an AIP: `archa aip update ID`.

A new version vN+1 is a new OCFL version of the same object: files added or replaced are
stored once (content the object already holds is deduplicated), removed ones leave its
state, unchanged ones keep their content where an earlier version stored it; METS, PREMIS
(the AIP's history so far, a new event, the version it derives from) and, with
`--metadata`, Dublin Core are written anew. Earlier versions are never touched.

Order (what makes a crash harmless), like ingest: the version is assembled and made
durable in staging; the commit journal is written; the version directory is renamed into
the stored object and the root inventory replaced (atomic renames); catalog rows and events
are recorded in one transaction; then every other location gets a copy of the new version
(a packed copy as a new archive for it). A crash before the rename leaves the object at its
previous head (staging is swept by the next command); after it, the next command rolls the
journal forward.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import archa
from archa.errors import ArchaError, Finding, RepositoryError, SipRejected, UsageError
from archa.lifecycle import ledger
from archa.metadata.description import Description, describe
from archa.metadata.mets import MdRef, MetsFile, PageStructure, write_mets
from archa.metadata.premis import Agent, operator_agent, read_premis, write_premis
from archa.metadata.records import ORIGINAL, PRESERVATION, metadata_mime
from archa.preservation.identify import get_identifier, identify_many
from archa.repository.access import AccessState, access_event, initial_state, replay
from archa.repository.catalog import FILE_COLUMNS, FileRow
from archa.repository.catalog.recordindex import description_dict
from archa.repository.copying import CopyJob, CopyOutcome, ProgressFn, copy_all
from archa.repository.events import ARCHA_AGENT, Event, now_iso
from archa.repository.hashing import file_digest
from archa.repository.ocfl import INVENTORY, VersionBuilder, inventory_bytes
from archa.repository.pages import (
    STRUCTURES,
    PageRow,
    page_groups,
    page_structure,
    read_structure,
    version_pages,
    with_text,
)
from archa.repository.placement import SyncResult, complete_copies, placement_satisfied
from archa.repository.repo import Repository
from archa.repository.retention import parse_bag_info
from archa.repository.unpacking import unsafe_name

REPRESENTATION = ORIGINAL
MIGRATIONS = "metadata/preservation/migrations.json"  # what was derived from what, by which pathway
_ENTRY_KEYS = ("source", "source_digest", "pathway", "target")  # what every entry of it must say
METS, PREMIS, DC = "METS.xml", "metadata/preservation/premis.xml", "metadata/descriptive/dc.xml"
OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}dc"
DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"


@dataclass(frozen=True)
class UpdateOptions:
    aip_id: str
    reason: str
    add: tuple[tuple[Path, str], ...] = ()  # (file to store, logical path)
    remove: tuple[str, ...] = ()  # logical paths
    metadata: Path | None = None  # a Dublin Core record (oai_dc) replacing dc.xml
    user: str | None = None
    engine: str | None = None
    jobs: int | None = None
    # a resubmitted package (lifecycle/resubmission.py): its tag files replace every file
    # under metadata/submission/ (full logical paths), its retention rows and transfer row
    # replace / join the catalog's
    submission: tuple[tuple[Path, str], ...] = ()
    retention: tuple[dict[str, Any], ...] | None = None
    transfer: dict[str, Any] | None = None
    rights: tuple[str, ...] | None = None  # access restrictions (None: the previous version's)
    # the AIP's record is in an open disposal proposal: take it out (an event) rather than refuse
    withdraw_from_proposal: bool = False
    # metadata files written anew (full logical path under metadata/, bytes), e.g. the record
    # of preservation actions (MIGRATIONS); one the head holds byte for byte is not a change
    metadata_files: tuple[tuple[str, bytes], ...] = ()
    # events and agents of the actions that made the added files (migrations): recorded with
    # the version (their aip_id and version are set here)
    events: tuple[Event, ...] = ()
    agents: tuple[Agent, ...] = ()


@dataclass
class UpdateResult:
    aip_id: str
    version: str
    previous: str
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    metadata: bool = False
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    stored: bool = False
    copies: list[str] = field(default_factory=list)
    copy_failures: list[dict[str, str]] = field(default_factory=list)
    finished: bool = False  # the run found this version made by an interrupted run, and finished it
    withdrawn: list[str] = field(default_factory=list)  # the proposals the record was taken out of

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def verified_bytes(obj: Path, row: dict[str, Any], alg: str, aip_id: str) -> bytes:
    """The bytes of the small stored file `row` (a catalog file row) under the object folder
    `obj`; RepositoryError when they do not match the catalog's digest (in `alg`)."""
    path = obj / row["content_path"]
    data: bytes = path.read_bytes()
    if hashlib.new(alg, data).hexdigest() != row["digest"]:
        raise RepositoryError(f"{path}: does not match the catalog", path=str(path),
                              hint=f"audit and repair the AIP first: archa fixity audit --aip {aip_id} --all; "
                                   f"archa repair {aip_id}")
    return data


def parse_migrations(data: bytes, path: Path, aip_id: str) -> dict[str, Any]:
    """The record of migrations in `data` (read from `path`, checked against the catalog
    already); RepositoryError naming the file when it is not one (an entry without its
    source, digest, pathway or target), never a traceback."""
    try:
        record = json.loads(data)
        entries = record["migrations"]
        ok = isinstance(entries, list) and all(
            isinstance(m, dict) and all(isinstance(m.get(k), str) for k in _ENTRY_KEYS) for m in entries)
    except (ValueError, TypeError, KeyError) as e:
        ok, why = False, str(e)
    else:
        why = "an entry lacks its source, source_digest, pathway or target"
    if not ok:
        raise RepositoryError(f"{path}: not a record of migrations ({why})", path=str(path),
                              hint=f"the catalog vouches for it: compare it with the other copies "
                                   f"(archa fixity audit --aip {aip_id} --all; archa catalog rebuild --check)")
    return dict(record)


def file_group(logical: str, pages: dict[str, str]) -> str:
    """The METS fileGrp of a payload file: its page group in a digitised volume, else
    `preservation` for copies made by migration, else `original`."""
    if logical in pages:
        return pages[logical]
    return "preservation" if logical.startswith(f"{PRESERVATION}/") else "original"


def logical_path(given: str) -> str:
    """The AIP logical path of `given`: a path inside the payload (as in the SIP's data/),
    or a full logical path under `representations/`. UsageError for an unsafe one."""
    path = given.strip()
    full = path if path.startswith("representations/") else f"{REPRESENTATION}/data/{path}"
    problem = unsafe_name(path) or ("empty segment" if "//" in full or full.endswith("/") else None)
    if problem or not path:
        raise UsageError(f"{given!r} is not a usable logical path ({problem or 'empty'})",
                         hint="give a relative path inside the payload, e.g. letters/reply.pdf")
    return full


def update_aip(repo: Repository, options: UpdateOptions, progress: ProgressFn | None = None) -> UpdateResult:
    """Make the next version of an AIP (see the module docstring), under the repository lock
    and the AIP's; a writer of this AIP killed while this one waited for that lock has its
    commit rolled forward first (the new version builds on what is in storage).

    UsageError for a wrong argument (nothing changes); RepositoryError when the stored
    object does not match the catalog (audit and repair first)."""
    with repo.writing(shared=True), repo.aip_lock(options.aip_id):  # beside other work on other AIPs
        repo.sweep_staging()  # a writer of this AIP killed while we waited for its lock: its commit first
        return _Update(repo, options, progress).run()


class _Update:
    def __init__(self, repo: Repository, options: UpdateOptions, progress: ProgressFn | None) -> None:
        self.repo, self.opts, self.progress = repo, options, progress
        self.cat = repo.catalog
        self.aip = self.cat.live_aip(options.aip_id)
        self.previous = self.aip["head"]
        self.version = f"v{int(self.previous[1:]) + 1}"
        (row,) = [v for v in self.cat.versions(options.aip_id) if v["version"] == self.previous]
        self.alg: str = row["digest_algorithm"]
        self.inventory_digest: str = row["inventory_digest"]
        self.result = UpdateResult(options.aip_id, self.version, self.previous)
        self.keep_journal = False

    def run(self) -> UpdateResult:
        t0 = time.perf_counter()
        binding = ledger.binding_items(self.cat, self.opts.aip_id)
        if binding and not self.opts.withdraw_from_proposal:
            raise self._in_proposal(binding)
        files = {r["logical_path"]: r for r in self.cat.files(self.opts.aip_id, self.previous)}
        adds, removes, dc_bytes = self._validate(files)
        self.result.removed = removes
        previous_inventory = self._stored_inventory()
        work = self.repo.new_work_dir()
        finishing = False
        try:
            builder = VersionBuilder(work / "object", self.opts.aip_id, self.alg, self.version, previous_inventory)
            copied = self._copy_added(builder, adds)
            adds = [(src, lp) for src, lp in adds if not self._same(builder, files, lp, copied[lp].digests[self.alg])]
            if dc_bytes is not None and DC in files and \
                    hashlib.new(self.alg, dc_bytes).hexdigest() == files[DC]["digest"]:
                dc_bytes = None  # the record it holds already
            meta = self._changed_metadata(files)
            if not adds and not removes and dc_bytes is None and not meta:
                finishing = self._interrupted()
                if not finishing:
                    raise UsageError(f"nothing changed: {self.opts.aip_id} {self.previous} holds exactly that "
                                     "already; no version was made", hint="give the files or metadata that change")
            else:
                rows = self._carry(builder, files, set(removes) | {lp for _s, lp in adds} | set(meta),
                                   dc_bytes is not None)
                added = self._identify(builder, adds, copied, files)
                if binding:
                    self._withdraw(binding)
                self._commit(work, builder, files, rows, added, dc_bytes, meta)
        finally:
            self.repo.release_work_dir(work, remove=not self.keep_journal)
        if finishing:
            return self._finish_interrupted(files, t0)
        copies = SyncResult()
        complete_copies(self.repo, self.opts.aip_id, self.version, copies, verify_source=False)
        self._copies_result(self.version, copies)
        self.result.seconds = time.perf_counter() - t0
        return self.result

    def _copies_result(self, version: str, copies: SyncResult) -> None:
        (v,) = [v for v in self.cat.versions(self.opts.aip_id) if v["version"] == version]
        self.result.stored = bool(v["stored"])
        self.result.copies = [c["location"] for c in self.cat.copies(self.opts.aip_id)
                              if c["version"] == version and c["state"] == "ok"]
        self.result.copy_failures = copies.failed

    # --- the open disposal procedure ---------------------------------------------------

    def _in_proposal(self, items: list[dict[str, Any]]) -> ArchaError:
        """The refusal of a change to a record in an open disposal proposal: for a resubmitted
        package a rejection of the SIP (DUP005, recorded as ingest records every rejection)."""
        aip_id = self.opts.aip_id
        if self.opts.transfer is not None:
            refusal = ledger.InOpenProposal(aip_id, items)
            sip = str(self.opts.transfer["source"])
            return SipRejected(sip, [Finding("DUP005", refusal.message, Path(sip).name)],
                               transfer_id=str(self.opts.transfer["id"]),
                               hint="nothing was stored; once the disposal procedure is over ingest it again, or "
                                    "take the record out of the proposal and store it as the next version: "
                                    "archa ingest --withdraw-from-proposal (recorded in the event log)")
        return ledger.InOpenProposal(aip_id, items, hint="nothing was changed; finish the disposal procedure first, "
                                     f"or take the record out of it: archa aip update {aip_id} ... "
                                     "--withdraw-from-proposal (recorded in the event log)")

    def _withdraw(self, items: list[dict[str, Any]]) -> None:
        """Take the record out of its proposals (asked for with `withdraw_from_proposal`), once
        the new version is staged and nothing is left to refuse, before it is stored."""
        with self.cat.transaction():
            ledger.withdraw(self.cat, items, f"{self.opts.aip_id} {self.version}: {self.opts.reason}")
        self.result.withdrawn = sorted({i["proposal_id"] for i in items})

    # --- a version an interrupted run made -----------------------------------------------

    def _interrupted(self) -> bool:
        """Whether the head is a version a run of this same update (the same reason) made and
        was killed before finishing: some location lacks its copy. The crash was rolled
        forward by this command's sweep; running the update again finishes that version."""
        if self.previous == "v1":
            return False
        (row,) = [v for v in self.cat.versions(self.opts.aip_id) if v["version"] == self.previous]
        if row["message"] != self.opts.reason:
            return False
        have = {c["location"] for c in self.cat.copies(self.opts.aip_id)
                if c["version"] == self.previous and c["state"] == "ok"}
        return any(loc.name not in have for loc in self.repo.config.locations)

    def _finish_interrupted(self, files: dict[str, dict[str, Any]], t0: float) -> UpdateResult:
        """Write the copies the interrupted version lacks, and report that version."""
        aip_id, version = self.opts.aip_id, self.previous
        prior = f"v{int(version[1:]) - 1}"
        old = {r["logical_path"]: r for r in self.cat.files(aip_id, prior)}
        r = self.result = UpdateResult(aip_id, version, prior, finished=True)
        for lp, f in sorted(files.items()):
            if f["role"] == "metadata":
                continue
            if lp not in old:
                r.added.append(lp)
            elif old[lp]["digest"] != f["digest"]:
                r.replaced.append(lp)
        r.removed = sorted(lp for lp, f in old.items() if f["role"] != "metadata" and lp not in files)
        r.metadata = DC in files and DC in old and files[DC]["digest"] != old[DC]["digest"]
        (row,) = [v for v in self.cat.versions(aip_id) if v["version"] == version]
        r.files, r.bytes = row["files"], row["bytes"]
        copies = SyncResult()
        complete_copies(self.repo, aip_id, version, copies)  # the hot object re-read first: time has passed
        self._copies_result(version, copies)
        r.seconds = time.perf_counter() - t0
        return r

    # --- steps --------------------------------------------------------------------------

    def _validate(self, files: dict[str, dict[str, Any]]) -> tuple[list[tuple[Path, str]], list[str], bytes | None]:
        if not self.opts.reason.strip():
            raise UsageError("a new version needs a reason", hint="give --reason TEXT (it goes into the OCFL "
                                                                  "version message and the PREMIS event)")
        adds = [(src, logical_path(lp)) for src, lp in self.opts.add]
        removes = [logical_path(lp) for lp in self.opts.remove]
        if self.opts.submission:
            new = {lp for _s, lp in self.opts.submission}
            adds += list(self.opts.submission)
            removes += [lp for lp, r in files.items() if r["role"] == "submission" and lp not in new]
        for src, lp in adds:
            if not src.is_file():
                raise UsageError(f"{src}: not a readable file", hint="give FILE=LOGICAL_PATH with an existing file")
        targets = [lp for _s, lp in adds] + removes
        dupes = sorted({t for t in targets if targets.count(t) > 1})
        if dupes:
            raise UsageError(f"{dupes[0]}: named twice among --add and --remove", hint="name each path once")
        gone = [lp for lp in removes if lp not in files]
        if gone and self._interrupted() and all(lp in self._prior_files() for lp in gone):
            removes = [lp for lp in removes if lp in files]  # what the interrupted run removed already
            gone = []
        for lp in gone:
            raise UsageError(f"{lp}: not in {self.opts.aip_id} {self.previous}",
                             hint=f"see `archa aip show {self.opts.aip_id}` for its files")
        dc_bytes = self._metadata() if self.opts.metadata is not None else None
        for lp, _data in self.opts.metadata_files:
            if not lp.startswith("metadata/") or lp in (METS, PREMIS, DC) or lp.startswith("metadata/submission/") \
                    or unsafe_name(lp):
                raise UsageError(f"{lp}: not a metadata file a version may write")
        if not adds and not removes and dc_bytes is None and not self.opts.metadata_files:
            raise UsageError("nothing to change", hint="give --add, --remove or --metadata")
        return adds, removes, dc_bytes

    def _changed_metadata(self, files: dict[str, dict[str, Any]]) -> dict[str, bytes]:
        """The metadata files to write whose bytes the head does not hold already."""
        return {lp: data for lp, data in self.opts.metadata_files
                if lp not in files or hashlib.new(self.alg, data).hexdigest() != files[lp]["digest"]}

    def _prior_files(self) -> set[str]:
        """The logical paths of the version before the head."""
        return {r["logical_path"] for r in self.cat.files(self.opts.aip_id, f"v{int(self.previous[1:]) - 1}")}

    def _metadata(self) -> bytes:
        from archa.metadata.xmlsafe import read_user_xml

        path = self.opts.metadata
        assert path is not None
        data, root = read_user_xml(path, hint="give a Dublin Core record (oai_dc:dc) as UTF-8 XML")
        if root.tag != OAI_DC:
            raise UsageError(f"{path}: the root element is {root.tag}, not oai_dc:dc",
                             hint="descriptive metadata is a Dublin Core record (oai_dc:dc), as archa writes it")
        if not (root.findtext(DC_TITLE) or "").strip():
            raise UsageError(f"{path}: the record has no dc:title", hint="give the record a title")
        return data

    def _stored_inventory(self) -> dict[str, Any]:
        """The hot object's root inventory, checked against the catalog before it is built on."""
        path = self.repo.hot.object_path(self.opts.aip_id) / INVENTORY
        try:
            data = path.read_bytes()
        except OSError as e:
            raise RepositoryError(f"{path}: cannot be read ({e.strerror})", path=str(path),
                                  hint=f"audit and repair the AIP first: archa fixity audit --aip {self.opts.aip_id}") \
                from e
        if hashlib.new(self.alg, data).hexdigest() != self.inventory_digest:
            raise RepositoryError(f"{path}: the stored inventory does not match the catalog's {self.previous}",
                                  path=str(path), hint=f"audit and repair the AIP first: archa fixity audit --aip "
                                                       f"{self.opts.aip_id} --all; archa repair {self.opts.aip_id}")
        inventory: dict[str, Any] = json.loads(data)
        return inventory

    def _carry(self, builder: VersionBuilder, files: dict[str, dict[str, Any]], changed: set[str],
               new_dc: bool) -> list[FileRow]:
        """Rows of the files the new version keeps unchanged (their content stays where it is)."""
        rows = []
        for lp, r in sorted(files.items()):
            if lp in changed or lp in (METS, PREMIS) or (new_dc and lp == DC):
                continue
            builder.keep(lp, r["digest"])
            rows.append(replace(FileRow(**{k: r[k] for k in FILE_COLUMNS}), version=self.version))
        return rows

    def _copy_added(self, builder: VersionBuilder, adds: list[tuple[Path, str]]) -> dict[str, CopyOutcome]:
        """Copy the files to add into the staged version, hashing them as they are read."""
        if not adds:
            return {}
        jobs = [CopyJob(lp, src, builder.content_file(lp), src.stat().st_size, (self.alg,)) for src, lp in adds]
        outcomes = copy_all(jobs, self.opts.jobs or self.repo.policy.ingest.jobs, self.progress)
        for job in jobs:
            o = outcomes[job.key]
            if o.error or o.size != job.size:
                raise UsageError(f"{job.src}: {o.error or 'changed size while it was read'}",
                                 hint="make the file readable and stable, then run the update again")
        return {job.key: outcomes[job.key] for job in jobs}

    @staticmethod
    def _same(builder: VersionBuilder, files: dict[str, dict[str, Any]], lp: str, digest: str) -> bool:
        """Whether the file added as `lp` is the one the head holds there (its staged copy is
        dropped: the version keeps the one stored)."""
        if lp not in files or files[lp]["digest"] != digest:
            return False
        builder.content_file(lp).unlink()
        return True

    def _identify(self, builder: VersionBuilder, adds: list[tuple[Path, str]], copied: dict[str, CopyOutcome],
                  files: dict[str, dict[str, Any]]) -> list[FileRow]:
        """Identify the files added (each new or changed) and add them to the version."""
        if not adds:
            return []
        engine = self.opts.engine or self.repo.policy.engine
        found = identify_many([builder.content_file(lp) for _src, lp in adds], engine)
        rows = []
        for (src, lp), fmt in zip(adds, found, strict=True):
            o = copied[lp]
            digest = o.digests[self.alg]
            builder.add(lp, digest)
            (self.result.replaced if lp in files else self.result.added).append(lp)
            role = "submission" if lp.startswith("metadata/submission/") else "payload"
            rows.append(FileRow(self.opts.aip_id, self.version, lp, builder.content_path_of(digest), role,
                                src.name, o.size, digest, fmt.puid, fmt.name, fmt.version, fmt.mime, fmt.basis,
                                fmt.engine, fmt.engine_version, fmt.signature_version, fmt.warning))
        return rows

    def _commit(self, work: Path, builder: VersionBuilder, files: dict[str, dict[str, Any]], rows: list[FileRow],
                added: list[FileRow], dc_bytes: bytes | None, meta: dict[str, bytes]) -> None:
        created = now_iso()
        aip_id = self.opts.aip_id
        obj = self.repo.hot.object_path(aip_id)
        prev_premis = read_premis(self._verified(obj, files[PREMIS]), aip_id, self.previous)
        label = self.aip["label"]
        if dc_bytes is not None:
            from lxml import etree

            label = " ".join((etree.fromstring(dc_bytes).findtext(DC_TITLE) or "").split())
            dc_digest = builder.write_bytes(DC, dc_bytes)
            rows.append(FileRow(aip_id, self.version, DC, builder.content_path_of(dc_digest), "metadata", "",
                                len(dc_bytes), dc_digest, mime="text/xml"))
            self.result.metadata = True
        for lp, data in sorted(meta.items()):
            digest = builder.write_bytes(lp, data)
            rows.append(FileRow(aip_id, self.version, lp, builder.content_path_of(digest), "metadata", "",
                                len(data), digest, mime=metadata_mime(lp)))
        rows += added
        events = self._events(added)
        description = self._describe(obj, builder, rows)
        access = self._access(description)
        if access is not None:
            events.append(access_event(access, aip_id, self.version, ARCHA_AGENT, events[-1].time if events else ""))
        ident = get_identifier(self.opts.engine or self.repo.policy.engine)
        agents = list(prev_premis.agents)
        for a in (operator_agent(self.opts.user or getpass.getuser()), *self.opts.agents,
                  Agent("urn", ARCHA_AGENT, "archa", "software", archa.__version__),
                  Agent("urn", f"{ident.name}/{ident.engine_version}", ident.name, "software",
                        f"{ident.engine_version} ({ident.signature_version})")):
            if all(b.id_value != a.id_value for b in agents):
                agents.append(a)
        premis_path = builder.content_file(PREMIS)
        premis_path.parent.mkdir(parents=True, exist_ok=True)
        described = [(r, {**prev_premis.files[r.logical_path].fixity, self.alg: r.digest}
                      if r.logical_path in prev_premis.files else {self.alg: r.digest})
                     for r in sorted(rows, key=lambda r: r.logical_path) if r.role != "metadata"]
        write_premis(premis_path, aip_id, REPRESENTATION, described, [*prev_premis.events, *events], agents,
                     derived_from=f"{aip_id} {self.previous}",
                     rights=self.opts.rights if self.opts.rights is not None else prev_premis.rights,
                     sources=self._sources(obj, builder, rows))
        premis_digest = file_digest(premis_path, self.alg)
        builder.add(PREMIS, premis_digest)
        dc_row = next(r for r in rows if r.logical_path == DC)
        mets_path = builder.content_file(METS)
        structure, pages = self._pages(obj, builder, rows, label)
        groups = page_groups(pages)
        write_mets(mets_path, aip_id, label, created, f"archa {archa.__version__}", self.alg,
                   MdRef(DC, "DC", dc_row.size, dc_row.digest),
                   MdRef(PREMIS, "PREMIS", premis_path.stat().st_size, premis_digest),
                   [MetsFile(r.logical_path, r.size, r.digest, r.mime,
                             file_group(r.logical_path, groups) if r.role == "payload" else "submission")
                    for r in sorted(rows, key=lambda r: r.logical_path) if r.role != "metadata"], structure)
        mets_digest = file_digest(mets_path, self.alg)
        builder.add(METS, mets_digest)
        rows += [FileRow(aip_id, self.version, lp, builder.content_path_of(d), "metadata", "",
                         builder.content_file(lp).stat().st_size, d, mime="text/xml")
                 for lp, d in ((METS, mets_digest), (PREMIS, premis_digest))]
        user = self.opts.user or getpass.getuser()
        inventory = builder.inventory(created, self.opts.reason, user, f"urn:archa:user:{user}")
        inv_digest = builder.finish(inventory, root=False)
        stored = builder.stored_bytes
        header = {
            "kind": "update",
            "aip": {"id": aip_id, "label": label, "head": self.version},
            "version": {"aip_id": aip_id, "version": self.version, "created": created, "message": self.opts.reason,
                        "files": len(rows), "bytes": sum(r.size for r in rows), "inventory_digest": inv_digest,
                        "digest_algorithm": self.alg,
                        "stored": int(placement_satisfied(self.repo, {self.repo.hot_location}))},
            "copies": [{"aip_id": aip_id, "version": self.version, "location": self.repo.hot_location,
                        "state": "ok", "written": created, "last_audit": None, "bytes": stored,
                        "archive_sha256": ""}],
            "events": [asdict(e) for e in events],
            "retention": list(self.opts.retention) if self.opts.retention is not None else None,
            "transfer": self.opts.transfer,
            "pages": [{**p.row(), "text": p.text} for p in pages],
            "record": description_dict(description),
            "access": asdict(access) if access is not None else None,
        }
        journal = self.repo.write_journal(work, header, rows)
        self.repo.hot.add_version(work / "object" / self.version, aip_id, self.version, inventory_bytes(inventory),
                                  self.alg)
        self.keep_journal = True  # the version is in storage: whatever fails now, the journal finishes it
        self.repo.apply_journal(journal)
        self.keep_journal = False
        self.result.files = len(rows)
        self.result.bytes = sum(r.size for r in rows)

    def _describe(self, obj: Path, builder: VersionBuilder, rows: list[FileRow]) -> Description:
        """What the new version says of its record (metadata/description.py): its bag-info,
        DC and its package's own METS, each read verified."""
        by_path = {r.logical_path: r for r in rows}

        def read(lp: str) -> bytes | None:
            r = by_path.get(lp)
            try:
                return self._read(obj, builder, r) if r is not None else None
            except ArchaError:
                return None

        info = parse_bag_info((read("metadata/submission/bag-info.txt") or b"").decode("utf-8", "replace"))
        return describe(info, read, by_path)

    def _access(self, description: Description) -> AccessState | None:
        """The AIP's access anew when the new version states another than its package did
        (or the policy gave it, where the package said nothing); None when it stays: an
        archivist's decision (`archa access set`) is kept whatever a new version states. The
        state it starts from is the event log's; when the catalog's table says otherwise
        (changed behind archa's back) nothing changes, and public exports refuse the record."""
        aip_id = self.opts.aip_id
        logged = replay(self.cat.lifecycle.policy_events([aip_id])).get(aip_id)
        if logged != self.cat.record_index.access_rows([aip_id]).get(aip_id):
            return None  # the table is not what the log says: changed behind archa's back; exports refuse it
        stated = initial_state(description.access, description.kind, self.repo.policy.access.default_for)
        if logged is None:
            return None if stated.source == "policy" else stated  # a record from before access was recorded
        if logged.source == "set" or logged == stated or (stated.source == "policy" and logged.source == "policy"):
            return None
        return stated

    def _sources(self, obj: Path, builder: VersionBuilder, rows: list[FileRow]) -> dict[str, str]:
        """Each preservation copy the version holds -> the file it was derived from (PREMIS
        `derivation`), from the version's record of migrations."""
        by_path = {r.logical_path: r for r in rows}
        if MIGRATIONS not in by_path:
            return {}
        r = by_path[MIGRATIONS]
        base = builder.object_dir if r.content_path.startswith(f"{self.version}/") else obj
        record = parse_migrations(self._read(obj, builder, r), base / r.content_path, self.opts.aip_id)
        return {m["target"]: m["source"] for m in record["migrations"]
                if m["target"] in by_path and m["source"] in by_path}

    def _read(self, obj: Path, builder: VersionBuilder, r: FileRow) -> bytes:
        """A file of the new version, staged or kept where an earlier version stored it, checked
        against its digest (a carried file rotted or edited in the hot copy is never built on)."""
        staged = r.content_path.startswith(f"{self.version}/")
        return self._verified(builder.object_dir if staged else obj,
                              {"content_path": r.content_path, "digest": r.digest})

    def _pages(self, obj: Path, builder: VersionBuilder, rows: list[FileRow],
               label: str) -> tuple[PageStructure | None, list[PageRow]]:
        """A digitised volume (or an image record) keeps its page order in the new version: the
        pages of its ndk-structure.json (image-structure.json) whose master copy the version still holds, the text of their ALTO
        (as the version has it) indexed again."""
        by_path = {r.logical_path: r for r in rows}
        structure = next((s for s in STRUCTURES if s in by_path), None)
        if structure is None or not self.cat.pages(self.opts.aip_id, self.previous):
            return None, []

        def read(lp: str) -> bytes:
            return self._read(obj, builder, by_path[lp])

        doc = read_structure(read(structure))
        if doc is None:
            return None, []
        pages = with_text(version_pages(self.opts.aip_id, self.version, doc, by_path.__contains__), read)
        return page_structure(doc, pages, label), pages

    def _verified(self, obj: Path, row: dict[str, Any]) -> bytes:
        return verified_bytes(obj, row, self.alg, self.opts.aip_id)

    def _events(self, added: list[FileRow]) -> list[Event]:
        aip_id, version = self.opts.aip_id, self.version
        r = self.result
        changes = [f"{len(r.added)} added", f"{len(r.replaced)} replaced", f"{len(r.removed)} removed"]
        if self.opts.metadata is not None:
            changes.append("descriptive metadata replaced")
        kind = "modification" if added or r.removed else "metadata modification"
        extra = [replace(e, aip_id=aip_id, version=version) for e in self.opts.events]
        events = [Event(kind, "success", f"{aip_id} {version} made from {self.previous}: {self.opts.reason} "
                                         f"({', '.join(changes)}"
                                         + (f": {', '.join((r.added + r.replaced + r.removed)[:20])}" if added or
                                            r.removed else "") + f"); {self.cat.log.chain_head()}",
                        ARCHA_AGENT, aip_id, version, self.repo.hot_location,
                        objects=tuple(r.added + r.replaced + r.removed)), *extra]
        if added:
            ident = get_identifier(self.opts.engine or self.repo.policy.engine)
            events += [Event("message digest calculation", "success",
                             f"{self.alg} computed for {len(added)} added files while copying", ARCHA_AGENT, aip_id,
                             version),
                       Event("format identification", "success",
                             f"{len(added)} added files identified with {ident.name} {ident.engine_version} "
                             f"({ident.signature_version})", f"{ident.name}/{ident.engine_version}", aip_id, version)]
        return events

