"""archa's own XML writer (`archa.metadata.xmlstream.XmlWriter`) writes byte for byte what
lxml's `etree.xmlfile` writes for the same calls: on the escaping and namespace cases one by
one, and on the METS, PREMIS and DIP METS of real ingests and exports, where every document
is written through both writers at once and the two must agree."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
from lxml import etree

from archa.access.export import ExportOptions, export_dip
from archa.ingest.ingest import ingest
from archa.metadata import xmlstream
from archa.metadata.xmlstream import Node, NodeMaker, XmlWriter
from archa.repository.repo import Repository
from archa.transfer.kinds import run_transfer
from tests.bagmaker import write_bag
from tests.ndk_maker import PspSpec, make_psp


class LxmlWriter:
    """The interface of `XmlWriter` over lxml's incremental writer (the reference)."""

    def __init__(self, xf: Any) -> None:
        self.xf = xf
        self.open: list[Any] = []

    def write_declaration(self) -> None:
        self.xf.write_declaration()

    def write(self, text: str) -> None:
        self.xf.write(text)

    def start(self, tag: str, attrs: dict[str, str] | None = None, nsmap: dict[str, str] | None = None) -> None:
        cm = self.xf.element(tag, attrs or {}, **({"nsmap": nsmap} if nsmap else {}))
        cm.__enter__()
        self.open.append(cm)

    def end(self) -> None:
        self.open.pop().__exit__(None, None, None)

    def write_tree(self, node: Node, depth: int) -> None:
        self.write("\n" + "  " * depth)
        self.start(node.tag, node.attrs)
        if node.text is not None:
            self.write(node.text)
        for child in node.children:
            self.write_tree(child, depth + 1)
        if node.children:
            self.write("\n" + "  " * depth)
        self.end()


def both(script: Callable[[Any], None]) -> tuple[bytes | str, bytes | str]:
    """What `script` writes through lxml and through XmlWriter (or the error each raised)."""
    got: list[bytes | str] = []
    for kind in ("lxml", "archa"):
        out = io.BytesIO()
        try:
            if kind == "lxml":
                with etree.xmlfile(out, encoding="utf-8") as xf:
                    script(LxmlWriter(xf))
            else:
                with xmlstream.xml_file(out) as w:
                    script(w)
            got.append(out.getvalue())
        except ValueError as e:
            got.append(f"{type(e).__name__}: {e}")
    return got[0], got[1]


TRICKY = ["plain", "", "a & b < c > d", "quote \" and apostrophe '", "line\nbreak\ttab\rreturn",
          "]]> end of CDATA", "Žluťoučký kůň úpěl ďábelské ódy", "emoji \U0001F600", "\x7f\x85\u2028", "&amp;"]


@pytest.mark.parametrize("value", TRICKY)
def test_text_and_attributes_escaped_as_lxml(value: str) -> None:
    def script(w: Any) -> None:
        w.write_declaration()
        w.start("{urn:a}root", {"v": value, "{urn:x}s": value}, nsmap={"x": "urn:x", "a": "urn:a"})
        w.write(value)
        w.start("{urn:a}child", {"n": value})
        w.end()
        w.end()

    lx, ours = both(script)
    assert isinstance(lx, bytes) and ours == lx


def test_namespaces_declared_as_lxml() -> None:
    def script(w: Any) -> None:
        w.write_declaration()
        w.start("{urn:a}r", {"z": "1", "{urn:x}s": "2", "{urn:q}t": "3", "{urn:a}u": "4"},
                nsmap={"x": "urn:x", "a": "urn:a", "d": "urn:d"})
        w.start("{urn:n}c", {"{urn:m}k": "v"})  # two namespaces not in scope: ns1, ns2 here
        w.start("{urn:n}d")  # in scope from its parent
        w.end()
        w.end()
        w.start("{urn:n}c2")  # its sibling's ns1 is out of scope again: declared afresh
        w.end()
        w.start("plain", {"{urn:a}a": "1"})
        w.write("x")
        w.end()
        w.start("{urn:a}e")  # empty: <a:e></a:e>, never <a:e/>
        w.end()
        w.start("{urn:z}o", nsmap={"o": "urn:z"})  # declared by its own nsmap
        w.start("{urn:z}p")
        w.end()
        w.end()
        w.write("\n")
        w.end()

    lx, ours = both(script)
    assert isinstance(lx, bytes) and b'xmlns:ns0="urn:q"' in lx and b"<a:e></a:e>" in lx
    assert ours == lx


