"""Ingest: a SIP (bag directory or serialized bag) becomes an OCFL AIP with METS + PREMIS.

Order (what makes a crash harmless): validate and copy into a staged object; identify;
write metadata, inventory and sidecars; make everything durable; write the commit
journal; rename the object into the storage root; record catalog rows and events in one
transaction. A crash before the rename leaves only staging (swept by the next command);
a crash after it is rolled forward from the journal.
"""

from __future__ import annotations

import getpass
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

import archa
from archa.errors import Finding, Interrupted, SipRejected, json_utf8, utf8_text
from archa.ingest.bag import Bag, load_original_names, open_bag
from archa.ingest.duplicates import Refusal, held_before, revised_by_external_id, same_payload
from archa.ingest.mistakes import refuse_not_a_bag
from archa.lifecycle.originators import UNKNOWN as NO_ORIGINATOR
from archa.lifecycle.originators import Assignment, check_quota, premis_agent, resolve
from archa.lifecycle.resubmission import HeldAlready, held_already, payload_digests
from archa.metadata.dc import build_dc, title_from
from archa.metadata.description import Description, describe
from archa.metadata.mets import MdRef, MetsFile, PageStructure, write_mets
from archa.metadata.premis import Agent, operator_agent, write_premis
from archa.metadata.records import ORIGINAL
from archa.preservation.identify import UNKNOWN, get_identifier, identify_many
from archa.repository.access import access_event, initial_state
from archa.repository.catalog import FileRow, payload_fingerprint
from archa.repository.catalog.recordindex import description_dict
from archa.repository.catalog.scratch import BATCH, Requery, ScratchDb, StagedFiles
from archa.repository.copying import SMALL, CopyJob, CopyOutcome, ProgressFn, copy_stream
from archa.repository.durable import BackgroundSync
from archa.repository.events import ARCHA_AGENT, Event, now_iso
from archa.repository.hashing import file_digest
from archa.repository.ocfl import VersionBuilder, safe_content_path
from archa.repository.pages import (
    STRUCTURES,
    PageRow,
    page_groups,
    page_rows,
    page_structure,
    read_structure,
    with_text,
)
from archa.repository.placement import SyncResult, complete_copies, placement_satisfied
from archa.repository.repo import Repository
from archa.repository.retention import Retention, from_bag_info
from archa.repository.unpacking import Limits, archive_kind, extract, find_bag_root

T = TypeVar("T")  # what a bag maker returns (ingest_made_bag)
# what travels with a file's copy job: the bag's digests of it, whether it is payload, its content path
_Tag = tuple[dict[str, str], bool, str]
REPRESENTATION = ORIGINAL
STAGING = "staging.sqlite"  # the work area's scratch database (archa/repository/catalog/scratch.py)
PAYLOAD = "payload"  # the role of payload files
IDENTIFY_BATCH = 2000
# payloads at least this large are flushed on a thread while they are identified; a smaller
# one is left to the commit's one flush (an extra syncfs costs more than it saves there)
PREFLUSH_FROM = 16 << 20
# findings after which the payload cannot be checked at all
FATAL = {"BAG001", "BAG002", "BAG003", "BAG004"}


@dataclass(frozen=True)
class IngestOptions:
    engine: str | None = None  # identification engine; policy default when None
    jobs: int | None = None  # copy threads; policy default when None
    message: str = "Ingest of a SIP"
    user: str | None = None
    originator: str | None = None  # an originator id; else found from bag-info (lifecycle/originators.py)
    new_version: bool = True  # records held already, changed: the AIP's next version (else refused)
    allow_duplicate: bool = False  # store a bag whose payload or External-Identifier an AIP holds already
    withdraw_from_proposal: bool = False  # a resubmission of a record in an open disposal proposal takes it out
    # run the migration pathways right after the ingest, as the next version (lifecycle/migrate.py);
    # None: as the policy says ([migration] at_ingest)
    normalize: bool | None = None
    # asked between the steps before anything is stored; True: stop there, raising Interrupted
    # (nothing written, the work area removed; archa/transfer/follow.py on SIGTERM)
    cancel: Callable[[], bool] | None = None
    # recorded as the source of a rejected SIP instead of its own path: where a person finds
    # it afterwards (the drop folder's failed/NAME: the SIP itself is a claim that is moved)
    rejected_source: Path | None = None


