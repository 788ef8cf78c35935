"""The images of a level's badge and of the issuer's logo, drawn by the pure badge code and kept per app."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from issuer import badges
from issuer.models import Level
from issuer.platform.cache import app_cache

#: Drawn images kept per app: a PNG badge is ~10-30 KB, an SVG a few KB.
IMAGE_CACHE_SIZE = 128
IMAGE_CACHE_BYTES = 8 * 1024 * 1024

T = TypeVar("T", bytes, str)


def _drawn(key: tuple[object, ...], draw: Callable[[], T]) -> T:
    """The image drawn for ``key``, drawn once per app while it stays among the recently used."""
    cache = app_cache("frameworks.level_images", IMAGE_CACHE_SIZE, IMAGE_CACHE_BYTES)
    image: T | None = cache.get(key)
    if image is None:
        image = draw()
        cache.put(key, image)  # sized by its length
    return image


def level_badge_png(level: Level) -> bytes:
    fw = level.framework
    args = (level.label, level.position, fw.title, len(fw.levels))
    return _drawn(("png", *args), lambda: badges.badge_png(level_name=args[0], level_number=args[1],
                                                           framework_name=args[2], levels_total=args[3]))


def level_badge_svg(level: Level) -> str:
    fw = level.framework
    args = (level.label, level.position, fw.title, len(fw.levels))
    return _drawn(("svg", *args), lambda: badges.badge_svg(level_name=args[0], level_number=args[1],
                                                           framework_name=args[2], levels_total=args[3]))


def issuer_logo_png() -> bytes:
    """The issuer's logo: the first level's badge motif without a level name."""
    return _drawn(("logo",), lambda: badges.badge_png(level_name="Issuer", level_number=1,
                                                      framework_name="Clinical competency credentials",
                                                      levels_total=1))
