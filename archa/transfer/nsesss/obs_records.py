"""Level 6, content (obs*), part two: the records (obs57-obs92): identifiers, registration,
dates, retention, analogue documents, signatures.

Every rule decides as the national validator zaf decides (validatorzaf/zaf, the classes
`nsesss2024/pravidla06/obsNN_MM/PravidloN` for v4 and `nsesss2017/pravidla06/...` for v3):
the elements it walks, its conditions and exemptions, and how it reads dates and years.
zaf reads values as Java does, so the helpers below do too: the text content untrimmed,
`Integer.parseInt` (an optional sign and digits, nothing else), commons-lang3
`DateUtils.parseDate(text, "yyyy-MM-dd")` (the whole text, lenient: month 13 rolls over)
and `SimpleDateFormat("yyyy-MM-dd").parse` (a leading prefix, lenient). A value zaf cannot
read, or an element it needs and does not find, fails the rule, as in zaf. Where zaf's
code and its published rule text differ, the code is followed and the docstring says so.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from importlib import resources
from typing import NoReturn

from lxml import etree

from archa.metadata.nsesss import METS
from archa.transfer.nsesss.model import Hit, Pkg, local
from archa.transfer.nsesss.registry import check

RULE_OF_2012 = date(2012, 7, 31)  # decree 259/2012: registration numbers for records settled after this day
NEW_DECREE = date(2026, 12, 31)  # the sign V ends with records settled after this day
OTHER_WAY = "jiný způsob"  # Zpusob: settled in another way

# ISO 639-2 terminologic codes: zaf takes only the first (bibliographic) column of the
# Library of Congress list, so these twenty are not accepted (their B forms are)
_TERMINOLOGIC = frozenset(("sqi", "hye", "eus", "mya", "zho", "ces", "nld", "fra", "kat", "deu", "ell", "isl",
                           "mkd", "mri", "msa", "fas", "ron", "slk", "bod", "cym"))
_LOCAL_USE = "qaa-qtz"  # the list's one line for the reserved range, taken literally


@functools.cache
def iso639_2() -> frozenset[str]:
    text = resources.files("archa.transfer.nsesss").joinpath("iso639_2.txt").read_text("utf-8")
    return frozenset(c for line in text.splitlines() if not line.startswith("#") for c in line.split())


@functools.cache
def languages() -> frozenset[str]:
    """The values zaf accepts in nsesss:Jazyk: the first column of the ISO 639-2 list."""
    return (iso639_2() - _TERMINOLOGIC) | {_LOCAL_USE}


# --- reading values as zaf (Java) reads them --------------------------------------------------------

def text_content(el: etree._Element) -> str:
    """DOM getTextContent: all text below `el`, untrimmed (comments left out)."""
    return "".join(el.itertext())


def _blank(text: str) -> bool:
    return not text.strip()  # StringUtils.isBlank


def _java_trim(text: str) -> str:
    return text.strip("".join(chr(i) for i in range(33)))  # String.trim: every char <= U+0020


_INT = re.compile(r"[+-]?\d+")


def java_int(text: str) -> int | None:
    """Integer.parseInt: an optional sign and digits, within 32 bits; None where it throws."""
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if -2**31 <= value < 2**31 else None


def _lenient(year: int, month: int, day: int) -> date | None:
    """A lenient Calendar: month 13 is January of the next year, day 0 the last of the month before."""
    try:
        y, m = divmod(year * 12 + month - 1, 12)
        return date(y, m + 1, 1) + timedelta(days=day - 1)
    except (ValueError, OverflowError):
        return None


_COMMONS = re.compile(r"\s*(\d+)-\s*(\d+)-\s*(\d+)")
_SDF_DAY = re.compile(r"[ \t]*(\d+)-[ \t]*(\d+)-[ \t]*(\d+)")
_SDF_MONTH = re.compile(r"[ \t]*(\d+)-[ \t]*(\d+)")


def commons_date(text: str) -> date | None:
    """DateUtils.parseDate(text, "yyyy-MM-dd"): the whole text (no time zone, no time), lenient."""
    m = _COMMONS.fullmatch(text)
    return _lenient(*(int(g) for g in m.groups())) if m else None


def sdf_date(text: str, *, month_only: bool = False) -> date | None:
    """SimpleDateFormat("yyyy-MM-dd" or "yyyy-MM").parse: a leading prefix, lenient."""
    if month_only:
        m = _SDF_MONTH.match(text)
        return _lenient(int(m.group(1)), int(m.group(2)), 1) if m else None
    m = _SDF_DAY.match(text)
    return _lenient(*(int(g) for g in m.groups())) if m else None


# --- walking the tree as zaf does ----------------------------------------------------------------

class _Stop(Exception):
    """zaf's nastavChybu: the check ends here with an error."""

    def __init__(self, hit: Hit) -> None:
        super().__init__(hit.message)
        self.hit = hit


def _fail(p: Pkg, el: etree._Element | None, message: str, attr: str = "") -> NoReturn:
    raise _Stop(p.hit(el, message, attr))


def _each(items: Iterable[etree._Element], judge: Callable[[etree._Element], object]) -> Iterator[Hit]:
    """Judge every item; an item whose check fails gives its one finding."""
    for item in items:
        try:
            judge(item)
        except _Stop as stop:
            yield stop.hit


def _first(p: Pkg, el: etree._Element | None, *path: str) -> etree._Element | None:
    """ValuesGetter.getXChild: the first child of each name in turn."""
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if c.tag == p.n(name)), None)
    return el


def _all(p: Pkg, name: str) -> list[etree._Element]:
    """Every nsesss element of that name in mets.xml (zaf's MetsParser lists)."""
    return list(p.tree.iter(p.n(name)))


def _label(el: etree._Element) -> str:
    return f"nsesss:{local(el)}" + (f" {el.get('ID')}" if el.get("ID") else "")


def _need(p: Pkg, el: etree._Element, *path: str) -> etree._Element:
    found = _first(p, el, *path)
    if found is None:
        _fail(p, el, f"{_label(el)} has no {'/'.join(path)}")
    return found