def test_trees_written_as_lxml() -> None:
    """`write_tree`'s fast path (names in scope) and its way round for a subtree that must
    declare a namespace of its own, twice in a row (the declarations do not leak)."""
    X, Q = NodeMaker("urn:x"), NodeMaker("urn:q")
    tree = X.a({"k": "v&", "{urn:x}l": "\n"}, X.b("t<"), Q.c({"{urn:m}z": "1"}, Q.d(X.e(), "mixed")), X.f(),
               Node("plain", {"{urn:q}at": "2"}))

    def script(w: Any) -> None:
        w.write_declaration()
        w.start("{urn:x}root", nsmap={"x": "urn:x"})
        w.write_tree(tree, 1)
        w.write_tree(tree, 1)
        w.write("\n")
        w.end()

    lx, ours = both(script)
    assert isinstance(lx, bytes) and b'<ns0:c xmlns:ns0="urn:q" xmlns:ns1="urn:m" ns1:z="1">' in lx
    assert ours == lx


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x0b", "\x1f", "\ufffe", "\uffff"])
@pytest.mark.parametrize("where", ["text", "attribute"])
def test_characters_xml_cannot_hold_are_refused_as_lxml(bad: str, where: str) -> None:
    def script(w: Any) -> None:
        w.write_declaration()
        w.start("{urn:a}r", {"v": f"a{bad}"} if where == "attribute" else {}, nsmap={"a": "urn:a"})
        if where == "text":
            w.write(f"a{bad}")
        w.end()

    lx, ours = both(script)
    assert isinstance(lx, str) and lx.startswith("ValueError: All strings must be XML compatible")
    assert ours == lx


def test_large_documents_are_written_out_in_pieces(tmp_path: Path) -> None:
    """More pieces than one buffer holds: every one reaches the file, in order."""
    n = xmlstream.FLUSH_PARTS * 2 + 7
    with xmlstream.xml_file(tmp_path / "big.xml") as w:
        w.write_declaration()
        w.start("{urn:a}r", nsmap={"a": "urn:a"})
        for i in range(n):
            w.start("{urn:a}i", {"n": str(i)})
            w.end()
        w.end()
    root = etree.parse(str(tmp_path / "big.xml")).getroot()
    assert [int(e.get("n")) for e in root] == list(range(n))


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every METS and PREMIS document archa writes is written through both writers; the
    bytes must agree (the test fails at the first that differs). Returns the names seen."""
    seen: list[str] = []

    class Tee:
        def __init__(self, *writers: Any) -> None:
            self.writers = writers

        def __getattr__(self, name: str) -> Callable[..., None]:
            def call(*args: Any, **kw: Any) -> None:
                for w in self.writers:
                    getattr(w, name)(*args, **kw)
            return call

    real = xmlstream.xml_file

    @contextmanager
    def tee_file(target: str | os.PathLike[str] | IO[bytes]) -> Iterator[Any]:
        ours, theirs = io.BytesIO(), io.BytesIO()
        with etree.xmlfile(theirs, encoding="utf-8") as xf, real(ours) as w:
            yield Tee(w, LxmlWriter(xf))
        assert ours.getvalue() == theirs.getvalue(), f"XmlWriter and lxml differ on {target}"
        name = os.fspath(target) if isinstance(target, (str, os.PathLike)) else "a stream"
        seen.append(Path(name).name)
        with real(target) as w:  # and the document itself, as archa writes it
            w._parts.append(ours.getvalue().decode("utf-8"))

    for module in ("archa.metadata.premis", "archa.metadata.mets", "archa.access.dipmets"):
        monkeypatch.setattr(f"{module}.xml_file", tee_file)
    return seen


def test_real_documents_match_lxml(repo: Repository, tmp_path: Path, compared: list[str]) -> None:
    """An ingest of a bag with the file names of a Czech file share, a digitised volume with
    typed pages, and a DIP export: their METS and PREMIS, written by both writers, agree."""
    files = {"Smlouvy/Smlouva č. 12 & dodatek <2026>.pdf": b"%PDF-1.4\n%%EOF\n",
             "Zápisy/zápis \"rada\" 'obce'.txt": "Žluťoučký kůň\r\n".encode(),
             "data with spaces/#1 100%.csv": b"a,b\n1,2\n"}
    bag = write_bag(tmp_path / "bag", files, info={"External-Description": "Obec Horní Dolní & spol. <archiv>"})
    aip = ingest(repo, bag).aip_id
    psp = make_psp(tmp_path / "psp", PspSpec(kind="monograph", version="2.2", pages=3,
                                            page_types={1: "frontCover", 2: "titlePage", 3: "backCover"}))
    run_transfer("ndk", psp, tmp_path / "ndk-bag", [], repo.policy)
    ingest(repo, tmp_path / "ndk-bag")
    export_dip(repo, ExportOptions(aip, tmp_path / "dip", access=False))
    assert compared.count("premis.xml") == 2 and compared.count("METS.xml") == 2
    assert compared.count("a stream") == 1  # the DIP's METS.xml


def test_writer_needs_prefixes() -> None:
    """A default namespace (no prefix) is not what archa writes: refused, not mis-written."""
    with pytest.raises(ValueError, match="prefixed"):
        XmlWriter(io.BytesIO()).start("{urn:a}r", nsmap={"": "urn:a"})
