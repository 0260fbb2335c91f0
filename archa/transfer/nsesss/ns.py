"""Level 4, namespaces (ns*): the root element and the schema locations."""

from __future__ import annotations

from collections.abc import Iterator

from archa.transfer.nsesss.model import METS, XSI, Hit, Pkg, local
from archa.transfer.nsesss.registry import check

SCHEMA_LOCATIONS = {
    4: [("http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/mets.xsd "
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
    if p.tree.tag != f"{{{METS}}}mets":
        yield p.hit(p.tree, f"the root element is {local(p.tree)} in namespace "
                            f"{p.tree.nsmap.get(p.tree.prefix) or 'none'}, not mets:mets ({METS})")


@check
def ns2(p: Pkg) -> Iterator[Hit]:
    found = p.tree.get(f"{{{XSI}}}schemaLocation")
    wanted = SCHEMA_LOCATIONS[p.version]
    if found is None or found.split() not in [w.split() for w in wanted]:
        yield p.hit(p.tree, f"xsi:schemaLocation must be {wanted[0]!r}"
                            + (f" or {wanted[1]!r}" if len(wanted) > 1 else "")
                            + (f"; found {found!r}" if found is not None else "; it is missing"),
                    "xsi:schemaLocation")