@dataclass
class IngestResult:
    aip_id: str
    version: str
    transfer_id: str
    sip: str
    files: int
    bytes: int
    formats: list[dict[str, Any]]
    warnings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    stored: bool = False  # every copy the placement policy requires is written and verified
    copies: list[str] = field(default_factory=list)  # locations holding a verified copy
    copy_failures: list[dict[str, str]] = field(default_factory=list)
    originator: str = ""
    notes: list[str] = field(default_factory=list)
    # with normalize: what `archa migrate` did right after (MigrateResult.as_dict()), else None
    normalized: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """False when a migration run with the ingest failed for some file (it is stored all the same)."""
        return self.normalized is None or bool(self.normalized["ok"])

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["warnings"] = [w.as_dict() for w in self.warnings]
        return d


def ingest(repo: Repository, sip: Path, options: IngestOptions = IngestOptions(),
           progress: ProgressFn | None = None) -> IngestResult:
    """Ingest one SIP under the repository lock.

    Raises SipRejected (every finding, each with its code) when the SIP is invalid; the
    rejection is recorded in the catalog and nothing is stored. The SIP is only read.
    Raises UsageError, recording nothing, when `sip` does not exist or is a folder that is
    no bag at all (mistakes.refuse_not_a_bag: the hint names `archa transfer folder`).
    """
    refuse_not_a_bag(sip)
    with repo.writing(shared=True):  # beside audits, syncs and other ingests (lock.py)
        job = _Ingest(repo, sip, options, progress)
        with repo.aip_lock(job.aip_id):
            return _normalized(repo, job.run(), options, progress)


def _normalized(repo: Repository, result: IngestResult, options: IngestOptions,
                progress: ProgressFn | None) -> IngestResult:
    """With `normalize` (or the policy's at_ingest): the migration pathways on what was
    just stored, as its next version; a failed file is listed, the ingest stands."""
    if not (repo.policy.migration.at_ingest if options.normalize is None else options.normalize):
        return result
    from archa.lifecycle.migrate import MigrateOptions, migrate_aip

    done = migrate_aip(repo, MigrateOptions(result.aip_id, user=options.user, engine=options.engine))
    result.normalized = done.as_dict()
    if done.version:
        result.version = done.version
    return result


def ingest_made_bag(repo: Repository, source: Path, make_bag: Callable[[Path], T],
                    options: IngestOptions = IngestOptions(),
                    progress: ProgressFn | None = None) -> tuple[IngestResult, T]:
    """Make a bag inside the ingest's own work area and ingest it: `make_bag(out)` writes the
    bag `out` from `source`, its payload manifests holding the repository's digest algorithm
    too; the payload is then moved into the AIP, not copied again. Returns what `make_bag`
    returned beside the ingest's result. Errors as `ingest`; `source` is only read. The
    transfers' way in (archa/transfer/direct.py, `ingest_transfer`)."""
    made: list[T] = []

    def bag(out: Path) -> None:
        made.append(make_bag(out))

    with repo.writing(shared=True):
        job = _Ingest(repo, source, options, progress, bag)
        with repo.aip_lock(job.aip_id):
            result = _normalized(repo, job.run(), options, progress)
        return result, made[0]


