"""The sans-IO core: building requests and reading responses, without a network."""

import orjson
import pytest

from sdk_core import _protocol as proto
from sdk_core.errors import (
    APIStatusError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    ValidationError,
    ZoneError,
)

CREDS = proto.Credentials("api@example.com", "TOP-SECRET-VALUE", "INTEGRATION-CODE-XYZ")
ROOT = "https://webservices14.autotask.net/ATServicesRest/"


def response(status, body=None, headers=None, raw=None):
    content = raw if raw is not None else (orjson.dumps(body) if body is not None else b"")
    return proto.Response(status, headers or {}, content)


def test_query_request_is_a_post_with_the_filter_and_includes_id():
    req = proto.query_request(
        ROOT, CREDS, "Tickets", [{"op": "eq", "field": "status", "value": 1}], ["id", "title"], 200
    )
    assert (req.method, req.url) == ("POST", ROOT + "V1.0/Tickets/query")
    assert orjson.loads(req.content) == {
        "filter": [{"op": "eq", "field": "status", "value": 1}],
        "includeFields": ["id", "title"],
        "maxRecords": 200,
    }
    assert req.headers["ApiIntegrationCode"] == "INTEGRATION-CODE-XYZ"
    assert req.endpoint == "Tickets" and req.idempotent


def test_an_empty_filter_asks_for_every_row():
    req = proto.count_request(ROOT, CREDS, "Companies", [])
    assert orjson.loads(req.content) == {"filter": [{"op": "exist", "field": "id"}]}


def test_creates_are_not_idempotent_but_put_patch_are():
    assert not proto.write_request(ROOT, CREDS, "Tickets", "POST", "Tickets", {}).idempotent
    assert proto.write_request(ROOT, CREDS, "Tickets", "PATCH", "Tickets", {"id": 1}).idempotent
    assert proto.write_request(ROOT, CREDS, "Tickets", "PUT", "Tickets", {"id": 1}).idempotent


def test_secret_never_in_reprs():
    req = proto.get_request(ROOT, CREDS, "Tickets", "Tickets/1")
    for text in (repr(CREDS), str(CREDS), repr(req), str(req.info)):
        assert "TOP-SECRET-VALUE" not in text and "INTEGRATION-CODE-XYZ" not in text


def test_zone_reading_adds_the_trailing_slash_and_unknown_user_is_a_zone_error():
    req = proto.zone_request(proto.DEFAULT_ZONE_LOOKUP_URL, "api@example.com")
    assert req.url.endswith("V1.0/ZoneInformation?user=api@example.com") and not req.authenticated
    ok = response(
        200,
        {"zoneName": "America East 2", "ci": 1, "url": "https://webservices14.autotask.net/ATServicesRest"},
    )
    assert proto.read_zone(req, ok) == ROOT
    with pytest.raises(ZoneError, match="Zone information could not be determined"):
        proto.read_zone(req, response(500, {"errors": ["Zone information could not be determined"]}))


def test_item_null_means_absent_and_item_id_may_be_a_string():
    assert proto.read_item(response(200, {"item": None})) is None
    assert proto.read_item(response(200, {"item": {"id": 3}})) == {"id": 3}
    assert proto.read_item_id(response(200, {"itemId": "42"})) == 42
    assert proto.read_item_id(response(200, {"itemId": 29683664})) == 29683664
    with pytest.raises(ServerError, match="without itemId"):
        proto.read_item_id(response(200, {"id": 1}))


def test_threshold_and_count_and_query_readers():
    assert proto.read_threshold(
        response(
            200,
            {
                "externalRequestThreshold": 10000,
                "requestThresholdTimeframe": 60,
                "currentTimeframeRequestCount": 124,
            },
        )
    ) == {"limit": 10000, "timeframe_minutes": 60, "used": 124}
    assert proto.read_count(response(200, {"queryCount": 7})) == 7
    items, details = proto.read_query(response(200, {"items": [{"id": 1}], "pageDetails": {"count": 1}}))
    assert items == [{"id": 1}] and details["count"] == 1


