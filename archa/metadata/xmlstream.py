"""Streaming, indented XML through lxml's incremental writer, without repeated xmlns.

`NodeMaker(ns)` builds light element trees (`P.object(P.size("3"), {"attr": "v"})`, like
lxml's ElementMaker); `write_node` emits one inside an open `etree.xmlfile` element, so a
document of any size is written with only one small subtree in memory at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

INDENT = "  "


@dataclass
class Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    text: str | None = None

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
            node = Node(tag)
            for p in parts:
                if isinstance(p, dict):
                    node.attrs.update(p)
                elif isinstance(p, str):
                    node.text = (node.text or "") + p
                else:
                    node.children.append(p)
            return node

        return make


def write_node(xf: Any, node: Node, depth: int) -> None:
    """Write `node` at nesting `depth` (for indentation) into the open xmlfile `xf`."""
    xf.write("\n" + INDENT * depth)
    with xf.element(node.tag, node.attrs):
        if node.text is not None:
            xf.write(node.text)
        for child in node.children:
            write_node(xf, child, depth + 1)
        if node.children:
            xf.write("\n" + INDENT * depth)


@contextmanager
def open_node(xf: Any, tag: str, attrs: dict[str, str] | None = None, depth: int = 0,
              nsmap: dict[str, str] | None = None) -> Iterator[None]:
    """`with open_node(xf, tag, attrs, depth):` an element whose children are streamed."""
    if depth:
        xf.write("\n" + INDENT * depth)
    with xf.element(tag, attrs or {}, **({"nsmap": nsmap} if nsmap else {})):
        yield
        xf.write("\n" + INDENT * depth)
