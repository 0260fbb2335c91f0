"""`archa transfer ndk`: an NDK digitisation package (PSP) checked and made a bag.

Order: the package's XML and lists are read and checked (`psp.read_psp`) before anything
is copied; its files are then copied into the bag, MD5-hashed in the same read, and the
digests compared with the MD5 file, the main METS fileSec (CHECKSUM, SIZE) and info's
checksum of the MD5 file; last, the copies are judged: ALTO against ALTO 2.0, each page's
technical METS against METS + MIX + PREMIS and the edition's page METS rules (`psp.check_amd`),
every JPEG 2000 with jpylyzer. Any error rejects the package with every finding (nothing
written, the source only read); each finding names the reference validator's rule it matches.

The bag's payload is the package byte for byte (`data/<uuid>/...`); bag-info carries the
title, creator, date and identifiers from MODS; the tag file `ndk-structure.json` carries
the page order (each page's master copy, user copy, ALTO, text and technical METS) and the
logical sections, which ingest turns into the AIP's METS structMaps and page catalog.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from archa.errors import Finding
from archa.metadata.xmlsafe import UnsafeXml, parse_untrusted
from archa.repository.copying import ProgressFn
from archa.repository.unpacking import Limits
from archa.transfer.folder import TransferResult
from archa.transfer.ndk import rules as R
from archa.transfer.ndk.jp2 import check_jp2
from archa.transfer.ndk.psp import ROLE_NAMES, Page, Psp, check_amd, flag, read_psp, validate
from archa.transfer.ndk.schemas import alto_schema, mets_schema
from archa.transfer.package import Check, package_bag, take_payload

STRUCTURE = "ndk-structure.json"


def _check_content(data: Path, psp: Psp, check: Check, jobs: int) -> None:
    """ALTO, technical METS (schemas, and the edition's page METS structure) and JPEG 2000
    checks on the copies in the bag's data/."""
    from lxml import etree

    def one(page: Page, role: str, rel: str) -> list[Finding]:
        path = data / psp.name / rel
        where = f"{psp.name}/{rel}"
        local = Check(where)
        if role in ("master", "user"):
            for f in check_jp2(path, role):
                flag(local, f.code, f.message, where, R.JP2_RULES[role], warning=f.warning)
        elif role in ("alto", "amd"):
            code, what = ("NDK017", "ALTO 2.0") if role == "alto" else ("NDK013", "METS with MIX and PREMIS")
            try:
                root = parse_untrusted(path.read_bytes())
            except (etree.XMLSyntaxError, UnsafeXml) as e:
                flag(local, code, f"the {ROLE_NAMES[role]} is not well-formed XML: {e}", where,
                     R.ALTO_XSD if role == "alto" else None)
            else:
                validate(root, alto_schema() if role == "alto" else mets_schema(psp.edition), local, code, where, what,
                         R.ALTO_XSD if role == "alto" else None)
                if role == "amd":
                    local.findings += check_amd(root, psp, page, where)
        return local.findings

    work = [(page, role, rel) for page in psp.pages for role, rel in sorted(page.files.items())]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        for found in pool.map(lambda w: one(*w), work):
            check.findings += found


def transfer_ndk(sip: Path, out: Path, meta: Sequence[tuple[str, str]], limits: Limits, jobs: int = 4,
                 progress: ProgressFn | None = None) -> tuple[TransferResult, Psp]:
    """Check the PSP `sip` (a folder, or a ZIP of one) and write it as the bag `out`.

    Raises SipRejected with every finding (nothing is written; `sip` is only read) or
    UsageError (OUT exists, SIP does not)."""
    sip, out = sip.absolute(), out.absolute()
    with package_bag(sip, out, limits, "NDK") as (check, draft, folder):
        psp = read_psp(folder, check)
        check.reject_if_errors()
        assert psp is not None
        outcomes = take_payload(draft, folder, jobs, progress, ("md5",))
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
        _check_content(draft.data, psp, check, jobs)
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
            [(f"archa transfer ndk {sip}: NDK {psp.kind} {psp.version} ({psp.edition} schemas, "
              f"{psp.rules.fdmf if psp.rules else '?'} rules), {pages} pages, {len(psp.sections)} logical sections, "
              f"{len(outcomes)} files\n")]
            + [f"{f.code}\t{f.path}\t{f.message}" + (f"\t{f.rule}" if f.rule else "") + "\n"
               for f in check.findings])
        draft.finish(out)
    return TransferResult("ndk", str(sip), str(out), draft.payload_files, draft.payload_bytes,
                          check.findings, draft.info), psp
