"""The plugin manager: a fresh one per engine, wrapped in a typed class."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy
from pluggy import HookImpl

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
        """Every registered metric by name; a name registered twice is an error.

        Each function is wrapped so that when it raises, the error is a
        :class:`PluginError` naming the plugin that registered it and the metric."""
        found: dict[str, MetricFunction] = {}
        for impl in self._impls("groupops_register_metrics"):
            plugin = plugin_name(impl)

            def register(name: str, function: MetricFunction, *, _plugin: str = plugin) -> None:
                if not isinstance(name, str) or not name:
                    raise PluginError(f"groupops_register_metrics: {name!r} is not a metric name")
                if not callable(function):
                    raise PluginError(f"groupops_register_metrics: metric {name!r} is not callable")
                if name in found:
                    raise PluginError(f"groupops_register_metrics: two metrics are named {name!r}")
                found[name] = _guarded_metric(name, function, _plugin)

            _call(impl, register=register)
        return found

    def veto(self, decision: Decision, membership: Membership | None) -> str | None:
        """The first veto reason any plugin gives, or None.

        Only a non-empty string vetoes. A hook that raises, or returns anything else
        that is not None (``False``, ``""``, ``0``, ...), is a :class:`PluginError`
        naming the plugin and the hook."""
        hook = "groupops_veto_action"
        for impl in self._impls(hook):
            plugin = plugin_name(impl)
            try:
                reason: Any = _call(impl, decision=decision, membership=membership)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                raise PluginError(
                    f"plugin {plugin!r} failed in {hook}: {_describe(exc)}", plugin=plugin, hook=hook
                ) from exc
            if reason is None:
                continue
            if isinstance(reason, str) and reason:
                return reason
            raise PluginError(
                f"plugin {plugin!r} returned {reason!r} from {hook}: a veto is a non-empty "
                "string (the reason), or None to let the decision through",
                plugin=plugin,
                hook=hook,
            )
        return None

    def observe(self, decision: Decision, engine: Engine) -> list[PluginError]:
        """Tell every observer; an observer that raises (anything but KeyboardInterrupt,
        SystemExit included) is logged with its plugin's name, the others still run.
        Returns the failures."""
        hook = "groupops_observe_decision"
        failures: list[PluginError] = []
        for impl in self._impls(hook):
            plugin = plugin_name(impl)
            try:
                _call(impl, decision=decision, engine=engine)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                log.error(
                    "plugin %r failed in %s on decision %s: %s", plugin, hook, decision.id, _describe(exc),
                    exc_info=exc,
                )
                message = f"plugin {plugin!r} failed in {hook}: {_describe(exc)}"
                failure = PluginError(message, plugin=plugin, hook=hook)
                failure.__cause__ = exc
                failures.append(failure)
        return failures

    def _impls(self, hook: str) -> list[HookImpl]:
        """The implementations of ``hook`` in the order pluggy would call them (wrappers,
        which only wrap the others, are left out)."""
        impls = getattr(self.manager.hook, hook).get_hookimpls()
        return [i for i in reversed(impls) if not (i.hookwrapper or i.wrapper)]


def plugin_name(impl: HookImpl) -> str:
    """A readable name for the plugin behind ``impl``: its registered name (entry-point
    name, or the name given), else its class or module name."""
    name = impl.plugin_name
    if name == str(id(impl.plugin)):  # registered without a name: pluggy used its id
        plugin = impl.plugin
        return plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__name__
    return name


def _call(impl: HookImpl, **kwargs: Any) -> Any:
    """Call one implementation as pluggy would: with the arguments it names (an
    implementation may take fewer than the specification offers)."""
    return impl.function(*(kwargs[name] for name in impl.argnames))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _guarded_metric(name: str, function: MetricFunction, plugin: str) -> MetricFunction:
    hook = f"metric {name!r}"

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise PluginError(
                f"plugin {plugin!r} failed in {hook}: {_describe(exc)}", plugin=plugin, hook=hook
            ) from exc

    return guarded
