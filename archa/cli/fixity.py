"""`archa fixity audit` and `archa repair`."""

from __future__ import annotations

import dataclasses
import re
import shlex

import click

from archa.cli.common import Progress, aip_id_of, emit_json, json_option, open_repo, repo_option
from archa.errors import EXIT_BAD_INPUT, StorageError
from archa.preservation.fixity import AuditOptions, AuditSummary, audit
from archa.units import human_bytes

_UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_TIME = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not m:
        raise click.BadParameter(f"{text!r} is not a duration: use e.g. 90s, 10m, 2h, 1d")
    return float(m.group(1)) * _TIME[m.group(2) or "s"]


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?(?:ib)?)b?\s*", text.lower())
    if not m:
        raise click.BadParameter(f"{text!r} is not a size: use e.g. 500M, 10G, 2TiB")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


@click.group("fixity")
def fixity() -> None:
    """Fixity audits of every copy in every location."""


@fixity.command("audit")
@click.option("--due", "mode", flag_value="due", default=True,
              help="Copies whose last audit is older than the policy interval for their tier (default).")
@click.option("--all", "mode", flag_value="all", help="Every copy the other options select.")
@click.option("--aip", "aip_id", help="Only this AIP.")
@click.option("--location", help="Only this location.")
@click.option("--max-time", callback=lambda _c, _p, v: parse_duration(v) if v else None,
              help="Start no new copy after this long (e.g. 10m).")
@click.option("--max-bytes", callback=lambda _c, _p, v: parse_size(v) if v else None,
              help="Start no new copy after reading this much (e.g. 50G).")
