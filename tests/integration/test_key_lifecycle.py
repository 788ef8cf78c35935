"""Keys: a private key file must match the public key published for it before anything is signed with it."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from issuer.credentials import keyfiles
from issuer.credentials.status_list import Bitstring
from issuer.extensions import db
from issuer.identity import keystore
from issuer.issuance import reissue
from issuer.models import AuditEvent, Credential, IssuerKey, Level, StatusEntry, StatusList
from issuer.verification import verifier
from tests.conftest import AuthActions
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


def test_a_mismatched_key_answers_503_on_the_web_and_issues_nothing(app: Flask, keys_dir: Path, auth: AuthActions,
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


def test_a_mismatched_key_never_signs_a_status_list(app: Flask, keys_dir: Path, runner: FlaskCliRunner,
                                                    people: dict[str, int]) -> None:
    credential_id = issue(app, people, 0)
    with app.app_context():
        before = {row.id: row.signed_document for row in db.session.scalars(select(StatusList))}
    replace_key_file(app, keys_dir, keystore.ED25519)
    result = runner.invoke(args=["credentials", "suspend", str(credential_id), "--reason", "Under review"])
    assert result.exit_code == 1
    assert "Error: signing key" in result.output
    assert "holds another key" in result.output
    with app.app_context():
        db.session.expire_all()
        assert {row.id: row.signed_document for row in db.session.scalars(select(StatusList))} == before
        assert db.session.get(Credential, credential_id).suspended_at is None


# --- routine rotation vs revocation after a compromise -----------------------------------------------------------


def kids(app: Flask) -> dict[str, str]:
    with app.app_context():
        return {a: keystore.current_key(db.session, a).kid for a in keystore.ALGORITHMS}


def published(client: FlaskClient) -> tuple[set[str], set[str]]:
    """The key ids in the DID document and in the JWKS, as served."""
    did = client.get("/.well-known/did.json").get_json()
    jwks = client.get("/.well-known/jwks.json").get_json()
    return ({m["id"].rsplit("#", 1)[1] for m in did["verificationMethod"]},
            {k["kid"].rsplit("#", 1)[-1] for k in jwks["keys"]})


def outbox(app: Flask) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(Path(app.config["ISSUER_OUTBOX_DIR"]).glob("*.eml"))]


def audit_events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)))


def test_rotation_keeps_old_keys_published(app: Flask, client: FlaskClient, runner: FlaskCliRunner,
                                           people: dict[str, int]) -> None:
    before = kids(app)
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    in_did, in_jwks = published(client)
    assert set(before.values()) <= in_did
    assert set(before.values()) <= in_jwks
    assert kids(app) != before


def test_revoke_withdraws_the_key_at_once_and_audits(app: Flask, client: FlaskClient, runner: FlaskCliRunner,
                                                     people: dict[str, int]) -> None:
    old = kids(app)[keystore.ED25519]
    assert old in published(client)[0]
    result = runner.invoke(args=["keys", "revoke", old, "--reason", "Laptop stolen"])
    assert result.exit_code == 0, result.output
    assert f"Revoked Ed25519 key {old}" in result.output
    in_did, in_jwks = published(client)
    assert old not in in_did
    assert old not in in_jwks
    new = kids(app)[keystore.ED25519]
    assert new != old
    assert new in in_did
    assert new in in_jwks
    assert f"New current Ed25519 key {new}" in result.output
    assert kids(app)[keystore.RSA] in in_jwks  # the other algorithm's key is untouched
    [event] = audit_events(app, "keys.revoked")
    assert event.subject_id == old
    assert event.details["reason"] == "Laptop stolen"
    with app.app_context():
        key = db.session.scalars(select(IssuerKey).filter_by(kid=old)).one()
        assert key.revoked_at is not None
        assert key.revocation_reason == "Laptop stolen"
    listed = runner.invoke(args=["keys", "list"]).output
    assert f"{old}\tEd25519\trevoked" in listed


def test_revoking_a_retired_key_makes_no_new_key(app: Flask, client: FlaskClient, runner: FlaskCliRunner,
                                                 people: dict[str, int]) -> None:
    old = kids(app)
    runner.invoke(args=["keys", "rotate", "--algorithm", "RSA"])
    current = kids(app)
    result = runner.invoke(args=["keys", "revoke", old[keystore.RSA], "--reason", "Backup leaked"])
    assert result.exit_code == 0, result.output
    assert "New current" not in result.output
    assert kids(app) == current
    assert old[keystore.RSA] not in published(client)[1]


@pytest.mark.parametrize("algorithm", [keystore.ED25519, keystore.RSA])
def test_issuance_goes_on_after_the_current_key_is_revoked(app: Flask, runner: FlaskCliRunner, people: dict[str, int],
                                                           algorithm: str) -> None:
    first = issue(app, people, 0)
    old = kids(app)[algorithm]
    assert runner.invoke(args=["keys", "revoke", old, "--reason", "Compromised"]).exit_code == 0
    second = issue(app, people, 1)
    with app.app_context():
        credential = db.session.get_one(Credential, second)
        signer = credential.key_id if algorithm == keystore.ED25519 else reissue.jwt_kid(credential.jwt)
        assert signer == kids(app)[algorithm] != old
        assert verifier.verify_stored(db.session, credential).verified
        assert db.session.get(Credential, first).state == "active"  # listed for re-issue, not revoked by this


def test_the_credentials_a_key_signed_are_listed_for_both_algorithms(app: Flask, runner: FlaskCliRunner,
                                                                     people: dict[str, int]) -> None:
    first, second = issue(app, people, 0), issue(app, people, 1)
    old = kids(app)
    runner.invoke(args=["keys", "rotate", "--algorithm", "Ed25519"])
    third = issue(app, people, 2)  # the new Ed25519 key, the same RSA key
    by_ed25519 = runner.invoke(args=["keys", "revoke", old[keystore.ED25519], "--reason", "Compromised"])
    assert by_ed25519.exit_code == 0, by_ed25519.output
    assert "Credentials signed by" in by_ed25519.output
    assert ": 2" in by_ed25519.output
    assert str(first) in by_ed25519.output
    assert str(second) in by_ed25519.output
    assert str(third) not in by_ed25519.output
    assert f"{first}\tther@example.test\t" in by_ed25519.output  # id, therapist, level
    by_rsa = runner.invoke(args=["keys", "revoke", old[keystore.RSA], "--reason", "Compromised"])
    assert by_rsa.exit_code == 0, by_rsa.output
    assert all(str(c) in by_rsa.output for c in (first, second, third))
    assert ": 3" in by_rsa.output
    with app.app_context():
        level = db.session.get(Credential, third).level.label
    assert f"{third}\tther@example.test\t{level}\tactive" in by_rsa.output


def test_revoking_the_status_list_key_re_signs_the_lists(app: Flask, runner: FlaskCliRunner,
                                                         people: dict[str, int]) -> None:
    issue(app, people, 0)
    old = kids(app)[keystore.ED25519]
    runner.invoke(args=["keys", "rotate"])
    other = issue(app, people, 1)  # signed by the new keys; its entries sit in the lists the old key signed
    with app.app_context():
        assert {reissue.list_kid(s) for s in db.session.scalars(select(StatusList))} == {old}
        versions = {s.id: s.version for s in db.session.scalars(select(StatusList))}
    result = runner.invoke(args=["keys", "revoke", old, "--reason", "Compromised"])
    assert result.exit_code == 0
    assert result.output.count("Re-signed") == 2
    with app.app_context():
        lists = list(db.session.scalars(select(StatusList)))
        assert {reissue.list_kid(s) for s in lists} == {kids(app)[keystore.ED25519]}
        assert all(s.version == versions[s.id] + 1 == s.signed_version for s in lists)  # a new ETag
        # the status of a credential the old key never signed still checks out
        assert verifier.verify_stored(db.session, db.session.get_one(Credential, other)).verified


@pytest.mark.parametrize("algorithm", [keystore.ED25519, keystore.RSA])
def test_reissue_makes_linked_copies_that_verify_and_revokes_the_old(app: Flask, runner: FlaskCliRunner,
                                                                     people: dict[str, int],
                                                                     algorithm: str) -> None:
    olds = [issue(app, people, 0), issue(app, people, 1)]
    kid = kids(app)[algorithm]
    assert runner.invoke(args=["keys", "revoke", kid, "--reason", "Compromised"]).exit_code == 0
    assert not [n for n in outbox(app) if "new copy" in n["Subject"]]
    result = runner.invoke(args=["credentials", "reissue", "--signed-by", kid])
    assert result.exit_code == 0, result.output
    assert "Re-issued 2 credential(s)" in result.output
    with app.app_context():
        for old_id in olds:
            old = db.session.get(Credential, old_id)
            [new] = db.session.scalars(select(Credential).filter_by(replaces_id=old_id)).all()
            assert f"{old_id} -> {new.id}" in result.output
            assert new.id != old.id
            assert new.superseded_at is None
            assert old.superseded_at is not None
            assert old.state == "revoked"
            assert old.revocation_reason == f"Re-issued after key {kid} was revoked"
            assert reissue.jwt_kid(new.jwt) != kid
            assert new.key_id != kid
            before, after = json.loads(old.document), json.loads(new.document)
            assert after["id"].endswith(f"/credentials/{new.id}")
            for field in ("credentialSubject", "evidence", "validFrom", "awardedDate", "issuer", "name"):
                assert after.get(field) == before.get(field), field
            assert after["credentialStatus"] != before["credentialStatus"]  # its own entries
            entries = db.session.scalars(select(StatusEntry).filter_by(credential_id=new.id)).all()
            assert sorted(e.purpose for e in entries) == ["revocation", "suspension"]
            assert verifier.verify_stored(db.session, new).verified
            assert verifier.verify_any(db.session, new.jwt).verified
            # the old one's revocation bit is set in the published list
            entry = db.session.scalars(select(StatusEntry).filter_by(credential_id=old_id, purpose="revocation")).one()
            status_list = db.session.get_one(StatusList, entry.list_id)
            assert Bitstring.from_bytes(status_list.bits).get(entry.index) is True
            assert reissue.list_kid(status_list) != kid
    notices = [n for n in outbox(app) if "new copy" in n["Subject"]]
    assert len(notices) == 2
    assert all(n["To"] == "ther@example.test" for n in notices)
    with app.app_context():
        for old_id in olds:
            new_id = db.session.scalars(select(Credential.id).filter_by(replaces_id=old_id)).one()
            assert sum(f"/credentials/{new_id}" in n.get_content() for n in notices) == 1
    assert len(audit_events(app, "credential.reissued")) == 2
    assert len(audit_events(app, "keys.reissued")) == 1


def test_reissue_is_idempotent(app: Flask, runner: FlaskCliRunner, people: dict[str, int]) -> None:
    issue(app, people, 0)
    kid = kids(app)[keystore.ED25519]
    runner.invoke(args=["keys", "revoke", kid, "--reason", "Compromised"])
    assert "Re-issued 1 credential(s)" in runner.invoke(args=["credentials", "reissue", "--signed-by", kid]).output
    sent = len(outbox(app))
    again = runner.invoke(args=["credentials", "reissue", "--signed-by", kid])
    assert again.exit_code == 0
    assert "Re-issued 0 credential(s)" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Credential)) == 2
    assert len(outbox(app)) == sent


def test_reissue_leaves_revoked_credentials_revoked_and_keeps_suspensions(app: Flask, runner: FlaskCliRunner,
                                                                          people: dict[str, int]) -> None:
    revoked, suspended = issue(app, people, 0), issue(app, people, 1)
    assert runner.invoke(args=["credentials", "revoke", str(revoked), "--reason", "Issued in error"]).exit_code == 0
    assert runner.invoke(args=["credentials", "suspend", str(suspended), "--reason", "Under review"]).exit_code == 0
    kid = kids(app)[keystore.ED25519]
    runner.invoke(args=["keys", "revoke", kid, "--reason", "Compromised"])
    result = runner.invoke(args=["credentials", "reissue", "--signed-by", kid])
    assert result.exit_code == 0
    assert "Re-issued 1 credential(s)" in result.output
    with app.app_context():
        assert db.session.scalars(select(Credential).filter_by(replaces_id=revoked)).first() is None
        assert db.session.get(Credential, revoked).revocation_reason == "Issued in error"
        new = db.session.scalars(select(Credential).filter_by(replaces_id=suspended)).one()
        assert new.state == "suspended"
        assert new.suspension_reason == "Under review"


def test_a_revoked_keys_old_credentials_no_longer_verify(app: Flask, runner: FlaskCliRunner,
                                                         people: dict[str, int]) -> None:
    """Relies on the verifier refusing what a revoked key signed (issuer.verification, the lead's part)."""
    credential_id = issue(app, people, 0)
    with app.app_context():
        credential = db.session.get(Credential, credential_id)
        document, token = json.loads(credential.document), credential.jwt
        assert verifier.verify_any(db.session, document).verified
    for algorithm in keystore.ALGORITHMS:
        runner.invoke(args=["keys", "revoke", kids(app)[algorithm], "--reason", "Compromised"])
    with app.app_context():
        assert not verifier.verify_any(db.session, document).verified
        assert not verifier.verify_any(db.session, token).verified


@pytest.mark.parametrize("args", [["keys", "revoke", "ed25519-19990101-deadbeef", "--reason", "Compromised"],
                                  ["credentials", "reissue", "--signed-by", "ed25519-19990101-deadbeef"]])
def test_an_unknown_kid_is_a_clear_error(app: Flask, runner: FlaskCliRunner, people: dict[str, int],
                                         args: list[str]) -> None:
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert "Error: no issuer key 'ed25519-19990101-deadbeef'" in result.output
    assert "Traceback" not in result.output
    assert audit_events(app, "keys.revoked") == []


def test_revoke_needs_a_reason_and_happens_once(app: Flask, runner: FlaskCliRunner, people: dict[str, int]) -> None:
    kid = kids(app)[keystore.ED25519]
    blank = runner.invoke(args=["keys", "revoke", kid, "--reason", "  "])
    assert blank.exit_code == 1
    assert "Error: give the reason" in blank.output
    assert kids(app)[keystore.ED25519] == kid
    assert runner.invoke(args=["keys", "revoke", kid, "--reason", "Compromised"]).exit_code == 0
    twice = runner.invoke(args=["keys", "revoke", kid, "--reason", "Compromised"])
    assert twice.exit_code == 1
    assert "already revoked" in twice.output


def test_reissue_refuses_a_key_that_is_not_revoked(app: Flask, runner: FlaskCliRunner, people: dict[str, int]) -> None:
    issue(app, people, 0)
    kid = kids(app)[keystore.ED25519]
    result = runner.invoke(args=["credentials", "reissue", "--signed-by", kid])
    assert result.exit_code == 1
    assert f"key {kid} is not revoked" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Credential)) == 1


