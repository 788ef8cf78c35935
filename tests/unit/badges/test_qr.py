"""QR codes decode to exactly the URL they were made from."""

from __future__ import annotations

import io

import zxingcpp
from defusedxml import ElementTree
from PIL import Image

from issuer.badges import qr_png, qr_svg, qr_svg_inline

URL = "https://credentials.example.org/verify/3f2b8a64-2c1e-4f7e-9d3a-0a5f1b2c3d4e"


def test_png_decodes_to_the_url() -> None:
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(URL))))
    assert [d.text for d in decoded] == [URL]


def test_svg_is_xml_and_inline_form_has_no_declaration() -> None:
    ElementTree.fromstring(qr_svg(URL).encode())
    assert qr_svg_inline(URL).startswith("<svg")
