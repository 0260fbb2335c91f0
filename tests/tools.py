"""Tests that run Debian's tools (Ghostscript, LibreOffice, ffmpeg, OpenJPEG): skipped where a
tool is missing, except under `make test` (ARCHA_REQUIRE_TOOLS=1), which installs them, so a
missing tool there fails the test instead of hiding it."""

from __future__ import annotations

import os
import shutil

import pytest


def needs(*tools: str) -> pytest.MarkDecorator:
    missing = [t for t in tools if shutil.which(t) is None]
    required = os.environ.get("ARCHA_REQUIRE_TOOLS") == "1"
    return pytest.mark.skipif(bool(missing) and not required,
                              reason=f"{', '.join(missing)} not installed (`make test` installs Debian's packages)")
