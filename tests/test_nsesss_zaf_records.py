"""The record rules obs57-obs92 decide as the national validator zaf's code decides: which
elements each walks, its exemptions, its date and year arithmetic (the current year is the
`as_of` year, boundaries inclusive or not as zaf has them), and the values it cannot read.
Every package here is a real export's shape built by `tests.nsesss_maker`, changed by one
mutation; each test names the rule code that must (or must not) fail."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from archa.transfer.nsesss.check import CheckOptions, CheckResult, check_package
from archa.transfer.nsesss.obs_records import commons_date, ico_valid, ico_valid_v3, java_int, sdf_date
from archa.transfer.nsesss.rules import Profile, rules_for
from tests import nsesss_maker as mk
from tests.nsesss_maker import Doc, Package

AS_OF = date(2026, 11, 30)
Mutation = Callable[[etree._Element, int], object]

SPIS = "//n:Spis[@ID='spis-1']/n:EvidencniUdaje"
DOK1 = "//n:Dokument[@ID='dok-1']/n:EvidencniUdaje"
DOK2 = "//n:Dokument[@ID='dok-2']/n:EvidencniUdaje"
VS2 = "//n:VecnaSkupina[@ID='vs-2']/n:EvidencniUdaje"
RIZENI = f"{SPIS}/n:Vyrazovani/n:SkartacniRizeni"


def ns(v: int) -> dict[str, str]:
    return {"m": mk.METS_NS, "n": mk.NS[v]}


def E(v: int, tag: str, text: str | None = None, *children: etree._Element) -> etree._Element:
    el = etree.Element(f"{{{mk.NS[v]}}}{tag}")
    el.text = text
    el.extend(children)
    return el


def at(path: str, fn: Callable[[etree._Element, int], object]) -> Mutation:
    def mutate(root: etree._Element, v: int) -> None:
        found = root.xpath(path, namespaces=ns(v))
        assert found, f"the mutation finds nothing at {path}"
        for el in found:
            fn(el, v)
    return mutate


def text(path: str, value: str) -> Mutation:
    return at(path, lambda el, v: setattr(el, "text", value))


def remove(path: str) -> Mutation:
    return at(path, lambda el, v: el.getparent().remove(el))


def both(*mutations: Mutation) -> Mutation:
    def mutate(root: etree._Element, v: int) -> None:
        for m in mutations:
            m(root, v)
    return mutate


class Checker:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.n = itertools.count()

    def run(self, pkg: Package, mutate: Mutation | None = None, *, profile: Profile = Profile.TRANSFER,
            as_of: date = AS_OF, intake: bool = False) -> CheckResult:
        folder = mk.write_package(self.tmp / str(next(self.n)), pkg,
                                  mutate=(lambda root: mutate(root, pkg.version)) if mutate else None)
        result = check_package(folder, CheckOptions(profile, as_of, intake))
        assert 6 in result.levels_run, [f.as_dict() for f in result.findings]  # the content level was reached
        assert not any("could not be evaluated" in f.message for f in result.findings), result.findings
        return result

    def errors(self, pkg: Package, mutate: Mutation | None = None, **kw: object) -> set[str]:
        result = self.run(pkg, mutate, **kw)  # type: ignore[arg-type]
        return {f.rule for f in result.findings if f.is_error}


@pytest.fixture
def chk(tmp_path: Path) -> Checker:
    return Checker(tmp_path)


MINE = {c for v in (3, 4) for c in rules_for(v) if c.startswith("obs") and
        57 <= int("".join(ch for ch in c[3:] if ch.isdigit())) <= 92}


@pytest.mark.parametrize("version", [4, 3])
@pytest.mark.parametrize("shape", ["file", "document", "part", "linked"])
def test_the_valid_shapes_pass_every_record_rule(chk: Checker, version: int, shape: str) -> None:
    pkg = {"file": Package(version=version), "document": mk.document_package(version),
           "part": mk.part_package(version), "linked": mk.linked_package(version)}[shape]
    for profile in Profile:
        assert not chk.errors(pkg, profile=profile) & MINE


# --- the readers ---------------------------------------------------------------------------------

def test_dates_and_numbers_are_read_as_zaf_reads_them() -> None:
    assert commons_date("2015-06-30") == date(2015, 6, 30)
    assert commons_date("2015-06-30Z") is None and commons_date("2015-06-30+01:00") is None  # the whole text
    assert commons_date("2015-13-01") == date(2016, 1, 1)  # lenient
    assert sdf_date("2015-06-30+01:00") == date(2015, 6, 30)  # a leading prefix
    assert sdf_date("2015-12", month_only=True) == date(2015, 12, 1) and sdf_date("2015-12") is None
    assert java_int("2015") == 2015 and java_int("+5") == 5 and java_int(" 5") is None and java_int("5.0") is None
    assert ico_valid(mk.ORG_ICO) and not ico_valid("12345678") and not ico_valid("00000000")
    assert ico_valid_v3(mk.ORG_ICO) and ico_valid_v3("00000000") and not ico_valid_v3("12345678")


# --- identifiers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [4, 3])
def test_obs57_obs58_an_identifier_needs_a_value_and_a_source(chk: Checker, version: int) -> None:
    regime = f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:Identifikator"
    assert "obs57" in chk.errors(Package(version=version), text(regime, " "))
    assert "obs58" in chk.errors(Package(version=version), at(regime, lambda el, v: el.set("zdroj", " ")))


@pytest.mark.parametrize("version", [4, 3])
def test_obs59_identifier_and_source_are_the_key_whatever_the_type(chk: Checker, version: int) -> None:
    """zaf keys by identifier and zdroj alone: a retention schedule that shares them with a
    subject group differs from it (different elements), so the rule fails."""
    regime = f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:Identifikator"
    clash = both(text(regime, "VS-03.1"), at(regime, lambda el, v: el.set("zdroj", mk.ZDROJ)))
    assert "obs59" in chk.errors(Package(version=version), clash)


@pytest.mark.parametrize("version", [4, 3])
def test_obs59_compares_trimmed_text_but_not_inner_spaces(chk: Checker, version: int) -> None:
    """Two descriptions of the retention schedule SR-A5 (the file's and dok-1's): text is
    compared after Java's trim, so surrounding white space does not count, inner does."""
    name = f"{DOK1}/n:Vyrazovani/n:SkartacniRezim/n:Nazev"
    assert "obs59" not in chk.errors(Package(version=version), text(name, "\n  A/5  "))
    assert "obs59" in chk.errors(Package(version=version), text(name, "A /5"))


