"""Credentials in public: pages, downloads, baked badges, QR codes, certificates, verification.

Everything here works without an account. A private credential page answers
404 to everyone but its therapist, their supervisors and administrators,
while the credential itself still verifies anywhere.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from issuer import badges
from issuer.accounts import assignments
from issuer.errors import InvalidInput, NotFound, PermissionDenied
from issuer.extensions import db
from issuer.frameworks import level_images
from issuer.identity.profile import base_url
from issuer.issuance import revocation
from issuer.models import Credential, Level, Role, User
from issuer.platform import replay
from issuer.platform.database import read_only
from issuer.platform.ratelimit import rate_limited
from issuer.verification import card as cards
from issuer.verification import inputs, recipient, verifier
from issuer.verification.standing import Standing, standing_of
from issuer.web import confirm
from issuer.web.forms import ConfirmForm, ReasonForm
from issuer.web.negotiation import prefers_json

bp = Blueprint("credentials", __name__)

#: Largest credential (pasted or uploaded) the public verifier reads.
MAX_VERIFY_BYTES = 1024 * 1024
#: A verified pasted credential up to this size rides along in the recipient check form (larger: paste it again).
MAX_RESUBMIT_CHARS = 256 * 1024
STATIC_MAX_AGE = 3600


def viewer_may_see_private(credential: Credential) -> bool:
    if not current_user.is_authenticated:
        return False
    if current_user.role is Role.ADMIN or current_user.id == credential.therapist_id:
        return True
    return current_user.role is Role.SUPERVISOR and assignments.is_assigned(
        db.session, supervisor=current_user, therapist=credential.therapist)


def get_credential(credential_id: uuid.UUID, *, for_page: bool = True) -> Credential:
    """:raise NotFound: no such credential, or a private one the viewer may not see (same answer)."""
    credential = db.session.get(Credential, credential_id)
    if credential is None or (for_page and not credential.public and not viewer_may_see_private(credential)):
        raise NotFound("No credential with that id, or its owner keeps it private.")
    return credential


def verification_url(credential: Credential) -> str:
    return f"{base_url()}/verify/{credential.id}"


def linkedin_urls(credential: Credential, document: dict[str, Any]) -> dict[str, str]:
    """LinkedIn's add-certification and share links, filled in from the credential."""
    issued = credential.issued_at
    add = {
        "startTask": "CERTIFICATION_NAME",
        "name": document.get("name", ""),
        "organizationName": current_app.config["ISSUER_NAME"],
        "issueYear": str(issued.year),
        "issueMonth": str(issued.month),
        "certUrl": f"{base_url()}/credentials/{credential.id}",
        "certId": str(credential.id),
    }
    if credential.valid_until:
        add["expirationYear"] = str(credential.valid_until.year)
        add["expirationMonth"] = str(credential.valid_until.month)
    share = {"url": f"{base_url()}/credentials/{credential.id}"}
    return {
        "add": "https://www.linkedin.com/profile/add?" + urlencode(add),
        "share": "https://www.linkedin.com/sharing/share-offsite/?" + urlencode(share),
    }


def cached(response: Response, max_age: int = STATIC_MAX_AGE) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


@bp.get("/credentials/<uuid:credential_id>")
def page(credential_id: uuid.UUID) -> ResponseReturnValue:
    if prefers_json():
        return download(credential_id, "json")
    credential = get_credential(credential_id)
    document = json.loads(credential.document)
    result = verifier.verify_stored(db.session, credential)
    is_owner = current_user.is_authenticated and current_user.id == credential.therapist_id
    return render_template(
        "credentials/page.html", credential=credential, document=document, result=result,
        standing=standing_of(credential), is_owner=is_owner,
        verification_url=verification_url(credential), linkedin=linkedin_urls(credential, document),
        page_url=f"{base_url()}/credentials/{credential.id}", framework=credential.level.framework,
        can_manage=revocation.may_change_status(db.session, current_user, credential)
        if current_user.is_authenticated else False, reason_form=ReasonForm(), visibility_form=ConfirmForm(),
    )