class _Ingest:
    def __init__(self, repo: Repository, sip: Path, options: IngestOptions,
                 progress: ProgressFn | None, make_bag: Callable[[Path], None] | None = None) -> None:
        self.repo = repo
        self.sip = sip
        self.sip_name = utf8_text(sip.name)  # in labels and events: a name not UTF-8 with \xNN for its bytes
        self.make_bag = make_bag  # the SIP is a bag to make in the work area (ingest_made_bag)
        self.preflush: BackgroundSync | None = None
        self.options = options
        self.progress = progress
        self.alg = repo.policy.digest_algorithm
        self.engine = options.engine or repo.policy.engine
        self.jobs = options.jobs or repo.policy.ingest.jobs
        self.transfer_id = f"urn:uuid:{uuid.uuid4()}"
        self.aip_id = f"urn:uuid:{uuid.uuid4()}"
        self.received = now_iso()
        self.findings: list[Finding] = []
        self.retention: list[Retention] = []
        self.keep_journal = False  # the object reached storage but the catalog does not have it yet
        self.assignment: Assignment

    def _note(self, stage: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(stage, done, total)

    def run(self) -> IngestResult:
        t0 = time.perf_counter()
        work = self.repo.new_work_dir()
        db = ScratchDb(work / STAGING)  # per-file state: on disk, never in memory
        try:
            self._stop_point()
            bag = self._open(work, db)
            self._stop_point()
            builder = VersionBuilder(work / "object", self.aip_id, self.alg, db=db)
            files = StagedFiles(db, self.aip_id, "v1")
            self._copy(bag, builder, files)
            self._reject_if_errors(bag)
            self._stop_point()
            if bag.payload_bytes >= PREFLUSH_FROM:  # the content reaches the disk while it is identified
                self.preflush = BackgroundSync(work)
            self._identify(builder, files)
            self._stop_point()
            self._check_formats(files)
            self._reject_if_errors(bag)
            held, problems = held_already(self.repo.catalog, self.retention, str(self.sip))
            if problems:
                self._reject(problems)
            if held is not None:  # the records arrive again
                result = self._resubmit(held, work, bag, builder, files)
                result.seconds = time.perf_counter() - t0
                return result
            fingerprint = payload_fingerprint(((f.logical_path, f.digest) for f in files.file_rows(PAYLOAD)),
                                              ordered=True)
            with self._same_records_one_at_a_time(bag, fingerprint):  # checked and stored without a gap
                if not self.options.allow_duplicate:
                    self._refuse_duplicate(fingerprint, files)
                    held = self._revised_by_external_id(bag)
                if held is not None:  # a record revised: its AIP's next version
                    result = self._resubmit(held, work, bag, builder, files)
                    result.seconds = time.perf_counter() - t0
                    return result
                result = self._commit(work, bag, builder, files)
        except SipRejected as rej:
            self._record_rejection(rej)
            raise
        finally:
            db.close()
            if self.preflush is not None:
                self.preflush.join(quiet=True)  # a rejected SIP: its flush no longer matters
            self.repo.release_work_dir(work, remove=not self.keep_journal)
        self._replicate(result)
        result.seconds = time.perf_counter() - t0
        return result

    def _stop_point(self) -> None:
        """Raise Interrupted when the caller asks to stop (IngestOptions.cancel); only called
        before anything is stored."""
        if self.options.cancel is not None and self.options.cancel():
            raise Interrupted(f"{self.sip_name}: stopped before anything was stored, as asked",
                              hint="it is taken in again from the start the next time")

    def _replicate(self, result: IngestResult) -> None:
        """The other copies the placement policy wants, each verified as read back."""
        copies = SyncResult()
        complete_copies(self.repo, self.aip_id, "v1", copies, verify_source=False)
        (version,) = [v for v in self.repo.catalog.versions(self.aip_id) if v["version"] == "v1"]
        result.stored = bool(version["stored"])
        result.copies = [c["location"] for c in self.repo.catalog.copies(self.aip_id) if c["state"] == "ok"]
        result.copy_failures = copies.failed

    # --- steps --------------------------------------------------------------------------

    def _open(self, work: Path, db: ScratchDb) -> Bag:
        sip = self.sip
        if self.make_bag is not None:
            root: Path | None = work / "sip"
            self.make_bag(work / "sip")
        elif sip.is_dir():
            root = sip
        elif sip.is_file() and archive_kind(sip):
            extracted = work / "sip"
            extracted.mkdir()
            limits = Limits(self.repo.policy.ingest.max_files, self.repo.policy.ingest.max_bytes,
                            self.repo.policy.ingest.max_ratio)
            self._note("extract", 0, 1)
            found = extract(sip, extracted, limits)
            if found:
                self._reject(found)
            root, found = find_bag_root(extracted, sip.name)
            if found:
                self._reject(found)
        elif not sip.exists():
            self._reject([Finding("SIP001", "no such file or directory", str(sip))])
        else:
            self._reject([Finding("SIP001", "not a bag directory or a serialized bag "
                                            "(.zip, .tar, .tar.gz, .tgz, .tar.zst)", str(sip))])
        assert root is not None
        bag = open_bag(root, db)
        if any(f.code in FATAL for f in bag.findings):
            self._reject(bag.findings)  # nothing to copy against; otherwise report all at once
        self.retention, problems = from_bag_info(bag.info)
        self.findings += problems
        self.assignment = resolve(self.repo, self.options.originator, bag.info)
        check_quota(self.repo, self.assignment.originator, bag.payload_bytes)
        return bag

    def _copy(self, bag: Bag, builder: VersionBuilder, files: StagedFiles) -> None:
        """Copy payload and tag files into the staged object, verifying every checksum; a row
        per file into `files`. Content held twice is kept once: the first path in path order
        keeps it."""
        payload_algs = tuple(sorted(set(bag.payload_algorithms) | {self.alg}))

        def payload(**which: Any) -> Iterator[tuple[CopyJob, _Tag]]:
            for e in bag.iter_payload(**which):
                dest, content = builder.content_place(f"{REPRESENTATION}/{e.disk}")
                yield (CopyJob(e.disk, bag.root / e.disk, dest, e.size,
                               tuple(a for a in payload_algs if a in e.expected or a == self.alg)),
                       (e.expected, True, content))

        tags: list[tuple[CopyJob, _Tag]] = []
        for name in bag.tag_files:
            expected = bag.tag_expected.get(name, {})
            algs = tuple(sorted(set(expected) | {self.alg}))
            dest, content = builder.content_place(f"metadata/submission/{name}")
            tags.append((CopyJob(name, bag.root / name, dest, (bag.root / name).stat().st_size, algs),
                         (expected, False, content)))
        total = bag.payload_bytes + sum(j.size for j, _t in tags)
        copied: Iterator[tuple[CopyJob, _Tag, CopyOutcome]]
        if self.make_bag is not None:  # the bag is ours, just made in the work area: move, do not copy
            same = all(safe_content_path(x) == x for x in (f"{REPRESENTATION}/{e.disk}" for e in bag.iter_payload()))
            whole = (bag.root / "data", builder.content_file(f"{REPRESENTATION}/data")) \
                if same and (bag.root / "data").is_dir() else None
            copied = chain(_moved(payload(), self.alg, self._note, bag.payload_files, whole),
                           copy_stream((), tags, self.jobs, self._note, sum(j.size for j, _t in tags)))
        else:
            copied = copy_stream(payload(min_size=SMALL, largest_first=True), chain(payload(below=SMALL), tags),
                                 self.jobs, self._note, total)
        batch: list[tuple[str, FileRow, dict[str, str]]] = []
        for job, (expected, is_payload, content), out in copied:
            if not self._verify(bag, job, out, expected, is_payload):
                continue
            logical = f"{REPRESENTATION}/{job.key}" if is_payload else f"metadata/submission/{job.key}"
            batch.append((job.key, FileRow(self.aip_id, "v1", logical, content,
                                           "payload" if is_payload else "submission", job.key, out.size,
                                           out.digests[self.alg]), out.digests))
            if len(batch) >= BATCH:
                files.add(batch)
                batch.clear()
        files.add(batch)
        load_original_names(bag)  # names that were not UTF-8 at the source
        files.take_original_names()
        for chunk in files.chunks(digests=False):  # in path order: the first path keeps deduplicated content
            for key, row, _d in chunk:
                if not builder.add(row.logical_path, row.digest):
                    files.set_content_path(key, builder.content_path_of(row.digest))

    def _verify(self, bag: Bag, job: CopyJob, out: CopyOutcome, expected: dict[str, str],
                is_payload: bool) -> bool:
        if out.error:
            bag.add("BAG015", out.error, job.key)
            return False
        ok = True
        if out.size != job.size:
            bag.add("BAG021", "the file changed size while it was read", job.key,
                    expected=str(job.size), found=str(out.size))
            ok = False
        for alg, want in sorted(expected.items()):
            if out.digests.get(alg) != want:
                bag.add("BAG009" if is_payload else "BAG013",
                        f"{alg} checksum does not match the {'tag' if not is_payload else ''}"
                        f"manifest".replace("  ", " "), job.key, expected=want, found=out.digests.get(alg))
                ok = False
        return ok

    def _identify(self, builder: VersionBuilder, files: StagedFiles) -> None:
        """Identify every stored file (payload and submission documents) in the staged copy,
        recording the result in `files`."""
        processes = min(self.jobs, os.cpu_count() or 1)
        total, done = files.count()[0], 0
        for chunk in files.chunks(IDENTIFY_BATCH):  # bounded memory for results
            found = identify_many([builder.object_dir / row.content_path for _k, row, _d in chunk], self.engine,
                                  processes, digests=[{self.alg: row.digest} for _k, row, _d in chunk])
            files.set_formats((key, (fmt.puid, fmt.name, fmt.version, fmt.mime, fmt.basis, fmt.engine,
                                     fmt.engine_version, fmt.signature_version, fmt.warning))
                              for (key, _r, _d), fmt in zip(chunk, found, strict=True))
            done += len(chunk)
            self._note("identify", done, total)

    def _check_formats(self, files: StagedFiles) -> None:
        pol = self.repo.policy.formats
        for f in files.file_rows(PAYLOAD):
            if f.puid in pol.rejected:
                self.findings.append(Finding("FMT001", f"format {f.puid} ({f.format_name}) is "
                                             "rejected by the policy (formats.rejected)",
                                             f.original_name, found=f.puid))
            elif f.puid == UNKNOWN and pol.unknown == "reject":
                self.findings.append(Finding("FMT002", "format not identified and the policy "
                                             "rejects unknown formats (formats.unknown)", f.original_name))

    def _commit(self, work: Path, bag: Bag, builder: VersionBuilder, files: StagedFiles) -> IngestResult:
        created = now_iso()
        ident = get_identifier(self.engine)
        label = title_from(bag.info, self.sip_name)
        n_payload, payload_bytes = files.count(PAYLOAD)
        n_files, files_bytes = files.count()
        unidentified = files.count(PAYLOAD, puid=UNKNOWN)[0]
        engine_agent = f"{ident.name}/{ident.engine_version}"
        unknown = self._unknown_originator(bag)
        warnings = [w for w in bag.findings + self.findings + unknown if not w.is_error]
        events = [
            Event("validation", "success", f"BagIt {bag.version} bag valid: {n_payload} payload "
                  f"files verified against {', '.join(bag.payload_algorithms)} manifests"
                  + (f"; {len(warnings)} warning(s): " + "; ".join(str(w) for w in warnings[:20])
                     if warnings else ""), ARCHA_AGENT, self.aip_id, "v1",
                  transfer_id=self.transfer_id),
            Event("message digest calculation", "success",
                  f"{self.alg} computed for {n_files} files while copying", ARCHA_AGENT,
                  self.aip_id, "v1", transfer_id=self.transfer_id),
            Event("format identification", "success",
                  f"{n_payload} payload files identified with {ident.name} {ident.engine_version} "
                  f"({ident.signature_version}); "
                  f"{unidentified} unidentified",
                  engine_agent, self.aip_id, "v1", transfer_id=self.transfer_id),
            Event("ingestion", "success", f"SIP {self.sip_name} ingested as {self.aip_id} v1; "
                  f"{self.repo.catalog.log.chain_head()}",
                  ARCHA_AGENT, self.aip_id, "v1", self.repo.hot_location, self.transfer_id),
        ]
        agents = [Agent("urn", ARCHA_AGENT, "archa", "software", archa.__version__),
                  Agent("urn", engine_agent, ident.name, "software",
                        f"{ident.engine_version} ({ident.signature_version})")]
        org = bag.info_value("Source-Organization")
        if org:
            agents.append(Agent("local", f"organization:{org}", org, "organization"))
        agents.append(premis_agent(self.assignment.originator))
        agents.append(operator_agent(self.options.user or getpass.getuser()))

        # 1. metadata files: dc, premis, METS (each points at the ones before it)
        dc_bytes = build_dc(self.aip_id, bag.info, label)
        description = self._describe(builder, files, dc_bytes, bag.info)
        access = initial_state(description.access, description.kind, self.repo.policy.access.default_for)
        events.append(access_event(access, self.aip_id, "v1", ARCHA_AGENT, events[-1].time))
        dc_digest = builder.write_bytes("metadata/descriptive/dc.xml", dc_bytes)
        premis_path = builder.content_file("metadata/preservation/premis.xml")
        premis_path.parent.mkdir(parents=True)
        write_premis(premis_path, self.aip_id, REPRESENTATION, files, events, agents,
                     rights=[v for k, v in bag.info if k.lower() == "access-restriction" and v])
        premis_digest = file_digest(premis_path, self.alg)
        builder.add("metadata/preservation/premis.xml", premis_digest)
        mets_path = builder.content_file("METS.xml")
        structure, pages = self._pages(bag, builder, files, label)
        groups = page_groups(pages)
        write_mets(mets_path, self.aip_id, label, created, f"archa {archa.__version__}", self.alg,
                   MdRef("metadata/descriptive/dc.xml", "DC", len(dc_bytes), dc_digest),
                   MdRef("metadata/preservation/premis.xml", "PREMIS", premis_path.stat().st_size,
                         premis_digest),
                   Requery(lambda: (MetsFile(f.logical_path, f.size, f.digest, f.mime,
                                             groups.get(f.logical_path, "original") if f.role == "payload"
                                             else "submission") for f in files.file_rows())), structure)
        mets_digest = file_digest(mets_path, self.alg)
        builder.add("METS.xml", mets_digest)
        meta_rows = [
            FileRow(self.aip_id, "v1", lp, builder.content_path_of(dg), "metadata", "",
                    builder.content_file(lp).stat().st_size, dg, mime="text/xml")
            for lp, dg in (("METS.xml", mets_digest), ("metadata/descriptive/dc.xml", dc_digest),
                           ("metadata/preservation/premis.xml", premis_digest))]

        # 2. inventory and sidecars; everything durable before the object becomes visible
        if self.preflush is not None:
            self.preflush.join()  # its error, if any; `finish` flushes the whole staged object once
        user = self.options.user or getpass.getuser()
        inv = builder.inventory(created, self.options.message, user, f"urn:archa:user:{user}")
        inv_digest = builder.finish(inv)

        # 3. journal, rename into storage, catalog rows + events in one transaction
        total_bytes = files_bytes + sum(r.size for r in meta_rows)
        header = {
            "aip": {"id": self.aip_id, "created": created, "label": label,
                    "external_id": bag.info_value("External-Identifier") or "", "head": "v1",
                    "transfer_id": self.transfer_id, "originator_id": self.assignment.originator.id,
                    "state": "active"},
            "originators": [self.assignment.originator.row()] if self.assignment.new else [],
            "version": {"aip_id": self.aip_id, "version": "v1", "created": created,
                        "message": self.options.message, "files": n_files + len(meta_rows), "bytes": total_bytes,
                        "inventory_digest": inv_digest, "digest_algorithm": self.alg,
                        "stored": int(placement_satisfied(self.repo, {self.repo.hot_location}))},
            "copies": [{"aip_id": self.aip_id, "version": "v1", "location": self.repo.hot_location,
                        "state": "ok", "written": created, "last_audit": None,
                        "bytes": builder.stored_bytes,
                        "archive_sha256": ""}],
            "transfer": self._transfer_row("accepted", n_payload, payload_bytes, warnings,
                                           aip_id=self.aip_id),
            "events": [asdict(e) for e in events],
            "retention": [r.row(self.aip_id) for r in self.retention],
            "pages": [{**p.row(), "text": p.text} for p in pages],
            "record": description_dict(description),
            "access": asdict(access),
        }
        journal = self.repo.write_journal(work, header, chain(files.file_rows(), meta_rows))
        self.repo.hot.commit_object(work / "object", self.aip_id)
        self.keep_journal = True  # the object is in storage: whatever fails now, the journal finishes it
        self.repo.apply_journal(journal)
        self.keep_journal = False
        summary = self.repo.catalog.format_summary(self.aip_id, "v1")
        return IngestResult(self.aip_id, "v1", self.transfer_id, utf8_text(str(self.sip)), n_payload,
                            payload_bytes, summary, warnings, originator=self.assignment.originator.id,
                            notes=[self.assignment.note] if self.assignment.note and not unknown else [])

    def _describe(self, builder: VersionBuilder, files: StagedFiles, dc: bytes,
                  info: list[tuple[str, str]]) -> Description:
        """What the version says of its record (metadata/description.py), read from the staged
        object: its package's own METS, bag-info and DC."""
        def read(lp: str) -> bytes | None:
            if lp == "metadata/descriptive/dc.xml":
                return dc
            where = files.content_path(lp)
            try:
                return (builder.object_dir / where).read_bytes() if where else None
            except OSError:
                return None

        return describe(info, read, chain(["metadata/descriptive/dc.xml"], (f.logical_path for f in files.file_rows())))

    def _unknown_originator(self, bag: Bag) -> list[Finding]:
        """A warning (ORGW01) when the bag's Originator-Identifier names no originator the
        repository knows (it is registered from the SIP): said with the option that sets it."""
        ident = bag.info_value("Originator-Identifier")
        o = self.assignment.originator
        if not (self.assignment.new and ident and ident.strip()) or o.id == NO_ORIGINATOR:
            return []
        return [Finding("ORGW01", f"Originator-Identifier {ident.strip()!r} names no originator the repository "
                                  f"knows: registered now from the SIP as {o.id} ({o.name}); to file it under a "
                                  "registered one, give --originator ID (`archa originator list`; `archa originator "
                                  "add ID --name NAME` registers one)", "bag-info.txt", severity="warning")]

    def _pages(self, bag: Bag, builder: VersionBuilder, files: StagedFiles, label: str) -> tuple[PageStructure | None, list[PageRow]]:
        """The page order of a digitised volume (the bag's ndk-structure.json) or of an image
        record (its image-structure.json, archa/repository/pages.py), checked against
        the payload, with each page's ALTO text read from the staged copy; (None, []) for other
        bags. SipRejected (NDK030) when the tag file names files the payload does not hold."""
        name = next((n for s in STRUCTURES if (n := s.rsplit("/", 1)[1]) in bag.tag_files), "")
        if not name:
            return None, []
        doc = read_structure((bag.root / name).read_bytes())
        if doc is None:
            self._reject([Finding("NDK030", "the tag file is not an NDK page structure archa can read", name)])
        assert doc is not None
        prefix = f"{REPRESENTATION}/data/"
        rows = page_rows(self.aip_id, "v1", doc, prefix)
        stored = {p: files.content_path(p) for r in rows for p in (r.master, r.user, r.alto, r.txt) if p}
        missing = sorted(p for p, where in stored.items() if where is None)
        if missing or not rows:
            self._reject([Finding("NDK030", "the page structure names files the payload does not hold: "
                                  + ", ".join(m.removeprefix(prefix) for m in missing[:5]) if missing
                                  else "the page structure lists no page", name)])
        rows = with_text(rows, lambda lp: (builder.object_dir / str(stored[lp])).read_bytes())
        return page_structure(doc, rows, label), rows

    @contextmanager
    def _same_records_one_at_a_time(self, bag: Bag, fingerprint: str) -> Iterator[None]:
        """Hold the locks of this payload and External-Identifier, so that two ingests of the
        same bag side by side cannot both pass the duplicate check: the second sees the first."""
        keys = {f"payload:{fingerprint}": "a SIP with the same payload"}
        ext = bag.info_value("External-Identifier")
        if ext:
            keys[f"external:{ext}"] = f"a SIP with External-Identifier {ext!r}"
        with ExitStack() as stack:
            for key in sorted(keys):
                stack.enter_context(self.repo.aip_lock(key, what=keys[key]))
            yield

    def _refuse_duplicate(self, fingerprint: str, files: StagedFiles) -> None:
        """SipRejected (DUP001) when a version of an active AIP, the newest or an older one,
        holds the same payload (`fingerprint`: every file, name and digest)."""
        self._refuse(same_payload(self.repo.catalog, self.sip.name, fingerprint, *files.count(PAYLOAD), self.alg))

    def _revised_by_external_id(self, bag: Bag) -> HeldAlready | None:
        """The active AIP with the bag's External-Identifier, of which the bag is to be the
        next version (duplicates.revised_by_external_id); SipRejected when it cannot be."""
        ext = bag.info_value("External-Identifier")
        if not ext:
            return None
        held, refusal = revised_by_external_id(self.repo.catalog, self.sip.name, ext, self.options.new_version)
        self._refuse(refusal)
        return held

    def _refuse(self, refusal: Refusal | None) -> None:
        if refusal is not None:
            raise SipRejected(str(self.sip), refusal.findings, transfer_id=self.transfer_id, hint=refusal.hint)

    def _resubmit(self, held: HeldAlready, work: Path, bag: Bag, builder: VersionBuilder,
                  files: StagedFiles) -> IngestResult:
        """A package whose records an AIP holds already (or a bag with its External-Identifier):
        refused when unchanged (or when new versions are not wanted), else stored as that AIP's
        next version. A plain bag that declares no retention or access restriction keeps the
        AIP's."""
        from archa.lifecycle.versions import UpdateOptions, _Update

        new = payload_digests(files, builder.object_dir, held.digest_algorithm)
        where = f"{held.aip_id} {held.head}"
        if new == held.payload:
            raise SipRejected(str(self.sip), [Finding("DUP001", f"its records are held already, unchanged, as {where}",
                                                      self.sip.name)], transfer_id=self.transfer_id,
                              hint="nothing to do: this is what the repository holds; nothing was stored")
        self._refuse(held_before(self.repo.catalog, self.sip.name, held, new, files.count(PAYLOAD)[1]))
        if not self.options.new_version:
            raise SipRejected(str(self.sip), [Finding("DUP002", f"its records are held already as {where} and it "
                                                      "changes them", self.sip.name)], transfer_id=self.transfer_id,
                              hint="ingest it with --as-new-version to store it as that AIP's next version")
        staged = builder.object_dir
        changed = tuple((staged / r.content_path, r.logical_path) for r, _d in files
                        if r.role == "payload" and held.payload.get(r.logical_path) != new[r.logical_path])
        removed = tuple(lp for lp in held.payload if lp not in new)
        dc = work / "resubmitted-dc.xml"
        dc.write_bytes(build_dc(held.aip_id, bag.info, title_from(bag.info, self.sip_name)))
        n_payload = len(new)
        payload_bytes = files.count(PAYLOAD)[1]
        warnings = [w for w in bag.findings + self.findings if not w.is_error]
        rights = tuple(v for k, v in bag.info if k.lower() == "access-restriction" and v)
        brings = (f"revises External-Identifier {held.external_id!r}" if held.external_id
                  else "brings records held already")
        reason = (f"{self.options.message}: SIP {self.sip_name} {brings} "
                  f"({len(changed)} files new or changed, {len(removed)} gone)")
        opts = UpdateOptions(held.aip_id, reason, add=changed, remove=removed, metadata=dc,
                             user=self.options.user, engine=self.engine, jobs=self.jobs,
                             withdraw_from_proposal=self.options.withdraw_from_proposal,
                             submission=tuple((staged / r.content_path, r.logical_path) for r, _d in files
                                              if r.role == "submission"),
                             retention=tuple(r.row(held.aip_id) for r in self.retention)
                             if self.retention or not held.external_id else None,  # a plain bag: kept
                             rights=rights if rights or not held.external_id else None,  # a plain bag: kept
                             transfer=self._transfer_row("accepted", n_payload, payload_bytes, warnings,
                                                         aip_id=held.aip_id))
        with self.repo.aip_lock(held.aip_id):
            up = _Update(self.repo, opts, self.progress).run()
        return IngestResult(held.aip_id, up.version, self.transfer_id, utf8_text(str(self.sip)), n_payload, payload_bytes,
                            self.repo.catalog.format_summary(held.aip_id, up.version), warnings, stored=up.stored,
                            copies=up.copies, copy_failures=up.copy_failures,
                            originator=self.repo.catalog.aip(held.aip_id)["originator_id"] or "",
                            notes=[f"its External-Identifier {held.external_id!r} is held already as {where}: "
                                   f"stored as its next version, {up.version}" if held.external_id else
                                   f"its records are held already as {where}: stored as {up.version}"])

    # --- rejection ----------------------------------------------------------------------

    def _transfer_row(self, status: str, files: int, size: int, findings: list[Finding],
                      aip_id: str = "") -> dict[str, Any]:
        return transfer_row(self.transfer_id, self.sip, self.received, status, files, size, findings, aip_id)

    def _reject(self, findings: list[Finding]) -> None:
        raise SipRejected(str(self.sip), findings + self.findings, transfer_id=self.transfer_id)

    def _reject_if_errors(self, bag: Bag) -> None:
        if not bag.ok or any(f.is_error for f in self.findings):
            self._reject(bag.findings)

    def _record_rejection(self, rej: SipRejected) -> None:
        record_rejection(self.repo, self.options.rejected_source or self.sip, rej, self.transfer_id, self.received)
        rej.transfer_id = rej.transfer_id or self.transfer_id  # a transfer's own rejection: say where it is


def _moved(jobs: Iterable[tuple[CopyJob, _Tag]], alg: str, note: ProgressFn,
           total: int, whole: tuple[Path, Path] | None) -> Iterator[tuple[CopyJob, _Tag, CopyOutcome]]:
    """Payload files of a bag this ingest's own transfer just wrote in its work area, moved
    into the staged object: their digests are the manifests' (taken as the transfer read the
    source a moment ago, `alg` among them); reading them again would only prove the page cache.
    `whole` (the bag's data folder, the staged object's folder of the same files): every
    content path is its bag path, so the folder is renamed in one step (an NSESSS package of
    10 files: 0.8-1.1 ms against 1.4-2.1 ms file by file, most of it making folders);
    otherwise file by file into the staged object (`safe_content_path` escapes some name,
    and a file renamed within the bag's folder could replace another whose bag name is that
    escape). Durable with the rest of the object (the commit's file system sync)."""
    made: set[Path] = set()
    if whole is not None:
        whole[1].parent.mkdir(parents=True, exist_ok=True)
        os.rename(whole[0], whole[1])
    for n, (job, tag) in enumerate(jobs, 1):
        expected = tag[0]
        if alg not in expected:
            raise RuntimeError(f"{job.key}: the transfer wrote no {alg} digest")  # a bug, not bad input
        if whole is None:
            if job.dest.parent not in made:
                job.dest.parent.mkdir(parents=True, exist_ok=True)
                made.add(job.dest.parent)
            os.rename(job.src, job.dest)
        yield job, tag, CopyOutcome(job.key, job.size, dict(expected))
        if n % 1000 == 0:
            note("move", n, total)
    note("move", total, total)


def transfer_row(transfer_id: str, sip: Path, received: str, status: str, files: int, size: int,
                 findings: list[Finding], aip_id: str = "") -> dict[str, Any]:
    """The catalog's row of a transfer. A name that is not UTF-8 (a bag's file b"\\xff.txt", a
    SIP path) is recorded too: the source as `printable` shows it, the findings as JSON with
    the name's bytes kept (ASCII escapes), so that recording a rejection never fails."""
    return {"id": transfer_id, "source": source_text(sip), "received": received,
            "status": status, "aip_id": aip_id, "files": files, "bytes": size,
            "findings": json_utf8([f.as_dict() for f in findings])}


def source_text(sip: Path) -> str:
    """A transfer's source as the catalog records it (`transfer_row`)."""
    return utf8_text(str(sip.absolute()))


def record_rejection(repo: Repository, sip: Path, rej: SipRejected, transfer_id: str = "",
                     received: str = "") -> str:
    """Record a rejected transfer (every finding) and its failed validation event in the
    catalog; returns the transfer id. Used by ingest and by transfers that fail before it."""
    transfer_id = transfer_id or rej.transfer_id or f"urn:uuid:{uuid.uuid4()}"
    errors = [f for f in rej.findings if f.is_error]
    detail = f"SIP {utf8_text(sip.name)} rejected: " + "; ".join(str(f) for f in errors[:50])
    if len(errors) > 50:
        detail += f"; and {len(errors) - 50} more"
    repo.catalog.record_rejected_transfer(
        transfer_row(transfer_id, sip, received or now_iso(), "rejected", 0, 0, rej.findings),
        [Event("validation", "failure", detail, ARCHA_AGENT, transfer_id=transfer_id)])
    return transfer_id