# --- obs59a: registration numbers -----------------------------------------------------------------

NUMBER = f"{DOK1}/n:Evidence/n:EvidencniCislo"


def _neevidence(root: etree._Element, v: int) -> None:
    """dok-1 registered outside the records: Neevidence in place of Evidence."""
    evidence = root.xpath(f"{DOK1}/n:Evidence", namespaces=ns(v))[0]
    evidence.getparent().replace(evidence, E(v, "Neevidence", None, E(v, "Oduvodneni", "nalezený dokument")))


def test_obs59a_a_document_settled_after_july_2012_needs_its_number(chk: Checker) -> None:
    assert "obs59a" in chk.errors(Package(), remove(NUMBER))  # settled 2015-05-20
    assert "obs59a" not in chk.errors(Package())


@pytest.mark.parametrize(("settled", "fails"), [("2012-07-31", False), ("2012-08-01", True), ("2009-03-02", False)])
def test_obs59a_counts_from_the_day_after_31_july_2012(chk: Checker, settled: str, fails: bool) -> None:
    mutate = both(remove(NUMBER), text(f"{DOK1}/n:Vyrizeni/n:Datum", settled))
    assert ("obs59a" in chk.errors(Package(), mutate)) is fails


def test_obs59a_a_base_document_settled_before_august_2012_needs_no_number(chk: Checker) -> None:
    pkg = mk.document_package().with_(closed="2011-11-15")
    assert "obs59a" not in chk.errors(pkg, remove(NUMBER))
    assert "obs59a" in chk.errors(mk.document_package(), remove(NUMBER))  # settled 2015


