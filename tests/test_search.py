"""Finding records (issue #25): `archa search` over the descriptive metadata of every record
(NSESSS, MODS, DC, bag-info) and the OCR of digitised pages, on the catalog the run asks for
(--catalog sqlite | postgresql).

Each field of an ERMS file of documents and of an NDK monograph; diacritics, case, prefixes
and phrases; ranking (title above originator, every word required); dates; originators;
the index kept current through `aip update`, destruction and `catalog rebuild`; a catalog of
schema 17 migrated; the JSON shape, paging and the bounds of a very common query."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from archa.cli.main import cli
from archa.repository.repo import Repository
from tests import nsesss_maker as mk
from tests.bagmaker import write_bag
from tests.catalogs import catalog_url, insider_sql, lose_catalog
from tests.ndk_maker import PspSpec, make_psp

STAVBA = "Stavební povolení pro dům u Ještědu"
HASICI = "Vyjádření hasičského záchranného sboru"


def run(repo: Repository, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, [*args, "--repo", str(repo.root)])
    return r.exit_code, r.output


def search(repo: Repository, *args: str) -> tuple[int, dict[str, Any]]:
    """`archa search ARGS --json`: (exit status, the JSON, {} when none was printed)."""
    r = CliRunner().invoke(cli, ["search", *args, "--json", "--repo", str(repo.root)])
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = {}
    return r.exit_code, {**out, "output": r.output}


def hits(repo: Repository, *args: str) -> list[dict[str, Any]]:
    code, out = search(repo, *args)
    assert code in (0, 1), (args, out)
    return list(out.get("hits", []))


def ids(repo: Repository, *args: str) -> list[str]:
    return [h["aip_id"] for h in hits(repo, *args)]


def nsesss_aip(repo: Repository, tmp_path: Path, pkg: mk.Package, **kw: Any) -> str:
    folder = mk.write_package(tmp_path / f"src-{pkg.name}", pkg, **kw)
    code, out = run(repo, "transfer", "nsesss", str(folder), "--ingest", "--json")
    assert code == 0, out
    return str(json.loads(out)["ingest"]["aip_id"])


def bag_aip(repo: Repository, tmp_path: Path, name: str, info: dict[str, str], *extra: str) -> str:
    bag = write_bag(tmp_path / "bags" / name, {f"{name}.txt": name.encode() * 20},
                    info={"External-Identifier": f"X-{name}", **info})
    code, out = run(repo, "ingest", str(bag), *extra, "--json")
    assert code == 0, out
    return str(json.loads(out)[0]["aip_id"])


def rename_document(title: str) -> Any:
    """A mutate= for nsesss_maker: the first document inside the file gets `title`."""
    def mutate(root: etree._Element) -> None:
        ns = mk.NS[4]
        (doc,) = root.iterfind(f".//{{{ns}}}Dokument[@ID='dok-1']")
        doc.find(f"{{{ns}}}EvidencniUdaje/{{{ns}}}Popis/{{{ns}}}Nazev").text = title
    return mutate


# --- 1. an ERMS file of documents, the whole path ------------------------------------------

def test_nsesss_file_found_by_each_field(repo: Repository, tmp_path: Path) -> None:
    assert run(repo, "originator", "add", "kraj", "--name", "Kraj Vysočina", "--ico", mk.ORG_ICO)[0] == 0
    pkg = mk.fresh_package(name="SIP_STAVBA", title=STAVBA, ident="KU-2011-0042", closed="2015-06-30", period=5)
    aip = nsesss_aip(repo, tmp_path, pkg, mutate=rename_document(HASICI))
    other = nsesss_aip(repo, tmp_path, mk.fresh_package(name="SIP_JINY", title="Oprava chodníku v Telči",
                                                        ident="KU-2012-0007"))

    # a word of the file's title, without diacritics
    (hit,) = hits(repo, "jestedu")
    assert hit["aip_id"] == aip and hit["title"] == STAVBA and hit["field"] == "title"
    assert hit["snippet"] == "Stavební povolení pro dům u [Ještědu]"
    assert hit["date"] == "2015-01-02" and hit["originator"] == pkg.originator and hit["page"] is None
    assert hit["state"] == "active" and hit["version"] == "v1"
    # the package states no access: the policy's default for ERMS records, restricted
    assert hit["access"].startswith("restricted") and "policy" in hit["access"], hit
    # a word of a document's title inside the file
    (hit,) = hits(repo, "hasicskeho zachranneho")
    assert (hit["aip_id"], hit["field"], hit["snippet"]) == \
        (aip, "title", "Vyjádření [hasičského] [záchranného] sboru")
    # its Identifikator, filing code (PlneUrcenySpisovyZnak), reference number (EvidencniCislo)
    (hit,) = hits(repo, "KU-2011-0042", "--field", "identifier")
    assert hit["aip_id"] == aip and hit["field"] == "identifier" and hit["snippet"] == "[KU-2011-0042]", hit
    assert ids(repo, "KU-2011-0042") == [aip]
    assert set(ids(repo, "03.1", "--field", "sign")) == {aip, other}
    (hit,) = hits(repo, "KU-2011-0042/S", "--field", "ref")
    assert (hit["aip_id"], hit["field"], hit["snippet"]) == (aip, "ref", "[KU-2011-0042/S]")
    assert ids(repo, "KU-2011-0042-dok-1/2015", "--field", "ref") == [aip]  # a document's number
    assert ids(repo, "KU-2011-0042", "--field", "title") == []  # not in that field
    # an author (an internal subject) and an addressee (the recipient of the reply)
    found = hits(repo, "novakova", "--field", "author")
    assert {h["aip_id"] for h in found} == {aip, other} and all(h["field"] == "author" for h in found)
    assert "[Nováková]" in found[0]["snippet"]
    assert set(ids(repo, "Brtnice", "--field", "author")) == {aip, other}
    # the originator by name
    found = hits(repo, "vysocina", "--field", "originator")
    assert {h["aip_id"] for h in found} == {aip, other} and found[0]["field"] == "originator"
    assert "[Vysočina]" in found[0]["snippet"]
    # every word must occur, in any field
    assert ids(repo, "jestedu telci") == []
    # the record's own dates (2015) find it; years it has nothing to do with do not
    assert ids(repo, "jestedu", "--from", "2015", "--to", "2015") == [aip]
    assert ids(repo, "jestedu", "--from", "2020", "--to", "2024") == [], \
        "found by a date that is the day the package was bagged, not a date of the record"
    # people read it too
    code, out = run(repo, "search", "stavebni povoleni jestedu")
    assert code == 0, out
    assert out.startswith("1 match; 1-1, best first\n"), out
    assert f"{aip}  {STAVBA}  (2015-01-02, {pkg.originator}, restricted" in out
    assert "    title: [Stavební] [povolení] pro dům u [Ještědu]\n" in out


def test_nsesss_access_as_the_package_states(repo: Repository, tmp_path: Path) -> None:
    closed = nsesss_aip(repo, tmp_path, mk.fresh_package(name="SIP_N", title="Přestupek v dopravě",
                                                         ident="KU-2020-0001", access="neveřejné: osobní údaje"))
    open_ = nsesss_aip(repo, tmp_path, mk.fresh_package(name="SIP_V", title="Přestupek při stavbě",
                                                        ident="KU-2020-0002", access="bez omezení"))
    found = {h["aip_id"]: h["access"] for h in hits(repo, "prestupek")}
    assert found[open_] == "public"
    assert found[closed].startswith("restricted") and "osobní údaje" in found[closed], found


def test_nsesss_v3_file_found_by_its_title(repo: Repository, tmp_path: Path) -> None:
    aip = nsesss_aip(repo, tmp_path, mk.fresh_package(3, name="SIP_V3", title="Žádost o dotaci na kanalizaci",
                                                      ident="KU-2016-0100"))
    (hit,) = hits(repo, "zadost kanalizaci")
    assert (hit["aip_id"], hit["field"], hit["title"]) == (aip, "title", "Žádost o dotaci na kanalizaci")
    assert ids(repo, "KU-2016-0100", "--field", "identifier") == [aip]


# --- 2. an NDK monograph -------------------------------------------------------------------

ISBN, CNB = "80-7203-123-4", "cnb000123456"


def with_isbn_and_cnb(mets: bytes) -> bytes:
    more = (f'<mods:identifier type="isbn">{ISBN}</mods:identifier>'
            f'<mods:identifier type="ccnb">{CNB}</mods:identifier>').encode()
    return mets.replace(b'<mods:identifier type="uuid">', more + b'<mods:identifier type="uuid">', 1)


def test_ndk_monograph_by_title_author_identifiers_and_page_text(repo: Repository, tmp_path: Path) -> None:
    spec = PspSpec(pages=3, title="Pamětní kniha obce Lhota", texts={2: "Povodeň zaplavila mlýn u Bystřice"})
    psp = make_psp(tmp_path / "src", spec, mutate_mets=with_isbn_and_cnb)
    code, out = run(repo, "transfer", "ndk", str(psp), "--ingest", "--json")
    assert code == 0, out
    aip = json.loads(out)["ingest"]["aip_id"]
    urnnbn = f"urn:nbn:cz:aba001-{psp.name.replace('-', '')[:6]}"

    (hit,) = hits(repo, "pametni kniha", "--field", "title")
    assert (hit["aip_id"], hit["title"], hit["field"]) == (aip, "Pamětní kniha obce Lhota", "title")
    assert hit["snippet"] == "[Pamětní] [kniha] obce Lhota" and hit["date"] == "1921"
    (hit,) = hits(repo, "novak", "--field", "author")
    assert hit["aip_id"] == aip and hit["snippet"] == "[Novák], Jan"
    for ident in (urnnbn, ISBN, CNB):
        found = hits(repo, ident, "--field", "identifier")
        assert [h["aip_id"] for h in found] == [aip], ident
        assert found[0]["field"] == "identifier"
    # page text, with the page's number
    (hit,) = hits(repo, "povoden bystrice", "--field", "text")
    assert (hit["aip_id"], hit["field"], hit["page"], hit["seq"]) == (aip, "text", 2, 2)
    assert "[Povodeň]" in hit["snippet"] and hit["title"] == "Pamětní kniha obce Lhota"
    assert hits(repo, "povoden", "--field", "title") == []
    # no field: the record first (its title says it), then the pages whose text says it
    code, out = search(repo, "lhota")
    assert code == 0 and out["total"] == 3, out
    assert [(h["aip_id"], h["page"]) for h in out["hits"]] == [(aip, None), (aip, 1), (aip, 3)]
    # paging across records and pages
    assert [h["page"] for h in hits(repo, "lhota", "--limit", "1", "--offset", "1")] == [1]
    assert [h["page"] for h in hits(repo, "lhota", "--limit", "5", "--offset", "2")] == [3]
    assert [h["page"] for h in hits(repo, "lhota", "--aip", aip)] == [1, 3]  # the pages of that AIP alone
    # the dates of the volume (1921) filter its pages too
    assert [h["page"] for h in hits(repo, "lhota", "--from", "1921", "--to", "1921")] == [None, 1, 3]
    assert hits(repo, "lhota", "--from", "1950") == hits(repo, "povoden", "--to", "1900") == []
    code, out = run(repo, "search", "povoden")
    assert code == 0 and f"{aip}  Pamětní kniha obce Lhota  (1921, " in out and "    page 2: [Povodeň]" in out, out


# --- 3. diacritics, case, prefixes, phrases ------------------------------------------------

def test_case_and_diacritics_do_not_matter(repo: Repository, tmp_path: Path) -> None:
    aip = bag_aip(repo, tmp_path, "a", {"Title": "Stavební povolení"})
    bag_aip(repo, tmp_path, "b", {"Title": "Stavební řízení"})
    for query in ("stavebni povoleni", "STAVEBNÍ Povolení", "stavební povolení", "STAVEBNI POVOLENI", "povol*",
                  "stav* povol*"):
        assert ids(repo, query) == [aip], query
    code, out = search(repo, "p*")
    assert code == 2 and "prefix needs at least two letters" in out["output"], out
    code, out = search(repo, "xylofon")
    assert code == 1 and out["hits"] == [] and out["total"] == 0, out
    code, out = search(repo, "  ")
    assert code == 2, out
    assert search(repo, "stavebni", "--field", "nowhere")[0] == 2


def test_a_quoted_phrase_keeps_its_words_together(repo: Repository, tmp_path: Path) -> None:
    aip = bag_aip(repo, tmp_path, "a", {"Title": "Stavební povolení"})
    other = bag_aip(repo, tmp_path, "b", {"Title": "Povolení ke kácení, stavební dozor"})
    assert set(ids(repo, "povoleni stavebni")) == {aip, other}  # words, in any order
    assert ids(repo, '"stavebni povoleni"') == [aip]
    assert ids(repo, '"povoleni stavebni"') == [], "a quoted phrase is matched as separate words"


# --- 4. ranking ----------------------------------------------------------------------------

def test_title_ranks_above_originator_and_every_word_must_occur(repo: Repository, tmp_path: Path) -> None:
    titled = bag_aip(repo, tmp_path, "a", {"Title": "Kronika Brtnice"})
    named = bag_aip(repo, tmp_path, "b", {"Title": "Kronika obce", "Originator": "Obec Brtnice"})
    found = hits(repo, "brtnice")
    assert [h["aip_id"] for h in found] == [titled, named]  # the newer one with the word in a lesser field second
    assert [h["field"] for h in found] == ["title", "originator"]
    both = bag_aip(repo, tmp_path, "c", {"Title": "Stížnost na opravu silnice"})
    one = bag_aip(repo, tmp_path, "d", {"Title": "Stížnost na hluk"})
    assert ids(repo, "stiznost silnice") == [both]
    assert set(ids(repo, "stiznost")) == {both, one}
    _code, out = search(repo, "stiznost silnice")
    assert (out["total"], out["ranked"], out["more"]) == (1, True, False), out


def test_a_very_common_query_is_bounded(repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archa.access.search import find
    from archa.repository.catalog import recordindex

    made = [bag_aip(repo, tmp_path, n, {"Title": f"Kronika {n}"}) for n in ("aa", "bb", "cc")]
    found = find(repo, "kronika", "title")
    assert (found.total, found.more, found.ranked) == (3, False, True)
    assert {h.aip_id for h in found.hits} == set(made)
    monkeypatch.setattr(recordindex, "COUNT_CAP", 2)
    monkeypatch.setattr(recordindex, "RANK_WINDOW", 2)
    found = find(repo, "kronika", "title")
    assert (found.total, found.more, found.ranked) == (2, True, False)
    # the newest RANK_WINDOW ranked among themselves, then the rest newest first
    assert [h.aip_id for h in found.hits] == made[::-1]
    assert [h.aip_id for h in find(repo, "kronika", "title", limit=1, offset=2).hits] == made[:1]


def test_newest_first_survives_a_rebuild(repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archa.access.search import find
    from archa.repository.catalog import recordindex

    made = [bag_aip(repo, tmp_path, n, {"Title": f"Kronika {n}"}) for n in ("aa", "bb", "cc", "dd", "ee")]
    monkeypatch.setattr(recordindex, "RANK_WINDOW", 2)  # a query too common to rank every match
    assert [h.aip_id for h in find(repo, "kronika", "title").hits] == made[::-1]
    lose_catalog(repo)
    code, out = run(repo, "catalog", "rebuild")
    assert code == 0, out
    with Repository.open(repo.root) as again:
        assert [h.aip_id for h in find(again, "kronika", "title").hits] == made[::-1], \
            "after a rebuild the 'newest' matches are the AIPs in the order of their ids"


# --- 5. dates ------------------------------------------------------------------------------

def test_dates(repo: Repository, tmp_path: Path) -> None:
    old = bag_aip(repo, tmp_path, "a", {"Title": "Obecní kronika", "Date": "2011-05-04"})
    new = bag_aip(repo, tmp_path, "b", {"Title": "Obecní kronika", "Date": "2019-10-01"})
    q = ("obecni kronika",)
    assert set(ids(repo, *q)) == {old, new}
    assert ids(repo, *q, "--from", "2011", "--to", "2011") == [old]
    assert ids(repo, *q, "--from", "2011-05-04", "--to", "2011-05-04") == [old]
    assert ids(repo, *q, "--from", "2011-05-05", "--to", "2019-09-30") == []
    assert ids(repo, *q, "--from", "2019") == [new]
    assert ids(repo, *q, "--to", "2018-12") == [old]
    assert ids(repo, *q, "--from", "2019-10") == [new]
    for bad in ("2011-13-01", "yesterday", "2011-02-30", "11"):
        code, out = search(repo, *q, "--from", bad)
        assert code == 2 and "is not a date" in out["output"], (bad, out)
    assert search(repo, *q, "--to", "2019-1")[0] == 2


def test_the_day_a_bag_was_made_is_no_date_of_its_record(repo: Repository, tmp_path: Path) -> None:
    aip = bag_aip(repo, tmp_path, "a", {"Title": "Obecní kronika", "Date": "2011-05-04", "Bagging-Date": "2026-01-15"})
    assert ids(repo, "kronika", "--from", "2011", "--to", "2011") == [aip]
    assert ids(repo, "kronika", "--from", "2020", "--to", "2025") == []


# --- 6. originators ------------------------------------------------------------------------

def test_originator_filter(repo: Repository, tmp_path: Path) -> None:
    for oid, name in (("kraj", "Kraj Vysočina"), ("obec", "Obec Brtnice")):
        assert run(repo, "originator", "add", oid, "--name", name)[0] == 0
    a = bag_aip(repo, tmp_path, "a", {"Title": "Kronika"}, "--originator", "kraj")
    b = bag_aip(repo, tmp_path, "b", {"Title": "Kronika"}, "--originator", "obec")
    assert set(ids(repo, "kronika")) == {a, b}
    assert ids(repo, "kronika", "--originator", "kraj") == [a]
    assert ids(repo, "kronika", "--originator", "obec") == [b]
    code, out = search(repo, "kronika", "--originator", "nikdo")
    assert code == 2 and "no originator 'nikdo'" in out["output"], out


# --- 7. kept current -----------------------------------------------------------------------

def _dc(path: Path, title: str) -> Path:
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/'
                    'OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                    f'<dc:title>{title}</dc:title><dc:identifier>ERA-7</dc:identifier></oai_dc:dc>\n')
    return path


def test_aip_update_replaces_what_is_found(repo: Repository, tmp_path: Path) -> None:
    aip = bag_aip(repo, tmp_path, "a", {"Title": "Stará kronika obce"})
    assert ids(repo, "stara kronika") == [aip]
    code, out = run(repo, "aip", "update", aip, "--metadata", str(_dc(tmp_path / "dc.xml", "Nová kronika obce")),
                    "--reason", "title corrected")
    assert code == 0, out
    (hit,) = hits(repo, "nova kronika")
    assert (hit["aip_id"], hit["version"], hit["title"]) == (aip, "v2", "Nová kronika obce"), hit
    assert ids(repo, "ERA-7", "--field", "identifier") == [aip]
    assert ids(repo, "stara") == [], "the title the new metadata replaced is still found"


def test_destroyed_record_leaves_the_index(repo: Repository, tmp_path: Path) -> None:
    assert run(repo, "originator", "add", "kraj", "--name", "Kraj Vysočina", "--ico", mk.ORG_ICO)[0] == 0
    keep = nsesss_aip(repo, tmp_path, mk.fresh_package(name="SIP_A", ident="KU-SIP_A", title="Spis o mostě",
                                                       closed="2015-06-30", period=5))
    gone = nsesss_aip(repo, tmp_path, mk.fresh_package(
        name="SIP_S", ident="KU-SIP_S", title="Spis o lávce", closed="2015-06-30", period=5, sign="S",
        documents=(mk.Doc("dok-1", "S", 5, components=mk.default_components()), mk.Doc("dok-2", "S", 5, analog=True))))
    code, out = run(repo, "disposal", "propose", "--as-of", "2026", str(tmp_path / "navrh"), "--json")
    assert code == 0, out
    pid = json.loads(out)["proposal"]
    assert run(repo, "disposal", "decide", pid, "--keep", "KU-SIP_A")[0] == 0
    code, out = run(repo, "disposal", "destroy", pid, "--yes", "--json")
    assert code == 0 and [d["aip_id"] for d in json.loads(out)["destroyed"]] == [gone], out

    code, out = search(repo, "lavce")
    assert code == 1 and out["hits"] == [], out
    assert ids(repo, "KU-SIP_S", "--field", "identifier") == []
    (hit,) = hits(repo, "lavce", "--include-removed")
    assert (hit["aip_id"], hit["state"], hit["title"]) == (gone, "removed", "Spis o lávce"), hit
    assert ids(repo, "KU-SIP_S", "--field", "identifier", "--include-removed") == [gone]
    # not by the people its records named
    assert ids(repo, "novakova", "--field", "author", "--include-removed") == [keep]
    code, out = run(repo, "search", "lavce", "--include-removed")
    assert code == 0 and "REMOVED" in out, out
    assert ids(repo, "moste") == ids(repo, "most*") == [keep]
    # the state survives a rebuild from storage
    lose_catalog(repo)
    code, out = run(repo, "catalog", "rebuild")
    assert code == 0, out
    assert ids(repo, "lavce") == []
    assert [(h["aip_id"], h["state"]) for h in hits(repo, "lavce", "--include-removed")] == [(gone, "removed")]
    assert ids(repo, "most*") == [keep]


def test_rebuild_keeps_records_and_their_access(repo: Repository, tmp_path: Path) -> None:
    released = bag_aip(repo, tmp_path, "a", {"Title": "Kronika Lhoty", "Access-Rights": "not public: personal data"})
    stated = bag_aip(repo, tmp_path, "b", {"Title": "Kronika Lhoty II", "Access-Rights": "not public: personal data"})
    code, out = run(repo, "access", "set", released, "--public", "--reason", "released by decision 2026/14")
    assert code == 0, out
    embargoed = bag_aip(repo, tmp_path, "c", {"Title": "Kronika Lhoty III"})
    code, out = run(repo, "access", "set", embargoed, "--restricted", "--until", "2099-12-31", "--reason", "donor")
    assert code == 0, out
    before = hits(repo, "kronika lhoty")
    access = {h["aip_id"]: h["access"] for h in before}
    assert access[released] == "public" and access[stated].startswith("restricted") and "personal data" in access[stated]
    assert access[embargoed] == "embargoed until 2099-12-31: donor"
    lose_catalog(repo)
    code, out = run(repo, "catalog", "rebuild")
    assert code == 0, out
    key = lambda h: h["aip_id"]
    assert sorted(hits(repo, "kronika lhoty"), key=key) == sorted(before, key=key)
    with Repository.open(repo.root) as again:
        assert again.catalog.record_index.access_rows([released])[released].source == "set"


# --- 8. a catalog made before the index ----------------------------------------------------

def test_a_catalog_of_schema_17_is_indexed_when_opened(repo: Repository, tmp_path: Path) -> None:
    from archa.repository.catalog import SCHEMA_VERSION

    bag = bag_aip(repo, tmp_path, "a", {"Title": "Kronika obce Lhota"})
    erms = nsesss_aip(repo, tmp_path, mk.fresh_package(name="SIP_OLD", title="Stížnost na hluk", ident="KU-2014-0009"))
    repo.close()
    on_server = bool(catalog_url(repo.root))
    for table in ("records", "access") if on_server else ("records", "record_text", "access"):
        insider_sql(repo, f"DROP TABLE {table}")
    insider_sql(repo, "UPDATE archa_schema SET version = 17" if on_server else "PRAGMA user_version = 17")
    with Repository.open(repo.root) as again:  # migrated as it opens
        assert again.catalog.schema_version == SCHEMA_VERSION >= 18
    assert ids(repo, "kronika lhota") == [bag]
    assert ids(repo, "stiznost hluk") == [erms]
    assert ids(repo, "KU-2014-0009", "--field", "identifier") == [erms]


# --- 9. the JSON -----------------------------------------------------------------------------

def test_json_shape_and_paging(repo: Repository, tmp_path: Path) -> None:
    made = [bag_aip(repo, tmp_path, n, {"Title": f"Kronika {n}", "Date": "2011-05-04"}) for n in ("aa", "bb", "cc")]
    code, out = search(repo, "kronika")
    assert code == 0
    assert set(out) - {"output"} == {"query", "total", "more", "ranked", "hits"}
    assert (out["query"], out["total"], out["more"], out["ranked"]) == ("kronika", 3, False, True)
    assert {h["aip_id"] for h in out["hits"]} == set(made)
    hit = out["hits"][0]
    assert set(hit) == {"aip_id", "title", "originator", "date", "field", "snippet", "access", "state", "page",
                        "version", "seq"}
    assert (hit["field"], hit["page"], hit["seq"], hit["state"], hit["date"]) == ("title", None, None, "active",
                                                                                  "2011-05-04")
    order = [h["aip_id"] for h in out["hits"]]
    code, page = search(repo, "kronika", "--limit", "1", "--offset", "1")
    assert code == 0 and [h["aip_id"] for h in page["hits"]] == order[1:2]
    assert page["total"] == 3 and page["more"] is False, page  # nothing but these three matches
    code, page = search(repo, "kronika", "--offset", "3")
    assert code == 1 and page["hits"] == []
    r = CliRunner().invoke(cli, ["search", "kronika", "--limit", "2", "--repo", str(repo.root)])
    assert r.exit_code == 0 and r.output.startswith("3 match; 1-2, best first\n"), r.output
