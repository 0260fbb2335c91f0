"""The one exception root of archa and the table that maps errors to exit statuses.

Exit statuses: 0 success, 1 problems found (e.g. a fixity failure), 2 bad input or usage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_BAD_INPUT = 2


def printable(text: str) -> str:
    """`text` safe to print: control characters as \\n, \\t or \\xNN, bytes that were not
    UTF-8 (surrogate escapes) as \\xNN, everything else as it is."""
    if text.isprintable():
        return text
    out = []
    for c in text:
        o = ord(c)
        if 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif c in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
        elif o < 0x20 or 0x7F <= o <= 0x9F or 0xD800 <= o <= 0xDFFF:
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}")
        else:
            out.append(c)
    return "".join(out)


def utf8_text(text: str) -> str:
    """`text` as it is when it can be stored as UTF-8 (a catalog column, a report), else as
    `printable` shows it: a name that was not UTF-8 at its source gets \\xNN for its bytes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return printable(text)
    return text


def json_utf8(data: Any, indent: int | None = None) -> str:
    """`data` as JSON that can be stored as UTF-8: as it is, or, when a name that was not UTF-8
    at its source (surrogate escapes) is in it, all in ASCII escapes (still valid JSON; reading
    it back gives the name with its bytes, which `printable` shows as \\xNN)."""
    import json

    text = json.dumps(data, indent=indent, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, indent=indent)
    return text


def name_problem(name: str) -> str | None:
    """Why a file name cannot be kept as it is (a control character, or bytes that are not
    UTF-8), or None."""
    for c in name:
        o = ord(c)
        if 0xDC80 <= o <= 0xDCFF:
            return "the name is not valid UTF-8"
        if o < 0x20 or 0x7F <= o <= 0x9F:
            return f"the name holds the control character U+{o:04X}"
    return None


@dataclass(frozen=True)
class Finding:
    """One problem (or warning) found in an input, with a stable code.

    `code` is stable across releases (documented in docs/design.md); `path` is relative to
    the thing being checked; `expected`/`found` carry the two sides of a mismatch; `rule`
    names the rule of a national reference validator the finding matches, where there is one
    (an NDK finding's rule id in the Komplexní validátor's rules.xml, e.g.
    "PRIMARY-METS_PHYSICAL_STRUCTURAL_MAP_CORRECT").
    """

    code: str
    message: str
    path: str = ""
    expected: str | None = None
    found: str | None = None
    severity: str = "error"  # "error" or "warning"
    rule: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "severity": self.severity, "path": self.path,
                             "message": self.message}
        if self.rule is not None:
            d["rule"] = self.rule
        if self.expected is not None:
            d["expected"] = self.expected
        if self.found is not None:
            d["found"] = self.found
        return d

    def __str__(self) -> str:
        s = f"{self.code} {self.path}: {self.message}" if self.path else f"{self.code} {self.message}"
        if self.expected is not None:
            s += f" (expected {self.expected}, found {self.found})"
        elif self.found is not None:
            s += f" (found {self.found})"
        return printable(s)


