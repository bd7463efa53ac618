"""The local server's record store on its own: what the worker does every tick stays cheap, and concurrent
writers of documents never clash."""

from __future__ import annotations

import threading

from ndicloud.core import Document
from ndicloud.server.records import Records


def _plan(records: Records, sql: str, *params: object) -> str:
    rows = records._conn().execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    return " | ".join(row[-1] for row in rows)


def test_the_worker_finds_due_work_through_indexes_not_by_reading_every_row(tmp_path):
    # The worker asks these every few milliseconds; a scan of the documents table made every other
    # request of a busy server wait.
    records = Records(tmp_path / "data")
    prune = _plan(records, "SELECT seq FROM documents WHERE is_deleted = 1 AND delete_due <= ? LIMIT 1", 0.0)
    register = _plan(records, "SELECT 1 FROM files WHERE pending = 1 AND visible_after <= ? LIMIT 1", 0.0)
    expire = _plan(records, "SELECT 1 FROM transfers WHERE state = 'queued' AND kind IN ('files', 'documents') "
                            "AND url_expires < ? LIMIT 1", 0.0)
    assert "documents_delete_due" in prune, prune
    assert "files_pending" in register, register
    assert "transfers_queued" in expire, expire


def test_an_idle_tick_does_not_wait_for_a_writer(tmp_path):
    # With nothing due, the tick must not take the write lock: it would queue behind (and hold up) the
    # API's own writes.
    import sqlite3

    records = Records(tmp_path / "data")
    records.documents.add_many("ds", [Document.new("demoNDI", properties={"demoNDI": {"value": 1}}).properties])
    writer = sqlite3.connect(records.path, timeout=1)
    writer.execute("BEGIN IMMEDIATE")
    results: list[int] = []

    def tick() -> None:
        results.extend([records.documents.prune_due(1e12), records.files.register_due(1e12),
                        records.transfers.expire_unused(1e12)])

    try:
        worker = threading.Thread(target=tick, daemon=True)
        worker.start()
        worker.join(timeout=5)
        assert not worker.is_alive(), "the idle tick waited for the write lock"
    finally:
        writer.rollback()
        writer.close()
    assert results == [0, 0, 0]


def test_concurrent_document_adds_share_new_field_names_without_a_clash(tmp_path):
    records = Records(tmp_path / "data")
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def add(worker: int) -> None:
        docs = [Document.new("demoNDI", properties={"demoNDI": {f"field_{k}": worker * 100 + n for k in range(30)}})
                for n in range(25)]
        start.wait()
        try:
            for doc in docs:  # many short transactions, each of which may meet the other writers
                records.documents.add_many("ds", [doc.properties])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert records.documents.count("ds") == 100
    names = [r[0] for r in records._conn().execute("SELECT field_name FROM fields WHERE field_name LIKE 'demoNDI.%'")]
    assert sorted(names) == sorted(set(names)) and len(names) == 30
    seqs = [r[0] for r in records._conn().execute("SELECT seq FROM documents")]
    assert len(set(seqs)) == 100

