"""QR codes for verification URLs, as SVG (standalone or inline in HTML) and PNG.

Error correction Q (25 % of codewords recoverable): a printed certificate gets
scuffed, and the URLs are short enough that the larger symbol costs nothing.
The SVG takes its geometry from qrcode's path image factory but gets our own
wrapper: a white background (so the code still scans on a dark page), a
``<title>`` for screen readers, and a unitless viewBox instead of qrcode's
millimetre size (pixel width and height remain as a default that CSS overrides).
"""

from __future__ import annotations

import io
from html import escape
from typing import Any

import qrcode
import qrcode.image.svg
from defusedxml import ElementTree
from qrcode.constants import ERROR_CORRECT_Q

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
#: ISO/IEC 18004: four modules of quiet zone.
BORDER = 4
#: Matches ``img.qr`` in site.css, for pages that embed the SVG without sizing it.
DEFAULT_SIZE_PX = 180


def _code(url: str, box_size: int) -> qrcode.QRCode[Any]:
    if not url:
        raise ValueError("a QR code needs a URL")
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, box_size=box_size, border=BORDER)
    code.add_data(url)
    code.make(fit=True)
    return code


def _svg_parts(url: str) -> tuple[str, str]:
    """(viewBox, path data) of the symbol, read back from qrcode's SVG path image."""
    image = _code(url, 10).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    root = ElementTree.fromstring(out.getvalue())
    path = root.find(f"{{{SVG_NAMESPACE}}}path")
    if path is None or not root.get("viewBox"):  # pragma: no cover - qrcode's output format changed
        raise RuntimeError("qrcode's SVG image has no viewBox or path")
    return root.get("viewBox", ""), path.get("d", "")


def qr_svg_inline(url: str, *, title: str | None = None, size_px: int = DEFAULT_SIZE_PX) -> str:
    """An ``<svg>`` element encoding ``url``, with no XML declaration, to embed in an HTML page.

    Args:
        url: the text to encode (a verification URL).
        title: the accessible name; defaults to "QR code for <url>".
        size_px: the default rendered size; CSS ``width``/``height`` override it.
    """
    view_box, d = _svg_parts(url)
    label = escape(title if title is not None else f"QR code for {url}")
    width = view_box.split()[2]
    return (
        f'<svg xmlns="{SVG_NAMESPACE}" viewBox="{escape(view_box)}" width="{size_px}" height="{size_px}" '
        f'role="img" aria-label="{label}" '
        f'shape-rendering="crispEdges"><title>{label}</title>'
        f'<rect width="{escape(width)}" height="{escape(width)}" fill="#ffffff"/>'
        f'<path d="{escape(d)}" fill="#000000"/></svg>'
    )


def qr_svg(url: str, *, title: str | None = None, size_px: int = DEFAULT_SIZE_PX) -> str:
    """A standalone SVG document (XML declaration included) encoding ``url``, to serve as image/svg+xml."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + qr_svg_inline(url, title=title, size_px=size_px)


#: The largest ``box_size`` ``qr_png`` accepts: a bound on the size of the image it draws.
MAX_BOX_SIZE = 50


def qr_png(url: str, *, box_size: int = 8) -> bytes:
    """A black-on-white PNG encoding ``url``, ``box_size`` pixels per module.

    Raises:
        ValueError: ``box_size`` is not between 1 and 50.
    """
    if not 1 <= box_size <= MAX_BOX_SIZE:
        raise ValueError(f"box_size must be between 1 and {MAX_BOX_SIZE}, not {box_size}")
    image = _code(url, box_size).make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
