"""Running the pathways' external tools (shared by pathways.py and the migrate_* modules): the
tool names, finding their executables, the subprocess runner and its environment, and what a
runner hands back (`Made`).

Every external tool runs as a subprocess with stdin closed, a timeout (per run), a minimal
environment whose HOME, TMPDIR and LibreOffice profile live in a helper folder (`HELPER`)
inside the work folder (removed afterwards), and writes to a fixed name in that folder; the
verified output is then renamed to `<source stem><extension>` in the work folder
(`place_output`). `run_tool` never raises: a tool that cannot start, fails or runs out of time
is a problem string; nothing is written outside the work folder. A tool never outlives the run
that started it: its process group is killed on a timeout and on anything that ends the run
early (Ctrl-C, an error), and by a guard process when archa itself is killed (kill -9).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

GS, LO, PILLOW, FFMPEG = "Ghostscript", "LibreOffice", "OpenJPEG (Pillow)", "ffmpeg"
HELPER = ".archa-tool"  # the helper folder inside the work folder


@dataclass
class Made:
    """What a pathway's runner made: the output placed in the work folder (None on failure), the
    command as shown in the PREMIS event, and why it failed or what it did not carry."""
    output: Path | None
    command: str
    problem: str = ""
    note: str = ""


def executables(tool: str) -> list[str] | None:
    """The tool's executables found on PATH (looked up on each call), None if one is missing."""
    if tool == GS:
        names: list[list[str]] = [["gs"]]
    elif tool == LO:
        names = [["soffice", "libreoffice"]]
    else:
        names = [["ffmpeg"], ["ffprobe"]]
    found = [next((p for p in map(shutil.which, alternatives) if p), None) for alternatives in names]
    return None if None in found else [p for p in found if p]


def tool_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "TMPDIR": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "SAL_USE_VCLPLUGIN": "svp"}


def tail(data: bytes, lines: int = 4) -> str:
    text = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    return " | ".join(t for t in text[-lines:] if not t.startswith("Warning: failed to launch javaldx"))


# The guard: one small process per archa process, told the process group of each tool while it
# runs, on a pipe from archa. When archa is gone, however it ended (kill -9 too), the pipe
# reaches its end and the guard kills the groups still running: a tool (LibreOffice's
# soffice.bin too, a grandchild) never outlives the command that started it.
GUARD = """import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
groups = set()
for line in sys.stdin:
    (groups.add if line[0] == "+" else groups.discard)(int(line[1:]))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""
_guard: subprocess.Popen[str] | None = None
_guard_lock = threading.Lock()


def _watch(group: int, running: bool) -> None:
    """Tell the guard (started on first use) that the process group `group` runs, or ended.
    Best effort: without a guard a tool is still killed on a timeout and on an exception."""
    global _guard
    with _guard_lock:
        try:
            if _guard is None or _guard.poll() is not None:
                if not running:
                    return
                _guard = subprocess.Popen([sys.executable, "-c", GUARD], stdin=subprocess.PIPE, text=True,
                                          cwd="/", start_new_session=True, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)  # never holding archa's stderr open
            assert _guard.stdin is not None
            _guard.stdin.write(f"{'+' if running else '-'}{group}\n")
            _guard.stdin.flush()
        except OSError:
            pass


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_tool(cmd: list[str], *, cwd: Path, env: dict[str, str],
             timeout: float) -> tuple[int, bytes, bytes, str]:
    """(exit status, stdout, stderr, problem); the whole process group is killed on timeout,
    and on any exception (KeyboardInterrupt too), which is then raised."""
    name = Path(cmd[0]).name
    # a Ctrl-C while the tool starts (the tool may run before Popen returns) is held until the
    # tool is known and guarded, then raised where the tool is killed with it
    held: list[int] = []
    # (the main thread only, and a handler Python knows: one set outside Python is left alone)
    restore = threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not None
    before = signal.signal(signal.SIGINT, lambda n, _f: held.append(n)) if restore else signal.SIG_DFL
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as e:
        if restore:
            signal.signal(signal.SIGINT, before)
        if held:
            raise KeyboardInterrupt from None
        return -1, b"", b"", f"{name} could not be started: {e}"
    try:
        _watch(proc.pid, True)
        if restore:
            signal.signal(signal.SIGINT, before)
            restore = False
        if held:
            raise KeyboardInterrupt
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        return -1, b"", b"", f"{name} did not finish within {timeout:g} s and was stopped"
    except BaseException:  # Ctrl-C, or anything else that ends the run: the tool ends with it
        _kill_group(proc)
        proc.wait()
        raise
    finally:
        if restore:
            signal.signal(signal.SIGINT, before)
        _watch(proc.pid, False)
    if proc.returncode != 0:
        why = tail(err) or tail(out) or "no message"
        return proc.returncode, out, err, f"{name} exited with status {proc.returncode}: {why}"
    return 0, out, err, ""


def shown_command(cmd: list[str], names: dict[Path, str]) -> str:
    """The command line with the executable's name only and paths as the names they stand for."""
    out = [Path(cmd[0]).name]
    for arg in cmd[1:]:
        for path, name in names.items():
            arg = arg.replace(str(path), name)
        out.append(shlex.quote(arg))
    return " ".join(out)


def place_output(made: Path, work: Path, src: Path, extension: str) -> Path:
    target = work / (src.stem + extension)
    os.replace(made, target)
    return target
