"""`archa retention due`."""

from __future__ import annotations

from datetime import date

import click

from archa.cli.common import emit_json, json_option, open_repo, repo_option


@click.group("retention")
def retention() -> None:
    """Retention periods of records (sign A/S/V)."""


@retention.command("due")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d", "%Y"]), help="Date to judge by (default: today).")
@click.option("--originator", metavar="ID", help="Only this originator's records.")
@repo_option
@json_option
def retention_due(as_of: object, originator: str | None, repo_path: str | None, as_json: bool) -> None:
    """AIPs whose retention has ended by --as-of (its year is the year the retention ends or
    later), grouped by sign: A = offer to the archive, S = may be destroyed, V = review. The
    year is the one the ERMS package declared (RokSkartacniOperace) where it did, else
    trigger year + 1 + period. Records whose package records a disposal procedure already
    held are listed apart: they are not due again. Nothing here deletes anything.

    \b
    Example:
      archa retention due --repo archive --as-of 2036-01-01
    """
    from archa.repository.retention import SIGNS

    year = as_of.year if as_of is not None else date.today().year  # type: ignore[attr-defined]
    with open_repo(repo_path) as repo:
        if originator:
            repo.catalog.originator(originator, repo.hot_location)  # NotFoundError
        rows = repo.catalog.retention_due(year, originator)
        disposed = [r for r in repo.catalog.retention_disposed()
                    if originator is None or repo.catalog.aip(r["aip_id"]).get("originator_id") == originator]
    groups = {s: [r for r in rows if r["sign"] == s] for s in ("A", "S", "V")}
    if as_json:
        emit_json({"as_of_year": year, **{s: groups[s] for s in groups}, "disposed": disposed})
        return
    if not rows:
        click.echo(f"no retention has ended by {year}")
    for sign, members in groups.items():
        if not members:
            continue
        click.echo(f"{sign} ({SIGNS[sign]}): {len(members)}")
        for r in members:
            period = f"{r['period']} y" if r["period"] is not None else "-"
            declared = ", declared" if r.get("until_declared") else ""
            click.echo(f"  {r['aip_id']}  ended {r['until_year']}  ({period} from {r['trigger_year']}{declared})  "
                       f"{r['entity']}  {r['label']}")
    if disposed:
        click.echo(f"already through a disposal procedure (not due again): {len(disposed)}")
        for r in disposed:
            click.echo(f"  {r['aip_id']}  {r['disposal_date']} {r['disposal_operation']}  {r['entity']}  {r['label']}")
