"""`archa transfer folder --images`: an image record made from a folder of images.

The folder is bagged as `archa transfer folder` bags it (archa/transfer/folder.py: read
once, never changed), and its images become the record's pages: every TIFF, JPEG, JPEG 2000
and PNG file (by suffix, in any sub-folder) in natural name order (`scan2.tif` before
`scan10.tif`, archa/access/imagesources.name_key), each page of a multi-page TIFF a page of
its own (reduced-resolution thumbnails are none). Each image is decoded (Pillow; JPEG 2000
through OpenJPEG) from its copy in the bag, so the source is still read once.

Descriptions, both optional, both kept in the payload as records (they are no pages):

- `metadata.csv` at the top: UTF-8 (a BOM allowed) or, when it is not valid UTF-8,
  Windows-1250; `,`, `;` (Czech Excel) or tab between cells, by what the header line holds
  (an Excel `sep=;` first line is honoured). Columns are named as Dublin Core terms
  (title, creator, subject, description, publisher, contributor, date, type, format,
  identifier, source, language, relation, coverage, rights; any case, `dc:`/`dcterms:`
  prefix allowed; abstract, created, issued, accessRights ... count as the term they refine)
  plus `file`: a row with a file describes that image (its title is the page label), the
  row without one the whole item. Without a `file` column the first row describes the item.
  A column of any other name is left out with a warning.
- Dublin Core XML (oai_dc or plain dc/dcterms elements): `dc.xml` (or one `NAME.dc.xml`
  naming no image) at the top describes the item; `IMAGE.dc.xml` or `STEM.dc.xml` beside an
  image describes that image. Values from the CSV come first.

The item's description goes into bag-info: Title, External-Identifier (identifier),
Access-Rights (rights: public or restricted access, archa/metadata/description.py),
External-Description (description), and Creator, Date, Subject, ... by their term name; the
bag-info given by the caller (`--title`, `--meta`, `--originator`) wins over it. The page
order, labels, frames and per-image descriptions go into the submission tag file
`image-structure.json`, which ingest turns into pages (archa/repository/pages.py).

Refused (SipRejected, nothing written, the source untouched), every problem at once: a CSV or
DC file that cannot be read or parsed (IMG001, IMG006), a row naming a file the folder does
not hold (IMG002) or one that is no image, or the same image twice (IMG003), an image that
does not decode (IMG004), a folder without an image (IMG005), a description file that
changed while it was copied (TRF008). IMG007 (warning): a column or row left out.
"""

from __future__ import annotations

import csv
import io
import json
import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path, PurePosixPath

from lxml import etree

from archa.access.imagesources import DC_LABELS, IMAGE_SUFFIXES, name_key
from archa.errors import Finding, SipRejected
from archa.metadata.xmlsafe import UnsafeXml, parse_untrusted
from archa.policies.model import TransferPolicy
from archa.repository.copying import ProgressFn
from archa.transfer.bagwriter import BAG_ALGORITHM, BagDraft
from archa.transfer.folder import TransferResult, transfer_folder

__all__ = ["CSV_NAME", "STRUCTURE_TAG", "ImageShaper", "read_csv", "read_dc_xml", "transfer_images"]

CSV_NAME = "metadata.csv"
STRUCTURE_TAG = "image-structure.json"  # becomes metadata/submission/image-structure.json
MAX_DESCRIPTION = 64 << 20  # a metadata.csv or DC file larger than this is not read

IMAGE_HINT = ("correct or remove the files named above (or metadata.csv) and run the transfer again; nothing was "
              "written and the folder was not changed")

DC_TERMS = ("title", "creator", "subject", "description", "publisher", "contributor", "date", "type", "format",
            "identifier", "source", "language", "relation", "coverage", "rights")
# DCMI terms that refine one of the fifteen elements, by lower-case name
REFINES = {"abstract": "description", "tableofcontents": "description", "alternative": "title",
           "created": "date", "issued": "date", "modified": "date", "available": "date", "valid": "date",
           "datecopyrighted": "date", "accessrights": "rights", "license": "rights", "rightsholder": "rights",
           "spatial": "coverage", "temporal": "coverage", "extent": "format", "medium": "format",
           "ispartof": "relation", "haspart": "relation", "bibliographiccitation": "identifier"}
