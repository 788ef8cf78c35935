"""Benchmark: CPU spent on hostile input before it is refused (issue 14).

Each input is verified as the public verifier would (``verify()`` on the UTF-8
bytes, nothing signed, nothing known), and JSON-only inputs are also read with
the strict reader ``jsonparse.loads``. CPU time (``time.process_time``) per
input, median of ``--repeat`` runs after one warm-up. The target: every input up
to 1 MB answered within about 0.25 s of CPU. Prints one line per input, then as
its LAST line one JSON object: {"input": cpu_seconds, ...}.

    .venv/bin/python benchmarks/poison.py --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from issuer.credentials import JSONInputError, KeyResolver, document_loader, verify
from issuer.credentials.jsonparse import loads

EX = "https://example.org/ns#"


def credential() -> dict[str, Any]:
    """A small unsigned OB 3.0 credential, the carrier of every poison below."""
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:6d1c1f3e-1f0a-4b8e-9d7c-3f2a5b6c7d8e",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "did:web:issuer.example.org", "type": ["Profile"], "name": "Example"},
        "validFrom": "2026-01-01T00:00:00Z",
        "name": "Poison",
        "credentialSubject": {
            "id": "did:example:subject",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://issuer.example.org/achievements/a",
                "type": ["Achievement"],
                "name": "A",
                "criteria": {"narrative": "N"},
            },
        },
    }


def clique(size: int) -> bytes:
    nodes = [{"@id": f"_:n{i}", EX + "link": [{"@id": f"_:n{j}"} for j in range(size) if j != i]} for i in range(size)]
    return json.dumps({**credential(), EX + "nodes": nodes}).encode()


def equal_list(size: int) -> bytes:
    return json.dumps({**credential(), EX + "items": {"@list": [{EX + "v": "x"} for _ in range(size)]}}).encode()


def equal_nodes(size: int) -> bytes:
    return json.dumps({**credential(), EX + "items": [{EX + "v": "x"} for _ in range(size)]}).encode()


def many_objects(target: int) -> bytes:
    """~``target`` bytes of distinct identified nodes (each one expanded with its scoped contexts)."""
    items, size, i = [], 0, 0
    while size < target - 200:
        item = {"id": f"urn:x:{i}", "type": ["Evidence"], "narrative": f"n{i}"}
        items.append(item)
        size += len(json.dumps(item)) + 2
        i += 1
    return json.dumps({**credential(), "evidence": items}).encode()


def empty_arrays(target: int) -> bytes:
    count = (target - 10) // 3
    return ('{"a":[' + ",".join(["[]"] * count) + "]}").encode()


def schema_checked(target: int) -> bytes:
    """A credential naming the 1EdTech schema, with ~``target`` bytes of evidence for the schema check to walk."""
    items, size, i = [], 0, 0
    while size < target - 600:
        item = {"type": ["Evidence"], "narrative": f"n{i}"}
        items.append(item)
        size += len(json.dumps(item)) + 2
        i += 1
    schema = [{"id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
               "type": "1EdTechJsonSchemaValidator2019"}]
    return json.dumps({**credential(), "credentialSchema": schema, "evidence": items}).encode()


def arrays_in_credential(target: int) -> bytes:
    count = (target - 1000) // 3
    return json.dumps({**credential(), EX + "a": [[] for _ in range(count)]}, separators=(",", ":")).encode()


def inline_context(target: int) -> bytes:
    """A credential defining ~``target`` bytes of terms in its own @context."""
    document = credential()
    count = (target - 1000) // 42
    document["@context"] = [*document["@context"], {f"t{i}": f"{EX}t{i}" for i in range(count)}]
    return json.dumps(document).encode()


def deep_arrays(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


INPUTS: dict[str, Callable[[], bytes]] = {
    "clique-5 (accepted)": lambda: clique(5),
    "clique-6": lambda: clique(6),
    "clique-7": lambda: clique(7),
    "list-of-300-equal-nodes": lambda: equal_list(300),
    "300-equal-nodes": lambda: equal_nodes(300),
    "990KB-identified-nodes": lambda: many_objects(990_000),
    "990KB-empty-arrays": lambda: empty_arrays(990_000),
    "990KB-arrays-in-credential": lambda: arrays_in_credential(990_000),
    "990KB-schema-checked": lambda: schema_checked(990_000),
    "990KB-inline-context": lambda: inline_context(990_000),
    "100k-deep-arrays": lambda: deep_arrays(100_000),
}


def cpu(call: Callable[[], Any], repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        started = time.process_time()
        call()
        times.append(time.process_time() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    resolver = KeyResolver()
    figures: dict[str, float] = {}
    for name, make in INPUTS.items():
        data = make()

        def verified(data: bytes = data) -> str:
            result = verify(data, document_loader=document_loader, resolver=resolver)
            return "; ".join(result.errors)[:110]

        def parsed(data: bytes = data) -> str:
            try:
                loads(data)
            except JSONInputError as error:
                return f"{error.reason}: {error}"[:110]
            return "read"

        seconds = cpu(verified, args.repeat)
        figures[name] = round(seconds, 4)
        print(f"{name:26} {len(data):>9,} B  verify {seconds * 1000:8.1f} ms CPU  {verified()}")
        if not data.startswith(b'{"@context"'):
            seconds = cpu(parsed, args.repeat)
            figures[name + " (jsonparse)"] = round(seconds, 4)
            print(f"{'':26} {'':>9}    loads  {seconds * 1000:8.1f} ms CPU  {parsed()}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
