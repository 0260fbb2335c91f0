"""Level 6, content (obs*), part two: the records (obs57-obs92): identifiers, dates,
retention and its consistency along the filing plan, analogue documents, signatures."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import date
from importlib import resources

from lxml import etree

from archa.identifiers import ico_valid
from archa.transfer.nsesss.model import (
    SIGN_RANK,
    Hit,
    Pkg,
    as_int,
    local,
    norm,
    parse_date,
    year_of,
)
from archa.transfer.nsesss.registry import check

NEW_DECREE = date(2026, 12, 31)  # the sign V ends with records settled after this day


@functools.cache
def iso639_2() -> frozenset[str]:
    text = resources.files("archa.transfer.nsesss").joinpath("iso639_2.txt").read_text("utf-8")
    return frozenset(c for line in text.splitlines() if not line.startswith("#") for c in line.split())


def _signature(el: etree._Element) -> tuple[object, ...]:
    """An element's content without its ID (and component links), to compare repeats."""
    attrs = tuple(sorted((k, v) for k, v in el.attrib.items() if k not in ("ID", "vztah_k")))
    return (el.tag, attrs, norm(el.text), tuple(_signature(c) for c in el if isinstance(c.tag, str)))


@check
def obs57(p: Pkg) -> Iterator[Hit]:
    for ident in p.tree.iter(p.n("Identifikator")):
        if not norm(ident.text):
            yield p.hit(ident, "nsesss:Identifikator is empty")


@check
def obs58(p: Pkg) -> Iterator[Hit]:
    for ident in p.tree.iter(p.n("Identifikator")):
        if not (ident.get("zdroj") or "").strip():
            yield p.hit(ident, "nsesss:Identifikator has no zdroj (the system that issued it)", "zdroj")


@check
def obs59(p: Pkg) -> Iterator[Hit]:
    objects = ("BezpecnostniKategorie", "SkartacniRezim", "DruhDokumentu" if p.version == 4 else "TypDokumentu")
    by_key: dict[tuple[str, str, str], list[etree._Element]] = {}
    for el in p.entities + p.components + [e for o in objects for e in p.tree.iter(p.n(o))]:
        if local(el) in objects:
            found = el.find(p.n("Identifikator"))
            ident = (norm(found.text), (found.get("zdroj") or "").strip()) if found is not None else None
        else:
            ident = p.ident(el)
        if ident is not None and ident[0]:
            by_key.setdefault((local(el), *ident), []).append(el)
    for key, els in by_key.items():
        if len(els) < 2:
            continue
        first = _signature(els[0])
        for el in els[1:]:
            if _signature(el) != first:
                yield p.hit(el, f"{key[0]} {key[1]} (zdroj {key[2]!r}) is described twice with different "
                                f"contents (first at line {els[0].sourceline}); one identifier, one thing")


@check
def obs59a(p: Pkg) -> Iterator[Hit]:
    for el in p.entities:
        closed = p.closing_date(el)
        registered = local(el) == "Dokument" or (local(el) == "Spis" and closed is not None
                                                 and closed > date(2012, 7, 31))
        if registered and not p.text(el, "EvidencniUdaje/Evidence/EvidencniCislo"):
                yield p.hit(el, f"{local(el)} has no Evidence/EvidencniCislo (its registration number)")


def _documents(p: Pkg, analog: str) -> Iterator[etree._Element]:
    return (e for e in p.entities if local(e) == "Dokument" and p.analog(e) == analog)


@check
def obs60(p: Pkg) -> Iterator[Hit]:
    for doc in _documents(p, "ne"):
        if doc.find(p.n("Komponenty")) is None:
            yield p.hit(doc, "a document in digital form has no nsesss:Komponenty describing its components")


