"""target-files: Singer to CSV, JSON Lines, Parquet or Excel, in bounded memory."""

from __future__ import annotations

import copy
import dataclasses
import sys
import typing as t

import click
from singer_sdk import Target

from target_adapters._sdk_compat import BatchAsRecords, TargetHooks
from target_adapters.common import FastSingerReader
from target_adapters.files import about
from target_adapters.files.cli_process import configure_cli_process
from target_adapters.files.errors import RefusedInput
from target_adapters.files.registry import WriterRegistry
from target_adapters.files.settings import CONFIG_SCHEMA, FileSettings
from target_adapters.files.sink import FileSink


class TargetFiles(BatchAsRecords, TargetHooks, Target):
    """Files are published, and the last STATE emitted, only when the input ends cleanly.

    Emitting STATE earlier would tell the orchestrator that rows are saved which
    still sit in a staging file (a Parquet file is unreadable until its footer
    is written), so the target holds the latest STATE until every file is in place.
    """

    name = "target-files"
    package_name = "autotask-liberator"  # the distribution, for --version and --about
    config_jsonschema = CONFIG_SCHEMA
    default_sink_class = FileSink
    message_reader_class = FastSingerReader
    refusals = (RefusedInput, *TargetHooks.refusals)  # each ends the run with one Error: line

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = FileSettings.from_config(self.config)
        self.writers = WriterRegistry(self.settings)
        self._held_state: dict | None = None
        # All sinks of a stream share one writer; draining in threads buys nothing here.
        self.max_parallelism = 1

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The command line, with its process set up for low memory (see cli_process.py)."""
        configure_cli_process()
        return super().get_singer_command()

    @classmethod
    def about_info(cls, info: t.Any) -> t.Any:
        """A user's description, not the class docstring."""
        return dataclasses.replace(info, description=about.DESCRIPTION)

    @classmethod
    def print_about(cls, output_format: str | None = None) -> None:
        """Markdown with defaults as the README spells them (about.py)."""
        if output_format != "markdown":
            super().print_about(output_format)
            return
        print(about.markdown(cls.about()))

    def on_state_ready(self, state: dict) -> None:
        """Hold STATE until the files are published (see the class docstring)."""
        self._held_state = copy.deepcopy(state)

    def process_endofpipe(self) -> None:
        """Drain, publish every file, then emit the last STATE."""
        try:
            super().process_endofpipe()
            published = self.writers.close()
        except BaseException:
            self.writers.abort()
            raise
        for path in published:
            self.logger.info("Wrote %s", path)
        if self._held_state is not None:
            self.emit_state(self._held_state)

    def process_lines(self, file_input: t.IO[t.Any] | None = None) -> t.Counter[str]:  # type: ignore[misc]  # final in singer-sdk; wrapped to drop staged files
        """On any failure drop the staged files, so earlier published files stay as they were."""
        try:
            return super().process_lines(file_input)
        except BaseException:
            self.writers.abort()
            raise

    def on_termination(self, signum: int, frame: t.Any) -> None:
        """Stopped by a signal: publish nothing, emit no STATE, and exit non-zero.

        singer-sdk would drain and exit 0, which tells an orchestrator that the
        run succeeded; nothing of this run is published, so say that it did not.
        """
        self.logger.warning("Received signal %d: stopping without publishing files or STATE.", signum)
        self.writers.abort()
        sys.exit(128 + signum)


if __name__ == "__main__":
    TargetFiles.cli()
