"""Parse Singer lines and build rows in two more processes, handed back in order.

Used on PostgreSQL when the ``parse_process`` setting is on (off by default: on a
2-core machine the extra CPU and ~100 MB it costs outweigh the gain; see the README).

On PostgreSQL the target is CPU-bound: parsing JSON, building rows and formatting
them for COPY cost more than the server's work on the other side. This module
moves that work to ``PROCESSES`` child processes (``python -m
target_adapters.sql.parse_process``), so it runs on every core while the target
only de-duplicates rows and hands bytes to ``COPY``.

A feeder thread of the target reads the input (stdin, or any file) in blocks of
whole lines and gives them to the children in turn; the target reads each block's
result back in the same turn, so items come out in input order:

* ``("lines", stream, keys, [line, ...])``: records already stamped, validated,
  built and formatted as COPY text lines (by psycopg's C formatter,
  :mod:`.copy_text`), with each row's key (``keys`` is None for a stream without
  key properties); the target only de-duplicates and writes bytes;
* ``("rows", stream, [row, ...])``: the same as row tuples (deletion records,
  which the target merges with the row they mark, and a stream whose RowSpec asks
  for tuples);
* ``("msg", message)``: any other message (STATE, ACTIVATE_VERSION, BATCH, and
  records of a stream the children have no row builder for);
* ``("line", number, raw)``: a line orjson refused, for the target's reader to
  parse again and explain (bad JSON, lone surrogates, non-finite numbers);
* ``("bad", stream, record, BadField)``: a record its row builder refused; the
  target raises the same error as without the children;
* ``("schema", number, raw)``: a line that may be a SCHEMA (it holds the bytes
  ``SCHEMA``). The feeder stops there until the target has parsed it, set up the
  table and sent every child the stream's :class:`RowSpec` (:meth:`ParsePool.resume`),
  so no row is ever built with an old schema.

``_sdc_sequence`` is the sink's start value plus the input line number, so it
grows in input order whichever child stamps it. Memory is bounded: at most
``_BLOCKS`` blocks are in flight; the feeder blocks when the target does not
read. A block is sent as soon as the input has nothing more to read, so a slow
tap's STATE is not held back. The children import only orjson, the row builder and
psycopg's formatter (not singer-sdk or SQLAlchemy).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import marshal
import operator
import os
import pickle
import queue
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

PROCESSES = 2  # one per core of the machine this was measured on (see the README)
_BLOCKS = 4  # blocks read ahead and not yet taken by the target, over all children
_BLOCK = 256 << 10  # bytes of input a block holds, about (whole lines)
_READ = 1 << 20
_HEADER = struct.Struct("<QB")  # payload length, kind (0 marshal, 1 pickle, 2 block of lines)
_NUMBER = struct.Struct("<Q")  # a block's first line number
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
    sequence: int  # the sink's _sdc_sequence at set-up; a record's is this plus its line number
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


class _Process:
    """One child: blocks of lines and RowSpecs in on its stdin, one result frame per block out."""

    def __init__(self, strip_nul: bool) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", __name__, "1" if strip_nul else "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # One malloc arena: its three threads would otherwise each grow their own.
            env={**os.environ, "MALLOC_ARENA_MAX": "1"},
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin.fileno()
        self.stdout = self.proc.stdout.fileno()

    def send(self, kind: int, payload: bytes) -> None:
        _write_all(self.stdin, _HEADER.pack(len(payload), kind) + payload)

    def end_input(self) -> None:
        t.cast(t.IO[bytes], self.proc.stdin).close()

    def result(self) -> list[tuple]:
        try:
            size, kind = _HEADER.unpack(_read_exactly(self.stdout, _HEADER.size))
            return t.cast(list, _decode(kind, _read_exactly(self.stdout, size)))
        except EOFError:
            code = self.proc.wait()
            msg = (
                f"target-sql's parsing process stopped before the end of the input (exit code "
                f"{code}); nothing after the last emitted state was saved. See the messages above."
            )
            raise RuntimeError(msg) from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                t.cast(t.IO[bytes], pipe).close()


class ParsePool:
    """The children, seen from the target: their items in input order."""

    def __init__(
        self, strip_nul: bool, source: t.IO[t.Any] | None = None, processes: int = PROCESSES
    ) -> None:
        """Start the children and the feeder thread on ``source`` (default: stdin)."""
        self._children = [_Process(strip_nul) for _ in range(processes)]
        self._jobs: queue.Queue[tuple] = queue.Queue(maxsize=_BLOCKS)
        self._resumed = threading.Event()
        self._closing = False
        read = source.read if source is not None else functools.partial(os.read, sys.stdin.fileno())
        self._feeder = threading.Thread(
            target=self._feed, args=(read,), name="target-sql-feeder", daemon=True
        )
        self._feeder.start()

    def items(self) -> t.Iterator[tuple]:
        """Every item, in input order, up to the end of the input."""
        while (job := self._jobs.get())[0] != "end":
            if job[0] == "error":
                raise job[1]
            if job[0] == "schema":
                yield job
                continue
            for item in self._children[job[1]].result():
                if item[0] == "error":
                    msg = f"target-sql's parsing process failed: {item[1]}"
                    raise RuntimeError(msg)
                yield item

    def resume(self, spec: RowSpec | None) -> None:
        """After a ``schema`` item: give every child the stream's RowSpec (None: none), go on reading."""
        if spec is not None:
            payload = pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)
            for child in self._children:
                child.send(1, payload)
        self._resumed.set()

    def close(self) -> None:
        """Stop the feeder and the children (still running only when the target stops early)."""
        self._closing = True
        self._resumed.set()
        for child in self._children:
            child.stop()
        while self._feeder.is_alive():  # unblock a feeder waiting for room in the queue
            with contextlib.suppress(queue.Empty):
                self._jobs.get_nowait()
            self._feeder.join(0.05)

    def _feed(self, read: t.Callable[[int], t.Any]) -> None:
        """Cut the input into blocks of whole lines, in turn to each child; stop at each SCHEMA."""
        number, turn = 1, 0
        try:
            for data in _blocks(read):
                while data and not self._closing:
                    at = data.find(b"SCHEMA")
                    if at < 0:
                        block, line, data = data, b"", b""
                    else:
                        start = data.rfind(b"\n", 0, at) + 1
                        end = data.find(b"\n", at) + 1 or len(data)
                        block, line, data = data[:start], data[start:end], data[end:]
                    if block:
                        self._jobs.put(("block", turn))
                        self._children[turn].send(2, _NUMBER.pack(number) + block)
                        turn = (turn + 1) % len(self._children)
                        number += block.count(b"\n")
                    if line:
                        self._resumed.clear()
                        self._jobs.put(("schema", number, line.rstrip(b"\n")))
                        self._resumed.wait()
                        number += 1
            for child in self._children:
                child.end_input()
        except (OSError, ValueError) as exc:  # a child stopped, or the target closed the pool
            if not self._closing:
                self._jobs.put(("error", exc))
            return
        self._jobs.put(("end",))


