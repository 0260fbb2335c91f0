"""The national rule set for checking NSESSS SIPs, as data: every rule's code, level, the
generations (v3 = NSESSS 2017, v4 = NSESSS 2024) and profiles it applies to, its source in
the standard, and what it requires, in our words.

The rule texts are published by the Czech validator project (validatorzaf/zaf,
`doc/src/main/asciidoc/NSESSS2024/pravidla.adoc` for v4, `k01`…`k07` for v3, rules set v6
of 23 January 2024). Each rule's check is a function of the same name in the module of its
level, so a rule is found by its code: `dat.py`, `kod.py`, `wf.py`, `ns.py`, `val.py`, the
content level in four parts (`obs_mets.py` obs1-obs56, `obs_records.py` obs57-obs92,
`obs_filing.py` obs93-obs98, `obs_components.py` obs98a-obs111), `kom.py`. The antivirus rule `vir1`
is not implemented (archa runs no virus scanner; scan drop folders before transfer).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import cache


class Profile(enum.StrEnum):
    """What a package is checked for."""

    METADATA = "skartace-metadata"  # disposal review, metadata only (no components)
    FULL = "skartace-uplny"  # disposal review with components
    TRANSFER = "prejimka"  # transfer to the archive


LEVELS = {1: "data structure", 2: "character set", 3: "XML well-formedness", 4: "namespaces",
          5: "schema", 6: "content", 7: "components"}
PREFIX_LEVEL = {"dat": 1, "kod": 2, "wf": 3, "ns": 4, "val": 5, "obs": 6, "kom": 7}
_PROFILES = {"M": Profile.METADATA, "U": Profile.FULL, "P": Profile.TRANSFER}


@dataclass(frozen=True)
class Rule:
    code: str
    level: int
    versions: frozenset[int]
    profiles: frozenset[Profile]
    source: str
    text: str  # what the rule requires
    # True for rules that ask whether the disposal is due (or done): a records centre takes
    # records in long before that, so at intake they are reported as warnings
    disposal_time: bool = False


# code, generations, profiles (M/U/P), source, requirement. A code listed twice differs
# between the generations (the first entry that names the generation wins).
_TABLE: list[tuple[str, str, str, str, str]] = [
    ("dat1", "34", "MUP", "NSESSS 9.2.11 (v3: 11.2.9, 11.2.1)", "The package is a ZIP file or a folder."),
    ("dat1a", "4", "MUP", "NSESSS 9.2.12",
     "The package name (ZIP or folder) uses only A-Z, a-z, 0-9, '_' and '-', at most 64 characters."),
    ("dat2", "34", "MUP", "NSESSS 9.2.11 (v3: 11.2.9)",
     "A ZIP holds exactly one folder, named like the ZIP file."),
    ("dat3", "34", "MUP", "NSESSS 9.2.5, 9.2.6, 9.2.10 (v3: 11.2.2, 11.2.3, 11.2.8)",
     "The package folder holds exactly one file mets.xml, or mets.xml and a folder komponenty, nothing else."),
    ("kod1", "34", "MUP", "NSESSS 9.2.9 (v3: 11.2.7)", "mets.xml is Unicode in UTF-8 without a byte-order mark."),
    ("wf1", "34", "MUP", "NSESSS 9.2.5 (v3: 11.2.2)", "mets.xml is well-formed XML."),
    ("ns1", "34", "MUP", "NSESSS annex 2, 1.1 (v3: annex 3, 2.1)", "mets.xml has exactly one root element mets:mets."),
    ("ns2", "34", "MUP", "NSESSS annex 2, 1.1 (v3: annex 3, 2.1)",
     "mets:mets carries xsi:schemaLocation with the standard's schema locations."),
    ("val1", "4", "MUP", "NSESSS 9.2.8; annex 2, 1.1",
     "mets.xml is valid against mets.xsd 1.12, nsesss.xsd (v4) and nsesss-TrP.xsd."),
    ("val1", "3", "MUP", "NSESSS 11.2.5; annex 3, 2.1",
     "mets.xml is valid against mets.xsd 1.11, nsesss.xsd (v3) and the transaction-log schemas."),
    ("obs1", "34", "MUP", "annex 2, 1.1", "mets:mets has a non-empty OBJID."),
    ("obs2", "34", "MU", "NSESSS 9.2.1; annex 2, 1.1",
     ("mets:mets LABEL is 'Datový balíček pro provedení skartačního řízení' or 'Datový balíček pro "
     "předávání dokumentů a jejich metadat do archivu'.")),
    ("obs3", "34", "P", "annex 2, 1.1",
     "mets:mets LABEL is 'Datový balíček pro předávání dokumentů a jejich metadat do archivu'."),
    ("obs4", "3", "MUP", "annex 3, 2.1", "mets:mets declares xmlns:xsi as http://www.w3.org/2001/XMLSchema-instance."),
    ("obs9", "3", "MUP", "annex 3, 2.1", "mets:mets declares xmlns:xlink as http://www.w3.org/1999/xlink."),
    ("obs10", "34", "MUP", "annex 2, 1.2", "mets:mets has one mets:metsHdr."),
    ("obs11", "34", "MUP", "annex 2, 1.6", "mets:mets has exactly one mets:dmdSec."),
    ("obs12", "34", "MUP", "annex 2, 1.9", "mets:mets has at least one mets:amdSec."),
    ("obs13", "34", "MUP", "annex 2, 1.17", "mets:mets has exactly one mets:structMap."),
    ("obs14", "34", "MUP", "annex 2, 1.2", "The (first) mets:metsHdr has the attribute LASTMODDATE."),
    ("obs15", "34", "MUP", "annex 2, 1.2", "The (first) mets:metsHdr has the attribute CREATEDATE."),
    ("obs16", "34", "MUP", "annex 2, 1.3", "There is a mets:agent, and exactly one has TYPE ORGANIZATION."),
    ("obs17", "34", "MUP", "annex 2, 1.3", "There is a mets:agent, and at least one has TYPE INDIVIDUAL."),
    ("obs18", "34", "MUP", "annex 2, 1.3", "There is a mets:agent, and every one has ROLE CREATOR."),
    ("obs19", "34", "MUP", "annex 2, 1.3", "There is a mets:agent, and every one has the attribute ID."),
    ("obs20", "34", "MUP", "annex 2, 1.4",
     "Every mets:agent has exactly one mets:name, and the agent's text is not blank."),
    ("obs22", "34", "MUP", "annex 2, 1.7", "The (first) mets:dmdSec has exactly one mets:mdWrap."),
    ("obs23", "4", "MUP", "annex 2, 1.7", "The dmdSec's mdWrap has MDTYPEVERSION 4.0."),
    ("obs23", "3", "MUP", "annex 3, 2.7", "The dmdSec's mdWrap has MDTYPEVERSION 3.0."),
    ("obs24", "34", "MUP", "annex 2, 1.7", "The dmdSec's mdWrap has OTHERMDTYPE NSESSS."),
    ("obs25", "34", "MUP", "annex 2, 1.7", "The dmdSec's mdWrap has MDTYPE OTHER."),
    ("obs26", "34", "MUP", "annex 2, 1.7", "The dmdSec's mdWrap has MIMETYPE text/xml."),
    ("obs27", "34", "MUP", "annex 2, 1.8", "The dmdSec's mdWrap has exactly one mets:xmlData."),
    ("obs28", "4", "MUP", "decree 259/2012 § 12(1); annex 2, 1.8",
     ("Without fixed cross-references, xmlData holds exactly one nsesss:Dil or nsesss:Spis, or exactly one "
     "nsesss:Dokument settled by 31 December 2026.")),
    ("obs28", "3", "MUP", "annex 3, 2.7", ("Without fixed cross-references, xmlData holds exactly one nsesss:Dil, "
     "nsesss:Dokument or nsesss:Spis.")),
    ("obs29", "4", "MUP", "NSESSS 4.1.2-4.1.4; annex 2, 1.8",
     ("Every fixed cross-reference (KrizovyOdkaz pevny='ano') sits in EvidencniUdaje/Souvislosti, names another "
     "entity than its own, and exactly one base entity (Dil, Dokument or Spis) in xmlData has the Identifikator "
     "and zdroj it names.")),
    ("obs29", "3", "MUP", "annex 3, 2.7",
     ("Every fixed cross-reference (KrizovyOdkaz pevny='ano') sits in EvidencniUdaje/Souvislosti, names another "
     "entity than its own, and exactly one base entity (Dil, Dokument or Spis) in xmlData has the Identifikator "
     "and zdroj it names.")),
    ("obs30", "34", "MUP", "annex 2, 1.9", "There is a mets:amdSec, and every one has the attribute ID."),
    ("obs31", "34", "MUP", "annex 2, 1.10",
     "There is a mets:amdSec, and every one has exactly one mets:digiprovMD."),
    ("obs33", "34", "MUP", "annex 2, 1.11",
     "There is a mets:digiprovMD, and every one has exactly one mets:mdWrap."),
    ("obs34", "4", "MUP", "annex 2, 1.11", "Every digiprovMD mdWrap has MDTYPEVERSION 4.0."),
    ("obs34", "3", "MUP", "annex 3, 2.11", "Every digiprovMD mdWrap has MDTYPEVERSION 1.0."),
    ("obs35", "34", "MUP", "annex 2, 1.11", "Every digiprovMD mdWrap has OTHERMDTYPE TP."),
    ("obs36", "34", "MUP", "annex 2, 1.11", "Every digiprovMD mdWrap has MDTYPE OTHER."),
    ("obs37", "34", "MUP", "annex 2, 1.11", "Every digiprovMD mdWrap has MIMETYPE text/xml."),
    ("obs38", "34", "MUP", "annex 2, 1.12", "Every digiprovMD mdWrap has exactly one mets:xmlData."),
    ("obs39", "34", "MUP", "annex 2, 1.12", "Every digiprovMD xmlData has exactly one tp:TransakcniLogObjektu."),
    ("obs40", "34", "UP", "annex 2, 1.13",
     "A package with a document in digital form (AnalogovyDokument 'ne') has exactly one mets:fileSec."),
    ("obs41", "34", "MUP", "annex 2, 1.15",
     ("Every mets:file has a MIMETYPE 'type/subtype' whose type is application, audio, example, font, image, "
     "message, model, multipart, text or video, and whose subtype is not empty.")),
    ("obs43a", "34", "MUP", "annex 2, 1.14", "A mets:fileSec has exactly one mets:fileGrp."),
    ("obs44", "34", "MUP", "annex 2, 1.15",
     ("Where there is a mets:file: as many mets:file as nsesss:Komponenta, every file's DMDID the ID of a "
     "component, one file for one component.")),
    ("obs46", "34", "MUP", "annex 2, 1.15", "Every mets:file has CHECKSUMTYPE SHA-256 or SHA-512."),
    ("obs49", "34", "MUP", "annex 2, 1.15", "Every mets:file has CREATED."),
    ("obs50", "34", "MUP", "annex 2, 1.16", "Every mets:file holds exactly one element, a mets:FLocat."),
    ("obs51", "34", "MUP", "annex 2, 1.16", "Every mets:FLocat has xlink:type 'simple'."),
    ("obs52", "4", "UP", "annex 2, 1.16",
     ("Where there is a mets:FLocat: every xlink:href (without backslashes) is the relative path of a file in "
     "komponenty/, as written, and every file in komponenty/ is named by one.")),
    ("obs52", "3", "UP", "annex 3, 2.16",
     ("Where there is a mets:FLocat: every xlink:href starts with 'komponenty' and names a file of the package, "
     "and every entry directly in komponenty/ has the name of one.")),
    ("obs53", "34", "MUP", "annex 2, 1.16", "Every mets:FLocat has LOCTYPE URL."),
    ("obs54", "34", "MUP", "annex 2, 1.17, 1.18; NA information sheet 20/2018",
     ("The structMap mirrors the entities from the filing plan down to the components: every entity (by "
     "Identifikator and zdroj) has exactly one mets:div with its TYPE, DMDID (the ID of a description of it) and "
     "ADMID (an amdSec whose transaction log names it), sitting in the div of the parent every description of it "
     "names; it is described once in dmdSec (documents and components) or more (entities above them, shared by "
     "several base entities), and logged by an amdSec (by only one when described once).")),
    ("obs55", "34", "UP", "annex 2, 1.19", "Every mets:div of TYPE komponenta has exactly one mets:fptr."),
    ("obs56", "34", "MUP", "annex 2, 1.19",
     ("Where there is a mets:fptr: every fptr has a FILEID, and the ID of every mets:file is the FILEID of some "
     "fptr.")),
    ("obs57", "34", "MUP", "annex 2, nsesss-common.xsd", "Every nsesss:Identifikator has a value."),
    ("obs58", "34", "MUP", "annex 2, nsesss-common.xsd", "Every nsesss:Identifikator has a non-empty zdroj."),
    ("obs59", "34", "MUP", "annex 2, nsesss-common.xsd",
     ("No two entities, components, security categories, retention schedules or document kinds (v4 DruhDokumentu, "
     "v3 TypDokumentu) share an Identifikator and zdroj while differing in anything but their ID.")),
    ("obs59a", "4", "MUP", "annex 2, nsesss-common.xsd",
     ("Every document and file settled or closed after 31 July 2012 has Evidence/EvidencniCislo (a document "
     "outside the records, EvidencniUdaje/Neevidence, is exempt).")),
    ("obs60", "34", "MUP", "annex 2, nsesss-common.xsd",
     "A document in digital form (AnalogovyDokument 'ne') has nsesss:Komponenty."),
    ("obs61", "34", "MUP", "annex 2, nsesss-common.xsd",
     "A received analogue document gives DorucenyDokument/DoruceneMnozstvi."),
    ("obs61a", "34", "MUP", "annex 2, nsesss-common.xsd",
     "An own analogue document gives VlastniDokument/VytvoreneMnozstvi."),
    ("obs62", "34", "MUP", "annex 2, nsesss-common.xsd",
     "Every nsesss:Jazyk is an ISO 639-2 code in its bibliographic form (e.g. 'cze')."),
    ("obs63", "34", "MUP", "annex 2, nsesss-common.xsd",
     "Settling 'jiný způsob' (another way) gives a non-empty Oduvodneni beside Zpusob."),
    ("obs63a", "4", "MUP", "annex 2, nsesss-common.xsd",
     "A base document was settled (Vyrizeni/Datum) in a year before the current one."),
    ("obs63b", "4", "MUP", "annex 2, nsesss-common.xsd",
     "A base file was settled and closed (VyrizeniUzavreni/Datum) in a year before the current one."),
    ("obs63c", "4", "MUP", "annex 2, nsesss-common.xsd",
     "A base part was closed (Uzavreni/Datum) in a year before the current one."),
    ("obs64", "4", "MUP", "decree 259/2012 § 15(3)",
     ("For a base document, RokSpousteciUdalosti + 1 + SkartacniLhuta (or RokVyrazeni) is not after the "
     "current year; RokSpousteciUdalosti is given.")),
    ("obs64", "3", "MUP", "decree 259/2012 § 15(4)",
     "For a base document, RokSpousteciUdalosti + 1 + SkartacniLhuta is not after the current year."),
    ("obs65", "4", "MUP", "decree 259/2012 § 15(3)",
     ("For every base entity, RokSpousteciUdalosti + 1 + SkartacniLhuta (or RokVyrazeni) is not after the "
     "current year, and for every file in a base part and every document directly in the base entity or such a "
     "file, the year it was created or received + 1 + its SkartacniLhuta (or RokVyrazeni) is not either.")),
    ("obs65", "3", "MUP", "decree 259/2012 § 15(5)",
     ("For a base part or file, RokSpousteciUdalosti + 1 + SkartacniLhuta is not after the current year, and for "
     "every document in the package the year it was created or received + 1 + its SkartacniLhuta is not either.")),
    ("obs66", "4", "MUP", "decree 259/2012 § 15(2); NSESSS 6.1.5",
     ("A part, file or document settled or closed after 31 December 2026 has the sign A or S, not V; one with a "
     "sign other than A or S gives its settling date.")),
    ("obs67", "4", "MUP", "NSESSS 6.1.8",
     ("No file in a base part, and no document in a base part or file or in such a file, has a higher sign "
     "(A > V > S) than the entity holding it.")),
    ("obs67", "3", "MUP", "decree 259/2012 § 15(5)",
     "A base part or file has the highest sign (A > V > S) of the documents directly in it."),
    ("obs68", "34", "MUP", "decree 259/2012 § 15(1)",
     ("The subject group (VecnaSkupina) a base file or base document is filed in has "
     "Vyrazovani/SkartacniRezim.")),
    ("obs69", "34", "MUP", "annex 2, nsesss-common.xsd", "A base document has Vyrizeni."),
    ("obs70", "34", "MUP", "annex 2, nsesss-common.xsd",
     "nsesss:Identifikator repeats only in a component's EvidencniUdaje/Identifikace."),
    ("obs71", "34", "MUP", "-", "Manipulace/DatumOtevreni is not after Manipulace/DatumUzavreni."),
    ("obs72", "34", "MUP", "decree 259/2012 § 4(7)(b)", "Every nsesss:CasPouziti has the attribute datum."),
    ("obs73", "34", "MUP", "decree 259/2012 § 4(7)(g)", "Every nsesss:CasOvereni has the attribute datum."),
    ("obs74", "34", "MUP", "decree 259/2012 § 4(7)(f)", "Every nsesss:PosuzovanyOkamzik has the attribute datum."),
    ("obs75", "34", "MUP", "-", "Platnost/PlatnostOd is not after Platnost/PlatnostDo."),
    ("obs76", "34", "MUP", "annex 2, nsesss-common.xsd",
     ("A base part or file holding an analogue document says AnalogovyDokument 'ano', and so do the subject "
     "groups an analogue base document is filed in.")),
    ("obs77", "34", "P", "annex 2, nsesss-common.xsd",
     "An analogue base entity gives Vyrazovani/SkartacniRizeni/Mnozstvi."),
    ("obs78", "34", "P", "annex 2, nsesss-common.xsd",
     "The disposal procedure (SkartacniRizeni) is recorded in the base entity's Vyrazovani, and only there."),
    ("obs79", "34", "P", "-",
     ("A disposal procedure is recorded, and the year of SkartacniRizeni/Datum is not before the entity's "
     "DataceVyrazeni/RokSkartacniOperace.")),
    ("obs80", "34", "P", "decree 259/2012 § 20(1)",
     "A disposal procedure is recorded, and no SkartacniRizeni/Datum lies in a year still to come."),
    ("obs81", "34", "MUP", "-", "In UrceneCasoveObdobi, DatumDo is after DatumOd."),
    ("obs82", "34", "MUP", "-", "In UrceneCasoveObdobi, MesicDo is after MesicOd."),
    ("obs83", "34", "MUP", "-", "In UrceneCasoveObdobi, RokDo is after RokOd."),
    ("obs84", "34", "MUP", "annex 2, nsesss-common.xsd",
     "Vyrizeni by 'jiný způsob' gives a non-empty ObsahVyrizeni."),
    ("obs85", "34", "MUP", "annex 2, nsesss-common.xsd",
     "An analogue document gives Manipulace/UkladaciJednotka."),
    ("obs85a", "4", "MUP", "decree 259/2012 § 12(6)(i); NSESSS 3.3.20, 5.2.6, 7.3.4",
     "An analogue part or file gives Manipulace/Umisteni."),
    ("obs86", "4", "MUP", "annex 2, nsesss-common.xsd",
     "MaterskeEntity appears only in the Trideni of a base document."),
    ("obs86", "3", "MUP", "annex 2", "A base document has Trideni/MaterskeEntity."),
    ("obs87", "34", "MUP", "annex 2, nsesss-common.xsd",
     "Vyrizeni gives DatumOdeslani and Prijemce together or neither."),
    ("obs88", "34", "MUP", "annex 2, nsesss-common.xsd",
     "An analogue document sent out (Vyrizeni/DatumOdeslani) gives Vyrizeni/OdeslaneMnozstvi."),
    ("obs90", "4", "MUP", "NSESSS 3.1.2",
     "A type file's subject group has UrcenoProTypoveSpisy 'ano', and such a group holds only type files."),
    ("obs92", "34", "MUP", "-", ("An nsesss:Identifikator whose zdroj is IČ or IČO is an eight-digit company number "
     "with a correct check digit.")),
    ("obs93", "34", "MUP", "annex 2, nsesss-common.xsd", "Every nsesss:Nazev has a value other than whitespace."),
    ("obs93a", "4", "MUP", "annex 2, nsesss-common.xsd",
     "Every part, file, document, subject group, component part and type file has a non-blank JednoduchySpisovyZnak."),
    ("obs93a", "3", "MUP", "NSESSS 3.1.30",
     "A subject group directly under the filing plan has JednoduchySpisovyZnak equal to PlneUrcenySpisovyZnak."),
    ("obs93b", "4", "MUP", "NSESSS 3.1.12",
     "A subject group directly under the filing plan has JednoduchySpisovyZnak equal to PlneUrcenySpisovyZnak."),
    ("obs94", "34", "MUP", "NSESSS 3.1.12 (v3: 3.1.30)",
     ("Every PlneUrcenySpisovyZnak in a Trideni (of an entity or a component) ends with the JednoduchySpisovyZnak "
     "beside it.")),
    ("obs95", "34", "MUP", "NSESSS 3.1.12 (v3: 3.1.30)",
     ("A subject group, component part or type file under a mother entity has a PlneUrcenySpisovyZnak that starts "
     "with the mother's and ends with its own JednoduchySpisovyZnak; right under the filing plan, one with no "
     "separator (space, -, _, \\, /, .) but as the last character.")),
    ("obs96", "34", "MUP", "decree 259/2012 § 12(3), (4) (v3: § 14(4))",
     ("A base file or document has the filing codes of the nearest subject group it is filed in; a base part those "
     "of its component part, whose type file has those of the last subject group below the part.")),
    ("obs97", "34", "MUP", "NSESSS 4.1.4, 4.1.5 (v3: 3.1.34)",
     "Several base entities all have the same JednoduchySpisovyZnak and PlneUrcenySpisovyZnak."),
    ("obs98", "4", "MUP", "decree 259/2012 § 12(3), (4)",
     ("A base part or file has the same JednoduchySpisovyZnak and PlneUrcenySpisovyZnak as every file and "
     "document in it.")),
    ("obs98", "3", "MUP", "decree 259/2012 § 14(4)",
     ("A base part or file has the same JednoduchySpisovyZnak and PlneUrcenySpisovyZnak as every document in the "
     "package.")),
    ("obs98a", "4", "MUP", "annex 2, nsesss-common.xsd; NA information sheet 15/2019",
     "A component kept as a digitised copy ('digitalizát') belongs to an analogue document."),
    ("obs100", "34", "MUP", "NA information sheet 3/2020",
     "The poradi values in one Komponenty, as a set, are 1, 2, 3, … without a gap (repeats allowed, any order)."),
    ("obs101", "34", "MUP", "NA information sheet 3/2020", "Components with the same poradi have the same druh."),
    ("obs102", "34", "MUP", "NA information sheet 3/2020",
     "Components with the same poradi have unrepeated versions (verze) that, as a set, are 1, 2, 3, … without a gap."),
    ("obs103", "34", "MUP", "NA information sheet 3/2020",
     "In a digital document, each component number (poradi) has exactly one component kept as 'originál'."),
    ("obs104", "34", "MUP", "NA information sheet 3/2020",
     ("In a digital document, a component number with no output-format original has one 'originál', with the "
     "highest version.")),
    ("obs105", "34", "MUP", "decree 259/2012 § 23(2); NA information sheet 3/2020",
     ("In a digital document, an original in a word-processing format (DOC, DOCX, RTF, ODT, Pages) has an "
     "'originál ve výstupním datovém formátu' beside it (not checked in a base entity settled by 31 July 2012 "
     "or without that date).")),
    ("obs106", "34", "MUP", "NA information sheet 3/2020",
     "A component number with an output-format original has no version higher than its latest output-format one."),
    ("obs107", "34", "MUP", "decree 259/2012 § 23(2); NA information sheet 3/2020",
     ("Where the highest version of a component is an output-format original, it is in an output format (PDF, PNG, "
     "TIFF, JPEG, MPEG, GIF, MP3, WAV, XML) (not checked in a base entity settled by 31 July 2012 or without that "
     "date).")),
    ("obs108", "34", "MUP", "-",
     "Inside the base entities, an element with the attribute datum holds exactly the date (YYYY-MM-DD) of it."),
    ("obs109", "4", "MUP", "NSESSS 2.4.3", "A component whose file is a ZIP or ASiC container is kept as 'kontejner'."),
    ("obs110", "4", "UP", "NSESSS 2.4.1",
     "A component kept as 'kontejner' is a ZIP, ASiC, 602 form, e-mail message, ISDOCX or PDF file."),
    ("obs111", "4", "MUP", "NSESSS 2.4.3; annex 2, nsesss-common.xsd",
     "A container component has at least one component beside it that is not a container."),
    ("kom1", "34", "UP", "annex 2, 1.15", "Every mets:file SIZE is the size of its component in bytes."),
    ("kom2", "34", "UP", "annex 2, 1.15",
     "Every mets:file has CHECKSUMTYPE SHA-256 or SHA-512 and CHECKSUM its component's checksum by it."),
    ("kom3", "34", "UP", "annex 2, 1.15",
     "Every mets:file MIMETYPE is the media type Siegfried (PRONOM) gives for its component."),
    ("kom4", "34", "UP", "decree 259/2012 § 23(2); NA information sheet 3/2020",
     ("A PDF kept as the latest original or output-format original of a digital document is PDF/A (not checked in "
     "a base entity settled by 31 July 2012 or without that date).")),
]

# rules that judge whether the disposal is due, or record that it took place
DISPOSAL_TIME = frozenset({"obs64", "obs65", "obs77", "obs78", "obs79", "obs80"})


@cache
def rules_for(version: int) -> dict[str, Rule]:
    """Every rule of generation `version` (3 or 4), by code, in the order they are checked."""
    out: dict[str, Rule] = {}
    for code, versions, profiles, source, text in _TABLE:
        if str(version) in versions and code not in out:
            prefix = re.match(r"[a-z]+", code).group()  # type: ignore[union-attr]
            out[code] = Rule(code, PREFIX_LEVEL[prefix], frozenset(int(v) for v in versions),
                             frozenset(_PROFILES[p] for p in profiles), source, text, code in DISPOSAL_TIME)
    return out


def rule(version: int, code: str) -> Rule:
    return rules_for(version)[code]
