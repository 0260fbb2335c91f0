"""`archa dip export`: a Dissemination Information Package from an AIP version.

Layout (a directory, a zip holding one top folder, or a BagIt bag with this in `data/`, as a
directory or zipped):

    METS.xml        DIP METS: back to the AIP id and version, checksums, access-copy PREMIS
    index.html      a plain page: title, every file with format, size and a link
    metadata/dc.xml the AIP's descriptive metadata (when it has some)
    objects/...     the chosen files, at their path under the AIP's data/; an access copy
                    keeps the original's name and takes its own extension (scan.tif.jpg)

Contracts: every byte of an original is verified against the catalog on its way out (see
`fetch`); a copy found damaged is marked so in the catalog with a fixity event, and the
file comes from the next copy. The DIP is built under a hidden sibling of OUT and renamed
to OUT only when complete, so OUT is never half-written; without `force` an existing OUT
is refused. The export is recorded in the event log (one "dissemination" event naming its
audience and who asked, and one "creation" event per access copy), which is written to the
locations' event logs at once. Access conditions are not checked here: an export to the
public goes through archa.lifecycle.access, which refuses what may not go to the public. Nothing of the AIPs in storage is changed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from archa.access.derivatives import Derived, kind_of, make
from archa.access.dipmets import DipFile, DipInfo, write_dip_mets, write_index
from archa.access.fetch import FetchReport, Wanted, Writer, describe, fetch, fetch_small
from archa.access.sinks import DirSink, EntryWriter, ZipSink
from archa.errors import NotFoundError, StorageError, UsageError
from archa.metadata.records import preservation_source
from archa.preservation.fixity import record_audit
from archa.repository.copyaudit import CopyAudit
from archa.repository.durable import check_target, partial_sibling
from archa.repository.events import ARCHA_AGENT, Event, now_iso
from archa.repository.repo import Repository, remove_tree

FORMATS = ("dir", "zip", "bag", "bag-zip")
# what OUT's name says it is, when no format is given (the longer ending first)
EXTENSIONS = ((".bag.zip", "bag-zip"), (".zip", "zip"))
# archives archa does not write a DIP as: OUT named so is refused rather than made a folder
NOT_WRITTEN = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.bz2", ".tar.xz", ".gz", ".7z", ".rar")
DATA_MARK = "/data/"
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ExportOptions:
    aip_id: str
    out: Path
    version: str | None = None  # default: the head
    include: tuple[str, ...] = ()  # globs on the path under data/ (or the full logical path)
    format: str = "dir"
    access: bool = True  # False: originals only
    force: bool = False
    location: str | None = None  # read from this copy first (e.g. to hand out the cold copy)
    # which representation's files: "all" (the originals and the preservation copies migration
    # made), "original", or "preservation" (each original's preservation copy where it has one,
    # else the original: PDF/A instead of the DOCX, lossless JPEG 2000 instead of the TIFF)
    representation: str = "all"
    # who the DIP is for ("staff" or "public") and who asked (default: the OS user), recorded
    # in the dissemination event; not checked here: an export to the public goes through
    # archa.lifecycle.access (export_for), which refuses records that may not go to the public
    audience: str = "staff"
    requested_by: str = ""


@dataclass
class ExportResult:
    dip_id: str
    out: str
    format: str
    aip_id: str
    version: str
    files: int = 0
    bytes: int = 0
    originals: int = 0
    access_copies: int = 0
    notes: list[str] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)
    damaged_copies: list[dict[str, Any]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # location -> why it could not be read
    seconds: float = 0.0
    audience: str = "staff"
    requested_by: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def format_for(out: Path, fmt: str | None) -> str:
    """The DIP format for OUT: `fmt` when given, else the one OUT's name says: `.bag.zip` a
    zipped BagIt bag (bag-zip), `.zip` a zip, any other name a folder (dir). UsageError, naming
    both, when `fmt` is not what the name says (a folder named `request.zip`; bag-zip may be
    named `.zip`), or when the name is that of an archive archa does not write (`.tar`, ...)."""
    name = out.name.lower()
    said = next((f for ext, f in EXTENSIONS if name.endswith(ext) and len(name) > len(ext)), None)
    foreign = next((ext for ext in NOT_WRITTEN if name.endswith(ext) and len(name) > len(ext)), None)
    hint = ("name OUT for what is wanted: NAME.zip (a zip), NAME.bag.zip (a zipped BagIt bag), or NAME without "
            "an extension (a folder; --format bag: a BagIt bag, --format iiif: a IIIF package)")
    if foreign is not None:
        raise UsageError(f"{out.name}: a {foreign} file, and archa writes no such DIP"
                         + (f" (--format {fmt})" if fmt else ""), hint=hint)
    if fmt is None:
        return said or "dir"
    if said is not None and fmt != said and not (fmt == "bag-zip" and said == "zip"):
        raise UsageError(f"--format {fmt} does not go with OUT {out.name!r}: its name says {said} "
                         f"({'a zipped BagIt bag' if said == 'bag-zip' else 'a zip file'})",
                         hint=f"leave --format out to write {said}, or " + hint[0].lower() + hint[1:])
    return fmt


def asked_by(requested_by: str) -> str:
    """Who asked for an export: `requested_by`, else the OS user."""
    import getpass

    return requested_by or getpass.getuser()


def _zip_top(out: Path) -> str:
    """The one top folder of a zipped DIP: OUT's name without .bag.zip / .zip."""
    name = out.name
    for ext, _f in EXTENSIONS:
        if name.lower().endswith(ext) and len(name) > len(ext):
            return name[:-len(ext)]
    return out.stem


