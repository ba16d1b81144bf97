"""Fixtures of the IAM tests: the bootstrap template of the example repository and of a variant."""

from __future__ import annotations

import pytest
from roles_setup import REPO, Setup, build_setup, write_variant


@pytest.fixture(scope="module")
def example() -> tuple[Setup, dict]:
    return build_setup("example", REPO)


@pytest.fixture(scope="module")
def variant(tmp_path_factory) -> tuple[Setup, dict]:
    return build_setup("variant", write_variant(tmp_path_factory.mktemp("variant")))


@pytest.fixture(params=["example", "variant"])
def both(request) -> tuple[Setup, dict]:
    return request.getfixturevalue(request.param)


@pytest.fixture
def s(both) -> Setup:
    setup, _ = both
    return setup


@pytest.fixture
def template(both) -> dict:
    return both[1]
