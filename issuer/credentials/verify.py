"""Verify an OB 3.0 credential (JSON-LD with a Data Integrity proof, or VC-JWT).

Follows OB 3.0 "OpenBadgeCredential Verification" (#verification): schema
conformance, proof, status and validity period, each reported as a named
:class:`Check` with a human-readable message. ``verify()`` never raises: bad
input of any kind is an answer, not an exception (ACA-Py ``ProofResult`` style).
Nothing is fetched: keys come from the injected :class:`KeyResolver`, contexts
from the injected offline loader, status from the injected ``status_checker``.

Trust rules (issue 14): every proof of a proof set must verify; each key must be
the issuer's, its controller and the DID part of its URL equal to the issuer id
as written (no case-folding, no prefix match), and a VC-JWT ``kid`` likewise;
with ``recognise``, an issuer must also be one we recognise, and the result
carries the name we know it by. JSON text is read by ``jsonparse`` and JSON-LD
work is bounded (``TooComplexError``, reported as a failed ``context`` check).

Not done here: refresh (step 3) and embedded endorsements (step 6).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from issuer.credentials import dates, eddsa_rdfc_2022, jsonparse, vc_jwt
from issuer.credentials.canonicalize import DocumentLoader
from issuer.credentials.credential import SCHEMA_VALIDATOR_TYPE
from issuer.credentials.dids import ASSERTION_METHOD, KeyResolver, ResolvedKey
from issuer.credentials.errors import (
    CanonicalizationError,
    JSONInputError,
    KeyResolutionError,
    ProofError,
    TooComplexError,
    UndefinedTermError,
    UnknownContextError,
)
from issuer.credentials.schema import schema_ids, validate

MAX_INPUT_BYTES = 1_000_000
MAX_JSON_DEPTH = 64
_JWS_DOTS = 2  # a compact JWS: header.payload.signature
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
VC_CONTEXTS = ("https://www.w3.org/ns/credentials/v2", "https://www.w3.org/2018/credentials/v1")
LONE_SURROGATE = "the input holds a lone UTF-16 surrogate (such as \\ud800), which is not Unicode text"
CHECK_NAMES = ("format", "schema", "context", "proof", "issuer", "validity", "status")

StatusChecker = Callable[[Mapping[str, Any]], "Check | None"]
#: issuer id -> the name we know it by (a trust list entry, or our own profile), or None.
Recogniser = Callable[[str], "str | None"]
#: (format, credential, compact JWT or None) -> whether the issuer's own record decides: None when it does not (another
#: issuer), True when this exact document is on record as issued (its proofs were verified when it was signed), False
#: when the credential names the recording issuer but is not, byte for meaning, one it issued, and a message when it
#: is on record but must not verify any more (signed with a key revoked after a compromise).
OnRecord = Callable[[Literal["ldp", "jwt"], Mapping[str, Any], "str | None"], "bool | str | None"]


@dataclass(frozen=True)
class Check:
    """One named verification step: ``format``, ``schema``, ``context``, ``proof``, ``issuer``, ``validity``,
    ``status``.

    ``ok`` is ``True`` (passed), ``False`` (failed) or ``None`` (not checked or not
    established, e.g. status without a checker, or an issuer we do not know): a
    warning, which does not make the credential unverified.
    """

    name: str
    ok: bool | None
    message: str


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of :func:`verify`: ``verified`` is true only when no check failed (``ok is False``)."""

    checks: list[Check]
    verified: bool
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    credential: dict[str, Any] | None = None
    format: Literal["ldp", "jwt"] | None = None
    #: True when the issuer's DID document is one we hold (see the ``issuer`` check).
    issuer_known: bool = False
    #: The name ``recognise`` gave the issuer (never the name the credential declares for itself);
    #: None when no ``recognise`` was given, or it did not recognise the issuer.
    issuer_name: str | None = None

    def check(self, name: str) -> Check | None:
        """The check called ``name``, if it ran."""
        return next((check for check in self.checks if check.name == name), None)


class _InputError(Exception):
    pass


def _depth_ok(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return False
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values() if isinstance(child, (dict, list)))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
    return True


