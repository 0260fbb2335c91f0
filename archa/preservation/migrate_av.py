"""The audio and video pathways (ffmpeg): audio to FLAC, and video to FFV1 (with FLAC audio) in
Matroska, and the verification of what they make.

Streams are read with ffprobe first: audio-flac takes the one audio stream of its source (a
source with none or several is refused), video-ffv1 every video and audio stream (not attached
pictures such as cover art); what is not carried is said in the note. Full-range (JPEG) YUV
stays full range. An output is verified by decoding each stream to the same samples (PCM at the
FLAC's bit depth) and the same frames (at the source's pixel format) as the source's, in a
helper folder beside the output.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from archa.preservation.toolrun import (
    FFMPEG,
    HELPER,
    Made,
    executables,
    place_output,
    run_tool,
    shown_command,
    tool_env,
)

# PRONOM PUIDs, as Siegfried names them on files made with the tools of this machine
AUDIO = ("fmt/134", "x-fmt/279", "fmt/132", "x-fmt/135", "fmt/414", "x-fmt/136")  # MP3, WMA, AIFF, AIFF-C
VIDEO = ("fmt/5", "fmt/199", "x-fmt/384", "fmt/649", "fmt/640", "x-fmt/385", "x-fmt/386", "fmt/585",
         "fmt/133", "fmt/131", "fmt/441")  # AVI, MP4, QuickTime, MPEG-1/2 ES and PS, MPEG-2 TS, WMV, ASF
FLAC, MATROSKA = "fmt/279", "fmt/569"


def _ffmpeg(home: Path, timeout: float, path: Path, *args: str) -> tuple[bytes, str]:
    """(stdout, problem) of ffmpeg reading `path` (`args` end with the output)."""
    exes = executables(FFMPEG) or ["ffmpeg"]
    cmd = [exes[0], "-nostdin", "-hide_banner", "-loglevel", "error", "-i", f"file:{path}", *args]
    _rc, out, _err, problem = run_tool(cmd, cwd=home, env=tool_env(home), timeout=timeout)
    return out, problem


def _probe(home: Path, timeout: float, path: Path) -> tuple[list[dict[str, Any]], str]:
    exes = executables(FFMPEG) or ["ffmpeg", "ffprobe"]
    _rc, out, _err, problem = run_tool([exes[-1], "-v", "error", "-show_streams", "-of", "json",
                                        f"file:{path}"], cwd=home, env=tool_env(home), timeout=timeout)
    if problem:
        return [], f"ffprobe cannot read {path.name}: {problem}"
    return list(json.loads(out or b"{}").get("streams", [])), ""


def _streams(streams: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The streams of `kind` ("video": not attached pictures such as cover art)."""
    return [s for s in streams if s.get("codec_type") == kind
            and not (s.get("disposition") or {}).get("attached_pic")]


def _transcode(src: Path, work: Path, helper: Path, timeout: float, ext: str, maps: list[dict[str, Any]],
               streams: list[dict[str, Any]], args: list[str]) -> Made:
    out = helper / ("out" + ext)
    mapped = [a for s in maps for a in ("-map", f"0:{s['index']}")]
    cmd_args = [*mapped, *args, "-map_metadata", "0", f"file:{out}"]
    shown = shown_command([*(executables(FFMPEG) or ["ffmpeg"])[:1], "-nostdin", "-hide_banner", "-loglevel",
                           "error", "-i", f"file:{src}", *cmd_args], {out: src.stem + ext, src: src.name})
    _out, problem = _ffmpeg(helper, timeout, src, *cmd_args)
    others = sorted({f"{s.get('codec_type')} stream {s.get('index')}" for s in streams if s not in maps})
    return Made(None if problem else place_output(out, work, src, ext), shown, problem,
                 f"not carried: {', '.join(others)}" if others else "")


def run_flac(src: Path, work: Path, helper: Path, _puid: str, timeout: float) -> Made:
    streams, problem = _probe(helper, timeout, src)
    audio = _streams(streams, "audio")
    if not problem and len(audio) != 1:
        problem = f"{src.name} has {len(audio)} audio streams; a FLAC file holds exactly one"
    if problem:
        return Made(None, "", problem)
    return _transcode(src, work, helper, timeout, ".flac", audio, streams, ["-c:a", "flac"])


