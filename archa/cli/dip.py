"""`archa dip export`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from archa.cli.common import Progress, aip_id_of, emit_json, json_option, open_repo, repo_option
from archa.ingest.mistakes import shell_command
from archa.units import human_bytes


@click.group("dip")
def dip() -> None:
    """Dissemination packages (DIPs) for requesters."""


@dip.command("export")
@click.argument("aip_id")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--version", "version", metavar="N", help="AIP version, 'v2' or '2' (default: the newest).")
@click.option("--include", multiple=True, metavar="GLOB",
              help="Only files whose path under data/ matches (repeatable), e.g. 'scans/*.tif'.")
@click.option("--format", "fmt", type=click.Choice(["dir", "zip", "bag", "bag-zip", "iiif"]),
              help="A directory, a zip (written as a stream), a BagIt bag (a directory), a zipped BagIt bag, or (a "
                   "digitised volume) a static IIIF package with a page viewer. Default: what OUT's name says "
                   "(NAME.zip a zip, NAME.bag.zip a zipped bag, else a directory).")
@click.option("--base-url", metavar="URL", help="With --format iiif: the URL OUT will be served at, for the ids in "
                                                "manifest.json and info.json (default: OUT's file:// URL).")
@click.option("--access/--originals", default=True, show_default=True,
              help="Access copies per the [access] policy (JPEG for raster images, PDF for office "
                   "documents when LibreOffice is installed), or the originals only.")
@click.option("--representation", type=click.Choice(["all", "original", "preservation"]), default="all",
              show_default=True,
              help="The originals and the preservation copies `archa migrate` made (all), the originals only, or "
                   "each original's preservation copy where it has one (PDF/A for the DOCX, JPEG 2000 for the TIFF).")
@click.option("--location", metavar="NAME", help="Read from this copy first (the others remain fallbacks).")
@click.option("--force", is_flag=True, help="Replace OUT if it exists (only once the new DIP is complete).")
@repo_option
@json_option
@click.pass_context
def dip_export(ctx: click.Context, aip_id: str, out: Path, version: str | None, include: tuple[str, ...],
               fmt: str | None, base_url: str | None, access: bool, representation: str, location: str | None, force: bool,
               repo_path: str | None, as_json: bool) -> None:
    """Export a DIP of AIP_ID to OUT: the chosen files, METS.xml (DIP, pointing back to the
    AIP, with checksums), index.html, and for --format bag or bag-zip a BagIt bag around them.

    Without --format, OUT's name says the format: request.zip is a zip, request.bag.zip a
    zipped BagIt bag, any other name a directory; a name of an archive archa does not write
    (request.tar) is refused, as is a --format other than the name says (--format dir with
    request.zip), naming both (exit status 2).

    Files are read from the cheapest copy that is healthy (hot, then warm, then cold) and
    every byte is checked against the catalog on the way out. A copy that fails is marked
    damaged and the next one is used; only if no copy holds a file intact does the export
    fail, naming the files. Exit status 0 exported, 1 some file has no intact copy, 2 bad
    input (unknown AIP or version, --include matching nothing, OUT exists).

    An AIP given preservation copies by `archa migrate` holds both representations: the DIP
    has both unless --representation original (what was submitted) or preservation (each
    original's preservation copy in its place, the original where it has none).

    --format iiif (an AIP of a digitised volume): OUT is a folder with a IIIF Presentation 3
    manifest.json (a canvas per page), a level-0 IIIF Image API 3 service per page (tiles
    made from the user copies) and index.html, a page viewer that works offline from the
    file system.

    \b
    Example:
      archa dip export --repo archive urn:uuid:0f6c... request-42.zip
      archa dip export --repo archive urn:uuid:0f6c... request-42.bag.zip
      archa dip export --repo archive urn:uuid:396d... kronika-iiif --format iiif
      archa dip export --repo archive urn:uuid:5b0f... spis.zip --format zip --representation preservation
    """
    from archa.access.export import ExportOptions, export_dip, format_for

    ctx.meta["archa.json"] = as_json
    fmt = format_for(out, fmt)
    if fmt == "iiif":
        if representation != "all":
            raise click.UsageError("--representation does not go with --format iiif: it shows the volume's pages")
        _export_iiif(aip_id, out, version, include, location, force, base_url, repo_path, as_json)
        return
    if base_url:
        raise click.UsageError("--base-url is for --format iiif")
    opts = ExportOptions(aip_id, out, version, include, fmt, access, force, location, representation)
    progress = Progress(enabled=None if not as_json else False)
    with open_repo(repo_path) as repo:
        try:
            result = export_dip(repo, dataclasses.replace(opts, aip_id=aip_id_of(repo, aip_id)), progress)
        finally:
            progress.close()
    if as_json:
        emit_json(result.as_dict())
        return
    for d in result.damaged_copies:
        click.echo(f"DAMAGED: {aip_id} {d['version']} at {d['location']}, marked so; the files came from "
                   f"another copy. Repair: {shell_command('archa', 'repair', result.aip_id, '--location', d['location'])}",
                   err=True)
        for f in d["findings"][:10]:
            click.echo(f"  {f['code']} {f['path']}: {f['message']}", err=True)
    for loc, why in result.unavailable.items():
        click.echo(f"warning: location {loc} could not be read, other copies were used: {why}", err=True)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    sources = ", ".join(f"{k} ({n})" for k, n in result.sources.items())
    click.echo(f"{result.out}: DIP {result.dip_id} ({result.format}), {result.files} files "
               f"({result.access_copies} access copies), {human_bytes(result.bytes)} in {result.seconds:.1f} s; "
               f"read from {sources}")


def _export_iiif(aip_id: str, out: Path, version: str | None, include: tuple[str, ...], location: str | None,
                 force: bool, base_url: str | None, repo_path: str | None, as_json: bool) -> None:
    from archa.access.iiif import export_iiif

    if include:
        raise click.UsageError("--include does not go with --format iiif: the package shows every page")
    progress = Progress(enabled=None if not as_json else False)
    with open_repo(repo_path) as repo:
        try:
            r = export_iiif(repo, aip_id_of(repo, aip_id), out, version, force, location, base_url, progress=progress)
        finally:
            progress.close()
    if as_json:
        emit_json(r)
        return
    click.echo(f"{r['out']}: IIIF package of {aip_id} {r['version']}, {r['pages']} pages, {r['tiles']} tiles and "
               f"sizes, {human_bytes(r['bytes'])} in {r['seconds']:.1f} s; open {r['out']}/index.html")
