"""Keys: a private key file must match the public key published for it before anything is signed with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from issuer.identity import keystore
from issuer.credentials import keyfiles
from issuer.extensions import db
from issuer.models import Credential, Level, StatusList
from tests.integration.helpers import issue


def replace_key_file(app: Flask, keys_dir: Path, algorithm: str) -> str:
    """Overwrite the current key file of ``algorithm`` with another valid key of the same kind."""
    with app.app_context():
        kid = keystore.current_key(db.session, algorithm).kid
    other = keyfiles.generate_ed25519() if algorithm == keystore.ED25519 else keyfiles.generate_rsa()
    path = keys_dir / f"{kid}.pem"
    path.unlink()
    keyfiles.write_private_key(path, other, passphrase=None)
    return kid


@pytest.mark.parametrize("algorithm", [keystore.ED25519, keystore.RSA])
def test_a_key_file_replaced_by_another_key_stops_issuance(app: Flask, keys_dir: Path, people: dict[str, int],
                                                           algorithm: str) -> None:
    issue(app, people, 0)  # the key was loaded and used once: the check runs again when the file changes
    kid = replace_key_file(app, keys_dir, algorithm)
    with pytest.raises(keystore.KeyMismatch, match=f"{kid}: the key file holds another key"):
        issue(app, people, 1)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Credential)) == 1


def test_a_mismatched_key_answers_503_on_the_web_and_issues_nothing(app: Flask, keys_dir: Path, auth,
                                                                    people: dict[str, int]) -> None:
    replace_key_file(app, keys_dir, keystore.ED25519)
    with app.app_context():
        level = db.session.scalars(select(Level).order_by(Level.position)).first()
        statements = [s.id for s in level.statements]
    auth.login("sup@example.test")
    for sid in statements:
        auth.post(f"/supervisor/therapists/{people['therapist']}/statements/{sid}/mark",
                  {"observed_on": "2026-11-20", "note": "Seen."})
    response = auth.post(f"/supervisor/therapists/{people['therapist']}/levels/{level.id}/complete")
    assert response.status_code == 503
    assert "holds another key than the public key published" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Credential)) == 0


def test_a_mismatched_key_never_signs_a_status_list(app: Flask, keys_dir: Path, runner, people: dict[str, int]) -> None:
    credential_id = issue(app, people, 0)
    with app.app_context():
        before = {row.id: row.signed_document for row in db.session.scalars(select(StatusList))}
    replace_key_file(app, keys_dir, keystore.ED25519)
    result = runner.invoke(args=["credentials", "suspend", str(credential_id), "--reason", "Under review"])
    assert result.exit_code == 1
    assert "Error: signing key" in result.output and "holds another key" in result.output
    with app.app_context():
        db.session.expire_all()
        assert {row.id: row.signed_document for row in db.session.scalars(select(StatusList))} == before
        assert db.session.get(Credential, credential_id).suspended_at is None
