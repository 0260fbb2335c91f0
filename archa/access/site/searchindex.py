"""The prebuilt search index of the public site, read by `search.js` in the browser.

Words are folded as the catalog's indexes fold them (`pgpages.fold`: no diacritics, lower
case) and split into runs of letters and digits, so `skola` finds `Škola` here as in
`archa search`. Each published record contributes a *part* (`record_part`): the tokens of
its metadata and, per page, the tokens of its OCR text. The site's index is made from the
parts of every published record (`build`):

    search/site.js            var ARCHA_SITE = {"buckets": N, "group": G,
                                                "docs": {"<group>": "d<group>-<hash>.js"},
                                                "shards": {"<bucket>": "t<bucket>-<hash>.js"}}
    search/d<g>-<hash>.js     archaDocs(<g>, [{"k": 3, "id": "<uuid>", "t": title, "o": originator,
                                               "d": date, "p": {"<seq>": "<page label>"}}, ...])
                              (the records numbered g*G .. g*G+G-1)
    search/t<b>-<hash>.js     archaShard(<b>, {"<token>": "<postings>", ...})

A token lives in the bucket `bucket(token, N)` (FNV-1a of its first two characters, so that
every token sharing a prefix of two or more characters is in one file: `word*` loads one
shard). Its postings are groups `k[!][:s1,s2,...]` joined by `;`: the record number `k`
(stable across runs: the publish state assigns it), `!` when the record's metadata holds the
token, then the pages whose text holds it. Data files are named by a digest of their
content, and `site.js` (replaced last, atomically) is the one switch from the old index to
the new one.

Incremental (`update`): a record's part also gives its *bucket mask* (`part_mask`: which of
the MAX_BUCKETS finest buckets its tokens fall in; N is a power of two dividing MAX_BUCKETS,
so the shards it touches at any N follow from it). Given the index's state (`SiteIndex.state`,
kept by the caller), the records dropped or replaced (their numbers and masks) and the parts
added, `update` reads and rewrites only the shards of those masks and the docs groups of
those numbers; the result is byte for byte what `build` makes of the same records at the
same N. It gives None (make the index anew with `build`) when the state is missing or a
file it needs is not there intact, or when the index grew or shrank out of its N (above
SHARD_BYTES per shard, or below a quarter of it). The files are
scripts (not JSON fetched by the page): a page opened from the file system may load
scripts but not fetch files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from archa.repository.catalog.pgpages import fold

TOKEN = re.compile(r"[^\W_]+")  # runs of letters and digits (search.js: /[\p{L}\p{N}]+/u)
SHARD_BYTES = 256 << 10  # aim: a shard a browser loads in a moment
MAX_BUCKETS = 4096
DOCS_GROUP = 64  # records per docs file


def tokens(text: str) -> list[str]:
    """The distinct folded tokens of `text`, in the order they first occur."""
    return list(dict.fromkeys(TOKEN.findall(fold(text))))


def bucket(token: str, buckets: int) -> int:
    """The shard of `token`: FNV-1a (32 bits) over the code points of its first two
    characters, modulo `buckets` (search.js computes the same)."""
    h = 2166136261
    for c in token[:2]:
        h = ((h ^ ord(c)) * 16777619) & 0xFFFFFFFF
    return h % buckets


def record_part(title: str, originator: str, date: str, metadata: Iterable[str],
                pages: Iterable[tuple[int, str, str]]) -> dict[str, Any]:
    """A record's contribution to the index: its title, originator and date for the result
    list, the tokens of its metadata (`metadata`: every value shown on its page), and per
    page (seq, label, OCR text) the page's label and tokens."""
    meta = tokens(" ".join([title, originator, date, *metadata]))
    return {"title": title, "originator": originator, "date": date, "meta": meta,
            "pages": [[seq, label, tokens(text)] for seq, label, text in pages]}


@dataclass(frozen=True)
class SiteIndex:
    """An index: `files` the data files to write (name -> bytes; `build`: every one,
    `update`: the new ones) and `site.js`; `names` every data file in use (and site.js);
    `state` what `update` needs next time (JSON: buckets, size, shards {b: [name, size]},
    docs {g: name})."""

    files: dict[str, bytes]
    names: set[str]
    state: dict[str, Any]


