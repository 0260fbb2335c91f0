"""Format identification behind one small interface.

An `Identifier` turns a file path into a `FormatResult` (PRONOM PUID, name, version, MIME,
match basis, and the engine, engine version and signature version that produced it).
Engines load their signatures once per process (`get_identifier` caches instances):
`siegfried` (pygfried, the default) and `fido`.
`UNKNOWN` is the PUID of a file nothing matched.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping, Sequence
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

    def identify_batch(self, paths: Sequence[Path], jobs: int) -> list[FormatResult]:
        """Identify `paths` with up to `jobs` workers; results in the order of `paths`."""
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

    def identify_batch(self, paths: Sequence[Path], jobs: int) -> list[FormatResult]:
        """fido is pure Python: more than a few files go to `jobs` worker processes, started
        by a fork server (never forked from a process holding threads or database handles),
        each loading the signatures once."""
        if jobs <= 1 or len(paths) < POOL_THRESHOLD:
            return [self.identify(p) for p in paths]
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from functools import partial

        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                 initargs=(self.name,)) as pool:
            chunk = max(1, min(256, len(paths) // (jobs * 8)))
            return list(pool.map(partial(_worker_identify, self.name), [os.fspath(p) for p in paths],
                                 chunksize=chunk))


POOL_THRESHOLD = 64  # below this many files a process pool costs more than it saves


def _worker_init(engine: str) -> None:
    get_identifier(engine)  # load the signatures once per worker


def _worker_identify(engine: str, path: str) -> FormatResult:
    return get_identifier(engine).identify(Path(path))


HEAP_LIMIT = "100MiB"  # Siegfried's Go heap (soft limit, the collector off below it)
# ... in a process that identifies for hours (the drop-folder watcher's workers): the
# signatures' ~84 MiB stay live, so under 100 MiB the collector runs every ~16 MiB scanned,
# marking them all each time. Measured on 150 packages of 9 components (three 159 KB PNGs
# scanned to their end): 11.0-11.4 ms of CPU a package at 100 MiB, 9.8-9.9 ms at 130 MiB
# (peak RSS 109 -> 134 MB), no less at 160 or 200 MiB.
RESIDENT_HEAP_LIMIT = "130MiB"


def resident_heap() -> None:
    """Give Siegfried RESIDENT_HEAP_LIMIT in this process (unless GOMEMLIMIT is set): call it
    before the first identification; the Go runtime reads the limit once, when loaded."""
    os.environ.setdefault("GOMEMLIMIT", RESIDENT_HEAP_LIMIT)


class SiegfriedIdentifier:
    """Siegfried (Richard Lehane), in process through pygfried, with the PRONOM and container
    signatures compiled into it. Batches run on Go threads (`jobs`); pygfried holds the GIL
    for the whole call (loading the signatures too), so other Python threads of the process
    wait meanwhile."""

    name = "siegfried"
    BATCH = 2000  # paths per call, so a million-file batch keeps memory flat

    def __init__(self) -> None:
        # Siegfried's Go heap: with the collector off up to a soft limit of 100 MiB, loading
        # the signatures takes half the CPU it took with GOGC=30 (84-110 against 169-224 ms,
        # measured), and identifying 20,000 files peaks at 117 MB (127 MB with GOGC=30,
        # 178 MB at Go's default). The Go runtime reads both once, when pygfried is imported;
        # a resident process sets a higher limit first (`resident_heap`).
        os.environ.setdefault("GOGC", "off")
        os.environ.setdefault("GOMEMLIMIT", HEAP_LIMIT)
        import pygfried

        self._sf = pygfried
        self.engine_version = str(pygfried.version())
        info = pygfried.identify(os.devnull, detailed=True)
        details = [i.get("details", "") for i in info.get("identifiers", []) if i.get("name") == "pronom"]
        self.signature_version = details[0] if details else str(info.get("signature", ""))

    def _result(self, entry: Mapping[str, Any]) -> FormatResult:
        errors = str(entry.get("errors") or "")
        matches = [m for m in entry.get("matches") or [] if m.get("ns", "pronom") == "pronom"]
        if not matches or matches[0].get("id") in ("UNKNOWN", "", None):
            warning = "; ".join(w for w in (errors, (matches[0].get("warning", "") if matches else "")) if w)
            return FormatResult(UNKNOWN, "", "", "", "none", self.name, self.engine_version,
                                self.signature_version, warning)
        m = matches[0]
        warning = "; ".join(w for w in (errors, str(m.get("warning") or "")) if w)
        return FormatResult(str(m["id"]), str(m.get("format") or ""), str(m.get("version") or ""),
                            str(m.get("mime") or ""), str(m.get("basis") or ""), self.name,
                            self.engine_version, self.signature_version, warning)

    def identify(self, path: Path) -> FormatResult:
        info = self._sf.identify(os.fspath(path), detailed=True)
        return self._result(info["files"][0])

    def identify_batch(self, paths: Sequence[Path], jobs: int) -> list[FormatResult]:
        out: list[FormatResult] = []
        for i in range(0, len(paths), self.BATCH):
            chunk = [os.fspath(p) for p in paths[i:i + self.BATCH]]
            info = self._sf.identify_many(chunk, workers=max(1, jobs))
            files = info["files"]
            if [f["filename"] for f in files] != chunk:  # never trust order blindly
                by_name = {f["filename"]: f for f in files}
                files = [by_name[c] for c in chunk]
            out.extend(self._result(f) for f in files)
        return out


ENGINES: dict[str, type[FidoIdentifier | SiegfriedIdentifier]] = {
    "siegfried": SiegfriedIdentifier,
    "fido": FidoIdentifier,
}


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


def identify_many(paths: Sequence[Path], engine: str, jobs: int = 1,
                  digests: Sequence[Mapping[str, str]] | None = None) -> list[FormatResult]:
    """Identify `paths` with `engine` on up to `jobs` workers; results in the order of `paths`.

    `digests` (one {hashlib name: hex digest} per path, of the bytes just read from it) lets a
    file be identified once in a process: a transfer identifies a package's components, and
    the ingest of the bag made from them gets the same result for the same content under the
    same name (`KNOWN`) instead of Siegfried reading every file again."""
    if digests is None:
        return get_identifier(engine).identify_batch(paths, jobs)
    keys = [KNOWN.keys(engine, p, d) for p, d in zip(paths, digests, strict=True)]
    found = [KNOWN.get(k) for k in keys]
    todo = [i for i, f in enumerate(found) if f is None]
    if todo:
        for i, result in zip(todo, get_identifier(engine).identify_batch([paths[i] for i in todo], jobs), strict=True):
            found[i] = result
            KNOWN.put(keys[i], result)
    return [f for f in found if f is not None]


class Known:
    """What this process identified lately, by engine, content digest and file name: a
    format depends on the bytes and the name (Siegfried weighs the extension) and nothing
    else, so the same digest under the same name is the same result. Bounded (`SIZE`
    entries, the oldest forgotten first); filled only from digests the caller computed from
    the bytes it read."""

    SIZE = 20_000

    def __init__(self) -> None:
        from collections import OrderedDict

        self._results: OrderedDict[tuple[str, str, str], FormatResult] = OrderedDict()

    @staticmethod
    def keys(engine: str, path: Path, digests: Mapping[str, str]) -> list[tuple[str, str, str]]:
        name = os.path.basename(os.fspath(path))
        return [(engine, f"{alg}:{value}", name) for alg, value in sorted(digests.items()) if value]

    def get(self, keys: list[tuple[str, str, str]]) -> FormatResult | None:
        for k in keys:
            hit = self._results.get(k)
            if hit is not None:
                self._results.move_to_end(k)
                return hit
        return None

    def put(self, keys: list[tuple[str, str, str]], result: FormatResult) -> None:
        for k in keys:
            self._results[k] = result
            self._results.move_to_end(k)
        while len(self._results) > self.SIZE:
            self._results.popitem(last=False)


KNOWN = Known()


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files named in `paths`, directories walked (sorted; links and special files skipped).

    Raises UsageError naming the first path that does not exist.
    """
    out: list[Path] = []
    for p in paths:
        if p.is_symlink() or not p.exists():
            if not p.exists():
                raise UsageError(f"{p}: no such file or directory", hint="check the path")
            continue
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            for dirpath, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    f = Path(dirpath) / name
                    if f.is_file() and not f.is_symlink():
                        out.append(f)
    return out


@dataclass(frozen=True)
class Disagreement:
    path: str
    results: dict[str, FormatResult]

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, **{e: r.as_dict() for e, r in self.results.items()}}


def compare_engines(paths: Sequence[Path], jobs: int = 1,
                    engines: Sequence[str] = ("siegfried", "fido")) -> list[Disagreement]:
    """Every file for which the engines give different PUIDs (for preservation planning)."""
    results = {e: identify_many(paths, e, jobs) for e in engines}
    out = []
    for i, p in enumerate(paths):
        by_engine = {e: results[e][i] for e in engines}
        if len({r.puid for r in by_engine.values()}) > 1:
            out.append(Disagreement(os.fspath(p), by_engine))
    return out
