"""Debian's headless chromium, for the tests that look at the pages archa writes.

Two ways to look at a page. Without `until`, `dump_dom` and `screenshot` run one
`chromium --dump-dom` / `--screenshot`: right for a page whose scripts finish by its load
event. A page that keeps working after it (tiles, a search index) says when it is done
(`data-tiles-loaded` on the viewer, `data-state="done"` on the search page); give that
signal as `until`, a JavaScript expression, and the helper drives Chromium over the DevTools
protocol (`Cdp`) and waits in real time, up to `WAIT` seconds, until the expression is true.
Never wait with `--virtual-time-budget`: virtual time runs ahead of the tile decoding and
drawing on a loaded or cold machine, and the DOM is dumped before the page has finished.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Self

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--allow-file-access-from-files"]
WAIT = 60.0  # seconds of real time a page gets to give its signal; a healthy page takes one or two


def chromium() -> str:
    """Debian's chromium; the test fails without it (`make test` installs it, as CI runs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "this test needs Debian's chromium (make test installs it: apt-get install chromium)"
    return found


def dump_dom(browser: str, page: Path, *flags: str, fragment: str = "", until: str = "") -> str:
    """The DOM after the page's scripts ran; `fragment` is added to its URL (`#p0002`,
    `?q=words`). With `until`, the DOM at the first moment that expression is true in the
    page (AssertionError after `WAIT` seconds without it); `--window-size=W,H` in `flags`
    then sets the viewport."""
    if until:
        with Cdp(browser, *flags) as cdp:
            cdp.open(page.as_uri() + fragment, until=until, size=_size(flags))
            return cdp.dom()
    return subprocess.run([browser, *FLAGS, *flags, "--dump-dom", page.as_uri() + fragment], capture_output=True,
                          text=True, timeout=120, check=True).stdout


def screenshot(browser: str, page: Path, shot: Path, *flags: str, fragment: str = "", until: str = "") -> Path:
    """A PNG of the page's viewport (`--window-size=W,H`, default 800,600) written to `shot`.
    With `until`, taken once that expression is true and the page has drawn two frames
    since (so what the signal announced is on the screen)."""
    if until:
        with Cdp(browser, *flags) as cdp:
            cdp.open(page.as_uri() + fragment, until=until, size=_size(flags) or (800, 600))
            cdp.frames(2)
            shot.write_bytes(cdp.screenshot())
        return shot
    subprocess.run([browser, *FLAGS, *flags, f"--screenshot={shot}", page.as_uri() + fragment],
                   capture_output=True, timeout=120, check=True)
    return shot


def _size(flags: tuple[str, ...]) -> tuple[int, int] | None:
    for f in flags:
        if f.startswith("--window-size="):
            w, h = f.removeprefix("--window-size=").split(",")
            return int(w), int(h)
    return None


class CdpError(AssertionError):
    """Chromium answered a DevTools call with an error, or an expression threw in the page."""


class Cdp:
    """Chromium driven over --remote-debugging-pipe (the DevTools protocol, messages ended
    by NUL on fds 3 and 4), with a throwaway profile: open a page, wait for its signal, read
    its DOM, evaluate in it, take a screenshot. Use as a context manager (the browser is
    closed, or killed, on the way out). `flags` go to chromium after `FLAGS`; a
    `--virtual-time-budget` is refused (it is what this class replaces)."""

    def __init__(self, browser: str, *flags: str, profile: Path | None = None) -> None:
        assert not any(f.startswith("--virtual-time-budget") for f in flags), "wait with until=, not virtual time"
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        if profile is None:
            self._profile = tempfile.TemporaryDirectory(prefix="archa-chromium-", ignore_cleanup_errors=True)
            profile = Path(self._profile.name)
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # a small trampoline puts the pipe's ends on the fds chromium reads and writes (3 and 4)
        place = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
                 "os.execv(sys.argv[3], sys.argv[3:])")
        self.proc = subprocess.Popen([sys.executable, "-c", place, str(to_child_r), str(from_child_w), browser,
                                      *FLAGS, *flags, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                                      "about:blank"],
                                     pass_fds=(to_child_r, from_child_w), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.n = 0
        self.session = ""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command (to the attached page, once there is one) and return its result;
        CdpError when Chromium answers with an error, AssertionError when it does not
        answer within `WAIT` seconds."""
        self.n += 1
        msg: dict[str, Any] = {"id": self.n, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + WAIT
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.n:
                    if "error" in reply:
                        raise CdpError(f"{method}: {reply['error']}")
                    return dict(reply.get("result", {}))
            assert time.monotonic() < deadline, f"chromium did not answer {method} in {WAIT:.0f} s"
            ready, _w, _x = select.select([self.from_child], [], [], 1)
            if ready:
                chunk = os.read(self.from_child, 1 << 16)
                assert chunk, "chromium went away"
                self.buf += chunk

    def open(self, url: str, until: str = "", size: tuple[int, int] | None = None) -> None:
        """Open `url` in a new page (a viewport of `size` CSS pixels, when given, set before it
        loads) and wait until its document is the one asked for and, with `until`, that
        expression is true in it."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        if size:
            self.call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1,
                      mobile=False)
        nav = self.call("Page.navigate", url=url)
        assert not nav.get("errorText"), f"{url}: {nav['errorText']}"
        path = url.split("#")[0].split("?")[0]  # the page may rewrite its query and fragment (replaceState)
        self.wait(f"location.protocol + '//' + location.host + location.pathname === {json.dumps(path)}"
                  " && document.readyState === 'complete'")
        if until:
            self.wait(until)

    def value(self, expression: str) -> Any:
        """`expression` evaluated in the page (promises awaited), returned by value."""
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            raise CdpError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait(self, expression: str, seconds: float = WAIT) -> None:
        """Poll until `expression` is true in the page, in real time; AssertionError after
        `seconds`, with the start of the page's body. An exception thrown by the expression,
        or an evaluation lost to a navigation, counts as not yet."""
        deadline = time.monotonic() + seconds
        last: object = None
        while True:
            try:
                if self.value(expression):
                    return
            except CdpError as e:  # a context destroyed by navigation; a name not defined yet
                last = e
            if time.monotonic() > deadline:
                try:
                    body = str(self.value("document.body ? document.body.outerHTML.slice(0, 500) : ''"))
                except CdpError as e:
                    body = str(e)
                raise AssertionError(f"never true in {seconds:.0f} s: {expression} (last error: {last}); {body}")
            time.sleep(0.1)

    def frames(self, n: int) -> None:
        """Return after the page has drawn `n` more animation frames."""
        for _ in range(n):
            self.value("new Promise(r => requestAnimationFrame(() => r(true)))")

    def dom(self) -> str:
        """The page's DOM serialised, as `chromium --dump-dom` prints it."""
        return str(self.value("document.documentElement.outerHTML"))

    def screenshot(self) -> bytes:
        """A PNG of the page's viewport."""
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        """Close the browser (kill it when it does not close) and drop the profile."""
        self.session = ""
        try:
            self.call("Browser.close")
            self.proc.wait(timeout=30)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=30)
        finally:
            os.close(self.to_child)
            os.close(self.from_child)
            if self._profile is not None:
                self._profile.cleanup()
