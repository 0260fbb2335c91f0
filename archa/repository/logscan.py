"""Reading what the storage locations hold of the event log and of the journal of the
catalog-only tables, and judging it: which rows are intact, which are vouched for by a
signed seal, and which history the locations agree on.

A location's log (`extensions/archa-events/<first>-<last>.jsonl`, see eventlog.py) is read
as a stream, segment after segment: every row re-hashed and chained to the one before it,
every segment's last row matched against its seal, and, when the repository has a seal key
(`seal_key` in archa.toml: a file of mode 0600 kept outside the catalog and storage), every
seal's HMAC-SHA256 checked. A signed seal vouches for the whole chain up to its last row;
rows after the last seal that verifies are not vouched for. The (seq, hash) of every row
read goes to a scratch table (catalog/logtables.py), so logs of millions of rows are
compared without holding them in memory.

The journal of the catalog-only tables (`changes-<first>-<last>.jsonl`) is bound to the
event chain: whenever there are new changes, `eventlog.anchor` appends a `message digest
calculation` event whose detail is `journal sealed at change N: HASH`, HASH being the
running hash over changes 1..N (`change_hash`). A journal is authentic up to a seal of the
agreed history when its running hash there is the sealed one.

`agree` decides which history a rebuild may take: a row counts only where a majority of
the configured locations hold it alike (with two locations, both), unless the operator
names the location to trust; the first row where that fails ends the agreed history and is
named as a conflict.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archa.errors import RepositoryError, StorageError
from archa.repository.events import GENESIS, HASHED_FIELDS, row_hash
from archa.repository.store import Store

if TYPE_CHECKING:
    from archa.repository.catalog.logtables import HashTables

PREFIX = "extensions/archa-events"
SEGMENT = re.compile(r"^extensions/archa-events/(\d{12})-(\d{12})\.jsonl$")
CHANGES = re.compile(r"^extensions/archa-events/changes-(\d{12})-(\d{12})\.jsonl$")
COLUMNS = ("seq", *HASHED_FIELDS, "hash")
JOURNAL_SEAL = re.compile(r"^journal sealed at change (\d+): ([0-9a-f]{64})$")
READ_CHUNK = 1 << 20


# --- the seal key -----------------------------------------------------------------------------

KEY_ID_SETTING = "seal_key_id"  # the catalog's setting: which key the repository signs with (`key_id`)
KEY_HINT = "restore the key file from its off-site copy (docs/design.md, \"Seal key\")"


def key_id(key: bytes) -> str:
    """A name of `key` that does not give it away (HMAC of a fixed text under it), kept in
    the catalog (`KEY_ID_SETTING`) so that a node given another key, or a key file swapped
    for another, is told from the repository's own."""
    return hmac.new(key, b"archa seal key id", hashlib.sha256).hexdigest()[:32]


def load_seal_key(repo_root: Path, setting: str) -> bytes | None:
    """The seal key in the file `setting` names (relative to `repo_root`; None when it names
    none). Refused (RepositoryError) when the file is missing or not a regular file, owned by
    another user than the one archa runs as, readable or writable by others, in a folder
    others may write into (a sticky folder such as /tmp aside: there nobody else can replace
    it), or too short to be a key. At most 4 KiB of it are read."""
    import os

    if not setting:
        return None
    path = Path(setting) if Path(setting).is_absolute() else repo_root / setting
    try:
        st = path.stat()
        folder = path.parent.stat()
        if not stat.S_ISREG(st.st_mode):
            raise RepositoryError(f"{path}: the seal key is not a regular file", path=str(path), hint=KEY_HINT)
        with open(path, "rb") as f:
            data = f.read(4096).strip()
    except OSError as e:
        raise RepositoryError(f"{path}: the seal key cannot be read ({e.strerror})", path=str(path),
                              hint=KEY_HINT) from e
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise RepositoryError(f"{path}: the seal key is readable or writable by others (mode "
                              f"{stat.S_IMODE(st.st_mode):04o})", path=str(path), hint=f"chmod 600 {path}")
    if st.st_uid != os.geteuid():
        raise RepositoryError(f"{path}: the seal key belongs to user {st.st_uid}, not to the user archa runs as "
                              f"({os.geteuid()})", path=str(path), hint=f"chown {os.geteuid()} {path}")
    _check_folder(path, folder)
    if len(data) < 16:
        raise RepositoryError(f"{path}: the seal key is too short ({len(data)} bytes, 16 at least)", path=str(path),
                              hint="make one with: head -c 32 /dev/urandom | base64 > KEYFILE; chmod 600 KEYFILE")
    return data


