"""Supervisor pages: assigned therapists, the framework grid, recording statements, undo, completing a level."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from issuer.accounts import assignments
from issuer.errors import Conflict, InvalidInput, NotFound, error_response, wants_json
from issuer.extensions import db
from issuer.frameworks import catalogue
from issuer.identity.profile import issuer_profile
from issuer.issuance import completion
from issuer.learning import record_book
from issuer.models import Credential, Level, Role, Statement, StatementMark, User, utcnow
from issuer.platform.settings import override_allowed
from issuer.recertification import hours, policy
from issuer.web import drafts
from issuer.web.auth import role_required
from issuer.web.converters import MAX_ID
from issuer.web.forms import CompleteForm, MarkForm

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")
F = TypeVar("F", bound=Callable[..., Any])


def assigned_therapist(therapist_id: int) -> User:
    """:raise NotFound: no such therapist, or not assigned to the signed-in supervisor (same answer)."""
    therapist = db.session.get(User, therapist_id)
    if (therapist is None or therapist.role is not Role.THERAPIST
            or not assignments.is_assigned(db.session, supervisor=current_user, therapist=therapist)):
        raise NotFound("No therapist with that id is assigned to you.")
    return therapist


def form_errors(form: object) -> str:
    return "; ".join(f"{getattr(form, name).label.text}: {' '.join(errs)}" for name, errs in form.errors.items())  # type: ignore[attr-defined]


@bp.get("/")
@role_required(Role.SUPERVISOR)
def therapists() -> ResponseReturnValue:
    people = assignments.assigned_therapists(db.session, current_user)
    current = catalogue.current_frameworks(db.session)
    progress = {t.id: [(fw, record_book.progress(db.session, t, fw)) for fw in current] for t in people}
    return render_template("supervisor/therapists.html", therapists=people, progress=progress)


def signed_in_supervisor(view: F) -> F:
    """``role_required(Role.SUPERVISOR)`` for the grid's forms, with a kinder answer when the session has ended:
    the draft is kept and the person is sent to sign in with ``next`` back to the grid (not to the POST's URL)."""

    guarded = role_required(Role.SUPERVISOR)(view)

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if request.method == "POST" and not current_user.is_authenticated:
            return drafts.signed_out(kwargs["therapist_id"], _posted_draft())
        return guarded(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _posted_draft() -> drafts.Draft | None:
    """The draft of a grid form being posted (the form that records statements), if this request is one."""
    level_id = (request.view_args or {}).get("level_id")
    if request.endpoint == "supervisor.record" and isinstance(level_id, int):
        return drafts.Draft.from_form(level_id)
    return None


@bp.errorhandler(CSRFError)
def _csrf_failed(_error: CSRFError) -> ResponseReturnValue:
    """A form of these pages posted without a valid CSRF token: the session ended or the page was open too long.

    Never the bare "Bad request": nothing is saved, what was typed is kept, and the person is taken back.
    """
    therapist_id = (request.view_args or {}).get("therapist_id")
    if request.method != "POST" or not isinstance(therapist_id, int):
        return error_response(400, "csrf", "The form expired; go back, reload the page and try again.")
    draft = _posted_draft()
    if not current_user.is_authenticated:
        return drafts.signed_out(therapist_id, draft)
    anchor = None
    if draft is not None:
        level = catalogue.get_level(db.session, draft.level_id)
        anchor = f"level-{level.key}" if level is not None else None
    return drafts.form_expired(therapist_id, draft, anchor)


def _grid(person: User, *, draft: drafts.Draft | None = None, errors: dict[str, str] | None = None,
          form_error: str | None = None, status: int = 200) -> ResponseReturnValue:
    """The therapist's grid: a level per section, one form per level that is not complete."""
    current = catalogue.current_frameworks(db.session)
    met = record_book.met_statements(db.session, person)
    # the current credential of each level (a renewed or re-issued one keeps its row, superseded)
    credentials = {c.level_id: c for c in db.session.scalars(select(Credential).filter_by(therapist_id=person.id)
                                                             .where(Credential.superseded_at.is_(None)))}
    return render_template(
        "supervisor/therapist.html", therapist=person, frameworks=current, met=met, credentials=credentials,
        record=record_book.record_of(db.session, person)[:50], override_allowed=override_allowed(db.session),
        progress={fw.id: record_book.progress(db.session, person, fw) for fw in current},
        draft=draft, errors=errors or {}, form_error=form_error,
    ), status


@bp.get("/therapists/<int:therapist_id>")
@role_required(Role.SUPERVISOR)
def therapist(therapist_id: int) -> ResponseReturnValue:
    person = assigned_therapist(therapist_id)
    return _grid(person, draft=drafts.take(person.id))


def _level_of(level_id: int) -> Level:
    level = catalogue.get_level(db.session, level_id)
    if level is None:
        raise NotFound("No such level.")
    return level


def _posted_ids() -> list[int]:
    """The ticked statements' ids as posted: numbers, or a refusal naming the field (checked against the level by
    the service: nothing the client sends is trusted)."""
    values = request.form.getlist("statement_ids")
    if len(values) > record_book.MAX_STATEMENTS_AT_ONCE:
        raise InvalidInput(f"at most {record_book.MAX_STATEMENTS_AT_ONCE} statements can be recorded at once",
                           field="statement_ids")
    ids = []
    for value in values:
        if not value.isdigit() or not 0 < int(value) <= MAX_ID:
            raise InvalidInput(f"{value[:20]!r} is not a statement id", field="statement_ids")
        ids.append(int(value))
    return ids


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _posted_date() -> dt.date:
    text = request.form.get("observed_on", "").strip()
    if not text:
        raise InvalidInput("give the date you observed it", field="observed_on")
    refusal = InvalidInput("give the date as year-month-day, like 2026-11-20", field="observed_on")
    if _ISO_DATE.fullmatch(text) is None:
        raise refusal
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise refusal from None


def _posted_upload() -> record_book.EvidenceUpload | None:
    file = request.files.get("evidence_file")
    if file is None or not file.filename:
        return None
    return record_book.EvidenceUpload(filename=file.filename, data=file.read(record_book.MAX_EVIDENCE_BYTES + 1))


def _level_state(person: User, level: Level) -> dict[str, Any]:
    """The level's rows and bar as HTML, for the page's script to put in place of the old ones."""
    met = record_book.met_statements(db.session, person, [s.id for s in level.statements])
    progress = next(p for p in record_book.progress(db.session, person, level.framework) if p.level_id == level.id)
    rows = {str(s.id): render_template("supervisor/_statement.html", s=s, level=level, m=met.get(s.id),
                                       therapist=person, complete=progress.completed, checked=False)
            for s in level.statements}
    bar = render_template("supervisor/_progress.html", level=level, p=progress, therapist=person,
                          override_allowed=override_allowed(db.session))
    return {"rows": rows, "progress": bar, "met": progress.met, "total": progress.total}


@bp.get("/therapists/<int:therapist_id>/levels/<int:level_id>/record")
@role_required(Role.SUPERVISOR)
def record_page(therapist_id: int, level_id: int) -> ResponseReturnValue:
    """Where a link to the form's address leads (signing in again with it as ``next``): the level in the grid."""
    person = assigned_therapist(therapist_id)
    level = _level_of(level_id)
    return redirect(url_for(".therapist", therapist_id=person.id, _anchor=f"level-{level.key}"))


@bp.post("/therapists/<int:therapist_id>/levels/<int:level_id>/record")
@signed_in_supervisor
def record(therapist_id: int, level_id: int) -> ResponseReturnValue:
    """Record the ticked statements of a level as met, with one date, note and evidence: one transaction.

    A browser without JavaScript posts the form and is sent back to the grid; the page's script posts it with
    ``Accept: application/json`` and gets the changed rows. Errors name their field; what was typed is kept.
    """
    person = assigned_therapist(therapist_id)
    level = _level_of(level_id)
    draft = drafts.Draft.from_form(level.id)
    try:
        marks = record_book.mark_statements(
            db.session, supervisor=current_user, therapist=person, level=level, statement_ids=_posted_ids(),
            observed_on=_posted_date(), note=request.form.get("note", ""),
            evidence_url=request.form.get("evidence_url"), evidence_file=_posted_upload(),
            uploads_dir=Path(current_app.config["ISSUER_UPLOADS_DIR"]),
        )
    except InvalidInput as error:
        message = error.message[:1].upper() + error.message[1:] + "."
        fields = {str(error.details.get("field", "form")): message}
        if wants_json():
            return jsonify({"error": error.code, "message": message, "fields": fields}), 400
        return _grid(person, draft=draft, errors=fields, status=400)
    except Conflict as error:
        message = error.message[:1].upper() + error.message[1:] + "."
        if wants_json():
            return jsonify({"error": error.code, "message": message, **_level_state(person, level)}), 409
        return _grid(person, draft=draft, form_error=message, status=409)
    names = [m.statement.name for m in marks]
    message = "Recorded: " + "; ".join(names) + "."
    if wants_json():
        return jsonify({"message": message, "recorded": [m.statement_id for m in marks],
                        **_level_state(person, level)})
    flash(message, "success")
    return redirect(url_for(".therapist", therapist_id=person.id, _anchor=f"level-{level.key}"), code=303)


@bp.post("/therapists/<int:therapist_id>/statements/<int:statement_id>/mark")
@signed_in_supervisor
def mark(therapist_id: int, statement_id: int) -> ResponseReturnValue:
    """One statement, with an evidence file of its own (the form of earlier versions of the grid; API clients)."""
    person = assigned_therapist(therapist_id)
    statement = db.session.get(Statement, statement_id)
    if statement is None:
        raise NotFound("No such statement.")
    form = MarkForm()
    observed_on = form.observed_on.data
    if not form.validate_on_submit() or observed_on is None:  # a valid form has a date (DataRequired)
        raise InvalidInput(form_errors(form) or "The form is incomplete.")
    record_book.mark_statement(
        db.session, supervisor=current_user, therapist=person, statement=statement,
        observed_on=observed_on, note=form.note.data or "", evidence_url=form.evidence_url.data,
        evidence_file=_posted_upload(), uploads_dir=Path(current_app.config["ISSUER_UPLOADS_DIR"]),
    )
    flash(f"Recorded “{statement.name}” as met.", "success")
    return redirect(url_for(".therapist", therapist_id=person.id, _anchor=f"level-{statement.level.key}"))


def _current_mark(person: User, mark_id: int) -> StatementMark:
    mark = db.session.get(StatementMark, mark_id)
    if mark is None or mark.therapist_id != person.id:
        raise NotFound("No such mark in this therapist's record.")
    return mark


@bp.get("/therapists/<int:therapist_id>/marks/<int:mark_id>/undo")
@role_required(Role.SUPERVISOR)
def undo_form(therapist_id: int, mark_id: int) -> ResponseReturnValue:
    """The page that withdraws a mark: what it is, and the reason to give (one form, not one per row of the grid)."""
    person = assigned_therapist(therapist_id)
    mark = _current_mark(person, mark_id)
    return render_template("supervisor/undo.html", therapist=person, mark=mark, reason="", errors={},
                           refusal=_withdrawal_refusal(person, mark))


def _withdrawal_refusal(person: User, mark: StatementMark) -> str | None:
    """Why the mark cannot be withdrawn (the page says so instead of showing a form), or None."""
    latest = record_book.latest_marks(db.session, person, [mark.statement_id]).get(mark.statement_id)
    if mark.kind != record_book.MET or latest is None or latest.id != mark.id:
        return "This mark is no longer the statement's current one: there is nothing to withdraw."
    completed = db.session.scalar(select(Credential.id).filter_by(therapist_id=person.id,
                                                                  level_id=mark.statement.level_id))
    if completed is not None:
        return ("This level is complete and its credential issued, so its marks stay. "
                "Revoke the credential instead, from its page.")
    return None


@bp.post("/therapists/<int:therapist_id>/marks/<int:mark_id>/undo")
@signed_in_supervisor
def undo(therapist_id: int, mark_id: int) -> ResponseReturnValue:
    person = assigned_therapist(therapist_id)
    reason = request.form.get("reason", "")
    try:
        record_book.undo_mark(db.session, supervisor=current_user, therapist=person, mark_id=mark_id, reason=reason)
    except InvalidInput as error:
        mark = _current_mark(person, mark_id)
        message = error.message[:1].upper() + error.message[1:] + "."
        return render_template("supervisor/undo.html", therapist=person, mark=mark, reason=reason,
                               errors={"reason": message}, refusal=None), 400
    flash("The mark is withdrawn; the learning record keeps both entries.", "success")
    return redirect(url_for(".therapist", therapist_id=person.id))


def reviewed_state(person: User, level: Level) -> str:
    """What the confirmation page showed, in short: the marks it listed. Issuing refuses if they changed since."""
    met = record_book.met_statements(db.session, person, [s.id for s in level.statements])
    return ",".join(str(met[s.id].id) if s.id in met else "-" for s in level.statements)


def _confirmation(person: User, level: Level, *, justification: str = "", errors: dict[str, str] | None = None,
                  status: int = 200) -> ResponseReturnValue:
    met = record_book.met_statements(db.session, person, [s.id for s in level.statements])
    missing = [s for s in level.statements if s.id not in met]
    terms = policy.policy_for(db.session, level)
    required = terms.min_supervised_minutes
    logged = hours.summary(db.session, person.id).minutes
    return render_template(
        "supervisor/confirm.html", therapist=person, level=level, framework=level.framework, met=met,
        missing=missing, override_allowed=override_allowed(db.session), profile=issuer_profile(),
        reviewed=reviewed_state(person, level), justification=justification, errors=errors or {},
        valid_until=policy.valid_until_for(terms, utcnow()), required_hours=required,
        logged_hours=logged, format_hours=hours.format_hours,
        hours_short=required is not None and logged < required,
    ), status


@bp.get("/therapists/<int:therapist_id>/levels/<int:level_id>/complete")
@role_required(Role.SUPERVISOR)
def confirm(therapist_id: int, level_id: int) -> ResponseReturnValue:
    """Before issuing: what will be signed (recipient, level, statements and their dates, issuer), then one button."""
    person = assigned_therapist(therapist_id)
    level = _level_of(level_id)
    issued = db.session.scalar(select(Credential.id).filter_by(therapist_id=person.id, level_id=level.id))
    if issued is not None:
        flash(f"{level.label} is already complete for {person.name}.", "success")
        return redirect(url_for("credentials.page", credential_id=issued))
    return _confirmation(person, level)


@bp.post("/therapists/<int:therapist_id>/levels/<int:level_id>/complete")
@signed_in_supervisor
def complete(therapist_id: int, level_id: int) -> ResponseReturnValue:
    person = assigned_therapist(therapist_id)
    level = _level_of(level_id)
    form = CompleteForm()
    if not form.validate_on_submit():
        raise InvalidInput(form_errors(form) or "The form is incomplete.")
    justification = (form.justification.data or "").strip()
    reviewed = request.form.get("reviewed")
    if reviewed is not None and reviewed != reviewed_state(person, level):
        return _confirmation(person, level, justification=justification, status=409, errors={
            "form": "The learning record changed since this page was opened, so nothing was issued. "
                    "Check what will be signed below and confirm again."})
    try:
        credential = completion.complete_level(db.session, supervisor=current_user, therapist=person, level=level,
                                               justification=justification or None)
    except InvalidInput as error:
        message = error.message[:1].upper() + error.message[1:] + "."
        return _confirmation(person, level, justification=justification, status=400,
                             errors={"justification" if "justification" in error.message else "form": message})
    flash(f"{level.label} is complete. The credential is issued to {person.name}.", "success")
    return redirect(url_for("credentials.page", credential_id=credential.id))
