"""Parse Singer lines and build rows in a second process, handed back in order.

On PostgreSQL the target is CPU-bound on one core: parsing JSON and building
rows cost about as much as handing rows to the driver. This module moves the
first two to a child process (``python -m target_adapters.sql.parse_process``),
so they run on the other core while the target writes. The child reads the
target's stdin (or, for another input, a pipe a thread of the target feeds) and
sends back *chunks*: lists of items in input order,

* ``("lines", stream, keys, [line, ...])``: for PostgreSQL, records already
  stamped, validated, built and formatted as COPY text lines (by psycopg's C
  formatter, :mod:`.copy_text`), with each row's key (``keys`` is None for a
  stream without key properties); the target only de-duplicates and writes bytes;
* ``("rows", stream, [row, ...])``: the same as row tuples (MySQL/MariaDB, SQLite,
  and deletion records, which the target merges with the row they mark);
* ``("msg", message)``: any other message (SCHEMA, STATE, ACTIVATE_VERSION, BATCH,
  and records of a stream the child has no row builder for);
* ``("line", number, raw)``: a line orjson refused, for the target's reader to
  parse again and explain (bad JSON, lone surrogates, non-finite numbers);
* ``("bad", stream, record, BadField)``: a record its row builder refused;
  the target raises the same error as without the child;
* ``("error", text)``: the child itself failed; ``("end",)``: all input was read.

Ordering: the target applies items one by one, exactly as if it had read the
lines itself, so a STATE is handled after the records before it, and emitted only
once they are committed (see :mod:`.target`). At each SCHEMA the child sends what
it has and waits for the target's :class:`RowSpec` for that stream (the target
sets up the table first), so rows are never built with an old schema.

Memory is bounded: a chunk holds at most ``CHUNK_ROWS`` rows; the child blocks on
the pipe while the target has not read the previous one. A chunk is also sent as
soon as the input has nothing more to read, so a slow tap's STATE is not held back.

Only orjson and the row builder are imported here, not singer-sdk or SQLAlchemy,
which keeps the child small (about 20 MB).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import marshal
import operator
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import traceback
import typing as t
from dataclasses import dataclass

import orjson

from target_adapters.common.schema_types import ColumnType
from target_adapters.sql.rows import MYSQL, POSTGRES, SQLITE, BadField, RowBuilder, compile_rows, stamp

CHUNK_ROWS = 1_000
_QUEUED = 2  # chunks waiting for the sender thread, besides the one it writes
_READ = 1 << 20
_HEADER = struct.Struct("<QB")  # payload length, encoding (0 marshal, 1 pickle)
_STYLES = {"postgresql": POSTGRES, "mysql": MYSQL, "sqlite": SQLITE}
_NUL = b"\\u0000"
_DELETED = "_sdc_deleted_at"


@dataclass(frozen=True, slots=True)
class RowSpec:
    """What the child needs to build a stream's rows exactly as the sink would."""

    stream: str
    types: dict[str, ColumnType]
    dialect: str
    keys: list[str]
    columns: list[str]  # the sink's row order, checked against the child's compilation
    with_metadata: bool
    sequence: int  # the sink's last _sdc_sequence
    sync_started_at: t.Any
    copy_lines: bool  # send COPY text lines (PostgreSQL on a UTF-8 connection) instead of tuples


