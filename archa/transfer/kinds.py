"""One entry point for every transfer kind, and telling the kinds apart.

Kinds: "bag" (a BagIt bag, as a folder or .zip/.tar/.tgz/.tar.zst: ingested as it is),
"nsesss" (Czech ERMS SIP), "eark" (E-ARK CSIP/SIP), "ndk" (NDK digitisation package, PSP) and "folder" (any other folder; with `images`, an
image record made from a folder of images).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from archa.errors import UsageError
from archa.policies.model import Policy
from archa.repository.copying import ProgressFn
from archa.repository.unpacking import Limits, archive_kind
from archa.transfer.folder import TransferResult, transfer_folder

if TYPE_CHECKING:
    from archa.transfer.nsesss.check import CheckOptions

KINDS = ("folder", "nsesss", "eark", "ndk")


def _is_psp(names: set[str]) -> bool:
    """An NDK package's top folder holds info_<uuid>.xml and mets_<uuid>.xml."""
    return any(n.startswith("info_") and n.endswith(".xml") for n in names) and \
        any(n.startswith("mets_") and n.endswith(".xml") for n in names)


def detect_kind(path: Path) -> str:
    """"bag", "nsesss", "eark", "ndk", "folder", or "" (nothing archa can take)."""
    if path.is_dir():
        names = {p.name for p in path.iterdir()}
        if "bagit.txt" in names:
            return "bag"
        if _is_psp(names):
            return "ndk"
        if "mets.xml" in names:
            return "nsesss"
        if "METS.xml" in names and "representations" in names:
            return "eark"
        return "folder"
    if path.is_file() and path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                names = {n.split("/", 2)[1] for n in z.namelist() if n.count("/") >= 1}
        except (zipfile.BadZipFile, OSError):
            return "bag"  # let the bag reader report what is wrong with it
        if "bagit.txt" in names:
            return "bag"
        if "mets.xml" in names:
            return "nsesss"
        if "METS.xml" in names:
            return "eark"
        if _is_psp(names):
            return "ndk"
        return "bag"
    if path.is_file() and archive_kind(path):
        return "bag"
    return ""


def run_transfer(kind: str, sip: Path, out: Path, meta: Sequence[tuple[str, str]], policy: Policy,
                 jobs: int | None = None, progress: ProgressFn | None = None,
                 nsesss: CheckOptions | None = None, images: bool = False,
                 shown: str | None = None) -> TransferResult:
    """Make the bag `out` from `sip` of `kind` (see the modules of each kind). `nsesss`: how
    an NSESSS package is checked (default: intake under the policy's `transfer.nsesss_profile`).
    `images`: a folder becomes an image record (archa/transfer/images.py); UsageError for
    any other kind. `shown`: how the source is named in the bag's tag files and the result
    (default: its path; the drop folder names a claimed package by where it was dropped)."""
    n = jobs or policy.ingest.jobs
    limits = Limits(policy.ingest.max_files, policy.ingest.max_bytes, policy.ingest.max_ratio)
    if images and kind != "folder":
        raise UsageError(f"--images is for folders of images, not for a transfer of kind {kind!r}",
                         hint="archa transfer folder SRC OUT --images")
    if kind == "folder" and images:
        from archa.transfer.images import transfer_images

        return transfer_images(sip, out, meta, policy.transfer, n, progress, shown=shown)
    if kind == "folder":
        return transfer_folder(sip, out, meta, policy.transfer, n, progress, shown=shown)
    if kind == "nsesss":
        from archa.transfer.nsesss.check import CheckOptions
        from archa.transfer.nsesss.importer import transfer_nsesss
        from archa.transfer.nsesss.rules import Profile

        options = nsesss or CheckOptions(Profile(policy.transfer.nsesss_profile), intake=True)
        return transfer_nsesss(sip, out, meta, limits, n, progress, options, shown=shown)[0]
    if kind == "eark":
        from archa.transfer.eark import transfer_eark

        return transfer_eark(sip, out, meta, limits, n, progress, shown=shown)[0]
    if kind == "ndk":
        from archa.transfer.ndk.importer import transfer_ndk

        return transfer_ndk(sip, out, meta, limits, n, progress, shown=shown)[0]
    raise UsageError(f"unknown transfer kind {kind!r}; use one of {', '.join(KINDS)}")
