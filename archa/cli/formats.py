"""`archa formats report` and `archa formats reidentify`."""

from __future__ import annotations

import click

from archa.cli.common import Progress, emit_json, json_option, open_repo, repo_option
from archa.preservation.formats import format_report, reidentify
from archa.preservation.identify import ENGINES
from archa.units import human_bytes


@click.group("formats")
def formats() -> None:
    """The repository's format profile and re-identification."""


@formats.command("report")
@repo_option
@json_option
def formats_report(repo_path: str | None, as_json: bool) -> None:
    """Files and bytes per format (PRONOM PUID) over every AIP, with the formats the
    policy marks at risk (formats.at_risk) and the files left unidentified.

    \b
    Example:
      archa formats report --repo archive
    """
    with open_repo(repo_path) as repo:
        rep = format_report(repo)
    if as_json:
        emit_json(rep.as_dict())
        return
    click.echo(f"{'PUID':<12} {'files':>8} {'size':>10}  format")
    for f in rep.formats:
        flag = "  AT RISK" if f.at_risk else ""
        via = f"  -> {f.pathway}" if f.pathway else ""
        click.echo(f"{f.puid:<12} {f.files:>8} {human_bytes(f.bytes):>10}  "
                   f"{f.format_name or '(not identified)'}{flag}{via}")
    click.echo(f"{rep.files} files, {human_bytes(rep.bytes)}; {rep.unidentified_files} unidentified, "
               f"{rep.at_risk_files} in formats at risk ({rep.at_risk_without_pathway} with no migration pathway)"
               if rep.at_risk_listed else
               f"{rep.files} files, {human_bytes(rep.bytes)}; {rep.unidentified_files} unidentified; the policy marks "
               "no format at risk (formats.at_risk)")
    click.echo(f"migration: {rep.with_pathway} files in formats a pathway takes (-> above), {rep.migrated} migrated "
               f"so far, {rep.migrations_failed} whose last migration failed; what is left: archa migrate --all "
               "--dry-run")


@formats.command("reidentify")
@repo_option
@json_option
@click.option("--engine", type=click.Choice(sorted(ENGINES)), help="Engine (default: the policy's).")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True, help="Workers.")
@click.pass_context
def formats_reidentify(ctx: click.Context, repo_path: str | None, as_json: bool, engine: str | None,
                       jobs: int) -> None:
    """Identify stored files again where the engine, engine version or signature version
    changed since they were identified. The catalog is updated and a PREMIS event recorded
    for each changed result; no AIP is rewritten.

    \b
    Example:
      archa formats reidentify --repo archive --engine siegfried
    """
    ctx.meta["archa.json"] = as_json
    with open_repo(repo_path) as repo:
        progress = Progress(enabled=None if not as_json else False)
        try:
            res = reidentify(repo, engine, jobs, progress=progress)
        finally:
            progress.close()
    if as_json:
        emit_json(res.as_dict())
        return
    click.echo(f"engine: {res.engine} {res.engine_version} ({res.signature_version})")
    for c in res.changed:
        click.echo(f"  {c['aip_id']} {c['version']} {c['path']}: {c['old'] or '(none)'} -> {c['new']}")
    click.echo(f"{res.checked} files checked, {len(res.changed)} changed")