GET = proto.get_request(ROOT, CREDS, "Tickets", "Tickets/query")
POST = proto.write_request(ROOT, CREDS, "Tickets", "POST", "Tickets", {})
DELETE = proto.delete_request(ROOT, CREDS, "TimeEntries", "TimeEntries/9")


@pytest.mark.parametrize(
    "request_, status, body, error, text",
    [
        (
            GET,
            401,
            {"Message": "Authorization has been denied for this request."},
            AuthenticationError,
            "Authorization has been denied",
        ),
        (GET, 403, {"errors": ["Forbidden"]}, PermissionDeniedError, "Forbidden"),
        (
            GET,
            500,
            {"errors": ["The logged in Resource does not have the adequate permissions"]},
            PermissionDeniedError,
            "adequate permissions",
        ),
        (GET, 404, None, NotFoundError, "HTTP 404"),
        (
            DELETE,
            500,
            {
                "errors": [
                    "No message. No matching records found. The logged in Resource may "
                    "not have the required permissions to delete the data."
                ]
            },
            NotFoundError,
            "No matching records found",
        ),
        (
            GET,
            405,
            {"Message": "The requested resource does not support http method 'GET'."},
            ValidationError,
            "does not support http method",
        ),
        (
            POST,
            500,
            {"errors": ["Missing Required Field: title. ; on record number [1]."]},
            ValidationError,
            "Missing Required Field: title",
        ),
        (
            GET,
            500,
            {"errors": ["Unable to find stauts in the Ticket Entity."]},
            ValidationError,
            "Unable to find stauts",
        ),
        (GET, 400, {"errors": ["msg1", "msg2"]}, ValidationError, "msg1; msg2"),
        (
            GET,
            400,
            {"errors": [{"message": "structured error"}, "plain"]},
            ValidationError,
            "structured error; plain",
        ),
        (GET, 429, {"errors": ["Rate limit exceeded"]}, RateLimitedError, "Rate limit exceeded"),
        (
            GET,
            500,
            {
                "errors": [
                    "Thread Threshold Exceeded - The Autotask API thread threshold of 3 "
                    "threads has been exceeded. (Itgenatr005)"
                ]
            },
            RateLimitedError,
            "thread limit",
        ),
        (GET, 500, {"errors": ["Internal error"]}, ServerError, "Internal error"),
        (GET, 503, None, ServerError, "HTTP 503"),
        (GET, 502, None, ServerError, "502"),
        (GET, 400, None, ValidationError, "HTTP 400"),
        (GET, 418, {"errors": ["teapot"]}, APIStatusError, "teapot"),
    ],
)
def test_error_mapping(request_, status, body, error, text):
    err = proto.error_from_response(request_, response(status, body))
    assert type(err) is error
    assert text in str(err)
    assert err.status_code == status and err.request == request_.info


def test_non_json_error_bodies_are_kept_as_text():
    err = proto.error_from_response(GET, response(400, raw=b"this is not valid json"))
    assert isinstance(err, ValidationError) and err.messages == ("this is not valid json",)


def test_thread_limit_is_recognised_whatever_the_status():
    err = proto.error_from_response(GET, response(429, {"errors": ["Itgenatr005"]}, {"Retry-After": "2"}))
    assert isinstance(err, RateLimitedError) and err.thread_limit and err.retry_after == 2.0


def test_retry_after_as_http_date():
    r = response(429, {}, {"retry-after": "Thu, 01 Jan 2026 00:00:10 GMT"})
    assert proto.retry_after_seconds(r, now=1767225600.0) == 10.0


QUERY = proto.query_request(ROOT, CREDS, "Tickets", [])
COUNT = proto.count_request(ROOT, CREDS, "Tickets", [])
PATCH = proto.write_request(ROOT, CREDS, "Tickets", "PATCH", "Tickets", {"id": 1})
DEADLOCK = (
    "Transaction (Process ID 61) was deadlocked on lock resources with another process and "
    "has been chosen as the deadlock victim. Rerun the transaction."
)
NULL_REF = "Object reference not set to an instance of an object."
HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>Microsoft-Azure-Application-Gateway/v2</center></body></html>"
)


