"""`archa catalog rebuild` and `archa catalog export`."""

from __future__ import annotations

from pathlib import Path

import click

from archa.cli.common import emit_json, json_option, open_repo, repo_option
from archa.repository.lock import exclusive_lock
from archa.repository.repo import resolve_repo_path
from archa.repository.storage import rebuild


@click.group("catalog")
def catalog() -> None:
    """The catalog: an index that can be rebuilt from the storage locations."""


@catalog.command("rebuild")
@click.option("--replace", is_flag=True, help="Put the rebuilt catalog in place (the old one is kept "
                                              "as catalog.sqlite.bak-TIME).")
@click.option("--check", is_flag=True, help="Only compare: rebuild into a temporary file, list every difference "
                                            "from the live catalog, remove it (exit 1 when they differ).")
@click.option("--trust", metavar="LOCATION", help="Where the locations do not agree (a history, a tombstone, an "
                                                  "inventory), believe this one.")
@click.option("--into", metavar="URL", help="A catalog on a PostgreSQL server: the empty database to rebuild into "
                                            "(--replace then points this node's archa.toml at it).")
@repo_option
@json_option
@click.pass_context
def catalog_rebuild(ctx: click.Context, replace: bool, check: bool, trust: str | None, into: str | None,
                    repo_path: str | None, as_json: bool) -> None:
    """Reconstruct the catalog from the locations alone: AIPs, versions, files, formats and
    copies (OCFL inventories, METS/PREMIS, packed indexes, tombstones), copy states from the
    last audits, the event log row for row, transfers, originators, holds and the disposal
    procedure (the journal kept beside the log), into a new catalog, and report how it
    differs from the current one. With no catalog (deleted or lost) the result becomes the
    catalog. --check only compares, after SQLite's integrity check of the live catalog (a
    damaged catalog is named, exit status 1).

    A rebuild takes a history, a tombstone or an inventory only where the locations agree
    on it (a majority of them; with two, both; a tombstone only with its deletion in that
    history; a packed copy's expected digest from the history, not from the copy): where
    they do not, it stops with every conflict named (exit 1) and puts nothing in place,
    unless --trust LOCATION says which location to believe.

    A catalog on a PostgreSQL server: --check rebuilds into a temporary SQLite file and
    compares; a rebuild goes into the configured database when it holds no catalog (lost,
    made again empty), else into the empty database --into URL names, and --replace points
    this node's archa.toml at it (point the other nodes at it too; the old database stays).

    \b
    Example:
      archa catalog rebuild --repo archive
      archa catalog rebuild --check --repo archive
      archa catalog rebuild --replace --trust hot --repo archive
    """
    if check:
        from archa.repository.storage import check_catalog, check_rebuild

        with open_repo(repo_path) as repo:
            check_catalog(repo)  # SQLite's own integrity check first: a damaged catalog is named, exit 1
            with repo.writing(behind_ok=True):  # what it is there to show
                report = check_rebuild(repo, trust)
        if as_json:
            emit_json(report.as_dict())
        else:
            click.echo(f"rebuilt from storage: {report.aips} AIPs, {report.files} files, {report.copies} copies; "
                       + (f"{len(report.differences)} difference(s) from the live catalog:" if report.differences
                          else "the same as the live catalog, field by field"))
            for d in report.differences:
                click.echo(f"  {d}")
            if report.conflicts:
                click.echo(f"{len(report.conflicts)} thing(s) the locations do not agree on (a rebuild would stop "
                           "here; name the location to believe with --trust LOCATION):")
            for c in report.conflicts:
                click.echo(f"  CONFLICT {c}")
            for n in report.notes:
                click.echo(f"  note: {n}")
        if report.differences or report.conflicts:
            ctx.exit(1)
        return
    from archa.repository.serverrebuild import open_for_rebuild

    with open_for_rebuild(resolve_repo_path(repo_path)) as repo, exclusive_lock(repo.root / "lock"):
        out = rebuild(repo, replace=replace, trust=trust, into=into)
    if as_json:
        emit_json(out.as_dict())
        return
    r = out.report
    click.echo(f"Rebuilt {r.aips} AIPs, {r.files} files, {r.copies} copies into {r.path}")
    for n in r.notes:
        click.echo(f"  note: {n}")
    for d in r.differences:
        click.echo(f"  {d}")
    if not out.replaced:
        click.echo(f"{len(r.differences)} differences; the current catalog is unchanged "
                   "(use --replace to put the rebuilt one in place)")
    elif out.backup:
        click.echo(f"replaced; the previous catalog is kept as {out.backup}")


@catalog.command("export")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(("parquet", "csv")), default="parquet", show_default=True)
@repo_option
@json_option
def catalog_export(out: Path, fmt: str, repo_path: str | None, as_json: bool) -> None:
    """Write the catalog's tables (AIPs, versions, files, copies, events, retention,
    originators, holds, transfers, disposal proposals and tombstones) to the new folder
    OUT, one Parquet (zstd) or CSV file per table, for DuckDB, pandas or a spreadsheet.
    Columns are the catalog's (docs/design.md); memory stays flat however many rows.

    \b
    Example:
      archa catalog export --format parquet catalog-2026-11/
      duckdb -c "SELECT puid, count(*) FROM 'catalog-2026-11/files.parquet' GROUP BY 1"
    """
    from archa.repository.tables import export_tables

    with open_repo(repo_path) as repo:
        done = export_tables(repo, out, fmt)
    if as_json:
        emit_json([t.as_dict() for t in done])
        return
    for t in done:
        click.echo(f"{t.rows:>10} rows  {t.path}")
