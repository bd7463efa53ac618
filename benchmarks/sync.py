"""two_way_sync of a large dataset against the local server (in its own process): the no-op sync, then a sync
after 1 % of the documents changed on each side.

Each sync runs in a fresh client process, which reports its duration, the requests it made and its peak RSS
(VmHWM). The cloud-side changes are made as another copy of this toolkit makes them: a second local copy is
downloaded, edited, and synced first. Bytes are those through the loopback interface during the sync (HTTP
headers and bodies both ways; on a quiet machine, only this sync's).

    python benchmarks/sync.py [--documents 100000] [--changed 0.01]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

from ndicloud.core import Dataset
from ndicloud.download import download_dataset
from ndicloud.upload import upload_dataset
from transfers import client_for, make_dataset

from harness import add_bench_user, scratch_dir, server_process

SYNC_SCRIPT = """
import json, sys
def peak_rss_mb():
    # VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts from its parent's size at the fork
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
from ndicloud.api import CloudClient
from ndicloud.api.tokens import TokenCache
from ndicloud.sync import SyncOptions, two_way_sync
base, path, cache = sys.argv[1:4]
client = CloudClient(base, username="bench@lab.example", password="bench-password", cache=TokenCache(cache))
report = two_way_sync(path, options=SyncOptions(verbose=False), client=client)
print(json.dumps({"success": report.success, "message": report.message, "seconds": report.duration_s,
                  "requests": report.requests, "counts": report.counts("document"),
                  "peak_rss_mb": peak_rss_mb()}))
"""


def loopback_bytes() -> int:
    """Bytes through the loopback interface so far (every byte goes through it once, both directions)."""
    for line in Path("/proc/net/dev").read_text().splitlines():
        name, _, counters = line.partition(":")
        if name.strip() == "lo":
            return int(counters.split()[0])
    return 0


def measured_sync(base: str, path: Path, work: Path) -> dict[str, object]:
    before = loopback_bytes()
    done = subprocess.run([sys.executable, "-c", SYNC_SCRIPT, base, str(path), str(work / "tokens.json")],
                          capture_output=True, text=True)
    moved = loopback_bytes() - before
    if done.returncode != 0:
        raise RuntimeError(f"the measured sync failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout)
    if not figures["success"]:
        raise RuntimeError(f"the measured sync failed: {figures['message']}")
    figures["loopback_mb"] = round(moved / 1e6, 1)
    return figures


def change(path: Path, fraction: float, *, offset: int, tag: str) -> list[str]:
    """Edit every n-th shareable document (starting at ``offset``) so that ``fraction`` of them change."""
    with Dataset.open(path, readonly=False) as dataset:
        # by ndiId, so that both copies count alike and each offset picks documents no other offset picks
        docs = sorted((d for d in dataset.documents() if d.class_name not in ("dataset_remote", "session")),
                      key=lambda d: d.id)
        step = max(1, round(1 / fraction))
        chosen = docs[offset::step][: max(1, math.floor(len(docs) * fraction))]
        for doc in chosen:
            doc.properties["base"]["name"] = f"{doc.properties['base'].get('name', '')} ({tag})"
        dataset.store.add(chosen, replace=True)
    return [d.id for d in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01, help="fraction changed on each side")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = scratch_dir("ndi-sync-bench-")
    add_bench_user(work / "data")
    figures: dict[str, object] = {"documents": args.documents}
    with server_process(work / "data") as (_, base):
        client = client_for(base, work)
        original = make_dataset(work / "original", args.documents)
        up = upload_dataset(original, client=client)
        assert up.success, up.message
        cloud_id = up.cloud_dataset_id or ""
        # one sync records every document's cloud ids; the no-op is the one after it
        measured_sync(base, original, work)
        figures["noop"] = noop = measured_sync(base, original, work)
        figures["request_budget"] = math.ceil(args.documents / 1000) + 10
        print("no-op two_way_sync:", noop, f"(budget {figures['request_budget']} requests)", flush=True)

        second = download_dataset(cloud_id, work / "second", client=client)
        assert second.success, second.message
        copy = Path(second.local_path or "")
        remote_edits = change(copy, args.changed, offset=0, tag="edited in the other copy")
        pushed = measured_sync(base, copy, work)
        local_edits = change(original, args.changed, offset=1, tag="edited here")
        figures["changed"] = changed = measured_sync(base, original, work)
        figures["changed_each_side"] = {"local": len(local_edits), "remote": len(remote_edits)}
        figures["pushed_from_second_copy"] = pushed
        figures["changed_over_noop"] = round(changed["seconds"] / max(noop["seconds"], 1e-9), 2)
        print(f"after {len(local_edits)} local and {len(remote_edits)} cloud edits:", changed,
              f"({figures['changed_over_noop']}x the no-op time)", flush=True)
        # once more: the first local replacement in a dataset builds DID-SQLite's removal index (kept after)
        change(copy, args.changed, offset=2, tag="edited in the other copy again")
        measured_sync(base, copy, work)
        change(original, args.changed, offset=3, tag="edited here again")
        figures["changed_again"] = again = measured_sync(base, original, work)
        figures["changed_again_over_noop"] = round(again["seconds"] / max(noop["seconds"], 1e-9), 2)
        print("the same again:", again, f"({figures['changed_again_over_noop']}x the no-op time)", flush=True)
        client.close()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
