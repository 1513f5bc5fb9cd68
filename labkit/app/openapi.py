"""The error answers the API can give, for the OpenAPI document (all carry ``{"detail": ...}``)."""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from pydantic import BaseModel


class Problem(BaseModel):
    """Every error body: one sentence saying what went wrong."""

    detail: str


DESCRIPTIONS: Final[dict[int, str]] = {
    400: "Bad request: the parameters contradict each other or name unknown fields",
    404: "No such resource",
    413: "Request body larger than the server's limit",
    429: "Rate limit reached; see Retry-After",
    503: "The database stayed busy; retry after Retry-After seconds",
}
RETRY_AFTER: Final = {
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
}

# Every route may answer these: a body over the limit, a database busy through every retry.
COMMON: Final = (413, 503)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or router: the given error codes with their body and headers."""
    responses: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": Problem, "description": DESCRIPTIONS[code]}
        if code in (429, 503):
            entry["headers"] = RETRY_AFTER
        responses[code] = entry
    return responses


def without_null_parameters(document: dict[str, Any]) -> dict[str, Any]:
    """Drop ``null`` from optional parameters' schemas: an absent parameter means "not given";
    the text ``null`` in a query or header is no value and is rejected (422), so the document
    must not offer it."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                options = schema.get("anyOf")
                if parameter.get("required") or not options:
                    continue
                kept = [option for option in options if option.get("type") != "null"]
                if len(kept) == 1:
                    del schema["anyOf"]
                    schema.update(kept[0])
    return document


def install(app: FastAPI) -> None:
    """Serve the app's OpenAPI document with :func:`without_null_parameters` applied."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = without_null_parameters(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
