"""Checking an NSESSS package by the national rule set: the levels in order, stopping after
the first level with errors, as the national validator does.

`check_package` checks a folder or ZIP and writes nothing (a ZIP is unpacked into a
temporary folder that is removed afterwards). `Checker` is the same machine for the
transfer, which unpacks into the bag it builds and gives the component facts it computed
while copying, so every component is read once.

Rule functions live in one module per level (see `rules.py`); importing them registers
them in `registry.CHECKS`.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from archa.errors import ArchaError, Finding
from archa.metadata.nsesss import NSESSS
from archa.repository.unpacking import Limits, extract
from archa.transfer.nsesss import (  # noqa: F401  (importing a level module registers its rules)
    dat,
    kod,
    kom,
    ns,
    obs_components,
    obs_filing,
    obs_mets,
    obs_records,
    val,
    wf,
)
from archa.transfer.nsesss.model import ComponentFacts, Hit, Pkg, Severity
from archa.transfer.nsesss.registry import CHECKS
from archa.transfer.nsesss.rules import LEVELS, Profile, Rule, rules_for
from archa.transfer.nsesss.source import Load, ZipState

INTAKE_NOTE = " (a warning at intake: the rule applies when the record is proposed for disposal)"


class UnusablePackage(ArchaError):
    """There is nothing to judge at all: the path does not exist, or the package's files
    cannot be read (permissions, an I/O error). Anything that exists is judged by the
    levels instead, whatever it holds (a PDF, a lone XML file, another NSESSS generation)."""


@dataclass(frozen=True)
class RuleFinding:
    rule: str  # the national rule code, e.g. "obs94" (or archa's own SIP00x for unsafe ZIP members)
    level: int
    severity: str
    where: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "level": self.level, "severity": self.severity, "where": self.where,
                "message": self.message}

    def as_finding(self) -> Finding:
        return Finding(self.rule, self.message, self.where, severity=self.severity)


@dataclass(frozen=True)
class CheckOptions:
    profile: Profile = Profile.TRANSFER
    as_of: date | None = None  # "today" for the rules that depend on the date
    intake: bool = False  # a records centre taking records in: disposal-time rules warn (see rules.py)
    exclude: frozenset[str] = frozenset()  # rule codes not run (as zaf's excludeChecks)


@dataclass
class CheckResult:
    package: str
    version: int
    profile: Profile
    as_of: date
    intake: bool
    findings: list[RuleFinding] = field(default_factory=list)
    levels_run: list[int] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(f.is_error for f in self.findings)

    @property
    def stopped_after(self) -> int | None:
        """The level whose errors stopped the check, or None when every level ran clean."""
        errors = [f.level for f in self.findings if f.is_error]
        return min(errors) if errors else None

    def as_dict(self) -> dict[str, Any]:
        return {"package": self.package, "valid": self.valid, "version": f"v{self.version}",
                "profile": str(self.profile), "as_of": self.as_of.isoformat(), "intake": self.intake,
                "levels_run": self.levels_run, "stopped_after": self.stopped_after,
                "findings": [f.as_dict() for f in self.findings]}


def _mets_bytes(source: Path) -> bytes:
    """mets.xml of a package folder or ZIP (b'' when there is none to read)."""
    try:
        if source.is_dir():
            mets = source / "mets.xml"
            return mets.read_bytes() if mets.is_file() else b""
        if source.is_file() and zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as z:
                name = f"{source.stem}/mets.xml"
                return z.read(name) if name in z.namelist() else b""
    except (OSError, zipfile.BadZipFile, KeyError, RuntimeError):
        return b""
    return b""


def detect_version(data: bytes) -> int:
    """3 when mets.xml uses the NSESSS v3 namespace and not v4's; otherwise 4, the current
    generation, whose rules then judge it (a package in the retired v2 namespace fails ns2,
    as the national validator of 2024 judges it)."""
    if NSESSS[3].encode() in data and NSESSS[4].encode() not in data:
        return 3
    return 4


class Checker:
    """Runs the levels over one package; `findings` grow as levels run."""

    def __init__(self, source: Path, options: CheckOptions, unpack_into: Path, limits: Limits) -> None:
        if not source.exists() and not source.is_symlink():
            raise UnusablePackage(f"{source}: no such file or folder",
                                  hint="give the path of the package (a folder or a ZIP)")
        self.options = options
        self.limits = limits
        self.unpack_into = unpack_into
        as_of = options.as_of or date.today()
        data = _mets_bytes(source)
        self.pkg = Pkg(source, detect_version(data), options.profile, as_of)
        self.rules = rules_for(self.pkg.version)
        self.result = CheckResult(self.pkg.name, self.pkg.version, options.profile, as_of, options.intake)

    def active(self, level: int) -> list[Rule]:
        return [r for r in self.rules.values() if r.level == level and self.options.profile in r.profiles
                and r.code not in self.options.exclude]

    def run(self, levels: Iterable[int]) -> bool:
        """Run `levels` in order; False as soon as one had errors (the later ones are not run)."""
        for level in levels:
            if not self._level(level):
                return False
        return True

    def _level(self, level: int) -> bool:
        """Every active rule of `level`, each judged on its own (as zaf does); True when none
        found an error. Level 1 unpacks a well-structured ZIP before dat3; level 2 reads
        mets.xml (None when it is missing, which kod1 reports)."""
        rules = self.active(level)
        if not rules:
            return True
        self.result.levels_run.append(level)
        if level == 2:
            self._read_mets()
        for r in rules:
            if level == 1 and r.code == "dat3" and not self._unpack():
                continue  # archa's safe extraction refused the ZIP: its SIP00x findings stand instead
            self._apply(r)
        return not self.errors(level)

    def errors(self, level: int) -> list[RuleFinding]:
        return [f for f in self.result.findings if f.level == level and f.is_error]

    def _apply(self, r: Rule) -> None:
        try:
            hits = list(CHECKS[r.code](self.pkg))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
            # hostile input must give a finding, never a traceback
            hits = [Hit("mets.xml", f"the rule could not be evaluated on this package ({type(e).__name__}: {e})")]
        for h in hits:
            severity, message = h.severity, h.message
            if r.disposal_time and self.options.intake and severity == Severity.ERROR:
                severity, message = Severity.WARNING, message + INTAKE_NOTE
            self.result.findings.append(RuleFinding(r.code, r.level, severity, h.where, message))

    def _unpack(self) -> bool:
        """The package's folder: the source itself, or a well-structured ZIP unpacked (safely,
        by archa's extractor). False when archa's extractor refused the ZIP (its findings are
        added); a package that is neither leaves `folder` None, for dat3 to report."""
        source, info = self.pkg.source, self.pkg.source_info
        if info.load is Load.FOLDER:
            self.pkg.folder = source
            return True
        if info.load is not Load.ZIP or info.zip_state is not ZipState.OK:
            return True
        found = extract(source, self.unpack_into, self.limits)
        for f in found:
            self.result.findings.append(RuleFinding(f.code, 1, f.severity, f.path, f.message))
        if any(f.is_error for f in found):
            return False
        self.pkg.folder = self.unpack_into / info.name
        return True

    def _read_mets(self) -> None:
        assert self.pkg.folder is not None
        mets = self.pkg.folder / "mets.xml"
        try:
            self.pkg.mets_bytes = mets.read_bytes() if mets.is_file() else None
        except OSError as e:
            raise UnusablePackage(f"{mets}: cannot be read ({e.strerror})",
                                  hint="make the file readable and check the package again") from e

    def component_paths(self) -> dict[str, Path]:
        """Every file under komponenty/ by its path relative to the package folder."""
        folder = self.pkg.folder
        assert folder is not None
        comp = folder / "komponenty"
        return {p.relative_to(folder).as_posix(): p for p in sorted(comp.rglob("*")) if p.is_file()} \
            if comp.is_dir() else {}

    def run_components(self, facts: dict[str, ComponentFacts]) -> bool:
        """Level 7 with the components' facts (size and digests by hashlib name)."""
        self.pkg.facts = facts
        return self.run([7])


