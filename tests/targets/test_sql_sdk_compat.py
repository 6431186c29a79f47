"""Contract with singer-sdk's private API (target_adapters/_sdk_compat.py).

Fails, naming the method or attribute, when an upgrade of singer-sdk moves or reshapes
anything the targets override or read; then adapt _sdk_compat.py (and only it).
"""

from __future__ import annotations

import inspect
import io
import json
import re
from pathlib import Path

import pytest

from target_adapters import _sdk_compat as compat
from target_adapters.files.target import TargetFiles
from target_adapters.sql import TargetSQL

ROOT = Path(__file__).resolve().parents[2] / "target_adapters"


@pytest.mark.parametrize(
    ("cls", "name", "params"), compat.OVERRIDDEN, ids=[f"{c.__name__}.{n}" for c, n, _ in compat.OVERRIDDEN]
)
def test_overridden_private_method_is_unchanged(cls: type, name: str, params: tuple) -> None:
    method = getattr(cls, name, None)
    assert callable(method), f"singer-sdk {cls.__name__}.{name} is gone; adapt _sdk_compat.py"
    found = tuple(p for p in inspect.signature(method).parameters if p != "self")
    assert found == params, f"singer-sdk {cls.__name__}.{name} now takes {found}, was {params}"


def test_private_attributes_read_still_exist(tmp_path: Path) -> None:
    target = TargetSQL(config={"sqlalchemy_url": f"sqlite:///{tmp_path / 't.db'}"})
    schema = {
        "type": "SCHEMA",
        "stream": "s",
        "key_properties": ["id"],
        "schema": {"properties": {"id": {"type": "integer"}}},
    }
    target.listen(io.BytesIO(json.dumps(schema).encode() + b"\n"))
    sink = target.get_sink("s")
    live = {
        "Target": target,
        "SQLTarget": target,
        "Sink": sink,
        "SQLConnector": sink.connector,
        "SimpleSingerReader": target.message_reader,
    }
    missing = [f"{cls.__name__}.{name}" for cls, name in compat.READ if not hasattr(live[cls.__name__], name)]
    assert not missing, f"singer-sdk no longer has {missing}; adapt _sdk_compat.py"


def test_accessors_read_what_they_name(tmp_path: Path) -> None:
    target = TargetSQL(config={"sqlalchemy_url": f"sqlite:///{tmp_path / 't.db'}"})
    lines = [
        {
            "type": "SCHEMA",
            "stream": "s",
            "key_properties": ["id"],
            "schema": {"properties": {"id": {"type": "integer"}}},
        },
        {"type": "RECORD", "stream": "s", "record": {"id": 1}},
        {"type": "STATE", "value": {"at": 1}},
    ]
    stream = io.BytesIO(b"".join(json.dumps(m).encode() + b"\n" for m in lines))
    target.message_reader.process_lines(
        stream,
        {
            "SCHEMA": target._process_schema_message,
            "RECORD": target._process_record_message,
            "STATE": target._process_state_message,
        },
    )
    assert compat.latest_state(target) == {"at": 1}
    assert set(compat.active_sinks(target)) == {"s"}
    assert compat.records_read(compat.active_sinks(target)["s"]) == (1, 1)
    assert compat.created_engine(compat.created_connector(target)) is not None
    target.process_endofpipe()


def test_private_names_of_singer_sdk_appear_only_in_the_compat_module() -> None:
    """Overrides of singer-sdk's private methods and reads of its private attributes."""
    names = {name for _, name in compat.READ} | {name for _, name, _ in compat.OVERRIDDEN}
    pattern = re.compile(r"(\.|def )(" + "|".join(map(re.escape, sorted(names))) + r")\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in ROOT.rglob("*.py")
        if path.name != "_sdk_compat.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_targets_take_singer_sdk_hooks_through_the_compat_module() -> None:
    for target in (TargetFiles, TargetSQL):
        assert issubclass(target, compat.BatchAsRecords) and issubclass(target, compat.TargetHooks)
        for _, name, _ in compat.OVERRIDDEN:
            owner = next((k for k in target.__mro__ if name in vars(k)), None)
            assert (
                owner is None
                or owner.__module__ == compat.__name__
                or owner.__module__.startswith("singer_sdk")
            ), f"{target.__name__}.{name} in {owner}"
