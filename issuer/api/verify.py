"""API: verify any credential (JSON-LD or VC-JWT, or a baked image), for programs."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask.typing import ResponseReturnValue

from issuer import sharing, signing
from issuer.api import bp
from issuer.errors import InvalidInput
from issuer.extensions import db

MAX_BYTES = 1024 * 1024


@bp.post("/verify")
def verify() -> ResponseReturnValue:
    """``{verified, checks, warnings, errors}``: 200 when the input could be read, 400 when not."""
    if request.content_length is not None and request.content_length > MAX_BYTES:
        abort(413, f"The body is larger than {MAX_BYTES // 1024} KB.")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BYTES:
        abort(413, f"The body is larger than {MAX_BYTES // 1024} KB.")
    if not raw.strip():
        raise InvalidInput("send the credential as the body: JSON-LD, a compact JWT, or a baked PNG/SVG")
    mimetype = request.mimetype or ""
    if mimetype.startswith("image/") or mimetype == "application/octet-stream":
        data = sharing.extract_credential(raw, mimetype=mimetype)
    elif mimetype == "multipart/form-data":
        raise InvalidInput("send the credential itself as the body, not a form")
    else:
        data = sharing.extract_credential(raw)
    result = signing.verify_any(db.session, data)
    # COMMIT, not the teardown's ROLLBACK: psycopg forgets its prepared statements on every rollback, which would
    # have the one query of a cached answer planned afresh each time. It also keeps a status list signed here.
    db.session.commit()
    response = jsonify(result.as_json())
    response.status_code = 200 if result.readable else 400
    return response
