"""Parsing untrusted XML, and the offline schemas archa validates producers' XML against.

Producers' XML is parsed with the network off, no entity resolution, no DTD loading, and a
DOCTYPE is refused outright (it is how entity bombs and external entities arrive).
Schemas are loaded from archa/schemas only, once per process.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lxml import etree

SCHEMAS = Path(str(resources.files("archa.schemas")))

# wrapper schemas: METS together with what a producer embeds in mets:xmlData
WRAPPERS = {
    "nsesss-v4": {"http://www.loc.gov/METS/": "mets.xsd",
                  "http://www.mvcr.cz/nsesss/v4": "nsesss/2024/nsesss.xsd",
                  "http://www.mvcr.cz/nsesss/2023/log": "nsesss/2024/nsesss-TrP.xsd"},
    "nsesss-v3": {"http://www.loc.gov/METS/": "mets-1.11.xsd",
                  "http://www.mvcr.cz/nsesss/v3": "nsesss/2017/nsesss.xsd",
                  "http://nsess.public.cz/erms_trans/v_01_01": "nsesss/2017/TransakcniProtokolNavrh_verze17.xsd"},
    "mets": {"http://www.loc.gov/METS/": "mets.xsd"},
}


class UnsafeXml(ValueError):
    """The document declares a DOCTYPE (or entities), which archa does not accept."""


def parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=False)


def parse_untrusted(data: bytes) -> etree._Element:
    """Parse producer XML. Raises etree.XMLSyntaxError (not well-formed) or UnsafeXml."""
    root = etree.fromstring(data, parser())
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None or tree.docinfo.externalDTD is not None:
        raise UnsafeXml("the document declares a DOCTYPE; entity and DTD declarations are not accepted")
    return root


def read_user_xml(path: Path, hint: str = "") -> tuple[bytes, etree._Element]:
    """A file the user gives (a list, a record): its bytes and parsed root. UsageError naming
    the file when it cannot be read, is not well-formed or declares a DOCTYPE."""
    from archa.errors import UsageError

    try:
        data = path.read_bytes()
        return data, parse_untrusted(data)
    except OSError as e:
        raise UsageError(f"{path}: cannot be read ({e.strerror})") from e
    except (etree.XMLSyntaxError, UnsafeXml) as e:
        raise UsageError(f"{path}: not well-formed XML, or it declares a DOCTYPE ({e})", hint=hint) from e


@functools.cache
def wrapper_schema(name: str) -> etree.XMLSchema:
    """The XMLSchema that validates METS with the namespaces `WRAPPERS[name]` embeds."""
    imports = "".join(f'<xs:import namespace="{ns}" schemaLocation="{(SCHEMAS / loc).as_uri()}"/>'
                      for ns, loc in WRAPPERS[name].items())
    doc = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
    p = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.fromstring(doc.encode(), p, base_url=SCHEMAS.as_uri() + "/"))
