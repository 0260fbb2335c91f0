"""A real PostgreSQL server for the tests: Debian's `postgresql` (initdb + pg_ctl), one
cluster per test session in a temporary folder, listening on a Unix socket only (no TCP
port at all). Run as the `postgres` user through `runuser` when the tests run as root
(PostgreSQL refuses to run as root). Each test gets a database of its own (`database()`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

BINARIES = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14", "13")]


def pg_bin(name: str) -> str:
    for d in BINARIES:
        if (d / name).is_file():
            return str(d / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: apt-get install postgresql (make test does it)")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgServer:
    folder: Path  # the cluster; its socket is in folder/"socket"
    user: str

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    def url(self, database: str) -> str:
        """A libpq URL of `database` over the Unix socket (no password: trust on the socket)."""
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}"

    def database(self) -> str:
        """A new empty database's URL."""
        name = f"archa_{uuid.uuid4().hex[:12]}"
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def psql(self, database: str, sql: str) -> str:
        r = subprocess.run(_as_postgres([pg_bin("psql"), "-X", "-q", "-A", "-t", "-h", str(self.socket_dir),
                                         "-U", self.user, "-d", database, "-c", sql]),
                           capture_output=True, text=True, check=True)
        return r.stdout

    def stop(self) -> None:
        subprocess.run(_as_postgres([pg_bin("pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate",
                                     "stop"]), capture_output=True, check=False)


def start(folder: Path) -> PgServer:
    """Create and start a cluster in `folder` (made readable by the postgres user)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "socket").mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(folder / "socket", "postgres")
        for p in folder.parents:  # the postgres user must reach the folder
            if p == Path("/"):
                break
            os.chmod(p, os.stat(p).st_mode | 0o011)
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    data = folder / "data"
    subprocess.run(_as_postgres([pg_bin("initdb"), "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8",
                                 "--locale", "C.UTF-8", "--no-sync"]), capture_output=True, check=True)
    log = folder / "server.log"
    if os.geteuid() == 0:
        log.touch()
        shutil.chown(log, "postgres")
    options = f"-c listen_addresses='' -c unix_socket_directories='{folder / 'socket'}' -c fsync=off " \
              "-c max_connections=100"
    subprocess.run(_as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]),
                   capture_output=True, check=True)
    return PgServer(folder, user)
