"""Every therapist has a stable credentialSubject.id, and our VC-JWTs pass an independent JOSE library's OB 3.0
checks (OB 3.0 section 8.2.4.1: ``iss``, ``jti``, ``sub``, ``nbf`` required, ``exp`` when there is a validUntil).

The independent library is PyJWT: it fetches nothing, reads our key from our own ``/.well-known/jwks.json`` and
checks the signature and the registered claims itself.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import JWKRegistry
from sqlalchemy import select

from issuer.credentials import schema
from issuer.credentials.digest import document_digest
from issuer.extensions import db
from issuer.identity import keystore
from issuer.identity.profile import issuer_did, issuer_profile
from issuer.issuance import signing
from issuer.models import Credential, User, utcnow
from issuer.verification import verifier
from tests.conftest import PASSWORD
from tests.integration.helpers import issue

URN_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
REQUIRED = ["iss", "sub", "jti", "nbf"]


def _document(app: Flask, credential_id: uuid.UUID) -> dict[str, Any]:
    with app.app_context():
        document: dict[str, Any] = json.loads(db.session.get_one(Credential, credential_id).document)
        return document


def _subject_urn(app: Flask, user_id: int) -> str:
    with app.app_context():
        return db.session.get_one(User, user_id).subject_urn


def _pyjwt_decode(client: FlaskClient, token: str) -> dict[str, Any]:
    """What PyJWT makes of ``token`` with the key named by its ``kid`` in our JWKS, OB 3.0's claims required."""
    key_set = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").get_json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = key_set[kid]
    claims: dict[str, Any] = jwt.decode(token, key=key, algorithms=[key.algorithm_name], options={"require": REQUIRED})
    return claims


def test_each_therapist_has_one_stable_subject_id_in_every_credential(app: Flask, people: dict[str, int]) -> None:
    first, second = issue(app, people, 0), issue(app, people, 1)
    urn = _subject_urn(app, people["therapist"])
    assert URN_UUID.fullmatch(urn)
    for credential_id in (first, second):
        subject = _document(app, credential_id)["credentialSubject"]
        assert subject["id"] == urn
        # the hashed e-mail stays: an employer's e-mail check compares it
        assert subject["identifier"][0]["identityType"] == "emailAddress"
        assert schema.validate(_document(app, credential_id)) == []
    with app.app_context():
        others = {u.subject_urn for u in db.session.scalars(select(User))}
        assert len(others) == len(people)  # one per account, every account


def test_a_profile_did_the_therapist_has_not_proved_is_not_the_subject(app: Flask, people: dict[str, int]) -> None:
    with app.app_context():
        therapist = db.session.get_one(User, people["therapist"])
        therapist.did = "did:example:someone-else"
        db.session.commit()
    credential_id = issue(app, people, 0)
    assert _document(app, credential_id)["credentialSubject"]["id"] == _subject_urn(app, people["therapist"])