def _refuse_lone_surrogates(value: Any) -> None:
    """JSON escapes can spell a lone surrogate ("\\ud800"): not Unicode, so not RDF, not UTF-8, not displayable."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _InputError(LONE_SURROGATE) from None


def _parse_json(text: str) -> Any:
    """Strict JSON (``jsonparse.loads``); refusals keep the wording this reader has always used."""
    try:
        return jsonparse.loads(text, max_bytes=MAX_INPUT_BYTES, max_depth=MAX_JSON_DEPTH)
    except JSONInputError as error:
        if error.reason == "duplicate_key":
            raise _InputError(str(error).replace("duplicate key", "duplicate JSON member", 1)) from None
        if error.reason == "lone_surrogate":
            raise _InputError(LONE_SURROGATE) from None
        raise _InputError(str(error)) from None


# One branch per input type and per refusal, in the order a reader would check them.
def _read_input(data: Any) -> tuple[Literal["ldp", "jwt"], dict[str, Any], str | None]:  # noqa: PLR0912, PLR0915
    """(format, credential, token) or _InputError."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) > MAX_INPUT_BYTES:
            raise _InputError(f"input larger than {MAX_INPUT_BYTES} bytes")
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise _InputError("input is not UTF-8 text") from None
    if isinstance(data, str):
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError:
            raise _InputError(LONE_SURROGATE) from None
        if size > MAX_INPUT_BYTES:
            raise _InputError(f"input larger than {MAX_INPUT_BYTES} bytes")
        text = data.strip()
        if text.startswith(("{", "[")):
            parsed = _parse_json(text)
        elif text.count(".") == _JWS_DOTS and " " not in text:
            header = vc_jwt.read_header_unchecked(text)
            if header is None:
                raise _InputError("not a compact JWS (header is not base64url JSON)")
            try:
                payload = vc_jwt.read_payload_unchecked(text)
            except ProofError as error:
                raise _InputError(str(error)) from None
            if not isinstance(payload, dict):
                raise _InputError("the JWT payload is not a JSON object")
            if not _depth_ok(payload):
                raise _InputError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            _refuse_lone_surrogates(payload)
            try:
                credential = vc_jwt.credential_from_payload(payload)
            except ProofError as error:
                raise _InputError(str(error)) from None
            return "jwt", credential, text
        else:
            raise _InputError("neither a JSON credential nor a compact JWT")
    elif isinstance(data, Mapping):
        parsed = data
        if not _depth_ok(parsed):
            raise _InputError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            size = len(json.dumps(parsed, ensure_ascii=False, allow_nan=False).encode("utf-8"))
        except UnicodeEncodeError:
            raise _InputError(LONE_SURROGATE) from None
        except (TypeError, ValueError) as error:
            raise _InputError(f"not a JSON document: {error}") from None
        if size > MAX_INPUT_BYTES:
            raise _InputError(f"input larger than {MAX_INPUT_BYTES} bytes")
    else:
        raise _InputError(f"cannot verify a {type(data).__name__}; give JSON text, bytes, a dict or a JWT")
    if not isinstance(parsed, Mapping):
        raise _InputError("the credential must be a JSON object")
    # Text was checked for depth and lone surrogates by jsonparse; a mapping above.
    return "ldp", dict(parsed), None


def read_credential(data: Any) -> dict[str, Any] | None:
    """The credential in ``data`` (JSON text or bytes, a mapping, or a VC-JWT), read as ``verify`` reads it,
    without checking anything; None when ``verify`` could not read it either."""
    try:
        return _read_input(data)[1]
    except _InputError:
        return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return issuer_id if isinstance(issuer_id, str) and issuer_id else None


def _check_schema(credential: Mapping[str, Any], warnings: list[str]) -> Check:
    problems: list[str] = []
    subjects = _as_list(credential.get("credentialSubject"))
    if not subjects or not all(isinstance(s, Mapping) and (s.get("id") or s.get("identifier")) for s in subjects):
        # OB 3.0 #verification step 1.
        problems.append("credentialSubject must have an id or at least one identifier")
    checked = []
    for entry in _as_list(credential.get("credentialSchema")):
        if not isinstance(entry, Mapping) or entry.get("type") != SCHEMA_VALIDATOR_TYPE:
            continue
        name = schema_ids().get(str(entry.get("id")))
        if name is None:
            warnings.append(f"schema {entry.get('id')!r} is not one we hold; not checked")
            continue
        checked.append(name)
        problems.extend(validate(credential, name))
    if problems:
        return Check("schema", False, "does not conform: " + "; ".join(problems[:10]))
    if checked:
        return Check("schema", True, f"conforms to the 1EdTech {', '.join(checked)} schema")
    return Check("schema", True, "no 1EdTech schema named in credentialSchema; subject is identified")


