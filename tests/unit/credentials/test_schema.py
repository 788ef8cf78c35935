"""Offline 1EdTech schema validation, with jsonschema-rs and with the pure-Python fallback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import issuer.credentials.schema as schema_module
from credentials_support import OB3_LDP, VALIDATOR, load_json
from issuer.credentials import validate


@pytest.fixture(params=["rust", "python"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setattr(schema_module, "jsonschema_rs", None)
    elif schema_module.jsonschema_rs is None:
        pytest.skip("jsonschema-rs is not installed")
    return str(request.param)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (VALIDATOR / "ob30" / "simple.json", "achievementcredential"),
        (VALIDATOR / "ob30" / "complete.json", "achievementcredential"),
        (OB3_LDP / "ob3-signed.json", "achievementcredential"),
        (OB3_LDP / "clr2-signed.json", "clrcredential"),
        (VALIDATOR / "clr20" / "simple.json", "clrcredential"),
    ],
)
def test_valid_samples_conform(engine: str, path: Any, name: str) -> None:
    assert validate(load_json(path), name) == []


@pytest.mark.parametrize(
    ("sample", "path"),
    [
        ("simple-err-type.json", "$.type"),
        ("simple-err-issuer.json", "$: "),
        ("simple-err-credential-subject-type.json", "$.credentialSubject.type"),
    ],
)
def test_invalid_samples_report_the_path(engine: str, sample: str, path: str) -> None:
    errors = validate(load_json(VALIDATOR / "ob30" / sample))
    assert any(error.startswith(path) for error in errors), errors


def test_our_credential_conforms_and_a_broken_one_names_the_field(
    engine: str, make_credential: Callable[..., dict[str, Any]]
) -> None:
    credential = make_credential()
    assert validate(credential) == []
    credential["credentialSubject"]["identifier"][0]["hashed"] = "yes"
    errors = validate(credential)
    assert errors
    assert errors[0].startswith("$.credentialSubject.identifier[0].hashed"), errors


def test_profile_schema_and_unknown_schema_name(engine: str) -> None:
    assert validate({"id": "did:web:example.org", "type": ["Profile"], "name": "X"}, "profile") == []
    assert validate({"type": ["Profile"]}, "profile")
    with pytest.raises(KeyError, match="unknown schema"):
        validate({}, "nope")