def _blocks(read: t.Callable[[int], t.Any]) -> t.Iterator[bytes]:
    """Whole lines as they arrive, in blocks of up to about ``_READ`` bytes."""
    pending = b""
    while True:
        data = read(_BLOCK)
        if isinstance(data, str):
            data = data.encode()
        if not data:
            if pending:
                yield pending  # the last line had no newline
            return
        data = pending + data
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
        pending = data[cut:]


class _Stream:
    """A stream's compiled row builder and metadata values, in the child."""

    def __init__(self, spec: RowSpec) -> None:
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
        self.sequence = spec.sequence
        self.shared = {"_sdc_sync_started_at": spec.sync_started_at}


class _Child:
    """In the child: reads frames from ``source``, writes one result frame a block to ``out``."""

    def __init__(self, source: int, out: int, strip_nul: bool) -> None:
        self.source, self.out, self.strip_nul = source, out, strip_nul
        self.streams: dict[str, _Stream] = {}
        self.outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=1)
        self.send_error: OSError | None = None
        self.sender = threading.Thread(target=self._send_all, name="target-sql-parse-sender", daemon=True)
        self.sender.start()

    def run(self) -> None:
        inbox: queue.Queue[tuple[int, bytes] | None] = queue.Queue(maxsize=1)
        threading.Thread(target=self._receive_all, args=(inbox,), daemon=True).start()
        while (frame := inbox.get()) is not None:
            kind, payload = frame
            if kind == 2:
                self.block(_NUMBER.unpack_from(payload)[0], memoryview(payload)[_NUMBER.size :])
            else:
                self.learn(t.cast(RowSpec, _decode(kind, payload)))
        self.outbox.put(None)
        self.sender.join()

    def _receive_all(self, inbox: queue.Queue[tuple[int, bytes] | None]) -> None:
        """The receiver thread: the feeder's next block waits here, not in the pipe, while one is parsed."""
        try:
            while True:
                size, kind = _HEADER.unpack(_read_exactly(self.source, _HEADER.size))
                inbox.put((kind, _read_exactly(self.source, size)))
        except (EOFError, OSError):
            inbox.put(None)  # the end of the input (or the target is gone)

    def block(self, number: int, data: memoryview) -> None:
        """Parse one block of lines; queue its items as one frame for the sender thread."""
        self.items: list[tuple] = []
        self.open: tuple | None = None  # the last item, while rows of the same kind can join it
        now = dt.datetime.now(dt.UTC).isoformat()
        for stream in self.streams.values():
            stream.shared["_sdc_received_at"] = stream.shared["_sdc_batched_at"] = now
        lines = bytes(data).split(b"\n")
        if not lines[-1]:
            lines.pop()
        take = self.take
        for number, line in enumerate(lines, start=number):  # noqa: B020  # the block's first line number
            take(number, line)
        if self.send_error is not None:
            raise self.send_error
        self.outbox.put(_encode(self.items))

    def _send_all(self) -> None:
        """The sender thread: writing to the pipe releases the GIL, so parsing goes on meanwhile."""
        while (data := self.outbox.get()) is not None:
            try:
                _write_all(self.out, data)
            except OSError as exc:  # the target stopped reading
                self.send_error = exc
                return

    def take(self, number: int, line: bytes) -> None:
        """Add one line's item (or its row) to the block's items."""
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            self.raw(number, line)
            return
        if self.strip_nul and _NUL in line:
            message = without_nul(message)
        kind = message.get("type") if message.__class__ is dict else None
        if kind == "RECORD":
            name = message.get("stream")
            stream = self.streams.get(name)
            record = message.get("record")
            if stream is not None and record.__class__ is dict:
                if stream.with_metadata:
                    stamp(record, message, stream.shared, stream.sequence + number)
                try:
                    row = stream.build(record)
                except BadField as exc:
                    self.open = None
                    self.items.append(("bad", name, record, exc))
                    return
                if stream.copy_lines and (stream.deleted is None or row[stream.deleted] is None):
                    lines = self.open
                    if lines is None or lines[0] != "lines" or lines[1] != name:
                        lines = self.open = ("lines", name, [] if stream.key_of else None, [])
                        self.items.append(lines)
                    if stream.key_of is not None:
                        lines[2].append(stream.key_of(row))
                    lines[3].append(stream.format(row))
                    return
                rows = self.open
                if rows is None or rows[0] != "rows" or rows[1] != name:
                    rows = self.open = ("rows", name, [])
                    self.items.append(rows)
                rows[2].append(row)
                return
        if kind is None:
            self.raw(number, line)
            return
        if kind == "SCHEMA":  # spelled with escapes (\\u0053...), so the feeder did not stop at it
            msg = (
                f"input line {number} is a SCHEMA message whose type is written with escapes; "
                "set parse_process to false to read such a stream"
            )
            raise ValueError(msg)
        self.open = None
        self.items.append(("msg", message))

    def raw(self, number: int, line: bytes) -> None:
        """A line for the target's reader to parse and explain."""
        self.open = None
        self.items.append(("line", number, line))

    def learn(self, spec: RowSpec) -> None:
        self.streams[spec.stream] = _Stream(spec)


def main(argv: list[str]) -> int:
    """The child: frames in on stdin, results out on stdout; argv[0] is "1" to strip NUL."""
    with contextlib.suppress(OSError, AttributeError):  # Linux: fewer wake-ups per frame
        fcntl.fcntl(sys.stdout.fileno(), fcntl.F_SETPIPE_SZ, _READ)
    child = _Child(sys.stdin.fileno(), sys.stdout.fileno(), argv[0] == "1")
    try:
        child.run()
    except BrokenPipeError:
        return 1  # the target stopped first; it reports why
    except BaseException:
        with contextlib.suppress(OSError):
            _write_all(child.out, _encode([("error", traceback.format_exc())]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
