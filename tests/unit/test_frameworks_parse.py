"""Parsing framework exports: pure, no database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from issuer.errors import FrameworkFileError
from issuer.frameworks.catalogue import achievement_uuid, parse_framework, parse_framework_bytes, split_statement

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "frameworks" / "music-therapists-29-1129.02-v26.05.json"


def seed() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(SEED.read_text())
    return parsed


def test_seed_has_four_ordered_levels_of_ten_statements() -> None:
    parsed = parse_framework(SEED)
    assert parsed.soc_code == "29-1129.02"
    assert parsed.title == "Music Therapists"
    assert parsed.version == "v.26.05"
    assert [level.label for level in parsed.levels] == ["Emerging", "Developing", "Proficient", "Advanced"]
    assert [level.position for level in parsed.levels] == [1, 2, 3, 4]
    assert [len(level.statements) for level in parsed.levels] == [10, 10, 10, 10]
    first = parsed.levels[0].statements[0]
    assert first.name == "Client needs assessment"
    assert first.description.startswith("Conduct initial intake observations under clinical supervision")
    assert parsed.license == "CC BY 4.0"
    assert parsed.attribution == "© EBSCOed"


def test_statement_name_is_text_before_the_dash() -> None:
    assert split_statement("Name part — rest of it.") == ("Name part", "Rest of it.")
    assert split_statement("No separator here") == ("No separator here", "No separator here")


def test_achievement_ids_are_stable_and_distinct() -> None:
    a = achievement_uuid("29-1129.02", "v.26.05", "emerging", 1)
    assert a == achievement_uuid("29-1129.02", "v.26.05", "emerging", 1)
    assert a != achievement_uuid("29-1129.02", "v.26.06", "emerging", 1)
    assert a != achievement_uuid("29-1129.02", "v.26.05", "emerging")


def _broken(mutate: Any) -> bytes:
    data = seed()
    mutate(data)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (lambda d: d["occupation"].pop("soc"), "occupation.soc", "is missing"),
        (lambda d: d["framework"].pop("version"), "framework.version", "is missing"),
        (lambda d: d.__setitem__("attribution", 42), "attribution", "must be a string, not int"),
        (lambda d: d["framework"].__setitem__("levels", {}), "framework.levels", "at least one level"),
        (lambda d: d["framework"]["levels"]["developing"].__setitem__("statements", []),
         "framework.levels.developing.statements", "must not be empty"),
        (lambda d: d["framework"]["levels"]["emerging"]["statements"].__setitem__(3, None),
         "framework.levels.emerging.statements[3]", "must be a string, not NoneType"),
        (lambda d: d["framework"]["levels"]["advanced"].__setitem__("statements", "text"),
         "framework.levels.advanced.statements", "must be a list, not str"),
        (lambda d: d["occupation"].__setitem__("soc", "music"), "occupation.soc", "is not an O*NET-SOC code"),
        (lambda d: d.__setitem__("schemaVersion", "9.9"), "schemaVersion", "is not supported"),
    ],
)
def test_broken_file_names_the_field(mutate: Any, field: str, problem: str) -> None:
    with pytest.raises(FrameworkFileError) as info:
        parse_framework_bytes(_broken(mutate), source="broken.json")
    assert info.value.field == field
    assert problem in info.value.message
    assert info.value.message.startswith("broken.json: ")


def test_not_json_is_refused_with_position() -> None:
    with pytest.raises(FrameworkFileError, match=r"broken.json: \(file\): is not JSON: .* line 1"):
        parse_framework_bytes(b"{not json", source="broken.json")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FrameworkFileError, match="cannot be read"):
        parse_framework(tmp_path / "nope.json")
