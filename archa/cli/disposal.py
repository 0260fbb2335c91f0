"""`archa disposal propose | decide | transfer | confirm | destroy | list | show`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from archa.cli.common import emit_json, json_option, open_repo, repo_option
from archa.errors import EXIT_PROBLEMS


@click.group("disposal")
def disposal() -> None:
    """The disposal procedure (skartační řízení) with the state archive: propose the records
    that are due, record the archive's decision, hand over what it selects, destroy the rest.
    Every step is an event in the log and is safe to run again.
    """


@disposal.command("propose")
@click.option("--as-of", "year", type=click.IntRange(1900, 2999), required=True, metavar="YEAR",
              help="Records whose retention ends in or before YEAR.")
@click.option("--originator", metavar="ID", help="Only this originator's records.")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@repo_option
@json_option
@click.pass_context
def disposal_propose(ctx: click.Context, year: int, originator: str | None, out: Path, repo_path: str | None,
                     as_json: bool) -> None:
    """Propose every record due by YEAR that is under no hold and in no open proposal. OUT
    (new) gets proposal.csv, a printable proposal.html, proposal.json and one metadata-only
    NSESSS SIP per record (OUT/<name>/mets.xml, valid under skartace-metadata) to send to
    the archive. A record due only by a retention changed in the catalog (not what the AIP's
    stored bag-info states) is left out and named, exit status 1.

    \b
    Example:
      archa disposal propose --as-of 2026 --originator brtnice navrh-2026/
    """
    from archa.lifecycle.disposal import propose
    from archa.transfer.nsesss.check import sip_errors

    with open_repo(repo_path) as repo, repo.writing():
        result = propose(repo, year, out, originator, check=sip_errors)
    if as_json:
        emit_json(result.as_dict())
        if result.retention_changed:
            ctx.exit(1)
        return
    click.echo(f"proposal {result.proposal}: {len(result.items)} record(s), {len(result.sips)} SIP(s) in {result.out}")
    for i in result.items:
        click.echo(f"  {i['sign']} {i['due_year']}  {i['entity_id'] or i['aip_id']}  {i['title'] or ''}")
    for aip_id in result.held:
        click.echo(f"left out, under a hold: {aip_id}: {result.held_reasons.get(aip_id, 'archa hold list')}")
    for aip_id, why in sorted(result.retention_changed.items()):
        click.echo(f"left out, REFUSED: {aip_id}: {why} (archa catalog rebuild --check)")
    for aip_id, other in sorted(result.elsewhere.items()):
        click.echo(f"left out, already in proposal {other}: {aip_id}")
    if result.retention_changed:
        ctx.exit(1)  # a record left out because the catalog was changed behind archa's back


@disposal.command("decide")
@click.argument("proposal")
@click.option("--decision", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The archive's list (nsesss:Seznam, one Operace per entity).")
@click.option("--keep", multiple=True, metavar="ID",
              help="An AIP or entity id the archive selected (repeatable); every other record is destroyed.")
@click.option("--date", "when", type=click.DateTime(["%Y-%m-%d"]), help="The decision's date (default: today).")
@repo_option
@json_option
def disposal_decide(proposal: str, decision: Path | None, keep: tuple[str, ...], when: object,
                    repo_path: str | None, as_json: bool) -> None:
    """Record the archive's decision on a proposal: its list (validated against
    nsesss-DA.xsd, every entity matched to the proposal by Identifikator and zdroj), or
    --keep by hand. A list naming an entity the proposal lacks, or leaving one out, is
    refused and nothing is recorded.

    \b
    Example:
      archa disposal decide P2026-001 --decision rozhodnuti.xml
      archa disposal decide P2026-001 --keep UUID-123 --keep UUID-456
    """
    from archa.lifecycle.disposal import decide

    day = when.date() if when is not None else None  # type: ignore[attr-defined]
    with open_repo(repo_path) as repo, repo.writing():
        result = decide(repo, proposal, decision, keep, day)
    if as_json:
        emit_json(result.as_dict())
        return
    click.echo(f"decision recorded for {proposal}: "
               + ", ".join(f"{n} to {d}" for d, n in sorted(result.decisions.items())))


@disposal.command("transfer")
@click.argument("proposal")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--assessor", required=True, metavar="NAME", help="Who assessed the records (Posuzovatel).")
@click.option("--login", metavar="ID", help="The assessor's user id (default: the system user).")
@repo_option
@json_option
@click.pass_context
def disposal_transfer(ctx: click.Context, proposal: str, out: Path, assessor: str, login: str | None,
                      repo_path: str | None, as_json: bool) -> None:
    """Write a full NSESSS SIP for every record the archive selected (profile prejimka, the
    disposal procedure recorded in its metadata) or asked to see first (skartace-uplny):
    components byte for byte from a copy that verifies, each SIP checked against the
    national rule set before OUT (new) is put in place. The version and inventory digest
    handed over are recorded. A record under a hold, or no longer the version it was
    proposed as (at any location), is left out and named (exit status 1).

    \b
    Example:
      archa disposal transfer P2026-001 predani-2026/ --assessor "Jana Nováková"
    """
    import getpass

    from archa.lifecycle.disposal import transfer
    from archa.lifecycle.sips import Assessor
    from archa.transfer.nsesss.check import sip_errors

    with open_repo(repo_path) as repo, repo.writing():
        result = transfer(repo, proposal, out, Assessor(assessor, login or getpass.getuser()), check=sip_errors)
    if as_json:
        emit_json(result.as_dict())
    else:
        click.echo(f"{len(result.sips)} SIP(s) in {result.out}")
        for s in result.sips:
            click.echo(f"  {s['sip']}  ({s['profile']})  {s['aip_id']}")
        if result.without_package:
            click.echo(f"not ERMS packages (export them with archa dip export): {', '.join(result.without_package)}")
        _refusals(result.held, result.held_reasons, result.changed)
    if result.problems:
        ctx.exit(EXIT_PROBLEMS)


def _refusals(held: list[str], reasons: dict[str, str], changed: list[dict[str, Any]]) -> None:
    for h in held:
        click.echo(f"  {h}  HELD: skipped ({reasons.get(h, 'archa hold list')})")
    for c in changed:
        click.echo(f"  {c['aip_id']}  CHANGED since the decision: skipped: " + "; ".join(c["problems"]))


@disposal.command("confirm")
@click.argument("proposal")
@click.option("--confirmation", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True,
              help="The archive's list with its identifier (IdentifikatorDA) for every entity it took over.")
@repo_option
@json_option
def disposal_confirm(proposal: str, confirmation: Path, repo_path: str | None, as_json: bool) -> None:
    """Record that the archive took the transferred records over (its identifier kept with
    each); `archa disposal destroy` then removes them from the repository.

    \b
    Example:
      archa disposal confirm P2026-001 --confirmation potvrzeni.xml
    """
    from archa.lifecycle.disposal import confirm

    with open_repo(repo_path) as repo, repo.writing():
        result = confirm(repo, proposal, confirmation)
    if as_json:
        emit_json(result.as_dict())
        return
    for c in result.confirmed:
        click.echo(f"  {c['entity_id']} taken over as {c['da_id']}")
    if result.waiting:
        click.echo(f"not confirmed yet: {', '.join(result.waiting)}")


@disposal.command("destroy")
@click.argument("proposal")
@click.option("--yes", is_flag=True, help="Really remove them (without it: only say what would go).")
@repo_option
@json_option
@click.pass_context
def disposal_destroy(ctx: click.Context, proposal: str, yes: bool, repo_path: str | None, as_json: bool) -> None:
    """Remove every file of the records the decision lets go (to be destroyed, or taken over
    by the archive) from every storage location, leaving a tombstone with a certificate
    (certificate.html, tombstone.json, premis.xml). Held records are skipped and reported
    (exit status 1); so is a location that cannot be reached: run it again to finish. So is
    a record that is not what the archive decided on: another head than the version
    proposed (and handed over), or a location holding another version or inventory than
    the catalog records - nothing of it is removed anywhere. Without --yes nothing is
    changed.

    \b
    Example:
      archa disposal destroy P2026-001          # what would go
      archa disposal destroy P2026-001 --yes
    """
    from archa.lifecycle.destruction import destroy

    with open_repo(repo_path) as repo, repo.writing():
        result = destroy(repo, proposal, execute=yes)
    if as_json:
        emit_json(result.as_dict())
    else:
        verb = "would go" if result.dry_run else "removed"
        for d in result.destroyed:
            click.echo(f"  {d['aip_id']}  {verb} ({d['state']}): {', '.join(d['entities'])}")
        for d in result.incomplete:
            click.echo(f"  {d['aip_id']}  NOT finished, still at {', '.join(d['locations_left'])}: "
                       + "; ".join(d["problems"]))
        for w in result.waiting:
            click.echo(f"  {w['aip_id']}  kept for now: {w['reason']}")
        _refusals(result.held, result.held_reasons, result.changed)
        if result.dry_run:
            click.echo(f"{len(result.destroyed)} AIP(s) would go; nothing was changed (run with --yes)")
        else:
            click.echo(f"{len(result.destroyed)} AIP(s) removed, tombstones left"
                       + (f"; {len(result.incomplete)} unfinished: run again" if result.incomplete else ""))
    if result.problems:
        ctx.exit(EXIT_PROBLEMS)


@disposal.command("list")
@repo_option
@json_option
def disposal_list(repo_path: str | None, as_json: bool) -> None:
    """The disposal proposals with their state and number of records.

    \b
    Example:
      archa disposal list --repo archive
    """
    from archa.lifecycle import ledger

    with open_repo(repo_path) as repo:
        rows = ledger.proposals(repo.catalog)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no proposals")
    for p in rows:
        click.echo(f"{p['id']}  {p['state']:<11} {p['items']:>5} record(s)  due by {p['as_of_year']}"
                   f"{'  ' + p['originator_id'] if p['originator_id'] else ''}  {p['created'][:10]}  {p['out']}")


@disposal.command("show")
@click.argument("proposal")
@repo_option
@json_option
def disposal_show(proposal: str, repo_path: str | None, as_json: bool) -> None:
    """One proposal's records: decision, hand-over, the archive's id, removal.

    \b
    Example:
      archa disposal show P2026-001
    """
    from archa.lifecycle import ledger

    with open_repo(repo_path) as repo:
        p = ledger.proposal(repo.catalog, proposal)
        items = ledger.items(repo.catalog, proposal)
    if as_json:
        emit_json({"proposal": p, "items": items})
        return
    click.echo(f"proposal {p['id']} ({p['state']}), due by {p['as_of_year']}, made {p['created'][:19]}, OUT {p['out']}")
    for i in items:
        steps = [s for s in (f"proposed as {i['version']}" if i.get("version") else "",
                             f"withdrawn {i['withdrawn'][:10]} for a new version" if i.get("withdrawn") else
                             f"decided {i['decision']} {i['decided']}" if i["decision"] else "no decision",
                             f"transferred as {i['transfer_sip']}" if i["transferred"] else "",
                             f"taken over as {i['da_id']}" if i["confirmed"] else "",
                             f"removed {i['destroyed'][:10]}" if i["destroyed"] else "") if s]
        click.echo(f"  {i['sign']} {i['due_year']}  {i['entity_id'] or i['aip_id']}  {i['title'] or ''}")
        click.echo(f"      AIP {i['aip_id']} ({i['aip_state']}): {'; '.join(steps)}")

