"""Bringing NDI Cloud datasets onto this disk (NDI-matlab's ``ndi.cloud.download``)."""

from .dataset import dataset_documents, download_dataset
from .documents import download_document_collection, jsons_to_documents
from .files import download_dataset_files, open_binary

__all__ = [
    "dataset_documents",
    "download_dataset",
    "download_dataset_files",
    "download_document_collection",
    "jsons_to_documents",
    "open_binary",
]
