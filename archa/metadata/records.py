"""The records archa's metadata describes: a stored file (`FileRow`, one row of the catalog's
`files` view) and an event of an AIP's history (`Event`, a PREMIS event as the event log
keeps it). Plain data: the catalog stores them (archa/repository/catalog/rows.py,
archa/repository/events.py re-export them from here), PREMIS writes and reads them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

# the representations of an AIP: what was submitted, and the copies migration made of it
ORIGINAL = "representations/original"
PRESERVATION = "representations/preservation"


def preservation_target(source: str, extension: str) -> str:
    """Where the preservation copy of the original file `source` goes: the same path under
    the preservation representation with the output's extension added (`a.docx` ->
    `a.docx.pdf`: never two sources on one target, and the source is read back from it)."""
    prefix = f"{ORIGINAL}/data/"
    rest = source[len(prefix):] if source.startswith(prefix) else source.split("/", 2)[-1]
    return f"{PRESERVATION}/data/{rest}{extension}"


def preservation_source(target: str) -> str | None:
    """The original a preservation copy at `target` was made from (`preservation_target`
    backwards), or None when `target` is no preservation copy."""
    prefix = f"{PRESERVATION}/data/"
    if not target.startswith(prefix) or "." not in target.rsplit("/", 1)[-1]:
        return None
    return f"{ORIGINAL}/data/{target[len(prefix):].rsplit('.', 1)[0]}"


def metadata_mime(logical: str) -> str:
    """The MIME type of a metadata file archa writes in an AIP (METS, PREMIS, DC, the record
    of migrations): what versions record and what a catalog rebuild gives them."""
    return "application/json" if logical.endswith(".json") else "text/xml"


def now_iso() -> str:
    """Current UTC time, ISO 8601 with microseconds and a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class FileRow:
    """One stored file of a version as the catalog records it: where it lies in the
    object, its role, original name, size, digest and format identification."""

    aip_id: str
    version: str
    logical_path: str
    content_path: str
    role: str  # "payload", "submission", "metadata"
    original_name: str
    size: int
    digest: str
    puid: str = ""
    format_name: str = ""
    format_version: str = ""
    mime: str = ""
    basis: str = ""
    engine: str = ""
    engine_version: str = ""
    signature_version: str = ""
    warning: str = ""

    def as_row(self) -> dict[str, Any]:
        """The catalog row (cheaper than dataclasses.asdict, which deep-copies)."""
        return {f: getattr(self, f) for f in FILE_COLUMNS}


FILE_COLUMNS = tuple(f.name for f in fields(FileRow))


@dataclass(frozen=True)
class Event:
    """A PREMIS event as the catalog keeps it. `type` uses the LoC event-type vocabulary."""

    type: str
    outcome: str  # "success", "failure" or "warning"
    detail: str
    agent: str
    aip_id: str | None = None
    version: str | None = None
    location: str | None = None
    transfer_id: str | None = None
    time: str = field(default_factory=now_iso)
    id: str = field(default_factory=lambda: f"urn:uuid:{uuid.uuid4()}")
    # logical paths of the files the event touched, linked from it in PREMIS (not a catalog
    # column and not hashed: the log's rows are what HASHED_FIELDS name)
    objects: tuple[str, ...] = ()
