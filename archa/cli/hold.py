"""`archa hold add | remove | list`."""

from __future__ import annotations

from typing import Any

import click

from archa.cli.common import aip_id_of, emit_json, json_option, open_repo, repo_option


@click.group("hold")
def hold() -> None:
    """Legal holds: AIPs that must not be destroyed or transferred away while they last."""


@hold.command("add")
@click.argument("aip_id", metavar="AIP")
@click.option("--reason", required=True, help="Why (a court case, an inspection, a request).")
@repo_option
@json_option
def hold_add(aip_id: str, reason: str, repo_path: str | None, as_json: bool) -> None:
    """Place a legal hold on an AIP: no disposal step destroys or transfers it away while
    the hold lasts, whatever a decision says. An AIP may be under several holds; each has
    its id (printed here, listed by `archa hold list`), by which it is released.

    AIP: the AIP's id, its UUID or 8 or more characters of it, its External-Identifier or an
    entity id its records carry.

    \b
    Example:
      archa hold add urn:uuid:0f6c... --reason "court case 12 C 34/2026"
      archa hold add KUJI-OD-2025-0117 --reason "inspection 2026/3"
    """
    from archa.lifecycle.holds import add_hold

    with open_repo(repo_path) as repo:
        row = add_hold(repo, aip_id_of(repo, aip_id), reason)
        held = len(repo.catalog.lifecycle.holds(row["aip_id"]))
    if as_json:
        emit_json(row)
        return
    others = f" ({held} holds in force on it now)" if held > 1 else ""
    click.echo(f"hold {row['id']} placed on {row['aip_id']}: {row['reason']}{others}")


@hold.command("remove")
@click.argument("which", metavar="HOLD_ID")
@click.option("--reason", required=True, help="Why it ends.")
@repo_option
@json_option
def hold_remove(which: str, reason: str, repo_path: str | None, as_json: bool) -> None:
    """Release one hold, by its id (`archa hold list` shows it; '3' or 'hold 3'); the AIP's
    other holds stay in force, and the history of each is kept. An AIP (as `hold add` takes
    it) under exactly one hold may be given instead; under several, the command lists them
    and releases none. Digits that are a hold id and also name another AIP (its
    External-Identifier) release nothing: give 'hold N' for the hold.

    \b
    Example:
      archa hold list
      archa hold remove 3 --reason "case closed"
    """
    from archa.lifecycle.holds import hold_to_release, remove_hold

    with open_repo(repo_path) as repo:
        row = remove_hold(repo, hold_to_release(repo.catalog, which), reason)
    if as_json:
        emit_json(row)
        return
    left = row["still_in_force"]
    click.echo(f"hold {row['id']} released on {row['aip_id']}: {row['release_reason']} (it was placed "
               f"{row['placed'][:10]} for {row['reason']!r})")
    if left:
        click.echo(f"{row['aip_id']} stays held: {len(left)} hold(s) in force ({', '.join(map(str, left))})")


@hold.command("list")
@click.option("--all", "everything", is_flag=True, help="Released holds too.")
@click.option("--originator", help="Only this originator's AIPs.")
@click.option("--aip", "aip_id", metavar="AIP", help="Only this AIP's holds.")
@repo_option
@json_option
@click.pass_context
def hold_list(ctx: click.Context, everything: bool, originator: str | None, aip_id: str | None,
              repo_path: str | None, as_json: bool) -> None:
    """The holds in force (with --all, released ones too), each with its id: the one
    `archa hold remove` takes. Where the holds table and the event log disagree (a hold row
    deleted or added in the catalog behind archa's back), a warning for each such AIP and
    exit status 1.

    \b
    Example:
      archa hold list --repo archive
      archa hold list --aip KUJI-OD-2025-0117 --all
    """
    from archa.lifecycle.holds import table_against_log

    with open_repo(repo_path) as repo:
        one = aip_id_of(repo, aip_id)
        rows = [h for h in repo.catalog.lifecycle.holds(one, active=not everything)
                if originator is None or h["originator_id"] == originator]
        disagree = {a: why for a, why in table_against_log(repo).items() if one is None or a == one}
    for a, why in sorted(disagree.items()):
        click.echo(f"warning: {a}: {why}: the catalog was changed behind archa's back; archa events verify names "
                   "what differs (archa disposal refuses the record until then)", err=True)
    if as_json:
        emit_json(rows)
    else:
        _print_holds(rows)
    if disagree:
        ctx.exit(1)


def _print_holds(rows: list[dict[str, Any]]) -> None:
    if not rows:
        click.echo("no holds")
    width = max((len(str(h["id"])) for h in rows), default=1)
    for h in rows:
        state = f"released {h['released'][:10]} by {h['released_by']}: {h['release_reason']}" if h["released"] \
            else "in force"
        click.echo(f"hold {h['id']:<{width}}  {h['aip_id']}  placed {h['placed'][:10]} by {h['placed_by']}: "
                   f"{h['reason']}  ({state})")
