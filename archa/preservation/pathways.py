"""Preservation pathways: one tool run that migrates a file to a preservation format, and the
verification of what it made. This module is the public API (`PATHWAYS`, `Outcome`,
`tool_version`, `run_pathway`, `verify`); the runs and content checks live in
migrate_documents.py (Ghostscript, LibreOffice), migrate_images.py (JPEG 2000) and migrate_av.py
(ffmpeg), the tool lookup and subprocess runner they share in toolrun.py.

A pathway (`PATHWAYS`) takes the formats in its `sources` and makes one output that must be
identified as one of its `targets`; `run_pathway` runs the tool on the source (never modified)
inside an empty work folder, then `verify` checks the output: its identification, and what
the target allows to be checked: PDF/A by archa's PDF/A checks (naming what they do not check)
and the page count; lossless images by decoding to the same pixels (and the ICC profile and
resolution carried); audio and video by decoding to the same samples and frames.

Every external tool runs as a subprocess with stdin closed, a timeout (per run) and a minimal
environment in a helper folder inside the work folder, removed afterwards (toolrun.py); the
verified output is `<source stem><extension>` in the work folder. A tool failure or a failed
verification is an `Outcome` with `ok` False and a `problem` (an output that failed verification
is left in the work folder for inspection); nothing is written outside the work folder.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archa.errors import UsageError
from archa.preservation.identify import FormatResult, identify_many
from archa.preservation.migrate_av import AUDIO, FLAC, MATROSKA, VIDEO, check_av, run_ffv1, run_flac
from archa.preservation.migrate_documents import (
    EXCEL,
    ODP,
    ODS,
    ODT,
    OFFICE,
    PDF,
    PDFA_2B,
    POWERPOINT,
    RTF,
    WORD,
    check_pdf,
    office_kind,
    run_gs,
    run_office,
)
from archa.preservation.migrate_images import IMAGES, JP2, check_jp2, pillow_version, run_jp2
from archa.preservation.toolrun import FFMPEG, GS, HELPER, LO, PILLOW, Made, executables, run_tool, tool_env

DEBIAN_PACKAGES = {GS: "ghostscript",
                   LO: "libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui",
                   PILLOW: "libopenjp2-7 (and a Pillow built with it)", FFMPEG: "ffmpeg"}


@dataclass(frozen=True)
class Pathway:
    name: str
    description: str
    tool: str
    extension: str  # of the output; "" when it depends on the input (office-odf)
    sources: tuple[str, ...]  # PUIDs it takes
    targets: tuple[str, ...]  # PUIDs an output may be identified as


PATHWAYS: dict[str, Pathway] = {p.name: p for p in (
    Pathway("pdfa-2b", "PDF to PDF/A-2b (Ghostscript, sRGB output intent)", GS, ".pdf", PDF, (PDFA_2B,)),
    Pathway("office-pdfa", "office documents to PDF/A-2b (LibreOffice)", LO, ".pdf",
            WORD + RTF + ODT + EXCEL + ODS + POWERPOINT + ODP, (PDFA_2B,)),
    Pathway("office-odf", "office documents to OpenDocument: text, spreadsheet or presentation (LibreOffice)",
            LO, "", WORD + RTF + EXCEL + POWERPOINT, ODT + ODS + ODP),
    Pathway("jp2-lossless", "TIFF, PNG, BMP to lossless JPEG 2000 (JP2), pixels verified", PILLOW, ".jp2",
            IMAGES, (JP2,)),
    Pathway("audio-flac", "MP3, WMA, AIFF to FLAC (ffmpeg), samples verified", FFMPEG, ".flac", AUDIO, (FLAC,)),
    Pathway("video-ffv1", "video to FFV1 and FLAC in Matroska (ffmpeg), frames and samples verified", FFMPEG,
            ".mkv", VIDEO, (MATROSKA,)),
)}


@dataclass
class Outcome:
    ok: bool  # the output exists and verified
    output: Path | None  # the verified output (inside the work folder); None when not ok
    puid: str  # what the output was identified as ("" if none)
    tool: str
    tool_version: str
    detail: str  # what was run and what was verified (for the PREMIS event)
    problem: str = ""  # when not ok: why


def _pathway(name: str) -> Pathway:
    try:
        return PATHWAYS[name]
    except KeyError:
        raise UsageError(f"unknown migration pathway {name!r}",
                         hint=f"use one of: {', '.join(PATHWAYS)}") from None


# ---- tools

def tool_version(name: str) -> str | None:
    """The version string of pathway `name`'s tool, or None when the tool is not installed.
    Cached per process (per executable)."""
    tool = _pathway(name).tool
    if tool == PILLOW:
        return pillow_version()
    exes = executables(tool)
    return _version(tool, exes[0]) if exes else None


@functools.cache
def _version(tool: str, exe: str) -> str:
    args = {GS: ["--help"], LO: ["--version"], FFMPEG: ["-version"]}[tool]
    with tempfile.TemporaryDirectory() as home:
        _rc, out, _err, _problem = run_tool([exe, *args], cwd=Path(home), env=tool_env(Path(home)),
                                            timeout=60)
    lines = out.decode("utf-8", "replace").strip().splitlines()
    if not lines:
        return f"{tool} (version unknown: {Path(exe).name} {args[0]} said nothing)"
    first = lines[0].strip()
    if tool == GS:
        return first.split(" (")[0]  # "GPL Ghostscript 10.00.0 (2022-09-21)"
    if tool == FFMPEG:
        return " ".join(first.split()[0:3:2])  # "ffmpeg version 5.1.9-0+deb12u1 Copyright ..."
    return first


def _missing(tool: str) -> str:
    exe = {GS: "gs", LO: "soffice", PILLOW: "Pillow's JPEG 2000 codec", FFMPEG: "ffmpeg and ffprobe"}[tool]
    return (f"{tool} is not installed ({exe} not found): install the Debian package(s) "
            f"{DEBIAN_PACKAGES[tool]}")


# ---- running

def run_pathway(name: str, src: Path, work: Path, *, source_puid: str, engine: str = "siegfried",
                timeout: float = 600) -> Outcome:
    """Run pathway `name` on `src` (never modified) writing into the empty folder `work`, then
    verify the output. Never raises for a tool or verification failure (ok False, `problem` says
    why); raises UsageError for an unknown pathway. A missing tool names the Debian package."""
    pathway = _pathway(name)
    version = tool_version(name)
    if version is None or (pathway.tool != PILLOW and executables(pathway.tool) is None):
        return Outcome(False, None, "", pathway.tool, "", "", _missing(pathway.tool))
    helper = work / HELPER
    helper.mkdir()
    try:
        made = _RUNNERS[name](src.resolve(), work, helper.resolve(), source_puid, timeout)
    finally:
        shutil.rmtree(helper, ignore_errors=True)
    detail = f"{version}: {made.command}" + (f"; {made.note}" if made.note else "")
    if made.output is None:
        return Outcome(False, None, "", pathway.tool, version, detail, made.problem)
    puid, checked, problem = verify(name, src, made.output, engine=engine, timeout=timeout)
    return Outcome(not problem, None if problem else made.output, puid, pathway.tool, version,
                   f"{detail}; {checked}", problem)


# ---- verification

_Check = Callable[[Path, Path, float], tuple[list[str], list[str]]]
_CHECKS: dict[str, _Check] = {
    "pdfa-2b": lambda s, o, t: check_pdf(s, o, True),
    "office-pdfa": lambda s, o, t: check_pdf(s, o, False),
    "office-odf": lambda s, o, t: ([], []),
    "jp2-lossless": check_jp2,
    "audio-flac": lambda s, o, t: check_av(s, o, t, False),
    "video-ffv1": lambda s, o, t: check_av(s, o, t, True),
}
_RUNNERS: dict[str, Callable[[Path, Path, Path, str, float], Made]] = {
    "pdfa-2b": run_gs, "office-pdfa": run_office("pdf"), "office-odf": run_office("odf"),
    "jp2-lossless": run_jp2, "audio-flac": run_flac, "video-ffv1": run_ffv1,
}


def _named(r: FormatResult) -> str:
    return f"{r.puid} ({r.name}{' ' + r.version if r.version else ''})" if r.name else r.puid


def verify(name: str, src: Path, output: Path, *, engine: str = "siegfried",
           timeout: float = 3600) -> tuple[str, str, str]:
    """(puid, detail, problem) of `output` made from `src` by pathway `name`; problem is "" when
    it verifies (identified as a target, and the pathway's content checks pass)."""
    pathway = _pathway(name)
    if not output.is_file():
        return "", "", f"the output {output.name} does not exist"
    result = identify_many([output], engine)[0]
    targets = pathway.targets
    if name == "office-odf":
        kind = office_kind(identify_many([src], engine)[0].puid, src) or \
            office_kind("", Path("x" + output.suffix))
        targets = OFFICE[kind][1] if kind else targets
    engine_named = f"{result.engine} {result.engine_version}"
    done = [f"identified {_named(result)} by {engine_named}"]
    problems = [] if result.puid in targets else \
        [f"the output is identified as {_named(result)} by {engine_named}, not {' or '.join(targets)}"]
    checked, found = _CHECKS[name](src, output, timeout)
    return result.puid, "; ".join(done + checked), "; ".join(problems + found)
