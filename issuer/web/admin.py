"""Administration (placeholder until the admin pages land)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from issuer.models import Role
from issuer.web.auth import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@role_required(Role.ADMIN)
def users() -> ResponseReturnValue:
    return "Administration"
