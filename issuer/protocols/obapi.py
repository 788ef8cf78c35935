"""The Open Badges 3.0 API (OB 3.0 section 6): its service description, the user's credentials and profile.

The views (``issuer.web.obapi``) parse the request, check the OAuth 2.0 scope and answer; what the API
does is here. Refusals are ``ObApiError``, which the views answer as an ``imsx_StatusInfo`` document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import uuid
from typing import Any
from urllib.parse import urlencode

from flask import current_app, url_for
from sqlalchemy import select

from issuer.accounts import directory
from issuer.credentials.credential import identity_hash
from issuer.identity.profile import base_url
from issuer.issuance.signing import serialize
from issuer.models import Credential, User
from issuer.models.base import utcnow
from issuer.models.oauth import HeldCredential
from issuer.platform.database import SessionLike
from issuer.protocols import oauth
from issuer.verification import verifier

API_PREFIX = "/ims/ob/v3p0"
MAX_UPLOAD_BYTES = 1_000_000
MAX_PROFILE_NAME = 200  # the size of the users.name column
#: OB 3.0 OpenAPI: "A String in Compact JWS format"
COMPACT_JWS = re.compile(r"^[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]*\.[a-zA-Z0-9_-]+$")
MINOR_BY_STATUS = {400: "invalid_data", 401: "unauthorizedrequest", 403: "forbidden", 404: "not_found",
                   405: "not_allowed", 406: "not_acceptable", 413: "invalid_data", 415: "invalid_data",
                   500: "internal_server_error"}


class ObApiError(Exception):
    """A request the API refuses: its HTTP status, its description and, if not the status's own, its minor code."""

    def __init__(self, status: int, description: str, *, minor: str | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.minor = minor


def status_info(status: int, description: str, *, minor: str | None = None) -> dict[str, Any]:
    """An OB 3.0 ``imsx_StatusInfo`` error (imsx_codeMajor and imsx_severity are required)."""
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_codeMinor": {"imsx_codeMinorField": [{
            "imsx_codeMinorFieldName": "TargetEndSystem",
            "imsx_codeMinorFieldValue": minor or MINOR_BY_STATUS.get(status, "unknown"),
        }]},
    }


