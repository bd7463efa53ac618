"""An NDI dataset folder: ``.ndi/`` with the database, ingested files and reference files.

A dataset is internally a session whose id is the dataset id; member sessions are
described by ``session_in_a_dataset`` documents (or the legacy
``dataset_session_info``). A ``dataset_remote`` document links it to NDI Cloud.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from . import ids
from .document import Document
from .errors import DocumentNotFoundError, InvalidDocumentError, NotAnNdiFolderError, RemoteLinkError
from .files import BinaryFile, binary_path, first_present, locations_from_json
from .jsonio import as_list
from .query import Query
from .store import DATABASE_FILENAME, DidSqliteStore, FileRow

NDI_DIRNAME = ".ndi"
REFERENCE_FILE = "reference.txt"
UNIQUE_REFERENCE_FILE = "unique_reference.txt"
OBJECT_TYPE_FILE = "ndi_object_type.txt"
OBJECT_TYPES = ("session", "dataset")


@dataclass(frozen=True)
class SessionInfo:
    """A member session of a dataset."""

    session_id: str
    reference: str
    is_linked: bool
    creator: str
    creator_inputs: tuple[str, ...]
    source: str  # "session_in_a_dataset" or the legacy "dataset_session_info"

    @property
    def linked_path(self) -> Path | None:
        """Folder of a linked session (machine-specific), else None."""
        return Path(self.creator_inputs[1]) if self.is_linked and len(self.creator_inputs) > 1 else None


@dataclass(frozen=True)
class RemoteLink:
    """The dataset's link to NDI Cloud (its ``dataset_remote`` document)."""

    dataset_id: str
    organization_id: str
    document: Document


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise NotAnNdiFolderError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")  # no trailing newline, as NDI-matlab writes


def _text(value: Any) -> str:
    if isinstance(value, list):
        return _text(value[0]) if len(value) == 1 else ""
    return value if isinstance(value, str) else ""


def _session_record(record: Mapping[str, Any], source: str) -> SessionInfo:
    linked = record.get("is_linked")
    return SessionInfo(
        session_id=_text(record.get("session_id")),
        reference=_text(record.get("session_reference")),
        is_linked=bool(linked[0] if isinstance(linked, list) and linked else linked or 0),
        creator=_text(record.get("session_creator")),
        creator_inputs=tuple(_text(record.get(f"session_creator_input{i}")) for i in range(1, 7)),
        source=source,
    )


def is_ndi_folder(path: str | Path) -> bool:
    """NDI-matlab's test: ``.ndi/`` holds a file whose name contains ``reference.txt``."""
    ndi = Path(path) / NDI_DIRNAME
    return ndi.is_dir() and any(REFERENCE_FILE in name for name in os.listdir(ndi))


