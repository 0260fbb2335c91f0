"""`archa publish OUT`: a self-contained static website of every public record.

Only records that `access_problems` lets go to the public are written (asked before the
records are written and again before the site switches to them); the others are left out,
named in the result and in no file of the site. Layout of OUT:

    index.html                 the collections (one per originator, or the one `--collection NAME`)
    collections/<slug>.html    a collection's records; collections/<slug>.json its IIIF Collection,
    collection.json            the IIIF Collection of every collection
    records/<uuid>/index.html  a record's page: its description and, when it has images, the
                               page viewer over the level-0 IIIF services of its current build
    records/<uuid>/<build>/    that build: manifest.json and iiif/ (archa.access.iiif's export
                               of the head version, ids under the site's base URL) and
                               search-part.json (its words for the search index)
    search.html, search/       the client-side search (archa/access/site/searchindex.py)
    viewer/, site.css, *.js    the vendored OpenSeadragon and the site's own assets
    .archa-publish.json        the state: per published record its head version, access,
                               build, record number, a digest of the files of its build, the
                               stat of its index.html and its search bucket mask; the search
                               index's shards and docs groups
    .archa-publish.lock        held (flock) by the run writing the site: one at a time

Incremental: a run costs what changed, not the size of the site. A record is rebuilt when
it is new, its head version changed, the base URL changed or its build on disk no longer
matches the state; a record destroyed, no longer chosen or no longer public is removed.
Whether a build still matches is judged by one stat: its index.html (size, mtime, inode)
as the state recorded it, and its build folder there; only when that differs is the build
walked and its digest (names and sizes) compared (`verify=True` walks every build, and
makes the search index anew from every record's part). An unchanged record is not read
from storage nor from OUT: its head version comes from the catalog and its access from the
guard. The search index is updated in place (archa.access.site.searchindex.update): only
the shards holding words of records added, updated or removed, and the docs groups of
their numbers, are read and written anew (a removed record's words leave the shards they
were in); it is made anew from every part only when it grew or shrank out of its number of
shards or a file of it is not there intact. The other site-level files are made again each
run but written only when their bytes change (search data files are named by their digest).

Crash safety: a build is made under OUT/.archa-publish-work and renamed into place; every
new file is flushed (syncfs) before a record's index.html, the search switch
(`search/site.js`) and the pages that link to it are replaced (each atomically, temp +
rename); the state is written after them, and what no page refers to any more (old builds,
removed records, old search data) is deleted last: the folders of the records this run
touched, or, after a run that did not end (its work folder is still there), of every
record. A run killed at any point leaves the previous site or the new one readable, and the
next run finishes the work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from archa.access.site.render import (
    collection_page,
    home_page,
    iiif_collection,
    record_page,
    search_page,
    template,
)
from archa.access.site.searchindex import SiteIndex, part_mask, record_part
from archa.access.site.searchindex import build as build_index
from archa.access.site.searchindex import update as update_index
from archa.errors import NotFoundError, StorageError, UsageError
from archa.lifecycle.access import access_problems, stored_description
from archa.repository.copying import ProgressFn
from archa.repository.durable import sync_filesystem, write_durable
from archa.repository.events import ARCHA_AGENT, Event
from archa.repository.repo import Repository, remove_tree

__all__ = ["STATE", "PublishResult", "publish"]

STATE = ".archa-publish.json"
WORK = ".archa-publish-work"
LOCK = ".archa-publish.lock"
FORMAT = 2
FORMATS = (1, 2)  # a site written by format 1 is brought up to 2 by the next run
ALTO_BATCH = 200


@dataclass
class PublishResult:
    """What a run did: the records on the site now (`records`, `pages`), those (re)written,
    removed (destroyed, no longer chosen or no longer public) and left as they were; the
    records left out (`left_out`: AIP id -> why not for the public), those published without
    a page viewer (`no_viewer`: id -> why) and those that could not be read (`failed`: id ->
    why; a record published before stays as it was). `files_written` and `bytes_written`
    count every file this run wrote into OUT; `site_bytes` is the size of the site."""

    out: str
    records: int = 0
    pages: int = 0
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    left_out: dict[str, str] = field(default_factory=dict)
    no_viewer: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    collections: list[dict[str, Any]] = field(default_factory=list)
    files_written: int = 0
    bytes_written: int = 0
    site_bytes: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("left_out", "no_viewer", "failed"):
            d[key] = [{"aip_id": a, "why": w} for a, w in sorted(getattr(self, key).items())]
        return d


class _Writer:
    """Writes files of the site durably (temp + rename), skipping those whose bytes are
    there already; counts what it wrote."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.files = 0
        self.bytes = 0

    def put(self, rel: str, data: bytes) -> bool:
        path = self.out / rel
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        write_durable(path, data, overwrite=True)
        self.files += 1
        self.bytes += len(data)
        return True


