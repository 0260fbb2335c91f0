"""Level 6, content (obs*), part three: filing codes (obs93-obs98) along the filing plan.

The national validator compares the codes as written: the text of JednoduchySpisovyZnak and
PlneUrcenySpisovyZnak is taken whole (no trimming), and "ends with" / "starts with" are plain
string tests, so these rules do the same (`raw`)."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from archa.transfer.nsesss.model import Hit, Pkg, local
from archa.transfer.nsesss.registry import check

# characters that separate the parts of a filing code (a top subject group may end with one)
SEPARATORS = frozenset(" -_\\/.")
FILED = ("Dil", "Spis", "Dokument", "VecnaSkupina", "Soucast", "TypovySpis")  # entities with a Trideni


def raw(el: etree._Element | None) -> str:
    """The text of an element and its descendants, as written (no normalisation)."""
    return "".join(el.itertext()) if el is not None else ""


def blank(text: str) -> bool:
    """Nothing but whitespace (or nothing)."""
    return not text.strip()


def child(p: Pkg, el: etree._Element | None, *path: str) -> etree._Element | None:
    """The first nsesss child named path[0], then its first child named path[1], …"""
    for name in path:
        if el is None:
            return None
        el = el.find(p.n(name))
    return el


def everywhere(p: Pkg, *names: str) -> list[etree._Element]:
    """Every nsesss element of the given names in mets.xml, in document order."""
    wanted = {p.n(n) for n in names}
    return list(p.tree.iter(*wanted))


def codes(p: Pkg, el: etree._Element) -> tuple[etree._Element | None, etree._Element | None]:
    """The JednoduchySpisovyZnak and PlneUrcenySpisovyZnak elements of an entity's Trideni."""
    return child(p, el, "EvidencniUdaje", "Trideni", "JednoduchySpisovyZnak"), \
        child(p, el, "EvidencniUdaje", "Trideni", "PlneUrcenySpisovyZnak")


def _name(el: etree._Element) -> str:
    return f"{local(el)} {el.get('ID', '')}".rstrip()


def _missing(p: Pkg, el: etree._Element, simple: etree._Element | None,
             full: etree._Element | None) -> Iterator[Hit]:
    if simple is None:
        yield p.hit(el, f"{_name(el)} has no Trideni/JednoduchySpisovyZnak")
    if full is None:
        yield p.hit(el, f"{_name(el)} has no Trideni/PlneUrcenySpisovyZnak")


def _shown(simple: etree._Element | None, full: etree._Element | None) -> str:
    return f"{raw(simple)!r} (full {raw(full)!r})"


@check
def obs93(p: Pkg) -> Iterator[Hit]:
    """Every nsesss:Nazev anywhere in mets.xml has a value other than whitespace."""
    for el in everywhere(p, "Nazev"):
        if blank(raw(el)):
            yield p.hit(el, "nsesss:Nazev is empty")


def _top_groups_same_codes(p: Pkg) -> Iterator[Hit]:
    groups = everywhere(p, "VecnaSkupina")
    if not groups:
        yield p.hit(p.xml_data, "there is no nsesss:VecnaSkupina (subject group) in the package")
    for vs in groups:
        if child(p, vs, "EvidencniUdaje", "Trideni", "SpisovyPlan") is None:
            continue
        simple, full = codes(p, vs)
        if simple is None or full is None:
            yield from _missing(p, vs, simple, full)
        elif raw(simple) != raw(full):
            yield p.hit(vs, f"the subject group {vs.get('ID', '')} right under the filing plan must have the same "
                            f"JednoduchySpisovyZnak and PlneUrcenySpisovyZnak; found {_shown(simple, full)}")


@check
def obs93a(p: Pkg) -> Iterator[Hit]:
    """v4: every part, file, document, subject group, component part and type file has a
    JednoduchySpisovyZnak that is not blank. v3: as v4's obs93b."""
    if p.version == 3:
        yield from _top_groups_same_codes(p)
        return
    for el in everywhere(p, *FILED):
        simple = codes(p, el)[0]
        if simple is None:
            yield p.hit(el, f"{_name(el)} has no Trideni/JednoduchySpisovyZnak (simple filing code)")
        elif blank(raw(simple)):
            yield p.hit(simple, f"the JednoduchySpisovyZnak (simple filing code) of {_name(el)} is empty")


@check
def obs93b(p: Pkg) -> Iterator[Hit]:
    """The package has a subject group, and every subject group right under the filing plan has
    JednoduchySpisovyZnak equal to PlneUrcenySpisovyZnak."""
    yield from _top_groups_same_codes(p)


