"""E-mail notices: through SMTP when one is configured, otherwise into a local outbox folder.

``notify_issued`` is the one way to tell a therapist: the issuance service calls it, and the notice goes
once the issuing transaction commits (a notice about a credential that was rolled back would be a lie).
A failure to send is logged and never undoes the issuance: the credential is on the therapist's page
either way.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import threading
import uuid
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from pathlib import Path

from flask import Flask, current_app

from issuer.models import Credential
from issuer.platform.database import SessionLike
from issuer.platform.on_commit import on_commit

log = logging.getLogger(__name__)


def outbox_dir() -> Path:
    return Path(current_app.config["ISSUER_OUTBOX_DIR"])


def issuance_message(credential: Credential) -> Message:
    """The notice, built while the credential's rows are at hand (before the commit expires them).

    ``MIMEText`` rather than ``EmailMessage``: the same standard message, built with less work, which
    counts when a bulk run or the API issues many credentials in a row.
    """
    base = current_app.config["ISSUER_BASE_URL"]
    level = credential.level
    return _message(credential, f"Your {level.framework.title}: {level.label} credential", (
        f"Dear {credential.therapist.name},\n\n"
        f"{credential.issued_by.name} has recorded that you completed the {level.label} level of the "
        f"{level.framework.name} {level.framework.version}, and {current_app.config['ISSUER_NAME']} has issued you "
        f"a signed Open Badges 3.0 credential.\n\n"
        f"See it, share it or add it to LinkedIn: {base}/credentials/{credential.id}\n"
        f"Anyone can verify it at: {base}/verify/{credential.id}\n\n"
        f"{level.framework.attribution_line}\n"
    ))


def _message(credential: Credential, subject: str, body: str) -> Message:
    """A plain-text UTF-8 notice from this service to the credential's therapist."""
    return _message_to(credential.therapist.email, subject, body)


def _message_to(address: str, subject: str, body: str) -> Message:
    """A plain-text UTF-8 notice from this service to ``address``."""
    message = MIMEText(body, "plain", "utf-8")
    message["From"] = current_app.config["ISSUER_EMAIL"]
    message["To"] = address
    # typeshed types a MIMEText's headers as str; email takes a Header too, and encodes it (RFC 2047) when sent.
    message["Subject"] = Header(subject, "utf-8")  # type: ignore[assignment]
    return message


def send(message: Message) -> None:
    host = current_app.config.get("ISSUER_SMTP_HOST")
    if host:
        with smtplib.SMTP(host, int(current_app.config.get("ISSUER_SMTP_PORT", 587)), timeout=10) as smtp:
            if current_app.config.get("ISSUER_SMTP_STARTTLS", True):
                smtp.starttls()
            user = current_app.config.get("ISSUER_SMTP_USER")
            if user:
                smtp.login(user, current_app.config.get("ISSUER_SMTP_PASSWORD") or "")
            smtp.send_message(message)
        return
    directory = outbox_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    (directory / f"{uuid.uuid4().hex}.eml").write_bytes(bytes(message))


def notify_issued(session: SessionLike, credential: Credential) -> None:
    """Tell the therapist once ``session`` commits the issuance (never if it rolls back).

    The message is built now, from the rows at hand: after the commit they would be read again.
    """
    queue(session, issuance_message(credential), about=str(credential.id))


def reissue_message(credential: Credential, old: Credential) -> Message:
    """The notice that a credential was signed again (its key was revoked): the new copy replaces the old one."""
    base = current_app.config["ISSUER_BASE_URL"]
    level = credential.level
    return _message(credential, f"A new copy of your {level.framework.title}: {level.label} credential", (
        f"Dear {credential.therapist.name},\n\n"
        f"{current_app.config['ISSUER_NAME']} has withdrawn one of the keys it signs credentials with, so your "
        f"{level.label} credential of the {level.framework.name} {level.framework.version} has been issued again "
        f"with a new key. Nothing about your achievement has changed.\n\n"
        f"Your new copy: {base}/credentials/{credential.id}\n"
        f"The old copy ({base}/credentials/{old.id}) no longer verifies. If you saved it in a wallet, shared it "
        f"or added it to LinkedIn, please replace it with the new copy.\n"
    ))


def notify_reissued(session: SessionLike, credential: Credential, old: Credential) -> None:
    """Tell the therapist, once ``session`` commits, that ``credential`` is a new copy of ``old``."""
    queue(session, reissue_message(credential, old), about=str(credential.id))


def notice_for(credential: Credential, subject: str, body: str) -> Message:
    """Any other notice about ``credential`` to its therapist (an expiry reminder, a renewal), in the same form."""
    return _message(credential, subject, body)


def queue(session: SessionLike, message: Message, *, about: str) -> None:
    """Send ``message`` once ``session`` commits (never if it rolls back); ``about`` names it in the log."""
    on_commit(session, lambda: send_quietly(message, about=about))


def send_quietly(message: Message, *, about: str) -> None:
    """Send, and log a failure instead of raising: the credential is issued either way."""
    try:
        send(message)
    except (OSError, smtplib.SMTPException):
        log.exception("could not send the notice for %s", about)


# --- account links: invitations and password resets -------------------------------------------------------------


def invitation_message(*, email: str, name: str, role: str, link: str, expires_at: dt.datetime,
                       invited_by: str) -> Message:
    """The invitation: who invited them, to what role, the single-use link and when it stops working."""
    service = current_app.config["ISSUER_NAME"]
    return _message_to(email, f"You are invited to {service}", (
        f"Dear {name},\n\n"
        f"{invited_by} has invited you to {service} as {_article(role)} {role}.\n\n"
        f"Choose your password and open your account here {_single_use(expires_at)}:\n{link}\n\n"
        f"If you did not expect this invitation, ignore this message: no account is opened without you.\n"
    ))


def password_reset_message(*, email: str, name: str, link: str, expires_at: dt.datetime) -> Message:
    """The "forgot password" e-mail: the single-use link and when it stops working."""
    service = current_app.config["ISSUER_NAME"]
    return _message_to(email, f"Choose a new password for {service}", (
        f"Dear {name},\n\n"
        f"Someone (we hope you) asked to choose a new password for your {service} account.\n\n"
        f"Choose it here {_single_use(expires_at)}:\n{link}\n\n"
        f"Choosing a new password signs you out everywhere else. If you did not ask, ignore this message: "
        f"your password stays as it is.\n"
    ))


def _single_use(expires_at: dt.datetime) -> str:
    """How long an e-mailed link works, as both account-link e-mails say it."""
    return f"(the link works once, until {expires_at.strftime('%d %B %Y, %H:%M')} UTC)"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def notify_account_link(session: SessionLike, message: Message, *, about: str) -> None:
    """Send an invitation or reset e-mail once ``session`` commits (never if it rolls back).

    Through SMTP it is sent on a thread of its own, so how long the server takes never tells a visitor of the
    "forgot password" form whether an account exists; into the outbox it is written at once.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # the app, not its proxy

    def deliver() -> None:
        if not app.config.get("ISSUER_SMTP_HOST"):
            send_quietly(message, about=about)
            return

        def in_background() -> None:
            with app.app_context():
                send_quietly(message, about=about)

        threading.Thread(target=in_background, name="account-link-mail", daemon=True).start()

    on_commit(session, deliver)
