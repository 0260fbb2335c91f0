"""Streaming, indented XML, without repeated xmlns.

`NodeMaker(ns)` builds light element trees (`P.object(P.size("3"), {"attr": "v"})`, like
lxml's ElementMaker); `write_node` emits one inside an open element of an `XmlWriter`
(`with xml_file(path) as xf:`), so a document of any size is written with only one small
subtree in memory at a time. `XmlWriter` writes the bytes lxml's `etree.xmlfile` writes for
the same calls (tests/test_xmlstream.py compares them), in a fraction of its time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

INDENT = "  "


class Node:
    """An element: `tag` (`{namespace}local`), its attributes in order, children and text."""

    __slots__ = ("attrs", "children", "tag", "text")

    def __init__(self, tag: str, attrs: dict[str, str] | None = None, children: list[Node] | None = None,
                 text: str | None = None) -> None:
        self.tag = tag
        self.attrs = attrs if attrs is not None else {}
        self.children = children if children is not None else []
        self.text = text

    def append(self, child: Node) -> None:
        self.children.append(child)

    def set(self, key: str, value: str) -> None:
        self.attrs[key] = value


class NodeMaker:
    """`M.tag(*children_or_text, {attrs})` makes a Node in namespace `ns`."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def __getattr__(self, local: str) -> Callable[..., Node]:
        tag = f"{{{self.ns}}}{local}"

        def make(*parts: Node | str | dict[str, str]) -> Node:
            attrs: dict[str, str] = {}
            children: list[Node] = []
            text: str | None = None
            for p in parts:
                if type(p) is Node:
                    children.append(p)
                elif isinstance(p, dict):
                    attrs.update(p)
                elif isinstance(p, str):
                    text = (text or "") + p
                else:
                    children.append(p)
            return Node(tag, attrs, children, text)

        setattr(self, local, make)  # made once per tag: later lookups find it without __getattr__
        return make


def write_node(xf: XmlWriter, node: Node, depth: int) -> None:
    """Write `node` at nesting `depth` (for indentation) into the open element of `xf`."""
    xf.write_tree(node, depth)


@contextmanager
def open_node(xf: XmlWriter, tag: str, attrs: dict[str, str] | None = None, depth: int = 0,
              nsmap: dict[str, str] | None = None) -> Iterator[None]:
    """`with open_node(xf, tag, attrs, depth):` an element whose children are streamed."""
    if depth:
        xf.write("\n" + INDENT * depth)
    xf.start(tag, attrs, nsmap)
    yield
    xf.write("\n" + INDENT * depth)
    xf.end()


# --- the writer ------------------------------------------------------------------------------

_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEXT_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ATTR_SPECIAL = re.compile("[&<>\"\n\t\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;",
                               "\t": "&#9;", "\r": "&#13;"})
FLUSH_PARTS = 8192  # buffered pieces of text before they are encoded and written out


def _escaped(value: str, special: re.Pattern[str], escapes: dict[int, str]) -> str:
    if special.search(value) is None:
        return value
    if _INVALID.search(value):
        raise ValueError("All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters")
    return value.translate(escapes)


def _split(name: str) -> tuple[str | None, str]:
    if name[:1] == "{":
        ns, _, local = name[1:].partition("}")
        return ns, local
    return None, name


