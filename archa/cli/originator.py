"""`archa originator add | list | show | quota`."""

from __future__ import annotations

import click

from archa.cli.common import emit_json, json_option, open_repo, repo_option
from archa.units import human_bytes


@click.group("originator")
def originator() -> None:
    """The originators (municipalities, organisations) whose records the repository keeps."""


@originator.command("add")
@click.argument("originator_id", metavar="ID")
@click.option("--name", required=True, help="The originator's name, as its packages give it.")
@click.option("--ico", default="", help="Its IČO (Czech company number), which NSESSS packages carry.")
@click.option("--seat", default="", help="Its seat (address), for the disposal SIPs.")
@click.option("--quota", default="", help="A storage quota for one copy of its records, e.g. 2TB.")
@repo_option
@json_option
def originator_add(originator_id: str, name: str, ico: str, seat: str, quota: str, repo_path: str | None,
                   as_json: bool) -> None:
    """Register an originator. Its SIPs are recognised by its IČO or name (bag-info
    Originator-Identifier, Source-Organization), or named with --originator at ingest.

    \b
    Example:
      archa originator add brtnice --name "Obec Brtnice" --ico 00285471 --quota 500GB
    """
    from archa.lifecycle.originators import Originator, add_originator, parse_size

    o = Originator(originator_id, name, ico, seat, parse_size(quota) if quota else None)
    with open_repo(repo_path) as repo:
        add_originator(repo, o)
    if as_json:
        emit_json(o.__dict__)
        return
    click.echo(f"Added originator {o.id}: {o.name}" + (f", IČO {o.ico}" if o.ico else "")
               + (f", quota {human_bytes(o.quota_bytes)}" if o.quota_bytes else ""))


@originator.command("list")
@repo_option
@json_option
def originator_list(repo_path: str | None, as_json: bool) -> None:
    """Every originator with its AIPs and the size of one copy of them against its quota.

    \b
    Example:
      archa originator list --repo archive
    """
    with open_repo(repo_path) as repo:
        rows = repo.catalog.originators(repo.hot_location)
    if as_json:
        emit_json(rows)
        return
    click.echo(f"{'id':<20} {'IČO':<9} {'AIPs':>6} {'size':>10} {'quota':>10}  name")
    for r in rows:
        click.echo(f"{r['id']:<20} {r['ico'] or '':<9} {r['aips']:>6} {human_bytes(r['bytes']):>10} "
                   f"{human_bytes(r['quota_bytes']) if r['quota_bytes'] else '-':>10}  {r['name']}")


@originator.command("show")
@click.argument("originator_id", metavar="ID")
@repo_option
@json_option
def originator_show(originator_id: str, repo_path: str | None, as_json: bool) -> None:
    """One originator: its data, its AIPs, what it uses of its quota, its holds.

    \b
    Example:
      archa originator show brtnice --repo archive
    """
    with open_repo(repo_path) as repo:
        cat = repo.catalog
        o = cat.originator(originator_id, repo.hot_location)
        aips = cat.aips(originator=originator_id)
        holds = [h for h in cat.lifecycle.holds() if h["originator_id"] == originator_id]
    if as_json:
        emit_json({"originator": o, "aips": aips, "holds": holds})
        return
    click.echo(f"originator {o['id']}: {o['name']}")
    for label, key in (("IČO", "ico"), ("seat", "seat"), ("registered", "created")):
        if o[key]:
            click.echo(f"  {label}: {o[key]}")
    quota = f" of {human_bytes(o['quota_bytes'])} ({100 * o['bytes'] / o['quota_bytes']:.1f} %)" \
        if o["quota_bytes"] else ""
    click.echo(f"  {o['aips']} active AIPs, {human_bytes(o['bytes'])}{quota}, {len(holds)} under hold")
    for a in aips:
        click.echo(f"  {a['id']}  {a['head']}  {a['state']:<11} {a['label']}")


@originator.command("quota")
@click.argument("originator_id", metavar="ID")
@click.argument("quota")
@repo_option
def originator_quota(originator_id: str, quota: str, repo_path: str | None) -> None:
    """Set an originator's storage quota (one copy of its active records); `none` lifts it.

    \b
    Example:
      archa originator quota brtnice 1TB --repo archive
    """
    from archa.lifecycle.originators import parse_size, set_quota

    value = None if quota.lower() == "none" else parse_size(quota)
    with open_repo(repo_path) as repo:
        set_quota(repo, originator_id, value)
    click.echo(f"originator {originator_id}: quota {human_bytes(value) if value else 'none'}")