def _check_context(credential: Mapping[str, Any], document_loader: DocumentLoader) -> tuple[Check, str | None]:
    contexts = _as_list(credential.get("@context"))
    if not contexts or contexts[0] not in VC_CONTEXTS:
        return Check("context", False, "the first @context must be the W3C credentials context (v2 or v1)"), None
    try:
        canonical = eddsa_rdfc_2022.canonical_document(credential, document_loader=document_loader)
    except UnknownContextError as error:
        return Check("context", False, str(error)), None
    except UndefinedTermError as error:
        return Check("context", False, str(error)), None
    except TooComplexError as error:
        return Check("context", False, f"too complex to check: {error}"), None
    except CanonicalizationError as error:
        return Check("context", False, f"not valid JSON-LD: {error}"), None
    return Check("context", True, "every term is defined by a known context"), canonical


def _did_of(method: str) -> str:
    """The DID (or URL) part of a verification method / kid: everything before the ``#`` fragment."""
    return method.partition("#")[0]


def _check_binding(method: str, resolved: ResolvedKey, issuer_id: str | None) -> None:
    """The key must be the issuer's: its controller and the DID part of its URL *are* the issuer id.

    Exact string equality: no case-folding (``%3a`` is not ``%3A``), no prefix match
    (``did:web:host:evil`` is not ``did:web:host``), no DID standing for a URL.

    Raises:
        ProofError: naming the mismatch.
    """
    if issuer_id is None:
        raise ProofError("the credential has no issuer id, so no key can be the issuer's")
    if _did_of(method) != issuer_id:
        raise ProofError(f"the DID of {method!r} does not match issuer {issuer_id!r}: it is not the issuer's key")
    if resolved.controller != issuer_id:
        raise ProofError(f"key controller {resolved.controller!r} does not match issuer {issuer_id!r}")


def _check_one_ldp_proof(
    proof: Any,
    canonical: str | None,
    credential: Mapping[str, Any],
    *,
    document_loader: DocumentLoader,
    resolver: KeyResolver,
) -> ResolvedKey:
    """Verify one proof of a proof set; raise ``ProofError`` / ``KeyResolutionError`` saying why not."""
    if not isinstance(proof, Mapping):
        raise ProofError("not a JSON object")
    if proof.get("type") != eddsa_rdfc_2022.PROOF_TYPE or proof.get("cryptosuite") != eddsa_rdfc_2022.CRYPTOSUITE:
        raise ProofError(
            f"unsupported proof type {proof.get('type')!r}/{proof.get('cryptosuite')!r} "
            f"(only {eddsa_rdfc_2022.PROOF_TYPE} {eddsa_rdfc_2022.CRYPTOSUITE})"
        )
    eddsa_rdfc_2022.check_proof_options(proof)
    method = proof["verificationMethod"]
    resolved = resolver.resolve(method)
    _check_binding(method, resolved, _issuer_id(credential))
    if ASSERTION_METHOD not in resolved.relationships:
        raise ProofError(f"{method!r} is not listed under assertionMethod in {resolved.controller}'s DID document")
    if canonical is None:
        raise ProofError("the signature cannot be checked: the credential is not valid JSON-LD (see context)")
    eddsa_rdfc_2022.verify_canonical_proof(
        proof,
        canonical_document=canonical,
        document_context=credential.get("@context"),
        public_key=resolved.public_key,  # type: ignore[arg-type]
        document_loader=document_loader,
    )
    return resolved


#: How much a resolved key says about who issued (see ``ResolvedKey.source``): best first.
_SOURCE_RANK = {"document": 0, "did:key": 1, "fragment": 2}


