"""The issuer's identity documents and keys: DID document, JWKS, profile, rotation."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from issuer.extensions import db
from issuer.identity import did_web, keystore
from issuer.models import Credential, IssuerKey
from issuer.verification import verifier
from tests.integration.helpers import issue, seed_people


def test_did_document_lists_every_key_as_multikey(app: Flask, client: FlaskClient) -> None:
    seed_people(app)
    did = client.get("/.well-known/did.json").get_json()
    assert did["id"] == "did:web:127.0.0.1%3A5000"
    methods = {m["id"]: m for m in did["verificationMethod"]}
    ed = [m for m in methods.values() if m["type"] == "Multikey"]
    assert len(ed) == 1
    assert ed[0]["publicKeyMultibase"].startswith("z6Mk")
    assert ed[0]["controller"] == did["id"]
    assert set(did["assertionMethod"]) == set(methods)
    jwks = client.get("/.well-known/jwks.json").get_json()
    rsa = [k for k in jwks["keys"] if k["kty"] == "RSA"]
    assert len(rsa) == 1
    assert rsa[0]["alg"] == "RS256"
    assert "d" not in rsa[0]


def test_key_files_are_0600_and_never_in_the_database(app: Flask, keys_dir: Path) -> None:
    seed_people(app)
    files = list(keys_dir.glob("*.pem"))
    assert len(files) == 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with app.app_context():
        for key in db.session.scalars(select(IssuerKey)):
            assert "d" not in key.public_jwk
            assert "PRIVATE" not in json.dumps(key.public_jwk)


def test_rotation_keeps_old_credentials_verifying(app: Flask, runner: FlaskCliRunner) -> None:
    people = seed_people(app)
    old = issue(app, people, 0)
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0
    assert "New current Ed25519 key" in result.output
    new = issue(app, people, 1)
    with app.app_context():
        old_doc = json.loads(db.session.get(Credential, old).document)
        new_doc = json.loads(db.session.get(Credential, new).document)
        assert old_doc["proof"][0]["verificationMethod"] != new_doc["proof"][0]["verificationMethod"]
        assert verifier.verify_any(db.session, old_doc).verified
        assert verifier.verify_any(db.session, new_doc).verified
        assert len(did_web.did_document(db.session)["verificationMethod"]) == 4


@pytest.mark.parametrize("damage", ["missing", "world-readable", "corrupt"])
def test_unusable_key_file_stops_signing_without_a_new_identity(app: Flask, keys_dir: Path, damage: str) -> None:
    people = seed_people(app)
    with app.app_context():
        kid = keystore.current_key(db.session, keystore.ED25519).kid
    path = keys_dir / f"{kid}.pem"
    if damage == "missing":
        path.unlink()
    elif damage == "world-readable":
        path.chmod(0o644)
    else:
        path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(keystore.KeyUnavailable, match=kid):
        issue(app, people, 0)
    with app.app_context():
        assert db.session.scalars(select(IssuerKey).filter_by(algorithm="Ed25519")).all()[0].kid == kid
        assert len(db.session.scalars(select(IssuerKey)).all()) == 2
        assert db.session.scalars(select(Credential)).all() == []


def test_issuer_profile_is_json_ld(client: FlaskClient, app: Flask) -> None:
    seed_people(app)
    profile = client.get("/issuer", headers={"Accept": "application/ld+json"}).get_json()
    assert profile["id"] == "did:web:127.0.0.1%3A5000"
    assert profile["type"] == ["Profile"]
    assert profile["name"]
    assert profile["email"]
    assert profile["url"]


def test_achievement_documents_are_served(client: FlaskClient, app: Flask) -> None:
    seed_people(app)
    frameworks = client.get("/frameworks", headers={"Accept": "application/json"}).get_json()["frameworks"]
    assert [f["socCode"] for f in frameworks] == ["29-1129.02"]
    detail = client.get(f"/frameworks/{frameworks[0]['slug']}", headers={"Accept": "application/json"}).get_json()
    statement_url = detail["levels"][0]["statements"][0]["achievement"]
    doc = client.get(statement_url.replace("http://127.0.0.1:5000", ""),
                     headers={"Accept": "application/ld+json"}).get_json()
    assert doc["type"] == ["Achievement"]
    assert doc["name"] == "Client needs assessment"
    assert doc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert "CC BY 4.0" in doc["criteria"]["narrative"]
    html = client.get(statement_url.replace("http://127.0.0.1:5000", "")).get_data(as_text=True)
    assert "Client needs assessment" in html
    assert "EBSCOed" in html


@pytest.mark.parametrize("damage", ["missing", "truncated", "world-readable", "symlinked"])
def test_key_file_damaged_after_use_stops_the_next_issuance(app: Flask, keys_dir: Path, damage: str) -> None:
    """Loaded keys are reused, but the file is checked before every use."""
    people = seed_people(app)
    issue(app, people, 0)
    with app.app_context():
        kid = keystore.current_key(db.session, keystore.ED25519).kid
    path = keys_dir / f"{kid}.pem"
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:60])
    elif damage == "world-readable":
        path.chmod(0o644)
    else:
        elsewhere = keys_dir.parent / "elsewhere.pem"
        path.rename(elsewhere)
        path.symlink_to(elsewhere)
    with pytest.raises(keystore.KeyUnavailable, match=kid):
        issue(app, people, 1)
    with app.app_context():
        assert len(db.session.scalars(select(IssuerKey)).all()) == 2  # no new identity


def test_wrong_passphrase_stops_signing(app_config: dict[str, Any], keys_dir: Path) -> None:
    from issuer import create_app

    app = create_app({**app_config, "ISSUER_KEY_PASSPHRASE": b"the right passphrase"})
    with app.app_context():
        db.create_all()
    people = seed_people(app)
    assert b"ENCRYPTED" in next(keys_dir.glob("ed25519-*.pem")).read_bytes()
    wrong = create_app({**app_config, "ISSUER_KEY_PASSPHRASE": b"a wrong passphrase"})
    with pytest.raises(keystore.KeyUnavailable, match="passphrase"):
        issue(wrong, people, 0)
    issued = issue(app, people, 0)
    with app.app_context():
        assert db.session.get(Credential, issued) is not None
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    with wrong.app_context():
        db.engine.dispose()
