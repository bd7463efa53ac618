"""Crossref's HTTPS interface against a local stand-in, and the submission-log parser (doi.md §4, items 21-25)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ndicloud.admin import (
    CrossrefClient,
    CrossrefSubmissionError,
    MissingCredentials,
    SubmissionPending,
    build_deposit,
    mint_doi,
    parse_diagnostic,
)
from ndicloud.api import RetryPolicy

from crossref_standin import CrossrefStandIn, crossref_standin, diagnostic, pending_log

USER, PASSWORD = "depositor@lab.org/ndic", "s3cret-Pa55"
DATASET_ID = "65f1a2b3c4d5e6f708192a3b"


@pytest.fixture(autouse=True)
def _no_crossref_environment(monkeypatch):
    for name in ("CROSSREF_USERNAME", "CROSSREF_PASSWORD", "CROSSREF_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def standin() -> Iterator[CrossrefStandIn]:
    with crossref_standin() as state:
        yield state


def client_for(standin: CrossrefStandIn, **options) -> CrossrefClient:
    return CrossrefClient(base_url=standin.url, username=USER, password=PASSWORD,
                          retry=RetryPolicy(retries=2, base_s=0.01, cap_s=0.02), **options)


def a_deposit():
    return build_deposit({"_id": DATASET_ID, "name": "A dataset", "isPublished": True}, mint_doi())


# ---- 21, 22: the deposit POST ---------------------------------------------------------------------------------------

def test_deposit_is_a_multipart_post_with_the_crossref_fields(standin):
    deposit = a_deposit()
    with client_for(standin) as crossref:
        text = crossref.deposit(deposit.xml, deposit.file_name)
    assert "successfully received" in text and "<" not in text
    [request] = standin.requests
    assert (request.method, request.path) == ("POST", "/servlet/deposit")
    assert request.content_type.startswith("multipart/form-data")
    assert request.fields == {"operation": "doMDUpload", "login_id": USER, "login_passwd": PASSWORD}
    assert request.files == {"fname": (f"{deposit.doi_batch_id}.xml", "application/xml", deposit.xml)}
    assert request.query == {}  # nothing secret in the URL


def test_credentials_come_from_the_environment(standin, monkeypatch):
    monkeypatch.setenv("CROSSREF_USERNAME", "env-user")
    monkeypatch.setenv("CROSSREF_PASSWORD", "env-password")
    monkeypatch.setenv("CROSSREF_BASE_URL", standin.url)
    deposit = a_deposit()
    with CrossrefClient() as crossref:
        assert crossref.base_url == standin.url and crossref.system == "production"
        crossref.deposit(deposit.xml, deposit.file_name)
    assert standin.requests[0].fields["login_id"] == "env-user"


def test_default_hosts():
    assert CrossrefClient().base_url == "https://doi.crossref.org"
    assert CrossrefClient(test=True).base_url == "https://test.crossref.org"


def test_missing_credentials_fail_before_any_request(standin):
    with CrossrefClient(base_url=standin.url) as crossref, \
            pytest.raises(MissingCredentials, match="CROSSREF_USERNAME and CROSSREF_PASSWORD"):
        crossref.deposit(b"<x/>", "x.xml")
    assert standin.requests == []


# ---- 23: refusals ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "body", "expected"), [
    (200, "<html><body><h2>FAILURE</h2><p>Login failed: bad credentials</p></body></html>",
     "did not accept the deposit: FAILURE Login failed: bad credentials"),
    (429, "Too many requests", "queue is full, retry later"),
    (503, "Service Unavailable", "queue is full, retry later"),
    (403, "<p>Forbidden</p>", "-> 403: Forbidden"),
])
def test_refused_deposits_raise(standin, status, body, expected):
    standin.deposit_reply = (status, body)
    deposit = a_deposit()
    with client_for(standin) as crossref, pytest.raises(CrossrefSubmissionError, match=expected) as caught:
        crossref.deposit(deposit.xml, deposit.file_name)
    assert PASSWORD not in str(caught.value)
    assert len(standin.requests) == 1  # never repeated automatically


def test_refusal_text_is_stripped_and_bounded(standin):
    standin.deposit_reply = (200, "<html>" + "<p>no</p>" * 400 + "</html>")
    with client_for(standin) as crossref, pytest.raises(CrossrefSubmissionError) as caught:
        crossref.deposit(b"<x/>", "x.xml")
    text = str(caught.value).split("did not accept the deposit: ", 1)[1]
    assert len(text) <= 500 and "<p>" not in text


def test_no_answer_means_the_outcome_is_unknown():
    with CrossrefClient(base_url="http://127.0.0.1:9", username=USER, password=PASSWORD) as crossref, \
            pytest.raises(CrossrefSubmissionError, match="may or may not have been queued") as caught:
        crossref.deposit(b"<x/>", "x.xml")
    assert "doi status x.xml" in str(caught.value) and PASSWORD not in str(caught.value)


# ---- 24: status requests --------------------------------------------------------------------------------------------

def test_status_is_a_get_with_usr_pwd_file_name_and_type(standin):
    deposit = a_deposit()
    with client_for(standin) as crossref:
        crossref.deposit(deposit.xml, deposit.file_name)
        status = crossref.fetch_result(deposit.file_name)
        contents = crossref.fetch_contents(deposit.file_name)
    assert status.state == "pending" and status.root_status == "unknown_submission" and status.submission_id == 0
    assert contents == deposit.xml
    result, content = standin.requests[1:]
    assert (result.method, result.path) == ("GET", "/servlet/submissionDownload")
    assert result.query == {"usr": [USER], "pwd": [PASSWORD], "file_name": [deposit.file_name], "type": ["result"]}
    assert content.query["type"] == ["contents"]


def test_status_gets_are_retried_on_transient_errors(standin):
    standin.status_errors = [503, 502]
    with client_for(standin) as crossref:
        assert crossref.fetch_result("unknown.xml").state == "pending"
    assert len(standin.requests) == 3


def test_status_errors_show_the_url_redacted(standin):
    standin.status_errors = [500, 500, 500]
    with client_for(standin) as crossref, pytest.raises(CrossrefSubmissionError) as caught:
        crossref.fetch_result("f.xml")
    message = str(caught.value)
    assert "usr=***&pwd=***&file_name=f.xml&type=result" in message and "after 3 attempts" in message
    assert PASSWORD not in message and USER not in message


def test_wait_polls_until_completed(standin):
    deposit = a_deposit()
    sleeps: list[float] = []
    with client_for(standin, sleep=sleeps.append) as crossref:
        crossref.deposit(deposit.xml, deposit.file_name)
        standin.pending_polls = 3
        status = crossref.wait(deposit.file_name, timeout=100, initial_interval=5, max_interval=12)
    assert status.completed and status.succeeded
    assert sleeps == [5, 10, 12, 12]  # first after the initial interval, doubling, capped


def test_wait_gives_up_with_the_file_name(standin):
    clock = [0.0]
    with client_for(standin, sleep=lambda s: clock.__setitem__(0, clock[0] + s), clock=lambda: clock[0]) as crossref, \
            pytest.raises(SubmissionPending, match=r"has not finished never\.xml after 30 s") as caught:
        crossref.wait("never.xml", timeout=30, initial_interval=5, max_interval=60)
    assert caught.value.file_name == "never.xml" and "doi status never.xml --wait" in str(caught.value)


def test_client_repr_hides_credentials():
    assert PASSWORD not in repr(CrossrefClient(username=USER, password=PASSWORD))


# ---- 25: the submission-log parser ----------------------------------------------------------------------------------

DATASET_DOI = "10.63884/ndic.2025.jyxfer8m"
DATABASE_DOI = "10.63884/ndic.00000"


def test_parse_success():
    status = parse_diagnostic(diagnostic("completed", batch_id="dataset_batch-1-x", records=[
        (DATABASE_DOI, "Success", "Successfully updated"), (DATASET_DOI, "Success", "Successfully added")]))
    assert status.state == "completed" and status.succeeded and status.submission_id == 1432820345
    assert status.batch_id == "dataset_batch-1-x"
    assert (status.record_count, status.success_count, status.warning_count, status.failure_count) == (2, 2, 0, 0)
    assert status.record_for(DATASET_DOI.upper()).message == "Successfully added"


def test_parse_failure_with_timestamp_conflict():
    message = ("Record not processed because submitted version: 20200101000000 is less or equal to previously "
               "submitted version (DOI match)")
    status = parse_diagnostic(diagnostic("completed", records=[(DATABASE_DOI, "Success", "Successfully updated"),
                                                               (DATASET_DOI, "Failure", message)],
                                         msg_id={DATASET_DOI: "4"}))
    record = status.record_for(DATASET_DOI)
    assert status.completed and not status.succeeded
    assert (record.status, record.msg_id, record.timestamp_conflict, record.ok) == ("Failure", "4", True, False)
    assert (status.record_count, status.success_count, status.failure_count) == (2, 1, 1)


def test_parse_warning_with_conflicts():
    status = parse_diagnostic(diagnostic("completed", records=[(DATASET_DOI, "Warning", "Added with conflict")],
                                         conflicts={"1423608": [DATASET_DOI, "10.5555/a", "10.5555/b"]}))
    record = status.records[0]
    assert record.ok and record.conflict_id == "1423608" and record.conflicts == ("10.5555/a", "10.5555/b")
    assert status.succeeded and status.warning_count == 1


@pytest.mark.parametrize("kind", ["unknown_submission", "in_process", "queued"])
def test_parse_pending(kind):
    status = parse_diagnostic(pending_log(kind))
    assert status.state == "pending" and not status.completed and status.records == ()
    assert status.root_status == kind


def test_parse_without_root_status_but_with_batch_data_is_completed():
    status = parse_diagnostic(diagnostic(None, records=[(DATASET_DOI, "Success", "Successfully added")]))
    assert status.completed and status.root_status is None and status.success_count == 1


def test_counts_are_those_of_batch_data():
    xml = diagnostic("completed", records=[(DATASET_DOI, "Success", "ok")]).replace(
        b"<record_count>1</record_count>", b"<record_count>3</record_count>")
    status = parse_diagnostic(xml)
    assert status.record_count == 3 and not status.succeeded  # 3 records, only 1 success reported


@pytest.mark.parametrize("body", [b"<html><body>Login failed</body></html>", b"not xml at all",
                                  b"<?xml version='1.0'?><doi_batch/>"])
def test_a_body_that_is_not_a_log_is_an_error(body):
    with pytest.raises(CrossrefSubmissionError, match=r"not a (doi_batch_diagnostic )?submission log"):
        parse_diagnostic(body)
