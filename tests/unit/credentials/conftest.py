"""Fixtures for the credential core: spec vectors, the published 1EdTech test key, a level credential."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from credentials_support import BASE_URL, EXAMPLES_CONTEXT, EXAMPLES_V2, ISSUER_DID, NOW, OB3_LDP, SEED, load_json
from issuer.credentials import (
    KeyResolver,
    OfflineDocumentLoader,
    build_achievement_credential,
    did_document,
    generate_ed25519,
    generate_rsa,
)


@pytest.fixture(scope="session")
def examples_loader() -> OfflineDocumentLoader:
    """A loader that also serves the W3C examples context (needed only by the W3C vectors)."""
    return OfflineDocumentLoader({EXAMPLES_V2: load_json(EXAMPLES_CONTEXT)})


@pytest.fixture(scope="session")
def published_key() -> ed25519.Ed25519PrivateKey:
    """The OB 3.0 Implementation Guide test key (signs the 1EdTech samples). Test only."""
    data = load_json(OB3_LDP / "ob3-key-and-hashes.json")
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(data["privateKeyHex_seed_plus_public"])[:32])


@pytest.fixture(scope="session")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return generate_ed25519()


@pytest.fixture(scope="session")
def rsa_key() -> Any:
    return generate_rsa(3072)


@pytest.fixture(scope="session")
def our_did_document(ed_key: Any, rsa_key: Any) -> dict[str, Any]:
    return did_document(ISSUER_DID, {"ed-1": ed_key.public_key(), "rsa-1": rsa_key.public_key()})


@pytest.fixture(scope="session")
def resolver(our_did_document: dict[str, Any]) -> KeyResolver:
    return KeyResolver([our_did_document])


@pytest.fixture(scope="session")
def issuer_profile() -> dict[str, Any]:
    return {"id": ISSUER_DID, "type": ["Profile"], "name": "Example Music Therapy Institute", "url": BASE_URL + "/"}


@pytest.fixture(scope="session")
def level_achievement(issuer_profile: dict[str, Any]) -> dict[str, Any]:
    """An Achievement for one framework level with its ten statements (as issuer/achievements.py shapes it)."""
    seed = load_json(SEED)
    occupation, framework = seed["occupation"], seed["framework"]
    level = framework["levels"]["emerging"]
    statements = level["statements"]
    assert len(statements) == 10
    names = [text.split(" — ", 1)[0] for text in statements]
    lines = "\n".join(
        f"{i}. [{n}]({BASE_URL}/achievements/s{i}): {t}"
        for i, (n, t) in enumerate(zip(names, statements, strict=True), 1)
    )
    return {
        "id": f"{BASE_URL}/achievements/emerging",
        "type": ["Achievement"],
        "achievementType": "Competency",
        "name": f"{occupation['title']}: {level['label']}",
        "description": f"The {level['label']} level. {framework['contextCovered']}",
        "criteria": {"narrative": f"A clinical supervisor observed and recorded each statement:\n\n{lines}"},
        "image": {"id": f"{BASE_URL}/badges/emerging.png", "type": "Image", "caption": level["label"]},
        "alignment": [
            {
                "type": ["Alignment"],
                "targetName": occupation["title"],
                "targetUrl": f"https://www.onetonline.org/link/summary/{occupation['soc']}",
                "targetCode": occupation["soc"],
                "targetFramework": "O*NET-SOC",
                "targetType": "ext:Occupation",
            }
        ]
        + [
            {
                "type": ["Alignment"],
                "targetName": n,
                "targetUrl": f"{BASE_URL}/achievements/s{i}",
                "targetDescription": t,
                "targetFramework": "Music Therapists framework",
                "targetCode": f"{occupation['soc']}-EME-{i:02d}",
                "targetType": "ceasn:Competency",
            }
            for i, (n, t) in enumerate(zip(names, statements, strict=True), 1)
        ],
        "creator": {"id": ISSUER_DID, "type": ["Profile"], "name": "Example Music Therapy Institute"},
        "humanCode": f"{occupation['soc']}-EMERGING",
        "fieldOfStudy": occupation["title"],
        "inLanguage": "en",
        "version": framework["version"],
        "tag": [occupation["title"], level["label"]],
    }


@pytest.fixture
def make_credential(issuer_profile: dict[str, Any], level_achievement: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "credential_id": f"urn:uuid:{uuid.uuid4()}",
            "issuer": issuer_profile,
            "achievement": level_achievement,
            "recipient_email": "therapist@example.org",
            "salt": "c2f1e0d9b8a7",
            "recipient_did": None,
            "name": level_achievement["name"],
            "valid_from": NOW - timedelta(days=1),
            "valid_until": NOW + timedelta(days=365),
            "evidence": [{"type": ["Evidence"], "narrative": "Observed in ten supervised sessions."}],
            "results": None,
            "credential_status": None,
            "awarded_date": NOW - timedelta(days=1),
        }
        arguments.update(overrides)
        return build_achievement_credential(**arguments)

    return make
