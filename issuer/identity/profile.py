"""The issuer's identity: its did:web identifier and its OB 3.0 Profile.

Both derive from ``ISSUER_BASE_URL``, so one setting moves the service.
"""

from __future__ import annotations

from typing import Any

from flask import current_app


def base_url() -> str:
    return str(current_app.config["ISSUER_BASE_URL"])


def issuer_did() -> str:
    from issuer.credentials.dids import did_web_from_base_url

    return did_web_from_base_url(base_url())


def issuer_profile() -> dict[str, Any]:
    """The issuer Profile embedded in achievements and credentials (``id`` is the DID)."""
    return {
        "id": issuer_did(),
        "type": ["Profile"],
        "name": current_app.config["ISSUER_NAME"],
        "url": base_url() + "/",
        "email": current_app.config["ISSUER_EMAIL"],
        "image": {"id": f"{base_url()}/issuer/logo.png", "type": "Image", "caption": current_app.config["ISSUER_NAME"]},
    }
