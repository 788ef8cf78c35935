"""Supervisor pages: assigned therapists, the framework grid, marks, undo, completing a level."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from issuer.accounts import assignments
from issuer.errors import InvalidInput, NotFound
from issuer.extensions import db
from issuer.frameworks import catalogue
from issuer.issuance import completion
from issuer.learning import record_book
from issuer.models import Credential, Role, Statement, User
from issuer.platform.settings import override_allowed
from issuer.web.auth import role_required
from issuer.web.forms import CompleteForm, MarkForm, UndoForm

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


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


@bp.get("/therapists/<int:therapist_id>")
@role_required(Role.SUPERVISOR)
def therapist(therapist_id: int) -> ResponseReturnValue:
    person = assigned_therapist(therapist_id)
    current = catalogue.current_frameworks(db.session)
    met = record_book.met_statements(db.session, person)
    # the current credential of each level (a renewed or re-issued one keeps its row, superseded)
    credentials = {c.level_id: c for c in db.session.scalars(select(Credential).filter_by(therapist_id=person.id)
                                                             .where(Credential.superseded_at.is_(None)))}
    return render_template(
        "supervisor/therapist.html", therapist=person, frameworks=current, met=met, credentials=credentials,
        record=record_book.record_of(db.session, person)[:50], mark_form=MarkForm(), undo_form=UndoForm(),
        complete_form=CompleteForm(), override_allowed=override_allowed(db.session),
        progress={fw.id: record_book.progress(db.session, person, fw) for fw in current},
    )


@bp.post("/therapists/<int:therapist_id>/statements/<int:statement_id>/mark")
@role_required(Role.SUPERVISOR)
def mark(therapist_id: int, statement_id: int) -> ResponseReturnValue:
    person = assigned_therapist(therapist_id)
    statement = db.session.get(Statement, statement_id)
    if statement is None:
        raise NotFound("No such statement.")
    form = MarkForm()
    observed_on = form.observed_on.data
    if not form.validate_on_submit() or observed_on is None:  # a valid form has a date (DataRequired)
        raise InvalidInput(form_errors(form) or "The form is incomplete.")
    upload = None
    file = form.evidence_file.data
    if file and getattr(file, "filename", ""):
        upload = record_book.EvidenceUpload(filename=file.filename, data=file.read(record_book.MAX_EVIDENCE_BYTES + 1))
    record_book.mark_statement(
        db.session, supervisor=current_user, therapist=person, statement=statement,
        observed_on=observed_on, note=form.note.data or "", evidence_url=form.evidence_url.data,
        evidence_file=upload, uploads_dir=Path(current_app.config["ISSUER_UPLOADS_DIR"]),
    )
    flash(f"Recorded “{statement.name}” as met.", "success")
    return redirect(url_for(".therapist", therapist_id=person.id, _anchor=f"level-{statement.level.key}"))


@bp.post("/therapists/<int:therapist_id>/marks/<int:mark_id>/undo")
@role_required(Role.SUPERVISOR)
def undo(therapist_id: int, mark_id: int) -> ResponseReturnValue:
    person = assigned_therapist(therapist_id)
    form = UndoForm()
    if not form.validate_on_submit():
        raise InvalidInput(form_errors(form) or "Say why the mark is withdrawn.")
    record_book.undo_mark(db.session, supervisor=current_user, therapist=person, mark_id=mark_id,
                          reason=form.reason.data or "")
    flash("The mark is withdrawn; the learning record keeps both entries.", "success")
    return redirect(url_for(".therapist", therapist_id=person.id))


@bp.post("/therapists/<int:therapist_id>/levels/<int:level_id>/complete")
@role_required(Role.SUPERVISOR)
def complete(therapist_id: int, level_id: int) -> ResponseReturnValue:
    person = assigned_therapist(therapist_id)
    level = catalogue.get_level(db.session, level_id)
    if level is None:
        raise NotFound("No such level.")
    form = CompleteForm()
    if not form.validate_on_submit():
        raise InvalidInput(form_errors(form) or "The form is incomplete.")
    credential = completion.complete_level(
        db.session, supervisor=current_user, therapist=person, level=level,
        justification=(form.justification.data or "").strip() or None,
    )
    flash(f"{level.label} is complete. The credential is issued to {person.name}.", "success")
    return redirect(url_for("credentials.page", credential_id=credential.id))
