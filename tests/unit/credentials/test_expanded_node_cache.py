"""The expanded-node cache is never changed by what pyld does with a cached expansion afterwards."""

from __future__ import annotations

from typing import Any

from issuer.credentials import OfflineDocumentLoader, canonicalize

EX = "https://example.org/ns#"
CONTEXT = {
    "id": "@id",
    "name": f"{EX}name",
    "byType": {"@id": f"{EX}byType", "@container": "@type"},
    "byId": {"@id": f"{EX}byId", "@container": "@id"},
    "byIndex": {"@id": f"{EX}byIndex", "@container": "@index"},
}


def _document(map_key: str, container: str) -> dict[str, Any]:
    return {"@context": CONTEXT, "id": "urn:x", container: {map_key: {"id": f"{EX}a", "name": "x"}}}


def test_values_of_index_id_and_type_maps_are_not_served_from_the_cache() -> None:
    # pyld adds the map key (a @type, an @index) to each expanded value of the map: a cached
    # expansion changed that way once gave a later document a type it does not have.
    for container, first, second in (
        ("byType", f"{EX}T", f"{EX}U"),
        ("byId", f"{EX}b", f"{EX}c"),
        ("byIndex", "one", "two"),
    ):
        cached = OfflineDocumentLoader()
        for map_key in (first, second, first):
            document = _document(map_key, container)
            fresh = canonicalize(document, document_loader=OfflineDocumentLoader())
            assert canonicalize(document, document_loader=cached) == fresh, (container, map_key)
