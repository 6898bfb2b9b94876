"""The core knows no plugin: ``tfexp/`` imports nothing from ``plugins/`` or ``hydra_plugins/``
(trackers, exporters and sweepers reach it through hooks). Read from the source with ``ast``,
so an import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]


def plugin_packages() -> set[str]:
    """Top-level names the plugins install: ``tfexp_mlflow``, ..., and ``hydra_plugins``."""
    return {p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").is_file()} | {"hydra_plugins"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_the_core_imports_no_plugin():
    plugins = plugin_packages()
    assert {"tfexp_mlflow", "tfexp_export", "hydra_plugins"} <= plugins
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / "tfexp").rglob("*.py"))
        for line, module in imported_modules(path)
        if module.split(".")[0] in plugins
    ]
    assert not offenders, "the core must reach plugins through hooks:\n" + "\n".join(offenders)
