"""`archa ingest`."""

from __future__ import annotations

from pathlib import Path

import click

from archa.cli.common import Progress, emit_json, human_bytes, json_option, open_repo, repo_option
from archa.ingest.ingest import IngestOptions, IngestResult, ingest


@click.command("ingest")
@click.argument("sips", nargs=-1, required=True, type=click.Path(path_type=Path))
@repo_option
@json_option
@click.option("--engine", help="Format identification engine (default: the policy's).")
@click.option("--jobs", type=click.IntRange(1, 64), help="Threads copying and hashing files.")
@click.option("--message", default="Ingest of a SIP", show_default=True,
              help="The OCFL version message.")
@click.pass_context
def ingest_command(ctx: click.Context, sips: tuple[Path, ...], repo_path: str | None, as_json: bool,
                   engine: str | None, jobs: int | None, message: str) -> None:
    """Validate SIPs (BagIt bags: directories, .zip, .tar, .tar.gz, .tgz, .tar.zst) and
    store each as a new AIP.

    A SIP with any problem is rejected as a whole (exit status 2): every problem is
    listed with its code, the rejection is recorded in the catalog, nothing is stored
    and the SIP is never changed.

    \b
    Example:
      archa ingest --repo archive transfers/2026-001.zip transfers/2026-002/
    """
    ctx.meta["archa.json"] = as_json
    repo = open_repo(repo_path)
    results: list[IngestResult] = []
    with repo:
        for sip in sips:
            progress = Progress(enabled=None if not as_json else False)
            try:
                result = ingest(repo, sip, IngestOptions(engine=engine, jobs=jobs, message=message),
                                progress)
            finally:
                progress.close()
            results.append(result)
            if not as_json:
                _print_result(result)
    if as_json:
        emit_json([r.as_dict() for r in results])
    if any(not r.stored or r.copy_failures for r in results):
        ctx.exit(1)


def _print_result(r: IngestResult) -> None:
    click.echo(f"Ingested {r.sip} as {r.aip_id} {r.version}")
    rate = r.bytes / r.seconds / 1e6 if r.seconds else 0.0
    click.echo(f"  files: {r.files}, bytes: {r.bytes} ({human_bytes(r.bytes)}), "
               f"{r.seconds:.2f} s, {rate:.1f} MB/s")
    click.echo("  formats:")
    for f in r.formats:
        click.echo(f"    {f['puid']:<12} {f['files']:>6} files {human_bytes(f['bytes']):>10}  "
                   f"{f['format_name'] or '(not identified)'}")
    click.echo(f"  copies: {', '.join(r.copies)}" + ("" if r.stored else "  (NOT stored: the placement "
                                                      "policy needs more copies)"))
    for f in r.copy_failures:
        click.echo(f"  error: copy to {f['location']} failed: {f['error']}", err=True)
        if f.get("hint"):
            click.echo(f"  hint: {f['hint']}; then run `archa storage sync`", err=True)
    for w in r.warnings:
        click.echo(f"  warning: {w}")
