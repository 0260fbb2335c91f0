"""Retention of records (Czech "skartační režim"): sign, period, and the year it ends.

Sign A = keep permanently / offer to the archive, S = may be destroyed, V = decide at
review. The retention period runs from 1 January after the trigger year, so it ends in
trigger year + 1 + period. A transfer writes these bag-info fields; ingest records them in
the catalog (table `retention`), and `archa retention due` lists what has ended. Nothing
in archa deletes anything because of them.

    Retention-Entity: Dokument dok-1
    Retention-Sign: A
    Retention-Period: 10
    Retention-Trigger-Year: 2025
    Retention-Until: 2036
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archa.errors import Finding

SIGNS = {"A": "offer to the archive", "V": "review", "S": "may be destroyed"}
RANK = {"S": 0, "V": 1, "A": 2}  # a file's sign is the highest of its documents'
FIELDS = ("Retention-Entity", "Retention-Sign", "Retention-Period", "Retention-Trigger-Year", "Retention-Until")


@dataclass(frozen=True)
class Retention:
    entity: str
    sign: str
    period: int | None
    trigger_year: int | None
    until: int | None  # the year the retention ends

    def row(self, aip_id: str) -> dict[str, Any]:
        return {"aip_id": aip_id, "entity": self.entity, "sign": self.sign, "period": self.period,
                "trigger_year": self.trigger_year, "until_year": self.until}


def combine(entity: str, regimes: Sequence[Retention]) -> Retention | None:
    """One retention for an entity and everything in it: the highest sign (A > V > S) and
    the longest period; the trigger year of the entity's own regime (the first)."""
    if not regimes:
        return None
    sign = max((r.sign for r in regimes), key=lambda s: RANK.get(s, -1))
    periods = [r.period for r in regimes if r.period is not None]
    own = regimes[0]
    period = max(periods) if periods else None
    until = own.trigger_year + 1 + period if own.trigger_year is not None and period is not None else own.until
    return Retention(entity, sign, period, own.trigger_year, until)


def to_bag_info(r: Retention) -> list[tuple[str, str]]:
    values = (r.entity, r.sign, r.period, r.trigger_year, r.until)
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


def from_bag_info(info: Sequence[tuple[str, str]]) -> tuple[Retention | None, list[Finding]]:
    """The retention stated in bag-info (None when there is none), and problems with it."""
    got = {k.lower(): v.strip() for k, v in info if k.lower() in {f.lower() for f in FIELDS}}
    if not got:
        return None, []
    problems = []
    sign = got.get("retention-sign", "").upper()
    if sign not in SIGNS:
        problems.append(Finding("RET001", f"Retention-Sign {sign!r} is not A, S or V", "bag-info.txt"))

    def year_or_int(label: str) -> int | None:
        v = got.get(label.lower(), "")
        if not v:
            return None
        if not v.isdigit():
            problems.append(Finding("RET002", f"{label} {v!r} is not a whole number", "bag-info.txt"))
            return None
        return int(v)

    period = year_or_int("Retention-Period")
    trigger = year_or_int("Retention-Trigger-Year")
    until = year_or_int("Retention-Until")
    if until is None and trigger is not None and period is not None:
        until = trigger + 1 + period
    if until is None and not problems:
        problems.append(Finding("RET003", "retention without an end: give Retention-Until, or "
                                          "Retention-Trigger-Year and Retention-Period", "bag-info.txt"))
    if problems:
        return None, problems
    return Retention(got.get("retention-entity", ""), sign, period, trigger, until), []