def _int(p: Pkg, el: etree._Element) -> int:
    value = java_int(text_content(el))
    if value is None:
        _fail(p, el, f"nsesss:{local(el)} {text_content(el)!r} is not a whole number")
    return value


def _year_prefix(p: Pkg, el: etree._Element, *, strict: bool) -> int:
    """The year in the first four characters: K06PravidloBase.vratRok (`strict`, text
    shorter than four characters fails), or the cut the retention rules make."""
    text = text_content(el)
    if strict and len(text) < 4:
        _fail(p, el, f"nsesss:{local(el)} {text!r} does not begin with a year")
    value = java_int(text[:4])
    if value is None:
        _fail(p, el, f"nsesss:{local(el)} {text!r} does not begin with a year")
    return value


def _sign(p: Pkg, el: etree._Element) -> str:
    return text_content(_need(p, el, "EvidencniUdaje", "Vyrazovani", "SkartacniRezim", "SkartacniZnak"))


def _needs_bases(p: Pkg) -> Hit | None:
    """K06PravidloBase.predpokladZakladniEntity: the rule fails without a base entity."""
    if p.base_entities:
        return None
    return p.hit(p.xml_data, "xmlData holds no base entity (nsesss:Dil, nsesss:Spis or nsesss:Dokument)")


def _documents(p: Pkg) -> list[etree._Element]:
    return _all(p, "Dokument")


def _no_documents(p: Pkg) -> Hit:
    return p.hit(p.xml_data, "the package holds no nsesss:Dokument")


def _settling_date(p: Pkg, el: etree._Element) -> etree._Element | None:
    """Vyrizeni/Datum, else VyrizeniUzavreni/Datum, else Uzavreni/Datum, whatever the entity."""
    for box in ("Vyrizeni", "VyrizeniUzavreni", "Uzavreni"):
        found = _first(p, el, "EvidencniUdaje", box, "Datum")
        if found is not None:
            return found
    return None


def _read_commons(p: Pkg, el: etree._Element) -> date:
    found = commons_date(text_content(el))
    if found is None:
        _fail(p, el, f"nsesss:{local(el)} {text_content(el)!r} is not a date of the form YYYY-MM-DD")
    return found


# --- identifiers ------------------------------------------------------------------------------

def _identifiers(p: Pkg) -> list[etree._Element]:
    return _all(p, "Identifikator")


def _none_found(p: Pkg) -> Hit:
    return p.hit(p.xml_data, "the package holds no nsesss:Identifikator")


@check
def obs57(p: Pkg) -> Iterator[Hit]:
    """Every nsesss:Identifikator has a value (zaf also fails a package without any)."""
    idents = _identifiers(p)
    if not idents:
        yield _none_found(p)
    for ident in idents:
        if _blank(text_content(ident)):
            yield p.hit(ident, "nsesss:Identifikator is empty")


@check
def obs58(p: Pkg) -> Iterator[Hit]:
    """Every nsesss:Identifikator has a non-empty attribute zdroj."""
    idents = _identifiers(p)
    if not idents:
        yield _none_found(p)
    for ident in idents:
        zdroj = ident.get("zdroj")
        if zdroj is None or _blank(zdroj):
            yield p.hit(ident, "nsesss:Identifikator has no zdroj (the system that issued it)", "zdroj")


_COMPARED_59 = {4: frozenset(("SpisovyPlan", "VecnaSkupina", "TypovySpis", "Soucast", "Spis", "Dil", "Dokument",
                              "Komponenta", "BezpecnostniKategorie", "SkartacniRezim", "DruhDokumentu")),
                3: frozenset(("SpisovyPlan", "VecnaSkupina", "TypovySpis", "Soucast", "Spis", "Dil", "Dokument",
                              "Komponenta", "BezpecnostniKategorie", "SkartacniRezim", "TypDokumentu"))}


def _owner_59(p: Pkg, ident: etree._Element) -> etree._Element | None:
    """Pravidlo59.getEntityWithIdentifikator: Identifikace/EvidencniUdaje lead to the entity."""
    parent = ident.getparent()
    if parent is not None and p.is_n(parent, "Identifikace"):
        grand = parent.getparent()
        if grand is not None and p.is_n(grand, "EvidencniUdaje"):
            return grand.getparent()
        return grand
    return parent


def _attributes_59(el: etree._Element) -> dict[str, str]:
    return {k: v for k, v in el.attrib.items() if k != "ID"}


def same_content(a: etree._Element, b: etree._Element) -> bool:
    """zaf's CompareNodes: the same name, attributes (but ID), child elements in order, and the
    same trimmed text where neither has child elements."""
    if a is b:
        return True
    if a.tag != b.tag:
        return False
    a_kids = [c for c in a if isinstance(c.tag, str)]
    b_kids = [c for c in b if isinstance(c.tag, str)]
    if not a_kids and not b_kids and _java_trim(text_content(a)) != _java_trim(text_content(b)):
        return False
    if _attributes_59(a) != _attributes_59(b) or len(a_kids) != len(b_kids):
        return False
    return all(same_content(x, y) for x, y in zip(a_kids, b_kids, strict=True))


@check
def obs59(p: Pkg) -> Iterator[Hit]:
    """No two entities, components, security categories, retention schedules or document
    kinds (v4 DruhDokumentu, v3 TypDokumentu) share an Identifikator value and zdroj while
    differing in content other than their ID. zaf's code keys by identifier and zdroj alone,
    so two things of different types sharing them differ too."""
    compared = _COMPARED_59[p.version]
    by_key: dict[tuple[str | None, str], list[etree._Element]] = {}
    for ident in _identifiers(p):
        owner = _owner_59(p, ident)
        if owner is not None and p.is_n(owner) and local(owner) in compared:
            by_key.setdefault((ident.get("zdroj"), text_content(ident)), []).append(owner)
    for (zdroj, value), owners in by_key.items():
        first = owners[0]
        for other in owners[1:]:
            if not same_content(first, other):
                yield p.hit(other, f"{_label(other)} has the identifier {value!r} (zdroj {zdroj!r}) of "
                                   f"{_label(first)} at line {first.sourceline}, with different contents")


