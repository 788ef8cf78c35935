"""Offline JSON Schema validation against the vendored 1EdTech schemas.

OB 3.0 "OpenBadgeCredential Verification" step 1: when ``credentialSchema``
names a ``1EdTechJsonSchemaValidator2019`` schema, validate against it. The
published (compaction-tolerant, Draft 2019-09) schemas are vendored in
``schemas/`` and only reference themselves (``#/$defs/...``); the registry
holds nothing else, so no ``$ref`` can reach the network. Each validator is
compiled once per process.

The validator is jsonschema-rs (Rust; about 10 µs per credential against about
5 ms for the pure-Python ``jsonschema`` on these 110 KB schemas, which would
halve verification throughput), built with a retriever that refuses every
URI. When jsonschema-rs is not installed, the
``jsonschema`` package is used instead, with a registry holding only the
schema itself. Formats are not asserted, in either case (Draft 2019-09 treats
``format`` as an annotation); ``verify()`` parses the dates itself.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

jsonschema_rs: Any
try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - the slow, pure-Python path
    jsonschema_rs = None

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_FILES = {
    "achievementcredential": "ob_v3p0_achievementcredential_schema.json",
    "profile": "ob_v3p0_profile_schema.json",
    "clrcredential": "clr_v2p0_clrcredential_schema.json",
}
MAX_ERRORS = 20


def _no_remote(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs class


def _refuse_retrieval(uri: str) -> Any:
    raise ValueError(f"schema reference {uri!r} is not vendored; nothing is fetched")


# Process-wide caches of immutable vendored data: the schema files of the package and a validator per schema
# name (a fixed handful), built once.
@functools.cache
def _schemas() -> Mapping[str, dict[str, Any]]:
    return {name: json.loads((SCHEMAS_DIR / file).read_bytes()) for name, file in SCHEMA_FILES.items()}


@functools.cache
def schema_ids() -> Mapping[str, str]:
    """Published schema URL (``$id``) → our schema name."""
    return {schema["$id"]: name for name, schema in _schemas().items()}


@functools.cache
def _rust_validator(name: str) -> Any:
    return jsonschema_rs.Draft201909Validator(
        _schemas()[name], validate_formats=False, retriever=_refuse_retrieval
    )


@functools.cache
def _validator(name: str) -> Draft201909Validator:
    schema = _schemas()[name]
    resource = Resource.from_contents(schema)
    empty: Registry[Any] = Registry(retrieve=_no_remote)  # type: ignore[call-arg]  # attrs class
    registry = empty.with_resource(schema["$id"], resource)
    return Draft201909Validator(schema, registry=registry)


def _path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validate(document: Any, schema: str = "achievementcredential") -> list[str]:
    """Validate ``document`` against a vendored 1EdTech schema.

    Args:
        document: parsed JSON.
        schema: ``achievementcredential``, ``profile`` or ``clrcredential``.

    Returns:
        Readable errors (``"$.credentialSubject.type: ... "``), at most 20; empty if valid.

    Raises:
        KeyError: unknown schema name.
    """
    if schema not in SCHEMA_FILES:
        raise KeyError(f"unknown schema {schema!r}; known: {', '.join(SCHEMA_FILES)}")
    errors: list[str] = []
    if jsonschema_rs is not None:
        for rust_error in _rust_validator(schema).iter_errors(document):
            best = _most_specific(rust_error)
            errors.append(f"{_path(best.instance_path)}: {_shorten(best.message)}")
            if len(errors) >= MAX_ERRORS:
                break
        return errors
    for error in sorted(_validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path)):
        # oneOf/anyOf failures: report the most specific sub-error when there is one.
        best = error
        if error.context:
            best = min(error.context, key=lambda e: (-len(e.absolute_path), len(str(e.message))))
        errors.append(f"{_path(best.absolute_path)}: {_shorten(best.message)}")
        if len(errors) >= MAX_ERRORS:
            break
    return errors


def _most_specific(error: Any) -> Any:
    """For oneOf/anyOf failures, the deepest sub-error (it names the field actually wrong)."""
    best = error
    while True:
        groups = getattr(best.kind, "context", None) or []
        candidates = [sub for group in groups for sub in group]
        if not candidates:
            return best
        deepest = max(candidates, key=lambda sub: len(sub.instance_path))
        if len(deepest.instance_path) <= len(best.instance_path):
            return best
        best = deepest


_MAX_MESSAGE = 300  # characters of a schema error kept in a message: enough to place it, short enough to read


def _shorten(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."
