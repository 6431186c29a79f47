"""Record validation compiled once per schema.

singer-sdk's default validator interprets the JSON schema for every field of
every record (most of a typical target's CPU time). This one checks what a
loader relies on -- the JSON type of each present value and required fields --
with one dictionary lookup and one ``isinstance`` per field.
"""

from __future__ import annotations

import typing as t
from decimal import Decimal
from operator import contains

from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks.core import BaseJSONSchemaValidator

from target_adapters.common.schema_types import schema_branches

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list, tuple),
    "null": (type(None),),
}


_KEY_ORDERS_KEPT = 256
_INT64_LIMIT = 2.0**63


class _AnyType:
    """Allows every type: properties without a declared type."""

    def __contains__(self, item: object) -> bool:
        return True


_ANY = _AnyType()


class _Check(t.NamedTuple):
    exact: frozenset[type]  # the fast path: value.__class__ in exact
    types: tuple[type, ...]  # the slow path: subclasses such as Decimal or OrderedDict
    bools_ok: bool
    integer_only: bool
    label: str


def _compile(prop: dict) -> _Check | None:
    """What a property allows; None when it allows anything."""
    names: list[str] = []
    for branch in schema_branches(prop):
        declared = branch.get("type")
        if declared is None:
            return None
        names.extend([declared] if isinstance(declared, str) else declared)
    names = list(dict.fromkeys(names))
    if any(n not in _PYTHON_TYPES for n in names):
        return None
    types: tuple[type, ...] = ()
    for name in names:
        types += _PYTHON_TYPES[name]
    bools_ok = "boolean" in names
    exact = frozenset(types) - (set() if bools_ok else {bool})
    integer_only = "integer" in names and "number" not in names
    return _Check(exact, types, bools_ok, integer_only, "|".join(names))


class CompiledValidator(BaseJSONSchemaValidator):
    """Type and required-field checks for flat Singer records."""

    def __init__(
        self,
        schema: dict[str, t.Any],
        stream_name: str = "",
        record_number: t.Callable[[], int] | None = None,
    ) -> None:
        super().__init__(schema)
        self._stream = stream_name
        # The number of the record being validated in its stream, from the caller's count.
        self._record_number = record_number
        self._required = tuple(schema.get("required") or ())
        self._checks: dict[str, _Check] = {}
        self._by_keys: dict[tuple[str, ...], list[t.Container[type]]] = {}
        for name, prop in (schema.get("properties") or {}).items():
            check = _compile(prop or {})
            if check is not None:
                self._checks[name] = check

    def validate(self, record: dict[str, t.Any]) -> None:
        """Raise InvalidRecord naming the stream, field, value and allowed types."""
        keys = tuple(record)
        allowed = self._by_keys.get(keys)
        if allowed is None:
            allowed = self._remember(keys)
        # The usual case, every value of an exact allowed type, runs in C.
        if not all(map(contains, allowed, map(type, record.values()))):
            self._find_problem(record)
        for name in self._required:
            if name not in record:
                self._fail(record, f"required field '{name}' is missing")

    def _remember(self, keys: tuple[str, ...]) -> list[t.Container[type]]:
        """Allowed types in the order of a record's keys (taps repeat one order)."""
        if len(self._by_keys) >= _KEY_ORDERS_KEPT:
            self._by_keys.clear()
        allowed: list[t.Container[type]] = [
            self._checks[k].exact if k in self._checks else _ANY for k in keys
        ]
        self._by_keys[keys] = allowed
        return allowed

    def _find_problem(self, record: dict[str, t.Any]) -> None:
        checks = self._checks
        for name, value in record.items():
            check = checks.get(name)
            if check is not None and value.__class__ not in check.exact:
                self._check_slowly(record, name, value, check)

    def _check_slowly(self, record: dict, name: str, value: t.Any, check: _Check) -> None:
        if isinstance(value, bool):
            if check.bools_ok:
                return
        elif isinstance(value, check.types):
            return
        elif check.integer_only and isinstance(value, float) and value.is_integer():
            if abs(value) < _INT64_LIMIT:
                return
            self._fail(
                record,
                f"field '{name}' is an integer beyond 64 bits ({value:.0f}), which the "
                "fast JSON parser reads as an inexact float",
            )
        elif float in check.types and isinstance(value, Decimal):
            return
        self._fail(
            record, f"field '{name}' is {value!r} ({type(value).__name__}), the schema allows {check.label}"
        )

    def _fail(self, record: dict, problem: str) -> t.NoReturn:
        where = f"stream '{self._stream}'"
        if self._record_number is not None:
            where += f", record {self._record_number()}"
        msg = (
            f"{where}: {problem}. Fix the tap's schema or the record, "
            "or set validate_records: false to load it as it is."
        )
        raise InvalidRecord(msg, record)
