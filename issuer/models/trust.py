"""The trust list: issuers other than this service whose credentials the verifier recognises."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from issuer.models.base import Base


class TrustedIssuer(Base):
    __tablename__ = "trusted_issuers"
    # Ids never come back (SQLite too), so (count, highest id) changes with every change to the list: cached
    # verification answers rest on it. An entry is never edited in place: a new name is a new row.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The issuer id exactly as credentials carry it (a DID or URL); compared by exact string equality.
    issuer_id: Mapped[str] = mapped_column(String(2000), unique=True)
    #: The name pages show for this issuer (never the name a credential declares for itself).
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    #: The issuer's DID document, for a did:web issuer: nothing is fetched, so its keys come from here.
    did_document: Mapped[dict[str, Any] | None]
    #: Where the entry came from: ``manual``, or ``registry:<registry name>`` for an imported issuer registry.
    source: Mapped[str] = mapped_column(String(200), default="manual")
    added_at: Mapped[dt.datetime]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
