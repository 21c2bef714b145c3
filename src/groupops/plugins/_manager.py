"""The plugin manager: a fresh one per engine, wrapped in a typed class."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy
from pluggy import HookImpl

from .._errors import PluginError, RuleError
from .._messaging import Messenger, Quota, Rate
from . import hookspecs
from ._view import EngineView
from .hookspecs import PROJECT

if TYPE_CHECKING:
    from datetime import datetime

    from .._decision import Decision
    from .._engine import Engine
    from .._model import Family, Membership
    from .._outbox import OutboxMessage
    from ..rules._book import RuleBook
    from ..rules._evaluate import MetricFunction
    from ..rules.kinds import Kind, KindRegistry
    from ._store import Store

__all__ = ["Plugins", "registered_kinds"]

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
        by_hand: list[object] = []
        try:
            if entry_points:
                pm.load_setuptools_entrypoints(PROJECT)
            for plugin in plugins:
                if any(plugin is p for p in by_hand):
                    raise PluginError(f"plugin {_describe_plugin(pm, plugin)} is given twice in plugins")
                by_hand.append(plugin)
                if pm.is_registered(plugin):
                    # installed and also passed by hand: it is active once, as the
                    # caller meant, rather than refused by pluggy's raw error
                    log.debug("plugin %s is already registered by entry point", _describe_plugin(pm, plugin))
                    continue
                pm.register(plugin)
            pm.check_pending()
            _refuse_wrappers(pm)
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
        """Every registered messenger by name, each checked against the
        :class:`~groupops.Messenger` protocol as it is registered.

        A messenger without ``name``, ``actions`` (a set of action names) or a callable
        ``deliver``, or with a ``quota`` that is not a :class:`~groupops.Quota`, is a
        :class:`PluginError` naming the plugin and what is wrong; one without ``quota``
        has no quota. A name registered twice is an error.
        """
        found: dict[str, Messenger] = {}
        pm = self.manager
        for impl in self._impls("groupops_register_messengers"):
            plugin = _describe_plugin(pm, impl.plugin)

            def register(messenger: Messenger, plugin: str = plugin) -> None:
                checked = _checked_messenger(messenger, plugin)
                if checked.name in found:
                    raise PluginError(
                        f"groupops_register_messengers: plugin {plugin} registers a second "
                        f"messenger named {checked.name!r} (two messengers are named {checked.name!r})"
                    )
                found[checked.name] = checked

            _call(impl, register=register)
        return found

    def metrics(self) -> dict[str, MetricFunction]:
        """Every registered metric by name. A registration that is not a name and a
        function, or a name registered twice, is a :class:`PluginError` naming the
        plugin (and, for a name taken twice, the plugin that took it first).

        Each function is wrapped so that when it raises, the error is a
        :class:`PluginError` naming the plugin that registered it and the metric."""
        hook = "groupops_register_metrics"
        found: dict[str, MetricFunction] = {}
        owners: dict[str, str] = {}
        for impl in self._impls(hook):
            plugin = plugin_name(impl)

            def register(name: str, function: MetricFunction, *, _plugin: str = plugin) -> None:
                def error(problem: str) -> PluginError:
                    return PluginError(f"{hook}: plugin {_plugin!r} {problem}", plugin=_plugin, hook=hook)

                if not isinstance(name, str) or not name:
                    raise error(f"registered {name!r}, which is not a metric name (a non-empty string)")
                if not callable(function):
                    raise error(f"registered metric {name!r} as {function!r}, which is not callable")
                if name in found:
                    first = owners[name]
                    raise error(f"registers a second metric named {name!r} (the first is from {first!r})")
                found[name] = _guarded_metric(name, function, _plugin)
                owners[name] = _plugin

            _call(impl, register=register)
        return found

    def kinds(self) -> KindRegistry:
        """Every registered policy kind (the built-ins first); a name registered twice,
        or something that is not a :class:`~groupops.Kind`, is a :class:`PluginError`
        naming the plugin."""
        from ..rules.kinds import KindRegistry

        registry = KindRegistry()
        for impl in self._impls("groupops_register_kinds"):
            plugin = plugin_name(impl)

            def register(kind: Kind, *, _plugin: str = plugin) -> None:
                try:
                    registry.register(kind)
                except RuleError as exc:
                    raise PluginError(
                        f"groupops_register_kinds: plugin {_plugin}: {exc.problems[0].message}"
                    ) from None

            _call(impl, register=register)
        return registry

    def veto(self, decision: Decision, membership: Membership | None) -> str | None:
        """The first veto reason any plugin gives, or None.

        Only a non-blank string vetoes. A hook that raises, or returns anything else
        that is not None (``False``, ``""``, ``0``, ...), is a :class:`PluginError`
        naming the plugin and the hook."""
        found = self._first_answer(
            "groupops_veto_action",
            "a veto is a non-blank string (the reason), or None to let the decision through",
            decision=decision,
            membership=membership,
        )
        return found[0] if found is not None else None

    def create_group(
        self, family: Family, name: str, book: RuleBook, number: int, at: datetime
    ) -> tuple[str, str] | None:
        """The id the first answering plugin gave the new group, with that plugin's
        name; None if no plugin answers. A plugin that raises, or returns anything but
        None or a non-blank string, is a :class:`PluginError` naming it and the hook."""
        return self._first_answer(
            "groupops_create_group",
            "a group id is a non-blank string, or None to let another plugin (or an operator) "
            "create the group",
            family=family,
            name=name,
            book=book,
            number=number,
            at=at,
        )

    def _first_answer(self, hook: str, meaning: str, **kwargs: Any) -> tuple[str, str] | None:
        """The first non-None answer to ``hook``, with the name of the plugin that gave it.
        An answer must be a non-blank string (``meaning`` says what it stands for); one
        that is not, or a hook that raises, is a :class:`PluginError` naming the plugin."""
        for impl in self._impls(hook):
            plugin = plugin_name(impl)
            with _as_plugin_error(plugin, hook):
                answer: Any = _call(impl, **kwargs)
            if answer is None:
                continue
            if isinstance(answer, str) and answer.strip():
                return answer, plugin
            raise PluginError(
                f"plugin {plugin!r} returned {answer!r} from {hook}: {meaning}", plugin=plugin, hook=hook
            )
        return None

    def observe(self, decision: Decision, engine: Engine) -> list[PluginError]:
        """Tell every observer, which sees the engine read-only (:class:`EngineView`); an
        observer that raises (anything but KeyboardInterrupt, SystemExit included) is
        logged with its plugin's name, the others still run. Returns the failures."""
        hook = "groupops_observe_decision"
        failures: list[PluginError] = []
        view = EngineView(engine)
        for impl in self._impls(hook):
            plugin = plugin_name(impl)
            try:
                _call(impl, decision=decision, engine=view)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                log.error(
                    "plugin %r failed in %s on decision %s: %s",
                    plugin,
                    hook,
                    decision.id,
                    _describe(exc),
                    exc_info=exc,
                )
                message = f"plugin {plugin!r} failed in {hook}: {_describe(exc)}"
                failure = PluginError(message, plugin=plugin, hook=hook)
                failure.__cause__ = exc
                failures.append(failure)
        return failures

    def _impls(self, hook: str) -> list[HookImpl]:
        """The implementations of ``hook`` in the order pluggy would call them (a hook of
        :data:`ONE_AT_A_TIME` has no wrappers: registration refuses them)."""
        assert hook in ONE_AT_A_TIME, hook
        return list(reversed(getattr(self.manager.hook, hook).get_hookimpls()))


