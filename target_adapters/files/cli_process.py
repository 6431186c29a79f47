"""Memory settings for the target-files command's own process.

Two things keep a Parquet run far below its 200 MB budget:

* pyarrow imports pandas the first time it converts a Python list, only to ask
  whether the list is a pandas object. The target never hands it one, and pandas
  costs about 55 MB of resident memory, so ``import pandas`` is made to fail.
* Arrow's default allocator (mimalloc) keeps freed row groups' pages; the system
  allocator returns them (about 35 MB less at the peak, measured with 76 columns).

Both apply to the command line only, so a program that embeds the target class
keeps its pandas and its allocator.
"""

from __future__ import annotations

import importlib.abc
import os
import sys


class _PandasBlocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            msg = (
                "pandas is not loaded by the target-files command (see target_adapters/files/cli_process.py)"
            )
            raise ModuleNotFoundError(msg, name=fullname)


def configure_cli_process() -> None:
    """Call before pyarrow is first used; an explicit ARROW_DEFAULT_MEMORY_POOL wins."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if "pandas" not in sys.modules and not any(isinstance(f, _PandasBlocker) for f in sys.meta_path):
        sys.meta_path.insert(0, _PandasBlocker())
