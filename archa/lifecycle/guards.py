"""Guarded state checked against what storage holds before a record is let go.

The catalog keeps copies of what the AIPs themselves state (their retention, from the
bag-info stored in the AIP); someone with write access to the catalog file alone could make
a record due early by editing those rows. The disposal steps ask these functions first
(holds: `holds.hold_problems`, against the anchored event log)."""

from __future__ import annotations

from typing import Any

from archa.repository.repo import Repository

RETENTION_KEYS = ("sign", "period", "trigger_year", "until_year")


def retention_problem(repo: Repository, aip_id: str, version: str, rows: list[dict[str, Any]]) -> str:
    """Why the catalog's retention rows of an AIP are not what its stored bag-info states
    ('' when they are): the rows are the catalog's copy of what the AIP says, and someone
    with write access to the catalog could make a record due early by editing them."""
    from archa.repository.retention import from_bag_info, parse_bag_info

    row = repo.catalog.file(aip_id, version, "metadata/submission/bag-info.txt")
    if row is None:
        return "its bag-info is not in the catalog"
    try:
        text = (repo.hot.object_path(aip_id) / row["content_path"]).read_text("utf-8", "replace")
    except OSError as e:
        return f"its stored bag-info cannot be read ({e.strerror})"
    stated = {r.entity: r.row(aip_id) for r in from_bag_info(parse_bag_info(text))[0]}
    for r in rows:
        want = stated.get(r["entity"])
        if want is None:
            return f"the catalog has retention for {r['entity']!r}, which the AIP does not state"
        diff = [k for k in RETENTION_KEYS if r[k] != want[k]]
        if diff:
            return (f"the catalog's retention of {r['entity']!r} ({', '.join(f'{k} {r[k]}' for k in diff)}) is not "
                    f"what the AIP states ({', '.join(f'{k} {want[k]}' for k in diff)}): changed in the catalog")
    return ""