def test_obs59a_a_document_registered_outside_the_records_is_exempt(chk: Checker) -> None:
    assert "obs59a" not in chk.errors(Package(), _neevidence)
    assert "obs59a" not in chk.errors(mk.document_package(), _neevidence)


def test_obs59a_a_document_without_a_settling_date_is_not_checked(chk: Checker) -> None:
    """dok-2 inside the file has no Vyrizeni (it is optional there): nothing to count from."""
    mutate = both(remove(f"{DOK2}/n:Evidence/n:EvidencniCislo"), remove(f"{DOK2}/n:Vyrizeni"))
    assert "obs59a" not in chk.errors(Package(), mutate)


def test_obs59a_a_file_closed_after_july_2012_needs_its_number_too(chk: Checker) -> None:
    spis_number = f"{SPIS}/n:Evidence/n:EvidencniCislo"
    assert "obs59a" in chk.errors(Package(), remove(spis_number))
    early = both(remove(spis_number), text(f"{SPIS}/n:VyrizeniUzavreni/n:Datum", "2012-05-01"))
    assert "obs59a" not in chk.errors(Package(), early)


def test_obs59a_a_settling_date_zaf_cannot_read_fails(chk: Checker) -> None:
    """xs:date allows a time zone; zaf reads YYYY-MM-DD only, and fails the rule."""
    assert "obs59a" in chk.errors(Package(), text(f"{DOK1}/n:Vyrizeni/n:Datum", "2015-05-20+01:00"))


# --- languages, settling in another way ------------------------------------------------------------

@pytest.mark.parametrize(("code", "fails"), [("cze", False), ("eng", False), ("ces", True), ("qaa", True)])
def test_obs62_only_the_bibliographic_codes(chk: Checker, code: str, fails: bool) -> None:
    assert ("obs62" in chk.errors(Package(), text("//n:Jazyk", code))) is fails


def test_obs63_another_way_with_a_reason_passes(chk: Checker) -> None:
    zpusob = f"{SPIS}/n:VyrizeniUzavreni/n:Zpusob"
    other = text(zpusob, "jiný způsob")
    with_reason = both(other, at(zpusob, lambda el, v: el.addnext(E(v, "Oduvodneni", "ústně"))))
    assert "obs63" in chk.errors(Package(), other)
    assert "obs63" not in chk.errors(Package(), with_reason)


# --- settled before the current year (obs63a-c) ---------------------------------------------------------

@pytest.mark.parametrize(("code", "shape"), [("obs63a", mk.document_package), ("obs63b", lambda v: Package(version=v)),
                                             ("obs63c", mk.part_package)])
@pytest.mark.parametrize(("closed", "fails"), [("2025-12-31", False), ("2026-01-01", True)])
def test_obs63abc_settled_before_1_january_of_the_current_year(chk: Checker, code: str,
                                                               shape: Callable[[int], Package], closed: str,
                                                               fails: bool) -> None:
    pkg = shape(4).with_(closed=closed, disposal=None)
    assert (code in chk.errors(pkg, profile=Profile.FULL, as_of=date(2026, 6, 1))) is fails


def test_obs63a_a_settling_date_with_a_time_zone_fails(chk: Checker) -> None:
    pkg = mk.document_package()
    assert "obs63a" in chk.errors(pkg, text(f"{DOK1}/n:Vyrizeni/n:Datum", "2015-06-30Z"), profile=Profile.FULL)


# --- retention due (obs64, obs65) --------------------------------------------------------------------------

