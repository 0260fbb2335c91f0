"""Level 1, data structure (dat*): what the package is and what its folder holds.

The runner unpacks a ZIP (safely: archa's own SIP002-SIP006 checks refuse unsafe names,
links and bombs) between dat2 and dat3, which then looks at the unpacked folder."""

from __future__ import annotations

import re
import stat
import zipfile
from collections.abc import Iterator

from archa.transfer.nsesss.model import Hit, Pkg
from archa.transfer.nsesss.registry import check

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@check
def dat1(p: Pkg) -> Iterator[Hit]:
    if p.source.is_dir() and not p.source.is_symlink():
        return
    if p.source.is_file() and zipfile.is_zipfile(p.source):
        return
    what = "a symbolic link" if p.source.is_symlink() else "neither a folder nor a ZIP file"
    yield Hit(p.source.name, f"the package is {what}; a package is a folder or a ZIP file holding one")


@check
def dat1a(p: Pkg) -> Iterator[Hit]:
    if not NAME.match(p.name):
        yield Hit(p.source.name, f"the package name {p.name!r} may use only A-Z, a-z, 0-9, '_' and '-', "
                                 "at most 64 characters")


@check
def dat2(p: Pkg) -> Iterator[Hit]:
    if not p.source.is_file():
        return
    try:
        with zipfile.ZipFile(p.source) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        yield Hit(p.source.name, f"the ZIP cannot be read: {e}")
        return
    tops = sorted({n.split("/", 1)[0] for n in names if n.strip("/")})
    nested = all(n.startswith(f"{p.name}/") or n == p.name for n in names)
    if tops != [p.name] or not nested:
        yield Hit(p.source.name, f"the ZIP must hold exactly one folder named {p.name!r} like the ZIP; "
                                 f"found {', '.join(tops[:5]) or 'nothing'}")


@check
def dat3(p: Pkg) -> Iterator[Hit]:
    folder = p.folder
    assert folder is not None
    entries = {e.name: e for e in folder.iterdir()}
    for name in sorted(set(entries) - {"mets.xml", "komponenty"}):
        yield Hit(f"{p.name}/{name}", "the package folder may hold only mets.xml and the folder komponenty")
    mets = entries.get("mets.xml")
    if mets is None:
        yield Hit(p.name, "mets.xml is missing")
    elif mets.is_symlink() or not mets.is_file():
        yield Hit(f"{p.name}/mets.xml", "mets.xml is not a regular file")
    comp = entries.get("komponenty")
    if comp is None:
        return
    if comp.is_symlink() or not comp.is_dir():
        yield Hit(f"{p.name}/komponenty", "komponenty is not a folder (a link or a file); every component must "
                                          "be a file inside the package")
        return
    for f in sorted(comp.rglob("*")):
        mode = f.lstat().st_mode
        if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            yield Hit(f"{p.name}/{f.relative_to(folder).as_posix()}",
                      "a link or special file among the components; components must be regular files")
