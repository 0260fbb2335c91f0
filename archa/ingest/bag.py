"""Reading a BagIt bag (RFC 8493, versions 0.93-1.0) and checking its structure.

`open_bag` parses the tag files and compares the manifests with what is on disk; it
reads no payload bytes. Fixity (every checksum) is checked while the payload is copied
(see `archa.repository.copying`), so each payload file is read once.

Finding codes are stable; docs/design.md lists them.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from archa.errors import Finding, name_problem
from archa.repository.catalog.baglisting import BagListing
from archa.repository.catalog.scratch import ScratchDb
from archa.repository.unpacking import unsafe_name

ALGORITHMS = ("md5", "sha1", "sha256", "sha512")  # the ones RFC 8493 names
# every fixed-length hashlib algorithm a manifest may use (RFC 8493 allows any); RFC 8493's
# registry names them with '-' (manifest-sha3-256.txt), hashlib and bagit-python with '_'
# (manifest-sha3_256.txt): both spellings are read
VERIFIABLE = frozenset({*ALGORITHMS, "sha224", "sha384", "sha3_224", "sha3_256", "sha3_384", "sha3_512",
                        "blake2b", "blake2s"})
_VERSION = re.compile(r"^BagIt-Version: ([0-9]+)\.([0-9]+)$")
_ENCODING = re.compile(r"^Tag-File-Character-Encoding: (\S+)$")
_MANIFEST = re.compile(r"^(tag)?manifest-([a-z0-9_-]+)\.txt$")
_OXUM = re.compile(r"^([0-9]+)\.([0-9]+)$")
# a tag file `archa transfer folder` writes when it bagged names that were not UTF-8:
# "path<TAB>original bytes, percent-encoded" per file; ingest puts the original into PREMIS
ORIGINAL_NAMES = "original-names.tsv"
SYSTEM_FILES = {".ds_store", "thumbs.db", "desktop.ini"}
SUPPORTED_VERSIONS = {(0, 93), (0, 94), (0, 95), (0, 96), (0, 97), (1, 0)}


def decode_path(s: str) -> str:
    """Undo the manifest percent-encoding of CR, LF and '%'."""
    if "%" not in s:
        return s
    return re.sub(r"%(0D|0A|25)", lambda m: {"0D": "\r", "0A": "\n", "25": "%"}[m.group(1).upper()],
                  s, flags=re.IGNORECASE)


@dataclass(slots=True)
class PayloadEntry:
    """A payload file: `path` as listed (bag-relative, starts with data/), `disk` as found."""

    path: str
    disk: str
    size: int
    expected: dict[str, str] = field(default_factory=dict)


@dataclass
class Bag:
    """The parsed, structurally checked bag. `findings` holds every problem found so far.

    The payload (every file on disk, every checksum the manifests expect) lives in the
    scratch tables of `listing` (archa/repository/catalog/baglisting.py), not in memory:
    read it with `iter_payload`, `payload_files` and `payload_bytes`."""

    root: Path
    listing: BagListing = field(default_factory=BagListing, repr=False)
    version: str = ""
    encoding: str = "UTF-8"
    info: list[tuple[str, str]] = field(default_factory=list)
    payload_algorithms: list[str] = field(default_factory=list)
    tag_algorithms: list[str] = field(default_factory=list)
    tag_files: list[str] = field(default_factory=list)
    tag_expected: dict[str, dict[str, str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def add(self, code: str, message: str, path: str = "", expected: str | None = None,
            found: str | None = None, severity: str = "error") -> None:
        self.findings.append(Finding(code, message, path, expected, found, severity))

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)

    def info_value(self, label: str) -> str | None:
        for k, v in self.info:
            if k.lower() == label.lower():
                return v
        return None

    @property
    def payload_files(self) -> int:
        """How many payload files a manifest lists and the disk holds."""
        return self.listing.payload_files()

    @property
    def payload_bytes(self) -> int:
        return self.listing.payload_bytes()

    def is_payload(self, path: str) -> bool:
        return self.listing.is_payload(path)

    def iter_payload(self, min_size: int = 0, below: int | None = None,
                     largest_first: bool = False) -> Iterator[PayloadEntry]:
        """The payload files of `min_size` bytes or more (and under `below`), in path order
        (or largest first), each with the checksums the manifests expect."""
        entry: PayloadEntry | None = None
        for path, size, alg, digest in self.listing.expected_payload(min_size, below, largest_first):
            if entry is None or entry.path != path:
                if entry is not None:
                    yield entry
                entry = PayloadEntry(path, path, size)
            entry.expected[alg] = digest
        if entry is not None:
            yield entry


def _read_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, line without EOL) one at a time (never the whole file)."""
    with open(path, "r", encoding=encoding, newline="") as f:
        for n, line in enumerate(f, 1):
            yield n, line.rstrip("\r\n")


