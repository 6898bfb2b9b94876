"""Hydra search path for tfexp plugins' config groups.

A plugin package that ships YAML for tfexp's groups declares the package holding it:

    [project.entry-points."tfexp.conf"]
    acme = "acme_tfexp.conf"        # contains model/acme_net.yaml, data/..., ...

so ``python -m tfexp model=acme_net`` finds ``acme_tfexp/conf/model/acme_net.yaml``.
Only metadata is read (nothing is imported), and only tfexp's own app is changed: Hydra
calls every installed SearchPathPlugin for every Hydra app.
"""

from __future__ import annotations

import importlib.metadata

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

CONF_GROUP = "tfexp.conf"


def is_tfexp_config(path: str) -> bool:
    """tfexp's own config dir, however Hydra spells it (``pkg://tfexp.conf``,
    ``pkg://tfexp/conf`` under ``python -m``, a file path under the console script)."""
    return path.removeprefix("pkg://").replace(".", "/").rstrip("/").endswith("tfexp/conf")


def plugin_config_packages() -> list[str]:
    """``pkg://`` paths of the config packages declared by installed plugins."""
    return sorted(f"pkg://{ep.value}" for ep in importlib.metadata.entry_points(group=CONF_GROUP))


class TfexpSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        if not any(is_tfexp_config(element.path) for element in search_path.get_path()):
            return
        for path in plugin_config_packages():
            search_path.append(provider="tfexp-plugin", path=path)