def _check_folder(path: Path, folder: Any) -> None:
    """Refuse (RepositoryError) a key whose folder (`folder`: its stat) others may write into."""
    if stat.S_IMODE(folder.st_mode) & 0o022 and not folder.st_mode & stat.S_ISVTX:
        raise RepositoryError(f"{path.parent}: others may write into the seal key's folder, and so replace the key "
                              f"(mode {stat.S_IMODE(folder.st_mode):04o})", path=str(path),
                              hint=f"chmod go-w {path.parent}, or keep the key in a folder only its owner writes")


def key_inside(path: Path, places: dict[str, Path]) -> str:
    """The name of the place of `places` ({name: folder}) that `path` lies in (links
    followed), or ""."""
    real = path.resolve()
    for name, folder in places.items():
        where = folder.resolve()
        if real == where or where in real.parents:
            return name
    return ""


def make_seal_key(path: Path, repo_root: Path, create: bool = True) -> Path:
    """The seal key file for a repository being made at `repo_root`, as an absolute, normalised
    path: when `path` exists, it is checked as `load_seal_key` checks it (the key the
    repository's other nodes use, copied here); otherwise, with `create`, it is made: 32
    random bytes in base64, mode 0600 from its first byte, written durably (its folder must
    exist). Refused (UsageError) under `repo_root`: the key is kept apart from the catalog, the
    storage and their backups, so that whoever can write those cannot also sign."""
    import base64
    import os
    from glob import escape as glob_escape

    from archa.errors import UsageError
    from archa.repository.durable import write_durable

    path = Path(os.path.normpath(path.absolute()))
    root = repo_root.resolve()
    if key_inside(path, {"the repository": root}):
        raise UsageError(f"{path}: the seal key would lie inside the repository {root}",
                         hint="keep it apart from the catalog and the storage, e.g. "
                              "--seal-key /etc/archa/seal.key (and a copy off-site)")
    if path.is_symlink() and not path.exists():
        raise UsageError(f"{path}: a link to nothing ({os.readlink(path)}); no key was made through it",
                         hint="give the key file itself, or remove the link")
    if path.parent.is_dir():  # what a killed init left (`write_durable`'s temporary: a part, or a second link)
        for stale in path.parent.glob(f".{glob_escape(path.name)}.tmp-*"):
            stale.unlink(missing_ok=True)
    if not path.exists():
        if not create:
            raise UsageError(f"{path}: no such seal key", hint="give the key file the repository's other nodes use "
                                                                "(copied here, mode 0600)")
        if not path.parent.is_dir():
            raise UsageError(f"{path.parent}: no such folder for the seal key",
                             hint=f"make it first (mkdir -m 700 {path.parent})")
        _check_folder(path, path.parent.stat())  # before anything is made
        write_durable(path, base64.b64encode(os.urandom(32)) + b"\n", mode=0o600)
    load_seal_key(root, str(path))
    return path


