"""API: a therapist's continuing-education ledger (record, approve, return), supervised hours and progress."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from issuer.api import bp
from issuer.api.auth import current_api_user, idempotent, json_body, token_required
from issuer.api.therapists import json_body_present
from issuer.errors import InvalidInput, NotFound
from issuer.extensions import db
from issuer.models import CreditActivity, Role, SupervisedSession, User
from issuer.recertification import hours, ledger
from issuer.recertification.policy import format_credits


def _therapist(therapist_id: int) -> User:
    """The therapist, if the caller may see their ledger (the therapist, an assigned supervisor, an admin)."""
    therapist = db.session.get(User, therapist_id)
    if therapist is None or therapist.role is not Role.THERAPIST or not ledger.may_see(
            db.session, current_api_user(), therapist):
        raise NotFound("no therapist with that id is visible to you")
    return therapist


def _date(body: dict[str, Any], name: str) -> dt.date:
    value = body.get(name)
    try:
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidInput(f"{name} must be a date like 2026-11-28")


def _string(body: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name, None if required else "")
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return value


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def activity_json(activity: CreditActivity) -> dict[str, Any]:
    return {
        "id": activity.id, "therapistId": activity.therapist_id, "title": activity.title,
        "provider": activity.provider, "activityOn": activity.activity_on.isoformat(), "minutes": activity.minutes,
        "credits": format_credits(ledger.credits_of(activity)), "category": activity.category,
        "evidenceUrl": activity.evidence_url, "evidenceNote": activity.evidence_note, "state": activity.state,
        "recordedBy": activity.recorded_by.name, "recordedAt": _stamp(activity.created_at),
        "decidedBy": activity.decided_by.name if activity.decided_by else None,
        "decidedAt": _stamp(activity.decided_at), "reason": activity.reason,
    }


def session_json(row: SupervisedSession) -> dict[str, Any]:
    return {"id": row.id, "therapistId": row.therapist_id, "supervisor": row.supervisor.name,
            "sessionOn": row.session_on.isoformat(), "minutes": row.minutes, "setting": row.setting,
            "population": row.population, "note": row.note, "loggedAt": _stamp(row.created_at)}


def _created(document: dict[str, Any]) -> ResponseReturnValue:
    response = jsonify(document)
    response.status_code = 201
    return response


@bp.get("/therapists/<int:therapist_id>/activities")
@token_required()
def list_activities(therapist_id: int) -> ResponseReturnValue:
    therapist = _therapist(therapist_id)
    return jsonify({"activities": [activity_json(a) for a in ledger.activities_of(db.session, therapist.id)]})


@bp.post("/therapists/<int:therapist_id>/activities")
@token_required(Role.THERAPIST, Role.SUPERVISOR)
@idempotent
def record_activity(therapist_id: int) -> ResponseReturnValue:
    therapist = _therapist(therapist_id)
    body = json_body()
    activity = ledger.record_activity(
        db.session, actor=current_api_user(), therapist=therapist, title=_string(body, "title"),
        provider=_string(body, "provider"), activity_on=_date(body, "activityOn"), minutes=body.get("minutes"),
        category=_string(body, "category"), evidence_url=_string(body, "evidenceUrl", required=False) or None,
        evidence_note=_string(body, "evidenceNote", required=False),
    )
    return _created(activity_json(activity))


def _decide(activity_id: int, *, approve: bool) -> ResponseReturnValue:
    activity = ledger.get_activity(db.session, current_api_user(), activity_id)
    body = json_body() if json_body_present() else {}
    reason = _string(body, "reason", required=not approve)
    ledger.decide(db.session, actor=current_api_user(), activity=activity, approve=approve, reason=reason)
    return jsonify(activity_json(activity))


@bp.post("/activities/<int:activity_id>/approve")
@token_required(Role.SUPERVISOR, Role.ADMIN)
@idempotent
def approve_activity(activity_id: int) -> ResponseReturnValue:
    return _decide(activity_id, approve=True)


@bp.post("/activities/<int:activity_id>/return")
@token_required(Role.SUPERVISOR, Role.ADMIN)
@idempotent
def return_activity(activity_id: int) -> ResponseReturnValue:
    return _decide(activity_id, approve=False)


@bp.get("/therapists/<int:therapist_id>/hours")
@token_required()
def list_hours(therapist_id: int) -> ResponseReturnValue:
    therapist = _therapist(therapist_id)
    total = hours.summary(db.session, therapist.id)
    return jsonify({
        "hours": hours.format_hours(total.minutes), "sessions": total.sessions,
        "firstSession": total.first_day.isoformat() if total.first_day else None,
        "lastSession": total.last_day.isoformat() if total.last_day else None,
        "log": [session_json(s) for s in hours.sessions_of(db.session, therapist.id)],
    })


@bp.post("/therapists/<int:therapist_id>/hours")
@token_required(Role.SUPERVISOR)
@idempotent
def log_hours(therapist_id: int) -> ResponseReturnValue:
    therapist = _therapist(therapist_id)
    body = json_body()
    row = hours.log_session(
        db.session, supervisor=current_api_user(), therapist=therapist, session_on=_date(body, "sessionOn"),
        minutes=body.get("minutes"), setting=_string(body, "setting"), population=_string(body, "population"),
        note=_string(body, "note", required=False),
    )
    return _created(session_json(row))


@bp.get("/therapists/<int:therapist_id>/progress")
@token_required()
def cycle_progress(therapist_id: int) -> ResponseReturnValue:
    therapist = _therapist(therapist_id)
    progress = ledger.progress(db.session, therapist)
    if progress is None:
        return jsonify({"cycle": None})
    return jsonify({
        "cycle": {"credentialId": str(progress.credential.id), "firstDay": progress.first_day.isoformat(),
                  "lastDay": progress.last_day.isoformat() if progress.last_day else None,
                  "daysLeft": progress.days_left},
        "approvedCredits": format_credits(progress.totals.total),
        "approvedByCategory": {k: format_credits(v) for k, v in sorted(progress.totals.by_category.items())},
        "pendingCredits": format_credits(progress.pending.total),
        "requiredCredits": format_credits(progress.required_credits) if progress.required_credits is not None
        else None,
        "categoryMinimums": {k: format_credits(v) for k, v in sorted(progress.category_minimums.items())},
        "unmet": progress.unmet,
    })