class ArchaError(Exception):
    """Root of every error archa raises on purpose. `hint` tells the user what to do."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def as_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class UsageError(ArchaError):
    """A wrong argument or option."""


class RepositoryError(ArchaError):
    """The repository is missing, exists already, is locked or is not consistent."""

    DETAILS: tuple[str, ...] = ()  # attributes `as_dict` adds (a subclass's structured detail)

    def __init__(self, message: str, *, path: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.path = path

    def as_dict(self) -> dict[str, Any]:
        d = super().as_dict()
        d.update((name, getattr(self, name)) for name in self.DETAILS)
        return d


class NotFoundError(ArchaError):
    """An AIP, version or file that the catalog does not know."""


class AipRemoved(NotFoundError):
    """An AIP that was destroyed or handed over to an archive (or is being): only its
    tombstone is left, nothing can be read from it or done to it."""

    def __init__(self, aip_id: str, state: str) -> None:
        super().__init__(f"{aip_id} was {state if state != 'destroying' else 'being destroyed'} in a disposal "
                         "procedure: only its tombstone is left",
                         hint=f"see `archa aip show {aip_id}` for its certificate"
                              + ("; run `archa disposal destroy` again to finish" if state == "destroying" else ""))
        self.aip_id = aip_id
        self.state = state


class SipRejected(ArchaError):
    """A SIP failed validation; `findings` lists every problem with its code."""

    def __init__(self, sip: str, findings: list[Finding], *, transfer_id: str = "",
                 hint: str = "fix the bag (or ask the producer for a new one) and ingest it again; "
                             "nothing was stored") -> None:
        errors = [f for f in findings if f.is_error]
        super().__init__(f"{sip}: rejected, {len(errors)} problem(s) found", hint=hint)
        self.sip = sip
        self.findings = findings
        self.transfer_id = transfer_id

    def as_dict(self) -> dict[str, Any]:
        d = super().as_dict()
        d.update(sip=self.sip, transfer=self.transfer_id,
                 findings=[f.as_dict() for f in self.findings])
        return d


class Interrupted(ArchaError):
    """Work asked to stop (a watcher told to stop) before it stored anything: nothing was
    written, and what was being taken in can be taken again."""

    exit_code = EXIT_PROBLEMS


class StorageError(ArchaError):
    """A storage location could not be read or written."""

    exit_code = EXIT_PROBLEMS

    def __init__(self, message: str, *, location: str = "", path: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.location = location
        self.path = path


class CatalogUnavailable(RepositoryError):
    """The catalog's database server could not be reached, or the connection to it was lost
    during a command (what the command had not committed is rolled back by the server)."""

    exit_code = EXIT_PROBLEMS


class CatalogDamaged(RepositoryError):
    """SQLite cannot read the catalog (a damaged page, not a database at all), or its
    integrity check finds it damaged (`problems`: what the check says)."""

    exit_code = EXIT_PROBLEMS
    DETAILS = ("path", "problems")

    def __init__(self, path: str, detail: str, problems: list[str] | None = None) -> None:
        super().__init__(f"{path}: the catalog is damaged ({detail})", path=path,
                         hint="nothing in storage is affected: rebuild the catalog from the storage locations "
                              "with `archa catalog rebuild --replace` (the damaged file is kept beside it)")
        self.problems = problems or []


class CatalogBehind(RepositoryError):
    """The locations' copies of the event log hold events (or journal changes) the catalog
    lacks, or hold them otherwise (`ahead`: {location: what}): the catalog was restored from
    an older copy or cut. A writing command refuses to run then: what it wrote would fork
    the history the locations keep."""

    exit_code = EXIT_PROBLEMS
    DETAILS = ("path", "ahead")

    def __init__(self, path: str, ahead: dict[str, str]) -> None:
        where = "; ".join(f"{name}: {why}" for name, why in sorted(ahead.items()))
        super().__init__(f"{path}: the catalog is behind the event log the locations keep ({where}); it was restored "
                         "from an older copy, or rows were cut from it; nothing was written", path=path,
                         hint="`archa events verify` names what differs; `archa catalog rebuild --check` shows what "
                              "a rebuild from the locations restores; `archa catalog rebuild --replace` puts it in "
                              "place (the catalog now is kept beside it)")
        self.ahead = ahead


class EventsUnsigned(RepositoryError):
    """With a seal key: events in the catalog, not yet at the locations, that are not signed
    with it (`seqs`): written into the catalog alone (or by a node without the key). A
    writing command refuses to run then: its anchoring would make them history."""

    exit_code = EXIT_PROBLEMS
    DETAILS = ("path", "seqs")

    def __init__(self, path: str, seqs: list[int]) -> None:
        shown = ", ".join(map(str, seqs[:10])) + (" …" if len(seqs) > 10 else "")
        super().__init__(f"{path}: events {shown} in the catalog are not signed with the repository's seal key: they "
                         "were written into the catalog alone (or by a node whose archa.toml names no seal key); "
                         "nothing was written", path=path,
                         hint="`archa events verify` and `archa events list` show them; `archa catalog rebuild "
                              "--replace` restores the catalog from the history the locations keep (a node without "
                              "the key: give it the key in its archa.toml)")
        self.seqs = seqs


class LogNotWritten(RepositoryError):
    """The command's work is done and in the catalog, but its events could not be written
    to every location's copy of the event log (`behind`: {location: why}): a location that
    could not be written (the next writing command writes them there), or events in the
    catalog that archa did not sign, written into it while the command ran (never written
    out; the next writing command refuses). Exit 1: a copy the repository keeps is missing."""

    exit_code = EXIT_PROBLEMS
    DETAILS = ("behind",)

    def __init__(self, behind: dict[str, str]) -> None:
        where = "; ".join(f"{name}: {why}" for name, why in sorted(behind.items()))
        super().__init__(f"the event log could not be written to {', '.join(sorted(behind))} ({where}); what this "
                         "command recorded is in the catalog",
                         hint="`archa events verify` shows what each location holds. A location that could not be "
                              "written gets the events from the next writing command; events in the catalog that "
                              "archa did not write as they stand (changed there, or written there without the seal "
                              "key) are never written out, and writing commands refuse until `archa catalog rebuild "
                              "--replace` restores the catalog from the locations")
        self.behind = behind


def exit_code_for(error: BaseException) -> int:
    """The exit status for an error: the one place that decides it."""
    if isinstance(error, ArchaError):
        return error.exit_code
    return EXIT_PROBLEMS