FILE_COLUMNS = ("file", "filename", "file name", "soubor", "název souboru")
DC_NAMESPACES = ("http://purl.org/dc/elements/1.1/", "http://purl.org/dc/terms/")
# term -> bag-info label (title and identifier as BagIt names them; the rest by their own name)
BAG_INFO = {"title": "Title", "identifier": "External-Identifier", "rights": "Access-Rights",
            "description": "External-Description", **{t: t.capitalize() for t in DC_TERMS
                                                      if t not in ("title", "identifier", "rights", "description")}}

Terms = dict[str, list[str]]  # DC term -> its values, in the order read


def _norm(text: str) -> str:
    return " ".join(text.split())


def _nfc(path: str) -> str:
    return unicodedata.normalize("NFC", path)


def _term(name: str) -> str:
    """The DC term a column or element name stands for; "file" for the file column; "" for none."""
    low = _norm(name).lower()
    if low in FILE_COLUMNS:
        return "file"
    for prefix in ("dc:", "dcterms:", "dc.", "dcterms."):
        low = low.removeprefix(prefix)
    low = low.replace(" ", "")
    return low if low in DC_TERMS else REFINES.get(low, "")


def _add(terms: Terms, term: str, value: str) -> None:
    value = _norm(value)
    if value and value not in terms.setdefault(term, []):
        terms[term].append(value)


# --- metadata.csv ---------------------------------------------------------------------------

