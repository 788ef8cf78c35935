"""Continuing education and supervised hours: the therapist's progress page, the supervisor's ledger of a therapist
(approve, return, log hours), and the administrator's pending activities, qualifications and reports."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from issuer.errors import InvalidInput, NotFound
from issuer.extensions import db
from issuer.models import CreditActivity, Role, SupervisorQualification, User, utcnow
from issuer.recertification import hours, ledger, qualifications, reports
from issuer.recertification.policy import format_credits
from issuer.web.auth import role_required
from issuer.web.forms import ActivityForm, DecisionForm, QualificationForm, SessionForm
from issuer.web.supervisor import assigned_therapist, form_errors

bp = Blueprint("ledger", __name__)
_WHOLE = re.compile(r"^[+-]?[0-9]{1,12}$")
DEFAULT_REPORT_DAYS = 90


@bp.app_context_processor
def _qualification_of() -> dict[str, Any]:
    """``qualification_of(user_id)`` for record pages: the supervisor's current qualifications, or "" (asked once
    per supervisor and request)."""

    def qualification_of(user_id: int) -> str:
        known: dict[int, str] = g.setdefault("ledger_qualifications", {})
        if user_id not in known:
            held = qualifications.held_on(qualifications.all_of(db.session, [user_id])[user_id], utcnow().date())
            known[user_id] = "; ".join(q.describe() for q in held)
        return known[user_id]

    return {"qualification_of": qualification_of}


def _minutes(text: str | None) -> object:
    """The minutes as typed: an int when it is a whole number, else the text (the ledger names the problem)."""
    value = (text or "").strip()
    return int(value) if _WHOLE.match(value) else value


def _activity_form() -> ActivityForm:
    form = ActivityForm()
    form.category.choices = list(ledger.CATEGORIES.items())
    return form


def _record(therapist: User) -> CreditActivity:
    form = _activity_form()
    if not form.validate_on_submit() or form.activity_on.data is None:
        raise InvalidInput(form_errors(form) or "The form is incomplete.")
    activity = ledger.record_activity(
        db.session, actor=current_user, therapist=therapist, title=form.title.data or "",
        provider=form.provider.data or "", activity_on=form.activity_on.data, minutes=_minutes(form.minutes.data),
        category=form.category.data or "", evidence_url=form.evidence_url.data,
        evidence_note=form.evidence_note.data or "",
    )
    flash(f"Recorded “{activity.title}” ({format_credits(ledger.credits_of(activity))} credits); it awaits approval.",
          "success")
    return activity


def _decide(activity_id: int, action: str) -> CreditActivity:
    if action not in ("approve", "return"):
        raise NotFound("No such action.")
    form = DecisionForm()
    if not form.validate_on_submit():
        raise InvalidInput(form_errors(form) or "The form expired; reload the page and try again.")
    activity = ledger.get_activity(db.session, current_user, activity_id)
    ledger.decide(db.session, actor=current_user, activity=activity, approve=action == "approve",
                  reason=form.reason.data or "")
    flash(f"“{activity.title}” is {activity.state}.", "success")
    return activity


def _page_data(therapist: User) -> dict[str, Any]:
    activities = ledger.activities_of(db.session, therapist.id)
    return {
        "therapist": therapist, "progress": ledger.progress(db.session, therapist),
        "activities": activities, "pending": [a for a in activities if a.state == ledger.SUBMITTED],
        "categories": ledger.CATEGORIES, "category_label": ledger.category_label,
        "credits_of": ledger.credits_of, "format_credits": format_credits,
        "hours": hours.summary(db.session, therapist.id), "sessions": hours.sessions_of(db.session, therapist.id),
        "format_hours": hours.format_hours, "activity_form": _activity_form(), "decision_form": DecisionForm(),
    }


# --- the therapist ------------------------------------------------------------------------------------------------

@bp.get("/me/continuing-education")
@role_required(Role.THERAPIST)
def mine() -> ResponseReturnValue:
    return render_template("ledger/mine.html", **_page_data(current_user))


@bp.post("/me/continuing-education")
@role_required(Role.THERAPIST)
def record_mine() -> ResponseReturnValue:
    _record(current_user)
    return redirect(url_for(".mine"))


# --- the supervisor -----------------------------------------------------------------------------------------------

@bp.get("/supervisor/therapists/<int:therapist_id>/continuing-education")
@role_required(Role.SUPERVISOR)
def therapist_ledger(therapist_id: int) -> ResponseReturnValue:
    return render_template("ledger/therapist.html", session_form=SessionForm(),
                           **_page_data(assigned_therapist(therapist_id)))


@bp.post("/supervisor/therapists/<int:therapist_id>/continuing-education")
@role_required(Role.SUPERVISOR)
def record_for(therapist_id: int) -> ResponseReturnValue:
    _record(assigned_therapist(therapist_id))
    return redirect(url_for(".therapist_ledger", therapist_id=therapist_id))


@bp.post("/supervisor/therapists/<int:therapist_id>/continuing-education/<int:activity_id>/<action>")
@role_required(Role.SUPERVISOR)
def decide_for(therapist_id: int, activity_id: int, action: str) -> ResponseReturnValue:
    therapist = assigned_therapist(therapist_id)
    activity = db.session.get(CreditActivity, activity_id)
    if activity is None or activity.therapist_id != therapist.id:
        raise NotFound("No such activity in this therapist's ledger.")
    _decide(activity_id, action)
    return redirect(url_for(".therapist_ledger", therapist_id=therapist.id))


@bp.post("/supervisor/therapists/<int:therapist_id>/hours")
@role_required(Role.SUPERVISOR)
def log_hours(therapist_id: int) -> ResponseReturnValue:
    therapist = assigned_therapist(therapist_id)
    form = SessionForm()
    if not form.validate_on_submit() or form.session_on.data is None:
        raise InvalidInput(form_errors(form) or "The form is incomplete.")
    row = hours.log_session(
        db.session, supervisor=current_user, therapist=therapist, session_on=form.session_on.data,
        minutes=_minutes(form.minutes.data), setting=form.setting.data or "", population=form.population.data or "",
        note=form.note.data or "",
    )
    flash(f"Logged {row.minutes} minutes of supervised work on {row.session_on.isoformat()}.", "success")
    return redirect(url_for(".therapist_ledger", therapist_id=therapist.id, _anchor="hours"))


# --- the administrator --------------------------------------------------------------------------------------------

@bp.get("/admin/continuing-education")
@role_required(Role.ADMIN)
def pending() -> ResponseReturnValue:
    rows = db.session.scalars(select(CreditActivity).where(CreditActivity.state == ledger.SUBMITTED)
                              .order_by(CreditActivity.created_at, CreditActivity.id)).all()
    return render_template("ledger/pending.html", activities=rows, decision_form=DecisionForm(),
                           credits_of=ledger.credits_of, format_credits=format_credits,
                           category_label=ledger.category_label)


@bp.post("/admin/continuing-education/<int:activity_id>/<action>")
@role_required(Role.ADMIN)
def decide_admin(activity_id: int, action: str) -> ResponseReturnValue:
    _decide(activity_id, action)
    return redirect(url_for(".pending"))


def _qualification_form() -> QualificationForm:
    form = QualificationForm()
    supervisors = db.session.scalars(select(User).where(User.role == Role.SUPERVISOR).order_by(User.name)).all()
    form.supervisor_id.choices = [(u.id, f"{u.name} ({u.email})") for u in supervisors]
    return form


@bp.get("/admin/qualifications")
@role_required(Role.ADMIN)
def qualifications_page() -> ResponseReturnValue:
    rows = db.session.scalars(select(SupervisorQualification).order_by(SupervisorQualification.supervisor_id,
                                                                       SupervisorQualification.id)).all()
    return render_template("ledger/qualifications.html", rows=rows, form=_qualification_form(),
                           withdraw_form=DecisionForm())


@bp.post("/admin/qualifications")
@role_required(Role.ADMIN)
def add_qualification() -> ResponseReturnValue:
    form = _qualification_form()
    if not form.validate_on_submit():
        raise InvalidInput(form_errors(form) or "The form is incomplete.")
    supervisor = db.session.get(User, form.supervisor_id.data)
    if supervisor is None:
        raise NotFound("No such supervisor.")
    row = qualifications.record(
        db.session, actor=current_user, supervisor=supervisor, credential_name=form.credential_name.data or "",
        number=form.number.data or "", issuing_body=form.issuing_body.data or "", valid_until=form.valid_until.data,
    )
    flash(f"Recorded {row.describe()} for {supervisor.name}.", "success")
    return redirect(url_for(".qualifications_page"))


@bp.post("/admin/qualifications/<int:qualification_id>/withdraw")
@role_required(Role.ADMIN)
def withdraw_qualification(qualification_id: int) -> ResponseReturnValue:
    if not DecisionForm().validate_on_submit():
        raise InvalidInput("The form expired; reload the page and try again.")
    row = qualifications.withdraw(db.session, actor=current_user, qualification_id=qualification_id)
    flash(f"Withdrew {row.describe()}.", "success")
    return redirect(url_for(".qualifications_page"))


def _report_days() -> int:
    text = request.args.get("days", str(DEFAULT_REPORT_DAYS)).strip()
    if not text.isdigit() or len(text) > len(str(reports.MAX_DAYS)):
        raise InvalidInput(f"days must be a whole number from 1 to {reports.MAX_DAYS}")
    try:
        return reports.check_days(int(text))
    except ValueError as error:
        raise InvalidInput(str(error)) from None


@bp.get("/admin/reports")
@role_required(Role.ADMIN)
def reports_page() -> ResponseReturnValue:
    days = _report_days()
    return render_template("ledger/reports.html", days=days, expiring=reports.expiring(db.session, days),
                           behind=reports.behind(db.session), format_credits=format_credits)


@bp.get("/admin/reports/<any(expiring, behind):report>.csv")
@role_required(Role.ADMIN)
def report_csv(report: str) -> ResponseReturnValue:
    if report == "expiring":
        days = _report_days()
        body, name = reports.expiring_csv(reports.expiring(db.session, days)), f"expiring-{days}-days.csv"
    else:
        body, name = reports.behind_csv(reports.behind(db.session)), "behind-on-credits.csv"
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