def _script(call: str, *args: Any) -> bytes:
    body = ", ".join(json.dumps(a, ensure_ascii=False, separators=(",", ":")) for a in args)
    return f"{call}({body});\n".replace("</", "<\\/").encode("utf-8")


def _unscript(call: str, data: bytes) -> Any:
    """The second argument of a `_script(call, n, value)` file."""
    text = data.decode("utf-8")
    if not text.startswith(call + "(") or not text.endswith(");\n"):
        raise ValueError(f"not an {call} file")
    return json.loads(text[len(call) + 1:-3].split(",", 1)[1])


def _named(prefix: str, data: bytes) -> str:
    return f"{prefix}-{hashlib.sha256(data).hexdigest()[:16]}.js"


def _fine(token: str) -> int:
    return bucket(token, MAX_BUCKETS)


def part_mask(part: dict[str, Any]) -> str:
    """The finest buckets (of MAX_BUCKETS) the tokens of `part` fall in, as a hex bit mask."""
    bits = 0
    for tok in part["meta"]:
        bits |= 1 << _fine(tok)
    for _seq, _label, toks in part["pages"]:
        for tok in toks:
            bits |= 1 << _fine(tok)
    return format(bits, "x")


def mask_buckets(mask: str, buckets: int) -> set[int]:
    """The buckets (of `buckets`, a power of two dividing MAX_BUCKETS) of a `part_mask`."""
    bits, out, i = int(mask or "0", 16), set(), 0
    while bits:
        if bits & 1:
            out.add(i % buckets)
        bits >>= 1
        i += 1
    return out


def _doc(k: int, uuid: str, part: dict[str, Any]) -> dict[str, Any]:
    return {"k": k, "id": uuid, "t": part["title"], "o": part["originator"], "d": part["date"],
            "p": {str(seq): label for seq, label, _toks in part["pages"]}}


def _postings(parts: Iterable[tuple[int, str, dict[str, Any]]]) -> dict[str, str]:
    """token -> its postings of `parts` (records in the order given)."""
    postings: dict[str, dict[int, tuple[bool, list[int]]]] = {}
    for k, _uuid, part in parts:
        for tok in part["meta"]:
            postings.setdefault(tok, {})[k] = (True, [])
        for seq, _label, toks in part["pages"]:
            for tok in toks:
                entry = postings.setdefault(tok, {}).setdefault(k, (False, []))
                entry[1].append(int(seq))
    return {tok: ";".join(f"{k}{'!' if meta else ''}" + (":" + ",".join(map(str, seqs)) if seqs else "")
                          for k, (meta, seqs) in recs.items())
            for tok, recs in postings.items()}


def _size(shard: dict[str, str]) -> int:
    return sum(len(t) + len(p) + 6 for t, p in shard.items())


def _target(size: int) -> int:
    buckets = 1
    while buckets < MAX_BUCKETS and size / buckets > SHARD_BYTES:
        buckets *= 2
    return buckets


def _finish(shards: dict[int, dict[str, str]], docs: dict[int, list[dict[str, Any]]], buckets: int,
            state: dict[str, Any]) -> SiteIndex:
    """Write `shards` and `docs` groups (the changed ones; empty ones dropped) over `state`."""
    files: dict[str, bytes] = {}
    shard_state = {b: list(v) for b, v in state.get("shards", {}).items()}
    docs_state = dict(state.get("docs", {}))
    for b, content in sorted(shards.items()):
        shard_state.pop(str(b), None)
        if content:
            data = _script("archaShard", b, dict(sorted(content.items())))
            name = _named(f"t{b}", data)
            files[name] = data
            shard_state[str(b)] = [name, _size(content)]
    for g, items in sorted(docs.items()):
        docs_state.pop(str(g), None)
        if items:
            data = _script("archaDocs", g, sorted(items, key=lambda d: int(d["k"])))
            name = _named(f"d{g}", data)
            files[name] = data
            docs_state[str(g)] = name
    shard_state = dict(sorted(shard_state.items(), key=lambda kv: int(kv[0])))
    docs_state = dict(sorted(docs_state.items(), key=lambda kv: int(kv[0])))
    site = {"buckets": buckets, "group": DOCS_GROUP, "docs": docs_state,
            "shards": {b: v[0] for b, v in shard_state.items()}}
    files["site.js"] = ("var ARCHA_SITE = " + json.dumps(site, separators=(",", ":")) + ";\n").encode("utf-8")
    names = {v[0] for v in shard_state.values()} | set(docs_state.values()) | {"site.js"}
    new_state = {"buckets": buckets, "size": sum(int(v[1]) for v in shard_state.values()), "shards": shard_state,
                 "docs": docs_state}
    return SiteIndex(files, names, new_state)


