"""Build unsigned OB 3.0 OpenBadgeCredentials (pure: dicts in, dict out).

Shape follows OB 3.0 "AchievementCredential" on the VC Data Model 2.0 with
context 3.0.3, and the "Serialization" rules: multi-valued fields are arrays,
null values and empty arrays are omitted, dates are XML Schema dateTime in UTC.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
# OB 3.0 "Envelope": VC v2 first, OB 3.0.3 second; extensions.json third because
# credentialSchema uses the type 1EdTechJsonSchemaValidator2019, defined only there.
CREDENTIAL_CONTEXT = (VC_V2_CONTEXT, OB_CONTEXT, OB_EXTENSIONS_CONTEXT)
ACHIEVEMENT_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
SCHEMA_VALIDATOR_TYPE = "1EdTechJsonSchemaValidator2019"
IDENTITY_HASH_PREFIX = "sha256$"

_URN_UUID = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
#: A subject id: a DID (W3C DID 1.0 ``did:method:method-specific-id``, no path or fragment), a urn:uuid or an
#: http(s) URL.
_SUBJECT_ID = re.compile(
    r"(?:did:[a-z0-9]+:(?:[A-Za-z0-9._%-]*:)*[A-Za-z0-9._%-]+"
    r"|urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|https?://[^\s/?#]+[^\s]*)"
)


def format_datetime(value: datetime) -> str:
    """XML Schema dateTime in UTC with ``Z`` and no fractional seconds (``2024-05-01T12:00:00Z``).

    Raises:
        ValueError: a naive datetime (its instant would be ambiguous).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime {value!r} has no time zone; pass an aware datetime")
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def identity_hash(email: str, salt: str) -> str:
    """OB 3.0 IdentityObject ``identityHash``: ``"sha256$" + hex(SHA-256(utf8(email + salt)))``.

    The email is hashed exactly as given: normalise it (e.g. lower-case) before
    calling, the same way every time, so a verifier can reproduce the hash.
    """
    return IDENTITY_HASH_PREFIX + hashlib.sha256((email + salt).encode("utf-8")).hexdigest()


def _require_credential_id(credential_id: str) -> None:
    if not (_URN_UUID.match(credential_id) or _URL.match(credential_id)):
        raise ValueError(f"credential id must be a urn:uuid or an http(s) URL, got {credential_id!r}")


