"""What a run logs: one summary line for the deselected streams, not one line each."""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

import pytest

from tap_autotask import TapAutotask
from tests.tap.singer_run import tap_config


def _selecting(catalog: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return catalog


def test_deselected_streams_are_summed_up_in_one_line(sandbox: Any, caplog: pytest.LogCaptureFixture) -> None:
    config = tap_config(sandbox, metadata_source="catalog")
    catalog = TapAutotask(config=config, parse_env_config=False).catalog_dict
    total = len(catalog["streams"])
    tap = TapAutotask(
        config=config, catalog=_selecting(catalog, {"companies", "contacts"}), parse_env_config=False
    )
    caplog.set_level(logging.INFO)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        tap.sync_all()
    assert '"stream":"companies"' in out.getvalue().replace(" ", "")
    lines = [r.getMessage() for r in caplog.records]
    assert not [line for line in lines if "Skipping deselected" in line]
    assert f"Synced 2 selected stream(s); skipped {total - 2} deselected." in lines
    assert tap.logger.filters == []  # the filter does not outlive the run
