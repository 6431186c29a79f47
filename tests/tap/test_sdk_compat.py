"""singer-sdk's private names the tap relies on are still where `_sdk_compat` says they are.

An upgrade of singer-sdk that moves, renames or reshapes one fails here, naming the entry of
`tap_autotask._sdk_compat.CONTRACT` and what changed; and no other module of the tap may use
a private singer-sdk name.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from tap_autotask import TapAutotask, _sdk_compat
from tap_autotask._sdk_compat import CONTRACT, Use

SDK = f"singer-sdk {version('singer-sdk')}"
OFFLINE = {
    "username": "u@example.com",
    "secret": "s",
    "integration_code": "c",
    "metadata_source": "catalog",
    "include_streams": ["tickets"],
}


def _resolve(where: str) -> tuple[Any, str, Any]:
    """(owner, last name, object or None) of "module:Qualified.name"."""
    module_name, _, qualified = where.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = qualified.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, name, getattr(owner, name, None)


@pytest.fixture(scope="module")
def instances() -> dict[str, Any]:
    """A live tap and stream: instance attributes exist only once __init__ has run."""
    tap = TapAutotask(config=OFFLINE, parse_env_config=False)
    return {"PluginBase": tap, "Tap": tap, "Stream": tap.streams["tickets"]}


@pytest.mark.parametrize("use", CONTRACT, ids=lambda u: u.where.split(":")[1])
def test_each_private_name_is_still_there(use: Use, instances: dict[str, Any]) -> None:
    owner, name, found = _resolve(use.where)
    if use.kind == "attribute":
        instance = instances[owner.__name__]
        assert name in vars(instance), (
            f"{SDK}: {use.where} is no longer set on a {owner.__name__} instance; "
            f"_sdk_compat uses it so that {use.why}"
        )
        return
    assert found is not None, f"{SDK} has no {use.where} any more; _sdk_compat needs it: {use.why}"
    if use.kind in ("method", "function"):
        target = getattr(found, "__func__", found)
        params = tuple(inspect.signature(target).parameters)
        assert params == use.detail, (
            f"{SDK} changed the parameters of {use.where}: {params}, was {use.detail}; "
            f"_sdk_compat relies on them so that {use.why}"
        )
    elif use.kind == "message":
        assert use.detail[0] in inspect.getsource(found), (
            f"{SDK}: {use.where} no longer logs {use.detail[0]!r}; _sdk_compat filters it so that {use.why}"
        )
    else:
        pytest.fail(f"unknown kind {use.kind!r} in the contract")


def test_the_overrides_in_compat_override_something() -> None:
    """An override whose base method vanished would silently never be called."""
    for cls in (_sdk_compat.CompatTap, _sdk_compat.CompatStream):
        for name, member in vars(cls).items():
            if (
                name.startswith("_")
                and not name.startswith("__")
                and callable(getattr(member, "__func__", member))
            ):
                base = cls.__mro__[1]
                assert hasattr(base, name), f"{SDK}: {base.__name__}.{name} is gone"
                contracted = {u.where.rsplit(".", 1)[-1] for u in CONTRACT}
                assert name in contracted, f"{cls.__name__}.{name} is not in CONTRACT"


def _singer_sdk_private_names() -> set[str]:
    """Private names singer-sdk's Tap and Stream have: on the classes, and set by __init__."""
    from singer_sdk import Stream, Tap
    from singer_sdk.plugin_base import PluginBase

    class Plain(Stream):
        name = "plain"
        schema = {"type": "object", "properties": {"id": {"type": "integer"}}}

        def get_records(self, context: Any) -> list[dict[str, Any]]:
            return []

    class PlainTap(Tap):
        name = "plain-tap"
        config_jsonschema = {"type": "object", "properties": {}}

        def discover_streams(self) -> list[Stream]:
            return [Plain(self)]

    tap = PlainTap(config={}, parse_env_config=False)
    names = set(vars(tap)) | set(vars(tap.streams["plain"]))
    for cls in (Stream, Tap, PluginBase):
        names |= set(dir(cls))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def test_no_other_module_of_the_tap_uses_a_private_singer_sdk_name() -> None:
    private = _singer_sdk_private_names()
    assert {"_tap", "_schema", "_write_state_message"} <= private  # the check sees them
    package = Path(_sdk_compat.__file__).parent
    for path in package.glob("*.py"):
        if path.name == "_sdk_compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("singer_sdk"):
                assert not any(part.startswith("_") for part in node.module.split(".")), (
                    f"{path.name} imports {node.module}: move it to _sdk_compat"
                )
            name = (
                node.attr
                if isinstance(node, ast.Attribute)
                else node.name
                if isinstance(node, ast.FunctionDef)
                else None
            )
            assert name not in private, (
                f"{path.name} uses singer-sdk's private {name}: move it to _sdk_compat"
            )
