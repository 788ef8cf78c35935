"""Bitstring Status Lists: allocating indexes, flipping bits, serving and checking signed lists.

Each credential gets two entries, ``revocation`` and ``suspension``, at random
positions (herd privacy) in lists of 131,072 entries. Uniqueness of an index
is a database constraint; allocation claims random positions with
``INSERT … ON CONFLICT DO NOTHING`` and probes again where it lost, so
concurrent workers never share one. A list is re-signed when a
bit changes, never on a plain read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select
from sqlalchemy.orm import load_only

from issuer.credentials import status_list as bsl
from issuer.errors import IssuerError
from issuer.identity.profile import base_url, issuer_did
from issuer.issuance import signing
from issuer.models import StatusEntry, StatusList
from issuer.platform.database import SessionLike, insert_or_ignore, reading

PURPOSES = ("revocation", "suspension")
LIST_LENGTH = bsl.MIN_LIST_LENGTH
#: Random probes before a list counts as full and a new one starts.
MAX_PROBES = 32
#: Seconds a verifier may cache a list (served as Cache-Control max-age).
LIST_MAX_AGE = 300


def list_url(status_list: StatusList) -> str:
    return f"{base_url()}/status/{status_list.public_id}"


def _new_list(session: SessionLike, purpose: str, now: dt.datetime) -> StatusList:
    status_list = StatusList(public_id=uuid.uuid4(), purpose=purpose, length=LIST_LENGTH, allocated=0,
                             bits=bytes(LIST_LENGTH // 8), version=1, signed_document=None, signed_version=None,
                             created_at=now, updated_at=now)
    session.add(status_list)
    session.flush()
    _sign_list(session, status_list, now)  # signed from the start, so that serving a list never writes
    return status_list


_NEWEST_LISTS = (
    select(StatusList).where(StatusList.id.in_(select(func.max(StatusList.id)).group_by(StatusList.purpose)))
    # not the 16 KB bitstring nor the signed document: allocating needs neither
    .options(load_only(StatusList.id, StatusList.public_id, StatusList.purpose, StatusList.length))
)


def _current_lists(session: SessionLike, now: dt.datetime) -> dict[str, StatusList]:
    """The newest list of each purpose (created if there is none yet), in one query."""
    found = {s.purpose: s for s in session.scalars(_NEWEST_LISTS)}
    for purpose in PURPOSES:
        if purpose not in found:
            found[purpose] = _new_list(session, purpose, now)
    return found


def allocate(session: SessionLike, *, credential_id: uuid.UUID, now: dt.datetime) -> list[dict[str, Any]]:
    """Reserve a revocation and a suspension index for ``credential_id``; returns the credentialStatus entries.

    Both indexes are claimed with one ``INSERT … ON CONFLICT DO NOTHING RETURNING``: a position that is taken
    (perhaps by a concurrent worker a moment ago) simply comes back missing and is probed again elsewhere. The
    unique constraint on (list, index) decides, so two credentials never share an index. After ``MAX_PROBES``
    misses a list counts as full and the next one starts.
    """
    lists = _current_lists(session, now)
    indexes: dict[str, int] = {}
    pending = list(PURPOSES)
    probes = 0
    while pending:
        if probes == MAX_PROBES:  # full (or nearly): start the next list for whatever is still pending
            for purpose in pending:
                lists[purpose] = _new_list(session, purpose, now)
            probes = 0
        probes += 1
        rows = [{"list_id": lists[p].id, "index": secrets.randbelow(lists[p].length), "purpose": p,
                 "credential_id": credential_id} for p in pending]
        # parameters as a list, not .values(rows): one statement SQLAlchemy compiles once and caches, sent as one
        # multi-row INSERT (its "insertmanyvalues"); a literal multi-VALUES clause would be compiled every time
        claimed = session.execute(
            insert_or_ignore(session, StatusEntry).returning(StatusEntry.purpose, StatusEntry.index), rows
        ).all()
        indexes.update(dict(claimed))
        pending = [p for p in pending if p not in indexes]
    return [bsl.status_entry(list_url=list_url(lists[p]), purpose=p, index=indexes[p]) for p in PURPOSES]


def set_bit(session: SessionLike, *, credential_id: uuid.UUID, purpose: str, value: bool, now: dt.datetime) -> None:
    """Set or clear a credential's bit, bump the list's version and re-sign it. Flushes only."""
    entry = session.scalars(select(StatusEntry).filter_by(credential_id=credential_id, purpose=purpose)).one_or_none()
    if entry is None:
        raise LookupError(f"credential {credential_id} has no {purpose} status entry")
    # Lock the list row (PostgreSQL) so two changes to one list never lose each other's bit.
    status_list = session.scalars(select(StatusList).filter_by(id=entry.list_id).with_for_update()).one()
    bits = bsl.Bitstring.from_bytes(status_list.bits)
    if bits.get(entry.index) == value:
        return
    bits.set(entry.index, value)
    status_list.bits = bits.to_bytes()
    status_list.version += 1
    status_list.updated_at = now
    _sign_list(session, status_list, now)


def resign(session: SessionLike, status_list: StatusList, *, now: dt.datetime) -> None:
    """Sign the list again with the current key (its signing key was revoked). Its bits stay; its version moves on,
    so its ETag changes and a verifier holding the old copy fetches the new one. Flushes only."""
    status_list.version += 1
    status_list.updated_at = now
    _sign_list(session, status_list, now)


def _sign_list(session: SessionLike, status_list: StatusList, now: dt.datetime) -> None:
    unsigned = bsl.build_status_list_credential(
        list_url=list_url(status_list), issuer=issuer_did(), purpose=status_list.purpose,
        bitstring=bsl.Bitstring.from_bytes(status_list.bits), valid_from=now,
    )
    signed, _kid = signing.sign_document(session, unsigned, now=now)
    status_list.signed_document = signing.serialize(signed)
    status_list.signed_version = status_list.version
    session.flush()


#: A list's row as a reader found it: (version, signed version, SHA-256 of the signed text). Its bits change only
#: with its version (``set_bit``), and a version that comes round again after a rolled-back change comes with
#: another signed text; a row not yet signed is a new list, all zeros.
ListState = tuple[int, int | None, str | None]


def list_state(version: int, signed_version: int | None, signed_document: str | None) -> ListState:
    """The state a cached answer that read this list is checked against (see ``issuer.verification.verifier``)."""
    digest = hashlib.sha256(signed_document.encode()).hexdigest() if signed_document is not None else None
    return version, signed_version, digest


_PUBLISHED = (select(StatusList.id, StatusList.version, StatusList.signed_version, StatusList.signed_document)
              .where(StatusList.public_id == bindparam("public_id")))


class NotSigned(IssuerError):
    """A list whose signature is older than its bits (a database from before lists were signed on change).

    Serving only reads: such a list waits for ``issuer status-lists resign`` (which ``issuer init`` runs).
    """

    status_code = 503
    code = "status_list_not_signed"


@dataclass(frozen=True)
class PublishedList:
    """A signed list as served, and ``state``, its row as read (what a cached answer resting on it is checked
    against)."""

    public_id: uuid.UUID
    document: str
    etag: str
    state: ListState

    def unchanged(self, connection: Connection) -> bool:
        """Whether the list still reads as it was served, by one query on ``connection``
        (``issuer.platform.replay``)."""
        row = connection.execute(_PUBLISHED, {"public_id": self.public_id}).one_or_none()
        return row is not None and list_state(row.version, row.signed_version, row.signed_document) == self.state


def signed_list(session: SessionLike, public_id: uuid.UUID) -> PublishedList | None:
    """The signed list credential and its ETag, as stored: a read never signs nor writes.

    Lists are signed when they are made and whenever a bit changes, in that write's transaction. A list whose
    signature is missing or older than its bits raises ``NotSigned`` until ``sign_pending`` runs.

    A plain read selects the signed text and the versions only, at the Core level (no autoflush: ``set_bit``
    flushes): the row's 16 KB of bits are needed to sign, not to serve, and this runs on every status-list
    request and every uncached verification.
    """
    with reading(session) as connection:
        row = connection.execute(_PUBLISHED, {"public_id": public_id}).one_or_none()
    if row is None:
        return None
    if row.signed_document is None or row.signed_version != row.version:
        raise NotSigned(f"the status list {public_id} is not signed yet; an administrator must run "
                        "`issuer status-lists resign`")
    return PublishedList(public_id=public_id, document=row.signed_document, etag=f"{public_id}-{row.version}",
                         state=list_state(row.version, row.signed_version, row.signed_document))


def sign_pending(session: SessionLike, *, now: dt.datetime, every: bool = False) -> list[StatusList]:
    """Sign the lists whose signature is missing or older than their bits (``every``: all lists, say with a new
    key). Flushes only; returns the lists signed. The command line's ``issuer status-lists resign``."""
    query = select(StatusList).order_by(StatusList.id)
    if not every:
        query = query.where(or_(StatusList.signed_document.is_(None), StatusList.signed_version.is_(None),
                                StatusList.signed_version != StatusList.version))
    signed = []
    for status_list in session.scalars(query.with_for_update()):
        if every:  # a new text under the same bits: a new version, so that the ETag changes with it
            status_list.version += 1
            status_list.updated_at = now
        _sign_list(session, status_list, now)
        signed.append(status_list)
    return signed
