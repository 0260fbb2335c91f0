"""`archa aip list` and `archa aip show`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from archa.cli.common import aip_id_of, emit_json, emit_json_stream, json_option, open_repo, repo_option
from archa.errors import EXIT_PROBLEMS
from archa.units import human_bytes


@click.group("aip")
def aip() -> None:
    """List and inspect stored AIPs."""


@aip.command("list")
@click.option("--originator", metavar="ID", help="Only this originator's AIPs.")
@click.option("--held", is_flag=True, help="Only the AIPs under a legal hold.")
@repo_option
@json_option
def aip_list(originator: str | None, held: bool, repo_path: str | None, as_json: bool) -> None:
    """List every AIP with its head version, payload (its files and bytes as submitted;
    --json: `payload_files`, `payload_bytes`; `files`, `bytes` count every file of the head
    version, archa's metadata included), originator and the ids of the legal holds in force
    on it (`holds`; --json: `holds`, each hold's id and reason).

    \b
    Example:
      archa aip list --repo archive --originator brtnice --json
      archa aip list --held
    """
    with open_repo(repo_path) as repo:
        if originator:
            repo.catalog.originator(originator, repo.hot_location)  # NotFoundError
        rows = repo.catalog.aips(originator)
        payload = repo.catalog.reports.payload_per_aip(originator)
        holds: dict[str, list[dict[str, Any]]] = {}
        for h in repo.catalog.lifecycle.holds():
            holds.setdefault(h["aip_id"], []).append({"id": h["id"], "reason": h["reason"]})
        pending = repo.pending_commits()
    for r in rows:
        r["holds"] = holds.get(r["id"], [])
        r["payload_files"], r["payload_bytes"] = payload.get(r["id"], (0, 0))
    if held:
        rows = [r for r in rows if r["holds"]]
    if pending:
        click.echo(f"note: {len(pending)} AIP version(s) in storage not yet in the catalog ({', '.join(pending)}); "
                   "the next writing command (e.g. archa storage sync) records them", err=True)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no AIPs under a hold" if held else "no AIPs")
        return
    width = max(10, *(len(r["originator_id"] or "-") for r in rows))  # the longest originator id
    marks = {r["id"]: ",".join(str(h["id"]) for h in r["holds"]) or "-" for r in rows}
    held_width = max(5, *(len(m) for m in marks.values()))
    click.echo(f"{'AIP':<46} {'head':<4} {'files':>7} {'payload':>10}  {'created':<20} {'originator':<{width}} "
               f"{'holds':<{held_width}} label")
    for r in rows:
        state = "" if r["state"] == "active" else f" [{r['state']}]"
        click.echo(f"{r['id']:<46} {r['head']:<4} {r['payload_files']:>7} {human_bytes(r['payload_bytes']):>10}  "
                   f"{r['created'][:19]:<20} {r['originator_id'] or '-':<{width}} {marks[r['id']]:<{held_width}} "
                   f"{r['label']}{state}")


@aip.command("show")
@click.argument("aip_id")
@click.option("--version", "version", metavar="N", help="The version whose files to list (default: the head).")
@click.option("--limit", type=click.IntRange(0), metavar="N",
              help="List at most N files (default: 200 on the terminal, all with --json; 0: all).")
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True, help="Skip the first N files.")
@repo_option
@json_option
def aip_show(aip_id: str, version: str | None, limit: int | None, offset: int, repo_path: str | None,
             as_json: bool) -> None:
    """Show one AIP: the legal holds in force on it, versions, copies, files with formats and
    digests, and events. Files come in logical-path order, a page of them on the terminal
    (--limit, --offset); --json writes them all as a stream, so an AIP of a million files is
    listed in constant memory.

    AIP_ID: the AIP's id, its UUID or 8 or more characters of it, its External-Identifier, or
    an entity id its records carry (an NSESSS Identifikator).

    \b
    Example:
      archa aip show --repo archive urn:uuid:0f6c... --version 1
      archa aip show --repo archive 0f6c1d2e --limit 100 --offset 200
      archa aip show --repo archive KUJI-OD-2025-0117
    """
    if limit is None:
        limit = 0 if as_json else 200
    with open_repo(repo_path) as repo:
        cat = repo.catalog
        aip_id = aip_id_of(repo, aip_id)
        info = cat.aip(aip_id)
        holds = cat.lifecycle.holds(aip_id)
        versions = cat.versions(aip_id)
        shown = version_name(version, [v["version"] for v in versions]) if version else info["head"]
        total = next((v["files"] for v in versions if v["version"] == shown), 0)
        files: Iterable[dict[str, Any]] = cat.iter_files(aip_id, shown, limit or None, offset)
        copies = cat.copies(aip_id)
        retention = cat.retention(aip_id)
        events = cat.events(aip_id)
        pages = cat.pages(aip_id, shown)
        path = repo.hot.object_path(aip_id)
        tomb = cat.tombstone(aip_id)
        if tomb is not None:
            from archa.repository.copies import tombstone_prefix

            path = repo.hot.path / tombstone_prefix(aip_id)
            removed = [{"logical_path": f["path"], "size": f["size"], "digest": f["digest"], "puid": f["puid"],
                        "format_name": "", "role": "removed"}
                       for f in tomb["certificate"]["files"] if f["version"] == shown]
            total, files = len(removed), removed[offset:offset + limit] if limit else removed[offset:]
        if as_json:
            emit_json_stream({"aip": info, "holds": holds, "versions": versions, "copies": copies,
                              "retention": retention, "version": shown, "events": events, "path": str(path),
                              "tombstone": tomb, "pages": pages, "files_total": total}, "files", files)
            return
        _show_text(info, holds, versions, copies, retention, events, pages, shown, tomb, path, files, total, offset)


def _show_text(info: dict[str, Any], holds: list[dict[str, Any]], versions: list[dict[str, Any]],
               copies: list[dict[str, Any]], retention: list[dict[str, Any]], events: list[dict[str, Any]],
               pages: list[dict[str, Any]], shown: str, tomb: dict[str, Any] | None, path: Path,
               files: Iterable[dict[str, Any]], total: int, offset: int) -> None:
    click.echo(f"AIP {info['id']}")
    click.echo(f"  label:   {info['label']}")
    if info["external_id"]:
        click.echo(f"  external id: {info['external_id']}")
    click.echo(f"  created: {info['created']}")
    click.echo(f"  originator: {info.get('originator_id') or '-'}; state: {info.get('state') or 'active'}")
    for h in holds:
        click.echo(f"  HELD: hold {h['id']}, placed {h['placed'][:10]} by {h['placed_by']}: {h['reason']}")
    if tomb is not None:
        c = tomb["certificate"]
        click.echo(f"  {info['state'].upper()} in the disposal procedure {c['proposal']} (ordered {c['ordered'][:19]}):"
                   f" only its tombstone is left")
        click.echo(f"  certificate: {path / 'certificate.html'} (and at every other location)")
        if tomb["locations_left"]:
            click.echo(f"  NOT finished: still at {', '.join(tomb['locations_left'])} (run archa disposal destroy "
                       f"{c['proposal']} --yes again)")
    else:
        click.echo(f"  object:  {path}")
    for v in versions:
        click.echo(f"  version {v['version']}: {v['files']} files, {human_bytes(v['bytes'])}, "
                   f"{v['digest_algorithm']}, {'stored' if v['stored'] else 'NOT stored'}, "
                   f"\"{v['message']}\"")
    for c in copies:
        click.echo(f"  copy {c['version']} at {c['location']}: {c['state']}")
    if pages:
        sections = list(dict.fromkeys(p["section"] for p in pages if p["section"]))
        click.echo(f"  pages ({shown}): {len(pages)}, {pages[0]['label']} to {pages[-1]['label']}"
                   + (f"; sections: {', '.join(sections[:8])}{' …' if len(sections) > 8 else ''}" if sections else ""))
    for r in retention:
        period = f", {r['period']} years from {r['trigger_year']}" if r["period"] is not None else ""
        declared = " (the year the package declares)" if r.get("until_declared") else ""
        click.echo(f"  retention: sign {r['sign']}{period}, ends {r['until_year']}{declared} "
                   f"({r['entity'] or 'the record'})")
        if r.get("disposal_date"):
            by = f", judged by {r['disposal_by']}" if r.get("disposal_by") else ""
            click.echo(f"  disposal procedure held {r['disposal_date']}: {r['disposal_operation']}{by}; "
                       "not due again")
    click.echo(f"files ({shown}){' removed' if tomb is not None else ''}:")
    n = 0
    for f in files:
        fmt = f"{f['puid']} {f['format_name']}".strip() if f["puid"] else f["role"]
        click.echo(f"  {f['logical_path']}")
        click.echo(f"      {f['size']} bytes  {f['digest'][:16]}…  {fmt}")
        n += 1
    if offset or offset + n < total:
        click.echo(f"  (files {offset + 1 if n else offset}-{offset + n} of {total}"
                   + (f"; the next: --offset {offset + n}" if offset + n < total else "") + ")")
    click.echo("events:")
    for e in events:
        click.echo(f"  {e['time'][:19]}  {e['type']:<27} {e['outcome']:<8} {e['detail']}")


def version_name(given: str, known: list[str]) -> str:
    """`2` or `v2` as the version name `v2`; UsageError for one the AIP does not have."""
    from archa.errors import UsageError

    name = given if given.startswith("v") else f"v{given}"
    if name not in known:
        raise UsageError(f"no version {given!r}; the AIP has {', '.join(known)}")
    return name


@aip.command("update")
@click.argument("aip_id")
@click.option("--add", "adds", multiple=True, metavar="FILE=LOGICAL_PATH",
              help="Store FILE as LOGICAL_PATH (a path inside the payload, or a full path under "
                   "representations/); an existing path gets the new content. Repeatable.")
@click.option("--remove", "removes", multiple=True, metavar="LOGICAL_PATH", help="Leave a file out. Repeatable.")
@click.option("--metadata", type=click.Path(path_type=Path, dir_okay=False),
              help="A Dublin Core record (oai_dc:dc) replacing the descriptive metadata.")
@click.option("--reason", required=True, help="Why: the OCFL version message and the PREMIS event.")
@click.option("--jobs", type=click.IntRange(1, 64), help="Threads copying and hashing files.")
@click.option("--withdraw-from-proposal", "withdraw", is_flag=True,
              help="The AIP's record is in an open disposal proposal: take it out of the proposal first "
                   "(recorded in the event log) instead of refusing.")
@repo_option
@json_option
@click.pass_context
def aip_update(ctx: click.Context, aip_id: str, adds: tuple[str, ...], removes: tuple[str, ...],
               metadata: Path | None, reason: str, jobs: int | None, withdraw: bool, repo_path: str | None,
               as_json: bool) -> None:
    """Make the next version of an AIP: a new OCFL version holding only the new content,
    earlier versions untouched; METS, PREMIS (a new event, the version it derives from)
    and Dublin Core written anew; every storage location updated (a packed copy gets an
    archive for the new version).

    Refused (exit status 2, nothing written) when it changes nothing, and while the AIP's
    record is in an open disposal proposal (the archive decides on the version proposed)
    unless --withdraw-from-proposal. Exit status 1 when a copy the placement policy needs
    could not be written (`archa storage sync` finishes it). A crash leaves the AIP at its
    previous version, or the next command records the new one; running the same update
    again then finishes that version instead of making another.

    \b
    Example:
      archa aip update urn:uuid:0f6c... --add scans/page-002.png=scans/page-002.png \\
          --remove notes.txt --reason "second page scanned, draft note withdrawn"
    """
    from archa.lifecycle.versions import UpdateOptions, update_aip

    ctx.meta["archa.json"] = as_json
    pairs = []
    for item in adds:
        src, sep, lp = item.rpartition("=")
        if not sep or not src or not lp:
            raise click.UsageError(f"--add {item!r}: give FILE=LOGICAL_PATH")
        pairs.append((Path(src), lp))
    with open_repo(repo_path) as repo:
        r = update_aip(repo, UpdateOptions(aip_id_of(repo, aip_id), reason, tuple(pairs), removes, metadata, jobs=jobs,
                                           withdraw_from_proposal=withdraw))
    if as_json:
        emit_json(r.as_dict())
    else:
        for p in r.withdrawn:
            click.echo(f"taken out of the disposal proposal {p} (recorded in the event log)")
        click.echo(f"{r.aip_id} {r.version} (from {r.previous}){': an interrupted run finished' if r.finished else ''}"
                   f": {len(r.added)} added, {len(r.replaced)} replaced, {len(r.removed)} removed"
                   f"{', descriptive metadata replaced' if r.metadata else ''}; {r.files} files, "
                   f"{human_bytes(r.bytes)}; copies: {', '.join(r.copies)}"
                   + ("" if r.stored else "  (NOT stored: the placement policy needs more copies)"))
        for f in r.copy_failures:
            click.echo(f"  error: copy to {f['location']} failed: {f['error']}", err=True)
            if f.get("hint"):
                click.echo(f"  hint: {f['hint']}; then run `archa storage sync`", err=True)
    if not r.stored or r.copy_failures:
        ctx.exit(EXIT_PROBLEMS)
