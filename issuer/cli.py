"""The ``issuer`` command: Flask's CLI for this app, plus the project's own commands."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade

from issuer.accounts import assignments
from issuer.errors import IssuerError
from issuer.extensions import db
from issuer.verification import inputs, verifier

MAX_VERIFY_BYTES = 2 * 1024 * 1024  # `issuer verify` reads at most this much of its input

def main() -> None:
    """Entry point of the ``issuer`` console script (no ``--app`` needed)."""
    from issuer import create_app

    cli = FlaskGroup(create_app=create_app, help="Learning record and Open Badges 3.0 issuing service.")
    cli.main()


def fail(error: IssuerError) -> NoReturn:
    click.echo(f"Error: {error.message}", err=True)
    sys.exit(1)


@contextmanager
def committed() -> Iterator[None]:
    """A command's one transaction: committed when the block ends, or rolled back and the command ends with the
    error's message and exit status 1 (never a traceback)."""
    try:
        yield
        db.session.commit()
    except IssuerError as error:
        db.session.rollback()
        fail(error)


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Upgrade the database, create issuer keys if none exist, import every framework. Idempotent."""
    from issuer.frameworks import catalogue
    from issuer.identity import keystore

    upgrade()
    try:
        created = keystore.ensure_keys(db.session)
        db.session.commit()
        for key in created:
            click.echo(f"Created {key.algorithm} key {key.kid}.")
        for path in catalogue.framework_files(current_app.config["ISSUER_FRAMEWORKS_DIR"]):
            result = catalogue.import_framework(db.session, catalogue.parse_framework(path))
            db.session.commit()
            verb = "Imported" if result.created else "Already imported"
            click.echo(f"{verb} {result.framework.name} {result.framework.version} from {path.name}.")
        _resign_status_lists(every=False)
    except IssuerError as error:
        db.session.rollback()
        fail(error)
    click.echo("Initialised.")


@click.group("frameworks")
def frameworks_group() -> None:
    """Competency frameworks."""


@frameworks_group.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def frameworks_import(path: Path) -> None:
    """Import a framework export (JSON). Importing the same file twice changes nothing."""
    from issuer.frameworks import catalogue

    with committed():
        result = catalogue.import_framework(db.session, catalogue.parse_framework(path))
    fw = result.framework
    if result.created:
        click.echo(f"Imported {fw.name} {fw.version}: {len(fw.levels)} levels, "
                   f"{sum(len(level.statements) for level in fw.levels)} statements.")
    else:
        click.echo(f"{fw.name} {fw.version} is already imported; nothing changed.")


@frameworks_group.command("list")
@with_appcontext
def frameworks_list() -> None:
    """List imported frameworks."""
    from sqlalchemy import select

    from issuer.models import Framework

    for fw in db.session.scalars(select(Framework).order_by(Framework.title, Framework.version)):
        click.echo(f"{fw.slug}\t{fw.soc_code}\t{fw.version}\t{len(fw.levels)} levels")


@click.group("keys")
def keys_group() -> None:
    """The issuer's signing keys (Ed25519 for Data Integrity, RSA for VC-JWT)."""


@keys_group.command("generate")
@click.option("--algorithm", type=click.Choice(["Ed25519", "RSA", "all"]), default="all", show_default=True)
@with_appcontext
def keys_generate(algorithm: str) -> None:
    """Create keys for algorithms that have none yet (never replaces an existing identity)."""
    from issuer.identity import keystore

    wanted = keystore.ALGORITHMS if algorithm == "all" else (algorithm,)
    created = [k for k in keystore.ensure_keys(db.session) if k.algorithm in wanted]
    db.session.commit()
    for key in created:
        click.echo(f"Created {key.algorithm} key {key.kid}.")
    if not created:
        click.echo("Keys already exist; use `issuer keys rotate` to replace them.")


@keys_group.command("rotate")
@click.option("--algorithm", type=click.Choice(["Ed25519", "RSA", "all"]), default="all", show_default=True)
@with_appcontext
def keys_rotate(algorithm: str) -> None:
    """Make new current keys; retired keys stay published so old credentials keep verifying."""
    from issuer.identity import keystore

    wanted = keystore.ALGORITHMS if algorithm == "all" else (algorithm,)
    for key in keystore.rotate(db.session, wanted):
        click.echo(f"New current {key.algorithm} key {key.kid}.")
    db.session.commit()