@check
def obs61(p: Pkg) -> Iterator[Hit]:
    for doc in _documents(p, "ano"):
        received = p.find(doc, "EvidencniUdaje/Puvod/DorucenyDokument")
        if received is not None and not p.text(received, "DoruceneMnozstvi"):
            yield p.hit(received, "a received analogue document must state DoruceneMnozstvi (the quantity received)")


@check
def obs61a(p: Pkg) -> Iterator[Hit]:
    for doc in _documents(p, "ano"):
        own = p.find(doc, "EvidencniUdaje/Puvod/VlastniDokument")
        if own is not None and not p.text(own, "VytvoreneMnozstvi"):
            yield p.hit(own, "an own analogue document must state VytvoreneMnozstvi (the quantity made)")


@check
def obs62(p: Pkg) -> Iterator[Hit]:
    codes = iso639_2()
    for lang in p.tree.iter(p.n("Jazyk")):
        value = norm(lang.text)
        if value not in codes and not re.fullmatch(r"q[a-t][a-z]", value):
            yield p.hit(lang, f"language {value!r} is not an ISO 639-2 code (e.g. 'cze', 'ger', 'eng')")


def _settlings(p: Pkg) -> Iterator[etree._Element]:
    yield from p.tree.iter(p.n("Vyrizeni"), p.n("VyrizeniUzavreni"))


@check
def obs63(p: Pkg) -> Iterator[Hit]:
    for v in _settlings(p):
        if p.text(v, "Zpusob") == "jiný způsob" and not p.text(v, "Oduvodneni"):
            yield p.hit(v, "settled in another way ('jiný způsob') without Oduvodneni (the reason)")


def _closed_this_year(p: Pkg, kind: str) -> Iterator[Hit]:
    for base in p.base_entities:
        if local(base) == kind:
            closed = p.closing_date(base)
            if closed is None or closed.year >= p.as_of.year:
                yield p.hit(base, f"the base {kind} must have been settled or closed in a year before "
                                  f"{p.as_of.year}; found {closed.isoformat() if closed else 'no date'}")


@check
def obs63a(p: Pkg) -> Iterator[Hit]:
    yield from _closed_this_year(p, "Dokument")


@check
def obs63b(p: Pkg) -> Iterator[Hit]:
    yield from _closed_this_year(p, "Spis")


@check
def obs63c(p: Pkg) -> Iterator[Hit]:
    yield from _closed_this_year(p, "Dil")


def disposal_year(p: Pkg, el: etree._Element, start: int | None = None) -> int | None:
    """The year the retention of `el` ends: RokVyrazeni (v4), else the trigger year (its
    DataceVyrazeni, or `start`) + 1 + SkartacniLhuta."""
    rezim = p.find(el, "EvidencniUdaje/Vyrazovani/SkartacniRezim")
    if rezim is None:
        return None
    fixed = year_of(p.text(rezim, "RokVyrazeni"))
    if fixed is not None:
        return fixed
    trigger = start if start is not None else \
        year_of(p.text(el, "EvidencniUdaje/Vyrazovani/DataceVyrazeni/RokSpousteciUdalosti"))
    period = as_int(p.text(rezim, "SkartacniLhuta"))
    return trigger + 1 + period if trigger is not None and period is not None else None


def _due(p: Pkg, el: etree._Element, start: int | None = None, what: str = "") -> Iterator[Hit]:
    due = disposal_year(p, el, start)
    what = what or f"the base {local(el)}"
    if due is None:
        yield p.hit(el, f"{what}: the year of the disposal operation cannot be worked out (no "
                        "DataceVyrazeni/RokSpousteciUdalosti with SkartacniLhuta, or RokVyrazeni)")
    elif due > p.as_of.year:
        yield p.hit(el, f"{what}: its retention ends in {due}, after {p.as_of.year}; it is not yet due for "
                        "disposal")


@check
def obs64(p: Pkg) -> Iterator[Hit]:
    for base in p.base_entities:
        if local(base) == "Dokument":
            yield from _due(p, base)


