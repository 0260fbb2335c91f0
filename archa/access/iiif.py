"""`archa dip export --format iiif`: a digitised volume as a static, offline IIIF package.

Layout of OUT (a directory):

    manifest.json             IIIF Presentation 3: one canvas per page (label from the
                              METS ORDERLABEL and the NDK page type: "[1] front cover",
                              a normal page by its number alone; `start` at the title
                              page), metadata from MODS, ranges from the logical
                              structure (chapters, articles)
    iiif/p0001/info.json      a level-0 IIIF Image API 3 service per page, with its JPEG
    iiif/p0001/...            tiles and sizes made from the user copy (archa/access/tiles.py)
    index.html                a page viewer (OpenSeadragon, vendored in viewer/) that works
                              from the file system with no network
    viewer/                   openseadragon.min.js and its button images

The user copies are read like every export (verified against the catalog, from the
cheapest healthy copy; damage found is recorded) and decoded by Pillow's OpenJPEG. Ids in
manifest.json and info.json start at `base_url` (default: OUT's file:// URL; give the
public URL when the folder is to be served). Built under a hidden sibling of OUT, renamed
when complete; one "dissemination" event records it.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from archa.access.fetch import Wanted, Writer, fetch
from archa.access.sinks import DirSink, EntryWriter
from archa.access.tiles import Tiled, info_json, tile_image
from archa.errors import StorageError, UsageError
from archa.repository.copying import ProgressFn
from archa.repository.durable import check_target, partial_sibling
from archa.repository.events import ARCHA_AGENT, Event
from archa.repository.pages import STRUCTURE, read_structure
from archa.repository.repo import Repository, remove_tree

PRESENTATION = "http://iiif.io/api/presentation/3/context.json"


@dataclass(frozen=True)
class IiifPage:
    seq: int
    label: str
    key: str  # p0001
    tiled: Tiled
    type: str = ""  # the NDK page type (titlePage, normalPage, ...)


def page_label(label: str, page_type: str) -> str:
    """A page's label for people: its ORDERLABEL, then its NDK page type in words unless it is
    a normal page ("[1] front cover", "[2] title page", "5")."""
    if not page_type or page_type in ("normalPage", "page"):
        return label
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", page_type).lower()
    return f"{label} {words}".strip()


class _Scratch:
    """Receives verified files (see fetch.Receiver) into a scratch folder: {logical path: file}."""

    def __init__(self, root: Path, alg: str) -> None:
        self.sink = DirSink(root, alg, concurrent=True)
        self.paths: dict[str, Path] = {}
        self.numbers = itertools.count(1)  # next() is atomic: entries come on two threads

    def begin(self, w: Wanted) -> Writer:
        return self.sink.begin(f"f{next(self.numbers):07d}")

    def accept(self, w: Wanted, writer: Writer, location: str) -> None:
        assert isinstance(writer, EntryWriter)
        self.sink.commit(writer)
        self.paths[w.logical_path] = Path(writer.state)

    def reject(self, w: Wanted, writer: Writer) -> None:
        assert isinstance(writer, EntryWriter)
        self.sink.rollback(writer)


def _lang(value: str) -> dict[str, list[str]]:
    return {"none": [value]}


def manifest(base: str, title: str, metadata: list[tuple[str, str]], pages: list[IiifPage],
             sections: list[dict[str, Any]]) -> dict[str, Any]:
    """The Presentation 3 manifest of `pages` (ids under `base`, which ends with '/')."""
    grouped: dict[str, list[str]] = {}
    for label, value in metadata:
        if value:
            grouped.setdefault(label, []).append(value)
    canvases = []
    for p in pages:
        service = f"{base}iiif/{p.key}"
        w, h = p.tiled.sizes[-1]
        canvas = f"{base}canvas/{p.key}"
        canvases.append({
            "id": canvas, "type": "Canvas", "label": _lang(page_label(p.label or str(p.seq), p.type)),
            "width": p.tiled.width, "height": p.tiled.height,
            "thumbnail": [{"id": f"{service}/full/{p.tiled.sizes[0][0]},{p.tiled.sizes[0][1]}/0/default.jpg",
                           "type": "Image", "format": "image/jpeg", "width": p.tiled.sizes[0][0],
                           "height": p.tiled.sizes[0][1]}],
            "items": [{"id": f"{canvas}/page", "type": "AnnotationPage", "items": [{
                "id": f"{canvas}/image", "type": "Annotation", "motivation": "painting", "target": canvas,
                "body": {"id": f"{service}/full/{w},{h}/0/default.jpg", "type": "Image", "format": "image/jpeg",
                         "width": w, "height": h,
                         "service": [{"id": service, "type": "ImageService3", "profile": "level0"}]}}]}]})
    by_seq = {p.seq: f"{base}canvas/{p.key}" for p in pages}
    children: dict[str, list[dict[str, Any]]] = {}
    for s in sections:
        children.setdefault(str(s.get("parent", "")), []).append(s)

    def rng(s: dict[str, Any], n: list[int]) -> dict[str, Any]:
        n[0] += 1
        items: list[dict[str, Any]] = [rng(c, n) for c in children.get(str(s.get("id", "")), [])]
        items += [{"id": by_seq[i], "type": "Canvas"} for i in s.get("pages", []) if i in by_seq]
        return {"id": f"{base}range/r{n[0]}", "type": "Range",
                "label": _lang(str(s.get("label") or s.get("type") or "")), "items": items}

    counter = [0]
    doc: dict[str, Any] = {
        "@context": PRESENTATION, "id": f"{base}manifest.json", "type": "Manifest", "label": _lang(title),
        "metadata": [{"label": {"en": [k]}, "value": {"none": v}} for k, v in grouped.items()],
        "behavior": ["paged"], "items": canvases}
    title_page = next((p for p in pages if p.type == "titlePage"), None)
    if title_page is not None:
        doc["start"] = {"id": f"{base}canvas/{title_page.key}", "type": "Canvas"}
    if children.get(""):
        doc["structures"] = [rng(s, counter) for s in children[""]]
    return doc


def _viewer_html(title: str, metadata: list[tuple[str, str]], pages: list[IiifPage]) -> str:
    sources = [{**info_json(f"iiif/{p.key}", p.tiled)} for p in pages]  # relative ids: works from file://
    thumbs = "".join(
        f'<li><a href="#{p.key}" data-i="{i}"><img alt="" loading="lazy" src="iiif/{p.key}/full/'
        f'{p.tiled.sizes[0][0]},{p.tiled.sizes[0][1]}/0/default.jpg"><span>'
        f'{html.escape(page_label(p.label or str(p.seq), p.type))}'
        f'</span></a></li>' for i, p in enumerate(pages))
    meta = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in metadata if v)
    data = json.dumps(sources).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="cs"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
html,body{{margin:0;height:100%;font:14px system-ui,sans-serif;color:#222}}
body{{display:flex}}
#side{{width:250px;overflow:auto;padding:10px;background:#f4f1ea;box-sizing:border-box}}
#side h1{{font-size:16px;margin:0 0 8px}} dl{{font-size:12px;margin:0 0 10px}} dt{{font-weight:600}}
dd{{margin:0 0 4px}} ol{{list-style:none;padding:0;margin:0;display:grid;grid-template-columns:1fr 1fr;gap:6px}}
ol a{{display:block;text-align:center;color:inherit;text-decoration:none;padding:3px;border:2px solid transparent}}
ol a.on{{border-color:#a33}} ol img{{max-width:100%;display:block;margin:auto}}
#viewer{{flex:1;background:#2b2b2b}} #label{{position:absolute;right:12px;top:8px;color:#fff;
background:rgba(0,0,0,.5);padding:2px 8px;border-radius:3px}}
</style></head>
<body><nav id="side"><h1>{html.escape(title)}</h1><dl>{meta}</dl><ol id="pages">{thumbs}</ol></nav>
<main id="viewer"></main><div id="label"></div>
<script src="viewer/openseadragon.min.js"></script>
<script>
const sources = {data};
const links = Array.from(document.querySelectorAll('#pages a'));
const start = Math.max(0, links.findIndex(a => a.getAttribute('href') === location.hash));
const viewer = OpenSeadragon({{id: 'viewer', prefixUrl: 'viewer/images/', tileSources: sources,
  sequenceMode: true, initialPage: start, drawer: 'canvas', crossOriginPolicy: false,
  showNavigator: false, preserveViewport: false, visibilityRatio: 1, minZoomImageRatio: 0.8}});
function show(i) {{
  links.forEach((a, j) => a.classList.toggle('on', j === i));
  document.getElementById('label').textContent = links[i].querySelector('span').textContent +
    ' (' + (i + 1) + ' / ' + links.length + ')';
}}
viewer.addHandler('page', e => {{ show(e.page); history.replaceState(null, '', links[e.page].getAttribute('href')); }});
links.forEach((a, i) => a.addEventListener('click', ev => {{ ev.preventDefault(); viewer.goToPage(i); }}));
const count = key => {{ document.body.dataset[key] = String(Number(document.body.dataset[key] || 0) + 1); }};
viewer.addHandler('tile-loaded', () => count('tilesLoaded'));
viewer.addHandler('tile-load-failed', e => {{ count('tilesFailed');
  document.getElementById('label').textContent = 'a part of this page could not be loaded: ' + e.message; }});
show(start);
</script>
<noscript>The page viewer needs JavaScript; the pages are in iiif/*/full/.</noscript>
</body></html>
"""


