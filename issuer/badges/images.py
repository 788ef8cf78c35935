"""Level badges of the project's own design: a hexagonal medal, beamed eighth notes, the level in large type.

One layout (:func:`_layout`) feeds two renderers, so the baked PNG looks like
the SVG on the page. The layout is built for 128 px: the level name is the
largest text and is sized to fit the medal, the framework is one short line,
and both the words "Level n of N" and a row of dots show the rank, so colour
is never the only cue. The SVG is self-contained (no scripts, links, fonts or
images; a system font stack), and the PNG uses only Pillow's bundled font, so
output depends on the Pillow version and nothing on the host.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from html import escape

from PIL import Image, ImageDraw, ImageFont

CANVAS = 512
#: (medal, face) colour per rank, deepening as the level rises; cycles for frameworks with more levels.
#: Each medal colour on its face colour passes WCAG AA for large text.
PALETTE = (
    ("#17705f", "#e2f3ee"),  # Emerging: teal
    ("#1f5aa0", "#e1eaf7"),  # Developing: blue
    ("#5f3796", "#ece4f6"),  # Proficient: purple
    ("#8a4a12", "#f8ecdc"),  # Advanced: bronze
)
INK = "#1d2433"
FONT_STACK = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
MIN_SIZE, MAX_SIZE = 16, 4096

# Text boxes (centre x = 256): the widest line that stays inside the face hexagon at that height.
NAME_Y, NAME_WIDTH, NAME_MAX_PX, NAME_MAX_CHARS = 296, 320, 56, 20
FRAMEWORK_Y, FRAMEWORK_WIDTH, FRAMEWORK_MAX_PX, FRAMEWORK_MAX_CHARS = 340, 320, 24, 30
RANK_Y, RANK_PX = 376, 18
DOTS_Y, DOTS_WIDTH = 410, 160
# Average advance of a glyph in em, on the wide side (DejaVu Sans Bold): the SVG cannot measure text.
BOLD_EM, REGULAR_EM = 0.68, 0.55


@dataclass(frozen=True, slots=True)
class _Dot:
    cx: float
    r: float
    filled: bool


@dataclass(frozen=True, slots=True)
class _Layout:
    medal: str
    face: str
    name: str
    name_px: float
    framework: str
    framework_px: float
    rank: str
    title: str
    dots: tuple[_Dot, ...]


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _fit(text: str, *, max_px: float, width: float, em: float) -> float:
    return round(min(max_px, width / (em * max(len(text), 1))), 1)


def _layout(level_name: str, level_number: int, framework_name: str, levels_total: int) -> _Layout:
    if levels_total < 1:
        raise ValueError(f"levels_total must be at least 1, not {levels_total}")
    if not 1 <= level_number <= levels_total:
        raise ValueError(f"level_number must be between 1 and {levels_total}, not {level_number}")
    medal, face = PALETTE[(level_number - 1) % len(PALETTE)]
    name = _shorten(level_name, NAME_MAX_CHARS)
    framework = _shorten(framework_name, FRAMEWORK_MAX_CHARS)
    spacing = min(30.0, DOTS_WIDTH / (levels_total - 1)) if levels_total > 1 else 0.0
    radius = min(9.0, spacing * 0.35) if levels_total > 1 else 9.0
    first = CANVAS / 2 - spacing * (levels_total - 1) / 2
    dots = tuple(_Dot(first + i * spacing, radius, i < level_number) for i in range(levels_total))
    return _Layout(
        medal=medal,
        face=face,
        name=name,
        name_px=_fit(name, max_px=NAME_MAX_PX, width=NAME_WIDTH, em=BOLD_EM),
        framework=framework,
        framework_px=_fit(framework, max_px=FRAMEWORK_MAX_PX, width=FRAMEWORK_WIDTH, em=REGULAR_EM),
        rank=f"LEVEL {level_number} OF {levels_total}",
        title=f"{level_name.strip()}: level {level_number} of {levels_total}, {framework_name.strip()}",
        dots=dots,
    )


def _hexagon(r: float) -> list[tuple[float, float]]:
    """Pointy-top hexagon centred on the canvas."""
    c = CANVAS / 2
    angles = [math.radians(60 * i - 90) for i in range(6)]
    return [(c + r * math.cos(a), c + r * math.sin(a)) for a in angles]


def _note_head(cx: float, cy: float) -> list[tuple[float, float]]:
    """A note head: an ellipse tilted 20 degrees, as a polygon both renderers draw identically."""
    tilt = math.radians(-20)
    points = []
    for i in range(36):
        t = math.radians(i * 10)
        x, y = 22 * math.cos(t), 15 * math.sin(t)
        points.append((cx + x * math.cos(tilt) - y * math.sin(tilt), cy + x * math.sin(tilt) + y * math.cos(tilt)))
    return points


# The motif: two eighth notes joined by a beam, above the level name.
_NOTE_HEADS = (_note_head(216, 196), _note_head(296, 180))
_STEMS = ((231, 108, 239, 192), (311, 92, 319, 176))  # x0, y0, x1, y1
_BEAM = ((231, 108), (319, 92), (319, 112), (231, 128))


def _points(points: list[tuple[float, float]] | tuple[tuple[int, int], ...]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def badge_svg(*, level_name: str, level_number: int, framework_name: str, levels_total: int = 4) -> str:
    """The badge as a standalone, accessible SVG document (square viewBox, no external references).

    Raises:
        ValueError: ``level_number`` is not between 1 and ``levels_total``.
    """
    lay = _layout(level_name, level_number, framework_name, levels_total)
    title = escape(lay.title)
    shapes = [
        f'<polygon points="{_points(_hexagon(240))}" fill="{lay.medal}"/>',
        f'<polygon points="{_points(_hexagon(224))}" fill="none" stroke="{lay.face}" stroke-width="4"/>',
        f'<polygon points="{_points(_hexagon(206))}" fill="{lay.face}"/>',
        f'<g fill="{lay.medal}">'
        + "".join(f'<polygon points="{_points(head)}"/>' for head in _NOTE_HEADS)
        + "".join(f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}"/>' for x0, y0, x1, y1 in _STEMS)
        + f'<polygon points="{_points(_BEAM)}"/></g>',
        (f'<g font-family="{escape(FONT_STACK)}" text-anchor="middle">'
        f'<text x="256" y="{NAME_Y}" font-size="{lay.name_px}" font-weight="700" fill="{lay.medal}">'
        f"{escape(lay.name)}</text>"
        f'<text x="256" y="{FRAMEWORK_Y}" font-size="{lay.framework_px}" fill="{INK}">{escape(lay.framework)}</text>'
        f'<text x="256" y="{RANK_Y}" font-size="{RANK_PX}" font-weight="700" letter-spacing="2" '
        f'fill="{lay.medal}">{escape(lay.rank)}</text></g>'),
        "".join(
            f'<circle cx="{dot.cx:.1f}" cy="{DOTS_Y}" r="{dot.r:.1f}" fill="{lay.medal if dot.filled else "#ffffff"}" '
            f'stroke="{lay.medal}" stroke-width="3"/>'
            for dot in lay.dots
        ),
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CANVAS} {CANVAS}" width="{CANVAS}" height="{CANVAS}" '
        f'role="img" aria-label="{title}"><title>{title}</title>' + "".join(shapes) + "</svg>"
    )


def _font(px: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow >= 10.1 embeds a scalable font; no system font is looked up, so every host draws the same pixels.
    return ImageFont.load_default(size=max(1, round(px)))


_MIN_TEXT_PX = 8  # text is not shrunk below this size: it would no longer be legible


def _draw_text(draw: ImageDraw.ImageDraw, k: float, y: float, text: str, *, px: float, width: float,
               fill: str, bold: bool) -> None:
    """Centred text, shrunk until it fits ``width`` in this font (the PNG can measure, unlike the SVG)."""
    font = _font(px * k)
    while px > _MIN_TEXT_PX and draw.textlength(text, font=font) > width * k:
        px -= 1
        font = _font(px * k)
    # The bundled font has no bold face: a thin stroke in the same colour stands in for one.
    stroke = max(1, round(px * k / 40)) if bold else 0
    draw.text((256 * k, y * k), text, font=font, fill=fill, anchor="ms", stroke_width=stroke, stroke_fill=fill)


def badge_png(
    *, level_name: str, level_number: int, framework_name: str, levels_total: int = 4, size: int = 512
) -> bytes:
    """The same badge drawn with Pillow: a ``size`` x ``size`` RGBA PNG, identical bytes for identical input.

    Drawn at twice the size (at least 1024 px) and scaled down, which is
    Pillow's way to anti-alias polygons and text.

    Raises:
        ValueError: ``size`` out of range, or ``level_number`` not between 1 and ``levels_total``.
    """
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be between {MIN_SIZE} and {MAX_SIZE} pixels, not {size}")
    lay = _layout(level_name, level_number, framework_name, levels_total)
    work = max(1024, size * 2)
    k = work / CANVAS
    image = Image.new("RGBA", (work, work), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)

    def scaled(points: list[tuple[float, float]] | tuple[tuple[int, int], ...]) -> list[tuple[float, float]]:
        return [(x * k, y * k) for x, y in points]

    draw.polygon(scaled(_hexagon(240)), fill=lay.medal)
    draw.polygon(scaled(_hexagon(224)), outline=lay.face, width=round(4 * k))
    draw.polygon(scaled(_hexagon(206)), fill=lay.face)
    for head in _NOTE_HEADS:
        draw.polygon(scaled(head), fill=lay.medal)
    for x0, y0, x1, y1 in _STEMS:
        draw.rectangle((x0 * k, y0 * k, x1 * k, y1 * k), fill=lay.medal)
    draw.polygon(scaled(_BEAM), fill=lay.medal)
    _draw_text(draw, k, NAME_Y, lay.name, px=lay.name_px, width=NAME_WIDTH, fill=lay.medal, bold=True)
    _draw_text(draw, k, FRAMEWORK_Y, lay.framework, px=lay.framework_px, width=FRAMEWORK_WIDTH, fill=INK, bold=False)
    _draw_text(draw, k, RANK_Y, lay.rank, px=RANK_PX, width=NAME_WIDTH, fill=lay.medal, bold=True)
    for dot in lay.dots:
        box = ((dot.cx - dot.r) * k, (DOTS_Y - dot.r) * k, (dot.cx + dot.r) * k, (DOTS_Y + dot.r) * k)
        draw.ellipse(box, fill=lay.medal if dot.filled else "#ffffff", outline=lay.medal, width=round(3 * k))
    image = image.resize((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
