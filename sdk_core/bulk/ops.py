"""The bulk engine's steps are generators that yield `Op`s (one client call each) and get the
call's value back, or its exception thrown in. The same steps then run under the sync client
(`drive`) and the async client (`drive_async`), through the clients' public methods only.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Op", "Step", "drive", "drive_async"]


@dataclass(frozen=True)
class Op:
    """`client.entity(entity).<method>(*args, **kwargs)`; a `query` is read to a list."""

    entity: str
    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


Step = Generator[Op, Any, Any]


def drive(client: Any, step: Step) -> Any:
    """Run a step with the sync client; returns the step's value."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = step.throw(error) if error is not None else step.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            entity = client.entity(op.entity)
            result = getattr(entity, op.method)(*op.args, **op.kwargs)
            value = list(result) if op.method == "query" else result
        except Exception as exc:  # handed to the step, which decides
            error = exc


async def drive_async(client: Any, step: Step) -> Any:
    """Run a step with the async client; returns the step's value."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = step.throw(error) if error is not None else step.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            entity = client.entity(op.entity)
            if op.method == "query":
                value = [row async for row in entity.query(*op.args, **op.kwargs)]
            else:
                value = await getattr(entity, op.method)(*op.args, **op.kwargs)
        except Exception as exc:
            error = exc
