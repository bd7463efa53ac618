"""Facts about the MATLAB-written fixture dataset (shared/fixtures/matlab-dataset).

The values are those listed in the specification (shared/spec/local-format.md §8 items 1-4, §2.6, §3.3, §4.8) and
read from the fixture files, never taken from the output of the implementation under test.
"""

from __future__ import annotations

DATASET_ID = "412694f69ab1e1cf_c0db1c5ba8cf6bc8"  # the dataset (unique_reference.txt), reference ds_demo
INGESTED_SESSION_ID = "412694f69aafaba3_40dbbdf6582271b2"  # the one ingested member session, reference exp_demo

D1 = "412694f69ab1ee31_40dbbe31dde03ada"  # session (dataset's own), doc_idx 1
D2 = "412694f69ab01f2b_c0bb8d41c21210cf"  # session (ingested session), doc_idx 2
D3 = "412694f69ab19eb0_40dcc7544b5b9e1c"  # demoNDI doc_1
D4 = "412694f69ab1adc8_40cac452ba627cb4"  # demoNDI doc_2
D5 = "412694f69ab1ba5f_40b5cd572384dc0e"  # demoNDI doc_3
D6 = "412694f69ab1c608_c0d66ab720c6f1e8"  # demoNDI doc_4
D7 = "412694f69ab1d1f7_40bdac4047081e90"  # demoNDI doc_5
D8 = "412694f69ab2e765_c0ceb2ccd3ec124e"  # dataset_session_info, doc_idx 8
DOC_IDS = [D1, D2, D3, D4, D5, D6, D7, D8]  # doc_idx order
DOC_CLASSES = ["session", "session", "demoNDI", "demoNDI", "demoNDI", "demoNDI", "demoNDI",
               "dataset_session_info"]
DEMO_IDS = [D3, D4, D5, D6, D7]

# The binaries: one file FILE_NAME per demoNDI document, holding the 5 bytes doc_1 ... doc_5.
UIDS = [
    "412694f69ab27668_c0ce4d32f2417873",
    "412694f69ab27c4f_40c830d3b8dd287a",
    "412694f69ab284c1_c0a94880f24640be",
    "412694f69ab28a24_c0d152faa2aba8b3",
    "412694f69ab28f2c_c0d638458be17389",
]
UID_OF_DOC = dict(zip(DEMO_IDS, UIDS, strict=True))
FILE_NAME = "filename1.ext"

# The cloud dataset of shared/fixtures/cloud-responses/bulk-fetch-entry-openminds_subject.json (its datasetId).
CLOUD_DATASET = "682e7772cdf3f24938176fac"
