"""Hooks called one implementation at a time, inside the wrappers (``wrapper=True`` still
wraps them all, once).

The "always" hooks (``tfexp_on_run_error``, ``tfexp_after_run``) must run to the end: one
plugin that raises cannot skip the others (the tracker that ends the MLflow run comes last),
change the run's status, or hide the run's own error. A firstresult hook's result is checked
where it is returned, so a wrong type names the plugin that returned it."""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger("tfexp")


def call_isolated(pm, name: str, **kwargs) -> BaseException | None:
    """Call hook ``name`` with ``kwargs``, each implementation guarded and its failure logged;
    return the first failure (None when all succeeded)."""
    errors: list[BaseException] = []

    def each(plain):
        for impl in plain:
            try:
                impl.function(*(kwargs[arg] for arg in impl.argnames))
            except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the others still run
                errors.append(_noted(exc, f"raised in plugin {impl.plugin_name}'s {name}"))

    try:
        _inside_wrappers(pm, name, kwargs, each)
    except BaseException as exc:
        errors.append(_noted(exc, f"raised in a wrapper of {name}"))
    for error in errors:
        log.error("tfexp: %s: %s: %s (%s)", name, type(error).__name__, error, error.__notes__[-1], exc_info=error)
    return errors[0] if errors else None


def first_result(pm, name: str, expected: type, **kwargs) -> Any:
    """Firstresult hook ``name``'s result; one that is not an ``expected`` fails naming the
    plugin that returned it."""

    def first(plain):
        for impl in plain:
            if (result := impl.function(*(kwargs[arg] for arg in impl.argnames))) is not None:
                if not isinstance(result, expected):
                    raise TypeError(
                        f"plugin {pm.describe(impl.plugin_name)} returned a {type(result).__name__} from {name}, "
                        f"expected a {expected.__module__}.{expected.__qualname__} (or None to leave it to the next plugin)"
                    )
                return result
        return None

    return _inside_wrappers(pm, name, kwargs, first)


def _inside_wrappers(pm, name: str, kwargs: dict, call: Callable[[list], Any]) -> Any:
    """Run ``call(plain implementations, in pluggy's order)`` where those implementations
    would run, inside the hook's wrappers."""
    impls = getattr(pm.hook, name).get_hookimpls()
    plain = [impl for impl in impls if not (impl.wrapper or impl.hookwrapper)]

    def each():  # stands in for the plain implementations (takes no argument: fits every hook)
        return call(plain[::-1])  # pluggy's order: tryfirst first, trylast last

    return pm.subset_hook_caller(name, remove_plugins=[impl.plugin for impl in plain]).call_extra([each], kwargs)


def _noted(exc: BaseException, note: str) -> BaseException:
    exc.add_note(note)
    return exc