def _listing(build: Path) -> tuple[str, int, int]:
    """A digest of the names and sizes of every file under `build`, their count and bytes."""
    lines, n, size = [], 0, 0
    for dirpath, _dirs, files in os.walk(build):
        for name in files:
            p = os.path.join(dirpath, name)
            st = os.stat(p)
            lines.append(f"{os.path.relpath(p, build)}\0{st.st_size}")
            n += 1
            size += st.st_size
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8", "surrogateescape")).hexdigest(), n, size


def _read_part(path: Path) -> dict[str, Any]:
    """A build's search-part.json."""
    part: dict[str, Any] = json.loads(path.read_bytes())
    return part


def _marker(out: Path, aip_id: str) -> list[int] | None:
    """The stat (size, mtime, inode) of records/<uuid>/index.html: what a run compares with
    the state to trust a build without walking it; None when the page is not there."""
    try:
        st = (out / "records" / aip_id.removeprefix("urn:uuid:") / "index.html").stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _page_texts(repo: Repository, aip_id: str, head: str, pages: list[dict[str, Any]]) -> dict[int, str]:
    """seq -> the words of the page's ALTO (read and verified from the cheapest healthy copy)."""
    from archa.access.fetch import Wanted, fetch_small
    from archa.repository.pages import alto_text

    cat = repo.catalog
    alg = next(str(v["digest_algorithm"]) for v in cat.versions(aip_id) if v["version"] == head)
    rows = {r["logical_path"]: r for r in cat.files(aip_id, head)}
    wanted = [(int(p["seq"]), p["alto"]) for p in pages if p.get("alto") and p["alto"] in rows]
    out: dict[int, str] = {}
    for i in range(0, len(wanted), ALTO_BATCH):
        chunk = wanted[i:i + ALTO_BATCH]
        data, _report = fetch_small(repo, aip_id, alg, [
            Wanted(path, rows[path]["content_path"], rows[path]["digest"], rows[path]["size"]) for _s, path in chunk])
        for seq, path in chunk:
            if path in data:
                out[seq] = alto_text(data[path])
    return out


@dataclass
class _Built:
    aip_id: str
    entry: dict[str, Any]  # its state
    page_html: bytes  # records/<uuid>/index.html
    part: dict[str, Any]  # its search part
    no_viewer: str = ""


