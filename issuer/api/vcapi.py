"""W3C VC-API: ``POST /credentials/verify`` for anyone, ``POST /credentials/issue`` for administrators' tokens.

Shapes follow the VC-API: ``{"verifiableCredential": …, "options": {}}`` in,
``{"checks": [...], "warnings": [...], "errors": [...]}`` out for verify, and
``{"verifiableCredential": …}`` (201) for issue. An issued credential must name its subject
(``credentialSubject.id``), as every credential this service signs does: it is the VC-JWT's ``sub``.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from issuer.api.auth import current_api_user, json_body, token_required
from issuer.errors import Conflict, InvalidInput
from issuer.extensions import db
from issuer.identity.profile import issuer_did, issuer_profile
from issuer.issuance import signing
from issuer.models import IssuedDocument, Role, utcnow
from issuer.platform import audit
from issuer.platform.database import read_only
from issuer.platform.ratelimit import rate_limited
from issuer.verification import verifier

bp = Blueprint("vcapi", __name__)
#: The longest credential id recorded (``issued_documents.id``).
MAX_ID = 2000


@bp.post("/credentials/verify")
@rate_limited("verify", "ISSUER_VERIFY_RATE_LIMIT")
def verify() -> ResponseReturnValue:
    body = json_body()
    credential = body.get("verifiableCredential")
    if not isinstance(credential, (dict, str)):
        raise InvalidInput("verifiableCredential must be a credential object (or a compact JWT string)")
    read_only(db.session)  # verifying writes nothing: no write lock to wait for on SQLite
    result = verifier.verify_any(db.session, credential)
    answer = {
        "verified": result.verified,
        "checks": [c.name for c in result.checks if c.ok],
        "warnings": list(result.warnings) + [f"{c.name}: {c.message}" for c in result.checks if c.ok is None],
        # the verifier's errors already name its failed checks: each once
        "errors": list(dict.fromkeys([*result.errors, *(f"{c.name}: {c.message}" for c in result.checks
                                                         if c.ok is False)])),
    }
    response = jsonify(answer)
    response.status_code = 200 if result.verified else 400
    return response


@bp.post("/credentials/issue")
@token_required(Role.ADMIN)
def issue() -> ResponseReturnValue:
    body = json_body()
    credential = body.get("credential")
    if not isinstance(credential, dict):
        raise InvalidInput("credential must be an object")
    if "proof" in credential:
        raise InvalidInput("the credential already has a proof; send it unsigned")
    issuer: Any = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id not in (None, issuer_did()):
        raise InvalidInput(f"this service issues only as {issuer_did()}")
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    if not subjects or not all(isinstance(s, dict) and isinstance(s.get("id"), str) and s["id"] for s in subjects):
        raise InvalidInput("credentialSubject.id is required: it becomes the VC-JWT's sub (OB 3.0 section 8.2.4.1). "
                           "Give the holder's DID, or a therapist's subject id (subjectId in GET /api/v1/therapists)")
    credential_id = credential.setdefault("id", f"urn:uuid:{uuid.uuid4()}")
    if not isinstance(credential_id, str) or not 0 < len(credential_id) <= MAX_ID or ":" not in credential_id:
        raise InvalidInput(f"id must be a URI of at most {MAX_ID} characters (or leave it out: one is made)")
    if db.session.get(IssuedDocument, credential_id) is not None:
        raise Conflict(f"a credential with id {credential_id} was issued already; give each credential its own id")
    now = utcnow()
    unsigned = {**credential, "issuer": issuer_profile()}
    unsigned.setdefault("validFrom", now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    try:
        signed = signing.sign(db.session, unsigned, now=now)
    except signing.SigningFailed as error:  # the caller's credential: undefined terms, schema errors
        raise InvalidInput(error.message) from None
    signing.record_issued(db.session, signed, kind="vcapi", subject=None, now=now)
    audit.record(db.session, "credential.issued_via_vcapi", actor=current_api_user(), subject_type="credential",
                 subject_id=signed.document.get("id"))
    response = jsonify({"verifiableCredential": signed.document})
    response.status_code = 201
    return response
