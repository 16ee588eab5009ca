"""Schemas every app's API shares: the error answers, and the text type input is checked with.

Errors have one body shape each, so every route can document exactly what it gives.

400, 401, 403, 404, 409 and 429 carry ``{"detail": "..."}``. 422 (invalid input, wherever it was
caught: the schema, a form or a service) also carries ``errors``: a list of messages per field,
like the web forms show beside each field. Routes list their codes with ``error_responses``; the
handlers in ``crm.api`` make ninja's own errors take these shapes.
"""

from typing import Annotated

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from ninja import Field, Schema
from pydantic import AfterValidator, model_validator
from pydantic_core import PydanticCustomError

from crm.validators import CONTROL_CHARACTERS_MESSAGE, has_control_characters

# The largest id the database can hold (a 64-bit signed BigAutoField on SQLite and PostgreSQL):
# a bigger number in a query would overflow in the database driver, so it is refused first.
MAX_ID = 2**63 - 1
# PositiveIntegerField / PostgreSQL integer.
MAX_INT32 = 2**31 - 1

VALIDATION_DETAIL = "Check the fields listed in errors."


class ErrorOut(Schema):
    detail: str = Field(description="What went wrong, in a sentence")


class ValidationErrorOut(Schema):
    detail: str = Field(description=f'"{VALIDATION_DETAIL}", or the reason when the request as a whole is refused')
    errors: dict[str, list[str]] = Field(
        description='Messages per field, e.g. {"email": ["Enter your email address"]}; "body" for the whole body')


_DESCRIPTIONS = {
    400: "The request body is not valid JSON, or is too large",
    401: "No valid personal API token (send Authorization: Bearer mynhs_…)",
    403: "The token's owner lacks the permission this route needs",
    404: "No such record (or no such path)",
    409: "The record changed or is in a state that forbids this: read it again",
    422: "Invalid input: messages per field",
    429: "Too many requests from this client: retry after the Retry-After header's seconds",
}


class ObjectBody(Schema):
    """A request body that must be a JSON object. A schema whose fields are all optional would
    otherwise read ``[]`` or ``"x"`` (django-ninja reads attributes off any value) as "change nothing"."""

    @model_validator(mode="before")
    @classmethod
    def _must_be_an_object(cls, value):
        if not isinstance(getattr(value, "_obj", value), dict):  # ninja wraps the parsed body in a DjangoGetter
            raise ValueError("The request body must be a JSON object")
        return value


def error_responses(*codes: int) -> dict[int, type[Schema]]:
    """``response={200: ThingOut, **error_responses(401, 403, 422)}``."""
    unknown = set(codes) - set(_DESCRIPTIONS)
    if unknown:
        raise ValueError(f"Undocumented error status: {sorted(unknown)}")
    return {code: ValidationErrorOut if code == 422 else ErrorOut for code in codes}


def error_description(code: int) -> str:
    return _DESCRIPTIONS[code]


def field_errors(pydantic_errors: list[dict]) -> dict[str, list[str]]:
    """ninja's validation errors keyed by field: ("body", "payload", "email") → "email",
    ("query", "page") → "page", a missing or non-object body → "body"."""
    by_field: dict[str, list[str]] = {}
    for error in pydantic_errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc[:1] == ["body"]:
            loc = loc[2:] or ["body"]
        elif len(loc) > 1:
            loc = loc[1:]
        by_field.setdefault(".".join(loc) or "body", []).append(str(error.get("msg", "Invalid value")))
    return by_field


def _field_key(field: str) -> str:
    return "body" if field == NON_FIELD_ERRORS else field


def form_errors(form) -> dict[str, list[str]]:
    """A bound, invalid Django form's messages, keyed like every other 422."""
    return {_field_key(field): list(messages) for field, messages in form.errors.items()}


def service_errors(error: ValidationError) -> dict[str, list[str]]:
    """A service's ValidationError (with or without fields), keyed like every other 422."""
    if hasattr(error, "error_dict"):
        return {_field_key(field): messages for field, messages in error.message_dict.items()}
    return {"body": error.messages}


def _storable(value: str) -> str:
    # A lone surrogate (sent as a JSON escape) cannot be stored as UTF-8: the database driver
    # would fail on it.
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise PydanticCustomError("invalid_characters", "Use only real letters, digits and punctuation")
    return value


def _plain_text(value: str) -> str:
    if has_control_characters(value):
        raise PydanticCustomError("control_characters", CONTROL_CHARACTERS_MESSAGE)
    return _storable(value)


# The control characters crm.validators refuses, as a JSON Schema pattern, so that clients (and
# schemathesis) know which strings are valid before sending them.
NO_CONTROLS = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]*$"

# Free text from a client: no line breaks, tabs, NUL or other control characters (they end up in
# emails, headers, logs, and PostgreSQL refuses NUL), nothing that cannot be stored.
# (json_schema_extra, not WithJsonSchema: that would replace the schema and drop a route's max_length.)
PlainText = Annotated[str, AfterValidator(_plain_text), Field(json_schema_extra={"pattern": NO_CONTROLS})]
# Text a form validates next, with its own per-field messages: here only what no form could store.
UnicodeText = Annotated[str, AfterValidator(_storable)]
