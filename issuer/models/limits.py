"""Request counters for rate limits that every worker process shares."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from issuer.models.base import Base


class RateWindow(Base):
    """How many requests one client made to one limited endpoint in one fixed window."""

    __tablename__ = "rate_windows"

    #: ``<limit name>:<client address>``.
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: The window's start, in seconds since the epoch (a multiple of the window's length).
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hits: Mapped[int]
