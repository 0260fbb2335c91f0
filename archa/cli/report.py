"""`archa report`."""

from __future__ import annotations

from pathlib import Path

import click

from archa.cli.common import emit_json, json_option, open_repo, repo_option


@click.command("report")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--originator", metavar="ID", help="Only this originator's holdings.")
@click.option("--capacity", metavar="SIZE", help="The reserved capacity to draw against (e.g. 16TB).")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@repo_option
@json_option
def report_command(out: Path, originator: str | None, capacity: str | None, force: bool, repo_path: str | None,
                   as_json: bool) -> None:
    """Write the holdings as one self-contained HTML page with charts (inline SVG; nothing
    is fetched when it is opened): storage per originator and tier against quotas and the
    reserved capacity, growth, formats (unidentified and at risk, migrations done and
    failed), fixity (copies by their last audit: in time, never audited, overdue, failed;
    failures and repairs), retention falling due per year and sign, the disposal proposals,
    the legal holds in force (each with its id and reason), and at the top what needs a person (as `archa status` lists it; counted here too). Sizes
    are payload (the records' files as submitted), stored (one copy of every version) and
    bytes at the locations.

    \b
    Example:
      archa report --repo archive report.html --capacity 16TB
    """
    from archa.lifecycle.originators import parse_size
    from archa.preservation.report import ReportOptions, write_report

    size = parse_size(capacity) if capacity else None
    with open_repo(repo_path) as repo:
        written = write_report(repo, ReportOptions(out, originator, size, force))
    if as_json:
        emit_json({"report": str(written.path), "needs_person": written.needs_person})
        return
    click.echo(f"report written to {written.path}")
    n = len(written.needs_person)
    click.echo(f"needs a person: {n} {'thing' if n == 1 else 'things'}, listed at the top of the page "
               "(archa status says what to run)" if n else "needs a person: nothing")
