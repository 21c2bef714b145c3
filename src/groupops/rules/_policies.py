"""The built-in policy types, one kind module each (see :mod:`groupops.rules.kinds`).

:data:`Policy` is the union of the built-in kinds' models; a rule book loaded with
plugin kinds validates against a union that includes theirs (:func:`book_model`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Tag

from .kinds import BUILTIN_KINDS, KindRegistry
from .kinds._registry import GroupRef, PolicyBase, PolicyId
from .kinds.admission import Admission
from .kinds.eviction import Eviction
from .kinds.ladder import Ladder, LadderStep
from .kinds.revival import Revival
from .kinds.welcome import Welcome

__all__ = [
    "POLICY_TYPES",
    "Admission",
    "Eviction",
    "GroupRef",
    "Ladder",
    "LadderStep",
    "Policy",
    "PolicyId",
    "Revival",
    "Welcome",
    "policy_union",
]

_Policy = PolicyBase  # the old private name, kept for imports that used it

POLICY_TYPES: dict[str, type[PolicyBase]] = {k.name: k.model for k in BUILTIN_KINDS}
"""The built-in policy types by name (plugin kinds are in the engine's registry)."""


def policy_union(kinds: KindRegistry) -> Any:
    """The discriminated union of ``kinds``' models, on their ``type`` key; an unknown
    ``type`` is an error listing the known kinds."""
    models = {k.name: k.model for k in kinds}

    def tag(value: Any) -> str | None:
        kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
        return f"<{kind}>" if kind in models else None

    members = tuple(Annotated[model, Tag(f"<{name}>")] for name, model in models.items())
    union: Any = members[0] if len(members) == 1 else _union(members)
    return Annotated[
        union,
        Discriminator(
            tag,
            custom_error_type="policy_type",
            custom_error_message="'type' must be one of " + ", ".join(models),
        ),
    ]


def _union(members: tuple[Any, ...]) -> Any:
    from functools import reduce
    from operator import or_

    return reduce(or_, members)


Policy = policy_union(KindRegistry(BUILTIN_KINDS))
"""A policy of one of the built-in kinds."""
