"""The `archa` command group. Sub-commands are imported only when used, so that a command
starts fast (a nightly audit does not pay for the ingest or identification code)."""

from __future__ import annotations

import importlib

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
    "check": "archa.cli.check:check",
    "originator": "archa.cli.originator:originator",
    "hold": "archa.cli.hold:hold",
    "disposal": "archa.cli.disposal:disposal",
}


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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(archa.__version__, prog_name="archa")
def cli() -> None:
    """archa: a long-term digital preservation repository (OCFL AIPs with METS + PREMIS).

    The repository is chosen by --repo PATH, else $ARCHA_REPO, else ./archive.
    Exit status: 0 ok, 1 problems found, 2 bad input or usage.

    \b
    Example:
      archa init archive && archa ingest --repo archive my-bag/
    """