# --- discovery -------------------------------------------------------------------------------------------------
def service_description() -> dict[str, Any]:
    """The Service Description Document: the OB 3.0 OpenAPI, profiled to what this service offers.

    Schemas of the payloads are referenced at their canonical 1EdTech URLs rather than copied.
    """
    base = base_url()
    schema_base = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
    status_info = {"$ref": "#/components/schemas/Imsx_StatusInfo"}
    errors = {str(code): {"description": text, "content": {"application/json": {"schema": status_info}}}
              for code, text in ((400, "Bad request"), (401, "No valid access token"), (403, "Scope not granted"),
                                 (405, "Method not allowed"), (500, "Server error"))}
    credential_schema = {"$ref": schema_base + "ob_v3p0_achievementcredential_schema.json"}
    jws = {"type": "string", "pattern": COMPACT_JWS.pattern}
    profile_schema = {"$ref": schema_base + "ob_v3p0_profile_schema.json"}

    def secured(scope: str) -> list[dict[str, list[str]]]:
        return [{"OAuth2ACG": [scope]}]

    return {
        "openapi": "3.0.1",
        "info": {
            "title": str(current_app.config["ISSUER_NAME"]),
            "description": "Open Badges 3.0 API of this issuer",
            "termsOfService": base + "/",
            "x-imssf-privacyPolicyUrl": base + "/",
            "x-imssf-image": base + "/issuer/logo.png",
            "version": "3.0",
        },
        "servers": [{"url": base + API_PREFIX, "description": "This service"}],
        "tags": [{"name": "OpenBadgeCredentials"}, {"name": "Discovery"}],
        "paths": {
            "/credentials": {
                "get": {
                    "tags": ["OpenBadgeCredentials"], "operationId": "getCredentials",
                    "parameters": [
                        {"name": "limit", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1}},
                        {"name": "offset", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 0}},
                        {"name": "since", "in": "query", "required": False,
                         "schema": {"type": "string", "format": "date-time"}},
                    ],
                    "responses": {"200": {
                        "description": "The credentials of the authenticated entity",
                        "headers": {"X-Total-Count": {"schema": {"type": "integer"}}},
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/GetOpenBadgeCredentialsResponse"}}},
                    }, **errors},
                    "security": secured(oauth.SCOPE_CREDENTIAL_READONLY),
                },
                "post": {
                    "tags": ["OpenBadgeCredentials"], "operationId": "upsertCredential",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": credential_schema},
                                                                  "text/plain": {"schema": jws}}},
                    "responses": {
                        "200": {"description": "Replaced",
                                "content": {"application/json": {"schema": credential_schema},
                                            "text/plain": {"schema": jws}}},
                        "201": {"description": "Created", "content": {"application/json": {"schema": credential_schema},
                                                                      "text/plain": {"schema": jws}}},
                        "304": {"description": "Already held, unchanged"},
                        **errors,
                    },
                    "security": secured(oauth.SCOPE_CREDENTIAL_UPSERT),
                },
            },
            "/profile": {
                "get": {"tags": ["OpenBadgeCredentials"], "operationId": "getProfile",
                        "responses": {"200": {"description": "The profile",
                                              "content": {"application/json": {"schema": profile_schema}}}, **errors},
                        "security": secured(oauth.SCOPE_PROFILE_READONLY)},
                "put": {"tags": ["OpenBadgeCredentials"], "operationId": "putProfile",
                        "requestBody": {"required": True, "content": {"application/json": {"schema": profile_schema}}},
                        "responses": {"200": {"description": "The updated profile",
                                              "content": {"application/json": {"schema": profile_schema}}}, **errors},
                        "security": secured(oauth.SCOPE_PROFILE_UPDATE)},
            },
            "/discovery": {
                "get": {"tags": ["Discovery"], "operationId": "getServiceDescription",
                        "responses": {"200": {"description": "This document",
                                              "content": {"application/json": {"schema": {"type": "object"}}}}}},
            },
        },
        "components": {
            "securitySchemes": {
                "OAuth2ACG": {
                    "type": "oauth2",
                    "description": "OAuth 2.0 Authorization Code Grant with PKCE (S256)",
                    "x-imssf-registrationUrl": base + url_for("oauth.register"),
                    "flows": {"authorizationCode": {
                        "authorizationUrl": base + url_for("oauth.authorize"),
                        "tokenUrl": base + url_for("oauth.token"),
                        "refreshUrl": base + url_for("oauth.token"),
                        "scopes": dict(oauth.SCOPES),
                    }},
                },
            },
            "schemas": {
                "GetOpenBadgeCredentialsResponse": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"credential": {"type": "array", "items": credential_schema},
                                   "compactJwsString": {"type": "array", "items": jws}},
                },
                "Imsx_StatusInfo": {
                    "type": "object", "required": ["imsx_codeMajor", "imsx_severity"],
                    "properties": {
                        "imsx_codeMajor": {"type": "string",
                                           "enum": ["failure", "processing", "success", "unsupported"]},
                        "imsx_severity": {"type": "string", "enum": ["error", "status", "warning"]},
                        "imsx_description": {"type": "string"},
                        "imsx_codeMinor": {"type": "object"},
                    },
                },
            },
        },
    }


# --- credentials -----------------------------------------------------------------------------------------------
def _query_int(args: Any, name: str, minimum: int) -> int | None:
    raw = args.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < minimum or int(raw) > 2**31 - 1:
        raise ObApiError(400, f"'{name}' must be an integer of at least {minimum}", minor="invalid_query_parameter")
    return int(raw)


