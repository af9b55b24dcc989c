"""Integration tests are marked so `pytest -m "not integration"` runs only the fast unit tests."""

from __future__ import annotations

import uuid

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    """moto's S3 server over HTTP on loopback, shared by the session (buckets per test)."""
    from bench.cluster import S3Server

    server = S3Server(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server, request: pytest.FixtureRequest) -> dict[str, str]:
    """A fresh bucket for this test, and the variables that make it DATA_DIR."""
    name = "t-" + uuid.uuid4().hex[:20]
    s3_server.make_bucket(name)
    return s3_server.env(name)
