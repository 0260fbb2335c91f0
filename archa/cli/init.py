"""`archa init`."""

from __future__ import annotations

from pathlib import Path

import click

from archa.cli.common import emit_json, json_option
from archa.repository.repo import DEFAULT_REPO, Repository


@click.command("init")
@click.argument("path", required=False, default=DEFAULT_REPO, type=click.Path(path_type=Path))
@click.option("--catalog", "catalog", metavar="URL",
              help="Keep the catalog in this PostgreSQL database (postgresql://USER@HOST/DB) instead of the "
                   "embedded SQLite file: an empty database starts a new repository, one holding a repository "
                   "makes PATH a new node of it.")
@click.option("--node", metavar="NAME", help="This node's name (default: the host name); with --catalog.")
@click.option("--seal-key", "seal_key", metavar="FILE", type=click.Path(path_type=Path),
              help="Sign the event log with the key in FILE (made, mode 0600, when it does not exist; never inside "
                   "PATH): events written into the catalog behind archa's back are then refused, not anchored. "
                   "Keep a copy off-site; every node of a shared catalog gives the same key.")
@json_option
def init_command(path: Path, catalog: str | None, node: str | None, seal_key: Path | None, as_json: bool) -> None:
    """Create a new, empty repository at PATH (default ./archive).

    Writes archa.toml (locations, policy), an empty catalog and a local OCFL 1.1
    storage root (storage/hot, layout 0004-hashed-n-tuple). Never touches an
    existing repository.

    With --catalog the catalog is a PostgreSQL database several archa nodes share. If it is
    empty, a new repository is made there (its storage at absolute paths under PATH: put
    PATH on a mount every node reaches at the same path, or add S3 locations). If it holds a
    repository already, PATH becomes a new node of it: its own archa.toml, work area and
    staging; locations, policy and originators come from the catalog.

    With --seal-key every event archa appends, and every seal of the log it writes at the
    locations, is signed with the key (HMAC-SHA256): a row written into the catalog behind
    archa's back (a forged "legal hold released", say) is then refused by the next writing
    command instead of becoming history. Without one, `archa status` warns.

    \b
    Example:
      archa init /srv/archive --seal-key /etc/archa/seal.key
      archa init /srv/archive --catalog postgresql://archa@db.kraj.local/archa
      archa init /srv/archa-node2 --catalog postgresql://archa@db.kraj.local/archa --node node2 \\
        --seal-key /etc/archa/seal.key
    """
    repo = Repository.init(path, catalog or "", node or "", seal_key)
    info = {"repository": str(repo.root), "id": repo.config.repository_id, "joined": repo.joined,
            "seal_key": repo.config.seal_key, "locations": [loc.__dict__ for loc in repo.config.locations]}
    if as_json:
        emit_json(info)
        return
    click.echo(f"{'Joined repository as a new node at' if repo.joined else 'Created repository'} {repo.root}")
    click.echo(f"  id: {repo.config.repository_id}")
    click.echo(f"  seal key: {repo.config.seal_key} (keep a copy off-site)" if repo.config.seal_key else
               "  seal key: none (events written into the catalog behind archa's back cannot be told; see --seal-key)")
    if repo.config.catalog:
        from archa.repository.catalog.postgres import redact

        click.echo(f"  catalog: {redact(repo.config.catalog)} (node {repo.config.node})")
    for loc in repo.config.locations:
        click.echo(f"  location {loc.name}: {loc.kind} on tier {loc.tier} at {repo.location_path(loc)}")
