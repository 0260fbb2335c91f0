"""`archa transfer folder|nsesss|eark|ndk`: make a BagIt bag of a transfer (and ingest it);
`archa transfer ack`: acknowledge rejected transfers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from archa.cli.common import Progress, emit_json, json_option, open_repo, repo_option
from archa.errors import Finding, SipRejected, UsageError
from archa.units import human_bytes

if TYPE_CHECKING:
    from archa.ingest.ingest import IngestOptions, IngestResult
    from archa.policies.model import Policy
    from archa.repository.repo import Repository


@click.group("transfer")
def transfer() -> None:
    """Make BagIt bags from folders, Czech ERMS (NSESSS) SIPs, E-ARK SIPs and NDK digitisation packages."""


def _options(f: Callable[..., Any]) -> Callable[..., Any]:
    decorators: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.argument("sip", type=click.Path(path_type=Path)),
        click.argument("out", type=click.Path(path_type=Path), required=False),
        click.option("--meta", multiple=True, metavar="KEY=VALUE", help="A bag-info field (repeatable)."),
        click.option("--meta-file", type=click.Path(path_type=Path, dir_okay=False),
                     help="bag-info fields, one 'Label: value' per line."),
        click.option("--ingest", "then_ingest", is_flag=True,
                     help="Ingest the bag into the repository at once; without OUT the bag is made inside the "
                          "repository's staging area and becomes the AIP without an intermediate copy."),
        click.option("--originator", metavar="ID", help="The originator the records belong to (written into "
                                                        "bag-info as Originator-Identifier)."),
        click.option("--as-new-version/--refuse-duplicates", "new_version", default=True, show_default=True,
                     help="With --ingest: records held already (same entity id and source), changed, become "
                          "the AIP's next version, or are refused."),
        click.option("--allow-duplicate", is_flag=True,
                     help="With --ingest: store it even when an AIP holds the same payload or External-Identifier."),
        click.option("--jobs", type=click.IntRange(1, 64), help="Threads copying and hashing files."),
        click.option("--normalize/--no-normalize", default=None,
                     help="With --ingest: run the migration pathways (`archa migrate`) right after, as the AIP's "
                          "next version (default: the policy's migration.at_ingest)."),
        repo_option, json_option, click.pass_context]
    for opt in reversed(decorators):
        f = opt(f)
    return f


def _run(ctx: click.Context, kind: str, sip: Path, out: Path | None, meta: tuple[str, ...], meta_file: Path | None,
         then_ingest: bool, originator: str | None, new_version: bool, allow_duplicate: bool, jobs: int | None,
         repo_path: str | None, as_json: bool, nsesss: Any = None, normalize: bool | None = None,
         title: str | None = None, images: bool = False) -> None:
    from archa.ingest.mistakes import as_argument, shell_command
    from archa.policies.model import load_policy
    from archa.repository.repo import resolve_repo_path
    from archa.transfer.folder import parse_meta, with_field
    from archa.transfer.kinds import run_transfer

    ctx.meta["archa.json"] = as_json
    if out is None and not then_ingest:
        repo_words = ("--repo", repo_path) if repo_path else ()
        raise UsageError("give OUT, the bag to write, or --ingest to make the bag straight into the repository",
                         hint=f"{shell_command('archa', 'transfer', kind, as_argument(sip), 'bags/NAME')}, or "
                              f"{shell_command('archa', 'transfer', kind, as_argument(sip), '--ingest', *repo_words)}")
    pairs = parse_meta(meta, meta_file)
    if originator:
        pairs = with_field(pairs, "Originator-Identifier", originator)
    if title is not None:
        pairs = with_field(pairs, "Title", title)
    repo = open_repo(repo_path) if then_ingest or (resolve_repo_path(repo_path) / "archa.toml").is_file() else None
    policy = repo.policy if repo is not None else load_policy()
    if originator and repo is not None:
        _known_originator(repo, originator)  # before any work
    progress = Progress(enabled=None if not as_json else False)
    if then_ingest:
        from archa.ingest.ingest import IngestOptions

        options = IngestOptions(jobs=jobs, message=f"Ingest of a transfer ({kind})", originator=originator,
                                new_version=new_version, allow_duplicate=allow_duplicate, normalize=normalize)
    if out is None:
        assert repo is not None
        _ingest_directly(repo, kind, sip, pairs, policy, jobs, progress, nsesss, as_json, options, images)
        return
    try:
        result = run_transfer(kind, sip, out, pairs, policy, jobs, progress, nsesss, images)
    except SipRejected as rej:
        if then_ingest and repo is not None:  # recorded like a SIP that ingest rejects
            from archa.ingest.ingest import record_rejection

            rej.transfer_id = record_rejection(repo, sip, rej)
        raise
    finally:
        progress.close()
    d: dict[str, Any] = {"transfer": result.as_dict()}
    if not as_json:
        click.echo(f"{result.out}: BagIt bag of {result.source} ({result.kind}), {result.files} files, "
                   f"{human_bytes(result.bytes)}")
        for f in result.findings:
            click.echo(_finding_line(f))
    if then_ingest:
        assert repo is not None
        from archa.ingest.ingest import ingest

        with repo:
            r = ingest(repo, out, options)
        d["ingest"] = r.as_dict()
        _echo_ingest(r, as_json)
    elif repo is not None:
        repo.close()
    if as_json:
        emit_json(d)
    if then_ingest and not r.ok:
        ctx.exit(1)


def _known_originator(repo: Repository, originator: str) -> None:
    """UsageError, naming the command that registers it, for an originator the repository does not know."""
    from archa.errors import NotFoundError
    from archa.ingest.mistakes import shell_command

    try:
        repo.catalog.originator(originator, repo.hot_location)
    except NotFoundError:
        raise UsageError(f"--originator {originator!r}: the repository knows no such originator",
                         hint=f"register it first: {shell_command('archa', 'originator', 'add', originator)} "
                              "--name 'NAME' (or see `archa originator list`)") from None


def _finding_line(f: Finding) -> str:
    """A finding as a line of text, with the reference validator's rule it matches (NDK)."""
    return f"  {f.severity}: {f}" + (f" [{f.rule}]" if f.rule else "")


