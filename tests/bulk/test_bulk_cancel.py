"""What a cancelled, timed-out or disk-full bulk job raises (issue 24, item 6): the
cancellation, TimeoutError or the journal's error, never an anyio task-group error."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import random
from pathlib import Path
from typing import Any

import pytest

from okta_connections.bulk.job import BulkJob
from okta_connections.bulk.journal import Journal


async def _sleepy(client: Any, item: int) -> int:
    await asyncio.sleep(random.uniform(0, 0.002))
    return item


def _job(items: int = 60, journal: Journal | None = None) -> BulkJob[int]:
    return BulkJob(
        object(), _sleepy, [f"app{i}" for i in range(items)], operation="get",
        concurrency=4, journal=journal, key=str,
    )  # fmt: skip


async def _consume(job: BulkJob[int], how: str) -> None:
    if how == "run":
        await job.run()
    elif how == "iter":
        async for _ in job:
            pass
    else:
        async with job:
            async for _ in job:
                await asyncio.sleep(0)


@pytest.mark.parametrize("how", ["run", "iter", "with"])
async def test_cancelled_or_timed_out_jobs_raise_only_that(how: str) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    random.seed(seed)
    for round_ in range(100):
        delay = rng.uniform(0, 0.012)
        job = _job()
        try:
            if rng.random() < 0.5:
                task = asyncio.create_task(_consume(job, how))
                await asyncio.sleep(delay)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            else:
                try:
                    async with asyncio.timeout(delay):
                        await _consume(job, how)
                except TimeoutError:
                    pass
        except BaseException as exc:
            pytest.fail(f"seed {seed}, round {round_}: {how} raised {exc!r}")
        assert not job._inflight, f"seed {seed}, round {round_}"


@pytest.mark.parametrize("how", ["run", "iter", "with"])
async def test_a_full_disk_raises_the_journals_error_not_a_group(how: str, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "job.jsonl")
    write = journal.write
    count = [0]

    def full(*args: Any, **kwargs: Any) -> None:
        count[0] += 1
        if count[0] > 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(*args, **kwargs)

    journal.write = full  # type: ignore[method-assign]
    with pytest.raises(OSError, match="No space") as caught:
        await _consume(_job(journal=journal), how)
    assert caught.value.errno == errno.ENOSPC
    assert not isinstance(caught.value, BaseExceptionGroup)