def _list_of_dicts(name: str, values: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    if values is None:
        return []
    if isinstance(values, Mapping) or not all(isinstance(value, Mapping) for value in values):
        raise TypeError(f"{name} must be a list of objects")
    return [copy.deepcopy(dict(value)) for value in values]


def build_achievement_credential(  # noqa: PLR0912, PLR0913 (one keyword and one branch per optional OB 3.0 field)
    *,
    credential_id: str,
    issuer: Mapping[str, Any],
    achievement: Mapping[str, Any],
    recipient_email: str,
    salt: str,
    recipient_did: str | None,
    name: str,
    subject_id: str | None = None,
    valid_from: datetime,
    valid_until: datetime | None,
    evidence: Sequence[Mapping[str, Any]],
    results: Sequence[Mapping[str, Any]] | None = None,
    credential_status: Sequence[Mapping[str, Any]] | None = None,
    awarded_date: datetime | None = None,
    description: str | None = None,
    image: Mapping[str, Any] | None = None,
    activity_start_date: datetime | None = None,
    activity_end_date: datetime | None = None,
) -> dict[str, Any]:
    """Build an unsigned OpenBadgeCredential (OB 3.0 AchievementCredential).

    The recipient is identified by ``credentialSubject.id`` (a DID the holder
    proved they control, else the recipient's stable ``urn:uuid:``; OB 3.0
    section 8.2.4.1 makes it the VC-JWT's required ``sub``) and by a hashed,
    salted e-mail IdentityObject (OB 3.0 "IdentityObject"; the form the 1EdTech
    conformance test expects, and what an employer's e-mail check compares).

    Args:
        credential_id: ``urn:uuid:...`` or an http(s) URL.
        issuer: the issuer Profile (``id``, ``type: ["Profile"]``, ``name``, ...).
        achievement: the OB 3.0 Achievement, embedded as given (deep-copied).
        recipient_email: the e-mail to hash into the identifier (hashed as given).
        salt: the salt for the identity hash; published in the identifier.
        recipient_did: a DID the holder proved they control; when given it is the subject ``id``.
        name: credential name (wallets show it).
        subject_id: the subject ``id`` when no ``recipient_did`` is given: the recipient's
            stable ``urn:uuid:``. ``None`` with no DID leaves the subject without an
            ``id`` (e-mail hash only; its VC-JWT then has no ``sub``).
        valid_from: aware datetime; ``validFrom``.
        valid_until: aware datetime or ``None``; ``validUntil``.
        evidence: Evidence objects (omitted when empty).
        results: Result objects for ``credentialSubject.result`` (omitted when empty).
        credential_status: status entries. The published OB 3.0 achievementcredential
            schema types ``credentialStatus`` as ONE CredentialStatus object (an array
            fails it), so a single entry is emitted as an object and more are refused.
        awarded_date: aware datetime or ``None``; ``awardedDate``.
        description: optional credential description.
        image: optional Image object (``{"id": ..., "type": "Image"}``).
        activity_start_date, activity_end_date: aware datetimes or ``None``; the AchievementSubject's
            ``activityStartDate`` and ``activityEndDate`` (when the activity the achievement rests on began and
            ended, e.g. the first and last supervised session).

    Returns:
        A new dict; nothing in it is shared with the arguments.

    Raises:
        ValueError: malformed id, naive datetimes, validUntil before validFrom, an activity ending before it
            starts, empty email/salt, or more than one credentialStatus entry.
        TypeError: list arguments that are not lists of objects.
    """
    _require_credential_id(credential_id)
    if not isinstance(issuer, Mapping) or not issuer.get("id"):
        raise ValueError("issuer must be a Profile object with an id")
    if not isinstance(achievement, Mapping) or not achievement.get("id"):
        raise ValueError("achievement must be an Achievement object with an id")
    subject_id = recipient_did or subject_id
    if subject_id is not None and not _SUBJECT_ID.fullmatch(subject_id):
        raise ValueError(f"the subject id must be a DID, a urn:uuid or an http(s) URL, got {subject_id!r}")
    if not recipient_email or not salt:
        raise ValueError("recipient_email and salt are both required for the hashed identifier")
    if valid_until is not None and format_datetime(valid_until) <= format_datetime(valid_from):
        raise ValueError("valid_until must be after valid_from")
    if (activity_start_date is not None and activity_end_date is not None
            and format_datetime(activity_end_date) < format_datetime(activity_start_date)):
        raise ValueError("activity_end_date must not be before activity_start_date")
    statuses = _list_of_dicts("credential_status", credential_status)
    if len(statuses) > 1:
        raise ValueError(
            "OB 3.0's AchievementCredential schema allows one credentialStatus object; "
            f"got {len(statuses)} entries"
        )

    subject: dict[str, Any] = {}
    if subject_id:
        subject["id"] = subject_id
    subject["type"] = ["AchievementSubject"]
    subject["identifier"] = [
        {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "identityHash": identity_hash(recipient_email, salt),
            "salt": salt,
        }
    ]
    subject["achievement"] = copy.deepcopy(dict(achievement))
    if activity_start_date is not None:
        subject["activityStartDate"] = format_datetime(activity_start_date)
    if activity_end_date is not None:
        subject["activityEndDate"] = format_datetime(activity_end_date)
    result_list = _list_of_dicts("results", results)
    if result_list:
        subject["result"] = result_list

    credential: dict[str, Any] = {
        "@context": list(CREDENTIAL_CONTEXT),
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": name,
    }
    if description:
        credential["description"] = description
    if image:
        credential["image"] = copy.deepcopy(dict(image))
    credential["issuer"] = copy.deepcopy(dict(issuer))
    credential["validFrom"] = format_datetime(valid_from)
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    if awarded_date is not None:
        credential["awardedDate"] = format_datetime(awarded_date)
    credential["credentialSubject"] = subject
    evidence_list = _list_of_dicts("evidence", evidence)
    if evidence_list:
        credential["evidence"] = evidence_list
    if statuses:
        credential["credentialStatus"] = statuses[0]
    # OB 3.0 "credentialSchema": one entry MUST name the 1EdTech achievementcredential schema.
    credential["credentialSchema"] = [{"id": ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": SCHEMA_VALIDATOR_TYPE}]
    return credential
