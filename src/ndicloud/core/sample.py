"""Realistic sample data: documents shaped like a small electrophysiology experiment.

Used by the README's main job, by tests, and by the benchmarks. Documents are
generated lazily so that very large sets never sit in memory at once.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from pathlib import Path

from . import ids
from .dataset import Dataset
from .document import Document

SAMPLE_CLASSES = ("subject", "element", "element_epoch", "stimulus_tuningcurve", "tuningcurve_calc")


def _subject(rng: random.Random, session_id: str, n: int) -> Document:
    return Document.new(
        "subject",
        session_id=session_id,
        properties={"subject": {
            "local_identifier": f"mouse{n:04d}@vhlab.org",
            "description": rng.choice(["C57BL/6J, male", "C57BL/6J, female", "PV-Cre x Ai32"]),
        }},
    )


def _element(rng: random.Random, session_id: str, subject: Document, n: int) -> Document:
    return Document.new(
        "element",
        session_id=session_id,
        depends_on={"underlying_element_id": "", "subject_id": subject.id},
        properties={"element": {
            "ndi_element_class": "ndi.probe.timeseries.mfdaq",
            "name": f"ctx{n}",
            "reference": n,
            "type": rng.choice(["n-trode", "patch-Vm", "sharp-Vm"]),
            "direct": 1,
        }},
    )


def _epoch(rng: random.Random, session_id: str, element: Document, n: int) -> Document:
    start = round(rng.uniform(0, 3600), 3)
    return Document.new(
        "element_epoch",
        superclasses=("base", "epochid"),
        session_id=session_id,
        depends_on={"element_id": element.id},
        file_list=["epoch_binary_data.vlt"],
        properties={
            "epochid": {"epochid": f"epoch_{ids.new_id()}"},
            "element_epoch": {
                "epoch_clock": "dev_local_time",
                "t0_t1": [start, round(start + rng.uniform(5, 60), 3)],
                "sample_rate": 20000,
                "channel_labels": [f"ai{k}" for k in range(4)],
                "notes": f"epoch {n} of {element.properties['element']['name']}",
            },
        },
    )


def _tuning(rng: random.Random, session_id: str, element: Document) -> Document:
    stim = [0, 0.2, 0.4, 0.6, 0.8, 1]
    mean = [round(1 + 8 * s * rng.uniform(0.8, 1.2), 6) for s in stim]
    return Document.new(
        "stimulus_tuningcurve",
        session_id=session_id,
        depends_on={"element_id": element.id},
        properties={"stimulus_tuningcurve": {
            "independent_variable_label": ["contrast"],
            "independent_variable_value": stim,
            "stimid": list(range(1, 7)),
            "response_mean": mean,
            "response_stddev": [round(rng.uniform(0, 1), 6) for _ in stim],
            "control_response_mean": math.nan,
            "individual_responses_real": [[round(m * rng.uniform(0.9, 1.1), 5) for m in mean] for _ in range(3)],
            "response_units": "spikes/s",
        }},
    )


def _calc(rng: random.Random, session_id: str, element: Document, tuning: Document) -> Document:
    return Document.new(
        "tuningcurve_calc",
        superclasses=("base", "app"),
        session_id=session_id,
        depends_on={"element_id": element.id, "stimulus_response_scalar_id": tuning.id},
        properties={
            "app": {"name": "ndi.calc.stimulus.tuningcurve", "version": "1.0.0", "interpreter": "Python"},
            "tuningcurve_calc": {
                "input_parameters": {"independent_parameter": ["contrast"], "best_algorithm": "empirical_maximum"},
                "fit": {"c50": round(rng.uniform(0.1, 0.6), 4), "rmax": round(rng.uniform(5, 40), 3),
                        "baseline": round(rng.uniform(0, 2), 3)},
                "selectivity_index": round(rng.uniform(0, 1), 4),
            },
        },
    )


def generate_documents(count: int, session_id: str, *, seed: int = 0) -> Iterator[Document]:
    """Yield ``count`` documents of mixed classes with real dependencies between them.

    The mix per subject: 1 subject, 2 elements, and per element epochs, tuning
    curves and calculations; every document but subjects depends on another.
    """
    rng = random.Random(seed)
    made = 0
    subject_n = 0
    while made < count:
        subject_n += 1
        subject = _subject(rng, session_id, subject_n)
        batch: list[Document] = [subject]
        for e in range(2):
            element = _element(rng, session_id, subject, subject_n * 10 + e)
            batch.append(element)
            for k in range(3):
                batch.append(_epoch(rng, session_id, element, k + 1))
            tuning = _tuning(rng, session_id, element)
            batch.extend([tuning, _calc(rng, session_id, element, tuning)])
        for doc in batch:
            if made == count:
                return
            yield doc
            made += 1


def session_documents(dataset: Dataset, reference: str) -> tuple[Document, Document]:
    """A member session's own ``session`` document and its ``session_in_a_dataset`` record."""
    session_id = ids.new_id()
    session = Document.new("session", properties={"session": {"reference": reference}},
                           session_id=session_id, depends_on=[])
    member = Document.new(
        "session_in_a_dataset",
        session_id=dataset.id,
        depends_on=[],
        properties={"session_in_a_dataset": {
            "session_id": session_id,
            "session_reference": reference,
            "is_linked": 0,
            "session_creator": "ndi.session.dir",
            "session_creator_input1": reference,
            "session_creator_input2": "",
            "session_creator_input3": session_id,
            "session_creator_input4": "",
            "session_creator_input5": "",
            "session_creator_input6": "",
        }},
    )
    return session, member


def make_sample_dataset(
    path: str | Path,
    *,
    reference: str = "sample_dataset",
    sessions: int = 3,
    documents_per_session: int = 100,
    binary_bytes: int = 4096,
    seed: int = 0,
) -> Dataset:
    """Create a dataset with member sessions, mixed documents and a binary per epoch."""
    root = Path(path)
    dataset = Dataset.create(root, reference)
    staging = root / "raw"
    staging.mkdir(exist_ok=True)
    rng = random.Random(seed)
    for s in range(sessions):
        session, member = session_documents(dataset, f"{reference}_session{s + 1}")
        docs = [session, member]
        for doc in generate_documents(documents_per_session, session.session_id, seed=seed + s):
            if doc.class_name == "element_epoch":
                raw = staging / f"{doc.id}.vlt"
                raw.write_bytes(rng.randbytes(binary_bytes))
                doc.add_file("epoch_binary_data.vlt", str(raw.resolve()))
            docs.append(doc)
        dataset.add_documents(docs)
    staging.rmdir()  # every original was ingested and deleted (delete_original = 1)
    return dataset