@check
def obs94(p: Pkg) -> Iterator[Hit]:
    """Every PlneUrcenySpisovyZnak in a Trideni (of an entity or a component) ends with the
    JednoduchySpisovyZnak beside it (a plain string test, no separator asked for)."""
    fulls = everywhere(p, "PlneUrcenySpisovyZnak")
    if not fulls:
        yield p.hit(p.xml_data, "there is no nsesss:PlneUrcenySpisovyZnak in the package")
    for full in fulls:
        trideni = full.getparent()
        if trideni is None or not p.is_n(trideni, "Trideni"):
            continue
        simple = trideni.find(p.n("JednoduchySpisovyZnak"))
        owner = trideni.getparent().getparent() if trideni.getparent() is not None else None
        if simple is None:
            yield p.hit(trideni, "a Trideni has PlneUrcenySpisovyZnak but no JednoduchySpisovyZnak")
        elif raw(simple) != raw(full) and not raw(full).endswith(raw(simple)):
            yield p.hit(full, f"the full filing code {raw(full)!r} of {_name(owner) if owner is not None else '?'} "
                              f"does not end with its simple filing code {raw(simple)!r}")


def has_separator(code: str) -> bool:
    """A separator anywhere but as the last character."""
    return any(c in SEPARATORS for c in code[:-1])


def _parent_full(p: Pkg, el: etree._Element) -> etree._Element | None:
    """The PlneUrcenySpisovyZnak of the subject group, type file or component part this
    entity's Trideni names as its mother, else the filing plan element itself."""
    for kind in ("VecnaSkupina", "TypovySpis", "Soucast"):
        found = child(p, el, "EvidencniUdaje", "Trideni", "MaterskaEntita", kind, "EvidencniUdaje", "Trideni",
                      "PlneUrcenySpisovyZnak")
        if found is not None:
            return found
    return child(p, el, "EvidencniUdaje", "Trideni", "SpisovyPlan")


@check
def obs95(p: Pkg) -> Iterator[Hit]:
    """Every subject group, component part and type file: under a mother entity, its
    PlneUrcenySpisovyZnak starts with the mother's and ends with its own JednoduchySpisovyZnak;
    right under the filing plan, its PlneUrcenySpisovyZnak has no separator (space, -, _, \\, /, .)
    but as the last character."""
    groups = everywhere(p, "VecnaSkupina")
    if not groups:
        yield p.hit(p.xml_data, "there is no nsesss:VecnaSkupina (subject group) in the package")
    for el in groups + everywhere(p, "Soucast") + everywhere(p, "TypovySpis"):
        simple, full = codes(p, el)
        if simple is None or full is None:
            yield from _missing(p, el, simple, full)
            continue
        parent = _parent_full(p, el)
        if parent is None:
            continue
        if p.is_n(parent, "SpisovyPlan"):
            if has_separator(raw(full)):
                yield p.hit(full, f"the subject group {el.get('ID', '')} right under the filing plan has a separator "
                                  f"inside its full filing code {raw(full)!r}")
            continue
        if not raw(full).startswith(raw(parent)):
            yield p.hit(full, f"the full filing code {raw(full)!r} of {_name(el)} does not start with its mother's "
                              f"{raw(parent)!r}")
        if not raw(full).endswith(raw(simple)):
            yield p.hit(full, f"the full filing code {raw(full)!r} of {_name(el)} does not end with its simple filing "
                              f"code {raw(simple)!r}")


def _same(a: tuple[etree._Element | None, etree._Element | None],
          b: tuple[etree._Element | None, etree._Element | None]) -> bool:
    return raw(a[0]) == raw(b[0]) and raw(a[1]) == raw(b[1])


@check
def obs96(p: Pkg) -> Iterator[Hit]:
    """A base file or document has the filing codes of the nearest subject group in its Trideni
    chain. A base part (Dil) has those of its component part (Soucast), and that part's type file
    has those of the last subject group below the Dil in document order (the topmost one of the
    chain: zaf's code, see docs)."""
    for base in p.base_entities:
        mine = codes(p, base)
        if mine[0] is None or mine[1] is None:
            yield from _missing(p, base, *mine)
            continue
        if local(base) == "Dil":
            yield from _part(p, base, mine)
            continue
        groups = [g for g in base.iter(p.n("VecnaSkupina")) if g is not base]
        if not groups:
            yield p.hit(base, f"{_name(base)} is filed under no subject group")
            continue
        group = groups[0]
        theirs = codes(p, group)
        if not _same(mine, theirs):
            yield p.hit(base, f"{_name(base)} is filed as {_shown(*mine)}, but the subject group "
                              f"{group.get('ID', '')} holding it has {_shown(*theirs)}")