NAME_MAX = 255  # bytes of one name on the file systems a DIP is written to and unpacked on


def fit_path(path: str) -> str:
    """`path` with every name in it at most NAME_MAX bytes: a longer one (a preservation copy
    of a 254-byte name is `<name>.pdf`) keeps its start and extension with a short digest of
    the whole name between them, so that two long names never meet. The METS and index keep
    the AIP's path (OWNERID)."""
    parts = []
    for name in path.split("/"):
        raw = name.encode("utf-8", "surrogateescape")
        if len(raw) > NAME_MAX:
            ext = "." + name.rsplit(".", 1)[1] if "." in name and len(name.rsplit(".", 1)[1]) <= 10 else ""
            tag = "~" + hashlib.sha256(raw).hexdigest()[:12]
            room = NAME_MAX - len(tag.encode()) - len(ext.encode("utf-8", "surrogateescape"))
            stem = raw[:room].decode("utf-8", "ignore")  # cut at a character boundary
            name = stem + tag + ext
        parts.append(name)
    return "/".join(parts)


def dip_name(logical_path: str) -> str:
    """The path under objects/ of an AIP file: what follows the representation's data/, each
    name fitted to NAME_MAX bytes (`fit_path`)."""
    i = logical_path.find(DATA_MARK)
    return fit_path(logical_path[i + len(DATA_MARK):] if i >= 0 else logical_path)


REPRESENTATIONS = ("all", "original", "preservation")


def choose_representation(rows: list[dict[str, Any]], representation: str) -> list[dict[str, Any]]:
    """The payload rows of one representation choice (see ExportOptions.representation)."""
    if representation not in REPRESENTATIONS:
        raise UsageError(f"--representation {representation!r}: use one of {', '.join(REPRESENTATIONS)}")
    if representation == "all":
        return rows
    copies = {src: r for r in rows if (src := preservation_source(r["logical_path"])) is not None}
    copy_paths = {r["logical_path"] for r in copies.values()}
    originals = [r for r in rows if r["logical_path"] not in copy_paths]
    if representation == "original":
        return originals
    return [copies.get(r["logical_path"], r) for r in originals]


