"""The descriptive metadata of an AIP version, for the catalog's search index.

`describe(info, read, paths)` reads what a version says of its record and returns a
`Description`: a kind, a title, an originator and a main date for result lists, every date
it knows, the values to index, each under one of `FIELDS`, and the access the package states.
The catalog calls it at ingest, at `aip update` and at `catalog rebuild`; it is a pure
function of the version's bag-info and files, so every node computes the same answer.

Sources, in the order their values are listed (each value once, whitespace normalised,
diacritics as written):

- the package's own metadata: the NSESSS `mets.xml` of an ERMS export (`<pkg>/mets.xml`
  directly under the payload, chosen when bag-info has `NSESSS-Version` or when the METS holds
  NSESSS metadata): every base entity and every record inside it (documents, files, parts,
  components), not the filing plan above them nor cross-references; or the main METS of an
  NDK package (`<package>/mets*.xml`, the folder named by
  `metadata/submission/ndk-structure.json`): its MODS records, title level first (the DC
  records beside them repeat them and are not read);
- the version's bag-info (`info`, as `archa.repository.retention.parse_bag_info` gives it);
- `metadata/descriptive/dc.xml`.

Only those files (and ndk-structure.json) are read, each at most once. A file that cannot be read, is larger
than `MAX_XML`, is not well-formed or declares a DOCTYPE is passed over: what the other
sources say is returned, and nothing raises.

Access: every statement found (NSESSS `Pristupnost`, MODS `accessCondition`, bag-info
`Access-Rights` and, when the package's METS could not be read, the `Access-Restriction`
lines the NSESSS transfer lifted from it, DC `rights`/`accessRights`) is public or
restricted; one restricted statement makes the record restricted (the reasons joined, the
end date the latest one when every restriction has one), only public ones make it public,
none gives None.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date as _date

from lxml import etree

from archa.identifiers import ico_valid
from archa.metadata.nsesss import METS, NSESSS
from archa.metadata.records import ORIGINAL
from archa.metadata.xmlsafe import UnsafeXml, parse_untrusted

__all__ = ["FIELDS", "MAX_XML", "Access", "Description", "describe", "iso_dates", "says_public", "until_date"]

FIELDS = ("title", "identifier", "sign", "ref", "originator", "author")
MAX_XML = 256 << 20  # a metadata file larger than this is not parsed

PAYLOAD = f"{ORIGINAL}/data/"
DC_XML = "metadata/descriptive/dc.xml"
NDK_STRUCTURE = "metadata/submission/ndk-structure.json"
NSESSS_NS = frozenset({*NSESSS.values(), "http://www.mvcr.cz/nsesss/v2"})
MODS = "http://www.loc.gov/mods/v3"
DC_NS = ("http://purl.org/dc/elements/1.1/", "http://purl.org/dc/terms/")


@dataclass(frozen=True)
class Access:
    status: str  # "public" | "restricted"
    reason: str = ""  # why restricted, as the package words it
    until: str = ""  # ISO date YYYY-MM-DD when the restriction ends ("" = no end date)


@dataclass(frozen=True)
class Description:
    kind: str  # "nsesss" | "ndk" | "bag"
    title: str  # for a result list ("" unknown)
    originator: str  # display name ("" unknown)
    date: str  # main date, ISO "YYYY-MM-DD", "YYYY-MM" or "YYYY" ("" unknown)
    dates: tuple[str, ...]  # every date known, ISO, sorted
    values: tuple[tuple[str, str], ...]  # (field in FIELDS, text), in document order, each once
    access: Access | None  # what the package states; None when it says nothing


# --- small pieces -----------------------------------------------------------------------------

def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _text(el: etree._Element | None) -> str:
    return _norm("".join(el.itertext())) if el is not None else ""


def _local(el: etree._Element) -> str:
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


# 2015-06-30 | 30. 6. 2015 | 2015-06 | 6.2015 | 2015
_DATE = re.compile(r"(?<!\d)(?:(\d{4})-(\d{2})-(\d{2})|(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})"
                   r"|(\d{4})-(\d{2})(?![\d-])|(\d{1,2})\.\s?(\d{4})|(\d{4}))(?!\d)")


def _matches(text: str, days_only: bool) -> list[tuple[int, str]]:
    out = []
    for m in _DATE.finditer(text):
        g: tuple[str | None, ...] = m.groups()
        y, mo, d = (g[0], g[1], g[2]) if g[0] else (g[5], g[4], g[3]) if g[5] else \
            (g[6], g[7], None) if g[6] else (g[9], g[8], None) if g[9] else (g[10], None, None)
        if y is None or (days_only and d is None) or not 1000 <= int(y) <= 2999:
            continue
        try:
            _date(int(y), int(mo or 1), int(d or 1))
        except ValueError:
            continue
        iso = f"{y}-{int(mo):02d}-{int(d):02d}" if mo and d else f"{y}-{int(mo):02d}" if mo else y
        out.append((m.start(), iso))
    return out


def iso_dates(text: str, *, days_only: bool = False) -> list[str]:
    """The dates in `text`, ISO, in the order written: `2015-06-30` (also of a dateTime),
    `30. 6. 2015`, `2015-06`, `6.2015`, `2015` (years 1000-2999; what is no real date is
    passed over). `days_only`: full dates only."""
    return [d for _at, d in _matches(text, days_only)]


_UNTIL = re.compile(r"\b(?:until|till|through|do|to|embargo|ends?|expires?|končí|konec)\W*$", re.IGNORECASE)


def until_date(text: str) -> str:
    """When a restriction worded `text` ends: the latest full date written after "until",
    "do", "embargo", "ends" (or the like), else the latest full date in it; "" for none."""
    found = _matches(text, True)
    named = [d for at, d in found if _UNTIL.search(text[:at])]
    return max(named or [d for _at, d in found], default="")


def _first_date(text: str) -> str:
    return next(iter(iso_dates(text)), "")


# --- access -----------------------------------------------------------------------------------

# phrases that say "no restriction", then words of a restriction, then words of openness
_OPEN = re.compile(r"bez\s+omezení|neomezen\w*|unrestricted|unlimited|open\s+access|volné\s+dílo|"
                   r"volně\s+(?:přístupn|dostupn)\w*|public\s+domain", re.IGNORECASE)
_CLOSED = re.compile(r"neveřejn|ne\s*veřejn|non-?public|\bnot\b|\bnení\b|private|restrict|embargo|omezen|"
                     r"utajen|vyhrazen|confidential|důvěrn|tajn|\bclosed\b|secret", re.IGNORECASE)
_PUBLIC = re.compile(r"\bpublic\b|veřejn|\bopen\b", re.IGNORECASE)


def says_public(text: str) -> bool:
    """Whether an access statement says the record is open to all ("public", "unrestricted",
    "volné dílo", "Dokument ke zveřejnění", "bez omezení"); anything that also names a
    restriction ("neveřejné", "not public", "embargo") or says neither is not."""
    t = _OPEN.sub(" public ", text)
    return not _CLOSED.search(t) and bool(_PUBLIC.search(t))


_RESTRICTED_WORD = re.compile(r"^\s*(?:restricted|neveřejn\w*|omezen\w*)\s*[:;,-]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class _Statement:
    public: bool
    reason: str = ""
    until: str = ""


def _statement(text: str, reason: str | None = None, dated: str | None = None) -> _Statement:
    """A statement from its words: public, or restricted for `reason` (default the text)
    until the date `dated` (default the text) names."""
    if says_public(text):
        return _Statement(True)
    return _Statement(False, _norm(reason if reason is not None else text), until_date(dated or text))


def _access(statements: Sequence[_Statement]) -> Access | None:
    if not statements:
        return None
    closed = [s for s in statements if not s.public]
    if not closed:
        return Access("public")
    reason = "; ".join(dict.fromkeys(s.reason for s in closed if s.reason))
    until = max(s.until for s in closed) if all(s.until for s in closed) else ""
    return Access("restricted", reason, until)


# --- what is gathered -------------------------------------------------------------------------

@dataclass
class _Found:
    values: dict[tuple[str, str], None] = field(default_factory=dict)  # insertion-ordered set
    dates: set[str] = field(default_factory=set)
    access: list[_Statement] = field(default_factory=list)
    title: str = ""
    originator: str = ""
    date: str = ""

    def add(self, name: str, text: str | None) -> None:
        t = _norm(text)
        if t:
            self.values.setdefault((name, t), None)

    def has(self, name: str) -> bool:
        return any(k == name for k, _v in self.values)


def _agents(root: etree._Element, f: _Found) -> None:
    """The METS header's ORGANIZATION agents: the originator."""
    for agent in root.iterfind(f"{{{METS}}}metsHdr/{{{METS}}}agent[@TYPE='ORGANIZATION']"):
        name = _text(agent.find(f"{{{METS}}}name"))
        f.add("originator", name)
        f.originator = f.originator or name


