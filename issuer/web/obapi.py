"""The Open Badges 3.0 API (``/ims/ob/v3p0``), its OAuth 2.0 endpoints, and OID4VCI issuance to wallets.

OB 3.0 section 6 (API) and 7 (Security): discovery is open; ``/credentials`` and ``/profile`` take OAuth 2.0
access tokens with the OB scopes; errors are ``imsx_StatusInfo``. The OAuth protocol itself is Authlib's
(``issuer.protocols.oauth``); the views here only sign the user in, ask for consent and hand requests to it.
OID4VCI 1.0: issuer metadata, credential offers with a pre-authorized code, and the credential endpoint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode

from authlib.oauth2 import OAuth2Error
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from wtforms import SubmitField

from issuer.protocols import oauth
from issuer.badges import qr_svg_inline
from issuer.errors import IssuerError, error_response
from issuer.extensions import db
from issuer.models import Credential, User
from issuer.models.base import utcnow
from issuer.models.oauth import CredentialOffer, HeldCredential, OAuthToken, secret_hash
from issuer.verification import verifier

bp = Blueprint("obapi", __name__)

API_PREFIX = "/ims/ob/v3p0"
MAX_UPLOAD_BYTES = 1_000_000
#: OB 3.0 OpenAPI: "A String in Compact JWS format"
COMPACT_JWS = re.compile(r"^[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]*\.[a-zA-Z0-9_-]+$")
OB_CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
OB_TYPE = ["VerifiableCredential", "OpenBadgeCredential"]
#: OID4VCI credential_configurations_supported keys
CONFIG_LDP_VC = "OpenBadgeCredential_ldp_vc"
CONFIG_JWT_VC_JSON = "OpenBadgeCredential_jwt_vc_json"


def base_url() -> str:
    return str(current_app.config["ISSUER_BASE_URL"])


# --- imsx_StatusInfo errors ------------------------------------------------------------------------------------
MINOR_BY_STATUS = {400: "invalid_data", 401: "unauthorizedrequest", 403: "forbidden", 404: "not_found",
                   405: "not_allowed", 406: "not_acceptable", 413: "invalid_data", 415: "invalid_data",
                   500: "internal_server_error"}


def imsx(status: int, description: str, *, minor: str | None = None,
         headers: dict[str, str] | None = None) -> Response:
    """An OB 3.0 ``imsx_StatusInfo`` error (imsx_codeMajor and imsx_severity are required)."""
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_codeMinor": {"imsx_codeMinorField": [{
            "imsx_codeMinorFieldName": "TargetEndSystem",
            "imsx_codeMinorFieldValue": minor or MINOR_BY_STATUS.get(status, "unknown"),
        }]},
    }
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if request.path.startswith(API_PREFIX):
        return imsx(status, error.description or error.name)
    if request.path.startswith("/oid4vci/"):
        return Response(json.dumps({"error": "invalid_request", "error_description": error.description}),
                        status=status, mimetype="application/json")
    return error_response(status, (error.name or "error").lower().replace(" ", "_"), error.description or error.name)


@bp.errorhandler(IssuerError)
def _issuer_error(error: IssuerError) -> Response:
    if request.path.startswith(API_PREFIX):
        return imsx(error.status_code, error.message)
    return error_response(error.status_code, error.code, error.message)


def require_scope(scope: str) -> Callable[[Callable[..., ResponseReturnValue]], Callable[..., ResponseReturnValue]]:
    """An OAuth 2.0 bearer token with ``scope``: 401 without a valid token, 403 with too little scope."""

    def decorator(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            try:
                oauth.resource_protector.acquire_token([scope])
            except OAuth2Error as error:
                status = error.status_code or 401
                headers = dict(error.get_headers())
                headers.pop("Content-Type", None)
                if status == 401 and (error.error == "missing_authorization" or "WWW-Authenticate" not in headers):
                    headers["WWW-Authenticate"] = 'Bearer realm="issuer"'  # RFC 6750 3.1: no error code here
                return imsx(status, error.description or error.error or "unauthorized", headers=headers)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def token_user() -> User:
    from authlib.integrations.flask_oauth2 import current_token

    token: OAuthToken = current_token._get_current_object()  # type: ignore[attr-defined]
    return token.user


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
                        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
                        {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
                        {"name": "since", "in": "query", "required": False, "schema": {"type": "string", "format": "date-time"}},
                    ],
                    "responses": {"200": {
                        "description": "The credentials of the authenticated entity",
                        "headers": {"X-Total-Count": {"schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GetOpenBadgeCredentialsResponse"}}},
                    }, **errors},
                    "security": secured(oauth.SCOPE_CREDENTIAL_READONLY),
                },
                "post": {
                    "tags": ["OpenBadgeCredentials"], "operationId": "upsertCredential",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": credential_schema},
                                                                  "text/plain": {"schema": jws}}},
                    "responses": {
                        "200": {"description": "Replaced", "content": {"application/json": {"schema": credential_schema},
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
                    "x-imssf-registrationUrl": base + url_for("obapi.register"),
                    "flows": {"authorizationCode": {
                        "authorizationUrl": base + url_for("obapi.authorize"),
                        "tokenUrl": base + url_for("obapi.token"),
                        "refreshUrl": base + url_for("obapi.token"),
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
                        "imsx_codeMajor": {"type": "string", "enum": ["failure", "processing", "success", "unsupported"]},
                        "imsx_severity": {"type": "string", "enum": ["error", "status", "warning"]},
                        "imsx_description": {"type": "string"},
                        "imsx_codeMinor": {"type": "object"},
                    },
                },
            },
        },
    }


@bp.get(API_PREFIX + "/discovery")
def discovery() -> ResponseReturnValue:
    """OB 3.0 6.3: the Service Description Document; MUST NOT be protected."""
    return Response(json.dumps(service_description()), mimetype="application/json")


# --- credentials -----------------------------------------------------------------------------------------------
def _query_int(name: str, minimum: int) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < minimum or int(raw) > 2**31 - 1:
        raise _BadQuery(f"'{name}' must be an integer of at least {minimum}")
    return int(raw)


class _BadQuery(Exception):
    pass


def _parse_since(raw: str | None) -> dt.datetime | None:
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise _BadQuery("'since' must be an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss)") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@bp.get(API_PREFIX + "/credentials")
@require_scope(oauth.SCOPE_CREDENTIAL_READONLY)
def get_credentials() -> ResponseReturnValue:
    """getCredentials: the user's issued credentials, then the ones they uploaded, oldest first."""
    try:
        limit = _query_int("limit", 1)
        offset = _query_int("offset", 0) or 0
        since = _parse_since(request.args.get("since"))
    except _BadQuery as error:
        return imsx(400, str(error), minor="invalid_query_parameter")
    user = token_user()
    issued = select(Credential).filter_by(therapist_id=user.id)
    held = select(HeldCredential).filter_by(user_id=user.id)
    if since is not None:
        issued = issued.where(Credential.issued_at > since)
        held = held.where(HeldCredential.created_at > since)
    items: list[tuple[dt.datetime, str, str]] = []  # (time, "ldp"/"jwt", content)
    for credential in db.session.scalars(issued):
        items.append((credential.issued_at, "ldp", credential.document))
    for item in db.session.scalars(held):
        items.append((item.created_at, "jwt" if item.format == "jwt_vc" else "ldp", item.content))
    items.sort(key=lambda i: i[0])
    total = len(items)
    page = items[offset:offset + limit] if limit is not None else items[offset:]
    documents = [content for _, kind, content in page if kind == "ldp"]
    tokens = [content for _, kind, content in page if kind == "jwt"]
    # Stored texts go out byte for byte: re-serializing a signed document could change its numbers.
    body = '{"credential": [' + ", ".join(documents) + '], "compactJwsString": ' + json.dumps(tokens) + "}"
    response = Response(body, mimetype="application/json")
    response.headers["X-Total-Count"] = str(total)
    if limit is not None:
        response.headers["Link"] = _paging_links(total=total, limit=limit, offset=offset)
    return response


