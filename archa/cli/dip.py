"""`archa dip export`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from archa.cli.common import Progress, aip_id_of, emit_json, json_option, open_repo, repo_option
from archa.ingest.mistakes import shell_command
from archa.units import human_bytes

if TYPE_CHECKING:
    from archa.access.export import ExportOptions
    from archa.repository.repo import Repository


@click.group("dip")
def dip() -> None:
    """Dissemination packages (DIPs) for requesters."""


@dip.command("export")
@click.argument("aip_ids", nargs=-1, required=True, metavar="AIP_ID...")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--audience", type=click.Choice(["staff", "public"]), default="staff", show_default=True,
              help="Who the DIP is for: staff (everything, recorded with who asked) or the public (a restricted or "
                   "embargoed record is refused, or left out of an export of several).")
@click.option("--version", "version", metavar="N", help="AIP version, 'v2' or '2' (default: the newest).")
@click.option("--include", multiple=True, metavar="GLOB",
              help="Only files whose path under data/ matches (repeatable), e.g. 'scans/*.tif'.")
@click.option("--format", "fmt", type=click.Choice(["dir", "zip", "bag", "bag-zip", "iiif"]),
              help="A directory, a zip (written as a stream), a BagIt bag (a directory), a zipped BagIt bag, or (a "
                   "digitised volume, an image record or any AIP holding images) a static IIIF package with a "
                   "page viewer. Default: what OUT's name says "
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
def dip_export(ctx: click.Context, aip_ids: tuple[str, ...], out: Path, audience: str, version: str | None,
               include: tuple[str, ...], fmt: str | None, base_url: str | None, access: bool, representation: str,
               location: str | None, force: bool, repo_path: str | None, as_json: bool) -> None:
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
    input (unknown AIP or version, --include matching nothing, OUT exists, a record refused
    to the public).

    --audience public: a record that is restricted or under an embargo (`archa access
    show`), or whose access conditions in the catalog disagree with the anchored event log,
    is refused (exit 2, naming it and why; nothing written). --audience staff (the default)
    exports everything. Either way the export event records the audience and who asked.

    Several AIP_IDs: OUT is a folder (made by the command) holding one DIP per AIP, named
    by its UUID (UUID.zip with --format zip); each AIP's newest version. With --audience
    public the records that may not go to the public are left out and listed (stderr, or
    "left_out" in --json); exit 0 when at least one was exported, 2 when none may be.

    An AIP given preservation copies by `archa migrate` holds both representations: the DIP
    has both unless --representation original (what was submitted) or preservation (each
    original's preservation copy in its place, the original where it has none).

    --format iiif (a digitised volume, an image record, or any AIP whose payload holds
    TIFF, JPEG, JPEG 2000 or PNG images, in name order): OUT is a folder with a IIIF
    Presentation 3 manifest.json (a canvas per page or image, a multi-page TIFF one per
    page), a level-0 IIIF Image API 3 service per page (sRGB JPEG tiles) and index.html, a
    page viewer that works offline from the file system.

    \b
    Example:
      archa dip export --repo archive urn:uuid:0f6c... request-42.zip
      archa dip export --repo archive urn:uuid:0f6c... request-42.bag.zip
      archa dip export --repo archive urn:uuid:396d... kronika-iiif --format iiif --audience public
      archa dip export --repo archive urn:uuid:5b0f... spis.zip --format zip --representation preservation
      archa dip export --repo archive KUJI-1 KUJI-2 KUJI-3 for-reading-room --format zip --audience public
    """
    from archa.access.export import ExportOptions, format_for

    ctx.meta["archa.json"] = as_json
    several = len(aip_ids) > 1
    if several:
        if fmt is None and format_for(out, None) != "dir":
            raise click.UsageError(f"OUT {out.name!r} names an archive, and an export of several AIPs writes a "
                                   "folder of DIPs: name the folder, and give --format zip for zips inside it")
        fmt = fmt or "dir"
    else:
        fmt = format_for(out, fmt)
    if fmt == "iiif":
        if representation != "all":
            raise click.UsageError("--representation does not go with --format iiif: it shows the volume's pages")
        if include:
            raise click.UsageError("--include does not go with --format iiif: the package shows every page")
    elif base_url:
        raise click.UsageError("--base-url is for --format iiif")
    opts = ExportOptions(aip_ids[0], out, version, include, fmt, access, force, location, representation,
                         audience=audience)
    progress = Progress(enabled=None if not as_json else False)
    with open_repo(repo_path) as repo:
        try:
            if several:
                _export_several(repo, aip_ids, opts, base_url, progress, as_json)
                return
            opts = dataclasses.replace(opts, aip_id=aip_id_of(repo, aip_ids[0]))
            if fmt == "iiif":
                from archa.lifecycle.access import export_iiif_for

                summary = export_iiif_for(repo, opts, base_url, progress)
            else:
                from archa.lifecycle.access import export_for

                summary = export_for(repo, opts, progress).as_dict()
        finally:
            progress.close()
    if as_json:
        emit_json(summary)
        return
    _show(summary, aip_ids[0])


def _export_several(repo: Repository, typed: tuple[str, ...], opts: ExportOptions, base_url: str | None,
                    progress: Progress, as_json: bool) -> None:
    from archa.lifecycle.access import export_several

    ids = [aip_id_of(repo, t) for t in typed]
    result = export_several(repo, ids, opts, base_url, progress)
    progress.close()
    if as_json:
        emit_json(result.as_dict())
        return
    for summary in result.exported:
        _show(summary, summary["aip_id"])
    for aip_id, why in result.left_out.items():
        click.echo(f"left out (not for the public): {aip_id}: {why}", err=True)
    click.echo(f"{result.out}: {len(result.exported)} DIPs for {result.audience}"
               + (f", {len(result.left_out)} left out (not for the public)" if result.left_out else ""))


def _show(r: dict[str, Any], typed: str) -> None:
    """The lines of one export, as a person reads them."""
    if r["format"] == "iiif":
        click.echo(f"{r['out']}: IIIF package of {typed} {r['version']}, {r['pages']} pages, {r['tiles']} tiles and "
                   f"sizes, {human_bytes(r['bytes'])} in {r['seconds']:.1f} s; open {r['out']}/index.html")
        return
    for d in r["damaged_copies"]:
        click.echo(f"DAMAGED: {typed} {d['version']} at {d['location']}, marked so; the files came from "
                   f"another copy. Repair: {shell_command('archa', 'repair', r['aip_id'], '--location', d['location'])}",
                   err=True)
        for f in d["findings"][:10]:
            click.echo(f"  {f['code']} {f['path']}: {f['message']}", err=True)
    for loc, why in r["unavailable"].items():
        click.echo(f"warning: location {loc} could not be read, other copies were used: {why}", err=True)
    for note in r["notes"]:
        click.echo(f"note: {note}", err=True)
    sources = ", ".join(f"{k} ({n})" for k, n in r["sources"].items())
    click.echo(f"{r['out']}: DIP {r['dip_id']} ({r['format']}), {r['files']} files "
               f"({r['access_copies']} access copies), {human_bytes(r['bytes'])} in {r['seconds']:.1f} s; "
               f"read from {sources}")
