"""Format identification behind one small interface.

An `Identifier` turns a file path into a `FormatResult` (PRONOM PUID, name, version, MIME,
match basis, and the engine, engine version and signature version that produced it).
Engines load their signatures once per process (`get_identifier` caches instances).
`UNKNOWN` is the PUID of a file nothing matched.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from archa.errors import UsageError

UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class FormatResult:
    puid: str
    name: str
    version: str
    mime: str
    basis: str  # e.g. "signature", "container", "extension", "none"
    engine: str
    engine_version: str
    signature_version: str
    warning: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Identifier(Protocol):
    name: str
    engine_version: str
    signature_version: str

    def identify(self, path: Path) -> FormatResult:
        """Identify one file; never raises for unreadable or odd content (gives UNKNOWN)."""
        ...


class FidoIdentifier:
    """fido (Open Preservation Foundation), in process, with the signatures it ships."""

    name = "fido"

    def __init__(self) -> None:
        from fido import __version__ as fido_version
        from fido.fido import Fido, defaults
        from fido.versions import get_local_versions

        versions = get_local_versions()
        # The same signature files the `fido` command uses by default.
        defaults["containersignature_file"] = versions.pronom_container_signature
        self._matches: list[tuple[Any, str]] = []
        self._basis = ""
        with contextlib.redirect_stderr(io.StringIO()):
            self._fido = Fido(quiet=True, handle_matches=self._handle,
                              format_files=[versions.pronom_signature,
                                            versions.fido_extension_signature])
        self.engine_version = fido_version
        self.signature_version = f"PRONOM v{versions.pronom_version}; " \
                                 f"{versions.pronom_container_signature}"

    def _handle(self, _name: str, matches: list[tuple[Any, str]], _t: float, basis: str = "") -> None:
        self._matches = list(matches)
        self._basis = basis

    def identify(self, path: Path) -> FormatResult:
        self._matches, self._basis = [], ""
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self._fido.identify_file(os.fspath(path))
        warning = " ".join(line.removeprefix("FIDO: ") for line in err.getvalue().splitlines())
        if not self._matches:
            return FormatResult(UNKNOWN, "", "", "", "none", self.name, self.engine_version,
                                self.signature_version, warning)
        fmt, _sig = self._matches[0]
        if len(self._matches) > 1:
            others = ", ".join(self._fido.get_puid(f) for f, _s in self._matches[1:])
            warning = (warning + " " if warning else "") + f"also matched: {others}"

        def text(tag: str) -> str:
            el = fmt.find(tag)
            return el.text if el is not None and el.text else ""

        return FormatResult(self._fido.get_puid(fmt), text("name"), text("version"), text("mime"),
                            self._basis or "signature", self.name, self.engine_version,
                            self.signature_version, warning)


ENGINES = {"fido": FidoIdentifier}


@cache
def get_identifier(engine: str) -> Identifier:
    """The process-wide instance of `engine` (signatures are loaded on first use only)."""
    try:
        cls = ENGINES[engine]
    except KeyError:
        raise UsageError(f"unknown identification engine {engine!r}",
                         hint=f"use one of: {', '.join(sorted(ENGINES))}") from None
    ident: Identifier = cls()
    return ident


POOL_THRESHOLD = 64  # below this many files a process pool costs more than it saves


def _worker_init(engine: str) -> None:
    get_identifier(engine)  # load the signatures once per worker


def _worker_identify(engine: str, path: str) -> FormatResult:
    return get_identifier(engine).identify(Path(path))


def identify_many(paths: Sequence[Path], engine: str, jobs: int = 1) -> Iterator[FormatResult]:
    """Identify `paths` in order, on `jobs` worker processes when there are enough files.

    Workers are started by a fork server (never forked from a process holding threads or
    database handles) and each loads the engine's signatures once.
    """
    ident = get_identifier(engine)  # fail early on an unknown engine, in this process
    if jobs <= 1 or len(paths) < POOL_THRESHOLD:
        for p in paths:
            yield ident.identify(p)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                             initargs=(engine,)) as pool:
        chunk = max(1, min(256, len(paths) // (jobs * 8)))
        yield from pool.map(partial(_worker_identify, engine), [os.fspath(p) for p in paths],
                            chunksize=chunk)
