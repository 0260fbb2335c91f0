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
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from archa.access.fetch import Wanted, Writer, fetch
from archa.access.imagesources import DC_XML, image_rows, read_dc
from archa.access.sinks import DirSink, EntryWriter
from archa.access.tiles import Tiled, info_json, page_frames, tile_image, to_srgb
from archa.errors import StorageError, UsageError
from archa.repository.copying import ProgressFn
from archa.repository.durable import check_target, partial_sibling
from archa.repository.events import ARCHA_AGENT, Event
from archa.repository.pages import IMAGE_STRUCTURE, STRUCTURE, read_structure
from archa.repository.repo import Repository, remove_tree

PRESENTATION = "http://iiif.io/api/presentation/3/context.json"


@dataclass(frozen=True)
class IiifPage:
    seq: int
    label: str
    key: str  # p0001
    tiled: Tiled
    type: str = ""  # the NDK page type (titlePage, normalPage, ...)
    metadata: tuple[tuple[str, str], ...] = ()  # the canvas's own description (an image record's per-file rows)


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


def _metadata(metadata: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    grouped: dict[str, list[str]] = {}
    for label, value in metadata:
        if value:
            grouped.setdefault(label, []).append(value)
    return [{"label": {"en": [k]}, "value": {"none": v}} for k, v in grouped.items()]


def manifest(base: str, title: str, metadata: list[tuple[str, str]], pages: list[IiifPage],
             sections: list[dict[str, Any]], behavior: str = "paged", summary: str = "") -> dict[str, Any]:
    """The Presentation 3 manifest of `pages` (ids under `base`, which ends with '/'):
    `behavior` "paged" for a volume, "individuals" for photographs; `summary` (a record's
    description) when given; a page's own `metadata` as its canvas's."""
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
        if p.metadata:
            canvases[-1]["metadata"] = _metadata(p.metadata)
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
        "metadata": _metadata(metadata), "behavior": [behavior], "items": canvases}
    if summary:
        doc["summary"] = _lang(summary)
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


@dataclass(frozen=True)
class _Canvas:
    """A canvas to make: frame `frame` of the image at logical path `path`."""

    seq: int
    label: str
    path: str
    frame: int = 0
    type: str = ""
    metadata: tuple[tuple[str, str], ...] = ()


def iiif_source(repo: Repository, aip_id: str, version: str | None = None) -> str:
    """What `export_iiif` shows of the AIP's `version` (default: its head): "ndk" (the pages
    of a digitised volume), "image-record" (the images of an image record, in its order),
    "images" (the images of its payload, in name order), or "" when it has none (export_iiif
    refuses it). NotFoundError for an unknown or removed AIP."""
    cat = repo.catalog
    ver = version or cat.live_aip(aip_id)["head"]
    if cat.pages(aip_id, ver):
        return "image-record" if _image_record(repo, aip_id, ver) else "ndk"
    rows = [r for r in cat.files(aip_id, ver) if r["role"] == "payload"]
    return "images" if _payload_images(rows) else ""


def _image_record(repo: Repository, aip_id: str, ver: str) -> bool:
    cat = repo.catalog
    return cat.file(aip_id, ver, STRUCTURE) is None and cat.file(aip_id, ver, IMAGE_STRUCTURE) is not None