def _echo_ingest(r: IngestResult, as_json: bool) -> None:
    if not as_json:
        click.echo(f"Ingested as {r.aip_id} {r.version} (originator {r.originator}); copies: "
                   f"{', '.join(r.copies)}")
        for note in r.notes:
            click.echo(f"  note: {note}")
        for w in r.warnings:
            if w.code.startswith("ORG"):  # the transfer's own findings were listed above it
                click.echo(f"  warning: {w}")
        if r.normalized is not None:
            from archa.cli.ingest import echo_normalized

            echo_normalized(r.normalized)


def _ingest_directly(repo: Repository, kind: str, sip: Path, pairs: list[tuple[str, str]], policy: Policy,
                     jobs: int | None, progress: Progress, nsesss: Any, as_json: bool, options: IngestOptions,
                     images: bool = False) -> None:
    """`--ingest` without OUT: the bag is made in the ingest's work area (ingest_transfer)."""
    from archa.transfer.direct import ingest_transfer
    from archa.transfer.kinds import run_transfer

    try:
        with repo:
            r, result = ingest_transfer(repo, sip, lambda out: run_transfer(kind, sip, out, pairs, policy, jobs,
                                                                              progress, nsesss, images), options)
    finally:
        progress.close()
    if not as_json:
        click.echo(f"{result.source} ({result.kind}): {result.files} files, {human_bytes(result.bytes)}, bagged into the "
                   "repository")
        for f in result.findings:
            click.echo(_finding_line(f))
    _echo_ingest(r, as_json)
    if as_json:
        emit_json({"transfer": {**result.as_dict(), "out": ""}, "ingest": r.as_dict()})
    if not r.ok:
        click.get_current_context().exit(1)


