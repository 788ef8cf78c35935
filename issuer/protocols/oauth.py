"""OAuth 2.0 for the OB 3.0 API and OID4VCI, built on Authlib.

OB 3.0 "Security": authorization code grant with PKCE (S256 only, always required), refresh tokens,
RFC 7591 dynamic client registration without an initial access token, RFC 7009 revocation. OID4VCI adds
the pre-authorized code grant for wallets. Authlib runs the protocol; this module only stores and looks up.

Transport: Authlib refuses plain http except on loopback addresses (RFC 8252 7.3), which is what the tests
use; behind a TLS proxy set ``ISSUER_TRUSTED_PROXIES`` so requests are seen as https. Never set
``AUTHLIB_INSECURE_TRANSPORT`` in production.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
import secrets
from collections.abc import Collection
from typing import Any, cast
from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, InvalidGrantError, InvalidRequestError, TokenMixin, grants
from authlib.oauth2.rfc6749.grants.base import BaseGrant, TokenEndpointMixin
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import (
    ClientRegistrationEndpoint,
    InvalidClientMetadataError,
    InvalidRedirectURIError,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, current_app
from sqlalchemy import bindparam, select

from issuer.credentials import jsonparse
from issuer.credentials.errors import JSONInputError
from issuer.extensions import db
from issuer.models.accounts import User
from issuer.models.base import utcnow
from issuer.models.credentials import Credential
from issuer.models.oauth import (
    OID4VCI_SCOPE,
    CredentialOffer,
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthToken,
    secret_hash,
)

SCOPE_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
SCOPE_CREDENTIAL_READONLY = SCOPE_PREFIX + "credential.readonly"
SCOPE_CREDENTIAL_UPSERT = SCOPE_PREFIX + "credential.upsert"
SCOPE_PROFILE_READONLY = SCOPE_PREFIX + "profile.readonly"
SCOPE_PROFILE_UPDATE = SCOPE_PREFIX + "profile.update"
#: OB 3.0 OpenAPI, components.securitySchemes.OAuth2ACG.flows.authorizationCode.scopes
SCOPES: dict[str, str] = {
    SCOPE_CREDENTIAL_READONLY: "Permission to read AchievementCredentials for the authenticated entity.",
    SCOPE_CREDENTIAL_UPSERT: "Permission to create or update AchievementCredentials for the authenticated entity.",
    SCOPE_PROFILE_READONLY: "Permission to read the profile for the authenticated entity.",
    SCOPE_PROFILE_UPDATE: "Permission to update the profile for the authenticated entity.",
}
#: The scope of OID4VCI tokens (the configuration's ``scope``). A token from a pre-authorized code reaches the
#: offered credential only; one from the authorization code flow, the credentials it names in
#: ``authorization_details`` (``credential_identifiers``).
SCOPE_OID4VCI = OID4VCI_SCOPE
SCOPE_DESCRIPTIONS: dict[str, str] = {
    **SCOPES,
    SCOPE_OID4VCI: "Permission to put your current credentials into this wallet, bound to the wallet's key.",
}
PRE_AUTHORIZED_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
#: OID4VCI: the one credential configuration offered, and RFC 9396's authorization details type for it.
CONFIG_LDP_VC = "OpenBadgeCredential_ldp_vc"
AUTHORIZATION_DETAILS_TYPE = "openid_credential"
MAX_AUTHORIZATION_DETAILS_CHARS = 4000
#: Wrong transaction codes an offer takes before it is spent.
TX_CODE_ATTEMPTS = 5

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_DAYS = 30
AUTHORIZATION_CODE_SECONDS = 600  # RFC 6749 4.1.2: "a maximum lifetime of 10 minutes is RECOMMENDED"
PRE_AUTHORIZED_CODE_SECONDS = 600
PRE_AUTHORIZED_TOKEN_SECONDS = 300

# The class attributes below that hold lists (``SUPPORTED_CODE_CHALLENGE_METHOD``, ``TOKEN_ENDPOINT_AUTH_METHODS``,
# ``CLIENT_AUTH_METHODS``) override attributes that Authlib's stubs declare on instances, so they cannot be
# ``ClassVar``; Authlib only reads them, and puts them in error messages as they are (a list stays a list).


def new_secret() -> str:
    return secrets.token_urlsafe(32)


# --- OID4VCI authorization details (RFC 9396) ------------------------------------------------------------------
class InvalidAuthorizationDetailsError(OAuth2Error):
    """RFC 9396 section 5: ``authorization_details`` that are malformed or ask for what is not offered."""

    error = "invalid_authorization_details"


def parse_authorization_details(raw: Any) -> list[dict[str, Any]] | None:
    """The ``openid_credential`` entries of an ``authorization_details`` parameter (None when absent).

    :raise InvalidAuthorizationDetailsError: not a JSON array of objects, an unknown type, or a configuration
        other than the one offered.
    """
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > MAX_AUTHORIZATION_DETAILS_CHARS:
        raise InvalidAuthorizationDetailsError(
            f"authorization_details must be a JSON array of at most {MAX_AUTHORIZATION_DETAILS_CHARS} characters")
    try:
        details = jsonparse.loads(raw, max_bytes=MAX_AUTHORIZATION_DETAILS_CHARS * 4, max_depth=8)
    except JSONInputError as error:  # strict and bounded: no duplicate keys, no deep nesting
        raise InvalidAuthorizationDetailsError(f"authorization_details is not acceptable JSON: {error}") from None
    if not isinstance(details, list) or not details or not all(isinstance(d, dict) for d in details):
        raise InvalidAuthorizationDetailsError("authorization_details must be a non-empty JSON array of objects")
    for detail in details:
        if detail.get("type") != AUTHORIZATION_DETAILS_TYPE:
            raise InvalidAuthorizationDetailsError(f"only authorization_details of type {AUTHORIZATION_DETAILS_TYPE} "
                                                   "are supported")
        if detail.get("credential_configuration_id") != CONFIG_LDP_VC:
            raise InvalidAuthorizationDetailsError(f"credential_configuration_id must be {CONFIG_LDP_VC}")
    return [{"type": AUTHORIZATION_DETAILS_TYPE, "credential_configuration_id": CONFIG_LDP_VC}]


_CURRENT_AWARDS = (select(Credential.id)
                   .where(Credential.therapist_id == bindparam("user_id"), Credential.revoked_at.is_(None),
                          Credential.superseded_at.is_(None))
                   .order_by(Credential.issued_at, Credential.id))


def granted_details(user_id: int, *, offer: CredentialOffer | None = None) -> list[dict[str, Any]] | None:
    """The ``authorization_details`` answered with an OID4VCI token (OID4VCI 6.2): the credentials it may collect,
    as ``credential_identifiers`` (the offered one, or the user's current ones); None when there is none."""
    if offer is not None:
        identifiers = [str(offer.credential_id)]
    else:
        identifiers = [str(i) for i in db.session.scalars(_CURRENT_AWARDS, {"user_id": user_id})]
    if not identifiers:
        return None
    return [{"type": AUTHORIZATION_DETAILS_TYPE, "credential_configuration_id": CONFIG_LDP_VC,
             "credential_identifiers": identifiers}]


def credential_identifiers(token: OAuthToken) -> list[str]:
    """The ``credential_identifiers`` answered with ``token`` (empty when none were)."""
    found: list[str] = []
    for detail in token.authorization_details or []:
        found.extend(str(i) for i in detail.get("credential_identifiers") or [])
    return found


# --- storage callbacks ---------------------------------------------------------------------------------------
def query_client(client_id: str) -> OAuthClient | None:
    client = db.session.scalars(select(OAuthClient).filter_by(client_id=client_id)).one_or_none()
    return client if client is not None and client.revoked_at is None else None


def _oid4vci_details(token: dict[str, Any], request: Any) -> list[dict[str, Any]] | None:
    """For a token that may collect credentials (OID4VCI scope, or ``authorization_details`` at authorization):
    the details to answer with it, reckoned now. A refreshed token names the user's credentials of now."""
    code = getattr(request, "authorization_code", None)
    previous = getattr(request, "refresh_token", None)
    asked = bool(getattr(code, "authorization_details", None) or getattr(previous, "authorization_details", None))
    if not asked and SCOPE_OID4VCI not in str(token.get("scope") or "").split():
        return None
    return granted_details(request.user.id)


def save_token(token: dict[str, Any], request: Any) -> None:
    """Store a token Authlib generated. For OID4VCI, ``authorization_details`` goes into the answer too (the
    ``token`` dict is the response body)."""
    now = utcnow()
    client = request.client
    details = _oid4vci_details(token, request)
    if details is not None:
        token["authorization_details"] = details
    db.session.add(OAuthToken(
        client_id=client.id if client is not None else None,
        user_id=request.user.id,
        access_token_hash=secret_hash(token["access_token"]),
        refresh_token_hash=secret_hash(token["refresh_token"]) if token.get("refresh_token") else None,
        scope=token.get("scope", ""),
        authorization_details=details,
        issued_at=now,
        expires_at=now + dt.timedelta(seconds=int(token.get("expires_in", ACCESS_TOKEN_SECONDS))),
        refresh_expires_at=now + dt.timedelta(days=REFRESH_TOKEN_DAYS) if token.get("refresh_token") else None,
    ))
    db.session.flush()


def token_by_access_token(token_string: str) -> OAuthToken | None:
    return db.session.scalars(
        select(OAuthToken).filter_by(access_token_hash=secret_hash(token_string))).one_or_none()


def token_by_refresh_token(token_string: str) -> OAuthToken | None:
    return db.session.scalars(
        select(OAuthToken).filter_by(refresh_token_hash=secret_hash(token_string))).one_or_none()


# --- grants ----------------------------------------------------------------------------------------------------
class S256CodeChallenge(CodeChallenge):
    """PKCE, mandatory for every client (OB 3.0 Security), and S256 only (no "plain")."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 (an instance attribute in the stubs: see above)
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """RFC 6749 4.1 with PKCE; OID4VCI 5.1.1 adds RFC 9396 ``authorization_details`` of type
    ``openid_credential``, which ask for the OID4VCI scope's access and are kept with the code."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012 (see above)

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        payload = self.request.payload
        try:
            details = parse_authorization_details(payload.data.get("authorization_details") if payload else None)
        except InvalidAuthorizationDetailsError as error:
            error.redirect_uri = redirect_uri
            error.state = payload.state if payload else None
            raise
        cast(Any, self.request).authorization_details = details  # read back by save_authorization_code
        return redirect_uri

    def save_authorization_code(self, code: str, request: Any) -> None:
        now = utcnow()
        data = request.payload.data
        details = getattr(request, "authorization_details", None)
        scope = request.scope or ""
        if details and SCOPE_OID4VCI not in scope.split():
            scope = f"{scope} {SCOPE_OID4VCI}".strip()
        db.session.add(OAuthAuthorizationCode(
            code_hash=secret_hash(code), client_id=request.client.id, user_id=request.user.id,
            redirect_uri=request.payload.redirect_uri or request.client.get_default_redirect_uri() or "",
            scope=scope, code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"), authorization_details=details,
            created_at=now, expires_at=now + dt.timedelta(seconds=AUTHORIZATION_CODE_SECONDS),
        ))
        db.session.flush()

    def query_authorization_code(self, code: str, client: ClientMixin) -> OAuthAuthorizationCode | None:
        client_id = cast("OAuthClient", client).id  # Authlib passes the client that query_client returned
        # Locked until the transaction ends: a concurrent redemption of the same code waits, then finds it deleted.
        item = db.session.scalars(select(OAuthAuthorizationCode).filter_by(
            code_hash=secret_hash(code), client_id=client_id).with_for_update()).one_or_none()
        return item if item is not None and not item.is_expired() else None

    def delete_authorization_code(self, authorization_code: OAuthAuthorizationCode) -> None:
        db.session.delete(authorization_code)  # used once: a replayed code finds nothing
        db.session.flush()

    def authenticate_user(self, authorization_code: OAuthAuthorizationCode) -> User | None:
        user = db.session.get(User, authorization_code.user_id)
        return user if user is not None and user.active else None


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012 (see above)
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotate: each refresh token works once

    # The stubs say a TokenMixin is returned, but Authlib takes None as "no such token" (invalid_grant).
    def authenticate_refresh_token(self, refresh_token: str) -> OAuthToken | None:  # type: ignore[override]
        # Locked until the transaction ends: a concurrent redemption waits, then reads it revoked (rotation).
        token = db.session.scalars(select(OAuthToken).filter_by(refresh_token_hash=secret_hash(refresh_token))
                                   .with_for_update().execution_options(populate_existing=True)).one_or_none()
        return token if token is not None and token.is_refresh_token_valid() else None

    def authenticate_user(self, refresh_token: OAuthToken) -> User | None:
        user = db.session.get(User, refresh_token.user_id)
        return user if user is not None and user.active else None

    def revoke_old_credential(self, refresh_token: TokenMixin) -> None:
        cast("OAuthToken", refresh_token).revoked_at = utcnow()  # the token authenticate_refresh_token returned
        db.session.flush()


class PreAuthorizedCodeGrant(BaseGrant, TokenEndpointMixin):
    """OID4VCI 6.1: ``grant_type=urn:ietf:params:oauth:grant-type:pre-authorized_code``.

    Anonymous access (no client authentication, ``pre-authorized_grant_anonymous_access_supported``); the code
    is single-use and short-lived, and the token it yields reaches the offered credential only.
    """

    GRANT_TYPE = PRE_AUTHORIZED_GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]  # noqa: RUF012 (see above)

    def validate_token_request(self) -> None:
        form = self.request.form
        code = form.get("pre-authorized_code")
        if not code:
            raise InvalidRequestError("Missing 'pre-authorized_code'.")
        offer = db.session.scalars(select(CredentialOffer).filter_by(
            pre_authorized_code_hash=secret_hash(code)).with_for_update()).one_or_none()
        if offer is None or offer.redeemed_at is not None or utcnow() >= offer.expires_at:
            raise InvalidGrantError("The pre-authorized code is invalid, expired or already used.")
        tx_code = form.get("tx_code")
        if offer.tx_code_hash is None:
            if tx_code:
                raise InvalidRequestError("This offer takes no 'tx_code'.")
        elif not tx_code:
            raise InvalidRequestError("Missing 'tx_code': type the code shown with the offer.")
        elif not hmac.compare_digest(secret_hash(tx_code), offer.tx_code_hash):
            _wrong_tx_code(offer)
        details = parse_authorization_details(form.get("authorization_details"))
        self.request.client = None
        self.request.credential = offer
        cast(Any, self.request).authorization_details = details  # read back by create_token_response

    # The stubs say the body is a str; Authlib's own grants return the token as a dict, which its Flask
    # server serialises (AuthorizationServer.handle_response).
    def create_token_response(  # type: ignore[override]
        self,
    ) -> tuple[int, dict[str, Any], Collection[tuple[str, str]]]:
        offer = cast("CredentialOffer", self.request.credential)  # set by validate_token_request
        now = utcnow()
        offer.redeemed_at = now
        access_token = new_secret()
        # authorization_details asked at the token endpoint (OID4VCI 6.1.1) are answered with the offer's credential
        asked = getattr(self.request, "authorization_details", None)
        details = granted_details(offer.user_id, offer=offer) if asked else None
        db.session.add(OAuthToken(
            client_id=None, user_id=offer.user_id, offer_id=offer.id, access_token_hash=secret_hash(access_token),
            refresh_token_hash=None, scope=SCOPE_OID4VCI, authorization_details=details, issued_at=now,
            expires_at=now + dt.timedelta(seconds=PRE_AUTHORIZED_TOKEN_SECONDS), refresh_expires_at=None,
        ))
        db.session.flush()
        token: dict[str, Any] = {
            "access_token": access_token, "token_type": "Bearer", "expires_in": PRE_AUTHORIZED_TOKEN_SECONDS,
        }
        if details is not None:
            token["authorization_details"] = details
        return 200, token, self.TOKEN_RESPONSE_HEADER


