"""Public, read-only pages: frameworks and their achievements."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from issuer.errors import NotFound
from issuer.extensions import db
from issuer.frameworks import achievements
from issuer.identity.profile import base_url, issuer_profile
from issuer.models import Framework, Level, Statement
from issuer.web.negotiation import json_response, prefers_json

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    frameworks = db.session.scalars(select(Framework).order_by(Framework.title, Framework.version)).all()
    return render_template("public/index.html", frameworks=frameworks)


def _framework_summary(framework: Framework) -> dict[str, object]:
    return {
        "id": achievements.framework_url(base_url(), framework),
        "slug": framework.slug,
        "title": framework.title,
        "name": framework.name,
        "socCode": framework.soc_code,
        "version": framework.version,
        "attribution": framework.attribution_line,
        "license": framework.license,
        "sources": framework.sources,
    }


@bp.get("/frameworks")
def frameworks() -> ResponseReturnValue:
    rows = db.session.scalars(select(Framework).order_by(Framework.title, Framework.version)).all()
    if prefers_json():
        return json_response({"frameworks": [_framework_summary(f) for f in rows]}, mimetype="application/json")
    return render_template("public/frameworks.html", frameworks=rows)


def get_framework(slug: str) -> Framework:
    """:raise NotFound: no framework has that slug."""
    framework = db.session.scalars(select(Framework).filter_by(slug=slug)).one_or_none()
    if framework is None:
        raise NotFound(f"No framework {slug!r}.")
    return framework


@bp.get("/frameworks/<slug>")
def framework(slug: str) -> ResponseReturnValue:
    fw = get_framework(slug)
    if prefers_json():
        body = _framework_summary(fw)
        body["contextCovered"] = fw.context_covered
        body["levels"] = [
            {
                "key": level.key,
                "label": level.label,
                "position": level.position,
                "achievement": achievements.achievement_url(base_url(), level.achievement_id),
                "statements": [
                    {
                        "position": s.position,
                        "name": s.name,
                        "description": s.description,
                        "achievement": achievements.achievement_url(base_url(), s.achievement_id),
                    }
                    for s in level.statements
                ],
            }
            for level in fw.levels
        ]
        return json_response(body, mimetype="application/json")
    return render_template("public/framework.html", framework=fw, base_url=base_url())


@bp.get("/achievements/<achievement_id>")
def achievement(achievement_id: str) -> ResponseReturnValue:
    try:
        key = uuid.UUID(achievement_id)
    except ValueError:
        raise NotFound(f"No achievement {achievement_id!r}.") from None
    level = db.session.scalars(select(Level).filter_by(achievement_id=key)).one_or_none()
    statement: Statement | None = None
    if level is not None:
        document = achievements.level_achievement(level, base_url=base_url(), creator=issuer_profile())
        framework = level.framework
    else:
        statement = db.session.scalars(select(Statement).filter_by(achievement_id=key)).one_or_none()
        if statement is None:
            raise NotFound(f"No achievement {achievement_id!r}.")
        document = achievements.statement_achievement(statement, base_url=base_url(), creator=issuer_profile())
        framework = statement.level.framework
    if prefers_json():
        return json_response(achievements.with_context(document))
    return render_template(
        "public/achievement.html", achievement=document, level=level, statement=statement, framework=framework
    )
