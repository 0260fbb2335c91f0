"""Policy dataclasses and the loader that merges a repository's overrides onto the default."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archa.errors import UsageError

DIGEST_ALGORITHMS = ("sha256", "sha512")
NSESSS_PROFILES = ("prejimka", "skartace-metadata", "skartace-uplny")


@dataclass(frozen=True)
class PlacementPolicy:
    """How many copies of every version, on which tiers (`placement` in policy.toml)."""

    copies: int = 2
    tiers: tuple[str, ...] = ("hot", "cold")
    independent: bool = False  # copies count only on distinct failure domains (devices, endpoints)


@dataclass(frozen=True)
class PackingPolicy:
    """zstd level and threads of the packed (cold) copies."""

    level: int = 3
    threads: int = 0


@dataclass(frozen=True)
class FixityPolicy:
    """Days between two audits of a copy, per tier."""

    interval_days: dict[str, int] = field(default_factory=lambda: {"hot": 90, "warm": 180, "cold": 365})


@dataclass(frozen=True)
class IngestPolicy:
    """Limits a SIP must keep (files, bytes, unpacking ratio) and the ingest's threads."""

    max_files: int = 2_000_000
    max_bytes: int = 10 * 2**40
    max_ratio: int = 200  # unpacked bytes per archive byte (beyond RATIO_FLOOR)
    jobs: int = 4


@dataclass(frozen=True)
class FormatPolicy:
    """PUIDs refused or flagged at risk at ingest, and what an unidentified file gets."""

    rejected: frozenset[str] = frozenset()
    at_risk: frozenset[str] = frozenset()
    unknown: str = "accept"


@dataclass(frozen=True)
class AccessPolicy:
    """What access copies are made of (PUIDs, size, quality, timeout) and the access
    status of a record whose package states none."""

    images: frozenset[str] = frozenset()
    image_max_pixels: int = 2000
    jpeg_quality: int = 85
    office: frozenset[str] = frozenset()
    office_timeout: int = 300
    default_status: dict[str, str] = field(default_factory=lambda: {"nsesss": "restricted", "ndk": "public",
                                                                      "bag": "restricted"})

    def default_for(self, kind: str) -> str:
        """The access status of a record of `kind` (nsesss, ndk, bag) whose package states none."""
        return self.default_status.get(kind, self.default_status.get("bag", "restricted"))


@dataclass(frozen=True)
class TransferPolicy:
    """What a folder transfer leaves out, how long a drop-folder item must be still, and
    the NSESSS profile packages are judged by."""

    exclude: tuple[str, ...] = ()
    settle_seconds: int = 300
    nsesss_profile: str = "prejimka"


@dataclass(frozen=True)
class MigrationPolicy:
    """The format migration pathways in use, per-PUID choices, whether ingest migrates,
    and the tool timeout."""

    enabled: tuple[str, ...] = ("pdfa-2b", "office-pdfa", "audio-flac", "video-ffv1")
    pathways: dict[str, str] = field(default_factory=dict)  # PUID -> pathway name or "none"
    at_ingest: bool = False
    timeout: int = 600


@dataclass(frozen=True)
class Policy:
    """A repository's whole policy: the bundled default with archa.toml's overrides
    merged onto it (`load_policy`). Frozen: commands read it, never change it."""

    digest_algorithm: str = "sha256"
    placement: PlacementPolicy = field(default_factory=PlacementPolicy)
    ingest: IngestPolicy = field(default_factory=IngestPolicy)
    engine: str = "siegfried"
    formats: FormatPolicy = field(default_factory=FormatPolicy)
    packing: PackingPolicy = field(default_factory=PackingPolicy)
    fixity: FixityPolicy = field(default_factory=FixityPolicy)
    access: AccessPolicy = field(default_factory=AccessPolicy)
    transfer: TransferPolicy = field(default_factory=TransferPolicy)
    migration: MigrationPolicy = field(default_factory=MigrationPolicy)


