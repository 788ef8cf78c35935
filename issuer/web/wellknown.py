"""The issuer's public identity: DID document, JWKS, OB 3.0 Profile, status lists."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from issuer.errors import NotFound
from issuer.extensions import db
from issuer.frameworks import achievements, level_images
from issuer.identity import did_web
from issuer.identity.profile import issuer_profile
from issuer.platform import replay
from issuer.platform.database import read_only
from issuer.status_lists import lists as status_lists
from issuer.web.negotiation import json_response, prefers_json

bp = Blueprint("wellknown", __name__)
IDENTITY_MAX_AGE = 300


def _cache(response: Response, max_age: int = IDENTITY_MAX_AGE) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # public documents any verifier may read
    return response


@bp.get("/.well-known/did.json")
def did_document() -> ResponseReturnValue:
    return _cache(json_response(did_web.did_document(db.session), mimetype="application/did+json"))


@bp.get("/.well-known/jwks.json")
def jwks() -> ResponseReturnValue:
    return _cache(json_response(did_web.jwks(db.session), mimetype="application/jwk-set+json"))


@bp.get("/issuer")
def profile() -> ResponseReturnValue:
    document = {"@context": achievements.OB_CONTEXTS, **issuer_profile()}
    if prefers_json():
        return _cache(json_response(document))
    return render_template("public/issuer.html", profile=document)


@bp.get("/issuer/logo.png")
def logo() -> ResponseReturnValue:
    return _cache(Response(level_images.issuer_logo_png(), mimetype="image/png"), 86400)


@bp.get("/status/<uuid:list_id>")
def status_list(list_id: uuid.UUID) -> ResponseReturnValue:
    """The signed list, from one small query."""
    read_only(db.session)  # one query in autocommit (see issuer.platform.database.reading)
    published = status_lists.signed_list(db.session, list_id)
    if published is None:
        raise NotFound("No status list with that id.")
    replay.allow(published.unchanged)
    if request.if_none_match.contains(published.etag):
        response = Response(status=304)
    else:
        response = Response(published.document, mimetype="application/vc+ld+json")
    response.set_etag(published.etag)
    return _cache(response, status_lists.LIST_MAX_AGE)
