"""`archa report`: the holdings on one self-contained HTML page, charts drawn as inline SVG
(charts.py).

Nothing is fetched when the page is opened (no script, no font, no style from elsewhere):
it works offline, from a USB stick, in a mail attachment. At the top what needs a person
(overview.py's list, as `archa status` shows it); then sections: bytes at the locations per
originator and tier against the reserved capacity, stored bytes against the quotas (when
any is set), growth over time, the format profile (unidentified files and formats the
policy marks at risk), fixity (the copies by their last audit, failures and repairs per
month), retention falling due per year and sign, the disposal proposals. Every text says
what its chart draws and nothing it does not; sizes carry the names overview.py defines.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import archa
from archa.preservation.charts import bar_chart
from archa.preservation.overview import Overview, migrations, overview
from archa.repository.durable import write_durable
from archa.repository.repo import Repository
from archa.units import human_bytes

# the copies by their last fixity audit, each bucket in its colour: healthy green for audits in
# time, warning colours for copies never audited or overdue, red for those the last audit failed
AUDIT_BUCKETS = {"audited < 30 days ago": "#38a169", "audited in time": "#319795", "never audited": "#d69e2e",
                 "overdue": "#dd6b20", "damaged or missing": "#c53030"}


@dataclass(frozen=True)
class ReportOptions:
    out: Path
    originator: str | None = None
    capacity: int | None = None  # reserved bytes (e.g. 16 TB), drawn as a line
    force: bool = False


# --- figures ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportWritten:
    path: Path
    needs_person: list[str]  # what the page lists as needing a person (overview.py)


def build_report(repo: Repository, opts: ReportOptions, o: Overview | None = None) -> str:
    """The page's HTML (`o`: the overview it shows, made here when not given)."""
    e = html.escape
    if opts.originator:
        repo.catalog.originator(opts.originator, repo.hot_location)  # NotFoundError
    figures, mine = repo.catalog.reports, opts.originator
    o = o or overview(repo)
    tiers = {loc.name: loc.tier for loc in repo.config.locations}
    now = datetime.now(UTC)
    sections = [("Storage per originator and tier", _storage(repo, opts, o, tiers))]

    # growth: stored bytes by the month each version was made
    running, cumulative, months = 0.0, [], []
    for m, b, _n in figures.growth(repo.hot_location, mine):
        running += b or 0
        cumulative.append(running)
        months.append(m)
    sections.append(("Growth", bar_chart(
        "Stored bytes, cumulative by the month each version was made", months, {"stored": cumulative},
        _size)
        + "<p>Stored bytes: one copy of every version of the records held now, as the hot location keeps it. "
          "A version counts what it added (an update its new or changed files, archa's metadata and "
          "inventory), never the files it keeps from the version before.</p>"))

    # formats
    fmts = figures.head_formats(mine)
    at_risk = repo.policy.formats.at_risk
    top = fmts[:15]
    label = [f"{p} {n or ''}".strip() for p, n, _c, _b in top]
    risky = sum(c for p, _n, c, _b in fmts if p == "UNKNOWN" or p in at_risk)
    held_at_risk = sorted(p for p, _n, _c, _b in fmts if p in at_risk)
    listed = (f"the policy marks {len(at_risk)} formats at risk (formats.at_risk), "
              f"{len(held_at_risk)} of them held here{': ' + ', '.join(held_at_risk) if held_at_risk else ''}"
              if at_risk else "the policy marks no format at risk (formats.at_risk)")
    sections.append(("Formats", bar_chart(
        "Payload files per format (the 15 most common)", label,
        {"ok": [0 if p == "UNKNOWN" or p in at_risk else c for p, _n, c, _b in top],
         "unidentified or at risk": [c if p == "UNKNOWN" or p in at_risk else 0 for p, _n, c, _b in top]},
        lambda v: f"{int(v)} files", colours={"ok": "#38a169", "unidentified or at risk": "#dd6b20"})
        + f"<p>{risky} files are unidentified or in a format the policy marks at risk; {e(listed)}; "
          f"{len(fmts)} formats in all.</p>"
        + _migration_note(repo, fmts, at_risk, mine)))

    # fixity: the copies by their last audit per tier; failures and repairs per month
    audits = figures.last_audits(mine)
    tier_names = _tier_order({tiers.get(loc, "?") for loc, _last, _state in audits})
    buckets: dict[str, list[float]] = {b: [0.0] * len(tier_names) for b in AUDIT_BUCKETS}
    intervals = repo.policy.fixity.interval_days
    for loc, last, state in audits:
        tier = tiers.get(loc, "?")
        buckets[_audit_bucket(state, last, intervals.get(tier), now)][tier_names.index(tier)] += 1
    drawn = {b: v for b, v in buckets.items() if any(v)}
    events = figures.fixity_months(mine)
    sections.append(("Fixity", bar_chart("Copies by their last fixity audit, per tier", tier_names, drawn,
                                         lambda v: f"{int(v)} copies", colours=AUDIT_BUCKETS)
                     + _audit_note(drawn, {t: intervals[t] for t in tier_names if t in intervals})
                     + bar_chart("Fixity failures and repairs per month", [m for m, _f, _r in events],
                                 {"failures": [f or 0 for _m, f, _r in events],
                                  "repairs": [r or 0 for _m, _f, r in events]}, lambda v: str(int(v)),
                                 colours={"failures": "#c53030", "repairs": "#38a169"})
                     + f"<p>Copies damaged: {o.copies['damaged']}, missing: {o.copies['missing']}, "
                       f"overdue for audit: {o.audits_overdue}, never audited: {o.never_audited}.</p>"))

    # retention falling due
    due = figures.retention_ends(mine)
    years = sorted({str(y) for y, _s, _n in due})
    sections.append(("Retention", bar_chart(
        "Records whose retention ends, per year and sign (A offer, V review, S destroy)", years,
        {s: [float(sum(n for y, sg, n in due if str(y) == yr and sg == s)) for yr in years] for s in "AVS"},
        lambda v: f"{int(v)} records")))

    # disposal proposals
    props = figures.proposal_progress(mine)
    table = "".join(f"<tr><td>{e(p)}</td><td>{e(s)}</td><td>{y}</td><td>{n}</td><td>{d or 0}</td>"
                    f"<td>{c or 0}</td></tr>" for p, s, y, n, d, c in props) or \
        "<tr><td colspan=\"6\">no proposals yet</td></tr>"
    sections.append(("Disposal procedure", ("<table><tr><th>Proposal</th><th>State</th><th>Due by</th>"
                     f"<th>Records</th><th>Destroyed</th><th>Taken over by the archive</th></tr>{table}</table>"
                     f"<p>Legal holds in force: {o.holds}.</p>")))

    # legal holds in force: each keeps its record out of every disposal step
    holds = [h for h in repo.catalog.lifecycle.holds() if not mine or h["originator_id"] == mine]
    rows = "".join(f"<tr><td>{h['id']}</td><td>{e(h['aip_id'])}</td><td>{e(h['label'] or '')}</td>"
                   f"<td>{e(str(h['placed'])[:10])}</td><td>{e(h['placed_by'] or '')}</td><td>{e(h['reason'] or '')}</td>"
                   "</tr>" for h in holds) or "<tr><td colspan=\"6\">no hold in force</td></tr>"
    sections.append(("Legal holds", ("<table><tr><th>Hold</th><th>Record</th><th>Title</th><th>Placed</th>"
                     f"<th>By</th><th>Reason</th></tr>{rows}</table>"
                     "<p>A record under a hold is left out of disposal proposals, transfers and destruction "
                     "until its holds are released (<code>archa hold remove HOLD_ID --reason TEXT</code>).</p>")))

    attention = "".join(f"<li>{e(x)}</li>" for x in o.needs_person) or "<li>nothing: all well</li>"
    needs = (f"<h2>Needs a person: {len(o.needs_person)}</h2>" if o.needs_person else "<h2>Needs a person</h2>") \
        + ("<p>(in the whole repository)</p>" if opts.originator else "")
    body = "".join(f'<section><h2>{e(t)}</h2>{content}</section>\n' for t, content in sections)
    scope = f" — originator {e(opts.originator)}" if opts.originator else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>archa report{scope}</title><style>body{{font-family:sans-serif;margin:2em;max-width:60em}}"
            "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em .6em;text-align:left}"
            "svg.chart{display:block;margin:1em 0}section{margin-bottom:2em}.kpi{font-size:1.2em}"
            "@media print{section{break-inside:avoid}}</style></head><body>\n"
            f"<h1>archa report{scope}</h1>\n<p class=\"kpi\">{o.aips} AIPs; payload {o.payload_files} files, "
            f"{e(human_bytes(o.payload_bytes))}; stored {e(human_bytes(o.stored_bytes))}; {o.removed} removed by "
            f"disposal; copies: {o.copies['ok']} ok, {o.copies['damaged']} damaged, {o.copies['missing']} missing.</p>\n"
            f"<p>{e(SIZES)}</p>\n"
            f"{needs}<ul>{attention}</ul>\n{body}"
            f"<p><small>{e(str(repo.root))}, archa {archa.__version__}, "
            f"{now.strftime('%Y-%m-%d %H:%M')} UTC</small></p>\n</body></html>\n")


