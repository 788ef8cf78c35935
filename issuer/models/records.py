"""The learning record: statement marks (append-only) and level completions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from issuer.models.accounts import User
from issuer.models.base import Base
from issuer.models.frameworks import Level, Statement


class StatementMark(Base):
    """One entry of the learning record. Never updated or deleted: an undo is a new row.

    A statement's current state is its latest mark: ``met``, or ``undone``.
    """

    __tablename__ = "statement_marks"
    __table_args__ = (Index("ix_statement_marks_therapist_statement", "therapist_id", "statement_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(10))  # "met" | "undone"
    observed_on: Mapped[dt.date | None]
    note: Mapped[str] = mapped_column(Text, default="")
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    evidence_file: Mapped[str | None] = mapped_column(String(100))
    evidence_filename: Mapped[str | None] = mapped_column(String(255))
    evidence_type: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("statement_marks.id"))
    created_at: Mapped[dt.datetime]

    statement: Mapped[Statement] = relationship()
    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id])
    therapist: Mapped[User] = relationship(foreign_keys=[therapist_id])


class LevelCompletion(Base):
    """A level marked complete. Unique per therapist and level: the database forbids a second."""

    __tablename__ = "level_completions"
    __table_args__ = (UniqueConstraint("therapist_id", "level_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    level_id: Mapped[int] = mapped_column(ForeignKey("levels.id"))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[dt.datetime]
    override_justification: Mapped[str | None] = mapped_column(Text)

    level: Mapped[Level] = relationship()
    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id])
    therapist: Mapped[User] = relationship(foreign_keys=[therapist_id])


class Setting(Base):
    """Administrator settings (e.g. whether supervisors may complete a level by override)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
