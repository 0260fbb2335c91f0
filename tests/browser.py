"""Debian's headless chromium, for the tests that look at the pages archa writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--allow-file-access-from-files"]


def chromium() -> str:
    """Debian's chromium; the test fails without it (`make test` installs it, as CI runs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "this test needs Debian's chromium (make test installs it: apt-get install chromium)"
    return found


def dump_dom(browser: str, page: Path, *flags: str, fragment: str = "") -> str:
    """The DOM after the page's scripts ran; `fragment` is added to its URL (`#p0002`)."""
    return subprocess.run([browser, *FLAGS, *flags, "--dump-dom", page.as_uri() + fragment], capture_output=True,
                          text=True, timeout=120, check=True).stdout


def screenshot(browser: str, page: Path, shot: Path, *flags: str) -> Path:
    subprocess.run([browser, *FLAGS, *flags, f"--screenshot={shot}", page.as_uri()], capture_output=True,
                   timeout=120, check=True)
    return shot
