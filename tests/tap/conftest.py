"""Keep the tap's metadata cache inside the test session, never in the user's ~/.cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _isolated_metadata_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "at-cache"))
    yield
