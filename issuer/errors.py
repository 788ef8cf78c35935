"""Domain errors and how the web answers them.

Services raise these with a precise message; :func:`register_error_handlers`
turns them (and plain HTTP errors) into JSON under ``/api`` and for clients
that ask for JSON, and into an HTML page everywhere else. No stack trace ever
reaches a client.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class IssuerError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(IssuerError):
    status_code = 400
    code = "invalid_input"


class FrameworkFileError(InvalidInput):
    """A framework file that cannot be imported; names the file and the field."""

    code = "invalid_framework"

    def __init__(self, path: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}", path=path, field=field)
        self.path = path
        self.field = field


class NotFound(IssuerError):
    status_code = 404
    code = "not_found"


class PermissionDenied(IssuerError):
    status_code = 403
    code = "forbidden"


class Conflict(IssuerError):
    status_code = 409
    code = "conflict"


class TooManyRequests(IssuerError):
    """A rate limit was reached; the answer carries ``Retry-After``."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/.well-known/", "/credentials/verify", "/credentials/issue")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/ld+json"])
    return best in ("application/json", "application/ld+json")


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    if wants_json():
        body: dict[str, Any] = {"error": code, "message": message}
        if details:
            body["details"] = details
        response = jsonify(body)
    else:
        response = Response(
            render_template("errors/error.html", status=status, code=code, message=message),
            mimetype="text/html",
        )
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(IssuerError)
    def _issuer_error(error: IssuerError) -> Response:
        response = error_response(error.status_code, error.code, error.message, error.details or None)
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        response = error_response(status, code, error.description or error.name)
        valid_methods = getattr(error, "valid_methods", None)
        if status == HTTPStatus.METHOD_NOT_ALLOWED and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=error)
        return error_response(500, "internal_error", "Something went wrong on our side. It has been logged.")
