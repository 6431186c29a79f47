"""`autotask`: the command line for people (tables) and machines (jsonl, csv, JSON).

Each command group lives in its own module; importing them registers them on `main`.
"""

from __future__ import annotations

from . import bulk, completion, config_commands, explore, health, read_commands, report  # noqa: F401  (registers the commands)
from .app import main

__all__ = ["main"]
