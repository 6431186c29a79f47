"""`python -m tap_autotask` runs the tap."""

from tap_autotask.tap import TapAutotask

TapAutotask.cli()