SIZES = ("Sizes: payload is the records' files as submitted (no bag tag files, no metadata archa adds); "
         "stored is one copy of every version as the hot location keeps it (what each version added, "
         "archa's METS, PREMIS and inventories included); a location's or tier's bytes are what its copies "
         "take there (packed copies compressed).")


def _storage(repo: Repository, opts: ReportOptions, o: Overview, tiers: dict[str, str]) -> str:
    """The storage section: bytes at the locations per tier against the reserved capacity,
    per originator and tier, and (when any is set) stored bytes per originator against their
    quotas."""
    figures, mine = repo.catalog.reports, opts.originator
    per: dict[str, dict[str, float]] = {}
    for orig, loc, size in figures.stored_bytes(mine):
        tier = tiers.get(loc, "?")
        per.setdefault(orig, {})[tier] = per.setdefault(orig, {}).get(tier, 0) + (size or 0)
    names = sorted(per)
    tier_names = _tier_order({t for d in per.values() for t in d})
    out = ""
    if opts.capacity:
        at = {t: sum(d.get(t, 0) for d in per.values()) for t in tier_names}
        out += bar_chart("Bytes at the locations (every copy) against the reserved capacity", ["all originators"],
                         {t: [at[t]] for t in tier_names}, _size, line=("reserved", float(opts.capacity)))
    out += bar_chart("Bytes at the locations per originator (every copy), by tier", names,
                     {t: [per[n].get(t, 0) for n in names] for t in tier_names}, _size)
    quotas = {r["id"]: float(r["quota_bytes"]) for r in o.originators if r["quota_bytes"] and r["id"] in per}
    if quotas:
        stored = {r["id"]: float(r["bytes"]) for r in o.originators if r["id"] in per}
        out += (bar_chart("Stored bytes per originator (one copy of every version) against their quotas", names,
                          {"stored": [stored.get(n, 0.0) for n in names]}, _size, limits=quotas)
                + "<p>The red marks are the originators' quotas, which count stored bytes (one copy).</p>")
    return out