def _check_ldp_proof(
    credential: Mapping[str, Any],
    canonical: str | None,
    *,
    document_loader: DocumentLoader,
    resolver: KeyResolver,
) -> tuple[Check, ResolvedKey | None]:
    """Every proof of a proof set must verify, each with a key of the issuer (VC Data Integrity: a proof set
    is a set of independent proofs of the same document; one bad proof makes the set bad)."""
    proofs = _as_list(credential.get("proof"))
    if not proofs:
        return Check("proof", False, "the credential has no proof"), None
    failures: list[str] = []
    keys: list[ResolvedKey] = []
    for index, proof in enumerate(proofs):
        method = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
        try:
            keys.append(
                _check_one_ldp_proof(proof, canonical, credential, document_loader=document_loader, resolver=resolver)
            )
        except (ProofError, KeyResolutionError, CanonicalizationError) as error:
            failures.append(f"proof {index + 1} (verificationMethod {method!r}) failed: {error}")
    if failures:
        counted = f"{len(failures)} of {len(proofs)} proofs" if len(proofs) > 1 else "the proof"
        return Check("proof", False, f"{counted} did not verify: " + "; ".join(failures)), None
    best = min(keys, key=lambda key: _SOURCE_RANK.get(key.source, len(_SOURCE_RANK)))
    if len(keys) == 1:
        message = f"proof 1 ({eddsa_rdfc_2022.CRYPTOSUITE}) verifies with {best.verification_method}"
    else:
        methods = ", ".join(key.verification_method for key in keys)
        message = f"all {len(keys)} proofs ({eddsa_rdfc_2022.CRYPTOSUITE}) verify, with {methods}"
    return Check("proof", True, message), best


def _check_jwt_proof(
    token: str,
    credential: Mapping[str, Any],
    *,
    resolver: KeyResolver,
    now: datetime,
    max_clock_skew: timedelta,
) -> tuple[Check, ResolvedKey | None]:
    used: list[ResolvedKey] = []
    issuer_id = _issuer_id(credential)

    def resolve_key(kid: str) -> Any:
        resolved = resolver.resolve(kid)
        try:
            # iss is checked against issuer.id after the signature (vc_jwt.check_claims).
            _check_binding(kid, resolved, issuer_id)
        except ProofError as error:
            raise KeyResolutionError(str(error)) from None
        if ASSERTION_METHOD not in resolved.relationships:
            raise KeyResolutionError(f"{kid!r} is not listed under assertionMethod")
        used.append(resolved)
        return resolved.public_key

    try:
        vc_jwt.decode_and_verify(
            token, resolve_key=resolve_key, now=now, max_clock_skew=max_clock_skew, check_times=False
        )
    except ProofError as error:
        return Check("proof", False, f"JWT: {error}"), None
    algorithm = vc_jwt.read_header(token)["alg"]
    return Check("proof", True, f"JWS ({algorithm}) verifies with {used[0].verification_method}"), used[0]


def _check_issuer(  # noqa: PLR0911 (one answer per case of the issuer's key, each with its own message)
    credential: Mapping[str, Any],
    resolved: ResolvedKey | None,
    resolver: KeyResolver,
    warnings: list[str],
    recognise: Recogniser | None = None,
) -> tuple[Check, bool, str | None]:
    """(check, issuer_known, recognised name). Without ``recognise``: whether we hold the issuer's DID document,
    a warning otherwise. With it: the issuer must be recognised, by exact id, and its key must say who it is."""
    issuer_id = _issuer_id(credential)
    if issuer_id is None:
        return Check("issuer", False, "the credential has no issuer id"), False, None
    known = resolver.knows(issuer_id)
    if recognise is not None:
        name = recognise(issuer_id)
        if name is None:
            return Check("issuer", False, f"Issuer not recognised: {issuer_id}"), known, None
        if resolved is None:
            message = f"issuer {issuer_id} ({name}) is not established: no proof verifies with its key"
            return Check("issuer", None, message), known, None
        if resolved.source == "fragment":
            # Anyone can write <issuer>#z6Mk<their own key>: that proves integrity, not the issuer.
            message = (
                f"Issuer not recognised: {issuer_id}: its key is taken from the credential itself, "
                "not from a DID document we hold"
            )
            return Check("issuer", False, message), known, None
        return Check("issuer", True, f"issuer {issuer_id} is recognised: {name}"), known, name
    if known:
        return Check("issuer", True, f"issuer {issuer_id} is known (its DID document is held)"), True, None
    if resolved is not None and resolved.source == "did:key":
        message = f"issuer {issuer_id} is a did:key: self-certifying, but nobody vouches for who it is"
    elif resolved is not None and resolved.source == "fragment":
        message = (
            f"issuer {issuer_id} is not known: its key was taken from the verificationMethod itself, "
            "so the proof shows integrity, not who issued it"
        )
    else:
        message = f"issuer {issuer_id} is not known"
    warnings.append(message)
    return Check("issuer", None, message), False, None