def _build_record(repo: Repository, out: Path, work: Path, aip_id: str, head: str, base: str, site: str,
                  originator: str, progress: Callable[[int, int], None] | None) -> _Built:
    """Make the record's new build under `work` and rename it into records/<uuid>/<build>;
    StorageError when no copy holds its files intact (nothing is left in place)."""
    from archa.access.iiif import export_iiif, page_label

    uid = aip_id.removeprefix("urn:uuid:")
    build = f"{head}-{uuidlib.uuid4().hex[:8]}"
    staging = work / f"{uid}-{build}"
    no_viewer = ""
    pages = repo.catalog.pages(aip_id, head)

    def tiles(_stage: str, done: int, total: int) -> None:
        if progress:
            progress(done, total)

    try:
        export_iiif(repo, aip_id, staging, head, base_url=f"{base}records/{uid}/{build}/", jobs=os.cpu_count() or 2,
                    progress=tiles, audience="public", requested_by="")
        (staging / "index.html").unlink()
        remove_tree(staging / "viewer")
    except UsageError as e:  # no pages or images: the record is shown by its description alone
        no_viewer = e.message
        staging.mkdir()
    desc = stored_description(repo, aip_id, head)  # read and verified like every export
    title = desc.title or str(repo.catalog.aip(aip_id).get("label") or "") or aip_id
    texts = _page_texts(repo, aip_id, head, pages)
    viewer = []
    manifest = json.loads((staging / "manifest.json").read_text("utf-8")) if not no_viewer else {}
    for canvas in manifest.get("items", []):
        key = str(canvas["id"]).rsplit("/", 1)[-1]
        label = " ".join(next(iter(canvas["label"].values()), []))
        viewer.append((key, label, json.loads((staging / "iiif" / key / "info.json").read_text("utf-8"))))
    labels = {int(p["seq"]): page_label(str(p["label"] or p["seq"]), "") for p in pages}
    part = record_part(title, originator or desc.originator, desc.date, [v for _f, v in desc.values],
                       [(seq, labels.get(seq, str(seq)), texts.get(seq, "")) for seq in sorted(labels)])
    (staging / "search-part.json").write_text(json.dumps(part, ensure_ascii=False), "utf-8")
    digest, files, size = _listing(staging)
    dest = out / "records" / uid / build
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(dest)
    entry = {"version": head, "build": build, "digest": digest, "files": files, "bytes": size,
             "pages": len(viewer) or len(pages), "title": title, "originator_name": originator or desc.originator,
             "date": desc.date, "viewer": not no_viewer, "mask": part_mask(part)}
    return _Built(aip_id, entry, record_page(site, aip_id, build, desc, title, originator or desc.originator,
                                             viewer), part, no_viewer)


def _intact(out: Path, aip_id: str, entry: dict[str, Any]) -> bool:
    rec = out / "records" / aip_id.removeprefix("urn:uuid:")
    build = rec / str(entry.get("build", ""))
    try:
        page = (rec / "index.html").read_text("utf-8", "replace")
    except OSError:
        return False
    refers = not entry.get("viewer") or f'{entry.get("build")}/manifest.json' in page  # a killed run's page
    return refers and build.is_dir() and _listing(build)[0] == entry.get("digest")


def _trusted(out: Path, aip_id: str, entry: dict[str, Any], verify: bool) -> tuple[bool, bool]:
    """(whether the build of `entry` is on disk as the state says, whether it was walked to
    tell): by the stat of its index.html and its build folder, or, when these differ from the
    state (or `verify`), by `_intact`, the state's marker brought up to date when it is."""
    build = out / "records" / aip_id.removeprefix("urn:uuid:") / str(entry.get("build", ""))
    if not verify and entry.get("page") and entry["page"] == _marker(out, aip_id) and build.is_dir():
        return True, False
    if not _intact(out, aip_id, entry):
        return False, True
    entry["page"] = _marker(out, aip_id)
    return True, True


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold OUT's lock file (flock): one run writes a site at a time."""
    import fcntl

    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"{out}: another archa publish is writing this site",
                             hint="wait for it to end, then run again") from None
        yield
    finally:
        os.close(fd)


def _load_state(out: Path) -> dict[str, Any]:
    path = out / STATE
    if not path.exists():
        if out.exists() and any(p.name not in (LOCK, WORK) for p in out.iterdir()):
            raise UsageError(f"{out}: not empty, and not a site archa published (no {STATE})",
                             hint="choose a new or empty folder for the site")
        return {"format": FORMAT, "base": "", "next": 1, "records": {}}
    try:
        state = json.loads(path.read_bytes())
    except ValueError as e:
        raise UsageError(f"{path}: not readable ({e})", hint="publish into a new folder") from None
    if not isinstance(state, dict) or state.get("format") not in FORMATS or not isinstance(state.get("records"), dict):
        raise UsageError(f"{path}: not a publish state archa {FORMAT} wrote", hint="publish into a new folder")
    return state


def _remove(path: Path) -> None:
    if path.exists() or path.is_symlink():
        remove_tree(path)


def _slug(name: str) -> str:
    from archa.lifecycle.originators import slug

    return slug(name)


SITE_FOLDERS = ("records", "search", "collections", "viewer", WORK)


