"""Config values that look like secrets never reach a tracker.

A value is masked when its key (any part of a dotted key) looks like a credential:
password, token, secret, api_key, credential, private_key. Overrides such as
``db.password=hunter2`` are masked the same way, and so is the password of a URI anywhere
(``https://user:pass@host`` -> ``https://user:***@host``, ``tracking.uri`` included).
"""

from __future__ import annotations

import logging
import re
from typing import Any

SECRET_KEY = re.compile(r"pass(word|wd)?|token|secret|api[_-]?key|credential|private[_-]?key", re.IGNORECASE)
MASK = "***"
SECRET_ASSIGNMENT = re.compile(rf"([\w.+~-]*(?:{SECRET_KEY.pattern})[\w.-]*=)[^\s,;'\"]+", re.IGNORECASE)
URI_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^/\s:@]*:)[^/\s@]+@")


def is_secret(key: str) -> bool:
    return bool(SECRET_KEY.search(key))


def mask_text(text: str) -> str:
    """``text`` (a console line, a tag) with ``secret_key=value`` pairs and the password of
    every URI in it masked."""
    return URI_PASSWORD.sub(rf"\1{MASK}@", SECRET_ASSIGNMENT.sub(rf"\1{MASK}", text))


def redact(node: Any) -> Any:
    """A copy of a plain config container (dicts, lists, scalars) with secrets masked."""
    if isinstance(node, dict):
        return {k: MASK if is_secret(str(k)) and not isinstance(v, (dict, list)) else redact(v) for k, v in node.items()}
    if isinstance(node, list):
        return [redact(item) for item in node]
    if isinstance(node, str) and "=" in node:
        key, value = node.split("=", 1)
        return f"{key}={MASK}" if is_secret(key) else mask_text(node)
    return mask_text(node) if isinstance(node, str) else node


class MaskSecrets(logging.Filter):
    """Masks what :func:`mask_text` masks in every log record, console and file alike."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if (masked := mask_text(message)) != message:
            record.msg, record.args = masked, ()
        return True