@check
def obs59a(p: Pkg) -> Iterator[Hit]:
    """Every document and file (any, not only base ones) settled or closed after 31 July 2012
    has Evidence/EvidencniCislo; one without a settling date is not checked, and a document
    registered outside the records (EvidencniUdaje/Neevidence) is exempt. zaf reads the first
    of Vyrizeni/Datum, VyrizeniUzavreni/Datum, Uzavreni/Datum; a date it cannot read fails."""
    def judge(el: etree._Element) -> None:
        datum = _settling_date(p, el)
        if datum is None or not _read_commons(p, datum) > RULE_OF_2012:
            return
        if _first(p, el, "EvidencniUdaje", "Evidence", "EvidencniCislo") is not None:
            return
        if local(el) == "Dokument" and _first(p, el, "EvidencniUdaje", "Neevidence") is not None:
            return
        _fail(p, el, f"{_label(el)}, settled or closed after 31 July 2012, has no Evidence/EvidencniCislo "
                     "(its registration number)")

    yield from _each(_documents(p) + _all(p, "Spis"), judge)


# --- documents in digital and analogue form ---------------------------------------------------------

def _analog_value(p: Pkg, doc: etree._Element) -> str:
    return text_content(_need(p, doc, "EvidencniUdaje", "Manipulace", "AnalogovyDokument"))


@check
def obs60(p: Pkg) -> Iterator[Hit]:
    """Every document in digital form (AnalogovyDokument 'ne') has nsesss:Komponenty; every
    document must give AnalogovyDokument, and a package without documents fails."""
    docs = _documents(p)
    if not docs:
        yield _no_documents(p)

    def judge(doc: etree._Element) -> None:
        if _analog_value(p, doc) == "ne" and _first(p, doc, "Komponenty") is None:
            _fail(p, doc, f"{_label(doc)} is in digital form but has no nsesss:Komponenty describing its components")

    yield from _each(docs, judge)


def _quantity(p: Pkg, what: str, origin: str, quantity: str, *, require_documents: bool) -> Iterator[Hit]:
    docs = _documents(p)
    if require_documents and not docs:
        yield _no_documents(p)

    def judge(doc: etree._Element) -> None:
        analog = _analog_value(p, doc)
        source = _first(p, doc, "EvidencniUdaje", "Puvod", origin)
        if analog == "ano" and source is not None:
            amount = _first(p, source, quantity)
            if amount is None or _blank(text_content(amount)):
                _fail(p, source, f"{_label(doc)} is a {what} analogue document without {origin}/{quantity}")

    yield from _each(docs, judge)


@check
def obs61(p: Pkg) -> Iterator[Hit]:
    """A received analogue document gives a non-empty DorucenyDokument/DoruceneMnozstvi
    (a package without documents fails)."""
    yield from _quantity(p, "received", "DorucenyDokument", "DoruceneMnozstvi", require_documents=True)


@check
def obs61a(p: Pkg) -> Iterator[Hit]:
    """An own analogue document gives a non-empty VlastniDokument/VytvoreneMnozstvi."""
    yield from _quantity(p, "own", "VlastniDokument", "VytvoreneMnozstvi", require_documents=False)


@check
def obs62(p: Pkg) -> Iterator[Hit]:
    """Every nsesss:Jazyk is a code in the first column of the ISO 639-2 list (the
    bibliographic form: 'cze', not 'ces'; the reserved range only as the literal 'qaa-qtz')."""
    for lang in _all(p, "Jazyk"):
        value = text_content(lang)
        if value not in languages():
            yield p.hit(lang, f"language {value!r} is not an ISO 639-2 (bibliographic) code such as 'cze' or 'ger'")


# --- settling ---------------------------------------------------------------------------------

@check
def obs63(p: Pkg) -> Iterator[Hit]:
    """A Vyrizeni or VyrizeniUzavreni whose Zpusob is 'jiný způsob' has a non-empty Oduvodneni."""
    def judge(v: etree._Element) -> None:
        zpusob = _first(p, v, "Zpusob")
        if zpusob is None or text_content(zpusob) != OTHER_WAY:
            return
        reason = _first(p, v, "Oduvodneni")
        if reason is None or _blank(text_content(reason)):
            _fail(p, v, f"nsesss:{local(v)} settled in another way ('{OTHER_WAY}') without Oduvodneni (the reason)")

    yield from _each(_all(p, "Vyrizeni") + _all(p, "VyrizeniUzavreni"), judge)


def _settled_before_this_year(p: Pkg, kind: str, box: str) -> Iterator[Hit]:
    start = date(p.as_of.year, 1, 1)

    def judge(base: etree._Element) -> None:
        datum = _need(p, base, "EvidencniUdaje", box, "Datum")
        if not _read_commons(p, datum) < start:
            _fail(p, datum, f"the base {_label(base)} was settled or closed on {text_content(datum)}, not in a "
                            f"year before {p.as_of.year}")

    yield from _each([b for b in p.base_entities if local(b) == kind], judge)


@check
def obs63a(p: Pkg) -> Iterator[Hit]:
    """A base document was settled (Vyrizeni/Datum) before 1 January of the current year."""
    yield from _settled_before_this_year(p, "Dokument", "Vyrizeni")


@check
def obs63b(p: Pkg) -> Iterator[Hit]:
    """A base file was closed (VyrizeniUzavreni/Datum) before 1 January of the current year."""
    yield from _settled_before_this_year(p, "Spis", "VyrizeniUzavreni")


@check
def obs63c(p: Pkg) -> Iterator[Hit]:
    """A base part was closed (Uzavreni/Datum) before 1 January of the current year."""
    yield from _settled_before_this_year(p, "Dil", "Uzavreni")


# --- retention --------------------------------------------------------------------------------

