"""One rule for text encodings at every verify endpoint (the API, the web form, the VC-API): a UTF-8 byte order mark
is skipped, UTF-16 (and UTF-32) text is refused with the same message, whether JSON, a JWT or a baked SVG."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer import badges
from issuer.extensions import db
from issuer.models import Credential
from issuer.verification.inputs import UTF16_REFUSED
from tests.conftest import AuthActions

BOM = b"\xef\xbb\xbf"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'


@dataclass(frozen=True)
class Answer:
    status: int
    verified: bool
    text: str


@dataclass(frozen=True)
class Issued:
    json: str
    jwt: str
    svg: str


@pytest.fixture
def credential(app: Flask, issued: uuid.UUID) -> Issued:
    with app.app_context():
        stored = db.session.get_one(Credential, issued)
        text, token = stored.document, stored.jwt
    return Issued(text, token, badges.bake_svg(SVG, text, jws=False))


def via_api(client: FlaskClient, raw: bytes, name: str) -> Answer:
    response = client.post("/api/v1/verify", data=raw, content_type="application/octet-stream")
    body = response.get_json() or {}
    return Answer(response.status_code, body.get("verified") is True, json.dumps(body))


def via_form(client: FlaskClient, raw: bytes, name: str) -> Answer:
    auth = AuthActions(client)
    response = client.post("/verify", data={"csrf_token": auth.csrf("/verify"), "file": (io.BytesIO(raw), name)},
                           content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    verified = response.status_code == 200 and "✓ Verified" in text  # the result card's verdict
    return Answer(response.status_code, verified, text)


def via_vcapi(client: FlaskClient, raw: bytes, name: str) -> Answer:
    """The VC-API takes JSON only: the credential travels inside the envelope, whose bytes get the encoding."""
    response = client.post("/credentials/verify", data=raw, content_type="application/json")
    body = response.get_json() or {}
    return Answer(response.status_code, response.status_code == 200 and not body.get("errors"), json.dumps(body))


def envelope(document: str, encode: Callable[[str], bytes]) -> bytes:
    return encode(json.dumps({"verifiableCredential": json.loads(document)}))


ENDPOINTS = {"api": via_api, "form": via_form}


def utf8(text: str) -> bytes:
    return text.encode()


def bom(text: str) -> bytes:
    return BOM + text.encode()


def utf16(text: str) -> bytes:
    return text.encode("utf-16")  # with its byte order mark


def utf16_be_no_bom(text: str) -> bytes:
    return text.encode("utf-16-be")


def utf16_le_no_bom(text: str) -> bytes:
    return text.encode("utf-16-le")


def utf32(text: str) -> bytes:
    return text.encode("utf-32")


def svg_declared_utf16(svg: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-16"?>' + svg).encode("utf-16")


ACCEPTED = [utf8, bom]
REFUSED = [utf16, utf16_be_no_bom, utf16_le_no_bom, utf32]


def inputs(credential: Issued, kind: str) -> tuple[str, str]:
    return {"json": (credential.json, "c.json"), "jwt": (credential.jwt, "c.jwt"),
            "svg": (credential.svg, "c.svg")}[kind]


@pytest.mark.parametrize("kind", ["json", "jwt", "svg"])
@pytest.mark.parametrize("encode", ACCEPTED, ids=lambda f: f.__name__)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_utf8_with_or_without_a_bom_verifies(client: FlaskClient, credential: Issued, kind: str,
                                             encode: Callable[[str], bytes], endpoint: str) -> None:
    text, name = inputs(credential, kind)
    answer = ENDPOINTS[endpoint](client, encode(text), name)
    assert answer.status == 200, answer.text
    assert answer.verified


@pytest.mark.parametrize("kind", ["json", "jwt", "svg"])
@pytest.mark.parametrize("encode", REFUSED, ids=lambda f: f.__name__)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_utf16_and_utf32_are_refused_with_one_message(client: FlaskClient, credential: Issued, kind: str,
                                                      encode: Callable[[str], bytes], endpoint: str) -> None:
    text, name = inputs(credential, kind)
    answer = ENDPOINTS[endpoint](client, encode(text), name)
    assert answer.status == 400, answer.text
    assert not answer.verified
    assert UTF16_REFUSED in answer.text


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_an_svg_declaring_utf16_is_refused_like_any_utf16(client: FlaskClient, credential: Issued,
                                                          endpoint: str) -> None:
    answer = ENDPOINTS[endpoint](client, svg_declared_utf16(credential.svg), "c.svg")
    assert answer.status == 400, answer.text
    assert UTF16_REFUSED in answer.text


@pytest.mark.parametrize("encode", ACCEPTED, ids=lambda f: f.__name__)
def test_the_vcapi_reads_utf8_with_or_without_a_bom(client: FlaskClient, credential: Issued,
                                                    encode: Callable[[str], bytes]) -> None:
    answer = via_vcapi(client, envelope(credential.json, encode), "")
    assert answer.status == 200, answer.text
    assert answer.verified


@pytest.mark.parametrize("encode", REFUSED, ids=lambda f: f.__name__)
def test_the_vcapi_refuses_utf16_with_the_same_message(client: FlaskClient, credential: Issued,
                                                       encode: Callable[[str], bytes]) -> None:
    answer = via_vcapi(client, envelope(credential.json, encode), "")
    assert answer.status == 400, answer.text
    assert UTF16_REFUSED in answer.text


def test_pasted_text_with_a_bom_verifies(client: FlaskClient, credential: Issued) -> None:
    auth = AuthActions(client)
    response = client.post("/verify", data={"csrf_token": auth.csrf("/verify"),
                                            "credential": "\ufeff" + credential.json})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_png_is_not_taken_for_text(client: FlaskClient, credential: Issued) -> None:
    png = badges.bake_png(badges.badge_png(level_name="x", level_number=1, framework_name="y", size=64),
                          credential.json)
    answer: Any = via_api(client, png, "c.png")
    assert answer.status == 200, answer.text
    assert answer.verified
