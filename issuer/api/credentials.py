"""API: read a credential, revoke / suspend / unsuspend it, and renew it for the next cycle."""

from __future__ import annotations

import json
import uuid

from flask import Response, jsonify
from flask.typing import ResponseReturnValue

from issuer.accounts import assignments
from issuer.api import bp
from issuer.api.auth import current_api_user, idempotent, json_body, token_required
from issuer.api.therapists import credential_json
from issuer.errors import InvalidInput, NotFound, PermissionDenied
from issuer.extensions import db
from issuer.identity.profile import base_url
from issuer.issuance import revocation
from issuer.models import Credential, Role
from issuer.recertification import renewal


def _visible_credential(credential_id: uuid.UUID) -> Credential:
    caller = current_api_user()
    credential = db.session.get(Credential, credential_id)
    visible = credential is not None and (
        caller.role is Role.ADMIN or caller.id == credential.therapist_id
        or (caller.role is Role.SUPERVISOR
            and assignments.is_assigned(db.session, supervisor=caller, therapist=credential.therapist))
    )
    if credential is None or not visible:
        raise NotFound("no credential with that id is visible to you")
    return credential


@bp.get("/credentials/<uuid:credential_id>")
@token_required()
def get_credential(credential_id: uuid.UUID) -> ResponseReturnValue:
    return jsonify(credential_json(_visible_credential(credential_id)))


@bp.post("/credentials/<uuid:credential_id>/<any(revoke, suspend, unsuspend):action>")
@token_required(Role.SUPERVISOR, Role.ADMIN)
def change_status(credential_id: uuid.UUID, action: str) -> ResponseReturnValue:
    credential = _visible_credential(credential_id)
    if not revocation.may_change_status(db.session, current_api_user(), credential):
        raise PermissionDenied("only the issuing supervisor or an administrator can change this credential's status")
    body = json_body()
    reason, public_reason = body.get("reason"), body.get("publicReason")
    if not isinstance(reason, str):
        raise InvalidInput("reason must be a string")
    if public_reason is not None and not isinstance(public_reason, str):
        raise InvalidInput("publicReason must be a string (shown on public pages), or left out")
    revocation.change(db.session, credential, action=action, reason=reason, actor=current_api_user(),
                      public_reason=public_reason)
    return jsonify(credential_json(credential))


@bp.post("/credentials/<uuid:credential_id>/renew")
@token_required(Role.SUPERVISOR, Role.ADMIN)
@idempotent
def renew_credential(credential_id: uuid.UUID) -> ResponseReturnValue:
    """Issue the renewal for the next cycle: 201 with it; 409 (already renewed, revoked, …) or 422 (requirements not
    met: ``details.missing`` lists them)."""
    _visible_credential(credential_id)
    renewed = renewal.renew(db.session, credential_id=credential_id, actor=current_api_user())
    answer = json.dumps(credential_json(renewed), ensure_ascii=False)  # built now: after the commit rows reload
    response = Response(answer, status=201, mimetype="application/json")
    response.headers["Location"] = f"{base_url()}/credentials/{renewed.id}"
    return response
