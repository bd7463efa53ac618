"""Fixed values of NDI Cloud's Crossref membership (doi.md §2.2)."""

from __future__ import annotations

from datetime import date

DOI_PREFIX = "10.63884"
DATABASE_DOI = "10.63884/ndic.00000"
DATABASE_RESOURCE = "https://ndi-cloud.com"
DATABASE_TITLE = "NDI Cloud Open Datasets"
DATABASE_DESCRIPTION = "Searchable scientific datasets from neuroscience and other disciplines"
ORGANIZATION = "Waltham Data Science LLC"  # database contributor, registrant and default depositor
DATABASE_DATE = date(2024, 4, 8)  # creation and publication date of the database
DEPOSITOR_EMAIL = "steve@walthamdatascience.com"  # Crossref e-mails the submission logs here
DATASET_RESOURCE_BASE = "https://www.ndi-cloud.com/datasets/"

PRODUCTION_URL = "https://doi.crossref.org"
TEST_URL = "https://test.crossref.org"
