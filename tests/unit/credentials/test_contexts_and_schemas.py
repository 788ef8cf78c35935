"""The vendored contexts and schemas are exact copies, recorded with their digests."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from issuer.credentials.loader import CONTEXTS_DIR, document_loader, vendored_index
from issuer.credentials.schema import SCHEMAS_DIR

REQUIRED_URLS = {
    "https://www.w3.org/ns/credentials/v2",
    "https://www.w3.org/2018/credentials/v1",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
    "https://purl.imsglobal.org/spec/clr/v2p0/context.json",
    "https://w3id.org/security/data-integrity/v2",
    "https://w3id.org/security/data-integrity/v1",
    "https://w3id.org/security/multikey/v1",
    "https://www.w3.org/ns/did/v1",
    "https://www.w3.org/ns/credentials/status/v1",
    "https://w3id.org/security/jwk/v1",
    "https://w3id.org/security/suites/ed25519-2020/v1",
}


def _sources_table(path: Path) -> dict[str, str]:
    """Every backticked file name in a SOURCES.md table row -> the row's sha256."""
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest = re.search(r"`([0-9a-f]{64})` \|$", line)
        if line.startswith("|") and digest:
            for cell in re.findall(r"`([^`/]+\.(?:json|jsonld))`", line):
                rows[cell] = digest.group(1)
    return rows


def test_index_lists_every_required_context_and_only_files_present() -> None:
    index = vendored_index()
    assert set(index) >= REQUIRED_URLS
    files = {p.name for p in CONTEXTS_DIR.iterdir() if p.suffix in (".json", ".jsonld") and p.name != "INDEX.json"}
    assert set(index.values()) == files


def test_context_index_matches_the_sources_table() -> None:
    """INDEX.json maps each official URL to the file that SOURCES.md records for that URL."""
    recorded = {}
    for line in (CONTEXTS_DIR / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = re.findall(r"`([^`]+)`", line)
        if line.startswith("| `https://") and len(cells) >= 2:
            recorded[cells[0]] = cells[1]
    assert vendored_index() == recorded


@pytest.mark.parametrize("url", sorted(REQUIRED_URLS))
def test_context_bytes_match_the_recorded_upstream_sha256(url: str) -> None:
    name = vendored_index()[url]
    data = (CONTEXTS_DIR / name).read_bytes()
    recorded = _sources_table(CONTEXTS_DIR / "SOURCES.md")
    assert hashlib.sha256(data).hexdigest() == recorded[name]
    # every SOURCES.md row names its URL
    assert f"`{url}`" in (CONTEXTS_DIR / "SOURCES.md").read_text()


def test_loader_serves_parsed_vendored_context() -> None:
    remote = document_loader("https://www.w3.org/ns/credentials/v2")
    assert remote["documentUrl"] == "https://www.w3.org/ns/credentials/v2"
    assert remote["document"]["@context"]["@protected"] is True


@pytest.mark.parametrize(
    "name",
    ["ob_v3p0_achievementcredential_schema.json", "ob_v3p0_profile_schema.json", "clr_v2p0_clrcredential_schema.json"],
)
def test_schema_bytes_match_the_recorded_sha256(name: str) -> None:
    data = (SCHEMAS_DIR / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == _sources_table(SCHEMAS_DIR / "SOURCES.md")[name]