def build(parts: Iterable[tuple[int, str, dict[str, Any]]], buckets: int = 0) -> SiteIndex:
    """The index of the records `parts` (record number k, its UUID, its part), records in
    the order of k, in `buckets` shards (default: as many as its size calls for)."""
    parts = sorted(parts, key=lambda p: p[0])
    encoded = _postings(parts)
    buckets = buckets or _target(sum(len(t) + len(p) + 6 for t, p in encoded.items()))
    shards: dict[int, dict[str, str]] = {}
    for tok in sorted(encoded):
        shards.setdefault(bucket(tok, buckets), {})[tok] = encoded[tok]
    docs: dict[int, list[dict[str, Any]]] = {}
    for k, uuid, part in parts:
        docs.setdefault(k // DOCS_GROUP, []).append(_doc(k, uuid, part))
    return _finish(shards, docs, buckets, {})


def update(state: dict[str, Any] | None, read: Callable[[str], bytes], drop: dict[int, str],
           add: Iterable[tuple[int, str, dict[str, Any]]]) -> SiteIndex | None:
    """The index `state` describes, less the records `drop` (number -> its part_mask: removed
    records and the old parts of replaced ones), plus the parts `add`; `read(name)` gives a
    data file of the index now. Only the shards and docs groups those records touch are read
    and made anew. None when the index must be made anew by `build` (see the module
    docstring)."""
    if not state or not isinstance(state.get("shards"), dict) or not isinstance(state.get("docs"), dict):
        return None
    buckets = int(state.get("buckets") or 0)
    if buckets < 1 or MAX_BUCKETS % buckets:
        return None
    add = sorted(add, key=lambda p: p[0])
    encoded = _postings(add)
    touched: set[int] = set()
    for mask in drop.values():
        touched |= mask_buckets(mask, buckets)
    touched |= {bucket(tok, buckets) for tok in encoded}
    groups = {k // DOCS_GROUP for k in drop} | {k // DOCS_GROUP for k, _u, _p in add}
    gone = set(drop) | {k for k, _u, _p in add}

    def load(call: str, name: str) -> Any:
        data = read(name)
        if _named(name.split("-", 1)[0], data) != name:
            raise ValueError(f"{name}: not the bytes its name is the digest of")
        return _unscript(call, data)

    shards: dict[int, dict[str, str]] = {}
    docs: dict[int, list[dict[str, Any]]] = {}
    try:
        for b in sorted(touched):
            old = state["shards"].get(str(b))
            content: dict[str, str] = dict(load("archaShard", str(old[0]))) if old else {}
            kept: dict[str, str] = {}
            for tok, plist in content.items():
                left = [g for g in plist.split(";") if int(g.split(":", 1)[0].rstrip("!")) not in gone]
                if left:
                    kept[tok] = ";".join(left)
            shards[b] = kept
        for g in sorted(groups):
            name = state["docs"].get(str(g))
            items = [d for d in (load("archaDocs", str(name)) if name else []) if int(d["k"]) not in gone]
            docs[g] = items
    except (OSError, ValueError, TypeError, KeyError, IndexError):
        return None
    for tok, plist in encoded.items():
        shard = shards[bucket(tok, buckets)]
        groups_of = (shard[tok].split(";") if tok in shard else []) + plist.split(";")
        shard[tok] = ";".join(sorted(groups_of, key=lambda g: int(g.split(":", 1)[0].rstrip("!"))))
    for k, uuid, part in add:
        docs[k // DOCS_GROUP].append(_doc(k, uuid, part))
    size = int(state.get("size") or 0) - sum(int(state["shards"][str(b)][1]) for b in touched
                                              if str(b) in state["shards"]) + sum(map(_size, shards.values()))
    target = _target(size)
    if target > buckets or target * 4 < buckets:
        return None
    return _finish(shards, docs, buckets, state)