def test_the_keys_page_shows_revoked_keys_and_revokes_with_a_reason(app: Flask, client: FlaskClient, auth: AuthActions,
                                                                      people: dict[str, int]) -> None:
    kid = kids(app)[keystore.RSA]
    auth.login("admin@example.test")
    unconfirmed = auth.post("/admin/keys/revoke", {"kid": kid, "reason": "Compromised"}, follow_redirects=True)
    assert unconfirmed.status_code == 400
    assert "confirm" in unconfirmed.get_data(as_text=True)
    no_reason = auth.post("/admin/keys/revoke", {"kid": kid, "reason": "", "confirm": "yes"})
    assert no_reason.status_code == 400
    assert kids(app)[keystore.RSA] == kid
    done = auth.post("/admin/keys/revoke", {"kid": kid, "reason": "HSM export leaked", "confirm": "yes"})
    assert done.status_code == 302
    page = client.get("/admin/keys").get_data(as_text=True)
    assert "revoked" in page
    assert "HSM export leaked" in page
    assert kids(app)[keystore.RSA] != kid
    [event] = audit_events(app, "keys.revoked")
    assert event.actor_id == people["admin"]


def test_revoking_a_retired_key_changes_a_cached_answer(app: Flask, runner: FlaskCliRunner,
                                                        people: dict[str, int]) -> None:
    credential_id = issue(app, people, 0)
    old = kids(app)[keystore.ED25519]
    runner.invoke(args=["keys", "rotate"])
    with app.app_context():
        document = json.loads(db.session.get(Credential, credential_id).document)
        assert verifier.verify_any(db.session, document).verified  # answered once, and cached
        assert verifier.verify_any(db.session, document).verified
    assert runner.invoke(args=["keys", "revoke", old, "--reason", "Compromised"]).exit_code == 0
    with app.app_context():
        assert not verifier.verify_any(db.session, document).verified


def test_revoke_counts_the_clrs_the_key_signed(app: Flask, runner: FlaskCliRunner, people: dict[str, int]) -> None:
    issue(app, people, 0)
    assert runner.invoke(args=["credentials", "clr", "ther@example.test"]).exit_code == 0
    kid = kids(app)[keystore.ED25519]
    runner.invoke(args=["keys", "rotate", "--algorithm", "Ed25519"])
    assert runner.invoke(args=["credentials", "clr", "ther@example.test"]).exit_code == 0  # the new key
    result = runner.invoke(args=["keys", "revoke", kid, "--reason", "Compromised"])
    assert result.exit_code == 0
    assert f"Other documents signed by {kid} (clr): 1;" in result.output
