"""Ctrl-C during the uploads stops the queued ones (issue 9, item 15).

The interrupt arrives in the main thread (where Python delivers SIGINT) while uploads are in
flight in worker threads: here through the progress callback, which the sync calls in the main
thread after each finished upload. Only the uploads already in flight may finish, not the queue.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sync_fixtures import BUCKET, is_manifest

from sync.run import SyncOptions, run_sync

STACKS = 24
WORKERS = 2


def test_ctrl_c_during_uploads_cancels_the_queued_ones(repo, aws):
    for i in range(STACKS):
        repo.put(f"s{i:02d}")
    started: list[str] = []
    lock = threading.Lock()

    def slow_put(params: dict, **_: Any) -> None:
        if not is_manifest(params):
            with lock:
                started.append(params["Key"])
            time.sleep(0.2)

    aws.s3.meta.events.register("provide-client-params.s3.PutObject", slow_put)

    def progress(label: str, total: int):
        def done(_: str) -> None:
            if label == "uploading":
                raise KeyboardInterrupt
        return done

    with pytest.raises(KeyboardInterrupt):
        run_sync(repo.root, aws.s3, aws.codepipeline,
                 SyncOptions(bucket=BUCKET, workers=WORKERS, jobs=1, start=False),
                 progress=progress, lint=False)
    time.sleep(1.0)  # anything still queued would have started by now
    # at most what the workers had in flight when the interrupt came (each may have picked up
    # one more between finishing an upload and the main thread cancelling): never the queue
    assert len(started) <= 2 * WORKERS < STACKS, started
    # nothing was recorded: the manifest is written after the uploads
    assert aws.manifest() == {}
