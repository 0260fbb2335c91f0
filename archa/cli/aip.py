"""`archa aip list` and `archa aip show`."""

from __future__ import annotations

import click

from archa.cli.common import emit_json, json_option, open_repo, repo_option
from archa.units import human_bytes


@click.group("aip")
def aip() -> None:
    """List and inspect stored AIPs."""


@aip.command("list")
@repo_option
@json_option
def aip_list(repo_path: str | None, as_json: bool) -> None:
    """List every AIP with its head version, files and size.

    \b
    Example:
      archa aip list --repo archive --json
    """
    with open_repo(repo_path) as repo:
        rows = repo.catalog.aips()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no AIPs")
        return
    click.echo(f"{'AIP':<46} {'head':<4} {'files':>7} {'size':>10}  {'created':<20} label")
    for r in rows:
        click.echo(f"{r['id']:<46} {r['head']:<4} {r['files']:>7} {human_bytes(r['bytes']):>10}  "
                   f"{r['created'][:19]:<20} {r['label']}")


@aip.command("show")
@click.argument("aip_id")
@repo_option
@json_option
def aip_show(aip_id: str, repo_path: str | None, as_json: bool) -> None:
    """Show one AIP: versions, copies, files with formats and digests, and events.

    \b
    Example:
      archa aip show --repo archive urn:uuid:0f6c...
    """
    with open_repo(repo_path) as repo:
        cat = repo.catalog
        info = cat.aip(aip_id)
        versions = cat.versions(aip_id)
        files = cat.files(aip_id, info["head"])
        copies = cat.copies(aip_id)
        retention = cat.retention(aip_id)
        events = cat.events(aip_id)
        path = repo.hot.object_path(aip_id)
    if as_json:
        emit_json({"aip": info, "versions": versions, "copies": copies, "retention": retention, "files": files,
                   "events": events, "path": str(path)})
        return
    click.echo(f"AIP {info['id']}")
    click.echo(f"  label:   {info['label']}")
    if info["external_id"]:
        click.echo(f"  external id: {info['external_id']}")
    click.echo(f"  created: {info['created']}")
    click.echo(f"  object:  {path}")
    for v in versions:
        click.echo(f"  version {v['version']}: {v['files']} files, {human_bytes(v['bytes'])}, "
                   f"{v['digest_algorithm']}, {'stored' if v['stored'] else 'NOT stored'}, "
                   f"\"{v['message']}\"")
    for c in copies:
        click.echo(f"  copy {c['version']} at {c['location']}: {c['state']}")
    for r in retention:
        period = f", {r['period']} years from {r['trigger_year']}" if r["period"] is not None else ""
        declared = " (the year the package declares)" if r.get("until_declared") else ""
        click.echo(f"  retention: sign {r['sign']}{period}, ends {r['until_year']}{declared} "
                   f"({r['entity'] or 'the record'})")
        if r.get("disposal_date"):
            by = f", judged by {r['disposal_by']}" if r.get("disposal_by") else ""
            click.echo(f"  disposal procedure held {r['disposal_date']}: {r['disposal_operation']}{by}; "
                       "not due again")
    click.echo(f"files ({info['head']}):")
    for f in files:
        fmt = f"{f['puid']} {f['format_name']}".strip() if f["puid"] else f["role"]
        click.echo(f"  {f['logical_path']}")
        click.echo(f"      {f['size']} bytes  {f['digest'][:16]}…  {fmt}")
    click.echo("events:")
    for e in events:
        click.echo(f"  {e['time'][:19]}  {e['type']:<27} {e['outcome']:<8} {e['detail']}")
