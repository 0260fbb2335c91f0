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
@repo_option
@json_option
def retention_due(as_of: object, repo_path: str | None, as_json: bool) -> None:
    """AIPs whose retention has ended by --as-of (its year is the year the retention ends or
    later), grouped by sign: A = offer to the archive, S = may be destroyed, V = review.
    Nothing here deletes anything.

    \b
    Example:
      archa retention due --repo archive --as-of 2036-01-01
    """
    from archa.repository.retention import SIGNS

    year = as_of.year if as_of is not None else date.today().year  # type: ignore[attr-defined]
    with open_repo(repo_path) as repo:
        rows = repo.catalog.retention_due(year)
    groups = {s: [r for r in rows if r["sign"] == s] for s in ("A", "S", "V")}
    if as_json:
        emit_json({"as_of_year": year, **{s: groups[s] for s in groups}})
        return
    if not rows:
        click.echo(f"no retention has ended by {year}")
        return
    for sign, members in groups.items():
        if not members:
            continue
        click.echo(f"{sign} ({SIGNS[sign]}): {len(members)}")
        for r in members:
            period = f"{r['period']} y" if r["period"] is not None else "-"
            click.echo(f"  {r['aip_id']}  ended {r['until_year']}  ({period} from {r['trigger_year']})  "
                       f"{r['entity']}  {r['label']}")
