"""Paths and constants shared by the credential-core tests (imported by name: tests/unit is not a package)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SPEC = Path(__file__).resolve().parents[4] / "shared" / "spec"
VECTORS = SPEC / "vectors"
W3C_EDDSA = VECTORS / "vc-di-eddsa" / "TestVectors"
OB3_LDP = VECTORS / "1edtech-ob3-ldp"
VALIDATOR = VECTORS / "1edtech-validator"
SEED = SPEC.parent / "seeds" / "000_1d8aca1da2ddffa1.txt"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"

ISSUER_DID = "did:web:issuer.example.org"
BASE_URL = "https://issuer.example.org"
NOW = datetime(2026, 5, 20, 9, 30, 0, tzinfo=timezone.utc)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