def _wrong_tx_code(offer: CredentialOffer) -> None:
    """Count a wrong transaction code (kept although the answer is an error); the last allowed one spends the
    offer, so the code cannot be guessed."""
    from issuer.platform.transactions import keep_writes

    offer.tx_code_attempts += 1
    left = TX_CODE_ATTEMPTS - offer.tx_code_attempts
    if left <= 0:
        offer.redeemed_at = utcnow()
    db.session.flush()
    keep_writes()
    if left <= 0:
        raise InvalidGrantError("Wrong 'tx_code', too many times: this offer is spent. Create a new one.")
    raise InvalidGrantError(f"Wrong 'tx_code'; {left} more tries before the offer is spent.")


# --- endpoints -------------------------------------------------------------------------------------------------
def _loopback(host: str | None) -> bool:
    return host in ("localhost", "127.0.0.1", "::1")


#: Caps on what an open registration may store: at most this many redirect URIs, list items, characters in any
#: one value (``client_name`` has its own, smaller cap), and bytes of metadata in all.
MAX_REDIRECT_URIS = 10
MAX_LIST_ITEMS = 10
MAX_FIELD_CHARS = 2000
MAX_CLIENT_NAME_CHARS = 100
MAX_METADATA_BYTES = 16 * 1024
#: Links shown on the consent page: https only (a ``javascript:`` or ``data:`` link never reaches the page).
HTTPS_ONLY_FIELDS = ("client_uri", "logo_uri", "policy_uri", "tos_uri", "jwks_uri")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _check_sizes(data: dict[str, Any]) -> None:
    """Refuse oversized metadata before anything reads it: the whole, every list, every text."""
    if len(json.dumps(data)) > MAX_METADATA_BYTES:
        raise InvalidClientMetadataError(f"client metadata larger than {MAX_METADATA_BYTES} bytes")
    for field, value in data.items():
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and len(value) > MAX_LIST_ITEMS:
            raise InvalidClientMetadataError(f"{field} has more than {MAX_LIST_ITEMS} items")
        for item in items:
            if isinstance(item, str) and len(item) > MAX_FIELD_CHARS:
                raise InvalidClientMetadataError(f"{field} is longer than {MAX_FIELD_CHARS} characters")