@pytest.mark.parametrize("request_", [QUERY, COUNT, GET, PATCH, DELETE], ids=lambda r: r.method + r.url[-12:])
@pytest.mark.parametrize(
    "status, body, raw",
    [
        (500, {"errors": [DEADLOCK]}, None),
        (500, {"errors": [NULL_REF]}, None),
        (500, {"Message": "An error has occurred."}, None),
        (502, None, HTML_502),
        (500, None, b"<!DOCTYPE html><html><body>Runtime Error</body></html>"),
    ],
)
def test_transient_server_faults_are_retriable_server_errors(request_, status, body, raw):
    err = proto.error_from_response(request_, response(status, body, raw=raw))
    assert type(err) is ServerError


@pytest.mark.parametrize(
    "text",
    [
        "Unable to find stauts in the Ticket Entity.",
        "Reference value on field: contactID of type: Contact does not exist or is invalid.",
        "contactID: Value 12345 does not exist or is invalid",
        "Missing Required Field: title. ; on record number [1].",
        "Picklist value [3] does not exist for noteType. ; on record number [1].",
        "Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions.",
        "You can only query by one user-defined field at a time",
        "MaxRecords must be between 1 and 500.",
        "IncludeFields must contain id when the query returns more than one page.",
    ],
)
def test_business_rule_texts_are_validation_errors_on_reads_and_writes(text):
    for request_ in (QUERY, GET, POST, PATCH):
        err = proto.error_from_response(request_, response(500, {"errors": [text]}))
        assert type(err) is ValidationError, (request_.method, text)


def test_an_unlisted_500_message_is_a_business_rule_on_a_write_only():
    body = {"errors": ['The Task "Kickoff" has an invalid Resource and Role combination.']}
    assert type(proto.error_from_response(POST, response(500, body))) is ValidationError
    assert type(proto.error_from_response(QUERY, response(500, body))) is ServerError


def test_invalid_integration_code_is_an_authentication_error_saying_what_to_check():
    body = {"errors": ["IntegrationCode is invalid."]}
    for request_ in (QUERY, POST, proto.zone_request(proto.DEFAULT_ZONE_LOOKUP_URL, "api@example.com")):
        err = proto.error_from_response(request_, response(500, body))
        assert type(err) is AuthenticationError
        assert "AUTOTASK_INTEGRATION_CODE" in str(err) and "IntegrationCode is invalid" in str(err)
    zone_req = proto.zone_request(proto.DEFAULT_ZONE_LOOKUP_URL, "api@example.com")
    with pytest.raises(AuthenticationError, match="AUTOTASK_INTEGRATION_CODE"):
        proto.read_zone(zone_req, response(500, body))


def test_zone_text_is_a_zone_error_saying_what_to_check():
    err = proto.error_from_response(
        QUERY, response(500, {"errors": ["Zone information could not be determined"]})
    )
    assert type(err) is ZoneError and "AUTOTASK_USERNAME" in str(err) and "api_url" in str(err)


def test_parallel_ranges_tile_the_ids_after_the_first_page_to_an_open_end():
    from sdk_core._scan import plan_ranges

    first = [{"id": i} for i in range(1, 501)]
    ranges = plan_ranges(first, 3500, 3)
    assert ranges[0][0] == 500 and ranges[-1][1] is None and len(ranges) == 3
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))  # no id falls between ranges
    assert ranges[0][1] - ranges[0][0] == 1000  # 3,000 ids left, a third each
    aligned = plan_ranges(first, 3200, 3, page_size=500)  # 2,700 left: 900 rounds up to 2 pages
    assert [hi - lo for lo, hi in aligned[:-1]] == [990, 990]  # 2 pages less 10 rows of spare room
