"""Soak: random operations against one local NDI Cloud server with fault injection on, checking invariants
after every step. Bounded (at most 5 minutes; it stops by itself); a seed reproduces a failure.

Two local copies of one cloud dataset are edited (documents added, changed, deleted) and synced both ways,
and a third client uploads files, in an order drawn from the seed; the server's faults use the same seed.
After each step: the cloud holds each document once; the two copies and the cloud lose no document that was
never deleted; uploaded files stay listed with their sizes; and a copy just synced equals the cloud.

    python benchmarks/soak.py [--seed N] [--minutes 5] [--steps N]

On a failure it prints the seed and the step, and exits 1.
"""

from __future__ import annotations

import argparse
import logging
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ndicloud.api import CloudClient, RetryPolicy, documents, files
from ndicloud.api.transfer import put_file
from ndicloud.core import Dataset, Document, new_id
from ndicloud.download import download_dataset
from ndicloud.download.documents import fetch_zip
from ndicloud.server import ServerConfig
from ndicloud.server.accounts import add_user
from ndicloud.server.records import Records
from ndicloud.server.runner import running_server
from ndicloud.sync import SyncOptions, two_way_sync
from ndicloud.transfers.zips import read_document_zip
from ndicloud.upload import upload_dataset

MAX_MINUTES = 5.0
FAULTS = "seed={seed},error_rate=0.1,api_drop_rate=0.05,after_commit_rate=0.1,drop_rate=0.2,upload_drop_rate=0.2"
OPTIONS = SyncOptions(verbose=False, ingest_timeout_s=20.0, download_timeout_s=20.0, conflict="local",
                      propagate_deletions=True, document_chunk=3)
PATIENT = RetryPolicy(retries=10, base_s=0.01, cap_s=0.05)


class SoakFailure(AssertionError):
    """An invariant broke; the message names the seed, the step and the operation."""


@dataclass
class World:
    """The two copies, the cloud dataset, and what the operations did so far."""

    rnd: random.Random
    client: CloudClient
    work: Path
    cloud_id: str
    copies: dict[str, Path]
    created: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    uploaded_files: dict[str, int] = field(default_factory=dict)
    just_synced: str | None = None


def _live(path: Path) -> dict[str, str]:
    """ndiId -> content hash of every document of a copy but the cloud link."""
    with Dataset.open(path) as dataset:
        return {d.id: d.content_hash() for d in dataset.documents() if d.class_name != "dataset_remote"}


def _remote_listing(world: World) -> dict[str, list[str]]:
    return documents.get_uploaded_document_ids(world.cloud_id, client=world.client)


def _remote_contents(world: World, listing: dict[str, list[str]]) -> dict[str, str]:
    if not listing:
        return {}
    url = documents.get_bulk_download_url(world.cloud_id, [max(ids) for ids in listing.values()],
                                          client=world.client)
    target = fetch_zip(url, world.work / "contents.zip", client=world.client, timeout_s=20)
    try:
        return {p["base"]["id"]: Document(p).content_hash() for p in read_document_zip(target)}
    finally:
        target.unlink()


def _demo(session_id: str, rnd: random.Random) -> Document:
    return Document.new("demoNDI", session_id=session_id, name=f"soak-{rnd.randrange(1 << 30)}",
                        properties={"demoNDI": {"value": rnd.random()}})


def op_add(world: World, copy: str) -> str:
    with Dataset.open(world.copies[copy], readonly=False) as dataset:
        added = [_demo(dataset.id, world.rnd) for _ in range(world.rnd.randint(1, 3))]
        dataset.add_documents(added)
    world.created.update(d.id for d in added)
    return f"added {len(added)} to {copy}"


def _pick(world: World, copy: str, most: int) -> list[str]:
    ids = sorted(set(_live(world.copies[copy])) - world.deleted)
    return world.rnd.sample(ids, k=min(len(ids), world.rnd.randint(1, most)))


def op_edit(world: World, copy: str) -> str:
    chosen = _pick(world, copy, 3)
    with Dataset.open(world.copies[copy], readonly=False) as dataset:
        for doc_id in chosen:
            doc = dataset.get(doc_id)
            doc.properties["demoNDI"]["value"] = f"{copy}-{world.rnd.random()}"
            dataset.store.add(doc, replace=True)
    return f"edited {len(chosen)} in {copy}"


def op_delete(world: World, copy: str) -> str:
    chosen = _pick(world, copy, 2)
    if chosen:
        with Dataset.open(world.copies[copy], readonly=False) as dataset:
            dataset.store.remove(chosen, missing_ok=True)
        world.deleted.update(chosen)
    return f"deleted {len(chosen)} in {copy}"


def op_sync(world: World, copy: str) -> str:
    report = two_way_sync(world.copies[copy], options=OPTIONS, client=world.client)
    if not report.success:
        raise SoakFailure(f"two_way_sync of {copy} failed: {report.message}")
    world.just_synced = copy
    return f"synced {copy}"


def op_upload_file(world: World, _: str) -> str:
    uid = new_id()
    source = world.work / f"{uid}.bin"
    payload = world.rnd.randbytes(world.rnd.randint(1, 100_000))
    source.write_bytes(payload)
    put_file(files.get_file_upload_url(world.cloud_id, uid, client=world.client), source, client=world.client)
    source.unlink()
    deadline = time.monotonic() + 20  # the service registers an upload a little later
    while uid not in files.get_uploaded_file_ids(world.cloud_id, client=world.client):
        if time.monotonic() > deadline:
            raise SoakFailure(f"uploaded file {uid} was never registered")
        time.sleep(0.05)
    world.uploaded_files[uid] = len(payload)
    return f"uploaded file {uid}"