def _parse_since(raw: str | None) -> dt.datetime | None:
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ObApiError(400, "'since' must be an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss)",
                         minor="invalid_query_parameter") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # an offset that takes year 1 or year 9999 out of range: the edge it went past
        return dt.datetime.min.replace(tzinfo=dt.UTC) if value.year == 1 else dt.datetime.max.replace(tzinfo=dt.UTC)


def paging(args: Any) -> tuple[int | None, int, dt.datetime | None]:
    """(limit, offset, since) from getCredentials' query parameters."""
    limit = _query_int(args, "limit", 1)
    offset = _query_int(args, "offset", 0) or 0
    return limit, offset, _parse_since(args.get("since"))


def credentials_of(session: SessionLike, user: User, *, limit: int | None, offset: int,
                   since: dt.datetime | None) -> tuple[str, int]:
    """getCredentials: the user's issued credentials, then the ones they uploaded, oldest first.

    Returns the response body and the total count. Stored texts go out byte for byte: re-serializing a signed
    document could change its numbers.
    """
    issued = select(Credential).filter_by(therapist_id=user.id)
    held = select(HeldCredential).filter_by(user_id=user.id)
    if since is not None:
        issued = issued.where(Credential.issued_at > since)
        held = held.where(HeldCredential.created_at > since)
    items: list[tuple[dt.datetime, str, str]] = [  # (time, "ldp"/"jwt", content)
        (credential.issued_at, "ldp", credential.document) for credential in session.scalars(issued)]
    items.extend((item.created_at, "jwt" if item.format == "jwt_vc" else "ldp", item.content)
                 for item in session.scalars(held))
    items.sort(key=lambda i: i[0])
    page = items[offset:offset + limit] if limit is not None else items[offset:]
    documents = [content for _, kind, content in page if kind == "ldp"]
    tokens = [content for _, kind, content in page if kind == "jwt"]
    body = '{"credential": [' + ", ".join(documents) + '], "compactJwsString": ' + json.dumps(tokens) + "}"
    return body, len(items)