@pytest.mark.parametrize("version", [4, 3])
@pytest.mark.parametrize(("as_of", "fails"), [(date(2021, 1, 1), False), (date(2020, 12, 31), True)])
def test_obs64_due_in_the_year_trigger_plus_one_plus_period(chk: Checker, version: int, as_of: date,
                                                            fails: bool) -> None:
    """Settled 2015, five years: due 2021, and 2021 itself counts."""
    pkg = mk.document_package(version)
    assert ("obs64" in chk.errors(pkg, profile=Profile.FULL, as_of=as_of)) is fails


def test_obs64_v4_a_fixed_disposal_year(chk: Checker) -> None:
    pkg = mk.document_package().with_(rok_vyrazeni=2030, disposal=None)
    assert "obs64" in chk.errors(pkg, profile=Profile.FULL, as_of=date(2029, 12, 31))
    assert "obs64" not in chk.errors(pkg, profile=Profile.FULL, as_of=date(2030, 1, 1))


def test_obs64_v4_the_trigger_year_is_needed_even_with_a_fixed_year(chk: Checker) -> None:
    pkg = mk.document_package().with_(rok_vyrazeni=2030, disposal=None, declared_year=None)
    assert "obs64" in chk.errors(pkg, profile=Profile.FULL, as_of=date(2031, 1, 1))


def test_obs65_v4_runs_for_a_base_document_too(chk: Checker) -> None:
    """zaf's code checks every base entity, though the rule text names parts and files."""
    pkg = mk.document_package().with_(period=20, disposal=None)
    assert {"obs64", "obs65"} <= chk.errors(pkg, profile=Profile.FULL)


@pytest.mark.parametrize("version", [4, 3])
def test_obs65_a_document_counted_from_the_year_it_was_received(chk: Checker, version: int) -> None:
    """dok-2 received 2015 with 20 years: due 2036, though the file was due 2021."""
    pkg = Package(version=version, documents=(Doc("dok-1", "A", 5, components=mk.default_components()),
                                              Doc("dok-2", "S", 20, analog=True)))
    assert "obs65" in chk.errors(pkg, profile=Profile.FULL)
    assert "obs65" not in chk.errors(pkg, profile=Profile.FULL, as_of=date(2036, 1, 1))


def test_obs65_v4_a_file_inside_a_part_counted_from_the_year_it_was_made(chk: Checker) -> None:
    period = "//n:Spis[@ID='spis-1']/n:EvidencniUdaje/n:Vyrazovani/n:SkartacniRezim/n:SkartacniLhuta"
    assert "obs65" in chk.errors(mk.part_with_files_package(), text(period, "20"), profile=Profile.FULL)


def test_obs65_v4_fixed_disposal_years(chk: Checker) -> None:
    pkg = Package(rok_vyrazeni=2030, disposal=None)
    assert "obs65" in chk.errors(pkg, profile=Profile.FULL, as_of=date(2029, 6, 1))
    assert "obs65" not in chk.errors(pkg, profile=Profile.FULL, as_of=date(2030, 6, 1))


# --- the sign V after 2026 (obs66), signs in order (obs67) ---------------------------------------------

def _v_document(*, settled: str) -> Mutation:
    sign = f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:SkartacniZnak"
    return both(text(sign, "V"), text(f"{DOK2}/n:Vyrizeni/n:Datum", settled))


@pytest.mark.parametrize(("settled", "fails"), [("2026-12-31", False), ("2027-01-01", True)])
def test_obs66_a_document_with_v_settled_after_2026(chk: Checker, settled: str, fails: bool) -> None:
    got = chk.errors(Package(), _v_document(settled=settled), profile=Profile.FULL, as_of=date(2040, 1, 1))
    assert ("obs66" in got) is fails


def test_obs66_a_document_with_v_needs_a_settling_date(chk: Checker) -> None:
    sign = f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:SkartacniZnak"
    no_date = remove(f"{DOK2}/n:Vyrizeni")
    assert "obs66" in chk.errors(Package(), both(text(sign, "V"), no_date), profile=Profile.FULL)
    assert "obs66" not in chk.errors(Package(), no_date, profile=Profile.FULL)  # sign S: no date needed


