"""`archa events` and `archa events verify`."""

from __future__ import annotations

import click
from lxml import etree

from archa.cli.common import emit_json, open_repo, repo_option
from archa.repository.events import recorded_heads, verify_chain

PREMIS_NS = "http://www.loc.gov/premis/v3"


class _DefaultGroup(click.Group):
    """`archa events` lists; `archa events verify` checks the chain."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group("events", cls=_DefaultGroup)
def events() -> None:
    """The repository's event log (PREMIS events, hash-chained)."""


@events.command("list")
@click.option("--aip", "aip_id", help="Only this AIP's events.")
@click.option("--since", help="Only events at or after this date/time (ISO 8601, e.g. 2026-11-01).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--premis", is_flag=True, help="Print a PREMIS 3 document of the events.")
@repo_option
def events_list(aip_id: str | None, since: str | None, as_json: bool, premis: bool, repo_path: str | None) -> None:
    """List events, oldest first (also what plain `archa events` does).

    \b
    Example:
      archa events list --aip urn:uuid:0f6c... --since 2026-11-01 --premis
    """
    with open_repo(repo_path) as repo:
        rows = repo.catalog.events(aip_id)
    if since:
        rows = [r for r in rows if r["time"] >= since]
    if as_json:
        emit_json(rows)
    elif premis:
        xsi = "http://www.w3.org/2001/XMLSchema-instance"
        root = etree.Element(f"{{{PREMIS_NS}}}premis", nsmap={"premis": PREMIS_NS, "xsi": xsi}, version="3.0")
        # PREMIS needs at least one object: the AIPs the events concern (else the repository)
        for ident_value in sorted({r["aip_id"] for r in rows if r["aip_id"]}) or [repo.config.repository_id]:
            obj = etree.SubElement(root, f"{{{PREMIS_NS}}}object")
            obj.set(f"{{{xsi}}}type", "premis:intellectualEntity")
            oid = etree.SubElement(obj, f"{{{PREMIS_NS}}}objectIdentifier")
            etree.SubElement(oid, f"{{{PREMIS_NS}}}objectIdentifierType").text = "urn"
            etree.SubElement(oid, f"{{{PREMIS_NS}}}objectIdentifierValue").text = ident_value
        for r in rows:
            ev = etree.SubElement(root, f"{{{PREMIS_NS}}}event")
            ident = etree.SubElement(ev, f"{{{PREMIS_NS}}}eventIdentifier")
            etree.SubElement(ident, f"{{{PREMIS_NS}}}eventIdentifierType").text = "urn"
            etree.SubElement(ident, f"{{{PREMIS_NS}}}eventIdentifierValue").text = r["id"]
            etree.SubElement(ev, f"{{{PREMIS_NS}}}eventType").text = r["type"]
            etree.SubElement(ev, f"{{{PREMIS_NS}}}eventDateTime").text = r["time"]
            det = etree.SubElement(ev, f"{{{PREMIS_NS}}}eventDetailInformation")
            etree.SubElement(det, f"{{{PREMIS_NS}}}eventDetail").text = r["detail"]
            out = etree.SubElement(ev, f"{{{PREMIS_NS}}}eventOutcomeInformation")
            etree.SubElement(out, f"{{{PREMIS_NS}}}eventOutcome").text = r["outcome"]
            ag = etree.SubElement(ev, f"{{{PREMIS_NS}}}linkingAgentIdentifier")
            etree.SubElement(ag, f"{{{PREMIS_NS}}}linkingAgentIdentifierType").text = "urn"
            etree.SubElement(ag, f"{{{PREMIS_NS}}}linkingAgentIdentifierValue").text = r["agent"]
            if r["aip_id"]:
                ob = etree.SubElement(ev, f"{{{PREMIS_NS}}}linkingObjectIdentifier")
                etree.SubElement(ob, f"{{{PREMIS_NS}}}linkingObjectIdentifierType").text = "urn"
                etree.SubElement(ob, f"{{{PREMIS_NS}}}linkingObjectIdentifierValue").text = r["aip_id"]
        click.echo(etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="utf-8").decode())
    else:
        for r in rows:
            where = f" {r['location']}" if r["location"] else ""
            click.echo(f"{r['time'][:19]}  {r['type']:<27} {r['outcome']:<8} {r['aip_id'] or r['transfer_id'] or ''}"
                       f"{where}  {r['detail']}")


@events.command("verify")
@repo_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def events_verify(ctx: click.Context, repo_path: str | None, as_json: bool) -> None:
    """Check the event log's hash chain: an edited, deleted, inserted or reordered row is
    found and named; and the catalog against the copy of the log every storage location
    holds, so that rows cut from the end, or edited and re-hashed, are found too. Exit
    status 1 when the chain is broken.

    \b
    Example:
      archa events verify --repo /srv/archive
    """
    from archa.repository.eventlog import verify_anchors

    with open_repo(repo_path) as repo:
        n = len(repo.catalog.events())
        problems = verify_chain(repo.catalog.conn) + recorded_heads(repo.catalog.conn)
        anchored, behind = verify_anchors(repo)
    if as_json:
        emit_json({"events": n, "problems": [p.__dict__ for p in problems],
                   "storage": [p.__dict__ for p in anchored], "not_yet_in_storage": behind})
    else:
        for p in problems:
            click.echo(f"BROKEN at event {p.seq} ({p.event_id}): {p.problem}")
        for a in anchored:
            click.echo(f"BROKEN at event {a.seq}: {a.problem}")
        for loc, k in sorted(behind.items()):
            click.echo(f"note: {loc} does not hold the newest {k} events yet (the next writing command writes them)")
        bad = problems or anchored
        click.echo(f"{n} events, chain {'intact' if not bad else 'BROKEN'}"
                   + ("" if bad else f", matching the log in {len(repo.config.locations)} storage locations"))
    if problems or anchored:
        ctx.exit(1)
