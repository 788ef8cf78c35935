"""tests/vectors holds exact copies of published vectors: each file listed in SOURCES.md with its sha256, none
unlisted."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
SOURCES = VECTORS / "SOURCES.md"
ROW = re.compile(r"^\| `([^`]+)` \| (.+) \| `([0-9a-f]{64})` \|$")


def recorded() -> dict[str, str]:
    """Relative path -> sha256, from every table row of SOURCES.md (a path listed twice is an error)."""
    rows: dict[str, str] = {}
    for line in SOURCES.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            path, _source, digest = match.groups()
            assert path not in rows, f"{path} is listed twice"
            rows[path] = digest
    return rows


RECORDED = recorded()


def test_sources_lists_the_vendored_vectors() -> None:
    # the table parsed: a broken row format would otherwise leave nothing to check
    assert "1edtech-validator/ob30/simple.json" in RECORDED
    assert "vc-di-eddsa/TestVectors/keyPair.json" in RECORDED


def test_every_file_in_the_folder_is_listed() -> None:
    present = {p.relative_to(VECTORS).as_posix() for p in VECTORS.rglob("*") if p.is_file()} - {"SOURCES.md"}
    assert sorted(present - set(RECORDED)) == []


@pytest.mark.parametrize("relative", sorted(RECORDED))
def test_listed_file_exists_with_its_recorded_sha256(relative: str) -> None:
    path = VECTORS / relative
    assert path.is_file(), f"{relative} is listed in SOURCES.md but missing"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == RECORDED[relative]


def test_every_row_names_an_upstream_commit() -> None:
    for line in SOURCES.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            assert re.search(r"[\w.-]+/[\w.-]+ @ `[0-9a-f]{40}` : `[^`]+`", match.group(2)), line