@keys_group.command("list")
@with_appcontext
def keys_list() -> None:
    """List every key with its state; private keys are never shown."""
    from issuer.identity import keystore

    for key in keystore.all_keys(db.session):
        if key.revoked_at:
            state = f"revoked {key.revoked_at:%Y-%m-%d}"
        else:
            state = f"retired {key.retired_at:%Y-%m-%d}" if key.retired_at else "current"
        public = key.public_multibase or key.public_jwk.get("kty", "")
        click.echo(f"{key.kid}\t{key.algorithm}\t{state}\tcreated {key.created_at:%Y-%m-%d}\t{public}")


@keys_group.command("revoke")
@click.argument("kid")
@click.option("--reason", required=True, help="Why: how the key was compromised (kept in the audit log).")
@with_appcontext
def keys_revoke(kid: str, reason: str) -> None:
    """Revoke key KID after a compromise: it leaves the DID document and the JWKS now, and nothing it signed
    verifies any more. A current key is replaced at once. Prints every credential it signed."""
    from issuer.issuance import reissue

    with committed():
        revoked = reissue.revoke_key(db.session, kid, reason=reason)
    key = revoked.key
    click.echo(f"Revoked {key.algorithm} key {key.kid}: it is no longer in the DID document or the JWKS.")
    if revoked.replacement is not None:
        click.echo(f"New current {revoked.replacement.algorithm} key {revoked.replacement.kid}.")
    for status_list in revoked.lists:
        click.echo(f"Re-signed {status_list.purpose} status list {status_list.public_id} with the current key.")
    click.echo(f"Credentials signed by {key.kid}: {len(revoked.credentials)}")
    for credential in revoked.credentials:
        click.echo(f"{credential.id}\t{credential.therapist.email}\t{credential.level.label}\t"
                   f"{'superseded' if credential.superseded_at else credential.state}")
    if revoked.documents:
        kinds = sorted({d.kind for d in revoked.documents})
        click.echo(f"Other documents signed by {key.kid} ({', '.join(kinds)}): {len(revoked.documents)}; they no "
                   "longer verify and are not kept here: their holders ask for new ones.")
    if any(c.superseded_at is None and c.revoked_at is None for c in revoked.credentials):
        click.echo(f"Issue new copies with: issuer credentials reissue --signed-by {key.kid}")


@click.group("users")
def users_group() -> None:
    """Accounts."""


@users_group.command("add")
@click.argument("email")
@click.option("--name", required=True, help="Full name, as shown on credentials.")
@click.option("--role", type=click.Choice(["admin", "supervisor", "therapist"]), required=True)
@with_appcontext
def users_add(email: str, name: str, role: str) -> None:
    """Create an account. The password is read from standard input when that is not a terminal;
    otherwise one is generated and printed once."""
    from issuer.accounts import directory

    generated = sys.stdin.isatty()
    password = directory.generate_password() if generated else sys.stdin.readline().rstrip("\r\n")
    with committed():
        user = directory.create_user(db.session, email=email, name=name, role=role, password=password)
    click.echo(f"Created {user.role.value} {user.email}.")
    if generated:
        click.echo(f"Password (shown once): {password}")


@users_group.command("deactivate")
@click.argument("email")
@with_appcontext
def users_deactivate(email: str) -> None:
    """Deactivate an account: it can no longer sign in or use API tokens."""
    from issuer.accounts import directory
    from issuer.platform import audit

    with committed():
        user = directory.get_user_by_email(db.session, email)
        user.active = False
        audit.record(db.session, "account.deactivated", actor=None, subject_type="user", subject_id=user.id,
                     via="cli")
    click.echo(f"Deactivated {user.email}.")


@click.command("assign")
@click.argument("supervisor_email")
@click.argument("therapist_email")
@with_appcontext
def assign_command(supervisor_email: str, therapist_email: str) -> None:
    """Assign a therapist to a supervisor."""
    from issuer.accounts import directory

    with committed():
        assignments.assign(db.session, supervisor=directory.get_user_by_email(db.session, supervisor_email),
                        therapist=directory.get_user_by_email(db.session, therapist_email))
    click.echo(f"Assigned {therapist_email} to {supervisor_email}.")


