"""Administration: accounts, assignments, keys, frameworks, settings, and the audit log (read-only)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # see forms.UserForm

from issuer.accounts import assignments as accounts_assignments
from issuer.accounts import directory
from issuer.errors import InvalidInput, NotFound
from issuer.extensions import db
from issuer.frameworks import catalogue
from issuer.identity import keystore
from issuer.issuance import bulk, jobs, reissue
from issuer.models import Assignment, AuditEvent, BulkJob, Framework, Role, User
from issuer.platform import audit, settings
from issuer.verification import trust
from issuer.web.auth import role_required
from issuer.web.forms import (
    AssignForm,
    ConfirmForm,
    FrameworkUploadForm,
    RegistryForm,
    SettingsForm,
    TrustForm,
    UserForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_PAGE_SIZE = 50
MAX_FRAMEWORK_BYTES = 2 * 1024 * 1024


def _valid(form: object) -> None:
    if not form.validate_on_submit():  # type: ignore[attr-defined]
        errors = "; ".join(f"{getattr(form, k).label.text}: {' '.join(v)}" for k, v in form.errors.items())  # type: ignore[attr-defined]
        raise InvalidInput(errors or "The form expired; reload the page and try again.")


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such account.")
    return user


@bp.get("/users")
@role_required(Role.ADMIN)
def users() -> ResponseReturnValue:
    role = request.args.get("role") or None
    query = select(User).order_by(User.role, User.name)
    if role in {r.value for r in Role}:
        query = query.filter_by(role=Role(role))
    return render_template("admin/users.html", users=db.session.scalars(query).all(), form=UserForm(),
                           toggle_form=ConfirmForm(), role=role)


@bp.post("/users")
@role_required(Role.ADMIN)
def create_user() -> ResponseReturnValue:
    form = UserForm()
    _valid(form)
    user = directory.create_user(db.session, email=form.email.data or "", name=form.name.data or "",
                                role=form.role.data or "", password=form.password.data or "", actor=current_user)
    flash(f"Created {user.role.value} account {user.email}.", "success")
    return redirect(url_for(".users"))


@bp.post("/users/<int:user_id>/<any(activate, deactivate):action>")
@role_required(Role.ADMIN)
def toggle_user(user_id: int, action: str) -> ResponseReturnValue:
    _valid(ConfirmForm())
    user = _user(user_id)
    directory.set_active(db.session, user, active=action == "activate", actor=current_user)
    flash(f"{user.email} is {'active' if user.active else 'deactivated'}.", "success")
    return redirect(url_for(".users"))


@bp.route("/assignments", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def assignments() -> ResponseReturnValue:
    form = AssignForm()
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
    form.supervisor_id.choices = [SelectChoice(u.id, f"{u.name} ({u.email})")
                                  for u in people if u.role is Role.SUPERVISOR]
    form.therapist_id.choices = [SelectChoice(u.id, f"{u.name} ({u.email})")
                                 for u in people if u.role is Role.THERAPIST]
    if request.method == "POST":
        _valid(form)
        accounts_assignments.assign(db.session, supervisor=_user(form.supervisor_id.data),
                                    therapist=_user(form.therapist_id.data), actor=current_user)
        flash("Assigned.", "success")
        return redirect(url_for(".assignments"))
    rows = db.session.scalars(select(Assignment).order_by(Assignment.id)).all()
    return render_template("admin/assignments.html", form=form, assignments=rows, remove_form=ConfirmForm())


@bp.post("/assignments/<int:assignment_id>/remove")
@role_required(Role.ADMIN)
def remove_assignment(assignment_id: int) -> ResponseReturnValue:
    _valid(ConfirmForm())
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound("No such assignment.")
    accounts_assignments.unassign(db.session, supervisor=assignment.supervisor, therapist=assignment.therapist,
                                  actor=current_user)
    flash("Assignment removed.", "success")
    return redirect(url_for(".assignments"))


@bp.get("/keys")
@role_required(Role.ADMIN)
def keys_page() -> ResponseReturnValue:
    return render_template("admin/keys.html", keys=keystore.all_keys(db.session), form=ConfirmForm())


@bp.post("/keys/rotate")
@role_required(Role.ADMIN)
def rotate_keys() -> ResponseReturnValue:
    _valid(ConfirmForm())
    keystore.rotate(db.session, actor=current_user)
    flash("New keys are current. Retired keys stay published, so credentials they signed keep verifying.", "success")
    return redirect(url_for(".keys_page"))


@bp.post("/keys/revoke")
@role_required(Role.ADMIN)
def revoke_key() -> ResponseReturnValue:
    """Revoke a key after a compromise (the command line, ``issuer keys revoke``, is the primary interface)."""
    _valid(ConfirmForm())
    if request.form.get("confirm") != "yes":
        raise InvalidInput("Tick the box to confirm: nothing the key signed will verify any more.")
    revoked = reissue.revoke_key(db.session, request.form.get("kid") or "", reason=request.form.get("reason") or "",
                                 actor=current_user)
    new = revoked.replacement
    replaced = f" New current {new.algorithm} key {new.kid}." if new else ""
    flash(f"Key {revoked.key.kid} is revoked and no longer published.{replaced} It signed "
          f"{len(revoked.credentials)} credential(s): issue new copies with "
          f"`issuer credentials reissue --signed-by {revoked.key.kid}`.", "success")
    return redirect(url_for(".keys_page"))


@bp.route("/frameworks", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def frameworks_page() -> ResponseReturnValue:
    form = FrameworkUploadForm()
    if request.method == "POST":
        _valid(form)
        upload = form.file.data
        if not upload or not getattr(upload, "filename", ""):
            raise InvalidInput("Choose a framework export (JSON) to upload.")
        raw = upload.read(MAX_FRAMEWORK_BYTES + 1)
        if len(raw) > MAX_FRAMEWORK_BYTES:
            raise InvalidInput("The framework file is larger than 2 MB.")
        result = catalogue.import_framework(db.session, catalogue.parse_framework_bytes(raw, source=upload.filename))
        if result.created:
            audit.record(db.session, "framework.imported", actor=current_user, subject_type="framework",
                         subject_id=result.framework.slug)
        fw = result.framework
        flash(f"Imported {fw.name} {fw.version}." if result.created else f"{fw.name} {fw.version} is already imported.",
              "success")
        return redirect(url_for(".frameworks_page"))
    rows = db.session.scalars(select(Framework).order_by(Framework.title, Framework.version)).all()
    return render_template("admin/frameworks.html", form=form, frameworks=rows)


MAX_CSV_BYTES = 1024 * 1024
RECENT_JOBS = 10
#: Seconds between reloads of a job's page while its rows wait for the worker.
JOB_REFRESH_SECONDS = 3


@bp.route("/bulk", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def bulk_issue() -> ResponseReturnValue:
    """Upload a CSV and see the dry run with errors by line; "Issue" stores the rows as a job for the worker."""
    form = ConfirmForm()
    if request.method == "GET":
        recent = db.session.scalars(select(BulkJob).order_by(BulkJob.id.desc()).limit(RECENT_JOBS)).all()
        return render_template("admin/bulk.html", form=form, rows=None, text="", jobs=recent)
    _valid(form)
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        raw = upload.read(MAX_CSV_BYTES + 1)
    else:
        raw = (request.form.get("csv") or "").encode()
    if len(raw) > MAX_CSV_BYTES:
        raise InvalidInput("the CSV is larger than 1 MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV is not UTF-8 text") from None
    rows = bulk.check(db.session, bulk.parse(text))
    if request.form.get("action") == "issue":
        job = jobs.create_job(db.session, current_user, rows)
        return redirect(url_for("admin.bulk_job", job_id=job.id), code=303)
    db.session.rollback()  # the dry run wrote nothing; make sure of it
    return render_template("admin/bulk.html", form=form, rows=rows, text=text)


@bp.get("/bulk/jobs/<int:job_id>")
@role_required(Role.ADMIN)
def bulk_job(job_id: int) -> ResponseReturnValue:
    """A job's rows and their states; the page reloads itself while rows wait for the worker."""
    job = db.session.get(BulkJob, job_id)
    if job is None:
        raise NotFound("No such bulk issuance job.")
    return render_template("admin/bulk_job.html", job=job, counts=jobs.counts(db.session, job.id),
                           refresh=JOB_REFRESH_SECONDS)


