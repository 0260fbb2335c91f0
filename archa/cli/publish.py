"""`archa publish`."""

from __future__ import annotations

from pathlib import Path

import click

from archa.cli.common import Progress, emit_json, json_option, open_repo, repo_option
from archa.errors import printable


@click.command("publish")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--originator", metavar="ID", help="Only the records of this originator.")
@click.option("--collection", metavar="NAME", help="Put every published record into one collection of this name "
                                                   "(default: a collection per originator).")
@click.option("--base-url", metavar="URL", help="The URL OUT will be served at, for the ids in the IIIF manifests "
                                                "and collections (default: OUT's file:// URL).")
@click.option("--title", default="Public collections", show_default=True, help="The site's name.")
@click.option("--verify", is_flag=True, help="Walk every record's files on the site and rebuild the search index "
                                             "(a plain run checks the changed records only, and one file of each).")
@repo_option
@json_option
def publish_command(out: Path, originator: str | None, collection: str | None, base_url: str | None, title: str,
                    verify: bool, repo_path: str | None, as_json: bool) -> None:
    """Write a static website of every public record into OUT, or bring the site there up to
    date: a home page of collections (one per originator, or the one --collection NAME), a
    page per record with its description and a page viewer of its images, IIIF manifests,
    level-0 image services and a IIIF Collection per collection, and a search page
    (search.html?q=WORDS) over the records' metadata and the text of their pages. It needs
    no server: open OUT/index.html, or serve OUT as it is.

    Only records whose access conditions let them go to the public are published (see
    `archa access show`); restricted and embargoed ones are left out, counted and listed,
    and appear in no file of the site. A second run writes only what changed: records
    added or updated are rebuilt, records destroyed or restricted since are removed.

    \b
    Example:
      archa publish --repo archive /srv/www/collections --base-url https://sbirky.example.cz/
      archa publish --repo archive site --originator muzeum-jihlava --collection "Muzeum Vysočiny"
    """
    from archa.lifecycle.publish import publish

    progress = Progress(enabled=None if not as_json else False)
    with open_repo(repo_path) as repo:
        try:
            result = publish(repo, out, originator, collection, base_url, title, progress, verify=verify)
        finally:
            progress.close()
    if as_json:
        emit_json(result.as_dict())
        return
    for aip_id, why in sorted(result.left_out.items()):
        click.echo(f"left out (not for the public): {aip_id}: {printable(why)}", err=True)
    for aip_id, why in sorted(result.failed.items()):
        click.echo(f"not published (could not be read): {aip_id}: {printable(why)}", err=True)
    click.echo(f"{result.out}: {result.records} records ({result.pages} pages) in {len(result.collections)} "
               f"collections; {len(result.written)} written, {len(result.removed)} removed, {result.unchanged} "
               f"unchanged, {len(result.left_out)} left out; {result.files_written} files written in "
               f"{result.seconds:.1f} s; open {result.out}/index.html")
    if result.failed:
        raise SystemExit(1)
