"""`archa.toml`: the repository's identity, its storage locations and its policy overrides."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archa.errors import RepositoryError

CONFIG_NAME = "archa.toml"
LOCATION_KINDS = ("ocfl", "packed")
TIERS = ("hot", "warm", "cold")


S3_FIELDS = ("endpoint", "region", "access_key", "secret_key", "session_token", "profile")


@dataclass(frozen=True)
class Location:
    """A named storage place. `uri` is a path relative to the repository, or absolute."""

    name: str
    kind: str
    uri: str
    tier: str
    endpoint: str = ""  # S3 only: http(s)://host:port
    region: str = ""
    # S3 credentials, in this order: the location's own keys (and session token); else the
    # named profile of the AWS shared credentials file; else $AWS_ACCESS_KEY_ID /
    # $AWS_SECRET_ACCESS_KEY / $AWS_SESSION_TOKEN (see store.s3_credentials)
    access_key: str = ""
    secret_key: str = ""
    session_token: str = ""
    profile: str = ""

    @property
    def holds_secrets(self) -> bool:
        return bool(self.secret_key or self.session_token)


@dataclass(frozen=True)
class RepoConfig:
    """archa.toml: the repository's identity, storage locations, policy overrides,
    seal key, shared catalog URL and node name."""

    repository_id: str
    created: str
    locations: tuple[Location, ...]
    policy: dict[str, Any] = field(default_factory=dict)
    # a file outside the catalog and storage (mode 0600) whose bytes sign every seal of the
    # event log (HMAC-SHA256): a location's log rewritten without it is caught (logscan.py)
    seal_key: str = ""
    # a catalog on a PostgreSQL server (postgresql://...) that several nodes share; empty: the
    # embedded SQLite file catalog.sqlite. A node's name tells its work in the log and status.
    catalog: str = ""
    node: str = ""

    def location(self, name: str) -> Location:
        for loc in self.locations:
            if loc.name == name:
                return loc
        raise RepositoryError(f"no storage location named {name!r} in {CONFIG_NAME}",
                              hint="list them with `archa storage list`")

    def shared_json(self) -> str:
        """What the nodes of a repository share (kept in the catalog, key `config`), as JSON:
        identity, locations without their secrets (each node gives its own credentials), and
        the policy overrides."""
        return json.dumps({"repository": {"id": self.repository_id, "created": self.created},
                           "locations": [{k: v for k, v in loc.__dict__.items()
                                          if v and k not in ("access_key", "secret_key", "session_token")}
                                         for loc in self.locations],
                           "policy": self.policy}, sort_keys=True, ensure_ascii=False)

    def with_shared(self, shared: str) -> RepoConfig:
        """This node's configuration with the shared part the catalog holds (`shared_json`):
        identity, locations and policy from there; the node's own settings (seal key,
        catalog, node name) and a location's credentials kept from here."""
        import dataclasses

        other = _parse(json.loads(shared), "the catalog's shared settings")
        mine = {loc.name: loc for loc in self.locations}
        locations = tuple(dataclasses.replace(loc, **{k: getattr(mine[loc.name], k) for k in
                                                     ("access_key", "secret_key", "session_token", "profile")
                                                     if loc.name in mine and getattr(mine[loc.name], k)})
                          for loc in other.locations)
        return dataclasses.replace(other, locations=locations, seal_key=self.seal_key, catalog=self.catalog,
                                   node=self.node)


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def render_config(cfg: RepoConfig) -> str:
    """The TOML text of a configuration (policy overrides are kept as an empty table)."""
    lines = [
        "# archa repository configuration",
        "[repository]",
        f"id = {_q(cfg.repository_id)}",
        f"created = {_q(cfg.created)}",
        *([f"seal_key = {_q(cfg.seal_key)}"] if cfg.seal_key else []),
        *([f"catalog = {_q(cfg.catalog)}"] if cfg.catalog else []),
        *([f"node = {_q(cfg.node)}"] if cfg.node else []),
        "",
    ]
    for loc in cfg.locations:
        lines += [
            "[[locations]]",
            f"name = {_q(loc.name)}",
            f"kind = {_q(loc.kind)}",
            f"uri = {_q(loc.uri)}",
            f"tier = {_q(loc.tier)}",
            *[f"{k} = {_q(getattr(loc, k))}" for k in S3_FIELDS if getattr(loc, k)],
            "",
        ]
    lines += [
        "# Overrides of the bundled default policy (archa/policies/default.toml), e.g.",
        "# [policy.formats]",
        "# rejected = [\"fmt/1\"]",
        "[policy]",
        "",
    ]
    return "\n".join(lines)


def load_config(root: Path) -> RepoConfig:
    """Read `root/archa.toml`; RepositoryError names the file and the problem."""
    path = root / CONFIG_NAME
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise RepositoryError(f"{root}: not an archa repository (no {CONFIG_NAME})", path=str(root),
                              hint="create one with `archa init PATH`, or pass --repo / set ARCHA_REPO") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise RepositoryError(f"{path}: not valid TOML: {e}", path=str(path),
                              hint="fix the syntax error in the file") from None
    return _parse(raw, str(path))


def _parse(raw: dict[str, Any], where: str) -> RepoConfig:
    try:
        locs = []
        for item in raw.get("locations", []):
            loc = Location(name=item["name"], kind=item["kind"], uri=item["uri"], tier=item["tier"],
                           **{k: str(item[k]) for k in S3_FIELDS if k in item})
            if loc.kind not in LOCATION_KINDS or loc.tier not in TIERS:
                raise ValueError(f"location {loc.name!r}: kind must be one of {LOCATION_KINDS}, "
                                 f"tier one of {TIERS}")
            locs.append(loc)
        repo = raw["repository"]
        return RepoConfig(repository_id=repo["id"], created=repo["created"],
                          locations=tuple(locs), policy=raw.get("policy", {}),
                          seal_key=str(repo.get("seal_key", "")), catalog=str(repo.get("catalog", "")),
                          node=str(repo.get("node", "")))
    except (KeyError, TypeError, ValueError) as e:
        raise RepositoryError(f"{where}: malformed configuration: {e}", path=where,
                              hint="compare it with the file `archa init` writes") from None
