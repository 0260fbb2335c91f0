"""What the transfer importers (NSESSS, E-ARK) share: collecting findings, and getting at
a package that is a folder or a ZIP holding one top folder named like the ZIP."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archa.errors import Finding, SipRejected, UsageError
from archa.repository.copying import CopyJob, CopyOutcome, ProgressFn
from archa.repository.durable import check_target
from archa.repository.unpacking import Limits, extract
from archa.transfer.bagwriter import BagDraft, partial_dir

TRANSFER_HINT = ("fix the package (or ask the producer for a new one) and transfer it again; nothing was "
                 "written and the package was not changed")


class Check:
    """Findings about one package; `reject_if_errors` raises SipRejected with all of them."""

    def __init__(self, sip: str) -> None:
        self.sip = sip
        self.findings: list[Finding] = []

    def error(self, code: str, message: str, path: str = "", expected: str | None = None,
              found: str | None = None) -> None:
        self.findings.append(Finding(code, message, path, expected, found))

    def warn(self, code: str, message: str, path: str = "") -> None:
        self.findings.append(Finding(code, message, path, severity="warning"))

    def reject_if_errors(self) -> None:
        if any(f.is_error for f in self.findings):
            raise SipRejected(self.sip, self.findings, hint=TRANSFER_HINT)



def unpack(sip: Path, dest: Path, check: Check, limits: Limits, prefix: str) -> Path | None:
    """The package's top folder: `sip` itself, or the one top folder of the ZIP `sip`
    extracted into `dest` (safely: no unsafe names, links or bombs). `prefix` + 001/002
    are the codes of "neither folder nor ZIP" and "not one top folder named like the ZIP"."""
    if sip.is_dir():
        return sip
    if not (sip.is_file() and zipfile.is_zipfile(sip)):
        check.error(f"{prefix}001", "a package is a folder or a ZIP file", str(sip))
        return None
    found = extract(sip, dest, limits)  # checks every member name before writing anything
    if found:
        check.findings += found
        return None
    tops = sorted(p.name for p in dest.iterdir())
    if tops != [sip.stem] or not (dest / sip.stem).is_dir():
        check.error(f"{prefix}002", f"the ZIP must hold exactly one top folder named {sip.stem!r} like the ZIP; "
                                    f"found {', '.join(tops[:5]) or 'nothing'}", sip.name)
        return None
    return dest / sip.stem


@contextmanager
def bag_draft(sip: Path, out: Path) -> Iterator[tuple[Check, BagDraft]]:
    """(findings, the bag being built for `out`); on any error the partial bag is removed.
    UsageError when OUT exists or SIP does not."""
    check_target(out)
    if not sip.exists():
        raise UsageError(f"{sip}: no such file or folder", hint="give the path of the package (a folder or a ZIP)")
    check = Check(str(sip))
    draft = BagDraft(partial_dir(out))
    try:
        draft.data.mkdir()
        yield check, draft
    except BaseException:
        draft.abort()
        raise


@contextmanager
def package_bag(sip: Path, out: Path, limits: Limits, prefix: str) -> Iterator[tuple[Check, BagDraft, Path]]:
    """(findings, the bag being built for `out`, the package's top folder). A ZIP is unpacked
    straight into the bag's data/; a folder is left where it is (see `bag_draft`, `unpack`)."""
    with bag_draft(sip, out) as (check, draft):
        folder = unpack(sip, draft.data, check, limits, prefix)
        check.reject_if_errors()
        assert folder is not None
        yield check, draft, folder


def take_payload(draft: BagDraft, folder: Path, threads: int, progress: ProgressFn | None,
                 algorithms: tuple[str, ...]) -> dict[str, CopyOutcome]:
    """Every file of the package as payload under data/<name>/, hashed with the bag's
    algorithm and `algorithms` in one read: copied from a folder, hashed in place when the
    package was unpacked into data/ already. Outcomes by key (`<name>/<path>`)."""
    jobs = [CopyJob(f"{folder.name}/{p.relative_to(folder).as_posix()}", p, Path(), p.stat().st_size, ())
            for p in sorted(folder.rglob("*")) if p.is_file()]
    run = draft.hash_in if folder.parent == draft.data else draft.copy_in
    return run(jobs, threads, progress, extra_algorithms=algorithms)
