"""Compute sessions (cloud-api §5.5, §10.8): pipelines whose stages the worker runs one after another."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .ids import object_id, utc_timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS compute_sessions (
    id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, pipeline_id TEXT NOT NULL, status TEXT NOT NULL,
    current_stage TEXT, history TEXT NOT NULL, input_parameters TEXT, stage_due REAL, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS compute_by_owner ON compute_sessions (owner_id, created_at);
CREATE INDEX IF NOT EXISTS compute_due ON compute_sessions (status, stage_due);
"""

PIPELINES: dict[str, tuple[str, ...]] = {
    "hello-world-v1": ("initial-setup", "process", "cleanup"),
    "zombie-test-v1": ("initial-setup", "wait-and-die"),
    "hello-matlab-v1": ("initial-setup", "verify"),
}
NEEDS_MATLAB_LICENSE = frozenset({"hello-matlab-v1"})
HANGING_STAGES = frozenset({("zombie-test-v1", "wait-and-die")})  # never finish: time out, then FAILED
FINAL = frozenset({"COMPLETED", "ABORTED", "FAILED"})


@dataclass(frozen=True)
class ComputeSession:
    id: str
    owner_id: str
    pipeline_id: str
    status: str
    current_stage: str | None
    history: dict[str, dict[str, Any]]
    created_at: str
    updated_at: str

    def json(self) -> dict[str, Any]:
        return {"sessionId": self.id, "pipelineId": self.pipeline_id, "status": self.status,
                "currentStageId": self.current_stage, "history": self.history, "createdAt": self.created_at,
                "updatedAt": self.updated_at}


_COLUMNS = "id, owner_id, pipeline_id, status, current_stage, history, created_at, updated_at"


def _session(row: tuple[Any, ...]) -> ComputeSession:
    return ComputeSession(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], row[7])


def _stage(status: str, message: str, resource: str = "") -> dict[str, str]:
    return {"status": status, "statusMessage": message, "awsResourceId": resource}


class ComputeSessions:
    def __init__(self, connect: Callable[[], sqlite3.Connection]):
        self._conn = connect
        with self._conn() as conn:
            conn.executescript(SCHEMA)

    def start(self, owner_id: str, pipeline_id: str, parameters: dict[str, Any] | None, stage_delay_s: float
              ) -> ComputeSession:
        first = PIPELINES[pipeline_id][0]
        session_id, now = object_id(), utc_timestamp()
        history = {first: _stage("RUNNING", "started", f"local-{object_id()}")}
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO compute_sessions (id, owner_id, pipeline_id, status, current_stage, history, "
                "input_parameters, stage_due, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (session_id, owner_id, pipeline_id, "RUNNING", first, json.dumps(history),
                 json.dumps(parameters or {}), time.time() + stage_delay_s, now, now))
        found = self.get(session_id)
        assert found is not None
        return found

    def get(self, session_id: str) -> ComputeSession | None:
        row = self._conn().execute(f"SELECT {_COLUMNS} FROM compute_sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else _session(row)

    def owned(self, owner_id: str) -> list[ComputeSession]:
        rows = self._conn().execute(f"SELECT {_COLUMNS} FROM compute_sessions WHERE owner_id = ? ORDER BY created_at",
                                    (owner_id,))
        return [_session(r) for r in rows]

    def _save(self, session: ComputeSession, status: str, stage: str | None, history: dict[str, Any],
              due: float | None) -> None:
        with self._conn() as conn:
            conn.execute("UPDATE compute_sessions SET status = ?, current_stage = ?, history = ?, stage_due = ?, "
                         "updated_at = ? WHERE id = ?",
                         (status, stage, json.dumps(history), due, utc_timestamp(), session.id))

    def run_stage(self, session: ComputeSession, stage: str, stage_delay_s: float) -> None:
        """Make ``stage`` the running one (a trigger)."""
        history = {**session.history, stage: _stage("RUNNING", "triggered", f"local-{object_id()}")}
        self._save(session, "RUNNING", stage, history, time.time() + stage_delay_s)

    def advance(self, session: ComputeSession, stage_delay_s: float, message: str = "completed") -> None:
        """Finish the current stage and start the next; past the last one the session is COMPLETED."""
        stages = PIPELINES[session.pipeline_id]
        history = dict(session.history)
        if session.current_stage is not None:
            history[session.current_stage] = {**history.get(session.current_stage, {}),
                                               **_stage("COMPLETED", message,
                                                        history.get(session.current_stage, {}).get("awsResourceId",
                                                                                                      ""))}
        index = stages.index(session.current_stage) + 1 if session.current_stage in stages else len(stages)
        if index >= len(stages):
            self._save(session, "COMPLETED", session.current_stage, history, None)
            return
        following = stages[index]
        history[following] = _stage("RUNNING", "started", f"local-{object_id()}")
        self._save(session, "RUNNING", following, history, time.time() + stage_delay_s)

    def finish(self, session: ComputeSession, status: str, message: str) -> None:
        history = dict(session.history)
        if session.current_stage is not None:
            history[session.current_stage] = {**history.get(session.current_stage, {}), "status": status,
                                              "statusMessage": message}
        self._save(session, status, session.current_stage, history, None)

    def due(self, now: float) -> list[ComputeSession]:
        rows = self._conn().execute(f"SELECT {_COLUMNS} FROM compute_sessions WHERE status = 'RUNNING' "
                                    "AND stage_due IS NOT NULL AND stage_due <= ?", (now,))
        return [_session(r) for r in rows]


def step_due_sessions(sessions: ComputeSessions, now: float, stage_delay_s: float) -> int:
    """The worker's share: finish due stages (a hanging stage fails once its timeout is due)."""
    handled = 0
    for session in sessions.due(now):
        if (session.pipeline_id, session.current_stage) in HANGING_STAGES:
            sessions.finish(session, "FAILED", "stage timed out")
        else:
            sessions.advance(session, stage_delay_s)
        handled += 1
    return handled