def _check_recorded_issuer(
    credential: Mapping[str, Any], recognise: Recogniser | None
) -> tuple[Check, bool, str | None]:
    """The issuer of a document on its own record: it issued it, so it holds its DID document."""
    issuer_id = _issuer_id(credential)
    name = recognise(issuer_id) if recognise is not None and issuer_id is not None else None
    named = f": {name}" if name else ""
    return Check("issuer", True, f"issued by {issuer_id}{named}"), True, name


def _check_validity(credential: Mapping[str, Any], now: datetime, skew: timedelta, warnings: list[str]) -> Check:
    start_field, end_field = "validFrom", "validUntil"
    if "validFrom" not in credential and "issuanceDate" in credential:
        start_field, end_field = "issuanceDate", "expirationDate"
        warnings.append("VC Data Model 1.1 credential (issuanceDate/expirationDate)")
    try:
        valid_from = vc_jwt.parse_datetime(credential.get(start_field), start_field)
        valid_until = vc_jwt.parse_datetime(credential[end_field], end_field) if end_field in credential else None
    except ValueError as error:
        return Check("validity", False, str(error))
    if valid_from > dates.shift(now, skew):
        return Check("validity", False, f"not yet valid: {start_field} is {credential[start_field]}")
    if valid_until is not None and valid_until < dates.shift(now, -skew):
        # VC 2.0 4.9: past validUntil the credential is not valid. The date is the instant's own (UTC) date.
        return Check("validity", False, f"Expired on {valid_until.date().isoformat()} "
                                        f"({end_field} was {credential[end_field]})")
    until = f" until {credential[end_field]}" if valid_until is not None else ""
    return Check("validity", True, f"valid from {credential[start_field]}{until}")


def _check_status(credential: Mapping[str, Any], status_checker: StatusChecker | None, warnings: list[str]) -> Check:
    if "credentialStatus" not in credential:
        return Check("status", True, "the credential has no credentialStatus")
    if status_checker is None:
        warnings.append("status not checked (no status checker)")
        return Check("status", None, "not checked: no status checker was given")
    result = status_checker(credential)
    if result is None:
        warnings.append("status not checked (unsupported credentialStatus)")
        return Check("status", None, "not checked: the status checker does not handle this credentialStatus")
    if not isinstance(result, Check) or result.ok not in (True, False, None):
        return Check("status", False, "the status checker returned something other than a Check")
    if result.ok is None:
        warnings.append(f"status: {result.message}")
    return Check("status", result.ok, result.message)