@bp.route("/settings", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def settings_page() -> ResponseReturnValue:
    form = SettingsForm(allow_override=settings.override_allowed(db.session))
    if request.method == "POST":
        _valid(form)
        settings.put(db.session, settings.ALLOW_OVERRIDE, "true" if form.allow_override.data else "false",
                     actor=current_user)
        flash("Settings saved.", "success")
        return redirect(url_for(".settings_page"))
    return render_template("admin/settings.html", form=form)


def _day(name: str) -> dt.date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-11-28") from None


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        raise InvalidInput("page must be a number") from None


@bp.get("/audit")
@role_required(Role.ADMIN)
def audit_log() -> ResponseReturnValue:
    """Newest first, filtered by action, actor e-mail and UTC date range (both ends inclusive). Read-only."""
    query = select(AuditEvent)
    action = (request.args.get("action") or "").strip()
    actor = (request.args.get("actor") or "").strip().lower()
    start, end, page = _day("from"), _day("to"), _page()
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.join(User, User.id == AuditEvent.actor_id).where(User.email == actor)
    if start:
        query = query.where(AuditEvent.at >= dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC))
    if end and end < dt.date.max:  # the whole "to" day counts; the last representable day has no upper bound
        query = query.where(AuditEvent.at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    if page > pages:  # also keeps absurd page numbers away from the database's OFFSET
        raise NotFound(f"There is no page {page}; the log has {pages} page{'s' if pages > 1 else ''} for this filter.")
    events = db.session.scalars(
        query.options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(AUDIT_PAGE_SIZE).offset((page - 1) * AUDIT_PAGE_SIZE)
    ).all()
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    filters = {"action": action, "actor": actor, "from": request.args.get("from", ""), "to": request.args.get("to", "")}
    return render_template("admin/audit.html", events=events, actions=actions, page=page, total=total, pages=pages,
                           filters=filters, link_filters={k: v for k, v in filters.items() if v})


@bp.get("/trust")
@role_required(Role.ADMIN)
def trust_page() -> ResponseReturnValue:
    return render_template("admin/trust.html", entries=trust.trusted_issuers(db.session), form=TrustForm(),
                           registry_form=RegistryForm(), remove_form=ConfirmForm())


@bp.post("/trust")
@role_required(Role.ADMIN)
def trust_add() -> ResponseReturnValue:
    form = TrustForm()
    _valid(form)
    entry = trust.add(db.session, issuer_id=(form.issuer_id.data or "").strip(), name=form.name.data or "",
                      url=(form.url.data or "").strip() or None, actor=current_user)
    flash(f"Credentials from {entry.name} ({entry.issuer_id}) now verify here.", "success")
    return redirect(url_for(".trust_page"))


@bp.post("/trust/remove")
@role_required(Role.ADMIN)
def trust_remove() -> ResponseReturnValue:
    _valid(ConfirmForm())
    entry = trust.remove(db.session, issuer_id=request.form.get("issuer_id") or "", actor=current_user)
    flash(f"{entry.name} ({entry.issuer_id}) is no longer recognised: its credentials do not verify here.", "success")
    return redirect(url_for(".trust_page"))


@bp.post("/trust/import")
@role_required(Role.ADMIN)
def trust_import() -> ResponseReturnValue:
    form = RegistryForm()
    _valid(form)
    upload = form.file.data
    if not upload or not getattr(upload, "filename", ""):
        raise InvalidInput("Choose an issuer registry file (registry.json) to import.")
    result = trust.import_registry(db.session, upload.read(trust.MAX_REGISTRY_BYTES + 1),
                                   registry=form.registry.data or "", actor=current_user)
    flash(f"Registry {result.registry}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged.",
          "success")
    return redirect(url_for(".trust_page"))
