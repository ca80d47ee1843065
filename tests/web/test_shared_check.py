"""SharedCheck alone: one run for concurrent callers, an answer reused for a moment, and no cancellation."""

from __future__ import annotations

import asyncio

from web.shared_check import SharedCheck


def counting_check(delay_s: float = 0.05) -> tuple[SharedCheck[int], list[int]]:
    runs: list[int] = []

    async def check() -> int:
        runs.append(1)
        await asyncio.sleep(delay_s)
        return len(runs)

    return SharedCheck(check, max_age_s=0.2), runs


def test_concurrent_callers_share_one_run():
    async def scenario() -> list[int]:
        shared, runs = counting_check()
        return [*await asyncio.gather(*(shared() for _ in range(128))), len(runs)]

    *answers, runs = asyncio.run(scenario())

    assert answers == [1] * 128 and runs == 1


def test_an_answer_is_reused_until_it_is_max_age_old():
    async def scenario() -> list[int]:
        shared, _ = counting_check(delay_s=0)
        first, again = await shared(), await shared()
        await asyncio.sleep(0.25)
        return [first, again, await shared()]

    assert asyncio.run(scenario()) == [1, 1, 2]


def test_a_caller_that_goes_away_does_not_cancel_the_others_check():
    async def scenario() -> int:
        shared, _ = counting_check(delay_s=0.1)
        impatient = asyncio.ensure_future(shared())
        patient = asyncio.ensure_future(shared())
        await asyncio.sleep(0.01)
        impatient.cancel()
        return await patient

    assert asyncio.run(scenario()) == 1