def _made(p: Pkg, el: etree._Element) -> int | None:
    """The year a document was received or made, or a file opened (created)."""
    for path in ("EvidencniUdaje/Puvod/DorucenyDokument/DatumDoruceni",
                 "EvidencniUdaje/Puvod/VlastniDokument/DatumVytvoreni", "EvidencniUdaje/Puvod/DatumVytvoreni"):
        y = year_of(p.text(el, path))
        if y is not None:
            return y
    return None


@check
def obs65(p: Pkg) -> Iterator[Hit]:
    inner = ("Spis", "Dokument") if p.version == 4 else ("Dokument",)
    for base in p.base_entities:
        if local(base) in ("Dil", "Spis"):
            yield from _due(p, base)
            for child in p.descendants(base, *inner):
                if p.find(child, "EvidencniUdaje/Vyrazovani/SkartacniRezim") is not None:
                    yield from _due(p, child, _made(p, child),
                                    f"{local(child)} {child.get('ID', '')} (counted from the year it was made)")


@check
def obs66(p: Pkg) -> Iterator[Hit]:
    for el in p.entities:
        closed = p.closing_date(el)
        if closed is not None and closed > NEW_DECREE and p.sign(el) == "V":
            yield p.hit(el, f"the sign V (review) ended with 2026; {local(el)} settled or closed on "
                            f"{closed.isoformat()} must have A or S")


def _highest(signs: list[str]) -> str:
    known = [s for s in signs if s in SIGN_RANK]
    return max(known, key=SIGN_RANK.__getitem__) if known else ""


@check
def obs67(p: Pkg) -> Iterator[Hit]:
    inner = ("Spis", "Dokument") if p.version == 4 else ("Dokument",)
    for base in p.base_entities:
        if local(base) in ("Dil", "Spis"):
            top = _highest([p.sign(c) for c in p.descendants(base, *inner)])
            if top and p.sign(base) != top:
                yield p.hit(base, f"the base {local(base)} has the sign {p.sign(base)!r}, but the highest sign "
                                  f"of what it holds is {top!r} (A > V > S)")


@check
def obs68(p: Pkg) -> Iterator[Hit]:
    for el in p.entities:
        if local(el) in ("Spis", "Dokument"):
            parent = p.parent(el)
            if parent is not None and local(parent) == "VecnaSkupina" and \
                    p.find(parent, "EvidencniUdaje/Vyrazovani/SkartacniRezim") is None:
                yield p.hit(parent, f"the subject group holding {local(el)} {el.get('ID', '')} has no "
                                    "Vyrazovani/SkartacniRezim")


@check
def obs69(p: Pkg) -> Iterator[Hit]:
    for base in p.base_entities:
        if local(base) == "Dokument" and p.find(base, "EvidencniUdaje/Vyrizeni") is None:
            yield p.hit(base, "the base document has no Vyrizeni (how and when it was settled)")


@check
def obs70(p: Pkg) -> Iterator[Hit]:
    ident = p.n("Identifikator")
    for parent in {i.getparent() for i in p.tree.iter(ident)}:
        if parent is None or len(parent.findall(ident)) < 2:
            continue
        eu = parent.getparent()
        owner = eu.getparent() if eu is not None else None
        if not (local(parent) == "Identifikace" and owner is not None and local(owner) == "Komponenta"):
            yield p.hit(parent, "nsesss:Identifikator may repeat only in a component's Identifikace")


def _order(p: Pkg, parent_tag: str, first: str, second: str, parse: object, strict: bool) -> Iterator[Hit]:
    for el in p.tree.iter(p.n(parent_tag)):
        a, b = p.text(el, first), p.text(el, second)
        if not a or not b:
            continue
        x, y = parse(a), parse(b)  # type: ignore[operator]
        if x is None or y is None:
            continue
        if (x >= y) if strict else (x > y):
            yield p.hit(el, f"{first} {a} must be {'before' if strict else 'on or before'} {second} {b}")