def repo_seal_key(repo: Any) -> bytes | None:
    """The repository's seal key, read once per Repository object; refused (RepositoryError)
    as `load_seal_key` refuses it, and when it lies inside the repository or one of its
    local locations (whoever can read those could sign)."""
    if not hasattr(repo, "_archa_seal_key"):
        key = load_seal_key(repo.root, repo.config.seal_key)
        if key is not None:
            path = Path(repo.config.seal_key)
            path = path if path.is_absolute() else repo.root / path
            places = {**{f"location {loc.name}": repo.location_path(loc) for loc in repo.config.locations
                         if "://" not in loc.uri}, "the repository": repo.root}
            inside = key_inside(path, places)
            if inside:
                raise RepositoryError(f"{path}: the seal key lies inside {inside}, where whoever reads the storage "
                                      "could sign with it", path=str(path),
                                      hint="move it to a folder of its own outside the repository and its "
                                           "locations (e.g. /etc/archa/seal.key) and name that in archa.toml")
        repo._archa_seal_key = key
    key_now: bytes | None = repo._archa_seal_key
    return key_now


def _seal_text(seal: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in seal.items() if k != "hmac"}, sort_keys=True,
                      separators=(",", ":")).encode()


def sign(key: bytes, seal: dict[str, Any]) -> dict[str, Any]:
    """`seal` with its HMAC-SHA256 under `key` (over every field but the signature)."""
    return {**seal, "hmac": hmac.new(key, _seal_text(seal), hashlib.sha256).hexdigest()}


def signed_by(key: bytes, seal: dict[str, Any]) -> bool:
    want = hmac.new(key, _seal_text(seal), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, str(seal.get("hmac", "")))


# --- the journal's running hash ------------------------------------------------------------------

def change_hash(prev: str, seq: int, tbl: str, op: str, row: Any) -> str:
    """The running hash of the journal after change `seq` (row as a JSON value or text)."""
    value = json.loads(row) if isinstance(row, str) else row
    canon = json.dumps({"seq": seq, "tbl": tbl, "op": op, "row": value}, sort_keys=True, separators=(",", ":"),
                       ensure_ascii=False)
    return hashlib.sha256((prev + canon).encode("utf-8", "surrogateescape")).hexdigest()


def journal_seals(rows: Iterator[tuple[int, str]]) -> list[tuple[int, int, str]]:
    """(event seq, change N, HASH) of every journal seal among event rows (seq, detail)."""
    out = []
    for seq, detail in rows:
        m = JOURNAL_SEAL.match(detail or "")
        if m:
            out.append((seq, int(m.group(1)), m.group(2)))
    return out


# --- reading a location ---------------------------------------------------------------------------

def segment_keys(store: Store, pattern: re.Pattern[str] = SEGMENT) -> list[tuple[int, int, str]]:
    return sorted((int(m.group(1)), int(m.group(2)), k) for k, _s in store.list(PREFIX, sizes=False)
                  if (m := pattern.match(k)))


def iter_lines(store: Store, key: str) -> Iterator[str]:
    """The lines of a stored text file, read a chunk at a time."""
    rest = b""
    with store.open(key) as f:
        while chunk := f.read(READ_CHUNK):
            rest += chunk
            *lines, rest = rest.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line.decode("utf-8", "surrogateescape")
    if rest.strip():
        yield rest.decode("utf-8", "surrogateescape")


@dataclass
class LogScan:
    """What one location holds of the event log, as read and checked by `scan_log`."""

    location: str
    last: int = 0  # rows 1..last are intact and chained
    vouched: int = 0  # rows 1..vouched are vouched for (signed, when there is a key; else == last)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (seq, what is wrong)
    reachable: bool = True
    table: str = ""  # scratch table of (seq, hash) for rows 1..last


