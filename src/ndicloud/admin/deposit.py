"""Crossref's HTTPS interface: deposit a file, fetch its submission log or contents (doi.md §4.1-§4.4).

Deposits are a multipart POST to ``/servlet/deposit`` (``operation=doMDUpload``, ``login_id``, ``login_passwd``,
the XML as file part ``fname``), never repeated automatically: after a lost answer the outcome is unknown, so
the status is checked by ``file_name`` first. Status requests are GETs of ``/servlet/submissionDownload``, which
may be repeated on transient failures. The password never appears in an error: URLs are shown with ``usr`` and
``pwd`` redacted.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable

import httpx

from ..api.retry import RETRY_STATUSES, Backoff, RetryPolicy
from .diagnostic import SubmissionStatus, parse_diagnostic
from .errors import CrossrefSubmissionError, SubmissionPending
from .settings import crossref_base_url, crossref_credentials

DEPOSIT_PATH = "/servlet/deposit"
STATUS_PATH = "/servlet/submissionDownload"
SUCCESS_PHRASE = "successfully received"
_TAGS = re.compile(r"<[^>]*>")
_SECRET_PARAMS = re.compile(r"\b(usr|pwd|login_id|login_passwd)=[^&\s]*")


def visible_text(body: str, limit: int = 500) -> str:
    """An answer's text for a message: HTML tags stripped, whitespace collapsed, at most ``limit`` chars."""
    text = " ".join(html.unescape(_TAGS.sub(" ", body)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CrossrefClient:
    """Deposits and status requests for one Crossref system (production, test, or a stand-in at ``base_url``).

    Credentials come from the arguments, else ``CROSSREF_USERNAME``/``CROSSREF_PASSWORD``; they are needed only
    when a request is made, so a client can be built for a dry run without them.
    """

    def __init__(self, *, test: bool = False, base_url: str | None = None, username: str | None = None,
                 password: str | None = None, timeout: float = 60.0, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.test = test
        self.base_url = crossref_base_url(test=test, base_url=base_url)
        self._username = username
        self._password = password
        self.retry = retry or RetryPolicy(retries=3, base_s=1.0, cap_s=20.0)
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=True)

    @property
    def system(self) -> str:
        return "test" if self.test else "production"

    def __repr__(self) -> str:  # never the credentials
        return f"CrossrefClient({self.system}, {self.base_url})"

    def __enter__(self) -> CrossrefClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def credentials(self) -> tuple[str, str]:
        """The login; :class:`MissingCredentials` naming both variables when it is incomplete."""
        user, password = crossref_credentials(self._username, self._password)
        self._username, self._password = user, password
        return user, password

    def redact(self, text: str) -> str:
        """``text`` with credentials in query strings and the password itself replaced by ``***``."""
        text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)
        return text.replace(self._password, "***") if self._password else text

    def deposit(self, xml: bytes, file_name: str) -> str:
        """Queue ``xml`` as ``file_name`` (``<doi_batch_id>.xml``); Crossref's confirmation text.

        :class:`CrossrefSubmissionError` when there is no answer (outcome unknown: check the status first), an
        error status, a full queue (429/503), or a 200 without Crossref's "successfully received".
        """
        user, password = self.credentials()
        url = self.base_url + DEPOSIT_PATH
        try:
            response = self._http.post(url, data={"operation": "doMDUpload", "login_id": user,
                                                  "login_passwd": password},
                                       files={"fname": (file_name, xml, "application/xml")})
        except httpx.TransportError as exc:
            raise CrossrefSubmissionError(self.redact(
                f"POST {url}: no answer ({type(exc).__name__}: {exc}); the deposit may or may not have been "
                f"queued; check `ndi-cloud doi status {file_name}{' --test' if self.test else ''}` before "
                "depositing again")) from None
        text = visible_text(response.text)
        if response.status_code in (429, 503):
            raise CrossrefSubmissionError(f"POST {url} -> {response.status_code}: Crossref's queue is full, retry "
                                          "later", status=response.status_code)
        if response.status_code != 200:
            raise CrossrefSubmissionError(self.redact(f"POST {url} -> {response.status_code}: {text}"),
                                          status=response.status_code)
        if SUCCESS_PHRASE not in response.text.lower():
            raise CrossrefSubmissionError(self.redact(f"POST {url}: Crossref did not accept the deposit: {text}"),
                                          status=200)
        return text

    def _download(self, file_name: str, kind: str) -> bytes:
        user, password = self.credentials()
        url = self.base_url + STATUS_PATH
        params = {"usr": user, "pwd": password, "file_name": file_name, "type": kind}
        shown = f"GET {url}?usr=***&pwd=***&file_name={file_name}&type={kind}"
        attempt = 0
        while True:
            problem: str
            retry_after: str | None = None
            try:
                response = self._http.get(url, params=params)
            except httpx.TransportError as exc:
                problem = f"no answer ({type(exc).__name__})"
            else:
                if response.status_code == 200:
                    return response.content
                problem = f"-> {response.status_code}: {visible_text(response.text)}"
                retry_after = response.headers.get("Retry-After")
                if response.status_code not in RETRY_STATUSES:
                    raise CrossrefSubmissionError(self.redact(f"{shown} {problem}"), status=response.status_code)
            if attempt >= self.retry.retries:
                raise CrossrefSubmissionError(self.redact(f"{shown} {problem} (after {attempt + 1} attempts)"))
            self.retry.wait(attempt, retry_after)
            attempt += 1

    def fetch_result(self, file_name: str) -> SubmissionStatus:
        """The submission log of ``file_name``, parsed."""
        return parse_diagnostic(self._download(file_name, "result"))

    def fetch_contents(self, file_name: str) -> bytes:
        """The XML Crossref holds for ``file_name``."""
        return self._download(file_name, "contents")

    def wait(self, file_name: str, *, timeout: float = 900.0, initial_interval: float = 5.0,
             max_interval: float = 60.0) -> SubmissionStatus:
        """Poll until the submission is completed: first after ``initial_interval``, then doubling up to
        ``max_interval``; :class:`SubmissionPending` when ``timeout`` seconds pass first."""
        polls = Backoff(first_s=initial_interval, cap_s=max_interval, timeout_s=timeout, sleep=self._sleep,
                        clock=self._clock).polls()
        next(polls)  # skip the immediate poll: a deposit is never done at once
        for _ in polls:
            status = self.fetch_result(file_name)
            if status.completed:
                return status
        raise SubmissionPending(
            f"Crossref has not finished {file_name} after {timeout:g} s; check again with "
            f"`ndi-cloud doi status {file_name}{' --test' if self.test else ''} --wait`", file_name=file_name)