def select_files(repo: Repository, opts: ExportOptions) -> tuple[str, str, list[dict[str, Any]]]:
    """(version, digest algorithm, payload rows chosen). NotFoundError / UsageError name
    what is wrong: an unknown AIP or version, or globs that match nothing."""
    cat = repo.catalog
    aip = cat.live_aip(opts.aip_id)
    versions = {v["version"]: v for v in cat.versions(opts.aip_id)}
    version = opts.version or aip["head"]
    if version.isdigit():  # --version 2 means v2
        version = f"v{version}"
    if version not in versions:
        raise NotFoundError(f"AIP {opts.aip_id} has no version {version!r}; it has {', '.join(sorted(versions))}",
                            hint="pass --version with one of those")
    rows = choose_representation([r for r in cat.files(opts.aip_id, version) if r["role"] == "payload"],
                                 opts.representation)
    if opts.include:
        rows = [r for r in rows if any(fnmatch.fnmatchcase(dip_name(r["logical_path"]), g)
                                       or fnmatch.fnmatchcase(r["logical_path"], g) for g in opts.include)]
        if not rows:
            raise UsageError(f"--include {' '.join(opts.include)} matches no file of {opts.aip_id} {version}",
                             hint="see the file names with `archa aip show`; globs match the path under "
                                  "data/, e.g. 'scans/*.tif'")
    return version, versions[version]["digest_algorithm"], rows


class _Builder:
    """Receives verified originals (see `fetch.Receiver`) and writes the DIP entries."""

    def __init__(self, repo: Repository, opts: ExportOptions, dip_id: str, version: str, sink: DirSink | ZipSink,
                 prefix: str, work: Path, rows: list[dict[str, Any]], alg: str) -> None:
        self.repo, self.opts, self.dip_id, self.version = repo, opts, dip_id, version
        self.sink, self.prefix, self.work, self.alg = sink, prefix, work, alg
        # by content path: what a row tells of the content (its format) is the same for every
        # logical path that shares it; the name comes from the Wanted
        self.rows = {r["content_path"]: r for r in rows}
        self.originals = {"objects/" + dip_name(r["logical_path"]) for r in rows}
        self.files: list[DipFile] = []
        self.notes: list[str] = []
        self.events: list[Event] = []
        self.scratch = DirSink(work, alg, concurrent=True)
        self.numbers = itertools.count()  # scratch names; next() is atomic, entries may come on two threads

    def kind(self, row: dict[str, Any]) -> str:
        return kind_of(row["mime"], self.repo.policy.access) if self.opts.access else ""

    def begin(self, w: Wanted) -> Writer:
        row = self.rows[w.content_path]
        if self.kind(row):  # the original goes to scratch, and its access copy into the DIP
            return self.scratch.begin(f"original-{next(self.numbers)}")
        return self.sink.begin(self.prefix + "objects/" + dip_name(w.logical_path), w.size)

    def reject(self, w: Wanted, writer: Writer) -> None:
        assert isinstance(writer, EntryWriter)
        (self.scratch if self.kind(self.rows[w.content_path]) else self.sink).rollback(writer)

    def accept(self, w: Wanted, writer: Writer, location: str) -> None:
        assert isinstance(writer, EntryWriter)
        row = self.rows[w.content_path]
        kind = self.kind(row)
        name = "objects/" + dip_name(w.logical_path)
        if not kind:
            self.sink.commit(writer)
            self.files.append(DipFile(name, w.size, w.digest, row["mime"], row["format_name"], row["puid"],
                                      w.logical_path, "original"))
            return
        self.scratch.commit(writer)
        src = Path(writer.state)
        own = Path(tempfile.mkdtemp(dir=self.work))  # the converter's own folder: files may come on two threads
        try:
            made = make(kind, src, own, self.repo.policy.access)
            if made.path is None:
                self._add_original(src, name, w, row, made.note)
            else:
                self._add_derived(made, name, w)
        finally:
            src.unlink(missing_ok=True)
            shutil.rmtree(own, ignore_errors=True)

    def _add_original(self, src: Path, name: str, w: Wanted, row: dict[str, Any], note: str) -> None:
        out = self.sink.begin(self.prefix + name, w.size)
        _copy_into(src, out)
        self.sink.commit(out)
        if out.digest != w.digest:  # the scratch disk changed it: not a byte unverified goes out
            raise StorageError(f"{src}: the verified original changed on the scratch disk",
                               hint="check the disk holding the export")
        self.files.append(DipFile(name, w.size, w.digest, row["mime"], row["format_name"], row["puid"],
                                  w.logical_path, "original", note=note))
        self.notes.append(f"{dip_name(w.logical_path)}: {note}")

    def _add_derived(self, made: Derived, name: str, w: Wanted) -> None:
        assert made.path is not None
        path = fit_path(name + made.suffix)
        if path in self.originals:  # an original of that name is in the DIP too
            path = fit_path(f"{name}.access{made.suffix}")
        out = self.sink.begin(self.prefix + path, made.path.stat().st_size)
        _copy_into(made.path, out)
        self.sink.commit(out)
        ev = Event("creation", "success", f"access copy {path} ({made.detail}) made with {made.tool} from "
                   f"{w.logical_path} for DIP {self.dip_id}", ARCHA_AGENT, self.opts.aip_id, self.version)
        self.events.append(ev)
        self.files.append(DipFile(path, out.size, out.digest, made.mime, made.format_name, made.puid,
                                  w.logical_path, "access", made.tool, made.detail, ev.id, ev.time, made.note))


