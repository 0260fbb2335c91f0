"""NSESSS SIPs made from the ERMS packages archa keeps, for the disposal procedure.

An AIP made by `archa transfer nsesss` holds the package byte for byte under
`representations/original/data/<name>/` (mets.xml and komponenty/). From it archa makes:

- a metadata-only SIP for the archive's review (profile `skartace-metadata`): the stored
  mets.xml with LABEL `Datový balíček pro provedení skartačního řízení`, a new OBJID and
  LASTMODDATE; its fileSec keeps naming the components, which are not sent;
- a full SIP (profile `prejimka`, or `skartace-uplny` when the archive asks to see the
  package first): mets.xml and every component, read from a copy that verifies, byte for
  byte; for a transfer, mets.xml records the disposal procedure's outcome in every base
  entity's `Vyrazovani` (`DataceVyrazeni` where it was missing, `SkartacniRizeni`: the
  decision's date, `trvalé uložení`, the quantity of analogue records, the assessor).

Every SIP is checked with the national rule set under its profile before it is written;
one that does not pass stops the step with every finding. The rule set is the transfer's
(archa/transfer/nsesss/), above this room: the caller passes its checker in (`SipCheck`;
archa/cli/disposal.py passes `archa.transfer.nsesss.check.sip_errors`).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from lxml import etree

from archa.access.fetch import Wanted, fetch
from archa.access.sinks import DirSink, EntryWriter
from archa.errors import ArchaError, StorageError
from archa.metadata.nsesss import LABEL_REVIEW, LABEL_TRANSFER, METS, NSESSS
from archa.metadata.xmlsafe import parse_untrusted
from archa.repository.events import now_iso
from archa.repository.repo import Repository

PACKAGE = re.compile(r"^representations/original/data/([^/]+)/mets\.xml$")
SIP_NAME = re.compile(r"[^A-Za-z0-9_-]+")


class SipInvalid(ArchaError):
    """A SIP archa made does not pass the national rule set; `findings` says why."""

    exit_code = 1

    def __init__(self, message: str, findings: list[str], hint: str = "") -> None:
        super().__init__(message + ": " + "; ".join(findings[:20]), hint=hint)
        self.findings = findings


class SipCheck(Protocol):
    """The national rule set run on a SIP archa made: the error lines ("RULE where: message")
    of the SIP in `folder` under `profile` as of `as_of`, none when it passes
    (archa.transfer.nsesss.check.sip_errors)."""

    def __call__(self, folder: Path, profile: str, as_of: date) -> list[str]: ...


@dataclass(frozen=True)
class Assessor:
    """Who assessed the records (NSESSS `Posuzovatel`, an internal subject)."""

    name: str
    login: str
    unit: str = "spisovna"
    position: str = "správce spisovny"


@dataclass
class StoredPackage:
    name: str
    mets: dict[str, Any]  # the catalog row of mets.xml
    components: list[dict[str, Any]]


def stored_package(repo: Repository, aip_id: str, version: str) -> StoredPackage | None:
    """The ERMS package an AIP version holds, or None for an AIP that is no NSESSS transfer."""
    files = repo.catalog.files(aip_id, version)
    for r in files:
        m = PACKAGE.match(r["logical_path"])
        if m and r["role"] == "payload":
            prefix = f"representations/original/data/{m.group(1)}/komponenty/"
            return StoredPackage(m.group(1), r, [f for f in files if f["logical_path"].startswith(prefix)])
    return None


def sip_name(entity_id: str, taken: set[str]) -> str:
    """A package name the rule set accepts (`[A-Za-z0-9_-]{1,64}`), unique among `taken`."""
    base = SIP_NAME.sub("_", entity_id).strip("_")[:56] or "SIP"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


class _Into:
    """A fetch receiver writing a package's files into a folder, by their path in it."""

    def __init__(self, root: Path, strip: str, alg: str) -> None:
        self.sink = DirSink(root, alg)
        self.strip = strip
        self.lock = threading.Lock()

    def begin(self, w: Wanted) -> EntryWriter:
        return self.sink.begin(w.logical_path.removeprefix(self.strip))

    def accept(self, w: Wanted, writer: EntryWriter, location: str) -> None:
        self.sink.commit(writer)

    def reject(self, w: Wanted, writer: EntryWriter) -> None:
        self.sink.rollback(writer)


def fetch_package(repo: Repository, aip_id: str, version: str, pkg: StoredPackage, into: Path,
                  components: bool) -> None:
    """Write the stored package's mets.xml (and components) into the folder `into`, every
    file verified against the catalog on its way (from the cheapest copy holding it intact).
    StorageError names the files no copy holds intact."""
    alg = next(v["digest_algorithm"] for v in repo.catalog.versions(aip_id) if v["version"] == version)
    rows = [pkg.mets, *(pkg.components if components else [])]
    receiver = _Into(into, f"representations/original/data/{pkg.name}/", alg)
    report = fetch(repo, aip_id, alg, [Wanted(r["logical_path"], r["content_path"], r["digest"], r["size"])
                                       for r in rows], receiver)  # type: ignore[arg-type]
    if report.failed:
        raise StorageError(f"{aip_id}: no copy holds these files intact: "
                           + ", ".join(w.logical_path for w in report.failed[:10]),
                           hint="audit the copies and repair what can be repaired, then run this again")


