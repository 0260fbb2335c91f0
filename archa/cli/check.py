"""`archa check nsesss`: judge ERMS packages by the national rule set, writing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from archa.cli.common import emit_json, json_option
from archa.errors import EXIT_BAD_INPUT, EXIT_PROBLEMS

PROFILES = ("prejimka", "skartace-metadata", "skartace-uplny")


@click.group("check")
def check() -> None:
    """Check what producers send against its national standard, writing nothing."""


@check.command("nsesss")
@click.argument("packages", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--profile", type=click.Choice(PROFILES), default="prejimka", show_default=True,
              help="What the package is for: transfer to the archive, disposal review with metadata only, "
                   "or disposal review with components.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d", "%Y"]),
              help="The date the date-dependent rules judge by (default: today).")
@click.option("--intake", is_flag=True,
              help="Judge as a records centre taking records in: the rules on whether disposal is due "
                   "(obs64, obs65, obs77, obs78) warn instead of failing.")
@click.option("--exclude", "exclude", multiple=True, metavar="RULE",
              help="A rule not to run (repeatable), as the national validator's excluded checks: e.g. --exclude "
                   "obs105 for a package whose producer has an exemption the archive granted.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Packages checked at once (processes).")
@json_option
@click.pass_context
def check_nsesss(ctx: click.Context, packages: tuple[Path, ...], profile: str, as_of: Any, intake: bool,
                 exclude: tuple[str, ...], jobs: int, as_json: bool) -> None:
    """Check Czech ERMS packages (NSESSS v4 or v3 SIPs, folders or ZIPs) by the national rule
    set, level by level - data structure, character set, well-formedness, namespaces,
    schema, content, components - stopping after the first level with errors, as the
    national validator does. Every finding has its rule code (e.g. obs94, kom3), level,
    place and a message. The antivirus rule vir1 is not run.

    Exit status: 0 every package valid, 1 a package invalid (whatever it is: a PDF, a lone
    XML file, another encoding or NSESSS generation fails its level with the rule code), 2
    a package unusable (the path does not exist, or its files cannot be read). --json prints one object for one package, a list for several.

    \b
    Example:
      archa check nsesss drop/SIP_2026_0001.zip --profile skartace-metadata --as-of 2026-12-31
    """
    from archa.transfer.nsesss.check import CheckOptions, CheckResult, check_many
    from archa.transfer.nsesss.rules import LEVELS, Profile

    ctx.meta["archa.json"] = as_json
    from archa.errors import UsageError
    from archa.transfer.nsesss.rules import rules_for

    known = set(rules_for(3)) | set(rules_for(4))
    unknown = sorted(set(exclude) - known)
    if unknown:
        raise UsageError(f"no rule {', '.join(unknown)} in the national rule set", hint="see docs/nsesss.md")
    options = CheckOptions(Profile(profile), as_of.date() if as_of is not None else None, intake, frozenset(exclude))
    results = []
    for r in check_many(list(packages), options, jobs):
        results.append(r)
        if as_json:
            continue
        if not isinstance(r, CheckResult):
            click.echo(f"{r.package}: UNUSABLE: {r.message}" + (f"\n  hint: {r.hint}" if r.hint else ""))
            continue
        errors = sum(f.is_error for f in r.findings)
        levels = f"levels {r.levels_run[0]}-{r.levels_run[-1]}" if r.levels_run else "no level"
        head = f"{r.package}: {'valid' if r.valid else 'INVALID'} (NSESSS v{r.version}, profile {r.profile}, " \
               f"as of {r.as_of.isoformat()}{', intake' if r.intake else ''}; {levels})"
        if r.stopped_after is not None:
            head += f", stopped after level {r.stopped_after} ({LEVELS.get(r.stopped_after, '')}): {errors} error(s)"
        click.echo(head)
        for f in r.findings:
            click.echo(f"  {f.severity:<7} {f.rule:<7} [{f.level}] {f.where}: {f.message}")
    if as_json:
        emit_json(results[0].as_dict() if len(results) == 1 else [r.as_dict() for r in results])
    elif len(results) > 1:
        valid = sum(isinstance(r, CheckResult) and r.valid for r in results)
        unusable = sum(not isinstance(r, CheckResult) for r in results)
        click.echo(f"{len(results)} packages: {valid} valid, {len(results) - valid - unusable} invalid, "
                   f"{unusable} unusable")
    if any(not isinstance(r, CheckResult) for r in results):
        ctx.exit(EXIT_BAD_INPUT)
    if any(not r.valid for r in results if isinstance(r, CheckResult)):
        ctx.exit(EXIT_PROBLEMS)