def _parse(read: Callable[[str], bytes | None], path: str) -> etree._Element | None:
    try:
        data = read(path)
    except OSError:
        data = None
    if data is None or len(data) > MAX_XML:
        return None
    try:
        return parse_untrusted(data)
    except (etree.LxmlError, UnsafeXml, ValueError, LookupError):
        return None


# --- NSESSS -----------------------------------------------------------------------------------

RECORDS = ("Dokument", "Spis", "Dil")
CONTAINERS = ("Dokumenty", "Spisy", "Komponenty")
PEOPLE = ("Autor", "Zpracovatel", "Odesilatel", "Adresat", "Prijemce")
PERSON_NAMES = ("NazevFyzickeOsoby", "NazevOrganizace")
# not the record's own description: the filing plan above it, cross-references, handling,
# notes, a disposal procedure, approvals, certificates, access (read on its own)
PRUNED = frozenset({"MaterskaEntita", "MaterskeEntity", "SpisovyPlan", "Souvislosti", "Pristupnost",
                    "Manipulace", "SkartacniRizeni", "DataceVyrazeni", "Schvalovani", "Konzultant",
                    "Poznamky", "JineUdaje", "Prevod", "TypDokumentu", "OdkazVyrizujiciDokument",
                    "OdkazVyrizovanyDokument"})