def paging_links(*, total: int, limit: int, offset: int, since: str | None) -> str:
    """RFC 8288 links (OB 3.0 getCredentials: next, last, first, prev)."""

    def link(rel: str, page_offset: int) -> str:
        params = {"limit": limit, "offset": page_offset, **({"since": since} if since else {})}
        return f'<{base_url()}{API_PREFIX}/credentials?{urlencode(params)}>; rel="{rel}"'

    last = max(0, ((total - 1) // limit) * limit) if total else 0
    links = []
    if offset + limit < total:
        links.append(link("next", offset + limit))
    links.append(link("last", last))
    links.append(link("first", 0))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    return ", ".join(links)


def hold_credential(session: SessionLike, user: User, data: str | dict[str, Any]) -> tuple[int, str, str]:
    """upsertCredential: check, then keep for ``user``. Returns (status, content, format): 201 new, 200 replaced,
    304 identical. Flushes only.

    ``data`` is the parsed JSON body (a credential) or the text/plain body (a compact JWS). A credential is kept
    only when it verifies here (so its issuer is this service, exactly as issued, or one on the trust list) and
    its subject is ``user``; a JSON credential is kept as its canonical serialization, not as the bytes sent.

    :raise ObApiError: the body is too large, not a credential in either format, does not verify, or is someone
        else's.
    """
    if isinstance(data, dict):
        fmt = "ldp_vc"
    elif isinstance(data, str):
        if len(data.encode("utf-8", "surrogatepass")) > MAX_UPLOAD_BYTES:
            raise ObApiError(413, "The credential is larger than 1 MB.")
        data = data.strip()
        if not COMPACT_JWS.match(data):
            raise ObApiError(400, "The body must be a credential in Compact JWS format.")
        fmt = "jwt_vc"
    else:
        raise ObApiError(400, "The body must be a credential (a JSON object).")
    verification = verifier.verify_any(session, data)
    if not verification.verified:
        raise ObApiError(400, "The credential does not verify: " + (verification.summary or "unreadable"))
    credential = verifier.read_document(data) or {}  # answers keep no document: read it again here
    refusal = subject_refusal(user, credential)
    if refusal:
        raise ObApiError(400, refusal)
    content = serialize(data) if isinstance(data, dict) else data
    content_hash = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()
    credential_id = credential.get("id")
    # OB 3.0 "credential equality": the same credential is the one with the same id.
    key = str(credential_id)[:500] if credential_id else "sha256:" + content_hash
    existing = session.scalars(select(HeldCredential).filter_by(user_id=user.id, credential_key=key)).one_or_none()
    now = utcnow()
    if existing is not None and existing.content_hash == content_hash:
        return 304, content, fmt
    if existing is not None:
        existing.format, existing.content, existing.content_hash, existing.updated_at = fmt, content, content_hash, now
        status = 200
    else:
        session.add(HeldCredential(user_id=user.id, credential_key=key, format=fmt, content=content,
                                   content_hash=content_hash, created_at=now, updated_at=now))
        status = 201
    session.flush()
    return status, content, fmt


def subject_refusal(user: User, credential: dict[str, Any]) -> str | None:
    """Why ``credential`` is not ``user``'s (None when it is).

    Its ``credentialSubject`` must be one object that names the user: its ``id`` is the user's DID, profile id or
    stable subject id (``urn:uuid:``, as this service's credentials name the therapist),
    or one of its ``identifier`` IdentityObjects is the user's e-mail address (OB 3.0 ``identityHash``: hashed
    with the salt the credential publishes, as ``issuer.credentials.credential`` builds it, or in clear).
    """
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        return "The credential must have one credentialSubject object."
    subject_id = subject.get("id")
    if isinstance(subject_id, str) and subject_id in {user.did, user.subject_urn, profile_of(user)["id"]} - {None, ""}:
        return None
    identifiers = subject.get("identifier")
    for identity in identifiers if isinstance(identifiers, list) else [identifiers]:
        if not isinstance(identity, dict) or identity.get("identityType") != "emailAddress":
            continue
        claimed, salt = identity.get("identityHash"), identity.get("salt")
        if not isinstance(claimed, str):
            continue
        if identity.get("hashed") is True:
            if isinstance(salt, str) and hmac.compare_digest(claimed, identity_hash(user.email, salt)):
                return None
        elif claimed.strip().lower() == user.email.lower():
            return None
    return ("The credential is not yours: its credentialSubject.id is not your DID or profile id, "
            "and no identifier in it is your e-mail address.")


# --- profile ---------------------------------------------------------------------------------------------------
def profile_of(user: User) -> dict[str, Any]:
    """The authenticated entity's OB 3.0 Profile."""
    if user.did:
        profile_id = user.did
    elif user.handle and user.public_profile:
        profile_id = f"{base_url()}/u/{user.handle}"
    else:
        profile_id = "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url()}/users/{user.id}"))
    return {"id": profile_id, "type": ["Profile"], "name": user.name, "email": user.email}



def update_profile(user: User, body: Any) -> None:
    """putProfile. Only ``name`` can change here; the e-mail address is the sign-in name and stays.

    :raise ObApiError: the body is not a Profile, or its name is not acceptable.
    """
    if not isinstance(body, dict):
        raise ObApiError(400, "The body must be a Profile (a JSON object).")
    types = body.get("type")
    if "Profile" not in (types if isinstance(types, list) else [types]):
        raise ObApiError(400, "The body must be a Profile ('type' includes \"Profile\").")
    name = body.get("name")
    if name is not None:
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_PROFILE_NAME:
            raise ObApiError(400, f"'name' must be a non-empty string of at most {MAX_PROFILE_NAME} characters.")
        if directory.NAME_CONTROL_CHARACTERS.search(name.strip()):
            raise ObApiError(400, "'name' must not contain control characters.")
        user.name = name.strip()
