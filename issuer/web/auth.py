"""Signing in and out, and the role checks every other page uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from issuer.accounts import logins
from issuer.errors import IssuerError, PermissionDenied
from issuer.extensions import db, login_manager
from issuer.models import Role, User
from issuer.platform import transactions

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
#: The account's session epoch at sign-in, in the signed session cookie.
EPOCH_KEY = "session_epoch"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        user = db.session.get(User, int(user_id))
    except ValueError:
        return None
    if user is None or not user.active:
        return None
    # A cookie from before the last sign-out or password change names an older epoch: that session has ended.
    if session.get(EPOCH_KEY) != user.session_epoch:
        return None
    return user


login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.session_protection = "strong"


def role_required(*roles: Role) -> Callable[[F], F]:
    """Only signed-in users with one of ``roles``; others get 403 (anonymous users go to sign in)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                raise PermissionDenied("Your account cannot open this page.")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def home_for(user: User) -> str:
    return {
        Role.ADMIN: url_for("admin.users"),
        Role.SUPERVISOR: url_for("supervisor.therapists"),
        Role.THERAPIST: url_for("therapist.home"),
    }[user.role]


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: never redirect a user to another host after sign-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = logins.authenticate(
                db.session, email=form.email.data or "", password=form.password.data or "",
                address=request.remote_addr or "unknown",
            )
        except logins.RateLimited as error:
            transactions.keep_writes()
            flash(error.message, "error")
            response = Response(render_template("auth/login.html", form=form), status=429)
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        except IssuerError as error:
            transactions.keep_writes()  # keep the failed attempt: it counts towards the limit
            # Beside the password field (the address is kept as typed): one message whichever was wrong.
            form.password.errors = [*form.password.errors, error.message]
            status = error.status_code
        else:
            login_user(user)
            session[EPOCH_KEY] = user.session_epoch
            return redirect(safe_next(request.args.get("next")) or home_for(user))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    logins.end_sessions(db.session, current_user)
    logout_user()
    session.pop(EPOCH_KEY, None)
    flash("You are signed out.", "success")
    return redirect(url_for("public.index"))
