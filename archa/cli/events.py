"""`archa events` and `archa events verify`."""

from __future__ import annotations

from pathlib import Path

import click

from archa.cli.common import aip_id_of, emit_json, json_option, open_repo, repo_option


class _DefaultGroup(click.Group):
    """`archa events` lists; `archa events verify` checks the chain."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group("events", cls=_DefaultGroup)
def events() -> None:
    """The repository's event log (PREMIS events, hash-chained)."""


@events.command("list")
@click.option("--aip", "aip_id", help="Only this AIP's events.")
@click.option("--since", help="Only events at or after this date/time (ISO 8601, e.g. 2026-11-01).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--premis", is_flag=True, help="Print a PREMIS 3 document of the events.")
@repo_option
def events_list(aip_id: str | None, since: str | None, as_json: bool, premis: bool, repo_path: str | None) -> None:
    """List events, oldest first (also what plain `archa events` does).

    \b
    Example:
      archa events list --aip urn:uuid:0f6c... --since 2026-11-01 --premis
    """
    with open_repo(repo_path) as repo:
        rows = repo.catalog.iter_events(aip_id_of(repo, aip_id), since)  # streamed: millions of events, flat memory
        if as_json:
            emit_json(list(rows))
        elif premis:
            from archa.metadata.premis import events_document

            click.echo(events_document(list(rows), repo.config.repository_id).decode())
        else:
            for r in rows:
                where = f" {r['location']}" if r["location"] else ""
                click.echo(f"{r['time'][:19]}  {r['type']:<27} {r['outcome']:<8} "
                           f"{r['aip_id'] or r['transfer_id'] or ''}{where}  {r['detail']}")


@events.command("export")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(("premis", "jsonl")), default="premis", show_default=True)
@click.option("--aip", "aip_id", help="Only this AIP's events.")
@click.option("--since", help="Only events at or after this date/time (ISO 8601).")
@repo_option
@json_option
def events_export(out: Path, fmt: str, aip_id: str | None, since: str | None, repo_path: str | None,
                  as_json: bool) -> None:
    """Write the event log for an auditor to the new file OUT: a PREMIS 3 document, or JSON
    lines with every column (seq, prev_hash and hash too, so the chain can be re-checked
    with nothing but the file).

    \b
    Example:
      archa events export audit-2026.premis.xml --since 2026-01-01
      archa events export log.jsonl --format jsonl
    """
    from archa.repository.eventlog import export_events

    with open_repo(repo_path) as repo:
        n = export_events(repo, out, fmt, aip_id_of(repo, aip_id), since)
    if as_json:
        emit_json({"out": str(out.absolute()), "events": n})
        return
    click.echo(f"{n} events written to {out}")


@events.command("verify")
@repo_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def events_verify(ctx: click.Context, repo_path: str | None, as_json: bool) -> None:
    """Check the event log and the journal of the catalog-only tables against everything
    that witnesses them, and name every disagreement: the chain itself (an edited, deleted,
    inserted or reordered row); the copy of the log and journal every storage location
    holds (rows cut from the catalog, or edited and re-hashed there; a location holding less
    than the catalog recorded as written there: a deleted or truncated log; seals that do
    not verify with the seal key); the journal against the seals in the chain and the live
    tables (holds, originators, transfers, proposals and their items) against the journal
    replayed (a row changed behind the journal's back); the journal triggers themselves;
    and the newest AIP versions' PREMIS against the log (events cut everywhere at once).
    Exit status 1 when anything disagrees.

    \b
    Example:
      archa events verify --repo /srv/archive
    """
    from archa.repository.catalog.journal import journal_problems
    from archa.repository.eventlog import history_problems, verify_anchors

    with open_repo(repo_path) as repo:
        log = repo.catalog.log
        n = log.count()
        problems = log.verify_chain() + log.recorded_heads()
        anchored, behind = verify_anchors(repo)
        journal = journal_problems(repo.catalog)
        history = history_problems(repo)
    if as_json:
        emit_json({"events": n, "problems": [p.__dict__ for p in problems],
                   "storage": [p.__dict__ for p in anchored], "journal": journal, "history": history,
                   "not_yet_in_storage": behind})
    else:
        for p in problems:
            click.echo(f"BROKEN at event {p.seq} ({p.event_id}): {p.problem}")
        for a in anchored:
            click.echo(f"BROKEN at event {a.seq}: {a.problem}" if a.seq else f"BROKEN: {a.problem}")
        for line in journal:
            click.echo(f"BROKEN journal: {line}")
        for line in history:
            click.echo(f"BROKEN history: {line}")
        for loc, k in sorted(behind.items()):
            click.echo(f"note: {loc} does not hold the newest {k} events yet (the next writing command writes them)")
        bad = problems or anchored or journal or history
        click.echo(f"{n} events, chain {'intact' if not bad else 'BROKEN'}"
                   + ("" if bad else f", matching the log in {len(repo.config.locations)} storage locations; "
                                     "journal, tables and triggers agree"))
    if problems or anchored or journal or history:
        ctx.exit(1)
