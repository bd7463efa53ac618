"""A small local stand-in for Crossref's HTTPS deposit interface, for tests.

It serves ``POST /servlet/deposit`` (multipart, checked field by field), ``GET /servlet/submissionDownload``
(``type=result`` answers with ``doi_batch_diagnostic`` logs shaped like Crossref's, ``type=contents`` with the
deposited XML) and the doi.org handle look-up ``GET /api/handles/<doi>``. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from lxml import etree

CROSSREF_NS = "{http://www.crossref.org/schema/5.3.1}"
RECEIVED = ("<html><head><title>SUCCESS</title></head><body><h2>SUCCESS</h2>"
            "<p>Your batch submission was successfully received.</p></body></html>")


def diagnostic(status: str | None, *, submission_id: int = 1432820345, batch_id: str = "",
               records: list[tuple[str, str, str]] = (), conflicts: dict[str, list[str]] | None = None,
               batch_data: bool = True, msg_id: dict[str, str] | None = None) -> bytes:
    """A ``doi_batch_diagnostic`` log as Crossref writes it: ``records`` are (doi, status, msg)."""
    attributes = (f' status="{status}"' if status else "") + ' sp="ds4.crossref.org"'
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<doi_batch_diagnostic{attributes}>',
             f"   <submission_id>{submission_id}</submission_id>", f"   <batch_id>{batch_id}</batch_id>"]
    for doi, record_status, message in records:
        extra = f' msg_id="{msg_id[doi]}"' if msg_id and doi in msg_id else ""
        parts.append(f'   <record_diagnostic status="{record_status}"{extra}>')
        parts.append(f"      <doi>{doi}</doi>\n      <msg>{message}</msg>")
        for conflict_id, dois in (conflicts or {}).items():
            if doi == dois[0]:
                parts.append(f"      <conflict_id>{conflict_id}</conflict_id>\n      <dois_in_conflict>")
                parts += [f"         <doi>{other}</doi>" for other in dois[1:]]
                parts.append("      </dois_in_conflict>")
        parts.append("   </record_diagnostic>")
    if batch_data:
        counts = {s: sum(1 for _, st, _ in records if st == s) for s in ("Success", "Warning", "Failure")}
        parts.append(f"   <batch_data>\n      <record_count>{len(records)}</record_count>\n"
                     f"      <success_count>{counts['Success']}</success_count>\n"
                     f"      <warning_count>{counts['Warning']}</warning_count>\n"
                     f"      <failure_count>{counts['Failure']}</failure_count>\n   </batch_data>")
    parts.append("</doi_batch_diagnostic>")
    return "\n".join(parts).encode("utf-8")


def pending_log(kind: str = "unknown_submission") -> bytes:
    """What Crossref says before it has picked a deposit up (``unknown_submission``, id 0) or while working."""
    return diagnostic(kind, submission_id=0 if kind == "unknown_submission" else 1432820345, batch_data=False)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # name -> (filename, type, bytes)
    content_type: str = ""


@dataclass
class Deposited:
    file_name: str
    batch_id: str
    dataset_doi: str
    all_dois: list[str]
    xml: bytes


@dataclass
class CrossrefStandIn:
    """The stand-in's behaviour (set by tests) and what it saw."""

    url: str = ""
    outcome: str = "success"  # success | warning | failure | conflict | never: what the log says once processed
    pending_polls: int = 1  # status polls answered "unknown_submission" / "in_process" before the verdict
    deposit_reply: tuple[int, str] = (200, RECEIVED)
    status_errors: list[int] = field(default_factory=list)  # HTTP statuses to answer status GETs with first
    registered: set[str] = field(default_factory=set)  # DOIs the handle look-up knows
    on_deposit: Callable[[Request], None] | None = None
    requests: list[Request] = field(default_factory=list)
    deposits: dict[str, Deposited] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)

    def crossref_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.startswith("/servlet/")]

    def log_for(self, file_name: str) -> bytes:
        deposit = self.deposits.get(file_name)
        if deposit is None:
            return pending_log()
        self.polls[file_name] = self.polls.get(file_name, 0) + 1
        if self.outcome == "never" or self.polls[file_name] <= self.pending_polls:
            return pending_log("unknown_submission" if self.polls[file_name] == 1 else "in_process")
        others = [(d, "Success", "Successfully updated") for d in deposit.all_dois if d != deposit.dataset_doi]
        doi = deposit.dataset_doi
        if self.outcome == "success":
            records = [*others, (doi, "Success", "Successfully added")]
            return diagnostic("completed", batch_id=deposit.batch_id, records=records)
        if self.outcome == "warning":
            records = [*others, (doi, "Warning", "Added with conflict")]
            return diagnostic("completed", batch_id=deposit.batch_id, records=records,
                              conflicts={"1423608": [doi, "10.63884/ndic.2024.conflict"]})
        if self.outcome == "conflict":
            message = ("Record not processed because submitted version: 20200101000000 is less or equal to "
                       "previously submitted version (DOI match)")
            return diagnostic("completed", batch_id=deposit.batch_id, records=[*others, (doi, "Failure", message)],
                              msg_id={doi: "4"})
        return diagnostic("completed", batch_id=deposit.batch_id,
                          records=[*others, (doi, "Failure", "Deposit failed: invalid resource URL")])


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (filename, part.get_content_type(), payload)
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


