"""Sharing and public verification: pages, baked badges, QR codes, LinkedIn, the verifier for everyone."""

from __future__ import annotations

import io
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from issuer.extensions import db
from issuer.learning import record_book
from issuer.models import Credential, Framework, User, utcnow
from tests.conftest import AuthActions
from tests.integration.helpers import issue, seed_people


def test_credential_page_shows_everything_an_employer_needs(client: FlaskClient, issued: uuid.UUID) -> None:
    response = client.get(f"/credentials/{issued}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in ("Music Therapists: Emerging", "Taylor Therapist", "Client needs assessment", "Verified",
                 "CC BY 4.0", "EBSCOed", f"/credentials/{issued}/qr.svg", f"/credentials/{issued}.png",
                 f"/credentials/{issued}.jwt", 'property="og:title"', 'name="twitter:card"'):
        assert text in html, text


def test_json_ld_by_accept_header_and_by_extension(client: FlaskClient, issued: uuid.UUID) -> None:
    by_accept = client.get(f"/credentials/{issued}", headers={"Accept": "application/ld+json"})
    by_ext = client.get(f"/credentials/{issued}.json")
    assert by_accept.get_data() == by_ext.get_data()
    assert json.loads(by_ext.get_data())["id"] == f"http://127.0.0.1:5000/credentials/{issued}"
    jwt = client.get(f"/credentials/{issued}.jwt")
    assert jwt.mimetype == "text/plain"
    assert jwt.get_data(as_text=True).count(".") == 2


def test_linkedin_add_to_profile_link_is_filled_in(client: FlaskClient, issued: uuid.UUID) -> None:
    html = client.get(f"/credentials/{issued}").get_data(as_text=True)
    link = re.search(r'href="(https://www.linkedin.com/profile/add\?[^"]+)"', html).group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)
    assert query["name"] == ["Music Therapists: Emerging"]
    assert query["certId"] == [str(issued)]
    assert query["certUrl"] == [f"http://127.0.0.1:5000/credentials/{issued}"]
    assert query["organizationName"]
    assert query["issueYear"]
    assert query["issueMonth"]


@pytest.mark.parametrize("ext", ["png", "svg"])
def test_baked_badge_round_trips_through_the_verifier(client: FlaskClient, issued: uuid.UUID, ext: str) -> None:
    baked = client.get(f"/credentials/{issued}.{ext}").get_data()
    if ext == "png":
        image = Image.open(io.BytesIO(baked))
        image.load()
        assert image.size[0] >= 128
    api = client.post("/api/v1/verify", data=baked, content_type=f"image/{'png' if ext == 'png' else 'svg+xml'}")
    assert api.status_code == 200, api.get_json()
    assert api.get_json()["verified"] is True, api.get_json()
    auth = AuthActions(client)
    page = client.post("/verify", data={"csrf_token": auth.csrf("/verify"),
                                        "file": (io.BytesIO(baked), f"badge.{ext}")},
                       content_type="multipart/form-data")
    assert page.status_code == 200
    assert "Verified" in page.get_data(as_text=True)


def test_one_changed_byte_in_a_baked_png_does_not_verify(client: FlaskClient, issued: uuid.UUID) -> None:
    import struct
    import zlib

    baked = bytearray(client.get(f"/credentials/{issued}.png").get_data())
    at = baked.index(b"Music Therapists: Emerging")
    baked[at] = ord("N")  # "Nusic": change the credential text
    # Fix the chunk's CRC so only the signature can catch it.
    start = baked.rfind(b"iTXt", 0, at) - 4
    length = struct.unpack(">I", baked[start:start + 4])[0]
    body = bytes(baked[start + 4:start + 8 + length])
    baked[start + 8 + length:start + 12 + length] = struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    result = client.post("/api/v1/verify", data=bytes(baked), content_type="image/png").get_json()
    assert result["verified"] is False
    assert any(c["check"] == "issuer" and c["ok"] is False and c["message"].startswith("Not issued by this service")
               for c in result["checks"])


def test_qr_code_decodes_to_the_verification_url(client: FlaskClient, issued: uuid.UUID) -> None:
    import zxingcpp

    png = client.get(f"/credentials/{issued}/qr.png").get_data()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [d.text for d in decoded] == [f"http://127.0.0.1:5000/verify/{issued}"]
    svg = client.get(f"/credentials/{issued}/qr.svg")
    assert svg.mimetype == "image/svg+xml"


def test_certificate_carries_the_qr_code(client: FlaskClient, issued: uuid.UUID) -> None:
    html = client.get(f"/credentials/{issued}/certificate").get_data(as_text=True)
    assert "<svg" in html
    assert "Certificate of competency" in html
    assert "Taylor Therapist" in html
    assert f"/verify/{issued}" in html


def test_pages_escape_everything_people_type(app: Flask, client: FlaskClient) -> None:
    people = seed_people(app)
    evil = "<script>alert(1)</script>"
    with app.test_request_context():
        ther = db.session.get_one(User, people["therapist"])
        ther.name = f"Taylor {evil}"
        sup = db.session.get_one(User, people["supervisor"])
        statement = db.session.scalars(select(Framework)).one().levels[0].statements[0]
        record_book.mark_statement(db.session, supervisor=sup, therapist=ther, statement=statement,
                               observed_on=utcnow().date(), note=f"note {evil}",
                               evidence_url="https://example.org/?q=1&x='y'")  # a URL cannot hold <, >
        ther.handle, ther.public_profile = "taylor", True
        db.session.commit()
    credential_id = issue(app, people, 0)
    auth = AuthActions(client)
    auth.login("sup@example.test")
    for path in (f"/credentials/{credential_id}", f"/verify/{credential_id}",
                 f"/credentials/{credential_id}/certificate", f"/supervisor/therapists/{people['therapist']}",
                 "/supervisor/", "/u/taylor"):
        html = client.get(path).get_data(as_text=True)
        assert evil not in html, path
        assert "&lt;script&gt;" in html, path


def test_verify_form_reports_unreadable_input_clearly(client: FlaskClient, app: Flask) -> None:
    seed_people(app)
    auth = AuthActions(client)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"credential": "{not json"}, 400, "Not verified"),
        ({"file": (io.BytesIO(b"\x89PNG\r\n\x1a\ntruncated"), "x.png")}, 400, "no readable credential"),
        ({"file": (io.BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), "x.svg")},
         400, "no readable credential"),
        ({"credential": ""}, 400, "Paste a credential"),
    ]
    for data, status, text in cases:
        response = client.post("/verify", data={**data, "csrf_token": auth.csrf("/verify")},
                               content_type="multipart/form-data")
        body = response.get_data(as_text=True)
        assert response.status_code == status, (data, body[:300])
        assert text in body
        assert "Traceback" not in body


def test_security_headers_on_html_pages(client: FlaskClient, issued: uuid.UUID) -> None:
    for path in ("/", f"/credentials/{issued}", "/verify", "/login", f"/verify/{issued}"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"]


def test_public_profile_is_opt_in(app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    with app.app_context():
        credential = db.session.get(Credential, issued)
        credential.therapist.handle = "taylor"
        db.session.commit()
    assert client.get("/u/taylor").status_code == 404
    with app.app_context():
        db.session.get(Credential, issued).therapist.public_profile = True
        db.session.commit()
    page = client.get("/u/taylor")
    assert page.status_code == 200
    assert f"/credentials/{issued}" in page.get_data(as_text=True)
