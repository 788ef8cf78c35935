"""Every model, imported here so Alembic's autogenerate sees the whole schema."""

from issuer.models.account_links import Invitation, PasswordReset
from issuer.models.accounts import ApiToken, Assignment, LoginAttempt, Role, User
from issuer.models.api import IdempotencyKey
from issuer.models.audit import AuditEvent
from issuer.models.base import Base, utcnow
from issuer.models.credentials import Credential, IssuedDocument
from issuer.models.deliveries import WalletDelivery, WalletNonce
from issuer.models.frameworks import Framework, Level, Statement
from issuer.models.jobs import BulkJob, BulkJobRow
from issuer.models.keys import IssuerKey
from issuer.models.ledger import CreditActivity, SupervisedSession, SupervisorQualification
from issuer.models.limits import RateWindow
from issuer.models.oauth import CredentialOffer, HeldCredential, OAuthAuthorizationCode, OAuthClient, OAuthToken
from issuer.models.policies import ReminderNotice, ValidityPolicy
from issuer.models.records import LevelCompletion, Setting, StatementMark
from issuer.models.status import StatusEntry, StatusList
from issuer.models.trust import TrustedIssuer

__all__ = [
    "ApiToken",
    "Assignment",
    "AuditEvent",
    "Base",
    "BulkJob",
    "BulkJobRow",
    "Credential",
    "CredentialOffer",
    "CreditActivity",
    "Framework",
    "HeldCredential",
    "IdempotencyKey",
    "Invitation",
    "IssuedDocument",
    "IssuerKey",
    "Level",
    "LevelCompletion",
    "LoginAttempt",
    "OAuthAuthorizationCode",
    "OAuthClient",
    "OAuthToken",
    "PasswordReset",
    "RateWindow",
    "ReminderNotice",
    "Role",
    "Setting",
    "Statement",
    "StatementMark",
    "StatusEntry",
    "StatusList",
    "SupervisedSession",
    "SupervisorQualification",
    "TrustedIssuer",
    "User",
    "ValidityPolicy",
    "WalletDelivery",
    "WalletNonce",
    "utcnow",
]
