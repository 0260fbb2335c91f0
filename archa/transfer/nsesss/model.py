"""One NSESSS package under check: its files, its parsed mets.xml, and the entity tree the
content rules walk (parents and children across the nesting NSESSS uses: a base entity
holds its documents, while its filing-plan ancestors sit inside its Trideni).
"""

from __future__ import annotations

import enum
import functools
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from lxml import etree

from archa.metadata.nsesss import METS, NSESSS  # names archa's own packages use too: below the transfer
from archa.transfer.nsesss.rules import Profile
from archa.transfer.nsesss.source import Source, inspect

if TYPE_CHECKING:
    from archa.preservation.identify import FormatResult

XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSESSS_V2 = "http://www.mvcr.cz/nsesss/v2"
TP = {4: "http://www.mvcr.cz/nsesss/2023/log", 3: "http://nsess.public.cz/erms_trans/v_01_01"}
TP_IDS = {4: TP[4], 3: "http://mvcr.cz/ess/v_1.0.0.0"}  # namespace of HodnotaID / ZdrojID
PREFIXES = {METS: "mets", XLINK: "xlink", **{v: "nsesss" for v in NSESSS.values()},
            **{v: "tp" for v in TP.values()}, TP_IDS[3]: "ess"}

# entity and object element -> the mets:div TYPE that stands for it in the structMap
DIV_TYPES = {"SpisovyPlan": "spisový plán", "VecnaSkupina": "věcná skupina", "TypovySpis": "typový spis",
             "Soucast": "součást", "Dil": "díl", "Spis": "spis", "Dokument": "dokument",
             "Komponenta": "komponenta"}
ENTITIES = tuple(t for t in DIV_TYPES if t != "Komponenta")
BASE_TYPES = ("Dil", "Spis", "Dokument")
SIGN_RANK = {"S": 0, "V": 1, "A": 2}
CONTAINERS = ("Dokumenty", "Spisy", "Komponenty")


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Hit:
    """What a rule found: where (see `Pkg.where`) and what, in words."""

    where: str
    message: str
    severity: Severity = Severity.ERROR


@dataclass
class ComponentFacts:
    """A component as read: its size, digests by hashlib name, and a path to read it again."""

    path: Path
    size: int
    digests: dict[str, str] = field(default_factory=dict)
    error: str = ""  # why it could not be read


def local(el: etree._Element) -> str:
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


@functools.cache
def _compiled(path: str, namespaces: tuple[tuple[str, str], ...]) -> etree.XPath:
    return etree.XPath(path, namespaces=dict(namespaces))


def norm(text: str | None) -> str:
    return " ".join((text or "").split())


def parse_date(text: str) -> date | None:
    """The date of an xs:date or xs:dateTime (its first ten characters), or None."""
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def year_of(text: str) -> int | None:
    """The year of an xs:gYear, xs:date or xs:dateTime, or None."""
    t = text.strip()
    return int(t[:4]) if len(t) >= 4 and t[:4].isdigit() else None


