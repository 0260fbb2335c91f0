"""Czech ERMS packages (NSESSS SIPs, v4 and v3): the national rule set (`rules.py`, one
module per level), the checker (`check.py`) and the transfer into a bag (`importer.py`)."""

from __future__ import annotations

from archa.metadata.nsesss import GENERATIONS

__all__ = ["GENERATIONS"]
