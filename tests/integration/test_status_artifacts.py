"""Revoked, suspended and expired credentials are unmistakable on every artifact, and only a public reason is public.

The artifacts: the credential page, the verification page, the certificate (watermarked and headed for a suspended
or expired credential; none at all for a revoked one), the baked badge downloads (refused with a page saying why)
and the public profile (revoked ones left out, suspended and expired ones marked).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer.credentials.credential import format_datetime
from issuer.credentials.dates import readable_date
from issuer.credentials.digest import document_digest
from issuer.errors import InvalidInput
from issuer.extensions import db
from issuer.issuance import revocation, signing
from issuer.models import AuditEvent, Credential, User, utcnow
from tests.conftest import AuthActions

PRIVATE = "Supervisor found the log book entries were copied from another therapist."
PUBLIC = "Issued in error."
STATES = ("revoked", "suspended", "expired")


def change(app: Flask, credential_id: uuid.UUID, action: str, public_reason: str | None = None) -> None:
    with app.test_request_context():
        credential = db.session.get_one(Credential, credential_id)
        revocation.change(db.session, credential, action=action, reason=PRIVATE, actor=None,
                          public_reason=public_reason)
        db.session.commit()


def expire(app: Flask, credential_id: uuid.UUID) -> None:
    """Re-sign the credential with a validity that ended 30 days ago (as a validity policy would have set it)."""
    with app.test_request_context():
        row = db.session.get_one(Credential, credential_id)
        start, until = utcnow() - timedelta(days=400), utcnow() - timedelta(days=30)
        unsigned = {k: v for k, v in json.loads(row.document).items() if k != "proof"}
        unsigned["validFrom"], unsigned["validUntil"] = format_datetime(start), format_datetime(until)
        signed = signing.sign(db.session, unsigned, now=start)
        row.document, row.jwt, row.digest = signed.document_text, signed.jwt, document_digest(signed.document)
        row.valid_from, row.valid_until, row.issued_at = start, until, start
        db.session.commit()


def put_in(app: Flask, credential_id: uuid.UUID, state: str, public_reason: str | None = None) -> str:
    """Put the credential in ``state``; the date the pages must show."""
    if state == "expired":
        expire(app, credential_id)
    else:
        change(app, credential_id, {"revoked": "revoke", "suspended": "suspend"}[state], public_reason)
    with app.app_context():
        row = db.session.get_one(Credential, credential_id)
        moment = {"revoked": row.revoked_at, "suspended": row.suspended_at, "expired": row.valid_until}[state]
        assert moment is not None
        return readable_date(moment)


def headline(state: str, date: str) -> str:
    words = {"revoked": "Revoked on", "suspended": "Suspended since", "expired": "Expired on"}
    return f"{words[state]} {date}"


def h1(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.DOTALL)
    assert found, html[:500]
    return re.sub(r"\s+", " ", found.group(1)).strip()


def test_a_current_credential_has_every_artifact(client: FlaskClient, issued: uuid.UUID) -> None:
    page = client.get(f"/credentials/{issued}").get_data(as_text=True)
    assert "status-banner" not in page
    for ext in ("png", "svg"):
        assert client.get(f"/credentials/{issued}.{ext}").status_code == 200
    certificate = client.get(f"/credentials/{issued}/certificate").get_data(as_text=True)
    assert h1(certificate) == "Certificate of competency"
    assert "data-watermark" not in certificate


@pytest.mark.parametrize("state", STATES)
def test_the_credential_page_carries_a_banner_with_the_date(
        app: Flask, client: FlaskClient, issued: uuid.UUID, state: str) -> None:
    date = put_in(app, issued, state)
    page = client.get(f"/credentials/{issued}").get_data(as_text=True)
    banner = re.search(r'<div class="status-banner status-banner-(\w+)" role="alert">(.*?)</div>', page, re.DOTALL)
    assert banner, page[:2000]
    assert banner.group(1) == state
    assert state.upper() in banner.group(2)
    assert headline(state, date) in banner.group(2)
    assert PRIVATE not in page  # the free-text reason is never public
    assert f"<title>{state.upper()}:" in page


@pytest.mark.parametrize("state", STATES)
def test_the_verification_page_heads_with_the_state_and_its_date(
        app: Flask, client: FlaskClient, issued: uuid.UUID, state: str) -> None:
    date = put_in(app, issued, state)
    html = client.get(f"/verify/{issued}").get_data(as_text=True)
    assert h1(html) == headline(state, date)
    assert "Not verified" in html
    assert "✓ Verified" not in html
    assert PRIVATE not in html
    # What it was is still said, from this service's record: the level and its holder.
    assert "Emerging music therapist — level 1 of 4" in html


@pytest.mark.parametrize("state", ["revoked", "suspended"])
def test_a_public_reason_is_shown_and_the_private_one_never(
        app: Flask, client: FlaskClient, issued: uuid.UUID, state: str) -> None:
    put_in(app, issued, state, public_reason=PUBLIC)
    for path in (f"/credentials/{issued}", f"/verify/{issued}", f"/credentials/{issued}.png"):
        html = client.get(path).get_data(as_text=True)
        assert f"Reason given by the issuer: {PUBLIC}" in html, path
        assert PRIVATE not in html, path
    with app.app_context():
        event = db.session.query(AuditEvent).filter(AuditEvent.action.like("credential.%ed")).order_by(
            AuditEvent.id.desc()).first()
        assert event is not None
        assert event.details["reason"] == PRIVATE
        assert event.details["public_reason"] == PUBLIC


def test_without_a_public_reason_no_reason_is_shown(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    put_in(app, issued, "revoked")
    for path in (f"/credentials/{issued}", f"/verify/{issued}"):
        html = client.get(path).get_data(as_text=True)
        assert "Reason given by the issuer" not in html
        assert PRIVATE not in html


def test_the_manager_sees_the_private_reason_labelled_as_private(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    put_in(app, issued, "suspended", public_reason=PUBLIC)
    AuthActions(client).login("sup@example.test")
    html = client.get(f"/credentials/{issued}").get_data(as_text=True)
    assert f"Private reason (never shown publicly): {PRIVATE}" in html
    assert f"Reason given by the issuer: {PUBLIC}" in html


def test_the_revoke_form_takes_a_separate_public_reason(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    auth = AuthActions(client)
    auth.login("sup@example.test")
    form = client.get(f"/credentials/{issued}").get_data(as_text=True)
    assert 'name="public_reason"' in form
    # Without the confirmation box: nothing changes, and the confirmation step carries both reasons on.
    step = auth.post(f"/credentials/{issued}/revoke", {"reason": PRIVATE, "public_reason": f"  {PUBLIC}  "})
    assert step.status_code == 400
    assert "stops verifying for everyone, at once and permanently" in step.get_data(as_text=True)
    assert f'name="public_reason" value="  {PUBLIC}  "' in step.get_data(as_text=True)
    with app.app_context():
        assert db.session.get_one(Credential, issued).revoked_at is None
    response = auth.post(f"/credentials/{issued}/revoke", {"reason": PRIVATE, "public_reason": f"  {PUBLIC}  ",
                                                           "confirm": "yes"})
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get_one(Credential, issued)
        assert (row.revocation_reason, row.revocation_public_reason) == (PRIVATE, PUBLIC)
    anonymous = client.application.test_client()
    html = anonymous.get(f"/credentials/{issued}").get_data(as_text=True)
    assert PUBLIC in html
    assert PRIVATE not in html


def test_a_suspension_lifted_clears_its_public_reason(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    put_in(app, issued, "suspended", public_reason=PUBLIC)
    change(app, issued, "unsuspend")
    with app.app_context():
        assert db.session.get_one(Credential, issued).suspension_public_reason is None
    html = client.get(f"/credentials/{issued}").get_data(as_text=True)
    assert PUBLIC not in html
    assert "status-banner" not in html


@pytest.mark.parametrize(("public_reason", "message"), [
    ("x" * 301, "longer than 300"), ("bell\x07", "control character")])
def test_a_bad_public_reason_is_refused_and_nothing_changes(
        app: Flask, issued: uuid.UUID, public_reason: str, message: str) -> None:
    with app.test_request_context():
        credential = db.session.get_one(Credential, issued)
        with pytest.raises(InvalidInput, match=message):
            revocation.change(db.session, credential, action="revoke", reason=PRIVATE, actor=None,
                              public_reason=public_reason)
        db.session.rollback()
        assert db.session.get_one(Credential, issued).revoked_at is None


def test_a_revoked_credential_has_no_certificate(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    date = put_in(app, issued, "revoked", public_reason=PUBLIC)
    response = client.get(f"/credentials/{issued}/certificate")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert h1(html) == f"Revoked on {date}: no certificate for this credential"
    assert "Certificate of competency" not in html
    assert f"/verify/{issued}" in html
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("state", ["suspended", "expired"])
def test_a_suspended_or_expired_certificate_is_watermarked_and_headed(
        app: Flask, client: FlaskClient, issued: uuid.UUID, state: str) -> None:
    date = put_in(app, issued, state)
    response = client.get(f"/credentials/{issued}/certificate")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'data-watermark="{state.upper()}"' in html
    assert h1(html) == f"{state.upper()}: Certificate of competency"
    assert f"{headline(state, date)}: this certificate is not valid" in html
    assert response.headers["Cache-Control"] == "no-store"
    with client.get("/static/certificate.css") as css:
        assert "content: attr(data-watermark)" in css.get_data(as_text=True)


@pytest.mark.parametrize(("state", "status"), [("revoked", 410), ("suspended", 409), ("expired", 410)])
@pytest.mark.parametrize("ext", ["png", "svg"])
def test_the_baked_badge_is_refused_with_a_page_saying_why(
        app: Flask, client: FlaskClient, issued: uuid.UUID, state: str, status: int, ext: str) -> None:
    date = put_in(app, issued, state)
    response = client.get(f"/credentials/{issued}.{ext}")
    assert response.status_code == status
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert h1(html) == f"{headline(state, date)}: no baked badge for this credential"
    # The credential itself stays downloadable: a verifier reading it sees its status.
    assert client.get(f"/credentials/{issued}.json").status_code == 200


def test_the_badge_comes_back_when_a_suspension_is_lifted(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    put_in(app, issued, "suspended")
    assert client.get(f"/credentials/{issued}.png").status_code == 409
    change(app, issued, "unsuspend")
    assert client.get(f"/credentials/{issued}.png").status_code == 200


@pytest.mark.parametrize("state", STATES)
def test_the_public_profile_hides_revoked_and_marks_suspended_and_expired(
        app: Flask, client: FlaskClient, issued: uuid.UUID, state: str) -> None:
    with app.app_context():
        therapist = db.session.get_one(Credential, issued).therapist
        therapist.handle, therapist.public_profile = "taylor", True
        db.session.commit()
    assert f"/credentials/{issued}" in client.get("/u/taylor").get_data(as_text=True)
    date = put_in(app, issued, state, public_reason=None)
    html = client.get("/u/taylor").get_data(as_text=True)
    if state == "revoked":
        assert f"/credentials/{issued}" not in html
        assert "No public credential yet." in html
    else:
        assert f"/credentials/{issued}" in html
        assert f"card-{state}" in html
        assert state.upper() in html
        assert headline(state, date) in html


def test_the_share_links_for_artifacts_that_are_gone_are_not_offered(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    put_in(app, issued, "revoked")
    html = client.get(f"/credentials/{issued}").get_data(as_text=True)
    assert f"/credentials/{issued}/certificate" not in html
    assert f"/credentials/{issued}.png" not in html
    assert f"/credentials/{issued}.json" in html


def test_the_therapists_own_page_has_a_share_bar_at_the_top(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    anonymous = app.test_client()
    assert "share-bar" not in anonymous.get(f"/credentials/{issued}").get_data(as_text=True)
    AuthActions(client).login("ther@example.test")
    html = client.get(f"/credentials/{issued}").get_data(as_text=True)
    bar = re.search(r'<nav class="share-bar[^"]*" aria-label="Share this credential">(.*?)</nav>', html, re.DOTALL)
    assert bar, html[:3000]
    main = html.index('<main id="main">')
    assert html.index("share-bar") - main < html.index('class="credential-head"') - main, "the bar comes first"
    for link in (f'href="http://127.0.0.1:5000/credentials/{issued}"', "linkedin.com/profile/add",
                 f"/credentials/{issued}.png", f"/credentials/{issued}/certificate",
                 f"/me/credentials/{issued}/wallet"):
        assert link in bar.group(1), link
    assert 'class="share-copy"' in bar.group(1)
    assert '<script src="/static/share.js" defer></script>' in html
    with client.get("/static/share.js") as script:
        assert script.status_code == 200
        assert "navigator.clipboard" in script.get_data(as_text=True)


def test_saving_the_profile_gives_a_link_to_the_public_page(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    auth = AuthActions(client)
    auth.login("ther@example.test")
    before = client.get("/me/profile").get_data(as_text=True)
    assert "/u/" not in before
    saved = auth.post("/me/profile", {"public_profile": "y", "handle": "taylor-t", "did": ""}, follow_redirects=True)
    html = saved.get_data(as_text=True)
    assert "Profile saved." in html
    assert '<a href="http://127.0.0.1:5000/u/taylor-t">http://127.0.0.1:5000/u/taylor-t</a>' in html
    assert app.test_client().get("/u/taylor-t").status_code == 200
    hidden = auth.post("/me/profile", {"handle": "taylor-t", "did": ""}, follow_redirects=True)
    assert "/u/taylor-t" not in hidden.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(User).filter_by(handle="taylor-t").one().public_profile is False


def test_the_api_takes_a_public_reason_and_refuses_one_of_the_wrong_type(
        app: Flask, client: FlaskClient, people: dict[str, int], issued: uuid.UUID) -> None:
    from issuer.accounts import api_tokens

    with app.app_context():
        secret = api_tokens.create_api_token(db.session, user=db.session.get_one(User, people["supervisor"]),
                                             name="tests").secret
        db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    wrong = client.post(f"/api/v1/credentials/{issued}/suspend", json={"reason": PRIVATE, "publicReason": ["x"]},
                        headers=headers)
    assert wrong.status_code == 400
    assert "publicReason must be a string" in wrong.get_json()["message"]
    done = client.post(f"/api/v1/credentials/{issued}/suspend", json={"reason": PRIVATE, "publicReason": PUBLIC},
                       headers=headers)
    assert done.status_code == 200, done.get_json()
    with app.app_context():
        row = db.session.get_one(Credential, issued)
        assert (row.suspension_reason, row.suspension_public_reason) == (PRIVATE, PUBLIC)


def test_the_cli_takes_a_public_reason(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    result = app.test_cli_runner().invoke(args=["credentials", "revoke", str(issued), "--reason", PRIVATE,
                                                "--public-reason", PUBLIC])
    assert result.exit_code == 0, result.output
    html = client.get(f"/verify/{issued}").get_data(as_text=True)
    assert f"Reason given by the issuer: {PUBLIC}" in html
    assert PRIVATE not in html


@pytest.mark.parametrize("state", STATES)
def test_the_therapists_own_list_marks_the_state_and_offers_only_what_exists(
        app: Flask, client: FlaskClient, issued: uuid.UUID, state: str) -> None:
    date = put_in(app, issued, state)
    AuthActions(client).login("ther@example.test")
    html = client.get("/me").get_data(as_text=True)
    assert headline(state, date) in html
    assert f"/credentials/{issued}.png" not in html
    assert (f"/credentials/{issued}/certificate" in html) is (state != "revoked")
    assert f"/credentials/{issued}.json" in html