def _read_deposit(file_name: str, xml: bytes) -> Deposited:
    root = etree.fromstring(xml)
    batch_id = root.findtext(f"{CROSSREF_NS}head/{CROSSREF_NS}doi_batch_id") or ""
    dois = [d.text or "" for d in root.iter(f"{CROSSREF_NS}doi")]
    dataset_dois = [d.text or "" for d in root.iter(f"{CROSSREF_NS}doi")
                    if d.getparent().getparent().tag == f"{CROSSREF_NS}dataset"]
    return Deposited(file_name, batch_id, dataset_dois[0] if dataset_dois else "", dois, xml)


def _handler(state: CrossrefStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _answer(self, status: int, body: bytes, content_type: str = "text/xml") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            content_type = self.headers.get("Content-Type", "")
            request = Request("POST", parts.path, parse_qs(parts.query), content_type=content_type)
            if content_type.startswith("multipart/form-data"):
                request.fields, request.files = _multipart(content_type, body)
            state.requests.append(request)
            if parts.path != "/servlet/deposit":
                self._answer(404, b"not found", "text/plain")
                return
            if state.on_deposit:
                state.on_deposit(request)
            status, text = state.deposit_reply
            if status == 200 and "successfully received" in text and "fname" in request.files:
                file_name, _, xml = request.files["fname"]
                state.deposits[file_name] = _read_deposit(file_name, xml)
            self._answer(status, text.encode("utf-8"), "text/html")

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            state.requests.append(Request("GET", parts.path, query))
            if parts.path.startswith("/api/handles/"):
                doi = parts.path[len("/api/handles/"):]
                known = doi in state.registered
                body = {"responseCode": 1 if known else 100, "handle": doi}
                self._answer(200 if known else 404, json.dumps(body).encode(), "application/json")
                return
            if parts.path != "/servlet/submissionDownload":
                self._answer(404, b"not found", "text/plain")
                return
            if state.status_errors:
                self._answer(state.status_errors.pop(0), b"<html><body>Service Unavailable</body></html>",
                             "text/html")
                return
            file_name = (query.get("file_name") or [""])[0]
            if (query.get("type") or [""])[0] == "contents":
                deposit = state.deposits.get(file_name)
                self._answer(200 if deposit else 404, deposit.xml if deposit else b"no such file")
                return
            self._answer(200, state.log_for(file_name))

    return Handler


@contextmanager
def crossref_standin() -> Iterator[CrossrefStandIn]:
    """A running stand-in on a free loopback port (``state.url`` is its base URL)."""
    state = CrossrefStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
