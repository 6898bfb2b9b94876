"""A trial a sweeper's pruner stopped: not an error. The runner ends the run as KILLED, the
job hands the exception back to its sweeper, and the sweep's summary counts it PRUNED.

tfexp's Optuna sweeper raises it from its own tfexp plugin (entry point ``optuna_sweeper``).
"""

from __future__ import annotations


class TrialPruned(Exception):
    """The sweeper's pruner stopped this trial at an epoch boundary."""

    def __init__(self, epoch: int):
        super().__init__(epoch)
        self.epoch = epoch

    def __str__(self) -> str:
        return f"trial pruned after epoch {self.epoch}"