def _refuse_links(out: Path) -> None:
    """UsageError when a folder the site writes and sweeps (or a record's folder) is a
    symbolic link: publish would write and delete through it, outside OUT."""
    if not out.is_dir():
        return
    linked = [out / name for name in SITE_FOLDERS if (out / name).is_symlink()]
    records = out / "records"
    if records.is_dir() and not records.is_symlink():
        with os.scandir(records) as entries:
            linked += [Path(e.path) for e in entries if e.is_symlink()]
    if linked:
        raise UsageError(f"{linked[0]}: a symbolic link inside the site"
                         + (f" (and {len(linked) - 1} more)" if len(linked) > 1 else "")
                         + ": publish writes and deletes in these folders and would reach through it; nothing was done",
                         hint="remove the link (a site archa publishes holds none), then publish again")


def publish(repo: Repository, out: Path, originator: str | None = None, collection: str | None = None,
            base_url: str | None = None, title: str = "Public collections",
            progress: ProgressFn | None = None, verify: bool = False) -> PublishResult:
    """Write or bring up to date the site in `out` (see the module docstring) of the active,
    stored AIPs (of `originator` alone when given) that may go to the public, grouped into
    one collection per originator, or into the one collection `collection`. Ids in the IIIF
    manifests start at `base_url` (default OUT's file:// URL: give the public URL of a site
    to be served). UsageError: OUT is a file, or a folder holding something else than a
    site archa published; NotFoundError for an unknown originator. `verify`: walk every
    record's build on disk (not only those whose index.html changed) and make the search
    index anew from every record's part."""
    t0 = time.monotonic()
    out = out.absolute()
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: not a folder", hint="choose a folder for the site")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent}: no such directory", hint="create it first, or choose another OUT")
    cat = repo.catalog
    names = {str(o["id"]): str(o.get("name") or o["id"]) for o in cat.originators(repo.config.locations[0].name)}
    if originator and originator not in names:
        raise NotFoundError(f"no originator {originator!r}", hint="list them with `archa originator list`")
    _load_state(out)  # refuses a folder that is not a site before anything is created in it
    _refuse_links(out)
    out.mkdir(exist_ok=True)
    with _locked(out):
        state = _load_state(out)
        work = out / WORK
        unfinished = work.exists()  # a run that did not end: every record's folder is swept
        _remove(work)  # a killed run's leftovers
        work.mkdir()
        base = base_url or (out.as_uri() + "/")
        base = base if base.endswith("/") else base + "/"
        result = PublishResult(str(out))
        rows = {a["id"]: a for a in cat.aips(originator) if a["state"] == "active" and a["stored"]}
        result.left_out = access_problems(repo, list(rows))
        public = [a for a in rows if a not in result.left_out]
        old: dict[str, dict[str, Any]] = state["records"]
        walked: set[str] = set()

        def current(a: str) -> bool:
            ok, walk = _trusted(out, a, old[a], verify)
            if walk:
                walked.add(a)
            return ok

        rebuild = [a for a in public if a not in old or old[a].get("version") != rows[a]["head"]
                   or state.get("base") != base or not current(a)]
        records: dict[str, dict[str, Any]] = {a: old[a] for a in public if a in old and a not in rebuild}
        result.unchanged = len(records)
        total = sum(len(cat.pages(a, rows[a]["head"])) or 1 for a in rebuild)
        done = [0]
        built: list[_Built] = []
        ok = False
        try:
            for a in rebuild:
                org_id = str(rows[a].get("originator_id") or "")
                start = done[0]

                def tick(n: int, _t: int, start: int = start) -> None:
                    if progress:
                        progress("publish", start + n, total)

                try:
                    b = _build_record(repo, out, work, a, str(rows[a]["head"]), base, title, names.get(org_id, ""), tick)
                except StorageError as e:
                    result.failed[a] = e.message
                    if a in old and (out / "records" / a.removeprefix("urn:uuid:") / str(old[a].get("build"))).is_dir():
                        records[a] = old[a]  # the build published before stays
                    continue
                b.entry.update({"k": old.get(a, {}).get("k") or state["next"], "originator": org_id})
                if b.entry["k"] == state["next"]:
                    state["next"] += 1
                built.append(b)
                records[a] = b.entry
                if b.no_viewer:
                    result.no_viewer[a] = b.no_viewer
                done[0] += b.entry["pages"] or 1
                if progress:
                    progress("publish", done[0], total)
            # asked again: a record restricted while the site was being built does not go out
            late = access_problems(repo, list(records))
            for a, why in late.items():
                result.left_out[a] = why
                records.pop(a)
            access = cat.record_index.access_rows(list(records))
            for a, entry in records.items():
                entry["access"] = access[a].describe() if a in access else "public (as its package states)"
            for b in built:
                if b.aip_id in records and not records[b.aip_id].get("viewer"):
                    cat.record_events([Event("dissemination", "success", f"published to the public site {out} "
                                             f"({b.entry['version']}) with its description alone: {b.no_viewer}",
                                             ARCHA_AGENT, b.aip_id, b.entry["version"])])
            sync_filesystem(out)
            writer = _Writer(out)
            for b in built:
                if b.aip_id in records:
                    writer.put(f"records/{b.aip_id.removeprefix('urn:uuid:')}/index.html", b.page_html)
                    b.entry["page"] = _marker(out, b.aip_id)
                    writer.files += b.entry["files"]
                    writer.bytes += b.entry["bytes"]
            fresh = {b.aip_id: b.part for b in built if b.aip_id in records}
            index = _search_index(out, state, old, records, fresh, verify)
            result.collections, keep = _write_site(writer, out, base, title, records, collection, names, index)
            new_state = {"format": FORMAT, "base": base, "next": state["next"], "originator": originator or "",
                         "collection": collection or "", "index": index.state,
                         "records": dict(sorted(records.items()))}
            writer.put(STATE, json.dumps(new_state, ensure_ascii=False, indent=1).encode("utf-8"))
            touched = None if unfinished or verify else {*rebuild, *walked, *(a for a in old if a not in records)}
            _sweep(out, records, keep, touched)
            ok = True
        finally:
            if ok:  # else left for the next run, which then sweeps every record's folder
                _remove(work)
        repo.anchor_events()
        result.written = [b.aip_id for b in built if b.aip_id in records]
        result.removed = sorted(a for a in old if a not in records)
        result.records = len(records)
        result.pages = sum(int(e.get("pages") or 0) for e in records.values())
        result.files_written, result.bytes_written = writer.files, writer.bytes
        result.site_bytes = _site_bytes(out, records)
        result.seconds = round(time.monotonic() - t0, 3)
        return result


