"""Scale test: do issuing, verifying and revoking stay flat as the credentials table grows?

    .venv/bin/python benchmarks/scale.py [--n 100000] [--repeat 7]

On a throw-away PostgreSQL database (dropped at the end, also on failure) this

1. runs ``issuer init`` and creates a supervisor;
2. bulk-inserts (SQLAlchemy Core, executemany) therapists, assignments, their statement marks
   (every statement of every level met), level completions, credentials and their two status
   entries, until the database holds 1,000 credentials;
3. measures, median of --repeat runs, each with its own commit:
     issue       ``issuance_completion.complete_level`` for a fresh (therapist, level),
                 in ``app.test_request_context()``
     verify      ``verifier.verify_stored`` on a credential issued in step 3 (cold: the process's
                 verification-result cache, if the app has one, is cleared first; warm: right after)
     revoke      ``revocation.change(action="revoke")`` on a seeded credential (flips a bit, re-signs the list)
4. seeds on up to --n credentials and measures again; prints both, and the ratio N / 1,000;
5. prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the hot queries at N.

Seeded credentials reuse ONE genuinely signed document text (and its VC-JWT) with the credential id
replaced by each row's own UUID, so their stored size is realistic but their signatures do not verify
(the JWT still names the original id). Only credentials issued in step 3 are verified. Status indexes
are drawn at random, like the service does, and a list is closed at 75 % full. No audit events are
seeded (the audit table is insert-only on these paths).
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SUPERVISOR = "scale-supervisor@example.org"
PASSWORD = "scale-test-password-1"
FILL = 0.75  # close a seeded status list at this fill ratio
BATCH = 2000


def log(message: str) -> None:
    print(message, flush=True)


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def database_url(dbname: str) -> str:
    """``BENCH_POSTGRES_URL`` with another database: also a Unix-socket URL (``postgresql://postgres@/postgres?host=/var/run/postgresql``)."""
    from sqlalchemy.engine import make_url

    return make_url(ADMIN_URL).set(database=dbname).render_as_string(hide_password=False)


class Seeder:
    """Adds therapists (4 credentials each, one per level) straight into the tables."""

    def __init__(self, session: Any, supervisor: Any, template: Any) -> None:
        from sqlalchemy import select

        from issuer.models import Level

        self.s = session
        self.supervisor = supervisor
        self.levels = list(session.scalars(select(Level).order_by(Level.framework_id, Level.position)))
        self.statements = [st.id for lv in self.levels for st in lv.statements]
        self.template_id = str(template.id)
        self.document = template.document
        self.jwt = template.jwt
        self.key_id = template.key_id
        self.recipient_name = template.recipient_name
        self.password_hash: str | None = None
        self.counter = 0
        # Per purpose: (list row id, length, set of used indexes) of the list being filled.
        self.lists: dict[str, tuple[int, int, set[int]]] = {}
        self.reload_lists()

    def reload_lists(self) -> None:
        """Re-read the lists being filled: the service itself allocates indexes between seeding rounds."""
        from sqlalchemy import select

        from issuer.models import StatusEntry, StatusList

        for purpose in ("revocation", "suspension"):
            current = self.s.scalars(select(StatusList).filter_by(purpose=purpose)
                                     .order_by(StatusList.id.desc())).first()
            if current is not None:
                used = set(self.s.scalars(select(StatusEntry.index).filter_by(list_id=current.id)))
                self.lists[purpose] = (current.id, current.length, used)

    def _list_for(self, purpose: str, now: Any) -> tuple[int, int, set[int]]:
        from sqlalchemy import insert

        from issuer.models import StatusList
        from issuer.status_lists import lists as status_lists

        current = self.lists.get(purpose)
        if current is None or len(current[2]) >= current[1] * FILL:
            length = status_lists.LIST_LENGTH
            list_id = self.s.scalar(insert(StatusList).returning(StatusList.id), [dict(
                public_id=uuid.uuid4(), purpose=purpose, length=length, allocated=0, bits=bytes(length // 8),
                version=1, signed_document=None, signed_version=None, created_at=now, updated_at=now)])
            current = (list_id, length, set())
            self.lists[purpose] = current
        return current

    def add_therapists(self, count: int, *, with_credentials: bool = True) -> list[int]:
        from sqlalchemy import insert, update

        from issuer.accounts import directory
        from issuer.models import (
            Assignment,
            Credential,
            LevelCompletion,
            Role,
            StatementMark,
            StatusEntry,
            StatusList,
            User,
            utcnow,
        )

        s, now = self.s, utcnow()
        if self.password_hash is None:
            self.password_hash = directory.hash_password(PASSWORD)
        users = []
        for _ in range(count):
            self.counter += 1
            users.append(dict(email=f"scale-{self.counter}-{secrets.token_hex(3)}@example.org",
                              name=f"Scale Therapist {self.counter}", role=Role.THERAPIST,
                              password_hash=self.password_hash, active=True, created_at=now, public_profile=False,
                              recipient_salt=secrets.token_hex(16)))
        ids = list(s.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), users))
        s.execute(insert(Assignment), [dict(supervisor_id=self.supervisor.id, therapist_id=t, created_at=now)
                                       for t in ids])
        marks = [dict(therapist_id=t, statement_id=st, supervisor_id=self.supervisor.id, kind="met",
                      observed_on=now.date(), note="Seeded by benchmarks/scale.py.", created_at=now)
                 for t in ids for st in self.statements]
        for start in range(0, len(marks), BATCH * 5):
            s.execute(insert(StatementMark), marks[start:start + BATCH * 5])
        if not with_credentials:
            return ids
        completions = [dict(therapist_id=t, level_id=lv.id, supervisor_id=self.supervisor.id, completed_at=now,
                            override_justification=None) for t in ids for lv in self.levels]
        completion_ids = list(s.scalars(insert(LevelCompletion).returning(LevelCompletion.id,
                                                                          sort_by_parameter_order=True), completions))
        credentials, entries = [], []
        for completion, completion_id in zip(completions, completion_ids, strict=True):
            credential_id = uuid.uuid4()
            from issuer.credentials.digest import document_digest

            document = self.document.replace(self.template_id, str(credential_id))
            credentials.append(dict(
                id=credential_id, therapist_id=completion["therapist_id"], level_id=completion["level_id"],
                completion_id=completion_id, issued_by_id=self.supervisor.id,
                document=document, jwt=self.jwt, digest=document_digest(json.loads(document)),
                recipient_name=self.recipient_name,
                issued_at=now, valid_from=now, valid_until=None, public=True, key_id=self.key_id))
            for purpose in ("revocation", "suspension"):
                list_id, length, used = self._list_for(purpose, now)
                while True:
                    index = random.randrange(length)
                    if index not in used:
                        used.add(index)
                        break
                entries.append(dict(list_id=list_id, index=index, purpose=purpose, credential_id=credential_id))
        for start in range(0, len(credentials), BATCH // 4):
            s.execute(insert(Credential), credentials[start:start + BATCH // 4])
        for start in range(0, len(entries), BATCH * 5):
            s.execute(insert(StatusEntry), entries[start:start + BATCH * 5])
        for list_id, _length, used in self.lists.values():
            s.execute(update(StatusList).where(StatusList.id == list_id).values(allocated=len(used)))
        return ids


def credential_count(session: Any) -> int:
    from sqlalchemy import func, select

    from issuer.models import Credential

    return int(session.scalar(select(func.count()).select_from(Credential)) or 0)


def seed_until(seeder: Seeder, target: int) -> float:
    from issuer.extensions import db

    t0 = time.monotonic()
    seeder.reload_lists()
    have = credential_count(db.session)
    per_therapist = len(seeder.levels)
    while have < target:
        batch = min(2500, -(-(target - have) // per_therapist))
        seeder.add_therapists(batch)
        db.session.commit()
        have = credential_count(db.session)
        if sys.stdout.isatty() or have % 20000 < batch * per_therapist:
            log(f"  … {have} credentials ({time.monotonic() - t0:.0f}s)")
    db.session.execute(__import__("sqlalchemy").text("ANALYZE"))
    db.session.commit()
    return time.monotonic() - t0


def clear_verify_caches() -> bool:
    """Forget the app's cached verification answers (``issuer.platform.cache``), so a measurement starts cold."""
    from flask import current_app

    caches = current_app.extensions.get("issuer.caches")
    if not caches:
        return False
    caches.clear()
    return True


def measure(app: Any, seeder: Seeder, repeat: int) -> dict[str, Any]:  # noqa: PLR0915 (each measure, in turn)
    from sqlalchemy import select

    from issuer.extensions import db
    from issuer.issuance import completion as issuance_completion
    from issuer.issuance import revocation
    from issuer.models import Credential, User
    from issuer.verification import verifier

    s = db.session
    fresh = seeder.add_therapists(repeat + 1, with_credentials=False)
    s.commit()
    supervisor_id = seeder.supervisor.id
    level_ids = [lv.id for lv in seeder.levels]
    issue_ms, issued = [], []
    for i, therapist_id in enumerate(fresh):
        with app.test_request_context():
            supervisor = s.get_one(User, supervisor_id)
            therapist = s.get_one(User, therapist_id)
            from issuer.models import Level
            level = s.get_one(Level, level_ids[i % len(level_ids)])
            t0 = time.perf_counter()
            credential = issuance_completion.complete_level(s, supervisor=supervisor, therapist=therapist, level=level)
            s.commit()
            elapsed = (time.perf_counter() - t0) * 1000
            issued.append(credential.id)
        if i > 0:  # the first run warms up (JSON-LD contexts, keys)
            issue_ms.append(elapsed)

    cold_ms, warm_ms, verified = [], [], []
    for i, credential_id in enumerate(issued):
        with app.test_request_context():
            credential = s.get_one(Credential, credential_id)
            clear_verify_caches()
            t0 = time.perf_counter()
            result = verifier.verify_stored(s, credential)
            cold = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            verifier.verify_stored(s, credential)
            warm = (time.perf_counter() - t0) * 1000
            s.rollback()
        verified.append(result.verified)
        if i > 0:
            cold_ms.append(cold)
            warm_ms.append(warm)

    seeded_ids = list(s.scalars(select(Credential.id).where(Credential.revoked_at.is_(None),
                                                             Credential.id.not_in(issued))
                                .order_by(Credential.id).limit(2000)))
    targets = random.sample(seeded_ids, min(repeat + 1, len(seeded_ids)))
    revoke_ms = []
    for i, credential_id in enumerate(targets):
        with app.test_request_context():
            credential = s.get_one(Credential, credential_id)
            t0 = time.perf_counter()
            revocation.change(s, credential, action="revoke", reason="scale benchmark", actor=None)
            s.commit()
            elapsed = (time.perf_counter() - t0) * 1000
        if i > 0:
            revoke_ms.append(elapsed)

    def stats(values: list[float]) -> dict[str, float]:
        return {"median_ms": round(statistics.median(values), 2), "min_ms": round(min(values), 2),
                "max_ms": round(max(values), 2), "runs": len(values)}

    return {"credentials": credential_count(s), "issue": stats(issue_ms), "verify_cold": stats(cold_ms),
            "verify_warm": stats(warm_ms), "revoke": stats(revoke_ms),
            "all_issued_verified": all(verified)}


def explain(seeder: Seeder) -> dict[str, str]:
    from sqlalchemy import func, insert, select, text

    from issuer.extensions import db
    from issuer.models import Credential, LevelCompletion, StatementMark, StatusEntry, StatusList, User
    from issuer.verification import verifier

    s = db.session
    sample = s.scalars(select(Credential).order_by(func.random()).limit(1)).one()
    therapist = s.get_one(User, sample.therapist_id)
    entry = s.scalars(select(StatusEntry).filter_by(credential_id=sample.id, purpose="revocation")).one()
    newest = (
        select(func.max(StatementMark.id))
        .where(StatementMark.therapist_id == therapist.id)
        .group_by(StatementMark.statement_id)
    )
    queries: dict[str, Any] = {
        # the "already issued?" query of issuance_completion.complete_level, on unique (therapist_id, level_id)
        "credential by therapist+level": select(Credential).filter_by(
            therapist_id=therapist.id, level_id=sample.level_id
        ),
        # record_book.latest_marks (issuance, record pages)
        "latest marks of a therapist": select(StatementMark).where(StatementMark.id.in_(newest)),
        # status_lists.set_bit / status_check._own_suspension_entry (revocation, every verification)
        "status entry by credential+purpose": select(StatusEntry).filter_by(
            credential_id=sample.id, purpose="suspension"
        ),
        # status_lists.allocate claims random indexes: INSERT … ON CONFLICT on the unique (list_id, index)
        "status entry by list+index": select(StatusEntry).filter_by(list_id=entry.list_id, index=entry.index),
        # status_lists._current_lists (every issuance): the newest list of each purpose
        "current status lists": select(StatusList).where(
            StatusList.id.in_(select(func.max(StatusList.id)).group_by(StatusList.purpose))
        ),
        # verifier.verify_issued / IssuedVerification.unchanged (every verification page, cached or not)
        "issued credential state": verifier._ISSUED_STATE.params(credential_id=sample.id),
        # verifier._answer / Answer.unchanged (every POST /api/v1/verify, cached or not)
        "state of keys and lists": verifier._CURRENT_STATE.params(
            public_ids=list(s.scalars(select(StatusList.public_id).limit(2)))
        ),
        "completion by therapist+level": select(LevelCompletion).filter_by(
            therapist_id=therapist.id, level_id=sample.level_id
        ),
        # verify page and revocation: credential by primary key
        "credential by id": select(Credential).filter_by(id=sample.id),
    }
    plans = {}
    dialect = s.get_bind().dialect  # the PostgreSQL dialect the benchmark is connected with
    for name, stmt in queries.items():
        sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        rows = s.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")).scalars().all()
        plans[name] = "\n".join(rows)
    # The status entry INSERT (inside a rolled-back savepoint): uniqueness is checked through the two
    # unique indexes, which EXPLAIN shows only as the insert's time.
    free_index = next(i for i in range(1, 10**7) if i not in seeder.lists["revocation"][2])
    insert_sql = str(insert(StatusEntry).values(list_id=seeder.lists["revocation"][0], index=free_index,
                                                purpose="revocation", credential_id=uuid.uuid4())
                     .compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    with s.begin_nested() as savepoint:
        rows = s.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {insert_sql}")).scalars().all()
        savepoint.rollback()
    plans["status entry insert"] = "\n".join(rows)
    s.rollback()
    indexes = s.execute(text("SELECT tablename, indexname FROM pg_indexes WHERE tablename IN "
                             "('credentials','status_entries','statement_marks','level_completions','status_lists') "
                             "ORDER BY tablename, indexname")).all()
    plans["indexes"] = "\n".join(f"{t}: {i}" for t, i in indexes)
    return plans


def main() -> int:  # noqa: PLR0915 (the run, step by step: database, seed, measure, explain, clean up)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="credentials at the large size (default 100000)")
    parser.add_argument("--small", type=int, default=1000, help="credentials at the small size (default 1000)")
    parser.add_argument("--repeat", type=int, default=7, help="measured runs per operation (default 7)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="issuer-scale-"))
    dbname = f"issuer_scale_{os.getpid()}_{secrets.token_hex(3)}"
    db_url = database_url(dbname)
    env = {"ISSUER_DATABASE_URL": db_url, "ISSUER_KEYS_DIR": str(tmp / "keys"),
           "ISSUER_BASE_URL": "http://127.0.0.1:5000", "SECRET_KEY": secrets.token_urlsafe(48),
           "ISSUER_UPLOADS_DIR": str(tmp / "uploads")}
    os.environ.update(env)
    created = False
    engine = None
    try:
        pg_admin(f'CREATE DATABASE "{dbname}"')
        created = True
        log(f"database {dbname}")
        result = subprocess.run([str(VENV_BIN / "issuer"), "init"], cwd=ROOT, env={**os.environ}, capture_output=True,
                                text=True, timeout=300, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"issuer init failed:\n{result.stdout}\n{result.stderr}")

        from issuer import create_app
        from issuer.accounts import assignments, directory
        from issuer.extensions import db
        from issuer.issuance import completion as issuance_completion
        from issuer.models import User

        app = create_app()
        with app.app_context():
            engine = db.engine
            s = db.session
            supervisor = directory.create_user(s, email=SUPERVISOR, name="Scale Supervisor", role="supervisor",
                                              password=PASSWORD)
            s.commit()
            # One genuinely issued credential: the template every seeded row copies.
            from sqlalchemy import select

            from issuer.models import Level
            levels = list(s.scalars(select(Level).order_by(Level.framework_id, Level.position)))
            therapist = directory.create_user(s, email="scale-template@example.org", name="Template Therapist",
                                             role="therapist", password=PASSWORD)
            assignments.assign(s, supervisor=supervisor, therapist=therapist)
            from issuer.learning import record_book
            from issuer.models import utcnow
            for st in levels[0].statements:
                record_book.mark_statement(s, supervisor=supervisor, therapist=therapist, statement=st,
                                       observed_on=utcnow().date(), note="Template.")
            with app.test_request_context():
                template = issuance_completion.complete_level(
                    s, supervisor=supervisor, therapist=therapist, level=levels[0]
                )
                s.commit()
            seeder = Seeder(s, s.get(User, supervisor.id), template)

            figures: dict[str, Any] = {"n": args.n, "small": args.small, "repeat": args.repeat}
            took = seed_until(seeder, args.small)
            log(f"seeded {credential_count(s)} credentials in {took:.1f}s")
            small = measure(app, seeder, args.repeat)
            log(f"at {small['credentials']:>7} credentials: " + fmt(small))
            took = seed_until(seeder, args.n)
            log(f"seeded {credential_count(s)} credentials in {took:.1f}s")
            large = measure(app, seeder, args.repeat)
            log(f"at {large['credentials']:>7} credentials: " + fmt(large))
            ratios = {op: round(large[op]["median_ms"] / small[op]["median_ms"], 2)
                      for op in ("issue", "verify_cold", "verify_warm", "revoke")}
            log("ratio large/small (median): " + ", ".join(f"{op} {r:.2f}×" for op, r in ratios.items()))
            sizes = dict(
                s.execute(
                    __import__("sqlalchemy").text(
                        "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
                        "WHERE relname IN "
                        "('credentials','status_entries','statement_marks','level_completions','users')"
                    )
                ).all()
            )
            log(f"table sizes: {sizes}")
            plans = explain(seeder)
            for name, plan in plans.items():
                log(f"\n-- EXPLAIN {name}" if name != "indexes" else "\n-- indexes")
                log(plan)
            figures.update({"at_small": small, "at_n": large, "ratio": ratios, "table_sizes": sizes})
            db.session.remove()
            engine.dispose()
        print(json.dumps(figures, sort_keys=True), flush=True)
        return 0
    finally:
        if engine is not None:
            engine.dispose()
        if created:
            try:
                pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            except Exception as error:  # noqa: BLE001 — report, keep cleaning up
                log(f"could not drop database {dbname}: {error}")
        shutil.rmtree(tmp, ignore_errors=True)


def fmt(m: dict[str, Any]) -> str:
    return ", ".join(f"{op} {m[op]['median_ms']:.1f} ms" for op in ("issue", "verify_cold", "verify_warm", "revoke"))


if __name__ == "__main__":
    sys.exit(main())
