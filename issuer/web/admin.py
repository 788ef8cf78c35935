"""Administration: accounts and invitations, assignments, keys, frameworks, settings, and the audit log (read-only).

Destructive actions (deactivating an account, withdrawing an invitation, removing an assignment, rotating or
revoking keys, removing an issuer from the trust list) go through a confirmation step (``issuer.web.confirm``):
a POST without ``confirm=yes`` changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import Field
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # see forms.InviteForm

from issuer.accounts import assignments as accounts_assignments
from issuer.accounts import directory, invitations
from issuer.errors import InvalidInput, IssuerError, NotFound
from issuer.extensions import db
from issuer.frameworks import catalogue
from issuer.identity import keystore
from issuer.issuance import bulk, jobs, reissue
from issuer.models import Assignment, AuditEvent, BulkJob, Framework, Invitation, IssuerKey, Role, User, utcnow
from issuer.platform import audit, audit_log, settings
from issuer.platform.spreadsheet import safe_cell
from issuer.verification import trust
from issuer.web import confirm
from issuer.web.auth import role_required
from issuer.web.forms import (
    AssignForm,
    ConfirmForm,
    FrameworkUploadForm,
    InviteForm,
    RegistryForm,
    SettingsForm,
    TrustForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_PAGE_SIZE = 50
MAX_FRAMEWORK_BYTES = 2 * 1024 * 1024
_Row = TypeVar("_Row")


def _valid(form: object) -> None:
    if not form.validate_on_submit():  # type: ignore[attr-defined]
        errors = "; ".join(f"{getattr(form, k).label.text}: {' '.join(v)}" for k, v in form.errors.items())  # type: ignore[attr-defined]
        raise InvalidInput(errors or "The form expired; reload the page and try again.")


def _ask(step: confirm.Confirmation) -> Response | None:
    """The confirmation step while ``step`` is not confirmed: its page on a GET, the page again (400) on a POST
    without ``confirm=yes``; None once a valid POST confirms it. A stale CSRF token is an error page."""
    if request.method == "GET":
        return confirm.page(step)
    _valid(ConfirmForm())
    if not confirm.confirmed():
        return confirm.page(step, refused=True)
    return None


def _submitted(form: Any) -> bool:
    """Validate a posted form. A missing or stale CSRF token is an error page (nothing to keep); other errors stay
    on the form, shown next to their fields with what was typed."""
    if form.validate_on_submit():
        return True
    if "csrf_token" in form.errors:
        raise InvalidInput("CSRF token: " + " ".join(form.errors["csrf_token"])
                           + " Reload the page and try again.")
    return False


def _on_field(field: Field, work: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``work``; a refusal (InvalidInput, Conflict…) becomes an error next to ``field``: (result, status)."""
    try:
        return work(), 200
    except IssuerError as error:
        field.errors = [*field.errors, _sentence(error.message)]
        return None, error.status_code


def _sentence(message: str) -> str:
    """The service's message as a sentence: capitalised (unless it starts with a name such as a file's) and ended."""
    if message.split(" ", 1)[0].isalpha():
        message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def _found(model: type[_Row], row_id: int, what: str) -> _Row:
    """Row ``row_id`` of ``model``, or a 404 saying there is no such ``what``."""
    row = db.session.get(model, row_id)
    if row is None:
        raise NotFound(f"No such {what}.")
    return row


def _user(user_id: int) -> User:
    return _found(User, user_id, "account")


def _users_page(form: InviteForm, status: int = 200) -> ResponseReturnValue:
    role = request.args.get("role") or None
    query = select(User).order_by(User.role, User.name)
    if role in {r.value for r in Role}:
        query = query.filter_by(role=Role(role))
    return render_template("admin/users.html", users=db.session.scalars(query).all(), form=form,
                           invitations=invitations.listing(db.session), invitation_state=invitations.state,
                           now=utcnow(), link_form=ConfirmForm(), role=role), status


@bp.get("/users")
@role_required(Role.ADMIN)
def users() -> ResponseReturnValue:
    return _users_page(InviteForm())


