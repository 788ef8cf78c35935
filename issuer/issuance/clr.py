"""The therapist's whole learning record as one CLR 2.0 ``ClrCredential``.

Built on demand, so it is always current (a level completed a minute ago is
in it). It holds every level credential the therapist was issued, each with
its own proof (``verifiableCredential``), the Achievements of every statement
met so far, and which level each statement belongs to (``association``). The
whole is signed like any credential: a Data Integrity proof and a VC-JWT.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import select

from issuer.credentials.credential import format_datetime, identity_hash
from issuer.frameworks import achievements
from issuer.identity.profile import base_url, issuer_profile
from issuer.issuance import signing
from issuer.learning import record_book
from issuer.models import Credential, Framework, User
from issuer.platform.database import SessionLike

CLR_CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
]
CLR_SCHEMA = "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"


def build_clr(session: SessionLike, therapist: User, *, now: dt.datetime) -> dict[str, Any]:
    """The unsigned ClrCredential for ``therapist``."""
    credentials = session.scalars(
        select(Credential).filter_by(therapist_id=therapist.id).order_by(Credential.issued_at)
    ).all()
    met = record_book.met_statements(session, therapist)
    profile = issuer_profile()
    statement_achievements: list[dict[str, Any]] = []
    associations: list[dict[str, Any]] = []
    frameworks = session.scalars(select(Framework).order_by(Framework.id)).all()
    for framework in frameworks:
        for level in framework.levels:
            level_id = achievements.achievement_url(base_url(), level.achievement_id)
            for statement in level.statements:
                if statement.id not in met:
                    continue
                achievement = achievements.statement_achievement(statement, base_url=base_url(), creator=profile)
                statement_achievements.append(achievement)
                associations.append({"type": "Association", "associationType": "isChildOf",
                                     "sourceId": achievement["id"], "targetId": level_id})
    subject: dict[str, Any] = {
        "id": therapist.subject_urn,  # the id every level credential inside names too
        "type": ["ClrSubject"],
        "identifier": [{
            "type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
            "identityHash": identity_hash(therapist.email, therapist.recipient_salt), "salt": therapist.recipient_salt,
        }],
        "verifiableCredential": [json.loads(c.document) for c in credentials],
    }
    if statement_achievements:
        subject["achievement"] = statement_achievements
    if associations:
        subject["association"] = associations
    total_levels = sum(len(f.levels) for f in frameworks)
    return {
        "@context": CLR_CONTEXTS,
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": profile,
        "name": f"Learning record of {therapist.name}",
        "description": (f"Every competency statement {therapist.name} has shown under clinical supervision, "
                        f"and every level credential issued, as of {now:%d %B %Y}."),
        "validFrom": format_datetime(now),
        "awardedDate": format_datetime(now),
        "partial": len(credentials) < total_levels,
        "credentialSubject": subject,
        "credentialSchema": [{"id": CLR_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }


def signed_clr(session: SessionLike, therapist: User, *, now: dt.datetime) -> signing.Signed:
    """Build, sign and record a CLR: the verifier accepts only what is on this service's record. Flushes."""
    signed = signing.sign(session, build_clr(session, therapist, now=now), now=now, schema_name="clrcredential")
    signing.record_issued(session, signed, kind="clr", subject=therapist, now=now)
    return signed
