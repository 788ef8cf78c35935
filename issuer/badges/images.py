"""Level badges of the project's own design: a hexagon medal, a musical motif, the level in large type.

The SVG and the PNG share one palette and layout so the baked PNG looks like
the badge on the page. Both are readable at 128 px: the level name is the
largest text, the framework a short line, and dots show the level's rank.
"""

from __future__ import annotations

import io
import math
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

#: One colour pair per level rank (deepening as the level rises), cycling for longer frameworks.
PALETTE = [("#2e7d6b", "#d8efe8"), ("#1f5fa8", "#dce8f7"), ("#6a3fa0", "#ebe1f5"), ("#a8461f", "#f7e3d8")]


def _colours(level_number: int) -> tuple[str, str]:
    return PALETTE[(level_number - 1) % len(PALETTE)]


def _hexagon(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    return [(cx + r * math.cos(math.radians(60 * i - 90)), cy + r * math.sin(math.radians(60 * i - 90))) for i in range(6)]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def badge_svg(*, level_name: str, level_number: int, framework_name: str, levels_total: int = 4) -> str:
    """The badge as a standalone SVG (no scripts, no external references)."""
    dark, light = _colours(level_number)
    outer = " ".join(f"{x:.1f},{y:.1f}" for x, y in _hexagon(256, 256, 240))
    inner = " ".join(f"{x:.1f},{y:.1f}" for x, y in _hexagon(256, 256, 206))
    dots = []
    total = max(levels_total, 1)
    start = 256 - (total - 1) * 15
    for i in range(total):
        fill = dark if i < level_number else "#ffffff"
        dots.append(f'<circle cx="{start + i * 30}" cy="382" r="10" fill="{fill}" stroke="{dark}" stroke-width="4"/>')
    title = escape(f"{framework_name}: {level_name} (level {level_number} of {levels_total})")
    name = escape(_shorten(level_name, 14))
    framework = escape(_shorten(framework_name, 26))
    size = 64 if len(level_name) <= 10 else 50
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        f'<polygon points="{outer}" fill="{dark}"/>'
        f'<polygon points="{inner}" fill="{light}"/>'
        # A beamed pair of eighth notes: the musical motif.
        f'<g fill="{dark}"><ellipse cx="214" cy="186" rx="22" ry="16" transform="rotate(-20 214 186)"/>'
        f'<ellipse cx="294" cy="170" rx="22" ry="16" transform="rotate(-20 294 170)"/>'
        f'<rect x="230" y="100" width="8" height="88"/><rect x="310" y="84" width="8" height="88"/>'
        f'<polygon points="230,100 318,84 318,104 230,120"/></g>'
        f'<text x="256" y="{282 if size == 64 else 276}" text-anchor="middle" font-family="system-ui, -apple-system, '
        f"'Segoe UI', Roboto, Arial, sans-serif\" font-size=\"{size}\" font-weight="
        f'"700" fill="{dark}">{name}</text>'
        f'<text x="256" y="330" text-anchor="middle" font-family="system-ui, -apple-system, \'Segoe UI\', Roboto, Arial, '
        f'sans-serif" font-size="26" fill="#1d2433">{framework}</text>'
        + "".join(dots)
        + "</svg>"
    )


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def badge_png(*, level_name: str, level_number: int, framework_name: str, levels_total: int = 4, size: int = 512) -> bytes:
    """The same badge drawn with Pillow (its bundled font), ``size`` × ``size`` pixels, deterministic."""
    dark, light = _colours(level_number)
    scale = size / 512
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon([(x * scale, y * scale) for x, y in _hexagon(256, 256, 240)], fill=dark)
    draw.polygon([(x * scale, y * scale) for x, y in _hexagon(256, 256, 206)], fill=light)

    def s(*values: float) -> list[float]:
        return [v * scale for v in values]

    draw.ellipse(s(192, 170, 236, 202), fill=dark)
    draw.ellipse(s(272, 154, 316, 186), fill=dark)
    draw.rectangle(s(230, 100, 238, 188), fill=dark)
    draw.rectangle(s(310, 84, 318, 172), fill=dark)
    draw.polygon([(230 * scale, 100 * scale), (318 * scale, 84 * scale), (318 * scale, 104 * scale), (230 * scale, 120 * scale)],
                 fill=dark)
    name = _shorten(level_name, 14)
    draw.text((256 * scale, 262 * scale), name, font=_font(int((64 if len(level_name) <= 10 else 50) * scale)),
              fill=dark, anchor="mm")
    draw.text((256 * scale, 322 * scale), _shorten(framework_name, 26), font=_font(int(26 * scale)),
              fill="#1d2433", anchor="mm")
    total = max(levels_total, 1)
    start = 256 - (total - 1) * 15
    for i in range(total):
        cx = start + i * 30
        draw.ellipse(s(cx - 10, 372, cx + 10, 392), fill=dark if i < level_number else "#ffffff",
                     outline=dark, width=max(1, int(4 * scale)))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