def _due_by(p: Pkg, el: etree._Element, start: int, counted: str) -> None:
    """zaf v4: start + 1 + SkartacniLhuta, or RokVyrazeni, is not after the current year."""
    regime = _need(p, el, "EvidencniUdaje", "Vyrazovani", "SkartacniRezim")
    period = _first(p, regime, "SkartacniLhuta")
    if period is not None:
        years = _int(p, period)
        if not start + 1 + years <= p.as_of.year:
            _fail(p, el, f"{_label(el)}: its retention ends in {start + 1 + years} ({counted} {start} + 1 + "
                         f"SkartacniLhuta {years}), after {p.as_of.year}; it is not yet due for disposal")
        return
    fixed = _first(p, regime, "RokVyrazeni")
    if fixed is None:
        _fail(p, regime, f"the SkartacniRezim of {_label(el)} has neither SkartacniLhuta nor RokVyrazeni")
    year = _int(p, fixed)
    if not year <= p.as_of.year:
        _fail(p, el, f"{_label(el)}: its RokVyrazeni {year} is after {p.as_of.year}; it is not yet due for disposal")


def _trigger_year(p: Pkg, el: etree._Element) -> int:
    return _int(p, _need(p, el, "EvidencniUdaje", "Vyrazovani", "DataceVyrazeni", "RokSpousteciUdalosti"))


def _base_due_v4(p: Pkg, base: etree._Element) -> None:
    _due_by(p, base, _trigger_year(p, base), "RokSpousteciUdalosti")


def _made_year_v4(p: Pkg, el: etree._Element) -> int:
    """The year a file was made (Puvod/DatumVytvoreni or DatumDoruceni) or a document was
    made or received, from the first four characters."""
    paths: tuple[tuple[str, ...], ...]
    if local(el) == "Spis":
        paths = (("Puvod", "DatumVytvoreni"), ("Puvod", "DatumDoruceni"))
    else:
        paths = (("Puvod", "VlastniDokument", "DatumVytvoreni"), ("Puvod", "DorucenyDokument", "DatumDoruceni"))
    for path in paths:
        found = _first(p, el, "EvidencniUdaje", *path)
        if found is not None:
            return _year_prefix(p, found, strict=False)
    _fail(p, el, f"{_label(el)} has no date it was made or received (Puvod)")


@check
def obs64(p: Pkg) -> Iterator[Hit]:
    """For a base document the retention has run out by the current year.
    v4: RokSpousteciUdalosti (always required) + 1 + SkartacniLhuta, or RokVyrazeni, is not
    after the current year. v3: RokSpousteciUdalosti + 1 + SkartacniLhuta is not."""
    missing = _needs_bases(p)
    if missing:
        yield missing
        return
    docs = [b for b in p.base_entities if local(b) == "Dokument"]
    if p.version == 4:
        yield from _each(docs, lambda base: _base_due_v4(p, base))
        return

    def judge_v3(base: etree._Element) -> None:
        vyrazovani = _need(p, base, "EvidencniUdaje", "Vyrazovani")
        period = _need(p, _need(p, vyrazovani, "SkartacniRezim"), "SkartacniLhuta")
        start = _need(p, vyrazovani, "DataceVyrazeni", "RokSpousteciUdalosti")
        years, trigger = _int(p, period), _int(p, start)
        if p.as_of.year < years + trigger + 1:
            _fail(p, base, f"{_label(base)}: its retention ends in {trigger + 1 + years} (RokSpousteciUdalosti "
                           f"{trigger} + 1 + SkartacniLhuta {years}), after {p.as_of.year}")

    yield from _each(docs, judge_v3)


def _held(p: Pkg, el: etree._Element, box: str, name: str) -> list[etree._Element]:
    """ValuesGetter.getChildNodes(getXChild(el, box), name): the entities in el's first `box`."""
    container = _first(p, el, box)
    return [c for c in container if c.tag == p.n(name)] if container is not None else []


def _held_documents(p: Pkg, el: etree._Element) -> list[etree._Element]:
    return _held(p, el, "Dokumenty", "Dokument")


@check
def obs65(p: Pkg) -> Iterator[Hit]:
    """The retention of a base entity and of what it holds has run out by the current year.
    v4 (zaf's code, for every base entity, a document too, though the text names only parts
    and files): RokSpousteciUdalosti + 1 + SkartacniLhuta, or RokVyrazeni, of the base entity;
    for each file in a base part and each document directly in the base entity or in such a
    file, the year it was made or received + 1 + SkartacniLhuta, or RokVyrazeni.
    v3: for a base part or file, RokSpousteciUdalosti + 1 + SkartacniLhuta, and for every
    document in the package the year made or received + 1 + its SkartacniLhuta."""
    missing = _needs_bases(p)
    if missing:
        yield missing
        return
    if p.version == 4:
        yield from _retention_v4(p)
    else:
        yield from _retention_v3(p)


def _retention_v4(p: Pkg) -> Iterator[Hit]:
    for base in p.base_entities:
        try:
            _base_due_v4(p, base)
        except _Stop as stop:
            yield stop.hit
            continue
        held: list[etree._Element] = []
        if local(base) == "Dil":
            for spis in _held(p, base, "Spisy", "Spis"):
                held += [spis, *_held_documents(p, spis)]
        held += _held_documents(p, base)
        yield from _each(held, lambda el: _due_by(p, el, _made_year_v4(p, el), "made or received in"))


def _retention_v3(p: Pkg) -> Iterator[Hit]:
    docs = _documents(p)
    if not docs:
        yield _no_documents(p)
        return

    def judge_doc(doc: etree._Element) -> None:
        years = _int(p, _need(p, doc, "EvidencniUdaje", "Vyrazovani", "SkartacniRezim", "SkartacniLhuta"))
        made = _first(p, doc, "EvidencniUdaje", "Puvod", "VlastniDokument", "DatumVytvoreni")
        if made is None:
            made = _first(p, doc, "EvidencniUdaje", "Puvod", "DorucenyDokument", "DatumDoruceni")
        if made is None:
            _fail(p, doc, f"{_label(doc)} has no date it was made or received (Puvod)")
        year = _year_prefix(p, made, strict=False)
        if years + 1 + year > p.as_of.year:
            _fail(p, doc, f"{_label(doc)}: its retention ends in {year + 1 + years} (made or received in {year} + 1 "
                          f"+ SkartacniLhuta {years}), after {p.as_of.year}")

    for base in p.base_entities:
        if local(base) not in ("Spis", "Dil"):
            continue
        try:
            trigger = _trigger_year(p, base)
            years = _int(p, _need(p, base, "EvidencniUdaje", "Vyrazovani", "SkartacniRezim", "SkartacniLhuta"))
            if trigger + 1 + years > p.as_of.year:
                _fail(p, base, f"the base {_label(base)}: its retention ends in {trigger + 1 + years} "
                               f"(RokSpousteciUdalosti {trigger} + 1 + SkartacniLhuta {years}), after {p.as_of.year}")
        except _Stop as stop:
            yield stop.hit
            continue
        yield from _each(docs, judge_doc)


