"""JPEG 2000 files of a PSP checked with jpylyzer, as the standard's binary profiles ask.

Errors: not a valid JP2 (a PNG renamed `.jp2` is one); a master copy that is not lossless
(5-3 reversible wavelet) or a user copy that is not lossy (9-7 irreversible); a bit depth
other than 8 or a component count other than 1 or 3. Warnings: the encoding parameters the
profile prescribes (tile size, quality layers, decomposition levels, progression order,
code-block size), which decide how well a viewer streams the image but not whether it is
kept faithfully.
"""

from __future__ import annotations

import functools
import mmap
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# role -> (transformation, tile size, layers, what it is called)
PROFILES = {"master": ("5-3 reversible", "4096", "1", "master copy"),
            "user": ("9-7 irreversible", "1024", None, "user copy")}
LEVELS = ("5", "6")


@dataclass(frozen=True)
class Jp2Finding:
    code: str
    message: str
    warning: bool = False


def _quiet(msg: str) -> None:
    pass


def _readable(el: Any, remap: dict[Any, Any]) -> str:
    """The text of jpylyzer's property element `el` as its `makeHumanReadable` would leave it
    (a coded value named by `remap`, bytes and numbers as text, control characters dropped),
    stripped; "" when there is no such element. Done for the few properties a finding reads:
    the whole report made readable costs more than validating the file."""
    if el is None or el.text is None:
        return ""
    value = el.text
    names = remap.get(el.tag)
    if names is not None:
        try:
            value = names[value]
        except KeyError:
            pass
    if type(value) is bytes:
        return str(_byteconv().bytesToText(value)).strip()
    if type(value) in (int, float, bool):
        return str(value).strip()
    return str(_byteconv().removeControlCharacters(value)).strip()


def _byteconv() -> Any:
    from jpylyzer import byteconv

    return byteconv


@functools.cache
def load_jpylyzer() -> tuple[Any, dict[Any, Any]]:
    """jpylyzer's box validator and its table of readable property values (loaded once: an
    import of jpylyzer costs ~50 ms, so a process pool loads it before it forks)."""
    from jpylyzer import boxvalidator, jpylyzer, shared  # lazy: only PSP transfers need it

    # jpylyzer writes box warnings to stderr; what matters is in its result (and a global
    # redirect of sys.stderr is not safe from the threads this runs in)
    shared.printWarning = _quiet
    return boxvalidator.BoxValidator, jpylyzer.generatePropertiesRemapTable()


# the properties a finding reads (paths below jpylyzer's `properties`)
CODESTREAM = "contiguousCodestreamBox"
TRANSFORMATION, DEPTH, COMPONENTS = f"{CODESTREAM}/cod/transformation", f"{CODESTREAM}/siz/ssizDepth", \
    "jp2HeaderBox/imageHeaderBox/nC"
TILE_WIDTH, LEVELS_AT, ORDER = f"{CODESTREAM}/siz/xTsiz", f"{CODESTREAM}/cod/levels", f"{CODESTREAM}/cod/order"
BLOCK_WIDTH, LAYERS = f"{CODESTREAM}/cod/codeBlockWidth", f"{CODESTREAM}/cod/layers"
READ = (TRANSFORMATION, DEPTH, COMPONENTS, TILE_WIDTH, LEVELS_AT, ORDER, BLOCK_WIDTH, LAYERS)
OPTIONS = {"validationFormat": "jp2", "verboseFlag": False, "nullxmlFlag": False, "packetmarkersFlag": False}


def check_jp2(source: Path | bytes, role: str) -> list[Jp2Finding]:
    """Findings about the JP2 file `source` (its path, or its bytes as read) in `role`
    ("master" or "user"); [] when it is fine.

    The judgement is jpylyzer's `checkOneFile` (its defaults: JP2 format, no verbose
    output): the same box validator on the same bytes, less the parts of its report no
    finding reads (file name and dates, MIX)."""
    validator, remap = load_jpylyzer()
    transformation, tiles, layers, name = PROFILES[role]
    data: Any = source
    try:
        if isinstance(source, Path):
            data = _mapped(source)
        result = validator(OPTIONS, "JP2", data if len(data) else "").validate()
        valid, tests = bool(result.isValid), result.tests
        if valid:
            value = {path: _property(result.characteristics, path, remap) for path in READ}
        else:
            tests.makeHumanReadable()
    except Exception:  # noqa: BLE001 - as checkOneFile: whatever the validator raises, the file is not valid
        valid, tests = False, None
    finally:
        if isinstance(data, mmap.mmap):
            data.close()
    if not valid:
        failed = [t.tag for t in tests.iter() if t.text == "False"][:3] if tests is not None else []
        return [Jp2Finding("NDK018", f"the {name} is not a valid JPEG 2000 (JP2) file"
                           + (f" (jpylyzer: {', '.join(failed)} failed)" if failed else ""))]
    found: list[Jp2Finding] = []
    got = value[TRANSFORMATION]
    if got != transformation:
        found.append(Jp2Finding("NDK019", f"the {name} must be {'lossless' if role == 'master' else 'lossy'} "
                                f"({transformation} wavelet); it is {got or 'unknown'}"))
    depth, comps = value[DEPTH], value[COMPONENTS]
    if depth != "8":
        found.append(Jp2Finding("NDK019", f"the {name} must have 8 bits per sample; it has {depth or 'unknown'}"))
    if comps not in ("1", "3"):
        found.append(Jp2Finding("NDK019", f"the {name} must have 1 or 3 colour components; it has {comps}"))
    wanted = [("tile width", TILE_WIDTH, (tiles,)), ("decomposition levels", LEVELS_AT, LEVELS),
              ("progression order", ORDER, ("RPCL",)), ("code-block width", BLOCK_WIDTH, ("64",))]
    if layers:
        wanted.append(("quality layers", LAYERS, (layers,)))
    for what, path, allowed in wanted:
        if value[path] not in allowed:
            found.append(Jp2Finding("NDK020", f"the {name}'s {what} is {value[path] or 'missing'}, the profile "
                                    f"asks for {' or '.join(allowed)}", warning=True))
    return found


def _property(props: Any, path: str, remap: dict[Any, Any]) -> str:
    """The property at `path` below jpylyzer's `properties` element, readable (`_readable`)."""
    el = props
    for tag in path.split("/"):  # a tag at a time: Element.find's fast path, no ElementPath
        el = el.find(tag)
        if el is None:
            return ""
    return _readable(el, remap)


def _mapped(path: Path) -> mmap.mmap | bytes:
    """The file mapped into memory as jpylyzer maps it (b"" when it is empty)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return b""
        return mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ)