def _copy_into(src: Path, out: EntryWriter) -> None:
    with open(src, "rb") as f:
        while chunk := f.read(1 << 20):
            out.write(chunk)


def export_dip(repo: Repository, opts: ExportOptions, progress: ProgressFn | None = None) -> ExportResult:
    """Export a DIP of `opts.aip_id` to `opts.out` (see the module docstring).

    Raises NotFoundError (unknown AIP or version), UsageError (bad format, --include that
    matches nothing, OUT exists), StorageError when no copy holds some file intact (the
    files are named; OUT is not created)."""
    t0 = time.monotonic()
    if opts.format not in FORMATS:
        raise UsageError(f"--format {opts.format!r} is not one of {', '.join(FORMATS)}")
    out = opts.out.absolute()
    check_target(out, opts.force)
    if opts.location is not None:
        repo.config.location(opts.location)  # an unknown name is a usage error
    version, alg, rows = select_files(repo, opts)
    aip = repo.catalog.live_aip(opts.aip_id)
    dip_id = f"urn:uuid:{uuid.uuid4()}"
    result = ExportResult(dip_id, str(out), opts.format, opts.aip_id, version, audience=opts.audience,
                          requested_by=asked_by(opts.requested_by))
    partial = partial_sibling(out)
    work = partial_sibling(out.parent / f"{out.name}-work")
    work.mkdir()
    if opts.format in ("zip", "bag-zip"):  # one entry at a time
        sink: DirSink | ZipSink = ZipSink(partial, alg, top=_zip_top(out))
        prefix, threads = ("data/" if opts.format == "bag-zip" else ""), 1
    else:  # two files at once: reading, hashing and writing on both cores
        sink, prefix, threads = DirSink(partial, alg, concurrent=True), ("data/" if opts.format == "bag" else ""), 2
    try:
        builder = _Builder(repo, opts, dip_id, version, sink, prefix, work, rows, alg)
        total = sum(r["size"] for r in rows)
        done = [0]

        step_lock = threading.Lock()

        def step(n: int) -> None:
            with step_lock:  # called by the reading threads
                done[0] += n
                if progress:
                    progress("export", done[0], total)

        wanted = [Wanted(r["logical_path"], r["content_path"], r["digest"], r["size"]) for r in rows]
        report = fetch(repo, opts.aip_id, alg, wanted, builder, step, opts.location, threads)
        _record_damage(repo, opts.aip_id, report)
        result.sources, result.damaged_copies, result.unavailable = report.sources, describe(report), \
            report.unavailable
        if report.failed:
            names = ", ".join(w.logical_path for w in report.failed[:10])
            more = f" and {len(report.failed) - 10} more" if len(report.failed) > 10 else ""
            unreachable = "".join(f"; {loc} could not be read: {why}" for loc, why in report.unavailable.items())
            raise StorageError(f"{opts.aip_id} {version}: no copy holds these files intact: {names}{more}; "
                               f"no DIP was written{unreachable}", hint="audit the copies (archa fixity audit "
                               "--aip ID) and repair what can be repaired, or retry when every location answers")
        dc, titles = _read_metadata(repo, opts.aip_id, version, alg, rows)
        written: list[EntryWriter] = []  # the DIP's own files, for a bag's manifest
        if dc is not None:
            written.append(_write_tag(sink, prefix + "metadata/dc.xml", lambda f: f.write(dc)))
        info = DipInfo(dip_id, opts.aip_id, version, aip["label"] or opts.aip_id, now_iso(), ARCHA_AGENT, alg,
                       "metadata/dc.xml" if dc is not None else "")
        files = sorted((replace(f, title=titles[f.source]) if f.source in titles else f for f in builder.files),
                       key=lambda f: f.path)
        written.append(_write_tag(sink, prefix + "METS.xml", lambda f: write_dip_mets(f, info, files)))
        written.append(_write_tag(sink, prefix + "index.html", lambda f: write_index(f, info, files)))
        if prefix:  # a bag, as a folder or zipped
            _write_bag_tags(sink, alg, info, opts.audience, [("data/" + f.path, f.digest, f.size) for f in files]
                            + [(w.path, w.digest, w.size) for w in written])
        sink.close()
        _publish(partial, out, opts.force)
        result.files = len(files)
        result.bytes = sum(f.size for f in files)
        result.originals = sum(f.use == "original" for f in files)
        result.access_copies = len(files) - result.originals
        result.notes = builder.notes
        result.seconds = round(time.monotonic() - t0, 3)
        detail = (f"DIP {dip_id} ({opts.format}) of {version} to {out}: {result.files} files, {result.bytes} "
                  f"bytes, {result.access_copies} access copies; read from "
                  + ", ".join(f"{k} ({n})" for k, n in result.sources.items())
                  + f"; for {result.audience}, asked by {result.requested_by}")
        repo.catalog.record_events([*builder.events, Event("dissemination", "success", detail, ARCHA_AGENT,
                                                            opts.aip_id, version)])
        repo.anchor_events()  # an export takes no repository lock: its events go to the locations now
        return result
    except BaseException:
        sink.abort()
        raise
    finally:
        remove_tree(work)


