"""The identifier interface and the fido engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from archa.demo import pdf_bytes, png_bytes
from archa.errors import UsageError
from archa.preservation.identify import UNKNOWN, get_identifier, identify_many


def test_fido_identifies_and_reports_its_versions(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(pdf_bytes("x"))
    (tmp_path / "noext").write_bytes(png_bytes())
    (tmp_path / "zero").write_bytes(b"")
    ident = get_identifier("fido")
    pdf = ident.identify(tmp_path / "a.pdf")
    assert (pdf.puid, pdf.mime, pdf.version, pdf.basis) == ("fmt/18", "application/pdf", "1.4", "signature")
    assert pdf.engine == "fido" and pdf.engine_version and "PRONOM v" in pdf.signature_version
    assert ident.identify(tmp_path / "noext").puid == "fmt/11"  # by signature, not by name
    zero = ident.identify(tmp_path / "zero")
    assert zero.puid == UNKNOWN and zero.basis == "none" and "Zero byte file" in zero.warning


def test_signatures_are_loaded_once_per_process() -> None:
    assert get_identifier("fido") is get_identifier("fido")


def test_unknown_engine_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown identification engine 'magic'"):
        get_identifier("magic")


def test_pool_gives_the_same_answers_in_the_same_order(tmp_path: Path) -> None:
    paths = []
    for i in range(100):
        p = tmp_path / f"f{i:03d}"
        p.write_bytes(pdf_bytes(str(i)) if i % 3 == 0 else png_bytes() if i % 3 == 1 else b"text %d\n" % i)
        paths.append(p)
    serial = list(identify_many(paths, "fido", jobs=1))
    pooled = list(identify_many(paths, "fido", jobs=2))
    assert pooled == serial
    assert [r.puid for r in serial[:3]] == ["fmt/18", "fmt/11", UNKNOWN]


@pytest.mark.parametrize("user_limit", [None, "64MiB"])
def test_a_resident_process_gives_siegfried_a_higher_heap_limit(user_limit: str | None) -> None:
    """The watcher's workers call resident_heap() before Siegfried loads: the Go runtime then
    reads RESIDENT_HEAP_LIMIT (a limit set by the user stays); a one-off command keeps the
    lower HEAP_LIMIT. Each in a fresh interpreter, as the Go runtime reads it once."""
    import subprocess
    import sys

    from archa.preservation.identify import HEAP_LIMIT, RESIDENT_HEAP_LIMIT

    env = {k: v for k, v in os.environ.items() if k not in ("GOMEMLIMIT", "GOGC")}
    if user_limit:
        env["GOMEMLIMIT"] = user_limit
    code = ("import os, sys; from archa.preservation import identify as i; "
            "sys.argv[1] == 'resident' and i.resident_heap(); i.SiegfriedIdentifier(); print(os.environ['GOMEMLIMIT'])")
    got = {kind: subprocess.run([sys.executable, "-c", code, kind], env=env, capture_output=True, text=True,
                                check=True).stdout.strip() for kind in ("resident", "one-off")}
    assert got == ({"resident": user_limit, "one-off": user_limit} if user_limit
                   else {"resident": RESIDENT_HEAP_LIMIT, "one-off": HEAP_LIMIT})
    assert RESIDENT_HEAP_LIMIT != HEAP_LIMIT
