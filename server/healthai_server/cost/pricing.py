"""Token usage x price table -> cost in integer micro-US-dollars, exactly.

Prices are USD per million tokens. A price of P USD/Mtok is P micro-dollars per token, so
the cost of a request is sum(tokens x price) micro-dollars, computed in Decimal and rounded
once, half up, to an integer. No float ever touches money.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from healthai_server.domain.provenance import TokenUsage

# A dated snapshot of a priced alias: "-20250929", "@20250929", optionally a "-v1:0" suffix.
# Any other suffix ("claude-opus-4-6" vs "claude-opus-4") is a different model with its own price.
_DATED = re.compile(r"[-@]\d{8}(?:-v\d+(?::\d+)?)?")


class UnknownModelPrice(KeyError):
    """The price table has no entry for a model: refuse to run it unpriced."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens for each kind of token."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal

    @classmethod
    def of(cls, input: str, output: str, cache_read: str, cache_write: str) -> ModelPrice:
        return cls(Decimal(input), Decimal(output), Decimal(cache_read), Decimal(cache_write))

    def cost_micros(self, usage: TokenUsage) -> int:
        total = (
            self.input * usage.input_tokens
            + self.output * usage.output_tokens
            + self.cache_read * usage.cache_read_input_tokens
            + self.cache_write * usage.cache_creation_input_tokens
        )
        return int(total.to_integral_value(rounding=ROUND_HALF_UP))


# Public list prices (USD per million tokens; cache write = 5-minute TTL write). Override from
# config when they change: a wrong price here is a billing error, so keep it data, not code.
# USD per million tokens (input, output, cache read, 5-minute cache write), from the provider's
# published price list; override or extend through the `llm_prices` setting.
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "claude-opus-5": ModelPrice.of("5", "25", "0.50", "6.25"),
    "claude-opus-4-8": ModelPrice.of("5", "25", "0.50", "6.25"),
    "claude-opus-4-7": ModelPrice.of("5", "25", "0.50", "6.25"),
    "claude-opus-4-6": ModelPrice.of("5", "25", "0.50", "6.25"),
    "claude-sonnet-5": ModelPrice.of("2", "10", "0.20", "2.50"),
    "claude-sonnet-4-6": ModelPrice.of("3", "15", "0.30", "3.75"),
    "claude-opus-4-5": ModelPrice.of("5", "25", "0.50", "6.25"),
    "claude-opus-4-1": ModelPrice.of("15", "75", "1.50", "18.75"),
    "claude-opus-4": ModelPrice.of("15", "75", "1.50", "18.75"),
    "claude-sonnet-4-5": ModelPrice.of("3", "15", "0.30", "3.75"),
    "claude-sonnet-4": ModelPrice.of("3", "15", "0.30", "3.75"),
    "claude-3-7-sonnet": ModelPrice.of("3", "15", "0.30", "3.75"),
    "claude-haiku-4-5": ModelPrice.of("1", "5", "0.10", "1.25"),
    "claude-3-5-haiku": ModelPrice.of("0.80", "4", "0.08", "1"),
}


class PriceTable:
    """Prices by model id. A dated id ("claude-sonnet-4-5-20250929") takes its alias's price."""

    def __init__(self, prices: Mapping[str, ModelPrice] | None = None) -> None:
        self._prices = dict(DEFAULT_PRICES if prices is None else prices)

    def with_overrides(self, overrides: Mapping[str, Mapping[str, object]]) -> PriceTable:
        """A copy with prices from config, e.g. {"claude-sonnet-4-5": {"input": "3", "output": "15", ...}}.

        Values are strings or numbers; floats are read through their repr so "0.3" stays 0.3.
        A model given only some kinds keeps the other kinds of its existing price (or 0 if new).
        """
        merged = dict(self._prices)
        for model, fields in overrides.items():
            base = merged.get(model, ModelPrice(Decimal(0), Decimal(0), Decimal(0), Decimal(0)))
            values = {"input": base.input, "output": base.output, "cache_read": base.cache_read}
            values["cache_write"] = base.cache_write
            for kind, raw in fields.items():
                if kind not in values:
                    raise ValueError(
                        f"prices.{model}.{kind}: unknown token kind (input, output, cache_read, cache_write)"
                    )
                try:
                    price = Decimal(str(raw))
                except InvalidOperation as exc:
                    raise ValueError(f"prices.{model}.{kind}: not a number") from exc
                if price < 0 or not price.is_finite():
                    raise ValueError(f"prices.{model}.{kind}: must be a non-negative number")
                values[kind] = price
            merged[model] = ModelPrice(**values)
        return PriceTable(merged)

    def price(self, model: str) -> ModelPrice:
        if model in self._prices:
            return self._prices[model]
        matches = [key for key in self._prices if _DATED.fullmatch(model[len(key) :]) and model.startswith(key)]
        if not matches:
            raise UnknownModelPrice(model)
        return self._prices[max(matches, key=len)]

    def knows(self, model: str) -> bool:
        try:
            self.price(model)
        except UnknownModelPrice:
            return False
        return True

    def cost_micros(self, model: str, usage: TokenUsage) -> int:
        return self.price(model).cost_micros(usage)
