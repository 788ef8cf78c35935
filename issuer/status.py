"""Bitstring Status Lists: allocating indexes, flipping bits, serving and checking signed lists.

Each credential gets two entries, ``revocation`` and ``suspension``, at random
positions (herd privacy) in lists of 131,072 entries. Uniqueness of an index
is a database constraint; allocation probes random positions inside a
savepoint, so concurrent workers never share one. A list is re-signed when a
bit changes, never on a plain read.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.credentials import status_list as bsl
from issuer.identity import base_url, issuer_did
from issuer.models import StatusEntry, StatusList, utcnow

PURPOSES = ("revocation", "suspension")
LIST_LENGTH = bsl.MIN_LIST_LENGTH
#: Random probes before a list counts as full and a new one starts.
MAX_PROBES = 32
#: Seconds a verifier may cache a list (served as Cache-Control max-age).
LIST_MAX_AGE = 300


def list_url(status_list: StatusList) -> str:
    return f"{base_url()}/status/{status_list.public_id}"


def _new_list(session: Session, purpose: str, now: dt.datetime) -> StatusList:
    status_list = StatusList(public_id=uuid.uuid4(), purpose=purpose, length=LIST_LENGTH, allocated=0,
                             bits=bytes(LIST_LENGTH // 8), version=1, signed_document=None, signed_version=None,
                             created_at=now, updated_at=now)
    session.add(status_list)
    session.flush()
    return status_list


def _current_list(session: Session, purpose: str, now: dt.datetime) -> StatusList:
    found = session.scalars(
        select(StatusList).filter_by(purpose=purpose).order_by(StatusList.id.desc()).limit(1)
    ).first()
    return found if found is not None else _new_list(session, purpose, now)


def allocate(session: Session, *, credential_id: uuid.UUID, now: dt.datetime) -> list[dict[str, Any]]:
    """Reserve a revocation and a suspension index for ``credential_id``; returns the credentialStatus entries."""
    entries = []
    for purpose in PURPOSES:
        status_list = _current_list(session, purpose, now)
        while True:
            index = _reserve(session, status_list, purpose, credential_id)
            if index is not None:
                break
            status_list = _new_list(session, purpose, now)  # full (or nearly): start the next list
        entries.append(bsl.status_entry(list_url=list_url(status_list), purpose=purpose, index=index))
    return entries


def _reserve(session: Session, status_list: StatusList, purpose: str, credential_id: uuid.UUID) -> int | None:
    for _ in range(MAX_PROBES):
        index = secrets.randbelow(status_list.length)
        try:
            with session.begin_nested():
                session.add(StatusEntry(list_id=status_list.id, index=index, purpose=purpose,
                                        credential_id=credential_id))
        except IntegrityError:
            continue  # taken (perhaps by a concurrent worker): probe elsewhere
        return index
    return None


def set_bit(session: Session, *, credential_id: uuid.UUID, purpose: str, value: bool, now: dt.datetime) -> None:
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


def _sign_list(session: Session, status_list: StatusList, now: dt.datetime) -> None:
    from issuer import signing

    unsigned = bsl.build_status_list_credential(
        list_url=list_url(status_list), issuer=issuer_did(), purpose=status_list.purpose,
        bitstring=bsl.Bitstring.from_bytes(status_list.bits), valid_from=now,
    )
    signed, _kid = signing.sign_document(session, unsigned, now=now)
    status_list.signed_document = signing.serialize(signed)
    status_list.signed_version = status_list.version
    session.flush()


def signed_list(session: Session, public_id: uuid.UUID) -> tuple[str | None, str]:
    """The signed list credential and its ETag; signed now if it never was (a new, all-zero list)."""
    status_list = session.scalars(select(StatusList).filter_by(public_id=public_id)).one_or_none()
    if status_list is None:
        return None, ""
    if status_list.signed_version != status_list.version or status_list.signed_document is None:
        _sign_list(session, status_list, utcnow())
    return status_list.signed_document, f"{status_list.public_id}-{status_list.version}"


def _own_suspension_entry(session: Session, credential: dict[str, Any]) -> dict[str, Any] | None:
    """The suspension entry of a credential this service issued (kept in the database, see issuance)."""
    credential_id = credential.get("id")
    prefix = f"{base_url()}/credentials/"
    if not isinstance(credential_id, str) or not credential_id.startswith(prefix):
        return None
    try:
        key = uuid.UUID(credential_id[len(prefix):])
    except ValueError:
        return None
    row = session.scalars(select(StatusEntry).filter_by(credential_id=key, purpose="suspension")).one_or_none()
    if row is None:
        return None
    status_list = session.get(StatusList, row.list_id)
    assert status_list is not None
    return bsl.status_entry(list_url=list_url(status_list), purpose="suspension", index=row.index)


def checker(session: Session) -> Any:
    """A status checker for the verifier: reads this service's lists from the database, never over HTTP."""
    from issuer import signing
    from issuer.credentials.verify import Check

    prefix = f"{base_url()}/status/"

    def read_entry(entry: Any) -> tuple[str, Any]:
        """("unchecked" | "error" | "ok", detail)."""
        url = entry.get("statusListCredential") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url.startswith(prefix):
            return "unchecked", url
        try:
            public_id = uuid.UUID(url[len(prefix):])
        except ValueError:
            return "error", f"unknown status list {url}"
        document, _etag = signed_list(session, public_id)
        if document is None:
            return "error", f"unknown status list {url}"
        list_credential = json.loads(document)
        if not signing.verify_list_credential(session, list_credential):
            return "error", f"the status list {url} does not verify"
        try:
            return "ok", bsl.check_entry(entry, list_credential)
        except bsl.StatusListError as error:
            return "error", f"status entry is invalid: {error}"

    def check(credential: dict[str, Any]) -> Check | None:
        entries = credential.get("credentialStatus")
        if isinstance(entries, dict):
            entries = [entries]
        elif entries is None:
            entries = []
        if not isinstance(entries, list):
            return Check("status", False, "credentialStatus is malformed")
        own_suspension = _own_suspension_entry(session, credential)
        if own_suspension is not None:
            entries = [*entries, own_suspension]
        if not entries:
            return None
        checked, unchecked = [], 0
        for entry in entries:
            state, detail = read_entry(entry)
            if state == "unchecked":
                unchecked += 1
                continue
            if state == "error":
                return Check("status", False, detail)
            if detail.set:
                verb = "revoked" if detail.purpose == "revocation" else "suspended"
                return Check("status", False, f"the issuer has {verb} this credential")
            checked.append(detail.purpose)
        if not checked:
            return Check("status", None, "status is published by another issuer and was not checked (nothing is fetched)")
        return Check("status", True, " and ".join(f"not {'revoked' if p == 'revocation' else 'suspended'}" for p in checked))

    return check
