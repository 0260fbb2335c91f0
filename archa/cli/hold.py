"""`archa hold add | remove | list`."""

from __future__ import annotations

import click

from archa.cli.common import emit_json, json_option, open_repo, repo_option


@click.group("hold")
def hold() -> None:
    """Legal holds: AIPs that must not be destroyed or transferred away while they last."""


@hold.command("add")
@click.argument("aip_id")
@click.option("--reason", required=True, help="Why (a court case, an inspection, a request).")
@repo_option
@json_option
def hold_add(aip_id: str, reason: str, repo_path: str | None, as_json: bool) -> None:
    """Place a legal hold on an AIP: no disposal step destroys or transfers it away while
    the hold lasts, whatever a decision says.

    \b
    Example:
      archa hold add urn:uuid:0f6c... --reason "court case 12 C 34/2026"
    """
    from archa.lifecycle.holds import add_hold

    with open_repo(repo_path) as repo:
        row = add_hold(repo, aip_id, reason)
    if as_json:
        emit_json(row)
        return
    click.echo(f"hold placed on {aip_id}: {reason}")


@hold.command("remove")
@click.argument("aip_id")
@click.option("--reason", required=True, help="Why it ends.")
@repo_option
@json_option
def hold_remove(aip_id: str, reason: str, repo_path: str | None, as_json: bool) -> None:
    """Release the holds on an AIP (their history is kept).

    \b
    Example:
      archa hold remove urn:uuid:0f6c... --reason "case closed"
    """
    from archa.lifecycle.holds import remove_hold

    with open_repo(repo_path) as repo:
        rows = remove_hold(repo, aip_id, reason)
    if as_json:
        emit_json(rows)
        return
    click.echo(f"{len(rows)} hold(s) released on {aip_id}: {reason}")


@hold.command("list")
@click.option("--all", "everything", is_flag=True, help="Released holds too.")
@click.option("--originator", help="Only this originator's AIPs.")
@repo_option
@json_option
def hold_list(everything: bool, originator: str | None, repo_path: str | None, as_json: bool) -> None:
    """The holds in force (with --all, released ones too).

    \b
    Example:
      archa hold list --repo archive
    """
    with open_repo(repo_path) as repo:
        rows = [h for h in repo.catalog.lifecycle.holds(active=not everything)
                if originator is None or h["originator_id"] == originator]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no holds")
    for h in rows:
        state = f"released {h['released'][:10]} by {h['released_by']}: {h['release_reason']}" if h["released"] \
            else "in force"
        click.echo(f"{h['aip_id']}  placed {h['placed'][:10]} by {h['placed_by']}: {h['reason']}  ({state})")
