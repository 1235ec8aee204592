"""The admission gate refuses past its cap before the chain runs, with RetryInfo; health is never gated."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from healthai_server.interceptors.chain import CallInfo
from healthai_server.interceptors.load_shed import RETRY_AFTER_S, AdmissionGate

EXTRACT = CallInfo("/healthai.v1.ClinicalExtractionService/ExtractClinicalData", False, False)
HEALTH = CallInfo("/grpc.health.v1.Health/Check", False, False)


class _Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: Any) -> None:
        super().__init__(details)
        self.code, self.details, self.trailing_metadata = code, details, trailing_metadata


class _Context:
    async def abort(self, code: grpc.StatusCode, details: str, trailing_metadata: Any = ()) -> None:
        raise _Aborted(code, details, trailing_metadata)


def _status(aborted: _Aborted) -> status_pb2.Status:
    (blob,) = [value for key, value in aborted.trailing_metadata if key == "grpc-status-details-bin"]
    return status_pb2.Status.FromString(blob)


CONTEXT: Any = _Context()


async def test_past_the_cap_calls_are_refused_without_running_the_chain() -> None:
    shed: list[str] = []
    gate = AdmissionGate(max_in_flight=2, on_shed=shed.append)
    release = asyncio.Event()
    ran = 0

    async def chain(request: Any, context: Any) -> str:
        nonlocal ran
        ran += 1
        await release.wait()
        return "done"

    admitted = gate.wrap(EXTRACT, chain)
    running = [asyncio.ensure_future(admitted(None, CONTEXT)) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(_Aborted) as caught:
        await admitted(None, CONTEXT)
    assert ran == 2 and shed == ["server"] and gate.in_flight == 2
    assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = _status(caught.value)
    info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info) and info.reason == "OVERLOADED"
    assert status.details[1].Unpack(retry) and retry.retry_delay.ToMilliseconds() == RETRY_AFTER_S * 1000
    release.set()
    assert await asyncio.gather(*running) == ["done", "done"]
    assert gate.in_flight == 0
    assert await admitted(None, CONTEXT) == "done"  # capacity is back


async def test_health_is_never_gated() -> None:
    gate = AdmissionGate(max_in_flight=0)

    async def chain(request: Any, context: Any) -> str:
        return "SERVING"

    assert await gate.wrap(HEALTH, chain)(None, CONTEXT) == "SERVING"
