"""Record validation compiled once per schema.

singer-sdk's default validator interprets the JSON schema for every field of
every record (most of a typical target's CPU time). This one checks what a
loader relies on -- the JSON type of each present value and required fields --
with one dictionary lookup and one ``isinstance`` per field.
"""

from __future__ import annotations

import typing as t

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


def _allowed(prop: dict) -> tuple[tuple[type, ...], bool, str] | None:
    """Python types a property allows, whether bools count, and a label; None = any."""
    names: list[str] = []
    for branch in schema_branches(prop):
        declared = branch.get("type")
        if declared is None:
            return None
        names.extend([declared] if isinstance(declared, str) else declared)
    types: tuple[type, ...] = ()
    for name in dict.fromkeys(names):
        types += _PYTHON_TYPES.get(name, (object,))
    return types, "boolean" in names, "|".join(dict.fromkeys(names))


class CompiledValidator(BaseJSONSchemaValidator):
    """Type and required-field checks for flat Singer records."""

    def __init__(self, schema: dict[str, t.Any], stream_name: str = "") -> None:
        super().__init__(schema)
        self._stream = stream_name
        self._required = tuple(schema.get("required") or ())
        self._checks: dict[str, tuple[tuple[type, ...], bool, str]] = {}
        self._integer_fields: set[str] = set()
        for name, prop in (schema.get("properties") or {}).items():
            allowed = _allowed(prop or {})
            if allowed is not None and object not in allowed[0]:
                self._checks[name] = allowed
                if int in allowed[0] and float not in allowed[0]:
                    self._integer_fields.add(name)

    def validate(self, record: dict[str, t.Any]) -> None:
        """Raise InvalidRecord naming the stream, field, value and allowed types."""
        checks = self._checks
        for name, value in record.items():
            check = checks.get(name)
            if check is None:
                continue
            types, bools_ok, label = check
            if isinstance(value, types) and (bools_ok or value.__class__ is not bool):
                continue
            if name in self._integer_fields and isinstance(value, float) and value.is_integer():
                continue
            self._fail(record, f"field '{name}' is {value!r} ({type(value).__name__}), "
                       f"the schema allows {label}")
        for name in self._required:
            if name not in record:
                self._fail(record, f"required field '{name}' is missing")

    def _fail(self, record: dict, problem: str) -> t.NoReturn:
        msg = (
            f"stream '{self._stream}': {problem}. Fix the tap's schema or the record, "
            "or set validate_records: false to load it as it is."
        )
        raise InvalidRecord(msg, record)
