"""JPEG 2000 files of a PSP checked with jpylyzer, as the standard's binary profiles ask.

Errors: not a valid JP2 (a PNG renamed `.jp2` is one); a master copy that is not lossless
(5-3 reversible wavelet) or a user copy that is not lossy (9-7 irreversible); a bit depth
other than 8 or a component count other than 1 or 3. Warnings: the encoding parameters the
profile prescribes (tile size, quality layers, decomposition levels, progression order,
code-block size), which decide how well a viewer streams the image but not whether it is
kept faithfully.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def _text(root: object, path: str) -> str:
    el = root.find(path)  # type: ignore[attr-defined]
    return "" if el is None or el.text is None else str(el.text).strip()


def check_jp2(path: Path, role: str) -> list[Jp2Finding]:
    """Findings about the JP2 file `path` in `role` ("master" or "user"); [] when it is fine."""
    from jpylyzer import jpylyzer, shared  # lazy: only PSP transfers need it

    # jpylyzer writes box warnings to stderr; what matters is in its result (and a global
    # redirect of sys.stderr is not safe from the threads this runs in)
    shared.printWarning = _quiet
    result = jpylyzer.checkOneFile(str(path))
    transformation, tiles, layers, name = PROFILES[role]
    if _text(result, "isValid") != "True":
        failed = [t.tag for t in result.find("tests").iter() if t.text == "False"][:3] \
            if result.find("tests") is not None else []
        return [Jp2Finding("NDK018", f"the {name} is not a valid JPEG 2000 (JP2) file"
                           + (f" (jpylyzer: {', '.join(failed)} failed)" if failed else ""))]
    props = "properties/contiguousCodestreamBox"
    found: list[Jp2Finding] = []
    got = _text(result, f"{props}/cod/transformation")
    if got != transformation:
        found.append(Jp2Finding("NDK019", f"the {name} must be {'lossless' if role == 'master' else 'lossy'} "
                                f"({transformation} wavelet); it is {got or 'unknown'}"))
    depth, comps = _text(result, f"{props}/siz/ssizDepth"), _text(result, "properties/jp2HeaderBox/imageHeaderBox/nC")
    if depth != "8":
        found.append(Jp2Finding("NDK019", f"the {name} must have 8 bits per sample; it has {depth or 'unknown'}"))
    if comps not in ("1", "3"):
        found.append(Jp2Finding("NDK019", f"the {name} must have 1 or 3 colour components; it has {comps}"))
    wanted = [("tile width", f"{props}/siz/xTsiz", (tiles,)), ("decomposition levels", f"{props}/cod/levels", LEVELS),
              ("progression order", f"{props}/cod/order", ("RPCL",)),
              ("code-block width", f"{props}/cod/codeBlockWidth", ("64",))]
    if layers:
        wanted.append(("quality layers", f"{props}/cod/layers", (layers,)))
    for what, xpath, allowed in wanted:
        value = _text(result, xpath)
        if value not in allowed:
            found.append(Jp2Finding("NDK020", f"the {name}'s {what} is {value or 'missing'}, the profile asks for "
                                    f"{' or '.join(allowed)}", warning=True))
    return found
