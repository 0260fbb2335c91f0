"""Level 4, namespaces (ns*): the root element and the schema locations.

As zaf decides: ns1 wants the root element written `mets:mets` (zaf compares the element's
qualified name; its namespace is left to the schema level), ns2 wants xsi:schemaLocation
to be exactly one of the standard's strings for the generation (a package in the NSESSS v2
namespace, or with two spaces or a wrong scheme, fails here). For v4 the nsesss.xsd location
may be written with http (zaf's older Pravidlo2) or with https (the standard's annex 2, point
1.1, and zaf's newer test packages: ns2-OK, kom3-OK4, kom3-OK7 are refused otherwise)."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from archa.metadata.nsesss import METS
from archa.transfer.nsesss.model import XSI, Hit, Pkg, local
from archa.transfer.nsesss.registry import check

SCHEMA_LOCATIONS = {
    4: [("http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/mets.xsd "
        "http://www.mvcr.cz/nsesss/v4 http://www.mvcr.cz/nsesss/v4/nsesss.xsd "
        "http://www.mvcr.cz/nsesss/2023/log https://www.mvcr.cz/nsesss/v4/nsesss-TrP.xsd"),
        ("http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/mets.xsd "
        "http://www.mvcr.cz/nsesss/v4 https://www.mvcr.cz/nsesss/v4/nsesss.xsd "
        "http://www.mvcr.cz/nsesss/2023/log https://www.mvcr.cz/nsesss/v4/nsesss-TrP.xsd")],
    3: [("http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/mets.xsd "
        "http://www.mvcr.cz/nsesss/v3 http://www.mvcr.cz/nsesss/v3/nsesss.xsd "
        "http://nsess.public.cz/erms_trans/v_01_01 TransakcniProtokolNavrh_verze1.7.xsd"),
        ("http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/mets.xsd "
        "http://www.mvcr.cz/nsesss/v3 http://www.mvcr.cz/nsesss/v3/nsesss.xsd "
        "http://nsess.public.cz/erms_trans/v_01_01 http://www.mvcr.cz/nsesss/v3/nsesss-TrP.xsd")],
}


@check
def ns1(p: Pkg) -> Iterator[Hit]:
    root = p.tree
    name = f"{root.prefix}:{local(root)}" if root.prefix else local(root)
    if name != "mets:mets":
        yield p.hit(root, f"the root element is {name} (namespace {etree.QName(root).namespace or 'none'}), "
                          f"not mets:mets ({METS})")


@check
def ns2(p: Pkg) -> Iterator[Hit]:
    found = p.tree.get(f"{{{XSI}}}schemaLocation")
    wanted = SCHEMA_LOCATIONS[p.version]
    if found not in wanted:
        yield p.hit(p.tree, f"xsi:schemaLocation must be {wanted[0]!r}"
                            + (f" or {wanted[1]!r}" if len(wanted) > 1 else "")
                            + (f"; found {found!r}" if found is not None else "; it is missing"),
                    "xsi:schemaLocation")
