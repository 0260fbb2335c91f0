"""Level 5, schema (val*): METS with the NSESSS and transaction-log schemas of the package's
generation, all loaded offline from archa/schemas."""

from __future__ import annotations

from collections.abc import Iterator

from archa.metadata.xmlsafe import wrapper_schema
from archa.transfer.nsesss.model import PREFIXES, Hit, Pkg
from archa.transfer.nsesss.registry import check

MAX_ERRORS = 20


def _short(message: str) -> str:
    for ns, prefix in PREFIXES.items():
        message = message.replace(f"{{{ns}}}", f"{prefix}:")
    return message


@check
def val1(p: Pkg) -> Iterator[Hit]:
    schema = wrapper_schema(f"nsesss-v{p.version}")
    if schema.validate(p.tree):
        return
    errors = list(schema.error_log)
    for err in errors[:MAX_ERRORS]:
        yield Hit(f"mets.xml:{err.line}", f"not valid against the v{p.version} schemas: {_short(err.message)}")
    if len(errors) > MAX_ERRORS:
        yield Hit("mets.xml", f"… and {len(errors) - MAX_ERRORS} more schema errors")