@check
def obs71(p: Pkg) -> Iterator[Hit]:
    yield from _order(p, "Manipulace", "DatumOtevreni", "DatumUzavreni", parse_date, strict=False)


def _datum_attr(p: Pkg, tag: str) -> Iterator[Hit]:
    for el in p.tree.iter(p.n(tag)):
        if not (el.get("datum") or "").strip():
            yield p.hit(el, f"nsesss:{tag} has no attribute datum (the machine-readable time)", "datum")


@check
def obs72(p: Pkg) -> Iterator[Hit]:
    yield from _datum_attr(p, "CasPouziti")


@check
def obs73(p: Pkg) -> Iterator[Hit]:
    yield from _datum_attr(p, "CasOvereni")


@check
def obs74(p: Pkg) -> Iterator[Hit]:
    yield from _datum_attr(p, "PosuzovanyOkamzik")


@check
def obs75(p: Pkg) -> Iterator[Hit]:
    yield from _order(p, "Platnost", "PlatnostOd", "PlatnostDo", parse_date, strict=False)


@check
def obs76(p: Pkg) -> Iterator[Hit]:
    for doc in _documents(p, "ano"):
        for up in p.ancestors(doc):
            if local(up) != "SpisovyPlan" and p.analog(up) != "ano":
                yield p.hit(up, f"{local(up)} holds the analogue document {doc.get('ID', '')} but says "
                                f"AnalogovyDokument {p.analog(up)!r}, not 'ano'")


@check
def obs77(p: Pkg) -> Iterator[Hit]:
    for base in p.base_entities:
        if p.analog(base) == "ano" and not p.text(base, "EvidencniUdaje/Vyrazovani/SkartacniRizeni/Mnozstvi"):
            yield p.hit(base, "an analogue base entity must state the quantity in SkartacniRizeni/Mnozstvi")


@check
def obs78(p: Pkg) -> Iterator[Hit]:
    bases = set(p.base_entities)
    for el in p.tree.iter(p.n("SkartacniRizeni")):
        owner = el.getparent().getparent().getparent() if el.getparent() is not None else None  # type: ignore[union-attr]
        if owner not in bases:
            yield p.hit(el, "SkartacniRizeni belongs only in the base entity's Vyrazovani")
    for base in p.base_entities:
        if p.find(base, "EvidencniUdaje/Vyrazovani/SkartacniRizeni") is None:
            yield p.hit(base, "the disposal procedure (Vyrazovani/SkartacniRizeni) is not recorded in the base "
                              f"{local(base)}")


@check
def obs79(p: Pkg) -> Iterator[Hit]:
    for el in p.tree.iter(p.n("SkartacniRizeni")):
        held = year_of(p.text(el, "Datum"))
        due = year_of(p.text(el.getparent(), "DataceVyrazeni/RokSkartacniOperace"))
        if held is None or due is None or held < due:
            yield p.hit(el, f"the disposal procedure of {held or '?'} must not be held before the year of the "
                            f"disposal operation {due or '(RokSkartacniOperace missing)'}")


@check
def obs80(p: Pkg) -> Iterator[Hit]:
    for el in p.tree.iter(p.n("SkartacniRizeni")):
        held = year_of(p.text(el, "Datum"))
        if held is not None and held > p.as_of.year:
            yield p.hit(el, f"the disposal procedure is dated {p.text(el, 'Datum')}, a year still to come")


@check
def obs81(p: Pkg) -> Iterator[Hit]:
    yield from _order(p, "UrceneCasoveObdobi", "DatumOd", "DatumDo", parse_date, strict=True)


@check
def obs82(p: Pkg) -> Iterator[Hit]:
    yield from _order(p, "UrceneCasoveObdobi", "MesicOd", "MesicDo", lambda s: s[:7], strict=True)


@check
def obs83(p: Pkg) -> Iterator[Hit]:
    yield from _order(p, "UrceneCasoveObdobi", "RokOd", "RokDo", year_of, strict=True)


