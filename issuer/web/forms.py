"""Forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # types-wtforms 3.2 predates it
from wtforms.validators import DataRequired, Length, Optional


class MarkForm(FlaskForm):
    observed_on = DateField("Date observed", validators=[DataRequired(message="Give the date you observed it.")])
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)])
    evidence_url = URLField("Evidence link (optional)", validators=[Optional(), Length(max=2000)])
    evidence_file = FileField("Evidence file (optional; PDF, PNG or JPEG, up to 5 MB)")


class UndoForm(FlaskForm):
    reason = TextAreaField("Reason for withdrawing", validators=[DataRequired(message="Say why."), Length(max=2000)])


class CompleteForm(FlaskForm):
    justification = TextAreaField("Justification (only for completing by override)",
                                  validators=[Optional(), Length(max=2000)])


class ConfirmForm(FlaskForm):
    """A bare POST form: just the CSRF token."""


# Choices are SelectChoice: WTForms 3.3 deprecates tuples (its stubs, types-wtforms 3.2, know only tuples).
class InviteForm(FlaskForm):
    """An invitation: the person chooses their own password from the e-mailed link."""

    email = EmailField("E-mail address", validators=[DataRequired(message="Give the person's e-mail address."),
                                                     Length(max=320)])
    name = StringField("Full name", validators=[DataRequired(message="Give the person's full name."),
                                                Length(max=200)])
    role = SelectField("Role", choices=[SelectChoice("therapist", "Therapist"),
                                        SelectChoice("supervisor", "Supervisor"),
                                        SelectChoice("admin", "Administrator")])


class AssignForm(FlaskForm):
    supervisor_id = SelectField("Supervisor", coerce=int)
    therapist_id = SelectField("Therapist", coerce=int)


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=100)])


class ProfileForm(FlaskForm):
    public_profile = BooleanField("Show my public profile page")
    handle = StringField("Profile address (letters, digits, - and _)", validators=[Optional(), Length(min=3, max=64)])
    did = StringField("My DID (optional, e.g. did:key:…)", validators=[Optional(), Length(max=500)])


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give a reason."), Length(max=2000)])
    public_reason = StringField("Public reason (optional)", validators=[Optional(), Length(max=300)])


class SettingsForm(FlaskForm):
    allow_override = BooleanField("Supervisors may complete a level by override, with a written justification")


class FrameworkUploadForm(FlaskForm):
    file = FileField("Framework export (JSON)")


class TrustForm(FlaskForm):
    issuer_id = StringField("Issuer id (DID or https URL, exactly as its credentials carry it)",
                            validators=[DataRequired(), Length(max=2000)])
    name = StringField("Name shown for this issuer", validators=[DataRequired(), Length(max=200)])
    url = StringField("Web site (optional)", validators=[Length(max=2000)])


class RegistryForm(FlaskForm):
    registry = StringField("Registry name", validators=[DataRequired(), Length(max=200)])
    file = FileField("Issuer registry (registry.json, Digital Credentials Consortium format)")


class PolicyForm(FlaskForm):
    """A validity policy (issuer.recertification.policy_store checks the values and names what is wrong)."""

    validity_months = StringField("Validity (months; empty: credentials do not expire)",
                                  validators=[Length(max=10)])
    required_credits = StringField("Continuing-education credits required for renewal (empty: none)",
                                   validators=[Length(max=20)])
    category_minimums = StringField("Minimum credits per category (e.g. ethics: 3, research: 2)",
                                    validators=[Length(max=2000)])
    minutes_per_credit = StringField("Minutes per credit", default="50", validators=[Length(max=10)])
    supervised_hours = StringField("Supervised clinical hours required to complete the level (empty: none)",
                                   validators=[Length(max=10)])
    reminder_days = StringField("Reminder lead times (days before expiry, e.g. 90, 30, 7)", default="90,30,7",
                                validators=[Length(max=100)])


class ActivityForm(FlaskForm):
    """A continuing-education activity. Minutes are read as text: the ledger says what is wrong with them."""

    title = StringField("Title", validators=[DataRequired(message="Give the title."), Length(max=200)])
    provider = StringField("Provider", validators=[DataRequired(message="Give the provider."), Length(max=200)])
    activity_on = DateField("Date", validators=[DataRequired(message="Give the date of the activity.")])
    minutes = StringField("Minutes", validators=[DataRequired(message="Give the minutes.")])
    category = SelectField("Category", choices=[])
    evidence_url = URLField("Evidence link (optional)", validators=[Optional(), Length(max=2000)])
    evidence_note = TextAreaField("Evidence note (optional)", validators=[Optional(), Length(max=2000)])


class DecisionForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=2000)])


class SessionForm(FlaskForm):
    session_on = DateField("Session date", validators=[DataRequired(message="Give the session's date.")])
    minutes = StringField("Minutes", validators=[DataRequired(message="Give the minutes.")])
    setting = StringField("Setting (e.g. hospital, school)", validators=[DataRequired(), Length(max=100)])
    population = StringField("Population (e.g. older adults)", validators=[DataRequired(), Length(max=100)])
    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=2000)])


class QualificationForm(FlaskForm):
    supervisor_id = SelectField("Supervisor", coerce=int)
    credential_name = StringField("Credential (e.g. MT-BC)", validators=[DataRequired(), Length(max=100)])
    number = StringField("Credential number", validators=[DataRequired(), Length(max=100)])
    issuing_body = StringField("Issuing body", validators=[DataRequired(), Length(max=200)])
    valid_until = DateField("Valid until (optional)", validators=[Optional()])
