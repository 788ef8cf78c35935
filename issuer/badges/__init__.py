"""Badge images, baking credentials into PNG and SVG, and QR codes. Pure: bytes and text in and out."""

from issuer.badges.baking import BakingError, bake_png, bake_svg, unbake_png, unbake_svg
from issuer.badges.images import badge_png, badge_svg
from issuer.badges.qr import qr_png, qr_svg, qr_svg_inline

__all__ = ["BakingError", "badge_png", "badge_svg", "bake_png", "bake_svg", "qr_png", "qr_svg", "qr_svg_inline",
           "unbake_png", "unbake_svg"]
