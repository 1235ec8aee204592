"""The Anthropic Claude backend: forced tool use, validated, grounded, priced.

One extraction is at most two Messages API calls: the answer, and when it fails the schema
(stage 1), one repair call that returns the validation errors to the model as an error
tool_result. A second failure is InvalidOutput. The SDK's own retries are off
(max_retries=0): the resilience layer retries, and the two must never multiply.

Note text leaves the process only for a tenant covered by a BAA, or through the PHI guard
(and then spans are mapped back to the original note). Otherwise nothing is sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar, cast

import anthropic
from anthropic.types import Message, MessageParam, ToolChoiceToolParam, ToolParam, ToolUseBlock

from healthai_server.backends.anthropic.mapping import AnswerMapper
from healthai_server.backends.anthropic.schema import SCHEMAS, TOOL_NAME, tool_definition
from healthai_server.backends.anthropic.sdk_errors import map_sdk_error
from healthai_server.backends.base import BackendRequest, BackendResult, Deadline
from healthai_server.backends.egress import EgressGuard, GuardedText, OutboundGate, PhiGuard
from healthai_server.backends.errors import BackendTimeout, InvalidOutput
from healthai_server.cost.pricing import PriceTable
from healthai_server.domain.clinical import EntityType
from healthai_server.domain.provenance import PromptRef, Provenance, TokenUsage
from healthai_server.prompts import Prompt, PromptRegistry
from healthai_server.validation import schema as schema_validation
from healthai_server.validation.rules import ClinicalRules

__all__ = ["DEFAULT_MODEL", "AnthropicBackend", "GuardedText", "PhiGuard"]

DEFAULT_MODEL = "claude-sonnet-4-6"
MAX_SUMMARY_CHARS = 2_000
_T = TypeVar("_T")
_FORCED_TOOL: ToolChoiceToolParam = {"type": "tool", "name": TOOL_NAME}


def add_usage(total: TokenUsage, usage: anthropic.types.Usage | None) -> TokenUsage:
    if usage is None:
        return total
    return TokenUsage(
        input_tokens=total.input_tokens + (usage.input_tokens or 0),
        output_tokens=total.output_tokens + (usage.output_tokens or 0),
        cache_read_input_tokens=total.cache_read_input_tokens + (usage.cache_read_input_tokens or 0),
        cache_creation_input_tokens=total.cache_creation_input_tokens + (usage.cache_creation_input_tokens or 0),
    )


class AnthropicBackend:
    """ExtractionBackend over the Messages API.

    The client is configured the SDK's own way: ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL are
    honoured unless `api_key` / `base_url` are given. Trace context is not propagated to the
    provider (open_telemetry propagation off): our trace ids stay inside.
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        prompts: PromptRegistry | None = None,
        prices: PriceTable | None = None,
        rules: ClinicalRules | None = None,
        baa_tenants: frozenset[str] = frozenset(),
        phi_guard: PhiGuard | None = None,
        egress_guard: EgressGuard | None = None,
        extraction_prompt: tuple[str, str | None] = ("clinical_extraction", None),
        summary_prompt: tuple[str, str | None] = ("note_summary", None),
        max_tokens: int = 4096,
        summary_max_tokens: int = 600,
        timeout_s: float = 30.0,
        api_key: str | None = None,
        base_url: str | None = None,
        client: anthropic.AsyncAnthropic | None = None,
        name: str = "anthropic",
    ) -> None:
        self._name = name
        self._model = model
        self._prices = prices or PriceTable()
        self._prices.price(model)  # an unpriced model is a configuration error, found at start-up
        registry = prompts or PromptRegistry()
        self._extraction_prompt = registry.get(*extraction_prompt)
        self._summary_prompt = registry.get(*summary_prompt)
        if self._extraction_prompt.schema not in SCHEMAS:
            raise ValueError(
                f"prompt {self._extraction_prompt.id} expects unknown schema {self._extraction_prompt.schema}"
            )
        self._schema = SCHEMAS[self._extraction_prompt.schema]
        self._tool = cast(ToolParam, tool_definition(self._extraction_prompt.schema))
        self._rules = rules or ClinicalRules.load()
        # Requests from the pipeline carry their own gate (its PHI guard stage); this one
        # serves direct callers and summaries.
        self._egress_guard = egress_guard or EgressGuard(baa_tenants, phi_guard)
        self._max_tokens = max_tokens
        self._summary_max_tokens = summary_max_tokens
        self._timeout_s = timeout_s
        self._client = client or anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout_s,
            open_telemetry={"propagation": False},
        )
        self._rendered: dict[str, str] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> str:
        return self._model

    @property
    def prompt(self) -> PromptRef:
        return self._extraction_prompt.ref

    def admits(self, request: BackendRequest) -> bool:
        """False when the note may not be sent for this tenant (checked before any breaker or retry)."""
        return self._gate(request).permits()

    async def warm(self) -> None:
        """Load the ICD-10-CM code set off the event loop; call at start-up."""
        if not self._rules.codes.warmed:
            await asyncio.to_thread(self._rules.warm)

    async def close(self) -> None:
        await self._client.close()

    # -- extraction --------------------------------------------------------------------------

    async def extract(self, request: BackendRequest) -> BackendResult:
        started = time.perf_counter()
        gate = self._gate(request)
        outbound = await gate.prepare()
        deadline = request.deadline or Deadline.after(self._timeout_s)
        await self.warm()
        system = self._system_prompt(request)
        messages: list[MessageParam] = [{"role": "user", "content": f"<note>\n{outbound.text}\n</note>"}]
        usage = TokenUsage()
        # Recorded before the call: once the request is on the wire the text has left,
        # whether or not an answer comes back.
        gate.release(self._name)
        response = await self._create(system, messages, deadline, self._max_tokens, tools=True)
        usage = add_usage(usage, response.usage)
        answer, errors, block = self._parse(response)
        if errors:
            # Stage 1 failed: one repair attempt with the errors, then it is the backend's failure.
            messages.extend(self._repair_messages(response, block, errors))
            response = await self._create(system, messages, deadline, self._max_tokens, tools=True)
            usage = add_usage(usage, response.usage)
            answer, errors, block = self._parse(response)
            if errors:
                raise InvalidOutput("the model's answer failed schema validation twice", errors=tuple(errors))
        assert answer is not None
        mapper = AnswerMapper(outbound.text, outbound.to_original, self._rules)
        mapped = mapper.map(answer, request.options)
        # Grounding by quote happened in the mapping (offsets from a model are never trusted);
        # span checks and clinical rules are the pipeline's validation stage, as for every backend.
        data = mapped.data
        model = response.model or self._model
        return BackendResult(
            data=data,
            provenance=Provenance(
                backend=self._name,
                model=model,
                prompt=self._extraction_prompt.ref,
                latency_s=time.perf_counter() - started,
                token_usage=usage,
                cost_micros=self._cost(model, usage),
            ),
            ungrounded_dropped=mapped.ungrounded_dropped,
        )

    async def summarize(self, text: str, deadline: Deadline, *, tenant: str) -> tuple[str, Provenance]:
        """A short summary of a note (AnalyzeNote's optional summary)."""
        started = time.perf_counter()
        outbound = await self._egress_guard.outbound(text, tenant)
        system = self._render(self._summary_prompt, {"max_sentences": "5"})
        messages: list[MessageParam] = [{"role": "user", "content": f"<note>\n{outbound.text}\n</note>"}]
        response = await self._create(system, messages, deadline, self._summary_max_tokens, tools=False)
        usage = add_usage(TokenUsage(), response.usage)
        summary = " ".join(b.text.strip() for b in response.content if b.type == "text" and b.text.strip()).strip()
        if not summary:
            raise InvalidOutput("the model returned an empty summary")
        if len(summary) > MAX_SUMMARY_CHARS:
            summary = summary[:MAX_SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"
        model = response.model or self._model
        return summary, Provenance(
            backend=self._name,
            model=model,
            prompt=self._summary_prompt.ref,
            latency_s=time.perf_counter() - started,
            token_usage=usage,
            cost_micros=self._cost(model, usage),
        )

    # -- pieces --------------------------------------------------------------------------------

    def _gate(self, request: BackendRequest) -> OutboundGate:
        return request.outbound or self._egress_guard.gate(request.text, request.tenant, request.egress)

    def _system_prompt(self, request: BackendRequest) -> str:
        kinds = [kind for kind in EntityType if request.options.wants(kind)]
        names = ", ".join(kind.value.replace("_", " ") for kind in kinds)
        return self._render(self._extraction_prompt, {"tool_name": TOOL_NAME, "entity_kinds": names})

    def _render(self, prompt: Prompt, variables: Mapping[str, str]) -> str:
        key = f"{prompt.id}@{prompt.version}|" + "|".join(f"{k}={v}" for k, v in sorted(variables.items()))
        rendered = self._rendered.get(key)
        if rendered is None:
            rendered = prompt.render(variables)
            if len(self._rendered) < 256:
                self._rendered[key] = rendered
        return rendered

    async def _create(
        self, system: str, messages: list[MessageParam], deadline: Deadline, max_tokens: int, *, tools: bool
    ) -> Message:
        remaining = min(deadline.remaining(), self._timeout_s)
        if remaining <= 0:
            raise BackendTimeout("no time left for the Anthropic API call")
        return await _sdk_call(
            self._client.messages.create(
                model=self._model,
                max_tokens=max_tokens,
                system=system,
                messages=messages,
                tools=[self._tool] if tools else anthropic.omit,
                tool_choice=_FORCED_TOOL if tools else anthropic.omit,
                timeout=remaining,
            )
        )

    def _parse(self, response: Message) -> tuple[dict[str, Any] | None, list[str], ToolUseBlock | None]:
        block = next((b for b in response.content if b.type == "tool_use" and b.name == TOOL_NAME), None)
        if block is None:
            return None, [f"$: the answer must be a call of the tool {TOOL_NAME}"], None
        raw: object = block.input
        if not isinstance(raw, dict):
            return None, ["$: the tool input must be a JSON object"], block
        errors = schema_validation.validate(raw, self._schema)
        return (None if errors else raw), errors, block

    def _repair_messages(self, response: Message, block: ToolUseBlock | None, errors: list[str]) -> list[MessageParam]:
        listing = "\n".join(f"- {e}" for e in errors)
        feedback = f"The tool input failed validation:\n{listing}\nCall {TOOL_NAME} again with a corrected input."
        if block is None:
            texts = " ".join(b.text for b in response.content if b.type == "text")
            return [
                {"role": "assistant", "content": texts or "(no answer)"},
                {"role": "user", "content": feedback},
            ]
        tool_input = block.input if isinstance(block.input, dict) else {}
        return [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": block.id, "name": block.name, "input": tool_input}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": block.id, "is_error": True, "content": feedback}],
            },
        ]

    def _cost(self, model: str, usage: TokenUsage) -> int:
        priced = model if self._prices.knows(model) else self._model
        return self._prices.cost_micros(priced, usage)


async def _sdk_call(call: Awaitable[_T]) -> _T:
    try:
        return await call
    except anthropic.AnthropicError as exc:
        raise map_sdk_error(exc) from None