def hash_components(paths: dict[str, Path], algorithms: tuple[str, ...]) -> dict[str, ComponentFacts]:
    """Facts of every component, each read once and hashed with every algorithm."""
    from archa.transfer.bagwriter import hash_all

    outcomes = hash_all(list(paths.items()), algorithms, threads=2)
    return {k: ComponentFacts(paths[k], o.size, o.digests, o.error) for k, o in outcomes.items()}


def declared_algorithms(pkg: Pkg) -> tuple[str, ...]:
    from archa.transfer.nsesss.kom import CHECKSUM_ALGORITHMS

    found = {CHECKSUM_ALGORITHMS.get(f.get("CHECKSUMTYPE") or "") for f in pkg.files} if pkg.root is not None \
        else set()
    return tuple(sorted(a for a in found if a))


def check_package(source: Path, options: CheckOptions = CheckOptions(), limits: Limits | None = None) -> CheckResult:
    """Check the NSESSS package `source` (a folder or ZIP) by the national rule set.

    Writes nothing. Raises UnusablePackage when there is nothing to judge (see the class)."""
    limits = limits or Limits(2_000_000, 10 * 2**40)
    with tempfile.TemporaryDirectory(prefix="archa-check-") as tmp:
        checker = Checker(source, options, Path(tmp), limits)
        if checker.run(range(1, 7)) and checker.active(7):
            facts = hash_components(checker.component_paths(), declared_algorithms(checker.pkg) or ("sha256",))
            checker.run_components(facts)
        return checker.result


def sip_errors(folder: Path, profile: str, as_of: date) -> list[str]:
    """The error lines ("RULE where: message") of a SIP archa made for the disposal procedure,
    checked under `profile` as of `as_of`; none when it passes (archa.lifecycle.sips.SipCheck)."""
    result = check_package(folder, CheckOptions(Profile(profile), as_of))
    return [f"{f.rule} {f.where}: {f.message}" for f in result.findings if f.is_error]


@dataclass(frozen=True)
class Unusable:
    """A package `check_many` could not judge (see UnusablePackage)."""

    package: str
    message: str
    hint: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"package": self.package, "valid": False, "error": self.message, "hint": self.hint}


def _check_one(source: str, options: CheckOptions) -> CheckResult | Unusable:
    try:
        return check_package(Path(source), options)
    except UnusablePackage as e:
        return Unusable(source, e.message, e.hint)


def check_many(sources: Sequence[Path], options: CheckOptions = CheckOptions(),
               jobs: int = 1) -> Iterator[CheckResult | Unusable]:
    """`check_package` over many packages on up to `jobs` processes, results in order. The
    worker processes come from a fork server (never forked from a process holding threads),
    each loading the schemas and the identification signatures once."""
    if jobs <= 1 or len(sources) < 2:
        for s in sources:
            yield _check_one(str(s), options)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        yield from pool.map(partial(_check_one, options=options), [str(s) for s in sources],
                            chunksize=max(1, min(16, len(sources) // (jobs * 4))))


__all__ = ["LEVELS", "CheckOptions", "CheckResult", "Checker", "RuleFinding", "Unusable", "UnusablePackage", "check_many", "check_package"]