def verify(  # noqa: PLR0912, PLR0915 (the checks of the docstring, in its order: one place to read them all)
    data: str | bytes | Mapping[str, Any],
    *,
    document_loader: DocumentLoader,
    resolver: KeyResolver,
    status_checker: StatusChecker | None = None,
    now: datetime | None = None,
    max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    recognise: Recogniser | None = None,
    on_record: OnRecord | None = None,
) -> VerificationResult:
    """Verify a credential and report each check. Never raises.

    Args:
        data: a JSON-LD credential (dict, JSON text or UTF-8 bytes) or a compact JWT.
        document_loader: offline loader (``loader.document_loader``).
        resolver: offline key resolver (the app passes its own DID document).
        status_checker: ``credential -> Check | None`` (``None``: not handled).
            Without one, status is reported as unchecked.
        now: the time to check against (default: now, UTC).
        max_clock_skew: tolerance for validFrom/validUntil (and JWT nbf/exp).
        recognise: issuer id -> the name we know the issuer by (trust list or our own
            profile), or None. Compared by exact id. When given, an issuer it does not
            recognise, or whose key is only asserted by the credential itself, fails the
            ``issuer`` check ("Issuer not recognised: <id>"), and the result's
            ``issuer_name`` is the recognised name. When not given, the ``issuer`` check
            passes for an issuer whose DID document ``resolver`` holds and is a warning
            otherwise.
        on_record: an issuer's own registry of what it issued (see :data:`OnRecord`). When it
            answers False, the credential fails at once ("Not issued by this service"), before
            any canonicalization: a leaked or retired key cannot make a new credential pass.
            When it answers True, the proofs were verified when the document was signed and it
            is on record unchanged, so the ``context`` and ``proof`` checks pass without
            canonicalizing again; every other check runs as usual.

    Returns:
        A :class:`VerificationResult`; ``verified`` only if no check failed
        (a check with ``ok=None`` is a warning: not checked / not established).
        Checks: ``format``, ``schema``, ``context``, ``proof``, ``issuer``,
        ``validity``, ``status``.
    """
    checks: list[Check] = []
    warnings: list[str] = []
    credential: dict[str, Any] | None = None
    kind: Literal["ldp", "jwt"] | None = None
    issuer_known = False
    issuer_name: str | None = None

    def run(name: str, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except Exception as error:  # noqa: BLE001 - verify() answers, it never raises
            checks.append(Check(name, False, f"could not be checked: {type(error).__name__}: {error}"))
            return None

    try:
        when = (now or datetime.now(UTC))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        try:
            kind, credential, token = _read_input(data)
        except _InputError as error:
            checks.append(Check("format", False, str(error)))
            return _result(checks, warnings, None, None, issuer_known=False)
        checks.append(Check("format", True, "compact JWT (VC-JWT)" if kind == "jwt" else "JSON-LD credential"))

        recorded = on_record(kind, credential, token) if on_record is not None else None
        if recorded is False:
            issuer_id = _issuer_id(credential)
            checks.append(Check("issuer", False, f"Not issued by this service: {issuer_id} never issued a credential "
                                                 "with this id and this content"))
            return _result(checks, warnings, credential, kind, issuer_known=False)
        if isinstance(recorded, str):
            checks.append(Check("proof", False, recorded))
            return _result(checks, warnings, credential, kind, issuer_known=False)

        found = run("schema", lambda: _check_schema(credential, warnings))
        if found:
            checks.append(found)
        resolved: ResolvedKey | None = None
        if recorded:
            checks.append(Check("context", True, "every term is defined (checked when it was signed)"))
            checks.append(Check("proof", True, "this exact document is on record as issued here; its signature was "
                                               "verified when it was signed"))
            issuer = run("issuer", lambda: _check_recorded_issuer(credential, recognise))
        else:
            context = run("context", lambda: _check_context(credential, document_loader))
            canonical = None
            if context:
                checks.append(context[0])
                canonical = context[1]
            if kind == "jwt" and token is not None:
                proof = run(
                    "proof",
                    lambda: _check_jwt_proof(token, credential, resolver=resolver, now=when,
                                             max_clock_skew=max_clock_skew),
                )
            else:
                proof = run(
                    "proof",
                    lambda: _check_ldp_proof(credential, canonical, document_loader=document_loader,
                                             resolver=resolver),
                )
            if proof:
                checks.append(proof[0])
                resolved = proof[1]
            issuer = run("issuer", lambda: _check_issuer(credential, resolved, resolver, warnings, recognise))
        if issuer:
            checks.append(issuer[0])
            issuer_known, issuer_name = issuer[1], issuer[2]
        for name, step in (
            ("validity", lambda: _check_validity(credential, when, max_clock_skew, warnings)),
            ("status", lambda: _check_status(credential, status_checker, warnings)),
        ):
            found = run(name, step)
            if found:
                checks.append(found)
        return _result(checks, warnings, credential, kind, issuer_known=issuer_known, issuer_name=issuer_name)
    except Exception as error:  # noqa: BLE001 - last resort: still an answer
        checks.append(Check("format", False, f"could not be verified: {type(error).__name__}: {error}"))
        return _result(checks, warnings, credential, kind, issuer_known=False)


def _result(
    checks: list[Check],
    warnings: list[str],
    credential: dict[str, Any] | None,
    kind: Literal["ldp", "jwt"] | None,
    *,
    issuer_known: bool,
    issuer_name: str | None = None,
) -> VerificationResult:
    errors = [f"{check.name}: {check.message}" for check in checks if check.ok is False]
    return VerificationResult(
        checks=checks,
        verified=bool(checks) and not errors,
        warnings=warnings,
        errors=errors,
        credential=credential,
        format=kind,
        issuer_known=issuer_known,
        issuer_name=issuer_name,
    )