DATES = frozenset({"DatumVytvoreni", "DatumDoruceni", "DatumOdeslani", "Datum"})
# the main date of a base entity: when it was made (received), else when it was settled or closed
CREATED = ("Puvod/DatumVytvoreni", "Puvod/VlastniDokument/DatumVytvoreni",
           "Puvod/DorucenyDokument/DatumVytvoreni", "Puvod/DorucenyDokument/DatumDoruceni",
           "Vyrizeni/Datum", "VyrizeniUzavreni/Datum", "Uzavreni/Datum")
INTERNAL = ("Zpracovatel", "Autor", "Posuzovatel", "Schvalovatel", "Overovatel")


def _nsesss_ns(root: etree._Element) -> str:
    """The NSESSS namespace of a METS document's descriptive metadata, or ""."""
    if root.tag != f"{{{METS}}}mets":
        return ""
    for data in root.iterfind(f"{{{METS}}}dmdSec/{{{METS}}}mdWrap/{{{METS}}}xmlData"):
        for el in _children(data):
            ns = etree.QName(el).namespace or ""
            if ns in NSESSS_NS:
                return ns
    return ""


def _date_of(el: etree._Element) -> str:
    """An NSESSS tDatum: its xs:date, else the date of its `datum` dateTime attribute."""
    for text in (_text(el), el.get("datum") or ""):
        found = iso_dates(text[:10], days_only=True)
        if found:
            return found[0]
    return ""


