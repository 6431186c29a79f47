"""Zones, authentication headers and path casing (sections 1-2)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

DENIED = {"Message": "Authorization has been denied for this request."}


@pytest.mark.parametrize("prefix", ["", "webservices14/", "webservices2/"])
def test_zone_information_from_any_prefix_without_auth(sandbox: Any, prefix: str) -> None:
    r = httpx.get(
        f"{sandbox.base_url}/{prefix}atservicesrest/v1.0/zoneInformation",
        params={"user": sandbox.username.upper()},
    )
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["zoneName", "url", "webUrl", "ci"]
    assert body["url"] == sandbox.api_url and body["url"].endswith("/ATServicesRest/")
    assert isinstance(body["ci"], int)


@pytest.mark.parametrize("user", ["someone@example.com", ""])
def test_zone_information_unknown_user(sandbox: Any, user: str) -> None:
    r = httpx.get(sandbox.root_url + "V1.0/ZoneInformation", params={"user": user})
    assert r.status_code == 500
    assert r.json() == {"errors": ["Zone information could not be determined"]}


def test_headers_are_matched_case_insensitively(sandbox: Any) -> None:
    headers = {
        "APIIntegrationcode": sandbox.integration_code,
        "Username": sandbox.username,
        "SECRET": sandbox.secret,
    }
    assert httpx.get(sandbox.api_url + "V1.0/Version", headers=headers).status_code == 200


@pytest.mark.parametrize("drop", ["UserName", "Secret", "ApiIntegrationCode"])
def test_missing_header_is_401(sandbox: Any, drop: str) -> None:
    headers = {k: v for k, v in sandbox.headers.items() if k != drop}
    r = httpx.get(sandbox.api_url + "V1.0/Tickets/entityInformation", headers=headers)
    assert r.status_code == 401 and r.json() == DENIED


@pytest.mark.parametrize("header, value", [("Secret", "wrong"), ("UserName", "other@example.com")])
def test_wrong_credentials_are_401(sandbox: Any, header: str, value: str) -> None:
    r = httpx.get(sandbox.api_url + "V1.0/Version", headers={**sandbox.headers, header: value})
    assert r.status_code == 401 and r.json() == DENIED
    assert value not in r.text


def test_wrong_integration_code_is_500_as_observed(sandbox: Any) -> None:
    r = httpx.get(sandbox.api_url + "V1.0/Version", headers={**sandbox.headers, "ApiIntegrationCode": "NOPE"})
    assert r.status_code == 500 and r.json() == {"errors": ["IntegrationCode is invalid."]}


@pytest.mark.parametrize(
    "path", ["/ATServicesRest/V1.0/Version", "/webservices3/ATServicesRest/V1.0/Version"]
)
def test_other_zone_or_no_zone_is_401(sandbox: Any, path: str) -> None:
    r = httpx.get(sandbox.base_url + path, headers=sandbox.headers)
    assert r.status_code == 401


def test_paths_are_case_insensitive(sandbox: Any) -> None:
    r = httpx.get(
        f"{sandbox.base_url}/WebServices14/atservicesrest/v1.0/tickets/ENTITYINFORMATION/fields",
        headers=sandbox.headers,
    )
    assert r.status_code == 200 and r.json()["fields"]


def test_service_endpoints(sandbox: Any) -> None:
    with httpx.Client(headers=sandbox.headers) as http:
        assert http.get(sandbox.api_url + "VersionInformation").json() == {"apiVersions": ["1.0"]}
        version = http.get(sandbox.api_url + "V1.0/Version").json()
        assert set(version) == {"majorVersion", "minorVersion", "build", "customerType"}
        modules = http.get(sandbox.api_url + "V1.0/Modules").json()["modules"]
        assert all(set(m) == {"key", "value"} and isinstance(m["key"], int) for m in modules)
        described = http.get(sandbox.api_url + "V1.0/EntityInformation").json()["entityDescriptions"]
        assert len(described) == 232 and described[0]["info"]["name"]


def test_unknown_route_is_404_with_aspnet_body(sandbox: Any) -> None:
    r = httpx.get(sandbox.api_url + "V1.0/Nope/query", headers=sandbox.headers)
    assert r.status_code == 404
    assert r.json() == {
        "Message": f"No HTTP resource was found that matches the request URI "
        f"'{sandbox.api_url}V1.0/Nope/query'."
    }