@dataclass
class CsvRows:
    """What a metadata.csv says: the item's terms, each named file's terms (by the name as
    written, with the line it is on), and findings (errors: IMG001; warnings: IMG007)."""

    item: Terms = field(default_factory=dict)
    files: list[tuple[int, str, Terms]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1250")
    except UnicodeDecodeError:
        return None


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    best = max(counts.values())
    return "," if best == 0 or counts[","] == best else ";" if counts[";"] == best else "\t"


def read_csv(data: bytes, name: str = CSV_NAME) -> CsvRows:
    """The descriptions in a metadata.csv (see the module docstring). Never raises: what
    cannot be read is an IMG001 finding naming the line."""
    out = CsvRows()

    def bad(message: str) -> CsvRows:
        out.findings.append(Finding("IMG001", message, name))
        return out

    text = None if b"\x00" in data else _decode(data)  # NUL: no text at all (an .xlsx renamed?)
    if text is None:
        return bad("cannot be read: neither UTF-8 nor Windows-1250 text (a workbook renamed to .csv?); save it "
                   "from the spreadsheet as 'CSV UTF-8' or 'CSV (oddělený středníkem)'")
    first, _nl, rest = text.partition("\n")
    skipped = 0
    if first.strip().lower().startswith("sep=") and len(first.strip()) == 5:  # Excel's delimiter hint line
        delimiter, text, skipped = first.strip()[4], rest, 1
    else:
        delimiter = _delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        start = 1
        for row in reader:  # each row with the line it starts on
            rows.append((start + skipped, row))
            start = reader.line_num + 1
    except csv.Error as e:
        return bad(f"line {reader.line_num + skipped}: cannot be parsed as CSV ({e}); check its quotes")
    rows = [(n, r) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        return bad("is empty: give a header line of Dublin Core terms (title, creator, date, ...) and a row "
                   "per file or for the whole item")
    (_n, header), body = rows[0], rows[1:]
    terms = [_term(h) for h in header]
    if terms.count("file") > 1:
        return bad("has more than one file column")
    if not any(t and t != "file" for t in terms):
        return bad(f"no column is named as a Dublin Core term ({', '.join(DC_TERMS[:7])}, ...); the header line "
                   f"read is {delimiter.join(header)!r}")
    unknown = [h for h, t in zip(header, terms, strict=True) if h.strip() and not t]
    if unknown:
        out.findings.append(Finding("IMG007", "columns not named as Dublin Core terms are left out of the "
                                    "description (the file itself is kept): " + ", ".join(map(repr, unknown)),
                                    name, severity="warning"))
    has_file = "file" in terms
    item_line = 0
    for n, row in body if has_file else body[:1]:
        if len(row) > len(terms) and any(c.strip() for c in row[len(terms):]):
            return bad(f"line {n}: {len(row)} cells, the header has {len(terms)}; quote values that hold "
                       f"{delimiter!r}")
        values: Terms = {}
        file = ""
        for term, cell in zip(terms, row, strict=False):
            if term == "file":
                file = cell.strip()
            elif term:
                _add(values, term, cell)
        if file:
            out.files.append((n, file, values))
        elif item_line:
            return bad(f"lines {item_line} and {n} both describe the whole item (no file); name the file of "
                       "one of them")
        else:
            item_line, out.item = n, values
    if not has_file and len(body) > 1:
        left = f"line {body[1][0]}" if len(body) == 2 else f"lines {body[1][0]}-{body[-1][0]}"
        out.findings.append(Finding("IMG007", f"without a file column only the first row (line {body[0][0]}) is "
                                    "read, as the whole item's description; add a 'file' column to describe "
                                    f"images: {left} left out", name, severity="warning"))
    return out


# --- Dublin Core XML -------------------------------------------------------------------------

def read_dc_xml(data: bytes, name: str) -> tuple[Terms, list[Finding]]:
    """The terms of a Dublin Core record (oai_dc, or dc/dcterms elements anywhere in the
    document); an IMG006 finding when it is not safe, well-formed XML with a DC element."""
    try:
        root = parse_untrusted(data)
    except (UnsafeXml, etree.XMLSyntaxError) as e:
        return {}, [Finding("IMG006", f"is not a Dublin Core record archa can read: {e}", name)]
    terms: Terms = {}
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el).namespace in DC_NAMESPACES:
            term = _term(etree.QName(el).localname)
            if term and term != "file":
                _add(terms, term, "".join(el.itertext()))
    if not terms:
        return {}, [Finding("IMG006", "holds no Dublin Core element (http://purl.org/dc/elements/1.1/ or "
                            "http://purl.org/dc/terms/) with a value", name)]
    return terms, []


# --- decoding --------------------------------------------------------------------------------

def _frames(path: Path) -> list[int] | str:
    """The page frames of an image, each decoded; the error text when it does not decode."""
    from PIL import Image

    from archa.access.tiles import page_frames

    try:
        with Image.open(path) as img:
            frames = page_frames(img)
            for f in frames:
                img.seek(f)
                img.load()
            return frames
    except Exception as e:  # noqa: BLE001 - a broken file makes Pillow raise all kinds of errors
        return f"{type(e).__name__}: {e}" if not str(e) else str(e)


def is_image_name(rel: str) -> bool:
    """Whether a bag path names an image that becomes pages (by its suffix)."""
    return PurePosixPath(rel).suffix.lower() in IMAGE_SUFFIXES


# --- the shaper ------------------------------------------------------------------------------

@dataclass
class ImageShaper:
    """Makes a folder's bag an image record (archa/transfer/folder.py `Shaper`): `plan` reads
    the descriptions from the source before anything is copied, `finish` decodes the copied
    images and writes the structure."""

    source_name: str
    jobs: int = 4
    kind: str = "images"
    images: list[str] = field(default_factory=list)  # bag paths, in page order
    item: Terms = field(default_factory=dict)
    by_file: dict[str, Terms] = field(default_factory=dict)
    read_digests: dict[str, str] = field(default_factory=dict)  # description file -> sha256 of what was read

    def plan(self, files: Sequence[str], source: Callable[[str], Path]) -> list[Finding]:
        """Findings (warnings) for the files `files` (bag paths; `source(rel)` the file to
        read); SipRejected for every problem with the descriptions or a folder without an image."""
        findings: list[Finding] = []
        self.images = sorted((f for f in files if is_image_name(f)), key=name_key)
        if not self.images:
            raise SipRejected(self.source_name, [Finding(
                "IMG005", "no image (TIFF, JPEG, JPEG 2000 or PNG) in the folder: transfer it without --images to "
                          "keep it as a folder of files", ".")], hint=IMAGE_HINT)
        image_set = {_nfc(i): i for i in self.images}
        by_name: dict[str, list[str]] = {}
        for i in self.images:
            by_name.setdefault(_nfc(PurePosixPath(i).name), []).append(i)
        csvs = [f for f in files if f.lower() == CSV_NAME]
        if len(csvs) > 1:
            findings.append(Finding("IMG001", "two description spreadsheets: " + ", ".join(csvs) + "; keep one",
                                    csvs[1]))
        elif csvs:
            rows = read_csv(self._read(csvs[0], source, findings), csvs[0])
            findings += rows.findings
            self._merge(self.item, rows.item)
            for line, name, terms in rows.files:
                rel = self._match(name, image_set, by_name, files)
                if rel is None and len(by_name.get(_nfc(name.strip()), [])) > 1:
                    findings.append(Finding("IMG002", f"line {line} names {name!r}, which several images are "
                                            "called: give its path under the folder (e.g. "
                                            f"{by_name[_nfc(name.strip())][0]!r})", csvs[0]))
                elif rel is None:
                    findings.append(Finding("IMG002", f"line {line} names {name!r}, which the folder does not hold: "
                                            "correct the name or add the file", csvs[0]))
                elif not is_image_name(rel):
                    findings.append(Finding("IMG003", f"line {line} names {name!r}, which is not an image (TIFF, "
                                            "JPEG, JPEG 2000, PNG): only images are described by rows", csvs[0]))
                elif rel in self.by_file:
                    findings.append(Finding("IMG003", f"line {line} names {name!r} a second time; give each image "
                                            "one row", csvs[0]))
                else:
                    self.by_file[rel] = terms
        self._dc_files(files, source, image_set, findings)
        errors = [f for f in findings if f.is_error]
        if errors:
            raise SipRejected(self.source_name, findings, hint=IMAGE_HINT)
        return findings

    def _read(self, rel: str, source: Callable[[str], Path], findings: list[Finding]) -> bytes:
        path = source(rel)
        try:
            if path.stat().st_size > MAX_DESCRIPTION:
                findings.append(Finding("IMG001", f"larger than {MAX_DESCRIPTION >> 20} MiB: no description", rel))
                return b""
            data = path.read_bytes()
        except OSError as e:
            findings.append(Finding("TRF001", f"cannot be read: {e.strerror}", rel))
            return b""
        self.read_digests[rel] = sha256(data).hexdigest()
        return data

    @staticmethod
    def _merge(into: Terms, terms: Terms) -> None:
        for term, values in terms.items():
            for v in values:
                _add(into, term, v)

    @staticmethod
    def _match(name: str, image_set: dict[str, str], by_name: dict[str, list[str]],
               files: Sequence[str]) -> str | None:
        """The bag path a CSV cell names: a path under the folder, or a bare name that one
        image alone has; None when the folder holds no such file."""
        wanted = _nfc(name.replace("\\", "/").removeprefix("./"))
        if wanted in image_set:
            return image_set[wanted]
        if "/" not in wanted and len(by_name.get(wanted, [])) == 1:
            return by_name[wanted][0]
        return next((f for f in files if _nfc(f) == wanted), None)

    def _dc_files(self, files: Sequence[str], source: Callable[[str], Path], image_set: dict[str, str],
                  findings: list[Finding]) -> None:
        """Read every Dublin Core file: beside an image it describes it, at the top the item."""
        stems: dict[str, str] = {}
        for i in self.images:
            p = PurePosixPath(_nfc(i))
            stems.setdefault(str(p.with_suffix("")), i)
            stems[str(p)] = i
        item_files = []
        for rel in files:
            low = rel.lower()
            if not (low.endswith(".dc.xml") or low == "dc.xml"):
                continue
            target = stems.get(_nfc(rel)[: -len(".dc.xml")]) if low.endswith(".dc.xml") else None
            if target is None and "/" in rel:
                continue  # a DC file in a sub-folder that names no image: a record like any other
            terms, problems = read_dc_xml(self._read(rel, source, findings), rel)
            findings += problems
            if target is not None:
                self._merge(self.by_file.setdefault(target, {}), terms)
            else:
                item_files.append(rel)
                self._merge(self.item, terms)
        if len(item_files) > 1:
            findings.append(Finding("IMG006", "more than one Dublin Core record describes the whole item: "
                                    + ", ".join(item_files) + "; keep one (IMAGE.dc.xml describes one image)",
                                    item_files[1]))

    def info(self, meta: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """bag-info: the item's description, then `meta`, which wins over it label by label."""
        given = {k.lower() for k, _v in meta}
        pairs: list[tuple[str, str]] = []
        for term in DC_TERMS:
            label = BAG_INFO[term]
            values = self.item.get(term, [])[:1] if term == "title" else self.item.get(term, [])
            if label.lower() not in given:
                pairs += [(label, v) for v in values]
        return pairs + list(meta)

    def finish(self, draft: BagDraft, meta: Sequence[tuple[str, str]],
               progress: ProgressFn | None = None) -> list[tuple[str, str]]:
        """Decode every image from its copy in `draft`, write `image-structure.json` into
        `draft.tag_files` and return the bag-info (`info`). SipRejected naming every image
        that does not decode, or a description file that changed while it was copied."""
        changed = [Finding("TRF008", "changed while it was copied: it is still being written", p.rel)
                   for p in draft.payload()
                   if p.rel in self.read_digests and p.digests.get(BAG_ALGORITHM) != self.read_digests[p.rel]]
        done = [0]

        def decode(rel: str) -> list[int] | str:
            frames = _frames(draft.data / rel)
            done[0] += 1
            if progress:
                progress("decode", done[0], len(self.images))
            return frames

        with ThreadPoolExecutor(max(1, self.jobs)) as pool:  # Pillow decodes without the GIL
            decoded = list(pool.map(decode, self.images))
        bad = [Finding("IMG004", f"the image cannot be decoded ({err}): replace it with a good copy or move it "
                                 "out of the folder", rel)
               for rel, err in zip(self.images, decoded, strict=True) if isinstance(err, str)]
        if changed or bad:
            raise SipRejected(self.source_name, changed + bad, hint=IMAGE_HINT)
        info = self.info(meta)
        title = next((v for k, v in info if k.lower() == "title"), "") or PurePosixPath(self.source_name).name
        draft.tag_files[STRUCTURE_TAG] = json.dumps(
            self.structure(title, [f for f in decoded if not isinstance(f, str)]), ensure_ascii=False,
            indent=1) + "\n"
        return info

    def structure(self, title: str, frames: Iterable[list[int]]) -> dict[str, object]:
        """The image-structure.json document (archa/repository/pages.py)."""
        pages: list[dict[str, object]] = []
        for rel, fs in zip(self.images, frames, strict=True):
            terms = self.by_file.get(rel)
            name = (terms or {}).get("title", [""])[0] or PurePosixPath(rel).name
            for k, frame in enumerate(fs, 1):
                page: dict[str, object] = {"order": len(pages) + 1,
                                           "label": name if len(fs) == 1 else f"{name} [{k}/{len(fs)}]",
                                           "master": rel, "frame": frame, "type": "page"}
                if terms:
                    page["description"] = {t: "; ".join(terms[t]) for t in DC_TERMS if terms.get(t)}
                pages.append(page)
        metadata = [[label, v] for term, label in DC_LABELS for v in self.item.get(term, [])]
        return {"standard": "images", "version": 1, "kind": "images", "title": title,
                "summary": "\n".join(self.item.get("description", [])), "metadata": metadata, "pages": pages}


def transfer_images(src: Path, out: Path, meta: Sequence[tuple[str, str]], policy: TransferPolicy,
                    jobs: int = 4, progress: ProgressFn | None = None, *, shown: str | None = None) -> TransferResult:
    """Bag the folder `src` as the image record `out` (see the module docstring); `shown` as
    `transfer_folder` takes it. Raises as `transfer_folder` does, and SipRejected for the
    problems above; nothing is written then."""
    shaper = ImageShaper(os.fspath(src.absolute()), jobs)
    return transfer_folder(src, out, meta, policy, jobs, progress, shaper=shaper, shown=shown)
