"""The therapist's own pages: progress, learning record, credentials, profile and API tokens."""

from __future__ import annotations

import re

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from issuer.accounts import api_tokens, assignments
from issuer.errors import Conflict, InvalidInput
from issuer.extensions import db
from issuer.frameworks import catalogue
from issuer.identity.profile import base_url
from issuer.issuance import clr
from issuer.learning import record_book
from issuer.models import ApiToken, Credential, Role, User, utcnow
from issuer.platform import audit
from issuer.verification.standing import standing_of
from issuer.web.auth import role_required
from issuer.web.forms import ConfirmForm, ProfileForm, TokenForm

bp = Blueprint("therapist", __name__)
HANDLE = re.compile(r"^[A-Za-z0-9_-]{3,64}$")
DID = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$")


@bp.get("/me")
@role_required(Role.THERAPIST)
def home() -> ResponseReturnValue:
    current = catalogue.current_frameworks(db.session)
    credentials = db.session.scalars(
        select(Credential).filter_by(therapist_id=current_user.id).order_by(Credential.issued_at)
    ).all()
    return render_template(
        "therapist/home.html", frameworks=current, credentials=credentials,
        standings={credential.id: standing_of(credential) for credential in credentials},
        clr_contents=clr.clr_contents(db.session, current_user, now=utcnow()),
        progress={fw.id: record_book.progress(db.session, current_user, fw) for fw in current},
        met=record_book.met_statements(db.session, current_user),
        record=record_book.record_of(db.session, current_user),
        supervisors=assignments.supervisors_of(db.session, current_user), clr_form=ConfirmForm(),
    )


@bp.post("/me/clr.<any(json, jwt):ext>")
@role_required(Role.THERAPIST)
def clr_download(ext: str) -> ResponseReturnValue:
    """The whole learning record as a signed CLR 2.0 credential, issued now and put on record (so a POST).

    It holds the credentials valid now; the page before the download lists those left out and why, and so does
    the ``Clr-Left-Out`` header of the answer (one ``<credential URL>; reason="…"`` per credential, ASCII only).
    """
    if not ConfirmForm().validate_on_submit():
        raise InvalidInput("The form expired; reload the page and try again.")
    now = utcnow()
    contents = clr.clr_contents(db.session, current_user, now=now)
    signed = clr.signed_clr(db.session, current_user, now=now, contents=contents)
    body, mimetype = (signed.document_text, "application/vc+ld+json") if ext == "json" else (signed.jwt, "text/plain")
    response = Response(body, mimetype=mimetype)
    if contents.left_out:
        response.headers["Clr-Left-Out"] = clr.left_out_header(contents)
    response.headers["Content-Disposition"] = f'attachment; filename="learning-record.{ext}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/me/profile", methods=["GET", "POST"])
@role_required(Role.THERAPIST)
def profile() -> ResponseReturnValue:
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        handle = (form.handle.data or "").strip() or None
        did = (form.did.data or "").strip() or None
        if handle and not HANDLE.match(handle):
            raise InvalidInput("the profile address may use letters, digits, - and _ (3 to 64)")
        if form.public_profile.data and not handle:
            raise InvalidInput("choose a profile address to make your profile public")
        if did and not DID.match(did):
            raise InvalidInput("that is not a DID (it should look like did:method:identifier)")
        if handle and db.session.scalars(select(User).where(User.handle == handle, User.id != current_user.id)).first():
            raise Conflict("that profile address is taken")
        current_user.handle, current_user.did = handle, did
        current_user.public_profile = bool(form.public_profile.data)
        audit.record(db.session, "profile.updated", actor=current_user, subject_type="user", subject_id=current_user.id,
                     public=current_user.public_profile)
        flash("Profile saved.", "success")
        return redirect(url_for(".profile"))
    public_url = (base_url() + url_for("credentials.profile", handle=current_user.handle)
                  if current_user.public_profile and current_user.handle else None)
    return render_template("therapist/profile.html", form=form, public_url=public_url)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> ResponseReturnValue:
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        secret = api_tokens.create_api_token(db.session, user=current_user, name=form.name.data or "").secret
    rows = db.session.scalars(select(ApiToken).filter_by(user_id=current_user.id).order_by(ApiToken.id.desc())).all()
    response = Response(render_template("therapist/tokens.html", form=form, tokens=rows, secret=secret,
                                        revoke_form=ConfirmForm()))
    response.headers["Cache-Control"] = "private, no-store"  # a new token is shown once: never kept by any cache
    return response


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise InvalidInput("The form expired; try again.")
    api_tokens.revoke_api_token(db.session, user=current_user, token_id=token_id)
    flash("Token revoked.", "success")
    return redirect(url_for(".tokens"))
