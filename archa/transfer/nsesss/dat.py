"""Level 1, data structure (dat*): what the package is and what its folder holds.

Decided as the national validator (zaf) decides, from how it loads a package:

- a folder is a folder; a path ending in `.zip` (any case) is a ZIP; one ending in `.xml`
  is a lone XML file; anything else is of no allowed kind. A file is not sniffed: a ZIP
  named `.dat` is of no allowed kind, a PDF named `.zip` is a ZIP that cannot be read;
- a ZIP is well structured when it holds at least one entry and every entry's name
  contains `<name>/` (or `<name>\\`), `<name>` being the ZIP's file name without its
  four-character extension; only then is it unpacked, and the package's name becomes that
  folder's name (otherwise it stays the ZIP's file name, extension and all);
- every rule of the level is judged, each on its own: dat1 (a folder or a readable ZIP),
  dat1a (v4: the name, letters A-Z a-z, digits, `_` and `-`, at most 64 characters),
  dat2 (a ZIP is well structured), dat3 (the folder holds only `mets.xml` and
  `komponenty`, names compared ignoring case, and `mets.xml` is there).

archa adds its own safety on top (not zaf's): a ZIP is unpacked by archa's safe extractor
(SIP002-SIP006 refuse unsafe names, links and bombs), and dat3 refuses a symbolic link or
special file in the package folder.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from pathlib import Path

from archa.transfer.nsesss.model import Hit, Pkg
from archa.transfer.nsesss.registry import check
from archa.transfer.nsesss.source import Load, ZipState

NAME = re.compile(r"[A-Za-z0-9_-]+")
ALLOWED = ("mets.xml", "komponenty")


def _load_problem(p: Pkg) -> str:
    """Why the package could not be loaded at all ('' when it could): dat1's finding."""
    s = p.source_info
    if s.load is Load.XML:
        return "a lone XML file is not a package; a package is a folder or a ZIP file holding one"
    if s.load is Load.UNKNOWN:
        return "the package is neither a folder nor a file named .zip; a package is a folder or a ZIP file"
    if s.load is Load.ZIP and s.zip_state is ZipState.UNREADABLE:
        return f"the package is named .zip but {s.detail}"
    return ""


@check
def dat1(p: Pkg) -> Iterator[Hit]:
    problem = _load_problem(p)
    if problem:
        yield Hit(p.source.name, problem)


@check
def dat1a(p: Pkg) -> Iterator[Hit]:
    problem = _load_problem(p)
    if problem:
        yield Hit(p.source.name, problem)
        return
    name = p.source_info.name
    if not name or len(name) > 64 or not NAME.fullmatch(name):
        yield Hit(p.source.name, f"the package name {name!r} may use only A-Z, a-z, 0-9, '_' and '-', "
                                 f"at most 64 characters ({len(name)} given)")


@check
def dat2(p: Pkg) -> Iterator[Hit]:
    s = p.source_info
    if s.load is Load.ZIP and s.zip_state is not ZipState.OK:
        yield Hit(p.source.name, f"the ZIP must hold exactly one folder named {p.source.name[:-4]!r} like the ZIP "
                                 f"file; {s.detail}")


def _special(path: Path) -> bool:
    mode = path.lstat().st_mode
    return stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@check
def dat3(p: Pkg) -> Iterator[Hit]:
    folder = p.folder
    if folder is None or not folder.is_dir():
        yield Hit(p.source.name, "there is no package folder to look into (the package is not a folder or a ZIP "
                                 "holding one)")
        return
    entries = sorted(folder.iterdir(), key=lambda e: e.name)
    others = [e.name for e in entries if e.name.lower() not in ALLOWED]
    if others:
        yield Hit(f"{p.name}/{others[0]}", "the package folder may hold only mets.xml and the folder komponenty; "
                                           f"found also {', '.join(repr(o) for o in others[:5])}")
    mets = folder / "mets.xml"
    if not mets.exists() and not mets.is_symlink():
        yield Hit(p.name, "mets.xml is missing")
    # archa's own safety, beyond zaf: nothing in the package may point outside it
    for e in entries:
        if e.name.lower() in ALLOWED and _special(e):
            yield Hit(f"{p.name}/{e.name}", f"{e.name} is a link or a special file; the package must hold its "
                                            "files themselves")
    comp = folder / "komponenty"
    if comp.is_dir() and not comp.is_symlink():
        for f in sorted(comp.rglob("*")):
            if _special(f):
                yield Hit(f"{p.name}/{f.relative_to(folder).as_posix()}",
                          "a link or special file among the components; components must be regular files")
