"""Re-certification pages: the administrator's validity policies, and issuing a renewal."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from issuer.errors import InvalidInput, NotFound
from issuer.extensions import db
from issuer.frameworks import catalogue
from issuer.models import Credential, Framework, Level, Role, ValidityPolicy
from issuer.recertification import ledger, policy, policy_store, renewal
from issuer.web.auth import role_required
from issuer.web.forms import ConfirmForm, PolicyForm

bp = Blueprint("recertification", __name__)


def _policies(framework: Framework) -> dict[int | None, ValidityPolicy]:
    rows = db.session.scalars(db.select(ValidityPolicy).filter_by(framework_id=framework.id))
    return {row.level_id: row for row in rows}


@bp.get("/admin/policies")
@role_required(Role.ADMIN)
def policies() -> ResponseReturnValue:
    frameworks = catalogue.current_frameworks(db.session)
    return render_template("recertification/policies.html", frameworks=frameworks,
                           policies={fw.id: _policies(fw) for fw in frameworks},
                           terms_of=policy.terms_of, format_credits=policy.format_credits)


def _form_for(row: ValidityPolicy | None) -> PolicyForm:
    form = PolicyForm()
    if request.method == "GET" and row is not None:
        terms = policy.terms_of(row)
        form.validity_months.data = str(terms.validity_months or "")
        form.required_credits.data = (policy.format_credits(terms.required_credits)
                                      if terms.required_credits is not None else "")
        form.category_minimums.data = ", ".join(f"{name}: {policy.format_credits(amount)}"
                                                for name, amount in sorted(terms.category_minimums.items()))
        form.minutes_per_credit.data = str(terms.minutes_per_credit)
        form.supervised_hours.data = (str(terms.min_supervised_minutes // 60)
                                      if terms.min_supervised_minutes is not None else "")
        form.reminder_days.data = ", ".join(str(d) for d in terms.reminder_days)
    return form


@bp.route("/admin/policies/<int:framework_id>", methods=["GET", "POST"], defaults={"level_id": None})
@bp.route("/admin/policies/<int:framework_id>/levels/<int:level_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit_policy(framework_id: int, level_id: int | None) -> ResponseReturnValue:
    framework = policy_store.framework_or_404(db.session, framework_id)
    level = policy_store.level_of(db.session, framework, level_id)
    row = policy_store.stored_policy(db.session, framework, level)
    form = _form_for(row)
    error = None
    if request.method == "POST":
        if not form.validate_on_submit():
            problems = [f"{getattr(form, k).label.text}: {' '.join(v)}" for k, v in form.errors.items()]
            raise InvalidInput("; ".join(problems) or "The form expired; reload the page and try again.")
        data = policy_store.PolicyInput(
            validity_months=form.validity_months.data or "", required_credits=form.required_credits.data or "",
            category_minimums=form.category_minimums.data or "",
            minutes_per_credit=form.minutes_per_credit.data or "", supervised_hours=form.supervised_hours.data or "",
            reminder_days=form.reminder_days.data or "",
        )
        try:
            policy_store.set_policy(db.session, framework=framework, level=level, data=data, actor=current_user)
        except InvalidInput as refused:
            error = refused  # shown beside the form, with what was typed kept; nothing is saved (400)
        else:
            flash(f"Saved the validity policy of {level.label if level else framework.name}. It applies to "
                  "credentials issued from now on.", "success")
            return redirect(url_for(".policies"))
    inherited = (policy_store.stored_policy(db.session, framework, None) if level is not None else None)
    body = render_template("recertification/policy_form.html", form=form, framework=framework, level=level,
                           row=row, inherited=inherited, error=error, remove_form=ConfirmForm(),
                           terms_of=policy.terms_of, format_credits=policy.format_credits)
    return (body, 400) if error is not None else body


@bp.post("/admin/policies/<int:framework_id>/remove", defaults={"level_id": None})
@bp.post("/admin/policies/<int:framework_id>/levels/<int:level_id>/remove")
@role_required(Role.ADMIN)
def remove_policy(framework_id: int, level_id: int | None) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        raise InvalidInput("The form expired; reload the page and try again.")
    framework = policy_store.framework_or_404(db.session, framework_id)
    level: Level | None = policy_store.level_of(db.session, framework, level_id)
    policy_store.remove_policy(db.session, framework=framework, level=level, actor=current_user)
    flash(f"Removed the validity policy of {level.label if level else framework.name}.", "success")
    return redirect(url_for(".policies"))



def _renewable(credential_id: uuid.UUID) -> Credential:
    """The credential, if the signed-in person may renew it (administrators, the assigned supervisor); else 404
    (a credential's management is not shown to others)."""
    credential = db.session.get(Credential, credential_id)
    if credential is None or not renewal.may_renew(db.session, current_user, credential):
        raise NotFound("No credential with that id that you can renew.")
    return credential


@bp.route("/credentials/<uuid:credential_id>/renewal", methods=["GET", "POST"])
@role_required(Role.ADMIN, Role.SUPERVISOR)
def renew(credential_id: uuid.UUID) -> ResponseReturnValue:
    credential = _renewable(credential_id)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            raise InvalidInput("The form expired; reload the page and try again.")
        renewed = renewal.renew(db.session, credential_id=credential.id, actor=current_user)
        flash("Renewed: this credential is valid for the next cycle, and names the one it renews.", "success")
        return redirect(url_for("credentials.page", credential_id=renewed.id))
    standing = renewal.check(db.session, credential)
    tz = policy.service_timezone()
    return render_template("recertification/renewal.html", credential=credential, standing=standing, form=form,
                           tz=tz, format_credits=policy.format_credits,
                           activities=ledger.approved_activities(db.session, credential.therapist_id, standing.cycle),
                           credits_of=ledger.credits_of, category_label=ledger.category_label)
