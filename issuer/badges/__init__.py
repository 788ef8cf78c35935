"""Badge images, baking credentials into PNG and SVG (OB 3.0 "Baked Badge"), and QR codes.

Pure: bytes and text in, bytes and text out; no app, database or network.
"""

from __future__ import annotations

from issuer.badges.baking import (
    MAX_CREDENTIAL_BYTES,
    MAX_IMAGE_BYTES,
    bake_png,
    bake_svg,
    unbake_png,
    unbake_svg,
)
from issuer.badges.errors import BakingError
from issuer.badges.images import badge_png, badge_svg
from issuer.badges.qr import qr_png, qr_svg, qr_svg_inline

__all__ = [
    "MAX_CREDENTIAL_BYTES",
    "MAX_IMAGE_BYTES",
    "BakingError",
    "badge_png",
    "badge_svg",
    "bake_png",
    "bake_svg",
    "qr_png",
    "qr_svg",
    "qr_svg_inline",
    "unbake_png",
    "unbake_svg",
]
