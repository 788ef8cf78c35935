"""Bitstring Status Lists and the index each credential holds in them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from issuer.models.base import Base


class StatusList(Base):
    __tablename__ = "status_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    length: Mapped[int]
    allocated: Mapped[int] = mapped_column(default=0)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    #: Bumped whenever a bit changes; the signed list and its ETag follow it.
    version: Mapped[int] = mapped_column(default=1)
    signed_document: Mapped[str | None] = mapped_column(Text)
    signed_version: Mapped[int | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class StatusEntry(Base):
    __tablename__ = "status_entries"
    __table_args__ = (
        UniqueConstraint("list_id", "index"),  # no two credentials ever share an index
        UniqueConstraint("credential_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("status_lists.id"))
    index: Mapped[int]
    purpose: Mapped[str] = mapped_column(String(20))
    #: Not a foreign key: the index is reserved before the credential row exists (it is signed into it).
    credential_id: Mapped[uuid.UUID] = mapped_column(index=True)
