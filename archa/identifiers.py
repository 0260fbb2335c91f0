"""Identifiers of Czech public bodies that records carry."""

from __future__ import annotations

import re


def ico_valid(value: str) -> bool:
    """The Czech company number (IČO): eight digits, the last a weighted mod-11 check digit."""
    if not re.fullmatch(r"\d{8}", value):
        return False
    rest = sum(int(d) * w for d, w in zip(value[:7], range(8, 1, -1), strict=True)) % 11
    return int(value[7]) == (11 - rest) % 10