def _write_tag(sink: DirSink | ZipSink, path: str, write: Callable[[Any], None]) -> EntryWriter:
    w = sink.begin(path)
    write(w)
    sink.commit(w)
    return w


DC_PATH = "metadata/descriptive/dc.xml"
TITLES_FROM_ABOVE = 64 << 20  # larger mets.xml files are not read for titles


def _read_metadata(repo: Repository, aip_id: str, version: str, alg: str, rows: list[dict[str, Any]]
                   ) -> tuple[bytes | None, dict[str, str]]:
    """The AIP's dc.xml and the titles of NSESSS components ({AIP logical path: title}), read
    from storage verified like every exported byte; damage seen is recorded."""
    picked = [r for r in rows if r["logical_path"].endswith("/mets.xml") and r["size"] < TITLES_FROM_ABOVE]
    dc = repo.catalog.file(aip_id, version, DC_PATH)
    wanted = [Wanted(r["logical_path"], r["content_path"], r["digest"], r["size"])
              for r in ([dc] if dc else []) + picked]
    data, report = fetch_small(repo, aip_id, alg, wanted)
    _record_damage(repo, aip_id, report)
    titles: dict[str, str] = {}
    for path, content in data.items():
        if path != DC_PATH:
            titles.update(component_titles(path.rsplit("/", 1)[0], content))
    return data.get(DC_PATH), titles


