"""The input-pipeline policy (``pipeline.*`` in config), separate from any source.

Defaults follow the tf.data performance guide: read files in parallel, shuffle a bounded
buffer, batch before parsing (vectorized), prefetch with AUTOTUNE. No TensorFlow import here:
the config schema uses this class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class Pipeline:
    shuffle_buffer: int = 10_000
    """Records held for shuffling the train split (in-memory arrays shuffle the whole split)."""
    cache: Optional[str] = None
    """``memory``, a file path prefix (one cache file per split), or null: no cache."""
    interleave: Optional[int] = None
    """Files read at once (cycle length); null: AUTOTUNE."""
    deterministic: Optional[bool] = None
    """Keep element order under parallel reads and maps; null: tf.data's default (true)."""
    prefetch: Optional[int] = None
    """Batches prepared ahead of the model; null: AUTOTUNE."""
