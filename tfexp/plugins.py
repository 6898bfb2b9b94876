"""The plugin manager: built-ins first, then installed entry points, checked loudly.

``python -m tfexp.plugins`` lists installed plugins, their distributions and components.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import sys
import traceback
import types
from dataclasses import dataclass

import pluggy

from tfexp import PROJECT, hookspecs
from tfexp.errors import PluginLoadError
from tfexp.registry import Registry

ESSENTIAL_PLUGINS = ("tfexp.defaults", "tfexp.model_info")
"""Always registered, cannot be disabled: the default implementations of firstresult hooks,
the model's size and summary."""


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers which distribution each plugin came from."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(hookspecs)
        self.distributions: dict[str, Distribution] = {}

    def describe(self, plugin_name: str) -> str:
        dist = self.distributions.get(plugin_name)
        return f"{plugin_name} ({dist})" if dist else plugin_name


def disabled_plugins() -> set[str]:
    return {name.strip() for name in os.environ.get("TFEXP_DISABLE_PLUGINS", "").split(",") if name.strip()}


def load_entry_points(pm: PluginManager, group: str = PROJECT) -> None:
    """Import and register every entry point of ``group``; a broken one is a clear error."""
    blocked = disabled_plugins()
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group != group or ep.name in blocked or pm.get_plugin(ep.name) is not None:
                continue
            where = Distribution(dist.metadata["name"], dist.version)
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginLoadError(
                    f"plugin {ep.name!r} from {where} failed to import ({type(exc).__name__}: {exc}). "
                    f"Fix or uninstall {where.name}, or skip it with TFEXP_DISABLE_PLUGINS={ep.name}."
                ) from exc
            pm.register(plugin, name=ep.name)
            pm.distributions[ep.name] = where


def check_hooks(pm: PluginManager) -> None:
    """Reject hook implementations that match no hookspec (usually a misspelled name)."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginLoadError(
            f"plugin {pm.describe(name)} is rejected: {exc}. "
            f"Hook names must match tfexp/hookspecs.py (all listed in docs/plugins.md)."
        ) from exc


def build_plugin_manager(extra_plugins: tuple = (), load_installed: bool = True) -> PluginManager:
    """A fresh manager: essential built-ins, installed entry points, then ``extra_plugins``."""
    pm = PluginManager()
    for module_name in ESSENTIAL_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if load_installed:
        load_entry_points(pm)
    for plugin in extra_plugins:
        pm.register(plugin, name=getattr(plugin, "__name__", None) or type(plugin).__name__)
    check_hooks(pm)
    if os.environ.get("TFEXP_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda msg: print(msg, end="", file=sys.stderr))
        pm.enable_tracing()
    return pm


@functools.cache
def get_plugin_manager() -> PluginManager:
    """The process's manager, built on first use (never at import time)."""
    return build_plugin_manager()


def get_registry(pm: PluginManager | None = None) -> Registry:
    pm = pm or get_plugin_manager()
    return Registry(pm, describe_plugin=pm.describe)


def _module_of(plugin) -> str:
    return plugin.__name__ if isinstance(plugin, types.ModuleType) else type(plugin).__module__


def plugin_that_raised(pm: PluginManager, error: BaseException) -> str | None:
    """The plugin (with its distribution) whose code raised ``error``: the deepest frame
    of the traceback that belongs to a registered plugin's package."""
    owners = {_module_of(plugin): name for name, plugin in pm.list_name_plugin()}
    culprit = None
    for frame, _ in traceback.walk_tb(error.__traceback__):
        module = frame.f_globals.get("__name__", "")
        for owner, name in owners.items():
            if module == owner or module.startswith(owner + "."):
                culprit = name
    return pm.describe(culprit) if culprit else None


def format_plugin_listing(pm: PluginManager) -> str:
    registry = get_registry(pm)
    components = registry.by_provider()
    lines = []
    for name, plugin in sorted(pm.list_name_plugin()):
        provider = pm.describe(name)
        parts = [f"{kind}: {', '.join(names)}" for kind, names in components.get(provider, {}).items()]
        hooks = sorted(c.name for c in pm.get_hookcallers(plugin) or ())
        lines.append(f"{provider}\n    provides  {'; '.join(parts) or '-'}\n    hooks     {', '.join(hooks)}")
    return "\n".join(lines)


def main() -> int:
    try:
        print(format_plugin_listing(get_plugin_manager()))
    except PluginLoadError as exc:
        print(f"tfexp: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