@transfer.command("folder")
@_options
@click.option("--title", metavar="TEXT", help="The bag's Title (bag-info), which becomes the AIP's label (default: "
                                             "'folder SIP').")
@click.option("--images", is_flag=True,
              help="Make an image record: the folder's images (TIFF, JPEG, JPEG 2000, PNG) in name order become "
                   "its pages, described by an optional metadata.csv or Dublin Core XML.")
def transfer_folder(ctx: click.Context, **kw: Any) -> None:
    """Make the BagIt 1.0 bag OUT from the folder SIP without changing it (it may be
    read-only or a network share): every file read once, hashed while copied; system
    clutter (Thumbs.db, .DS_Store, desktop.ini, ~$ lock files) left out and listed;
    links and special files reported, not followed; modification times kept. A file that
    cannot be read stops the transfer (exit 2) with its name.

    --title sets the bag's Title, and so the label the AIP is listed by; without it the
    label is "folder" and the folder's path. The same folder sent again (--ingest) is
    refused as a duplicate when an AIP holds its content in any version; with the
    External-Identifier of an AIP (--meta External-Identifier=...) and other content it
    becomes that AIP's next version.

    --images makes an image record: every TIFF, JPEG, JPEG 2000 and PNG in natural name
    order is a page (each page of a multi-page TIFF one), decoded to check it. An optional
    metadata.csv at the top (UTF-8 or Windows-1250, ',' or ';', columns named as Dublin
    Core terms: title, creator, date, identifier, rights, description, ... and 'file')
    describes the images (a row per file: its title is the page label) and the whole item
    (the row without a file); dc.xml at the top (or IMAGE.dc.xml beside an image) does the
    same. The item's title, identifier, rights (public or restricted access) and the rest go
    into bag-info; the files themselves stay in the bag. A CSV naming a missing file, an
    image that does not decode or no image at all refuses the folder (exit 2).

    \b
    Example:
      archa transfer folder /mnt/share/road-repairs bags/road-repairs \\
          --meta Source-Organization='Regional Office' --meta External-Identifier=ERA-2026-0001
      archa transfer folder /mnt/share/road-repairs --ingest --originator obec-lhota \\
          --title 'Road repairs 2025'
      archa transfer folder /mnt/scans/album-novak --images --ingest --originator muzeum-lhota
    """
    _run(ctx, "folder", **kw)


@transfer.command("nsesss")
@_options
@click.option("--profile", type=click.Choice(("prejimka", "skartace-metadata", "skartace-uplny")),
              help="The rule-set profile to check by (default: the policy's transfer.nsesss_profile, prejimka).")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d", "%Y"]),
              help="The date the date-dependent rules judge by (default: today).")
def transfer_nsesss(ctx: click.Context, profile: str | None, as_of: Any, **kw: Any) -> None:
    """Check a Czech ERMS (NSESSS v4 or v3) SIP, a folder or ZIP, by the national rule set
    (as `archa check nsesss --intake` does) and make it the bag OUT: the package byte for
    byte as payload, its metadata (ids, titles, filing-plan code, settled/closed date,
    originator, purpose, retention with the year the package declares) in bag-info. A
    records centre takes records in before their retention ends, so the rules on whether
    disposal is due (obs64, obs65, obs77, obs78) warn here; every other finding with
    severity error rejects the package (exit 2), each named by its rule code.

    \b
    Example:
      archa transfer nsesss drop/SIP_2026_0001.zip bags/SIP_2026_0001 --ingest
      archa transfer nsesss review/SIP_2026_0007 bags/review-7 --profile skartace-metadata
    """
    from archa.transfer.nsesss.check import CheckOptions
    from archa.transfer.nsesss.rules import Profile

    options = None
    if profile is not None or as_of is not None:
        from archa.policies.model import load_policy
        from archa.repository.repo import resolve_repo_path

        chosen = profile
        if chosen is None:
            toml = resolve_repo_path(kw["repo_path"]) / "archa.toml"
            chosen = open_repo(kw["repo_path"]).policy.transfer.nsesss_profile if toml.is_file() \
                else load_policy().transfer.nsesss_profile
        options = CheckOptions(Profile(chosen), as_of.date() if as_of is not None else None, intake=True)
    _run(ctx, "nsesss", nsesss=options, **kw)


