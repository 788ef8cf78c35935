"""Reading a framework export and importing it into the database.

:func:`parse_framework` is pure: it checks every field and returns plain
dataclasses, or raises :class:`FrameworkFileError` naming the file and the
field. :func:`import_framework` writes it, flushing only; the caller commits.
Nothing is written unless the whole file is valid.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from issuer.credentials import jsonparse
from issuer.credentials.errors import JSONInputError
from issuer.errors import Conflict, FrameworkFileError
from issuer.models import Framework, Level, Statement, utcnow
from issuer.platform.cache import app_cache
from issuer.platform.database import SessionLike

#: Namespace for the deterministic achievement ids (uuid5 over SOC, version, level, position).
ACHIEVEMENT_NAMESPACE = uuid.UUID("6f1d2a53-1c0e-5a3b-9a57-0f3c9b1e2d44")
NAME_SEPARATOR = " — "
SUPPORTED_SCHEMA_VERSIONS = ("1.0",)
SOC_PATTERN = re.compile(r"^\d{2}-\d{4}(\.\d{2})?$")
#: A framework file is a few KB; the admin upload is capped lower (2 MB), the CLI reads up to this.
MAX_FRAMEWORK_FILE_BYTES = 8 * 1024 * 1024
#: The sizes of the columns that keep them (``issuer.models.frameworks``).
MAX_TITLE_CHARS = 300
MAX_VERSION_CHARS = 50
MAX_LABEL_CHARS = 100
MAX_LEVEL_KEY_CHARS = 50
MAX_SLUG_CHARS = 200
MAX_EXPORTED_AT_CHARS = 40
#: Characters refused anywhere in a framework file (keys and values): C0 controls but tab, line feed and carriage
#: return, DEL, and C1 controls. The texts end up in signed credentials, where they could not be signed.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: ``sources`` values rendered as links on public pages: http(s) addresses only.
LINK_SOURCES = ("crosswalk",)
_WEB_ADDRESS = re.compile(r"https?://[^\s/?#@]+(?:[/?#]\S*)?", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedStatement:
    position: int
    text: str
    name: str
    description: str


@dataclass(frozen=True)
class ParsedLevel:
    key: str
    label: str
    position: int
    statements: tuple[ParsedStatement, ...]


@dataclass(frozen=True)
class ParsedFramework:
    soc_code: str
    title: str
    version: str
    description: str
    context_covered: str
    occupation: dict[str, Any]
    sources: dict[str, Any]
    attribution: str
    license: str
    exported_at: str | None
    levels: tuple[ParsedLevel, ...]
    content_sha256: str = field(compare=False)

    @property
    def slug(self) -> str:
        return f"{slugify(self.title)}-{slugify(self.version)}"


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def achievement_uuid(soc_code: str, version: str, level_key: str, position: int | None = None) -> uuid.UUID:
    name = f"{soc_code}/{version}/{level_key}" + ("" if position is None else f"/{position}")
    return uuid.uuid5(ACHIEVEMENT_NAMESPACE, name)


def split_statement(text: str) -> tuple[str, str]:
    """A statement's name is the text before " — ", its description the rest."""
    name, sep, rest = text.partition(NAME_SEPARATOR)
    if not sep:
        return text.strip(), text.strip()
    description = rest.strip()
    return name.strip(), description[:1].upper() + description[1:]


def licence_of(sources: dict[str, Any]) -> str:
    """The licence the export declares for its text (O*NET's "CC BY 4.0")."""
    for value in sources.values():
        match = re.search(r"CC[ -]BY(?:[ -]SA)?[ -]\d\.\d", str(value))
        if match:
            return match.group(0).replace("-", " ")
    return "CC BY 4.0"