def default_policy_text() -> str:
    """The bundled default.toml. Read beside this module, not through importlib.resources,
    whose import (with zipfile) every command paid at start-up for this one file."""
    return Path(__file__).with_name("default.toml").read_text("utf-8")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def load_policy(overrides: dict[str, Any] | None = None) -> Policy:
    """The bundled default policy with `overrides` (the repository's [policy] table) on top.

    Raises UsageError naming the key when a value is out of range.
    """
    raw = _merge(tomllib.loads(default_policy_text()), overrides or {})
    try:
        alg = raw["repository"]["digest_algorithm"]
        if alg not in DIGEST_ALGORITHMS:
            raise UsageError(f"policy repository.digest_algorithm = {alg!r} is not supported",
                             hint=f"use one of {', '.join(DIGEST_ALGORITHMS)}")
        unknown = raw["formats"]["unknown"]
        if unknown not in ("accept", "reject"):
            raise UsageError(f"policy formats.unknown = {unknown!r} is not supported",
                             hint="use \"accept\" or \"reject\"")
        acc = raw["access"]
        if not 16 <= int(acc["image_max_pixels"]) <= 65500 or not 1 <= int(acc["jpeg_quality"]) <= 95:
            raise UsageError("policy access.image_max_pixels must be 16-65500 and access.jpeg_quality 1-95")
        statuses = {str(k): str(v) for k, v in acc["default_status"].items()}
        if any(v not in ("public", "restricted") for v in statuses.values()):
            raise UsageError(f"policy access.default_status = {statuses!r}: each must be \"public\" or \"restricted\"")
        tr = raw["transfer"]
        if tr["nsesss_profile"] not in NSESSS_PROFILES:
            raise UsageError(f"policy transfer.nsesss_profile = {tr['nsesss_profile']!r} is not a profile",
                             hint=f"use one of {', '.join(NSESSS_PROFILES)}")
        ing = raw["ingest"]
        if min(int(ing["jobs"]), int(ing["max_files"]), int(ing["max_bytes"]), int(ing["max_ratio"])) < 1:
            raise UsageError("policy ingest.jobs, max_files, max_bytes and max_ratio must be positive")
        mig = raw["migration"]
        if int(mig["timeout"]) < 1:
            raise UsageError("policy migration.timeout must be positive")
        return Policy(
            digest_algorithm=alg,
            placement=PlacementPolicy(copies=int(raw["placement"]["copies"]),
                                      tiers=tuple(raw["placement"]["tiers"]),
                                      independent=bool(raw["placement"].get("independent", False))),
            ingest=IngestPolicy(max_files=int(ing["max_files"]), max_bytes=int(ing["max_bytes"]),
                                jobs=int(ing["jobs"]), max_ratio=int(ing["max_ratio"])),
            engine=str(raw["identification"]["engine"]),
            fixity=FixityPolicy(interval_days={k: int(v) for k, v in raw["fixity"]["interval_days"].items()}),
            packing=PackingPolicy(level=int(raw["packing"]["level"]), threads=int(raw["packing"]["threads"])),
            formats=FormatPolicy(rejected=frozenset(raw["formats"]["rejected"]),
                                 at_risk=frozenset(raw["formats"]["at_risk"]),
                                 unknown=unknown),
            access=AccessPolicy(images=frozenset(acc["images"]), image_max_pixels=int(acc["image_max_pixels"]),
                                jpeg_quality=int(acc["jpeg_quality"]), office=frozenset(acc["office"]),
                                office_timeout=int(acc["office_timeout"]), default_status=statuses),
            transfer=TransferPolicy(exclude=tuple(str(x) for x in tr["exclude"]),
                                    settle_seconds=int(tr["settle_seconds"]), nsesss_profile=str(tr["nsesss_profile"])),
            migration=MigrationPolicy(enabled=tuple(str(x) for x in mig["enabled"]),
                                      pathways={str(k): str(v) for k, v in mig["pathways"].items()},
                                      at_ingest=bool(mig["at_ingest"]), timeout=int(mig["timeout"])),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(f"policy is malformed: {e!r}",
                         hint="compare the [policy] table of archa.toml with archa/policies/default.toml") from e