def _paging_links(*, total: int, limit: int, offset: int) -> str:
    """RFC 8288 links (OB 3.0 getCredentials: next, last, first, prev)."""
    since = request.args.get("since")

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


@bp.post(API_PREFIX + "/credentials")
@require_scope(oauth.SCOPE_CREDENTIAL_UPSERT)
def upsert_credential() -> ResponseReturnValue:
    """upsertCredential: verify, then keep for the token's user. 201 new, 200 replaced, 304 identical."""
    if (request.content_length or 0) > MAX_UPLOAD_BYTES:
        return imsx(413, "The credential is larger than 1 MB.")
    raw = request.get_data(as_text=True)
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_UPLOAD_BYTES:
        return imsx(413, "The credential is larger than 1 MB.")
    mimetype = request.mimetype
    data: str | dict[str, Any]
    if mimetype == "application/json":
        try:
            data = json.loads(raw)
        except ValueError:
            return imsx(400, "The body is not JSON.")
        if not isinstance(data, dict):
            return imsx(400, "The body must be a credential (a JSON object).")
        fmt = "ldp_vc"
    elif mimetype == "text/plain":
        data = raw.strip()
        if not COMPACT_JWS.match(data):
            return imsx(400, "The body must be a credential in Compact JWS format.")
        fmt = "jwt_vc"
    else:
        return imsx(415, "Send application/json (a credential) or text/plain (a compact JWS).")
    verification = verifier.verify_any(db.session, data)
    if not verification.verified:
        return imsx(400, "The credential does not verify: " + (verification.summary or "unreadable"))
    content = raw if fmt == "ldp_vc" else str(data)
    content_hash = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()
    credential_id = (verification.credential or {}).get("id") if isinstance(verification.credential, dict) else None
    # OB 3.0 "credential equality": the same credential is the one with the same id.
    key = str(credential_id)[:500] if credential_id else "sha256:" + content_hash
    user = token_user()
    existing = db.session.scalars(select(HeldCredential).filter_by(user_id=user.id, credential_key=key)).one_or_none()
    now = utcnow()
    if existing is not None and existing.content_hash == content_hash:
        return Response(status=304)
    if existing is not None:
        existing.format, existing.content, existing.content_hash, existing.updated_at = fmt, content, content_hash, now
        status = 200
    else:
        db.session.add(HeldCredential(user_id=user.id, credential_key=key, format=fmt, content=content,
                                      content_hash=content_hash, created_at=now, updated_at=now))
        status = 201
    db.session.commit()
    return Response(content, status=status, mimetype="application/json" if fmt == "ldp_vc" else "text/plain")


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