def _part(p: Pkg, dil: etree._Element,
          mine: tuple[etree._Element | None, etree._Element | None]) -> Iterator[Hit]:
    soucast = child(p, dil, "EvidencniUdaje", "Trideni", "MaterskaEntita", "Soucast")
    if soucast is None:
        yield p.hit(dil, f"{_name(dil)} has no Trideni/MaterskaEntita/Soucast (component part)")
        return
    part_codes = codes(p, soucast)
    if part_codes[0] is None or part_codes[1] is None:
        yield from _missing(p, soucast, *part_codes)
        return
    if not _same(mine, part_codes):
        yield p.hit(dil, f"{_name(dil)} is filed as {_shown(*mine)}, but its component part "
                         f"{soucast.get('ID', '')} has {_shown(*part_codes)}")
    ts = child(p, soucast, "EvidencniUdaje", "Trideni", "MaterskaEntita", "TypovySpis")
    if ts is None:
        yield p.hit(soucast, f"the component part {soucast.get('ID', '')} has no Trideni/MaterskaEntita/TypovySpis")
        return
    ts_codes = codes(p, ts)
    if ts_codes[0] is None or ts_codes[1] is None:
        yield from _missing(p, ts, *ts_codes)
        return
    groups = list(dil.iter(p.n("VecnaSkupina")))
    if not groups:
        yield p.hit(dil, f"{_name(dil)} is filed under no subject group")
        return
    group = groups[-1]
    group_codes = codes(p, group)
    if group_codes[0] is None or group_codes[1] is None:
        yield from _missing(p, group, *group_codes)
    elif not _same(group_codes, ts_codes):
        yield p.hit(ts, f"the type file {ts.get('ID', '')} is filed as {_shown(*ts_codes)}, but the subject group "
                        f"{group.get('ID', '')} (the last one below {_name(dil)}) has {_shown(*group_codes)}")


@check
def obs97(p: Pkg) -> Iterator[Hit]:
    """All base entities have the JednoduchySpisovyZnak and PlneUrcenySpisovyZnak of the first."""
    bases = p.base_entities
    if not bases:
        return
    first = codes(p, bases[0])
    if first[0] is None or first[1] is None:
        yield from _missing(p, bases[0], *first)
        return
    for base in bases[1:]:
        theirs = codes(p, base)
        if theirs[0] is None or theirs[1] is None:
            yield from _missing(p, base, *theirs)
        elif not _same(first, theirs):
            yield p.hit(base, f"{_name(base)} is filed as {_shown(*theirs)}, unlike the first base entity "
                              f"{_name(bases[0])}: {_shown(*first)}")


def _compare(p: Pkg, holder: etree._Element, inner: list[etree._Element]) -> Iterator[Hit]:
    mine = codes(p, holder)
    if mine[0] is None or mine[1] is None:
        yield from _missing(p, holder, *mine)
        return
    for el in inner:
        theirs = codes(p, el)
        if theirs[0] is None or theirs[1] is None:
            yield from _missing(p, el, *theirs)
        elif not _same(mine, theirs):
            yield p.hit(el, f"{_name(el)} is filed as {_shown(*theirs)}, unlike {_name(holder)} holding it: "
                            f"{_shown(*mine)}")


def _kids(p: Pkg, el: etree._Element, box: str, kind: str) -> list[etree._Element]:
    found = el.find(p.n(box))
    return found.findall(p.n(kind)) if found is not None else []


@check
def obs98(p: Pkg) -> Iterator[Hit]:
    """A base file or part has the filing codes of the entities in it. v4: a file's documents;
    a part's documents and files, and each of those files' documents. v3: every document in
    the package (zaf compares them all with each base file or part)."""
    if p.version == 3:
        documents = everywhere(p, "Dokument")
        if not documents:
            yield p.hit(p.xml_data, "there is no nsesss:Dokument in the package")
        for base in p.base_entities:
            if local(base) in ("Dil", "Spis"):
                yield from _compare(p, base, documents)
        return
    for base in p.base_entities:
        if local(base) == "Spis":
            yield from _compare(p, base, _kids(p, base, "Dokumenty", "Dokument"))
        elif local(base) == "Dil":
            yield from _compare(p, base, _kids(p, base, "Dokumenty", "Dokument"))
            files = _kids(p, base, "Spisy", "Spis")
            yield from _compare(p, base, files)
            for spis in files:
                yield from _compare(p, spis, _kids(p, spis, "Dokumenty", "Dokument"))
