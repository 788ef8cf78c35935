"""The content digest of a JSON document: what "this exact document" means when a credential is presented again.

Whitespace and the order of an object's members carry no meaning in JSON, so the digest is taken over one canonical
text: members sorted, no insignificant whitespace, UTF-8. Any change to a name, a value or an array's order changes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """``document`` as compact JSON with sorted members, UTF-8 encoded."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def document_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(document)).hexdigest()
