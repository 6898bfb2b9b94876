"""``trainer.epoch=3``: "did you mean trainer.epochs?" after Hydra's own error, which only
offers ``+trainer.epoch=3`` (adding the misspelled key)."""

from __future__ import annotations

import difflib

_ABSENT = object()


def dotted_keys(node, prefix: str = "") -> list[str]:
    if not isinstance(node, dict):
        return [prefix[:-1]]
    return [key for k, v in node.items() for key in dotted_keys(v, f"{prefix}{k}.")]


def did_you_mean(args: list[str]) -> list[str]:
    """One line per override whose key the config lacks and that is close to a real key."""
    from omegaconf import OmegaConf

    from tfexp.config import compose

    plain = [a for a in args if "=" in a and not a.startswith(("+", "~", "-"))]
    try:  # the groups as chosen (model=cnn has other keys than model=mlp), nothing else
        cfg = compose([a for a in plain if "." not in a.split("=", 1)[0]])
    except Exception:
        return []
    keys = dotted_keys(OmegaConf.to_container(cfg))
    hints = []
    for key in (a.split("=", 1)[0] for a in plain):
        if key.startswith("hydra.") or OmegaConf.select(cfg, key, default=_ABSENT) is not _ABSENT:
            continue
        if close := difflib.get_close_matches(key, keys, n=1, cutoff=0.75):
            hints.append(f"{key}: did you mean {close[0]}?")
    return hints
