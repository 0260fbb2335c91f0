"""The streaming JSON reader rebuild uses for inventories and packed indexes: the same
values as json.loads, whatever the chunk boundaries cut (multi-byte UTF-8, numbers, escapes)."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest

from archa.repository.jsonstream import JsonStream


def _read(s: JsonStream) -> Any:
    """Rebuild a value from the stream's primitives (objects and arrays walked, not decoded)."""
    first = s._peek()
    if first == "{":
        return {k: _read(s) for k in s.members()}
    if first == "[":
        return [_read(s) for _ in s.items()]
    return s.value()


def _doc(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.random()
    if depth > 3 or pick < 0.35:
        return rng.choice([0, -17, 123456789, 2.5e-3, True, False, None, "", "v1/content/žluťoučký kůň.txt",
                           'quote " and \\ and \n', "\u2028\U0001f600", "a" * rng.randint(0, 40)])
    if pick < 0.65:
        return [_doc(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {f"{rng.choice(['sha512', 'v', 'ř', 'state'])}{i}": _doc(rng, depth + 1) for i in range(rng.randint(0, 5))}


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_stream_reads_what_json_loads_reads(chunk: int) -> None:
    rng = random.Random(chunk)
    for _ in range(300):
        doc = _doc(rng)
        for text in (json.dumps(doc, ensure_ascii=False), json.dumps(doc, indent=2, ensure_ascii=False)):
            assert _read(JsonStream(io.BytesIO(text.encode()), chunk)) == doc


def test_skipping_keeps_the_position() -> None:
    doc = {"id": "urn:x", "manifest": {f"d{i}": [f"v1/content/{i}"] for i in range(1000)}, "type": "t",
           "versions": {"v1": {"created": "2026", "state": {"d1": ["a"]}}, "v2": {"created": "2027", "state": {}}}}
    s = JsonStream(io.BytesIO(json.dumps(doc, indent=2).encode()), 5)
    seen = {}
    for key in s.members():
        if key == "versions":
            for v in s.members():
                for field in s.members():
                    if field == "created":
                        seen[v] = s.value()
                    else:
                        s.skip()
        elif key in ("id", "type"):
            seen[key] = s.value()
        else:
            s.skip()
    assert seen == {"id": "urn:x", "type": "t", "v1": "2026", "v2": "2027"}


def test_broken_json_is_an_error() -> None:
    with pytest.raises(ValueError):
        _read(JsonStream(io.BytesIO(b'{"a": [1, 2}'), 4))
    with pytest.raises(ValueError):
        _read(JsonStream(io.BytesIO(b'{"a": "never ends'), 4))
