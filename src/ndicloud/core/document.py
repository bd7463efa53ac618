"""NDI documents: JSON objects with a class, an identity block, dependencies and files.

A ``Document`` wraps the decoded JSON object exactly as stored (key order, bare
one-element objects, duplicate superclasses) and exposes MATLAB's four
"struct array" paths -- superclasses, depends_on, file_info, locations -- as lists.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from . import ids, jsonio
from .canonical import canonical_bytes, canonical_hash
from .definitions import DOCUMENT_PATH_TOKEN, SCHEMA_PATH_TOKEN, build_from_definition
from .errors import DocumentJsonError, InvalidDocumentError, InvalidFileNameError
from .jsonio import as_list

# Top-level keys that are not class blocks (and are not indexed as fields).
RESERVED_KEYS = ("depends_on", "document_class", "files")
MAX_NAME_CHARS = 4096  # base.name: NDI Cloud refuses longer ones too

_FORBIDDEN_NAME_CHARS = re.compile(r"[:/\\]")


def _bare_if_single(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else items


def superclass_stem(definition: str) -> str:
    """Class name of a definition path: text after the last '/' up to the first '.'."""
    tail = definition.replace("\\", "/").rsplit("/", 1)[-1]
    return tail.split(".", 1)[0]


def location_type_of(location: str) -> str:
    """``url``, ``ndicloud`` or ``file`` from a location's prefix (case-insensitive)."""
    lowered = location.lower()
    if lowered.startswith(("http://", "https://")):
        return "url"
    if lowered.startswith("ndic://"):
        return "ndicloud"
    return "file"


def check_file_name(name: object, what: str = "file name") -> str:
    """Reject names that could escape the files folder or that MATLAB forbids."""
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise InvalidFileNameError(f"{what} must be a non-empty string, got {name!r}")
    if _FORBIDDEN_NAME_CHARS.search(name) or "\x00" in name:
        raise InvalidFileNameError(f"{what} {name!r} must not contain ':', '/', '\\' or NUL")
    return name


def file_list_accepts(file_list: Iterable[str], name: str) -> bool:
    """True if ``name`` is in the class's file_list, including numbered families ``x_#``."""
    for entry in file_list:
        if entry == name:
            return True
        if entry.endswith("_#"):
            stem = entry[:-1]
            suffix = name[len(stem):]
            if name.startswith(stem) and suffix.isdigit() and not suffix.startswith("0"):
                return True
    return False


