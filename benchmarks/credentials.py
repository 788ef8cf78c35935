"""Benchmark: build, sign and verify OB 3.0 level credentials (ten statements each).

Single process, after warm-up; signing and verification both include the
undefined-term check (safe canonicalization). Prints readable lines, then as
its LAST line one JSON object: {"n": N, "sign_per_s": ..., "verify_per_s": ...}.

    .venv/bin/python benchmarks/credentials.py --n 500
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from issuer.credentials import (
    KeyResolver,
    build_achievement_credential,
    did_document,
    did_web_from_base_url,
    document_loader,
    generate_ed25519,
    sign,
    verify,
)

SEED = Path(__file__).resolve().parents[1] / "frameworks" / "music-therapists-29-1129.02-v26.05.json"
BASE_URL = "https://issuer.example.org"


def level_achievement(seed: dict[str, Any], level_key: str, creator: dict[str, Any]) -> dict[str, Any]:
    """An Achievement shaped like ``issuer.frameworks.achievements.level_achievement`` from the seed framework."""
    occupation, framework = seed["occupation"], seed["framework"]
    level = framework["levels"][level_key]
    statements = level["statements"]
    names = [text.split(" — ", 1)[0] for text in statements]
    lines = "\n".join(
        f"{i}. [{name}]({BASE_URL}/achievements/s{i}): {text}"
        for i, (name, text) in enumerate(zip(names, statements, strict=True), 1)
    )
    alignments = [
        {
            "type": ["Alignment"],
            "targetName": occupation["title"],
            "targetUrl": f"https://www.onetonline.org/link/summary/{occupation['soc']}",
            "targetCode": occupation["soc"],
            "targetFramework": "O*NET-SOC",
            "targetType": "ext:Occupation",
        }
    ] + [
        {
            "type": ["Alignment"],
            "targetName": name,
            "targetUrl": f"{BASE_URL}/achievements/s{i}",
            "targetDescription": text,
            "targetFramework": f"{occupation['title']} framework",
            "targetCode": f"{occupation['soc']}-{level_key[:3].upper()}-{i:02d}",
            "targetType": "ceasn:Competency",
        }
        for i, (name, text) in enumerate(zip(names, statements, strict=True), 1)
    ]
    return {
        "id": f"{BASE_URL}/achievements/{level_key}",
        "type": ["Achievement"],
        "achievementType": "Competency",
        "name": f"{occupation['title']}: {level['label']}",
        "description": f"The {level['label']} level. {framework['contextCovered']}",
        "criteria": {"narrative": f"A clinical supervisor observed and recorded each of these statements:\n\n{lines}"},
        "image": {"id": f"{BASE_URL}/badges/{level_key}.png", "type": "Image", "caption": level["label"]},
        "alignment": alignments,
        "creator": creator,
        "humanCode": f"{occupation['soc']}-{level_key.upper()}",
        "fieldOfStudy": occupation["title"],
        "inLanguage": "en",
        "version": framework["version"],
        "tag": [occupation["title"], level["label"]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="credentials to build, sign and verify")
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)

    seed = json.loads(SEED.read_text(encoding="utf-8"))
    did = did_web_from_base_url(BASE_URL)
    key = generate_ed25519()
    vm = f"{did}#key-1"
    issuer = {"id": did, "type": ["Profile"], "name": "Example Music Therapy Institute", "url": BASE_URL + "/"}
    resolver = KeyResolver(known_documents=[did_document(did, {"key-1": key.public_key()})])
    achievements = [level_achievement(seed, level, issuer) for level in seed["framework"]["levels"]]
    now = datetime.now(UTC)

    def build(i: int) -> dict[str, Any]:
        return build_achievement_credential(
            credential_id=f"urn:uuid:{uuid.uuid4()}",
            issuer=issuer,
            achievement=achievements[i % len(achievements)],
            recipient_email=f"therapist{i}@example.org",
            salt=uuid.uuid4().hex,
            recipient_did=None,
            name=achievements[i % len(achievements)]["name"],
            valid_from=now,
            valid_until=now + timedelta(days=3 * 365),
            evidence=[{"type": ["Evidence"], "narrative": f"Observed in supervised sessions, case {i}."}],
            results=None,
            credential_status=None,
            awarded_date=now,
        )

    def sign_one(credential: dict[str, Any]) -> dict[str, Any]:
        return sign(credential, private_key=key, verification_method=vm, created=now, document_loader=document_loader)

    for i in range(args.warmup):
        result = verify(sign_one(build(i)), document_loader=document_loader, resolver=resolver, now=now)
        if not result.verified:  # a benchmark of a failing verification would measure the wrong thing
            raise RuntimeError(f"warm-up credential {i} did not verify: {result.errors}")

    unsigned = [build(i) for i in range(args.n)]
    started = time.perf_counter()
    signed = [sign_one(credential) for credential in unsigned]
    sign_seconds = time.perf_counter() - started

    started = time.perf_counter()
    results = [verify(credential, document_loader=document_loader, resolver=resolver, now=now) for credential in signed]
    verify_seconds = time.perf_counter() - started
    failures = [r.errors for r in results if not r.verified]
    if failures:
        print(f"{len(failures)} credentials failed to verify, e.g. {failures[0]}", file=sys.stderr)
        return 1

    size = len(json.dumps(signed[0]))
    print(
        f"credential: {size} bytes of JSON, level with "
        f"{len(seed['framework']['levels']['emerging']['statements'])} statements"
    )
    print(f"sign:   {args.n} in {sign_seconds:.3f} s = {args.n / sign_seconds:.1f}/s")
    print(f"verify: {args.n} in {verify_seconds:.3f} s = {args.n / verify_seconds:.1f}/s (all named checks)")
    print(
        json.dumps(
            {
                "n": args.n,
                "sign_per_s": round(args.n / sign_seconds, 1),
                "verify_per_s": round(args.n / verify_seconds, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
