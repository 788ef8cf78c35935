"""The status check the verifier runs: this service's own lists, read from the database, never over HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select

from issuer.credentials import status_list as bsl
from issuer.credentials.verify import Check
from issuer.credentials.verify import verify as run_verifier
from issuer.identity.did_web import resolver
from issuer.identity.profile import base_url, issuer_did
from issuer.models import StatusEntry, StatusList
from issuer.platform.cache import LRUCache, app_cache, document_loader
from issuer.platform.database import SessionLike
from issuer.status_lists import lists
from issuer.verification import registry
from issuer.verification.inputs import digest

#: Status-list documents whose own proof was checked, by the digest of their JSON: the same content, the same answer.
LIST_PROOF_CACHE_SIZE = 256
URN_UUID = "urn:uuid:"


def verify_list_credential(session: SessionLike, list_credential: dict[str, Any]) -> bool:
    """Whether a BitstringStatusListCredential's own proof verifies (cached by content)."""
    cache: LRUCache[str, bool] = app_cache("verification.list_proofs", LIST_PROOF_CACHE_SIZE)
    key = digest(list_credential)  # compact C-encoded JSON + SHA-256: cheaper than the indented text, and small
    cached = cache.get(key)
    if cached is not None:
        return cached
    result = run_verifier(list_credential, document_loader=document_loader(), resolver=resolver(session))
    ok = any(c.name == "proof" and c.ok for c in result.checks) and not any(c.ok is False for c in result.checks)
    cache.put(key, ok)
    return ok


def _own_suspension_entry(session: SessionLike, credential: dict[str, Any]) -> dict[str, Any] | None:
    """The suspension entry of a credential this service issued (kept in the database, see issuance): a level
    credential (``{base}/credentials/<uuid>``) or a wallet delivery of one (``urn:uuid:<uuid>``, naming this
    service as issuer)."""
    credential_id = credential.get("id")
    prefix = f"{base_url()}/credentials/"
    if not isinstance(credential_id, str):
        return None
    if credential_id.startswith(prefix):
        text = credential_id[len(prefix):]
    elif credential_id.startswith(URN_UUID) and registry.issuer_id(credential) == issuer_did():
        text = credential_id[len(URN_UUID):]
    else:
        return None
    try:
        key = uuid.UUID(text)
    except ValueError:
        return None
    row = session.scalars(select(StatusEntry).filter_by(credential_id=key, purpose="suspension")).one_or_none()
    if row is None:
        return None
    status_list = session.get_one(StatusList, row.list_id)  # the entry's foreign key: it exists
    return bsl.status_entry(list_url=lists.list_url(status_list), purpose="suspension", index=row.index)


def checker(session: SessionLike, *, seen: dict[uuid.UUID, lists.ListState | None] | None = None) -> Any:
    """A status checker for the verifier: reads this service's lists from the database, never over HTTP.

    Each list is read once per checker, and its state goes into ``seen`` (None: no such list), so that whoever
    caches the answer knows exactly which lists, in which state, it rests on.
    """
    prefix = f"{base_url()}/status/"
    read: dict[uuid.UUID, lists.PublishedList | None] = {}

    def read_list(public_id: uuid.UUID) -> lists.PublishedList | None:
        if public_id not in read:
            try:
                read[public_id] = lists.signed_list(session, public_id)
            except lists.NotSigned:
                if seen is not None:
                    seen[public_id] = None  # never the state of the row: an answer cached on it is not reused
                raise
            if seen is not None:
                published = read[public_id]
                seen[public_id] = published.state if published is not None else None
        return read[public_id]

    def read_entry(entry: Any) -> tuple[str, Any]:  # noqa: PLR0911 (one answer per way an entry can fail, in order)
        """("unchecked" | "error" | "ok", detail)."""
        url = entry.get("statusListCredential") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url.startswith(prefix):
            return "unchecked", url
        try:
            public_id = uuid.UUID(url[len(prefix):])
        except ValueError:
            return "error", f"unknown status list {url}"
        try:
            published = read_list(public_id)
        except lists.NotSigned:
            return "error", f"the status list {url} is not signed yet"
        if published is None:
            return "error", f"unknown status list {url}"
        list_credential = json.loads(published.document)
        if not verify_list_credential(session, list_credential):
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
        checked = []
        for entry in entries:
            state, detail = read_entry(entry)
            if state == "unchecked":
                continue
            if state == "error":
                return Check("status", False, detail)
            if detail.set:
                verb = "revoked" if detail.purpose == "revocation" else "suspended"
                return Check("status", False, f"the issuer has {verb} this credential")
            checked.append(detail.purpose)
        if not checked:
            return Check("status", None,
                         "status is published by another issuer and was not checked (nothing is fetched)")
        return Check("status", True,
                     " and ".join(f"not {'revoked' if p == 'revocation' else 'suspended'}" for p in checked))

    return check
