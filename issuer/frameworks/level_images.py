"""The images of a level's badge and of the issuer's logo, drawn by the pure badge code and kept per process."""

from __future__ import annotations

from functools import lru_cache

from issuer import badges
from issuer.models import Level


@lru_cache(maxsize=64)
def _badge_png(label: str, position: int, framework: str, total: int) -> bytes:
    return badges.badge_png(level_name=label, level_number=position, framework_name=framework, levels_total=total)


@lru_cache(maxsize=64)
def _badge_svg(label: str, position: int, framework: str, total: int) -> str:
    return badges.badge_svg(level_name=label, level_number=position, framework_name=framework, levels_total=total)


def level_badge_png(level: Level) -> bytes:
    fw = level.framework
    return _badge_png(level.label, level.position, fw.title, len(fw.levels))


def level_badge_svg(level: Level) -> str:
    fw = level.framework
    return _badge_svg(level.label, level.position, fw.title, len(fw.levels))


@lru_cache(maxsize=1)
def issuer_logo_png() -> bytes:
    """The issuer's logo: the first level's badge motif without a level name."""
    return badges.badge_png(level_name="Issuer", level_number=1, framework_name="Clinical competency credentials",
                            levels_total=1)