@bp.post("/invitations")
@role_required(Role.ADMIN)
def invite() -> ResponseReturnValue:
    """Invite a person by e-mail and role: they get a single-use link and choose their own password."""
    form = InviteForm()
    if not _submitted(form):
        return _users_page(form, 400)
    email, status = _on_field(form.email, lambda: directory.normalise_email(form.email.data or ""))
    name, name_status = _on_field(form.name, lambda: directory.check_name(form.name.data or ""))
    if email is None or name is None:
        return _users_page(form, max(status, name_status))
    sent, status = _on_field(form.email, lambda: invitations.invite(db.session, email=email, name=name,
                                                                    role=form.role.data or "", actor=current_user))
    if sent is None:
        return _users_page(form, status)
    flash(f"Invitation sent to {email}. The link works once, until "
          f"{sent.invitation.expires_at.strftime('%d %B %Y, %H:%M')} UTC.", "success")
    return redirect(url_for(".users"))


@bp.post("/invitations/<int:invitation_id>/resend")
@role_required(Role.ADMIN)
def resend_invitation(invitation_id: int) -> ResponseReturnValue:
    _valid(ConfirmForm())
    sent = invitations.resend(db.session, invitation_id, actor=current_user)
    flash(f"A new invitation link was sent to {sent.invitation.email}; the previous link no longer works.", "success")
    return redirect(url_for(".users"))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def revoke_invitation(invitation_id: int) -> ResponseReturnValue:
    invitation = _found(Invitation, invitation_id, "invitation")
    step = confirm.Confirmation(
        title=f"Withdraw the invitation for {invitation.email}?",
        consequences=[f"The link sent to {invitation.email} stops working at once; no account is opened.",
                      "You can invite the same address again later."],
        action=url_for(".revoke_invitation", invitation_id=invitation.id), button="Withdraw invitation",
        cancel=url_for(".users"))
    if (asked := _ask(step)) is not None:
        return asked
    invitations.revoke(db.session, invitation_id, actor=current_user)
    flash(f"The invitation for {invitation.email} is withdrawn.", "success")
    return redirect(url_for(".users"))