def _search_index(out: Path, state: dict[str, Any], old: dict[str, dict[str, Any]],
                  records: dict[str, dict[str, Any]], fresh: dict[str, dict[str, Any]], verify: bool) -> SiteIndex:
    """The search index of `records` (`fresh`: the parts of the records built by this run):
    the index of the state updated by the records added, rebuilt and removed, or, when that
    cannot be (no index in the state, a file of it not intact, a size out of its shards,
    `verify`), made anew from every record's part."""
    drop: dict[int, str] = {}
    for a, e in old.items():
        if a not in records or a in fresh:
            drop[int(e["k"])] = str(e.get("mask") or "")
    add = [(int(records[a]["k"]), a.removeprefix("urn:uuid:"), p) for a, p in fresh.items()]
    masks = all(e.get("mask") for e in old.values() if int(e["k"]) in drop) and all(
        e.get("mask") for e in records.values())
    index = None if verify or not masks else update_index(
        state.get("index"), lambda name: (out / "search" / name).read_bytes(), drop, add)
    if index is not None:
        return index
    parts = []
    for a, e in records.items():
        uid = a.removeprefix("urn:uuid:")
        part = fresh.get(a) or _read_part(out / "records" / uid / e["build"] / "search-part.json")
        e["mask"] = part_mask(part)
        parts.append((int(e["k"]), uid, part))
    return build_index(parts)


def _site_bytes(out: Path, records: dict[str, dict[str, Any]]) -> int:
    """The bytes of the site: its records' builds and pages as the state holds them, the rest
    by walking it (everything but records/)."""
    from archa.repository.durable import tree_bytes

    total = sum(int(e.get("bytes") or 0) + int((e.get("page") or [0])[0]) for e in records.values())
    for p in out.iterdir():
        if p.name == "records":
            continue
        total += tree_bytes(p) if p.is_dir() else p.stat().st_size
    return total


