"""Glue between the app and the pure badge code: level badges, and reading uploaded credentials."""

from __future__ import annotations

from functools import lru_cache

from issuer import badges
from issuer.errors import InvalidInput
from issuer.models import Level

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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


def extract_credential(raw: bytes, *, filename: str = "", mimetype: str | None = None) -> str:
    """The credential text in an uploaded file: a baked PNG or SVG, or a .json / .jwt file.

    :raise InvalidInput: the file is none of those, or its baked credential cannot be read.
    """
    name = filename.lower()
    try:
        if raw.startswith(PNG_SIGNATURE) or name.endswith(".png"):
            return badges.unbake_png(raw)
        head = raw[:2048].lstrip().lower()
        if name.endswith(".svg") or head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in raw[:4096].lower()):
            return badges.unbake_svg(raw)
    except badges.BakingError as error:
        raise InvalidInput(f"the uploaded image holds no readable credential: {error}") from None
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidInput("the uploaded file is not a credential: expected JSON, a JWT, or a baked PNG or SVG") from None


@lru_cache(maxsize=1)
def issuer_logo_png() -> bytes:
    """The issuer's logo: the first level's badge motif without a level name."""
    return badges.badge_png(level_name="Issuer", level_number=1, framework_name="Clinical competency credentials",
                            levels_total=1)
