"""The verifier's memory stays bounded after many distinct 1 MB credentials (issue 14, part 7).

``test_resources.py`` sends 1 MB of nested empty arrays; here each input is a genuine credential made 1 MB by a
long description, different every time, so none is answered from the cache and each is read in full. What the
worker keeps afterwards must not grow with the inputs. Measured with tracemalloc, not a clock.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient

from issuer.extensions import db
from issuer.models import Credential

SIZE = 1_000_000
REQUESTS = 40
#: What the worker may keep after all the requests: a kept input alone would be 1 MB of text plus its parse.
BOUND = 6 * 1024 * 1024


# The bound is the worker's, whatever the database: SQLite only, so the suite pays for it once.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_memory_stays_bounded_after_many_distinct_1_mb_credentials(
        app: Flask, client: FlaskClient, issued: uuid.UUID) -> None:
    with app.app_context():
        base = json.loads(db.session.get(Credential, issued).document)
    padding = SIZE - len(json.dumps({**base, "description": ""})) - 20

    def body(i: int) -> str:  # a changed credential of ours: it does not verify
        return json.dumps({**base, "description": f"{i} " + "x" * padding})

    assert 900_000 < len(body(REQUESTS).encode()) <= 1_048_576
    tracemalloc.start()
    try:
        for i in range(2):  # warm up: imports, contexts, schemas, the first answers
            client.post("/api/v1/verify", data=body(-1 - i), content_type="application/json")
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(REQUESTS):
            response = client.post("/api/v1/verify", data=body(i), content_type="application/json")
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            assert response.get_json()["verified"] is False
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < BOUND, f"{kept / 1e6:.1f} MB kept after {REQUESTS} distinct 1 MB credentials"
