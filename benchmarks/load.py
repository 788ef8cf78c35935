"""Load test: gunicorn (4 workers) on a fresh PostgreSQL database, driven by wrk.

    .venv/bin/python benchmarks/load.py [--duration 15] [--connections 64] [--profile]

What it does, start to end (see benchmarks/README.md):

1. creates a throw-away PostgreSQL database (through the local socket where there is one, as docs/deploy.md
   connects the service on one host) and a temp keys directory, runs ``issuer init``;
2. seeds a supervisor and a therapist through the CLI (two credentials via ``issuer complete``),
   then, in bulk inside an app context, enough therapists with every statement met for the
   issuance scenario, and an API token for the supervisor;
3. starts ``gunicorn --workers 4 wsgi:app`` and waits until it answers;
4. runs wrk (--latency, after a short warm-up) for each scenario:
   verify_page   GET  /verify/<uuid>                          (--connections)
   verify_api    POST /api/v1/verify with the credential JSON (--connections)
   status_list   GET  /status/<list uuid>                     (--connections)
   issue_api     POST /api/v1/therapists/<id>/levels/<id>/complete, each request a distinct
                 (therapist, level) with every statement met    (--issue-connections, 8)
   verify_many   GET  /verify/<uuid> cycling over every credential issued by issue_api
                 (distinct credentials: closer to real traffic than one hot credential)
5. prints requests/s and p50/p99 per scenario and, as its LAST line, one JSON object;
6. stops gunicorn and drops the database, also on failure or Ctrl-C.

With --profile, py-spy samples every gunicorn worker during each measured run and the
script prints where the time goes (inclusive share per function). ``pip install py-spy``.

Everything listens on and talks to 127.0.0.1 (and PostgreSQL's local socket) only.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
WRK_DIR = Path(__file__).resolve().parent / "wrk"
#: PostgreSQL's local socket, as docs/deploy.md connects the service on one host; TCP where there is none.
LOCAL_SOCKET = Path("/var/run/postgresql")
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL") or (
    f"postgresql://postgres@/postgres?host={LOCAL_SOCKET}" if (LOCAL_SOCKET / ".s.PGSQL.5432").exists()
    else "postgresql://postgres@127.0.0.1:5432/postgres"
)
SUPERVISOR = "load-supervisor@example.org"
THERAPIST = "load-therapist@example.org"
PASSWORD = "load-test-password-1"
TARGETS = {"verify_p99_ms": 100.0, "issuances_per_s": 100.0}
SCENARIOS = ("verify_page", "verify_api", "status_list", "issue_api", "verify_many")


def log(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- database

def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def database_url(dbname: str) -> str:
    """``BENCH_POSTGRES_URL`` with another database: also a Unix-socket URL (``postgresql://postgres@/postgres?host=/var/run/postgresql``)."""
    from sqlalchemy.engine import make_url

    return make_url(ADMIN_URL).set(database=dbname).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- seeding

def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run([str(VENV_BIN / "issuer"), *args], cwd=ROOT, env=env, input=stdin or "",
                            capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"issuer {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def seed_bulk(n_therapists: int) -> dict[str, Any]:
    """Therapists assigned to the supervisor with every statement of every level met, and an API token.

    Rows go in with bulk INSERTs (one shared Argon2 hash for the throw-away accounts); the marks are
    exactly what ``records.mark_statement`` writes, minus one audit event per mark.
    """
    from sqlalchemy import insert, select

    from issuer import create_app
    from issuer.accounts import api_tokens, directory
    from issuer.extensions import db
    from issuer.models import Assignment, Level, Role, StatementMark, User, utcnow

    app = create_app()
    with app.app_context():
        s = db.session
        supervisor = directory.get_user_by_email(s, SUPERVISOR)
        levels = list(s.scalars(select(Level).order_by(Level.framework_id, Level.position)))
        statements = [st.id for lv in levels for st in lv.statements]
        now = utcnow()
        password_hash = directory.hash_password(PASSWORD)
        users = [dict(email=f"load-t{i}@example.org", name=f"Load Therapist {i}", role=Role.THERAPIST,
                      password_hash=password_hash, active=True, created_at=now, public_profile=False,
                      recipient_salt=secrets.token_hex(16)) for i in range(n_therapists)]
        ids = list(s.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), users))
        s.execute(insert(Assignment), [dict(supervisor_id=supervisor.id, therapist_id=t, created_at=now) for t in ids])
        marks = [dict(therapist_id=t, statement_id=st, supervisor_id=supervisor.id, kind="met",
                      observed_on=now.date(), note="Seeded by benchmarks/load.py.", created_at=now)
                 for t in ids for st in statements]
        for start in range(0, len(marks), 5000):
            s.execute(insert(StatementMark), marks[start:start + 5000])
        token = api_tokens.create_api_token(s, user=supervisor, name="load test").secret
        s.commit()
        level_ids = [lv.id for lv in levels]
        db.engine.dispose()
    return {"therapist_ids": ids, "level_ids": level_ids, "token": token}