def unavailable(credential: Credential, standing: Standing, artifact: str) -> Response:
    """The page that stands in for an artifact a revoked, suspended or expired credential no longer gets.

    410 Gone when it will not come back (revoked, expired), 409 Conflict while suspended (lifting the suspension
    brings it back).
    """
    status = 409 if standing.kind == "suspended" else 410
    response = Response(render_template("credentials/unavailable.html", credential=credential, standing=standing,
                                        artifact=artifact), status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/credentials/<uuid:credential_id>.<ext>")
def download(credential_id: uuid.UUID, ext: str) -> ResponseReturnValue:
    # Downloads are the credential itself: they work for private pages too, like any copy the therapist shares.
    credential = get_credential(credential_id, for_page=False)
    stem = f"{credential.level.framework.slug}-{credential.level.key}-{credential.id}"
    if ext == "json":
        response = Response(credential.document, mimetype="application/vc+ld+json")
        if request.accept_mimetypes.best == "application/ld+json":
            response.mimetype = "application/ld+json"
    elif ext == "jwt":
        response = Response(credential.jwt, mimetype="text/plain")
    elif ext in ("png", "svg") and not (standing := standing_of(credential)).current:
        # A baked badge is an image people look at, not a document a verifier reads: it would show no status.
        return unavailable(credential, standing, "baked badge")
    elif ext == "png":
        png = level_images.level_badge_png(credential.level)
        response = Response(badges.bake_png(png, credential.document), mimetype="image/png")
    elif ext == "svg":
        svg = level_images.level_badge_svg(credential.level)
        response = Response(badges.bake_svg(svg, credential.document, jws=False), mimetype="image/svg+xml")
    else:
        raise NotFound(f"No download of type {ext!r}; try json, jwt, png or svg.")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{ext}"'
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.get("/credentials/<uuid:credential_id>/qr.<ext>")
def qr(credential_id: uuid.UUID, ext: str) -> ResponseReturnValue:
    credential = get_credential(credential_id, for_page=False)
    url = verification_url(credential)
    if ext == "svg":
        return cached(Response(badges.qr_svg(url), mimetype="image/svg+xml"))
    if ext == "png":
        return cached(Response(badges.qr_png(url), mimetype="image/png"))
    raise NotFound("QR codes come as .svg or .png.")


@bp.get("/credentials/<uuid:credential_id>/certificate")
def certificate(credential_id: uuid.UUID) -> ResponseReturnValue:
    credential = get_credential(credential_id)
    standing = standing_of(credential)
    if standing.kind == "revoked":
        # Revocation is permanent: a printed copy could only mislead, so there is no certificate at all.
        return unavailable(credential, standing, "certificate")
    response = Response(render_template(
        "credentials/certificate.html", credential=credential, standing=standing,
        document=json.loads(credential.document), framework=credential.level.framework,
        verification_url=verification_url(credential), qr_svg=badges.qr_svg_inline(verification_url(credential))))
    if not standing.current:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/credentials/<uuid:credential_id>/visibility")
def visibility(credential_id: uuid.UUID) -> ResponseReturnValue:
    credential = get_credential(credential_id, for_page=False)
    if not current_user.is_authenticated or current_user.id != credential.therapist_id:
        raise NotFound("No credential with that id, or its owner keeps it private.")
    if not ConfirmForm().validate_on_submit():
        raise InvalidInput("The form expired; try again.")
    credential.public = not credential.public
    from issuer.platform import audit

    audit.record(db.session, "credential.visibility", actor=current_user, subject_type="credential",
                 subject_id=credential.id, public=credential.public)
    flash("Your credential page is now " + ("public." if credential.public else "private."), "success")
    return redirect(url_for(".page", credential_id=credential.id))


@bp.post("/credentials/<uuid:credential_id>/<any(revoke, suspend, unsuspend):action>")
def change_status(credential_id: uuid.UUID, action: str) -> ResponseReturnValue:
    credential = get_credential(credential_id, for_page=False)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=url_for(".page", credential_id=credential.id)))
    if not revocation.may_change_status(db.session, current_user, credential):
        raise PermissionDenied("Only the issuing supervisor or an administrator can change this credential's status.")
    form = ReasonForm()
    if not form.validate_on_submit():
        raise InvalidInput("Give a reason for the change.")
    if action in ("revoke", "suspend") and not confirm.confirmed():  # destructive: refused unless confirmed
        return confirm.page(_status_confirmation(credential, action), refused=True)
    revocation.change(db.session, credential, action=action, reason=form.reason.data or "", actor=current_user,
                      public_reason=(form.public_reason.data or None) if action != "unsuspend" else None)
    flash(f"The credential is now {credential.state}.", "success")
    return redirect(url_for(".page", credential_id=credential.id))


