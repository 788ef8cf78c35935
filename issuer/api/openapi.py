"""The OpenAPI 3.1 description of /api/v1 (a test checks every route is in it)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from issuer.api import bp
from issuer.identity.profile import base_url

ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Bad input", 401: "No or bad token", 403: "Not allowed", 404: "Not found or not visible to you",
            409: "Conflict (e.g. already issued)", 413: "Body too large", 422: "Requirements not met",
            503: "Signing unavailable"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": ERROR}}} for c in codes}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document() -> dict[str, Any]:
    idem = {"name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "Replays the first answer when the same call is sent again."}
    therapist_id = {"name": "therapist_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    level_id = {"name": "level_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Learning record and credential issuing API", "version": "1.0.0",
                 "description": "Record competency statements and issue Open Badges 3.0 credentials."},
        "servers": [{"url": f"{base_url()}/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/therapists": {"get": {
                "operationId": "listTherapists", "summary": "Therapists visible to the caller, with progress per level",
                "responses": {"200": _json({"type": "object", "required": ["therapists"], "properties": {
                    "therapists": {"type": "array", "items": {"$ref": "#/components/schemas/Therapist"}}}},
                    "Therapists"),
                    **_errors(401, 403)}}},
            "/therapists/{therapist_id}/record": {"get": {
                "operationId": "getLearningRecord", "summary": "A therapist's learning record",
                "parameters": [therapist_id],
                "responses": {"200": _json({"type": "object"}, "The learning record"), **_errors(401, 404)}}},
            "/therapists/{therapist_id}/marks": {"post": {
                "operationId": "markStatement", "summary": "Record a statement as met",
                "parameters": [therapist_id, idem],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["statementId", "observedOn"], "properties": {
                        "statementId": {"type": "integer"}, "observedOn": {"type": "string", "format": "date"},
                        "note": {"type": "string", "maxLength": 2000},
                        "evidenceUrl": {"type": "string", "format": "uri", "maxLength": 2000}}}}}},
                "responses": {"201": _json({"type": "object"}, "The new mark"), **_errors(400, 401, 403, 404, 409)}}},
            "/therapists/{therapist_id}/levels/{level_id}/complete": {"post": {
                "operationId": "completeLevel", "summary": "Mark a level complete; returns the signed credential",
                "parameters": [therapist_id, level_id, idem],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"justification": {"type": "string", "maxLength": 2000}}}}}},
                "responses": {"201": _json({"$ref": "#/components/schemas/IssuedCredential"}, "Issued"),
                              **_errors(400, 401, 403, 404, 409, 503)}}},
            "/verify": {"post": {
                "operationId": "verifyCredential",
                "summary": "Verify any credential: JSON-LD, VC-JWT, or a baked PNG/SVG",
                "security": [],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "application/ld+json": {"schema": {"type": "object"}},
                    "text/plain": {"schema": {"type": "string", "description": "A compact JWS"}},
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                    "image/svg+xml": {"schema": {"type": "string"}}}},
                "responses": {"200": _json({"$ref": "#/components/schemas/Verification"}, "Read and checked"),
                              "400": _json({"$ref": "#/components/schemas/Verification"}, "Unreadable input"),
                              **_errors(413)}}},
            "/credentials/{credential_id}": {"get": {
                "operationId": "getCredential", "summary": "A credential visible to the caller",
                "parameters": [{"name": "credential_id", "in": "path", "required": True,
                                "schema": {"type": "string", "format": "uuid"}}],
                "responses": {"200": _json({"$ref": "#/components/schemas/IssuedCredential"}, "The credential"),
                              **_errors(401, 404)}}},
            **{f"/credentials/{{credential_id}}/{action}": {"post": {
                "operationId": f"{action}Credential", "summary": f"{action.capitalize()} a credential, with a reason",
                "parameters": [{"name": "credential_id", "in": "path", "required": True,
                                "schema": {"type": "string", "format": "uuid"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["reason"],
                    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 2000}}}}}},
                "responses": {"200": _json({"$ref": "#/components/schemas/IssuedCredential"}, "New state"),
                              **_errors(400, 401, 403, 404, 409)}}} for action in ("revoke", "suspend", "unsuspend")},
            **_ledger_paths(therapist_id, idem),
            "/credentials/{credential_id}/renew": {"post": {
                "operationId": "renewCredential",
                "summary": "Issue the renewal for the next cycle (requirements met); it links the previous one",
                "parameters": [{"name": "credential_id", "in": "path", "required": True,
                                "schema": {"type": "string", "format": "uuid"}}, idem],
                "responses": {"201": _json({"$ref": "#/components/schemas/IssuedCredential"}, "Renewed"),
                              **_errors(400, 401, 403, 404, 409, 422, 503)}}},
            "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "security": [],
                                      "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A personal API token, created at /account/tokens"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"],
                          "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                                         "details": {"type": "object"}}},
                "Therapist": {"type": "object", "required": ["id", "subjectId", "name", "email", "progress"],
                              "properties": {
                    "id": {"type": "integer"},
                    "subjectId": {"type": "string", "pattern": "^urn:uuid:", "description":
                                  "The therapist's stable credentialSubject.id (the VC-JWT's sub)"},
                    "name": {"type": "string"}, "email": {"type": "string"},
                    "progress": {"type": "array", "items": {"type": "object"}}}},
                "IssuedCredential": {"type": "object", "required": ["id", "url", "credential", "jwt"], "properties": {
                    "id": {"type": "string", "format": "uuid"}, "url": {"type": "string", "format": "uri"},
                    "state": {"type": "string"}, "level": {"type": "string"}, "issuedAt": {"type": "string"},
                    "credential": {"type": "object"}, "jwt": {"type": "string"}}},
                "Verification": {"type": "object", "required": ["verified", "checks", "warnings", "errors"],
                                 "properties": {
                    "verified": {"type": "boolean"},
                    "checks": {"type": "array", "items": {"type": "object", "required": ["check", "ok", "message"],
                                                          "properties": {"check": {"type": "string"},
                                                                         "ok": {"type": ["boolean", "null"]},
                                                                         "message": {"type": "string"}}}},
                    "warnings": {"type": "array", "items": {"type": "string"}},
                    "errors": {"type": "array", "items": {"type": "string"}}}},
            },
        },
    }


def _ledger_paths(therapist_id: dict[str, Any], idem: dict[str, Any]) -> dict[str, Any]:
    """Continuing-education activities, supervised hours and cycle progress (``issuer.api.ledger``)."""
    activity_id = {"name": "activity_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    minutes = {"type": "integer", "minimum": 1, "maximum": 1440}
    return {
        "/therapists/{therapist_id}/activities": {
            "get": {"operationId": "listActivities", "summary": "A therapist's continuing-education activities",
                    "parameters": [therapist_id],
                    "responses": {"200": _json({"type": "object"}, "The activities, newest first"),
                                  **_errors(401, 404)}},
            "post": {"operationId": "recordActivity",
                     "summary": "Record a continuing-education activity (the therapist or an assigned supervisor)",
                     "parameters": [therapist_id, idem],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["title", "provider", "activityOn", "minutes", "category"],
                         "properties": {
                             "title": {"type": "string", "minLength": 1, "maxLength": 200},
                             "provider": {"type": "string", "minLength": 1, "maxLength": 200},
                             "activityOn": {"type": "string", "format": "date"}, "minutes": minutes,
                             "category": {"type": "string"},
                             "evidenceUrl": {"type": "string", "format": "uri", "maxLength": 2000},
                             "evidenceNote": {"type": "string", "maxLength": 2000}}}}}},
                     "responses": {"201": _json({"type": "object"}, "The activity, submitted"),
                                   **_errors(400, 401, 403, 404, 409)}}},
        **{f"/activities/{{activity_id}}/{action}": {"post": {
            "operationId": f"{action}Activity",
            "summary": f"{action.capitalize()} a submitted activity (an assigned supervisor or an administrator)",
            "parameters": [activity_id, idem],
            "requestBody": {"required": action == "return", "content": {"application/json": {"schema": {
                "type": "object", **({"required": ["reason"]} if action == "return" else {}),
                "properties": {"reason": {"type": "string", "maxLength": 2000}}}}}},
            "responses": {"200": _json({"type": "object"}, "The activity, decided"),
                          **_errors(400, 401, 403, 404, 409)}}} for action in ("approve", "return")},
        "/therapists/{therapist_id}/hours": {
            "get": {"operationId": "listSupervisedHours", "summary": "Supervised clinical sessions and their sum",
                    "parameters": [therapist_id],
                    "responses": {"200": _json({"type": "object"}, "Hours and sessions"), **_errors(401, 404)}},
            "post": {"operationId": "logSupervisedSession", "summary": "Log a supervised session (assigned supervisor)",
                     "parameters": [therapist_id, idem],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["sessionOn", "minutes", "setting", "population"],
                         "properties": {
                             "sessionOn": {"type": "string", "format": "date"}, "minutes": minutes,
                             "setting": {"type": "string", "minLength": 1, "maxLength": 100},
                             "population": {"type": "string", "minLength": 1, "maxLength": 100},
                             "note": {"type": "string", "maxLength": 2000}}}}}},
                     "responses": {"201": _json({"type": "object"}, "The session"),
                                   **_errors(400, 401, 403, 404, 409)}}},
        "/therapists/{therapist_id}/progress": {"get": {
            "operationId": "getCycleProgress", "summary": "Credits in the current re-certification cycle",
            "parameters": [therapist_id],
            "responses": {"200": _json({"type": "object"}, "Progress (cycle null: none open)"),
                          **_errors(401, 404)}}},
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(document())