ONE_AT_A_TIME = frozenset(
    {
        "groupops_register_messengers",
        "groupops_register_metrics",
        "groupops_register_kinds",
        "groupops_veto_action",
        "groupops_create_group",
        "groupops_observe_decision",
    }
)
"""The hooks groupops calls one implementation at a time, not through pluggy's hook
caller: so that each failure names its plugin and one failing observer does not stop
the others. A wrapper (``hookwrapper=True`` or ``wrapper=True``) of one of them would
wrap nothing, so it is refused when it is registered."""


def _refuse_wrappers(pm: pluggy.PluginManager) -> None:
    for hook in sorted(ONE_AT_A_TIME):
        for impl in getattr(pm.hook, hook).get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                plugin = plugin_name(impl)
                raise PluginError(
                    f"plugin {plugin!r} implements {hook} as a wrapper, which groupops does not "
                    f"support: it calls each implementation of {hook} on its own (so that a "
                    "failure names its plugin), so a wrapper would never run; implement it "
                    "as a plain hook",
                    plugin=plugin,
                    hook=hook,
                )


def registered_kinds(plugins: Iterable[object] = (), *, entry_points: bool = True) -> KindRegistry:
    """The policy kinds a fresh plugin manager registers: the built-in kinds, those of
    installed plugins (unless ``entry_points=False``) and those of ``plugins``. Pass the
    result to :func:`~groupops.load_rule_book` or :meth:`RuleBook.load` as ``kinds=``."""
    return Plugins(plugins, entry_points=entry_points).kinds()


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
        with _as_plugin_error(plugin, hook):
            return function(*args, **kwargs)

    return guarded


