"""Level 2, character set (kod*): mets.xml is UTF-8 without a byte-order mark."""

from __future__ import annotations

import re
from collections.abc import Iterator

from archa.transfer.nsesss.model import Hit, Pkg
from archa.transfer.nsesss.registry import check

DECLARED = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
BOMS = {b"\xef\xbb\xbf": "UTF-8", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


@check
def kod1(p: Pkg) -> Iterator[Hit]:
    data = p.mets_bytes or b""
    for bom, name in BOMS.items():
        if data.startswith(bom):
            yield Hit("mets.xml", f"mets.xml starts with a {name} byte-order mark; it must be UTF-8 without one")
            return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        yield Hit(f"mets.xml:{line}", f"mets.xml is not UTF-8: {e.reason} at byte {e.start}")
        return
    declared = DECLARED.match(data)
    if declared and declared.group(1).decode().lower().replace("_", "-") not in ("utf-8", "utf8"):
        yield Hit("mets.xml:1", f"the XML declaration names the encoding {declared.group(1).decode()!r}, "
                                "not UTF-8")