@click.command("complete")
@click.argument("supervisor_email")
@click.argument("therapist_email")
@click.argument("level")
@click.option("--mark-all-statements", is_flag=True, help="First record every statement of the level as met today.")
@click.option("--framework", "framework_slug", default=None, help="Framework slug (default: the newest version).")
@with_appcontext
def complete_command(supervisor_email: str, therapist_email: str, level: str, *, mark_all_statements: bool,
                     framework_slug: str | None) -> None:
    """Mark LEVEL (as the framework names it, e.g. emerging) complete and issue the credential.

    Prints the credential's UUID, its id in every URL (/credentials/<uuid>).
    """
    from issuer.accounts import directory
    from issuer.errors import NotFound
    from issuer.frameworks import catalogue
    from issuer.issuance import completion
    from issuer.learning import record_book
    from issuer.models import utcnow

    with committed():  # the notice to the therapist goes with it
        supervisor = directory.get_user_by_email(db.session, supervisor_email)
        therapist = directory.get_user_by_email(db.session, therapist_email)
        fw = catalogue.find_framework(db.session, framework_slug)
        wanted = level.strip().lower()
        match = next((lv for lv in fw.levels if wanted in (lv.key.lower(), lv.label.lower())), None)
        if match is None:
            raise NotFound(f"{fw.name} {fw.version} has no level {level!r} "
                           f"(levels: {', '.join(lv.label for lv in fw.levels)})")
        if mark_all_statements:
            met = record_book.met_statements(db.session, therapist)
            for statement in match.statements:
                if statement.id not in met:
                    record_book.mark_statement(db.session, supervisor=supervisor, therapist=therapist,
                                               statement=statement, observed_on=utcnow().date(),
                                               note="Recorded from the command line.")
        credential = completion.complete_level(db.session, supervisor=supervisor, therapist=therapist, level=match)
    click.echo(str(credential.id))


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create one demo account of each role (once) and print how to sign in."""
    from issuer.accounts import demo

    created = demo.create_demo_accounts(db.session)
    db.session.commit()
    base = current_app.config["ISSUER_BASE_URL"]
    if created:
        click.echo(f"Demo accounts (sign in at {base}/login); passwords are shown this once:")
        for role, email, password in created:
            click.echo(f"  {role:<10} {email:<28} {password}")
        click.echo("Passwords are also saved, readable only by you, in instance/demo-accounts.txt.")
    else:
        click.echo("Demo accounts exist already; their passwords are in instance/demo-accounts.txt. "
                   f"Sign in at {base}/login")


@click.command("verify")
@click.argument("source", type=click.File("rb"))
@with_appcontext
def verify_command(source: BinaryIO) -> None:  # click.File opens a file to read at once
    """Verify a credential (JSON-LD, VC-JWT or baked PNG/SVG) from FILE or - (stdin).

    Prints the result as JSON. Exit status: 0 valid, 1 invalid, 2 unreadable input.
    """
    import json

    def unreadable(message: str) -> NoReturn:
        click.echo(json.dumps({"verified": False, "checks": [], "warnings": [], "errors": [message]}, indent=2))
        sys.exit(2)

    raw = source.read(MAX_VERIFY_BYTES + 1)
    if len(raw) > MAX_VERIFY_BYTES:
        unreadable("the input is larger than 2 MB")
    try:
        data = inputs.extract_credential(raw, filename=getattr(source, "name", "") or "")
    except IssuerError as error:
        unreadable(error.message)
    result = verifier.verify_any(db.session, data)
    click.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
    sys.exit(0 if result.verified else (1 if result.readable else 2))


@click.group("credentials")
def credentials_group() -> None:
    """Issued credentials: revoke, suspend, unsuspend, reissue after a key revocation, CLR."""


def _status_command(action: str) -> click.Command:
    @click.command(action, help=f"{action.capitalize()} credential ID (its UUID) with a reason.")
    @click.argument("credential_id")
    @click.option("--reason", required=True, help="Private: kept in the audit log, never shown publicly.")
    @click.option("--public-reason", default=None,
                  help="Optional: shown with the date on the public pages (not for unsuspend).")
    @with_appcontext
    def command(credential_id: str, reason: str, public_reason: str | None) -> None:
        from issuer.issuance import revocation

        with committed():
            credential = revocation.get(db.session, credential_id)
            revocation.change(db.session, credential, action=action, reason=reason, actor=None,
                              public_reason=public_reason)
        click.echo(f"Credential {credential.id} is now {credential.state}.")

    return command


for _action in ("revoke", "suspend", "unsuspend"):
    credentials_group.add_command(_status_command(_action))


@credentials_group.command("reissue")
@click.option("--signed-by", "kid", required=True, help="The revoked key whose credentials to sign again.")
@with_appcontext
def credentials_reissue(kid: str) -> None:
    """Sign every credential of the revoked key KID again with the current keys, as new credentials that replace
    the old ones (which are revoked). Each therapist is told. Running it again re-issues nothing twice."""
    from issuer.issuance import reissue

    with committed():  # the notices go with it
        result = reissue.reissue(db.session, kid)
    for old, new in result.reissued:
        click.echo(f"{old.id} -> {new.id}\t{new.therapist.email}\t{new.level.label}")
    for old in result.skipped:
        click.echo(f"{old.id}\trevoked before; not re-issued")
    for status_list in result.lists:
        click.echo(f"Re-signed {status_list.purpose} status list {status_list.public_id} with the current key.")
    click.echo(f"Re-issued {len(result.reissued)} credential(s) signed by {result.key.kid}"
               + (f"; {len(result.skipped)} revoked before were left as they are." if result.skipped else "."))


@credentials_group.command("clr")
@click.argument("therapist_email")
@click.option("--jwt", "as_jwt", is_flag=True, help="Print the VC-JWT instead of the JSON-LD credential.")
@with_appcontext
def credentials_clr(therapist_email: str, *, as_jwt: bool) -> None:
    """Print THERAPIST_EMAIL's whole learning record as a signed CLR 2.0 credential.

    It holds the credentials valid now; those left out are listed on standard error, each with why."""
    from issuer.accounts import directory
    from issuer.issuance import clr
    from issuer.models import utcnow

    with committed():
        therapist = directory.get_user_by_email(db.session, therapist_email)
        now = utcnow()
        contents = clr.clr_contents(db.session, therapist, now=now)
        signed = clr.signed_clr(db.session, therapist, now=now, contents=contents)
        left_out = [f"Left out: {item.name} ({item.credential.id}): {item.why}" for item in contents.left_out]
    click.echo(signed.jwt if as_jwt else signed.document_text)
    for line in left_out:
        click.echo(line, err=True)


@click.group("trust")
def trust_group() -> None:
    """The trust list: issuers whose credentials verify here besides this service."""


@trust_group.command("add")
@click.argument("issuer_id")
@click.option("--name", required=True, help="The name pages show for this issuer.")
@click.option("--url", default=None, help="The issuer's web site.")
@click.option("--did-document", "did_document", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None,
              help="The issuer's DID document (did.json), for a did:web issuer: keys are never fetched.")
@with_appcontext
def trust_add(issuer_id: str, name: str, url: str | None, did_document: Path | None) -> None:
    """Recognise ISSUER_ID (a DID or https URL, exactly as its credentials carry it)."""
    from issuer.verification import trust

    with committed():
        document = did_document.read_bytes()[:trust.MAX_DID_DOCUMENT_BYTES + 1] if did_document else None
        entry = trust.add(db.session, issuer_id=issuer_id, name=name, url=url, did_document=document)
    click.echo(f"Trusted {entry.issuer_id} as {entry.name}.")


@trust_group.command("remove")
@click.argument("issuer_id")
@with_appcontext
def trust_remove(issuer_id: str) -> None:
    """Stop recognising ISSUER_ID: its credentials no longer verify here."""
    from issuer.verification import trust

    with committed():
        trust.remove(db.session, issuer_id=issuer_id)
    click.echo(f"Removed {issuer_id} from the trust list.")


@trust_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of one line per issuer.")
@with_appcontext
def trust_list(*, as_json: bool) -> None:
    """List the trusted issuers (this service itself is always recognised and not listed)."""
    import json

    from issuer.verification import trust

    entries = trust.trusted_issuers(db.session)
    if as_json:
        click.echo(json.dumps(trust.describe(entries), indent=2, ensure_ascii=False))
        return
    for entry in entries:
        click.echo(f"{entry.issuer_id}\t{entry.name}\t{entry.url or ''}\t{entry.source}")
    if not entries:
        click.echo("The trust list is empty: only this service's own credentials verify.")


@trust_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--registry", "registry_name", default=None, help="The registry's name (default: the file name).")
@with_appcontext
def trust_import(path: Path, registry_name: str | None) -> None:
    """Import an issuer registry in the Digital Credentials Consortium's format (registry.json)."""
    from issuer.verification import trust

    try:
        with path.open("rb") as handle:
            data = handle.read(trust.MAX_REGISTRY_BYTES + 1)
    except OSError as error:
        click.echo(f"Error: cannot read {path}: {error.strerror}", err=True)
        sys.exit(1)
    with committed():
        result = trust.import_registry(db.session, data, registry=registry_name or path.stem)
    click.echo(f"Registry {result.registry}: {result.added} added, {result.updated} updated, "
               f"{result.unchanged} unchanged.")