def scan_log(store: Store, key: bytes | None, on_row: Callable[[dict[str, Any]], None] | None = None,
             upto: int | None = None) -> LogScan:
    """Read every event segment at `store` in order, checking each row (re-hashed, chained,
    contiguous) and each segment's seal (and its signature, with `key`). `on_row` is called
    with every intact row, in order (up to `upto` when given). Never raises for what the
    location holds; an unreadable location gives `reachable` False."""
    scan = LogScan(store.name)
    try:
        keys = segment_keys(store)
    except StorageError as e:
        scan.reachable = False
        scan.problems.append((0, f"{store.name}: the log there cannot be read: {e.message}"))
        return scan
    prev_hash, expected, signed = GENESIS, 1, 0
    for first, last, seg in keys:
        if last < expected:
            continue  # held already by a segment before it (compaction merged them; a rerun)
        if first > expected:
            scan.problems.append((expected, (f"{store.name}: events {expected}-{first - 1} are missing from the log "
                                            f"there ({seg} follows)")))
            break
        seal: dict[str, Any] | None = None
        broken = False
        try:
            for line in iter_lines(store, seg):
                try:
                    obj = json.loads(line)
                except ValueError:
                    scan.problems.append((expected, (f"{store.name}: {seg} is damaged (not the JSON lines archa "
                                                    "writes)")))
                    broken = True
                    break
                if "seal" in obj:
                    seal = obj["seal"] if isinstance(obj["seal"], dict) else {}
                    continue
                if not isinstance(obj, dict) or not isinstance(obj.get("seq"), int) or obj["seq"] < expected:
                    continue
                if obj["seq"] != expected or row_hash(obj) != obj.get("hash") or obj.get("prev_hash") != prev_hash:
                    scan.problems.append((obj["seq"], (f"{store.name}: {seg} holds event {obj['seq']} altered "
                                                      "(its hash or its link to the event before it does not hold)")))
                    broken = True
                    break
                if on_row is not None and (upto is None or expected <= upto):
                    on_row(obj)
                prev_hash, expected = obj["hash"], expected + 1
        except StorageError as e:
            scan.problems.append((expected, f"{store.name}: {seg} cannot be read: {e.message}"))
            break
        if broken:
            break
        if seal is None or seal.get("last") != expected - 1 or seal.get("hash") != prev_hash:
            scan.problems.append((first, f"{store.name}: {seg} does not match its seal"))
            break
        if key is not None:
            if "hmac" not in seal:
                pass  # written before the repository had a key: vouched for by a later signed seal
            elif signed_by(key, seal):
                signed = expected - 1
            else:
                scan.problems.append((first, (f"{store.name}: the seal of {seg} is not signed with the repository's "
                                             "seal key: the log there was rewritten without it")))
                break
    scan.last = expected - 1
    scan.vouched = scan.last if key is None else signed
    if key is not None and scan.vouched < scan.last:
        scan.problems.append((scan.vouched + 1, (f"{store.name}: events {scan.vouched + 1}-{scan.last} are under no "
                                                "seal signed with the repository's seal key (if the key was "
                                                "set just now, the next writing command signs the log)")))
    return scan


def scan_into(db: HashTables, table: str, store: Store, key: bytes | None) -> LogScan:
    """`scan_log` keeping (seq, hash) of every intact row in the scratch table `table` of `db`."""
    db.create(table)
    batch: list[tuple[int, str]] = []

    def keep(row: dict[str, Any]) -> None:
        batch.append((row["seq"], row["hash"]))
        if len(batch) >= 5000:
            db.add(table, batch)
            batch.clear()

    scan = scan_log(store, key, keep)
    db.add(table, batch)
    scan.table = table
    return scan


@dataclass
class JournalScan:
    """What one location holds of the journal: changes 1..last, contiguous, with the
    running hash after each in the scratch table `table` (seq, hash)."""

    location: str
    last: int = 0
    table: str = ""
    reachable: bool = True
    problems: list[tuple[int, str]] = field(default_factory=list)


def iter_changes(store: Store) -> Iterator[dict[str, Any]]:
    """The journal a location holds, in order, as far as it is contiguous from change 1."""
    done = 0
    for first, last, key in segment_keys(store, CHANGES):
        if last <= done:
            continue
        if first > done + 1:
            break
        for line in iter_lines(store, key):
            try:
                change = json.loads(line)
            except ValueError:
                return
            if isinstance(change, dict) and change.get("seq") == done + 1:
                yield change
                done += 1


