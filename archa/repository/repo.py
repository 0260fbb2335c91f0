"""A repository on disk: `archa.toml`, the catalog, staging, the lock and the hot storage root.

Layout of a repository directory:

    archa.toml          configuration: identity, locations, policy overrides
    catalog.sqlite      the catalog (an index; rebuildable from the locations)
    staging/            work areas of running commands; leftovers are swept under the lock
    storage/hot/        the default local OCFL storage root
    lock                flock target serialising writers
    locks/              AIP locks (striped); locks/writing/ names the AIPs their holders work on,
                        so that the next writer sweeps what a killed one left (leftovers.py)
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

from archa.errors import CatalogBehind, EventsUnsigned, RepositoryError, UsageError
from archa.policies import Policy, load_policy
from archa.repository.catalog import CATALOG_NAME, Catalog, FileRow
from archa.repository.config import CONFIG_NAME, Location, RepoConfig, load_config, render_config
from archa.repository.copies import init_packed_store
from archa.repository.durable import fsync_dir, open_durable, write_durable
from archa.repository.events import Event, now_iso
from archa.repository.lock import BUSY, acquire, exclusive_lock, try_lock
from archa.repository.ocfl import INVENTORY, StorageRoot
from archa.repository.store import Store

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_REPO = "archive"
REPO_ENV = "ARCHA_REPO"
JOURNAL = "commit.jsonl"
OWNER = ".owner"  # staging/<area>/.owner: locked by the process working in that area
AIP_LOCK_STRIPES = 4096  # AIP locks are striped over this many lock files
# locks/writing/aip-NNNN.lock: the AIPs whose storage the holder of that stripe's lock works on
# (one id a line), there while it holds it; one left with its lock free names a killed writer's
WRITING = "writing"


def resolve_repo_path(explicit: str | None) -> Path:
    """--repo PATH, else $ARCHA_REPO, else ./archive."""
    return Path(explicit or os.environ.get(REPO_ENV) or DEFAULT_REPO)


@dataclass
class SweepReport:
    """What a sweep of leftovers did: files removed, and work it found to recover."""

    removed: int = 0
    recovered: list[str] | None = None


def _key_file(seal_key: Path | None, path: Path, create: bool = True) -> tuple[str, bool]:
    """(what archa.toml's `seal_key` names for a repository made at `path`, "" for none;
    whether the key file was made by this call, so that a failed init removes it)."""
    from archa.repository.logscan import make_seal_key

    if seal_key is None:
        return "", False
    existed = seal_key.exists() or seal_key.is_symlink()
    return str(make_seal_key(seal_key, path, create)), not existed


def _record_key_id(cat: Catalog, key_file: str, root: Path) -> None:
    """Record in `cat` which key the repository signs with (`logscan.key_id`)."""
    from archa.repository.logscan import KEY_ID_SETTING, key_id, load_seal_key

    key = load_seal_key(root, key_file)
    if key is not None:
        cat.set_setting(KEY_ID_SETTING, key_id(key))


class Repository:
    """An open repository. Create with `Repository.init`, open with `Repository.open`."""

    def __init__(self, root: Path, config: RepoConfig) -> None:
        self.root = root
        self.config = config
        self.policy: Policy = load_policy(config.policy)
        self._catalog: Catalog | None = None
        self._aip_locks: dict[Path, tuple[int, int]] = {}  # lock file -> (fd, depth)
        self._aip_marked: dict[Path, set[str]] = {}  # lock file -> the AIP ids its marker names
        self._work_owners: dict[str, int] = {}  # work area name -> fd holding its owner lock

    # --- life cycle ---------------------------------------------------------------------

    @classmethod
    def init(cls, path: Path, catalog: str = "", node: str = "", seal_key: Path | None = None) -> Repository:
        """Create a new repository at `path` (which must not exist, or be an empty directory).

        Built under a temporary name beside `path` and renamed into place, so a crash
        leaves no half-made repository. With `catalog` (a postgresql:// URL) the catalog is
        that database: an empty one becomes a new repository's (its locations at absolute
        paths under `path`, so that other nodes reach them at the same paths); one that
        holds a repository already makes `path` a new **node** of it (its own archa.toml,
        work area and staging; identity, locations and policy come from the catalog).
        With `seal_key` archa.toml names that key file (`logscan.make_seal_key`: made when it
        does not exist, never inside `path`); a node joining a repository whose seals are
        signed with another key is refused (UsageError), before anything is made.
        """
        path = path.absolute()
        if catalog:
            return cls._init_on_server(path, catalog, node, seal_key)
        if (path / CONFIG_NAME).exists():
            raise RepositoryError(f"{path}: a repository exists here already; archa init never "
                                  "touches an existing repository", path=str(path),
                                  hint="use it with --repo, or choose another PATH")
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise RepositoryError(f"{path}: exists and is not an empty directory", path=str(path),
                                  hint="choose a new PATH or an empty directory")
        key_file, made_key = _key_file(seal_key, path)
        tmp = path.with_name(f".{path.name}.init-{uuid.uuid4().hex[:8]}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
            cfg = RepoConfig(repository_id=f"urn:uuid:{uuid.uuid4()}", created=now_iso(),
                             locations=(Location("hot", "ocfl", "storage/hot", "hot"),
                                        Location("cold", "packed", "storage/cold", "cold")), seal_key=key_file)
            write_durable(tmp / CONFIG_NAME, render_config(cfg).encode("utf-8"))
            (tmp / "staging").mkdir()
            StorageRoot.create(tmp / "storage" / "hot")
            (tmp / "storage" / "cold").mkdir()
            init_packed_store(Store.for_location(cfg.locations[1], tmp))
            fsync_dir(tmp / "storage")
            cat = Catalog.create(tmp / CATALOG_NAME)
            try:
                _record_key_id(cat, key_file, path)
            finally:
                cat.close()
            fsync_dir(tmp)
            if path.exists():
                path.rmdir()
            os.rename(tmp, path)
            fsync_dir(path.parent)
        except BaseException as e:
            shutil.rmtree(tmp, ignore_errors=True)
            if made_key:  # a key nobody will use, that would look like the repository's
                Path(key_file).unlink(missing_ok=True)
            if isinstance(e, OSError):
                raise RepositoryError(f"{path}: the repository cannot be made there ({e.strerror or e})",
                                      path=str(path), hint="choose a PATH whose parent folders can be made") from e
            raise
        return cls(path, cfg)

    @classmethod
    def _init_on_server(cls, path: Path, url: str, node: str, seal_key: Path | None) -> Repository:
        from archa.repository.catalog.postgres import PgCatalog, is_url

        if not is_url(url):
            raise RepositoryError(f"--catalog {url!r} is not a PostgreSQL URL",
                                  hint="give postgresql://USER@HOST/DATABASE (or ?host=/socket/dir)")
        if (path / CONFIG_NAME).exists() or (path.exists() and (not path.is_dir() or any(path.iterdir()))):
            raise RepositoryError(f"{path}: exists and is not an empty directory", path=str(path),
                                  hint="choose a new PATH or an empty directory")
        node = node or os.uname().nodename
        probe = PgCatalog._connect(url)
        try:
            joining = probe.execute("SELECT to_regclass('archa_schema')").fetchone() not in (None, (None,))
        finally:
            probe.close()
        key_file, made_key = _key_file(seal_key, path, create=not joining)  # a node joins with the key they use
        made_dir = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True)
            if joining:
                cat = PgCatalog.open(url)
                try:
                    shared = cat.setting("config")
                    if shared is None:
                        raise RepositoryError("the catalog database holds no repository settings",
                                              hint="report this as a bug")
                    cfg = RepoConfig(repository_id="", created="", locations=(), catalog=url,
                                     node=node, seal_key=key_file).with_shared(shared)
                    cls._same_key(cls(path, cfg), cat, key_file)
                    cls._claim_node(cat, node, path)
                finally:
                    cat.close()
            else:
                cfg = RepoConfig(repository_id=f"urn:uuid:{uuid.uuid4()}", created=now_iso(),
                                 locations=(Location("hot", "ocfl", str(path / "storage" / "hot"), "hot"),
                                            Location("cold", "packed", str(path / "storage" / "cold"), "cold")),
                                 catalog=url, node=node, seal_key=key_file)
                StorageRoot.create(path / "storage" / "hot")
                (path / "storage" / "cold").mkdir()
                init_packed_store(Store.for_location(cfg.locations[1], path))
                cat = PgCatalog.create(url)
                try:
                    cat.set_setting("config", cfg.shared_json())
                    _record_key_id(cat, key_file, path)
                    cls._claim_node(cat, node, path)
                finally:
                    cat.close()
            (path / "staging").mkdir()
            write_durable(path / CONFIG_NAME, render_config(cfg).encode("utf-8"))
            fsync_dir(path)
        except BaseException:
            if not (path / CONFIG_NAME).exists():
                shutil.rmtree(path / "staging", ignore_errors=True)
                if made_key:
                    Path(key_file).unlink(missing_ok=True)
                if made_dir and path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
            raise
        repo = cls(path, cfg)
        repo.joined = joining
        return repo

    @staticmethod
    def _same_key(repo: Repository, cat: Catalog, key_file: str) -> None:
        """Refuse a joining node whose seal key is not the one the repository signs with (the
        catalog's `seal_key_id`; for a repository that has not recorded one yet, the one the
        locations' newest seals are signed with), or that has none when the repository signs,
        or one when it does not: the other nodes would refuse every event it wrote, or it
        theirs."""
        from archa.repository.eventlog import other_key
        from archa.repository.logscan import KEY_ID_SETTING, key_id, load_seal_key

        key = load_seal_key(repo.root, key_file)
        recorded = cat.setting(KEY_ID_SETTING)
        signed = other_key(repo, key if key is not None else b"")  # a signed seal fails under any other key
        if key is None and (recorded or signed):
            where = f"at {', '.join(signed)} " if signed else ""
            raise UsageError(f"the repository signs its event log with a seal key {where}and this node was given none",
                             hint="copy the other nodes' key file here (mode 0600) and give it with --seal-key FILE")
        if key is not None and recorded is not None and recorded != key_id(key) or key is not None and signed:
            raise UsageError(f"{key_file}: not the seal key the repository signs with",
                             hint="give the key file the other nodes use (copied here, mode 0600)")
        if key is not None and recorded is None:
            raise UsageError("the repository's nodes sign with no seal key: a node with one would refuse their events",
                             hint="join without --seal-key; to give the repository a key, name it in every node's "
                                  "archa.toml (docs/design.md, \"Seal key\"), then join with a copy of it")

    @staticmethod
    def _claim_node(cat: Catalog, node: str, path: Path) -> None:
        """Register `node` in the shared settings of `cat` (`node:NAME`: host, path, when); a
        name another node holds is refused, so status, locks and logs never mix two machines."""
        held = cat.claim_setting(f"node:{node}", json.dumps(
            {"host": os.uname().nodename, "path": str(path), "created": now_iso()}))
        if held is not None:
            where = json.loads(held)
            raise RepositoryError(f"node {node!r} is already a node of this repository "
                                  f"({where.get('host')}:{where.get('path')})",
                                  hint="give this node another name with --node NAME")

    @classmethod
    def open(cls, path: Path) -> Repository:
        path = path.absolute()
        if not path.is_dir():
            raise RepositoryError(f"{path}: no repository here", path=str(path),
                                  hint="create one with `archa init PATH`, or pass --repo / set ARCHA_REPO")
        repo = cls(path, load_config(path))
        repo.refresh_shared()
        repo.hot.check()
        return repo

    def refresh_shared(self) -> None:
        """On a node of a repository several share, read what they share (identity,
        locations, policy) from the catalog again: a writer that changes it calls this under
        the repository lock first, so it never writes back an older copy over another node's
        change. On SQLite archa.toml alone holds it: nothing to do."""
        if self.config.catalog:
            shared = self.catalog.setting("config")
            if shared is not None:
                self.config = self.config.with_shared(shared)
                self.policy = load_policy(self.config.policy)

    def node_policy(self) -> dict[str, Any]:
        """The [policy] table of this node's archa.toml. On a node of a shared catalog it is
        not the policy in force (the catalog's is) until `share_policy` makes it so."""
        return load_config(self.root).policy

    def policy_not_shared(self) -> bool:
        """Whether this node's archa.toml holds a [policy] that is not the one in force (the
        catalog's, on a repository several nodes share): `archa policy share` makes it so."""
        return bool(self.config.catalog) and self.node_policy() not in ({}, self.config.policy)

    def save_shared_config(self) -> None:
        """After a change to what the nodes share (a location added, the policy): into the
        catalog, where every node reads it (on SQLite archa.toml alone holds it)."""
        if self.config.catalog:
            self.catalog.set_setting("config", self.config.shared_json())

    def close(self) -> None:
        for fd in self._work_owners.values():
            os.close(fd)
        self._work_owners.clear()
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- parts --------------------------------------------------------------------------

    def catalog_name(self) -> str:
        """The catalog as messages name it: its file, or its server's URL without a password."""
        if self.config.catalog:
            from archa.repository.catalog.postgres import redact

            return redact(self.config.catalog)
        return str(self.root / CATALOG_NAME)

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            if self.config.catalog:
                from archa.repository.catalog.postgres import PgCatalog

                self._catalog = PgCatalog.open(self.config.catalog)
            else:
                self._catalog = Catalog.open(self.root / CATALOG_NAME)
            from archa.repository.logscan import repo_seal_key

            self._catalog.mac_key = repo_seal_key(self)  # every event this repository appends is signed
        return self._catalog

    @contextmanager
    def _shared_lock(self, name: str, shared: bool, timeout: float | None, busy: str = "") -> Iterator[bool]:
        """The lock `name` across every node of a repository whose catalog is on a server (an
        advisory lock of the catalog's session; released with the connection when a node
        dies); on SQLite (one machine) the file locks are all there is and this holds
        nothing. Yields False when it was not free within `timeout` (None: at once)."""
        if not self.config.catalog:
            yield True
            return
        cat: Any = self.catalog
        if not cat.advisory_lock(name, timeout, shared):
            if timeout is not None:
                raise RepositoryError(f"{busy or BUSY} (another node holds {name})",
                                      hint="wait for the other command to finish and retry")
            yield False
            return
        try:
            yield True
        finally:
            cat.advisory_unlock(name, shared)

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    def location_path(self, loc: Location) -> Path:
        p = Path(loc.uri)
        return p if p.is_absolute() else self.root / p

    def store(self, loc: Location) -> Store:
        return Store.for_location(loc, self.root)

    def check_locations(self) -> None:
        """Refuse to go on when the catalog holds copies at a location archa.toml lacks."""
        names = {loc.name for loc in self.config.locations}
        orphans: dict[str, int] = {}
        for c in self.catalog.all_copies(every=True):
            if c["location"] not in names:
                orphans[c["location"]] = orphans.get(c["location"], 0) + 1
        if orphans:
            name, n = min(orphans.items())
            raise RepositoryError(
                f"{self.root / CONFIG_NAME}: location {name!r} was removed from the configuration, "
                f"but the catalog records {n} AIP version copies there; archa refuses to go on "
                "rather than lose track of them",
                path=str(self.root / CONFIG_NAME),
                hint=f"put the [[locations]] table for {name!r} back into archa.toml")

    @property
    def hot(self) -> StorageRoot:
        """The OCFL storage root of the first `ocfl` location on tier `hot`."""
        for loc in self.config.locations:
            if loc.kind == "ocfl" and loc.tier == "hot":
                return StorageRoot(self.location_path(loc))
        raise RepositoryError(f"{self.root / CONFIG_NAME}: no ocfl location on tier hot",
                              hint="add one to archa.toml")

    @property
    def hot_location(self) -> str:
        return next(loc.name for loc in self.config.locations if loc.kind == "ocfl" and loc.tier == "hot")

    joined = False  # made by `init` as a new node of a repository whose catalog is on a server
    _writing_depth = 0  # writing() is re-entrant within one Repository: library writers take it themselves
    _writing_shared = False
    # locations the last anchoring (anchor_events) could not write the event log to: {name: why}
    log_behind: dict[str, str] = {}  # noqa: RUF012  (replaced, never changed in place)

    @contextmanager
    def writing(self, shared: bool = False, timeout: float = 30.0, behind_ok: bool = False,
                anchor: bool = True) -> Iterator[None]:
        """Hold the repository lock (exclusive, or `shared` with the other commands that may
        run side by side; see lock.py; RepositoryError when another command keeps it for
        `timeout` seconds) and sweep the work areas of dead commands first; at
        the end, write the events to every location's copy of the event log (eventlog.anchor).
        Re-entrant: every library function that writes takes it itself, and a caller that
        holds it already (a command doing several things under one lock) just goes on.
        CatalogBehind, before anything is done, when the locations' event log is ahead of the
        catalog (eventlog.log_ahead: a catalog restored from an older copy); `behind_ok` for
        the one that compares them (`catalog rebuild --check`), and, with `anchor` False (no
        events written out at the end), for `archa repair` mending a location's log that
        differs from the catalog and another location (eventlog.repair_log_segments)."""
        if self._writing_depth:  # held already, by the caller: nothing more to take or to do
            if self._writing_shared and not shared:
                raise RepositoryError("internal error: work that needs the repository to itself was started "
                                      "inside work that shares it", hint="report this as a bug")
            self._writing_depth += 1
            try:
                yield
            finally:
                self._writing_depth -= 1
            return
        with exclusive_lock(self.root / "lock", timeout, shared), self._shared_lock("repository", shared, timeout):
            self.check_locations()
            from archa.repository.eventlog import seal_key_problem

            problem = seal_key_problem(self, record=True)
            if problem:
                raise RepositoryError(problem, path=self.config.seal_key, hint="give this node the repository's key "
                                      "(restore the file from its off-site copy; docs/design.md, \"Seal key\")")
            if not behind_ok:
                from archa.repository.eventlog import log_ahead, unsigned

                ahead = log_ahead(self)
                if ahead:
                    raise CatalogBehind(self.catalog_name(), ahead)
                forged = unsigned(self)
                if forged:
                    raise EventsUnsigned(self.catalog_name(), forged)
            self.sweep_staging()
            self.sweep_leftovers()
            self._writing_depth, self._writing_shared = 1, shared
            try:
                yield
            finally:
                self._writing_depth, self._writing_shared = 0, False
                if anchor:
                    self.anchor_events()

    def anchor_events(self) -> None:
        """Write the events not yet there to every location's copy of the event log
        (eventlog.anchor), under its own lock: safe beside any other command. The locations
        this left behind, and why, are `log_behind` until the next anchoring (a command
        reports them: cli/common.py)."""
        from archa.repository.eventlog import anchor

        with exclusive_lock(self.root / "anchor.lock", timeout=600), self._shared_lock("anchor", False, 600.0):
            self.log_behind = anchor(self)

    # --- per-AIP locks --------------------------------------------------------------------

    def _aip_lock_path(self, aip_id: str) -> Path:
        import hashlib

        stripe = int.from_bytes(hashlib.sha256(aip_id.encode()).digest()[:4], "big") % AIP_LOCK_STRIPES
        d = self.root / "locks"
        d.mkdir(exist_ok=True)
        return d / f"aip-{stripe:04d}.lock"

    @contextmanager
    def aip_lock(self, aip_id: str, timeout: float = 60.0, what: str = "") -> Iterator[None]:
        """Hold the lock of `aip_id`'s storage (re-entrant in this process); RepositoryError
        after `timeout` seconds when another command keeps it (`what` names the thing locked
        in that message when it is no AIP, e.g. a payload)."""
        with self._aip_lock(aip_id, timeout, what) as held:
            assert held
            yield

    @contextmanager
    def aip_lock_if_free(self, aip_id: str) -> Iterator[bool]:
        """Yield whether the lock of `aip_id` was free (or held here already) and is now held."""
        with self._aip_lock(aip_id, None) as held:
            yield held

    @contextmanager
    def _aip_lock(self, aip_id: str, timeout: float | None, what: str = "") -> Iterator[bool]:
        path = self._aip_lock_path(aip_id)
        held = self._aip_locks.get(path)
        if held is not None:
            self._aip_locks[path] = (held[0], held[1] + 1)
            try:
                if not what:
                    self._mark_writing(path, aip_id)
                yield True
            finally:
                fd, depth = self._aip_locks[path]
                self._aip_locks[path] = (fd, depth - 1)
            return
        busy = f"{what or f'AIP {aip_id}'} is being written or audited by another archa command"
        try:
            fd = acquire(path, timeout=timeout or 0.0, busy=busy)
        except RepositoryError:
            if timeout is None:
                yield False
                return
            raise
        handed = False  # to _holding_aip_lock, which closes fd itself
        try:  # and across nodes, when the catalog is on a server
            with self._shared_lock(f"aip:{path.name}", False, timeout, busy) as other_node_free:
                if not other_node_free:
                    yield False
                    return
                handed = True
                yield from self._holding_aip_lock(path, fd, aip_id, what)
        finally:
            if not handed:
                os.close(fd)

    def _holding_aip_lock(self, path: Path, fd: int, aip_id: str, what: str) -> Iterator[bool]:
        self._aip_locks[path] = (fd, 1)
        left: list[str] = []
        try:
            left = self._take_over_marker(path)
            self._aip_marked[path] = set()
            if not what:  # an AIP (not a payload or External-Identifier being checked)
                self._mark_writing(path, aip_id)
            yield True
        finally:
            if self._aip_locks[path][1] <= 1:
                if self._aip_marked.pop(path, None):  # a clean end: the AIPs we named need no sweep
                    self._write_marker(path, left)  # (what a killed holder left and could not be swept stays)
                del self._aip_locks[path]
                os.close(fd)
            else:
                self._aip_locks[path] = (fd, self._aip_locks[path][1] - 1)

    # --- leftovers of killed writers at the locations -----------------------------------------

    def _marker(self, lock: Path) -> Path:
        return lock.parent / WRITING / lock.name

    def _mark_writing(self, lock: Path, aip_id: str) -> None:
        """Name `aip_id` in the marker of the stripe lock `lock` (held): should this process be
        killed now, the next writer sweeps the temporary files it left in that AIP's storage."""
        marked = self._aip_marked.setdefault(lock, set())
        if aip_id in marked:
            return
        marker = self._marker(lock)
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except FileNotFoundError:  # the first marker of this repository
            marker.parent.mkdir(exist_ok=True)
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, f"{aip_id}\n".encode())  # the kernel has it at once: a kill -9 cannot lose it
        finally:
            os.close(fd)
        marked.add(aip_id)

    def _take_over_marker(self, lock: Path) -> list[str]:
        """Just acquired `lock` (or found it free): a marker there is a killed holder's. Sweep
        the AIPs it names; those that cannot be swept now (a location unreachable) stay named,
        for the next writer, and are returned."""
        marker = self._marker(lock)
        try:
            dead = marker.read_text("utf-8").split()
        except FileNotFoundError:
            return []
        from archa.repository.leftovers import sweep_aip

        left = [aip_id for aip_id in dict.fromkeys(dead) if not sweep_aip(self, aip_id)]
        self._write_marker(lock, left)
        return left

    def _write_marker(self, lock: Path, aip_ids: list[str]) -> None:
        """The marker of `lock` naming `aip_ids` (replaced at once: a kill leaves the old one or
        the new), or none when there are none."""
        marker = self._marker(lock)
        if aip_ids:
            tmp = marker.with_name(f".{marker.name}.{os.getpid()}")
            tmp.write_text("".join(f"{a}\n" for a in aip_ids), "utf-8")
            os.replace(tmp, marker)
        else:
            marker.unlink(missing_ok=True)

    def sweep_leftovers(self) -> None:
        """Delete the temporary files that killed commands left at the locations, and only
        those (leftovers.py): in the storage of each AIP whose writer was killed holding its lock
        (a marker in locks/writing/ whose stripe lock is free now: no running command writes
        that AIP), and in the event log of an anchoring that was killed (anchor.lock free, and
        no other node of a shared catalog anchoring: they write to the same locations).
        Called by `writing()` on entry, after `sweep_staging`."""
        from archa.repository.leftovers import sweep_event_log

        markers = self.root / "locks" / WRITING
        if markers.is_dir():
            for marker in sorted(markers.glob("aip-*.lock")):
                lock = markers.parent / marker.name
                if lock in self._aip_locks:
                    continue  # this process's own
                with try_lock(lock) as free:
                    if free:  # its writer is gone
                        self._take_over_marker(lock)
        with try_lock(self.root / "anchor.lock") as free, self._shared_lock("anchor", False, None) as everywhere:
            if free and everywhere:  # else an anchoring is running (here, or on another node sharing the
                sweep_event_log(self)  # locations): its temporary files are its own

    # --- work areas -----------------------------------------------------------------------

    def new_work_dir(self) -> Path:
        """A new work area in staging, owned by this process until `release_work_dir` (or its
        end): a sweep by another command leaves it alone meanwhile."""
        d = self.staging / uuid.uuid4().hex
        d.mkdir(parents=True)
        self._work_owners[d.name] = acquire(d / OWNER, timeout=0)  # a new file: free
        return d

    def release_work_dir(self, work: Path, remove: bool = True) -> None:
        """Done with a work area: deleted (unless `remove` is False: a journal in it must be
        rolled forward by the next command), and no longer owned."""
        fd = self._work_owners.pop(work.name, None)
        if remove and work.exists():
            remove_tree(work)
        if fd is not None:
            os.close(fd)

    # --- crash recovery -----------------------------------------------------------------

    def write_journal(self, work: Path, header: dict[str, Any], files: Iterable[FileRow]) -> Path:
        """Record durably what the catalog must hold once the object is in storage, so a
        crash after the rename is rolled forward. JSON Lines: the header (aip, version,
        copies, transfer, events), then one file row per line (streamed, memory flat)."""
        path = work / JOURNAL
        with open_durable(path) as f:
            f.write(json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n")
            for row in files:
                f.write(json.dumps(row.as_row(), ensure_ascii=False).encode("utf-8") + b"\n")
        return path

    @staticmethod
    def journal_header(path: Path) -> dict[str, Any]:
        with open(path, "rb") as f:
            header: dict[str, Any] = json.loads(f.readline())
        return header

    def apply_journal(self, path: Path) -> str:
        """Record the journal's rows and events in the catalog (one transaction); returns the AIP id.
        A journal of kind "update" records a new version of a stored AIP."""
        with open(path, "rb") as f:
            header = json.loads(f.readline())
            if header.get("kind") == "update":
                self.catalog.record_version(
                    aip=header["aip"], version=header["version"],
                    files=(FileRow(**json.loads(line)) for line in f), copies=header["copies"],
                    events=[Event(**e) for e in header["events"]], retention=header.get("retention"),
                    transfer=header.get("transfer"), pages=header.get("pages", []), record=header.get("record"),
                    access=header.get("access"))
                return str(header["aip"]["id"])
            self.catalog.record_aip(
                aip=header["aip"], version=header["version"],
                files=(FileRow(**json.loads(line)) for line in f), copies=header["copies"],
                transfer=header["transfer"], events=[Event(**e) for e in header["events"]],
                retention=header.get("retention", []), originators=header.get("originators", []),
                pages=header.get("pages", []), record=header.get("record"), access=header.get("access"))
        return str(header["aip"]["id"])

    def sweep_staging(self) -> SweepReport:
        """Remove work areas of dead commands; finish any commit whose object reached storage.

        Must be called with the lock held. A work area with a journal whose object is in the
        hot storage root but not in the catalog is rolled forward (its rows recorded);
        every other leftover is deleted (its object never became visible).
        """
        report = SweepReport(recovered=[])
        if not self.staging.is_dir():
            return report
        for work in sorted(self.staging.iterdir()):
            if work.name in self._work_owners or not work.is_dir():
                continue  # this process's own
            owner = work / OWNER
            if not owner.exists() and time.time() - work.stat().st_mtime < 60:
                continue  # just made: its owner is about to lock it
            try:
                with try_lock(owner) as dead:
                    if not dead:
                        continue  # a running command's
                    journal = work / JOURNAL
                    # written durably before the rename: complete if present
                    header = self.journal_header(journal) if journal.is_file() else None
                    if header is not None and self._rolls_forward(header):
                        assert report.recovered is not None
                        report.recovered.append(self.apply_journal(journal))
                    elif header is not None and header.get("kind") != "update":
                        # killed between making the new object's folders and its rename: empty folders
                        self.hot.prune_empty_parents(header["aip"]["id"])
                    remove_tree(work)
                    report.removed += 1
            except FileNotFoundError:
                continue  # swept by another command meanwhile
        return report


    def pending_commits(self) -> list[str]:
        """`AIP vN` of every commit in storage that the catalog does not record yet (its journal
        waits in staging; the next writing command records it). Reads only; no lock needed."""
        out: list[str] = []
        if not self.staging.is_dir():
            return out
        for work in sorted(self.staging.iterdir()):
            journal = work / JOURNAL
            try:
                header = self.journal_header(journal) if journal.is_file() else None
            except (OSError, ValueError):
                continue  # being written right now
            if header is None:
                continue
            aip_id, version = header["aip"]["id"], header["version"]["version"]
            if header.get("kind") == "update":
                if (self.hot.object_path(aip_id) / version).is_dir() and self.catalog.has_aip(aip_id) \
                        and self.catalog.aip(aip_id)["head"] != version:
                    out.append(f"{aip_id} {version}")
            elif self.hot.has_object(aip_id) and not self.catalog.has_aip(aip_id):
                out.append(f"{aip_id} {version}")
        return out

    def _rolls_forward(self, header: dict[str, Any]) -> bool:
        """Whether the storage step a journal describes happened but its catalog rows did not.
        A new version whose directory is in place gets its root inventory now if the crash
        came before that was replaced."""
        aip_id = header["aip"]["id"]
        if header.get("kind") != "update":
            return self.hot.has_object(aip_id) and not self.catalog.has_aip(aip_id)
        version = header["version"]["version"]
        vdir = self.hot.object_path(aip_id) / version
        if not vdir.is_dir() or self.catalog.aip(aip_id)["head"] == version:
            return False
        alg = header["version"]["digest_algorithm"]
        root_inventory = self.hot.object_path(aip_id) / INVENTORY
        if _digest_of(root_inventory, alg) != header["version"]["inventory_digest"]:
            self.hot.set_root_inventory(aip_id, (vdir / INVENTORY).read_bytes(), alg)
        return True


def _digest_of(path: Path, alg: str) -> str:
    """The file's digest, or "" when it is not there."""
    from archa.repository.hashing import file_digest

    try:
        return file_digest(path, alg)
    except FileNotFoundError:
        return ""


def writes(fn: Callable[Concatenate[Repository, P], R]) -> Callable[Concatenate[Repository, P], R]:
    """The one locking rule: a library function that writes takes the repository's writing
    context (`Repository.writing()`, re-entrant) itself; callers need not. This one needs
    the repository to itself."""
    @functools.wraps(fn)
    def wrapper(repo: Repository, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with repo.writing():
            return fn(repo, *args, **kwargs)
    return wrapper


def writes_beside(fn: Callable[Concatenate[Repository, P], R]) -> Callable[Concatenate[Repository, P], R]:
    """Like `writes`, for work that runs beside other such work (the repository lock
    shared): it takes the lock of each AIP whose storage it writes or audits."""
    @functools.wraps(fn)
    def wrapper(repo: Repository, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with repo.writing(shared=True):
            return fn(repo, *args, **kwargs)
    return wrapper


def remove_tree(path: Path) -> None:
    """Delete a work area, read-only files included."""
    def onerror(func: Any, p: str, _exc: Any) -> None:
        os.chmod(os.path.dirname(p), 0o755)
        os.chmod(p, 0o644) if os.path.isfile(p) else None
        func(p)
    shutil.rmtree(path, onerror=onerror)
