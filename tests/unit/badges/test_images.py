"""Level badges: well-formed, accessible, escaped SVG; deterministic PNG at the size asked; a look per level."""

from __future__ import annotations

import io

import pytest
from defusedxml import ElementTree
from PIL import Image

from issuer.badges import badge_png, badge_svg

SVG = "{http://www.w3.org/2000/svg}"
LEVELS = ["Emerging", "Developing", "Proficient", "Advanced"]
FRAMEWORK = "Music Therapists"


def test_svg_is_well_formed_accessible_and_square() -> None:
    root = ElementTree.fromstring(badge_svg(level_name="Proficient", level_number=3, framework_name=FRAMEWORK))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    _, _, width, height = root.get("viewBox").split()
    assert width == height
    title = root.find(f"{SVG}title").text
    assert title == "Proficient: level 3 of 4, Music Therapists" == root.get("aria-label")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["Proficient", "Music Therapists", "LEVEL 3 OF 4"]
    assert len(list(root.iter(f"{SVG}circle"))) == 4


def test_svg_has_no_scripts_links_or_external_references() -> None:
    svg = badge_svg(level_name="Emerging", level_number=1, framework_name=FRAMEWORK)
    for needle in ("<script", "href", "url(", "http://", "https://", "<image", "@import", " on"):
        assert needle not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_svg_escapes_names() -> None:
    evil = badge_svg(level_name='<script>alert("x")</script>', level_number=2,
                     framework_name='A & B" onload="alert(1)')
    assert "<script>" not in evil
    root = ElementTree.fromstring(evil)  # well-formed despite quotes, ampersands and tags in the names
    assert root.get("onload") is None
    assert root.get("aria-label").startswith('<script>alert("x")</script>: level 2 of 4, A & B"')
    assert root.find(f"{SVG}script") is None


def test_long_names_are_shortened_on_the_badge_but_not_in_the_title() -> None:
    name = "Extraordinarily Advanced Practitioner"
    root = ElementTree.fromstring(badge_svg(level_name=name, level_number=4, framework_name=FRAMEWORK))
    shown = next(root.iter(f"{SVG}text")).text or ""
    assert len(shown) <= 20
    assert shown.endswith("\u2026")
    assert root.find(f"{SVG}title").text.startswith(name)


def test_each_level_looks_different() -> None:
    svgs = {badge_svg(level_name="Same", level_number=n, framework_name=FRAMEWORK) for n in range(1, 5)}
    pngs = {badge_png(level_name="Same", level_number=n, framework_name=FRAMEWORK, size=64) for n in range(1, 5)}
    assert len(svgs) == len(pngs) == 4


@pytest.mark.parametrize("size", [64, 128, 512])
def test_png_opens_at_the_requested_size(size: int) -> None:
    data = badge_png(level_name="Developing", level_number=2, framework_name=FRAMEWORK, size=size)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (size, size)
        image.load()


def test_png_is_deterministic_and_uses_the_level_colour() -> None:
    first = badge_png(level_name="Emerging", level_number=1, framework_name=FRAMEWORK, size=128)
    assert first == badge_png(level_name="Emerging", level_number=1, framework_name=FRAMEWORK, size=128)
    colours = []
    for number, name in enumerate(LEVELS, start=1):
        data = badge_png(level_name=name, level_number=number, framework_name=FRAMEWORK, size=128)
        with Image.open(io.BytesIO(data)) as image:
            colours.append(image.convert("RGBA").getpixel((64, 6)))  # the medal rim below the top vertex
            corner = image.getpixel((0, 0))
            assert isinstance(corner, tuple)
            assert corner[3] == 0  # transparent outside the medal
    assert len(set(colours)) == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"level_number": 0}, "between 1 and 4"),
        ({"level_number": 5}, "between 1 and 4"),
        ({"level_number": 1, "levels_total": 0}, "at least 1"),
    ],
)
def test_impossible_levels_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        badge_svg(level_name="x", framework_name="y", **kwargs)
    with pytest.raises(ValueError, match=message):
        badge_png(level_name="x", framework_name="y", **kwargs)


def test_png_size_is_bounded() -> None:
    with pytest.raises(ValueError, match="size"):
        badge_png(level_name="x", level_number=1, framework_name="y", size=10_000)


def test_many_levels_still_fit() -> None:
    root = ElementTree.fromstring(badge_svg(level_name="Step 9", level_number=9, framework_name="F", levels_total=12))
    xs = [float(c.attrib["cx"]) for c in root.iter(f"{SVG}circle")]
    assert len(xs) == 12
    assert min(xs) >= 256 - 90
    assert max(xs) <= 256 + 90
