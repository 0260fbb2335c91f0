"""The document pathways: Ghostscript (PDF to PDF/A-2b) and LibreOffice (office documents to
PDF/A-2b or to OpenDocument), and the verification of the PDF/A they make.

Ghostscript writes PDF/A-2 with an output intent (GTS_PDFA1) carrying an sRGB ICC profile
(Ghostscript's own, else littleCMS's), reading the source under a fixed name in the helper
folder (whatever the original is called, it is never read as an option or a device such as
`%pipe%`); LibreOffice converts a copy of the source inside the helper folder, with its
profile there too, set to follow no link out of the document (BlockUntrustedRefererLinks):
a picture linked from the machine's disk or the network is not fetched into the preservation
copy, which holds what the record holds and nothing of its surroundings. Which office kind
(text, spreadsheet, presentation) a file is comes from its PUID, else its extension
(`office_kind`). A PDF/A output is verified by archa's PDF/A checks (the detail names what
they do not check) and, from a PDF, by its page count; an ODF output by its identification
alone (pathways.py).
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from archa.preservation.pdfa import NOT_CHECKED, check_pdfa
from archa.preservation.toolrun import (
    GS,
    LO,
    Made,
    executables,
    place_output,
    run_tool,
    shown_command,
    tail,
    tool_env,
)

# PRONOM PUIDs, as Siegfried names them on files made with the tools of this machine
PDF = ("fmt/14", "fmt/15", "fmt/16", "fmt/17", "fmt/18", "fmt/19", "fmt/20", "fmt/276", "fmt/1129")
WORD = ("fmt/39", "fmt/40", "fmt/609", "fmt/412")  # Word 6/95, 97-2003, generic 6.0-2003, 2007 onwards
RTF = ("fmt/45", "fmt/46", "fmt/47", "fmt/48", "fmt/49", "fmt/50", "fmt/51", "fmt/52", "fmt/53", "fmt/355",
       "fmt/969")
ODT = ("fmt/136", "fmt/290", "fmt/291", "fmt/1756")  # OpenDocument Text 1.0, 1.1, 1.2, 1.3
EXCEL = ("fmt/59", "fmt/60", "fmt/61", "fmt/62", "fmt/214")  # 5.0/95, 95, 97-2003, 2000-2003, 2007 onwards
ODS = ("fmt/137", "fmt/294", "fmt/295", "fmt/1755")
POWERPOINT = ("fmt/125", "fmt/126", "fmt/215")  # 95, 97-2003, 2007 onwards
ODP = ("fmt/138", "fmt/292", "fmt/293", "fmt/1754")
PDFA_2B = "fmt/477"

# office kind -> (source PUIDs, ODF PUIDs, ODF extension, ODF filter, PDF export filter)
OFFICE = {"text": (WORD + RTF + ODT, ODT, ".odt", "writer8", "writer_pdf_Export"),
          "spreadsheet": (EXCEL + ODS, ODS, ".ods", "calc8", "calc_pdf_Export"),
          "presentation": (POWERPOINT + ODP, ODP, ".odp", "impress8", "impress_pdf_Export")}
OFFICE_SUFFIXES = {".doc": "text", ".docx": "text", ".rtf": "text", ".odt": "text", ".xls": "spreadsheet",
                   ".xlsx": "spreadsheet", ".ods": "spreadsheet", ".ppt": "presentation",
                   ".pptx": "presentation", ".odp": "presentation"}
PDFA2_OPTIONS = '{"SelectPdfVersion":{"type":"long","value":"2"}}'  # LibreOffice: 2 is PDF/A-2b


def run_gs(src: Path, work: Path, helper: Path, _puid: str, timeout: float) -> Made:
    icc, origin = _srgb_profile()
    (helper / "srgb.icc").write_bytes(icc)
    profile = str(helper / "srgb.icc").replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    prefix = helper / "pdfa2-intent.ps"  # not PDFA_def.ps: Ghostscript would find its own sample first
    prefix.write_text(PDFA_DEF.replace("%ICC%", profile), encoding="utf-8")
    out, source = helper / "out.pdf", helper / "source.pdf"
    _link_or_copy(src, source)
    cmd = [*(executables(GS) or ["gs"]), "-q", "-dPDFA=2", "-dPDFACompatibilityPolicy=1",
           "-sColorConversionStrategy=RGB", "-sDEVICE=pdfwrite", "-dBATCH", "-dNOPAUSE", "-dSAFER",
           f"--permit-file-read={helper / 'srgb.icc'}", f"-sOutputFile={out}", str(prefix), str(source)]
    shown = shown_command(cmd, {out: src.stem + ".pdf", source: src.name, helper: "."})
    shown += f" ({prefix.name}: the output intent GTS_PDFA1 with the sRGB profile {origin})"
    _rc, stdout, stderr, problem = run_tool(cmd, cwd=helper, env=tool_env(helper), timeout=timeout)
    if not problem and not (out.is_file() and out.stat().st_size):
        problem = f"Ghostscript made no output: {tail(stderr) or tail(stdout) or 'no message'}"
    return Made(None if problem else place_output(out, work, src, ".pdf"), shown, problem)


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(src, dest)


PDFA_DEF = """%!
% PDF/A-2 prefix for Ghostscript's pdfwrite: the output intent with an sRGB ICC profile
[ /_objdef {icc_PDFA} /type /stream /OBJ pdfmark
[ {icc_PDFA} << /N 3 >> /PUT pdfmark
[ {icc_PDFA} (%ICC%) (r) file /PUT pdfmark
[ /_objdef {OutputIntent_PDFA} /type /dict /OBJ pdfmark
[ {OutputIntent_PDFA} << /Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {icc_PDFA}
  /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) >> /PUT pdfmark
[ {Catalog} << /OutputIntents [ {OutputIntent_PDFA} ] >> /PUT pdfmark
"""


@functools.cache
def _srgb_profile() -> tuple[bytes, str]:
    """Ghostscript's own sRGB profile (Debian: libgs-common), else littleCMS's built-in one."""
    found = sorted(glob.glob("/usr/share/ghostscript/*/iccprofiles/srgb.icc")) + \
        glob.glob("/usr/share/color/icc/ghostscript/srgb.icc")
    for path in reversed(found):
        try:
            return Path(path).read_bytes(), path
        except OSError:
            continue
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), "made by littleCMS"


# LibreOffice's user profile: resources a document links to (pictures on the machine's disk or
# on the network, in ODF, OOXML, RTF ...) are not loaded; the copy holds the file alone
NO_LINKS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks"
 oor:op="fuse"><value>true</value></prop></item>
</oor:items>
"""


def office_kind(puid: str, path: Path) -> str:
    for kind, (sources, *_rest) in OFFICE.items():
        if puid in sources:
            return kind
    return OFFICE_SUFFIXES.get(path.suffix.lower(), "")


def run_office(target: str) -> Callable[[Path, Path, Path, str, float], Made]:
    def run(src: Path, work: Path, helper: Path, puid: str, timeout: float) -> Made:
        kind = office_kind(puid, src)
        if not kind:
            return Made(None, "", f"cannot tell whether {src.name} ({puid or 'not identified'}) is a text "
                                   "document, a spreadsheet or a presentation")
        _sources, _odf, odf_ext, odf_filter, pdf_filter = OFFICE[kind]
        ext, convert = (".pdf", f"pdf:{pdf_filter}:{PDFA2_OPTIONS}") if target == "pdf" else \
            (odf_ext, f"{odf_ext[1:]}:{odf_filter}")
        (helper / "in").mkdir()
        copy = helper / "in" / ("source" + src.suffix.lower())  # LibreOffice leaves lock files beside
        shutil.copyfile(src, copy)
        outdir = helper / "out"
        (helper / "profile" / "user").mkdir(parents=True)
        (helper / "profile" / "user" / "registrymodifications.xcu").write_text(NO_LINKS, encoding="utf-8")
        cmd = [*(executables(LO) or ["soffice"]), f"-env:UserInstallation={(helper / 'profile').as_uri()}",
               "--headless", "--invisible", "--nologo", "--norestore", "--nolockcheck",
               "--convert-to", convert, "--outdir", str(outdir), str(copy)]
        shown = shown_command(cmd, {helper / "profile": "<profile>", outdir: ".", copy: src.name})
        shown += " (<profile>: links to content outside the file are not followed)"
        _rc, out, err, problem = run_tool(cmd, cwd=helper, env=tool_env(helper), timeout=timeout)
        made = outdir / ("source" + ext)
        if not problem and not (made.is_file() and made.stat().st_size):
            problem = f"LibreOffice made no output: {tail(err) or tail(out) or 'no message'}"
        return Made(None if problem else place_output(made, work, src, ext), shown, problem)
    return run


def check_pdf(src: Path, output: Path, pages: bool) -> tuple[list[str], list[str]]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    done: list[str] = []
    problems: list[str] = []
    report = check_pdfa(output)
    if not report.ok:
        problems.append(f"archa's PDF/A checks fail ({report.label}): {'; '.join(report.problems)}")
    elif (report.part, report.conformance) != ("2", "B"):
        problems.append(f"the output declares {report.label}, not PDF/A-2b")
    else:
        done.append(f"PDF/A-2b checks passed (not checked: {', '.join(NOT_CHECKED)})")
    if pages:
        try:
            counts = [len(PdfReader(p, strict=False).pages) for p in (src, output)]
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as e:
            return done, [*problems, f"the pages cannot be counted: {e}"]
        if counts[0] != counts[1]:
            problems.append(f"the output has {counts[1]} page(s), the source {counts[0]}")
        else:
            done.append(f"{counts[0]} page(s) as in the source")
    return done, problems