class _Nsesss:
    def __init__(self, root: etree._Element, ns: str, found: _Found) -> None:
        self.root, self.ns, self.found = root, ns, found

    def q(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{p}" for p in path.split("/"))

    def bases(self) -> list[etree._Element]:
        return [el for data in self.root.iterfind(f"{{{METS}}}dmdSec/{{{METS}}}mdWrap/{{{METS}}}xmlData")
                for el in _children(data) if etree.QName(el).namespace == self.ns and _local(el) in RECORDS]

    def read(self) -> None:
        f = self.found
        bases = self.bases()
        for base in bases:
            self.entity(base)
        if bases:
            first = self.find(bases[0], "EvidencniUdaje/Popis/Nazev")
            title = _text(first)
            f.title = title + (f" (+{len(bases) - 1} more)" if title and len(bases) > 1 else "")
            ev = self.find(bases[0], "EvidencniUdaje")
            found = [d for path in CREATED if ev is not None and (el := self.find(ev, path)) is not None
                     and (d := _date_of(el))]
            f.date = found[0] if found else ""
        _agents(self.root, f)
        f.add("originator", self.ico(bases))
        for pr in self.root.iter(f"{{{self.ns}}}Pristupnost"):
            self.pristupnost(pr)

    def find(self, el: etree._Element, path: str) -> etree._Element | None:
        return el.find(self.q(path))

    def entity(self, el: etree._Element) -> None:
        """A record (and what it holds: documents, files, parts, components) in document order."""
        for child in _children(el):
            name = _local(child)
            if name == "EvidencniUdaje":
                self.walk(child, "")
            elif name in CONTAINERS:
                for inner in _children(child):
                    self.entity(inner)

    def walk(self, el: etree._Element, role: str) -> None:
        f, parent = self.found, _local(el)
        for child in _children(el):
            name = _local(child)
            if name in PRUNED:
                continue
            if name == "Identifikator" and parent == "Identifikace":
                f.add("identifier", _text(child))
            elif name == "Nazev" and parent == "Popis":
                f.add("title", _text(child))
            elif name in ("EvidencniCislo", "OdesilatelovoEvidencniCislo"):
                f.add("ref", _text(child))
            elif name in ("JednoduchySpisovyZnak", "PlneUrcenySpisovyZnak") and parent == "Trideni":
                f.add("sign", _text(child))
            elif name == "SkartacniRezim":
                sign = _text(self.find(child, "SkartacniZnak"))
                period = _text(self.find(child, "SkartacniLhuta"))
                if sign:
                    f.add("sign", f"{sign} {period}" if period else sign)
            elif name in PERSON_NAMES:
                if role:
                    f.add("author", _text(child))
            elif name in DATES:
                if d := _date_of(child):
                    f.dates.add(d)
            else:
                self.walk(child, name if name in PEOPLE else role)

    def ico(self, bases: list[etree._Element]) -> str:
        """The originator's IČO: that of the organisation of its own staff (internal subjects)."""
        for base in bases:
            for tag in INTERNAL:
                for subject in base.iter(f"{{{self.ns}}}{tag}"):
                    for org in subject.iter(f"{{{self.ns}}}IdentifikatorOrganizace"):
                        value = _text(org)
                        if (org.get("zdroj") or "").strip() in ("IČO", "IČ") and ico_valid(value):
                            return value
        return ""

    def pristupnost(self, pr: etree._Element) -> None:
        """Access (Pristupnost): each security category, and any other restriction as written."""
        for cat in pr.iterfind(self.q("BezpecnostniKategorie")):
            name, ident = _text(self.find(cat, "Nazev")), _text(self.find(cat, "Identifikator"))
            words = " ".join(filter(None, (name, _text(self.find(cat, "BezpecnostniStupen")))))
            reason = f"bezpečnostní kategorie {name}" + (f" ({ident})" if ident else "")
            more = " ".join(_text(self.find(cat, t)) for t in ("Komentar", "Oduvodneni"))
            self.found.access.append(_statement(f"{words} {more}", reason, words) if words else
                                     _Statement(False, reason, ""))
        other = _text(self.find(pr, "JineOmezeni"))
        if other:
            self.found.access.append(_statement(other))


# --- NDK: MODS in the main METS ---------------------------------------------------------------

TITLE_ORDER = {"TITLE": 0, "VOLUME": 1, "ISSUE": 2, "SUPPLEMENT": 3}
DATE_ORDER = {"ISSUE": 0, "VOLUME": 1, "TITLE": 2, "SUPPLEMENT": 3}
MODS_DATES = ("dateIssued", "dateCreated", "copyrightDate")
_LEVEL = re.compile(r"MODSMD_([A-Za-z]+)")


def _m(name: str) -> str:
    return f"{{{MODS}}}{name}"


def _mods_records(root: etree._Element) -> list[tuple[str, etree._Element]]:
    """(level, mods:mods) of every dmdSec, in document order; the level from the dmdSec ID
    (MODSMD_TITLE_0001 -> TITLE), "" when it names none."""
    out = []
    for dmd in root.iterfind(f"{{{METS}}}dmdSec"):
        m = _LEVEL.match(dmd.get("ID") or "")
        for mods in dmd.iter(_m("mods")):
            out.append(((m.group(1).upper() if m else ""), mods))
    return out


def _read_mods(root: etree._Element, f: _Found) -> None:
    records = _mods_records(root)
    by_title = sorted(records, key=lambda r: TITLE_ORDER.get(r[0], 4))
    for _level, mods in by_title:
        for child in _children(mods):
            name = _local(child)
            if name == "titleInfo":
                parts = {_local(p): _text(p) for p in _children(child)}
                f.add("title", " ".join(filter(None, (parts.get("nonSort"), parts.get("title")))))
                for key in ("subTitle", "partNumber", "partName"):
                    f.add("title", parts.get(key))
                if not f.title and parts.get("title") and not child.get("type"):
                    f.title = parts["title"]
            elif name == "name":
                pieces = [_text(p) for p in child.iterfind(_m("namePart"))
                         if p.get("type") not in ("date", "termsOfAddress")]
                f.add("author", ", ".join(filter(None, pieces)) or _text(child.find(_m("displayForm"))))
            elif name == "originInfo":
                for el in _children(child):
                    if _local(el) == "publisher":
                        f.add("author", _text(el))
                    elif _local(el) in MODS_DATES:
                        f.dates.update(iso_dates(_text(el)))
            elif name == "identifier":
                f.add("identifier", _text(child))
            elif name == "location":
                for shelf in child.iter(_m("shelfLocator")):
                    f.add("sign", _text(shelf))
            elif name == "accessCondition":
                said = _statement(_text(child)) if _text(child) else None
                licence = "use and reproduction" in (child.get("type") or "").lower()
                if said is not None and (said.public or not licence):
                    f.access.append(said)  # a licence of use (not an open one) restricts no access
    for _level, mods in sorted(records, key=lambda r: DATE_ORDER.get(r[0], 4)):
        for tag in MODS_DATES:
            for el in mods.iterfind(f"{_m('originInfo')}/{_m(tag)}"):
                if not f.date and (d := _first_date(_text(el))):
                    f.date = d
    _agents(root, f)
    if not f.title:
        f.title = _norm(root.get("LABEL"))


def _ndk_mets(read: Callable[[str], bytes | None], candidates: dict[str, list[str]],
              has_structure: bool) -> str:
    """The logical path of the main METS of an NDK package: `mets*.xml` directly in the folder
    ndk-structure.json names ("package"); without it, a folder holding one beside an info_*.xml."""
    if has_structure:
        try:
            data = read(NDK_STRUCTURE)
            structure = json.loads(data) if data is not None else None
        except (OSError, ValueError, RecursionError):
            structure = None
        package = structure.get("package") if isinstance(structure, dict) else None
        if isinstance(package, str) and package:
            files = sorted(n for n in candidates.get(package, []) if n.lower().startswith("mets"))
            files.sort(key=lambda n: not n.lower().startswith("mets_"))
            if files:
                return f"{PAYLOAD}{package}/{files[0]}"
    for folder, names in sorted(candidates.items()):
        mets = sorted(n for n in names if n.lower().startswith("mets_"))
        if mets and any(n.lower().startswith("info_") for n in names):
            return f"{PAYLOAD}{folder}/{mets[0]}"
    return ""


# --- bag-info and DC --------------------------------------------------------------------------

BAG_FIELDS = {"title": "title", "external-description": "title", "internal-sender-description": "title",
              "retention-entity-title": "title",
              "internal-sender-identifier": "identifier", "retention-entity-identifier": "identifier",
              "source-organization": "originator", "originator": "originator",
              "originator-identifier": "originator",
              "filing-code": "sign",
              "reference-number": "ref", "case-number": "ref", "cislo-jednaci": "ref"}
BAG_DATES = ("date-closed", "date", "bagging-date")
_SOURCE = re.compile(r"\s+\([^()]*\)$")


def _read_bag_info(info: Sequence[tuple[str, str]], f: _Found, package_read: bool) -> dict[str, str]:
    """Values, dates and access statements of bag-info; returns the first value of each label."""
    first: dict[str, str] = {}
    group: dict[str, str] = {}

    def retention() -> None:
        if group.get("retention-sign"):
            period = group.get("retention-period", "")
            f.add("sign", f"{group['retention-sign']} {period}" if period else group["retention-sign"])
        group.clear()

    for label, value in info:
        key, value = label.strip().lower(), _norm(value)
        if not value:
            continue
        first.setdefault(key, value)
        if key in BAG_FIELDS:
            f.add(BAG_FIELDS[key], value)
        elif key == "external-identifier":
            f.add("identifier", _SOURCE.sub("", value))
        elif key in BAG_DATES:
            f.dates.update(iso_dates(value))
        elif key == "access-rights":  # "restricted: personal data": the reason is what follows the word
            f.access.append(_statement(value, _RESTRICTED_WORD.sub("", value) or value))
        elif key == "access-restriction" and not package_read:
            f.access.append(_Statement(False, value, until_date(value)))
        if key.startswith("retention-"):
            if key == "retention-entity" or key in group:
                retention()
            group[key] = value
    retention()
    return first


def _read_dc(root: etree._Element, f: _Found) -> tuple[str, str]:
    """Values of a Dublin Core record (an identifier without a trailing " (source)"); returns
    its first title and first date."""
    titles, subjects, dates = [], [], []
    for el in root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace not in DC_NS:
            continue
        name, text = _local(el), _text(el)
        if not text:
            continue
        if name == "title":
            titles.append(text)
            f.add("title", text)
        elif name == "identifier":
            f.add("identifier", _SOURCE.sub("", text))
        elif name == "creator":
            f.add("author", text)
        elif name == "publisher":
            f.add("originator", text)  # archa's dc.xml: the bag's Source-Organization
        elif name in ("date", "created", "issued"):
            dates += iso_dates(text)
        elif name in ("rights", "accessRights"):  # worded as bag-info's Access-Rights, which it echoes
            f.access.append(_statement(text, _RESTRICTED_WORD.sub("", text) or text))
        elif name == "subject":
            subjects.append(text)
    if not f.has("title"):
        for s in subjects:
            f.add("title", s)
    f.dates.update(dates)
    return (titles[0] if titles else "", dates[0] if dates else "")


# --- the whole --------------------------------------------------------------------------------

def describe(info: Sequence[tuple[str, str]], read: Callable[[str], bytes | None],
             paths: Iterable[str]) -> Description:
    """The descriptive metadata of one AIP version (see the module docstring).

    `info`: the version's bag-info as (label, value) pairs; `read(logical path)`: a file's
    bytes, None when it cannot be read; `paths`: every logical path of the version (iterated
    once). Never raises for what the files hold."""
    nsesss_candidates: list[str] = []
    in_folders: dict[str, list[str]] = {}  # payload folder -> names of the files directly in it
    has_dc = has_structure = False
    for p in paths:
        if p == DC_XML:
            has_dc = True
        elif p == NDK_STRUCTURE:
            has_structure = True
        elif p.startswith(PAYLOAD):
            rest = p[len(PAYLOAD):].split("/")
            if rest == ["mets.xml"] or (len(rest) == 2 and rest[1] == "mets.xml"):
                nsesss_candidates.append(p)
            name = rest[-1].lower()
            if len(rest) == 2 and name.endswith(".xml") and name.startswith(("mets", "info_")):
                in_folders.setdefault(rest[0], []).append(rest[1])
    flagged = any(k.strip().lower() == "nsesss-version" and v.strip() for k, v in info)
    f = _Found()
    kind, package_read = "bag", False
    for path in sorted(nsesss_candidates, key=lambda p: p.count("/"), reverse=True)[:3]:
        root = _parse(read, path)
        ns = _nsesss_ns(root) if root is not None else ""
        if root is not None and ns:
            _Nsesss(root, ns, f).read()
            kind, package_read = "nsesss", True
            break
    if kind == "bag" and flagged:
        kind = "nsesss"
    if kind == "bag":
        main = _ndk_mets(read, in_folders, has_structure)
        root = _parse(read, main) if main else None
        if root is not None and root.tag == f"{{{METS}}}mets":
            _read_mods(root, f)
            package_read = True
        if has_structure or package_read:
            kind = "ndk"
    bag = _read_bag_info(info, f, package_read)
    dc_title = dc_date = ""
    if has_dc:
        root = _parse(read, DC_XML)
        if root is not None:
            dc_title, dc_date = _read_dc(root, f)
    stated = [bag.get(k, "") for k in ("title", "external-description", "internal-sender-description",
                                        "external-identifier")]
    if dc_title and any(stated) and _norm(dc_title) not in {_norm(t) for t in stated}:
        # the DC was replaced (`aip update --metadata`): its title is the record's now, not the bag's
        for k in ("title", "external-description", "internal-sender-description"):
            f.values.pop(("title", _norm(bag.get(k, ""))), None)
        f.values[("title", _norm(dc_title))] = None
        title = dc_title
    else:
        title = f.title or bag.get("title", "") or dc_title
    originator = bag.get("originator") or bag.get("source-organization") or f.originator
    bagged = set(iso_dates(bag.get("bagging-date", "")))
    if f.dates - bagged:  # the day a bag was made is no date of its record, unless nothing else is dated
        f.dates -= bagged
        dc_date = "" if dc_date in bagged else dc_date
    main_date = f.date or next((d for k in BAG_DATES if (d := _first_date(bag.get(k, ""))) and d not in bagged), "") \
        or dc_date or next(iter(sorted(bagged)), "")
    if main_date:
        f.dates.add(main_date)
    return Description(kind, title, originator, main_date, tuple(sorted(f.dates)), tuple(f.values),
                       _access(f.access))
