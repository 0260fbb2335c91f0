"""`archa status`."""

from __future__ import annotations

import click

from archa.cli.common import emit_json, json_option, open_repo, repo_option
from archa.errors import EXIT_PROBLEMS
from archa.units import human_bytes


@click.command("status")
@repo_option
@json_option
@click.pass_context
def status_command(ctx: click.Context, repo_path: str | None, as_json: bool) -> None:
    """The repository on one screen: AIPs with their payload (the records' files as
    submitted) and stored bytes (one copy of every version), the bytes each location holds,
    copies healthy, damaged or missing, audits overdue or never run, retention due this year,
    holds, open disposal proposals, the last failures. Exit status 1 when something needs a
    person (for cron mail and monitoring), with what to run: rejected transfers nobody
    acknowledged, copies damaged, missing, never audited or overdue, copies on fewer disks or
    endpoints than the copies wanted, failed migrations, a drop-folder watcher (`archa
    ingest --watch-dir DIR --follow`) that died or waits on a full disk, and more
    (docs/cli.md). Each watcher's heartbeat, backlog and failures are shown too.

    \b
    Example:
      archa status --repo archive || mail -s "archa needs you" archivar@kraj-vysocina.cz
    """
    from archa.preservation.overview import overview

    with open_repo(repo_path) as repo:
        o = overview(repo)
        root = repo.root
    if as_json:
        emit_json(o.as_dict())
    else:
        click.echo(f"repository {root}" + (f" (node {o.node}, catalog shared)" if o.node else ""))
        click.echo(f"  AIPs: {o.aips}; payload {o.payload_files} files, {human_bytes(o.payload_bytes)} (as submitted); "
                   f"stored {human_bytes(o.stored_bytes)} (one copy of every version)"
                   + (f"; {o.removed} removed by disposal" if o.removed else ""))
        for s in o.locations:
            click.echo(f"  {s['name']:<10} {s['kind']:<6} {s['tier']:<5} {s['versions_held']:>7} versions "
                       f"{human_bytes(s['bytes']):>10} here  damaged {s['damaged']}, missing {s['missing']}")
        click.echo(f"  copies: {o.copies['ok']} ok, {o.copies['damaged']} damaged, {o.copies['missing']} missing; "
                   f"audits overdue {o.audits_overdue}, never audited {o.never_audited}")
        due = ", ".join(f"{n} {s}" for s, n in sorted(o.retention_due.items())) or "none"
        click.echo(f"  retention due this year: {due}; holds: {o.holds}; open disposal proposals: "
                   f"{o.proposals_open}")
        for domain, names in sorted(o.shared_domains.items() if o.failure_domains >= o.copies_wanted else ()):
            click.echo(f"  warning: {', '.join(names)} share one failure domain ({domain}): one failure loses "
                       "them all; put a copy on another disk or endpoint (policy placement.independent = true "
                       "then counts them as one)")
        if not o.seal_key:
            click.echo("  warning: no seal key: an event written into the catalog behind archa's back (a forged "
                       "\"legal hold released\", say) cannot be told from archa's own, and the next command makes "
                       "it history; name one in archa.toml (docs/design.md, \"Seal key\")")
        for w in o.watchers:
            click.echo(f"  watcher {w['drop']} on {w['host']} (pid {w['pid']}, {w['watching']}, {w['workers']} workers): "
                       f"{w['state'] if w['alive'] else 'DEAD (' + w['state'] + ')'}"
                       f"{' - ' + w['died'] if w.get('died') else ''}, heartbeat {w['age_seconds']:.0f} s ago; "
                       f"backlog {w['backlog']} ready, {w['arriving']} arriving, {w['in_hand']} in hand; "
                       f"{w['ingested']} ingested, {w['failures']} failed since {w['started'][:19]}")
        for f in o.last_failures:
            click.echo(f"  failure {f['time'][:19]} {f['type']}: {f['detail'][:100]}")
        if o.needs_person:
            click.echo("NEEDS A PERSON:")
            for line in o.needs_person:
                click.echo(f"  {line}")
        else:
            click.echo("all well")
    if o.needs_person:
        ctx.exit(EXIT_PROBLEMS)
