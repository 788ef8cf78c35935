"""The pages behind e-mailed links: accepting an invitation, "Forgot password?" and choosing a new password.

Opening a link (GET) only shows its form: mail scanners that fetch links use nothing up. A link that was used,
withdrawn or has expired is a 410 page that says so, an unknown one a 404; neither changes anything. These pages
send no Referer and are never cached, so the token in the address goes nowhere else.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from issuer.accounts import directory, invitations, password_resets
from issuer.errors import InvalidInput, IssuerError, TooManyRequests
from issuer.extensions import db
from issuer.platform import ratelimit
from issuer.platform.audit import client_address
from issuer.web.auth import EPOCH_KEY, home_for

bp = Blueprint("account_links", __name__)

_PASSWORD_HINT = f"At least {directory.MIN_PASSWORD_LENGTH} characters. A few unrelated words make a good one."


class ForgotForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(message="Give the e-mail address of your "
                                                                          "account."), Length(max=320)])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[
        DataRequired(message="Choose a password."),
        Length(min=directory.MIN_PASSWORD_LENGTH, max=directory.MAX_PASSWORD_LENGTH,
               message=f"Use at least {directory.MIN_PASSWORD_LENGTH} characters.")])
    repeat = PasswordField("Repeat the new password", validators=[
        DataRequired(message="Type the password again."),
        EqualTo("password", message="The two passwords differ; type the same one twice.")])


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _page(template: str, status: int = 200, **context: object) -> Response:
    return _private(Response(render_template(template, password_hint=_PASSWORD_HINT, **context), status=status))


def _csrf_refused(form: FlaskForm) -> None:
    if "csrf_token" in form.errors:
        raise InvalidInput("CSRF token: " + " ".join(form.errors["csrf_token"]) + " Reload the page and try again.")


def _link_error(error: IssuerError, what: str) -> Response:
    """A used, expired, withdrawn (410) or unknown (404) link: a page saying so and what to do."""
    return _page("auth/link_gone.html", status=error.status_code, message=error.message, what=what,
                 gone=isinstance(error, invitations.LinkGone))


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    form = ForgotForm()
    if not form.validate_on_submit():
        _csrf_refused(form)
        return _page("auth/forgot.html", status=400 if form.is_submitted() else 200, form=form)
    limit = ratelimit.Limit.parse(str(current_app.config.get("ISSUER_PASSWORD_RESET_RATE_LIMIT") or ""))
    if limit is not None:  # counted before the request's own transaction begins (see issuer.platform.ratelimit)
        retry_after = ratelimit.hit("password-reset", client_address() or "unknown", limit)
        if retry_after is not None:
            raise TooManyRequests(f"Too many password reset requests from your address. Try again in "
                                  f"{retry_after // 60 + 1} minutes.", retry_after=retry_after)
    password_resets.request_reset(db.session, form.email.data or "")
    return _page("auth/forgot_sent.html", email=(form.email.data or "").strip())


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    try:
        reset = password_resets.find(db.session, token)
    except IssuerError as error:
        return _link_error(error, "reset")
    form = NewPasswordForm()
    if not form.validate_on_submit():
        _csrf_refused(form)
        return _page("auth/reset.html", status=400 if form.is_submitted() else 200, form=form, email=reset.user.email)
    try:
        password_resets.reset_password(db.session, token, password=form.password.data or "")
    except InvalidInput as error:
        form.password.errors = [*form.password.errors, error.message]
        return _page("auth/reset.html", status=400, form=form, email=reset.user.email)
    except IssuerError as error:
        return _link_error(error, "reset")
    if current_user.is_authenticated:  # whoever was signed in in this browser: every session has ended
        logout_user()
        session.pop(EPOCH_KEY, None)
    flash("Your new password is set, and every other session of your account has ended. Sign in with it now.",
          "success")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> ResponseReturnValue:
    try:
        invitation = invitations.find(db.session, token)
    except IssuerError as error:
        return _link_error(error, "invitation")
    form = NewPasswordForm()
    if not form.validate_on_submit():
        _csrf_refused(form)
        return _page("auth/invitation.html", status=400 if form.is_submitted() else 200, form=form,
                     invitation=invitation)
    try:
        user = invitations.accept(db.session, token, password=form.password.data or "")
    except InvalidInput as error:
        form.password.errors = [*form.password.errors, error.message]
        return _page("auth/invitation.html", status=400, form=form, invitation=invitation)
    except IssuerError as error:
        return _link_error(error, "invitation")
    if current_user.is_authenticated:
        logout_user()
    login_user(user)
    session[EPOCH_KEY] = user.session_epoch
    flash(f"Welcome, {user.name}: your account is open and you are signed in.", "success")
    return redirect(home_for(user), code=303)
