"""`archa search`."""

from __future__ import annotations

import click

from archa.cli.common import aip_id_of, emit_json, json_option, open_repo, repo_option
from archa.repository.catalog.recordindex import SEARCH_FIELDS


@click.command("search")
@click.argument("text")
@click.option("--field", "field_name", type=click.Choice(SEARCH_FIELDS),
              help="Only this field: title, identifier, sign (filing code), ref (reference number, číslo "
                   "jednací), originator, author (people and publishers), text (the OCR of pages).")
@click.option("--from", "date_from", metavar="DATE", default="", help="Records dated on or after DATE (YYYY[-MM[-DD]]).")
@click.option("--to", "date_to", metavar="DATE", default="", help="Records dated on or before DATE (YYYY[-MM[-DD]]).")
@click.option("--originator", metavar="ID", default="", help="Records of this originator only.")
@click.option("--include-removed", is_flag=True, help="Destroyed records too, by what their tombstones name.")
@click.option("--aip", "aip_id", metavar="ID", help="Only the pages of this AIP.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="Hits to list.")
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True, help="Hits to skip (paging).")
@repo_option
@json_option
def search_command(text: str, field_name: str | None, date_from: str, date_to: str, originator: str,
                   include_removed: bool, aip_id: str | None, limit: int, offset: int, repo_path: str | None,
                   as_json: bool) -> None:
    """Find records by the words of their metadata (title, identifiers, filing code,
    reference number, originator, authors: from NSESSS, MODS, DC and bag-info) and
    digitised pages by their OCR text. Every word must occur; case and diacritics do not
    matter (`stavebni povoleni` finds `Stavební povolení`); `word*` matches a prefix of two
    letters or more. Records come first, best match first, then pages; each hit names the
    record, its date, originator, access status, the field that matched and the words in
    [brackets]. Exit 1 when nothing is found.

    \b
    Example:
      archa search --repo archive "stavební povolení ještěd" --from 2011 --to 2011
      archa search --repo archive KU-2025-0042 --field identifier --json
      archa search --repo archive "obecní kronika" --field text
    """
    from archa.access.search import find

    with open_repo(repo_path) as repo:
        found = find(repo, text, field_name, date_from, date_to, originator, limit, offset, include_removed,
                     aip_id_of(repo, aip_id))
    hits = found.hits
    if as_json:
        emit_json({"query": text, "total": found.total, "more": found.more, "ranked": found.ranked,
                   "hits": [{**h.as_dict(), "seq": h.page} for h in hits]})
    else:
        if hits:
            count = f"more than {found.total:,}" if found.more else f"{found.total:,}"
            click.echo(f"{count} match; {offset + 1}-{offset + len(hits)}, "
                       + ("best first" if found.ranked else "ranked in part (too many matches to rank all)"))
        for h in hits:
            where = f"page {h.page}" if h.page is not None else h.field
            facts = ", ".join(x for x in (h.date, h.originator, h.access or "access not recorded",
                                          "REMOVED" if h.state != "active" else "") if x)
            click.echo(f"{h.aip_id}  {h.title}  ({facts})")
            click.echo(f"    {where}: {h.snippet}")
        if not hits:
            click.echo(f"nothing matches {text!r}")
    if not hits:
        raise SystemExit(1)