_BUCKET_MEANING = {
    "audited < 30 days ago": "read back and verified in the last 30 days",
    "audited in time": "verified within the interval the policy sets for their tier ({intervals})",
    "never audited": "not read back since they were written (<code>archa fixity audit</code> takes them first)",
    "overdue": "last verified longer ago than their tier's interval (<code>archa fixity audit</code>)",
    "damaged or missing": "their last audit found them damaged or missing (<code>archa repair</code>, "
                          "<code>archa storage sync</code>)",
}


def _audit_note(drawn: dict[str, list[float]], intervals: dict[str, int]) -> str:
    """A paragraph saying what each bucket drawn in the audit chart means (none: nothing)."""
    if not drawn:
        return ""
    every = html.escape(", ".join(f"{t} {d} days" for t, d in intervals.items()) or "none")
    return "<p>" + "; ".join(f"{html.escape(b)}: {_BUCKET_MEANING[b].format(intervals=every)}" for b in drawn) \
        + ".</p>"


def _size(v: float) -> str:
    return human_bytes(int(v))


def _tier_order(tiers: set[str]) -> list[str]:
    order = ("hot", "warm", "cold")
    return sorted(tiers, key=lambda t: (order.index(t) if t in order else len(order), t))


def _audit_bucket(state: str, last: str | None, interval_days: int | None, now: datetime) -> str:
    """Which of AUDIT_BUCKETS a copy falls in, by its state, last audit and tier's interval."""
    if state != "ok":
        return "damaged or missing"
    if not last:
        return "never audited"
    age = now - datetime.fromisoformat(last)
    if interval_days is not None and age >= timedelta(days=interval_days):
        return "overdue"
    return "audited < 30 days ago" if age < timedelta(days=30) else "audited in time"


def write_report(repo: Repository, opts: ReportOptions) -> ReportWritten:
    """Write the page to `opts.out` durably (refusing an existing file unless `force`); says
    where, and what the page lists as needing a person."""
    from archa.repository.durable import check_target

    out = opts.out.absolute()
    check_target(out, force=opts.force)
    o = overview(repo)
    write_durable(out, build_report(repo, opts, o).encode("utf-8"), overwrite=opts.force)
    return ReportWritten(out, o.needs_person)


def _migration_note(repo: Repository, fmts: list[Any], at_risk: frozenset[str], originator: str | None) -> str:
    """A paragraph on preservation actions: files a pathway takes, files at risk that none
    takes, files migrated and files whose last migration failed (of `originator`'s AIPs)."""
    from archa.preservation.pathway_policy import pathway_table

    table = pathway_table(repo.policy.migration)
    done = migrations(repo, originator)
    taken = sum(c for p, _n, c, _b in fmts if p in table)
    orphans = sum(c for p, _n, c, _b in fmts if p in at_risk and p not in table)
    failed = len(done.failed)
    return (f"<p>Preservation actions: {taken} files are in a format a migration pathway takes "
            f"(<code>archa migrate --all</code>), {orphans} files at risk have no pathway; {done.migrated} files "
            f"were migrated" + (f", <strong>{failed} files whose last migration failed</strong>" if failed else "")
            + ".</p>")
