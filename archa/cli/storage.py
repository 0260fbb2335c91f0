"""`archa storage add | list | status | sync`."""

from __future__ import annotations

import click

from archa.cli.common import Progress, emit_json, json_option, open_repo, repo_option
from archa.repository.config import LOCATION_KINDS, TIERS, Location
from archa.repository.placement import sync
from archa.repository.storage import add_location, status
from archa.units import human_bytes


@click.group("storage")
def storage() -> None:
    """Storage locations (tiers) and the copies they hold."""


@storage.command("add")
@click.argument("name")
@click.argument("uri")
@click.option("--kind", type=click.Choice(LOCATION_KINDS), required=True,
              help="ocfl: an OCFL storage root; packed: one tar.zst per AIP version.")
@click.option("--tier", type=click.Choice(TIERS), required=True)
@click.option("--endpoint", default="", help="S3 endpoint URL, e.g. http://127.0.0.1:8333 (s3:// URIs).")
@click.option("--region", default="", help="S3 region (default us-east-1).")
@click.option("--access-key", default="", help="S3 access key of this location.")
@click.option("--secret-key-env", default="", metavar="VAR",
              help="The environment variable holding this location's S3 secret key.")
@click.option("--profile", default="", help="A profile of the AWS shared credentials file, for this location.")
@repo_option
@json_option
def storage_add(name: str, uri: str, kind: str, tier: str, endpoint: str, region: str, access_key: str,
                secret_key_env: str, profile: str, repo_path: str | None, as_json: bool) -> None:
    """Add a storage location: a path (relative to the repository, or absolute) or
    s3://BUCKET/PREFIX. It must answer a write, read and delete probe before it is saved.
    S3 credentials, each location its own: --access-key with the secret taken from the
    environment variable --secret-key-env names (kept in archa.toml, which is then made
    readable by its owner only), or --profile of the AWS credentials file; without either,
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) when it is used. A plain
    http endpoint is warned about. Run `archa storage sync` afterwards to give it copies of
    the existing AIPs.

    \b
    Example:
      archa storage add warm s3://archive-copies/aips --kind ocfl --tier warm \\
          --endpoint https://s3.example.org --access-key ARCHA01 --secret-key-env WARM_SECRET
    """
    import os

    from archa.errors import UsageError

    secret = ""
    if secret_key_env:
        secret = os.environ.get(secret_key_env, "")
        if not secret:
            raise UsageError(f"--secret-key-env {secret_key_env}: that environment variable is empty or unset",
                             hint=f"export {secret_key_env}=... first (a secret never goes on the command line)")
    if bool(access_key) != bool(secret):
        raise UsageError("give --access-key and --secret-key-env together")
    with open_repo(repo_path) as repo, repo.writing():
        loc = add_location(repo, Location(name, kind, uri, tier, endpoint=endpoint, region=region,
                                          access_key=access_key, secret_key=secret, profile=profile))
    if as_json:
        emit_json(loc.__dict__ | {"secret_key": "", "session_token": ""})
        return
    click.echo(f"Added location {loc.name}: {loc.kind} on tier {loc.tier} at {loc.uri}"
               + (f" ({loc.endpoint})" if loc.endpoint else ""))
    if loc.endpoint.startswith("http://"):
        click.echo(f"warning: {loc.endpoint} is plain http: credentials are signed, but the data crosses the "
                   "network unencrypted; use https outside one machine")
    click.echo("Run `archa storage sync` to copy the existing AIPs there.")


@storage.command("list")
@repo_option
@json_option
def storage_list(repo_path: str | None, as_json: bool) -> None:
    """List the storage locations.

    \b
    Example:
      archa storage list --repo archive
    """
    with open_repo(repo_path) as repo:
        locs = repo.config.locations
    if as_json:
        emit_json([{k: v for k, v in loc.__dict__.items() if k not in ("access_key", "secret_key")}
                   for loc in locs])
        return
    click.echo(f"{'name':<10} {'kind':<7} {'tier':<5} uri")
    for loc in locs:
        click.echo(f"{loc.name:<10} {loc.kind:<7} {loc.tier:<5} {loc.uri}"
                   + (f"  ({loc.endpoint})" if loc.endpoint else ""))


@storage.command("status")
@click.option("--originator", metavar="ID", help="Only this originator's AIPs.")
@repo_option
@json_option
def storage_status(originator: str | None, repo_path: str | None, as_json: bool) -> None:
    """Per location: AIP versions held, the bytes its copies take there ("bytes here"; a
    packed location's compressed archives), copies missing or damaged (from the catalog;
    `archa storage sync` fills what is missing), and its failure domain (the device of a
    local location, the endpoint of an S3 one), with a warning when locations share one.
    Exit status 1 when any copy is missing.

    \b
    Example:
      archa storage status --repo archive --json
    """
    from archa.repository.placement import shared_domains

    with open_repo(repo_path) as repo:
        if originator:
            repo.catalog.originator(originator, repo.hot_location)  # NotFoundError
        rows = status(repo, originator)
        shared = shared_domains(repo)
    if as_json:
        emit_json([r.as_dict() for r in rows])
    else:
        click.echo(f"{'name':<10} {'kind':<7} {'tier':<5} {'versions':>8} {'bytes here':>10} {'missing':>8} {'damaged':>8}"
                   "  failure domain")
        for r in rows:
            click.echo(f"{r.name:<10} {r.kind:<7} {r.tier:<5} {r.versions_held:>8} {human_bytes(r.bytes):>10} "
                       f"{r.missing:>8} {r.damaged:>8}  {r.domain}")
        for domain, names in sorted(shared.items()):
            click.echo(f"warning: {', '.join(names)} are on one {domain}: a single failure loses every copy "
                       "there; keep a copy elsewhere (placement.independent = true counts them as one)")
    if any(r.missing or r.damaged for r in rows):
        raise SystemExit(1)


@storage.command("sync")
@repo_option
@json_option
def storage_sync(repo_path: str | None, as_json: bool) -> None:
    """Create every copy the placement lacks (after a location is added, a write failed or
    the policy was raised), from the hot copy after it verifies. Idempotent; resumes an
    interrupted copy. Exit status 1 when a copy could not be made.

    \b
    Example:
      archa storage sync --repo archive
    """
    with open_repo(repo_path) as repo:  # sync takes the lock itself, shared with ingests and audits
        progress = Progress(enabled=None if not as_json else False)
        try:
            res = sync(repo, progress)
        finally:
            progress.close()
    if as_json:
        emit_json(res.as_dict())
    else:
        for w in res.written:
            click.echo(f"copied {w['aip_id']} {w['version']} to {w['location']} ({human_bytes(w['bytes'])})")
        for f in res.failed:
            click.echo(f"error: {f['aip_id']} {f['version']} to {f['location']}: {f['error']}", err=True)
            if f.get("hint"):
                click.echo(f"hint: {f['hint']}", err=True)
        click.echo(f"{res.versions_checked} versions checked, {len(res.written)} copies written, "
                   f"{len(res.failed)} failed"
                   + (f"; {len(res.busy)} being written by another command, left for the next sync" if res.busy
                      else ""))
    if res.failed:
        raise SystemExit(1)