class Document:
    """One NDI document, wrapping its JSON object."""

    __slots__ = ("_props",)

    def __init__(self, properties: dict[str, Any]):
        if not isinstance(properties, dict):
            raise InvalidDocumentError(f"a document must be a JSON object, got {type(properties).__name__}")
        base = properties.get("base")
        if not isinstance(base, dict):
            raise InvalidDocumentError("document has no 'base' block (it needs base.id and base.session_id)")
        if "id" not in base:
            raise InvalidDocumentError("document has no base.id")
        ids.validate_id(base["id"], "base.id")
        name = base.get("name")
        if isinstance(name, str) and len(name) > MAX_NAME_CHARS:
            raise InvalidDocumentError(f"document {base['id']}: base.name is {len(name)} characters long, more "
                                       f"than the limit of {MAX_NAME_CHARS}")
        session_id = base.get("session_id", "")
        if session_id not in ("", None):
            ids.validate_id(session_id, f"base.session_id of document {base['id']}")
        doc_class = properties.get("document_class")
        if not isinstance(doc_class, dict) or not isinstance(doc_class.get("class_name"), str):
            raise InvalidDocumentError(f"document {base['id']} has no document_class.class_name")
        for key, value in properties.items():
            if key not in RESERVED_KEYS and not isinstance(value, dict):
                raise InvalidDocumentError(
                    f"document {base['id']}: top-level key {key!r} must hold an object, "
                    f"got {type(value).__name__}"
                )
        self._props = properties

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_json(cls, text: str | bytes, source: str | None = None) -> Document:
        """Parse a document from JSON text (MATLAB's literals and cloud sentinels accepted).

        NDI Cloud's shapes are unwrapped: a bulk-fetch entry's ``data``, a detail's top-level cloud ``id``.
        """
        data = jsonio.loads(text, source)
        if "data" in data and "ndiId" in data and isinstance(data["data"], dict):
            data = data["data"]  # a cloud bulk-fetch entry wraps the document
        elif ids.is_cloud_id(data.get("id")) and isinstance(data.get("base"), dict):
            data = {k: v for k, v in data.items() if k != "id"}  # a cloud detail adds its cloud id on top
        try:
            return cls(data)
        except InvalidDocumentError as exc:
            if source:
                raise type(exc)(f"{source}: {exc}") from exc
            raise

    @classmethod
    def from_file(cls, path: str | Path) -> Document:
        """Read a document from a JSON file."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DocumentJsonError(f"cannot read document file {path}: {exc.strerror}") from exc
        return cls.from_json(raw, source=str(path))

    @classmethod
    def new(
        cls,
        class_name: str,
        *,
        superclasses: Iterable[str] = ("base",),
        properties: Mapping[str, Mapping[str, Any]] | None = None,
        session_id: str = ids.EMPTY_SESSION_ID,
        name: str = "",
        depends_on: Mapping[str, str] | Iterable[Mapping[str, str]] | None = None,
        file_list: Iterable[str] | None = None,
        definition: str | None = None,
    ) -> Document:
        """Build a new document of any class without NDI's definition files.

        ``superclasses`` are class names (``"base"``) or definition paths; MATLAB
        stores them de-duplicated and sorted by definition, and so do we.
        """
        if not class_name or not isinstance(class_name, str):
            raise InvalidDocumentError("class_name must be a non-empty string")
        if session_id:
            ids.validate_id(session_id, "session_id")
        definitions = sorted({_definition_path(s) for s in superclasses})
        doc_def = definition or f"{DOCUMENT_PATH_TOKEN}/{class_name}.json"
        data: dict[str, Any] = {
            "base": {
                "id": ids.new_id(),
                "session_id": session_id,
                "name": name,
                "datestamp": ids.datestamp_now(),
            },
        }
        if depends_on is not None:
            data["depends_on"] = _dependency_list(depends_on)
        data["document_class"] = {
            "definition": doc_def,
            "validation": doc_def.replace(DOCUMENT_PATH_TOKEN, SCHEMA_PATH_TOKEN).replace(
                ".json", "_schema.json"
            ),
            "class_name": class_name,
            "property_list_name": class_name,
            "class_version": 1,
            "superclasses": _bare_if_single([{"definition": d} for d in definitions]),
        }
        if file_list is not None:
            data["files"] = {"file_list": [check_file_name(f) for f in file_list]}
        for block, fields in (properties or {}).items():
            if block in ("base", *RESERVED_KEYS):
                raise InvalidDocumentError(f"property block {block!r} is reserved")
            data[block] = copy.deepcopy(dict(fields))
        data.setdefault(class_name, {})
        return cls(data)

    @classmethod
    def from_definition(
        cls,
        class_name: str,
        definitions_dir: str | Path,
        *,
        session_id: str = ids.EMPTY_SESSION_ID,
    ) -> Document:
        """Build a blank document from NDI's definition files, the way NDI-matlab does.

        Superclass definitions are read recursively and flattened; the list is
        de-duplicated and sorted; depends_on entries and file_list names are united.
        """
        data = build_from_definition(class_name, Path(definitions_dir))
        data["base"].update(
            {"id": ids.new_id(), "session_id": session_id, "datestamp": ids.datestamp_now()}
        )
        return cls(data)

    # -- identity -----------------------------------------------------------------------------

    @property
    def properties(self) -> dict[str, Any]:
        """The raw JSON object (mutable; key order and MATLAB quirks as stored)."""
        return self._props

    @property
    def id(self) -> str:
        return self._props["base"]["id"]

    @property
    def session_id(self) -> str:
        return self._props["base"].get("session_id") or ""

    @session_id.setter
    def session_id(self, value: str) -> None:
        self._props["base"]["session_id"] = ids.validate_id(value, "session_id")

    @property
    def name(self) -> str:
        value = self._props["base"].get("name", "")
        return value if isinstance(value, str) else ""

    @property
    def datestamp(self) -> str:
        return self._props["base"].get("datestamp", "")

    @property
    def class_name(self) -> str:
        return self._props["document_class"]["class_name"]

    @property
    def superclass_definitions(self) -> list[str]:
        entries = as_list(self._props["document_class"].get("superclasses"))
        return [e["definition"] for e in entries if isinstance(e, dict) and "definition" in e]

    @property
    def superclass_names(self) -> list[str]:
        """Superclass names (definition stems) as stored, duplicates included."""
        return [superclass_stem(d) for d in self.superclass_definitions]

    def isa(self, class_name: str) -> bool:
        """Exact-name class test, as the database's ``isa`` query."""
        return class_name == self.class_name or class_name in self.superclass_names

    # -- dependencies -------------------------------------------------------------------------

    @property
    def dependencies(self) -> list[dict[str, Any]]:
        """``depends_on`` as a list of ``{name, value}`` (a bare object becomes one entry)."""
        return [d for d in as_list(self._props.get("depends_on")) if isinstance(d, dict)]

    def dependency_value(self, name: str) -> str | None:
        for dep in self.dependencies:
            if dep.get("name") == name:
                value = dep.get("value")
                return value if isinstance(value, str) else None
        return None

    def set_dependency_value(self, name: str, value: str) -> None:
        """Set (or add) the dependency ``name``; values are always stored as strings."""
        if value:
            ids.validate_id(value, f"depends_on {name!r}")
        deps = self.dependencies
        for dep in deps:
            if dep.get("name") == name:
                dep["value"] = value
                break
        else:
            deps.append({"name": name, "value": value})
        self._props["depends_on"] = _bare_if_single(deps)

    # -- files --------------------------------------------------------------------------------

    @property
    def file_list(self) -> list[str]:
        files = self._props.get("files")
        if not isinstance(files, dict):
            return []
        return [f for f in as_list(files.get("file_list")) if isinstance(f, str)]

    @property
    def file_info(self) -> list[dict[str, Any]]:
        """Attached files as ``[{name, locations: [..]}]`` (locations always a list)."""
        files = self._props.get("files")
        if not isinstance(files, dict):
            return []
        out = []
        for info in as_list(files.get("file_info")):
            if isinstance(info, dict):
                out.append({**info, "locations": [loc for loc in as_list(info.get("locations"))]})
        return out

    @property
    def file_names(self) -> list[str]:
        return [info.get("name", "") for info in self.file_info]

    def locations(self, name: str) -> list[dict[str, Any]]:
        for info in self.file_info:
            if info.get("name") == name:
                return info["locations"]
        return []

    @property
    def file_uids(self) -> list[str]:
        return [loc["uid"] for info in self.file_info for loc in info["locations"] if "uid" in loc]

    def add_file(
        self,
        name: str,
        location: str,
        *,
        ingest: bool | int | None = None,
        delete_original: bool | int | None = None,
        uid: str | None = None,
    ) -> dict[str, Any]:
        """Attach a file location under ``name``, as NDI-matlab's ``add_file`` does.

        A new uid is minted per location; ``location_type``, ``ingest`` and
        ``delete_original`` follow the location's prefix unless given. Returns the entry.
        """
        check_file_name(name)
        if not file_list_accepts(self.file_list, name):
            raise InvalidDocumentError(
                f"document {self.id} of class {self.class_name} does not accept a file named {name!r}; "
                f"its file_list is {self.file_list}"
            )
        if not isinstance(location, str) or not location:
            raise InvalidDocumentError(f"location of file {name!r} must be a non-empty string")
        kind = location_type_of(location)
        default = 1 if kind == "file" else 0
        entry_uid = ids.validate_id(uid, "file uid") if uid else ids.new_id()
        entry = {
            "delete_original": int(bool(default if delete_original is None else delete_original)),
            "uid": entry_uid.lower(),
            "location": location,
            "parameters": "",
            "location_type": kind,
            "ingest": int(bool(default if ingest is None else ingest)),
        }
        files = self._props["files"]
        infos = as_list(files.get("file_info"))
        for info in infos:
            if isinstance(info, dict) and info.get("name") == name:
                info["locations"] = [*as_list(info.get("locations")), entry]
                break
        else:
            infos.append({"name": name, "locations": entry})
        files["file_info"] = _bare_if_single(infos)
        return entry

    # -- serialisation and comparison ----------------------------------------------------------

    def to_json(self) -> str:
        """MATLAB-style JSON text (what goes in ``docs.json_code``)."""
        return jsonio.dumps(self._props)

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._props)

    def copy(self) -> Document:
        return Document(copy.deepcopy(self._props))

    def canonical(self, profile: str = "full") -> bytes:
        return canonical_bytes(self._props, profile)

    def hash(self, profile: str = "full") -> str:
        return canonical_hash(self._props, profile)

    def content_hash(self) -> str:
        """Hash that ignores machine-specific location fields (spec §1.8 *content*)."""
        return canonical_hash(self._props, "content")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return self.canonical() == other.canonical()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Document(id={self.id!r}, class={self.class_name!r})"


def _definition_path(superclass: str) -> str:
    if superclass.startswith(DOCUMENT_PATH_TOKEN) or superclass.endswith(".json"):
        return superclass
    return f"{DOCUMENT_PATH_TOKEN}/{superclass}.json"


def _dependency_list(depends_on: Mapping[str, str] | Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    pairs: Iterable[tuple[str, Any]]
    if isinstance(depends_on, Mapping):
        pairs = depends_on.items()
    else:
        pairs = ((d["name"], d.get("value", "")) for d in depends_on)
    out = []
    for dep_name, value in pairs:
        value = "" if value in (None, 0) else value
        if value:
            ids.validate_id(value, f"depends_on {dep_name!r}")
        out.append({"name": str(dep_name), "value": value})
    return out