@contextmanager
def _as_plugin_error(plugin: str, hook: str) -> Iterator[None]:
    """Anything a plugin raises (but KeyboardInterrupt) as a :class:`PluginError` naming
    the plugin and the hook."""
    try:
        yield
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise PluginError(
            f"plugin {plugin!r} failed in {hook}: {_describe(exc)}", plugin=plugin, hook=hook
        ) from exc


def _describe_plugin(pm: pluggy.PluginManager, plugin: object) -> str:
    """A plugin as a user knows it: its entry point, its module, or its class."""
    for registered, dist in pm.list_plugin_distinfo():
        if registered is plugin:
            return f"{pm.get_name(plugin)!r} (entry point of {dist.project_name})"
    name = getattr(plugin, "__name__", None)  # a module
    if isinstance(name, str):
        return repr(name)
    return repr(type(plugin).__name__)


class _NoQuota:
    """A messenger that declares no ``quota``, seen as one with ``quota = None``.

    Every other attribute is the messenger's own, so ``engine.messengers[name].sent``
    still reaches what the plugin keeps.
    """

    quota: Quota | None = None

    def __init__(self, messenger: Messenger) -> None:
        self.__dict__["_messenger"] = messenger
        self.name = messenger.name
        self.actions = messenger.actions

    def deliver(self, message: OutboxMessage) -> None:
        self._messenger.deliver(message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_messenger"], name)

    def __repr__(self) -> str:
        return repr(self._messenger)


def _checked_messenger(messenger: object, plugin: str) -> Messenger:
    """``messenger`` if it meets the :class:`Messenger` protocol; a :class:`PluginError`
    naming ``plugin`` and every missing or bad attribute if not."""
    wrong: list[str] = []
    name = getattr(messenger, "name", None)
    if not isinstance(name, str) or not name:
        wrong.append(f"name {name!r} is not a non-empty string" if hasattr(messenger, "name") else "no name")
    if not hasattr(messenger, "actions"):
        wrong.append("no actions (the set of actions it can carry out, e.g. frozenset({'message'}))")
    else:
        actions = getattr(messenger, "actions")  # noqa: B009 - hasattr narrowed nothing for mypy
        if not isinstance(actions, set | frozenset) or not all(isinstance(a, str) for a in actions):
            wrong.append(f"actions {actions!r} is not a set of action names")
    if not callable(getattr(messenger, "deliver", None)):
        wrong.append("no deliver(message) method")
    quota = getattr(messenger, "quota", None)
    if quota is not None and not isinstance(quota, Quota):
        wrong.append(f"quota {quota!r} is not a groupops.Quota or None")
    rates = getattr(messenger, "rates", None)
    if rates is not None and not (
        isinstance(rates, Mapping)
        and all(isinstance(k, str) and isinstance(v, Rate) for k, v in rates.items())
    ):
        wrong.append(f"rates {rates!r} is not a mapping of action names to groupops.Rate")
    if wrong:
        raise PluginError(
            f"groupops_register_messengers: plugin {plugin} registered {messenger!r}, which is not a "
            f"messenger: {'; '.join(wrong)} (a messenger has name, actions, an optional quota "
            "and deliver(message); see groupops.Messenger)"
        )
    if not hasattr(messenger, "quota"):
        return _NoQuota(messenger)  # type: ignore[arg-type]
    return messenger  # type: ignore[return-value]
