"""A path given to ingest that is a mistake, not a SIP: one that does not exist (`archa ingest
help`, a typo, a link to nothing) or a plain folder (or an ERMS, E-ARK or NDK package) that
is no bag at all. Such a path is a usage error (exit 2) that names the command to use,
quoted so that it can be pasted into a shell; no transfer is recorded, so nothing shows as a
failure later. A bag that fails validation (a folder with bag files but no bagit.txt among
them) is not a mistake of this kind, nor is a file of another kind (`notes.txt`, SIP001):
ingest rejects it and records the rejection.
"""

from __future__ import annotations

import os
import re
import shlex
import tarfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from archa.errors import UsageError, utf8_text

# what `archa transfer KIND` takes, as a message names it
KIND_NAMES = {"folder": "a plain folder", "nsesss": "an ERMS (NSESSS) package", "eark": "an E-ARK package",
              "ndk": "an NDK digitisation package"}
_BAG_FILE = re.compile(r"^(bagit\.txt|bag-info\.txt|fetch\.txt|(tag)?manifest-[a-z0-9_-]+\.txt)$", re.IGNORECASE)
SERIALIZED = ".zip, .tar, .tar.gz, .tgz or .tar.zst"


def shell_command(*words: str | Path) -> str:
    """A command line with every word quoted for a POSIX shell (a path with spaces or Czech
    letters pastes as one argument); a name that is not UTF-8 shows \\xNN for its bytes."""
    return shlex.join(utf8_text(str(w)) for w in words)


def bag_like(folder: Path) -> bool:
    """Whether `folder` holds a file only a BagIt bag has (bagit.txt, bag-info.txt, fetch.txt,
    a manifest or tag manifest): a bag, maybe a broken one. A folder that cannot be listed
    counts as one (the bag reader then says what is wrong)."""
    try:
        with os.scandir(folder) as entries:
            return any(_BAG_FILE.match(e.name) for e in entries)
    except OSError:
        return True


def refuse_not_a_bag(sip: Path, kind_of: Callable[[Path], str] | None = None, options: Sequence[str] = ()) -> None:
    """UsageError when `sip` does not exist (a link to nothing included), or is not a bag but
    something `archa transfer` takes: a folder without any bag file (`bag_like`), or what
    `kind_of` (the transfer layer's detect_kind, when the caller has it) calls "folder",
    "nsesss", "eark" or "ndk". The hint is the `archa transfer KIND 'SIP' --ingest` command
    to use (a SIP named -NAME as ./-NAME), with `options` (e.g. ["--repo", PATH]) after it.
    Returns when `sip` is a bag or a file to try as one (a file of another kind, notes.txt,
    is then rejected and recorded: SIP001)."""
    shown = utf8_text(str(sip))
    give = (f"give a BagIt bag: a folder holding bagit.txt, or a {SERIALIZED} file of one (see `archa ingest "
            f"--help`); a plain folder goes in with "
            f"{shell_command('archa', 'transfer', 'folder', 'FOLDER', '--ingest', *options)}")
    if not sip.exists():
        link = f" (a link to {utf8_text(os.readlink(sip))}, which does not exist)" if sip.is_symlink() else ""
        raise UsageError(f"{shown}: no such file or folder{link}; nothing was ingested or recorded", hint=give)
    if sip.is_dir() and bag_like(sip):
        return
    try:
        kind = kind_of(sip) if kind_of is not None else ("folder" if sip.is_dir() else "")
    except (OSError, ValueError, UnicodeError, RuntimeError, zipfile.BadZipFile, tarfile.TarError):
        kind = ""  # an archive it cannot read (a name not UTF-8, damage): the bag reader says what is wrong
    if kind not in KIND_NAMES:
        return
    raise UsageError(f"{shown}: {KIND_NAMES[kind]}, not a BagIt bag (it has no bagit.txt); nothing was ingested "
                     "or recorded",
                     hint="bag it and ingest it in one step: "
                          + shell_command("archa", "transfer", kind, as_argument(sip), "--ingest", *options))


def as_argument(path: Path) -> Path | str:
    """`path` as a command's argument: one that starts with "-" as ./-NAME (else it reads as
    an option when pasted)."""
    return f"./{path}" if str(path).startswith("-") else path
