"""The recipient check: does this credential belong to the person with this e-mail address?

An OB 3.0 credential identifies its recipient by an IdentityObject: here an e-mail address hashed with a salt the
credential publishes (``identityHash = "sha256$" + hex(SHA-256(email + salt))``). Whoever knows the candidate's
address can reproduce the hash; the address is normalised exactly as issuance normalises it (stripped,
lower-cased: ``issuer.accounts.directory.normalise_email``), so the check and the issuance agree.

The address is compared and forgotten: nothing here stores or logs it, and no answer repeats it. Pure: a parsed
credential and an address in, an answer out.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal

from issuer.accounts.directory import EMAIL_PATTERN, MAX_EMAIL_LENGTH
from issuer.errors import InvalidInput

#: Longest identityHash or salt read (a SHA-256 hash with its prefix is 71 characters).
MAX_HASH_FIELD = 200
#: Identifiers looked at, at most (a credential names its recipient once or twice; this bounds the work).
MAX_IDENTIFIERS = 20

Outcome = Literal["match", "no-match", "unknown"]


@dataclass(frozen=True)
class RecipientCheck:
    outcome: Outcome
    message: str

    @property
    def matched(self) -> bool:
        return self.outcome == "match"


def read_email(value: Any) -> str:
    """The typed address, normalised as at issuance.

    :raise InvalidInput: missing, not text, too long or not an address (the message never repeats it).
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("Type the candidate's e-mail address.")
    if len(value) > MAX_EMAIL_LENGTH:
        raise InvalidInput(f"An e-mail address has at most {MAX_EMAIL_LENGTH} characters.")
    email = value.strip().lower()
    if not EMAIL_PATTERN.match(email):
        raise InvalidInput("That is not an e-mail address (it should look like name@example.org).")
    return email


def email_identities(credential: Any) -> list[dict[str, Any]]:
    """The e-mail IdentityObjects of ``credential``'s subject(s), at most ``MAX_IDENTIFIERS``; [] if none."""
    subject = credential.get("credentialSubject") if isinstance(credential, dict) else None
    subjects = subject if isinstance(subject, list) else [subject]
    found: list[dict[str, Any]] = []
    for one in subjects[:MAX_IDENTIFIERS]:
        identifiers = one.get("identifier") if isinstance(one, dict) else None
        for identity in identifiers if isinstance(identifiers, list) else [identifiers]:
            if isinstance(identity, dict) and identity.get("identityType") == "emailAddress":
                found.append(identity)
            if len(found) >= MAX_IDENTIFIERS:
                return found
    return found


def _matches(identity: dict[str, Any], email: str) -> bool | None:
    """True or False; None when this identity cannot be checked (an unknown hash, a value of the wrong type)."""
    claimed = identity.get("identityHash")
    if not isinstance(claimed, str) or len(claimed) > MAX_HASH_FIELD:
        return None
    if identity.get("hashed") is not True:
        return hmac.compare_digest(claimed.strip().lower().encode(), email.encode())
    salt = identity.get("salt", "")  # OB 3.0: no salt given means the hash was not salted
    if not isinstance(salt, str) or len(salt) > MAX_HASH_FIELD:
        return None
    algorithm, _, digest = claimed.partition("$")
    if algorithm.lower() != "sha256" or not digest:
        return None
    ours = hashlib.sha256((email + salt).encode("utf-8")).hexdigest()
    return hmac.compare_digest(digest.lower().encode(), ours.encode())


def check(credential: Any, email: str) -> RecipientCheck:
    """Whether ``email`` (from :func:`read_email`) is the recipient ``credential`` names."""
    identities = email_identities(credential)
    answers = [_matches(identity, email) for identity in identities]
    if any(answer is True for answer in answers):
        return RecipientCheck("match", "Confirmed: this credential was issued to that e-mail address.")
    if any(answer is False for answer in answers):
        return RecipientCheck("no-match", "Not confirmed: this credential was not issued to that e-mail address. "
                                          "Check the spelling, or ask the candidate which address they gave the "
                                          "issuer.")
    if identities:
        return RecipientCheck("unknown", "This credential's recipient cannot be checked by e-mail: its hashed "
                                         "identifier uses a form this service does not read.")
    return RecipientCheck("unknown", "This credential does not identify its recipient by e-mail address.")