@bp.route("/users/<int:user_id>/<any(activate, deactivate):action>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def toggle_user(user_id: int, action: str) -> ResponseReturnValue:
    user = _user(user_id)
    if action == "deactivate" and user.id == current_user.id:
        raise InvalidInput("You cannot deactivate your own account.")
    if action == "activate":  # not destructive: no confirmation step
        if request.method == "GET":
            return redirect(url_for(".users"))
        _valid(ConfirmForm())
        directory.set_active(db.session, user, active=True, actor=current_user)
        flash(f"{user.email} is active.", "success")
        return redirect(url_for(".users"))
    step = confirm.Confirmation(
        title=f"Deactivate {user.name}'s account?",
        consequences=[(f"{user.name} ({user.email}) is signed out everywhere and can no longer sign in or use API "
                      "tokens."),
                      ("Nothing is deleted: their learning record and credentials stay, and credentials keep "
                      "verifying."),
                      "You can activate the account again at any time."],
        action=url_for(".toggle_user", user_id=user.id, action="deactivate"), button="Deactivate account",
        cancel=url_for(".users"))
    if (asked := _ask(step)) is not None:
        return asked
    directory.set_active(db.session, user, active=False, actor=current_user)
    flash(f"{user.email} is deactivated.", "success")
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
    status = 200
    if request.method == "POST":
        if _submitted(form):
            done, status = _on_field(form.therapist_id, lambda: accounts_assignments.assign(
                db.session, supervisor=_user(form.supervisor_id.data), therapist=_user(form.therapist_id.data),
                actor=current_user))
            if done is not None:
                flash("Assigned.", "success")
                return redirect(url_for(".assignments"))
        else:
            status = 400
    rows = db.session.scalars(select(Assignment).order_by(Assignment.id)).all()
    return render_template("admin/assignments.html", form=form, assignments=rows), status


@bp.route("/assignments/<int:assignment_id>/remove", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def remove_assignment(assignment_id: int) -> ResponseReturnValue:
    assignment = _found(Assignment, assignment_id, "assignment")
    supervisor, therapist = assignment.supervisor, assignment.therapist
    step = confirm.Confirmation(
        title=f"Remove {therapist.name} from {supervisor.name}'s therapists?",
        consequences=[(f"{supervisor.name} no longer sees {therapist.name}'s learning record and can no longer "
                      "record statements or complete levels for them."),
                      f"What {supervisor.name} recorded stays, and credentials already issued keep verifying.",
                      "You can assign them again later."],
        action=url_for(".remove_assignment", assignment_id=assignment.id), button="Remove assignment",
        cancel=url_for(".assignments"))
    if (asked := _ask(step)) is not None:
        return asked
    accounts_assignments.unassign(db.session, supervisor=supervisor, therapist=therapist, actor=current_user)
    flash("Assignment removed.", "success")
    return redirect(url_for(".assignments"))


@bp.get("/keys")
@role_required(Role.ADMIN)
def keys_page() -> ResponseReturnValue:
    return render_template("admin/keys.html", keys=keystore.all_keys(db.session), form=ConfirmForm())


@bp.route("/keys/rotate", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def rotate_keys() -> ResponseReturnValue:
    current = [k for k in keystore.all_keys(db.session) if k.retired_at is None and k.revoked_at is None]
    step = confirm.Confirmation(
        title="Rotate the signing keys?",
        consequences=[("New Ed25519 and RSA keys are made, and every credential issued from now on is signed with "
                      "them."),
                      "The current keys (" + ", ".join(k.kid for k in current) + ") are retired: they sign nothing "
                      "more but stay published, so every credential they signed keeps verifying.",
                      "This cannot be undone; a rotated key never becomes current again."],
        action=url_for(".rotate_keys"), button="Rotate keys", cancel=url_for(".keys_page"))
    if (asked := _ask(step)) is not None:
        return asked
    keystore.rotate(db.session, actor=current_user)
    flash("New keys are current. Retired keys stay published, so credentials they signed keep verifying.", "success")
    return redirect(url_for(".keys_page"))


@bp.post("/keys/revoke")
@role_required(Role.ADMIN)
def revoke_key() -> ResponseReturnValue:
    """Revoke a key after a compromise (the command line, ``issuer keys revoke``, is the primary interface).

    The keys page's form carries its own confirmation box; a POST without it gets the confirmation step, which
    names the key and how many credentials stop verifying.
    """
    _valid(ConfirmForm())
    kid = request.form.get("kid") or ""
    key = db.session.scalars(select(IssuerKey).filter_by(kid=kid)).one_or_none()
    if not confirm.confirmed():
        if key is None:
            raise NotFound(f"No key {kid!r}.")
        signed = len(reissue.signed_by(db.session, key))
        stop = f"The {signed} credential(s) it signed stop verifying"
        step = confirm.Confirmation(
            title=f"Revoke key {key.kid}?",
            consequences=[f"{key.kid} ({key.algorithm}) leaves the DID document and the JWKS at once.",
                          (f"{stop} until they are issued again with "
                          f"`issuer credentials reissue --signed-by {key.kid}`."),
                          *(["It is the current key: a new one is made to replace it."]
                            if key.retired_at is None else []),
                          "This cannot be undone."],
            action=url_for(".revoke_key"), button="Revoke key", cancel=url_for(".keys_page"))
        return confirm.page(step, refused=True)
    revoked = reissue.revoke_key(db.session, kid, reason=request.form.get("reason") or "", actor=current_user)
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
    status = 200
    if request.method == "POST":
        status = 400
        if _submitted(form):
            result, status = _on_field(form.file, lambda: _import_framework(form))
            if result is not None:
                fw = result.framework
                flash(f"Imported {fw.name} {fw.version}." if result.created
                      else f"{fw.name} {fw.version} is already imported.", "success")
                return redirect(url_for(".frameworks_page"))
    rows = db.session.scalars(select(Framework).order_by(Framework.title, Framework.version)).all()
    return render_template("admin/frameworks.html", form=form, frameworks=rows), status


def _import_framework(form: FrameworkUploadForm) -> catalogue.ImportResult:
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
    return result


MAX_CSV_BYTES = 1024 * 1024
RECENT_JOBS = 10
#: Seconds between reloads of a job's page while its rows wait for the worker.
JOB_REFRESH_SECONDS = 3


@bp.route("/bulk", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def bulk_issue() -> ResponseReturnValue:
    """Upload a CSV and see the dry run with errors by line; "Issue" stores the rows as a job for the worker.

    A file that cannot be read at all (too large, not UTF-8, wrong header) is refused with the reason beside the
    file field."""
    form = ConfirmForm()
    if request.method == "GET":
        return _bulk_upload_page(form)
    _valid(form)
    try:
        text = _uploaded_csv()
        rows = bulk.check(db.session, bulk.parse(text))
    except InvalidInput as error:
        db.session.rollback()
        return _bulk_upload_page(form, file_error=_sentence(error.message), status=400)
    if request.form.get("action") == "issue":
        job = jobs.create_job(db.session, current_user, rows)
        return redirect(url_for("admin.bulk_job", job_id=job.id), code=303)
    db.session.rollback()  # the dry run wrote nothing; make sure of it
    return render_template("admin/bulk.html", form=form, rows=rows, text=text, summary=bulk.summary(rows),
                           outcomes=bulk.OUTCOMES)


def _bulk_upload_page(form: ConfirmForm, *, file_error: str = "", status: int = 200) -> ResponseReturnValue:
    recent = db.session.scalars(select(BulkJob).order_by(BulkJob.id.desc()).limit(RECENT_JOBS)).all()
    return render_template("admin/bulk.html", form=form, rows=None, text="", jobs=recent,
                           file_error=file_error), status


def _uploaded_csv() -> str:
    """The uploaded file's text (or the re-posted text of a checked file). :raise InvalidInput: unreadable."""
    upload = request.files.get("file")
    raw: bytes
    if upload is not None and upload.filename:
        raw = upload.read(MAX_CSV_BYTES + 1)
    else:
        raw = (request.form.get("csv") or "").encode()
    if len(raw) > MAX_CSV_BYTES:
        raise InvalidInput("the CSV is larger than 1 MB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV is not UTF-8 text") from None


@bp.get("/bulk/jobs/<int:job_id>")
@role_required(Role.ADMIN)
def bulk_job(job_id: int) -> ResponseReturnValue:
    """A job's rows and their states; the page reloads itself while rows wait for the worker."""
    job = _found(BulkJob, job_id, "bulk issuance job")
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


def _audit_filters() -> audit_log.Filters:
    return audit_log.Filters(action=(request.args.get("action") or "").strip(),
                             actor=(request.args.get("actor") or "").strip().lower(),
                             start=_day("from"), end=_day("to"))


@bp.get("/audit", endpoint="audit_log")
@role_required(Role.ADMIN)
def audit_log_page() -> ResponseReturnValue:
    """Newest first, filtered by action, actor e-mail and UTC date range (both ends inclusive). Read-only."""
    filters, page = _audit_filters(), _page()
    query = audit_log.query(filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    if page > pages:  # also keeps absurd page numbers away from the database's OFFSET
        raise NotFound(f"There is no page {page}; the log has {pages} page{'s' if pages > 1 else ''} for this filter.")
    events = db.session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(AUDIT_PAGE_SIZE).offset((page - 1) * AUDIT_PAGE_SIZE)
    ).all()
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    shown = {"action": filters.action, "actor": filters.actor, "from": request.args.get("from", ""),
             "to": request.args.get("to", "")}
    return render_template("admin/audit.html", events=audit_log.describe(db.session, events), actions=actions,
                           page=page, total=total, pages=pages, filters=shown,
                           link_filters={k: v for k, v in shown.items() if v})


#: Columns of the audit log's CSV export.
AUDIT_CSV_COLUMNS = ("time_utc", "actor_name", "actor_email", "action", "event", "subject_type", "subject_id",
                     "address", "details")


@bp.get("/audit.csv")
@role_required(Role.ADMIN)
def audit_csv() -> ResponseReturnValue:
    """The filtered log as CSV, newest first, streamed in batches; every cell escaped against formula injection."""
    filters = _audit_filters()

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")

        def line(cells: Sequence[object]) -> str:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([safe_cell(cell) for cell in cells])
            return buffer.getvalue()

        yield "\ufeff" + line(AUDIT_CSV_COLUMNS)  # the BOM: spreadsheets then read the file as UTF-8
        for d in audit_log.export(db.session, filters):
            e = d.event
            yield line((e.at.strftime("%Y-%m-%d %H:%M:%S"), d.actor_name, d.actor_email, e.action, d.sentence,
                        e.subject_type or "", e.subject_id or "", e.address or "",
                        json.dumps(e.details, ensure_ascii=False, sort_keys=True) if e.details else ""))

    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    response = Response(stream_with_context(rows()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _trust_page(form: TrustForm | None = None, registry_form: RegistryForm | None = None,
                status: int = 200) -> ResponseReturnValue:
    return render_template("admin/trust.html", entries=trust.trusted_issuers(db.session), form=form or TrustForm(),
                           registry_form=registry_form or RegistryForm()), status


@bp.get("/trust")
@role_required(Role.ADMIN)
def trust_page() -> ResponseReturnValue:
    return _trust_page()


@bp.post("/trust")
@role_required(Role.ADMIN)
def trust_add() -> ResponseReturnValue:
    form = TrustForm()
    if not _submitted(form):
        return _trust_page(form=form, status=400)
    issuer_id, status = _on_field(form.issuer_id, lambda: trust.check_issuer_id((form.issuer_id.data or "").strip()))
    if issuer_id is None:
        return _trust_page(form=form, status=status)
    entry, status = _on_field(form.issuer_id, lambda: trust.add(
        db.session, issuer_id=issuer_id, name=form.name.data or "", url=(form.url.data or "").strip() or None,
        actor=current_user))
    if entry is None:  # the service names what is wrong: the name, the web address, or else the id
        *kept, message = form.issuer_id.errors
        form.issuer_id.errors = kept
        target = form.name if "name" in message else form.url if "web address" in message else form.issuer_id
        target.errors = [*target.errors, message]
        return _trust_page(form=form, status=status)
    flash(f"Credentials from {entry.name} ({entry.issuer_id}) now verify here.", "success")
    return redirect(url_for(".trust_page"))


@bp.route("/trust/remove", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def trust_remove() -> ResponseReturnValue:
    issuer_id = (request.values.get("issuer_id") or "").strip()
    entry = next((e for e in trust.trusted_issuers(db.session) if e.issuer_id == issuer_id), None)
    if entry is None:
        raise NotFound(f"{issuer_id or 'That issuer'} is not on the trust list.")
    step = confirm.Confirmation(
        title=f"Remove {entry.name} from the trust list?",
        consequences=[(f"Credentials issued by {entry.name} ({entry.issuer_id}) stop verifying here at once: "
                      "the verifier answers “Issuer not recognised”."),
                      "Credentials issued by this service are not affected.",
                      "You can add the issuer again later."],
        action=url_for(".trust_remove"), button="Remove from the trust list", cancel=url_for(".trust_page"),
        hidden={"issuer_id": entry.issuer_id})
    if (asked := _ask(step)) is not None:
        return asked
    entry = trust.remove(db.session, issuer_id=entry.issuer_id, actor=current_user)
    flash(f"{entry.name} ({entry.issuer_id}) is no longer recognised: its credentials do not verify here.", "success")
    return redirect(url_for(".trust_page"))


@bp.post("/trust/import")
@role_required(Role.ADMIN)
def trust_import() -> ResponseReturnValue:
    form = RegistryForm()
    if not _submitted(form):
        return _trust_page(registry_form=form, status=400)
    upload = form.file.data
    if not upload or not getattr(upload, "filename", ""):
        form.file.errors = ["Choose an issuer registry file (registry.json) to import."]
        return _trust_page(registry_form=form, status=400)
    result, status = _on_field(form.file, lambda: trust.import_registry(
        db.session, upload.read(trust.MAX_REGISTRY_BYTES + 1), registry=form.registry.data or "",
        actor=current_user))
    if result is None:
        return _trust_page(registry_form=form, status=status)
    flash(f"Registry {result.registry}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged.",
          "success")
    return redirect(url_for(".trust_page"))
