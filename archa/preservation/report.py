"""`archa report`: the holdings on one self-contained HTML page, charts drawn as inline SVG.

Nothing is fetched when the page is opened (no script, no font, no style from elsewhere):
it works offline, from a USB stick, in a mail attachment. Sections: storage per originator
and tier against quotas and the reserved capacity, growth over time, the format profile
(unidentified files and formats the policy marks at risk), fixity (age of the last audit of
every copy, failures and repairs per month), retention falling due per year and sign, the
disposal proposals.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import archa
from archa.repository.durable import write_durable
from archa.repository.repo import Repository
from archa.units import human_bytes

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096", "#d69e2e", "#319795")
AGE_BUCKETS = ("never", "< 30 days", "30-90 days", "90-365 days", "> 1 year")


@dataclass(frozen=True)
class ReportOptions:
    out: Path
    originator: str | None = None
    capacity: int | None = None  # reserved bytes (e.g. 16 TB), drawn as a line
    force: bool = False


# --- SVG ----------------------------------------------------------------------------------------

def bar_chart(title: str, categories: list[str], series: dict[str, list[float]], fmt: Any = str,
              limits: dict[str, float] | None = None, line: tuple[str, float] | None = None,
              width: int = 760) -> str:
    """A horizontal stacked bar chart as SVG: a bar per category, a segment per series;
    `limits` marks a per-category value (a quota), `line` one value across all (capacity)."""
    e = html.escape
    row, left, right, top = 26, 200, 120, 34
    height = top + row * max(len(categories), 1) + 40
    totals = [sum(s[i] for s in series.values()) for i in range(len(categories))]
    peak = max([*totals, *(limits or {}).values(), line[1] if line else 0, 1])
    scale = (width - left - right) / peak
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title>{e(title)}</title>'),
             f'<text x="0" y="18" font-weight="bold" font-size="15">{e(title)}</text>']
    if not categories:
        parts.append(f'<text x="{left}" y="{top + 16}" fill="#718096">nothing yet</text>')
    for i, cat in enumerate(categories):
        y = top + i * row
        parts.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" font-size="12">{e(cat[:32])}</text>')
        x = float(left)
        for k, (name, values) in enumerate(series.items()):
            w = values[i] * scale
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 8}" '
                             f'fill="{PALETTE[k % len(PALETTE)]}"><title>{e(cat)}: {e(name)} '
                             f'{e(fmt(values[i]))}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}" font-size="12">{e(fmt(totals[i]))}</text>')
        if limits and cat in limits:
            lx = left + limits[cat] * scale
            parts.append(f'<line x1="{lx:.1f}" x2="{lx:.1f}" y1="{y}" y2="{y + row - 2}" stroke="#c53030" '
                         f'stroke-width="3"><title>quota {e(fmt(limits[cat]))}</title></line>')
    if line:
        lx = left + line[1] * scale
        bottom = top + row * max(len(categories), 1)
        parts.append(f'<line x1="{lx:.1f}" x2="{lx:.1f}" y1="{top - 4}" y2="{bottom}" stroke="#c53030" '
                     f'stroke-dasharray="6 4" stroke-width="2"/><text x="{lx - 4:.1f}" y="{bottom + 16}" '
                     f'text-anchor="end" font-size="12" fill="#c53030">{e(line[0])} {e(fmt(line[1]))}</text>')
    legend_y = height - 8
    for k, name in enumerate(series):
        lx = left + k * 105
        parts.append(f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" fill="{PALETTE[k % len(PALETTE)]}"/>'
                     f'<text x="{lx + 16}" y="{legend_y}" font-size="12">{e(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# --- figures ------------------------------------------------------------------------------------

def build_report(repo: Repository, opts: ReportOptions) -> str:
    """The page's HTML."""
    from archa.preservation.overview import overview

    e = html.escape
    if opts.originator:
        repo.catalog.originator(opts.originator, repo.hot_location)  # NotFoundError
    figures, mine = repo.catalog.reports, opts.originator
    o = overview(repo)
    tiers = {loc.name: loc.tier for loc in repo.config.locations}
    sections = []

    # storage per originator and tier, quotas, capacity
    per: dict[str, dict[str, float]] = {}
    for orig, loc, size in figures.stored_bytes(mine):
        tier = tiers.get(loc, "?")
        per.setdefault(orig, {})[tier] = per.setdefault(orig, {}).get(tier, 0) + (size or 0)
    names = sorted(per)
    tier_names = sorted({t for d in per.values() for t in d}, key=lambda t: ("hot", "warm", "cold").index(t)
                        if t in ("hot", "warm", "cold") else 9)
    quotas = {r["id"]: float(r["quota_bytes"]) for r in o.originators if r["quota_bytes"] and r["id"] in per}
    stored = {t: sum(d.get(t, 0) for d in per.values()) for t in tier_names}
    capacity = bar_chart("Bytes stored (every copy) against the reserved capacity", ["all originators"],
                         {t: [stored[t]] for t in tier_names}, lambda v: human_bytes(int(v)),
                         line=("reserved", float(opts.capacity))) if opts.capacity else ""
    sections.append(("Storage per originator and tier", capacity + bar_chart(
        "Bytes stored per originator (every copy), by tier", names,
        {t: [per[n].get(t, 0) for n in names] for t in tier_names}, lambda v: human_bytes(int(v)),
        limits=quotas)
        + "<p>The red marks are the originators' quotas (bytes of one copy).</p>"))

    # growth: bytes and AIPs by month of ingest
    growth = figures.growth(mine)
    running, cumulative = 0.0, []
    for _m, b, _n in growth:
        running += b or 0
        cumulative.append(running)
    sections.append(("Growth", bar_chart("Bytes ingested (one copy, every version), cumulative by month",
                                         [m for m, _b, _n in growth], {"bytes": cumulative},
                                         lambda v: human_bytes(int(v)))))

    # formats
    fmts = figures.head_formats(mine)
    at_risk = repo.policy.formats.at_risk
    top = fmts[:15]
    label = [f"{p} {n or ''}".strip() for p, n, _c, _b in top]
    risky = sum(c for p, _n, c, _b in fmts if p == "UNKNOWN" or p in at_risk)
    sections.append(("Formats", bar_chart(
        "Payload files per format (the 15 most common)", label,
        {"ok": [0 if p == "UNKNOWN" or p in at_risk else c for p, _n, c, _b in top],
         "unidentified or at risk": [c if p == "UNKNOWN" or p in at_risk else 0 for p, _n, c, _b in top]},
        lambda v: f"{int(v)} files")
        + f"<p>{risky} files are unidentified or in a format the policy marks at risk "
          f"({', '.join(sorted(at_risk)) or 'none marked'}); {len(fmts)} formats in all.</p>"
        + _migration_note(repo, fmts, at_risk, mine)))

    # fixity: age of the last audit per tier; failures and repairs per month
    now = datetime.now(UTC)
    ages: dict[str, list[float]] = {b: [0.0] * len(tier_names or ["hot"]) for b in AGE_BUCKETS}
    for loc, last in figures.last_audits(mine):
        tier = tiers.get(loc, "?")
        if tier not in tier_names:
            continue
        if not last:
            bucket = AGE_BUCKETS[0]
        else:
            days = (now - datetime.fromisoformat(last)).days
            bucket = AGE_BUCKETS[1 if days < 30 else 2 if days < 90 else 3 if days < 365 else 4]
        ages[bucket][tier_names.index(tier)] += 1
    events = figures.fixity_months(mine)
    sections.append(("Fixity", bar_chart("Copies by the age of their last fixity audit", tier_names,
                                         ages, lambda v: f"{int(v)} copies")
                     + bar_chart("Fixity failures and repairs per month", [m for m, _f, _r in events],
                                 {"failures": [f or 0 for _m, f, _r in events],
                                  "repairs": [r or 0 for _m, _f, r in events]}, lambda v: str(int(v)))
                     + f"<p>Copies damaged: {o.copies['damaged']}, missing: {o.copies['missing']}, "
                       f"overdue for audit: {o.audits_overdue}.</p>"))

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

    attention = "".join(f"<li>{e(x)}</li>" for x in o.needs_person) or "<li>nothing: all well</li>"
    body = "".join(f'<section><h2>{e(t)}</h2>{content}</section>\n' for t, content in sections)
    scope = f" — originator {e(opts.originator)}" if opts.originator else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>archa report{scope}</title><style>body{{font-family:sans-serif;margin:2em;max-width:60em}}"
            "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em .6em;text-align:left}"
            "svg.chart{display:block;margin:1em 0}section{margin-bottom:2em}.kpi{font-size:1.2em}"
            "@media print{section{break-inside:avoid}}</style></head><body>\n"
            f"<h1>archa report{scope}</h1>\n<p class=\"kpi\">{o.aips} AIPs, {o.files} files, "
            f"{e(human_bytes(o.bytes))} (one copy); {o.removed} removed by disposal; copies: {o.copies['ok']} ok, "
            f"{o.copies['damaged']} damaged, {o.copies['missing']} missing.</p>\n"
            f"<h2>Needs a person</h2><ul>{attention}</ul>\n{body}"
            f"<p><small>{e(str(repo.root))}, archa {archa.__version__}, "
            f"{now.strftime('%Y-%m-%d %H:%M')} UTC</small></p>\n</body></html>\n")


