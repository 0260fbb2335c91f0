"""The whole path of a digitised volume in the real NDK shape (issue #21): a PSP whose page
divs carry NDK page types goes in through `archa transfer ndk --ingest`, is shown by `archa
aip show` with its pages in order and its page types kept in the AIP's METS, and comes out
through `archa dip export --format iiif` with every page, labelled by number and type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from archa.cli.main import cli
from archa.repository.repo import Repository
from tests.ndk_maker import PspSpec, make_psp, page_type

METS = "{http://www.loc.gov/METS/}"

CASES = {
    # a monograph: covers, an end sheet, the title page, normal pages, a blank
    "monograph": (PspSpec(kind="monograph", version="2.2", pages=7,
                          page_types={1: "frontCover", 2: "frontEndSheet", 3: "titlePage", 4: "normalPage",
                                      5: "normalPage", 6: "blank", 7: "backCover"}),
                  ["[1] front cover", "[2] front end sheet", "[3] title page", "[4]", "[5]", "[6] blank",
                   "[7] back cover"]),
    # a periodical issue: the title page first, an advertisement before the back cover
    "periodical": (PspSpec(kind="periodical", version="2.0", pages=5,
                           page_types={1: "titlePage", 2: "normalPage", 3: "normalPage", 4: "advertisement",
                                       5: "backCover"}),
                   ["[1] title page", "[2]", "[3]", "[4] advertisement", "[5] back cover"]),
}


def _run(*args: str) -> dict[str, Any]:
    r = CliRunner().invoke(cli, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return dict(json.loads(r.output))


@pytest.mark.parametrize("kind", sorted(CASES))
def test_typed_psp_from_transfer_to_iiif(repo: Repository, tmp_path: Path, kind: str) -> None:
    spec, labels = CASES[kind]
    types = [page_type(spec, n) for n in range(1, spec.pages + 1)]
    psp = make_psp(tmp_path / "src", spec)
    main_mets = etree.parse(str(psp / f"mets_{psp.name}.xml")).getroot()
    physical = next(m for m in main_mets.iter(f"{METS}structMap") if m.get("TYPE") == "PHYSICAL")
    assert [d.get("TYPE") for d in physical.findall(f"{METS}div/{METS}div")] == types  # no div of TYPE "page"

    # 1. transfer and ingest: the package is taken with no finding at all
    done = _run("transfer", "ndk", str(psp), "--ingest", "--repo", str(repo.root))
    assert done["transfer"]["findings"] == []
    aip = done["ingest"]["aip_id"]

    # 2. aip show: the pages in order, with their labels
    shown = _run("aip", "show", aip, "--repo", str(repo.root))
    assert [p["seq"] for p in shown["pages"]] == list(range(1, spec.pages + 1))
    assert [p["label"] for p in shown["pages"]] == [f"[{n}]" for n in range(1, spec.pages + 1)]
    assert all(p["master"].endswith(f"mc_{psp.name}_{p['seq']:04d}.jp2") for p in shown["pages"])
    text = CliRunner().invoke(cli, ["aip", "show", aip, "--repo", str(repo.root)])
    assert f"pages (v1): {spec.pages}, [1] to [{spec.pages}]" in text.output
    #    the AIP's METS keeps each page's NDK type in its page order structMap
    mets = etree.parse(str(repo.hot.object_path(aip) / "v1/content/METS.xml")).getroot()
    order = next(m for m in mets.iter(f"{METS}structMap") if m.get("LABEL") == "page order")
    divs = order.findall(f"{METS}div/{METS}div")
    assert [(d.get("ORDER"), d.get("TYPE"), d.get("ORDERLABEL")) for d in divs] == \
        [(str(n), t, f"[{n}]") for n, t in enumerate(types, 1)]

    # 3. the IIIF DIP: a canvas for every page, labelled by number and page type, starting at the title page
    out = tmp_path / "iiif"
    dip = _run("dip", "export", aip, str(out), "--format", "iiif", "--repo", str(repo.root))
    assert dip["pages"] == spec.pages
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert [c["label"]["none"] for c in manifest["items"]] == [[label] for label in labels]
    assert [c["id"].rsplit("/", 1)[1] for c in manifest["items"]] == [f"p{n:04d}" for n in range(1, spec.pages + 1)]
    title = types.index("titlePage") + 1
    assert manifest["start"] == {"id": f"{out.as_uri()}/canvas/p{title:04d}", "type": "Canvas"}
    for n in range(1, spec.pages + 1):
        assert (out / f"iiif/p{n:04d}/info.json").is_file()
    viewer = (out / "index.html").read_text("utf-8")
    assert all(f"<span>{label}</span>" in viewer for label in labels)
