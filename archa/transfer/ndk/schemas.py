"""Which NDK standard versions archa takes, and the offline schemas each is checked by.

The schemas are the standard's own (archa/schemas/ndk/): METS 1.9.1 with MODS (3.5, 3.6 or
3.8 by edition), OAI DC, MIX 2.0, PREMIS 2.2 and copyrightMD as embedded metadata; ALTO 2.0;
and the edition's schema of `info_<uuid>.xml`.
"""

from __future__ import annotations

import functools

from lxml import etree

from archa.metadata.xmlsafe import SCHEMAS

NDK = SCHEMAS / "ndk"

# (kind, metadataversion) -> the edition whose schemas check it
EDITIONS: dict[tuple[str, str], str] = {
    **{("monograph", v): "monograph_1.3.2" for v in ("1.3", "1.3.1", "1.3.2")},
    **{("monograph", v): "monograph_2.2" for v in ("1.4", "2.0", "2.1", "2.2")},
    ("periodical", "1.6"): "periodical_1.6",
    **{("periodical", v): "periodical_1.7.1" for v in ("1.7", "1.7.1")},
    **{("periodical", v): "periodical_2.1" for v in ("1.8", "1.9", "2.0", "2.1")},
}
INFO_XSD = {"monograph_1.3.2": "info_mon1.3.2.xsd", "monograph_2.2": "info_mon2.2.xsd",
            "periodical_1.6": "info_per1.6.xsd", "periodical_1.7.1": "info_per1.7.1.xsd",
            "periodical_2.1": "info_per2.1.xsd"}
MODS_XSD = {"monograph_1.3.2": "mods_3.6.xsd", "monograph_2.2": "mods_3.8.xsd", "periodical_1.6": "mods_3.5.xsd",
            "periodical_1.7.1": "mods_3.6.xsd", "periodical_2.1": "mods_3.8.xsd"}
# imported first: the schemas that import xml.xsd and xlink.xsd find them loaded already
EMBEDDED = (("http://www.w3.org/XML/1998/namespace", "xml.xsd"), ("http://www.w3.org/1999/xlink", "xlink.xsd"),
            ("http://www.loc.gov/METS/", "mets_1.9.1.xsd"),
            ("http://www.openarchives.org/OAI/2.0/oai_dc/", "dc_1.1.xsd"),
            ("http://www.loc.gov/mix/v20", "mix_2.0.xsd"), ("info:lc/xmlns/premis-v2", "premis_2.2.xsd"),
            ("http://www.cdlib.org/inside/diglib/copyrightMD", "cmd_0.91.xsd"))


def supported() -> str:
    by_kind: dict[str, list[str]] = {}
    for kind, version in EDITIONS:
        by_kind.setdefault(kind, []).append(version)
    return "; ".join(f"{k} {', '.join(v)}" for k, v in sorted(by_kind.items()))


def _compose(imports: list[tuple[str, str]]) -> etree.XMLSchema:
    doc = "".join(f'<xs:import namespace="{ns}" schemaLocation="{(NDK / loc).as_uri()}"/>' for ns, loc in imports)
    root = etree.fromstring(f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{doc}</xs:schema>'.encode(),
                            etree.XMLParser(no_network=True, resolve_entities=False), base_url=NDK.as_uri() + "/")
    return etree.XMLSchema(root)


@functools.cache
def mets_schema(edition: str) -> etree.XMLSchema:
    """METS with everything an NDK METS embeds (MODS of the edition, DC, MIX, PREMIS)."""
    return _compose([*EMBEDDED, ("http://www.loc.gov/mods/v3", MODS_XSD[edition])])


@functools.cache
def info_schema(edition: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(NDK / INFO_XSD[edition]),
                                       etree.XMLParser(no_network=True, resolve_entities=False)))


@functools.cache
def alto_schema() -> etree.XMLSchema:
    return _compose([("http://www.w3.org/1999/xlink", "xlink.xsd"),
                     ("http://www.loc.gov/standards/alto/ns-v2#", "alto_2.0.xsd")])
