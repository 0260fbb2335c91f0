"""A transfer bagged straight into the repository (`archa transfer ... --ingest` without OUT):
the transfer calls ingest, never the other way round."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from archa.ingest.ingest import IngestOptions, IngestResult, ingest_made_bag
from archa.repository.copying import ProgressFn
from archa.repository.repo import Repository
from archa.transfer.bagwriter import bagging_for_ingest
from archa.transfer.folder import TransferResult

DEFAULTS = IngestOptions()

def ingest_transfer(repo: Repository, source: Path, make_bag: Callable[[Path], TransferResult],
                    options: IngestOptions = DEFAULTS,
                    progress: ProgressFn | None = None) -> tuple[IngestResult, TransferResult]:
    """Make a transfer's bag inside the ingest's own work area and ingest it: `make_bag(out)`
    writes the bag `out` from `source` (a folder, an NSESSS or NDK package ...), hashing the
    payload with the repository's digest algorithm too, in the same read; the payload is then
    moved into the AIP, not copied again. So the data is written once (and once more for
    each further copy). The bag stored is the same as `archa transfer ... OUT` writes, with
    one more manifest. Errors as `ingest`; a rejected transfer is recorded too; `source` is
    only read."""

    def bag_for_ingest(out: Path) -> TransferResult:
        with bagging_for_ingest(repo.policy.digest_algorithm):
            return make_bag(out)

    return ingest_made_bag(repo, source, bag_for_ingest, options, progress)
