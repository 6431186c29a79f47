"""singer-sdk's standard tap tests again, with live metadata (UDF columns, picklist annotations).

`test_standard_suite.py` must build its pytest parameters at import time, before any sandbox
runs, so it can only discover from the bundled catalog. Here the same test templates (every
tap, stream and attribute test of singer-sdk's suites) run inside one test, after discovery
against the sandbox, over a smaller subset: streams with UDFs and picklists and the two
metadata streams.
"""

from __future__ import annotations

from typing import Any

import pytest
from singer_sdk.testing import SuiteConfig
from singer_sdk.testing.runners import TapTestRunner
from singer_sdk.testing.suites import tap_stream_attribute_tests, tap_stream_tests, tap_tests

from tap_autotask import TapAutotask
from tests.tap.singer_run import tap_config

LIVE_SUBSET = ["tickets", "companies", "contacts", "picklist_values", "udf_definitions"]


def test_standard_suite_with_live_metadata(sandbox: Any) -> None:
    suite = SuiteConfig(max_records_limit=200)
    runner = TapTestRunner(
        TapAutotask,
        config=tap_config(sandbox, include_streams=LIVE_SUBSET),
        suite_config=suite,
        parse_env_config=False,
    )
    runner.sync_all()
    streams = list(runner.new_tap().streams.values())
    assert sorted(s.name for s in streams) == sorted(LIVE_SUBSET)

    ran: list[str] = []
    failures: list[str] = []
    skipped: list[str] = []

    def attempt(test_id: str, run: Any, *args: Any) -> None:
        ran.append(test_id)
        try:
            run(suite, None, runner, *args)
        except pytest.skip.Exception:
            skipped.append(test_id)
        except Exception as exc:  # collected, reported together below
            failures.append(f"{test_id}: {type(exc).__name__}: {exc}")

    for test_class in tap_tests.tests:
        attempt(test_class.name, test_class().run)
    for stream in streams:
        for test_class in tap_stream_tests.tests:
            attempt(f"{stream.name}.{test_class.name}", test_class().run, stream)
        properties = stream.stream_maps[-1].transformed_schema["properties"]
        for name, prop in properties.items():
            for test_class in tap_stream_attribute_tests.tests:
                if test_class.evaluate(stream=stream, property_name=name, property_schema=prop):
                    attempt(f"{stream.name}.{name}.{test_class.name}", test_class().run, stream, name)

    assert not failures, "\n".join(failures)
    assert len(skipped) < len(ran) / 4, skipped
    udf_tests = [t for t in ran if t not in skipped and t.startswith("companies.udf_")]
    assert udf_tests, "live metadata should put UDF columns under the attribute tests"
    assert runner.records["picklist_values"], "live metadata brings picklist rows"