OPERATIONS: list[tuple[Callable[[World, str], str], int]] = [
    (op_add, 3), (op_edit, 3), (op_delete, 1), (op_sync, 4), (op_upload_file, 1)]


def check(world: World) -> None:
    """The invariants; raises SoakFailure naming the first that broke."""
    listing = _remote_listing(world)
    repeated = {ndi_id: ids for ndi_id, ids in listing.items() if len(ids) > 1}
    if repeated:
        raise SoakFailure(f"documents in the cloud more than once: {repeated}")
    local = {name: _live(path) for name, path in world.copies.items()}
    seen = set(listing).union(*local.values())
    lost = world.created - world.deleted - seen
    if lost:
        raise SoakFailure(f"documents lost (never deleted, in neither copy nor the cloud): {sorted(lost)}")
    if world.uploaded_files:
        listed = {entry.uid: entry.size for entry in files.list_files(world.cloud_id, client=world.client)}
        wrong = {uid: (size, listed.get(uid)) for uid, size in world.uploaded_files.items() if listed.get(uid) != size}
        if wrong:
            raise SoakFailure(f"uploaded files missing or of another size (sent, listed): {wrong}")
    if world.just_synced is not None:
        remote = _remote_contents(world, listing)
        mine = local[world.just_synced]
        if mine != remote:
            changed = sorted(k for k in set(mine) & set(remote) if mine[k] != remote[k])
            raise SoakFailure(f"{world.just_synced} differs from the cloud right after its sync: only here "
                              f"{sorted(set(mine) - set(remote))}, only in the cloud "
                              f"{sorted(set(remote) - set(mine))}, different {changed}")
        world.just_synced = None


def soak(seed: int, seconds: float, work: Path, *, max_steps: int | None = None,
         log: Callable[[str], None] = lambda _: None) -> int:
    """Run the loop for at most ``seconds`` (and ``max_steps``); the number of steps done.

    Raises SoakFailure (naming seed and step) when an invariant breaks."""
    seconds = min(seconds, MAX_MINUTES * 60)
    rnd = random.Random(seed)
    config = ServerConfig(data_dir=work / "cloud", port=0, faults=FAULTS.format(seed=seed),
                          document_ingest_delay_s=0.02, file_registration_delay_s=0.02, zip_extract_delay_s=0.02,
                          download_delay_s=0.02, worker_interval_s=0.01)
    password = secrets.token_urlsafe(12)
    with running_server(config) as running:
        add_user(Records(running.data_dir), "soak@lab.example", password, "soak-lab")
        with CloudClient(f"{running.base_url}/v1", username="soak@lab.example", password=password, retry=PATIENT,
                         cache=False) as client:
            here = work / "here"
            with Dataset.create(here, "here", with_session_document=False) as dataset:
                first = [_demo(dataset.id, rnd) for _ in range(6)]
                dataset.add_documents(first)
            up = upload_dataset(here, document_chunk=3, client=client)
            if not up.success:
                raise SoakFailure(f"seed {seed}, step 0 (first upload): {up.message}")
            cloud_id = up.cloud_dataset_id or ""
            down = download_dataset(cloud_id, work / "there", client=client)
            if not down.success:
                raise SoakFailure(f"seed {seed}, step 0 (first download): {down.message}")
            world = World(rnd, client, work, cloud_id, {"here": here, "there": Path(down.local_path or "")},
                          created={d.id for d in first})
            deadline = time.monotonic() + seconds
            step = 0
            functions, weights = zip(*OPERATIONS, strict=True)
            while time.monotonic() < deadline and (max_steps is None or step < max_steps):
                step += 1
                operation = rnd.choices(functions, weights)[0]
                copy = rnd.choice(sorted(world.copies))
                try:
                    done = operation(world, copy)
                    check(world)
                except SoakFailure as exc:
                    raise SoakFailure(f"seed {seed}, step {step} ({operation.__name__} on {copy}): {exc}") from None
                log(f"step {step}: {done}")
            return step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="reproduce a run (default: a new random seed)")
    parser.add_argument("--minutes", type=float, default=MAX_MINUTES,
                        help=f"how long to run (at most {MAX_MINUTES:g}; default {MAX_MINUTES:g})")
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    parser.add_argument("--verbose", action="store_true", help="print every step")
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= MAX_MINUTES:
        parser.error(f"--minutes must be more than 0 and at most {MAX_MINUTES:g}")
    seed = secrets.randbelow(1 << 31) if args.seed is None else args.seed
    logging.getLogger("uvicorn.error").addFilter(lambda record: record.levelno < logging.ERROR)  # injected faults
    print(f"soak: seed {seed}, up to {args.minutes:g} minutes", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ndi-soak-") as work:
        try:
            steps = soak(seed, args.minutes * 60, Path(work), max_steps=args.steps,
                         log=print if args.verbose else lambda _: None)
        except SoakFailure as exc:
            print(f"soak FAILED: {exc}\nreproduce: python benchmarks/soak.py --seed {seed}", file=sys.stderr)
            return 1
    print(f"soak: seed {seed}, {steps} steps in {time.monotonic() - started:.0f} s, every invariant held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
