"""Which pathway each format goes to: the policy's `[migration]` table over the pathways
(pathways.py). Used by `archa migrate` (lifecycle/migrate.py) and the format reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archa.errors import UsageError
from archa.policies.model import MigrationPolicy
from archa.preservation.pathways import PATHWAYS, tool_version

NONE = "none"  # a policy value: leave files of this format as they are


def pathway_table(policy: MigrationPolicy, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """PUID -> pathway name: the first enabled pathway that takes the format, then the
    policy's per-PUID choices, then `overrides` (`--pathway PUID=NAME`); "none" removes.
    UsageError naming an unknown pathway."""
    overrides = overrides or {}
    for name in (*policy.enabled, *policy.pathways.values(), *overrides.values()):
        if name != NONE and name not in PATHWAYS:
            raise UsageError(f"no migration pathway named {name!r}",
                             hint=f"use one of {', '.join(sorted(PATHWAYS))} (or \"none\"); "
                                  "see `archa migrate --list-pathways`")
    table: dict[str, str] = {}
    for name in policy.enabled:
        for puid in PATHWAYS[name].sources:
            table.setdefault(puid, name)
    for puid, name in (*policy.pathways.items(), *overrides.items()):
        if name == NONE:
            table.pop(puid, None)
        else:
            table[puid] = name
    return table


def list_pathways(policy: MigrationPolicy) -> list[dict[str, Any]]:
    """Every pathway: name, description, tool (its version, None when not installed), the
    PUIDs it may output and take, and the PUIDs the policy sends to it."""
    table = pathway_table(policy)
    return [{"name": p.name, "description": p.description, "tool": p.tool, "tool_version": tool_version(p.name),
             "targets": list(p.targets), "sources": list(p.sources),
             "enabled": sorted(puid for puid, n in table.items() if n == p.name)}
            for p in PATHWAYS.values()]
