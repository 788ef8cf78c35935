"""Memory a verifier keeps: distinct large inputs cannot grow a worker beyond its caches' byte bounds.

Issue 14.7: forty distinct ~1 MB bodies to ``POST /api/v1/verify`` once grew a worker by ~900 MB, because each
cached answer kept the parsed input. Answers now hold only small results, and every cache counts bytes.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer.extensions import db
from issuer.models import Credential
from issuer.platform.cache import caches_of
from issuer.verification import verifier

ANSWER_BYTES = 256 * 1024
REPLAY_BYTES = 256 * 1024
#: Inputs sent after the warm-up; each would keep ~20 MB of parsed lists if an answer held its input.
INPUTS = 8
#: Allowed growth of traced memory over those inputs: the bounds above plus room for allocator noise.
GROWTH_BOUND = 12 * 1024 * 1024


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "ISSUER_CACHE_LIMITS": {"verification.answers": (1024, ANSWER_BYTES),
                                                  "platform.replay": (1024, REPLAY_BYTES)}}


def hostile_body(n: int) -> bytes:
    """``{"n":n,"a":[[],[],…]}`` just under 1 MB: cheap to send, ~330,000 objects once parsed."""
    body = b'{"n":%d,"a":[' % n + b",".join([b"[]"] * 330_000) + b"]}"
    assert len(body) < 1_000_000  # under the verifier's input limit: it is parsed
    return body


def test_distinct_large_inputs_keep_memory_within_the_cache_bounds(app: Flask, client: FlaskClient) -> None:
    for n in range(2):  # warm up: first requests import and build what every later one shares
        client.post("/api/v1/verify", data=hostile_body(n), content_type="application/json")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(2, 2 + INPUTS):
            response = client.post("/api/v1/verify", data=hostile_body(n), content_type="application/json")
            assert response.status_code in (200, 400)
            assert response.get_json()["verified"] is False
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert growth < GROWTH_BOUND, f"{growth:,} bytes kept after {INPUTS} distinct 1 MB inputs"
    caches = caches_of(app)
    answers = caches["verification.answers"]
    assert len(answers) == 2 + INPUTS  # every answer was kept ...
    assert answers.bytes <= ANSWER_BYTES
    assert answers.bytes < 16 * 1024 * (2 + INPUTS)  # ... and each is small
    assert caches["platform.replay"].bytes <= REPLAY_BYTES


def test_an_answer_holds_no_document_and_the_pages_still_show_its_name(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    with app.app_context():
        document = db.session.get(Credential, issued).document
        answer = verifier.answer(db.session, document)
        name = json.loads(document)["name"]
    assert answer.verification.verified
    assert answer.verification.name == name
    assert answer.approximate_size < len(document)  # the 16 KB document is not in it
    assert not any(isinstance(value, dict) for value in vars(answer.verification).values())
    page = client.post("/api/v1/verify", data=document, content_type="application/json")
    assert page.get_json()["verified"] is True
    assert name in client.get(f"/verify/{issued}").get_data(as_text=True)


def test_a_long_name_is_shown_cut(app: Flask) -> None:
    with app.app_context():
        found = verifier.verify_any(db.session, json.dumps({"name": "N" * 5000, "type": ["VerifiableCredential"]}))
    assert found.name is not None
    assert len(found.name) <= 200
    assert found.name.startswith("NNN")
