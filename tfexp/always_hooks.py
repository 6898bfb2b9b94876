"""The hooks that must always run to the end (``tfexp_on_run_error``, ``tfexp_after_run``):
each implementation is called on its own, so one plugin that raises cannot skip the others
(the tracker that ends the MLflow run comes last), change the run's status, or hide the
run's own error. Wrappers (``wrapper=True``) still wrap them all, once."""

from __future__ import annotations

import logging

log = logging.getLogger("tfexp")


def call_isolated(pm, name: str, **kwargs) -> BaseException | None:
    """Call hook ``name`` with ``kwargs``, each implementation guarded and its failure logged;
    return the first failure (None when all succeeded)."""
    plain = [impl for impl in getattr(pm.hook, name).get_hookimpls() if not (impl.wrapper or impl.hookwrapper)]
    errors: list[BaseException] = []

    def each(run):  # stands in for the plain implementations, inside the wrappers
        for impl in reversed(plain):  # pluggy's order: tryfirst first, trylast last
            try:
                impl.function(*(kwargs[arg] for arg in impl.argnames))
            except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the others still run
                errors.append(_noted(exc, f"raised in plugin {impl.plugin_name}'s {name}"))

    try:
        pm.subset_hook_caller(name, remove_plugins=[impl.plugin for impl in plain]).call_extra([each], kwargs)
    except BaseException as exc:
        errors.append(_noted(exc, f"raised in a wrapper of {name}"))
    for error in errors:
        log.error("tfexp: %s: %s: %s (%s)", name, type(error).__name__, error, error.__notes__[-1], exc_info=error)
    return errors[0] if errors else None


def _noted(exc: BaseException, note: str) -> BaseException:
    exc.add_note(note)
    return exc
