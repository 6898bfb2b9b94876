"""Config values that look like secrets never reach a tracker.

A value is masked when its key (any part of a dotted key) looks like a credential:
password, token, secret, api_key, credential, private_key. Overrides such as
``db.password=hunter2`` are masked the same way.
"""

from __future__ import annotations

import re
from typing import Any

SECRET_KEY = re.compile(r"pass(word|wd)?|token|secret|api[_-]?key|credential|private[_-]?key", re.IGNORECASE)
MASK = "***"


def is_secret(key: str) -> bool:
    return bool(SECRET_KEY.search(key))


def redact(node: Any) -> Any:
    """A copy of a plain config container (dicts, lists, scalars) with secrets masked."""
    if isinstance(node, dict):
        return {k: MASK if is_secret(str(k)) and not isinstance(v, (dict, list)) else redact(v) for k, v in node.items()}
    if isinstance(node, list):
        return [redact(item) for item in node]
    if isinstance(node, str) and "=" in node:
        key, value = node.split("=", 1)
        return f"{key}={MASK}" if is_secret(key) else node
    return node
