"""`archa access set | show`."""

from __future__ import annotations

import click

from archa.cli.common import aip_id_of, emit_json, json_option, open_repo, repo_option
from archa.errors import printable

_FROM = {"package": "as its package states", "policy": "the policy's default for its kind of record",
         "set": "set by an archivist"}


@click.group("access")
def access() -> None:
    """Access conditions: who may see a record (public, or restricted with a reason, perhaps
    until a date)."""


@access.command("set")
@click.argument("aip_id", metavar="AIP")
@click.option("--public/--restricted", "public", default=None, help="Open the record to all, or restrict it.")
@click.option("--until", metavar="DATE", help="With --restricted: the last day of the embargo (YYYY-MM-DD); "
                                              "the record is public from the day after.")
@click.option("--reason", required=True, help="Why (the decision, the law, the producer's request).")
@repo_option
@json_option
def access_set(aip_id: str, public: bool | None, until: str | None, reason: str, repo_path: str | None,
               as_json: bool) -> None:
    """Set the access conditions of a record: --public, or --restricted (with --until DATE
    an embargo that ends after that day). The change is a `policy assignment` event in the
    event log (with who made it), and `dip export --audience public` follows it from then
    on. Exit status 2 for a missing --public/--restricted or --reason, --until with
    --public, a date in the past, or an unknown or destroyed record.

    AIP: the AIP's id, its UUID or 8 or more characters of it, its External-Identifier or an
    entity id its records carry.

    \b
    Example:
      archa access set urn:uuid:0f6c... --public --reason "released by decision 2026/14"
      archa access set KUJI-OD-2025-0117 --restricted --until 2036-12-31 --reason "personal data"
    """
    from archa.lifecycle.access import set_access

    if public is None:
        raise click.UsageError("say --public or --restricted")
    with open_repo(repo_path) as repo:
        whole = aip_id_of(repo, aip_id)
        state = set_access(repo, whole, public, reason, until)
    if as_json:
        emit_json({"aip_id": whole, "status": state.status, "reason": state.reason, "until": state.until,
                   "source": state.source, "shown": state.describe()})
        return
    click.echo(f"{whole}: {printable(state.describe())}")


@access.command("show")
@click.argument("aip_id", metavar="AIP")
@repo_option
@json_option
def access_show(aip_id: str, repo_path: str | None, as_json: bool) -> None:
    """Show the access conditions of a record: its status today (public, restricted,
    embargoed until DATE, or public after an embargo that has ended), the reason, the end
    date, where they come from (the package, the policy's default, an archivist), and their
    history from the event log (when, who, what).

    \b
    Example:
      archa access show urn:uuid:0f6c...
      archa access show KUJI-OD-2025-0117 --json
    """
    from archa.lifecycle.access import access_report

    with open_repo(repo_path) as repo:
        r = access_report(repo, aip_id_of(repo, aip_id))
    if as_json:
        emit_json(r.as_dict())
        return
    click.echo(f"{r.aip_id}: {printable(r.shown)}")
    click.echo(f"  public export: {'refused: ' + printable(r.refused) if r.refused else 'allowed'}")
    click.echo(f"  status:  {r.status}" + (f" until {r.until}" if r.until else "") + f" (today: {r.effective})")
    if r.reason:
        click.echo(f"  reason:  {printable(r.reason)}")
    click.echo(f"  source:  {r.source} ({_FROM.get(r.source, r.source)})"
               + ("" if r.recorded else "; not recorded in the catalog: read from the stored version"))
    if r.history:
        click.echo("  history:")
        for h in r.history:
            until = f" until {h['until']}" if h["until"] else ""
            why = f": {printable(h['reason'])}" if h["reason"] else ""
            click.echo(f"    {h['time'][:19]}  {printable(h['agent'])}  {h['status']}{until} ({h['source']}){why}")