def _signs(base: str, *docs: str) -> Callable[[int], Package]:
    return lambda v: Package(version=v, sign=base, documents=(
        Doc("dok-1", docs[0], 5, components=mk.default_components()),
        *[Doc(f"dok-{i + 2}", s, 5, analog=True) for i, s in enumerate(docs[1:])]))


@pytest.mark.parametrize(("shape", "fails_v4", "fails_v3"), [
    (_signs("A", "A", "S"), False, False),
    (_signs("A", "S", "S"), False, True),  # v4: only a lower parent fails; v3: the highest sign exactly
    (_signs("V", "V", "S"), False, False),
    (_signs("V", "A", "S"), True, True),
    (_signs("S", "S", "V"), True, True),
])
def test_obs67_signs_of_a_file_and_its_documents(chk: Checker, shape: Callable[[int], Package], fails_v4: bool,
                                                 fails_v3: bool) -> None:
    assert ("obs67" in chk.errors(shape(4))) is fails_v4
    assert ("obs67" in chk.errors(shape(3))) is fails_v3


def test_obs67_v4_a_file_in_a_part_and_its_documents(chk: Checker) -> None:
    spis_sign = "//n:Spis[@ID='spis-1']/n:EvidencniUdaje/n:Vyrazovani/n:SkartacniRezim/n:SkartacniZnak"
    dil_sign = "//n:Dil/n:EvidencniUdaje/n:Vyrazovani/n:SkartacniRezim/n:SkartacniZnak"
    assert "obs67" in chk.errors(mk.part_with_files_package(), text(dil_sign, "S"))  # the file A under a part S
    assert "obs67" in chk.errors(mk.part_with_files_package(), text(spis_sign, "S"))  # the document A under the file S


# --- obs68: the subject group of the base entity ------------------------------------------------------------

@pytest.mark.parametrize("version", [4, 3])
def test_obs68_only_the_mother_of_the_base_entity(chk: Checker, version: int) -> None:
    assert "obs68" in chk.errors(Package(version=version), remove(f"{VS2}/n:Vyrazovani/n:SkartacniRezim"))
    assert "obs68" in chk.errors(mk.document_package(version), remove(f"{VS2}/n:Vyrazovani/n:SkartacniRezim"))


# --- dates in order ---------------------------------------------------------------------------------------

def test_obs71_reads_the_leading_date(chk: Checker) -> None:
    """SimpleDateFormat reads a prefix: a time zone after the date does not matter."""
    opened = f"{SPIS}/n:Manipulace/n:DatumOtevreni"
    assert "obs71" not in chk.errors(Package(), text(opened, "2015-06-30+02:00"))  # the day it closed
    assert "obs71" in chk.errors(Package(), text(opened, "2015-07-01"))


@pytest.mark.parametrize(("code", "period"), [
    ("obs81", (("DatumOd", "2015-01-01"), ("DatumDo", "2015-01-01"))),
    ("obs82", (("MesicOd", "2015-01"), ("MesicDo", "2015-01"))),
    ("obs83", (("RokOd", "2015"), ("RokDo", "2015"))),
])
def test_obs81_83_the_end_of_a_period_must_come_after_its_start(chk: Checker, code: str,
                                                               period: tuple[tuple[str, str], ...]) -> None:
    def mutate(root: etree._Element, v: int) -> None:
        obdobi = root.xpath(f"{DOK1}/n:Evidence/n:UrceneCasoveObdobi", namespaces=ns(v))[0]
        obdobi[:] = [E(v, tag, value) for tag, value in period]
    assert code in chk.errors(Package(), mutate)


# --- analogue records (obs76) ------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [4, 3])
def test_obs76_a_digital_file_holding_an_analogue_document(chk: Checker, version: int) -> None:
    assert "obs76" in chk.errors(Package(version=version), text(f"{SPIS}/n:Manipulace/n:AnalogovyDokument", "ne"))


