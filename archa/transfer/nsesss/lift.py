"""What archa takes from a checked NSESSS package into bag-info, Dublin Core and the
catalog: per base entity its identifiers, title, filing code, closing date and retention
(the year the package declares, else trigger year + 1 + the longest period; a disposal
procedure it records is kept with it), and the package's id, label and originator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lxml import etree

from archa.identifiers import ico_valid
from archa.metadata.nsesss import LABEL_REVIEW, LABEL_TRANSFER
from archa.repository.retention import Retention, combine, to_bag_info
from archa.transfer.nsesss.model import Pkg, as_int, local, norm, year_of
from archa.transfer.package import Check

PURPOSES = {LABEL_REVIEW: "disposal review", LABEL_TRANSFER: "transfer to an archive"}


@dataclass
class Entity:
    kind: str  # Dokument, Spis or Dil
    xml_id: str
    ids: list[tuple[str, str]]  # (source system, value)
    title: str
    filing_code: str
    closed: str
    retention: Retention | None = None
    access: list[str] = field(default_factory=list)  # restrictions of access (Pristupnost) in it


@dataclass
class NsesssPackage:
    generation: int
    name: str
    objid: str
    label: str
    originator: str
    originator_ico: str = ""
    entities: list[Entity] = field(default_factory=list)

    @property
    def first(self) -> Entity:
        return self.entities[0]

    @property
    def entity_type(self) -> str:
        return self.first.kind

    @property
    def title(self) -> str:
        return self.first.title

    @property
    def closed(self) -> str:
        return self.first.closed

    @property
    def retention(self) -> Retention | None:
        return self.first.retention

    @property
    def retentions(self) -> list[Retention]:
        return [e.retention for e in self.entities if e.retention is not None]


def _regime(p: Pkg, el: etree._Element, label: str, trigger: int | None = None) -> Retention | None:
    rezim = p.find(el, "EvidencniUdaje/Vyrazovani/SkartacniRezim")
    sign = p.text(rezim, "SkartacniZnak") if rezim is not None else ""
    if not sign:
        return None
    period = as_int(p.text(rezim, "SkartacniLhuta"))
    fixed = year_of(p.text(rezim, "RokVyrazeni"))
    until = fixed if fixed is not None else (trigger + 1 + period if trigger is not None and period is not None
                                             else None)
    return Retention(label, sign, period, trigger, until, fixed is not None)


def _retention(p: Pkg, base: etree._Element, label: str, closed: str, check: Check) -> Retention | None:
    where = p.where(base)
    datace = "EvidencniUdaje/Vyrazovani/DataceVyrazeni"
    declared = year_of(p.text(base, f"{datace}/RokSkartacniOperace"))
    trigger = year_of(p.text(base, f"{datace}/RokSpousteciUdalosti"))
    if trigger is None and declared is None and year_of(closed) is not None:
        trigger = year_of(closed)
        check.warn("NSSW03", f"{label}: no DataceVyrazeni; the year it was settled or closed ({trigger}) is taken "
                             "as the trigger year", where)
    own = _regime(p, base, label, trigger)
    if own is None:
        return None
    if declared is None and own.declared:
        declared = own.until  # a fixed RokVyrazeni
    inner = [r for d in p.descendants(base, "Spis", "Dokument") if (r := _regime(p, d, label)) is not None]
    combined = combine(label, [own, *inner], declared)
    if combined is None:
        return None
    computed = trigger + 1 + combined.period if trigger is not None and combined.period is not None else None
    if declared is not None and computed is not None and declared != computed and not own.declared:
        check.warn("NSSW04", f"{label}: the package declares the disposal operation in {declared}; trigger year "
                             f"+ 1 + the longest period gives {computed}; archa keeps the declared {declared}", where)
    ident = p.ident(base) or ("", "")
    combined = replace(combined, entity_id=ident[0], entity_source=ident[1],
                       title=p.text(base, "EvidencniUdaje/Popis/Nazev"))
    held = p.find(base, "EvidencniUdaje/Vyrazovani/SkartacniRizeni")
    if held is None:
        return combined
    who = p.text(held, "Posuzovatel/Subjekt/NazevFyzickeOsoby") or p.text(held, "Posuzovatel/Subjekt/NazevOrganizace")
    return replace(combined, disposal_date=p.text(held, "Datum")[:10],
                   disposal_operation=p.text(held, "SkartacniOperace"), disposal_by=who)


CLOSED = {"Dokument": "EvidencniUdaje/Vyrizeni/Datum", "Spis": "EvidencniUdaje/VyrizeniUzavreni/Datum",
          "Dil": "EvidencniUdaje/Uzavreni/Datum"}


def lift(p: Pkg, check: Check) -> NsesssPackage:
    """The metadata of a package that passed the content rules; notes go to `check`."""
    originator = norm(p.tree.findtext(f"{{{p.N['m']}}}metsHdr/{{{p.N['m']}}}agent[@TYPE='ORGANIZATION']/"
                                      f"{{{p.N['m']}}}name"))
    pkg = NsesssPackage(p.version, p.name, p.tree.get("OBJID", ""), p.tree.get("LABEL", ""), originator,
                        _originator_ico(p))
    for base in p.base_entities:
        kind = local(base)
        label = f"{kind} {base.get('ID', '')}"
        ids = p.find(base, "EvidencniUdaje/Identifikace")
        closed = p.text(base, CLOSED[kind])[:10]
        pkg.entities.append(Entity(
            kind, base.get("ID", ""),
            [((i.get("zdroj") or "").strip(), norm(i.text)) for i in (ids if ids is not None else [])
             if isinstance(i.tag, str)],
            p.text(base, "EvidencniUdaje/Popis/Nazev"), p.text(base, "EvidencniUdaje/Trideni/PlneUrcenySpisovyZnak"),
            closed, _retention(p, base, label, closed, check), _access(p, base)))
    return pkg


def _access(p: Pkg, base: Any) -> list[str]:
    """The access restrictions the entity and what it holds declare (Pristupnost): each
    security category by name and identifier, and any other restriction as written."""
    out = []
    for pr in base.iter(p.n("Pristupnost")):
        for cat in pr.iter(p.n("BezpecnostniKategorie")):
            name, ident = p.text(cat, "Nazev"), p.text(cat, "Identifikator")
            out.append(f"bezpečnostní kategorie {name}" + (f" ({ident})" if ident else ""))
        other = p.text(pr, "JineOmezeni")
        if other:
            out.append(other)
    return list(dict.fromkeys(out))


INTERNAL = ("Zpracovatel", "Autor", "Posuzovatel", "Schvalovatel", "Overovatel")


def _originator_ico(p: Pkg) -> str:
    """The originator's IČO: that of the organisation of its own staff (the internal subjects
    who settled, wrote or approved the records), where the package gives a valid one."""
    for base in p.base_entities:
        for tag in INTERNAL:
            for subject in base.iter(p.n(tag)):
                for org in subject.iter(p.n("IdentifikatorOrganizace")):
                    value = norm(org.text)
                    if (org.get("zdroj") or "").strip() in ("IČO", "IČ") and ico_valid(value):
                        return value
    return ""


def bag_info(pkg: NsesssPackage, meta: Sequence[tuple[str, str]], profile: str, checked: str) -> list[tuple[str, str]]:
    """bag-info of the transfer bag: the package's metadata, then the caller's `meta`."""
    purpose = PURPOSES.get(pkg.label, pkg.label)
    title = pkg.title + (f" (+{len(pkg.entities) - 1} more)" if len(pkg.entities) > 1 else "")
    info = [("Title", title or pkg.objid), ("Source-Organization", pkg.originator), ("Originator", pkg.originator),
            ("Originator-Identifier", pkg.originator_ico)]
    for e in pkg.entities:
        info += [("External-Identifier", f"{value} ({source})" if source else value) for source, value in e.ids]
    info += [("Internal-Sender-Identifier", pkg.objid)]
    info += [("External-Description", f"NSESSS v{pkg.generation} {e.kind} {e.xml_id}: {e.title}") for e in pkg.entities]
    info += [("Package-Purpose", f"{purpose} ({pkg.label})" if purpose != pkg.label else pkg.label),
             ("Filing-Code", pkg.first.filing_code), ("Date-Closed", pkg.closed),
             ("NSESSS-Version", str(pkg.generation)), ("NSESSS-Profile", profile), ("NSESSS-Checked", checked)]
    for r in pkg.retentions:
        info += to_bag_info(r)
    info += [("Access-Restriction", f"{e.kind} {e.xml_id}: {a}") for e in pkg.entities for a in e.access]
    given = {k.lower() for k, _v in meta}  # the caller's fields replace the lifted ones
    return [(k, v) for k, v in info if v and k.lower() not in given] + list(meta)
