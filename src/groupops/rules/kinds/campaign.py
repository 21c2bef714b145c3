"""The campaign kind: a label transition tracked against a target (move B+ members to A,
20% of them in a day). It decides nothing: :meth:`Engine.campaign` and ``groupops
campaign`` report on it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, model_validator

from ..._i18n import messages
from ..._model import Time
from .._conditions import Condition
from ._registry import Kind, PolicyBase
from ._selection import SegmentField

__all__ = ["KIND", "Campaign", "CampaignKind", "campaign_rate"]


def _percent(value: Any) -> Any:
    """``20%`` -> 0.2; a number is a fraction already (0.2)."""
    if isinstance(value, str):
        text = value.strip()
        if not text.endswith("%"):
            raise ValueError(f"{value!r} is not a target like '20%' or 0.2")
        try:
            return float(text[:-1]) / 100
        except ValueError:
            raise ValueError(f"{value!r} is not a target like '20%' or 0.2") from None
    return value


Fraction = Annotated[float, BeforeValidator(_percent), Field(ge=0, le=1)]


class Campaign(PolicyBase):
    """Track how many members of ``segment`` at ``start`` reach ``goal`` by ``end``,
    against ``target`` (a share: ``20%`` or ``0.2``). Decides nothing.

    The segment is taken at ``start`` (labels as the store's label history says they
    were then; events up to then); the goal is judged at ``end`` (or at the moment asked,
    while the campaign runs). Conditions count events in every group.
    """

    type: Literal["campaign"] = "campaign"
    segment: SegmentField
    goal: Condition
    start: Time
    end: Time
    target: Fraction

    @model_validator(mode="after")
    def _ends_after_start(self) -> Campaign:
        if self.end <= self.start:
            raise ValueError(f"end: {self.end.isoformat()!r} is not after start {self.start.isoformat()!r}")
        return self

    def group_ids(self) -> tuple[str, ...]:
        return ()


def campaign_rate(size: int, reached: int) -> float | None:
    """The share of the segment that reached the goal; None for an empty segment."""
    return None if size == 0 else reached / size


def target_met(rate: float | None, target: float) -> bool | None:
    """Whether the rate meets the target (None: an empty segment, nothing to judge)."""
    if rate is None:
        return None
    return rate >= target or math.isclose(rate, target)


class CampaignKind(Kind):
    """Reports, decides nothing."""

    name = "campaign"
    order = 90
    model = Campaign
    label: ClassVar[Mapping[str, str]] = messages("policy_type.campaign")


KIND = CampaignKind()
