"""The public verifier's rate limit: per client address, counted in the database so every worker shares it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask

from issuer import create_app
from issuer.platform import ratelimit
from issuer.platform.database import dispose
from issuer.platform.ratelimit import Limit

BODY = b'{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"]}'


def body(n: int) -> bytes:
    """Distinct inputs: an input seen before may be answered again from memory (``issuer.platform.replay``) without the
    view, and the limit is on the verifications actually run."""
    return BODY.replace(b'"type"', b'"name": "%d", "type"' % n)


def an_address() -> str:
    """A client address no other test uses, so counters committed by one test never meet another's."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


@pytest.mark.parametrize(("text", "limit"), [
    ("60/minute", Limit(60, 60)), ("10/30 seconds", Limit(10, 30)), ("1000 / hour", Limit(1000, 3600)),
    ("5/day", Limit(5, 86400)), ("0", None), ("", None), ("off", None),
])
def test_limits_are_read_from_plain_text(text: str, limit: Limit | None) -> None:
    assert Limit.parse(text) == limit


@pytest.mark.parametrize("text", ["60", "sixty/minute", "0/minute", "5/0 minutes", "5/fortnight"])
def test_an_unreadable_limit_is_refused_with_a_message(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        Limit.parse(text)


def test_the_api_verifier_answers_429_with_retry_after_past_the_limit(app: Flask) -> None:
    app.config["ISSUER_VERIFY_RATE_LIMIT"] = "3/minute"
    client, address = app.test_client(), an_address()
    statuses = [client.post("/api/v1/verify", data=body(n), content_type="application/json",
                            environ_base={"REMOTE_ADDR": address}).status_code for n in range(3)]
    assert statuses == [200, 200, 200]
    refused = client.post("/api/v1/verify", data=body(3), content_type="application/json",
                          environ_base={"REMOTE_ADDR": address})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["error"] == "too_many_requests"
    assert "at most 3 every minute" in refused.get_json()["message"]
    other = client.post("/api/v1/verify", data=body(4), content_type="application/json",
                        environ_base={"REMOTE_ADDR": an_address()})
    assert other.status_code == 200, "another client address has its own count"


def test_the_vc_api_and_the_verification_page_share_the_verifiers_limit(app: Flask, auth: Any) -> None:
    app.config["ISSUER_VERIFY_RATE_LIMIT"] = "2/minute"
    address = an_address()
    auth.client.environ_base["REMOTE_ADDR"] = address
    first = auth.client.post("/credentials/verify", json={"verifiableCredential": {"type": ["VerifiableCredential"]}})
    assert first.status_code == 400  # read, not verified
    second = auth.post("/verify", {"credential": body(1).decode()})
    assert second.status_code == 200
    third = auth.post("/verify", {"credential": body(2).decode()})
    assert third.status_code == 429
    assert "Retry-After" in third.headers
    assert "Too many requests from your address" in third.get_data(as_text=True)


def test_every_worker_counts_against_one_limit(app: Flask, app_config: dict[str, Any]) -> None:
    """Two apps on one database stand for two gunicorn workers: their counts add up."""
    other_worker = create_app(app_config)
    try:
        address, limit = an_address(), Limit(3, 60)
        with app.app_context():
            assert [ratelimit.hit("verify", address, limit, now=1_000_000.0) for _ in range(2)] == [None, None]
        with other_worker.app_context():
            assert ratelimit.hit("verify", address, limit, now=1_000_001.0) is None
            assert ratelimit.hit("verify", address, limit, now=1_000_002.0) == 18  # the window ends at 1,000,020
        with app.app_context():
            assert ratelimit.hit("verify", address, limit, now=1_000_020.0) is None, "a new window starts afresh"
    finally:
        dispose(other_worker)
