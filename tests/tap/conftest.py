"""Keep the tap's metadata cache inside the test session, never in the user's ~/.cache."""

from __future__ import annotations

from typing import Iterator

import pytest


@pytest.fixture(autouse=True)
def _isolated_metadata_cache(tmp_path_factory: pytest.TempPathFactory,
                             monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "at-cache"))
    yield


KNOWN_SANDBOX_MISMATCH = "test_tap_stream_record_matches_stream_schema[contracts]"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Sandbox Contracts.contractPeriodType is "m" though its metadata says integer."""
    for item in items:
        if item.name == KNOWN_SANDBOX_MISMATCH and "tests/tap/" in str(item.path):
            item.add_marker(pytest.mark.xfail(strict=True, reason="sandbox sends 'm' for an "
                                              "integer field (contractPeriodType)"))
