"""The SDK on its own: error classes from rich statuses, and the health check, against a
real in-process gRPC server. Needs only the SDK's dependencies and pytest, so it runs in
the fresh venv that tests/contract/test_sdk_standalone.py builds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import healthai
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from healthai import _health
from healthai.errors import (
    DeadlineExceededError,
    HealthAIError,
    InvalidArgumentError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    error_class,
)


def _packed(*details: Any) -> list[any_pb2.Any]:
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return packed


# What the fake server answers per note text: (code, details).
_ANSWERS: dict[str, tuple[int, list[any_pb2.Any]]] = {
    "invalid": (
        code_pb2.INVALID_ARGUMENT,
        _packed(
            error_details_pb2.ErrorInfo(reason="NOTE_EMPTY", domain="healthai", metadata={"audit_id": "a-1"}),
            error_details_pb2.BadRequest(
                field_violations=[error_details_pb2.BadRequest.FieldViolation(field="text", description="empty")]
            ),
        ),
    ),
    "unauthenticated": (code_pb2.UNAUTHENTICATED, _packed(error_details_pb2.ErrorInfo(reason="TOKEN_EXPIRED"))),
    "denied": (code_pb2.PERMISSION_DENIED, []),
    "overloaded": (
        code_pb2.RESOURCE_EXHAUSTED,
        _packed(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=1, nanos=500_000_000))),
    ),
    "budget": (
        code_pb2.RESOURCE_EXHAUSTED,
        _packed(
            error_details_pb2.QuotaFailure(
                violations=[error_details_pb2.QuotaFailure.Violation(subject="tenant:t", description="daily")]
            )
        ),
    ),
    "unavailable": (
        code_pb2.UNAVAILABLE,
        _packed(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2))),
    ),
    "late": (code_pb2.DEADLINE_EXCEEDED, []),
    "internal": (code_pb2.INTERNAL, []),
}


def _extract(request: bytes, context: grpc.ServicerContext) -> bytes:
    from healthai.v1 import extraction_service_pb2

    text = extraction_service_pb2.ExtractClinicalDataRequest.FromString(request).text
    code, details = _ANSWERS[text]
    context.abort_with_status(rpc_status.to_status(status_pb2.Status(code=code, message=text, details=details)))
    raise AssertionError("unreachable")


def _health_check(request: Any, context: grpc.ServicerContext) -> Any:
    return _health.HealthCheckResponse(status=1 if request.service == "" else 3)


class _Handler(grpc.GenericRpcHandler):
    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        if method == "/healthai.v1.ClinicalExtractionService/ExtractClinicalData":
            return grpc.unary_unary_rpc_method_handler(_extract)
        if method == _health.CHECK_METHOD:
            return grpc.unary_unary_rpc_method_handler(
                _health_check,
                request_deserializer=_health.HealthCheckRequest.FromString,
                response_serializer=_health.HealthCheckResponse.SerializeToString,
            )
        return None


@pytest.fixture(scope="module")
def client() -> Iterator[healthai.HealthAIClient]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((_Handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with healthai.HealthAIClient(f"127.0.0.1:{port}", token="t", timeout_s=5) as sdk:
        yield sdk
    server.stop(None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("invalid", InvalidArgumentError),
        ("unauthenticated", UnauthenticatedError),
        ("denied", PermissionDeniedError),
        ("overloaded", ResourceExhaustedError),
        ("unavailable", UnavailableError),
        ("late", DeadlineExceededError),
    ],
)
def test_each_status_raises_its_own_class_and_still_a_healthai_error(
    client: healthai.HealthAIClient, text: str, expected: type[HealthAIError]
) -> None:
    with pytest.raises(expected) as caught:
        client.extract(text)
    assert isinstance(caught.value, HealthAIError)
    assert caught.value.message == text


def test_an_unmapped_code_is_the_base_class(client: healthai.HealthAIClient) -> None:
    with pytest.raises(HealthAIError) as caught:
        client.extract("internal")
    assert type(caught.value) is HealthAIError
    assert caught.value.code is grpc.StatusCode.INTERNAL


def test_invalid_argument_carries_field_violations_reason_and_audit_id(client: healthai.HealthAIClient) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        client.extract("invalid")
    error = caught.value
    assert error.field_violations == [("text", "empty")]
    assert error.reason == "NOTE_EMPTY"
    assert error.audit_id == "a-1"  # from ErrorInfo (abort_with_status drops earlier trailers)
    assert not error.retryable
    assert "field text: empty" in error.describe()


def test_overload_carries_its_retry_delay_and_a_budget_its_quota(client: healthai.HealthAIClient) -> None:
    with pytest.raises(ResourceExhaustedError) as caught:
        client.extract("overloaded")
    assert caught.value.retry_after_s == 1.5
    assert caught.value.retryable
    with pytest.raises(ResourceExhaustedError) as caught:
        client.extract("budget")
    assert caught.value.quota_violations == [("tenant:t", "daily")]
    assert caught.value.retry_after_s is None
    assert not caught.value.retryable


def test_unavailable_is_retryable_with_its_delay(client: healthai.HealthAIClient) -> None:
    with pytest.raises(UnavailableError) as caught:
        client.extract("unavailable")
    assert caught.value.retryable
    assert caught.value.retry_after_s == 2.0


def test_error_class_table() -> None:
    classes: dict[grpc.StatusCode, Callable[..., HealthAIError]] = {
        grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
        grpc.StatusCode.NOT_FOUND: HealthAIError,
    }
    for code, cls in classes.items():
        assert error_class(code) is cls


def test_health_check_without_the_health_package(client: healthai.HealthAIClient) -> None:
    assert client.health() == "SERVING"
    assert client.health("some.Service") == "SERVICE_UNKNOWN"


def test_cli_help_runs() -> None:
    from healthai.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["extract", "-", "--format", "fhir", "--patient", "Patient/1"])
    assert args.patient == "Patient/1"
