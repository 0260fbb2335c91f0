"""What every command shares: --repo, --json, error rendering, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar, overload

import click

from archa.errors import ArchaError, LogNotWritten, SipRejected, exit_code_for, printable
from archa.repository.repo import Repository, resolve_repo_path

F = TypeVar("F", bound=Callable[..., Any])


def _repo_given(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--repo after the command wins; then `archa --repo PATH` before it; then $ARCHA_REPO."""
    if ctx.get_parameter_source(param.name or "") == click.core.ParameterSource.COMMANDLINE:
        return value
    return str(ctx.meta.get("archa.repo") or value or "") or None


def repo_option(f: F) -> F:
    return click.option("--repo", "repo_path", metavar="PATH", envvar="ARCHA_REPO", callback=_repo_given,
                        help="Repository (default: archa --repo PATH, $ARCHA_REPO, else ./archive).")(f)


def _json_asked(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta["archa.json"] = True  # errors are then JSON too, and --quiet lets it through
    return value


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, callback=_json_asked, help="Print JSON on stdout.")(f)


def open_repo(repo_path: str | None) -> Repository:
    """The repository a command works on; remembered in the click context, so that what its
    last anchoring left behind is reported when the command ends (`ArchaGroup.invoke`)."""
    repo = Repository.open(resolve_repo_path(repo_path))
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta.setdefault("archa.repos", []).append(repo)
    return repo


@overload
def aip_id_of(repo: Repository, text: str) -> str: ...
@overload
def aip_id_of(repo: Repository, text: None) -> None: ...
def aip_id_of(repo: Repository, text: str | None) -> str | None:
    """The whole id of the AIP an archivist typed (`aipid.resolve_aip_id`: the id, the bare
    UUID, 8 or more characters of it, the External-Identifier or an entity id); None for
    None (an option not given). Every command taking an AIP id passes it through this."""
    from archa.repository.aipid import resolve_aip_id

    return None if text is None else resolve_aip_id(repo.catalog, text)


def json_text(data: Any, indent: int | None = 2) -> str:
    """`data` as JSON, UTF-8 as it is; a name that was not UTF-8 at its source (surrogate escapes) makes
    it all ASCII escapes, still valid JSON."""
    text = json.dumps(data, indent=indent, ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, indent=indent, default=str)
    return text


def emit_json(data: Any) -> None:
    click.echo(json_text(data))


def emit_json_stream(head: dict[str, Any], key: str, items: Iterable[Any]) -> None:
    """Write `head` as a JSON object with `key` last: the `items`, one per line as they come
    (a million of them in constant memory)."""
    import sys

    out = sys.stdout
    text = json_text(head)
    out.write(text[:-1].rstrip() + (",\n" if head else "") + f'  {json.dumps(key)}: [')
    first = True
    for item in items:
        out.write(("\n    " if first else ",\n    ") + json_text(item, indent=None))
        first = False
    out.write("\n  ]\n}\n" if not first else "]\n}\n")
    out.flush()


def report_error(err: ArchaError, as_json: bool) -> None:
    """Render an error: JSON on stdout when asked for, else text on stderr."""
    if as_json:
        emit_json(err.as_dict())
        return
    click.echo(f"error: {printable(err.message)}", err=True)
    if isinstance(err, SipRejected):
        for f in err.findings:
            click.echo(f"  {'warning' if not f.is_error else 'error'}: {f}", err=True)
        if err.transfer_id:
            click.echo(f"  transfer {err.transfer_id} recorded as rejected", err=True)
    if err.hint:
        click.echo(f"hint: {err.hint}", err=True)


def log_left_behind(ctx: click.Context) -> LogNotWritten | None:
    """What the command's repositories' last anchoring left behind (Repository.log_behind)."""
    behind: dict[str, str] = {}
    for repo in ctx.meta.get("archa.repos", []):
        behind.update(repo.log_behind)
    return LogNotWritten(behind) if behind else None


class ArchaGroup(click.Group):
    """Maps ArchaError to its exit status in one place. A command whose events could not be
    written to every location's copy of the event log ends with that said and exit status 1
    at least (its own output stands: the work is done)."""

    def invoke(self, ctx: click.Context) -> Any:
        from archa.repository.catalog.errors import as_archa_error

        try:
            try:
                result = super().invoke(ctx)
            except Exception as db:  # only what the database raised is mapped; the rest re-raised
                damaged = as_archa_error(db)  # an unreadable catalog file, a lost server; else raised as it is
                if damaged is None:
                    raise
                raise damaged from db
        except click.exceptions.Exit as done:
            self._log_behind(ctx, done.exit_code)
            raise
        except SystemExit as done:  # a command ending with `raise SystemExit(1)`
            self._log_behind(ctx, done.code if isinstance(done.code, int) else 1)
            raise
        except ArchaError as err:
            as_json = "--json" in sys.argv[1:] or bool(ctx.meta.get("archa.json"))
            report_error(err, as_json)
            self._log_behind(ctx, exit_code_for(err))
            ctx.exit(exit_code_for(err))
        self._log_behind(ctx, 0)
        return result

    @staticmethod
    def _log_behind(ctx: click.Context, code: int) -> None:
        """Say what the anchoring left behind (on stderr: stdout may hold the command's JSON);
        exit 1 when the command would have ended with 0."""
        err = log_left_behind(ctx)
        if err is None:
            return
        report_error(err, as_json=False)
        if code == 0:
            ctx.exit(exit_code_for(err))


class Progress:
    """A progress callback drawing one bar per stage on a terminal (nothing otherwise)."""

    LABELS: ClassVar[dict[str, str]] = {"extract": "extracting", "copy": "copying + hashing", "identify": "identifying",
                                    "export": "exporting"}

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.stage = ""
        self.bar: Any = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            self.bar = click.progressbar(length=max(total, 1), label=self.LABELS.get(stage, stage),
                                         file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