@check
def obs66(p: Pkg) -> Iterator[Hit]:
    """A part, file or document (any, not only base ones) settled or closed after 31 December
    2026 does not have the sign V. zaf requires SkartacniZnak of each, and for a sign other
    than A or S the settling date (Vyrizeni/Datum, VyrizeniUzavreni/Datum, Uzavreni/Datum),
    read as a date; the documents inside are not compared (zaf looks for them in the wrong place)."""
    def judge(el: etree._Element) -> None:
        sign = _sign(p, el)
        if sign in ("A", "S"):
            return
        datum = _settling_date(p, el)
        if datum is None:
            _fail(p, el, f"{_label(el)} has the sign {sign!r} and no date it was settled or closed")
        if _read_commons(p, datum) > NEW_DECREE:
            if sign == "V":
                _fail(p, el, f"the sign V (review) ended with 2026; {_label(el)} settled or closed on "
                             f"{text_content(datum)} must have A or S")
            if local(el) in ("Dil", "Spis") and _first(p, el, "Dokumenty") is None:
                _fail(p, el, f"{_label(el)} has no nsesss:Dokumenty")

    yield from _each(_all(p, "Dil") + _all(p, "Spis") + _documents(p), judge)


_RANK = {"S": 0, "V": 1, "A": 2}


def _lower(parent: str, child: str) -> bool:
    """zaf v4: a parent's sign may not be lower than a child's (S under A or V, V under A)."""
    return (parent == "S" and child in ("A", "V")) or (parent == "V" and child == "A")


@check
def obs67(p: Pkg) -> Iterator[Hit]:
    """The sign of a base part or file is not lower than what it holds (A > V > S).
    v4 (zaf's code): no file in a base part, and no document in a base part or file or in
    such a file, has a higher sign than its parent (the text asks for equality with the highest).
    v3: the sign of a base part or file equals the highest sign of the documents directly in it."""
    if p.version == 3:
        yield from _highest_sign_v3(p)
        return
    missing = _needs_bases(p)  # zaf's code fails on a package without base entities
    if missing:
        yield missing
        return

    def pairs(base: etree._Element) -> list[tuple[etree._Element, etree._Element]]:
        out = []
        if local(base) == "Dil":
            for spis in _held(p, base, "Spisy", "Spis"):
                out.append((base, spis))
                out += [(spis, d) for d in _held_documents(p, spis)]
        if local(base) in ("Dil", "Spis"):
            out += [(base, d) for d in _held_documents(p, base)]
        return out

    def judge(base: etree._Element) -> None:
        for parent, child in pairs(base):
            up, down = _sign(p, parent), _sign(p, child)
            if _lower(up, down):
                _fail(p, child, f"{_label(child)} has the sign {down!r}, higher than the sign {up!r} of "
                                f"{_label(parent)} that holds it (A > V > S)")

    yield from _each(p.base_entities, judge)


def _highest_sign_v3(p: Pkg) -> Iterator[Hit]:
    missing = _needs_bases(p)
    if missing:
        yield missing
        return
    bases = [b for b in p.base_entities if local(b) in ("Spis", "Dil")]
    if not bases:
        return
    docs = [d for d in _documents(p) if d not in p.base_entities]
    if not _documents(p):
        yield p.hit(bases[0], "the base entity holds no nsesss:Dokument")
        return
    signs: dict[etree._Element, set[str]] = {}
    try:
        for doc in docs:
            box = doc.getparent()
            if box is None or box.tag != p.n("Dokumenty") or box.getparent() is None:
                _fail(p, doc, f"{_label(doc)} is not inside an nsesss:Dokumenty")
            signs.setdefault(box.getparent(), set()).add(_sign(p, doc))
    except _Stop as stop:
        yield stop.hit
        return

    def judge(base: etree._Element) -> None:
        held = signs.get(base)
        if held is None:
            _fail(p, base, f"the base {_label(base)} holds no document with a SkartacniZnak")
        sign = _sign(p, base)
        top = max(held & set(_RANK), key=_RANK.__getitem__, default="")
        wrong = (sign == "A" and "A" not in held) or (sign == "V" and ("A" in held or "V" not in held)) or \
            (sign == "S" and ("A" in held or "V" in held))
        if wrong:
            _fail(p, base, f"the base {_label(base)} has the sign {sign!r}, but the highest sign of the documents "
                           f"in it is {top!r} (A > V > S)")

    yield from _each(bases, judge)


@check
def obs68(p: Pkg) -> Iterator[Hit]:
    """The subject group a base file (Trideni/MaterskaEntita) or base document
    (Trideni/MaterskeEntity) is filed in exists and has Vyrazovani/SkartacniRezim (zaf's code
    looks at base entities only, not at files and documents inside them)."""
    missing = _needs_bases(p)
    if missing:
        yield missing
        return

    def judge(base: etree._Element) -> None:
        mother = "MaterskeEntity" if local(base) == "Dokument" else "MaterskaEntita"
        group = _first(p, base, "EvidencniUdaje", "Trideni", mother, "VecnaSkupina")
        if group is None:
            _fail(p, base, f"the base {_label(base)} has no subject group in Trideni/{mother}")
        if _first(p, group, "EvidencniUdaje", "Vyrazovani", "SkartacniRezim") is None:
            _fail(p, group, f"the subject group holding {_label(base)} has no Vyrazovani/SkartacniRezim")

    yield from _each([b for b in p.base_entities if local(b) in ("Spis", "Dokument")], judge)