@click.group("status-lists")
def status_lists_group() -> None:
    """Bitstring status lists (signed when a bit changes; serving one only reads)."""


def _resign_status_lists(*, every: bool) -> None:
    from issuer.models import utcnow
    from issuer.status_lists import lists

    signed = lists.sign_pending(db.session, now=utcnow(), every=every)
    db.session.commit()
    if signed:
        click.echo(f"Signed {len(signed)} status list(s).")


@status_lists_group.command("resign")
@click.option("--all", "every", is_flag=True, help="Sign every list again, not only those whose signature is missing "
              "or older than their bits (after a key change, say).")
@with_appcontext
def status_lists_resign(*, every: bool) -> None:
    """Sign the status lists that need it, in one transaction. Idempotent; `issuer init` runs it."""
    with committed():
        _resign_status_lists(every=every)
    click.echo("Status lists are signed.")


@click.command("worker")
@click.option("--loop", is_flag=True, help="Keep polling for new rows instead of exiting when none is left.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between polls with --loop.")
@with_appcontext
def worker_command(*, loop: bool, interval: float) -> None:
    """Issue the pending rows of bulk issuance jobs, one row per transaction; exit when none is left.

    Safe to run several at once, and to stop at any moment: a row being issued when the worker stops is taken
    again by the next one, and a level already complete is skipped, never issued twice.
    """
    import time

    from issuer.issuance import jobs

    while True:
        try:
            processed = jobs.run(db.session)
        except IssuerError as error:
            fail(error)
        if processed:
            click.echo(f"Processed {processed} bulk row(s).")
        if not loop:
            break
        time.sleep(interval)