def _write_site(writer: _Writer, out: Path, base: str, site: str, records: dict[str, dict[str, Any]],
                collection: str | None, names: dict[str, str],
                index: SiteIndex) -> tuple[list[dict[str, Any]], set[str]]:
    """Write everything but the records: assets, the search index, the collections, the
    home page (search/site.js and the pages last: they switch the site to the new files).
    Returns the collections and the files of search/ and collections/ in use."""
    for rel, data in _walk(resources.files("archa.access") / "viewer"):
        writer.put(f"viewer/{rel}", data)
    for name in ("site.css", "record.js", "search.js"):
        writer.put(name, template(name).encode("utf-8"))
    for name, data in sorted(index.files.items()):
        if name != "site.js" and not (out / "search" / name).exists():  # named by their digest
            writer.put(f"search/{name}", data)
    groups: dict[str, tuple[str, list[str]]] = {}
    for a, e in records.items():
        org = str(e.get("originator") or "")
        if collection:
            key, label = _slug(collection), collection
        else:
            key, label = (_slug(org), names.get(org, org)) if org else ("other", "Other records")
        groups.setdefault(key, (label, []))[1].append(a)
    listed: list[dict[str, Any]] = []
    for key, (label, ids) in sorted(groups.items(), key=lambda kv: kv[1][0].casefold()):
        ids.sort(key=lambda a: (str(records[a].get("date") or ""), str(records[a].get("title") or "").casefold(), a))
        writer.put(f"collections/{key}.html", collection_page(site, key, label, [(a, records[a]) for a in ids]))
        writer.put(f"collections/{key}.json", iiif_collection(f"{base}collections/{key}.json", label, [
            {"id": f"{base}records/{a.removeprefix('urn:uuid:')}/{records[a]['build']}/manifest.json",
             "type": "Manifest", "label": {"none": [records[a]["title"]]}} for a in ids if records[a].get("viewer")]))
        listed.append({"slug": key, "name": label, "records": len(ids),
                       "pages": sum(int(records[a].get("pages") or 0) for a in ids)})
    writer.put("collection.json", iiif_collection(f"{base}collection.json", site, [
        {"id": f"{base}collections/{c['slug']}.json", "type": "Collection", "label": {"none": [c["name"]]}}
        for c in listed]))
    writer.put("search/site.js", index.files["site.js"])
    writer.put("search.html", search_page(site))
    writer.put("index.html", home_page(site, listed, len(records)))
    keep = {f"search/{n}" for n in index.names} | {f"collections/{c['slug']}.{x}" for c in listed
                                                    for x in ("html", "json")}
    return listed, keep


def _walk(root: Any, prefix: str = "") -> Iterable[tuple[str, bytes]]:
    """(relative path, bytes) of the files of a resources folder (its *.md and caches left out)."""
    for item in sorted(root.iterdir(), key=lambda i: i.name):
        if item.is_dir():
            if item.name != "__pycache__":
                yield from _walk(item, f"{prefix}{item.name}/")
        elif not item.name.endswith(".md"):
            yield f"{prefix}{item.name}", item.read_bytes()


def _sweep(out: Path, records: dict[str, dict[str, Any]], keep: set[str], touched: set[str] | None) -> None:
    """Delete what no page refers to any more: records off the site, old builds (of the
    records `touched`, or of every record when None), search data and collections no longer
    made."""
    current = {a.removeprefix("urn:uuid:"): str(e["build"]) for a, e in records.items()}
    rec_root = out / "records"
    if rec_root.is_dir():
        folders = rec_root.iterdir() if touched is None else (
            rec_root / a.removeprefix("urn:uuid:") for a in sorted(touched))
        for d in folders:
            if not d.is_dir():
                continue
            if d.name not in current:
                remove_tree(d)
                continue
            for b in d.iterdir():
                if b.is_dir() and b.name != current[d.name]:
                    remove_tree(b)
    for folder in ("search", "collections"):
        root = out / folder
        if not root.is_dir():
            continue
        for f in root.iterdir():
            if f.is_file() and f"{folder}/{f.name}" not in keep:
                f.unlink()
