"""Reading a large JSON document (an OCFL inventory, a packed copy's index) as a stream.

`json.loads` of an inventory of a million files builds a million-entry dict (gigabytes);
`JsonStream` walks the document member by member instead: the caller asks for the members
of an object (`members`), decodes a small value whole (`value`) or skips it (`skip`), so
memory holds one entry at a time and a window of the text.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import IO, Any

_DECODER = json.JSONDecoder()
_WS = " \t\r\n"
_NUMBER = frozenset("-+0123456789.eE")


class JsonStream:
    """A JSON document read from the binary file `f` in chunks of `chunk` bytes."""

    def __init__(self, f: IO[bytes], chunk: int = 1 << 20) -> None:
        self.f = f
        self.chunk = chunk
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf = ""
        self.pos = 0
        self.eof = False

    def _more(self) -> bool:
        """Read the next chunk into the window (dropping what was read); False at the end."""
        if self.eof:
            return False
        data = self.f.read(self.chunk)
        self.eof = not data
        self.buf = self.buf[self.pos:] + self.decoder.decode(data, final=self.eof)
        self.pos = 0
        return not self.eof or bool(self.buf)

    def _peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def _expect(self, char: str) -> None:
        got = self._peek()
        if got != char:
            raise ValueError(f"JSON: expected {char!r} at character {self.pos}, found {got!r}")
        self.pos += 1

    def value(self) -> Any:
        """Decode the next value whole (for values that are small)."""
        first = self._peek()
        if first in _NUMBER:  # a number must not be cut at the window's end: read to its end
            end = self.pos
            while True:
                while end < len(self.buf) and self.buf[end] in _NUMBER:
                    end += 1
                if end < len(self.buf) or self.eof:
                    break
                end -= self.pos
                self._more()
                end += self.pos
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as e:
                if not self._more():
                    raise ValueError(f"JSON: {e}") from e
                continue
            self.pos = end
            return obj

    def _opens(self, bracket: str, close: str) -> bool:
        """Step over `bracket`; False when the container is empty (its `close` stepped over too)."""
        self._expect(bracket)
        if self._peek() == close:
            self.pos += 1
            return False
        return True

    def _next(self, close: str) -> bool:
        """Step over the separator after an entry: True for ',' (another entry), False at `close`."""
        sep = self._peek()
        self.pos += 1
        if sep not in (",", close):
            raise ValueError(f"JSON: expected ',' or {close!r} at character {self.pos - 1}, found {sep!r}")
        return sep == ","

    def members(self) -> Iterator[str]:
        """The keys of the object that comes next; after each key the caller must read its
        value (`value`, `skip`, or `members`/`items` of a nested one) before the next."""
        more = self._opens("{", "}")
        while more:
            key = self.value()
            self._expect(":")
            yield str(key)
            more = self._next("}")

    def items(self) -> Iterator[None]:
        """Step through the array that comes next: read each item (as for `members`) per step."""
        more = self._opens("[", "]")
        while more:
            yield None
            more = self._next("]")

    def skip(self) -> None:
        """Pass over the next value without building it (nested objects and arrays too)."""
        first = self._peek()
        if first == "{":
            for _key in self.members():
                self.skip()
        elif first == "[":
            for _item in self.items():
                self.skip()
        else:
            self.value()
