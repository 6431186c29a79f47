"""The sandbox's webhook serialization and signature, checked against independent computations."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from autotask_sandbox.webhooks import dotnet_json, plain_json, sign

# Known-answer vector from reference/samples/webhook-signature-vector.json (aybouzaglou
# autotask-rest-api-types test/webhooks.test.mjs@feddee3), copied so the test runs anywhere.
VECTOR = {
    "payload_string": '{"id":123,"title":"Server down"}',
    "secret": "kat-secret-key",
    "expected_header_value": "sha1=wql/x7lvZIcIN10rO/5dWem76B0=",
}


def independent_signature(secret: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    return "sha1=" + base64.b64encode(mac).decode()


def test_known_answer_vector() -> None:
    body = VECTOR["payload_string"].encode()
    assert sign(VECTOR["secret"], body) == VECTOR["expected_header_value"]
    # the sandbox serializes the same object to exactly the vector's bytes
    assert dotnet_json({"id": 123, "title": "Server down"}) == VECTOR["payload_string"]


def test_signature_is_hmac_sha1_base64_of_the_body() -> None:
    body = b'{"Action":"Update","Id":7}'
    assert sign("s3cr3t-key", body) == independent_signature("s3cr3t-key", body)
    assert sign("other-key", body) != sign("s3cr3t-key", body)


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("Tom & Jerry", r'"Tom \u0026 Jerry"'),
        ("<b>bold</b>", r'"\u003Cb\u003Ebold\u003C/b\u003E"'),
        ("it's", r'"it\u0027s"'),
        ('say "hi"', r'"say \u0022hi\u0022"'),
        ("1+1", r'"1\u002B1"'),
        ("`tick`", r'"\u0060tick\u0060"'),
        ("café", r'"caf\u00E9"'),
        ("Zürich – €", r'"Z\u00FCrich \u2013 \u20AC"'),
        ("emoji \U0001f600", r'"emoji \uD83D\uDE00"'),
        ("back\\slash\nline\ttab", r'"back\\slash\nline\ttab"'),
        ("bell\x07", r'"bell\u0007"'),
    ],
)
def test_dotnet_escaping_of_string_values(value: str, escaped: str) -> None:
    assert dotnet_json(value) == escaped
    assert json.loads(escaped) == value  # still valid JSON meaning the same text


def test_escaped_payload_is_ascii_and_parses_back_to_the_same_payload() -> None:
    payload = {
        "Action": "Update",
        "Guid": "g-1",
        "EntityType": "Ticket",
        "Id": 12,
        "Fields": {
            "title": "Printer <HP> & 'Toner' +5 \"urgent\" – Größe",
            "priority": 2,
            "estimatedHours": 1.5,
            "dueDateTime": None,
            "isVisibleToComanaged": False,
        },
        "EventTime": "2026-01-02T03:04:05.123",
        "SequenceNumber": 3,
        "PersonID": 29682885,
    }
    text = dotnet_json(payload)
    assert text.isascii()
    assert json.loads(text) == payload
    assert list(json.loads(text)) == list(payload)  # key order kept
    plain = plain_json(payload)
    assert json.loads(plain) == payload
    assert plain != text  # the mismatch switch really sends different bytes


def test_plain_and_escaped_forms_agree_when_nothing_needs_escaping() -> None:
    payload = {"Action": "Create", "Id": 1, "Fields": {"title": "Server down"}}
    assert dotnet_json(payload) == plain_json(payload) == json.dumps(payload, separators=(",", ":"))


def test_unserializable_values_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="nan"):
        dotnet_json({"x": float("nan")})
    with pytest.raises(TypeError, match="set"):
        dotnet_json({"x": {1, 2}})