def _status_confirmation(credential: Credential, action: str) -> confirm.Confirmation:
    """What revoking or suspending ``credential`` does, said plainly before it is done."""
    what = f"{credential.therapist.name}'s \u201c{credential.level.label}\u201d credential"
    if action == "revoke":
        consequences = [f"{what} stops verifying for everyone, at once and permanently: revocation cannot be undone.",
                        "Its public page, certificate and badge show that it is revoked.",
                        "A new credential for this level would have to be issued again."]
        title, button = f"Revoke {what}?", "Revoke permanently"
    else:
        consequences = [f"{what} stops verifying for everyone until the suspension is lifted.",
                        "Its public page, certificate and badge show that it is suspended.",
                        "You or an administrator can lift the suspension later."]
        title, button = f"Suspend {what}?", "Suspend"
    return confirm.Confirmation(title=title, consequences=consequences,
                                action=url_for(".change_status", credential_id=credential.id, action=action),
                                button=button, cancel=url_for(".page", credential_id=credential.id))


@bp.get("/badges/<uuid:achievement_id>.<any(svg, png):ext>")
def badge(achievement_id: uuid.UUID, ext: str) -> ResponseReturnValue:
    level = db.session.scalars(select(Level).filter_by(achievement_id=achievement_id)).one_or_none()
    if level is None:
        raise NotFound("No level badge with that id.")
    if ext == "svg":
        return cached(Response(level_images.level_badge_svg(level), mimetype="image/svg+xml"), 86400)
    return cached(Response(level_images.level_badge_png(level), mimetype="image/png"), 86400)


@bp.get("/u/<handle>")
def profile(handle: str) -> ResponseReturnValue:
    user = db.session.scalars(select(User).filter_by(handle=handle)).one_or_none()
    if user is None or not user.public_profile or not user.active or user.role is not Role.THERAPIST:
        raise NotFound("No public profile at that address.")
    credentials = db.session.scalars(
        select(Credential).filter_by(therapist_id=user.id, public=True, revoked_at=None).order_by(Credential.issued_at)
    ).all()
    # Revoked credentials are left out (revocation is permanent, and a credential re-signed after a key compromise
    # would otherwise show twice); suspended and expired ones are listed, marked as such.
    listed = [(credential, standing_of(credential)) for credential in credentials]
    return render_template("credentials/profile.html", person=user, listed=listed)


def _same_for_every_visitor() -> bool:
    """Anonymous, with no flashed message waiting: the page then depends on the credential alone.

    A signed-in viewer's page has their name and a CSRF token in its navigation, and may show a private
    credential's recipient; flashed messages belong to one visitor. Neither may be served to anyone else.
    """
    return not current_user.is_authenticated and "_flashes" not in session


@bp.get("/verify/<uuid:credential_id>")
def verify_stored(credential_id: uuid.UUID) -> ResponseReturnValue:
    """The public verification page. Anonymous visitors get the same page while the credential's state is the same.

    Its ETag is the state token of the answer (``IssuedVerification.token``): a browser or shared cache that
    revalidates (``no-cache``) gets a 304 without a render, and a revocation shows at once. The rendered bytes
    are kept in one place only, the replay cache (``issuer.platform.replay``), checked by the same state.
    """
    read_only(db.session)  # state reads in autocommit, outside the session (see issuer.platform.database.reading)
    found = verifier.verify_issued(db.session, credential_id)
    if found is None:
        raise NotFound("No credential with that id was issued here.")
    if not _same_for_every_visitor():
        credential = get_credential(credential_id, for_page=False)
        show_name = credential.public or viewer_may_see_private(credential)
        response = Response(_render_verification(found, show_name=show_name))
        response.headers["Cache-Control"] = "private, no-store"
        return response
    etag = found.token
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(_render_verification(found, show_name=found.record.public))
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Cookie")
    replay.allow(found.unchanged)  # the same bytes to the next anonymous visitor, while nothing has changed
    return response


def _render_verification(found: verifier.IssuedVerification, *, show_name: bool) -> str:
    page_url = url_for(".page", credential_id=found.record.id) if show_name else None
    card = cards.for_issued(db.session, found.verification, record=found.record, show_name=show_name,
                            page_url=page_url)
    return render_template("credentials/verify_result.html", result=found.verification, card=card,
                           credential=found.record, recipient_url=url_for(".recipient_form",
                                                                          credential_id=found.record.id))


