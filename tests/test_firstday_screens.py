"""Issue #28, item 6: screens that tell the truth on an archivist's first day. `archa status`
and the report name what needs a person (a rejected transfer nobody acknowledged, copies
never audited, hot and cold on one disk) and exit 1 / say so; the report's labels are whole
(or ellipsised with the whole text on hover), its audit colours warn where they should, its
texts describe only what is drawn and its sizes are named; the default policy ships a real
at-risk list, each PUID named as Siegfried names it; `fixity audit` with nothing due says
when the next copies fall due."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from archa.cli.main import cli
from archa.ingest.ingest import ingest
from archa.repository.repo import Repository
from archa.units import human_bytes
from tests.bagmaker import write_bag
from tests.browser import chromium, dump_dom


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.output


@pytest.fixture
def separate_disks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every location on a disk of its own (as on a real server with a NAS and a tape
    library): the test repositories' locations all sit on one temporary disk."""
    from archa.repository import placement

    monkeypatch.setattr(placement, "failure_domain", lambda _repo, loc: f"device of {loc.name}")


def _audit_all(repo: Repository) -> None:
    from archa.preservation.fixity import AuditOptions, audit

    assert audit(repo, AuditOptions(due=False)).ok


# --- archa status -------------------------------------------------------------------------------

def test_status_lists_a_rejected_transfer_until_it_is_acknowledged(repo: Repository, bags: Path,
                                                                   separate_disks: None) -> None:
    from archa.repository.events import ARCHA_AGENT, Event

    root = str(repo.root)
    ingest(repo, write_bag(bags / "good", {"dopis.txt": b"Vazeny pane,"}))
    _audit_all(repo)
    code, out = _run("status", "--repo", root)
    assert code == 0 and out.endswith("all well\n"), out
    broken = write_bag(bags / "rozbitý spis", {"a.txt": b"a"})
    (broken / "data" / "a.txt").write_bytes(b"b")  # changed after bagging
    code, out = _run("ingest", str(broken), "--repo", root)
    assert code == 2 and "rejected" in out, out
    (rejected,) = [t for t in repo.catalog.transfers() if t["status"] == "rejected"]
    code, out = _run("status", "--repo", root)
    assert code == 1, out
    day = rejected["received"][:10]
    assert ("NEEDS A PERSON:\n"
            f"  rejected transfer, not acknowledged: {broken} on {day}: BAG009 data/a.txt: sha256 checksum does not "
            f"match the manifest; send it again corrected (or decide it is not needed), then "
            f"archa transfer ack {rejected['id']}\n") in out, out
    assert "all well" not in out
    data = json.loads(_run("status", "--repo", root, "--json")[1])
    assert [(t["id"], t["source"], t["findings"]) for t in data["rejected_transfers"]] == [
        (rejected["id"], str(broken), 1)]
    assert data["rejected_transfers"][0]["reason"].startswith("BAG009 data/a.txt: sha256 checksum does not match")

    with repo.writing():  # what `archa transfer ack ID` appends: an acknowledgement naming the transfer
        repo.catalog.record_events([Event("acknowledgement", "success", f"rejection of {rejected['id']} "
                                          "acknowledged by archivar: the producer sends a new bag", ARCHA_AGENT,
                                          transfer_id=rejected["id"])])
    code, out = _run("status", "--repo", root)
    assert code == 0 and out.endswith("all well\n"), out
    assert "rozbitý spis" not in out  # nor among the last failures: acknowledged, it is no news
    assert json.loads(_run("status", "--repo", root, "--json")[1])["rejected_transfers"] == []