def _payload_images(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from archa.access.export import choose_representation

    return image_rows(choose_representation(rows, "preservation"))


def _payload_canvases(paths: list[str], files: dict[str, Path]) -> list[_Canvas]:
    """A canvas per page of each image (a multi-page TIFF's pages each), labelled by its
    file name. UsageError naming the first image Pillow cannot open."""
    from PIL import Image

    canvases: list[_Canvas] = []
    for lp in paths:
        try:
            with Image.open(files[lp]) as img:
                frames = page_frames(img)
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise _undecodable(lp, e) from e
        name = PurePosixPath(lp).name
        for k, frame in enumerate(frames, 1):
            label = name if len(frames) == 1 else f"{name} [{k}/{len(frames)}]"
            canvases.append(_Canvas(len(canvases) + 1, label, lp, frame))
    return canvases


def _undecodable(lp: str, e: BaseException) -> UsageError:
    return UsageError(f"{lp.removeprefix('representations/original/data/')}: the image cannot be decoded ({e}); "
                      "nothing was written", hint="export the AIP as --format dir, zip or bag")


def _record_canvases(pages: list[dict[str, Any]], doc: dict[str, Any]) -> list[_Canvas]:
    """The canvases of an image record: its pages in order, each with the frame and the
    description its image-structure.json gives."""
    by_order = {int(p["order"]): p for p in doc.get("pages", []) if str(p.get("order", "")).isdigit()}
    out = []
    for p in pages:
        seq = int(p["seq"])
        entry = by_order.get(seq, {})
        desc = entry.get("description") or {}
        meta = tuple((str(k).capitalize(), str(v)) for k, v in desc.items() if v and k != "title") \
            if isinstance(desc, dict) else ()
        out.append(_Canvas(seq, str(p["label"]), str(p["user"] or p["master"]), int(entry.get("frame") or 0),
                           "", meta))
    return out


def export_iiif(repo: Repository, aip_id: str, out: Path, version: str | None = None, force: bool = False,
                location: str | None = None, base_url: str | None = None, jobs: int = 2,
                progress: ProgressFn | None = None, audience: str = "staff", requested_by: str = "") -> dict[str, Any]:
    """Write the IIIF package of an AIP with pages or images (see the module docstring and
    `iiif_source`); returns a summary (dip id, source, pages (canvases), tiles, bytes,
    seconds, sources, audience, requested_by). UsageError when the AIP has neither pages
    nor images, when OUT exists, or when an image cannot be decoded (naming it; OUT is not
    created); StorageError when no copy holds an image intact (OUT is not created).
    `audience` and who asked (`requested_by`, default the OS user) are recorded in the
    event, not checked: an export to the public goes through archa.lifecycle.access
    (export_iiif_for)."""
    from archa.access.export import ExportOptions, _publish, _record_damage, asked_by, select_files

    t0 = time.monotonic()
    out = out.absolute()
    check_target(out, force)
    ver, alg, rows = select_files(repo, ExportOptions(aip_id, out, version))
    cat = repo.catalog
    pages = cat.pages(aip_id, ver)
    by_path = {r["logical_path"]: r for r in rows}
    source = "image-record" if pages and _image_record(repo, aip_id, ver) else "ndk" if pages else "images"
    if source == "ndk":
        images = [p["user"] for p in pages]
        missing = [p["user"] for p in pages if p["user"] not in by_path]
        if missing:
            raise UsageError(f"AIP {aip_id} {ver}: the page list names user copies it does not hold: {missing[:3]}")
    elif source == "image-record":
        images = [p["user"] or p["master"] for p in pages]
        missing = [x for x in images if x not in by_path]
        if missing:
            raise UsageError(f"AIP {aip_id} {ver}: the page list names images it does not hold: {missing[:3]}")
    else:
        images = [r["logical_path"] for r in _payload_images(rows)]
        if not images:
            raise UsageError(f"AIP {aip_id} {ver} has no pages and no images: --format iiif is for digitised "
                             "volumes, image records and AIPs whose payload holds images (TIFF, JPEG, JPEG 2000, "
                             "PNG)", hint="export it as --format dir, zip or bag")
    structure = {"ndk": STRUCTURE, "image-record": IMAGE_STRUCTURE}.get(source, "")
    wanted = [Wanted(x, by_path[x]["content_path"], by_path[x]["digest"], by_path[x]["size"])
              for x in dict.fromkeys(images)]
    for extra in [structure] + ([DC_XML] if source != "ndk" else []):
        row = cat.file(aip_id, ver, extra) if extra else None
        if row:
            wanted.append(Wanted(extra, row["content_path"], row["digest"], row["size"]))
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
        doc = read_structure(scratch.paths[structure].read_bytes()) if structure in scratch.paths else None
        doc = doc or {}
        summary = ""
        if source == "ndk":
            types = {int(p["order"]): str(p.get("type") or "") for p in doc.get("pages", [])
                     if str(p.get("order", "")).isdigit()}
            title = str(doc.get("title") or cat.live_aip(aip_id)["label"] or aip_id)
            metadata = [(str(k), str(v)) for k, v in doc.get("metadata", [])]
            canvases = [_Canvas(int(p["seq"]), str(p["label"]), p["user"], 0, types.get(int(p["seq"]), ""))
                        for p in pages]
        else:
            dc = read_dc(scratch.paths[DC_XML].read_bytes() if DC_XML in scratch.paths else None, aip_id)
            described = cat.record_index.described(aip_id) or {}
            title = str(doc.get("title") or dc.title or described.get("title") or cat.live_aip(aip_id)["label"]
                        or aip_id)
            metadata = list(dict.fromkeys([(str(k), str(v)) for k, v in doc.get("metadata", [])] + list(dc.metadata)))
            summary = str(doc.get("summary") or dc.summary)
            canvases = _record_canvases(pages, doc) if pages else _payload_canvases(images, scratch.paths)
        uses = {x: 0 for x in images}
        for c in canvases:
            uses[c.path] = uses.get(c.path, 0) + 1
        lock = threading.Lock()
        done = [0]

        def one(c: _Canvas) -> IiifPage:
            from PIL import Image

            key = f"p{c.seq:04d}"
            src = scratch.paths[c.path]
            if source == "ndk":
                with Image.open(src) as img:
                    img.load()
                    tiled = tile_image(img.convert("RGB") if img.mode not in ("RGB", "L") else img,
                                       partial / "iiif" / key)
            else:
                try:
                    with Image.open(src) as img:
                        img.seek(c.frame)
                        img.load()
                        frame = to_srgb(img)
                except (OSError, ValueError, EOFError, Image.DecompressionBombError) as e:
                    raise _undecodable(c.path, e) from e
                tiled = tile_image(frame, partial / "iiif" / key)
            (partial / "iiif" / key / "info.json").write_text(
                json.dumps(info_json(f"{base}iiif/{key}", tiled), indent=1), "utf-8")
            with lock:
                uses[c.path] -= 1
                last = uses[c.path] == 0
                done[0] += 1
                n = done[0]
            if last:
                src.unlink()
            if progress:
                progress("tiles", n, len(canvases))
            return IiifPage(c.seq, c.label, key, tiled, c.type, c.metadata)

        with ThreadPoolExecutor(max(1, jobs)) as pool:  # Pillow decodes and encodes without the GIL
            made = list(pool.map(one, canvases))
        behavior = "paged" if source == "ndk" else str(doc.get("behavior") or "individuals")
        (partial / "manifest.json").write_text(
            json.dumps(manifest(base, title, metadata, made, list(doc.get("sections", [])), behavior, summary),
                       ensure_ascii=False, indent=1), "utf-8")
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
    what = {"ndk": "from the user copies", "image-record": "from the image record's images"}.get(
        source, "from the images of its payload")
    detail = (f"DIP {dip_id} (iiif) of {ver} to {out}: {len(made)} pages, {tiles} tiles and sizes, {size} bytes, "
              f"{what}; read from " + ", ".join(f"{k} ({n})" for k, n in report.sources.items())
              + f"; for {audience}, asked by {asked_by(requested_by)}")
    cat.record_events([Event("dissemination", "success", detail, ARCHA_AGENT, aip_id, ver)])
    repo.anchor_events()  # an export takes no repository lock: its events go to the locations now
    return {"dip_id": dip_id, "out": str(out), "format": "iiif", "aip_id": aip_id, "version": ver,
            "source": source, "pages": len(made), "tiles": tiles, "bytes": size, "seconds": seconds,
            "sources": report.sources, "base_url": base, "audience": audience, "requested_by": asked_by(requested_by)}
