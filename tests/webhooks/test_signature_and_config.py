"""Signature verification (raw and escaped forms) and the tenants/secrets configuration."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autotask_sandbox.webhooks import dotnet_json, plain_json
from autotask_sandbox.webhooks import sign as sandbox_sign
from sdk_core.webhooks.config import ConfigError, Secret, load_tenants, tenants_from
from sdk_core.webhooks.signature import escaped_form, sign, verify

PAYLOAD = {
    "Action": "Update",
    "Guid": "g",
    "EntityType": "Ticket",
    "Id": 1,
    "Fields": {
        "title": "Printer <HP> & 'Toner' +5 \"urgent\" – Größe ✓ \U0001f600 `x`",
        "n": 2,
        "ok": True,
        "none": None,
        "hours": 1.5,
    },
}


def test_known_answer_vector() -> None:
    # aybouzaglou/autotask-rest-api-types test vector (reference 11.4)
    assert sign("kat-secret-key", b'{"id":123,"title":"Server down"}') == "sha1=wql/x7lvZIcIN10rO/5dWem76B0="


def test_escaped_form_is_what_the_sandbox_signs() -> None:
    assert escaped_form(json.loads(plain_json(PAYLOAD))) == dotnet_json(PAYLOAD).encode()


@pytest.mark.parametrize("wire", ["escaped", "plain"])
def test_raw_and_escaped_bodies_verify(wire: str) -> None:
    escaped = dotnet_json(PAYLOAD).encode()
    body = escaped if wire == "escaped" else plain_json(PAYLOAD).encode()
    header = sandbox_sign("k", escaped)  # Autotask signs the escaped text
    assert verify(["k"], body, header)
    assert not verify(["other"], body, header)
    assert verify(["old", "k"], body, header)  # rotation: any configured secret


@pytest.mark.parametrize("header", [None, "", "sha1=", "sha256=abcd", "sha1=***", "garbage"])
def test_malformed_headers_fail(header: str | None) -> None:
    assert not verify(["k"], b"{}", header)


def test_a_non_json_body_still_verifies_raw() -> None:
    assert verify(["k"], b"not json", sign("k", b"not json"))


def test_secrets_never_show() -> None:
    secret = Secret("super-secret-value")
    assert "super-secret-value" not in repr(secret) + str(secret) + repr([secret])
    tenants = tenants_from({"acme": "super-secret-value"})
    assert "super-secret-value" not in repr(tenants) + repr(list(tenants))


def test_default_tenant_from_the_environment() -> None:
    tenants = load_tenants(env={"AUTOTASK_WEBHOOK_SECRET": "abc"})
    (tenant,) = list(tenants)
    assert tenant.name == "default" and tenant.secret_for("Ticket") == "abc"
    with pytest.raises(ConfigError, match="export AUTOTASK_WEBHOOK_SECRET"):
        load_tenants(env={})


def test_tenants_file(tmp_path: Path) -> None:
    file = tmp_path / "tenants.toml"
    file.write_text("""
[tenants.acme]
secret_env = "ACME_SECRET"
entities = ["ticket", "Account"]
[tenants.acme.secrets]
Company = ["new-company-key", "old-company-key"]

[tenants.globex]
secret = "globex-key"
""")
    tenants = load_tenants(file, env={"ACME_SECRET": "acme-key"})
    acme = tenants.get("ACME")
    assert acme is not None and acme.entities == {"Ticket", "Company"}
    assert acme.secret_for("Ticket") == "acme-key" and acme.secret_for("Company") == "new-company-key"
    assert len(acme.secrets_for("Company")) == 2
    assert tenants.get("globex").secret_for("Contact") == "globex-key"  # type: ignore[union-attr]  # the tenant is configured
    via_env = load_tenants(env={"AUTOTASK_WEBHOOK_TENANTS": str(file), "ACME_SECRET": "x"})
    assert via_env.names() == ["acme", "globex"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tenants.a]\nsecret_env = 'MISSING_VAR'\n", "MISSING_VAR is not set"),
        ("[tenants.a]\nentities = ['Invoice']\nsecret = 'x'\n", "unknown entities ['Invoice']"),
        (
            "[tenants.a]\nsecrets = {Ticket = 'x'}\n",
            "has no secret for Company, ConfigurationItem, Contact, TicketNote",
        ),
        ("[tenants.a]\nsecret = 'x'\ncolour = 'red'\n", "unknown setting(s) ['colour']"),
        ("tenants = 3\n", "has no [tenants.NAME] tables"),
        ("[tenants.a\n", "is not valid TOML"),
    ],
)
def test_bad_tenants_files_say_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "tenants.toml"
    file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_tenants(file, env={})
    assert message in str(caught.value)


def test_importing_the_sdk_loads_neither_webhooks_nor_starlette() -> None:
    code = (
        "import sys, sdk_core; from sdk_core import AutotaskClient; import sdk_core.cli;"
        "c = AutotaskClient('u', 's', 'i', api_url='http://127.0.0.1:9/');"
        "hooks = c.webhooks;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn')"
        " or m == 'sdk_core.webhooks.receiver'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
