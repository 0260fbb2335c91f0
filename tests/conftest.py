"""Shared fixtures: a fresh repository per test, and independent checks of every AIP written.

Every repository a test creates is checked at teardown: the storage root and each object
must pass ocfl-py's validator with no errors, sit where extension 0004 puts them, and
carry METS and PREMIS that validate against the XSDs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from archa.repository.repo import Repository
from tests import pgserver, s3server
from tests.s3server import S3Server

SCHEMAS = Path(__file__).resolve().parent.parent / "archa" / "schemas"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--catalog", choices=("sqlite", "postgresql"),
                     default=os.environ.get("ARCHA_TEST_CATALOG", "sqlite"),
                     help="the catalog backend of the repositories the `repo` fixtures make: the embedded SQLite "
                          "file, or a database on the PostgreSQL server the tests start (make test runs both)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--catalog") != "postgresql":
        return
    skip = pytest.mark.skip(reason="reads or edits the SQLite catalog file itself (the insider's way in)")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)


def new_repository(request: pytest.FixtureRequest, root: Path) -> Repository:
    """A new repository at `root` with the catalog backend the run asks for (--catalog)."""
    if request.config.getoption("--catalog") == "postgresql":
        server: pgserver.PgServer = request.getfixturevalue("pg")
        return Repository.init(root, catalog=server.database(), node="test")
    return Repository.init(root)
_schemas: dict[str, etree.XMLSchema] = {}


def schema(name: str) -> etree.XMLSchema:
    """An XSD of archa/schemas by file name; "mets+premis" validates METS with PREMIS inside."""
    if name not in _schemas:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        if name == "mets+premis":
            both = (f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
                    f'<xs:import namespace="http://www.loc.gov/METS/" schemaLocation="{SCHEMAS / "mets.xsd"}"/>'
                    f'<xs:import namespace="http://www.loc.gov/premis/v3" '
                    f'schemaLocation="{SCHEMAS / "premis.xsd"}"/></xs:schema>')
            _schemas[name] = etree.XMLSchema(etree.fromstring(both, parser, base_url=str(SCHEMAS) + "/"))
        else:
            _schemas[name] = etree.XMLSchema(etree.parse(str(SCHEMAS / name), parser))
    return _schemas[name]


def _register_0004_with_ocfl_py() -> None:
    """ocfl-py 2.1 has no 0004 layout; register one written here, independent of archa."""
    from ocfl import layout_registry
    from ocfl.layout import Layout

    class Layout0004(Layout):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.NAME = "0004-hashed-n-tuple-storage-layout"
            expected = {"digestAlgorithm": "sha256", "tupleSize": 3, "numberOfTuples": 3,
                        "shortObjectRoot": False}

            def check(key: str):  # type: ignore[no-untyped-def]
                def f(value: object) -> None:
                    assert value == expected[key], f"0004 config {key}={value!r}"
                return f

            self.PARAMS = {k: check(k) for k in expected}

        def identifier_to_path(self, identifier: str) -> str:
            h = hashlib.sha256(identifier.encode()).hexdigest()
            return f"{h[0:3]}/{h[3:6]}/{h[6:9]}/{h}"

    layout_registry.add_layout("0004-hashed-n-tuple-storage-layout", Layout0004)


def validate_storage_root(root: Path) -> list[str]:
    """Problems found by ocfl-py, layout placement and XSD validation (empty when valid)."""
    import ocfl

    _register_0004_with_ocfl_py()
    problems: list[str] = []
    store = ocfl.StorageRoot(root=str(root))
    if not store.validate(log_warnings=False, log_errors=True, check_digests=True):
        problems.append(f"ocfl-py: storage root invalid: {store.log} {store.errors}")
    for marker in root.rglob("0=ocfl_object_1.1"):
        obj = marker.parent
        passed, validator = ocfl.Object().validate(str(obj), log_warnings=False, check_digests=True)
        if not passed:
            problems.append(f"ocfl-py: {obj}: {validator.status_str()}")
        inv = json.loads((obj / "inventory.json").read_text())
        h = hashlib.sha256(inv["id"].encode()).hexdigest()
        if obj.relative_to(root).as_posix() != f"{h[0:3]}/{h[3:6]}/{h[6:9]}/{h}":
            problems.append(f"{obj}: not where layout 0004 puts {inv['id']}")
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        for logical, xsd in (("METS.xml", "mets.xsd"), ("metadata/preservation/premis.xml", "premis.xsd")):
            head = inv["versions"][inv["head"]]["state"]
            digest = next(d for d, paths in head.items() if logical in paths)
            path = obj / inv["manifest"][digest][0]
            s = schema(xsd)
            if not s.validate(etree.parse(str(path), parser)):
                problems.append(f"{path}: {xsd}: {s.error_log}")
    return problems


@pytest.fixture
def repo_with_policy(request: pytest.FixtureRequest) -> Iterator[Callable[[Path, str], Repository]]:
    """Makes repositories whose archa.toml ends with policy overrides; like `repo`, every
    AIP they hold is validated (ocfl-py, layout, XSDs) at teardown. On a catalog on a
    server, the policy goes where every node reads it: the catalog's shared settings."""
    made: list[Repository] = []

    def make(root: Path, policy_toml: str) -> Repository:
        new_repository(request, root).close()
        with open(root / "archa.toml", "a") as f:
            f.write(policy_toml)
        again = Repository.open(root)
        if again.config.catalog:
            from archa.repository.config import load_config

            again.config = again.config.with_shared(load_config(root).shared_json())
            again.save_shared_config()
            again.close()
            again = Repository.open(root)
        made.append(again)
        return made[-1]

    yield make
    for r in made:
        r.close()
        problems = validate_storage_root(r.hot.path)
        assert not problems, "\n".join(problems)


@pytest.fixture
def repo(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Repository]:
    r = new_repository(request, tmp_path / "archive")
    yield r
    r.close()
    problems = validate_storage_root(r.hot.path)
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real SeaweedFS S3 server on 127.0.0.1 for the whole session, stopped afterwards."""
    server = s3server.start(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    s3server.stop_process(server.process)


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pgserver.PgServer]:
    """A real PostgreSQL server (Debian's postgresql, on a Unix socket in a temporary folder)
    for the whole session, stopped afterwards; `pg.database()` gives a new database's URL."""
    server = pgserver.start(tmp_path_factory.mktemp("postgresql"))
    yield server
    server.stop()


@pytest.fixture
def pg_repo(tmp_path: Path, pg: pgserver.PgServer) -> Iterator[Repository]:
    """A repository whose catalog is a new database on the test server, whatever --catalog
    says (for the tests of the PostgreSQL backend itself); validated at teardown like `repo`."""
    r = Repository.init(tmp_path / "archive", catalog=pg.database(), node="test")
    yield r
    r.close()
    problems = validate_storage_root(r.hot.path)
    assert not problems, "\n".join(problems)


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The S3 credentials in the standard environment variables."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    return s3


@pytest.fixture
def bags(tmp_path: Path) -> Path:
    d = tmp_path / "bags"
    d.mkdir()
    return d
