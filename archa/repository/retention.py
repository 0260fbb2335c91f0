"""Retention of records (Czech "skartační režim"): sign, period, and the year it ends.

Sign A = keep permanently / offer to the archive, S = may be destroyed, V = decide at
review. The retention period runs from 1 January after the trigger year, so it ends in
trigger year + 1 + period, unless the filing system declared the year of the disposal
operation itself (NSESSS `RokSkartacniOperace`, or a fixed `RokVyrazeni`), which is then
the year used. A record that has been through a disposal procedure already (NSESSS
`SkartacniRizeni`) keeps that outcome and is not due again.

A transfer writes these bag-info fields, one group per record (an entity) of the package;
ingest records them in the catalog (table `retention`), and `archa retention due` lists
what has ended. Nothing in archa deletes anything because of them.

    Retention-Entity: Spis spis-1
    Retention-Sign: A
    Retention-Period: 10
    Retention-Trigger-Year: 2025
    Retention-Until: 2036
    Retention-Until-Declared: yes             (the year above is the package's own)
    Retention-Disposal-Date: 2037-03-15       (a disposal procedure already held)
    Retention-Disposal-Operation: trvalé uložení
    Retention-Disposal-By: Jana Nováková
    Retention-Entity-Identifier: KU-2025-0042 (the entity's id in the filing system, and
    Retention-Entity-Source: eSSL Krajský úřad  its source: what a disposal decision names)
    Retention-Entity-Title: Stížnost na opravu silnice
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archa.errors import Finding

SIGNS = {"A": "offer to the archive", "V": "review", "S": "may be destroyed"}
RANK = {"S": 0, "V": 1, "A": 2}  # a file's sign is the highest of its documents'
FIELDS = ("Retention-Entity", "Retention-Sign", "Retention-Period", "Retention-Trigger-Year", "Retention-Until",
          "Retention-Until-Declared", "Retention-Disposal-Date", "Retention-Disposal-Operation",
          "Retention-Disposal-By", "Retention-Entity-Identifier", "Retention-Entity-Source", "Retention-Entity-Title")
_LOWER = {f.lower() for f in FIELDS}


@dataclass(frozen=True)
class Retention:
    entity: str
    sign: str
    period: int | None
    trigger_year: int | None
    until: int | None  # the year the retention ends
    declared: bool = False  # `until` is the year the package declared, not computed
    disposal_date: str = ""  # a disposal procedure already held (ISO date), its outcome and who judged
    disposal_operation: str = ""
    disposal_by: str = ""
    entity_id: str = ""  # the entity's identifier in the filing system (NSESSS Identifikator) and its source
    entity_source: str = ""
    title: str = ""

    def row(self, aip_id: str) -> dict[str, Any]:
        return {"aip_id": aip_id, "entity": self.entity, "sign": self.sign, "period": self.period,
                "trigger_year": self.trigger_year, "until_year": self.until, "until_declared": int(self.declared),
                "disposal_date": self.disposal_date or None, "disposal_operation": self.disposal_operation or None,
                "disposal_by": self.disposal_by or None, "entity_id": self.entity_id or None,
                "entity_source": self.entity_source or None, "title": self.title or None}


def combine(entity: str, regimes: Sequence[Retention], declared: int | None = None) -> Retention | None:
    """One retention for an entity and everything in it: the highest sign (A > V > S) and
    the longest period; the trigger year of the entity's own regime (the first). It ends in
    `declared` when the package declares the year, else trigger year + 1 + period."""
    if not regimes:
        return None
    sign = max((r.sign for r in regimes), key=lambda s: RANK.get(s, -1))
    periods = [r.period for r in regimes if r.period is not None]
    own = regimes[0]
    period = max(periods) if periods else None
    if declared is not None:
        return Retention(entity, sign, period, own.trigger_year, declared, True)
    until = own.trigger_year + 1 + period if own.trigger_year is not None and period is not None else own.until
    return Retention(entity, sign, period, own.trigger_year, until, own.declared and until == own.until)


def to_bag_info(r: Retention) -> list[tuple[str, str]]:
    values = (r.entity, r.sign, r.period, r.trigger_year, r.until, "yes" if r.declared else "",
              r.disposal_date, r.disposal_operation, r.disposal_by, r.entity_id, r.entity_source, r.title)
    return [(k, str(v)) for k, v in zip(FIELDS, values, strict=True) if v is not None and v != ""]


def parse_bag_info(text: str) -> list[tuple[str, str]]:
    """`Label: value` pairs of a bag-info.txt (continuation lines, indented, are joined)."""
    pairs: list[tuple[str, str]] = []
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and pairs:
            pairs[-1] = (pairs[-1][0], f"{pairs[-1][1]} {line.strip()}")
        elif ":" in line:
            key, _sep, value = line.partition(":")
            pairs.append((key.strip(), value.strip()))
    return pairs


def _groups(info: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """The Retention-* fields in groups: a new group at each Retention-Entity, or when a
    field repeats within the current group."""
    groups: list[dict[str, str]] = []
    for k, v in info:
        key = k.lower()
        if key not in _LOWER:
            continue
        if not groups or key == "retention-entity" or key in groups[-1]:
            groups.append({})
        groups[-1][key] = v.strip()
    return groups


def _whole(got: dict[str, str], label: str, problems: list[Finding]) -> int | None:
    v = got.get(label.lower(), "")
    if not v:
        return None
    if not v.isdigit():
        problems.append(Finding("RET002", f"{label} {v!r} is not a whole number", "bag-info.txt"))
        return None
    return int(v)


def from_bag_info(info: Sequence[tuple[str, str]]) -> tuple[list[Retention], list[Finding]]:
    """Every retention stated in bag-info (one per record), and problems with them."""
    out: list[Retention] = []
    problems: list[Finding] = []
    for got in _groups(info):
        found: list[Finding] = []
        sign = got.get("retention-sign", "").upper()
        if sign not in SIGNS:
            found.append(Finding("RET001", f"Retention-Sign {sign!r} is not A, S or V", "bag-info.txt"))
        period, trigger, until = (_whole(got, label, found) for label in
                                  ("Retention-Period", "Retention-Trigger-Year", "Retention-Until"))
        if until is None and trigger is not None and period is not None:
            until = trigger + 1 + period
        if until is None and not found:
            found.append(Finding("RET003", "retention without an end: give Retention-Until, or "
                                           "Retention-Trigger-Year and Retention-Period", "bag-info.txt"))
        problems += found
        if not found:
            out.append(Retention(got.get("retention-entity", ""), sign, period, trigger, until,
                                 got.get("retention-until-declared", "").lower() == "yes",
                                 got.get("retention-disposal-date", ""), got.get("retention-disposal-operation", ""),
                                 got.get("retention-disposal-by", ""), got.get("retention-entity-identifier", ""),
                                 got.get("retention-entity-source", ""), got.get("retention-entity-title", "")))
    return (out, []) if not problems else ([], problems)