def test_status_lists_copies_never_audited_and_one_failure_domain(repo: Repository, bags: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    root = str(repo.root)
    ingest(repo, write_bag(bags / "a", {"scan.tif": b"II*\0" + b"\0" * 4000}))
    code, out = _run("status", "--repo", root)
    assert code == 1, out
    lines = out.split("NEEDS A PERSON:\n")[1].splitlines()
    domain = json.loads(_run("status", "--repo", root, "--json")[1])["shared_domains"]
    ((device, names),) = domain.items()
    assert names == ["hot", "cold"]
    assert lines == [
        ("  2 copies never audited: archa fixity audit (it takes them first; run it nightly from cron or a systemd "
         "timer, see docs/cli.md)"),
        (f"  hot, cold share one failure domain ({device}): the 2 copies each version needs are on 1 disk or "
         "endpoint, and one failing loses them all; add a location on another disk or an S3 endpoint (archa "
         "storage add), then archa storage sync")]
    data = json.loads(_run("status", "--repo", root, "--json")[1])
    assert (data["never_audited"], data["failure_domains"], data["copies_wanted"]) == (2, 1, 2)
    _audit_all(repo)
    code, out = _run("status", "--repo", root)
    assert code == 1 and "never audited" not in out.split("NEEDS A PERSON:")[1] and "share one failure domain" in out
    from archa.repository import placement

    monkeypatch.setattr(placement, "failure_domain", lambda _repo, loc: f"device of {loc.name}")
    code, out = _run("status", "--repo", root)
    assert code == 0 and out.endswith("all well\n"), out


def test_status_names_its_sizes_and_counts_an_update_by_what_it_added(repo: Repository, bags: Path,
                                                                      tmp_path: Path) -> None:
    root = str(repo.root)
    big = bytes(range(256)) * 800  # 200 KiB of payload
    res = ingest(repo, write_bag(bags / "a", {"scan.bin": big}))
    extra = tmp_path / "p2.txt"
    extra.write_bytes(b"page two")
    assert _run("aip", "update", res.aip_id, "--add", f"{extra}=p2.txt", "--reason", "page two", "--repo", root)[0] == 0
    data = json.loads(_run("status", "--repo", root, "--json")[1])
    assert (data["payload_files"], data["payload_bytes"]) == (2, len(big) + 8)
    hot = [c for c in repo.catalog.copies(res.aip_id) if c["location"] == "hot"]
    assert data["stored_bytes"] == sum(c["bytes"] for c in hot)
    assert data["stored_bytes"] < 1.5 * len(big)  # v2 stores its new page and metadata, not the scan again
    out = _run("status", "--repo", root)[1]
    assert (f"  AIPs: 1; payload 2 files, {human_bytes(len(big) + 8)} (as submitted); stored "
            f"{human_bytes(data['stored_bytes'])} (one copy of every version)\n") in out
    assert re.search(r"  hot +ocfl +hot +2 versions +[\d.]+ \w+ here  damaged 0, missing 0", out), out
    listing = _run("aip", "list", "--repo", root)[1].splitlines()
    assert listing[0].split()[2:4] == ["files", "payload"]
    assert listing[1].split()[2:5] == ["2", *human_bytes(len(big) + 8).split()]
    (row,) = json.loads(_run("aip", "list", "--repo", root, "--json")[1])
    assert (row["payload_files"], row["payload_bytes"]) == (2, len(big) + 8)
    assert "bytes here" in _run("storage", "status", "--repo", root)[1].splitlines()[0]


# --- archa report -------------------------------------------------------------------------------

MEASURE = """<script>
const out = [];
for (const svg of document.querySelectorAll("svg.chart")) {
  const width = svg.viewBox.baseVal.width;
  for (const t of svg.querySelectorAll("text")) {
    const b = t.getBBox();
    if (b.x < -0.5 || b.x + b.width > width + 0.5) out.push(t.textContent + " @" + b.x.toFixed(1) + "+" + b.width.toFixed(1));
  }
}
document.body.setAttribute("data-outside", JSON.stringify(out));
</script>"""


def _sections(page: str) -> dict[str, str]:
    return dict(re.findall(r"<section><h2>([^<]+)</h2>(.*?)</section>", page, re.DOTALL))


def test_report_labels_are_whole_colours_warn_and_texts_describe_what_is_drawn(
        repo_with_policy: Callable[[Path, str], Repository], bags: Path, tmp_path: Path) -> None:
    repo = repo_with_policy(tmp_path / "r", "[policy.fixity]\ninterval_days = { hot = 0, warm = 180, cold = 365 }\n")
    root = str(repo.root)
    works = b"\x01\xfe" + b"\0" * 18 + b"\xd0\x02" + b"\0" * 200  # fmt/163, the longest name of the list
    ingest(repo, write_bag(bags / "a", {"register.csv": b"a,b\n1,2\n", "old.wps": works,
                                        "dopis.wpd": b"\xffWPC\x10\0\0\0\x01\x0a\x02\x01" + b"\0" * 200}))
    out = tmp_path / "report.html"
    code, text = _run("report", str(out), "--repo", root)
    assert code == 0 and text.splitlines()[1].startswith("needs a person: 2 things"), text
    page = out.read_text("utf-8")
    sections = _sections(page)

    # format labels: whole (x-fmt/18 and its name), or cut at the end with the whole text in <title>
    labels = re.findall(r'<text x="[\d.]+" y="[\d.]+" text-anchor="end" font-size="12">(.*?)</text>',
                        sections["Formats"])
    assert "x-fmt/18 Comma Separated Values" in labels
    long = "fmt/163 Microsoft Works Word Processor 1-3 for DOS and 2 for Windows"
    (cut,) = [t for t in labels if t.startswith(f"<title>{long}</title>")]
    assert cut.startswith(f"<title>{long}</title>fmt/163 Microsoft Works Word") and cut.endswith("…"), cut
    assert all(t.endswith("…") for t in labels if t.startswith("<title>"))
    assert "files are unidentified or in a format the policy marks at risk" in sections["Formats"]
    assert re.search(r"the policy marks \d+ formats at risk \(formats\.at_risk\), 2 of them held here: "
                     r"fmt/163, x-fmt/44", sections["Formats"])

    # never audited: a warning colour, never the healthy green; no quota, no word of quotas
    never = re.findall(r'fill="(#\w+)"><title>(hot|cold): never audited 1 copies</title>', sections["Fixity"])
    assert sorted(never) == [("#d69e2e", "cold"), ("#d69e2e", "hot")]
    assert "overdue" not in sections["Fixity"].split("</svg>")[0] and "quota" not in page
    assert "red marks" not in page
    assert "never audited: not read back since they were written" in sections["Fixity"]

    # audited: the cold copy recent (green), the hot one overdue at once (hot = 0 days)
    _audit_all(repo)
    assert _run("originator", "add", "obec", "--name", "Obec", "--quota", "1MB", "--repo", root)[0] == 0
    assert _run("report", str(out), "--force", "--repo", root)[0] == 0
    page = out.read_text("utf-8")
    fixity = _sections(page)["Fixity"]
    assert re.findall(r'fill="(#\w+)"><title>(hot|cold): ([a-z &;0-9]+) 1 copies</title>', fixity) == [
        ("#dd6b20", "hot", "overdue"), ("#38a169", "cold", "audited &lt; 30 days ago")]
    assert "never audited" not in fixity.split("</svg>")[0] and "not read back since" not in fixity  # not drawn
    storage = _sections(page)["Storage per originator and tier"]
    assert "quota" not in storage  # a quota set, but not on an originator holding anything here
    assert "Bytes at the locations per originator (every copy), by tier" in storage

    # the page in a browser: no text runs out of its chart, left or right
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", MEASURE + "</body>"), "utf-8")
    dom = dump_dom(chromium(), measured)
    outside = re.search(r'data-outside="([^"]*)"', dom)
    assert outside and json.loads(outside.group(1).replace("&quot;", '"')) == [], outside
    repo.close()


def test_report_draws_quotas_only_where_set_and_growth_by_what_each_version_added(
        repo: Repository, bags: Path, tmp_path: Path) -> None:
    root = str(repo.root)
    assert _run("originator", "add", "brtnice", "--name", "Obec Brtnice", "--quota", "10MB", "--repo", root)[0] == 0
    big = bytes(range(256)) * 800
    res = ingest(repo, write_bag(bags / "a", {"scan.bin": big}, info={"Source-Organization": "Obec Brtnice"}))
    extra = tmp_path / "p2.txt"
    extra.write_bytes(b"page two")
    assert _run("aip", "update", res.aip_id, "--add", f"{extra}=p2.txt", "--reason", "page two", "--repo", root)[0] == 0
    out = tmp_path / "report.html"
    assert _run("report", str(out), "--repo", root)[0] == 0
    page = out.read_text("utf-8")
    storage, growth = _sections(page)["Storage per originator and tier"], _sections(page)["Growth"]
    assert "Stored bytes per originator (one copy of every version) against their quotas" in storage
    assert "<title>quota 9.5 MiB</title>" in storage
    assert "The red marks are the originators' quotas, which count stored bytes (one copy)." in storage
    stored = sum(c["bytes"] for c in repo.catalog.copies(res.aip_id) if c["location"] == "hot")
    assert f">{human_bytes(stored)}</text>" in growth  # the cumulative total: v1 and what v2 added
    both = sum(v["bytes"] for v in repo.catalog.versions(res.aip_id))
    assert human_bytes(both) not in growth  # not v2 counted in full
    assert "never the files it keeps from the version before" in growth
    assert "Sizes: payload is the records&#x27; files as submitted" in page


# --- the default at-risk list -------------------------------------------------------------------

def ole2(stream: str, content: bytes) -> bytes:
    """A minimal OLE2 compound file (version 3, 512-byte sectors) holding one stream, as the
    container signatures of PRONOM look into: header, one FAT sector, one directory sector,
    the stream (padded to the mini-stream cutoff, so it lives in ordinary sectors)."""
    content = content.ljust(4096, b"\0")
    n = -(-len(content) // 512)
    end, free, fatsect, nostream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("D0CF11E0A1B11AE1"), b"\0" * 16, 0x3E, 3, 0xFFFE,
                         9, 6, b"\0" * 6, 0, 1, 1, 0, 0x1000, end, 0, end, 0) + struct.pack("<109I", 0, *[free] * 108)
    fat = [fatsect, end, *[3 + i for i in range(n - 1)], end]
    fat += [free] * (128 - len(fat))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0" if name else b""
        return struct.pack("<64sHBBIII16sIQQIQ", raw, len(raw), kind, 1, nostream, nostream, child, b"\0" * 16, 0,
                           0, 0, start, size)

    directory = entry("Root Entry", 5, 1, end, 0) + entry(stream, 2, nostream, 2, len(content)) \
        + entry("", 0, nostream, 0, 0) * 2
    return header + struct.pack("<128I", *fat) + directory + content.ljust(n * 512, b"\0")


def _wpc(tail: bytes) -> bytes:
    return b"\xffWPC\x10\0\0\0" + tail + b"\0" * 200


# a file of each format, built byte by byte to its PRONOM signature (name, bytes)
SAMPLES: dict[str, tuple[str, bytes]] = {
    "x-fmt/393": ("a.wp5", _wpc(b"\x01\x0a\x00\x00\0\0\0\0")),
    "x-fmt/394": ("a.wp5", _wpc(b"\x01\x0a\x00\x01\0\0\0\0")),
    "x-fmt/203": ("a.wp", b"a document saved by WordPerfect 5.2 for Windows"),  # PRONOM has no signature: by name
    "x-fmt/44": ("a.wpd", _wpc(b"\x01\x0a\x02\x01")),
    "fmt/892": ("a.wpd", ole2("PerfectOffice_MAIN", _wpc(b"\x01\x0a\x02\x02"))),
    "fmt/1220": ("a.wpm", _wpc(b"\x01\x2c\x02")),
    "fmt/1221": ("a.wpm", _wpc(b"\x01\x2c\x03")),
    "fmt/1222": ("a.wpm", _wpc(b"\x01\x2c\x04")),
    "fmt/163": ("a.wps", b"\x01\xfe" + b"\0" * 18 + b"\xd0\x02" + b"\0" * 200),
    "fmt/233": ("a.wps", ole2("\x01CompObj", b"\0" * 28 + b"\0\0\0Microsoft Works\0")),
    "fmt/258": ("a.wps", ole2("\x01CompObj", b"\0" * 28 + b"\0\0\0Quill96 Story Group Class\0")),
    "fmt/166": ("a.wks", b"\xff\x00\x02\x00\x04\x04\x05T\x02" + b"\0" * 200 + b"\x01\0\0\0"),
    "fmt/901": ("a.xlr", ole2("Workbook", b"\0" * 4 + b"MS Works")),
    "x-fmt/117": ("a.wks", b"\0\0\x02\0\x04\x04" + b"\0" * 200),
    "x-fmt/114": ("a.wk1", b"\0\0\x02\0\x06\x04\x06\0\x08\0" + b"\0" * 200),
    "x-fmt/115": ("a.wk3", b"\0\0\x1a\0\x00\x10\x04\0" + b"\0" * 200),
    "x-fmt/116": ("a.wk4", b"\0\0\x1a\0\x02\x10\x04\0" + b"\0" * 200),
    "fmt/1452": ("a.123", b"\0\0\x1a\0\x03\x10\x04\0" + b"\0" * 200),
    "fmt/1453": ("a.123", b"\0\0\x1a\0\x05\x10\x04\0" + b"\0" * 200),
    "x-fmt/191": ("a.sam", b"[ver]\r\n\t4\r\n[sty]\r\n\t\r\n[edoc]\r\n" + b"x" * 100),
    "fmt/1293": ("a.wpd", ole2("\x01CompObj", b"\0" * 40 + b"602Text.Document")),
    "fmt/1294": ("a.wls", ole2("MagicTab", b"\0" * 40)),
    "x-fmt/190": ("a.rm", b".RMF\0\0\0\x12" + b"\0" * 200),
    "x-fmt/278": ("a.ra", b".ra\xfd\x00\x03" + b"\0" * 200),
    "fmt/404": ("a.ra", b".ra\xfd\x00\x04\x00\x00.ra4" + b"\0" * 200),
    "x-fmt/382": ("a.flv", b"FLV\x01\x05\0\0\0\x09" + b"\0" * 200),
    # SWF versions 1-30: fmt/104-110, fmt/505-507, fmt/757-776 (version byte after FWS)
    **{puid: ("a.swf", b"FWS" + bytes([v]) + b"\x01" * 200 + b"\0\0")
       for v, puid in enumerate([*(f"fmt/{n}" for n in range(104, 111)), "fmt/505", "fmt/506", "fmt/507",
                                 *(f"fmt/{n}" for n in range(757, 777))], start=1)},
}


def test_the_default_policy_lists_formats_at_risk_each_named_as_siegfried_names_it(tmp_path: Path) -> None:
    import pygfried

    from archa.policies.model import default_policy_text, load_policy

    text = default_policy_text()
    block = text.split("\nat_risk = [\n", 1)[1].split("\n]\n", 1)[0]
    entries = re.findall(r'^  "([^"]+)",  # (.+)$', block, re.MULTILINE)
    assert len(entries) >= 20
    assert [line for line in block.splitlines() if line.strip() and not line.strip().startswith("#")] == \
        [f'  "{p}",  # {n}' for p, n in entries]  # every entry with its name
    policy = load_policy({})
    assert policy.formats.at_risk == {p for p, _n in entries}
    assert set(SAMPLES) == policy.formats.at_risk  # a sample of every listed format, and none unlisted
    for puid, name in entries:
        filename, data = SAMPLES[puid]
        path = tmp_path / puid.replace("/", "-") / filename
        path.parent.mkdir()
        path.write_bytes(data)
        (match,) = pygfried.identify(str(path), detailed=True)["files"][0]["matches"]
        assert (match["id"], f"{match['format']} {match['version']}".strip()) == (puid, name), match


def test_formats_report_marks_the_default_list(repo: Repository, bags: Path) -> None:
    ingest(repo, write_bag(bags / "a", {"dopis.wpd": SAMPLES["x-fmt/44"][1], "a.txt": b"plain text"}))
    code, out = _run("formats", "report", "--repo", str(repo.root))
    assert code == 0 and "x-fmt/44            1      212 B  WordPerfect for MS-DOS/Windows Document  AT RISK" in out, out
    assert "1 in formats at risk (1 with no migration pathway)" in out


# --- archa fixity audit -------------------------------------------------------------------------

def test_fixity_audit_with_nothing_due_says_what_falls_due_next(repo: Repository, bags: Path) -> None:
    root = str(repo.root)
    ingest(repo, write_bag(bags / "a", {"a.txt": b"a"}))
    ingest(repo, write_bag(bags / "b", {"b.txt": b"b"}))
    code, out = _run("fixity", "audit", "--repo", root)
    assert code == 0 and out.startswith("4 copies, "), out  # never audited: due
    last = [(c["location"], datetime.fromisoformat(c["last_audit"])) for c in repo.catalog.all_copies()]
    hot, cold = (min(t for loc, t in last if loc == tier) for tier in ("hot", "cold"))
    code, out = _run("fixity", "audit", "--repo", root)
    assert code == 0, out
    assert out == ("nothing is due: every copy was audited within its tier's interval (policy fixity.interval_days)\n"
                   f"  hot: next due on {(hot + timedelta(days=90)).date()}, 2 copies (audited every 90 days)\n"
                   f"  cold: next due on {(cold + timedelta(days=365)).date()}, 2 copies (audited every 365 days)\n"
                   "to audit every copy now: archa fixity audit --all\n")
    data = json.loads(_run("fixity", "audit", "--repo", root, "--json")[1])
    assert data["nothing_due"] and [(n["tier"], n["copies"], n["interval_days"]) for n in data["next_due"]] == [
        ("hot", 2, 90), ("cold", 2, 365)]
    code, out = _run("fixity", "audit", "--location", "cold", "--repo", root)
    assert code == 0 and out.splitlines()[-1] == "to audit every copy now: archa fixity audit --all --location cold"
    code, out = _run("fixity", "audit", "--all", "--repo", root)
    assert code == 0 and out.startswith("4 copies, ")
