"""Bulk issuance from CSV: a dry run with errors by line, then a job that `issuer worker` issues row by row.

The request that confirms an upload stores the rows and issues nothing; the worker issues one row per
transaction, survives being killed midway (the next worker resumes with no duplicate), and two workers at once
never issue twice.
"""

from __future__ import annotations

import io
import re
import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from issuer.extensions import db
from issuer.issuance import completion, jobs
from issuer.models import AuditEvent, BulkJob, BulkJobRow, Credential, LevelCompletion
from issuer.platform import database
from tests.conftest import AuthActions, MakeUser
from tests.integration.helpers import issue, seed_people

CSV = """therapist_email,level,completion_date,supervisor_email
ther@example.test,Emerging,2025-03-01,sup@example.test
ther@example.test,developing,2025-06-15,sup@example.test
nobody@example.test,Emerging,2025-03-01,sup@example.test
ther@example.test,Proficient,2025-09-30,sup@example.test
ther@example.test,Expert,2025-10-01,sup@example.test
"""
GOOD = """therapist_email,level,completion_date,supervisor_email
ther@example.test,Emerging,2025-03-01,sup@example.test
ther@example.test,Developing,2025-06-15,sup@example.test
ther@example.test,Proficient,2025-09-30,sup@example.test
"""


def post(client: FlaskClient, auth: AuthActions, action: str, **data: Any) -> TestResponse:
    return client.post("/admin/bulk", data={"csrf_token": auth.csrf("/admin/bulk"), "action": action, **data},
                       content_type="multipart/form-data")


def count(app: Flask, model: Any, **filters: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters)) or 0


def admin_client(app: Flask) -> tuple[FlaskClient, AuthActions]:
    client = app.test_client()
    auth = AuthActions(client)
    assert auth.login("admin@example.test").status_code == 302
    return client, auth


def start_job(app: Flask, text: str) -> int:
    """Confirm an upload as the administrator; the job's id (from the redirect to its page)."""
    client, auth = admin_client(app)
    response = post(client, auth, "issue", csv=text)
    assert response.status_code == 303
    found = re.fullmatch(r".*/admin/bulk/jobs/(\d+)", response.headers["Location"])
    assert found is not None
    return int(found.group(1))


def row_states(app: Flask, job_id: int) -> list[tuple[int, str, str | None]]:
    with app.app_context():
        rows = db.session.scalars(select(BulkJobRow).filter_by(job_id=job_id).order_by(BulkJobRow.line)).all()
        return [(r.line, r.state, str(r.credential_id) if r.credential_id else None) for r in rows]


