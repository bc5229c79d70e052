"""Plugin system: pluggy hookspecs, typed registries and the :class:`PluginHost` facade.

Connectors, strategies, engines and secret resolvers are all plugins. Built-ins register
through the same ``dataloader_sdk`` entry-point group as third-party packages, so the
plugin path is the tested path. Nothing here runs at import time: a host is created on
first use (:func:`get_host`) or injected (``DataLoader(host=...)``).

A plugin module provides any of these hooks, decorated with :data:`hookimpl`::

    from dataloader_sdk.plugins import hookimpl

    @hookimpl
    def dataloader_register_connectors(registry):
        registry.add("mydb", "my_package.connector:MyDbConnectorFactory")

Registrations are lazy ``"module:attribute"`` strings (as SQLAlchemy's dialect registry
does), so listing what is available imports no database driver. Each built-in connector
and strategy is an entry point of its own (a :class:`Registrations` object), so a user
can list, block (``DATALOADER_BLOCK_PLUGINS``, ``PluginHost(blocked=...)``) or replace any
one of them.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import pluggy

from dataloader_sdk.errors import PluginLoadError, UnknownNameError
from dataloader_sdk.plugin_guard import GuardingPluginManager

if TYPE_CHECKING:
    from dataloader_sdk.connectors.base import ConnectorFactory
    from dataloader_sdk.engines.base import EngineFactory
    from dataloader_sdk.events import LoadEvent
    from dataloader_sdk.strategies.base import Strategy

__all__ = [
    "BLOCK_ENV",
    "ENTRY_POINT_GROUP",
    "PluginFailure",
    "PluginHost",
    "Registrations",
    "Registry",
    "get_host",
    "hookimpl",
    "hookspec",
    "reset_host",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "dataloader_sdk"
#: Comma-separated entry-point names the process-wide host does not load (``get_host``).
BLOCK_ENV = "DATALOADER_BLOCK_PLUGINS"
hookspec = pluggy.HookspecMarker(ENTRY_POINT_GROUP)
hookimpl = pluggy.HookimplMarker(ENTRY_POINT_GROUP)

T = TypeVar("T")


class Registry(Generic[T]):
    """Name → lazily imported object, refusing duplicates (tox-style registry).

    ``add(name, "pkg.module:attr")`` records where the object lives; :meth:`get` imports
    it on first use. ``add(name, obj)`` registers an object directly.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._targets: dict[str, str | T] = {}
        self._owners: dict[str, str] = {}
        self._loaded: dict[str, T] = {}
        self._lock = threading.Lock()
        self._current_plugin = "?"
        self.failures: list[PluginFailure] = []

    def add(self, name: str, target: str | T) -> None:
        """Register ``name``; ``target`` is ``"module:attr"`` or the object itself."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} names must be non-empty strings, got {name!r}")
        if name in self._targets:
            raise PluginLoadError(
                self._current_plugin,
                ValueError(
                    f"{self.kind} {name!r} is already registered by {self._owners[name]!r}"
                ),
            )
        self._targets[name] = target
        self._owners[name] = self._current_plugin

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._targets)

    def owner(self, name: str) -> str:
        """Which plugin registered ``name``."""
        return self._owners[name]

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def get(self, name: str) -> T:
        """The object registered as ``name``, imported on first use."""
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            if name not in self._targets:
                hint = ""
                if self.failures:
                    hint = "Plugins that failed to load: " + "; ".join(
                        f"{f.entry_point} ({f.error})" for f in self.failures
                    )
                raise UnknownNameError(self.kind, name, self.names(), hint)
            target = self._targets[name]
            obj: T = (
                _import_target(target, f"{self.kind} {name!r}") if isinstance(target, str)
                else target
            )
            # Classes are instantiated once; instances and factories are used as given.
            if isinstance(obj, type):
                obj = obj()
            self._loaded[name] = obj
            return obj


def _import_target(target: str, what: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr) if attr else module
    except Exception as exc:  # an optional dependency may be missing
        raise PluginLoadError(f"{what} -> {target}", exc) from exc


@dataclass(frozen=True)
class PluginFailure:
    """A plugin entry point that could not be loaded, and why."""

    entry_point: str
    error: str


class HookSpecs:
    """The hooks a dataloader-sdk plugin may implement (all prefixed ``dataloader_``)."""

    @hookspec(historic=True)
    def dataloader_register_connectors(self, registry: Registry[ConnectorFactory]) -> None:
        """Register connector factories by ``db_type``. Every implementation is called,
        once, also one registered after the host was created (a historic hook)."""

    @hookspec(historic=True)
    def dataloader_register_strategies(self, registry: Registry[Strategy[Any]]) -> None:
        """Register load strategies by name. Every implementation is called."""

    @hookspec(historic=True)
    def dataloader_register_engines(self, registry: Registry[EngineFactory]) -> None:
        """Register Delta engines by name. Every implementation is called."""

    @hookspec(firstresult=True)
    def dataloader_resolve_secret(self, reference: str) -> str | None:
        """Resolve a secret reference such as ``vault:path``.

        Return the secret, or ``None`` if the reference's scheme is not yours. The first
        non-``None`` answer wins. Never log the value.
        """
        return None

    @hookspec
    def dataloader_secret_schemes(self) -> list[str]:
        """Secret reference schemes (``env``, ``file``, ...) this plugin resolves.

        Results of all plugins are combined; used for error messages and validation.
        """
        return []

    @hookspec
    def dataloader_on_event(self, event: LoadEvent) -> None:
        """Observe a lifecycle event (load started, step committed, finished, failed).

        Every implementation is called; an exception in an observer is logged and ignored.
        """


Kind = Literal["db_type", "strategy", "engine"]


class Registrations:
    """A plugin that registers lazy ``"module:attr"`` targets of one kind.

    Each built-in connector and strategy is one of these behind its own entry point, so
    blocking one entry point (``PluginHost(blocked=...)``) removes just that built-in,
    and a plugin of your own may then register the freed name::

        # pyproject.toml: mydb = "my_package.plugin:mydb"
        mydb = Registrations("db_type", {"mydb": "my_package.connector:MyDbFactory"})
    """

    def __init__(self, kind: Kind, targets: Mapping[str, str]) -> None:
        self.kind = kind
        self.targets = dict(targets)

    def __repr__(self) -> str:
        return f"Registrations({self.kind!r}, {sorted(self.targets)})"

    def _add(self, kind: Kind, registry: Registry[Any]) -> None:
        if kind == self.kind:
            for name, target in self.targets.items():
                registry.add(name, target)

    @hookimpl
    def dataloader_register_connectors(self, registry: Registry[ConnectorFactory]) -> None:
        """Register the targets when they are connector factories."""
        self._add("db_type", registry)

    @hookimpl
    def dataloader_register_strategies(self, registry: Registry[Strategy[Any]]) -> None:
        """Register the targets when they are strategies."""
        self._add("strategy", registry)

    @hookimpl
    def dataloader_register_engines(self, registry: Registry[EngineFactory]) -> None:
        """Register the targets when they are engine factories."""
        self._add("engine", registry)


class PluginHost:
    """Typed facade over the plugin manager: nothing else calls ``pm.hook`` directly.

    Args:
        plugins: extra plugin objects or modules to register (tests, notebooks).
        load_entry_points: load the ``dataloader_sdk`` entry points (default True).
        blocked: entry-point names not to load, built-ins included (``dataloader
            plugins`` lists the names); a plugin of your own may then take over the
            names they registered.
    """

    def __init__(
        self, plugins: Iterable[object] = (), *, load_entry_points: bool = True,
        blocked: Iterable[str] = (),
    ) -> None:
        # Observers go through pluggy's own call loop, each one guarded (plugin_guard.py).
        self._pm = GuardingPluginManager(ENTRY_POINT_GROUP, ["dataloader_on_event"], log)
        self._pm.add_hookspecs(HookSpecs)
        self.failures: list[PluginFailure] = []
        for name in blocked:
            self._pm.set_blocked(name)
        self._connectors: Registry[ConnectorFactory] = Registry("db_type")
        self._strategies: Registry[Strategy[Any]] = Registry("strategy")
        self._engines: Registry[EngineFactory] = Registry("engine")
        # Historic hooks: pluggy calls each plugin's registration hooks as it is registered
        # (below, and in register()), so each registry knows which plugin adds a name, and
        # a duplicate is refused naming both: the plugin registered first keeps the name.
        hooks = self._pm.hook
        for registry, hook in ((self._connectors, hooks.dataloader_register_connectors),
                               (self._strategies, hooks.dataloader_register_strategies),
                               (self._engines, hooks.dataloader_register_engines)):
            registry.failures = self.failures
            hook.call_historic(kwargs={"registry": registry})
        if load_entry_points:
            self._load_entry_points()
        for plugin in plugins:
            self.register(plugin)

    def _load_entry_points(self) -> None:
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if self._pm.get_plugin(ep.name) is not None or self._pm.is_blocked(ep.name):
                continue
            # One broken third-party plugin must not take the built-ins down: one that fails
            # to import or is malformed is recorded, warned about and named in every
            # "unknown ..." error. A refused registration (a name taken twice) still raises.
            try:
                plugin = ep.load()
            except Exception as exc:
                self._failed(ep, exc)
                continue
            try:
                self.register(plugin, name=ep.name)
            except pluggy.PluginValidationError as exc:
                self._failed(ep, exc)

    def _failed(self, ep: metadata.EntryPoint, exc: Exception) -> None:
        failure = PluginFailure(f"{ep.name} = {ep.value}", f"{type(exc).__name__}: {exc}")
        self.failures.append(failure)
        log.warning("plugin %s failed to load: %s", failure.entry_point, failure.error)

    # -- typed accessors -------------------------------------------------------------

    def connector(self, db_type: str) -> ConnectorFactory:
        """The connector factory for ``db_type`` (UnknownNameError lists the known ones);
        a :class:`~dataloader_sdk.connectors.base.ResolverAware` one bound to this host."""
        from dataloader_sdk.connectors.base import ResolverAware

        factory = self._connectors.get(db_type)
        return factory.with_resolver(self) if isinstance(factory, ResolverAware) else factory

    def strategy(self, name: str) -> Strategy[Any]:
        """The strategy called ``name``."""
        return self._strategies.get(name)

    def engine(self, name: str) -> EngineFactory:
        """The engine factory called ``name``."""
        return self._engines.get(name)

    def connector_names(self) -> list[str]:
        """Registered db_types."""
        return self._connectors.names()

    def strategy_names(self) -> list[str]:
        """Registered strategy names."""
        return self._strategies.names()

    def engine_names(self) -> list[str]:
        """Registered engine names."""
        return self._engines.names()

    def blocked(self) -> list[str]:
        """The entry-point names this host was told not to load."""
        return sorted(name for name, plugin in self._pm.list_name_plugin()
                      if plugin is None and self._pm.is_blocked(name))

    def plugin_of(self, kind: str, name: str) -> str:
        """Which plugin registered a connector/strategy/engine name."""
        registries: dict[str, Registry[Any]] = {
            "db_type": self._connectors, "strategy": self._strategies, "engine": self._engines,
        }
        return registries[kind].owner(name)

    def resolve_secret(self, reference: str) -> str | None:
        """Ask the secret resolvers; ``None`` when no resolver knows the scheme."""
        result: str | None = self._pm.hook.dataloader_resolve_secret(reference=reference)
        return result

    def secret_schemes(self) -> list[str]:
        """Every secret scheme some plugin resolves."""
        lists: list[list[str]] = self._pm.hook.dataloader_secret_schemes()
        return sorted({s for schemes in lists for s in schemes})

    def emit(self, event: LoadEvent) -> None:
        """Deliver a lifecycle event to every observer; observer errors are only logged."""
        self._pm.hook.dataloader_on_event(event=event)

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register one more plugin object; pluggy calls its registration hooks now."""
        owner = name or self._pm.get_canonical_name(plugin)
        registries = (self._connectors, self._strategies, self._engines)
        for registry in registries:
            registry._current_plugin = owner
        try:
            self._pm.register(plugin, name=name)
        finally:
            for registry in registries:
                registry._current_plugin = "?"


_host: PluginHost | None = None
_host_lock = threading.Lock()


def get_host() -> PluginHost:
    """The process-wide host, created on first use (never at import time).

    Entry points named in ``$DATALOADER_BLOCK_PLUGINS`` (comma-separated) are not loaded.
    """
    global _host
    with _host_lock:
        if _host is None:
            blocked = os.environ.get(BLOCK_ENV, "")
            _host = PluginHost(blocked=[n.strip() for n in blocked.split(",") if n.strip()])
        return _host


def reset_host(host: PluginHost | None = None) -> None:
    """Replace (or drop) the process-wide host; for tests and notebooks."""
    global _host
    with _host_lock:
        _host = host


def describe(host: PluginHost) -> Mapping[str, list[tuple[str, str]]]:
    """``{kind: [(name, plugin), ...]}`` for ``dataloader plugins`` and docs."""
    return {
        "db_type": [(n, host.plugin_of("db_type", n)) for n in host.connector_names()],
        "strategy": [(n, host.plugin_of("strategy", n)) for n in host.strategy_names()],
        "engine": [(n, host.plugin_of("engine", n)) for n in host.engine_names()],
    }


