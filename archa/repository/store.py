"""The storage-location interface: keys in a local directory or an S3 bucket.

A `Store` is a base path on a local file system (through the os module, which can fsync)
or in an S3 bucket (through pyarrow.fs.S3FileSystem: SeaweedFS, MinIO, Ceph RGW and AWS
are one code path). Keys are '/'-separated paths relative to the base.

Contracts:
- `put(key, chunks)` is atomic and never overwrites: readers see no key or the whole
  content. Locally the bytes go to a temporary name beside the key, are fsynced and
  renamed into place (then the directory is fsynced, the file made read-only); on S3 the
  object appears only when its upload completes. A key that exists raises `KeyExists`.
- `exists(key)` / `size(key)` answer False / None for a key that is not there.
- `open(key)` streams a key; a missing key raises StorageError naming the location.
- `delete(key)` is idempotent (a missing key is not an error).
- Every failure of the underlying file system becomes a StorageError naming the location
  and the key, with a hint.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from archa.errors import StorageError
from archa.repository.config import Location
from archa.repository.durable import READ_ONLY, fsync_dir
from archa.repository.hashing import CHUNK


class KeyMissing(StorageError):
    """The key is not there (as opposed to a location that cannot be reached)."""


class KeyExists(StorageError):
    """A key that is already stored (stored files are never overwritten)."""


@dataclass(frozen=True)
class PutResult:
    """Size and sha256 of the bytes a store write received."""

    size: int
    sha256: str


def s3_credentials(loc: Location) -> tuple[str, str, str]:
    """(access key, secret key, session token) of an S3 location: its own keys; else its
    `profile` in the AWS shared credentials file ($AWS_SHARED_CREDENTIALS_FILE, else
    ~/.aws/credentials); else the AWS_* environment variables. StorageError when none."""
    if loc.access_key and loc.secret_key:
        return loc.access_key, loc.secret_key, loc.session_token
    if loc.profile:
        import configparser

        path = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.expanduser("~/.aws/credentials")
        ini = configparser.ConfigParser()
        ini.read(path, encoding="utf-8")
        if not ini.has_section(loc.profile):
            raise StorageError(f"location {loc.name!r}: no profile {loc.profile!r} in {path}", location=loc.name,
                               hint="add the profile to the credentials file, or give the location its own keys")
        p = ini[loc.profile]
        return p.get("aws_access_key_id", ""), p.get("aws_secret_access_key", ""), p.get("aws_session_token", "")
    access, secret = os.environ.get("AWS_ACCESS_KEY_ID", ""), os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not access or not secret:
        raise StorageError(f"location {loc.name!r}: no S3 credentials", location=loc.name,
                           hint="give the location access_key and secret_key (or a profile) in its table of "
                                "archa.toml, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    return access, secret, os.environ.get("AWS_SESSION_TOKEN", "")


def _s3_filesystem(loc: Location) -> Any:
    import pyarrow.fs as pafs

    if not loc.endpoint:
        raise StorageError(f"location {loc.name!r}: an s3:// location needs an endpoint",
                           location=loc.name, hint="add --endpoint http://HOST:PORT")
    scheme, _, host = loc.endpoint.partition("://")
    if not host:
        scheme, host = "https", loc.endpoint
    access, secret, token = s3_credentials(loc)
    return pafs.S3FileSystem(endpoint_override=host.rstrip("/"), scheme=scheme, access_key=access,
                             secret_key=secret, session_token=token or None, region=loc.region or "us-east-1",
                             connect_timeout=3, request_timeout=30,
                             retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=2))


class Store:
    """Keys below `base` on a pyarrow file system. Build with `Store.for_location`."""

    def __init__(self, name: str, fs: Any, base: str, local: bool) -> None:
        self.name = name
        self.fs = fs
        self.base = base.rstrip("/")
        self.local = local

    @classmethod
    def for_location(cls, loc: Location, repo_root: Path) -> Store:
        if loc.uri.startswith("s3://"):
            bucket_prefix = loc.uri.removeprefix("s3://").strip("/")
            if not bucket_prefix:
                raise StorageError(f"location {loc.name!r}: {loc.uri} names no bucket", location=loc.name,
                                   hint="use s3://BUCKET/PREFIX")
            return cls(loc.name, _s3_filesystem(loc), bucket_prefix, local=False)
        p = Path(loc.uri)
        path = p if p.is_absolute() else repo_root / p
        # Local stores use the os module directly: pyarrow's LocalFileSystem cannot fsync
        # (durable writes need it) and costs ~150 ms of import in every command.
        return cls(loc.name, None, str(path), local=True)

    def __repr__(self) -> str:
        return f"Store({self.name!r}, {self.base!r})"

    def path(self, key: str) -> str:
        return f"{self.base}/{key}" if key else self.base

    def _error(self, what: str, key: str, exc: BaseException) -> StorageError:
        msg = str(exc).split("\n")[0]
        hint = "check that the location is reachable and its credentials and bucket are right"
        if "ACCESS_DENIED" in msg or "InvalidAccessKeyId" in msg or "SignatureDoesNotMatch" in msg:
            hint = "the credentials were refused: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
        elif "NETWORK_CONNECTION" in msg or "Could not connect" in msg:
            hint = "the endpoint does not answer: is the object store running, is the endpoint right?"
        elif "NoSuchBucket" in msg or "NO_SUCH_BUCKET" in msg:
            hint = "the bucket does not exist: create it first"
        return StorageError(f"location {self.name!r}: cannot {what} {key or self.base}: {msg}",
                            location=self.name, path=key, hint=hint)

    # --- queries ------------------------------------------------------------------------

    def size(self, key: str) -> int | None:
        if self.local:
            try:
                st = os.stat(self.path(key))
            except FileNotFoundError:
                return None
            except OSError as e:
                raise self._error("look up", key, e) from e
            return st.st_size if stat.S_ISREG(st.st_mode) else None
        import pyarrow.fs as pafs

        try:
            info = self.fs.get_file_info(self.path(key))
        except OSError as e:
            raise self._error("look up", key, e) from e
        return int(info.size) if info.type == pafs.FileType.File else None

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def list(self, prefix: str = "", sizes: bool = True) -> Iterator[tuple[str, int]]:
        """(key, size) of every file below `prefix`, in no particular order. With `sizes`
        False a local store saves the stat of each file and gives -1 for every size (an
        object store lists sizes for free and always gives them)."""
        if self.local:
            yield from self._list_local(prefix, sizes)
            return
        import pyarrow.fs as pafs

        try:
            infos = self.fs.get_file_info(pafs.FileSelector(self.path(prefix), recursive=True,
                                                            allow_not_found=True))
        except OSError as e:
            raise self._error("list", prefix, e) from e
        cut = len(self.base) + 1
        for info in infos:
            if info.type == pafs.FileType.File:
                yield info.path[cut:], int(info.size)

    def _list_local(self, prefix: str, sizes: bool = True) -> Iterator[tuple[str, int]]:
        top = Path(self.path(prefix))
        cut = len(self.base) + 1
        stack = [str(top)]
        while stack:
            d = stack.pop()
            try:
                entries = list(os.scandir(d))
            except FileNotFoundError:
                continue
            except OSError as e:
                raise self._error("list", prefix, e) from e
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    yield entry.path[cut:], entry.stat(follow_symlinks=False).st_size if sizes else -1

    def check_reachable(self) -> None:
        """Raise StorageError unless the base (bucket) exists and answers."""
        if self.local:
            if not Path(self.base).is_dir():
                raise StorageError(f"location {self.name!r}: the directory {self.base} does not exist",
                                   location=self.name, hint="create the directory first")
            return
        import pyarrow.fs as pafs

        try:
            info = self.fs.get_file_info(self.base.split("/")[0] if not self.local else self.base)
        except OSError as e:
            raise self._error("reach", "", e) from e
        if info.type != pafs.FileType.Directory:
            what = "bucket" if not self.local else "directory"
            raise StorageError(f"location {self.name!r}: the {what} {info.path} does not exist",
                               location=self.name, hint=f"create the {what} first")

    # --- reading ------------------------------------------------------------------------

    def _missing(self, key: str) -> KeyMissing:
        return KeyMissing(f"location {self.name!r}: {key} is missing", location=self.name, path=key,
                          hint="audit the copy and repair it from another")

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        stream = self._opened(key, lambda: open(self.path(key), "rb") if self.local  # noqa: SIM115 - closed below
                              else self.fs.open_input_stream(self.path(key), compression=None))  # bytes as stored
        with stream:
            yield stream

    @contextmanager
    def open_at(self, key: str, offset: int) -> Iterator[IO[bytes]]:
        """`key` opened for reading from byte `offset` (a ranged read on S3)."""
        def at_offset() -> Any:
            handle = open(self.path(key), "rb") if self.local else self.fs.open_input_file(self.path(key))  # noqa: SIM115
            handle.seek(offset)
            return handle

        with self._opened(key, at_offset) as handle:
            yield handle

    def _opened(self, key: str, opener: Callable[[], Any]) -> Any:
        """What `opener` opens. A missing key is KeyMissing; another error is StorageError on
        S3 (the location cannot be read) but stays an OSError locally: a local file that
        exists and cannot be read is damage to that copy, as audits and exports report it."""
        try:
            return opener()
        except FileNotFoundError:
            raise self._missing(key) from None
        except OSError as e:
            if self.local:
                raise
            raise self._error("read", key, e) from e

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    def digest(self, key: str, alg: str = "sha256") -> str:
        """The `alg` digest of a stored key, streamed."""
        h = hashlib.new(alg)
        with self.open(key) as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        return h.hexdigest()

    # --- writing ------------------------------------------------------------------------

    @contextmanager
    def writer(self, key: str, replace: bool = False) -> Iterator[_Writer]:
        """A file-like writer for the new key `key`; the key appears (atomically, see the
        module contract) only when the block ends without an exception. `.result` then
        holds size and sha256 of what was written.

        `replace` is for repair only: locally the new bytes are renamed over the damaged
        file once complete; on S3 (no rename) the damaged key is deleted, then uploaded."""
        if replace and not self.local:
            self.delete(key)
        elif not replace and self.exists(key):
            raise KeyExists(f"location {self.name!r}: {key} exists; stored files are never overwritten",
                            location=self.name, path=key)
        if self.local:
            if not os.path.isdir(self.base):  # never make a location that is not there (a mount gone)
                raise StorageError(f"location {self.name!r}: the directory {self.base} does not exist",
                                   location=self.name, path=key,
                                   hint="mount or create the location's directory, then run the command again")
            final = Path(self.path(key))
            tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                with open(tmp, "xb") as f:
                    w = _Writer(f)
                    yield w
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, READ_ONLY)
                if replace:
                    os.replace(tmp, final)
                else:
                    os.link(tmp, final)  # fails rather than replace a key that appeared meanwhile
                fsync_dir(final.parent)
            except OSError as e:
                raise self._error("write", key, e) from e
            finally:
                with contextlib.suppress(OSError):  # a read-only mount: the error above is what counts
                    tmp.unlink(missing_ok=True)
            return
        try:
            out = self.fs.open_output_stream(self.path(key), compression=None)  # never by extension
        except OSError as e:
            raise self._error("write", key, e) from e
        try:
            w = _Writer(out)
            yield w
        except BaseException as exc:
            # pyarrow cannot abort an upload: closing completes it, so remove what it left
            try:
                out.close()
            except OSError:
                pass
            self.delete(key)
            if isinstance(exc, OSError):
                raise self._error("write", key, exc) from exc
            raise
        try:
            out.close()
        except OSError as e:
            raise self._error("write", key, e) from e

    def put(self, key: str, chunks: Iterable[bytes]) -> PutResult:
        """Store `chunks` under the new key `key` atomically; returns size and sha256."""
        with self.writer(key) as w:
            for c in chunks:
                w.write(c)
        return w.result

    def put_bytes(self, key: str, data: bytes) -> PutResult:
        return self.put(key, [data])

    def delete(self, key: str) -> None:
        try:
            if self.local:
                p = Path(self.path(key))
                if p.exists():
                    os.chmod(p, 0o644)
                    p.unlink()
            elif self.exists(key):
                self.fs.delete_file(self.path(key))
        except OSError as e:
            raise self._error("delete", key, e) from e

    def probe(self) -> None:
        """Write, read back and delete a small probe key; StorageError on any failure."""
        self.check_reachable()
        key = f".archa-probe-{uuid.uuid4().hex}"
        data = b"archa probe\n"
        self.put_bytes(key, data)
        try:
            if self.read_bytes(key) != data:
                raise StorageError(f"location {self.name!r}: the probe read back differs from what was "
                                   "written", location=self.name, hint="check the storage")
        finally:
            self.delete(key)


class _Writer:
    """Forwards writes to a file or stream, counting and hashing them."""

    def __init__(self, out: Any) -> None:
        self._out = out
        self._h = hashlib.sha256()
        self._size = 0

    def write(self, b: Any) -> int:
        self._out.write(b)
        self._h.update(b)
        self._size += len(b)
        return len(b)

    def flush(self) -> None:
        pass

    @property
    def result(self) -> PutResult:
        return PutResult(self._size, self._h.hexdigest())