@check
def obs84(p: Pkg) -> Iterator[Hit]:
    for v in p.tree.iter(p.n("Vyrizeni")):
        if p.text(v, "Zpusob") == "jiný způsob" and not p.text(v, "ObsahVyrizeni"):
            yield p.hit(v, "settled in another way ('jiný způsob') without ObsahVyrizeni (what was done)")


@check
def obs85(p: Pkg) -> Iterator[Hit]:
    for doc in _documents(p, "ano"):
        if not p.text(doc, "EvidencniUdaje/Manipulace/UkladaciJednotka"):
            yield p.hit(doc, "an analogue document must state Manipulace/UkladaciJednotka (its storage unit)")


@check
def obs85a(p: Pkg) -> Iterator[Hit]:
    for el in p.entities:
        if local(el) in ("Dil", "Spis") and p.analog(el) == "ano" and \
                not p.text(el, "EvidencniUdaje/Manipulace/Umisteni"):
            yield p.hit(el, f"an analogue {local(el)} must state Manipulace/Umisteni (where it is kept)")


@check
def obs86(p: Pkg) -> Iterator[Hit]:
    bases = [b for b in p.base_entities if local(b) == "Dokument"]
    if p.version == 3:
        for base in bases:
            if p.find(base, "EvidencniUdaje/Trideni/MaterskeEntity") is None:
                yield p.hit(base, "the base document has no Trideni/MaterskeEntity (where it is filed)")
        return
    allowed = {p.find(b, "EvidencniUdaje/Trideni/MaterskeEntity") for b in bases}
    for el in p.tree.iter(p.n("MaterskeEntity")):
        if el not in allowed:
            yield p.hit(el, "MaterskeEntity belongs only in the Trideni of a base document")


@check
def obs87(p: Pkg) -> Iterator[Hit]:
    for v in p.tree.iter(p.n("Vyrizeni")):
        sent, to = p.find(v, "DatumOdeslani") is not None, p.find(v, "Prijemce") is not None
        if sent != to:
            yield p.hit(v, "Vyrizeni gives " + ("DatumOdeslani without Prijemce" if sent else
                                                "Prijemce without DatumOdeslani"))


@check
def obs88(p: Pkg) -> Iterator[Hit]:
    for doc in _documents(p, "ano"):
        v = p.find(doc, "EvidencniUdaje/Vyrizeni")
        if v is not None and p.find(v, "DatumOdeslani") is not None and not p.text(v, "OdeslaneMnozstvi"):
            yield p.hit(v, "an analogue document sent out must state Vyrizeni/OdeslaneMnozstvi")


@check
def obs90(p: Pkg) -> Iterator[Hit]:
    for el in p.entities:
        if local(el) == "TypovySpis":
            up = p.parent(el)
            if up is not None and p.text(up, "EvidencniUdaje/UrcenoProTypoveSpisy") != "ano":
                yield p.hit(up, f"the subject group holding the type file {el.get('ID', '')} does not say "
                                "UrcenoProTypoveSpisy 'ano'")
        elif local(el) == "VecnaSkupina" and p.text(el, "EvidencniUdaje/UrcenoProTypoveSpisy") == "ano":
            for child in p.children(el):
                if local(child) != "TypovySpis":
                    yield p.hit(child, "a subject group meant for type files holds something that is not a "
                                       "type file")


@check
def obs92(p: Pkg) -> Iterator[Hit]:
    for el in p.tree.iter(p.n("Identifikator"), p.n("IdentifikatorOrganizace"), p.n("IdentifikatorFyzickeOsoby")):
        if (el.get("zdroj") or "").strip() in ("IČ", "IČO") and not ico_valid(norm(el.text)):
            yield p.hit(el, f"{norm(el.text)!r} is not a valid IČO (eight digits with a mod-11 check digit)")


