"""The plugin manager: a fresh one per engine, wrapped in a typed class."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from .._errors import PluginError
from . import hookspecs
from .hookspecs import PROJECT

if TYPE_CHECKING:
    from .._engine import Engine
    from .._messaging import Messenger
    from .._model import Decision, Membership
    from ..rules._book import RuleBook
    from ..rules._evaluate import MetricFunction
    from ._store import Store

__all__ = ["Plugins"]

log = logging.getLogger("groupops.plugins")


class Plugins:
    """The hooks an engine calls, one typed method per hook.

    Built-in adapters are registered first, then (unless ``entry_points=False``) the
    plugins of the ``groupops`` entry-point group, then ``plugins`` given by hand. A
    hook implementation whose name or arguments match no specification fails here,
    naming the plugin and the hook.
    """

    def __init__(self, plugins: Iterable[object] = (), *, entry_points: bool = True) -> None:
        from . import builtin

        pm = pluggy.PluginManager(PROJECT)
        pm.add_hookspecs(hookspecs)
        pm.register(builtin, name="groupops.builtin")
        try:
            if entry_points:
                pm.load_setuptools_entrypoints(PROJECT)
            for plugin in plugins:
                pm.register(plugin)
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {exc.plugin!r} is invalid: {exc}") from exc
        except ValueError as exc:  # registering the same plugin or name twice
            raise PluginError(str(exc)) from exc
        self.manager = pm

    def names(self) -> list[str]:
        """Names of the registered plugins (entry-point names for installed ones)."""
        return [name for name, _ in self.manager.list_name_plugin()]

    def open_store(self, url: str, book: RuleBook) -> Store:
        """The store for ``url``; :class:`PluginError` naming the hook if nobody opens it."""
        store = self.manager.hook.groupops_open_store(url=url, book=book)
        if store is None:
            raise PluginError(
                f"no plugin opened the store {url!r} (hook groupops_open_store); built in: "
                "'memory:', 'sqlite:///path.db' or a path ending in .db"
            )
        return store  # type: ignore[no-any-return]

    def messengers(self) -> dict[str, Messenger]:
        """Every registered messenger by name; a name registered twice is an error."""
        found: dict[str, Messenger] = {}

        def register(messenger: Messenger) -> None:
            if not isinstance(getattr(messenger, "name", None), str) or not callable(
                getattr(messenger, "deliver", None)
            ):
                raise PluginError(
                    f"groupops_register_messengers: {messenger!r} is not a messenger "
                    "(needs .name, .actions, .quota and .deliver(message))"
                )
            if messenger.name in found:
                raise PluginError(
                    f"groupops_register_messengers: two messengers are named {messenger.name!r}"
                )
            found[messenger.name] = messenger

        self.manager.hook.groupops_register_messengers(register=register)
        return found

    def metrics(self) -> dict[str, MetricFunction]:
        """Every registered metric by name; a name registered twice is an error."""
        found: dict[str, MetricFunction] = {}

        def register(name: str, function: MetricFunction) -> None:
            if not isinstance(name, str) or not name:
                raise PluginError(f"groupops_register_metrics: {name!r} is not a metric name")
            if not callable(function):
                raise PluginError(f"groupops_register_metrics: metric {name!r} is not callable")
            if name in found:
                raise PluginError(f"groupops_register_metrics: two metrics are named {name!r}")
            found[name] = function

        self.manager.hook.groupops_register_metrics(register=register)
        return found

    def veto(self, decision: Decision, membership: Membership | None) -> str | None:
        """The first veto reason any plugin gives, or None."""
        reason: Any = self.manager.hook.groupops_veto_action(decision=decision, membership=membership)
        if reason is not None and not isinstance(reason, str):
            reason = str(reason)
        return reason  # type: ignore[no-any-return]

    def observe(self, decision: Decision, engine: Engine) -> None:
        """Tell every observer; an observer that raises is logged, the others still run."""
        for impl in reversed(self.manager.hook.groupops_observe_decision.get_hookimpls()):
            try:
                impl.function(decision=decision, engine=engine)
            except Exception:
                log.exception("observer %s failed on decision %s", impl.plugin_name, decision.id)