@transfer.command("eark")
@_options
def transfer_eark(ctx: click.Context, **kw: Any) -> None:
    """Check an E-ARK CSIP/SIP (root METS.xml, representations/*/data, metadata/), a folder
    or ZIP, and make it the bag OUT: checksums and sizes of every METS fileSec entry
    verified, every file listed, METS kept as source metadata in the payload.

    \b
    Example:
      archa transfer eark drop/uuid-4e3c.zip bags/uuid-4e3c --ingest
    """
    _run(ctx, "eark", **kw)


@transfer.command("ndk")
@_options
def transfer_ndk(ctx: click.Context, **kw: Any) -> None:
    """Check an NDK digitisation package (PSP: a digitised monograph volume or periodical
    issue, NDK standard monograph 1.3-2.2 or periodical 1.6-2.1, the version from its info
    file), a folder or ZIP, and make it the bag OUT: every file in the MD5 file and info's
    item list with matching digests, info, main and page METS (MODS, DC, MIX, PREMIS) and
    ALTO valid against the standard's schemas, every page's master copy, user copy, ALTO,
    text and technical METS present and in the METS fileSec, JPEG 2000 files valid
    (jpylyzer) with lossless master and lossy user copies; the structure (METS headers, the
    five fileGrp, the PHYSICAL structMap with the edition's page types, the page METS, the
    MODS of each level) by the edition's rules of the national NDK Komplexní validátor. Any
    error rejects the package (exit 2) with every finding, its NDK code and the validator rule
    it matches; the page order, page types and sections go to ingest.

    \b
    Example:
      archa transfer ndk scans/5f3c0d2e-8a4b-4c1e-9d7a-0b1c2d3e4f50 bags/kronika-lhota --ingest
    """
    _run(ctx, "ndk", **kw)


@transfer.command("ack")
@click.argument("transfer_id", required=False)
@click.option("--before", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), metavar="DATE",
              help="Every rejected transfer received before DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC) instead.")
@click.option("--reason", default="", metavar="TEXT", help="Why, e.g. 'producer asked for a new package'.")
@repo_option
@json_option
@click.pass_context
def transfer_ack(ctx: click.Context, transfer_id: str | None, before: Any, reason: str, repo_path: str | None,
                 as_json: bool) -> None:
    """Acknowledge rejected transfers, so that `archa status` stops showing them as needing a
    person: TRANSFER_ID (the id ingest printed, its bare UUID, or 8 or more characters of
    it), or with --before DATE every rejection received before DATE. Each acknowledgement
    is an event in the event log (who, why), kept in storage with the log; the rejection's
    record stays. Exit status 2 for an unknown transfer or one that was not rejected.

    \b
    Example:
      archa transfer ack urn:uuid:7f0c2a8e-5d1b-4b7e-9a53-2f6c1d0e9b41 --reason 'producer sends a new package'
      archa transfer ack --before 2026-03-01
    """
    from archa.ingest.rejections import acknowledge

    ctx.meta["archa.json"] = as_json
    when = None if before is None else before.strftime("%Y-%m-%dT%H:%M:%S" if before.time().isoformat() != "00:00:00"
                                                       else "%Y-%m-%d")
    with open_repo(repo_path) as repo:
        result = acknowledge(repo, transfer_id, when, reason)
    if as_json:
        emit_json(result.as_dict())
        return
    for r in result.acknowledged:
        click.echo(f"acknowledged: {r['id']} ({r['source']}, rejected {r['received'][:19].replace('T', ' ')})")
    for r in result.already:
        click.echo(f"already acknowledged ({r['acknowledged'][:19].replace('T', ' ')}): {r['id']} ({r['source']})")
    if before is not None:
        click.echo(f"{len(result.acknowledged)} rejected transfer(s) received before {when} acknowledged")