@click.option("--rate", type=float, help="Read at most this many MB/s.")
@click.option("--jobs", type=click.IntRange(1, 64), default=4, show_default=True, help="Hashing threads.")
@repo_option
@json_option
@click.pass_context
def fixity_audit(ctx: click.Context, mode: str, aip_id: str | None, location: str | None, max_time: float | None,
                 max_bytes: int | None, rate: float | None, jobs: int, repo_path: str | None,
                 as_json: bool) -> None:
    """Re-read copies and check every file against the catalog: OCFL copies file by file,
    packed copies streamed once through zstd and tar. Failed and never-audited copies come
    first, so a nightly run with a time budget covers every copy in turn.

    Whatever the budgets, every copy the placement policy requires that the catalog does not
    record (FIX013: each location receives a copy of every version) and every version not
    stored (FIX014) is named too, with the command that makes it.

    With nothing due, says when the next copies fall due, per tier, and how to audit every
    copy now (--all).

    The locations' copies of the event log are checked too: segments missing at a location
    on every audit (from the listing), and with --all every copy read and compared with the
    catalog, as `archa events verify` does (an edited segment).

    Exit status: 0 every audited copy is sound and every required copy is there, 1 damage,
    a missing copy, a version not stored or a copy of the event log that differs found (the
    command that fixes it is printed for each), 2 the audit could not run.

    \b
    Example:
      archa fixity audit --repo /srv/archive --max-time 10m --rate 100
    """
    ctx.meta["archa.json"] = as_json
    opts = AuditOptions(due=mode == "due", aip=aip_id, location=location, max_time=max_time,
                        max_bytes=max_bytes, rate=rate * 1e6 if rate else None, jobs=jobs)
    with open_repo(repo_path) as repo:  # audit takes the lock itself, shared with ingests and syncs
        progress = Progress(enabled=None if not as_json else False)
        try:
            summary = audit(repo, dataclasses.replace(opts, aip=aip_id_of(repo, aip_id)), progress)
        except StorageError as e:
            click.echo(f"error: the audit could not run: {e.message}", err=True)
            if e.hint:
                click.echo(f"hint: {e.hint}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        finally:
            progress.close()
    d = summary.as_dict()
    if as_json:
        emit_json(d)
    else:
        for a in summary.failures:
            click.echo(f"{a.state.upper()}: {a.aip_id} {a.version} at {a.location} ({a.kind})")
            for f in a.findings:
                click.echo(f"  {f}")
            click.echo(f"  repair: {a.repair_command}")
        for s in summary.shortfalls:
            click.echo(f"MISSING: {s.aip_id} {s.version} at {s.location}" if s.location
                       else f"NOT STORED: {s.aip_id} {s.version}")
            click.echo(f"  {s.finding}")
            click.echo(f"  fix: {s.fix}")
        for a in summary.audits:
            if a.state == "ok":
                for f in a.findings:
                    click.echo(f"warning: {a.aip_id} {a.version} at {a.location}: {f}")
        for problem in summary.log_problems:
            click.echo(f"EVENT LOG: {problem}")
        if summary.log_problems:
            click.echo("  the copies of the event log differ: archa events verify names each; a catalog rebuild takes "
                       "the history the locations agree on")
        if summary.nothing_due:
            _nothing_due(summary, aip_id, location)
            if not summary.ok:
                ctx.exit(1)
            return
        click.echo(f"{d['copies']} copies, {d['files']} files, {human_bytes(d['bytes'])} in {d['seconds']:.1f} s "
                   f"({d['mb_per_s']} MB/s); {d['failures']} failed"
                   + (f"; {_count(d['missing_copies'], 'required copy', 'required copies')} missing"
                      if d["missing_copies"] else "")
                   + (f"; {_count(d['not_stored'], 'version')} not stored" if d["not_stored"] else "")
                   + (f"; {d['not_reached']} left for the next run" if d["not_reached"] else "")
                   + (f"; {d['busy']} being written by another command, left for the next run" if d["busy"] else "")
                   + (f"; {_count(len(summary.log_problems), 'problem')} with the copies of the event log"
                      if summary.log_problems else ""))
    if not summary.ok:
        ctx.exit(1)


def _nothing_due(summary: AuditSummary, aip_id: str | None, location: str | None) -> None:
    """What `fixity audit --due` says when no copy is due: when the next ones are, and how to
    audit every copy now."""
    scope = " ".join(f"{opt} {shlex.quote(v)}" for opt, v in (("--aip", aip_id), ("--location", location)) if v)
    if not summary.next_due:
        click.echo("nothing to audit: no copies" + (" match the filters" if scope else " are recorded yet"))
        return
    click.echo("nothing is due: every copy was audited within its tier's interval (policy fixity.interval_days)")
    for n in summary.next_due:
        click.echo(f"  {n.tier}: next due on {n.due[:10]}, {_count(n.copies, 'copy', 'copies')} "
                   f"(audited every {n.interval_days} days)")
    click.echo(f"to audit every copy now: archa fixity audit --all{' ' + scope if scope else ''}")
    if summary.busy:
        click.echo(f"{summary.busy} being written by another command, left for the next run")


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


@click.command("repair")
@click.argument("aip_id", required=False)
@click.option("--location", help="Only the copy at this location.")
@repo_option
@json_option
@click.pass_context
def repair_command(ctx: click.Context, aip_id: str | None, location: str | None, repo_path: str | None,
                   as_json: bool) -> None:
    """Rewrite damaged or missing content of the copies the last audit found bad (of AIP_ID,
    at --location), from another copy that verifies now; then audit them again. With no
    good copy left, says so and changes nothing (exit status 1). Without AIP_ID, a
    location's copy of the event log is mended too, when another location holds the events
    as the catalog does: segments deleted there are written back, and segments not as archa
    wrote them (edited, re-hashed, re-sealed) written anew, the old one kept under
    extensions/archa-events/damaged/ as evidence.

    \b
    Example:
      archa repair urn:uuid:0f6c... --location cold
    """
    from archa.preservation.repair import repair  # here: an audit does not pay for it

    ctx.meta["archa.json"] = as_json
    with open_repo(repo_path) as repo:
        log_done: list[str] = []
        log_left: list[str] = []
        if aip_id is None:
            from archa.repository.eventlog import log_ahead, repair_log_gaps, repair_log_segments

            # a location whose newest segment differs from the catalog makes every writing command refuse
            # (a catalog restored from an older copy looks so); where another location agrees with the
            # catalog it is that location's copy that is wrong: mended first, nothing else written meanwhile
            with repo.writing(behind_ok=True, anchor=False):
                for name in sorted(log_ahead(repo)):
                    if location in (None, name):
                        log_done += repair_log_segments(repo, name)[0]
        results = repair(repo, aip_id_of(repo, aip_id), location)
        if aip_id is None:
            with repo.writing():
                done, left = repair_log_segments(repo, location)
                gaps_done, gaps_left = repair_log_gaps(repo, location)  # also a replacement cut short by a crash
                log_done, log_left = log_done + done + gaps_done, left + gaps_left
    if as_json:
        emit_json([r.as_dict() for r in results] + [{"event_log": line, "repaired": True} for line in log_done]
                  + [{"event_log": line, "repaired": False} for line in log_left])
    else:
        for line in log_done:
            click.echo(f"repaired the event log at {line}")
        for line in log_left:
            click.echo(f"NOT repaired the event log at {line}", err=True)
        if not results and not log_done and not log_left:
            click.echo("nothing to repair: no copy is marked damaged or missing (run `archa fixity audit` first)")
        for r in results:
            if r.repaired:
                click.echo(f"repaired {r.aip_id} {r.version} at {r.location} from {r.source}: "
                           f"{len(r.rewritten)} rewritten, {len(r.removed)} removed; audit now {r.state_after}")
            else:
                click.echo(f"NOT repaired {r.aip_id} {r.version} at {r.location}: {r.error or r.state_after}",
                           err=True)
    if any(not r.repaired for r in results) or log_left:
        ctx.exit(1)
