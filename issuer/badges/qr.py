"""QR codes for verification URLs (qrcode package), as SVG and PNG."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_Q


def _code(url: str, box_size: int) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, box_size=box_size, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_svg(url: str) -> str:
    """A standalone SVG document (with an XML declaration) encoding ``url``."""
    image = _code(url, 10).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode("utf-8")


def qr_svg_inline(url: str) -> str:
    """The same SVG without the XML declaration, to embed in an HTML page."""
    svg = qr_svg(url)
    return svg[svg.index("<svg"):]


def qr_png(url: str, *, box_size: int = 8) -> bytes:
    image = _code(url, box_size).make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
