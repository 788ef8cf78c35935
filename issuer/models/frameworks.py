"""A competency framework, its ordered levels and their statements.

Every level and every statement is an Open Badges 3.0 Achievement; its public
id (``achievement_id``) is a UUID derived from the framework's SOC code,
version and position, so it is the same in every database the file is
imported into and never changes once credentials point at it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from issuer.models.base import Base


class Framework(Base):
    __tablename__ = "frameworks"
    __table_args__ = (UniqueConstraint("soc_code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    soc_code: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    version: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text, default="")
    context_covered: Mapped[str] = mapped_column(Text, default="")
    occupation: Mapped[dict[str, Any]]
    sources: Mapped[dict[str, Any]]
    attribution: Mapped[str] = mapped_column(Text)
    license: Mapped[str] = mapped_column(String(100))
    exported_at: Mapped[str | None] = mapped_column(String(40))
    content_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime]

    levels: Mapped[list[Level]] = relationship(
        back_populates="framework", order_by="Level.position", cascade="all, delete-orphan"
    )

    @property
    def name(self) -> str:
        return f"{self.title} competency framework"

    @property
    def attribution_line(self) -> str:
        """The credit line the CC BY 4.0 licence asks us to keep visible."""
        onet = self.sources.get("onet")
        parts = [self.attribution]
        if onet:
            parts.append(f"based on O*NET {onet}")
        return f"{'; '.join(parts)}. Framework text licensed under {self.license}."


class Level(Base):
    __tablename__ = "levels"
    __table_args__ = (UniqueConstraint("framework_id", "position"), UniqueConstraint("framework_id", "key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    achievement_id: Mapped[uuid.UUID] = mapped_column(unique=True)

    framework: Mapped[Framework] = relationship(back_populates="levels", lazy="joined")  # always wanted
    statements: Mapped[list[Statement]] = relationship(
        back_populates="level", order_by="Statement.position", cascade="all, delete-orphan"
    )


class Statement(Base):
    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("level_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("levels.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    achievement_id: Mapped[uuid.UUID] = mapped_column(unique=True)

    level: Mapped[Level] = relationship(back_populates="statements")
