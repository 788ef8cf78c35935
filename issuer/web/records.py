"""Evidence files of the learning record, served only to those who may see the record."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, current_app, send_file
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from issuer.accounts import assignments
from issuer.errors import NotFound
from issuer.extensions import db
from issuer.models import Role, StatementMark, User

bp = Blueprint("records", __name__)


def may_see_record(therapist_id: int) -> bool:
    if current_user.role is Role.ADMIN or current_user.id == therapist_id:
        return True
    if current_user.role is Role.SUPERVISOR:
        therapist = db.session.get(User, therapist_id)
        return therapist is not None and assignments.is_assigned(db.session, supervisor=current_user,
                                                                 therapist=therapist)
    return False


@bp.get("/evidence/<int:mark_id>")
@login_required
def evidence(mark_id: int) -> ResponseReturnValue:
    mark = db.session.get(StatementMark, mark_id)
    if mark is None or not mark.evidence_file or not may_see_record(mark.therapist_id):
        raise NotFound("No such evidence file.")
    path = Path(current_app.config["ISSUER_UPLOADS_DIR"]) / mark.evidence_file
    if not path.is_file():
        raise NotFound("The evidence file is no longer stored.")
    # Read whole (evidence is capped at 5 MB) so no file handle outlives the request.
    return send_file(io.BytesIO(path.read_bytes()), mimetype=mark.evidence_type, as_attachment=True,
                     download_name=mark.evidence_filename or path.name, max_age=0)
