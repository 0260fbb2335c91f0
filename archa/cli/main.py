"""The `archa` command group. Sub-commands are imported only when used, so that a command
starts fast (a nightly audit does not pay for the ingest or identification code)."""

from __future__ import annotations

import importlib
from typing import Any

import click

import archa
from archa.cli.common import ArchaGroup

COMMANDS = {
    "init": "archa.cli.init:init_command",
    "ingest": "archa.cli.ingest:ingest_command",
    "aip": "archa.cli.aip:aip",
    "identify": "archa.cli.identify:identify_command",
    "formats": "archa.cli.formats:formats",
    "storage": "archa.cli.storage:storage",
    "catalog": "archa.cli.catalog:catalog",
    "fixity": "archa.cli.fixity:fixity",
    "repair": "archa.cli.fixity:repair_command",
    "events": "archa.cli.events:events",
    "dip": "archa.cli.dip:dip",
    "transfer": "archa.cli.transfer:transfer",
    "retention": "archa.cli.retention:retention",
    "policy": "archa.cli.policy:policy",
    "migrate": "archa.cli.migrate:migrate_command",
    "check": "archa.cli.check:check",
    "originator": "archa.cli.originator:originator",
    "hold": "archa.cli.hold:hold",
    "access": "archa.cli.access:access",
    "disposal": "archa.cli.disposal:disposal",
    "status": "archa.cli.status:status_command",
    "report": "archa.cli.report:report_command",
    "search": "archa.cli.search:search_command",
    "publish": "archa.cli.publish:publish_command",
    "help": "archa.cli.main:help_command",
}


class QuietStdout:
    """stdout under --quiet: passes on only what a command asked for with --json."""

    def __init__(self, real: Any, meta: dict[str, Any]) -> None:
        self.real, self.meta = real, meta

    def write(self, s: str) -> int:
        return self.real.write(s) if self.meta.get("archa.json") else len(s)

    def flush(self) -> None:
        self.real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class LazyGroup(ArchaGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        cmd: click.Command = getattr(importlib.import_module(module), attr)
        return cmd

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                             list[str]]:
        """As click's, with a suggestion for a mistyped command (`archa stauts`: did you mean
        'status'?): click offers one from the commands it holds, and these load lazily."""
        if args and self.get_command(ctx, args[0]) is None and not args[0].startswith("-") \
                and not ctx.resilient_parsing:
            raise click.exceptions.NoSuchCommand(args[0], possibilities=self.list_commands(ctx), ctx=ctx)
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(archa.__version__, prog_name="archa")
@click.option("--repo", "repo_path", metavar="PATH",
              help="Repository, for every command (also accepted after the command).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (and what --json asks for).")
@click.pass_context
def cli(ctx: click.Context, repo_path: str | None, quiet: bool) -> None:
    """archa: a long-term digital preservation repository (OCFL AIPs with METS + PREMIS).

    The repository is chosen by --repo PATH (before or after the command), else
    $ARCHA_REPO, else ./archive. Exit status: 0 ok, 1 problems found, 2 bad input or usage.
    Shell completion: eval "$(_ARCHA_COMPLETE=bash_source archa)" (zsh_source, fish_source).

    \b
    Example:
      archa init archive && archa ingest --repo archive my-bag/
      archa --repo archive -q fixity audit
    """
    if ctx.obj is OWN_PROCESS:
        # the command's modules are loaded by now (click resolves the command first): what
        # they made lives as long as the process, so the collector need not walk it again,
        # least of all in the full collection at exit (measured: 9-10 ms of every command's
        # ~75 ms start-up and exit). Not under a test runner, where one process runs many.
        import gc

        gc.freeze()
    if repo_path:
        ctx.meta["archa.repo"] = repo_path
    if quiet:
        import contextlib
        import sys

        ctx.with_resource(contextlib.redirect_stdout(QuietStdout(sys.stdout, ctx.meta)))


OWN_PROCESS = object()  # `main`'s context object: this process runs one command, then ends


def main() -> None:
    """The `archa` console script (setup.cfg): `cli`, in a process that runs this one command."""
    cli(obj=OWN_PROCESS)


@click.command("help")
@click.argument("names", nargs=-1, metavar="[COMMAND]...")
@click.pass_context
def help_command(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Print a command's help, as COMMAND --help does (with no COMMAND, archa's own); a
    mistyped name gets a suggestion.

    \b
    Example:
      archa help ingest
      archa help aip show
    """
    target = ctx.find_root()
    command = target.command
    for name in names:
        if not isinstance(command, click.Group):
            raise click.UsageError(f"{target.command_path} has no sub-command {name!r}", ctx=ctx)
        found = command.get_command(target, name)
        if found is None:
            raise click.exceptions.NoSuchCommand(name, possibilities=command.list_commands(target), ctx=target)
        target = found.make_context(name, [], parent=target, resilient_parsing=True)
        command = found
    click.echo(target.get_help())


if __name__ == "__main__":  # python -m archa.cli.main, as the `archa` script
    cli()