def audit_details(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context():
        return [e.details for e in db.session.scalars(select(AuditEvent).filter_by(action=action)
                                                      .order_by(AuditEvent.id))]


def summary_text(html: str) -> str:
    """The page's summary line (``p.bulk-summary``) as plain text."""
    found = re.search(r'<p role="status" class="bulk-summary">(.*?)</p>', html, re.DOTALL)
    assert found, html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()


def numbers(text: str) -> tuple[int, list[int]]:
    """(the total, the count of each outcome) from a summary line."""
    total, *parts = [int(n) for n in re.findall(r"(?<![\w-])(\d+)(?= )", text)]
    return total, parts


MIXED = """therapist_email,level,completion_date,supervisor_email
ther@example.test,Emerging,2025-03-01,sup@example.test
ther@example.test,Developing,2025-06-15,sup@example.test

nobody@example.test,Proficient,2025-03-01,sup@example.test
ther@example.test,Developing,2025-06-16,sup@example.test
ther@example.test,Proficient,3025-01-01,sup@example.test
ther@example.test,Advanced,2025-10-01,other@example.test
ther@example.test,Proficient,2025-09-30,sup@example.test
"""


def test_the_summary_counts_every_row_of_a_mixed_file(app: Flask) -> None:
    """Issued before, ready, unknown account, duplicate line, future date, unassigned supervisor: each row is in
    exactly one count, in the dry run and on the job's page, before and after the worker."""
    people = seed_people(app)
    issue(app, people, 0)  # Emerging exists already: its row is skipped
    client, auth = admin_client(app)
    dry = post(client, auth, "check", csv=MIXED).get_data(as_text=True)
    text = summary_text(dry)
    assert text == ("7 rows: 2 ready to issue, 1 issued before (will be skipped), 4 with errors. "
                    "Blank lines are ignored.")
    total, parts = numbers(text)
    assert sum(parts) == total == 7
    assert dry.count("<tr><td>") == 7  # one table row per CSV row, none dropped
    assert re.search(r"<td>6</td>.*?same therapist and level as line 3", dry, re.DOTALL)

    job_id = start_job(app, MIXED)
    text = summary_text(client.get(f"/admin/bulk/jobs/{job_id}").get_data(as_text=True))
    assert text == "7 rows: 0 issued, 1 skipped (issued before), 4 failed, 0 being issued, 2 waiting."
    total, parts = numbers(text)
    assert sum(parts) == total == 7
    assert app.test_cli_runner().invoke(args=["worker"]).exit_code == 0
    text = summary_text(client.get(f"/admin/bulk/jobs/{job_id}").get_data(as_text=True))
    assert text == "7 rows: 2 issued, 1 skipped (issued before), 4 failed, 0 being issued, 0 waiting."
    assert audit_details(app, "bulk.finished") == [{"issued": 2, "skipped": 1, "failed": 4}]
    with app.app_context():
        assert jobs.counts(db.session, job_id) == {"issued": 2, "skipped": 1, "failed": 4, "running": 0,
                                                   "pending": 0, "total": 7}


def test_a_row_being_issued_is_counted(app: Flask) -> None:
    seed_people(app)
    job_id = start_job(app, GOOD)
    with app.app_context():
        row = jobs.claim_row(db.session)  # a worker has taken a row and not committed yet
        assert row is not None
        db.session.flush()
        tally = jobs.counts(db.session, job_id)
        db.session.rollback()
    assert tally == {"issued": 0, "skipped": 0, "failed": 0, "running": 1, "pending": 2, "total": 3}


def test_confirming_stores_a_job_and_the_worker_issues_it(app: Flask) -> None:
    seed_people(app)
    client, auth = admin_client(app)
    dry = post(client, auth, "check", file=(io.BytesIO(CSV.encode()), "completions.csv"))
    assert dry.status_code == 200
    html = dry.get_data(as_text=True)
    assert summary_text(html) == ("5 rows: 3 ready to issue, 0 issued before (will be skipped), 2 with errors. "
                                  "Blank lines are ignored.")
    assert re.search(r"<td>4</td>.*?no account for nobody@example.test", html, re.DOTALL)
    assert re.search(r"<td>6</td>.*?no level &#39;Expert&#39;", html, re.DOTALL)
    assert count(app, Credential) == 0  # the dry run wrote nothing
    assert count(app, BulkJob) == 0

    confirmed = post(client, auth, "issue", csv=CSV)
    assert confirmed.status_code == 303
    assert count(app, Credential) == 0  # the request returned without issuing
    page = client.get(confirmed.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert summary_text(html) == "5 rows: 0 issued, 0 skipped (issued before), 2 failed, 0 being issued, 3 waiting."
    assert "Waiting for a worker" in html
    assert 'data-refresh="3"' in html  # refresh.js updates the progress section until the job finishes
    with app.app_context():
        job_id = db.session.scalars(select(BulkJob.id)).one()
    assert [s for _, s, _ in row_states(app, job_id)] == ["pending", "pending", "failed", "pending", "failed"]
    assert audit_details(app, "bulk.started") == [{"rows": 5, "pending": 3}]
    assert audit_details(app, "bulk.finished") == []

    result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code == 0, result.output
    assert "Processed 3 bulk row(s)." in result.output
    assert count(app, Credential) == 3
    states = row_states(app, job_id)
    assert [s for _, s, _ in states] == ["issued", "issued", "failed", "issued", "failed"]
    with app.app_context():
        ids = {str(i) for i in db.session.scalars(select(Credential.id))}
        awarded = sorted(c.document.split('"awardedDate": "')[1][:10] for c in db.session.scalars(select(Credential)))
        assert db.session.get_one(BulkJob, job_id).state == "finished"
    assert {c for _, s, c in states if s == "issued"} == ids
    assert awarded == ["2025-03-01", "2025-06-15", "2025-09-30"]
    assert audit_details(app, "bulk.finished") == [{"issued": 3, "skipped": 0, "failed": 2}]
    html = client.get(f"/admin/bulk/jobs/{job_id}").get_data(as_text=True)
    assert summary_text(html) == "5 rows: 3 issued, 0 skipped (issued before), 2 failed, 0 being issued, 0 waiting."
    assert "data-refresh" not in html
    assert "Waiting for a worker" not in html
    assert html.count("/credentials/") == 3

    # The same file again: every good row was issued before, so the job is finished at once with nothing to do.
    again = start_job(app, CSV)
    assert [s for _, s, _ in row_states(app, again)] == ["skipped", "skipped", "failed", "skipped", "failed"]
    assert {c for _, s, c in row_states(app, again) if s == "skipped"} == ids
    assert audit_details(app, "bulk.finished")[-1] == {"issued": 0, "skipped": 3, "failed": 2}
    assert app.test_cli_runner().invoke(args=["worker"]).output == ""
    assert count(app, Credential) == 3


def test_a_level_completed_meanwhile_is_skipped_with_its_credential(app: Flask) -> None:
    people = seed_people(app)
    job_id = start_job(app, GOOD)
    first = issue(app, people, 0)  # Emerging, completed by hand after the upload and before the worker
    result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code == 0, result.output
    states = row_states(app, job_id)
    assert states[0] == (2, "skipped", str(first))
    assert [s for _, s, _ in states[1:]] == ["issued", "issued"]
    assert count(app, Credential) == 3
    assert audit_details(app, "bulk.finished") == [{"issued": 2, "skipped": 1, "failed": 0}]


def test_a_worker_killed_midway_is_resumed_without_duplicates(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_people(app)
    job_id = start_job(app, GOOD)
    real = completion.complete_level
    calls = []

    def dies_on_the_second_row(*args: Any, **kwargs: Any) -> Any:
        credential = real(*args, **kwargs)  # the credential is signed and flushed in the row's transaction...
        calls.append(credential.id)
        if len(calls) == 2:
            raise SystemExit("killed")  # ...and the worker dies before that transaction commits
        return credential

    monkeypatch.setattr(completion, "complete_level", dies_on_the_second_row)
    killed = app.test_cli_runner().invoke(args=["worker"])
    assert killed.exit_code != 0
    assert count(app, Credential) == 1
    assert [s for _, s, _ in row_states(app, job_id)] == ["issued", "pending", "pending"]
    with app.app_context():
        assert db.session.get_one(BulkJob, job_id).state == "running"
    assert audit_details(app, "bulk.finished") == []

    monkeypatch.setattr(completion, "complete_level", real)
    resumed = app.test_cli_runner().invoke(args=["worker"])
    assert resumed.exit_code == 0, resumed.output
    assert "Processed 2 bulk row(s)." in resumed.output
    assert count(app, Credential) == 3
    assert count(app, LevelCompletion) == 3
    states = row_states(app, job_id)
    assert [s for _, s, _ in states] == ["issued", "issued", "issued"]
    assert states[0][2] == str(calls[0])  # the row committed before the kill kept its credential
    with app.app_context():
        assert {str(i) for i in db.session.scalars(select(Credential.id))} == {c for _, _, c in states}
    assert audit_details(app, "bulk.finished") == [{"issued": 3, "skipped": 0, "failed": 0}]


def test_two_workers_at_once_never_issue_twice(app: Flask, make_user: MakeUser) -> None:
    seed_people(app)
    lines = ["therapist_email,level,completion_date,supervisor_email"]
    for n in range(4):
        email = f"t{n}@example.test"
        make_user(email, "therapist")
        assert post_assignment(app, email)
        lines += [f"{email},{level},2025-0{i + 1}-10,sup@example.test"
                  for i, level in enumerate(("Emerging", "Developing", "Proficient"))]
    text = "\n".join(lines) + "\n"
    first, second = start_job(app, text), start_job(app, text)  # the same 12 rows twice, before any worker runs
    barrier = threading.Barrier(2)
    outcomes: list[Any] = [None, None]

    def work(n: int) -> None:
        try:
            with app.app_context(), database.writing():
                barrier.wait(timeout=60)
                outcomes[n] = jobs.run(db.session)
        except BaseException as error:  # noqa: BLE001 - asserted below
            outcomes[n] = error

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert sum(outcomes) == 24
    assert count(app, Credential) == 12
    assert count(app, LevelCompletion) == 12
    both = row_states(app, first) + row_states(app, second)
    assert sorted({s for _, s, _ in both}) == ["issued", "skipped"]
    assert sum(s == "issued" for _, s, _ in both) == 12
    with app.app_context():
        ids = {str(i) for i in db.session.scalars(select(Credential.id))}
        assert {db.session.get_one(BulkJob, j).state for j in (first, second)} == {"finished"}
    assert {c for _, _, c in both} == ids
    finished = audit_details(app, "bulk.finished")
    assert len(finished) == 2
    assert sum(d["issued"] for d in finished) == 12
    assert sum(d["skipped"] for d in finished) == 12


def post_assignment(app: Flask, email: str) -> bool:
    from issuer.accounts import assignments, directory

    with app.app_context():
        assignments.assign(db.session, supervisor=directory.get_user_by_email(db.session, "sup@example.test"),
                           therapist=directory.get_user_by_email(db.session, email))
        db.session.commit()
    return True


def test_oversized_fields_are_failed_rows_not_errors(app: Flask) -> None:
    seed_people(app)
    long = "x" * 5000
    text = ("therapist_email,level,completion_date,supervisor_email\n"
            f"{long}@example.test,{long},{long},{long}\n"
            "ther@example.test,Emerging,2025-03-01,sup@example.test\n")
    job_id = start_job(app, text)
    assert [s for _, s, _ in row_states(app, job_id)] == ["failed", "pending"]
    with app.app_context():
        stored = db.session.scalars(select(BulkJobRow).filter_by(job_id=job_id, line=2)).one()
        assert stored.message.startswith(f"no account for {long[:100]}")
        assert len(stored.level) == 200
    assert app.test_cli_runner().invoke(args=["worker"]).exit_code == 0
    assert [s for _, s, _ in row_states(app, job_id)] == ["failed", "issued"]


def test_a_missing_job_is_404(app: Flask) -> None:
    seed_people(app)
    client, _ = admin_client(app)
    assert client.get("/admin/bulk/jobs/999").status_code == 404


def test_wrong_header_is_a_clear_400(app: Flask) -> None:
    seed_people(app)
    client, auth = admin_client(app)
    response = post(client, auth, "check", csv="email,level\nx,y\n")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(r'id="file-error"[^>]*>.*The first line must be the header', html)  # beside the file field
    assert 'aria-describedby="file-error"' in html
    assert 'aria-invalid="true"' in html
    not_utf8 = client.post("/admin/bulk", data={"csrf_token": auth.csrf("/admin/bulk"), "action": "check",
                                                "file": (io.BytesIO(b"\xff\xfe\x00bad"), "x.csv")},
                           content_type="multipart/form-data")
    assert not_utf8.status_code == 400
    assert "The CSV is not UTF-8 text." in not_utf8.get_data(as_text=True)
    response = post(client, auth, "issue", csv="email,level\nx,y\n")
    assert response.status_code == 400
    assert count(app, BulkJob) == 0