class Dataset:
    """An open NDI dataset (or session) folder."""

    def __init__(self, path: Path, store: DidSqliteStore, dataset_id: str, reference: str, object_type: str):
        self.path = path
        self.store = store
        self.id = dataset_id
        self.reference = reference
        self.object_type = object_type

    # -- opening and creating -----------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = True) -> Dataset:
        """Open a dataset folder. Read-only opening changes nothing on disk."""
        root = Path(path)
        ndi = root / NDI_DIRNAME
        if not root.is_dir():
            raise NotAnNdiFolderError(f"{root} is not a folder")
        if not ndi.is_dir():
            raise NotAnNdiFolderError(f"{root} is not an NDI dataset: it has no {NDI_DIRNAME} folder")
        if not is_ndi_folder(root):
            raise NotAnNdiFolderError(f"{root} is not an NDI dataset: {ndi} has no {REFERENCE_FILE}")
        store = DidSqliteStore.open(ndi / DATABASE_FILENAME, readonly=readonly)
        try:
            return cls._from_store(root, store)
        except BaseException:
            store.close()
            raise

    @classmethod
    def _from_store(cls, root: Path, store: DidSqliteStore) -> Dataset:
        ndi = root / NDI_DIRNAME
        marker = _read_text(ndi / OBJECT_TYPE_FILE)
        object_type = marker if marker in OBJECT_TYPES else "unknown"
        unique = _read_text(ndi / UNIQUE_REFERENCE_FILE) or ""
        dataset_id = unique if ids.is_valid_id(unique) else _discover_id(store)
        if dataset_id is None:
            raise NotAnNdiFolderError(
                f"{root}: cannot tell the dataset id ({UNIQUE_REFERENCE_FILE} is missing or invalid "
                "and no session document names it)"
            )
        reference = _read_text(ndi / REFERENCE_FILE) or ""
        dataset = cls(root, store, dataset_id, reference, object_type)
        session_doc = dataset.session_document
        if session_doc is not None:
            stored = _text(session_doc.properties.get("session", {}).get("reference"))
            dataset.reference = stored or reference
        return dataset

    @classmethod
    def create(
        cls,
        path: str | Path,
        reference: str,
        *,
        dataset_id: str | None = None,
        with_session_document: bool = True,
    ) -> Dataset:
        """Create a new dataset folder with its database, reference files and session document.

        ``with_session_document=False`` leaves the database empty, for filling it with
        an existing dataset's documents (which include its session document).
        """
        root = Path(path)
        ndi = root / NDI_DIRNAME
        if ndi.exists():
            raise FileExistsError(f"{root} already holds an NDI folder")
        if not reference or not isinstance(reference, str):
            raise ValueError("a dataset needs a non-empty reference (its short name)")
        new_id = ids.validate_id(dataset_id, "dataset_id").lower() if dataset_id else ids.new_id()
        ndi.mkdir(parents=True)
        store = DidSqliteStore.create(ndi / DATABASE_FILENAME)
        _write_text(ndi / REFERENCE_FILE, reference)
        _write_text(ndi / UNIQUE_REFERENCE_FILE, new_id)
        _write_text(ndi / OBJECT_TYPE_FILE, "dataset")
        if with_session_document:
            session = Document.new(
                "session", properties={"session": {"reference": reference}}, session_id=new_id, depends_on=[]
            )
            store.add(session)
        return cls(root, store, new_id, reference, "dataset")

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Dataset(path={str(self.path)!r}, id={self.id!r}, reference={self.reference!r})"

    @property
    def files_dir(self) -> Path:
        return self.store.files_dir

    # -- documents ----------------------------------------------------------------------------

    @property
    def session_document(self) -> Document | None:
        """The dataset's own ``session`` document (the oldest, if several)."""
        docs = self.store.search(Query.isa("session") & Query("base.session_id", "exact_string", self.id))
        own = [d for d in docs if d.class_name == "session"]
        return min(own, key=lambda d: d.datestamp) if own else None

    def member_sessions(self) -> list[SessionInfo]:
        """Member sessions, from ``session_in_a_dataset`` documents or the legacy record."""
        found: dict[str, SessionInfo] = {}
        for doc in self.store.search(Query.isa("session_in_a_dataset")):
            info = _session_record(doc.properties.get("session_in_a_dataset", {}), "session_in_a_dataset")
            found.setdefault(info.session_id, info)
        for doc in self.store.search(Query.isa("dataset_session_info")):
            block = doc.properties.get("dataset_session_info", {})
            for record in as_list(block.get("dataset_session_info")):
                if isinstance(record, dict):
                    info = _session_record(record, "dataset_session_info")
                    found.setdefault(info.session_id, info)
        return list(found.values())

    def add_documents(
        self,
        docs: Document | Iterable[Document],
        *,
        replace: bool = False,
        file_sources: Mapping[str, str | Path] | None = None,
        allow_foreign_sessions: bool = False,
    ) -> int:
        """Add documents, giving the dataset's id to those with the empty session id.

        A document naming a session that is neither this dataset nor one of its
        member sessions is refused unless ``allow_foreign_sessions``.
        """
        if isinstance(docs, Document):
            docs = [docs]
        allowed = {self.id, *(s.session_id for s in self.member_sessions())}
        return self.store.add(
            self._claim(docs, allowed, allow_foreign_sessions), replace=replace, file_sources=file_sources
        )

    def _claim(self, docs: Iterable[Document], allowed: set[str], allow_foreign: bool) -> Iterator[Document]:
        for doc in docs:
            if doc.session_id in ("", ids.EMPTY_SESSION_ID):
                doc.session_id = self.id
            if doc.class_name == "session_in_a_dataset":
                allowed.add(_text(doc.properties.get("session_in_a_dataset", {}).get("session_id")))
            elif doc.class_name == "session":
                allowed.add(doc.session_id)
            if not allow_foreign and doc.session_id not in allowed:
                raise InvalidDocumentError(
                    f"document {doc.id} belongs to session {doc.session_id}, which is not this dataset "
                    f"({self.id}) or one of its member sessions"
                )
            yield doc

    def remove_documents(self, doc_ids: str | Iterable[str], *, with_dependents: bool = True) -> list[str]:
        """Remove documents (and, as NDI-matlab does, every document depending on them)."""
        pending = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
        for doc_id in pending:
            if not self.store.exists(doc_id):
                raise DocumentNotFoundError(f"no live document with id {doc_id!r} in {self.path}")
        doomed: dict[str, None] = {}
        while pending:
            doc_id = pending.pop()
            if doc_id in doomed:
                continue
            doomed[doc_id] = None
            if with_dependents:
                pending.extend(self.store.search_ids(Query.depends_on("*", doc_id)))
        self.store.remove(list(doomed))
        return list(doomed)

    def get(self, doc_id: str) -> Document:
        return self.store.get(doc_id)

    def search(self, query: Query | Any) -> list[Document]:
        """Documents matching ``query`` in this dataset and in its linked sessions."""
        found = self.store.search(query)
        for session in self.member_sessions():
            linked = session.linked_path
            if linked is None or not is_ndi_folder(linked):
                continue
            scoped = Query.coerce(query) & Query("base.session_id", "exact_string", session.session_id)
            with DidSqliteStore.open(linked / NDI_DIRNAME / DATABASE_FILENAME) as other:
                found.extend(other.search(scoped))
        return found

    def documents(self) -> Iterator[Document]:
        return self.store.iter_documents()

    def count(self) -> int:
        return self.store.count()

    def count_by_class(self) -> dict[str, int]:
        return self.store.count_by_class()

    # -- binaries -----------------------------------------------------------------------------

    def binaries(self) -> list[BinaryFile]:
        """Every stored copy of every binary, with whether its bytes are on disk."""
        rows = self.store.file_rows()
        if rows:
            return [self._binary_file(row) for row in rows]
        # Databases written without files rows (DID-python, the Python port): read the JSON.
        return [entry for doc in self.store.iter_documents() for entry in locations_from_json(doc, self.files_dir)]

    def _binary_file(self, row: FileRow) -> BinaryFile:
        """A files row as a BinaryFile; the uid must name a file inside ``.ndi/files``."""
        path = binary_path(self.files_dir, row.uid)
        return BinaryFile(row.doc_id, row.filename, row.uid, row.type, row.orig_location, path, path.is_file())

    def missing_binaries(self) -> list[BinaryFile]:
        return [b for b in self.binaries() if not b.present]

    def _entries(self, doc: Document | str, name: str) -> tuple[str, list[BinaryFile]]:
        document = doc if isinstance(doc, Document) else self.store.get(doc)
        rows = self.store.file_rows(document.id)
        if rows:
            entries = [self._binary_file(r) for r in rows if r.filename == name]
        else:
            entries = [e for e in locations_from_json(document, self.files_dir) if e.name == name]
        return document.id, entries

    def binary_path(self, doc: Document | str, name: str) -> Path:
        """Path of a document's binary in ``.ndi/files`` (MissingBinaryError if absent)."""
        doc_id, entries = self._entries(doc, name)
        return first_present(entries, doc_id, name)

    def open_binary(self, doc: Document | str, name: str) -> BinaryIO:
        """Open a document's binary for reading."""
        return self.binary_path(doc, name).open("rb")

    # -- the link to NDI Cloud ----------------------------------------------------------------

    def remote_link(self) -> RemoteLink | None:
        """The ``dataset_remote`` link, None when the dataset is not in the cloud."""
        docs = self.store.search(Query.isa("dataset_remote"))
        if not docs:
            return None
        if len(docs) > 1:
            raise RemoteLinkError(
                f"{self.path} has {len(docs)} dataset_remote documents "
                f"({', '.join(d.id for d in docs)}); keep exactly one"
            )
        block = docs[0].properties.get("dataset_remote", {})
        return RemoteLink(_text(block.get("dataset_id")), _text(block.get("organization_id")), docs[0])

    def _remote_document(self, dataset_id: str, organization_id: str) -> Document:
        for label, value in (("dataset_id", dataset_id), ("organization_id", organization_id)):
            if not ids.is_cloud_id(value):
                raise RemoteLinkError(f"{label} must be a 24-character lower-case hex cloud id, got {value!r}")
        return Document.new(
            "dataset_remote",
            properties={"dataset_remote": {"dataset_id": dataset_id, "organization_id": organization_id}},
            session_id=self.id,
        )

    def create_remote_link(self, dataset_id: str, organization_id: str) -> Document:
        """Link this dataset to a cloud dataset; refused when a link exists."""
        existing = self.remote_link()
        if existing is not None:
            raise RemoteLinkError(
                f"{self.path} is already linked to cloud dataset {existing.dataset_id}; replace the link instead"
            )
        doc = self._remote_document(dataset_id, organization_id)
        self.store.add(doc)
        return doc

    def replace_remote_link(self, dataset_id: str, organization_id: str) -> Document:
        """Remove any existing link and write a new one, in one transaction."""
        doc = self._remote_document(dataset_id, organization_id)
        old = [d.id for d in self.store.search(Query.isa("dataset_remote"))]
        self.store.add(doc, remove=old)
        return doc


def _discover_id(store: DidSqliteStore) -> str | None:
    """Dataset id from the documents, as NDI-matlab's dataset.dir does when the text file is absent."""
    for class_name in ("dataset_session_info", "session_in_a_dataset"):
        docs = store.search(Query.isa(class_name))
        if docs and ids.is_valid_id(docs[0].session_id):
            return docs[0].session_id
    sessions = store.search(Query.isa("session"))
    return sessions[0].session_id if len(sessions) == 1 else None