def without_nul(value: t.Any) -> t.Any:
    """``value`` with NUL characters removed from every string in it (PostgreSQL refuses them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def _encode(items: list) -> bytes:
    """Rows of JSON scalars go by marshal (twice as fast as pickle); anything else by pickle."""
    try:
        payload, kind = marshal.dumps(items), 0
    except ValueError:  # a date, a time or an exception in the chunk
        payload, kind = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL), 1
    return _HEADER.pack(len(payload), kind) + payload


def _decode(kind: int, payload: bytes) -> t.Any:
    return marshal.loads(payload) if kind == 0 else pickle.loads(payload)  # noqa: S301  # our own child's output


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes:
    parts, left = [], size
    while left:
        part = os.read(fd, min(left, _READ))
        if not part:
            raise EOFError
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class ParseProcess:
    """The child, seen from the target: its items in input order, and replies at SCHEMA."""

    def __init__(self, strip_nul: bool, source: t.IO[t.Any] | None = None) -> None:
        """Start the child on the target's stdin, or on ``source`` fed to it by a thread."""
        control_read, self._control = os.pipe()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(control_read), "1" if strip_nul else "0"],
            stdin=None if source is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=(control_read,),
        )
        os.close(control_read)
        assert self._proc.stdout is not None
        self._out = self._proc.stdout.fileno()
        self._feeder: threading.Thread | None = None
        if source is not None:
            self._feeder = threading.Thread(
                target=self._feed, args=(source,), name="target-sql-feeder", daemon=True
            )
            self._feeder.start()

    def _feed(self, source: t.IO[t.Any]) -> None:
        """Copy ``source`` (bytes or text) to the child's stdin."""
        stdin = t.cast(t.IO[bytes], self._proc.stdin)
        try:
            while data := source.read(_READ):
                stdin.write(data.encode() if isinstance(data, str) else data)
            stdin.close()
        except (BrokenPipeError, ValueError):  # the child stopped first (or was stopped)
            pass

    def items(self) -> t.Iterator[tuple]:
        """Every item the child sends, in input order, up to its ``("end",)``."""
        while True:
            try:
                size, kind = _HEADER.unpack(_read_exactly(self._out, _HEADER.size))
                chunk = _decode(kind, _read_exactly(self._out, size))
            except EOFError:
                code = self._proc.wait()
                msg = (
                    f"target-sql's parsing process stopped before the end of the input (exit code "
                    f"{code}); nothing after the last emitted state was saved. See the messages above."
                )
                raise RuntimeError(msg) from None
            for item in chunk:
                if item[0] == "end":
                    return
                if item[0] == "error":
                    msg = f"target-sql's parsing process failed: {item[1]}"
                    raise RuntimeError(msg)
                yield item

    def reply(self, spec: RowSpec | None) -> None:
        """Answer the SCHEMA the child is waiting at: how to build that stream's rows (None: don't)."""
        payload = pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(self._control, _HEADER.pack(len(payload), 1) + payload)

    def close(self) -> None:
        """Stop the child (it is still running only when the target stops early)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        if self._feeder is not None:
            self._feeder.join()
        os.close(self._control)
        if self._proc.stdout is not None:
            self._proc.stdout.close()


class _Stream:
    """A stream's compiled row builder and metadata counter, in the child."""

    def __init__(self, spec: RowSpec, sequence: int) -> None:
        compiled = compile_rows(spec.stream, spec.types, _STYLES[spec.dialect], required=spec.keys)
        if compiled.columns != spec.columns:
            msg = (
                f"stream {spec.stream!r}: the child built columns {compiled.columns}, the sink {spec.columns}"
            )
            raise AssertionError(msg)
        self.build: RowBuilder = compiled.build
        self.copy_lines = spec.copy_lines
        if spec.copy_lines:  # psycopg only when needed: the child stays small for SQLite and MySQL
            from target_adapters.sql.copy_text import copy_line

            self.format: t.Callable[[tuple], bytes] = copy_line
        key_index = [spec.columns.index(k) for k in spec.keys]
        self.key_of = operator.itemgetter(*key_index) if key_index else None
        self.deleted = spec.columns.index(_DELETED) if _DELETED in spec.columns else None
        self.with_metadata = spec.with_metadata
        self.sequence = max(sequence, spec.sequence)
        self.shared = {"_sdc_sync_started_at": spec.sync_started_at}


