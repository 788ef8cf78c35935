"""Open Badges 3.0 Achievement definitions for framework levels and statements.

Pure functions: model rows and URLs in, JSON-LD dicts out. Both the public
``/achievements/<id>`` documents and the credentials embed these, so a
credential's achievement is the same object a verifier can look up.
"""

from __future__ import annotations

from typing import Any

from issuer.models import Framework, Level, Statement

OB_CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
ONET_SUMMARY_URL = "https://www.onetonline.org/link/summary/{soc}"


def achievement_url(base_url: str, achievement_id: object) -> str:
    return f"{base_url}/achievements/{achievement_id}"


def framework_url(base_url: str, framework: Framework) -> str:
    return f"{base_url}/frameworks/{framework.slug}"


def level_image_url(base_url: str, level: Level) -> str:
    return f"{base_url}/badges/{level.achievement_id}.png"


def _alignments(framework: Framework, base_url: str) -> list[dict[str, Any]]:
    """Align to the O*NET occupation and to the framework the text comes from."""
    return [
        {
            "type": ["Alignment"],
            "targetName": framework.title,
            "targetUrl": ONET_SUMMARY_URL.format(soc=framework.soc_code),
            "targetCode": framework.soc_code,
            "targetFramework": "O*NET-SOC",
            "targetType": "ext:Occupation",
        },
        {
            "type": ["Alignment"],
            "targetName": f"{framework.name} {framework.version}",
            "targetUrl": framework_url(base_url, framework),
            "targetDescription": framework.attribution_line,
            "targetFramework": framework.name,
            "targetType": "CTDL",
        },
    ]


def statement_achievement(statement: Statement, *, base_url: str, creator: dict[str, Any]) -> dict[str, Any]:
    level = statement.level
    framework = level.framework
    return {
        "id": achievement_url(base_url, statement.achievement_id),
        "type": ["Achievement"],
        "achievementType": "Competency",
        "name": statement.name,
        "description": statement.description,
        "criteria": {
            "narrative": (
                f"Shown in supervised practice at the {level.label} level of the {framework.name} "
                f"({framework.version}), as observed and recorded by a clinical supervisor:\n\n"
                f"> {statement.text}\n\n{framework.attribution_line}"
            )
        },
        "alignment": _alignments(framework, base_url),
        "creator": creator,
        "humanCode": f"{framework.soc_code}-{level.key[:3].upper()}-{statement.position:02d}",
        "fieldOfStudy": framework.title,
        "inLanguage": "en",
        "version": framework.version,
        "tag": [framework.title, level.label, "competency"],
    }


def level_achievement(level: Level, *, base_url: str, creator: dict[str, Any]) -> dict[str, Any]:
    framework = level.framework
    lines = "\n".join(
        f"{s.position}. [{s.name}]({achievement_url(base_url, s.achievement_id)}): {s.description}"
        for s in level.statements
    )
    statement_alignments = [
        {
            "type": ["Alignment"],
            "targetName": s.name,
            "targetUrl": achievement_url(base_url, s.achievement_id),
            "targetDescription": s.description,
            "targetFramework": framework.name,
            "targetCode": f"{framework.soc_code}-{level.key[:3].upper()}-{s.position:02d}",
            "targetType": "ceasn:Competency",
        }
        for s in level.statements
    ]
    return {
        "id": achievement_url(base_url, level.achievement_id),
        "type": ["Achievement"],
        "achievementType": "Competency",
        "name": f"{framework.title}: {level.label}",
        "description": (
            f"Level {level.position} of {len(framework.levels)} ({level.label}) of the {framework.name} "
            f"{framework.version}, O*NET-SOC {framework.soc_code}. {framework.context_covered}".strip()
        ),
        "criteria": {
            "narrative": (
                f"A clinical supervisor observed and recorded each of these {len(level.statements)} "
                f"competency statements at the {level.label} level:\n\n{lines}\n\n{framework.attribution_line}"
            )
        },
        "image": {
            "id": level_image_url(base_url, level),
            "type": "Image",
            "caption": f"{framework.title}: {level.label} badge",
        },
        "alignment": _alignments(framework, base_url) + statement_alignments,
        "creator": creator,
        "humanCode": f"{framework.soc_code}-{level.key.upper()}",
        "fieldOfStudy": framework.title,
        "inLanguage": "en",
        "version": framework.version,
        "tag": [framework.title, level.label],
    }


def with_context(achievement: dict[str, Any]) -> dict[str, Any]:
    """The standalone JSON-LD document served at the achievement's URL."""
    return {"@context": OB_CONTEXTS, **achievement}