def issued_credential_ids(exclude: set[str]) -> list[str]:
    from sqlalchemy import select

    from issuer import create_app
    from issuer.extensions import db
    from issuer.models import Credential

    app = create_app()
    with app.app_context():
        found = [str(c) for c in db.session.scalars(select(Credential.id).order_by(Credential.issued_at))]
        db.engine.dispose()
    return [c for c in found if c not in exclude]


# --------------------------------------------------------------------------- gunicorn

def start_gunicorn(env: dict[str, str], port: int, workers: int, logfile: Path) -> subprocess.Popen[bytes]:
    gunicorn = VENV_BIN / "gunicorn"
    out = logfile.open("wb")
    return subprocess.Popen([str(gunicorn), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                             "--timeout", "120", "wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=out,
                            start_new_session=True)


def wait_ready(base: str, proc: subprocess.Popen[bytes], logfile: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({proc.returncode}):\n{logfile.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/.well-known/did.json", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f}s:\n{logfile.read_text()[-3000:]}")


def stop_gunicorn(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # graceful: the master stops its own workers
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # our own session only (start_new_session=True)
        proc.wait(timeout=10)


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    try:
        return [int(p) for p in children.read_text().split()]
    except OSError:
        return []


# --------------------------------------------------------------------------- wrk

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(value: str, unit: str) -> float:
    return float(value) * UNITS[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["requests_per_s"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", output)
    if m:
        result["requests"] = int(m.group(1))
        result["seconds"] = _ms(m.group(2), m.group(3)) / 1000
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE):
        result[f"p{pct}_ms"] = round(_ms(value, unit), 2)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result["socket_errors"] = sum(int(g) for g in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(m.group(1)) if m else 0
    statuses = {code: int(n) for code, n in re.findall(r"^status (\d+) (\d+)$", output, re.MULTILINE)}
    if statuses:
        result["statuses"] = dict(sorted(statuses.items()))
    m = re.search(r"^exhausted (\d+)$", output, re.MULTILINE)
    if m:
        result["exhausted"] = int(m.group(1))
    return result


def run_wrk(url: str, *, connections: int, duration: float, script: Path | None = None,
            script_args: list[str] | None = None, env: dict[str, str] | None = None) -> tuple[str, dict[str, Any]]:
    threads = max(1, min(connections, os.cpu_count() or 1, 4))
    cmd = ["wrk", "--latency", "--timeout", "60s", "-t", str(threads), "-c", str(connections),
           "-d", f"{max(1, round(duration))}s"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if script_args:
        cmd += ["--", *[a.replace("{threads}", str(threads)) for a in script_args]]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=duration + 120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr}\n{proc.stdout}")
    return proc.stdout, parse_wrk(proc.stdout)


# --------------------------------------------------------------------------- profiling

def start_profile(master: int, out: Path, duration: float) -> subprocess.Popen[bytes] | None:
    pyspy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not Path(pyspy).exists():
        log("  (py-spy not installed: .venv/bin/pip install py-spy; profiling skipped)")
        return None
    return subprocess.Popen([pyspy, "record", "--pid", str(master), "--subprocesses", "--nonblocking",
                             "--rate", "200", "--duration", str(max(1, round(duration))), "--format", "raw",
                             "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def summarize_profile(path: Path, top: int = 25) -> list[tuple[str, float, float]]:
    """(function, inclusive %, self %) from py-spy's raw (collapsed) output, by sample count."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    if not path.exists():
        return []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        names = []
        for frame in stack.split(";"):
            m = FRAME.match(frame.strip())
            if m is None:
                continue
            file = m.group("file")
            for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
                if marker in file:
                    file = file.split(marker, 1)[1]
            names.append(f"{m.group('func')} ({file})")
        if not names:
            continue
        for name in set(names):
            inclusive[name] += n
        own[names[-1]] += n
    if not total:
        return []
    rows = [(name, 100 * count / total, 100 * own[name] / total) for name, count in inclusive.items()]
    plumbing = ("(gunicorn/", "(flask/app.py)", "(wsgi.py)", "(flask/ctx.py)")
    interesting = [r for r in rows if not any(p in r[0] for p in plumbing)]
    interesting.sort(key=lambda r: -r[1])
    by_self = sorted(rows, key=lambda r: -r[2])[:8]
    return [*interesting[:top], ("-- top self time --", 0.0, 0.0), *by_self]


def print_profile(name: str, rows: list[tuple[str, float, float]]) -> None:
    if not rows:
        log(f"  profile {name}: no samples")
        return
    log(f"  profile {name} (share of worker samples: inclusive / self):")
    for func, inc, slf in rows:
        if func.startswith("--"):
            log(f"    {func}")
        else:
            log(f"    {inc:5.1f}% {slf:5.1f}%  {func}")


# --------------------------------------------------------------------------- main

def main() -> int:  # noqa: PLR0912, PLR0915 (the run, step by step: set up, seed, each scenario, verdicts, clean up)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15, help="seconds per measured wrk run (default 15)")
    parser.add_argument("--connections", type=int, default=64, help="connections for the read scenarios (default 64)")
    parser.add_argument("--issue-connections", type=int, default=8, help="connections for issuance (default 8)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up before each scenario (default 3)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--max-issue-rate", type=float, default=150,
                        help="issuances/s to provision (distinct therapist×level targets) (default 150)")
    parser.add_argument("--profile", action="store_true", help="sample workers with py-spy during each run")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help=f"comma-separated scenarios to run (default: all of {','.join(SCENARIOS)})")
    parser.add_argument("--keep-output", type=Path, default=None, help="directory for wrk outputs and profiles")
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    if not only or only - set(SCENARIOS):
        parser.error(f"--only takes names from {', '.join(SCENARIOS)}")

    if shutil.which("wrk") is None:
        log("wrk is not installed. On Debian/Ubuntu, as root: apt-get update && apt-get install -y wrk")
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="issuer-load-"))
    out_dir = args.keep_output or tmp
    out_dir.mkdir(parents=True, exist_ok=True)
    dbname = f"issuer_load_{os.getpid()}_{secrets.token_hex(3)}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db_url = database_url(dbname)
    env = {**os.environ, "ISSUER_DATABASE_URL": db_url, "ISSUER_KEYS_DIR": str(tmp / "keys"),
           "ISSUER_BASE_URL": base, "SECRET_KEY": secrets.token_urlsafe(48),
           "ISSUER_UPLOADS_DIR": str(tmp / "uploads"),
           # wrk's 64 connections come from one address: the per-address limit would measure itself
           "ISSUER_VERIFY_RATE_LIMIT": "0"}
    os.environ.update({k: env[k] for k in ("ISSUER_DATABASE_URL", "ISSUER_KEYS_DIR", "ISSUER_BASE_URL",
                                           "SECRET_KEY", "ISSUER_UPLOADS_DIR", "ISSUER_VERIFY_RATE_LIMIT")})
    gunicorn: subprocess.Popen[bytes] | None = None
    created_db = False
    results: dict[str, Any] = {}

    def on_signal(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        log(f"database {dbname} via {ADMIN_URL.rsplit('@', 1)[-1]}, server {base}, {os.cpu_count()} CPUs")
        pg_admin(f'CREATE DATABASE "{dbname}"')
        created_db = True
        t0 = time.monotonic()
        cli(env, "init")
        cli(env, "users", "add", SUPERVISOR, "--name", "Load Supervisor", "--role", "supervisor", stdin=PASSWORD + "\n")
        cli(env, "users", "add", THERAPIST, "--name", "Load Therapist", "--role", "therapist", stdin=PASSWORD + "\n")
        cli(env, "assign", SUPERVISOR, THERAPIST)
        cli_ids = [cli(env, "complete", SUPERVISOR, THERAPIST, level, "--mark-all-statements").splitlines()[-1]
                   for level in ("emerging", "developing")]
        credential_id = cli_ids[0]
        log(f"seeded through the CLI in {time.monotonic() - t0:.1f}s: credentials {', '.join(cli_ids)}")

        targets_needed = math.ceil(args.max_issue_rate * (args.duration + args.warmup)) + 50
        n_therapists = math.ceil(targets_needed / 4)
        t0 = time.monotonic()
        seeded = seed_bulk(n_therapists)
        level_ids = seeded["level_ids"]
        paths = [f"/api/v1/therapists/{t}/levels/{lv}/complete" for lv in level_ids for t in seeded["therapist_ids"]]
        warm_count = math.ceil(args.max_issue_rate * args.warmup) + 20
        warm_file, main_file = tmp / "issue-warmup.txt", tmp / "issue-main.txt"
        warm_file.write_text("\n".join(paths[:warm_count]) + "\n")
        main_file.write_text("\n".join(paths[warm_count:]) + "\n")
        log(f"seeded {n_therapists} therapists × {len(level_ids)} levels with every statement met "
            f"({len(paths) - warm_count} issuance targets + {warm_count} for warm-up) in {time.monotonic() - t0:.1f}s")

        gunicorn_log = out_dir / "gunicorn.log"
        gunicorn = start_gunicorn(env, port, args.workers, gunicorn_log)
        wait_ready(base, gunicorn, gunicorn_log)
        log(f"gunicorn up: {args.workers} workers, pids {worker_pids(gunicorn.pid)}")

        with urllib.request.urlopen(f"{base}/credentials/{credential_id}.json", timeout=30) as response:
            credential_text = response.read()
        credential = json.loads(credential_text)
        body_file = tmp / "credential.json"
        body_file.write_bytes(credential_text)
        entries = credential.get("credentialStatus")
        entries = entries if isinstance(entries, list) else [entries]
        list_url = entries[0]["statusListCredential"]
        log(f"credential {credential_id} ({len(credential_text)} bytes), status list {list_url}")

        def scenario(name: str, url: str, connections: int, script: Path | None = None,
                     script_args: list[str] | None = None, *, warm_args: list[str] | None = None,
                     wrk_env: dict[str, str] | None = None) -> dict[str, Any]:
            if args.warmup > 0:
                run_wrk(url, connections=connections, duration=args.warmup, script=script,
                        script_args=warm_args or script_args, env=wrk_env)
            profiler = None
            if args.profile:
                profiler = start_profile(gunicorn.pid, out_dir / f"profile-{name}.txt", args.duration)
                time.sleep(0.5)
            text, parsed = run_wrk(url, connections=connections, duration=args.duration, script=script,
                                   script_args=script_args, env=wrk_env)
            (out_dir / f"wrk-{name}.txt").write_text(text)
            parsed["connections"] = connections
            results[name] = parsed
            log(f"{name:<12} {parsed['requests_per_s']:9.1f} req/s   p50 {parsed.get('p50_ms', float('nan')):8.2f} ms"
                f"   p99 {parsed.get('p99_ms', float('nan')):8.2f} ms   c={connections}"
                f"   statuses {parsed.get('statuses', {})}   socket errors {parsed['socket_errors']}")
            if profiler is not None:
                _, err = profiler.communicate(timeout=args.duration + 60)
                if profiler.returncode != 0:
                    log(f"  py-spy failed: {err.decode(errors='replace')[-500:]}")
                print_profile(name, summarize_profile(out_dir / f"profile-{name}.txt"))
            return parsed

        count = WRK_DIR / "count.lua"
        if "verify_page" in only:
            scenario("verify_page", f"{base}/verify/{credential_id}", args.connections, count)
        if "verify_api" in only:
            scenario("verify_api", f"{base}/api/v1/verify", args.connections, WRK_DIR / "post_body.lua",
                     [str(body_file), "application/json"])
        if "status_list" in only:
            scenario("status_list", list_url, args.connections, count)
        if "issue_api" in only:
            issue = scenario("issue_api", base, args.issue_connections, WRK_DIR / "paths.lua",
                             [str(main_file), "POST", "once", "{threads}"],
                             warm_args=[str(warm_file), "POST", "once", "{threads}"],
                             wrk_env={"WRK_AUTHORIZATION": f"Bearer {seeded['token']}"})
            created = issue.get("statuses", {}).get("201", 0)
            issue["issuances"] = created
            issue["issuances_per_s"] = round(created / issue["seconds"], 2) if issue.get("seconds") else 0.0
            if issue.get("exhausted"):
                log(f"  WARNING: the {len(paths) - warm_count} issuance targets ran out; raise --max-issue-rate")
            log(
                f"  issuances (201 only): {created} in {issue.get('seconds', 0):.1f}s"
                f" = {issue['issuances_per_s']:.1f}/s"
            )

        many = issued_credential_ids(set(cli_ids)) if "verify_many" in only else []
        if many:
            many_file = tmp / "verify-many.txt"
            many_file.write_text("\n".join(f"/verify/{c}" for c in many) + "\n")
            verify_many = scenario("verify_many", base, args.connections, WRK_DIR / "paths.lua",
                                   [str(many_file), "GET", "cycle", "{threads}"])
            verify_many["distinct_credentials"] = len(many)
            log(
                f"  verify_many cycled over {len(many)} distinct credentials "
                f"({verify_many.get('requests', 0) / max(1, len(many)):.1f} requests per credential"
                " in the measured run)"
            )

        verdicts = {}
        for name in ("verify_page", "verify_api", "verify_many"):
            if name in results:
                verdicts[f"{name}_p99_ok"] = results[name].get("p99_ms", math.inf) < TARGETS["verify_p99_ms"]
        if "issue_api" in results:
            verdicts["issuances_per_s_ok"] = results["issue_api"]["issuances_per_s"] >= TARGETS["issuances_per_s"]
        log("")
        log(f"targets: verify p99 < {TARGETS['verify_p99_ms']:.0f} ms at {args.connections} connections; "
            f">= {TARGETS['issuances_per_s']:.0f} issuances/s on PostgreSQL")
        for key, ok in verdicts.items():
            log(f"  {key:<22} {'MET' if ok else 'MISSED'}")
        summary = {
            "duration_s": args.duration, "connections": args.connections,
            "issue_connections": args.issue_connections, "workers": args.workers, "cpus": os.cpu_count(),
            "postgres": ADMIN_URL.rsplit("@", 1)[-1],
            "scenarios": {name: dict(r) for name, r in results.items()},
            "targets": TARGETS, "verdicts": verdicts,
        }
        print(json.dumps(summary, sort_keys=True), flush=True)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    else:
        return 0
    finally:
        stop_gunicorn(gunicorn)
        if created_db:
            try:
                pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            except Exception as error:  # noqa: BLE001 — report, keep cleaning up
                log(f"could not drop database {dbname}: {error}")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
