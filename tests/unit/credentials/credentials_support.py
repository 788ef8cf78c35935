"""Paths and constants shared by the credential-core tests (imported by name: tests/unit is not a package)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
#: Published test vectors, vendored byte for byte (tests/vectors/SOURCES.md records where each comes from).
VECTORS = ROOT / "tests" / "vectors"
W3C_EDDSA = VECTORS / "vc-di-eddsa" / "TestVectors"
OB3_LDP = VECTORS / "1edtech-ob3-ldp"
VALIDATOR = VECTORS / "1edtech-validator"
#: The W3C VC examples context: the W3C vectors use it, the app never serves it.
EXAMPLES_CONTEXT = VECTORS / "contexts" / "examples-v2.jsonld"
#: The seed framework, as the app loads it.
SEED = ROOT / "frameworks" / "music-therapists-29-1129.02-v26.05.json"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"

ISSUER_DID = "did:web:issuer.example.org"
BASE_URL = "https://issuer.example.org"
NOW = datetime(2026, 5, 20, 9, 30, 0, tzinfo=UTC)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
