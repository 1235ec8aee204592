"""UsageService: LLM usage and cost from the ledger, per tenant."""

from __future__ import annotations

from typing import Any

from grpc import aio
from healthai.v1 import common_pb2, usage_service_pb2, usage_service_pb2_grpc

from healthai_server.domain.errors import PermissionDenied
from healthai_server.scope import current_scope
from healthai_server.storage.usage import UsageGroup, UsageGrouping, UsageLedger

_GROUPING = {
    usage_service_pb2.USAGE_GROUPING_MODEL: UsageGrouping.MODEL,
    usage_service_pb2.USAGE_GROUPING_PROMPT_VERSION: UsageGrouping.PROMPT_VERSION,
    usage_service_pb2.USAGE_GROUPING_DAY: UsageGrouping.DAY,
}


def _group_to_pb(group: UsageGroup) -> usage_service_pb2.UsageGroup:
    u = group.usage
    return usage_service_pb2.UsageGroup(
        key=group.key,
        requests=group.requests,
        cost_micros=group.cost_micros,
        cache_hits=group.cache_hits,
        tokens=common_pb2.TokenUsage(
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_read_input_tokens=u.cache_read_input_tokens,
            cache_creation_input_tokens=u.cache_creation_input_tokens,
        ),
    )


class UsageServicer(usage_service_pb2_grpc.UsageServiceServicer):
    def __init__(self, ledger: UsageLedger) -> None:
        self._ledger = ledger

    async def GetUsage(
        self, request: usage_service_pb2.GetUsageRequest, context: aio.ServicerContext[Any, Any]
    ) -> usage_service_pb2.GetUsageResponse:
        scope = current_scope()
        tenant = request.tenant or scope.principal.tenant
        if tenant != scope.principal.tenant and "admin" not in scope.principal.roles:
            raise PermissionDenied("only admins may read another tenant's usage")
        page = await self._ledger.summarize(
            tenant,
            request.start_time.ToDatetime(),
            request.end_time.ToDatetime(),
            _GROUPING[request.group_by],
            page_size=request.page_size or 100,
            page_token=request.page_token,
        )
        scope.details.update(usage_tenant=tenant, groups=len(page.groups))
        return usage_service_pb2.GetUsageResponse(
            audit_id=scope.audit_id,
            tenant=tenant,
            groups=[_group_to_pb(g) for g in page.groups],
            total=_group_to_pb(page.total),
            next_page_token=page.next_page_token,
        )
