"""`archa transfer nsesss`: a Czech ERMS (NSESSS) SIP, v4 or v3, checked by the national rule
set and made a bag.

The package (a folder, or a ZIP holding one top folder named like it) is judged by levels
1-6 before anything is copied; its files are then copied into the bag (a ZIP is unpacked
straight into the bag's data/), hashed in the same read with the algorithms mets.xml
declares, and level 7 judges the components from those digests. Any error rejects the
package with every finding and its rule code; nothing is written and the source is only
read. The default is the records-centre intake: profile `prejimka`, with the rules that ask
whether the disposal is due (or done) as warnings (see `rules.DISPOSAL_TIME`).

The bag's payload is the package byte for byte (`data/<name>/mets.xml`,
`data/<name>/komponenty/`); its bag-info carries the lifted metadata (see `lift.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from archa.repository.copying import ProgressFn
from archa.repository.unpacking import Limits
from archa.transfer.folder import TransferResult
from archa.transfer.nsesss.check import Checker, CheckOptions, UnusablePackage, declared_algorithms
from archa.transfer.nsesss.lift import NsesssPackage, bag_info, lift
from archa.transfer.nsesss.model import ComponentFacts
from archa.transfer.package import bag_draft, take_payload

INTAKE = CheckOptions(intake=True)


def transfer_nsesss(sip: Path, out: Path, meta: Sequence[tuple[str, str]], limits: Limits, jobs: int = 4,
                    progress: ProgressFn | None = None,
                    options: CheckOptions = INTAKE, *, shown: str | None = None) -> tuple[TransferResult, NsesssPackage]:
    """Check the NSESSS package `sip` and write it as the bag `out` (see the module docstring).
    `shown`: how the source is named in the transfer report and the result (default: its path).

    Raises SipRejected with every finding (nothing is written then; `sip` is only read) or
    UsageError (OUT exists, SIP does not)."""
    sip, out = sip.absolute(), out.absolute()
    with bag_draft(sip, out) as (check, draft):
        try:
            checker = Checker(sip, options, draft.data, limits)
        except UnusablePackage as e:
            check.error("NSS010", e.message + (f"; {e.hint}" if e.hint else ""), sip.name)
            check.reject_if_errors()
            raise
        reported = 0

        def report() -> None:
            nonlocal reported
            check.findings += [f.as_finding() for f in checker.result.findings[reported:]]
            reported = len(checker.result.findings)
            check.reject_if_errors()

        try:
            checker.run(range(1, 7))
        except UnusablePackage as e:
            check.error("NSS019", e.message, sip.name)
        report()
        folder = checker.pkg.folder
        assert folder is not None
        lifted = lift(checker.pkg, check)
        outcomes = take_payload(draft, folder, jobs, progress, declared_algorithms(checker.pkg))
        for key, o in outcomes.items():
            if o.error:
                check.error("NSS019", o.error, key)
        check.reject_if_errors()
        facts = {key.split("/", 1)[1]: ComponentFacts(draft.data / key, o.size, o.digests, o.error)
                 for key, o in outcomes.items()}
        checker.run_components(facts)
        report()
        result = checker.result
        checked = f"{result.as_of.isoformat()}{' (intake)' if result.intake else ''}, levels " \
                  f"{','.join(map(str, result.levels_run))}"
        draft.info = bag_info(lifted, meta, str(options.profile), checked)
        draft.tag_files["transfer-report.txt"] = "".join(
            [(f"archa transfer nsesss {shown or sip}: NSESSS v{lifted.generation}, profile {options.profile}, "
             f"{len(lifted.entities)} base entit{'y' if len(lifted.entities) == 1 else 'ies'}, "
             f"{sum(k.startswith('komponenty/') for k in facts)} component(s)\n")]
            + [f"{f.code}\t{f.path}\t{f.message}\n" for f in check.findings])
        draft.finish(out)
    return TransferResult("nsesss", shown or str(sip), str(out), draft.payload_files, draft.payload_bytes,
                          check.findings, draft.info), lifted