def export_iiif(repo: Repository, aip_id: str, out: Path, version: str | None = None, force: bool = False,
                location: str | None = None, base_url: str | None = None, jobs: int = 2,
                progress: ProgressFn | None = None, audience: str = "staff", requested_by: str = "") -> dict[str, Any]:
    """Write the IIIF package of a digitised volume (see the module docstring); returns a
    summary (dip id, pages, tiles, bytes, seconds, sources, audience, requested_by).
    UsageError when the AIP has no pages (it is not a digitised volume) or OUT exists;
    StorageError when no copy holds a user copy intact (OUT is not created). `audience` and
    who asked (`requested_by`, default the OS user) are recorded in the event, not checked:
    an export to the public goes through archa.lifecycle.access (export_iiif_for)."""
    from archa.access.export import ExportOptions, _publish, _record_damage, asked_by, select_files

    t0 = time.monotonic()
    out = out.absolute()
    check_target(out, force)
    ver, alg, rows = select_files(repo, ExportOptions(aip_id, out, version))
    cat = repo.catalog
    pages = cat.pages(aip_id, ver)
    if not pages:
        raise UsageError(f"AIP {aip_id} {ver} has no pages: --format iiif is for digitised volumes "
                         "(NDK packages ingested with archa transfer ndk)",
                         hint="export it as --format dir, zip or bag")
    by_path = {r["logical_path"]: r for r in rows}
    missing = [p["user"] for p in pages if p["user"] not in by_path]
    if missing:
        raise UsageError(f"AIP {aip_id} {ver}: the page list names user copies it does not hold: {missing[:3]}")
    structure_row = cat.file(aip_id, ver, STRUCTURE)
    wanted = [Wanted(p["user"], by_path[p["user"]]["content_path"], by_path[p["user"]]["digest"],
                     by_path[p["user"]]["size"]) for p in pages]
    if structure_row:
        wanted.append(Wanted(STRUCTURE, structure_row["content_path"], structure_row["digest"], structure_row["size"]))
    base = base_url or (out.as_uri() + "/")
    base = base if base.endswith("/") else base + "/"
    dip_id = f"urn:uuid:{uuid.uuid4()}"
    partial = partial_sibling(out)
    work = partial_sibling(out.parent / f"{out.name}-work")
    work.mkdir()
    partial.mkdir()
    try:
        scratch = _Scratch(work, alg)
        report = fetch(repo, aip_id, alg, wanted, scratch, first=location, threads=2)
        _record_damage(repo, aip_id, report)
        if report.failed:
            raise StorageError(f"{aip_id} {ver}: no copy holds these files intact: "
                               f"{', '.join(w.logical_path for w in report.failed[:10])}; nothing was written",
                               hint="audit the copies (archa fixity audit --aip ID) and repair them")
        doc = read_structure(scratch.paths[STRUCTURE].read_bytes()) if STRUCTURE in scratch.paths else None
        doc = doc or {}
        types = {int(p["order"]): str(p.get("type") or "") for p in doc.get("pages", [])
                 if str(p.get("order", "")).isdigit()}
        title = str(doc.get("title") or cat.live_aip(aip_id)["label"] or aip_id)
        metadata = [(str(k), str(v)) for k, v in doc.get("metadata", [])]
        done = [0]

        def one(p: dict[str, Any]) -> IiifPage:
            from PIL import Image

            key = f"p{p['seq']:04d}"
            with Image.open(scratch.paths[p["user"]]) as img:
                img.load()
                tiled = tile_image(img.convert("RGB") if img.mode not in ("RGB", "L") else img,
                                   partial / "iiif" / key)
            (partial / "iiif" / key / "info.json").write_text(
                json.dumps(info_json(f"{base}iiif/{key}", tiled), indent=1), "utf-8")
            scratch.paths[p["user"]].unlink()
            done[0] += 1
            if progress:
                progress("tiles", done[0], len(pages))
            return IiifPage(int(p["seq"]), str(p["label"]), key, tiled, types.get(int(p["seq"]), ""))

        with ThreadPoolExecutor(max(1, jobs)) as pool:  # Pillow decodes and encodes without the GIL
            made = list(pool.map(one, pages))
        (partial / "manifest.json").write_text(
            json.dumps(manifest(base, title, metadata, made, list(doc.get("sections", []))), ensure_ascii=False,
                       indent=1), "utf-8")
        (partial / "index.html").write_text(_viewer_html(title, metadata, made), "utf-8")
        viewer = Path(str(resources.files("archa.access") / "viewer"))
        shutil.copytree(viewer, partial / "viewer", ignore=shutil.ignore_patterns("*.md", "__pycache__"))
        _publish(partial, out, force)
    except BaseException:
        remove_tree(partial)
        raise
    finally:
        remove_tree(work)
    tiles = sum(p.tiled.files for p in made)
    size = sum(p.tiled.bytes for p in made)
    seconds = round(time.monotonic() - t0, 3)
    detail = (f"DIP {dip_id} (iiif) of {ver} to {out}: {len(made)} pages, {tiles} tiles and sizes, {size} bytes, "
              f"from the user copies; read from " + ", ".join(f"{k} ({n})" for k, n in report.sources.items())
              + f"; for {audience}, asked by {asked_by(requested_by)}")
    cat.record_events([Event("dissemination", "success", detail, ARCHA_AGENT, aip_id, ver)])
    repo.anchor_events()  # an export takes no repository lock: its events go to the locations now
    return {"dip_id": dip_id, "out": str(out), "format": "iiif", "aip_id": aip_id, "version": ver,
            "pages": len(made), "tiles": tiles, "bytes": size, "seconds": seconds, "sources": report.sources,
            "base_url": base, "audience": audience, "requested_by": asked_by(requested_by)}
