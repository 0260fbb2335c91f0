"""`archa migrate`: preservation copies in preservation formats, as verified new versions."""

from __future__ import annotations

from typing import Any

import click

from archa.cli.common import Progress, aip_id_of, emit_json, json_option, open_repo, repo_option


def _pathway_pairs(values: tuple[str, ...]) -> dict[str, str]:
    from archa.errors import UsageError

    out = {}
    for v in values:
        puid, sep, name = v.partition("=")
        if not sep or not puid.strip() or not name.strip():
            raise UsageError(f"--pathway {v!r}: give PUID=NAME", hint="e.g. --pathway fmt/353=jp2-lossless "
                                                                     "(NAME \"none\" leaves the format as it is)")
        out[puid.strip()] = name.strip()
    return out


@click.command("migrate")
@click.argument("aip_id", required=False, metavar="[ID]")
@click.option("--all", "every", is_flag=True, help="Every AIP whose newest version holds a format a pathway takes.")
@click.option("--format", "puid", metavar="PUID", help="With --all: only files of this format.")
@click.option("--originator", metavar="ID", help="With --all: only this originator's AIPs.")
@click.option("--version", "version", metavar="N", help="Migrate the files of version N (default: the newest).")
@click.option("--pathway", "pathways", multiple=True, metavar="PUID=NAME",
              help="Send a format to a pathway for this run (NAME \"none\": leave it); repeatable.")
@click.option("--dry-run", is_flag=True, help="List what would be migrated, change nothing.")
@click.option("--list-pathways", is_flag=True, help="List the pathways, their tools and the formats sent to each.")
@repo_option
@json_option
@click.pass_context
def migrate_command(ctx: click.Context, aip_id: str | None, every: bool, puid: str | None, originator: str | None,
                    version: str | None, pathways: tuple[str, ...], dry_run: bool, list_pathways: bool,
                    repo_path: str | None, as_json: bool) -> None:
    """Make preservation copies of the files at risk: each file whose format has a pathway
    (the policy's [migration], or --pathway) goes through its tool (Ghostscript, LibreOffice,
    OpenJPEG, ffmpeg) in a work folder, the output is verified (identified as the target
    format; images decode to the same pixels, audio to the same samples, video to the same
    frames; PDF/A by archa's checks, naming what they do not check) and stored in the AIP's
    next version beside the untouched original (representations/preservation/, a PREMIS
    migration event per file, derivation to the original). A file migrated before by the
    same pathway is not migrated again: a re-run makes no version.

    Exit status: 0 every file migrated (or nothing to do), 1 a tool failed or an output did
    not verify (listed; the original stays the only copy, the others are stored) or a copy
    of the new version could not be written (run it again, or `archa storage sync`), 2 bad
    input. A run that was killed is finished by running it again.

    \b
    Example:
      archa migrate --list-pathways
      archa migrate 5b0f8d2e-3f1c-4d69-9a57-0c4d2b8b7e11 --dry-run
      archa migrate 5b0f8d2e-3f1c-4d69-9a57-0c4d2b8b7e11 --pathway fmt/353=jp2-lossless
      archa migrate --all --format fmt/412 --repo /srv/archive
    """
    from archa.errors import UsageError
    from archa.lifecycle.migrate import MigrateOptions, migrate_aip, migrate_all
    from archa.lifecycle.migrate import list_pathways as listing

    ctx.meta["archa.json"] = as_json
    chosen = _pathway_pairs(pathways)
    if sum((bool(aip_id), every, list_pathways)) != 1:
        raise UsageError("give one of ID, --all or --list-pathways", hint="see `archa migrate --help`")
    if (puid or originator) and not every:
        raise UsageError("--format and --originator go with --all")
    with open_repo(repo_path) as repo:
        if list_pathways:
            rows = listing(repo.policy.migration)
            if as_json:
                emit_json({"pathways": rows})
                return
            for p in rows:
                state = p["tool_version"] or "NOT INSTALLED"
                click.echo(f"{p['name']:<13} {p['description']}")
                click.echo(f"{'':<13} tool: {p['tool']} ({state}); output: {', '.join(p['targets'])}")
                click.echo(f"{'':<13} used for: {', '.join(p['enabled']) or 'nothing (not enabled by the policy)'}")
            return
        progress = Progress(enabled=None if not as_json else False)
        try:
            if every:
                batch = migrate_all(repo, puid=puid, originator=originator, pathways=chosen, dry_run=dry_run,
                                    progress=progress)
                data: dict[str, Any] = batch.as_dict()
                results = batch.results
                ok = batch.ok
            else:
                assert aip_id is not None
                result = migrate_aip(repo, MigrateOptions(aip_id_of(repo, aip_id), chosen, version=version,
                                                          dry_run=dry_run), progress)
                data, results, ok = result.as_dict(), [result], result.ok
        finally:
            progress.close()
    if as_json:
        emit_json(data)
    else:
        for r in results:
            _print(r)
        if every:
            for e in data["errors"]:
                click.echo(f"ERROR: {e['aip_id']}: {e['error']}")
            done = (f"{sum(len(r.planned) for r in results)} files would be migrated (a dry run: nothing changed)"
                    if dry_run else f"{data['versions_made']} new versions, {data['migrated']} files migrated, "
                                    f"{data['failed']} failed")
            click.echo(f"{len(results)} AIPs: {done}" + (f", {len(data['errors'])} not done" if data["errors"]
                                                         else ""))
    if not ok:
        ctx.exit(1)


def _print(r: Any) -> None:
    if r.dry_run:
        for p in r.planned:
            click.echo(f"would migrate {r.aip_id} {p['source']} ({p['puid']}) by {p['pathway']} -> {p['target']}")
        if not r.planned:
            click.echo(f"{r.aip_id} {r.from_version}: nothing to migrate"
                       + (f" ({r.already} migrated before)" if r.already else ""))
        return
    for m in r.migrated:
        click.echo(f"migrated {m['source']} -> {m['target']} ({m['puid']}, {m['pathway']}, {m['tool']})")
    for f in r.failed:
        click.echo(f"FAILED {f['source']} ({f['pathway']}): {f['problem']}")
    if r.version:
        click.echo(f"{r.aip_id}: {r.version} made from {r.from_version}: {len(r.migrated)} preservation copies"
                   + (f", {len(r.failed)} failed (the originals stay the only copies)" if r.failed else "")
                   + ("" if r.stored else "  (NOT stored: the placement policy needs more copies)"))
    elif r.failed:
        click.echo(f"{r.aip_id}: no version made; every migration failed (recorded in the event log)")
    else:
        click.echo(f"{r.aip_id} {r.from_version}: nothing to migrate"
                   + (f" ({r.already} files migrated before by the same pathways)" if r.already else "")
                   + (f"; the copies an earlier run left unwritten are written now: {', '.join(r.finished)}"
                      if r.finished else ""))
    for f in r.copy_failures:
        click.echo(f"  error: copy of {f['version']} to {f['location']} failed: {f['error']}", err=True)
        if f.get("hint"):
            click.echo(f"  hint: {f['hint']}; then run `archa migrate` again or `archa storage sync`", err=True)
