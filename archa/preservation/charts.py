"""Charts for `archa report`: horizontal stacked bar charts drawn as inline SVG by archa
(nothing is fetched when the page is opened).

Labels are never cut where a reader cannot tell: the left margin grows to the longest
category label (up to `MAX_LABEL_PX`), and a label longer than that ends in an ellipsis
with the whole text in a `<title>` (shown on hover). Text widths are estimated from the
characters (12 px sans-serif, a little generously), since nothing measures them before
the page is opened.
"""

from __future__ import annotations

import html
from collections.abc import Callable

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096", "#d69e2e", "#319795")
FONT_PX = 12
MAX_LABEL_PX = 330  # the widest left margin a category label may take
_NARROW = set("ijlI.,:;|!'`()[]{}/\\ -tfr")
_WIDE = set("mwMW@%")


def text_width(text: str, size: int = FONT_PX) -> float:
    """A generous estimate of the width of `text` in pixels at `size` px sans-serif."""
    em = sum(0.36 if ch in _NARROW else 0.95 if ch in _WIDE else 0.74 if ch.isupper() else 0.6 for ch in text)
    return em * size


def fit(text: str, px: float, size: int = FONT_PX) -> str:
    """`text` as it fits in `px` pixels: whole, or cut at the end with an ellipsis."""
    if text_width(text, size) <= px:
        return text
    while text and text_width(text + "…", size) > px:
        text = text[:-1]
    return text.rstrip() + "…"


def label(x: float, y: float, text: str, px: float, anchor: str = "end", size: int = FONT_PX,
          fill: str = "", bold: bool = False) -> str:
    """An SVG text of `text` fitted to `px` pixels (`fit`); a cut one carries the whole text
    in its <title>."""
    e = html.escape
    shown = fit(text, px, size)
    title = f"<title>{e(text)}</title>" if shown != text else ""
    extra = (f' fill="{fill}"' if fill else "") + (' font-weight="bold"' if bold else "")
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"{extra}>'
            f"{title}{e(shown)}</text>")


def bar_chart(title: str, categories: list[str], series: dict[str, list[float]],
              fmt: Callable[[float], str] = str, limits: dict[str, float] | None = None,
              line: tuple[str, float] | None = None, colours: dict[str, str] | None = None,
              width: int = 760) -> str:
    """A horizontal stacked bar chart as SVG: a bar per category, a segment per series (in
    `colours[name]`, else the palette's next colour); `limits` marks a per-category value
    (a quota), `line` one value across all (capacity). Every category label is shown whole,
    or ellipsised with the whole text on hover."""
    e = html.escape
    colour = {name: (colours or {}).get(name) or PALETTE[k % len(PALETTE)] for k, name in enumerate(series)}
    row, right, top = 26, 120, 34
    left = min(max([text_width(c) for c in categories] + [60.0]) + 16, MAX_LABEL_PX + 16)
    legend = _legend_layout(list(series), left, width) if categories else []  # nothing drawn, nothing to name
    height = top + row * max(len(categories), 1) + 16 + 18 * (legend[-1][2] + 1 if legend else 0)
    totals = [sum(s[i] for s in series.values()) for i in range(len(categories))]
    peak = max([*totals, *(limits or {}).values(), line[1] if line else 0, 1])
    scale = (width - left - right) / peak
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}"><title>{e(title)}</title>'),
             label(0, 18, title, width, anchor="start", size=15, bold=True)]
    if not categories:
        parts.append(f'<text x="{left:.1f}" y="{top + 16}" fill="#718096">nothing yet</text>')
    for i, cat in enumerate(categories):
        y = top + i * row
        parts.append(label(left - 8, y + 16, cat, left - 16))
        x = float(left)
        for name, values in series.items():
            w = values[i] * scale
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 8}" '
                             f'fill="{colour[name]}"><title>{e(cat)}: {e(name)} '
                             f'{e(fmt(values[i]))}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}" font-size="{FONT_PX}">{e(fmt(totals[i]))}</text>')
        if limits and cat in limits:
            lx = left + limits[cat] * scale
            parts.append(f'<line x1="{lx:.1f}" x2="{lx:.1f}" y1="{y}" y2="{y + row - 2}" stroke="#c53030" '
                         f'stroke-width="3"><title>quota {e(fmt(limits[cat]))}</title></line>')
    if line:
        lx = left + line[1] * scale
        bottom = top + row * max(len(categories), 1)
        parts.append(f'<line x1="{lx:.1f}" x2="{lx:.1f}" y1="{top - 4}" y2="{bottom}" stroke="#c53030" '
                     f'stroke-dasharray="6 4" stroke-width="2"/>'
                     + label(lx - 4, bottom + 14, f"{line[0]} {fmt(line[1])}", lx - 4, fill="#c53030"))
    y0 = top + row * max(len(categories), 1) + 28
    for name, x, n in legend:
        y = y0 + 18 * n
        parts.append(f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" fill="{colour[name]}"/>'
                     + label(x + 16, y, name, width - x - 16, anchor="start"))
    parts.append("</svg>")
    return "".join(parts)


def _legend_layout(names: list[str], left: float, width: int) -> list[tuple[str, float, int]]:
    """Where each series' swatch and name go in the legend: (name, x, row), in rows that fit
    `width` from `left` on."""
    out, x, n = [], left, 0
    for name in names:
        w = 16 + text_width(name) + 18
        if x + w > width and x > left:
            x, n = left, n + 1
        out.append((name, x, n))
        x += w
    return out
