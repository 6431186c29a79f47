"""singer-sdk's standard target suite, once per file format, each run in its own folder."""

from __future__ import annotations

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner

from target_adapters.files.target import TargetFiles

# Excluded: none. The SDK itself leaves TargetMultipleStateMessages out of its
# suite; its expectation (a STATE after every drain) is deliberately not met by
# target-files, which holds STATE until files are published -- see
# test_files_state.py for what it does instead.


def _suite(fmt: str, **extra: object) -> type:
    base = get_target_test_class(TargetFiles, config={"format": fmt})

    class Suite(base):  # type: ignore[misc, valid-type]  # a class made by singer-sdk
        @pytest.fixture
        def runner(self, tmp_path):
            config = {"format": fmt, "output_dir": str(tmp_path), **extra}
            return TargetTestRunner(target_class=TargetFiles, config=config)

    Suite.__name__ = f"TestStandard{fmt.capitalize()}"
    return Suite


TestStandardCsv = _suite("csv")
TestStandardCsvGzip = _suite("csv", compression="gzip")
TestStandardJsonl = _suite("jsonl")
TestStandardParquet = _suite("parquet")
TestStandardXlsx = _suite("xlsx")