class XmlWriter:
    """An incremental UTF-8 XML writer with the interface of lxml's `etree.xmlfile` writer that
    archa uses (`write_declaration`, `element(tag, attrs, nsmap=)`, `write(text)`) and the same
    bytes: namespace declarations sorted by prefix before the attributes, which keep their
    order; a namespace not in scope gets the lowest free `nsN` prefix on the element that
    needs it; empty elements written as `<a></a>`; text escapes & < > and CR, attributes also
    " LF TAB; a control character (other than TAB, LF, CR), U+FFFE or U+FFFF raises
    ValueError, as lxml does. Only prefixed namespaces (no default namespace). Text is
    gathered and written out in large pieces (lxml's writer spends a call into C on each
    piece: this one is several times faster on the small elements of METS and PREMIS)."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._parts: list[str] = []
        # each open element: (qualified name, namespace -> prefix in scope, name -> qualified
        # name in that scope; the two shared with the parent when it declares nothing)
        self._stack: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self._names: dict[str, tuple[str | None, str]] = {}

    def write_declaration(self) -> None:
        self._parts.append("<?xml version='1.0' encoding='utf-8'?>\n")

    def write(self, text: str) -> None:
        self._parts.append(_escaped(text, _TEXT_SPECIAL, _TEXT_ESCAPES))

    def start(self, tag: str, attrs: dict[str, str] | None = None, nsmap: dict[str, str] | None = None) -> None:
        """Open the element `tag` (`{namespace}local` or `local`); close it with `end()`."""
        scope, qnames = self._stack[-1][1:] if self._stack else ({}, {})
        new: list[tuple[str, str]] = []  # (prefix, namespace) declared here
        if nsmap:
            scope = dict(scope)
            for prefix, href in nsmap.items():
                if not prefix:
                    raise ValueError("XmlWriter writes prefixed namespaces only")
                scope[href] = prefix
                new.append((prefix, href))
        names = self._names
        ns, local = names.get(tag) or names.setdefault(tag, _split(tag))
        if ns is not None:
            if ns not in scope:
                scope = self._declare(ns, scope, new)
            local = f"{scope[ns]}:{local}"
        qname = local
        out = [f"<{qname}"]
        written: list[str] = []
        if attrs:
            for name, value in attrs.items():
                ans, alocal = names.get(name) or names.setdefault(name, _split(name))
                if ans is not None:
                    if ans not in scope:
                        scope = self._declare(ans, scope, new)
                    alocal = f"{scope[ans]}:{alocal}"
                written.append(f' {alocal}="{_escaped(value, _ATTR_SPECIAL, _ATTR_ESCAPES)}"')
        if new:
            new.sort()
            out += [f' xmlns:{p}="{_escaped(n, _ATTR_SPECIAL, _ATTR_ESCAPES)}"' for p, n in new]
        out += written
        out.append(">")
        self._parts.append("".join(out))
        self._stack.append((qname, scope, {} if new else qnames))
        if len(self._parts) > FLUSH_PARTS:
            self.flush()

    def _qualified(self, name: str) -> str | None:
        """`name` as written in the innermost open element's scope; None when its namespace
        would have to be declared there."""
        _, scope, qnames = self._stack[-1]
        q = qnames.get(name)
        if q is None:
            ns, local = self._names.get(name) or self._names.setdefault(name, _split(name))
            if ns is None:
                q = local
            elif ns in scope:
                q = f"{scope[ns]}:{local}"
            else:
                return None
            qnames[name] = q
        return q

    def write_tree(self, node: Node, depth: int) -> None:
        """`node` and its descendants, indented from `depth`, in the innermost open element
        (as `start`, `write`, `end` would write them; faster when no namespace is declared)."""
        parts = self._parts
        parts.append("\n" + INDENT * depth)
        q = self._qualified(node.tag)
        names = [self._qualified(n) for n in node.attrs] if node.attrs else []
        if q is None or None in names:
            self.start(node.tag, node.attrs)
            q = self._stack[-1][0]
            declared = True
        else:
            if names:
                parts.append(f"<{q}" + "".join(
                    f' {n}="{_escaped(v, _ATTR_SPECIAL, _ATTR_ESCAPES)}"'
                    for n, v in zip(names, node.attrs.values(), strict=True)) + ">")
            else:
                parts.append(f"<{q}>")
            declared = False
        if node.text is not None:
            parts.append(_escaped(node.text, _TEXT_SPECIAL, _TEXT_ESCAPES))
        if node.children:
            if not declared:
                self._stack.append((q, *self._stack[-1][1:]))
            for child in node.children:
                self.write_tree(child, depth + 1)
            if not declared:
                self._stack.pop()
            parts.append("\n" + INDENT * depth)
        if declared:
            self.end()
        else:
            parts.append(f"</{q}>")
        if len(parts) > FLUSH_PARTS:
            self.flush()

    @staticmethod
    def _declare(ns: str, scope: dict[str, str], new: list[tuple[str, str]]) -> dict[str, str]:
        """`scope` (a copy, unless this element made its own already) with `ns` bound to the
        lowest `nsN` prefix not in it, as lxml does; the declaration added to `new`."""
        if not new:
            scope = dict(scope)
        taken = set(scope.values())
        i = 0
        while f"ns{i}" in taken:
            i += 1
        scope[ns] = f"ns{i}"
        new.append((f"ns{i}", ns))
        return scope

    def end(self) -> None:
        """Close the innermost open element."""
        self._parts.append(f"</{self._stack.pop()[0]}>")

    @contextmanager
    def element(self, tag: str, attrs: dict[str, str] | None = None,
                nsmap: dict[str, str] | None = None) -> Iterator[None]:
        self.start(tag, attrs, nsmap)
        yield
        self.end()

    def flush(self) -> None:
        self._out.write("".join(self._parts).encode("utf-8"))
        self._parts.clear()


@contextmanager
def xml_file(target: str | os.PathLike[str] | IO[bytes]) -> Iterator[XmlWriter]:
    """`with xml_file(path or binary file) as xf:` an `XmlWriter` onto it; what was written is
    written out when the block ends without an exception (a path is created or truncated, and
    closed at the end; a file object is left open)."""
    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as f:
            writer = XmlWriter(f)
            yield writer
            writer.flush()
    else:
        writer = XmlWriter(target)
        yield writer
        writer.flush()