def test_a_new_account_gets_a_subject_id_of_its_own(app: Flask, client: FlaskClient, people: dict[str, int]) -> None:
    result = app.test_cli_runner().invoke(args=["users", "add", "new@example.test", "--name", "Nia New", "--role",
                                                "therapist"], input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        urns = [u.subject_urn for u in db.session.scalars(select(User).order_by(User.id))]
    assert len(set(urns)) == len(urns) == len(people) + 1
    assert all(URN_UUID.fullmatch(urn) for urn in urns)


def test_pyjwt_accepts_our_vc_jwt_with_every_ob3_claim(app: Flask, client: FlaskClient,
                                                       people: dict[str, int]) -> None:
    credential_id = issue(app, people, 0)
    token = client.get(f"/credentials/{credential_id}.jwt").get_data(as_text=True)
    document = _document(app, credential_id)
    claims = _pyjwt_decode(client, token)
    with app.app_context():
        assert claims["iss"] == document["issuer"]["id"] == issuer_did()
    assert claims["jti"] == document["id"]
    assert claims["sub"] == document["credentialSubject"]["id"] == _subject_urn(app, people["therapist"])
    valid_from = dt.datetime.fromisoformat(document["validFrom"])
    assert claims["nbf"] == int(valid_from.timestamp())
    assert "validUntil" not in document
    assert "exp" not in claims  # OB 3.0: exp only when the credential has a validUntil
    # the rest of the payload is the credential itself, embedded proof included (OB 3.0: the JWT is made last)
    assert {k: v for k, v in claims.items() if k not in REQUIRED} == document


def _signed_jwt(app: Flask, therapist_id: int, valid_from: dt.datetime, valid_until: dt.datetime) -> str:
    """A credential with a validUntil (level credentials have none yet), signed with the app's keys."""
    with app.test_request_context():
        keystore.ensure_keys(db.session)
        therapist = db.session.get_one(User, therapist_id)
        unsigned = signing.build_achievement_credential(
            credential_id=f"urn:uuid:{uuid.uuid4()}", issuer=issuer_profile(),
            achievement={"id": "urn:uuid:" + str(uuid.uuid4()), "type": ["Achievement"], "name": "Test",
                         "description": "A test achievement.", "criteria": {"narrative": "Shown."}},
            recipient_email=therapist.email, salt=therapist.recipient_salt, recipient_did=None,
            subject_id=therapist.subject_urn, name="Test", valid_from=valid_from, valid_until=valid_until,
            evidence=[])
        return signing.sign(db.session, unsigned, now=utcnow()).jwt


def test_pyjwt_checks_exp_against_valid_until(app: Flask, client: FlaskClient, people: dict[str, int]) -> None:
    now = utcnow()
    token = _signed_jwt(app, people["therapist"], now - dt.timedelta(days=1), now + dt.timedelta(days=30))
    claims = _pyjwt_decode(client, token)
    assert claims["exp"] == int((now + dt.timedelta(days=30)).timestamp())
    assert claims["nbf"] == int((now - dt.timedelta(days=1)).timestamp())
    assert claims["sub"] == _subject_urn(app, people["therapist"])
    expired = _signed_jwt(app, people["therapist"], now - dt.timedelta(days=60), now - dt.timedelta(days=1))
    with pytest.raises(jwt.ExpiredSignatureError):  # PyJWT enforces it: exp is the credential's real end
        _pyjwt_decode(client, expired)


def test_every_published_key_is_usable_by_pyjwt_and_joserfc(client: FlaskClient, people: dict[str, int]) -> None:
    published = client.get("/.well-known/jwks.json").get_json()["keys"]
    assert {k["kty"] for k in published} == {"OKP", "RSA"}
    assert {k["alg"] for k in published} == {"EdDSA", "RS256"}
    kept = jwt.PyJWKSet.from_dict({"keys": published})
    assert sorted(str(k.key_id) for k in kept.keys) == sorted(k["kid"] for k in published)
    for jwk in published:
        assert JWKRegistry.import_key(jwk).kid == jwk["kid"]
    # the DID document's JWKs (RSA keys as JsonWebKey) carry no alg, which every library accepts, and no private part
    methods = client.get("/.well-known/did.json").get_json()["verificationMethod"]
    jwks_in_did = [m["publicKeyJwk"] for m in methods if "publicKeyJwk" in m]
    assert jwks_in_did
    for jwk in jwks_in_did:
        assert "d" not in jwk
        assert jwt.PyJWK.from_dict(jwk).algorithm_name == "RS256"
        assert JWKRegistry.import_key(jwk).key_type == "RSA"


def test_a_credential_issued_without_a_subject_id_gets_one_when_reissued(app: Flask, people: dict[str, int]) -> None:
    old_id = issue(app, people, 0)
    with app.app_context():
        old = db.session.get_one(Credential, old_id)
        legacy = json.loads(old.document)
        del legacy["credentialSubject"]["id"]  # as issued before subjects had ids
        old.document, old.digest = json.dumps(legacy), document_digest(legacy)
        db.session.commit()
        kid = keystore.current_key(db.session, keystore.ED25519).kid
    runner = app.test_cli_runner()
    assert runner.invoke(args=["keys", "revoke", kid, "--reason", "Compromised"]).exit_code == 0
    assert runner.invoke(args=["credentials", "reissue", "--signed-by", kid]).exit_code == 0
    with app.app_context():
        new = db.session.scalars(select(Credential).filter_by(replaces_id=old_id)).one()
        subject = json.loads(new.document)["credentialSubject"]
        assert subject == {"id": _subject_urn(app, people["therapist"]), **legacy["credentialSubject"]}
        assert verifier.verify_stored(db.session, new).verified


def test_the_api_gives_each_therapist_its_subject_id(app: Flask, client: FlaskClient, people: dict[str, int]) -> None:
    from issuer.accounts import api_tokens

    credential_id = issue(app, people, 0)
    with app.app_context():
        token = api_tokens.create_api_token(db.session, user=db.session.get_one(User, people["supervisor"]),
                                            name="t").secret
        db.session.commit()
    listed = client.get("/api/v1/therapists", headers={"Authorization": f"Bearer {token}"}).get_json()
    [therapist] = listed["therapists"]
    assert therapist["subjectId"] == _subject_urn(app, people["therapist"])
    assert therapist["subjectId"] == _document(app, credential_id)["credentialSubject"]["id"]


def test_the_profile_page_shows_the_learner_id_credentials_use(app: Flask, client: FlaskClient,
                                                               people: dict[str, int]) -> None:
    from tests.conftest import AuthActions

    AuthActions(client).login("ther@example.test")
    page = client.get("/me/profile").get_data(as_text=True)
    assert f"<code>{_subject_urn(app, people['therapist'])}</code>" in page
    assert 'aria-describedby="did-hint"' in page


def test_the_clr_names_the_same_subject_and_pyjwt_accepts_its_jwt(app: Flask, client: FlaskClient,
                                                                  people: dict[str, int]) -> None:
    from tests.conftest import AuthActions

    issue(app, people, 0)
    therapist = AuthActions(client)
    therapist.login("ther@example.test")
    token = therapist.post("/me/clr.jwt").get_data(as_text=True)
    claims = _pyjwt_decode(client, token)
    urn = _subject_urn(app, people["therapist"])
    assert claims["sub"] == claims["credentialSubject"]["id"] == urn
    assert claims["jti"] == claims["id"]
    assert claims["nbf"] == int(dt.datetime.fromisoformat(claims["validFrom"]).timestamp())
    assert [c["credentialSubject"]["id"] for c in claims["credentialSubject"]["verifiableCredential"]] == [urn]
