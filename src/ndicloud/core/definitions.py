"""Blank documents from NDI's definition files (``ndi_common/database_documents``).

NDI-matlab builds a new document by reading its class definition and, recursively,
every superclass definition: property blocks are merged, ``depends_on`` entries are
united by name, ``file_list`` names are united, and the superclass list is flattened,
de-duplicated and sorted by definition string.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import InvalidDocumentError
from .jsonio import as_list

DOCUMENT_PATH_TOKEN = "$NDIDOCUMENTPATH"
SCHEMA_PATH_TOKEN = "$NDISCHEMAPATH"


def _find_definition(reference: str, root: Path) -> Path:
    relative = reference.replace(DOCUMENT_PATH_TOKEN, "").replace("\\", "/").lstrip("/")
    if not relative.endswith(".json"):
        relative += ".json"
    candidate = root / relative
    if candidate.is_file():
        return candidate
    # Definitions are sometimes named under an outdated folder (apps/calculations vs
    # apps/calculators); fall back to the unique file of that name.
    matches = sorted(root.rglob(Path(relative).name))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InvalidDocumentError(f"no definition {relative!r} under {root}")
    raise InvalidDocumentError(f"definition name {Path(relative).name!r} is ambiguous under {root}")


@lru_cache(maxsize=256)
def _read_definition(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _merge(reference: str, root: Path) -> tuple[dict[str, Any], list[str], list[dict] | None, list[str]]:
    """Return (blocks, superclass definitions, depends_on, file_list) of one class, recursively.

    depends_on is None when no definition in the chain has the key: MATLAB then
    writes no depends_on at all, which is not the same document as ``[]``.
    """
    data = _read_definition(_find_definition(reference, root))
    blocks: dict[str, Any] = {}
    supers: list[str] = []
    depends: list[dict] | None = None
    file_list: list[str] = []
    for entry in as_list(data.get("document_class", {}).get("superclasses")):
        definition = entry["definition"]
        supers.append(definition)
        sub_blocks, sub_supers, sub_depends, sub_files = _merge(definition, root)
        for key, value in sub_blocks.items():
            blocks.setdefault(key, value)
        supers.extend(sub_supers)
        if sub_depends is not None:
            depends = [*(depends or []), *sub_depends]
        file_list.extend(sub_files)
    for key, value in data.items():
        if key == "depends_on":
            depends = [*(depends or []), *as_list(value)]
        elif key == "files":
            file_list.extend(as_list(value.get("file_list")))
        elif key != "document_class":
            blocks[key] = value
    return blocks, supers, depends, file_list


def build_from_definition(class_ref: str, root: Path) -> dict[str, Any]:
    """The JSON object of a blank document of ``class_ref`` (a class name or relative path)."""
    reference = class_ref if "/" in class_ref else _locate_class(class_ref, root)
    own = _read_definition(_find_definition(reference, root))
    blocks, supers, depends, file_list = _merge(reference, root)
    doc: dict[str, Any] = {"base": dict(blocks.pop("base", {}))}
    doc["base"]["name"] = ""
    if depends is not None:
        united: dict[str, dict[str, str]] = {}
        for dep in depends:
            if isinstance(dep, dict) and "name" in dep:
                value = dep.get("value", "")
                united.setdefault(dep["name"], {"name": dep["name"], "value": value if isinstance(value, str) else ""})
        doc["depends_on"] = list(united.values())
    doc_class = dict(own["document_class"])
    definitions = sorted(set(supers))
    doc_class["superclasses"] = [{"definition": d} for d in definitions]
    if len(definitions) == 1:
        doc_class["superclasses"] = doc_class["superclasses"][0]
    doc["document_class"] = doc_class
    if file_list:
        doc["files"] = {"file_list": list(dict.fromkeys(file_list))}
    for key, value in blocks.items():
        doc[key] = json.loads(json.dumps(value))
    return doc


def _locate_class(class_name: str, root: Path) -> str:
    matches = sorted(root.rglob(f"{class_name}.json"))
    if not matches:
        raise InvalidDocumentError(f"no definition for class {class_name!r} under {root}")
    return matches[0].relative_to(root).as_posix()