def run_ffv1(src: Path, work: Path, helper: Path, _puid: str, timeout: float) -> Made:
    streams, problem = _probe(helper, timeout, src)
    video, audio = _streams(streams, "video"), _streams(streams, "audio")
    if not problem and not video:
        problem = f"{src.name} has no video stream"
    if problem:
        return Made(None, "", problem)
    args = []
    for i, s in enumerate(video):  # full-range (JPEG) YUV stays full range, not squeezed into TV range
        if str(s.get("pix_fmt", "")).startswith("yuvj"):
            args += [f"-filter:v:{i}", f"scale=in_range=full:out_range=full,format=yuv{str(s['pix_fmt'])[4:]}",
                     f"-color_range:v:{i}", "pc"]
    args += ["-c:v", "ffv1", "-level", "3", "-g", "1", "-slicecrc", "1", "-c:a", "flac", "-fps_mode", "passthrough"]
    return _transcode(src, work, helper, timeout, ".mkv", video + audio, streams, args)


def _same_audio(home: Path, timeout: float, src: Path, s: dict[str, Any], output: Path, o: dict[str, Any],
                i: int) -> tuple[str, str]:
    """(what was compared, problem) of source stream `s` and the output's audio stream `o` (number i),
    decoded to the PCM of the FLAC's bit depth."""
    if o.get("codec_name") != "flac":
        return "", f"output audio stream {i} is {o.get('codec_name')}, not FLAC"
    for key in ("sample_rate", "channels"):
        if str(s.get(key)) != str(o.get(key)):
            return "", f"audio stream {i}: {key} is {o.get(key)} in the output, {s.get(key)} in the source"
    bits = int(o.get("bits_per_raw_sample") or 0) or (16 if o.get("sample_fmt") == "s16" else 32)
    pcm = "s16le" if bits <= 16 else "s24le" if bits <= 24 else "s32le"
    digests = []
    for path, spec in ((src, f"0:{s['index']}"), (output, f"0:a:{i}")):
        out, problem = _ffmpeg(home, timeout, path, "-map", spec, "-c:a", f"pcm_{pcm}", "-f", "md5", "-")
        if problem:
            return "", f"the audio of {path.name} cannot be decoded: {problem}"
        digests.append(out.decode("ascii", "replace").strip().removeprefix("MD5="))
    if digests[0] != digests[1]:
        return "", (f"audio stream {i} does not decode to the source's samples (as {pcm} PCM, MD5 "
                    f"{digests[1]} in the output, {digests[0]} in the source)")
    return f"audio {i}: same samples as {pcm} PCM ({s.get('sample_rate')} Hz, {s.get('channels')} ch)", ""


def _same_video(home: Path, timeout: float, src: Path, s: dict[str, Any], output: Path, o: dict[str, Any],
                i: int) -> tuple[str, str]:
    """(what was compared, problem): every frame decoded at the source's pixel format."""
    if o.get("codec_name") != "ffv1":
        return "", f"output video stream {i} is {o.get('codec_name')}, not FFV1"
    pix_fmt = str(s.get("pix_fmt") or o.get("pix_fmt"))
    frames = []
    for path, spec in ((src, f"0:{s['index']}"), (output, f"0:v:{i}")):
        out, problem = _ffmpeg(home, timeout, path, "-map", spec, "-fps_mode", "passthrough", "-pix_fmt", pix_fmt,
                               "-c:v", "rawvideo", "-f", "framemd5", "-")
        if problem:
            return "", f"video stream {i} of {path.name} cannot be decoded: {problem}"
        frames.append([ln.rsplit(",", 1)[-1].strip() for ln in out.decode("ascii", "replace").splitlines()
                       if ln and not ln.startswith("#")])
    ours, theirs = frames
    if len(ours) != len(theirs):
        return "", f"video stream {i} has {len(theirs)} frames in the output, {len(ours)} in the source"
    bad = next((n for n, (a, b) in enumerate(zip(ours, theirs)) if a != b), None)
    if bad is not None:
        return "", f"video stream {i}: frame {bad} (of {len(ours)}) does not decode to the source's pixels"
    return f"video {i}: {len(ours)} frames decode to the source's pixels ({pix_fmt})", ""


def check_av(src: Path, output: Path, timeout: float, video: bool) -> tuple[list[str], list[str]]:
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=HELPER) as tmp:  # beside the output
        home = Path(tmp)
        (source, p1), (made, p2) = _probe(home, timeout, src), _probe(home, timeout, output)
        if p1 or p2:
            return [], [p for p in (p1, p2) if p]
        done: list[str] = []
        problems: list[str] = []
        for kind in ("video", "audio") if video else ("audio",):
            ours, theirs = _streams(source, kind), _streams(made, kind)
            ours = ours if video else ours[:1]
            if len(ours) != len(theirs):
                problems.append(f"the output has {len(theirs)} {kind} stream(s), the source {len(ours)}")
                continue
            same = _same_video if kind == "video" else _same_audio
            for i, (s, o) in enumerate(zip(ours, theirs)):
                what, problem = same(home, timeout, src, s, output, o, i)
                done += [what] if what else []
                problems += [problem] if problem else []
    return done, problems
