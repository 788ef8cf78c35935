"""API: therapists, learning records, marking statements, completing levels."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Response, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from issuer.accounts import assignments
from issuer.api import bp
from issuer.api.auth import current_api_user, idempotent, json_body, token_required
from issuer.errors import InvalidInput, NotFound
from issuer.extensions import db
from issuer.frameworks import catalogue
from issuer.identity.profile import base_url
from issuer.issuance import completion
from issuer.learning import record_book
from issuer.models import Credential, Role, Statement, StatementMark, User
from issuer.web.converters import MAX_ID


def _therapist_for(therapist_id: int) -> User:
    """The therapist, if the caller may see them: assigned supervisor, admin, or the therapist themself."""
    caller = current_api_user()
    if caller.role is Role.SUPERVISOR:
        therapist = assignments.assigned_therapist(db.session, supervisor=caller, therapist_id=therapist_id)
    else:
        therapist = db.session.get(User, therapist_id)
    visible = therapist is not None and therapist.role is Role.THERAPIST and (
        caller.role in (Role.ADMIN, Role.SUPERVISOR) or caller.id == therapist.id
    )
    if therapist is None or not visible:
        raise NotFound("no therapist with that id is visible to you")
    return therapist


def _therapist_json(therapist: User) -> dict[str, Any]:
    progress = [{"framework": fw.slug, "levelId": p.level_id, "level": p.label, "met": p.met, "total": p.total,
                 "completed": p.completed}
                for fw in catalogue.current_frameworks(db.session)
                for p in record_book.progress(db.session, therapist, fw)]
    return {"id": therapist.id, "subjectId": therapist.subject_urn, "name": therapist.name, "email": therapist.email,
            "progress": progress}


def _mark_json(mark: StatementMark) -> dict[str, Any]:
    return {
        "id": mark.id, "statementId": mark.statement_id, "statement": mark.statement.name,
        "level": mark.statement.level.label, "kind": mark.kind,
        "observedOn": mark.observed_on.isoformat() if mark.observed_on else None, "note": mark.note,
        "evidenceUrl": mark.evidence_url, "reason": mark.reason, "undoes": mark.undoes_id,
        "supervisor": mark.supervisor.name, "recordedAt": mark.created_at.isoformat().replace("+00:00", "Z"),
    }


def credential_json(credential: Credential) -> dict[str, Any]:
    return {
        "id": str(credential.id),
        "url": f"{base_url()}/credentials/{credential.id}",
        "state": credential.state,
        "level": credential.level.label,
        "issuedAt": credential.issued_at.isoformat().replace("+00:00", "Z"),
        "credential": json.loads(credential.document),
        "jwt": credential.jwt,
    }


@bp.get("/therapists")
@token_required(Role.SUPERVISOR, Role.ADMIN)
def list_therapists() -> ResponseReturnValue:
    caller = current_api_user()
    if caller.role is Role.ADMIN:
        people = list(db.session.scalars(select(User).filter_by(role=Role.THERAPIST).order_by(User.name)))
    else:
        people = assignments.assigned_therapists(db.session, caller)
    return jsonify({"therapists": [_therapist_json(t) for t in people]})


@bp.get("/therapists/<int:therapist_id>/record")
@token_required()
def learning_record(therapist_id: int) -> ResponseReturnValue:
    therapist = _therapist_for(therapist_id)
    credentials = db.session.scalars(select(Credential).filter_by(therapist_id=therapist.id)).all()
    return jsonify({
        "therapist": _therapist_json(therapist),
        "marks": [_mark_json(m) for m in record_book.record_of(db.session, therapist)],
        "credentials": [{"id": str(c.id), "level": c.level.label, "state": c.state,
                         "url": f"{base_url()}/credentials/{c.id}"} for c in credentials],
    })


@bp.post("/therapists/<int:therapist_id>/marks")
@token_required(Role.SUPERVISOR)
@idempotent
def mark_statement(therapist_id: int) -> ResponseReturnValue:
    therapist = _therapist_for(therapist_id)
    body = json_body()
    statement_id = body.get("statementId")
    if not isinstance(statement_id, int) or isinstance(statement_id, bool) or not 0 < statement_id <= MAX_ID:
        raise InvalidInput("statementId must be an integer")
    statement = db.session.get(Statement, statement_id)
    if statement is None:
        raise NotFound(f"no statement {statement_id}")
    observed = body.get("observedOn")
    try:
        observed_on = dt.date.fromisoformat(observed) if isinstance(observed, str) else None
    except ValueError:
        observed_on = None
    if observed_on is None:
        raise InvalidInput("observedOn must be a date like 2026-11-28")
    note, url = body.get("note", ""), body.get("evidenceUrl")
    if not isinstance(note, str) or (url is not None and not isinstance(url, str)):
        raise InvalidInput("note and evidenceUrl must be strings")
    mark = record_book.mark_statement(db.session, supervisor=current_api_user(), therapist=therapist,
                                      statement=statement, observed_on=observed_on, note=note, evidence_url=url)
    response = jsonify(_mark_json(mark))
    response.status_code = 201
    return response


@bp.post("/therapists/<int:therapist_id>/levels/<int:level_id>/complete")
@token_required(Role.SUPERVISOR)
@idempotent
def complete_level(therapist_id: int, level_id: int) -> ResponseReturnValue:
    therapist = _therapist_for(therapist_id)
    level = catalogue.get_level(db.session, level_id)
    if level is None:
        raise NotFound(f"no level {level_id}")
    body = json_body() if json_body_present() else {}
    justification = body.get("justification")
    if justification is not None and not isinstance(justification, str):
        raise InvalidInput("justification must be a string")
    credential = completion.complete_level(db.session, supervisor=current_api_user(), therapist=therapist, level=level,
                                         justification=(justification or "").strip() or None)
    # The answer is built from the rows at hand; after the commit they would be read again.
    answer = json.dumps(credential_json(credential), ensure_ascii=False)
    location = f"{base_url()}/credentials/{credential.id}"
    response = Response(answer, status=201, mimetype="application/json")
    response.headers["Location"] = location
    return response


def json_body_present() -> bool:
    from flask import request

    return bool(request.get_data())