def _tag_lines(bag: Bag, name: str, code: str) -> Iterator[tuple[int, str]]:
    """The non-blank lines of tag file `name` (absent: none); a decoding error becomes a
    finding with `code`."""
    path = bag.root / name
    if not path.is_file():
        return
    try:
        for n, line in _read_lines(path, bag.encoding):
            if line.strip():
                yield n, line
    except UnicodeDecodeError as ex:
        bag.add(code, f"not readable as {bag.encoding}: {ex}", name)


def _check_bagit_txt(bag: Bag) -> None:
    path = bag.root / "bagit.txt"
    if not path.is_file() or path.is_symlink():
        bag.add("BAG001", "bagit.txt is missing", "bagit.txt",
                )
        return
    raw = path.read_bytes()[:4096]
    if raw.startswith(codecs.BOM_UTF8):
        bag.add("BAG002", "bagit.txt starts with a byte-order mark", "bagit.txt")
        return
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        bag.add("BAG002", "bagit.txt is not UTF-8", "bagit.txt")
        return
    if len(lines) != 2:
        bag.add("BAG002", "bagit.txt must have exactly two lines", "bagit.txt",
                expected="2", found=str(len(lines)))
        return
    m = _VERSION.match(lines[0])
    if not m:
        bag.add("BAG002", "bad BagIt-Version line", "bagit.txt",
                expected="BagIt-Version: M.N", found=lines[0])
    else:
        bag.version = f"{m.group(1)}.{m.group(2)}"
        if (int(m.group(1)), int(m.group(2))) not in SUPPORTED_VERSIONS:
            bag.add("BAG002", "unsupported BagIt version", "bagit.txt",
                    expected="0.93 to 1.0", found=bag.version)
    e = _ENCODING.match(lines[1])
    if not e:
        bag.add("BAG002", "bad Tag-File-Character-Encoding line", "bagit.txt",
                expected="Tag-File-Character-Encoding: ENC", found=lines[1])
        return
    try:
        codecs.lookup(e.group(1))
        bag.encoding = e.group(1)
    except LookupError:
        bag.add("BAG002", "unknown tag file encoding", "bagit.txt", found=e.group(1))


def _parse_bag_info(bag: Bag) -> None:
    for n, line in _tag_lines(bag, "bag-info.txt", "BAG019"):
        if name_problem(line.replace("\t", " ")):
            bag.add("BAG023", f"line {n}: a control character (or bytes that are not text); it cannot go "
                              "into the metadata: remove it", "bag-info.txt", found=line)
            continue
        if line[0] in " \t":
            if not bag.info:
                bag.add("BAG019", f"line {n}: continuation line with no label before it", "bag-info.txt")
                continue
            k, v = bag.info[-1]
            bag.info[-1] = (k, v + " " + line.strip())
        elif ":" in line:
            k, v = line.split(":", 1)
            if k != k.strip():
                if bag.version and bag.version != "1.0":  # older tools wrote 'Label : Value'
                    bag.add("BAGW05", f"line {n}: whitespace before the colon (read as BagIt {bag.version} "
                                      "tools wrote it)", "bag-info.txt", found=line, severity="warning")
                else:
                    bag.add("BAG019", f"line {n}: whitespace before the colon", "bag-info.txt", found=line)
            bag.info.append((k.strip(), v.strip()))
        else:
            bag.add("BAG019", f"line {n}: not 'Label: Value'", "bag-info.txt", found=line)


def _walk(bag: Bag, top: str, skip: str = "") -> Iterator[tuple[str, os.stat_result]]:
    """Every regular file below `bag.root/top` as (bag-relative path, stat); links and
    special files become findings and are not followed. The directory `skip` is not entered
    (the payload, walked on its own: each of its problems is reported once)."""
    stack = [top]
    while stack:
        rel = stack.pop()
        try:
            entries = sorted(os.scandir(bag.root / rel), key=lambda e: e.name)
        except OSError as ex:
            bag.add("BAG015", f"directory cannot be read: {ex.strerror}", rel)
            continue
        for entry in entries:
            p = f"{rel}/{entry.name}" if rel else entry.name
            problem = name_problem(entry.name)
            if problem:
                bag.add("BAG022", f"{problem}: such a name cannot be kept; rename it (archa transfer folder "
                                  "turns names that are not UTF-8 into Windows-1250 readings, recording the "
                                  "original bytes)", p)
                continue
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                bag.add("BAG015", "symbolic link in the bag (links are never followed: "
                                  "replace it with the file itself)", p)
            elif stat.S_ISDIR(st.st_mode):
                if p != skip:
                    stack.append(p)
            elif stat.S_ISREG(st.st_mode):
                yield p, st
            else:
                bag.add("BAG015", "device file, FIFO or socket in the bag", p)


