"""pluggy's plugin manager, with each implementation of the observer hooks guarded.

pluggy calls a hook's implementations in one loop and stops at the first that raises (its
maintainers keep it so: an exception is the hook call's result). An observer of
``dataloader_on_event`` must not silence the others, nor fail the load. So
:class:`GuardingPluginManager` uses pluggy's documented extension point,
:meth:`~pluggy.PluginManager.parse_hookimpl_opts`, to leave a plugin's implementation of
such a hook out when the plugin is registered, and registers it right after as its own
small plugin, ``<plugin>.<hook>``, whose implementation calls it and logs what it raises.
The hook is then called as any other, ``pm.hook.dataloader_on_event(event=...)``, through
pluggy's own loop: wrappers and hook-call monitoring see the call, and every observer
receives the event (in pluggy's order, the plugin registered last first).

Wrappers (``wrapper=True``/``hookwrapper=True``) of a guarded hook are left as they are:
they wrap the whole call.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

import pluggy

__all__ = ["GuardingPluginManager"]


class _Guarded:
    """One plugin's implementation of one guarded hook, as a plugin of its own."""

    def __init__(
        self, owner: str, hook: str, function: Callable[..., object],
        opts: pluggy.HookimplOpts, project_name: str, log: logging.Logger,
    ) -> None:
        self.owner = owner

        # functools.wraps: pluggy reads the arguments to pass from the wrapped function.
        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> None:
            try:
                function(*args, **kwargs)
            except Exception:
                handled = next(iter((*args, *kwargs.values())), None)
                # The record goes through the SDK's loggers, whose handlers redact secrets.
                log.exception("plugin %s failed while handling %s", owner,
                              type(handled).__name__)

        marker = pluggy.HookimplMarker(project_name)
        setattr(self, hook, marker(tryfirst=opts["tryfirst"], trylast=opts["trylast"],
                                   optionalhook=opts["optionalhook"])(guarded))

    def __repr__(self) -> str:
        return f"<guarded observer of {self.owner}>"


class GuardingPluginManager(pluggy.PluginManager):
    """A :class:`pluggy.PluginManager` that guards each implementation of ``guarded`` hooks.

    Args:
        project_name: the hook marker's project name.
        guarded: the hooks whose implementations are each called inside a guard.
        log: where a guarded implementation's exception is logged.
    """

    def __init__(self, project_name: str, guarded: Iterable[str], log: logging.Logger) -> None:
        super().__init__(project_name)
        self._guarded_hooks = frozenset(guarded)
        self._log = log
        self._taken: list[tuple[str, Callable[..., object], pluggy.HookimplOpts]] = []

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        """pluggy's reading of a hook implementation; one of a guarded hook is set aside
        (and registered guarded by :meth:`register`)."""
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None or isinstance(plugin, _Guarded):
            return opts
        hook = opts.get("specname") or name
        if hook not in self._guarded_hooks or opts.get("wrapper") or opts.get("hookwrapper"):
            return opts
        self._taken.append((hook, getattr(plugin, name), opts))
        return None

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """:meth:`pluggy.PluginManager.register`, then the plugin's guarded implementations."""
        self._taken = []
        plugin_name = super().register(plugin, name)
        taken, self._taken = self._taken, []
        if plugin_name is not None:
            for hook, function, opts in taken:
                guard = _Guarded(plugin_name, hook, function, opts, self.project_name,
                                 self._log)
                super().register(guard, name=f"{plugin_name}.{hook}")
        return plugin_name

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any | None:
        """:meth:`pluggy.PluginManager.unregister`, with the plugin's guarded
        implementations (registered beside it)."""
        plugin_name = name if name is not None or plugin is None else self.get_name(plugin)
        removed = super().unregister(plugin, name)
        if plugin_name is not None:
            for hook in self._guarded_hooks:
                guard = self.get_plugin(f"{plugin_name}.{hook}")
                if isinstance(guard, _Guarded):
                    super().unregister(guard)
        return removed
