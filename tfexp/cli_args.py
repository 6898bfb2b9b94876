"""Command-line arguments Hydra's override grammar would reject, made into what they mean.

``data.features.x=float32[64]`` is two errors for Hydra: ``[`` inside an unquoted value,
and a new key in a config map without ``+``. Feature maps are open by nature (any
feature name), so such an argument becomes ``++data.features.x='float32[64]'``. Only
arguments that would otherwise fail are changed.
"""

from __future__ import annotations

import re

_FEATURE = re.compile(r"^(data\.features\.[\w-]+)=(\w+(?:\[[\d, ]*\])?)$")


def hydra_overrides(args: list[str]) -> list[str]:
    # `experiment: null` is in the defaults list (`experiment=NAME`); the older
    # `+experiment=NAME` would add it twice.
    return [_FEATURE.sub(r"++\1='\2'", arg.removeprefix("+") if arg.startswith("+experiment=") else arg) for arg in args]