@check
def obs69(p: Pkg) -> Iterator[Hit]:
    """A base document has EvidencniUdaje/Vyrizeni."""
    missing = _needs_bases(p)
    if missing:
        yield missing
        return
    for base in p.base_entities:
        if local(base) == "Dokument" and _first(p, base, "EvidencniUdaje", "Vyrizeni") is None:
            yield p.hit(base, "the base document has no Vyrizeni (how and when it was settled)")


@check
def obs70(p: Pkg) -> Iterator[Hit]:
    """nsesss:Identifikator repeats only in a component's EvidencniUdaje/Identifikace."""
    idents = _identifiers(p)
    if not idents:
        yield _none_found(p)
    for ident in idents:
        parent = ident.getparent()
        if parent is None or len([c for c in parent if c.tag == ident.tag]) < 2:
            continue
        eu = parent.getparent() if p.is_n(parent, "Identifikace") else None
        owner = eu.getparent() if eu is not None and p.is_n(eu, "EvidencniUdaje") else None
        if owner is None or not p.is_n(owner, "Komponenta"):
            yield p.hit(ident, "nsesss:Identifikator repeats, which it may only in a component's Identifikace")


# --- dates in order -------------------------------------------------------------------------

def _read_sdf(p: Pkg, el: etree._Element, *, month_only: bool = False) -> date:
    found = sdf_date(text_content(el))
    if month_only and found is None:
        found = sdf_date(text_content(el), month_only=True)
    if found is None:
        _fail(p, el, f"nsesss:{local(el)} {text_content(el)!r} cannot be read as a date")
    return found


@check
def obs71(p: Pkg) -> Iterator[Hit]:
    """In every Manipulace, DatumOtevreni is not after DatumUzavreni (where both are given)."""
    def judge(m: etree._Element) -> None:
        opened, closed = _first(p, m, "DatumOtevreni"), _first(p, m, "DatumUzavreni")
        if opened is None or closed is None:
            return
        a, b = _read_sdf(p, opened), _read_sdf(p, closed)
        if b < a:
            _fail(p, m, f"DatumOtevreni {text_content(opened)} is after DatumUzavreni {text_content(closed)}")

    yield from _each(_all(p, "Manipulace"), judge)


def _has_datum(p: Pkg, tag: str) -> Iterator[Hit]:
    for el in _all(p, tag):
        if el.get("datum") is None:
            yield p.hit(el, f"nsesss:{tag} has no attribute datum (the machine-readable time)", "datum")


@check
def obs72(p: Pkg) -> Iterator[Hit]:
    """Every nsesss:CasPouziti has the attribute datum (its presence is what zaf checks)."""
    yield from _has_datum(p, "CasPouziti")


@check
def obs73(p: Pkg) -> Iterator[Hit]:
    """Every nsesss:CasOvereni has the attribute datum."""
    yield from _has_datum(p, "CasOvereni")


@check
def obs74(p: Pkg) -> Iterator[Hit]:
    """Every nsesss:PosuzovanyOkamzik has the attribute datum."""
    yield from _has_datum(p, "PosuzovanyOkamzik")


@check
def obs75(p: Pkg) -> Iterator[Hit]:
    """Every Platnost gives PlatnostOd and PlatnostDo, PlatnostOd not after PlatnostDo."""
    def judge(el: etree._Element) -> None:
        od, do = _need(p, el, "PlatnostOd"), _need(p, el, "PlatnostDo")
        end = sdf_date(text_content(do))
        if end is None:
            return  # zaf compares only when PlatnostDo can be read
        if end < _read_sdf(p, od):
            _fail(p, el, f"PlatnostOd {text_content(od)} is after PlatnostDo {text_content(do)}")

    yield from _each(_all(p, "Platnost"), judge)


# --- analogue records ---------------------------------------------------------------------------

@check
def obs76(p: Pkg) -> Iterator[Hit]:
    """Analogue documents are not held by a digital base entity. zaf's code: a base part or
    file saying AnalogovyDokument 'ne' fails when any document in the package says 'ano';
    an analogue base document fails when a subject group it is filed in says 'ne'. Other
    parents (subject groups of a file, a file inside a part) are not compared."""
    missing = _needs_bases(p)
    if missing:
        yield missing
        return

    def judge(base: etree._Element) -> None:
        own = _analog_value(p, base)
        if local(base) in ("Dil", "Spis"):
            docs = _documents(p)
            if not docs:
                _fail(p, base, "the package holds no nsesss:Dokument")
            for doc in docs:
                if _analog_value(p, doc) == "ano" and own == "ne":
                    _fail(p, base, f"the base {_label(base)} says AnalogovyDokument 'ne' but {_label(doc)} is "
                                   "analogue")
        elif own == "ano":
            groups = list(base.iter(p.n("VecnaSkupina")))
            if not groups:
                _fail(p, base, f"the analogue base {_label(base)} is filed in no subject group")
            for group in groups:
                if _analog_value(p, group) == "ne":
                    _fail(p, group, f"the subject group holding the analogue {_label(base)} says AnalogovyDokument "
                                    "'ne'")

    yield from _each(p.base_entities, judge)


@check
def obs77(p: Pkg) -> Iterator[Hit]:
    """An analogue base entity gives a non-empty Vyrazovani/SkartacniRizeni/Mnozstvi."""
    missing = _needs_bases(p)
    if missing:
        yield missing
        return
    for base in p.base_entities:
        analog = _first(p, base, "EvidencniUdaje", "Manipulace", "AnalogovyDokument")
        if analog is None or text_content(analog) != "ano":
            continue
        amount = _first(p, base, "EvidencniUdaje", "Vyrazovani", "SkartacniRizeni", "Mnozstvi")
        if amount is None or _blank(text_content(amount)):
            yield p.hit(base, "an analogue base entity must state the quantity in SkartacniRizeni/Mnozstvi")


