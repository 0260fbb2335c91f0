"""`archa search`."""

from __future__ import annotations

import click

from archa.cli.common import aip_id_of, emit_json, json_option, open_repo, repo_option


@click.command("search")
@click.argument("text")
@click.option("--aip", "aip_id", metavar="ID", help="Only the pages of this AIP.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="Pages to list.")
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True, help="Pages to skip (paging).")
@repo_option
@json_option
def search_command(text: str, aip_id: str | None, limit: int, offset: int, repo_path: str | None,
                   as_json: bool) -> None:
    """Find digitised pages by the words of their OCR text (ALTO, indexed at ingest; every
    word must occur; case and diacritics do not matter; `word*` matches a prefix). Lists
    AIP, page and a snippet with the words in [brackets], best match first; exit 1 when
    nothing is found. Past 100,000 matching pages the hits come in catalog order, unranked.

    \b
    Example:
      archa search --repo archive "obecní kronika"
      archa search --repo archive povoden* --aip urn:uuid:396d6d16-4552-40e6-a1ef-c9d682426fa9 --json
    """
    from archa.access.search import search_pages

    with open_repo(repo_path) as repo:
        found = search_pages(repo, text, aip_id_of(repo, aip_id), limit, offset)
    hits = found.hits
    if as_json:
        emit_json({"query": text, "matches": found.total, "ranked": found.ranked,
                   "hits": [h.as_dict() for h in hits]})
    else:
        if hits:
            click.echo(f"{found.total} page(s) match; {offset + 1}-{offset + len(hits)}, "
                       + ("best first" if found.ranked else "in catalog order (too many to rank)"))
        for h in hits:
            where = f"page {h.label or h.seq}" + (f" ({h.section})" if h.section else "")
            click.echo(f"{h.aip_id} {h.version}  {where}  {h.title}")
            click.echo(f"    {' '.join(h.snippet.split())}")
        if not hits:
            click.echo(f"no page holds {text!r}")
    if not hits:
        raise SystemExit(1)