@bp.get(API_PREFIX + "/profile")
@require_scope(oauth.SCOPE_PROFILE_READONLY)
def get_profile() -> ResponseReturnValue:
    return Response(json.dumps(profile_of(token_user())), mimetype="application/json")


@bp.put(API_PREFIX + "/profile")
@require_scope(oauth.SCOPE_PROFILE_UPDATE)
def put_profile() -> ResponseReturnValue:
    """putProfile. Only ``name`` can change here; the e-mail address is the sign-in name and stays."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return imsx(400, "The body must be a Profile (a JSON object).")
    types = body.get("type")
    if "Profile" not in (types if isinstance(types, list) else [types]):
        return imsx(400, "The body must be a Profile ('type' includes \"Profile\").")
    name = body.get("name")
    if name is not None:
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            return imsx(400, "'name' must be a non-empty string of at most 200 characters.")
        user = token_user()
        user.name = name.strip()
        db.session.commit()
    return Response(json.dumps(profile_of(token_user())), mimetype="application/json")


# --- OAuth 2.0 endpoints ----------------------------------------------------------------------------------------
class ConsentForm(FlaskForm):
    approve = SubmitField("Allow")
    deny = SubmitField("Deny")


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize() -> ResponseReturnValue:
    """The authorization endpoint: sign in (the site's session), then approve the scopes on a consent page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    server = oauth.authorization_server()
    try:
        grant = server.get_consent_grant(end_user=current_user._get_current_object())
    except OAuth2Error as error:
        if getattr(error, "redirect_uri", None):
            return server.handle_error_response(None, error)
        return error_response(400, error.error or "invalid_request", error.description or "Invalid authorization request.")
    form = ConsentForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return error_response(400, "csrf", "The form expired; go back and try again.")
        grant_user = current_user._get_current_object() if form.approve.data else None
        response = server.create_authorization_response(grant_user=grant_user, grant=grant)
        db.session.commit()
        return response
    scopes = [(scope, oauth.SCOPES.get(scope, scope)) for scope in (grant.request.scope or "").split()]
    return render_template("oauth/authorize.html", form=form, client=grant.client, scopes=scopes,
                           action=request.full_path)


@bp.post("/oauth/token")
def token() -> ResponseReturnValue:
    response = oauth.authorization_server().create_token_response()
    if response.status_code == 200:
        db.session.commit()
    return response


@bp.post("/oauth/register")
def register() -> ResponseReturnValue:
    """RFC 7591 dynamic client registration (OB 3.0: no initial access token; 201)."""
    response = oauth.authorization_server().create_endpoint_response("client_registration")
    if response.status_code == 201:
        db.session.commit()
    return response


@bp.post("/oauth/revoke")
def revoke() -> ResponseReturnValue:
    """RFC 7009 token revocation."""
    response = oauth.authorization_server().create_endpoint_response("revocation")
    if response.status_code == 200:
        db.session.commit()
    return response


@bp.get("/.well-known/oauth-authorization-server")
def authorization_server_metadata() -> ResponseReturnValue:
    """RFC 8414; OID4VCI wallets find the token endpoint here."""
    return Response(json.dumps(oauth.authorization_server_metadata()), mimetype="application/json")


# --- OID4VCI -----------------------------------------------------------------------------------------------------
def credential_issuer_metadata() -> dict[str, Any]:
    """OID4VCI 12.2: Credential Issuer Metadata. Credentials are issued already: not bound to a wallet key."""
    base = base_url()
    display = [{"name": str(current_app.config["ISSUER_NAME"]), "locale": "en",
                "logo": {"uri": base + "/issuer/logo.png"}}]
    return {
        "credential_issuer": base,
        "credential_endpoint": base + url_for("obapi.credential_endpoint"),
        "display": display,
        "credential_configurations_supported": {
            CONFIG_LDP_VC: {
                "format": "ldp_vc",
                "credential_definition": {"@context": OB_CONTEXT, "type": OB_TYPE},
                "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
                "display": [{"name": "Open Badge (Data Integrity)", "locale": "en"}],
            },
            CONFIG_JWT_VC_JSON: {
                "format": "jwt_vc_json",
                "credential_definition": {"type": OB_TYPE},
                "credential_signing_alg_values_supported": ["RS256"],
                "display": [{"name": "Open Badge (VC-JWT)", "locale": "en"}],
            },
        },
    }


@bp.get("/.well-known/openid-credential-issuer")
def openid_credential_issuer() -> ResponseReturnValue:
    return Response(json.dumps(credential_issuer_metadata()), mimetype="application/json")


class OfferForm(FlaskForm):
    create = SubmitField("Create a wallet offer")


def create_offer(credential: Credential, *, now: dt.datetime) -> tuple[CredentialOffer, dict[str, Any]]:
    """A credential offer (OID4VCI 4.1.1) with a fresh single-use pre-authorized code. Flushes."""
    code = oauth.new_secret()
    offer = CredentialOffer(credential_id=credential.id, user_id=credential.therapist_id,
                            pre_authorized_code_hash=secret_hash(code), created_at=now,
                            expires_at=now + dt.timedelta(seconds=oauth.PRE_AUTHORIZED_CODE_SECONDS))
    db.session.add(offer)
    db.session.flush()
    document = {
        "credential_issuer": base_url(),
        "credential_configuration_ids": [CONFIG_LDP_VC, CONFIG_JWT_VC_JSON],
        "grants": {oauth.PRE_AUTHORIZED_GRANT_TYPE: {"pre-authorized_code": code}},
    }
    return offer, document


@bp.route("/me/credentials/<uuid:credential_id>/wallet", methods=["GET", "POST"])
@login_required
def send_to_wallet(credential_id: uuid.UUID) -> ResponseReturnValue:
    """"Send to wallet": an OID4VCI offer for one of the signed-in therapist's own credentials."""
    credential = db.session.get(Credential, credential_id)
    if credential is None or credential.therapist_id != current_user.id:
        return error_response(404, "not_found", "No such credential of yours.")
    form = OfferForm()
    link = qr = None
    expires_minutes = oauth.PRE_AUTHORIZED_CODE_SECONDS // 60
    if credential.revoked_at is None and form.validate_on_submit():
        _, document = create_offer(credential, now=utcnow())
        db.session.commit()
        link = "openid-credential-offer://?credential_offer=" + quote(json.dumps(document, separators=(",", ":")), safe="")
        qr = qr_svg_inline(link)
    elif request.method == "POST":
        return error_response(400, "bad_request", "The offer could not be created; go back and try again.")
    response = Response(render_template("oauth/wallet.html", form=form, credential=credential, link=link, qr=qr,
                                        expires_minutes=expires_minutes))
    response.headers["Cache-Control"] = "no-store"  # the offer holds a live pre-authorized code
    return response


def _oid4vci_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps({"error": error, "error_description": description}), status=status,
                        mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/oid4vci/credential")
def credential_endpoint() -> ResponseReturnValue:
    """OID4VCI 8: the stored, signed credential of the offer the access token came from."""
    try:
        token_row: OAuthToken = oauth.resource_protector.acquire_token([oauth.SCOPE_OID4VCI])
    except OAuth2Error as error:
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
        return _oid4vci_error(error.status_code or 401, error.error or "invalid_token", error.description or "", headers)
    if token_row.offer is None:
        return _oid4vci_error(403, "insufficient_scope", "This token was not issued for a credential offer.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _oid4vci_error(400, "invalid_credential_request", "The body must be a JSON object.")
    configuration = body.get("credential_configuration_id")
    if configuration is None and body.get("format") in ("ldp_vc", "jwt_vc_json"):  # draft 13 requests
        configuration = CONFIG_LDP_VC if body["format"] == "ldp_vc" else CONFIG_JWT_VC_JSON
    if configuration not in (CONFIG_LDP_VC, CONFIG_JWT_VC_JSON):
        return _oid4vci_error(400, "unknown_credential_configuration", "Ask for one of the offered configurations.")
    credential = token_row.offer.credential
    if credential.revoked_at is not None:
        return _oid4vci_error(400, "credential_request_denied", "This credential has been revoked.")
    issued: Any = json.loads(credential.document) if configuration == CONFIG_LDP_VC else credential.jwt
    response = Response(json.dumps({"credentials": [{"credential": issued}]}), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


# --- wiring ----------------------------------------------------------------------------------------------------
def init_app(app: Flask) -> None:
    """Register the blueprint and this app's authorization server. Call from ``issuer.web.init_app``."""
    from issuer.extensions import csrf

    oauth.init_app(app)
    # Token-authenticated or client-authenticated endpoints: no cookies, so no CSRF. The consent and wallet
    # pages keep CSRF protection.
    for view in (upsert_credential, put_profile, token, register, revoke, credential_endpoint):
        csrf.exempt(view)
    app.register_blueprint(bp)