@bp.get("/verify/<uuid:credential_id>/recipient")
def recipient_form(credential_id: uuid.UUID) -> ResponseReturnValue:
    return _recipient_page(credential_id)


@bp.post("/verify/<uuid:credential_id>/recipient")
@rate_limited("verify", "ISSUER_VERIFY_RATE_LIMIT")
def recipient_check(credential_id: uuid.UUID) -> ResponseReturnValue:
    """The recipient check of a credential issued here: the employer types the candidate's e-mail address.

    The address is compared with the credential's salted hash and forgotten: never stored, logged or cached.
    """
    return _recipient_page(credential_id)


def _recipient_page(credential_id: uuid.UUID) -> ResponseReturnValue:
    found = verifier.verify_issued(db.session, credential_id)
    if found is None:
        raise NotFound("No credential with that id was issued here.")
    credential = get_credential(credential_id, for_page=False)
    show_name = credential.public or viewer_may_see_private(credential)
    card = cards.for_issued(db.session, found.verification, record=found.record, show_name=show_name,
                            page_url=url_for(".page", credential_id=credential_id) if show_name else None)
    answer, error, status = None, None, 200
    typed = ""
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            raise InvalidInput("The form expired; reload the page and try again.")
        try:
            email = read_one_email()
            typed = email
            answer = recipient.check(json.loads(credential.document), email)
        except InvalidInput as refused:
            error, status = refused.message, 400
    response = Response(render_template(
        "credentials/recipient.html", card=card, credential_id=credential_id, form=ConfirmForm(), answer=answer,
        error=error, typed=typed), status=status)
    response.headers["Cache-Control"] = "private, no-store"  # the answer concerns one visitor's typed address
    return response


def read_one_email() -> str:
    """The one ``email`` field of the form, normalised. :raise InvalidInput: missing, repeated or not an address."""
    values = request.form.getlist("email")
    if len(values) > 1:
        raise InvalidInput("Type one e-mail address.")
    return recipient.read_email(values[0] if values else None)


@bp.get("/verify")
def verify_form() -> ResponseReturnValue:
    return render_template("credentials/verify.html", form=ConfirmForm())


@bp.post("/verify")
@rate_limited("verify", "ISSUER_VERIFY_RATE_LIMIT")
def verify_submit() -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        raise InvalidInput("The form expired; reload the page and try again.")
    data = read_submitted_credential()
    read_only(db.session)  # verifying writes nothing: no write lock to wait for on SQLite
    result = verifier.verify_any(db.session, data)
    status = 200 if result.readable else 400
    card = cards.for_pasted(db.session, result, data, verifier.read_document(data) if result.readable else None)
    answer, error = None, None
    if request.form.get("email", "").strip() or len(request.form.getlist("email")) > 1:
        try:
            email = read_one_email()
            if card.trusted:
                answer = recipient.check(verifier.read_document(data), email)
            else:
                answer = recipient.RecipientCheck("unknown", "Not checked: the credential itself did not verify, "
                                                             "so who it names means nothing.")
        except InvalidInput as refused:
            error, status = refused.message, 400
    response = Response(render_template(
        "credentials/verify_result.html", result=result, card=card, credential=None, answer=answer, error=error,
        form=ConfirmForm(), resubmit=data if card.trusted and len(data) <= MAX_RESUBMIT_CHARS else None),
        status=status)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def read_submitted_credential() -> str:
    """The pasted text, or the uploaded file (a baked PNG or SVG is unbaked first)."""
    pasted = inputs.utf8_text(request.form.get("credential") or "").strip()
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        raw = upload.read(MAX_VERIFY_BYTES + 1)
        if len(raw) > MAX_VERIFY_BYTES:
            abort(413, f"The file is larger than {MAX_VERIFY_BYTES // 1024} KB.")
        return inputs.extract_credential(raw, filename=upload.filename)
    if not pasted:
        raise InvalidInput("Paste a credential (JSON or JWT) or choose a file to upload.")
    if len(pasted.encode()) > MAX_VERIFY_BYTES:
        abort(413, f"The credential is larger than {MAX_VERIFY_BYTES // 1024} KB.")
    return pasted