@check
def obs78(p: Pkg) -> Iterator[Hit]:
    """Every base entity records the disposal procedure in EvidencniUdaje/Vyrazovani/
    SkartacniRizeni, and no SkartacniRizeni stands anywhere else."""
    missing = _needs_bases(p)
    if missing:
        yield missing
        return
    rest = set(_all(p, "SkartacniRizeni"))
    for base in p.base_entities:
        found = _first(p, base, "EvidencniUdaje", "Vyrazovani", "SkartacniRizeni")
        if found is None:
            yield p.hit(base, "the disposal procedure (Vyrazovani/SkartacniRizeni) is not recorded in the base "
                              f"{_label(base)}")
        else:
            rest.discard(found)
    for el in sorted(rest, key=lambda e: e.sourceline or 0):
        yield p.hit(el, "SkartacniRizeni belongs only in the base entity's Vyrazovani")


def _procedures(p: Pkg) -> tuple[list[etree._Element], Hit | None]:
    found = _all(p, "SkartacniRizeni")
    return found, None if found else p.hit(p.xml_data, "the package records no disposal procedure "
                                                       "(nsesss:SkartacniRizeni)")


@check
def obs79(p: Pkg) -> Iterator[Hit]:
    """The year of every SkartacniRizeni/Datum is not before the RokSkartacniOperace of the
    DataceVyrazeni beside it (a package without any SkartacniRizeni fails)."""
    procedures, missing = _procedures(p)
    if missing:
        yield missing

    def judge(el: etree._Element) -> None:
        parent = el.getparent()
        datace = _first(p, parent, "DataceVyrazeni")
        if datace is None:
            _fail(p, el, "nsesss:SkartacniRizeni has no DataceVyrazeni beside it")
        due = _year_prefix(p, _need(p, datace, "RokSkartacniOperace"), strict=True)
        held = _year_prefix(p, _need(p, el, "Datum"), strict=True)
        if not held >= due:
            _fail(p, el, f"the disposal procedure of {held} is held before the year of the disposal operation {due}")

    yield from _each(procedures, judge)


@check
def obs80(p: Pkg) -> Iterator[Hit]:
    """No SkartacniRizeni/Datum lies in a year after the current one (a package without any
    SkartacniRizeni fails)."""
    procedures, missing = _procedures(p)
    if missing:
        yield missing

    def judge(el: etree._Element) -> None:
        datum = _need(p, el, "Datum")
        if not _year_prefix(p, datum, strict=True) <= p.as_of.year:
            _fail(p, datum, f"the disposal procedure is dated {text_content(datum)}, a year still to come")

    yield from _each(procedures, judge)


def _period(p: Pkg, first: str, second: str, read: Callable[[etree._Element], object]) -> Iterator[Hit]:
    def judge(el: etree._Element) -> None:
        end = _first(p, el, second)
        if end is None:
            return
        start = _need(p, el, first)
        a, b = read(start), read(end)
        if not a < b:  # type: ignore[operator]
            _fail(p, el, f"{second} {text_content(end)} is not after {first} {text_content(start)}")

    yield from _each(_all(p, "UrceneCasoveObdobi"), judge)


@check
def obs81(p: Pkg) -> Iterator[Hit]:
    """In UrceneCasoveObdobi with DatumDo, DatumOd is given and DatumDo is after it."""
    yield from _period(p, "DatumOd", "DatumDo", lambda el: _read_sdf(p, el))


@check
def obs82(p: Pkg) -> Iterator[Hit]:
    """In UrceneCasoveObdobi with MesicDo, MesicOd is given and MesicDo is after it."""
    yield from _period(p, "MesicOd", "MesicDo", lambda el: _read_sdf(p, el, month_only=True))


@check
def obs83(p: Pkg) -> Iterator[Hit]:
    """In UrceneCasoveObdobi with RokDo, RokOd is given and RokDo is after it."""
    yield from _period(p, "RokOd", "RokDo", lambda el: _year_prefix(p, el, strict=True))


@check
def obs84(p: Pkg) -> Iterator[Hit]:
    """A Vyrizeni whose Zpusob is 'jiný způsob' has a non-empty ObsahVyrizeni."""
    for v in _all(p, "Vyrizeni"):
        zpusob = _first(p, v, "Zpusob")
        if zpusob is None or text_content(zpusob) != OTHER_WAY:
            continue
        content = _first(p, v, "ObsahVyrizeni")
        if content is None or _blank(text_content(content)):
            yield p.hit(v, f"settled in another way ('{OTHER_WAY}') without ObsahVyrizeni (what was done)")


@check
def obs85(p: Pkg) -> Iterator[Hit]:
    """An analogue document gives a non-empty Manipulace/UkladaciJednotka (a package without
    documents fails)."""
    docs = _documents(p)
    if not docs:
        yield _no_documents(p)
    for doc in docs:
        analog = _first(p, doc, "EvidencniUdaje", "Manipulace", "AnalogovyDokument")
        if analog is None or text_content(analog) != "ano":
            continue
        unit = _first(p, analog.getparent(), "UkladaciJednotka")
        if unit is None or _blank(text_content(unit)):
            yield p.hit(doc, "an analogue document must state Manipulace/UkladaciJednotka (its storage unit)")


@check
def obs85a(p: Pkg) -> Iterator[Hit]:
    """An analogue part or file (any) gives a non-empty Manipulace/Umisteni."""
    for el in _all(p, "Spis") + _all(p, "Dil"):
        manipulace = _first(p, el, "EvidencniUdaje", "Manipulace")
        analog = _first(p, manipulace, "AnalogovyDokument")
        if analog is None or text_content(analog) != "ano":
            continue
        place = _first(p, manipulace, "Umisteni")
        if place is None or _blank(text_content(place)):
            yield p.hit(el, f"an analogue {_label(el)} must state Manipulace/Umisteni (where it is kept)")


