"""The public surface: what users and the tap import must stay importable and named."""

import inspect

import sdk_core
from sdk_core import errors

EXPECTED = {
    "AutotaskClient",
    "AsyncAutotaskClient",
    "Entity",
    "AsyncEntity",
    "EntityInfo",
    "Governor",
    "Q",
    "compile_filter",
    "parse_datetime",
    "format_datetime",
    "load_catalog",
    "AutotaskError",
    "AuthenticationError",
    "ConfigurationError",
    "NotFoundError",
    "PermissionDeniedError",
    "QueryError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "UnknownEntityError",
    "UnknownOutcomeError",
    "UnsupportedOperationError",
    "ValidationError",
    "ZoneError",
    "Settings",
    "Transport",
    "AsyncTransport",
    "MockTransport",
    "AsyncMockTransport",
    "Request",
    "Response",
    "CacheConfig",
    "HealthMonitor",
    "to_dataframe",
}


def test_exported_members():
    assert set(sdk_core.__all__) == EXPECTED
    for name in sdk_core.__all__:
        member = getattr(sdk_core, name)
        assert getattr(member, "__module__", "sdk_core").startswith("sdk_core"), name


def test_every_error_is_an_autotask_error_documented_in_the_tree():
    doc = errors.__doc__
    for name in errors.__all__:
        cls = getattr(errors, name)
        if name == "RequestInfo":
            continue
        assert issubclass(cls, errors.AutotaskError), name
        assert name in doc, f"{name} is missing from the error tree in errors.py"
        assert cls.__doc__, f"{name} needs a one-line docstring saying when it is raised"


def test_client_signatures_the_tap_codes_against():
    for cls in (sdk_core.AutotaskClient, sdk_core.AsyncAutotaskClient):
        params = list(inspect.signature(cls).parameters)
        assert params[:11] == [
            "username",
            "secret",
            "integration_code",
            "api_url",
            "impersonation_resource_id",
            "zone_lookup_url",
            "max_api_share",
            "max_concurrency",
            "redis_url",
            "timeout",
            "max_retries",
        ]
    for cls in (sdk_core.Entity, sdk_core.AsyncEntity):
        query = inspect.signature(cls.query).parameters
        assert list(query)[:3] == ["self", "filter", "fields"]
        assert {"after_id", "page_size", "parallel"} <= set(query)
        for name in (
            "pages",
            "count",
            "get",
            "create",
            "update",
            "replace",
            "delete",
            "fields",
            "udfs",
            "info_live",
        ):
            assert callable(getattr(cls, name)), name


def test_the_catalog_and_the_sandbox_load_no_client_module():
    import subprocess
    import sys

    code = (
        "import sys, sdk_core.catalog, autotask_sandbox.app\n"
        "heavy = {'sdk_core._client', 'sdk_core._async_client', 'sdk_core._governor', "
        "'sdk_core._base', 'sdk_core._flow'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_every_exported_name_resolves_lazily_and_unknown_names_fail():
    import pytest

    assert set(sdk_core.__all__) <= set(dir(sdk_core))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = sdk_core.Nope


def test_the_public_namespace_is_exactly_all_and_dunders():
    import sdk_core.errors  # a loaded submodule must not widen it either

    assert {n for n in dir(sdk_core) if not (n.startswith("__") and n.endswith("__"))} == set(
        sdk_core.__all__
    )