def _listed(bag: Bag, name: str, alg: str, tag: bool) -> Iterator[tuple[str, str, str | None]]:
    """The well-formed lines of manifest `name` as (path, digest, NFC form when it differs);
    each malformed or unsafe line is a finding."""
    hexlen = hashlib.new(alg).digest_size * 2
    for n, line in _tag_lines(bag, name, "BAG005"):
        parts = line.split(None, 1)
        if len(parts) != 2 or len(parts[0]) != hexlen or not all(c in "0123456789abcdefABCDEF" for c in parts[0]):
            bag.add("BAG005", f"line {n}: not 'checksum path' with a {alg} checksum", name,
                    found=line[:200])
            continue
        digest, path = parts[0].lower(), decode_path(parts[1].lstrip(" \t").removeprefix("*"))
        why = unsafe_name(path)
        if why:
            bag.add("BAG006", f"unsafe path in manifest ({why})", path, found=name)
            continue
        path = os.path.normpath(path).replace(os.sep, "/")
        if not tag and not path.startswith("data/"):
            bag.add("BAG006", "payload manifest lists a file outside data/", path, found=name)
            continue
        if tag and (path.startswith("data/") or _MANIFEST.match(path) and path.startswith("tag")):
            bag.add("BAG014", "a tag manifest must not list payload files or tag manifests",
                    path, found=name)
            continue
        nfc = unicodedata.normalize("NFC", path)
        yield path, digest, nfc if nfc != path else None


def _parse_manifest(bag: Bag, name: str, alg: str, tag: bool) -> None:
    """Load manifest `name` into the listing's manifest table (emptied first): one row per
    path, the first line of a path listed twice (the others are findings)."""
    listing = bag.listing
    listing.load_manifest(_listed(bag, name, alg, tag))
    for path, digest, first in listing.drop_repeated():
        if digest == first:
            bag.add("BAGW03", "listed twice with the same checksum", path, found=name, severity="warning")
        else:
            bag.add("BAG017", "listed twice with different checksums", path, expected=first, found=digest)
    seen: dict[str, str] = {}
    for key, path in listing.normalisation_clashes():  # only the names that clash
        if key in seen:
            bag.add("BAG020", "two entries differ only by Unicode normalisation", path, found=seen[key])
        else:
            seen[key] = path


def open_bag(root: Path, db: ScratchDb | None = None) -> Bag:
    """Parse and structurally check the bag at `root`; never modifies it.

    Collects every problem in `Bag.findings`; reads no payload bytes. The listing goes into
    `db` (a scratch database, see archa.repository.catalog.scratch; in memory when not given).
    """
    bag = Bag(root=root, listing=BagListing(db))
    _check_bagit_txt(bag)
    if any(f.code in ("BAG001",) for f in bag.findings):
        return bag
    _parse_bag_info(bag)
    if not (root / "data").is_dir() or (root / "data").is_symlink():
        bag.add("BAG003", "the payload directory data/ is missing", "data/")

    # tag files: everything outside data/
    manifests: list[tuple[str, str, bool]] = []
    for name, _st in _walk(bag, "", skip="data"):
        if name == "data":
            continue
        m = _MANIFEST.match(name)
        if m:
            alg = m.group(2).replace("-", "_")
            if alg not in VERIFIABLE:
                bag.add("BAGW04", f"manifest for unsupported algorithm {alg!r} is kept but not "
                                  "verified", name, severity="warning")
            else:
                manifests.append((name, alg, bool(m.group(1))))
        bag.tag_files.append(name)
    bag.tag_files.sort()
    if not any(not tag for _n, _a, tag in manifests):
        present = [n for n in bag.tag_files if n.startswith("manifest-")]
        bag.add("BAG004", "no payload manifest (manifest-<alg>.txt) with an algorithm archa can verify "
                          "(md5, sha1, sha2, sha3, blake2); "
                          + (f"the bag has {', '.join(present)}" if present else "the bag has no payload manifest"),
                "manifest-*.txt", found=", ".join(present) or None)

    # payload on disk
    listing = bag.listing
    if (root / "data").is_dir() and not (root / "data").is_symlink():
        listing.add_on_disk(_on_disk(bag))  # rows read one at a time

    for name, alg, tag in sorted(manifests):
        _parse_manifest(bag, name, alg, tag)
        if tag:
            bag.tag_algorithms.append(alg)
            for path, digest in listing.listed():
                if not (root / path).is_file():
                    bag.add("BAG012", "tag manifest lists a tag file that is missing", path, found=name)
                else:
                    bag.tag_expected.setdefault(path, {})[alg] = digest
            continue
        bag.payload_algorithms.append(alg)
        listing.expect_listed(alg)
        _match_by_normalisation(bag, name, alg)
        for path in listing.unexpected_on_disk(alg):
            bag.add("BAG008", "payload file not listed in the manifest", path, found=name)
    _check_fetch(bag)
    _check_oxum(bag)
    listing.commit()
    return bag


