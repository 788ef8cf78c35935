"""The trust list: administrators manage it on a page and from the CLI, and import DCC issuer registries."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from issuer.extensions import db
from issuer.identity.profile import issuer_did
from issuer.models import AuditEvent, TrustedIssuer
from issuer.verification import trust

DID_KEY = "did:key:z6MkpLDL3RoAoMRTwTgo3rs39ZwssfaPKtGdZw7AGRN7CK4W"
REGISTRY = {
    "meta": {"created": "2022-10-27T17:57:31+00:00", "updated": "2022-10-27T17:57:31+00:00"},
    "registry": {
        DID_KEY: {"name": "My University", "location": "Cambridge, MA, USA", "url": "https://university.example"},
        "did:web:credentials.school.example": {"name": "My School", "url": "https://school.example"},
    },
}


def entries(app: Flask) -> dict[str, tuple[str, str | None, str]]:
    with app.app_context():
        return {e.issuer_id: (e.name, e.url, e.source) for e in db.session.scalars(select(TrustedIssuer))}


def actions(app: Flask) -> list[str]:
    with app.app_context():
        return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
                if e.action.startswith("trust.")]


def test_cli_adds_lists_and_removes_an_issuer(app: Flask, runner: FlaskCliRunner) -> None:
    added = runner.invoke(args=["trust", "add", "did:web:partner.example", "--name", "Partner Clinic",
                                "--url", "https://partner.example"])
    assert added.exit_code == 0, added.output
    assert entries(app) == {"did:web:partner.example": ("Partner Clinic", "https://partner.example", "manual")}
    listed = runner.invoke(args=["trust", "list", "--json"])
    assert json.loads(listed.output)[0]["issuerId"] == "did:web:partner.example"
    again = runner.invoke(args=["trust", "add", "did:web:partner.example", "--name", "Other"])
    assert again.exit_code == 1
    assert "on the trust list already" in again.output
    removed = runner.invoke(args=["trust", "remove", "did:web:partner.example"])
    assert removed.exit_code == 0
    assert entries(app) == {}
    missing = runner.invoke(args=["trust", "remove", "did:web:partner.example"])
    assert missing.exit_code == 1
    assert "not on the trust list" in missing.output
    assert actions(app) == ["trust.added", "trust.removed"]


def test_malformed_ids_and_this_services_own_did_are_refused(app: Flask, runner: FlaskCliRunner) -> None:
    for bad in ("example.org", "http://partner.example", "did:web:partner example", "did:" + "a" * 2000):
        result = runner.invoke(args=["trust", "add", bad, "--name", "X"])
        assert result.exit_code == 1, bad
        assert "Error:" in result.output
    with app.app_context():
        own = issuer_did()
    result = runner.invoke(args=["trust", "add", own, "--name", "Us"])
    assert result.exit_code == 1
    assert "always recognised" in result.output
    assert entries(app) == {}


def test_a_dcc_registry_imports_once_and_keeps_entries_added_by_hand(app: Flask, runner: FlaskCliRunner,
                                                                     tmp_path: Path) -> None:
    assert runner.invoke(args=["trust", "add", DID_KEY, "--name", "Our own name for it"]).exit_code == 0
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(REGISTRY))
    first = runner.invoke(args=["trust", "import", str(path), "--registry", "DCC Community"])
    assert first.exit_code == 0, first.output
    assert "1 added, 0 updated, 1 unchanged" in first.output
    assert entries(app) == {
        DID_KEY: ("Our own name for it", None, "manual"),
        "did:web:credentials.school.example": ("My School", "https://school.example", "registry:DCC Community"),
    }
    second = runner.invoke(args=["trust", "import", str(path), "--registry", "DCC Community"])
    assert "0 added, 0 updated, 2 unchanged" in second.output
    renamed = {**REGISTRY, "registry": {"did:web:credentials.school.example": {"name": "My School (renamed)"}}}
    path.write_text(json.dumps(renamed))
    third = runner.invoke(args=["trust", "import", str(path), "--registry", "DCC Community"])
    assert "0 added, 1 updated, 0 unchanged" in third.output
    assert entries(app)["did:web:credentials.school.example"][0] == "My School (renamed)"


def test_a_bad_registry_is_refused_whole_naming_the_entry(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    cases = {
        '{"registry": {"did:web:a.example": {"name": "A"}, "not-a-did": {"name": "B"}}}': "'not-a-did'",
        '{"registry": {"did:web:a.example": {"url": "https://a.example"}}}': "Give the issuer's name",
        '{"registry": {"did:web:a.example": {"name": "A"}, "did:web:a.example": {"name": "B"}}}': "duplicate",
        '{"meta": {}}': "no \"registry\"",
        '[1, 2]': "JSON object",
        '{"registry": ': "not valid JSON",
    }
    for text, message in cases.items():
        path.write_text(text)
        result = runner.invoke(args=["trust", "import", str(path)])
        assert result.exit_code == 1, text
        assert message in result.output, (text, result.output)
    assert entries(app) == {}


def test_admin_manages_the_trust_list_on_its_page(app: Flask, auth: Any, people: dict[str, int]) -> None:
    auth.login("admin@example.test")
    page = auth.client.get("/admin/trust")
    assert page.status_code == 200
    assert "only this service's own credentials verify" in page.get_data(as_text=True)
    added = auth.post("/admin/trust", {"issuer_id": "did:web:partner.example", "name": "Partner Clinic", "url": ""})
    assert added.status_code == 302
    assert "Partner Clinic" in auth.client.get("/admin/trust").get_data(as_text=True)
    bad = auth.post("/admin/trust", {"issuer_id": "partner.example", "name": "X"})
    assert bad.status_code == 400
    assert "is not an issuer id" in bad.get_data(as_text=True)
    imported = auth.post("/admin/trust/import", {"registry": "DCC Community",
                                                 "file": (io.BytesIO(json.dumps(REGISTRY).encode()), "registry.json")},
                         content_type="multipart/form-data")
    assert imported.status_code == 302
    assert set(entries(app)) == {"did:web:partner.example", DID_KEY, "did:web:credentials.school.example"}
    unconfirmed = auth.post("/admin/trust/remove", {"issuer_id": "did:web:partner.example"})
    assert unconfirmed.status_code == 400
    assert "needs your confirmation" in unconfirmed.get_data(as_text=True)
    assert "did:web:partner.example" in entries(app)
    removed = auth.post("/admin/trust/remove", {"issuer_id": "did:web:partner.example", "confirm": "yes"})
    assert removed.status_code == 302
    assert "did:web:partner.example" not in entries(app)


def test_only_administrators_reach_the_trust_list(app: Flask, auth: Any, people: dict[str, int]) -> None:
    auth.login("sup@example.test")
    assert auth.client.get("/admin/trust").status_code == 403
    assert auth.post("/admin/trust", {"issuer_id": "did:web:evil.example", "name": "Evil"}).status_code == 403
    assert entries(app) == {}


def test_recognition_is_by_exact_id(app: Flask) -> None:
    with app.test_request_context():
        trust.add(db.session, issuer_id="did:web:partner.example%3A8443", name="Partner Clinic")
        recognise = trust.recogniser(db.session)
        assert recognise(issuer_did()) == app.config["ISSUER_NAME"]
        assert recognise("did:web:partner.example%3A8443") == "Partner Clinic"
        for look_alike in ("did:web:partner.example%3a8443", "did:web:partner.example%3A8443:evil",
                           "https://partner.example:8443", "did:web:PARTNER.example%3A8443"):
            assert recognise(look_alike) is None, look_alike


def test_a_trusted_did_web_partner_verifies_from_the_did_document_held_here(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path, client: Any) -> None:
    """Nothing is fetched: a did:web partner's keys come from the DID document given with the trust entry."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from issuer.credentials import eddsa_rdfc_2022
    from issuer.credentials.loader import document_loader
    from issuer.credentials.multikey import encode_ed25519_multikey
    from issuer.models import utcnow

    partner = "did:web:partner.example"
    key = ed25519.Ed25519PrivateKey.generate()
    method = f"{partner}#key-1"
    multikey = {"id": method, "type": "Multikey", "controller": partner,
                "publicKeyMultibase": encode_ed25519_multikey(key.public_key())}
    document = {"@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
                "id": partner, "verificationMethod": [multikey], "assertionMethod": [method]}
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "urn:uuid:7f1b3c9e-1111-4c2b-8d3e-2a5b6c7d8e9f", "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": partner, "name": "Partner award", "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:someone", "type": ["AchievementSubject"], "achievement": {
            "id": "https://partner.example/achievements/1", "type": ["Achievement"], "name": "Partner award",
            "description": "Awarded by the partner.", "criteria": {"narrative": "Shown in practice."}}},
    }
    signed = eddsa_rdfc_2022.sign(credential, private_key=key, verification_method=method, created=utcnow(),
                                  document_loader=document_loader)
    before = client.post("/api/v1/verify", json=signed).get_json()
    assert before["verified"] is False
    path = tmp_path / "did.json"
    path.write_text(json.dumps({**document, "id": "did:web:someone-else.example"}))
    wrong = runner.invoke(args=["trust", "add", partner, "--name", "Partner Clinic", "--did-document", str(path)])
    assert wrong.exit_code == 1
    assert f'whose "id" is {partner}' in wrong.output
    path.write_text(json.dumps(document))
    added = runner.invoke(args=["trust", "add", partner, "--name", "Partner Clinic", "--did-document", str(path)])
    assert added.exit_code == 0, added.output
    after = client.post("/api/v1/verify", json=signed).get_json()
    assert after["verified"] is True, after
    assert next(c for c in after["checks"] if c["check"] == "issuer")["message"].endswith("Partner Clinic")
