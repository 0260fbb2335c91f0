"""Sizes for people: the one formatting of byte counts that commands and DIP pages share."""

from __future__ import annotations


def human_bytes(n: int | None) -> str:
    """`n` bytes as B, KiB, MiB, GiB or TiB with one decimal (whole bytes below 1 KiB)."""
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
