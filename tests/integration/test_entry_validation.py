"""Bad input is refused where it enters, with a clear 400 or 409 naming the problem, and nothing written: never
accepted first and then a 500 at every later completion (issue 18, item 6)."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from issuer.accounts import directory
from issuer.errors import InvalidInput
from issuer.extensions import db
from issuer.frameworks.catalogue import parse_framework_bytes
from issuer.issuance import completion, revocation
from issuer.learning import record_book
from issuer.models import Credential, Framework, Invitation, StatementMark, User, utcnow
from issuer.protocols import obapi
from tests.conftest import SEED_FRAMEWORK, AuthActions
from tests.integration.helpers import race


def seed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SEED_FRAMEWORK.read_text())
    return data


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def upload(client: FlaskClient, auth: AuthActions, data: dict[str, Any] | bytes, name: str = "fw.json") -> Any:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post("/admin/frameworks", data={"csrf_token": auth.csrf("/admin/frameworks"),
                                                  "file": (io.BytesIO(raw), name)}, content_type="multipart/form-data")


@pytest.fixture
def admin(client: FlaskClient, auth: AuthActions, people: dict[str, int]) -> AuthActions:
    assert auth.login("admin@example.test").status_code == 302
    return auth


def refused_upload(app: Flask, client: FlaskClient, auth: AuthActions, data: dict[str, Any] | bytes,
                   status: int = 400) -> str:
    before = count(app, Framework)
    response = upload(client, auth, data)
    text: str = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert "Traceback" not in text
    assert count(app, Framework) == before, "nothing of a refused framework is written"
    return text


# --- framework files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("link", ["javascript:alert(1)", "javascript://%0aalert(1)", "data:text/html,x",
                                  "ftp://example.org/x", "https://", "skillscrosswalk.com", "https://a b.example/"])
def test_a_crosswalk_that_is_not_an_http_address_is_refused(
        app: Flask, client: FlaskClient, admin: AuthActions, link: str) -> None:
    data = seed()
    data["framework"]["version"] = "v.99.01"
    data["sources"]["crosswalk"] = link
    text = refused_upload(app, client, admin, data)
    assert "sources.crosswalk: must be an http or https address" in text


def test_any_source_holding_an_address_must_be_http(app: Flask, client: FlaskClient, admin: AuthActions) -> None:
    data = seed()
    data["framework"]["version"] = "v.99.01"
    data["sources"]["generator"] = "javascript://%0aalert(1)"
    assert "sources.generator: must be an http or https address" in refused_upload(app, client, admin, data)


def test_an_https_crosswalk_is_imported(app: Flask, client: FlaskClient, admin: AuthActions) -> None:
    data = seed()
    data["framework"]["version"] = "v.99.01"
    data["sources"]["crosswalk"] = "https://example.org/crosswalk?from=onet"
    assert upload(client, admin, data).status_code == 302
    assert count(app, Framework) == 2


@pytest.mark.parametrize(("place", "char"), [
    (("framework", "levels", "emerging", "statements", 0), "\u001b"),
    (("framework", "levels", "emerging", "label"), "\u0007"),
    (("occupation", "title"), "\u0000"),
    (("framework", "description"), "\u0085"),
    (("attribution",), "\u007f"),
])
def test_a_control_character_is_refused_at_import_naming_the_field(
        app: Flask, client: FlaskClient, admin: AuthActions, place: tuple[Any, ...], char: str) -> None:
    data = seed()
    data["framework"]["version"] = "v.99.01"
    data["framework"]["levels"] = {"emerging": data["framework"]["levels"]["emerging"]}
    parent = data
    for step in place[:-1]:
        parent = parent[step]
    parent[place[-1]] = "Observed " + char + " text"
    text = refused_upload(app, client, admin, data)
    where = ".".join(str(step) for step in place).replace(".statements.0", ".statements[0]")
    assert f"{where}: contains the control character U+{ord(char):04X}" in text


def test_a_control_character_in_a_key_is_refused() -> None:
    data = seed()
    data["occupation"]["bad\u001bkey"] = "x"
    with pytest.raises(InvalidInput, match="U\\+001B"):
        parse_framework_bytes(json.dumps(data).encode(), source="fw.json")


def test_tabs_and_line_breaks_in_statements_are_kept() -> None:
    data = seed()
    data["framework"]["levels"]["emerging"]["statements"][0] = "Line one\nline two\tand a tab"
    parsed = parse_framework_bytes(json.dumps(data).encode(), source="fw.json")
    assert parsed.levels[0].statements[0].text == "Line one\nline two\tand a tab"


def test_a_slug_collision_is_409_with_a_message(app: Flask, client: FlaskClient, admin: AuthActions) -> None:
    data = seed()
    data["occupation"]["soc"] = "29-1129.01"  # another SOC code, the same title and version: the same address
    text = refused_upload(app, client, admin, data, status=409)
    assert "music-therapists-v-26-05" in text
    assert "already used by framework 29-1129.02" in text


def test_a_slug_collision_from_the_cli_is_a_message(app: Flask, tmp_path: Any, people: dict[str, int]) -> None:
    data = seed()
    data["occupation"]["soc"] = "29-1129.01"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(data))
    result = app.test_cli_runner().invoke(args=["frameworks", "import", str(path)])
    assert result.exit_code != 0
    assert "already used by framework 29-1129.02" in result.output
    assert "Traceback" not in result.output
    assert count(app, Framework) == 1


def test_deeply_nested_framework_json_is_400(app: Flask, client: FlaskClient, admin: AuthActions) -> None:
    deep = b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert "nested deeper" in refused_upload(app, client, admin, deep)


@pytest.mark.parametrize(("place", "size"), [
    (("occupation", "title"), 301), (("framework", "version"), 51),
    (("framework", "levels", "emerging", "label"), 101), (("exportedAt",), 41),
])
def test_fields_longer_than_their_columns_are_400(
        app: Flask, client: FlaskClient, admin: AuthActions, place: tuple[str, ...], size: int) -> None:
    data = seed()
    parent = data
    for step in place[:-1]:
        parent = parent[step]
    parent[place[-1]] = "x" * size
    assert f"{'.'.join(place)}: is longer than {size - 1} characters" in refused_upload(app, client, admin, data)


def test_a_level_key_longer_than_its_column_is_400(app: Flask, client: FlaskClient, admin: AuthActions) -> None:
    data = seed()
    data["framework"]["version"] = "v.99.01"
    levels = data["framework"]["levels"]
    levels["k" * 51] = levels.pop("emerging")
    assert "at most 50 characters" in refused_upload(app, client, admin, data)


# --- evidence URLs ------------------------------------------------------------------------------------------------


BAD_URLS = [
    "https://example.org/a b", "https://example.org/a\nb", "https://example.org/\u001b", "javascript:alert(1)",
    "ftp://example.org/file", "https://", "https:example.org", "https://exa mple.org/", "https://example.org/%zz",
    "https://example.org/<script>", 'https://example.org/"x"', "https://example.org:99999/", "https://example.org/é",
    "https://example.org/" + "a" * 2000,
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_evidence_url_is_refused_by_the_form(
        app: Flask, client: FlaskClient, auth: AuthActions, people: dict[str, int], url: str) -> None:
    with app.app_context():
        statement = db.session.scalars(select(Framework)).one().levels[0].statements[0].id
    auth.login("sup@example.test")
    response = auth.post(f"/supervisor/therapists/{people['therapist']}/statements/{statement}/mark",
                         data={"observed_on": utcnow().date().isoformat(), "evidence_url": url})
    text = response.get_data(as_text=True)
    assert response.status_code == 400, text
    assert "evidence" in text.lower()
    assert count(app, StatementMark) == 0


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_evidence_url_is_refused_by_the_service(app: Flask, people: dict[str, int], url: str) -> None:
    with app.test_request_context():
        statement = db.session.scalars(select(Framework)).one().levels[0].statements[0]
        with pytest.raises(InvalidInput, match="evidence URL"):
            record_book.mark_statement(
                db.session, supervisor=db.session.get_one(User, people["supervisor"]),
                therapist=db.session.get_one(User, people["therapist"]), statement=statement,
                observed_on=utcnow().date(), evidence_url=url)


GOOD_URLS = ["https://example.org/evidence/1", "http://example.org:8080/a/b?c=d&e=%20f#g", "https://[2001:db8::1]/x",
             "HTTPS://EXAMPLE.ORG/CASE", "https://example.org/a(b)~c;d,e=f!g$h'i*j+k"]


def test_every_accepted_evidence_url_can_be_issued(app: Flask, people: dict[str, int]) -> None:
    """What the entry check lets through, completion signs: no accepted URL can answer 500 later."""
    with app.test_request_context():
        supervisor = db.session.get_one(User, people["supervisor"])
        therapist = db.session.get_one(User, people["therapist"])
        level = db.session.scalars(select(Framework)).one().levels[0]
        for n, statement in enumerate(level.statements):
            record_book.mark_statement(db.session, supervisor=supervisor, therapist=therapist, statement=statement,
                                       observed_on=utcnow().date(), note="Observed.",
                                       evidence_url=GOOD_URLS[n % len(GOOD_URLS)])
        credential = completion.complete_level(db.session, supervisor=supervisor, therapist=therapist, level=level)
        db.session.commit()
        ids = {item.get("id") for item in json.loads(credential.document)["credentialSubject"]["achievement"]
               .get("evidence", json.loads(credential.document).get("evidence", []))}
    assert set(GOOD_URLS) <= ids


# --- names and notes ----------------------------------------------------------------------------------------------


def test_a_control_character_in_a_note_is_refused(app: Flask, people: dict[str, int]) -> None:
    with app.test_request_context():
        statement = db.session.scalars(select(Framework)).one().levels[0].statements[0]
        with pytest.raises(InvalidInput, match="the note contains the control character U\\+001B"):
            record_book.mark_statement(
                db.session, supervisor=db.session.get_one(User, people["supervisor"]),
                therapist=db.session.get_one(User, people["therapist"]), statement=statement,
                observed_on=utcnow().date(), note="seen \u001b[31m")


def test_a_control_character_in_an_undo_reason_is_refused(app: Flask, people: dict[str, int]) -> None:
    with app.test_request_context():
        supervisor = db.session.get_one(User, people["supervisor"])
        therapist = db.session.get_one(User, people["therapist"])
        statement = db.session.scalars(select(Framework)).one().levels[0].statements[0]
        mark = record_book.mark_statement(db.session, supervisor=supervisor, therapist=therapist,
                                          statement=statement, observed_on=utcnow().date())
        with pytest.raises(InvalidInput, match="the reason contains the control character U\\+0008"):
            record_book.undo_mark(db.session, supervisor=supervisor, therapist=therapist, mark_id=mark.id,
                                  reason="typo\b")


def test_a_control_character_in_a_revocation_reason_is_refused(
        app: Flask, people: dict[str, int], issued: Any) -> None:
    with app.test_request_context():
        credential = db.session.get_one(Credential, issued)
        with pytest.raises(InvalidInput, match="the reason contains the control character U\\+001B"):
            revocation.change(db.session, credential, action="revoke", reason="x\u001b",
                              actor=db.session.get_one(User, people["admin"]))
        assert credential.revoked_at is None


@pytest.mark.parametrize("name", ["Sam\u001bSupervisor", "Line\nbreak", "Nul\u0000", "C1\u0085control", "x" * 201])
def test_an_account_name_with_a_control_character_is_refused(
        app: Flask, client: FlaskClient, admin: AuthActions, name: str) -> None:
    before = count(app, User)
    response = admin.post("/admin/invitations", data={"email": "new@example.test", "name": name, "role": "therapist"})
    text = response.get_data(as_text=True)
    assert response.status_code == 400, text
    assert "name" in text
    assert count(app, User) == before
    assert count(app, Invitation) == 0


def test_an_account_name_is_checked_by_the_service(app: Flask) -> None:
    with app.app_context(), pytest.raises(InvalidInput, match="U\\+001B"):
        directory.create_user(db.session, email="n@example.test", name="A\u001bB", role="therapist",
                              password="a-long-password-1")


def test_a_profile_name_with_a_control_character_is_refused(app: Flask, people: dict[str, int]) -> None:
    with app.test_request_context():
        user = db.session.get_one(User, people["therapist"])
        before = copy.copy(user.name)
        with pytest.raises(obapi.ObApiError):
            obapi.update_profile(user, {"type": ["Profile"], "name": "Evil\u001b[2J"})
        assert user.name == before


# --- concurrent framework imports ---------------------------------------------------------------------------------


def test_concurrent_colliding_imports_give_one_framework_and_409s(racing_app: Flask) -> None:
    """Another SOC code with the same title and version, uploaded by several admins at once: one is imported, every
    other answer is a 409 with a message; none is a 5xx (an IntegrityError at the flush included)."""
    count_ = 6
    bodies = []
    for n in range(count_):
        data = seed()
        data["occupation"]["soc"] = f"29-1129.{n + 10}"
        data["framework"]["version"] = "v.77.01"  # not the seed's: the racers collide with each other only
        bodies.append(json.dumps(data).encode())
    clients = []
    for _ in range(count_):
        client = racing_app.test_client()
        auth = AuthActions(client)
        assert auth.login("admin@example.test").status_code == 302
        clients.append((client, auth, auth.csrf("/admin/frameworks")))

    def attempt(n: int) -> Any:
        client, _auth, token = clients[n]
        return client.post("/admin/frameworks", data={"csrf_token": token, "file": (io.BytesIO(bodies[n]), "f.json")},
                           content_type="multipart/form-data")

    outcomes = race(count_, attempt)
    statuses = sorted(outcome.status_code for outcome in outcomes)
    assert statuses == [302] + [409] * (count_ - 1), [o.get_data(as_text=True)[:300] for o in outcomes]
    assert count(racing_app, Framework) == 2  # the seed's and the one that won
