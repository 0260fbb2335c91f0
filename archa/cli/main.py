"""The `archa` command group."""

from __future__ import annotations

import click

import archa
from archa.cli.aip import aip
from archa.cli.catalog import catalog
from archa.cli.common import ArchaGroup
from archa.cli.events import events
from archa.cli.fixity import fixity, repair_command
from archa.cli.formats import formats
from archa.cli.identify import identify_command
from archa.cli.ingest import ingest_command
from archa.cli.init import init_command
from archa.cli.storage import storage


@click.group(cls=ArchaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(archa.__version__, prog_name="archa")
def cli() -> None:
    """archa: a long-term digital preservation repository (OCFL AIPs with METS + PREMIS).

    The repository is chosen by --repo PATH, else $ARCHA_REPO, else ./archive.
    Exit status: 0 ok, 1 problems found, 2 bad input or usage.

    \b
    Example:
      archa init archive && archa ingest --repo archive my-bag/
    """


cli.add_command(init_command)
cli.add_command(ingest_command)
cli.add_command(aip)
cli.add_command(identify_command)
cli.add_command(formats)
cli.add_command(storage)
cli.add_command(catalog)
cli.add_command(fixity)
cli.add_command(repair_command)
cli.add_command(events)
