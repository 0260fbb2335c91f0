"""The prebuilt search index of the public site, read by `search.js` in the browser.

Words are folded as the catalog's indexes fold them (`pgpages.fold`: no diacritics, lower
case) and split into runs of letters and digits, so `skola` finds `Škola` here as in
`archa search`. Each published record contributes a *part* (`record_part`): the tokens of
its metadata and, per page, the tokens of its OCR text. The site's index is made from the
parts of every published record (`build`):

    search/site.js            var ARCHA_SITE = {"buckets": N, "docs": "docs-<hash>.js",
                                                "shards": {"<bucket>": "t<bucket>-<hash>.js"}}
    search/docs-<hash>.js     archaDocs([{"k": 3, "id": "<uuid>", "t": title, "o": originator,
                                          "d": date, "p": {"<seq>": "<page label>"}}, ...])
    search/t<b>-<hash>.js     archaShard(<b>, {"<token>": "<postings>", ...})

A token lives in the bucket `bucket(token, N)` (FNV-1a of its first two characters, so that
every token sharing a prefix of two or more characters is in one file: `word*` loads one
shard). Its postings are groups `k[!][:s1,s2,...]` joined by `;`: the record number `k`
(stable across runs: the publish state assigns it), `!` when the record's metadata holds the
token, then the pages whose text holds it. Data files are named by a digest of their
content, so a run rewrites only the shards whose content changed, and `site.js` (replaced
last, atomically) is the one switch from the old index to the new one. The files are
scripts (not JSON fetched by the page): a page opened from the file system may load
scripts but not fetch files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from archa.repository.catalog.pgpages import fold

TOKEN = re.compile(r"[^\W_]+")  # runs of letters and digits (search.js: /[\p{L}\p{N}]+/u)
SHARD_BYTES = 256 << 10  # aim: a shard a browser loads in a moment
MAX_BUCKETS = 4096


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
    """The files of the index: name -> bytes (every data file and `site.js`)."""

    files: dict[str, bytes]

    @property
    def names(self) -> set[str]:
        return set(self.files)


def _script(call: str, *args: Any) -> bytes:
    body = ", ".join(json.dumps(a, ensure_ascii=False, separators=(",", ":")) for a in args)
    return f"{call}({body});\n".replace("</", "<\\/").encode("utf-8")


def _named(prefix: str, data: bytes) -> str:
    return f"{prefix}-{hashlib.sha256(data).hexdigest()[:16]}.js"


def build(parts: Iterable[tuple[int, str, dict[str, Any]]]) -> SiteIndex:
    """The index of the records `parts` (record number k, its UUID, its part), records in
    the order given."""
    docs: list[dict[str, Any]] = []
    postings: dict[str, dict[int, tuple[bool, list[int]]]] = {}
    for k, uuid, part in parts:
        docs.append({"k": k, "id": uuid, "t": part["title"], "o": part["originator"], "d": part["date"],
                     "p": {str(seq): label for seq, label, _toks in part["pages"]}})
        for tok in part["meta"]:
            postings.setdefault(tok, {})[k] = (True, [])
        for seq, _label, toks in part["pages"]:
            for tok in toks:
                entry = postings.setdefault(tok, {}).setdefault(k, (False, []))
                entry[1].append(int(seq))
    encoded = {tok: ";".join(f"{k}{'!' if meta else ''}" + (":" + ",".join(map(str, seqs)) if seqs else "")
                             for k, (meta, seqs) in recs.items())
               for tok, recs in postings.items()}
    size = sum(len(t) + len(p) + 6 for t, p in encoded.items())
    buckets = 1
    while buckets < MAX_BUCKETS and size / buckets > SHARD_BYTES:
        buckets *= 2
    shards: dict[int, dict[str, str]] = {}
    for tok in sorted(encoded):
        shards.setdefault(bucket(tok, buckets), {})[tok] = encoded[tok]
    files: dict[str, bytes] = {}
    shard_names: dict[str, str] = {}
    for b, content in sorted(shards.items()):
        data = _script("archaShard", b, content)
        name = _named(f"t{b}", data)
        files[name] = data
        shard_names[str(b)] = name
    data = _script("archaDocs", docs)
    docs_name = _named("docs", data)
    files[docs_name] = data
    site = {"buckets": buckets, "docs": docs_name, "shards": shard_names}
    files["site.js"] = ("var ARCHA_SITE = " + json.dumps(site, separators=(",", ":")) + ";\n").encode("utf-8")
    return SiteIndex(files)
