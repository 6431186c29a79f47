"""Domain errors of the emulated API, carrying the status and messages Autotask sends.

`ApiError` renders as `{"errors": [...]}` (business rules, validation: mostly 500);
`FrameworkError` renders as ASP.NET Web API's `{"Message": "..."}` (routing, 401, 405).
The verbatim texts quoted by the reference (section 9.3) live here, in one place.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as `{"errors": [...]}` with the given status."""

    def __init__(self, status: int, *messages: str, headers: dict[str, str] | None = None):
        super().__init__(*messages)
        self.status = status
        self.messages = list(messages)
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"errors": self.messages}


class FrameworkError(Exception):
    """An error answered in ASP.NET Web API's shape, `{"Message": "..."}`."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"Message": self.message}


def unknown_field(field: str, internal_name: str) -> ApiError:
    return ApiError(500, f"Unable to find {field} in the {internal_name} Entity.")


def bad_reference(field: str, ref_internal: str) -> ApiError:
    return ApiError(
        500, f"Reference value on field: {field} of type: {ref_internal} does not exist or is invalid."
    )


def bad_picklist(value: Any, field: str) -> ApiError:
    return ApiError(500, f"Picklist value [{value}] does not exist for {field}. ; on record number [1].")


def missing_required(field: str) -> ApiError:
    # Verbatim from a live QuoteItems create (samples/errors-collected.json); using it for a
    # PATCH that nulls a required field is INFERRED.
    return ApiError(500, f"Missing Required Field: {field}. ; on record number [1].")


def too_long(field: str, length: int) -> ApiError:
    # INFERRED wording (the reference quotes no length error); suffix as the verbatim ones.
    return ApiError(
        500,
        f"The value of {field} exceeds the maximum length of {length} characters. ; on record number [1].",
    )


def duplicate_contact_group(name: str) -> ApiError:
    # Verbatim from section 9.3 [D-POST].
    return ApiError(
        500, f"A ContactGroup already exists with Name [{name}]. ContactGroup names must be unique."
    )


def no_matching_records() -> ApiError:
    return ApiError(
        500,
        "No message. No matching records found. The logged in Resource may not have the "
        "required permissions to delete the data.",
    )


def method_not_allowed(method: str) -> FrameworkError:
    return FrameworkError(405, f"The requested resource does not support http method '{method}'.")


def no_route(url: str) -> FrameworkError:
    return FrameworkError(404, f"No HTTP resource was found that matches the request URI '{url}'.")


def unauthorized() -> FrameworkError:
    return FrameworkError(401, "Authorization has been denied for this request.")