class Pkg:
    """The package under check. Levels fill it in order: the folder (level 1), the bytes
    of mets.xml (2), the parsed tree (3); the content rules read the tree through the
    helpers below, the component rules also `facts`."""

    def __init__(self, source: Path, version: int, profile: Profile, as_of: date) -> None:
        self.source = source
        self.source_info: Source = inspect(source)
        self.name = source.stem if source.is_file() else source.name
        self.version = version
        self.profile = profile
        self.as_of = as_of
        self.folder: Path | None = None
        self.mets_bytes: bytes | None = None
        self.root: etree._Element | None = None
        self.facts: dict[str, ComponentFacts] = {}  # by normalised href
        ns = NSESSS[version]
        self.N = {"m": METS, "n": ns, "tp": TP[version], "ti": TP_IDS[version], "x": XLINK}
        self._ns_key = tuple(sorted(self.N.items()))
        self.formats: dict[str, FormatResult] = {}  # identification of components, by href (level 7)
        self._n = f"{{{ns}}}"

    # --- names and places ----------------------------------------------------------------

    def n(self, name: str) -> str:
        """The Clark name of an nsesss element."""
        return self._n + name

    def m(self, name: str) -> str:
        return f"{{{METS}}}{name}"

    def xp(self, el: etree._Element, path: str) -> list[etree._Element]:
        return list(_compiled(path, self._ns_key)(el))

    def is_n(self, el: etree._Element, *names: str) -> bool:
        return isinstance(el.tag, str) and el.tag.startswith(self._n) and (not names or local(el) in names)

    def where(self, el: etree._Element | None, attr: str = "") -> str:
        """`mets.xml:LINE path` with the path from the nearest ancestor that has an ID."""
        if el is None:
            return "mets.xml"
        parts = []
        node: etree._Element | None = el
        while node is not None and isinstance(node.tag, str):
            q = etree.QName(node)
            step = f"{PREFIXES.get(q.namespace or '', '')}:{q.localname}".lstrip(":")
            if node.get("ID"):
                parts.append(f"{step}[@ID='{node.get('ID')}']")
                break
            parts.append(step)
            node = node.getparent()
        path = "/".join(reversed(parts)) + (f"/@{attr}" if attr else "")
        return f"mets.xml:{el.sourceline} {path}"

    def hit(self, el: etree._Element | None, message: str, attr: str = "",
            severity: Severity = Severity.ERROR) -> Hit:
        return Hit(self.where(el, attr), message, severity)

    # --- mets.xml -------------------------------------------------------------------------

    @property
    def tree(self) -> etree._Element:
        assert self.root is not None, "content rules run only on a parsed mets.xml"
        return self.root

    @cached_property
    def xml_data(self) -> etree._Element | None:
        found = self.xp(self.tree, "m:dmdSec[1]/m:mdWrap[1]/m:xmlData[1]")
        return found[0] if found else None

    @cached_property
    def base_entities(self) -> list[etree._Element]:
        """The entities directly in the dmdSec's xmlData (Dil, Spis, Dokument)."""
        if self.xml_data is None:
            return []
        return [e for e in self.xml_data if self.is_n(e, *BASE_TYPES)]

    @cached_property
    def entities(self) -> list[etree._Element]:
        """Every entity element (filing plan to document) in the dmdSec, in document order."""
        return [e for e in self._dmd_elements() if local(e) in ENTITIES]

    @cached_property
    def components(self) -> list[etree._Element]:
        return [e for e in self._dmd_elements() if local(e) == "Komponenta"]

    def _dmd_elements(self) -> Iterator[etree._Element]:
        for data in self.xp(self.tree, "m:dmdSec/m:mdWrap/m:xmlData"):
            yield from data.iter(self.n("*"))

    @cached_property
    def files(self) -> list[etree._Element]:
        return self.xp(self.tree, "m:fileSec//m:file")

    @cached_property
    def files_by_dmdid(self) -> dict[str, list[etree._Element]]:
        out: dict[str, list[etree._Element]] = {}
        for f in self.files:
            out.setdefault(f.get("DMDID", ""), []).append(f)
        return out

    def file_of(self, komponenta: etree._Element) -> etree._Element | None:
        found = self.files_by_dmdid.get(komponenta.get("ID", ""), [])
        return found[0] if found else None

    @cached_property
    def on_disk(self) -> dict[str, str]:
        """Files under komponenty/: NFC-normalised relative path -> the path as on disk."""
        comp = self.folder / "komponenty" if self.folder is not None else None
        if comp is None or not comp.is_dir():
            return {}
        assert self.folder is not None
        return {unicodedata.normalize("NFC", rel): rel for rel in
                (f.relative_to(self.folder).as_posix() for f in comp.rglob("*") if f.is_file())}

    def locate(self, loc: etree._Element) -> tuple[str, list[str]]:
        """The file an FLocat names (`komponenty/…`, spelled as on disk where it is found),
        and how its href had to be read: backslashes as '/', percent-encoding decoded, or
        another Unicode normalisation of the same name (NFD from macOS)."""
        raw = loc.get(f"{{{XLINK}}}href", "")
        href = raw.replace("\\", "/").removeprefix("./")
        notes = ["backslashes read as '/'"] if "\\" in raw else []
        actual = set(self.on_disk.values())
        if href in actual:
            return href, notes
        decoded = unquote(href)
        if decoded != href and decoded in actual:
            return decoded, [*notes, "percent-encoding decoded"]
        for candidate in (href, decoded):
            found = self.on_disk.get(unicodedata.normalize("NFC", candidate))
            if found is not None:
                return found, [*notes, "the name on disk is another Unicode normalisation of the same text"]
        return href, notes

    def mimetype_of(self, komponenta: etree._Element) -> str:
        f = self.file_of(komponenta)
        return (f.get("MIMETYPE") or "").strip().lower() if f is not None else ""

    # --- the entity tree --------------------------------------------------------------------

    def eu(self, el: etree._Element) -> etree._Element | None:
        return el.find(self.n("EvidencniUdaje"))

    def text(self, el: etree._Element | None, path: str) -> str:
        """Normalised text at `path` (nsesss names, '/' separated) below `el`, or ''."""
        if el is None:
            return ""
        found = el.find("/".join(self.n(p) for p in path.split("/")))
        return norm(found.text) if found is not None else ""

    def find(self, el: etree._Element | None, path: str) -> etree._Element | None:
        if el is None:
            return None
        return el.find("/".join(self.n(p) for p in path.split("/")))

    def ident(self, el: etree._Element) -> tuple[str, str] | None:
        """(Identifikator, zdroj) of an entity or component (its first identifier)."""
        found = el.find(self.n("Identifikator")) if local(el) == "SpisovyPlan" else \
            self.find(el, "EvidencniUdaje/Identifikace/Identifikator")
        return (norm(found.text), (found.get("zdroj") or "").strip()) if found is not None else None

    def idents(self, el: etree._Element) -> set[tuple[str, str]]:
        """Every (Identifikator, zdroj) of an entity or component."""
        if local(el) == "SpisovyPlan":
            found = el.findall(self.n("Identifikator"))
        else:
            ids = self.find(el, "EvidencniUdaje/Identifikace")
            found = ids.findall(self.n("Identifikator")) if ids is not None else []
        return {(norm(f.text), (f.get("zdroj") or "").strip()) for f in found}

    def parent(self, el: etree._Element) -> etree._Element | None:
        """The entity an entity or component belongs to: the one holding it (Dokumenty,
        Spisy, Komponenty), else the one its Trideni names (MaterskaEntita, SpisovyPlan)."""
        up = el.getparent()
        if up is not None and local(up) in CONTAINERS:
            return up.getparent()
        trideni = self.find(el, "EvidencniUdaje/Trideni")
        if trideni is None:
            return None
        for child in trideni:
            if self.is_n(child, "SpisovyPlan"):
                return child
            if self.is_n(child, "MaterskaEntita", "MaterskeEntity"):
                return next((c for c in child if self.is_n(c)), None)
        return None

    def children(self, el: etree._Element) -> list[etree._Element]:
        """The entities and components directly under `el` in this occurrence of it."""
        out = [c for box in el if self.is_n(box, *CONTAINERS) for c in box if self.is_n(c)]
        up = el.getparent()  # an ancestor sits in the Trideni (or its MaterskaEntita) of one child
        if up is not None and self.is_n(up, "MaterskaEntita", "MaterskeEntity"):
            up = up.getparent()
        if up is not None and self.is_n(up, "Trideni"):
            eu = up.getparent()
            child = eu.getparent() if eu is not None else None
            if child is not None and self.is_n(child):
                out.append(child)
        return out

    def descendants(self, el: etree._Element, *types: str) -> list[etree._Element]:
        """Entities held inside `el` (Dokumenty, Spisy, Komponenty, recursively) of `types`."""
        out = []
        for box in el:
            if self.is_n(box, *CONTAINERS):
                for c in box:
                    if self.is_n(c):
                        if not types or local(c) in types:
                            out.append(c)
                        out.extend(self.descendants(c, *types))
        return out

    def ancestors(self, el: etree._Element) -> list[etree._Element]:
        out: list[etree._Element] = []
        p = self.parent(el)
        while p is not None and len(out) < 64:
            out.append(p)
            p = self.parent(p)
        return out

    def analog(self, el: etree._Element) -> str:
        return self.text(el, "EvidencniUdaje/Manipulace/AnalogovyDokument")

    def closing_date(self, el: etree._Element) -> date | None:
        """When a document was settled, a file settled and closed, a part closed."""
        path = {"Dokument": "EvidencniUdaje/Vyrizeni/Datum", "Spis": "EvidencniUdaje/VyrizeniUzavreni/Datum",
                "Dil": "EvidencniUdaje/Uzavreni/Datum"}.get(local(el))
        return parse_date(self.text(el, path)) if path else None

    def sign(self, el: etree._Element) -> str:
        return self.text(el, "EvidencniUdaje/Vyrazovani/SkartacniRezim/SkartacniZnak")

    def filing(self, el: etree._Element) -> tuple[str, str]:
        """(JednoduchySpisovyZnak, PlneUrcenySpisovyZnak)."""
        return (self.text(el, "EvidencniUdaje/Trideni/JednoduchySpisovyZnak"),
                self.text(el, "EvidencniUdaje/Trideni/PlneUrcenySpisovyZnak"))

    def fixed_links(self) -> list[etree._Element]:
        """KrizovyOdkaz elements with pevny='ano' (fixed cross-references)."""
        return [k for k in self.tree.iter(self.n("KrizovyOdkaz")) if (k.get("pevny") or "").strip() == "ano"]

    def groups(self, komponenty: etree._Element) -> dict[int | None, list[etree._Element]]:
        """A Komponenty's components by their number (poradi), in document order."""
        out: dict[int | None, list[etree._Element]] = {}
        for k in komponenty.findall(self.n("Komponenta")):
            out.setdefault(as_int(k.get("poradi")), []).append(k)
        return out

    def settled_by(self, limit: date) -> bool:
        """Every base entity was settled or closed on or before `limit` (False if unknown)."""
        dates = [self.closing_date(b) for b in self.base_entities]
        return bool(dates) and all(d is not None and d <= limit for d in dates)


def as_int(text: str | None) -> int | None:
    t = (text or "").strip()
    return int(t) if t.isdigit() else None
