"""Level 2, character set (kod*): mets.xml is UTF-8 without a byte-order mark, and says so.

As zaf decides it: mets.xml must exist; a UTF-8 byte-order mark is an error; the bytes must
be UTF-8 (zaf detects the encoding from the text); and the XML declaration must name the
encoding, spelled `UTF-8` in any case (zaf compares the declared name with the detected
`utf-8`: a missing declaration, `UTF8` or `utf_8` fail). Any other encoding, declared or
not (windows-1250, ISO-8859-2, UTF-16), fails here, before the file is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from archa.transfer.nsesss.model import Hit, Pkg
from archa.transfer.nsesss.registry import check

DECLARATION = re.compile(rb"""^<\?xml\s[^>]*?\?>""")
ENCODING = re.compile(rb"""\sencoding\s*=\s*["']([^"']*)["']""")
BOMS = {b"\xef\xbb\xbf": "UTF-8", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}
# cp1250 and ISO-8859-2 read differently: the Czech letters only one of them has in this place
_CP1250_ONLY = frozenset(b"\x8a\x8d\x8e\x9a\x9d\x9e")


def _guess(data: bytes) -> str:
    """A name for an 8-bit Czech text that is not UTF-8 (for the message only)."""
    return "windows-1250" if any(b in _CP1250_ONLY for b in data) else "ISO-8859-2 or windows-1250"


@check
def kod1(p: Pkg) -> Iterator[Hit]:
    if p.mets_bytes is None:
        yield Hit("mets.xml", "mets.xml does not exist")
        return
    data = p.mets_bytes
    for bom, name in BOMS.items():
        if data.startswith(bom):
            yield Hit("mets.xml", f"mets.xml starts with a {name} byte-order mark; it must be UTF-8 without one")
            return
    declared_match = DECLARATION.match(data)
    enc = ENCODING.search(declared_match.group(0)) if declared_match else None
    declared = enc.group(1).decode("ascii", "replace") if enc else None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        yield Hit(f"mets.xml:{line}", f"mets.xml is not UTF-8 (it reads as {_guess(data)}: {e.reason} at byte "
                                      f"{e.start}); declared encoding: {declared or 'none'}. Ask the producer for "
                                      "a package written in UTF-8")
        return
    if declared is None:
        yield Hit("mets.xml:1", "the XML declaration does not name the encoding; it must say encoding=\"UTF-8\"")
    elif declared.lower() != "utf-8":
        yield Hit("mets.xml:1", f"the XML declaration names the encoding {declared!r}, not UTF-8")