def write_report(repo: Repository, opts: ReportOptions) -> Path:
    """Write the page to `opts.out` durably (refusing an existing file unless `force`)."""
    from archa.repository.durable import check_target

    out = opts.out.absolute()
    check_target(out, force=opts.force)
    write_durable(out, build_report(repo, opts).encode("utf-8"), overwrite=opts.force)
    return out


def _migration_note(repo: Repository, fmts: list[Any], at_risk: frozenset[str], originator: str | None) -> str:
    """A paragraph on preservation actions: files a pathway takes, files at risk that none
    takes, files migrated and files whose last migration failed (of `originator`'s AIPs)."""
    from archa.preservation.overview import failed_migrations
    from archa.preservation.pathway_policy import pathway_table

    table = pathway_table(repo.policy.migration)
    events = repo.catalog.reports.migration_events()
    if originator:
        theirs = {a["id"] for a in repo.catalog.aips(originator)}
        events = [e for e in events if e["aip_id"] in theirs]
    taken = sum(c for p, _n, c, _b in fmts if p in table)
    orphans = sum(c for p, _n, c, _b in fmts if p in at_risk and p not in table)
    done = sum(1 for e in events if e["outcome"] == "success")
    failed = len(failed_migrations(events))
    return (f"<p>Preservation actions: {taken} files are in a format a migration pathway takes "
            f"(<code>archa migrate --all</code>), {orphans} files at risk have no pathway; {done} files were "
            f"migrated" + (f", <strong>{failed} files whose last migration failed</strong>" if failed else "")
            + ".</p>")
