"""Named components collected from every plugin, with the plugin that provided each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pluggy

from tfexp.components import COMPONENT_KINDS
from tfexp.errors import ComponentConflictError, UnknownComponentError


@dataclass(frozen=True)
class Registered:
    spec: Any
    provider: str
    """``"<plugin name> (<distribution> <version>)"``, or the plugin name alone."""


class Registry:
    """Looks up components by kind (``model``, ``data``, ``strategy``, ``technique``)."""

    def __init__(self, pm: pluggy.PluginManager, describe_plugin=lambda name: name):
        self._entries: dict[str, dict[str, Registered]] = {kind: {} for kind in COMPONENT_KINDS}
        for kind, (hook_name, spec_type) in COMPONENT_KINDS.items():
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                provider = describe_plugin(impl.plugin_name)
                for spec in impl.function() or ():
                    self._add(kind, spec_type, spec, provider)

    def _add(self, kind: str, spec_type: type, spec: Any, provider: str) -> None:
        if not isinstance(spec, spec_type):
            raise TypeError(f"{provider} registered {spec!r} as a {kind}; expected {spec_type.__name__}")
        if not isinstance(spec.name, str) or not spec.name.strip():
            raise TypeError(f"{provider} registered a {kind} with the name {spec.name!r}: give it a non-empty name")
        known = self._entries[kind].get(spec.name)
        if known is not None:
            raise ComponentConflictError(
                f"{kind} {spec.name!r} is registered twice: by {known.provider} and by {provider}. "
                f"Uninstall one of them, or disable one with TFEXP_DISABLE_PLUGINS=<plugin name>."
            )
        self._entries[kind][spec.name] = Registered(spec, provider)

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries[kind])

    def entry(self, kind: str, name: str) -> Registered:
        try:
            return self._entries[kind][name]
        except KeyError:
            known = ", ".join(self.names(kind)) or "none"
            raise UnknownComponentError(
                f"unknown {kind} {name!r}; known {kind} names: {known}. "
                f"Choose one with {kind}=<name> (or {kind}.name=<name>), or install the plugin that provides it."
            ) from None

    def get(self, kind: str, name: str) -> Any:
        return self.entry(kind, name).spec

    def by_provider(self) -> dict[str, dict[str, list[str]]]:
        """``{provider: {kind: [names]}}``, for listings."""
        out: dict[str, dict[str, list[str]]] = {}
        for kind, entries in self._entries.items():
            for name, reg in sorted(entries.items()):
                out.setdefault(reg.provider, {}).setdefault(kind, []).append(name)
        return out
