"""`python -m tap_autotask` runs the tap."""

from tap_autotask.cli import main

main()
