"""The trust list: which issuers the verifier recognises besides this service, and by what name.

"Verified" means issued by a recognised issuer. This service is always recognised, under its configured name; any
other issuer only when an administrator put it on the trust list, by hand or from an issuer registry in the Digital
Credentials Consortium's format. Issuer ids are compared as exact strings: a look-alike id (another case in its
percent-encoding, another path) is another issuer. Pages show the name recorded here, never the name a credential
declares for itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from issuer.credentials import dids, jsonparse
from issuer.credentials.errors import CredentialError
from issuer.errors import Conflict, InvalidInput, NotFound
from issuer.identity.profile import issuer_did
from issuer.models import TrustedIssuer, User, utcnow
from issuer.platform import audit
from issuer.platform.database import SessionLike

MAX_ID = 2000
MAX_NAME = 200
#: A registry file bigger than this is refused before it is read.
MAX_REGISTRY_BYTES = 2 * 1024 * 1024
MAX_REGISTRY_ENTRIES = 10_000

_DID = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%\-]+$")
_URL = re.compile(r"^https://[^\s/?#]+(/[^\s]*)?$")


def check_issuer_id(value: str) -> str:
    """An issuer id as credentials carry it: a DID, or an https URL. Returned unchanged (never normalised)."""
    if not isinstance(value, str) or not value:
        raise InvalidInput("Give the issuer's id: a DID such as did:web:example.org, or an https:// URL.")
    if len(value) > MAX_ID:
        raise InvalidInput(f"The issuer id is longer than {MAX_ID} characters.")
    if not (_DID.match(value) or _URL.match(value)):
        raise InvalidInput(f"{value!r} is not an issuer id: use a DID (did:method:…) or an https:// URL, "
                           "exactly as credentials carry it.")
    return value


def _check_name(value: object, what: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"Give the issuer's {what}.")
    value = " ".join(value.split())
    if len(value) > MAX_NAME:
        raise InvalidInput(f"The issuer's {what} is longer than {MAX_NAME} characters.")
    return value


def _check_url(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^\s]+$", value) or len(value) > MAX_ID:
        raise InvalidInput(f"{value!r} is not a web address (http:// or https://).")
    return value


#: The largest DID document kept for a trusted issuer.
MAX_DID_DOCUMENT_BYTES = 64 * 1024


def check_did_document(issuer_id: str, data: bytes | None) -> dict[str, Any] | None:
    """A did:web issuer's DID document, read strictly and checked to describe ``issuer_id`` with usable keys.

    :raise InvalidInput: not JSON, not this issuer's document, or no key in it can verify an assertion.
    """
    if data is None:
        return None
    try:
        document = jsonparse.loads(data, max_bytes=MAX_DID_DOCUMENT_BYTES)
    except CredentialError as error:
        raise InvalidInput(f"The DID document is not valid JSON: {error}") from None
    if not isinstance(document, dict) or document.get("id") != issuer_id:
        raise InvalidInput(f"The DID document must be a JSON object whose \"id\" is {issuer_id}, exactly.")
    resolver = dids.KeyResolver(known_documents=[document], allow_fragment_shortcut=False)
    methods = [m for m in document.get("assertionMethod", []) if isinstance(m, (str, dict))]
    usable = 0
    for method in methods:
        method_id = method if isinstance(method, str) else method.get("id")
        try:
            resolver.resolve(str(method_id))
            usable += 1
        except CredentialError:
            continue
    if not usable:
        raise InvalidInput("The DID document lists no usable assertionMethod key (Multikey or JsonWebKey).")
    return document


def trusted_documents(session: SessionLike) -> list[dict[str, Any]]:
    """The DID documents held for trusted issuers: the verifier resolves their keys from these, never the network."""
    return [document for document in session.scalars(
        select(TrustedIssuer.did_document).where(TrustedIssuer.did_document.is_not(None))) if document]


def trusted_issuers(session: SessionLike) -> list[TrustedIssuer]:
    return list(session.scalars(select(TrustedIssuer).order_by(TrustedIssuer.name, TrustedIssuer.issuer_id)))


def add(session: SessionLike, *, issuer_id: str, name: str, url: str | None = None, actor: User | None = None,
        source: str = "manual", did_document: bytes | None = None) -> TrustedIssuer:
    """Put an issuer on the trust list. Flushes; audited.

    :raise InvalidInput: the id, name or URL is malformed, or the id is this service's own.
    :raise Conflict: the issuer is on the list already.
    """
    issuer_id = check_issuer_id(issuer_id)
    if issuer_id == issuer_did():
        raise InvalidInput("This service's own DID is always recognised; it is not put on the trust list.")
    entry = TrustedIssuer(issuer_id=issuer_id, name=_check_name(name), url=_check_url(url), source=source,
                          did_document=check_did_document(issuer_id, did_document),
                          added_at=utcnow(), added_by_id=actor.id if actor is not None else None)
    try:
        with session.begin_nested():  # the unique id decides, also between concurrent requests
            session.add(entry)
            session.flush()
    except IntegrityError:
        raise Conflict(f"{issuer_id} is on the trust list already.") from None
    audit.record(session, "trust.added", actor=actor, subject_type="issuer", subject_id=issuer_id,
                 name=entry.name, source=source)
    return entry


def remove(session: SessionLike, *, issuer_id: str, actor: User | None = None) -> TrustedIssuer:
    """Take an issuer off the trust list: its credentials no longer verify here. Flushes; audited.

    :raise NotFound: the issuer is not on the list.
    """
    entry = session.scalars(select(TrustedIssuer).filter_by(issuer_id=issuer_id)).one_or_none()
    if entry is None:
        raise NotFound(f"{issuer_id} is not on the trust list.")
    session.delete(entry)
    session.flush()
    audit.record(session, "trust.removed", actor=actor, subject_type="issuer", subject_id=issuer_id, name=entry.name)
    return entry


@dataclass(frozen=True)
class RegistryImport:
    registry: str
    added: int
    updated: int
    unchanged: int


def parse_registry(data: bytes) -> dict[str, dict[str, str | None]]:
    """Read an issuer registry in the Digital Credentials Consortium's format.

    ``{"meta": {...}, "registry": {"<DID>": {"name": …, "location": …, "url": …}, …}}`` (older files call the map
    ``entries``). Every entry is checked; one bad entry refuses the whole file, naming it.
    """
    if len(data) > MAX_REGISTRY_BYTES:
        raise InvalidInput(f"The registry file is larger than {MAX_REGISTRY_BYTES // (1024 * 1024)} MB.")
    try:
        document = jsonparse.loads(data, max_bytes=MAX_REGISTRY_BYTES)
    except CredentialError as error:
        raise InvalidInput(f"The registry file is not valid JSON: {error}") from None
    if not isinstance(document, Mapping):
        raise InvalidInput("The registry file must be a JSON object with a \"registry\" map of issuer DIDs.")
    entries = document.get("registry", document.get("entries"))
    if not isinstance(entries, Mapping) or not entries:
        raise InvalidInput("The registry file has no \"registry\" (or \"entries\") map of issuer DIDs to names.")
    if len(entries) > MAX_REGISTRY_ENTRIES:
        raise InvalidInput(f"The registry holds more than {MAX_REGISTRY_ENTRIES} issuers.")
    parsed: dict[str, dict[str, str | None]] = {}
    for issuer_id, entry in entries.items():
        try:
            parsed[issuer_id] = _registry_entry(issuer_id, entry)
        except InvalidInput as error:
            raise InvalidInput(f"Registry entry {issuer_id[:100]!r}: {error.message}") from None
    return parsed


def _registry_entry(issuer_id: str, entry: Any) -> dict[str, str | None]:
    check_issuer_id(issuer_id)
    if not isinstance(entry, Mapping):
        raise InvalidInput("the entry is not an object")
    return {"name": _check_name(entry.get("name")), "url": _check_url(entry.get("url"))}


def import_registry(session: SessionLike, data: bytes, *, registry: str,
                    actor: User | None = None) -> RegistryImport:
    """Add or refresh every issuer of a registry file on the trust list. Entries added by hand are left as they are;
    the same file twice changes nothing. Flushes; audited.
    """
    registry = _check_name(registry, "registry name")
    entries = parse_registry(data)
    source = f"registry:{registry}"
    own = issuer_did()
    existing = {e.issuer_id: e for e in session.scalars(
        select(TrustedIssuer).where(TrustedIssuer.issuer_id.in_(list(entries))))}
    added = updated = unchanged = 0
    for issuer_id, entry in entries.items():
        row = existing.get(issuer_id)
        if issuer_id == own:
            unchanged += 1
        elif row is None:
            session.add(TrustedIssuer(issuer_id=issuer_id, name=entry["name"], url=entry["url"], source=source,
                                      added_at=utcnow(), added_by_id=actor.id if actor is not None else None))
            added += 1
        elif row.source == source and (row.name, row.url) != (entry["name"], entry["url"]):
            # a new row, not an edit: the list's (count, highest id) is what cached answers compare
            session.delete(row)
            session.flush()
            session.add(TrustedIssuer(issuer_id=issuer_id, name=entry["name"], url=entry["url"], source=source,
                                      added_at=utcnow(), added_by_id=actor.id if actor is not None else None))
            updated += 1
        else:
            unchanged += 1
    session.flush()
    audit.record(session, "trust.registry_imported", actor=actor, subject_type="registry", subject_id=registry,
                 added=added, updated=updated, unchanged=unchanged)
    return RegistryImport(registry=registry, added=added, updated=updated, unchanged=unchanged)


_TRUSTED_NAME = select(TrustedIssuer.name)


def recogniser(session: SessionLike) -> Callable[[str], str | None]:
    """issuer id → the name this service knows it by (its own, or the trust list's), or None if not recognised."""
    own, own_name = issuer_did(), str(current_app.config["ISSUER_NAME"])
    seen: dict[str, str | None] = {}

    def recognise(issuer_id: str) -> str | None:
        if issuer_id == own:
            return own_name
        if issuer_id not in seen:
            seen[issuer_id] = session.scalar(_TRUSTED_NAME.where(TrustedIssuer.issuer_id == issuer_id))
        return seen[issuer_id]

    return recognise


def describe(entries: list[TrustedIssuer]) -> list[dict[str, Any]]:
    return [{"issuerId": e.issuer_id, "name": e.name, "url": e.url, "source": e.source,
             "addedAt": e.added_at.isoformat()} for e in entries]
