"""Draining: new calls are refused as retryable while running ones finish."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from healthai_server.domain.errors import ShuttingDown
from healthai_server.interceptors.chain import CallInfo
from healthai_server.interceptors.draining import DrainingInterceptor

CALL = CallInfo("/healthai.v1.ClinicalExtractionService/ExtractClinicalData", False, False)


async def test_running_calls_finish_and_new_ones_are_refused_as_shutting_down() -> None:
    draining = DrainingInterceptor()
    release = asyncio.Event()

    async def slow(_request: Any, _context: Any) -> str:
        await release.wait()
        return "done"

    running = asyncio.ensure_future(draining.intercept(CALL, None, None, slow))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert draining.in_flight == 1
    drained = asyncio.ensure_future(draining.drain(timeout_s=5))
    await asyncio.sleep(0)
    with pytest.raises(ShuttingDown) as caught:
        await draining.intercept(CALL, None, None, slow)  # type: ignore[arg-type]
    assert caught.value.reason == "SHUTTING_DOWN" and caught.value.retry_after_s > 0
    assert not drained.done()
    release.set()
    assert await running == "done"
    assert await drained is True


async def test_drain_gives_up_after_the_grace_period() -> None:
    draining = DrainingInterceptor()

    async def forever(_request: Any, _context: Any) -> None:
        await asyncio.sleep(60)

    running = asyncio.ensure_future(draining.intercept(CALL, None, None, forever))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert await draining.drain(timeout_s=0.05) is False
    running.cancel()
