"""Putting local NDI datasets into NDI Cloud (NDI-matlab's ``ndi.cloud.upload``)."""

from .dataset import new_dataset, upload_dataset, upload_to_ndi_cloud
from .documents import upload_document_collection
from .files import scan_for_upload, upload_files, zip_for_upload

__all__ = [
    "new_dataset",
    "scan_for_upload",
    "upload_dataset",
    "upload_document_collection",
    "upload_files",
    "upload_to_ndi_cloud",
    "zip_for_upload",
]
