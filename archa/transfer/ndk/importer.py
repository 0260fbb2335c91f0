"""`archa transfer ndk`: an NDK digitisation package (PSP) checked and made a bag.

Order: the package's XML and lists are read and checked (`psp.read_psp`) before anything
is copied; its files are then copied into the bag (`intake`: each file read once, the work
spread over a process per core), MD5-hashed in the same read, the digests compared with the
MD5 file, the main METS fileSec (CHECKSUM, SIZE) and info's checksum of the MD5 file, and
the bytes read judged: ALTO against ALTO 2.0, each page's technical METS against METS + MIX
+ PREMIS and the edition's page METS rules (`psp.check_amd`), every JPEG 2000 with jpylyzer.
Any error rejects the package with every finding (nothing written, the source only read);
each finding names the reference validator's rule it matches.

The bag's payload is the package byte for byte (`data/<uuid>/...`); bag-info carries the
title, creator, date and identifiers from MODS; the tag file `ndk-structure.json` carries
the page order (each page's master copy, user copy, ALTO, text and technical METS) and the
logical sections, which ingest turns into the AIP's METS structMaps and page catalog.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from archa.errors import Finding
from archa.repository.copying import CopyOutcome, ProgressFn
from archa.repository.unpacking import Limits
from archa.transfer.bagwriter import BagDraft
from archa.transfer.folder import TransferResult
from archa.transfer.ndk import rules as R
from archa.transfer.ndk.intake import Context, plan, take_all
from archa.transfer.ndk.psp import Psp, flag, read_psp
from archa.transfer.package import Check, package_bag

STRUCTURE = "ndk-structure.json"


def _take_files(draft: BagDraft, folder: Path, psp: Psp, check: Check, jobs: int,
                progress: ProgressFn | None) -> dict[str, CopyOutcome]:
    """Every file of the package into the bag (`intake`: one read, hashed with the bag's
    algorithms and MD5, the page files checked on the way); the check findings go to `check`
    in page order after every finding about the copies. Outcomes by key."""
    unpacked = folder.parent == draft.data
    takes, checks = plan(psp, folder, None if unpacked else draft.data)
    algorithms = (*draft.algorithms, *[a for a in ("md5",) if a not in draft.algorithms])
    outcomes: dict[str, CopyOutcome] = {}
    found: list[list[Finding]] = [[] for _ in range(checks)]
    batch: list[CopyOutcome] = []
    for taken in take_all(takes, Context(psp, algorithms), jobs, progress,
                          "hash" if unpacked else "copy"):
        outcomes[taken.outcome.key] = taken.outcome
        for n, findings in taken.findings:
            found[n] = findings
        if not taken.outcome.error:
            batch.append(taken.outcome)
        if len(batch) >= 1000:
            _add_payload(draft, batch)
    _add_payload(draft, batch)
    _judge_copies(psp, outcomes, check)
    for findings in found:
        check.findings += findings
    return outcomes


def _add_payload(draft: BagDraft, batch: list[CopyOutcome]) -> None:
    """The copies join the bag's payload list (as `BagDraft.copy_in` adds them)."""
    draft.tables.add_payload((o.key, o.size, {a: o.digests[a] for a in draft.algorithms}) for o in batch)
    batch.clear()


def _judge_copies(psp: Psp, outcomes: dict[str, CopyOutcome], check: Check) -> None:
    """Each copy's digests and size against the MD5 file, the main METS fileSec and info."""
    for key, o in sorted(outcomes.items()):
        rel = key.split("/", 1)[1]
        if o.error:
            check.error("NDK021", o.error, key)
            continue
        md5 = o.digests["md5"]
        if rel in psp.md5 and psp.md5[rel] != md5:
            flag(check, "NDK008", f"MD5 differs from {psp.md5_file}", key, R.MD5_SUMS, psp.md5[rel], md5)
        item = psp.listed.get(rel)
        if item is not None and item.size is not None and item.size != o.size:
            flag(check, "NDK016", f"size differs from mets:file {item.file_id} SIZE in {psp.mets}", key, R.SIZES,
                 str(item.size), str(o.size))
        if item is not None and item.md5 and item.md5 != md5:
            flag(check, "NDK016", f"MD5 differs from mets:file {item.file_id} CHECKSUM in {psp.mets}", key,
                 R.CHECKSUMS, item.md5, md5)
        if rel == psp.md5_file and psp.info_md5 and psp.info_md5 != md5:
            flag(check, "NDK011", f"MD5 differs from the checksum {psp.info} gives for it", key, R.INFO_CHECKSUM,
                 psp.info_md5, md5)


def transfer_ndk(sip: Path, out: Path, meta: Sequence[tuple[str, str]], limits: Limits, jobs: int = 4,
                 progress: ProgressFn | None = None, *, shown: str | None = None) -> tuple[TransferResult, Psp]:
    """Check the PSP `sip` (a folder, or a ZIP of one) and write it as the bag `out`.
    `shown`: how the source is named in the transfer report and the result (default: its path).

    Raises SipRejected with every finding (nothing is written; `sip` is only read) or
    UsageError (OUT exists, SIP does not)."""
    sip, out = sip.absolute(), out.absolute()
    with package_bag(sip, out, limits, "NDK") as (check, draft, folder):
        psp = read_psp(folder, check)
        check.reject_if_errors()
        assert psp is not None
        outcomes = _take_files(draft, folder, psp, check, jobs, progress)
        check.reject_if_errors()
        pages = len(psp.pages)
        info = [("Title", psp.title), ("Source-Organization", psp.creator),
                ("External-Identifier", f"uuid:{psp.uuid}" if psp.uuid else ""),
                ("Internal-Sender-Identifier", psp.name),
                ("External-Description", (f"NDK {psp.kind} {psp.version} digitisation package (PSP), {pages} "
                                         f"page{'s' if pages != 1 else ''}"))]
        info += [(k, v) for k, v in psp.metadata if k == "Date"]
        draft.info = [(k, v) for k, v in info if v] + list(meta)
        draft.tag_files[STRUCTURE] = json.dumps(psp.structure(), ensure_ascii=False, indent=1) + "\n"
        draft.tag_files["transfer-report.txt"] = "".join(
            [(f"archa transfer ndk {shown or sip}: NDK {psp.kind} {psp.version} ({psp.edition} schemas, "
              f"{psp.rules.fdmf if psp.rules else '?'} rules), {pages} pages, {len(psp.sections)} logical sections, "
              f"{len(outcomes)} files\n")]
            + [f"{f.code}\t{f.path}\t{f.message}" + (f"\t{f.rule}" if f.rule else "") + "\n"
               for f in check.findings])
        draft.finish(out)
    return TransferResult("ndk", shown or str(sip), str(out), draft.payload_files, draft.payload_bytes,
                          check.findings, draft.info), psp