@click.group("recertification")
def recertification_group() -> None:
    """Keeping credentials current: expiry reminders and renewals (validity policies: Administration → Validity
    policies)."""


@recertification_group.command("remind")
@click.option("--dry-run", is_flag=True, help="List the reminders that are due; claim and send nothing.")
@with_appcontext
def recertification_remind(*, dry_run: bool) -> None:
    """Send the expiry reminders that are due, once each (run it daily from cron; safe to run twice or at once)."""
    from issuer.recertification import reminders

    with committed():  # the claims commit, then the notices go
        sent = reminders.send_due(db.session, dry_run=dry_run)
        if dry_run:
            db.session.rollback()
    for reminder in sent:
        needs = f"; needs {'; '.join(reminder.missing)}" if reminder.missing else ""
        click.echo(f"{reminder.credential_id}\t{reminder.email}\t{reminder.lead_days}-day reminder, "
                   f"{reminder.days_left} day(s) left{needs}")
    click.echo(f"{'Would send' if dry_run else 'Sent'} {len(sent)} reminder(s).")


@recertification_group.command("renew")
@click.argument("credential_id", type=click.UUID)
@click.option("--by", "actor_email", required=True,
              help="The administrator or assigned supervisor issuing the renewal (recorded as its issuer).")
@with_appcontext
def recertification_renew(credential_id: Any, actor_email: str) -> None:
    """Issue the renewal of CREDENTIAL_ID for the next cycle, when its policy's requirements are met.

    Prints the renewed credential's UUID. Exits 1 naming what is missing otherwise."""
    from issuer.accounts import directory
    from issuer.recertification import renewal

    with committed():  # the notice to the therapist goes with it
        actor = directory.get_user_by_email(db.session, actor_email)
        renewed = renewal.renew(db.session, credential_id=credential_id, actor=actor)
    click.echo(str(renewed.id))


def _writing(command: click.Command) -> None:
    """Run ``command`` (every command of a group) as work that writes: on SQLite its transactions begin
    ``IMMEDIATE`` and wait for concurrent writers (``issuer.platform.database.writing``)."""
    from functools import wraps

    from issuer.platform import database

    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _writing(sub)
        return
    callback = command.callback
    if callback is None or getattr(callback, "__writing__", False):
        return

    @wraps(callback)
    def writing(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy import exc

        from issuer.platform.transactions import is_contention

        try:
            with database.writing():
                return callback(*args, **kwargs)
        except exc.DBAPIError as error:  # the lock was held past busy_timeout (the app context rolls back)
            if not is_contention(error):
                raise
            click.echo("Error: the database is busy with other changes; what this command had not saved yet was "
                       "dropped. Try again in a moment.", err=True)
            sys.exit(1)

    writing.__writing__ = True  # type: ignore[attr-defined]
    command.callback = writing


_COMMANDS = (init_command, frameworks_group, keys_group, users_group, assign_command, complete_command, demo_command,
             verify_command, credentials_group, trust_group, status_lists_group, worker_command,
             recertification_group)


def init_app(app: Flask) -> None:
    for command in _COMMANDS:
        _writing(command)
        app.cli.add_command(command)