def component_titles(folder: str, mets: bytes) -> dict[str, str]:
    """{`folder`/href: component title} from an NSESSS mets.xml (empty for anything else)."""
    from lxml import etree

    from archa.metadata.nsesss import GENERATIONS
    from archa.metadata.xmlsafe import UnsafeXml, parse_untrusted

    try:
        root = parse_untrusted(mets)
    except (etree.XMLSyntaxError, UnsafeXml):
        return {}
    m, x = "http://www.loc.gov/METS/", "http://www.w3.org/1999/xlink"
    names: dict[str, str] = {}
    for ns in GENERATIONS:
        for k in root.iter(f"{{{ns}}}Komponenta"):
            title = k.findtext(f"{{{ns}}}EvidencniUdaje/{{{ns}}}Popis/{{{ns}}}Nazev")
            if title and k.get("ID"):
                names[k.get("ID", "")] = " ".join(title.split())
    out = {}
    for f in root.iter(f"{{{m}}}file"):
        loc = f.find(f"{{{m}}}FLocat")
        title = names.get(f.get("DMDID", ""))
        if loc is not None and title:
            out[f"{folder}/{loc.get(f'{{{x}}}href', '').replace(chr(92), '/')}"] = title
    return out


def _record_damage(repo: Repository, aip_id: str, report: FetchReport) -> None:
    """Mark each copy found damaged on the way out, with a failed fixity-check event."""
    kinds = {loc.name: loc.kind for loc in repo.config.locations}
    for (loc, version), findings in sorted(report.damage.items()):
        a = CopyAudit(aip_id, version, loc, kinds.get(loc, ""), state="damaged", findings=findings)
        if any(f.code == "FIX011" for f in findings):
            a.state = "missing"
        record_audit(repo, a)


def _write_bag_tags(sink: DirSink | ZipSink, alg: str, info: DipInfo, audience: str,
                    payload: list[tuple[str, str, int]]) -> None:
    """Make the DIP a BagIt 1.0 bag: its payload (`payload`: path from the bag's root, digest
    in `alg` taken as it was written, size) already in data/, the tag files written through
    `sink` beside it: bagit.txt, the manifest, bag-info, the tag manifest."""
    payload = sorted(payload)
    size = sum(n for _p, _d, n in payload)
    tags = [
        ("bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"),
        (f"manifest-{alg}.txt", "".join(f"{digest}  {path}\n" for path, digest, _n in payload)),
        ("bag-info.txt", (f"Bag-Software-Agent: {info.agent}\nBagging-Date: {info.created[:10]}\n"
                          f"External-Identifier: {info.dip_id}\nExternal-Description: DIP of {info.aip_id} "
                          f"{info.version}: {info.label}\nAccess-Audience: {audience}\n"
                          f"Payload-Oxum: {size}.{len(payload)}\n"))]
    lines = [f"{_write_text(sink, name, text).digest}  {name}\n" for name, text in tags]
    _write_text(sink, f"tagmanifest-{alg}.txt", "".join(lines))


def _write_text(sink: DirSink | ZipSink, path: str, text: str) -> EntryWriter:
    data = text.encode("utf-8")
    return _write_tag(sink, path, lambda f: f.write(data))


def _publish(partial: Path, out: Path, force: bool) -> None:
    """Rename the finished DIP to OUT; with `force`, the old OUT goes only once the new one is complete."""
    old = None
    if out.exists() or out.is_symlink():
        if not force:
            raise UsageError(f"{out}: appeared while exporting; archa does not overwrite it",
                             hint="choose another OUT, or pass --force")
        old = partial_sibling(out.parent / f"{out.name}-old")
        os.rename(out, old)
    os.rename(partial, out)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
