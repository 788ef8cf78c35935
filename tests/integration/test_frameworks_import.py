"""Importing frameworks into the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from issuer.errors import Conflict, FrameworkFileError
from issuer.extensions import db
from issuer.frameworks.catalogue import import_framework, parse_framework
from issuer.models import Framework, Level, Statement
from tests.conftest import SEED_FRAMEWORK


def counts() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Framework)) or 0,
        db.session.scalar(select(func.count()).select_from(Level)) or 0,
        db.session.scalar(select(func.count()).select_from(Statement)) or 0,
    )


def test_import_creates_four_levels_and_forty_statements_in_order(app: Flask) -> None:
    with app.app_context():
        result = import_framework(db.session, parse_framework(SEED_FRAMEWORK))
        db.session.commit()
        assert result.created
        assert counts() == (1, 4, 40)
        fw = db.session.scalars(select(Framework)).one()
        assert (fw.soc_code, fw.version, fw.title) == ("29-1129.02", "v.26.05", "Music Therapists")
        assert [lv.label for lv in fw.levels] == ["Emerging", "Developing", "Proficient", "Advanced"]
        assert [s.name for s in fw.levels[3].statements][:2] == [
            "Organizational program leadership",
            fw.levels[3].statements[1].name,
        ]
        assert [s.position for s in fw.levels[0].statements] == list(range(1, 11))
        assert "CC BY 4.0" in fw.attribution_line
        assert "EBSCOed" in fw.attribution_line


def test_second_import_is_a_no_op(app: Flask, runner: object) -> None:
    with app.app_context():
        import_framework(db.session, parse_framework(SEED_FRAMEWORK))
        db.session.commit()
        before = [(s.id, s.achievement_id) for s in db.session.scalars(select(Statement).order_by(Statement.id))]
    result = app.test_cli_runner().invoke(args=["frameworks", "import", str(SEED_FRAMEWORK)])
    assert result.exit_code == 0, result.output
    assert "already imported; nothing changed" in result.output
    with app.app_context():
        assert counts() == (1, 4, 40)
        statements = db.session.scalars(select(Statement).order_by(Statement.id))
        assert [(s.id, s.achievement_id) for s in statements] == before


def test_new_version_keeps_old_achievements(app: Flask, tmp_path: Path) -> None:
    data = json.loads(SEED_FRAMEWORK.read_text())
    data["framework"]["version"] = "v.26.11"
    data["framework"]["levels"]["emerging"]["statements"][0] = "Client needs assessment — revised text."
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(data))
    with app.app_context():
        old = import_framework(db.session, parse_framework(SEED_FRAMEWORK)).framework
        old_ids = {s.achievement_id for lv in old.levels for s in lv.statements}
        db.session.commit()
        new = import_framework(db.session, parse_framework(newer)).framework
        db.session.commit()
        assert counts() == (2, 8, 80)
        new_ids = {s.achievement_id for lv in new.levels for s in lv.statements}
        assert old_ids.isdisjoint(new_ids)
        still = db.session.scalars(select(Statement).where(Statement.achievement_id.in_(old_ids))).all()
        assert len(still) == 40
        assert new.levels[0].statements[0].description == "Revised text."


def test_same_version_with_changed_text_is_refused(app: Flask, tmp_path: Path) -> None:
    data = json.loads(SEED_FRAMEWORK.read_text())
    data["framework"]["levels"]["emerging"]["statements"][0] = "Client needs assessment — silently changed."
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    with app.app_context():
        import_framework(db.session, parse_framework(SEED_FRAMEWORK))
        db.session.commit()
        with pytest.raises(Conflict, match="new version"):
            import_framework(db.session, parse_framework(changed))
        db.session.rollback()
        assert counts() == (1, 4, 40)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{broken", "is not JSON"),
        (json.dumps({"schemaVersion": "1.0"}), "occupation: is missing"),
        ("WRONG_TYPE", "framework.levels.emerging.statements: must be a list, not int"),
        ("EMPTY_LEVELS", "framework.levels: must name at least one level"),
    ],
)
def test_broken_file_is_refused_and_nothing_written(app: Flask, tmp_path: Path, content: str, message: str) -> None:
    data = json.loads(SEED_FRAMEWORK.read_text())
    if content == "WRONG_TYPE":
        data["framework"]["levels"]["emerging"]["statements"] = 7
        content = json.dumps(data)
    elif content == "EMPTY_LEVELS":
        data["framework"]["levels"] = {}
        content = json.dumps(data)
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = app.test_cli_runner().invoke(args=["frameworks", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: " in result.output
    assert message in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert counts() == (0, 0, 0)
    with pytest.raises(FrameworkFileError):
        parse_framework(bad)