def _serialise(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def review_mets(data: bytes, name: str) -> bytes:
    """The metadata-only SIP's mets.xml for a disposal review."""
    root = parse_untrusted(data)
    root.set("LABEL", LABEL_REVIEW)
    root.set("OBJID", name)
    hdr = root.find(f"{{{METS}}}metsHdr")
    if hdr is not None:
        hdr.set("LASTMODDATE", now_iso()[:19])
    return _serialise(root)


def transfer_mets(data: bytes, name: str, *, decided: date, retention: dict[str, dict[str, Any]],
                  originator: dict[str, Any], assessor: Assessor, appraise: bool = False) -> bytes:
    """The full SIP's mets.xml: a transfer recording the disposal procedure (or, with
    `appraise`, a review package with components, recording nothing)."""
    from archa.identifiers import ico_valid

    root = parse_untrusted(data)
    root.set("OBJID", name)
    hdr = root.find(f"{{{METS}}}metsHdr")
    if hdr is not None:
        hdr.set("LASTMODDATE", now_iso()[:19])
    root.set("LABEL", LABEL_REVIEW if appraise else LABEL_TRANSFER)
    if appraise:
        return _serialise(root)
    ns = next(n for n in NSESSS.values() if root.find(f".//{{{n}}}EvidencniUdaje") is not None)

    def el(tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        e = etree.Element(f"{{{ns}}}{tag}", attrs)
        e.text = text
        return e

    def subject() -> etree._Element:
        s = el("Subjekt")
        ico = originator.get("ico") or ""
        s.append(el("IdentifikatorOrganizace", ico if ico_valid(ico) else originator["id"],
                    zdroj="IČO" if ico_valid(ico) else "archa"))
        s.append(el("NazevOrganizace", originator["name"]))
        s.append(el("IdentifikatorFyzickeOsoby", assessor.login, zdroj="archa"))
        for tag, value in (("NazevFyzickeOsoby", assessor.name), ("OrganizacniUtvar", assessor.unit),
                           ("PracovniPozice", assessor.position),
                           ("SidloOrganizace", originator.get("seat") or "neuvedeno")):
            s.append(el(tag, value))
        return s

    data_el = root.find(f"{{{METS}}}dmdSec/{{{METS}}}mdWrap/{{{METS}}}xmlData")
    for base in (data_el if data_el is not None else []):
        if not isinstance(base.tag, str) or etree.QName(base).localname not in ("Dokument", "Spis", "Dil"):
            continue
        eu = base.find(f"{{{ns}}}EvidencniUdaje")
        vyr = eu.find(f"{{{ns}}}Vyrazovani") if eu is not None else None
        if vyr is None:
            continue
        label = f"{etree.QName(base).localname} {base.get('ID', '')}"
        ret = retention.get(label, {})
        for old in vyr.findall(f"{{{ns}}}SkartacniRizeni"):
            vyr.remove(old)
        if vyr.find(f"{{{ns}}}DataceVyrazeni") is None and ret.get("trigger_year") and ret.get("until_year"):
            datace = el("DataceVyrazeni")
            datace.append(el("RokSpousteciUdalosti", str(ret["trigger_year"])))
            datace.append(el("RokSkartacniOperace", str(ret["until_year"])))
            vyr.append(datace)
        rizeni = el("SkartacniRizeni")
        rizeni.append(el("Datum", decided.isoformat(), datum=f"{decided.isoformat()}T00:00:00"))
        analog = [d for d in base.iter(f"{{{ns}}}AnalogovyDokument") if (d.text or "").strip() == "ano"]
        if analog:
            rizeni.append(el("Mnozstvi", f"{len(analog)} entit(y) v analogové podobě"))
        rizeni.append(el("SkartacniOperace", "trvalé uložení"))
        posuzovatel = el("Posuzovatel")
        posuzovatel.append(subject())
        rizeni.append(posuzovatel)
        vyr.append(rizeni)
    return _serialise(root)


def check_sip(folder: Path, profile: str, as_of: date, check: SipCheck) -> None:
    """SipInvalid unless the SIP passes the national rule set (`check`) under `profile`."""
    errors = check(folder, profile, as_of)
    if errors:
        raise SipInvalid(f"{folder.name}: the {profile} SIP archa made does not pass the national rule set",
                         errors, hint="the stored package itself breaks these rules: see `archa check nsesss` on it")
