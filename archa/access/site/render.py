"""The pages of the public site (archa/lifecycle/publish.py writes them): every page in the
frame of `page.html`, every value HTML-escaped here, scripts and styles from this folder."""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from typing import Any

from archa.metadata.description import Description

PRESENTATION = "http://iiif.io/api/presentation/3/context.json"
FIELD_LABELS = {"title": "Title", "identifier": "Identifier", "sign": "Filing code", "ref": "Reference number",
                "originator": "Originator", "author": "Author"}


def template(name: str) -> str:
    """A file of this folder (page.html, site.css, record.js, search.js)."""
    return (resources.files("archa.access.site") / name).read_text("utf-8")


def count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def page(root: str, site: str, title: str, body: str, scripts: str = "") -> bytes:
    """A page in the common frame; `root` is the relative way to the site's top ('' or '../../')."""
    values = {"lang": "cs", "root": root, "site": html.escape(site), "title": html.escape(title),
              "scripts": scripts, "body": body}
    # one pass: a value holding "{{body}}" is text, never a placeholder filled again
    text = re.sub(r"\{\{(\w+)\}\}", lambda m: values.get(m.group(1), m.group(0)), template("page.html"))
    return text.encode("utf-8")


def record_page(site: str, aip_id: str, build: str, desc: Description, title: str, originator: str,
                viewer: list[tuple[str, str, dict[str, Any]]]) -> bytes:
    """records/<uuid>/index.html: the record's description, and a page viewer over `viewer`
    ((key, label, info.json) per page, its services under `build`/iiif/<key>) when it has pages."""
    rows = [("Date", desc.date)] if desc.date else []
    if originator:
        rows.append(("Originator", originator))
    rows += [(FIELD_LABELS.get(f, f), v) for f, v in desc.values if (f, v) not in (("title", title),
                                                                                   ("originator", originator))]
    if ("Identifier", aip_id) not in rows:
        rows.append(("Record", aip_id))
    grouped: dict[str, list[str]] = {}
    for k, v in rows:
        grouped.setdefault(k, []).append(html.escape(v))
    meta = "".join(f"<dt>{html.escape(k)}</dt><dd>{'<br>'.join(vs)}</dd>" for k, vs in grouped.items())
    about = f'<h1>{html.escape(title)}</h1><dl class="meta">{meta}</dl>'
    if not viewer:
        return page("../../", site, title, f'<div id="record"><div class="about">{about}</div></div>')
    thumbs, sources = [], []
    for key, label, info in viewer:
        w, h = (info["sizes"][0]["width"], info["sizes"][0]["height"]) if info.get("sizes") else (0, 0)
        src = f"{build}/iiif/{key}/full/{w},{h}/0/default.jpg"
        thumbs.append(f'<li><a href="#{key}"><img alt="" loading="lazy" src="{html.escape(src)}">'
                      f"{html.escape(label)}</a></li>")
        sources.append({**info, "id": f"{build}/iiif/{key}"})  # relative: works from file://
    data = json.dumps({"prefix": "../../viewer/images/", "sources": sources}).replace("</", "<\\/")
    body = (f'<div id="record"><div class="about">{about}<p class="muted"><a href="{build}/manifest.json">'
            f'IIIF manifest</a></p><ol class="pages">{"".join(thumbs)}</ol></div>'
            f'<div class="view"><div id="viewer"></div><div id="label"></div></div></div>'
            f'<script type="application/json" id="sources">{data}</script>')
    scripts = '<script src="../../viewer/openseadragon.min.js"></script><script src="../../record.js"></script>'
    return page("../../", site, title, body, scripts)


def _pages(entry: dict[str, Any]) -> str:
    n = int(entry.get("pages") or 0)
    return count(n, "page", "pages") if n else ""


def collection_page(site: str, key: str, label: str, records: list[tuple[str, dict[str, Any]]]) -> bytes:
    """collections/<key>.html: the records ((AIP id, its publish state entry)) in the order given."""
    items = "".join(
        f'<li><a href="../records/{a.removeprefix("urn:uuid:")}/index.html">{html.escape(str(e["title"]))}</a>'
        f'<div class="muted">{html.escape(" · ".join(x for x in (str(e.get("date") or ""), _pages(e)) if x))}'
        "</div></li>" for a, e in records)
    body = (f'<h1>{html.escape(label)}</h1><p class="muted">{count(len(records), "record", "records")} · '
            f'<a href="{key}.json">IIIF collection</a></p><ul class="list" id="records">{items}</ul>')
    return page("../", site, label, body)


def home_page(site: str, collections: list[dict[str, Any]], records: int) -> bytes:
    """index.html: the collections ({slug, name, records, pages})."""
    rows = "".join(f'<li><a href="collections/{c["slug"]}.html">{html.escape(c["name"])}</a>'
                   f'<div class="muted">{count(c["records"], "record", "records")} · '
                   f'{count(c["pages"], "page", "pages")}</div></li>' for c in collections)
    body = (f'<h1>{html.escape(site)}</h1><p class="muted">{count(records, "record", "records")} in '
            f'{count(len(collections), "collection", "collections")} · <a href="collection.json">IIIF collection</a>'
            f' · <a href="search.html">search</a></p><ul class="list" id="collections">{rows}</ul>')
    return page("", site, site, body)


def search_page(site: str) -> bytes:
    """search.html: the form and the results search.js fills in (search.html?q=WORDS)."""
    body = ('<h1>Search</h1><form id="search" role="search"><input type="search" id="q" name="q" '
            'aria-label="Words to find" autofocus> <button type="submit">Search</button></form>'
            '<p class="muted">Every word must occur; case and diacritics do not matter; <code>word*</code> '
            'matches the beginning of a word.</p><p id="status"></p><div id="results"></div>')
    return page("", site, f"Search · {site}", body,
                '<script src="search/site.js"></script><script src="search.js"></script>')


def iiif_collection(id_: str, label: str, items: list[dict[str, Any]]) -> bytes:
    """A IIIF Presentation 3 Collection of `items` (manifests or collections)."""
    doc = {"@context": PRESENTATION, "id": id_, "type": "Collection", "label": {"none": [label]}, "items": items}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