def _on_disk(bag: Bag) -> Iterator[tuple[str, str | None, int]]:
    """Every payload file as (path, NFC form when it differs, size)."""
    for p, st in _walk(bag, "data"):
        if p.rsplit("/", 1)[-1].lower() in SYSTEM_FILES:
            bag.add("BAGW02", "system file in the payload", p, severity="warning")
        nfc = unicodedata.normalize("NFC", p)
        yield p, nfc if nfc != p else None, st.st_size


def _match_by_normalisation(bag: Bag, name: str, alg: str) -> None:
    """The manifest's paths that are not on disk as written: the one file on disk whose name
    differs only by Unicode normalisation (and that the manifest does not list as such) is
    taken, with a warning; else a finding."""
    listing = bag.listing
    for path, digest, nfc in listing.listed_not_on_disk():
        cands = listing.unlisted_matching(nfc or path)
        if len(cands) == 1:
            bag.add("BAGW01", "manifest and disk names differ only by Unicode "
                              "normalisation; the file on disk is used", path, found=cands[0], severity="warning")
            listing.expect(cands[0], alg, digest)
        elif len(cands) > 1:
            bag.add("BAG020", "manifest name matches several files on disk by Unicode "
                              "normalisation", path, found=", ".join(cands))
        else:
            bag.add("BAG007", "listed in the manifest but missing from the payload", path, found=name)


def _check_oxum(bag: Bag) -> None:
    values = [v for k, v in bag.info if k.lower() == "payload-oxum"]
    if not values:
        return
    if len(values) > 1:
        bag.add("BAG011", "Payload-Oxum appears more than once", "bag-info.txt")
    m = _OXUM.match(values[0])
    if not m:
        bag.add("BAG011", "Payload-Oxum is not 'bytes.files'", "bag-info.txt", found=values[0])
        return
    size, count = bag.listing.disk_totals()
    found = f"{size}.{count}"
    if values[0] != found:
        bag.add("BAG010", "Payload-Oxum does not match the payload on disk", "bag-info.txt",
                expected=values[0], found=found)


def _check_fetch(bag: Bag) -> None:
    for n, line in _tag_lines(bag, "fetch.txt", "BAG016"):
        parts = line.split(None, 2)
        if len(parts) != 3 or not (parts[1] == "-" or parts[1].isdigit()):
            bag.add("BAG016", f"line {n}: not 'URL length path'", "fetch.txt", found=line[:200])
            continue
        target = decode_path(parts[2])
        why = unsafe_name(target)
        size = bag.listing.disk_size(target)
        if why or not target.startswith("data/"):
            bag.add("BAG016", f"fetch target is unsafe or outside data/ ({why or 'outside data/'})",
                    target, found="fetch.txt")
        elif size is None:
            bag.add("BAG016", "fetch.txt lists a file that is not present; archa never "
                              "fetches: fetch it and put it in the bag first", target, found=parts[0])
        elif parts[1] != "-" and int(parts[1]) != size:
            bag.add("BAG016", "fetched file has the wrong length", target,
                    expected=parts[1], found=str(size))
        elif not bag.is_payload(target):
            bag.add("BAG016", "fetched file is not listed in the payload manifests", target)


def load_original_names(bag: Bag) -> None:
    """Record the original names (bag path data/... -> the original name's bytes,
    percent-encoded) from ORIGINAL_NAMES in the listing, when the bag has it."""
    if ORIGINAL_NAMES not in bag.tag_files:
        return
    lines = ((f"data/{parts[0]}", f"data/{parts[1]}")
             for n, line in _tag_lines(bag, ORIGINAL_NAMES, "BAG019")
             if n > 1 and len(parts := line.split("\t")) == 2)
    bag.listing.add_original_names(lines)