class _Reader:
    """Typed access to the decoded JSON that reports the dotted path of a bad field."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> FrameworkFileError:
        return FrameworkFileError(self.path, where, problem)

    def obj(self, parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = parent.get(key)
        if key not in parent:
            raise self.fail(where, "is missing")
        if not isinstance(value, dict):
            raise self.fail(where, f"must be an object, not {type(value).__name__}")
        return value

    def text(self, parent: dict[str, Any], key: str, where: str, *, required: bool = True,
             max_chars: int | None = None) -> str:
        if key not in parent:
            if required:
                raise self.fail(where, "is missing")
            return ""
        value = parent[key]
        if not isinstance(value, str):
            raise self.fail(where, f"must be a string, not {type(value).__name__}")
        if required and not value.strip():
            raise self.fail(where, "must not be empty")
        if max_chars is not None and len(value.strip()) > max_chars:
            raise self.fail(where, f"is longer than {max_chars} characters")
        return value.strip()


def parse_framework(path: str | Path) -> ParsedFramework:
    """Read and check a framework export (schemaVersion 1.0)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FrameworkFileError(str(path), "(file)", f"cannot be read: {error.strerror}") from None
    return parse_framework_bytes(raw, source=str(path))


def parse_framework_bytes(raw: bytes, *, source: str) -> ParsedFramework:
    r = _Reader(source)
    try:
        data = jsonparse.loads(raw, max_bytes=MAX_FRAMEWORK_FILE_BYTES)  # strict: a key written twice is refused
    except JSONInputError as error:
        problem = "is not JSON" if error.reason in ("malformed", "not_utf8") else "is not acceptable JSON"
        raise r.fail("(file)", f"{problem}: {error}") from None
    if not isinstance(data, dict):
        raise r.fail("(top level)", "must be a JSON object")
    _check_characters(r, data, "")

    schema_version = r.text(data, "schemaVersion", "schemaVersion")
    if schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        raise r.fail("schemaVersion",
                     f"{schema_version!r} is not supported (expected one of {SUPPORTED_SCHEMA_VERSIONS})")
    occupation = r.obj(data, "occupation", "occupation")
    soc = r.text(occupation, "soc", "occupation.soc")
    if not SOC_PATTERN.match(soc):
        raise r.fail("occupation.soc", f"{soc!r} is not an O*NET-SOC code like 29-1129.02")
    title = r.text(occupation, "title", "occupation.title", max_chars=MAX_TITLE_CHARS)
    fw = r.obj(data, "framework", "framework")
    version = r.text(fw, "version", "framework.version", max_chars=MAX_VERSION_CHARS)
    description = r.text(fw, "description", "framework.description", required=False)
    context_covered = r.text(fw, "contextCovered", "framework.contextCovered", required=False)
    sources = r.obj(data, "sources", "sources")
    _check_sources(r, sources)
    attribution = r.text(data, "attribution", "attribution")

    slug = f"{slugify(title)}-{slugify(version)}"
    if len(slug) > MAX_SLUG_CHARS:
        raise r.fail("occupation.title", f"with the version makes an address longer than {MAX_SLUG_CHARS} characters")
    exported_at = data.get("exportedAt")
    if isinstance(exported_at, str) and len(exported_at) > MAX_EXPORTED_AT_CHARS:
        raise r.fail("exportedAt", f"is longer than {MAX_EXPORTED_AT_CHARS} characters")

    levels_obj = r.obj(fw, "levels", "framework.levels")
    if not levels_obj:
        raise r.fail("framework.levels", "must name at least one level")
    levels = [_parse_level(r, key, level, position)
              for position, (key, level) in enumerate(levels_obj.items(), start=1)]

    labels = [level.label.lower() for level in levels]
    if len(set(labels)) != len(labels):
        raise r.fail("framework.levels", "level labels must be unique")

    content = {k: v for k, v in data.items() if k != "exportedAt"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return ParsedFramework(
        soc_code=soc,
        title=title,
        version=version,
        description=description,
        context_covered=context_covered,
        occupation=occupation,
        sources=sources,
        attribution=attribution,
        license=licence_of(sources),
        exported_at=data.get("exportedAt") if isinstance(data.get("exportedAt"), str) else None,
        levels=tuple(levels),
        content_sha256=digest,
    )


def _check_characters(r: _Reader, value: Any, where: str) -> None:
    """Refuse a control character anywhere in the decoded file, naming the field (the depth is bounded by
    ``jsonparse``, so the recursion is too)."""
    if isinstance(value, str):
        found = CONTROL_CHARACTERS.search(value)
        if found:
            raise r.fail(where or "(top level)", f"contains the control character U+{ord(found.group()):04X}")
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else key
            _check_characters(r, key, path)
            _check_characters(r, item, path)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _check_characters(r, item, f"{where}[{n}]")


def _check_sources(r: _Reader, sources: dict[str, Any]) -> None:
    """``sources.crosswalk`` is shown as a link: an http(s) address or nothing; any other value that holds an
    address (``scheme://``) must be http(s) too."""
    for key, value in sources.items():
        if key in LINK_SOURCES and not isinstance(value, str):
            raise r.fail(f"sources.{key}", f"must be a string, not {type(value).__name__}")
        if not isinstance(value, str):
            continue
        text = value.strip()
        if (key in LINK_SOURCES or "://" in text or text.lower().startswith(("javascript:", "data:", "vbscript:"))) \
                and text and _WEB_ADDRESS.fullmatch(text) is None:
            raise r.fail(f"sources.{key}", "must be an http or https address")


def _parse_level(r: _Reader, key: str, level: Any, position: int) -> ParsedLevel:
    """``framework.levels.<key>`` of an export: its label and its statements, in order."""
    where = f"framework.levels.{key}"
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", key) or len(key) > MAX_LEVEL_KEY_CHARS:
        raise r.fail(where, f"level keys must be lower-case words of at most {MAX_LEVEL_KEY_CHARS} characters")
    if not isinstance(level, dict):
        raise r.fail(where, f"must be an object, not {type(level).__name__}")
    label = r.text(level, "label", f"{where}.label", max_chars=MAX_LABEL_CHARS)
    statements_raw = level.get("statements")
    if "statements" not in level:
        raise r.fail(f"{where}.statements", "is missing")
    if not isinstance(statements_raw, list):
        raise r.fail(f"{where}.statements", f"must be a list, not {type(statements_raw).__name__}")
    if not statements_raw:
        raise r.fail(f"{where}.statements", "must not be empty")
    statements = []
    for n, text in enumerate(statements_raw, start=1):
        swhere = f"{where}.statements[{n - 1}]"
        if not isinstance(text, str):
            raise r.fail(swhere, f"must be a string, not {type(text).__name__}")
        if not text.strip():
            raise r.fail(swhere, "must not be empty")
        name, desc = split_statement(text)
        statements.append(ParsedStatement(position=n, text=text.strip(), name=name, description=desc))
    return ParsedLevel(key=key, label=label, position=position, statements=tuple(statements))


@dataclass(frozen=True)
class ImportResult:
    framework: Framework
    created: bool


def import_framework(session: SessionLike, parsed: ParsedFramework) -> ImportResult:
    """Add a framework version, or do nothing when this exact version is already there.

    A new version is added beside the old ones: credentials already issued
    point at the old achievements, which must keep resolving. The same
    version with different content is refused: achievement ids derive from
    the version, so changed text needs a new version.
    """
    existing = session.scalars(
        select(Framework).filter_by(soc_code=parsed.soc_code, version=parsed.version)
    ).one_or_none()
    if existing is None:
        taken = session.scalars(select(Framework).filter_by(slug=parsed.slug)).one_or_none()
        if taken is not None:  # another SOC code with the same title and version
            raise Conflict(
                f"framework {parsed.soc_code} version {parsed.version} would have the address {parsed.slug!r}, "
                f"already used by framework {taken.soc_code} version {taken.version}; change its title or version")
    if existing is not None:
        if existing.content_sha256 != parsed.content_sha256:
            raise Conflict(
                f"framework {parsed.soc_code} version {parsed.version} is already imported with different "
                "content; give the changed framework a new version"
            )
        return ImportResult(existing, created=False)

    framework = Framework(
        slug=parsed.slug,
        soc_code=parsed.soc_code,
        title=parsed.title,
        version=parsed.version,
        description=parsed.description,
        context_covered=parsed.context_covered,
        occupation=parsed.occupation,
        sources=parsed.sources,
        attribution=parsed.attribution,
        license=parsed.license,
        exported_at=parsed.exported_at,
        content_sha256=parsed.content_sha256,
        imported_at=utcnow(),
    )
    for plevel in parsed.levels:
        level = Level(
            key=plevel.key,
            label=plevel.label,
            position=plevel.position,
            achievement_id=achievement_uuid(parsed.soc_code, parsed.version, plevel.key),
        )
        for pstatement in plevel.statements:
            level.statements.append(
                Statement(
                    position=pstatement.position,
                    name=pstatement.name,
                    description=pstatement.description,
                    text=pstatement.text,
                    achievement_id=achievement_uuid(parsed.soc_code, parsed.version, plevel.key, pstatement.position),
                )
            )
        framework.levels.append(level)
    try:
        with session.begin_nested():  # flushed here: a concurrent import of the same slug or version loses cleanly
            session.add(framework)
    except IntegrityError:
        raise Conflict(f"framework {parsed.soc_code} version {parsed.version} (address {parsed.slug!r}) was "
                       "imported at the same time by someone else; reload to see it") from None
    return ImportResult(framework, created=True)


def framework_files(directory: str | Path) -> list[Path]:
    return sorted(p for p in Path(directory).glob("*.json") if p.is_file())


def current_frameworks(session: SessionLike) -> list[Framework]:
    """The newest imported version of each framework (by SOC code): the one supervisors record against."""
    rows = session.scalars(
        select(Framework).order_by(Framework.soc_code, Framework.imported_at.desc(), Framework.id.desc()))
    seen: dict[str, Framework] = {}
    for fw in rows:
        seen.setdefault(fw.soc_code, fw)
    return list(seen.values())


def find_framework(session: SessionLike, slug: str | None = None) -> Framework:
    """The framework with ``slug``, or the newest version of the only (or first) framework."""
    from issuer.errors import NotFound

    if slug:
        found = session.scalars(select(Framework).filter_by(slug=slug)).one_or_none()
        if found is None:
            raise NotFound(f"no framework {slug!r}")
        return found
    current = current_frameworks(session)
    if not current:
        raise NotFound("no framework is imported; run `issuer init`")
    return current[0]


#: Levels kept per app by ``get_level``.
LEVEL_CACHE_SIZE = 256


def get_level(session: SessionLike, level_id: int) -> Level | None:
    """What ``session.get(Level, level_id)`` gives (the level, its framework loaded), without a query after the first.

    A framework never changes once imported, so each app keeps a detached copy of the level and its framework and
    merges it into the session with ``load=False``: SQLAlchemy's way to use cached rows, which copies their
    state into instances of the session's own without a SELECT. The copy itself never joins a session.
    """
    cache = app_cache("frameworks.levels", LEVEL_CACHE_SIZE)
    copy: Level | None = cache.get(level_id)
    if copy is not None:
        return session.merge(copy, load=False)
    level = session.get(Level, level_id)
    if level is not None:
        cache.put(level_id, _detached_copy(level))
    return level


def _detached_copy(level: Level) -> Level:
    """A clean detached Level with its Framework: their columns, and no collection (``framework.levels``, the
    level's statements), which would otherwise merge as if complete."""

    def columns(instance: object) -> dict[str, Any]:
        return {attribute.key: getattr(instance, attribute.key) for attribute in inspect(type(instance)).column_attrs}

    framework = Framework(**columns(level.framework))
    copy = Level(**columns(level))
    set_committed_value(copy, "framework", framework)  # no backref event: framework.levels stays unloaded
    make_transient_to_detached(framework)
    make_transient_to_detached(copy)
    return copy
