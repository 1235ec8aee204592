"""One OpenTelemetry server span per RPC, continuing the caller's W3C trace context.

With no SDK configured the global tracer is a no-op; observability/tracing.py installs
an OTLP exporter when the standard OTEL_* variables ask for one. Attributes are ids
and codes only.
"""

from __future__ import annotations

from typing import Any

from grpc import aio
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.interceptors.outcome import status_name
from healthai_server.scope import current_scope


class TracingInterceptor:
    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        self._tracer = tracer or trace.get_tracer("healthai.server")

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        carrier = {key: value for key, value in (context.invocation_metadata() or ()) if isinstance(value, str)}
        parent = propagate.extract(carrier)
        service, _, method = call.method.lstrip("/").partition("/")
        scope = current_scope()
        with self._tracer.start_as_current_span(
            call.method.lstrip("/"),
            context=parent,
            kind=SpanKind.SERVER,
            record_exception=False,  # exception messages may quote note text
            set_status_on_exception=False,
            attributes={
                "rpc.system": "grpc",
                "rpc.service": service,
                "rpc.method": method,
                "healthai.audit_id": scope.audit_id,
            },
        ) as span:
            error: BaseException | None = None
            try:
                return await proceed(request, context)
            except BaseException as exc:
                error = exc
                raise
            finally:
                code = status_name(context, error)
                span.set_attribute("rpc.grpc.status_code", code)
                span.set_attribute("healthai.tenant", scope.principal.tenant)
                for key in ("backend", "model", "prompt_version", "degraded_reason"):
                    if key in scope.details:
                        span.set_attribute(f"healthai.{key}", str(scope.details[key]))
                if code != "OK":
                    span.set_status(Status(StatusCode.ERROR, code))