def scan_journal(db: HashTables, table: str, store: Store) -> JournalScan:
    """The journal at `store`, its running hash after each change kept in the scratch
    table `table` of `db`."""
    scan = JournalScan(store.name, table=table)
    db.create(table)
    h = GENESIS
    batch = []
    try:
        for c in iter_changes(store):
            try:
                h = change_hash(h, c["seq"], c["tbl"], c["op"], c["row"])
            except (KeyError, TypeError, ValueError) as e:  # a line planted there; UnicodeError is a ValueError
                why = (f"{store.name}: change {c.get('seq')} there is not a change as archa writes one "
                       f"({type(e).__name__}: {e}): its journal is read up to the change before")
                scan.problems.append((0, why))
                break
            batch.append((c["seq"], h))
            scan.last = c["seq"]
            if len(batch) >= 5000:
                db.add(table, batch)
                batch.clear()
    except StorageError as e:
        scan.reachable = False
        scan.problems.append((0, f"{store.name}: the journal there cannot be read: {e.message}"))
    db.add(table, batch)
    return scan


# --- agreement --------------------------------------------------------------------------------------

@dataclass
class Agreement:
    """The history the locations agree on: rows 1..top, readable in full from `source`."""

    top: int = 0
    source: str = ""
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def needed(configured: int) -> int:
    """How many locations must hold a row alike: a majority (with two, both)."""
    return configured // 2 + 1


def agree(db: HashTables, scans: list[tuple[str, str, int]], configured: int, what: str,
          trust: str | None = None) -> Agreement:
    """Walk the rows of every location at once, by sequence number (`scans`: location,
    scratch table of (seq, hash), last row that counts), and take each row where at least
    `needed(configured)` locations hold it with one hash, or, past that, where the location
    `trust` holds it. The first row that fails ends the agreed history: it is named as a
    conflict, with what each location holds there."""
    need = needed(configured)
    cursors = {loc: db.hashes(table, upto) for loc, table, upto in scans}
    heads: dict[str, tuple[int, str] | None] = {loc: next(cur, None) for loc, cur in cursors.items()}
    lasts = {loc: upto for loc, _t, upto in scans}
    result = Agreement()
    seq = 1
    trusted_rows = 0
    while True:
        holding = {loc: h[1] for loc, h in heads.items() if h is not None and h[0] == seq}
        if not holding:
            break
        votes = Counter(holding.values())
        best, count = votes.most_common(1)[0]
        if count < need:
            if trust is not None and trust in holding:
                best = holding[trust]
                trusted_rows += 1
            else:
                result.conflicts.append(_conflict(what, seq, holding, lasts, need, configured))
                break
        result.top = seq
        for loc, h in holding.items():
            if h == best:
                heads[loc] = next(cursors[loc], None)
            else:
                heads[loc] = None  # it differs from here on
        seq += 1
    for cur in cursors.values():
        cur.close()
    if result.top:
        holders = [loc for loc, _t, upto in scans if upto >= result.top]
        result.source = trust if trust in holders else (holders[0] if holders else "")
    if trusted_rows:
        result.notes.append(f"{what} {result.top - trusted_rows + 1}-{result.top}: taken from {trust} as told "
                            f"(--trust), without the agreement of {need} of {configured} locations")
    return result


def _conflict(what: str, seq: int, holding: dict[str, str], lasts: dict[str, int], need: int,
              configured: int) -> str:
    others = {loc: last for loc, last in lasts.items() if loc not in holding}
    if len(set(holding.values())) > 1:
        seen = ", ".join(f"{loc} {h[:12]}…" for loc, h in sorted(holding.items()))
        return (f"{what} {seq}: the locations hold it differently ({seen}): one of them was rewritten; "
                f"name the one to believe with --trust LOCATION")
    top = max(lasts[loc] for loc in holding)
    held = ", ".join(sorted(holding))
    behind = ", ".join(f"{loc} ends at {last}" for loc, last in sorted(others.items())) or "no other location"
    span = f"{what} {seq}" if top == seq else f"{what}s {seq}-{top}"
    return (f"{span}: held by {held} only ({behind}); {need} of {configured} locations must hold "
            f"{'it' if top == seq else 'them'} alike: name the location to believe with --trust LOCATION")