class _Child:
    """Reads lines from ``source``, writes chunks to ``out``, reads RowSpecs from ``control``."""

    def __init__(self, source: int, out: int, control: int, strip_nul: bool) -> None:
        self.source, self.out, self.control, self.strip_nul = source, out, control, strip_nul
        self.streams: dict[str, _Stream] = {}
        self.items: list[tuple] = []
        self.rows = 0
        self._new_chunk()
        self.outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED)
        self.send_error: OSError | None = None
        self.sender = threading.Thread(target=self._send_all, name="target-sql-parse-sender", daemon=True)
        self.sender.start()

    def _new_chunk(self) -> None:
        """Start a chunk: records received now share one receive time (one dict update a record)."""
        self.items, self.rows = [], 0
        self.open: tuple | None = None  # the last item, while rows of the same kind can join it
        now = dt.datetime.now(dt.UTC).isoformat()
        for stream in self.streams.values():
            stream.shared["_sdc_received_at"] = stream.shared["_sdc_batched_at"] = now

    def send(self) -> None:
        """Queue the chunk for the sender thread (blocks while ``_QUEUED`` chunks wait)."""
        if self.items:
            self._raise_if_send_failed()
            self.outbox.put(_encode(self.items))
        self._new_chunk()

    def finish(self) -> None:
        """Wait until every queued chunk is written."""
        self.outbox.put(None)
        self.sender.join()
        self._raise_if_send_failed()

    def _raise_if_send_failed(self) -> None:
        if self.send_error is not None:
            raise self.send_error

    def _send_all(self) -> None:
        """The sender thread: writing to the pipe releases the GIL, so parsing goes on meanwhile."""
        while True:
            data = self.outbox.get()
            try:
                if data is None:
                    return
                if self.send_error is None:
                    _write_all(self.out, data)
            except OSError as exc:  # the target stopped reading
                self.send_error = exc
            finally:
                self.outbox.task_done()

    def run(self) -> None:
        number = 0
        for lines, idle in _lines(self.source):
            for line in lines:
                number += 1
                if not self.take(number, line):
                    self.send()
                    self.finish()
                    return
            if self.rows >= CHUNK_ROWS or idle:
                self.send()
        self.items.append(("end",))
        self.send()
        self.finish()

    def take(self, number: int, line: bytes) -> bool:
        """Add one line to the chunk; False after a record that stops the run."""
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            self.raw(number, line)
            return True
        if self.strip_nul and _NUL in line:
            message = without_nul(message)
        kind = message.get("type") if message.__class__ is dict else None
        if kind == "RECORD":
            name = message.get("stream")
            stream = self.streams.get(name)
            record = message.get("record")
            if stream is not None and record.__class__ is dict:
                if stream.with_metadata:
                    stream.sequence += 1
                    stamp(record, message, stream.shared, stream.sequence)
                try:
                    row = stream.build(record)
                except BadField as exc:
                    self.items.append(("bad", name, record, exc))
                    return False
                self.rows += 1
                if stream.copy_lines and (stream.deleted is None or row[stream.deleted] is None):
                    lines = self.open
                    if lines is None or lines[0] != "lines" or lines[1] != name:
                        lines = self.open = ("lines", name, [] if stream.key_of else None, [])
                        self.items.append(lines)
                    if stream.key_of is not None:
                        lines[2].append(stream.key_of(row))
                    lines[3].append(stream.format(row))
                    return True
                rows = self.open
                if rows is None or rows[0] != "rows" or rows[1] != name:
                    rows = self.open = ("rows", name, [])
                    self.items.append(rows)
                rows[2].append(row)
                return True
        if kind is None:
            self.raw(number, line)
            return True
        self.open = None
        self.items.append(("msg", message))
        if kind == "SCHEMA":
            self.send()
            self.outbox.join()  # the target sees the SCHEMA before it answers
            self.learn(_receive(self.control))
        return True

    def raw(self, number: int, line: bytes) -> None:
        """A line for the target's reader to parse and explain; forget every stream's builder,
        in case the line was a SCHEMA (the target answers only SCHEMAs the child saw)."""
        self.open = None
        self.items.append(("line", number, line))
        self.streams.clear()

    def learn(self, spec: RowSpec | None) -> None:
        if spec is None:
            return
        previous = self.streams.get(spec.stream)
        stream = _Stream(spec, previous.sequence if previous else 0)
        stream.shared["_sdc_received_at"] = stream.shared["_sdc_batched_at"] = dt.datetime.now(
            dt.UTC
        ).isoformat()
        self.streams[spec.stream] = stream


def _receive(control: int) -> RowSpec | None:
    size, kind = _HEADER.unpack(_read_exactly(control, _HEADER.size))
    return t.cast(RowSpec | None, _decode(kind, _read_exactly(control, size)))


def _lines(fd: int) -> t.Iterator[tuple[list[bytes], bool]]:
    """Complete lines as they arrive, and whether the input had nothing more to read then."""
    pending: list[bytes] = []
    while True:
        data = os.read(fd, _READ)
        if not data:
            last = b"".join(pending)
            if last:  # the last line had no newline
                yield [last], True
            return
        if b"\n" not in data:
            pending.append(data)
            continue
        pending.append(data)
        lines = b"".join(pending).split(b"\n")
        pending = [lines.pop()]
        idle = not select.select([fd], [], [], 0)[0]
        yield lines, idle


def main(argv: list[str]) -> int:
    """The child: stdin is the Singer input, stdout goes to the target, argv[0] is the control pipe."""
    with contextlib.suppress(OSError, AttributeError):  # Linux: fewer wake-ups per chunk
        fcntl.fcntl(sys.stdout.fileno(), fcntl.F_SETPIPE_SZ, _READ)
    child = _Child(sys.stdin.fileno(), sys.stdout.fileno(), int(argv[0]), argv[1] == "1")
    try:
        child.run()
    except (EOFError, BrokenPipeError):
        return 1  # the target stopped first; it reports why
    except BaseException:
        child.items.append(("error", traceback.format_exc()))
        child.send()
        child.finish()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
