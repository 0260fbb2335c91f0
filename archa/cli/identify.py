"""`archa identify`."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import click

from archa.cli.common import emit_json
from archa.preservation.identify import ENGINES, compare_engines, expand_paths, get_identifier, identify_many

CSV_FIELDS = ("path", "puid", "name", "version", "mime", "basis", "warning", "engine",
              "engine_version", "signature_version")


@click.command("identify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--engine", type=click.Choice(sorted(ENGINES)), default="siegfried", show_default=True,
              help="Identification engine.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV on stdout.")
@click.option("--jobs", type=click.IntRange(1, 64), default=os.cpu_count() or 1, show_default="cores",
              help="Worker threads (siegfried) or processes (fido).")
@click.option("--compare", is_flag=True, help="Run siegfried and fido; report files where they disagree.")
@click.pass_context
def identify_command(ctx: click.Context, paths: tuple[Path, ...], engine: str, as_json: bool, as_csv: bool,
                     jobs: int, compare: bool) -> None:
    """Identify the formats (PRONOM PUIDs) of files, and of every file below directories.

    Prints the engine and its signature versions, then one line per file: PUID, path,
    format name and version. Nothing is stored; no repository is needed.

    \b
    Example:
      archa identify --csv /mnt/transfer/ > formats.csv
      archa identify --compare scans/
    """
    ctx.meta["archa.json"] = as_json
    files = expand_paths(paths)
    if compare:
        _compare(files, jobs, as_json)
        return
    ident = get_identifier(engine)
    results = identify_many(files, engine, jobs)
    if as_json:
        emit_json({"engine": ident.name, "engine_version": ident.engine_version,
                   "signature_version": ident.signature_version,
                   "files": [{"path": os.fspath(p), **r.as_dict()} for p, r in zip(files, results, strict=True)]})
    elif as_csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(CSV_FIELDS)
        for p, r in zip(files, results, strict=True):
            d = {"path": os.fspath(p), **r.as_dict()}
            w.writerow([d[k] for k in CSV_FIELDS])
    else:
        click.echo(f"engine: {ident.name} {ident.engine_version} ({ident.signature_version})")
        for p, r in zip(files, results, strict=True):
            name = f"{r.name} {r.version}".strip() or "(not identified)"
            warn = f"  [{r.warning}]" if r.warning else ""
            click.echo(f"{r.puid:<12} {p}  {name}{warn}")
        click.echo(f"{len(files)} files")


def _compare(files: list[Path], jobs: int, as_json: bool) -> None:
    diffs = compare_engines(files, jobs)
    if as_json:
        emit_json({"files": len(files), "disagreements": [d.as_dict() for d in diffs]})
        return
    for d in diffs:
        click.echo(d.path)
        for engine, r in d.results.items():
            click.echo(f"    {engine:<10} {r.puid:<12} {r.name} {r.version}".rstrip())
    click.echo(f"{len(files)} files, {len(diffs)} where the engines disagree")
