"""What each NDK edition's structure rules ask, after the national reference validator.

The reference is the NDK Komplexní validátor (NLCR/komplexni-validator): one folder of
configuration per edition (`validatorConfig/fDMF/<kind>_<version>/`) whose `rules.xml` names
each rule and its parameters, whose `metsProfiles/` describe the main and page METS headers
and whose `biblioProfiles/` describe the MODS records. archa does not run that configuration;
this module writes down, as data, what it says about the package *structure*, and the checks
in `psp.py` follow it. Every finding carries the id of the validator rule it matches
(`Finding.rule`), so a report can be read beside the validator's.

What varies by edition:

* the page types a page `mets:div` of the main METS PHYSICAL structMap may carry (the rule
  PRIMARY-METS_PHYSICAL_STRUCTURAL_MAP_CORRECT, parameter `page_types`): four lists, the
  monograph list up to monograph_2.1, a new one from monograph_2.2 (after the PPP rules of
  17 December 2024), the periodical list up to periodical_2.0 (with the article-level types)
  and the new periodical_2.1 list;
* the `mets:div` TYPE of a page METS's (amdsec) PHYSICAL structMap (SECONDARY-METS_PHYSICAL_
  STRUCTURAL_MAP_CORRECT, `expected_page_type`): MONOGRAPH_PAGE or PERIODICAL_PAGE;
* the METS TYPE of both METS headers (primary/secondary_mets_header): Monograph or Periodical;
* the biblio levels and the genre each MODS record of a level carries;
* how info spells its checksum type (the edition's info schema: `md5`, or `MD5` in
  periodical 1.6), read from the schema archa validates info by.

What does not vary: the five fileGrp of the main METS with their USE (MC_IMGGRP Images,
UC_IMGGRP Images, ALTOGRP Layout, TXTGRP Text, TECHMDGRP "Technical Metadata"), the four of a
page METS (the same less TECHMDGRP), the amdSec records a page METS holds (MIX_001, MIX_002,
OBJ_001, OBJ_002, OBJ_003, EVT_*, AGENT_*) and METS CHECKSUMTYPE MD5.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from lxml import etree

from archa.transfer.ndk.schemas import EDITIONS, INFO_XSD, NDK

# fileGrp ID -> USE, as the validator's checkPrimaryMetsFilesecContainsAllFilegroups and
# checkSecondaryMetsFilesecContainsAllFilegroups require them (exactly these, no other)
MAIN_GROUPS = {"MC_IMGGRP": "Images", "UC_IMGGRP": "Images", "ALTOGRP": "Layout", "TXTGRP": "Text",
               "TECHMDGRP": "Technical Metadata"}
AMD_GROUPS = {"MC_IMGGRP": "Images", "UC_IMGGRP": "Images", "ALTOGRP": "Layout", "TXTGRP": "Text"}
GROUP_ROLES = {"MC_IMGGRP": "master", "UC_IMGGRP": "user", "ALTOGRP": "alto", "TXTGRP": "txt", "TECHMDGRP": "amd"}

# the rule that says every file of a folder is in its fileGrp of the main METS
FILESEC_RULES = {"master": "PRIMARY-METS_FILESEC_ALL_MASTER_COPY_FILES_REFERENCED",
                 "user": "PRIMARY-METS_FILESEC_ALL_USER_COPY_FILES_REFERENCED",
                 "alto": "PRIMARY-METS_FILESEC_ALL_OCR_ALTO_FILES_REFERENCED",
                 "txt": "PRIMARY-METS_FILESEC_ALL_OCR_TEXT_FILES_REFERENCED",
                 "amd": "PRIMARY-METS_FILESEC_ALL_SECONDARY_METS_FILES_REFERENCED"}
# the rule that says a page METS's fileGrp points at the page's file of that role
AMD_FILE_RULES = {"master": "SECONDARY-METS_FILESEC_MASTER_COPY_FILE_REFERENCED",
                  "user": "SECONDARY-METS_FILESEC_USER_COPY_FILE_REFERENCED",
                  "alto": "SECONDARY-METS_FILESEC_OCR-ALTO_FILE_REFERENCED",
                  "txt": "SECONDARY-METS_FILESEC_OCR-TEXT_FILE_REFERENCED"}
# amdSec records of a page METS that must exist: (element, ID or ID prefix, exact?, rule)
AMD_RECORDS = (("techMD", "MIX_001", True, "MIX_FOR_ORIGINAL_SCAN_MATCHES_PROFILE"),
               ("techMD", "MIX_002", True, "MIX_FOR_FIRST_MASTER_COPY_MATCHES_PROFILE"),
               ("techMD", "OBJ_001", True, "PREMIS_OBJECT_FOR_ORIGINAL_SCAN_MATCHES_PROFILE"),
               ("techMD", "OBJ_002", True, "PREMIS_OBJECT_FOR_MASTER_COPY_MATCHES_PROFILE"),
               ("techMD", "OBJ_003", True, "PREMIS_OBJECT_FOR_ALTO_OCR_MATCHES_PROFILE"),
               ("digiprovMD", "EVT_", False, "PREMIS_EVENT_MATCHES_PROFILE"),
               ("digiprovMD", "AGENT_", False, "PREMIS_AGENT_MATCHES_PROFILE"))
JP2_RULES = {"master": "MASTER-COPY_FILES_VALID_BY_JPYLYZER", "user": "USER-COPY_FILES_VALID_BY_JPYLYZER"}

# rule ids used by more than one check
PHYSICAL_MAP = "PRIMARY-METS_PHYSICAL_STRUCTURAL_MAP_CORRECT"
STRUCT_LINKS = "PRIMARY-METS_STRUCT_LINKS_CORRECT"
FILEGROUPS = "PRIMARY-METS_FILESEC_ALL_FILEGROUPS_PRESENT"
AMD_FILEGROUPS = "SECONDARY-METS_FILESEC_ALL_FILEGROUPS_PRESENT"
AMD_PHYSICAL_MAP = "SECONDARY-METS_PHYSICAL_STRUCTURAL_MAP_CORRECT"
MAIN_HEADER = "PRIMARY_METS_HEADER_MATCHES_PROFILE"
AMD_HEADER = "SECONDARY_METS_HEADER_MATCH_PROFILE"
SIZES = "PRIMARY-METS_FILESEC_SIZES_MATCH"
CHECKSUMS = "PRIMARY-METS_FILESEC_CHECKSUMS_MATCH"
INFO_XSD_RULE = "INFO_XML_VALID_BY_XSD"
INFO_WELL_BUILT = "INFO_XML_WELL_BUILT"
INFO_CHECKSUM = "INFO_CHECKSUM_FILE_CHECKSUM_MATCHES"
INFO_MAINMETS = "INFO_REFERENCES_PRIMARY-METS"
INFO_ITEMTOTAL = "INFO_ITEMTOTAL_MATCHES_ITEMS_COUNT"
INFO_ITEMLIST = "INFO_ITEMLIST_REFERENCES_ALL_FILES"
MD5_GRAMMAR = "CHECKSUM_FILE_GENERATED_BY_GRAMMAR"
MD5_PATHS = "CHECKSUM_FILE_ALL_PATHS_MATCH_FILES"
MD5_SUMS = "CHECKSUM_FILE_ALL_CHECKSUMS_MATCH"
PSP_DIR = "PSP_DIR_MATCHES_PSP_ID"
ALTO_XSD = "OCR-ALTO_FILES_VALID_BY_XSD"
SINGLE_FILE = {"info": "SINGLE_INFO_FILE_FOUND", "main METS": "SINGLE_PRIMARY-METS_FILE_FOUND",
               "MD5 file": "SINGLE_CHECKSUM_FILE_FOUND"}

_MONO_OLD = ("titlePage tableOfContents blank advertisement normalPage jacket cover frontCover frontEndPaper "
             "backCover backEndPaper frontEndSheet backEndSheet spine frontJacket index illustration "
             "listOfIllustrations map listOfMaps listOfTables table flyLeaf dedication errata frontispiece edge "
             "imprimatur appendix bibliography sheetMusic impressum")
_MONO_2_2 = ("frontJacket cover frontCover backCover frontEndSheet backEndSheet frontEndPaper backEndPaper titlePage "
             "preface introduction normalPage blank illustration map table advertisement impressum colophon "
             "frontispiece imprimatur dedication errata sheetMusic appendix bibliography afterword conclusion "
             "tableOfContents index listOfIllustrations listOfMaps listOfTables edge spine jacket flyLeaf")
_PER_OLD = ("titlePage tableOfContents blank advertisement normalPage jacket cover frontCover frontMatter backCover "
            "backMatter frontEndSheet backEndSheet spine frontJacket index illustration listOfIllustrations map "
            "listOfMaps listOfTables table flyLeaf dedication errata frontispiece edge printPermission appendix "
            "bibliography sheetMusic impressum news abstract introduction review mainArticle editorial obituary "
            "bibliographicalPortrait colophon interview anotation")
_PER_2_1 = ("cover frontCover backCover frontEndSheet backEndSheet frontEndPaper backEndPaper titlePage preface "
            "introduction normalPage blank illustration map table advertisement colophon dedication errata "
            "sheetMusic bibliography afterword conclusion tableOfContents index listOfIllustrations listOfMaps "
            "listOfTables spine jacket flyleaf")


@dataclass(frozen=True)
class Level:
    """A level of description: its dmdSec ID prefix (MODSMD_<prefix>), the genre its MODS record
    names, whether the record must have a title, a language and a URN:NBN."""

    name: str  # VOLUME, TITLE, ISSUE
    genre: str
    title: bool = True
    language: bool = False
    urnnbn: bool = False


@dataclass(frozen=True)
class Rules:
    """The structure rules of one validator edition."""

    fdmf: str  # the validator's edition folder, e.g. "monograph_2.0"
    kind: str
    mets_type: str  # mets:mets/@TYPE of the main and page METS
    page_types: tuple[str, ...]
    amd_page_type: str  # the page div TYPE of a page METS
    levels: tuple[Level, ...]
    schema_edition: str  # the schemas archa validates by (schemas.EDITIONS)

    @property
    def top_div_types(self) -> tuple[str, ...]:
        """The top div TYPEs of the PHYSICAL structMap archa takes without a warning (the
        validator leaves this check switched off, the standard's text being unclear on case)."""
        return (self.kind, f"{self.kind}_pages")


_MONO_LEVELS = (Level("VOLUME", "volume", language=True, urnnbn=True), Level("TITLE", "title"))
_PER_LEVELS = (Level("TITLE", "title"), Level("VOLUME", "volume", title=False),
               Level("ISSUE", "issue", title=False, urnnbn=True))


def _rules(kind: str, version: str) -> Rules:
    newer = tuple(int(p) for p in version.split(".")) >= ((2, 2) if kind == "monograph" else (2, 1))
    if kind == "monograph":
        types = _MONO_2_2 if newer else _MONO_OLD
        return Rules(f"monograph_{version}", kind, "Monograph", tuple(types.split()), "MONOGRAPH_PAGE", _MONO_LEVELS,
                     EDITIONS[(kind, version)])
    types = _PER_2_1 if newer else _PER_OLD
    return Rules(f"periodical_{version}", kind, "Periodical", tuple(types.split()), "PERIODICAL_PAGE", _PER_LEVELS,
                 EDITIONS[(kind, version)])


RULES: dict[tuple[str, str], Rules] = {key: _rules(*key) for key in EDITIONS}


def rules_for(kind: str, version: str) -> Rules | None:
    return RULES.get((kind, version))


@functools.cache
def checksum_spellings(schema_edition: str) -> tuple[str, ...]:
    """How info's `checksum/@type` may be spelled: the values (enumeration or pattern) of the
    edition's info schema."""
    xs = "{http://www.w3.org/2001/XMLSchema}"
    doc = etree.parse(str(NDK / INFO_XSD[schema_edition]), etree.XMLParser(no_network=True, resolve_entities=False))
    for simple in doc.iter(f"{xs}simpleType"):
        if simple.get("name") == "checksumType":
            return tuple(e.get("value", "") for e in simple.iter() if e.tag in (f"{xs}enumeration", f"{xs}pattern"))
    return ()
