"""Content negotiation shared by the public pages: HTML for browsers, JSON for programs."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from issuer.issuance.signing import serialize

JSON_TYPES = ("application/json", "application/ld+json")


def prefers_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", *JSON_TYPES])
    return best in JSON_TYPES and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def json_response(document: Any, *, mimetype: str | None = None, status: int = 200) -> Response:
    """JSON with the media type the client asked for (``application/ld+json`` when it asked)."""
    if mimetype is None:
        mimetype = "application/ld+json" if request.accept_mimetypes["application/ld+json"] else "application/json"
    body = serialize(document)
    response = Response(body, status=status, mimetype=mimetype)
    response.vary.add("Accept")
    return response
