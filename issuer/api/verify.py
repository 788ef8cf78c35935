"""API: verify any credential (JSON-LD or VC-JWT, or a baked image), for programs."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask.typing import ResponseReturnValue

from issuer.api import bp
from issuer.errors import InvalidInput
from issuer.extensions import db
from issuer.platform import replay
from issuer.platform.database import read_only
from issuer.platform.ratelimit import rate_limited
from issuer.verification import inputs, verifier

MAX_BYTES = 1024 * 1024


@bp.post("/verify")
@rate_limited("verify", "ISSUER_VERIFY_RATE_LIMIT")
def verify() -> ResponseReturnValue:
    """``{verified, checks, warnings, errors}``: 200 when the input could be read, 400 when not."""
    if request.content_length is not None and request.content_length > MAX_BYTES:
        abort(413, f"The body is larger than {MAX_BYTES // 1024} KB.")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BYTES:
        abort(413, f"The body is larger than {MAX_BYTES // 1024} KB.")
    if not raw.strip():
        raise InvalidInput("send the credential as the body: JSON-LD, a compact JWT, or a baked PNG/SVG")
    if request.mimetype == "multipart/form-data":
        raise InvalidInput("send the credential itself as the body, not a form")
    data = inputs.extract_credential(raw)  # an image, JSON or a JWT: told apart by the bytes
    read_only(db.session)  # a cached answer costs one query in autocommit (see issuer.platform.database.reading)
    answer = verifier.answer(db.session, data)
    result = answer.verification
    replay.allow(answer.unchanged)
    response = jsonify(result.as_json())
    response.status_code = 200 if result.readable else 400
    return response
