"""QR codes decode to exactly the URL they were made from, in both formats."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from defusedxml import ElementTree
from PIL import Image, ImageDraw

from issuer.badges import qr_png, qr_svg, qr_svg_inline

URL = "https://credentials.example.org/verify/3f2b8a64-2c1e-4f7e-9d3a-0a5f1b2c3d4e?lang=de&x=<é>"
SVG = "{http://www.w3.org/2000/svg}"


def _decoded(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def test_png_decodes_to_the_url() -> None:
    with Image.open(io.BytesIO(qr_png(URL))) as image:
        assert image.format == "PNG"
        assert _decoded(image) == [URL]


def test_png_uses_error_correction_m_or_q() -> None:
    with Image.open(io.BytesIO(qr_png(URL))) as image:
        (result,) = zxingcpp.read_barcodes(image)
    assert result.ec_level in ("M", "Q")


def test_svg_decodes_to_the_url_when_its_path_is_drawn() -> None:
    """Rasterise the path (unit squares "Mx,yH…V…H…z") ourselves, then scan it."""
    root = ElementTree.fromstring(qr_svg(URL).encode("utf-8"))
    _, _, width, _ = (int(float(v)) for v in root.get("viewBox", "").split())
    squares = re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H\d+z", root.find(f"{SVG}path").get("d", ""))
    assert len(squares) > 100
    scale = 8
    image = Image.new("L", (width * scale, width * scale), 255)
    draw = ImageDraw.Draw(image)
    for x0, y0, x1, y1 in squares:
        draw.rectangle((int(x0) * scale, int(y0) * scale, int(x1) * scale - 1, int(y1) * scale - 1), fill=0)
    assert _decoded(image) == [URL]


def test_svg_is_an_accessible_standalone_document() -> None:
    svg = qr_svg(URL)
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg')
    root = ElementTree.fromstring(svg.encode("utf-8"))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == f"QR code for {URL}"
    assert root.find(f"{SVG}rect").get("fill") == "#ffffff"  # scans on a dark page too
    assert root.get("width") == root.get("height") == "180"  # pixels, not qrcode's millimetres


def test_inline_svg_has_no_declaration_and_takes_a_title() -> None:
    inline = qr_svg_inline(URL, title='Verify "Emerging" <now>')
    assert inline.startswith("<svg ")
    root = ElementTree.fromstring(inline)
    assert root.find(f"{SVG}title").text == 'Verify "Emerging" <now>'
    assert root.get("aria-label") == 'Verify "Emerging" <now>'


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="needs a URL"):
        qr_png("")
    with pytest.raises(ValueError, match="box_size"):
        qr_png(URL, box_size=0)
