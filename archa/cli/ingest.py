"""`archa ingest`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from archa.cli.common import Progress, emit_json, json_option, json_text, open_repo, repo_option
from archa.ingest.ingest import IngestOptions, IngestResult, ingest
from archa.units import human_bytes

if TYPE_CHECKING:
    from archa.transfer.watch import WatchItem


@click.command("ingest")
@click.argument("sips", nargs=-1, type=click.Path(path_type=Path))
@click.option("--watch-dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Make one pass over this drop folder instead (see below).")
@click.option("--follow", is_flag=True,
              help="With --watch-dir: keep watching and taking transfers in until SIGTERM or SIGINT (see below).")
@click.option("--workers", type=click.IntRange(0, 64), default=0, show_default=True,
              help="With --follow: worker processes (0: one more than the cores).")
@repo_option
@json_option
@click.option("--engine", help="Format identification engine (default: the policy's).")
@click.option("--jobs", type=click.IntRange(1, 64), help="Threads copying and hashing files.")
@click.option("--message", default="Ingest of a SIP", show_default=True,
              help="The OCFL version message.")
@click.option("--originator", metavar="ID", help="The originator the SIPs belong to (default: found from bag-info).")
@click.option("--as-new-version/--refuse-duplicates", "new_version", default=True, show_default=True,
              help="Records held already (the same entity id and source, or the same External-Identifier) with "
                   "changed content: the AIP's next version, or refused.")
@click.option("--allow-duplicate", is_flag=True,
              help="Store a SIP whose payload, or External-Identifier, an AIP holds already as another AIP.")
@click.option("--withdraw-from-proposal", "withdraw", is_flag=True,
              help="Records held already by an AIP in an open disposal proposal: take it out of the proposal "
                   "(recorded in the event log) and store the SIP as its next version, instead of refusing (DUP005).")
@click.option("--normalize/--no-normalize", default=None,
              help="Run the migration pathways (`archa migrate`) right after the ingest, as the AIP's next "
                   "version (default: the policy's migration.at_ingest).")
@click.pass_context
def ingest_command(ctx: click.Context, sips: tuple[Path, ...], watch_dir: Path | None, follow: bool, workers: int,
                   repo_path: str | None, as_json: bool, engine: str | None, jobs: int | None, message: str, originator: str | None,
                   new_version: bool, allow_duplicate: bool, withdraw: bool, normalize: bool | None) -> None:
    """Validate SIPs (BagIt bags: directories, .zip, .tar, .tar.gz, .tgz, .tar.zst) and
    store each as a new AIP.

    A SIP with any problem is rejected as a whole (exit status 2): every problem is
    listed with its code, the rejection is recorded in the catalog (and shown by `archa
    status` until `archa transfer ack`), nothing is stored and the SIP is never changed.
    A path that does not exist, or a plain folder (or an ERMS, E-ARK or NDK package) that is
    no bag, is a usage error (exit status 2) recorded nowhere; its hint is the `archa
    transfer` command that bags and ingests it.

    Records that arrive again (an ERMS package's entity, by its id and source, held by
    an AIP already) are not stored twice: unchanged, the SIP is refused (DUP001); changed,
    it becomes that AIP's next version (or, with --refuse-duplicates, is refused: DUP002);
    while that AIP is in an open disposal proposal it is refused (DUP005) unless
    --withdraw-from-proposal takes it out of the proposal first.
    A bag whose payload (every file, name and digest) an AIP holds already, in its newest
    version or an older one, is refused (DUP001, naming the AIP and the version); one with
    other content and the External-Identifier of an AIP becomes that AIP's next version (or,
    with --refuse-duplicates, is refused: DUP004). --allow-duplicate stores either as
    another AIP.

    With --normalize the files a migration pathway takes get preservation copies right
    away, as the AIP's next version (see `archa migrate`); exit status 1 when one failed
    (the AIP is stored all the same).

    With --watch-dir DIR, one pass over a drop folder (for cron): every complete transfer
    in DIR (a `NAME.ready` marker beside it, or nothing changed for the policy's
    transfer.settle_seconds) is taken - bags as they are; NSESSS, E-ARK and NDK packages and
    plain folders through `archa transfer` - ingested, and moved to DIR/done/ or DIR/failed/ with
    NAME.report.json beside it. Runs at the same time never take the same transfer; one
    killed half way is finished by the next. A marker older than what is in its package, or
    a symbolic link dropped as a package, vouches for nothing; a package that changes while
    it is read (its producer still writing) is given back until it settles. Exit status 1
    when a transfer failed, or changed later while it was stored (TRF013).

    With --follow as well, a resident service (docs/intake.md has a systemd unit): it keeps
    watching DIR (inotify, and a rescan every 2 s) and takes transfers in as they complete
    on a pool of --workers processes, printing a line for each. SIGTERM or SIGINT stops it
    within 15 s: the packages in hand are finished, or given back to DIR when nothing of them
    is stored yet. It waits while a command holds the repository to itself, and backs off
    when a disk is full; `archa status` shows its heartbeat, backlog and failures. Exit
    status 0 when it stopped cleanly with every copy the placement wants written; 1 when
    a worker had to be killed or a copy is still missing.

    \b
    Example:
      archa ingest --repo archive transfers/2026-001.zip transfers/2026-002/
      archa ingest --repo archive --watch-dir /srv/dropbox
      archa ingest --repo archive --watch-dir /srv/dropbox --follow
    """
    ctx.meta["archa.json"] = as_json
    if follow and watch_dir is None:
        raise click.UsageError("--follow needs --watch-dir DIR")
    if watch_dir is not None:
        if sips:
            raise click.UsageError("give SIPS or --watch-dir, not both")
        if follow:
            _follow(ctx, watch_dir, repo_path, workers, as_json)
        else:
            _watch(ctx, watch_dir, repo_path, as_json)
        return
    if not sips:
        raise click.UsageError("give one or more SIPS, or --watch-dir DIR")
    from archa.ingest.mistakes import refuse_not_a_bag
    from archa.transfer.kinds import detect_kind

    hinted = [*(["--repo", repo_path] if repo_path else []), *(["--originator", originator] if originator else [])]
    for sip in sips:  # a typo or a plain folder: before anything is ingested, and recorded nowhere
        refuse_not_a_bag(sip, detect_kind, hinted)
    repo = open_repo(repo_path)
    results: list[IngestResult] = []
    with repo:
        for sip in sips:
            progress = Progress(enabled=None if not as_json else False)
            try:
                result = ingest(repo, sip, IngestOptions(engine=engine, jobs=jobs, message=message,
                                                         originator=originator, new_version=new_version,
                                                         allow_duplicate=allow_duplicate,
                                                         withdraw_from_proposal=withdraw, normalize=normalize),
                                progress)
            finally:
                progress.close()
            results.append(result)
            if not as_json:
                _print_result(result)
    if as_json:
        emit_json([r.as_dict() for r in results])
    if any(not r.stored or r.copy_failures or not r.ok for r in results):
        ctx.exit(1)


def _watch(ctx: click.Context, drop: Path, repo_path: str | None, as_json: bool) -> None:
    from archa.transfer.watch import watch_once

    with open_repo(repo_path) as repo:
        result = watch_once(repo, drop)
    if as_json:
        emit_json(result.as_dict())
    else:
        for i in result.items:
            click.echo(_item_line(i))
        d = result.as_dict()
        click.echo(f"{d['ingested']} ingested, {d['failed']} failed, {d['waiting']} waiting")
    if result.failed or result.warned:
        ctx.exit(1)


def _follow(ctx: click.Context, drop: Path, repo_path: str | None, workers: int, as_json: bool) -> None:
    import signal
    import threading

    from archa.repository.repo import resolve_repo_path
    from archa.transfer.follow import FollowOptions, follow

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_item(i: WatchItem) -> None:
        if as_json:
            click.echo(json_text(i.as_dict(), indent=None))
        else:
            click.echo(_item_line(i))

    def on_state(text: str) -> None:
        if as_json:
            click.echo(json_text({"state": text}, indent=None))
        else:
            click.echo(f"watcher: {text}")

    summary = follow(resolve_repo_path(repo_path), drop, FollowOptions(workers=workers), stop, on_item, on_state)
    if as_json:
        click.echo(json_text(summary.as_dict(), indent=None))
    else:
        click.echo(f"{summary.ingested} ingested, {summary.failed} failed, {summary.given_back} given back"
                   + (f"; {summary.killed} worker(s) killed after the grace period (their packages are finished "
                      "by the next run)" if summary.killed else "")
                   + (f"; {summary.unstored} AIP version(s) short of a copy: archa storage sync"
                      if summary.unstored else "")
                   + (f"; {summary.log_behind} (the next writing command writes what it missed)"
                      if summary.log_behind else ""))
    if not summary.clean:
        ctx.exit(1)


def _item_line(i: WatchItem) -> str:
    what = {"ingested": f"ingested as {i.aip_id}", "failed": f"FAILED: {i.error}",
            "waiting": "still arriving (no .ready marker, changed recently)" if not i.error
            else f"left for the next run: {i.error}"}[i.status]
    return (f"{i.name} ({i.kind or '-'}): {what}" + (f"; WARNING: {i.warning}" if i.warning else "")
            + (f"; report {i.report}" if i.report else ""))


def _print_result(r: IngestResult) -> None:
    click.echo(f"Ingested {r.sip} as {r.aip_id} {r.version} (originator {r.originator})")
    for note in r.notes:
        click.echo(f"  note: {note}")
    rate = r.bytes / r.seconds / 1e6 if r.seconds else 0.0
    click.echo(f"  files: {r.files}, bytes: {r.bytes} ({human_bytes(r.bytes)}), "
               f"{r.seconds:.2f} s, {rate:.1f} MB/s")
    click.echo("  formats:")
    for f in r.formats:
        click.echo(f"    {f['puid']:<12} {f['files']:>6} files {human_bytes(f['bytes']):>10}  "
                   f"{f['format_name'] or '(not identified)'}")
    click.echo(f"  copies: {', '.join(r.copies)}" + ("" if r.stored else "  (NOT stored: the placement "
                                                      "policy needs more copies)"))
    for f in r.copy_failures:
        click.echo(f"  error: copy to {f['location']} failed: {f['error']}", err=True)
        if f.get("hint"):
            click.echo(f"  hint: {f['hint']}; then run `archa storage sync`", err=True)
    for w in r.warnings:
        click.echo(f"  warning: {w}")
    if r.normalized is not None:
        echo_normalized(r.normalized)


def echo_normalized(n: dict[str, Any]) -> None:
    """What `--normalize` did after an ingest (a MigrateResult as a dict), as lines."""
    click.echo(f"  normalized: {len(n['migrated'])} preservation copies" + (f" in {n['version']}" if n["version"] else "")
               + (f", {len(n['failed'])} FAILED" if n["failed"] else ""))
    for f in n["failed"]:
        click.echo(f"    FAILED {f['source']} ({f['pathway']}): {f['problem']}")
