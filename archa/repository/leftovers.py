"""Leftovers of killed writers at the locations: the temporary files an interrupted write
leaves (`Store.writer`'s `.NAME.8hex.tmp`, `write_durable`'s `.NAME.tmp-PID`; see
copies.TEMPORARY), deleted by the next writer of any kind.

Only what no running command owns is touched: an AIP's storage is written only by a command
holding the AIP's lock, which names the AIP in a marker (locks/writing/, repo.py) while it
holds it; a marker whose lock is free names the AIPs of a writer that was killed, swept by
whoever takes that lock next or by the next `Repository.writing()`. The event log is written
only under anchor.lock. A finished copy is never touched: only temporary names, and in an
OCFL object's content only a name that no version holds by the catalog (a record may be named
`.notes.deadbeef.tmp`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from archa.errors import StorageError
from archa.repository.copies import sweep_temporaries, temporaries, tombstone_prefix
from archa.repository.ocfl import object_relpath

if TYPE_CHECKING:
    from archa.repository.catalog import Catalog
    from archa.repository.config import Location, RepoConfig
    from archa.repository.store import Store


class RepoView(Protocol):
    """What the sweeps read: a repository (archa.repository.repo.Repository, which calls them;
    named by what it offers, so that this module does not import it)."""

    config: RepoConfig

    @property
    def catalog(self) -> Catalog: ...

    def store(self, loc: Location) -> Store: ...


def stored_content(repo: RepoView, aip_id: str) -> Callable[[str], bool]:
    """Whether a key of the AIP's OCFL object (`<object path>/vN/content/...`) is a file that
    a version holds, by the catalog."""
    prefix = object_relpath(aip_id) + "/"

    def stored(key: str) -> bool:
        rel = key.removeprefix(prefix)
        version, sep, logical = rel.partition("/content/")
        if not sep or "/" in version:
            return False
        row = repo.catalog.file(aip_id, version, logical)
        return row is not None and row["content_path"] == rel

    return stored


def sweep_aip(repo: RepoView, aip_id: str) -> bool:
    """Delete the temporary files interrupted writes left in the AIP's storage (its object,
    its tombstone) at every local location (an object store keeps none); call holding the
    AIP's lock. False when a location could not be read (what is left there is swept later)."""
    done = True
    for loc in repo.config.locations:
        store = repo.store(loc)
        if not store.local:
            continue
        try:
            sweep_temporaries(store, aip_id, stored_content(repo, aip_id) if loc.kind == "ocfl" else None)
            for key in temporaries(store, tombstone_prefix(aip_id)):
                store.delete(key)
        except StorageError:
            done = False
    return done


def sweep_event_log(repo: RepoView) -> None:
    """Delete the temporary files a killed anchoring left in the event log at every local
    location; call holding anchor.lock. A location that cannot be read is left for later."""
    from archa.repository.logscan import PREFIX

    for loc in repo.config.locations:
        store = repo.store(loc)
        try:
            for key in temporaries(store, PREFIX):
                store.delete(key)
        except StorageError:
            continue