@check
def obs86(p: Pkg) -> Iterator[Hit]:
    """v4: nsesss:MaterskeEntity stands only in EvidencniUdaje/Trideni of a base document.
    v3: a base document has EvidencniUdaje/Trideni/MaterskeEntity."""
    if p.version == 3:
        missing = _needs_bases(p)
        if missing:
            yield missing
            return
        for base in p.base_entities:
            if local(base) == "Dokument" and _first(p, base, "EvidencniUdaje", "Trideni", "MaterskeEntity") is None:
                yield p.hit(base, "the base document has no Trideni/MaterskeEntity (where it is filed)")
        return
    for el in _all(p, "MaterskeEntity"):
        trideni = el.getparent()
        eu = trideni.getparent() if trideni is not None and p.is_n(trideni, "Trideni") else None
        doc = eu.getparent() if eu is not None and p.is_n(eu, "EvidencniUdaje") else None
        if doc is None or not p.is_n(doc, "Dokument"):
            yield p.hit(el, "MaterskeEntity belongs only in the Trideni of a base document")
            continue
        up = doc.getparent()
        if up is None or up.tag != f"{{{METS}}}xmlData":
            yield p.hit(el, f"MaterskeEntity stands in {_label(doc)}, which is not a base document")


@check
def obs87(p: Pkg) -> Iterator[Hit]:
    """Vyrizeni gives DatumOdeslani and Prijemce together or neither."""
    for v in _all(p, "Vyrizeni"):
        sent, to = _first(p, v, "DatumOdeslani") is not None, _first(p, v, "Prijemce") is not None
        if sent != to:
            yield p.hit(v, "Vyrizeni gives " + ("DatumOdeslani without Prijemce" if sent else
                                                "Prijemce without DatumOdeslani"))


@check
def obs88(p: Pkg) -> Iterator[Hit]:
    """An analogue document sent out (Vyrizeni/DatumOdeslani) gives a non-empty
    Vyrizeni/OdeslaneMnozstvi (a package without documents fails)."""
    docs = _documents(p)
    if not docs:
        yield _no_documents(p)
    for doc in docs:
        eu = _first(p, doc, "EvidencniUdaje")
        analog = _first(p, eu, "Manipulace", "AnalogovyDokument")
        if analog is None or text_content(analog) != "ano" or _first(p, eu, "Vyrizeni", "DatumOdeslani") is None:
            continue
        amount = _first(p, eu, "Vyrizeni", "OdeslaneMnozstvi")
        if amount is None or _blank(text_content(amount)):
            yield p.hit(doc, "an analogue document sent out must state Vyrizeni/OdeslaneMnozstvi")


@check
def obs90(p: Pkg) -> Iterator[Hit]:
    """The subject group of every type file (Trideni/MaterskaEntita/VecnaSkupina) says
    UrcenoProTypoveSpisy 'ano', and a subject group saying 'ano' stands only as the mother
    of a type file."""
    def judge_type_file(ts: etree._Element) -> None:
        group = _first(p, ts, "EvidencniUdaje", "Trideni", "MaterskaEntita", "VecnaSkupina")
        if group is None:
            _fail(p, ts, f"the type file {_label(ts)} has no subject group in Trideni/MaterskaEntita")
        meant = _first(p, group, "EvidencniUdaje", "UrcenoProTypoveSpisy")
        if meant is None or text_content(meant) != "ano":
            _fail(p, group, f"the subject group holding the type file {_label(ts)} does not say "
                            "UrcenoProTypoveSpisy 'ano'")

    yield from _each(_all(p, "TypovySpis"), judge_type_file)
    for meant in _all(p, "UrcenoProTypoveSpisy"):
        if text_content(meant) != "ano":
            continue
        eu = meant.getparent()
        group = eu.getparent() if eu is not None and p.is_n(eu, "EvidencniUdaje") else None
        if group is None or not p.is_n(group, "VecnaSkupina"):
            continue
        node: etree._Element | None = group
        for name in ("MaterskaEntita", "Trideni", "EvidencniUdaje", "TypovySpis"):
            node = node.getparent() if node is not None else None
            if node is None or not p.is_n(node, name):
                yield p.hit(group, "a subject group meant for type files (UrcenoProTypoveSpisy 'ano') holds "
                                   "something that is not a type file")
                break


def ico_valid(value: str) -> bool:
    """v4 (zaf's ValidateIC): eight digits; the weighted sum (8 to 2) of the first seven
    gives the check digit: remainder 0 -> 1, 1 -> 0, else 11 - remainder."""
    if not re.fullmatch(r"[0-9]{8}", value):
        return False
    rest = sum(int(d) * w for d, w in zip(value[:7], range(8, 1, -1), strict=True)) % 11
    return int(value[7]) == (11 - rest) % 10


def ico_valid_v3(value: str) -> bool:
    """v3 (zaf's Pravidlo92.icoCounter): eight characters that parse as a number; with
    weights 8 to 1 over all eight, the remainder of 11 is 0 or 1, or the last digit is 11 -
    the remainder (laxer than the real check: some wrong numbers pass)."""
    if len(value) != 8 or not re.fullmatch(r"[+-]?\d+", value):
        return False

    def digit(c: str) -> int:
        return int(c) if c.isdigit() else -1  # Character.getNumericValue of a sign

    total = sum(w * digit(c) for w, c in zip(range(8, 0, -1), value, strict=True))
    rest = abs(total) % 11 * (1 if total >= 0 else -1)  # Java's remainder keeps the sign
    return rest in (0, 1) or digit(value[-1]) == 11 - rest


@check
def obs92(p: Pkg) -> Iterator[Hit]:
    """An nsesss:Identifikator whose zdroj is exactly 'IČ' or 'IČO' holds a valid company
    number (IČO). Only nsesss:Identifikator is checked, not IdentifikatorOrganizace; an
    Identifikator without zdroj fails, as does a package without any."""
    idents = _identifiers(p)
    if not idents:
        yield _none_found(p)
    valid = ico_valid if p.version == 4 else ico_valid_v3
    for ident in idents:
        zdroj = ident.get("zdroj")
        if zdroj is None:
            yield p.hit(ident, "nsesss:Identifikator has no zdroj", "zdroj")
        elif zdroj in ("IČ", "IČO") and not valid(text_content(ident)):
            yield p.hit(ident, f"{text_content(ident)!r} is not a valid IČO (eight digits with a mod-11 check digit)")
