"""Level 6, content (obs*), part three: filing codes (obs93-obs98) along the filing plan."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from archa.transfer.nsesss.model import (
    Hit,
    Pkg,
    local,
    norm,
)
from archa.transfer.nsesss.registry import check

SEPARATOR = re.compile(r"[^0-9A-Za-zÀ-ž]")


@check
def obs93(p: Pkg) -> Iterator[Hit]:
    for el in p.tree.iter(p.n("Nazev")):
        if not norm(el.text):
            yield p.hit(el, "nsesss:Nazev is empty")


def _plan_groups(p: Pkg) -> Iterator[etree._Element]:
    return (el for el in p.entities if local(el) == "VecnaSkupina"
            and p.find(el, "EvidencniUdaje/Trideni/SpisovyPlan") is not None)


def _same_codes(p: Pkg) -> Iterator[Hit]:
    for el in _plan_groups(p):
        simple, full = p.filing(el)
        if simple != full:
            yield p.hit(el, f"a subject group right under the filing plan has the same simple and full filing "
                            f"code; found {simple!r} and {full!r}")


@check
def obs93a(p: Pkg) -> Iterator[Hit]:
    if p.version == 3:
        yield from _same_codes(p)
        return
    for el in p.entities:
        if local(el) != "SpisovyPlan" and not p.filing(el)[0]:
            yield p.hit(el, f"{local(el)} has no JednoduchySpisovyZnak (simple filing code)")


@check
def obs93b(p: Pkg) -> Iterator[Hit]:
    yield from _same_codes(p)


def _ends_with_part(full: str, simple: str) -> bool:
    return bool(simple) and full.endswith(simple) and (
        len(full) == len(simple) or bool(SEPARATOR.fullmatch(full[-len(simple) - 1])))


@check
def obs94(p: Pkg) -> Iterator[Hit]:
    for el in p.entities:
        if local(el) == "SpisovyPlan":
            continue
        simple, full = p.filing(el)
        if not _ends_with_part(full, simple):
            yield p.hit(el, f"the full filing code {full!r} of {local(el)} {el.get('ID', '')} does not end with "
                            f"its simple filing code {simple!r}")


@check
def obs95(p: Pkg) -> Iterator[Hit]:
    for el in p.entities:
        up = p.parent(el)
        if local(el) not in ("VecnaSkupina", "Soucast") or up is None or local(up) not in ("VecnaSkupina", "TypovySpis"):
            continue
        simple, full = p.filing(el)
        parent_full = p.filing(up)[1]
        rest = full[len(parent_full):] if full.startswith(parent_full) else ""
        if not (parent_full and len(rest) == len(simple) + 1 and SEPARATOR.fullmatch(rest[0]) and rest[1:] == simple):
            yield p.hit(el, f"the full filing code {full!r} must be the parent's {parent_full!r}, a separator and "
                            f"the simple code {simple!r}")


def _codes(p: Pkg, el: etree._Element) -> str:
    simple, full = p.filing(el)
    return f"{simple!r} (full {full!r})"


@check
def obs96(p: Pkg) -> Iterator[Hit]:
    # v4's published text repeats obs95; the rule checked here is its v3 (and legal) meaning:
    # a record is filed under the code of the subject group (or component part) holding it
    for el in p.base_entities + [e for e in p.entities if local(e) == "TypovySpis"]:
        up = p.parent(el)
        if up is not None and local(up) in ("VecnaSkupina", "Soucast") and p.filing(el) != p.filing(up):
            yield p.hit(el, f"{local(el)} {el.get('ID', '')} is filed as {_codes(p, el)}, but the "
                            f"{local(up)} holding it has {_codes(p, up)}")


@check
def obs97(p: Pkg) -> Iterator[Hit]:
    codes = {p.filing(b) for b in p.base_entities}
    if len(codes) > 1:
        yield p.hit(p.xml_data, "the base entities have different filing codes: "
                                + ", ".join(_codes(p, b) for b in p.base_entities))


@check
def obs98(p: Pkg) -> Iterator[Hit]:
    inner = ("Spis", "Dokument") if p.version == 4 else ("Dokument",)
    for base in p.base_entities:
        if local(base) in ("Dil", "Spis"):
            for child in p.descendants(base, *inner):
                if p.filing(child) != p.filing(base):
                    yield p.hit(child, f"{local(child)} {child.get('ID', '')} is filed as {_codes(p, child)}, "
                                       f"unlike the base {local(base)}: {_codes(p, base)}")


