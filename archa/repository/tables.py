"""The catalog's tables as Parquet or CSV files, for analysts' own tools (DuckDB, pandas).

One file per table (`aips.parquet`, `files.parquet`, ...), columns as in the catalog (see
docs/design.md), written in batches through pyarrow so memory stays flat whatever the
number of rows. The folder is built under a temporary name beside OUT and renamed into
place when every table is written.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archa.errors import UsageError
from archa.repository.durable import check_target, fsync_dir, partial_sibling
from archa.repository.repo import Repository

TABLES = ("aips", "versions", "files", "copies", "events", "retention", "originators", "holds", "transfers",
          "proposals", "proposal_items", "tombstones")
FORMATS = ("parquet", "csv")
BATCH = 20_000


@dataclass(frozen=True)
class ExportedTable:
    table: str
    path: str
    rows: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _arrow_type(declared: str) -> Any:
    import pyarrow as pa

    d = (declared or "").upper()
    if "INT" in d:
        return pa.int64()
    if "REAL" in d or "FLOA" in d or "DOUB" in d:
        return pa.float64()
    if "BLOB" in d:
        return pa.binary()
    return pa.string()


def export_tables(repo: Repository, out: Path, fmt: str = "parquet") -> list[ExportedTable]:
    """Write every catalog table to OUT (new) as `fmt`; returns each table's file and rows."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt not in FORMATS:
        raise UsageError(f"no export format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    out = out.absolute()
    check_target(out)
    reports = repo.catalog.reports
    partial = partial_sibling(out)
    partial.mkdir()
    done = []
    try:
        for table in TABLES:
            cols = reports.columns(table)
            schema = pa.schema([(name, _arrow_type(decl)) for name, decl in cols])
            path = partial / f"{table}.{fmt}"
            writer: Any = pq.ParquetWriter(path, schema, compression="zstd") if fmt == "parquet" \
                else pacsv.CSVWriter(path, schema)
            rows = 0
            with writer:
                for batch in reports.table_batches(table, [name for name, _d in cols], BATCH):
                    columns = list(zip(*batch, strict=True))
                    writer.write_batch(pa.record_batch([pa.array(c, type=schema.field(i).type)
                                                        for i, c in enumerate(columns)], schema=schema))
                    rows += len(batch)
            done.append(ExportedTable(table, str(out / path.name), rows))
        for p in partial.iterdir():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
        fsync_dir(partial)
        os.rename(partial, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return done
