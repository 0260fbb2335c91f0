"""How a package was given (a folder, a ZIP, a lone XML file, something else), read from
its path the way the national validator (zaf) reads it before any rule runs. Level 1
(`dat.py`) judges what this finds; see its docstring for the rules."""

from __future__ import annotations

import enum
import zipfile
from dataclasses import dataclass
from pathlib import Path


class Load(enum.StrEnum):
    """How the package was given, by zaf's reading of a path."""

    FOLDER = "folder"
    ZIP = "zip"
    XML = "xml"
    UNKNOWN = "unknown"


class ZipState(enum.StrEnum):
    OK = "ok"
    UNREADABLE = "unreadable"  # not a ZIP zaf can open
    STRUCTURE = "structure"  # readable, but not one folder named like the ZIP


@dataclass(frozen=True)
class Source:
    """What level 1 knows of the package before it is unpacked."""

    load: Load
    zip_state: ZipState | None
    name: str  # the package's name as zaf uses it for dat1a (see the module docstring)
    detail: str = ""  # why a ZIP is unreadable or badly structured


def inspect(source: Path) -> Source:
    """How zaf would load `source` (it exists, or is a dangling link)."""
    if source.is_dir():
        return Source(Load.FOLDER, None, source.name)
    lower = source.name.lower()
    if lower.endswith(".xml"):
        return Source(Load.XML, None, source.name)
    if not lower.endswith(".zip"):
        return Source(Load.UNKNOWN, None, source.name)
    expected = source.name[:-4]
    try:
        if not zipfile.is_zipfile(source):
            return Source(Load.ZIP, ZipState.UNREADABLE, source.name, "it is not a ZIP file that can be read")
        with zipfile.ZipFile(source) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError) as e:
        return Source(Load.ZIP, ZipState.UNREADABLE, source.name, f"it cannot be read ({e})")
    if not names:
        return Source(Load.ZIP, ZipState.STRUCTURE, source.name, "the ZIP is empty")
    stray = [n for n in names if f"{expected}/" not in n and f"{expected}\\" not in n]
    if stray:
        shown = ", ".join(repr(n) for n in stray[:3]) + (f" and {len(stray) - 3} more" if len(stray) > 3 else "")
        return Source(Load.ZIP, ZipState.STRUCTURE, source.name,
                      f"entries outside a folder named {expected!r}: {shown}")
    return Source(Load.ZIP, ZipState.OK, expected)
