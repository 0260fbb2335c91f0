"""Level 3, XML well-formedness (wf*). Parsing here (network off, no entities) gives the
tree the later levels read; a DOCTYPE is refused outright (it is how entity bombs and
external entities arrive)."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from archa.metadata.xmlsafe import UnsafeXml, parse_untrusted
from archa.transfer.nsesss.model import Hit, Pkg
from archa.transfer.nsesss.registry import check


@check
def wf1(p: Pkg) -> Iterator[Hit]:
    try:
        p.root = parse_untrusted(p.mets_bytes or b"")
    except UnsafeXml as e:
        yield Hit("mets.xml", f"{e}; the package is refused")
    except etree.XMLSyntaxError as e:
        yield Hit(f"mets.xml:{e.lineno}", f"mets.xml is not well-formed XML: {e.msg}")
