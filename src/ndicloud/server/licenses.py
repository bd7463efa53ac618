"""MATLAB licence registrations for compute (cloud-api §5.1 U4-U7, §10.8), one per user.

The licence text is kept with a seal (an HMAC under the server's secret). A licence whose seal no longer
verifies (the secret was replaced, or the stored record was altered) cannot be used: compute start answers
MATLAB_LICENSE_DECRYPT_FAILED, as the service does when it cannot decrypt a stored licence.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .ids import utc_timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS matlab_licenses (
    user_id TEXT PRIMARY KEY, mode TEXT, eni_id TEXT, mac_address TEXT, subnet_id TEXT, registered_at TEXT,
    files TEXT NOT NULL DEFAULT '[]');
"""
RELEASE = re.compile(r"^R20\d\d[ab]$")
_LICENSE_LINE = re.compile(r"^\s*(INCREMENT|FEATURE)\b", re.MULTILINE)
_HOSTID = re.compile(r"HOSTID=([0-9A-Fa-f:.\-]+)")
INSTRUCTIONS = "Register the licence file of your MATLAB release for this interface's MAC address."


@dataclass
class License:
    mode: str | None = None
    eni_id: str | None = None
    mac_address: str | None = None
    subnet_id: str | None = None
    registered_at: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        files = [{"release": f.get("release"), "registeredAt": f.get("registeredAt")} for f in self.files]
        return {"mode": self.mode, "eniId": self.eni_id, "macAddress": self.mac_address, "subnetId": self.subnet_id,
                "registeredAt": self.registered_at, "files": files, "instructions": INSTRUCTIONS}


def _seal(secret: bytes, user_id: str, release: str, text: str) -> str:
    message = "\x1f".join(("matlab-license", user_id, release, text)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sealed_file(secret: bytes, user_id: str, release: str, text: str) -> dict[str, Any]:
    """A registered licence file as stored: its release, when, its text and the seal over them."""
    return {"release": release, "registeredAt": utc_timestamp(), "text": text,
            "seal": _seal(secret, user_id, release, text)}


def unreadable_releases(secret: bytes, user_id: str, lic: License) -> list[str]:
    """Releases whose stored licence text no longer verifies under ``secret``."""
    return [str(f.get("release")) for f in lic.files
            if not hmac.compare_digest(str(f.get("seal", "")),
                                       _seal(secret, user_id, str(f.get("release")), str(f.get("text", ""))))]


def license_text_problem(text: object) -> str | None:
    if not isinstance(text, str) or not _LICENSE_LINE.search(text):
        return "the licence file has no INCREMENT or FEATURE line"
    return None


def host_matches(text: str, mac: str) -> bool:
    """Whether a HOSTID in the licence names this MAC address (separators and case ignored)."""
    wanted = re.sub(r"[^0-9a-f]", "", mac.lower())
    return any(re.sub(r"[^0-9a-f]", "", found.lower()) == wanted for found in _HOSTID.findall(text))


class Licenses:
    def __init__(self, connect: Callable[[], sqlite3.Connection]):
        self._conn = connect
        with self._conn() as conn:
            conn.executescript(SCHEMA)

    def get(self, user_id: str) -> License:
        row = self._conn().execute("SELECT mode, eni_id, mac_address, subnet_id, registered_at, files "
                                   "FROM matlab_licenses WHERE user_id = ?", (user_id,)).fetchone()
        if row is None:
            return License()
        return License(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))

    def save(self, user_id: str, lic: License) -> None:
        with self._conn() as conn:
            conn.execute("INSERT OR REPLACE INTO matlab_licenses (user_id, mode, eni_id, mac_address, subnet_id, "
                         "registered_at, files) VALUES (?,?,?,?,?,?,?)",
                         (user_id, lic.mode, lic.eni_id, lic.mac_address, lic.subnet_id, lic.registered_at,
                          json.dumps(lic.files)))

    def clear(self, user_id: str) -> None:
        with self._conn() as conn:
            conn.execute("DELETE FROM matlab_licenses WHERE user_id = ?", (user_id,))

    @staticmethod
    def allocate() -> License:
        """A dedicated network interface: a locally administered MAC, an interface and a subnet id."""
        octets = [0x02] + [secrets.randbelow(256) for _ in range(5)]
        return License(mode="dedicated", eni_id=f"eni-{secrets.token_hex(8)}",
                       mac_address=":".join(f"{o:02x}" for o in octets), subnet_id=f"subnet-{secrets.token_hex(8)}",
                       registered_at=utc_timestamp())
