"""The standard gRPC health check (grpc.health.v1.Health/Check) without grpcio-health-checking.

The SDK promises three dependencies (grpcio, grpcio-status, protobuf); the health package
would be a fourth for two tiny messages. Their descriptors are built here in a private
pool, so this never clashes with grpc_health's registration when both are imported (the
server's process does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

CHECK_METHOD = "/grpc.health.v1.Health/Check"


def _messages() -> tuple[Any, Any]:
    proto = descriptor_pb2.FileDescriptorProto(name="healthai/_health.proto", package="grpc.health.v1", syntax="proto3")
    request = proto.message_type.add(name="HealthCheckRequest")
    request.field.add(name="service", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING, label=1)
    response = proto.message_type.add(name="HealthCheckResponse")
    status = response.enum_type.add(name="ServingStatus")
    for number, name in enumerate(("UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN")):
        status.value.add(name=name, number=number)
    response.field.add(
        name="status",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_ENUM,
        type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus",
        label=1,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckRequest")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckResponse")),
    )


HealthCheckRequest, HealthCheckResponse = _messages()
_STATUS_NAMES = HealthCheckResponse.DESCRIPTOR.enum_types_by_name["ServingStatus"].values_by_number


def check_callable(channel: grpc.Channel) -> Callable[..., Any]:
    return channel.unary_unary(
        CHECK_METHOD,
        request_serializer=HealthCheckRequest.SerializeToString,
        response_deserializer=HealthCheckResponse.FromString,
    )


def status_name(response: Any) -> str:
    """SERVING, NOT_SERVING, SERVICE_UNKNOWN or UNKNOWN."""
    value = _STATUS_NAMES.get(int(response.status))
    return str(value.name) if value is not None else "UNKNOWN"
