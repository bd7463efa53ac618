"""A running local NDI Cloud server for tests: real HTTP on a free loopback port."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ndicloud.core import Document
from ndicloud.server import ServerConfig
from ndicloud.server.accounts import add_user
from ndicloud.server.records import Records
from ndicloud.server.runner import running_server

_numbers = itertools.count(1)


@dataclass
class Account:
    """A seeded user, logged in over HTTP."""

    email: str
    password: str
    user_id: str
    organization_id: str
    token: str
    base_url: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def new_dataset(self, name: str = "a dataset") -> str:
        """Create a dataset in the account's organization over HTTP; its cloud id."""
        reply = httpx.post(f"{self.base_url}/organizations/{self.organization_id}/datasets", json={"name": name},
                           headers=self.headers)
        assert reply.status_code == 201, reply.text
        return reply.json()["id"]

    def add_document(self, dataset_id: str, document: Document) -> str:
        """Add one document over HTTP (C1); its cloud id."""
        reply = httpx.post(f"{self.base_url}/datasets/{dataset_id}/documents", content=document.to_json(),
                           headers={**self.headers, "Content-Type": "application/json"})
        assert reply.status_code == 201, reply.text
        return reply.json()["id"]

    def upload_file(self, dataset_id: str, uid: str, payload: bytes) -> None:
        """PUT a file through its presigned URL (F1) and wait until the server lists it."""
        url = httpx.get(f"{self.base_url}/datasets/{self.organization_id}/{dataset_id}/files/{uid}",
                        headers=self.headers).json()["url"]
        assert httpx.put(url, content=payload).status_code == 200
        eventually(lambda: httpx.get(f"{self.base_url}/datasets/{dataset_id}/files/{uid}/detail",
                                     headers=self.headers).status_code == 200)


def eventually(check: Callable[[], object], timeout: float = 15.0) -> Any:
    """Poll ``check`` until it returns something true (returned), as clients poll the real service."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "the server did not get there in time"
        time.sleep(0.02)
    return result


@dataclass
class CloudServer:
    config: ServerConfig
    records: Records = field(init=False)

    def __post_init__(self) -> None:
        self.records = Records(self.config.data_dir)

    @property
    def base_url(self) -> str:
        return f"{self.config.base_url}/v1"

    def login(self, email: str, password: str) -> str:
        """A token; retried a few times, since a server with fault injection on fails some logins too."""
        for attempt in range(10):
            try:
                reply = httpx.post(f"{self.base_url}/auth/login", json={"email": email, "password": password})
            except httpx.TransportError:
                if attempt == 9:
                    raise
                continue
            if reply.status_code < 500 or attempt == 9:
                reply.raise_for_status()
                return reply.json()["token"]
        raise AssertionError("unreachable")

    def account(self, *, organization: str | None = None, admin: bool = False, can_upload: bool = True,
                can_compute: bool = True) -> Account:
        """A new user (in a new organization unless one is named), logged in."""
        n = next(_numbers)
        email = f"user{n}-{secrets.token_hex(3)}@lab.example"
        password = secrets.token_urlsafe(12)
        seeded = add_user(self.records, email, password, organization or f"org-{n}-{secrets.token_hex(3)}",
                          is_admin=admin, can_upload=can_upload, can_compute=can_compute)
        return Account(email, password, seeded.user.id, seeded.organization_id, self.login(email, password),
                       self.base_url)


@contextmanager
def cloud_server(data_dir: Path, **settings: object) -> Iterator[CloudServer]:
    with running_server(ServerConfig(data_dir=data_dir, port=0, **settings)) as config:  # type: ignore[arg-type]
        yield CloudServer(config)
