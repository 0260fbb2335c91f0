"""`archa init`."""

from __future__ import annotations

from pathlib import Path

import click

from archa.cli.common import emit_json, json_option
from archa.repository.repo import DEFAULT_REPO, Repository


@click.command("init")
@click.argument("path", required=False, default=DEFAULT_REPO, type=click.Path(path_type=Path))
@json_option
def init_command(path: Path, as_json: bool) -> None:
    """Create a new, empty repository at PATH (default ./archive).

    Writes archa.toml (locations, policy), an empty catalog and a local OCFL 1.1
    storage root (storage/hot, layout 0004-hashed-n-tuple). Never touches an
    existing repository.

    \b
    Example:
      archa init /srv/archive
    """
    repo = Repository.init(path)
    info = {"repository": str(repo.root), "id": repo.config.repository_id,
            "locations": [loc.__dict__ for loc in repo.config.locations]}
    if as_json:
        emit_json(info)
        return
    click.echo(f"Created repository {repo.root}")
    click.echo(f"  id: {repo.config.repository_id}")
    for loc in repo.config.locations:
        click.echo(f"  location {loc.name}: {loc.kind} on tier {loc.tier} at {repo.location_path(loc)}")