@pytest.mark.parametrize("version", [4, 3])
def test_obs76_the_subject_groups_of_a_file_are_not_compared(chk: Checker, version: int) -> None:
    assert "obs76" not in chk.errors(Package(version=version), text(f"{VS2}/n:Manipulace/n:AnalogovyDokument", "ne"))


@pytest.mark.parametrize("version", [4, 3])
def test_obs76_the_subject_groups_of_an_analogue_base_document_are(chk: Checker, version: int) -> None:
    pkg = mk.document_package(version).with_(documents=(Doc("dok-1", "A", 5, analog=True),))
    assert "obs76" not in chk.errors(pkg)
    assert "obs76" in chk.errors(pkg, text(f"{VS2}/n:Manipulace/n:AnalogovyDokument", "ne"))


# --- the disposal procedure (obs79, obs80) --------------------------------------------------------------------

@pytest.mark.parametrize("version", [4, 3])
def test_obs79_obs80_a_package_without_a_disposal_procedure_fails_both(chk: Checker, version: int) -> None:
    assert {"obs78", "obs79", "obs80"} <= chk.errors(Package(version=version, disposal=None))


def test_obs79_obs80_warn_at_intake(chk: Checker) -> None:
    result = chk.run(mk.fresh_package(), intake=True)
    warned = {f.rule for f in result.findings if f.severity == "warning"}
    assert {"obs79", "obs80"} <= warned and not {f.rule for f in result.findings if f.is_error} & MINE


@pytest.mark.parametrize(("declared", "fails"), [(2022, False), (2023, True)])
def test_obs79_held_in_or_after_the_year_of_the_disposal_operation(chk: Checker, declared: int, fails: bool) -> None:
    assert ("obs79" in chk.errors(Package(declared_year=declared))) is fails  # held 2022-03-15


@pytest.mark.parametrize(("as_of", "fails"), [(date(2022, 1, 1), False), (date(2021, 12, 31), True)])
def test_obs80_not_held_in_a_year_still_to_come(chk: Checker, as_of: date, fails: bool) -> None:
    assert ("obs80" in chk.errors(Package(), as_of=as_of)) is fails  # held 2022-03-15


# --- type files (obs90), company numbers (obs92) ----------------------------------------------------------------

def test_obs90_a_subject_group_for_type_files_holding_a_file(chk: Checker) -> None:
    meant = at(f"{VS2}/n:Manipulace", lambda el, v: el.addnext(E(v, "UrcenoProTypoveSpisy", "ano")))
    assert "obs90" in chk.errors(Package(), meant)


def _ico(value: str, zdroj: str = "IČO") -> Mutation:
    regime = f"{DOK2}/n:Vyrazovani/n:SkartacniRezim/n:Identifikator"
    return both(text(regime, value), at(regime, lambda el, v: el.set("zdroj", zdroj)))


@pytest.mark.parametrize("version", [4, 3])
def test_obs92_an_identifier_issued_as_a_company_number(chk: Checker, version: int) -> None:
    pkg = Package(version=version)
    assert "obs92" in chk.errors(pkg, _ico("12345678"))
    assert "obs92" not in chk.errors(pkg, _ico(mk.ORG_ICO))
    assert "obs92" not in chk.errors(pkg, _ico("12345678", zdroj=" IČO"))  # zdroj compared exactly


@pytest.mark.parametrize("version", [4, 3])
def test_obs92_the_organisation_identifier_is_not_checked(chk: Checker, version: int) -> None:
    assert "obs92" not in chk.errors(Package(version=version), text("(//n:IdentifikatorOrganizace)[1]", "12345678"))


def test_obs92_v3_takes_numbers_the_v4_check_refuses(chk: Checker) -> None:
    assert "obs92" not in chk.errors(Package(version=3), _ico("00000000"))
    assert "obs92" in chk.errors(Package(version=4), _ico("00000000"))