def _check_redirect_uris(uris: Any) -> None:
    if not uris:
        raise InvalidRedirectURIError("redirect_uris is required")
    if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in uris):
        raise InvalidRedirectURIError("redirect_uris must be a list of URIs")
    if len(uris) > MAX_REDIRECT_URIS:
        raise InvalidRedirectURIError(f"at most {MAX_REDIRECT_URIS} redirect URIs")
    for number, uri in enumerate(uris, start=1):  # named by number: RFC 6749 allows no quote in a description
        parts = urlsplit(uri)
        secure = parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname))
        if parts.fragment or not secure or not parts.hostname or _CONTROL.search(uri) or " " in uri:
            raise InvalidRedirectURIError(f"redirect URI number {number} must be https (or http on loopback, "
                                          "for native apps), without fragment, spaces or control characters")


def _check_links(data: dict[str, Any]) -> None:
    for field in HTTPS_ONLY_FIELDS:
        value = data.get(field)
        if value is None:
            continue
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme != "https" or not parts.hostname or _CONTROL.search(value) or " " in value:
            raise InvalidClientMetadataError(f"{field} must be an https URL")
    name = data.get("client_name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_CLIENT_NAME_CHARS or _CONTROL.search(name)):
        raise InvalidClientMetadataError(
            f"client_name must be text of at most {MAX_CLIENT_NAME_CHARS} characters, without control characters")


class ClientRegistration(ClientRegistrationEndpoint):
    """RFC 7591, as OB 3.0 profiles it: open registration (no initial access token), answered with 201.

    Open to anyone, so bounded: a rate limit per address (the view), caps on sizes, https links only."""

    def authenticate_token(self, _request: Any) -> bool:
        return True  # OB 3.0: dynamic registration needs no initial access token

    def get_server_metadata(self) -> dict[str, Any]:
        return authorization_server_metadata()

    def extract_client_metadata(self, request: Any) -> dict[str, Any]:
        data = request.payload.data
        if isinstance(data, dict):  # Authlib itself refuses anything else
            _check_redirect_uris(data.get("redirect_uris"))
            _check_sizes(data)
            _check_links(data)
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        metadata.setdefault("grant_types", ["authorization_code"])
        metadata.setdefault("response_types", ["code"])
        metadata.setdefault("token_endpoint_auth_method", "client_secret_basic")
        if not metadata.get("scope"):
            metadata["scope"] = " ".join(SCOPES)  # the consent page still shows what each request asks
        return metadata

    def generate_client_info(self, request: Any) -> dict[str, Any]:
        info: dict[str, Any] = super().generate_client_info(request)
        if (request.payload.data or {}).get("token_endpoint_auth_method") == "none":
            info.pop("client_secret")
            info.pop("client_secret_expires_at")
        return info

    def save_client(self, client_info: dict[str, Any], client_metadata: dict[str, Any], _request: Any) -> OAuthClient:
        secret = client_info.get("client_secret")
        client = OAuthClient(client_id=client_info["client_id"],
                             client_secret_hash=secret_hash(secret) if secret else None,
                             client_metadata=client_metadata, created_at=utcnow())
        db.session.add(client)
        db.session.flush()
        return client


class Revocation(RevocationEndpoint):
    """RFC 7009. Revoking either token of a pair revokes both."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012 (see above)

    def query_token(self, token_string: str, token_type_hint: str | None) -> OAuthToken | None:
        if token_type_hint == "refresh_token":  # noqa: S105 (an RFC 7009 token type, not a secret)
            return token_by_refresh_token(token_string) or token_by_access_token(token_string)
        return token_by_access_token(token_string) or token_by_refresh_token(token_string)

    def revoke_token(self, token: OAuthToken, _request: Any) -> None:
        if token.revoked_at is None:
            token.revoked_at = utcnow()
        db.session.flush()


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> OAuthToken | None:
        token = token_by_access_token(token_string)
        if token is not None and not token.user.active:
            return None
        return token


#: Protects the OB 3.0 resource endpoints and the OID4VCI credential endpoint. Stateless; one for all apps.
resource_protector = ResourceProtector()
resource_protector.register_token_validator(AccessTokenValidator(realm="issuer"))


def authorization_server_metadata() -> dict[str, Any]:
    """RFC 8414 metadata (also what registration validates client metadata against)."""
    from flask import url_for

    base = str(current_app.config["ISSUER_BASE_URL"])
    return {
        "issuer": base,
        "authorization_endpoint": base + url_for("oauth.authorize"),
        "token_endpoint": base + url_for("oauth.token"),
        "registration_endpoint": base + url_for("oauth.register"),
        "revocation_endpoint": base + url_for("oauth.revoke"),
        "scopes_supported": [*SCOPES, SCOPE_OID4VCI],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", PRE_AUTHORIZED_GRANT_TYPE],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "pre-authorized_grant_anonymous_access_supported": True,
        "authorization_details_types_supported": [AUTHORIZATION_DETAILS_TYPE],
    }


def init_app(app: Flask) -> AuthorizationServer:
    """Build this app's authorization server (one per app: tests build many apps)."""
    app.config.setdefault("OAUTH2_REFRESH_TOKEN_GENERATOR", True)
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", {"authorization_code": ACCESS_TOKEN_SECONDS,
                                                      "refresh_token": ACCESS_TOKEN_SECONDS})
    app.config.setdefault("OAUTH2_SCOPES_SUPPORTED", [*SCOPES, SCOPE_OID4VCI])
    server = AuthorizationServer()
    server.init_app(app, query_client=query_client, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(PreAuthorizedCodeGrant)
    # The stubs accept only rfc6749 Endpoints; Authlib registers any object with an ENDPOINT_NAME.
    server.register_endpoint(ClientRegistration())  # type: ignore[arg-type]
    server.register_endpoint(Revocation())
    app.extensions["issuer.protocols.oauth"] = server
    return server


def authorization_server() -> AuthorizationServer:
    server: AuthorizationServer = current_app.extensions["issuer.protocols.oauth"]
    return server
