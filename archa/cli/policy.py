"""`archa policy show` and `archa policy share`."""

from __future__ import annotations

import json

import click

from archa.cli.common import emit_json, json_option, open_repo, repo_option


@click.group("policy")
def policy() -> None:
    """The repository's policy: the bundled default with the overrides of archa.toml (on a
    catalog several nodes share, the overrides the catalog holds)."""


@policy.command("show")
@repo_option
@json_option
def policy_show(repo_path: str | None, as_json: bool) -> None:
    """Print the policy overrides in force, and where they come from.

    \b
    Example:
      archa policy show --repo archive
    """
    with open_repo(repo_path) as repo:
        info = {"overrides": repo.config.policy,
                "source": "the catalog (shared by every node)" if repo.config.catalog else "archa.toml",
                "node_differs": repo.policy_not_shared()}
    if as_json:
        emit_json(info)
        return
    click.echo(f"policy overrides in force (from {info['source']}):")
    click.echo(json.dumps(info["overrides"], indent=2, ensure_ascii=False, sort_keys=True))
    if info["node_differs"]:
        click.echo("this node's archa.toml has a different [policy], not in force: `archa policy share` makes it so")


@policy.command("share")
@repo_option
@json_option
def policy_share(repo_path: str | None, as_json: bool) -> None:
    """On a node of a repository whose catalog is on PostgreSQL: make the [policy] table of
    this node's archa.toml the policy of every node (kept in the catalog). Edit archa.toml
    on one node, check it with `archa policy show`, then share it; the other nodes use it
    from their next command. A policy that does not load is refused (exit 2).

    \b
    Example:
      archa policy share --repo /srv/archa
    """
    from archa.repository.storage import share_policy

    with open_repo(repo_path) as repo:
        shared = share_policy(repo)
    if as_json:
        emit_json({"overrides": shared})
        return
    click.echo("the policy of this node's archa.toml is now every node's:")
    click.echo(json.dumps(shared, indent=2, ensure_ascii=False, sort_keys=True))
